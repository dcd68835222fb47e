"""Product categories, products (with marketing data), plan categories and service templates
(05 §4.5–§4.8, 06 §4.5, §4.10)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.catalog.models import (Connector, MarketingItemKind, Plan, PlanCategory,
                                   PlanResource, PlanService, Product, ProductCategory,
                                   ProductMarketingItem, ResourceUnit, ServiceResource,
                                   ServiceTemplate)
from portal.catalog.services.errors import CatalogError
from portal.catalog.services.markup import coefficient_value
from portal.core import audit
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

KEY_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
CATEGORY_FIELDS = ("name", "key", "priority", "description")
PLAN_CATEGORY_FIELDS = ("name", "key", "description")
PRODUCT_FIELDS = ("name", "product_type", "product_category_id", "published", "description",
                  "vendor_name", "license_agreement_url", "privacy_policy_url",
                  "subscription_name_template", "marketing_name", "marketing_description",
                  "support_url", "support_email", "support_phone", "support_extra")
SERVICE_FIELDS = ("name", "connector", "description", "settings")
MANUAL_ACTIONS = ("install", "activate", "stop", "renew", "update", "delete")


def _text(fields: dict, name: str, message) -> None:
    if name in fields:
        fields[name] = (fields[name] or "").strip()
        if not fields[name]:
            raise CatalogError(message, field=name)


def _key(fields: dict, model, reseller_id: int, current=None) -> None:
    if "key" not in fields:
        return
    key = (fields["key"] or "").strip()
    if not key:
        raise CatalogError(_l("Enter the key."), field="key")
    if not KEY_RE.match(key) or len(key) > 64:
        raise CatalogError(_l("The key may contain Latin letters, digits, “_”, “.” and “-”."),
                           field="key")
    query = select(model.id).where(model.reseller_id == reseller_id, model.key == key)
    if current is not None:
        query = query.where(model.id != current.id)
    if db.session.scalar(query) is not None:
        raise CatalogError(_l("The key “%(key)s” is already used.", key=key), field="key")
    fields["key"] = key


def _apply(obj, fields: dict, logged, action: str, actor) -> None:
    before = audit.snapshot(obj, logged)
    for name, value in fields.items():
        setattr(obj, name, value)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(obj, logged))
    if changes:
        audit.log(obj, action, actor=actor, changes=changes)


# --- product categories -----------------------------------------------------------------

def _category_fields(reseller_id, fields, current=None) -> dict:
    clean = {k: v for k, v in fields.items() if k in CATEGORY_FIELDS}
    _text(clean, "name", _l("Enter the category's name."))
    _key(clean, ProductCategory, reseller_id, current)
    if "priority" in clean:
        try:
            clean["priority"] = int(clean["priority"] or 0)
        except (TypeError, ValueError):
            raise CatalogError(_l("Enter a whole number."), field="priority") from None
        if clean["priority"] < 0:
            raise CatalogError(_l("The priority is 0 or more."), field="priority")
    return clean


def create_product_category(reseller, *, actor=None, default_markup=None, **fields):
    fields.setdefault("name", "")
    fields.setdefault("key", "")
    clean = _category_fields(reseller.id, fields)
    if default_markup is None:
        from portal.catalog.services.markup import catalog_settings  # noqa: PLC0415

        default_markup = catalog_settings(reseller).default_markup_new_categories
    category = ProductCategory(reseller_id=reseller.id, default_markup=coefficient_value(
        default_markup, "default_markup"), **clean)
    db.session.add(category)
    db.session.flush()
    audit.log(category, "catalog.product_category.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(category, CATEGORY_FIELDS)))
    return category


def update_product_category(category, *, actor=None, **fields):
    _apply(category, _category_fields(category.reseller_id, fields, category), CATEGORY_FIELDS,
           "catalog.product_category.updated", actor)
    return category


def delete_product_category(category, *, actor=None) -> None:
    """R-PC-1: only an empty category."""
    if db.session.scalar(select(func.count(Product.id)).where(
            Product.reseller_id == category.reseller_id,
            Product.product_category_id == category.id)):
        raise CatalogError(_l("Cannot delete a product category that contains products."))
    audit.log(category, "catalog.product_category.deleted", actor=actor, label=category.name)
    db.session.delete(category)
    db.session.flush()


# --- plan categories --------------------------------------------------------------------

def create_plan_category(reseller, *, actor=None, **fields):
    clean = {k: v for k, v in fields.items() if k in PLAN_CATEGORY_FIELDS}
    clean.setdefault("name", "")
    clean.setdefault("key", "")
    _text(clean, "name", _l("Enter the category's name."))
    _key(clean, PlanCategory, reseller.id)
    category = PlanCategory(reseller_id=reseller.id, **clean)
    db.session.add(category)
    db.session.flush()
    audit.log(category, "catalog.plan_category.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(category, PLAN_CATEGORY_FIELDS)))
    return category


def update_plan_category(category, *, actor=None, **fields):
    clean = {k: v for k, v in fields.items() if k in PLAN_CATEGORY_FIELDS}
    _text(clean, "name", _l("Enter the category's name."))
    _key(clean, PlanCategory, category.reseller_id, category)
    _apply(category, clean, PLAN_CATEGORY_FIELDS, "catalog.plan_category.updated", actor)
    return category


def delete_plan_category(category, *, actor=None) -> None:
    """R-CT-2: only a category no plan uses."""
    if db.session.scalar(select(func.count(Plan.id)).where(
            Plan.reseller_id == category.reseller_id, Plan.plan_category_id == category.id)):
        raise CatalogError(_l("Cannot delete a plan category that is used by plans."))
    audit.log(category, "catalog.plan_category.deleted", actor=actor, label=category.name)
    db.session.delete(category)
    db.session.flush()


# --- products ---------------------------------------------------------------------------

def _product_fields(reseller_id, fields) -> dict:
    clean = {k: v for k, v in fields.items() if k in PRODUCT_FIELDS}
    _text(clean, "name", _l("Enter the product's name."))
    _text(clean, "product_type", _l("Enter the product type."))
    if "product_category_id" in clean:
        category = db.session.scalar(select(ProductCategory).where(
            ProductCategory.reseller_id == reseller_id,
            ProductCategory.id == clean["product_category_id"])) \
            if clean["product_category_id"] not in (None, "") else None
        if category is None:
            raise CatalogError(_l("Choose a product category."), field="product_category_id")
        clean["product_category_id"] = category.id
    if "published" in clean:
        clean["published"] = bool(clean["published"])
    for name in ("support_email",):
        value = (clean.get(name) or "").strip()
        if name in clean and value and "@" not in value:
            raise CatalogError(_l("Enter a valid e-mail address."), field=name)
    for name in ("license_agreement_url", "privacy_policy_url", "support_url"):
        value = (clean.get(name) or "").strip()
        if name in clean and value and not value.startswith(("http://", "https://")):
            raise CatalogError(_l("A link starts with http:// or https://."), field=name)
    for name in PRODUCT_FIELDS:
        if name in clean and clean[name] is None and name not in ("published",):
            clean[name] = ""
    return clean


def create_product(reseller, *, actor=None, **fields):
    """R-PD-1: general information; marketing data may follow."""
    fields.setdefault("name", "")
    fields.setdefault("product_type", "SaaS")
    fields.setdefault("product_category_id", None)
    clean = _product_fields(reseller.id, fields)
    clean.setdefault("marketing_name", clean["name"])
    product = Product(reseller_id=reseller.id, **clean)
    db.session.add(product)
    db.session.flush()
    audit.log(product, "catalog.product.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(product, PRODUCT_FIELDS)))
    return product


# What the reseller of a delegated product may still change (07 BR-36: it publishes it).
DELEGATED_PRODUCT_FIELDS = {"published", "marketing_name", "marketing_description",
                            "support_url", "support_email", "support_phone", "support_extra"}


def update_product(product, *, actor=None, **fields):
    clean = _product_fields(product.reseller_id, fields)
    if product.is_delegated:
        locked = {k for k, v in clean.items()
                  if k not in DELEGATED_PRODUCT_FIELDS and getattr(product, k) != v}
        if locked:
            raise CatalogError(_l("This field of a delegated product is set by the provider."),
                               field=sorted(locked)[0])
    _apply(product, clean, PRODUCT_FIELDS,
           "catalog.product.updated", actor)
    return product


def set_product_logo(product, data: bytes | None, content_type: str, *, actor=None) -> None:
    product.logo = data
    product.logo_type = content_type if data else ""
    audit.log(product, "catalog.product.logo_changed", actor=actor)


def add_marketing_item(product, *, kind, name, url="", description="", image=None,
                       image_type="", actor=None) -> ProductMarketingItem:
    """A screenshot, video, document or advantage (05 §2.3)."""
    try:
        kind = MarketingItemKind(kind)
    except ValueError:
        raise CatalogError(_l("Unknown kind of marketing item."), field="kind") from None
    name = (name or "").strip()
    if not name:
        raise CatalogError(_l("Enter a name."), field="name")
    url = (url or "").strip()
    if kind in (MarketingItemKind.VIDEO, MarketingItemKind.DOCUMENT):
        if not url.startswith(("http://", "https://")):
            raise CatalogError(_l("A link starts with http:// or https://."), field="url")
    if kind == MarketingItemKind.SCREENSHOT and not image:
        raise CatalogError(_l("Choose an image."), field="image")
    position = len(product.marketing_items)
    item = ProductMarketingItem(reseller_id=product.reseller_id, product_id=product.id,
                                kind=kind, name=name, url=url, description=description or "",
                                image=image, image_type=image_type or "", position=position)
    db.session.add(item)
    db.session.flush()
    db.session.expire(product, ["marketing_items"])
    audit.log(product, "catalog.product.marketing_item_added", actor=actor,
              data={"kind": kind.value, "name": name})
    return item


def set_marketing_item_image(item: ProductMarketingItem, data: bytes, content_type: str, *,
                             actor=None) -> None:
    """05 §2.3 «Изменить изображение»: a screenshot gets a new image, keeping its place."""
    if item.kind != MarketingItemKind.SCREENSHOT:
        raise CatalogError(_l("Only a screenshot has an image."), field="image")
    if not data:
        raise CatalogError(_l("Choose an image."), field="image")
    item.image = data
    item.image_type = content_type
    db.session.flush()
    audit.log(item.product, "catalog.product.marketing_item_image_changed", actor=actor,
              data={"kind": item.kind.value, "name": item.name})


def remove_marketing_item(item: ProductMarketingItem, *, actor=None) -> None:
    product = item.product
    audit.log(product, "catalog.product.marketing_item_removed", actor=actor,
              data={"kind": item.kind.value, "name": item.name})
    db.session.delete(item)
    db.session.flush()
    db.session.expire(product, ["marketing_items"])


def delete_product(product, *, actor=None) -> None:
    if db.session.scalar(select(func.count(Plan.id)).where(
            Plan.reseller_id == product.reseller_id, Plan.product_id == product.id)):
        raise CatalogError(_l("Cannot delete a product that has plans."))
    audit.log(product, "catalog.product.deleted", actor=actor, label=product.name)
    db.session.delete(product)
    db.session.flush()


# --- service templates ------------------------------------------------------------------

def _service_fields(fields) -> dict:
    clean = {k: v for k, v in fields.items() if k in SERVICE_FIELDS}
    _text(clean, "name", _l("Enter the service's name."))
    if "connector" in clean:
        try:
            clean["connector"] = Connector(clean["connector"])
        except ValueError:
            raise CatalogError(_l("Choose a connector."), field="connector") from None
    if "settings" in clean:
        settings = dict(clean["settings"] or {})
        modes = settings.get("modes", {})
        for action in MANUAL_ACTIONS:
            if modes.get(action, "auto") not in ("auto", "manual"):
                raise CatalogError(_l("Each action is automatic or manual."), field=action)
        clean["settings"] = settings
    return clean


def create_service_template(reseller, *, actor=None, resources=(), **fields):
    """06 S-3: a service and the connector that provisions it, with its resources."""
    fields.setdefault("name", "")
    fields.setdefault("connector", Connector.SIMULATED)
    clean = _service_fields(fields)
    clean.setdefault("settings", {"modes": dict.fromkeys(MANUAL_ACTIONS, "auto")})
    service = ServiceTemplate(reseller_id=reseller.id, **clean)
    db.session.add(service)
    db.session.flush()
    for data in resources:
        add_service_resource(service, actor=None, **data)
    audit.log(service, "catalog.service_template.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(service, ("name", "connector"))))
    return service


def update_service_template(service, *, actor=None, **fields):
    clean = _service_fields(fields)
    if "connector" in clean and clean["connector"] != service.connector:
        raise CatalogError(_l("The connector of a service cannot change."), field="connector")
    _apply(service, clean, SERVICE_FIELDS, "catalog.service_template.updated", actor)
    return service


def add_service_resource(service, *, name, unit_type="units", measurable=False,
                         description="", actor=None) -> ServiceResource:
    name = (name or "").strip()
    if not name:
        raise CatalogError(_l("Enter the resource's name."), field="name")
    try:
        unit = ResourceUnit(unit_type)
    except ValueError:
        raise CatalogError(_l("The unit is units or boolean."), field="unit_type") from None
    resource = ServiceResource(reseller_id=service.reseller_id, service_template_id=service.id,
                               name=name, unit_type=unit, description=description or "",
                               measurable=bool(measurable) and unit == ResourceUnit.UNITS)
    db.session.add(resource)
    db.session.flush()
    db.session.expire(service, ["resources"])
    if actor is not None:
        audit.log(service, "catalog.service_template.resource_added", actor=actor,
                  data={"name": name})
    return resource


def set_service_resource_active(resource: ServiceResource, active: bool, *, actor=None) -> None:
    """06 SR-2: an inactive resource is not offered for new plan resources."""
    resource.active = bool(active)
    audit.log(resource.service_template, "catalog.service_template.resource_status", actor=actor,
              data={"resource": resource.name, "active": resource.active})


def delete_service_template(service, *, actor=None) -> None:
    """06 S-6: only while no plan includes it."""
    with across_tenants():  # delegated copies of plans use the template too
        used = db.session.scalar(select(func.count(PlanService.id)).where(
            PlanService.service_template_id == service.id)) or db.session.scalar(
            select(func.count(PlanResource.id)).join(
                ServiceResource, ServiceResource.id == PlanResource.service_resource_id)
            .where(ServiceResource.service_template_id == service.id))
    if used:
        raise CatalogError(_l("The service cannot be deleted: plans use it."))
    audit.log(service, "catalog.service_template.deleted", actor=actor, label=service.name)
    db.session.delete(service)
    db.session.flush()
