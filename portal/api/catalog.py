"""API: the catalogue's building blocks (spec 05): provisioning rules, product and plan
categories, service templates and products. Plans live in `portal.api.plans`.

Every object is the caller's reseller's own (a delegated copy is the child's own object);
anything else answers 404. The JSON checks here only guard types and lengths, so that bad input
is a 422 and never a 500; the rules of the manual are the services' (CatalogError → 422).
"""

from __future__ import annotations

from decimal import Decimal

from flask import g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from portal.api.base import ApiValidationError, endpoint, iso, json_body, paginate
from portal.catalog.models import (Connector, PlanCategory, Product,
                                   ProductCategory, ProvisioningRule, ResourceUnit,
                                   ServiceResource, ServiceTemplate)
from portal.catalog.services import (CatalogError, add_service_resource, create_plan_category,
                                     create_product, create_product_category,
                                     create_provisioning_rule, create_service_template,
                                     delete_plan_category, delete_product,
                                     delete_product_category, delete_provisioning_rule,
                                     delete_service_template, set_category_markup,
                                     update_plan_category, update_product,
                                     update_product_category, update_provisioning_rule,
                                     update_service_template)
from portal.core.money import round_money
from portal.extensions import db
from portal.tenancy.scope import scoped_select, tenant_get_or_404

INT_MAX = 2**31 - 1  # an INTEGER column; a larger number would fail the INSERT (a 500)


# --- JSON checks shared with portal.api.plans ---------------------------------------------

def invalid(field: str, message) -> ApiValidationError:
    return ApiValidationError({field: [str(message)]})


def text(limit: int | None = None, *, nullable: bool = True):
    """A JSON string, at most `limit` characters (the column's length); null is ""."""

    def check(value, field):
        if value is None and nullable:
            return ""
        if not isinstance(value, str):
            raise invalid(field, _("Must be a string."))
        if "\x00" in value:  # PostgreSQL refuses NUL characters in text (a 500)
            raise invalid(field, _("Must not contain NUL characters."))
        if limit and len(value.strip()) > limit:
            raise invalid(field, _("At most %(n)d characters.", n=limit))
        return value

    return check


def column_text(model, column: str):
    return text(getattr(model.__table__.c[column].type, "length", None))


def flag(value, field):
    if not isinstance(value, bool):
        raise invalid(field, _("Must be true or false."))
    return value


def whole(minimum: int | None = None, maximum: int = INT_MAX, *, nullable: bool = False):
    """A JSON integer (not a string, not a fraction) inside the column's range."""

    def check(value, field):
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(field, _("Must be a whole number."))
        if minimum is not None and value < minimum:
            raise invalid(field, _("Enter a whole number of at least %(n)d.", n=minimum))
        if not -INT_MAX <= value <= maximum:
            raise invalid(field, _("The number is too large."))
        return value

    return check


def object_id(value, field):
    """The id of another object: a positive JSON integer."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= INT_MAX:
        raise invalid(field, _("Must be the id of an object (a whole number)."))
    return value


def optional_id(value, field):
    return None if value is None else object_id(value, field)


def money(value, field):
    """Strings and integers only: a JSON number with a fraction is a binary float (D4)."""
    if isinstance(value, float):
        raise invalid(field, _("Send amounts as strings, e.g. \"14.66\": numbers with a "
                               "fraction are not accepted."))
    if value is None or isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(field, _("Must be an amount: a string such as \"14.66\" or a whole "
                               "number."))
    return str(value)


def quantity(value, field):
    """A quantity: a string or a JSON number; true/false for a boolean resource."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return repr(value)
    if not isinstance(value, str | int):
        raise invalid(field, _("Must be a number or a string such as \"10\"."))
    return str(value)


def coefficient(value, field):
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(field, _("Must be a coefficient such as \"1.50\"."))
    return repr(value) if isinstance(value, float) else str(value)


def mapping(value, field):
    if value is not None and not isinstance(value, dict):
        raise invalid(field, _("Must be an object."))
    return value


def list_of(check):
    def checked_list(value, field):
        if not isinstance(value, list):
            raise invalid(field, _("Must be a list."))
        return [check(item, f"{field}[{i}]") for i, item in enumerate(value)]

    return checked_list


def checked(data: dict, kinds: dict, *, prefix: str = "") -> dict:
    """The fields of `data` that `kinds` names, each through its check; others are dropped."""
    return {name: check(data[name], prefix + name) for name, check in kinds.items()
            if name in data}


def nested_error(error: CatalogError, prefix: str) -> CatalogError:
    """Name the item of a nested list a service refused: periods[1].monthly_fee."""
    error.field = f"{prefix}.{error.field}" if error.field else prefix
    return error


def query_flag(name: str) -> bool | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise invalid(name, _("Must be true or false."))


def query_id(name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, _("Must be a whole number.")) from None
    if not 0 < number <= INT_MAX:
        raise invalid(name, _("Must be a whole number."))
    return number


def query_enum(name: str, enum_class):
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        return enum_class(value)
    except ValueError:
        raise invalid(name, _("Unknown value; one of: %(values)s.",
                              values=", ".join(e.value for e in enum_class))) from None


def amount(value: Decimal | None, currency: str) -> str | None:
    """Money in an answer: a string with the currency's decimals."""
    return None if value is None else str(round_money(value, currency))


def deleted(obj_id: int):
    return jsonify({"id": obj_id, "deleted": True})


# --- provisioning rules (05 §2.12, §4.17) ------------------------------------------------

RULE_KINDS = {
    "name": column_text(ProvisioningRule, "name"), "key": column_text(ProvisioningRule, "key"),
    "financial_day": whole(), "promised_payment_allowed": flag,
    "manual_renewal_point_days": whole(), "auto_renewal_point_days": whole(),
    "unpaid_stop_after_days": whole(), "block_period_days": whole(),
    "client_types": list_of(text(64, nullable=False)),
    "added_client_types": list_of(text(64, nullable=False)),
}
RULE_SCHEMA = {"type": "object", "required": ["name", "key"], "properties": {
    "name": {"type": "string"}, "key": {"type": "string", "pattern": "^[a-z0-9_]+$"},
    "financial_day": {"type": "integer", "minimum": 1, "maximum": 28, "default": 1},
    "auto_renewal_point_days": {"type": "integer", "minimum": 0, "default": 0},
    "manual_renewal_point_days": {"type": "integer", "minimum": -1, "default": -1},
    "unpaid_stop_after_days": {"type": "integer", "minimum": 0, "default": 0},
    "block_period_days": {"type": "integer", "minimum": 0, "default": 0},
    "promised_payment_allowed": {"type": "boolean", "default": False},
    "client_types": {"type": "array", "items": {"type": "string"},
                     "description": "Keys of your client types. Default: all of them."},
    "added_client_types": {"type": "array", "items": {"type": "string"},
                           "description": "Only on a delegated rule: client types it adds."}}}


def serialize_rule(rule: ProvisioningRule) -> dict:
    return {"id": rule.id, "name": rule.name, "key": rule.key,
            "financial_day": rule.financial_day,
            "auto_renewal_point_days": rule.auto_renewal_point_days,
            "manual_renewal_point_days": rule.manual_renewal_point_days,
            "unpaid_stop_after_days": rule.unpaid_stop_after_days,
            "block_period_days": rule.block_period_days,
            "promised_payment_allowed": rule.promised_payment_allowed,
            "client_types": rule.effective_client_types,
            "added_client_types": list(rule.added_client_types or []),
            "is_delegated": rule.is_delegated, "parent_id": rule.parent_id,
            "created_at": iso(rule.created_at)}


@endpoint("/provisioning-rules", methods=("POST",), permission="provisioning_rules.manage",
          summary="Create a provisioning rule (copied, read-only, to every reseller below)",
          body=RULE_SCHEMA, status=201)
def create_provisioning_rule_api():
    fields = checked(json_body(), RULE_KINDS)
    fields.pop("added_client_types", None)
    rule = create_provisioning_rule(g.acting_reseller, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_rule(rule)), 201


@endpoint("/provisioning-rules", permission="provisioning_rules.view",
          summary="List your provisioning rules (own and delegated)")
def list_provisioning_rules_api():
    query = scoped_select(ProvisioningRule)
    delegated = query_flag("delegated")
    if delegated is not None:
        query = query.where(ProvisioningRule.is_delegated == delegated)
    if request.args.get("key"):
        query = query.where(ProvisioningRule.key == request.args["key"])
    return paginate(query, serialize_rule, sort_fields={
        "id": ProvisioningRule.id, "name": ProvisioningRule.name, "key": ProvisioningRule.key})


@endpoint("/provisioning-rules/<int:rule_id>", permission="provisioning_rules.view",
          summary="Get a provisioning rule")
def get_provisioning_rule_api(rule_id):
    return jsonify(serialize_rule(tenant_get_or_404(ProvisioningRule, rule_id)))


@endpoint("/provisioning-rules/<int:rule_id>", methods=("PATCH", "PUT"),
          permission="provisioning_rules.manage",
          summary="Update a provisioning rule and its copies (a delegated rule: only "
                  "added_client_types)", body=RULE_SCHEMA)
def update_provisioning_rule_api(rule_id):
    rule = tenant_get_or_404(ProvisioningRule, rule_id)
    fields = checked(json_body(), RULE_KINDS)
    if not rule.is_delegated and "added_client_types" in fields:
        raise invalid("added_client_types", _("Only a delegated rule adds client types; "
                                              "change client_types of your own rule."))
    update_provisioning_rule(rule, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_rule(rule))


@endpoint("/provisioning-rules/<int:rule_id>", methods=("DELETE",),
          permission="provisioning_rules.manage",
          summary="Delete an own provisioning rule no plan uses (and its copies)")
def delete_provisioning_rule_api(rule_id):
    rule = tenant_get_or_404(ProvisioningRule, rule_id)
    delete_provisioning_rule(rule, actor=g.principal)
    db.session.commit()
    return deleted(rule_id)


# --- product categories (05 §2.1, §4.5) ---------------------------------------------------

PRODUCT_CATEGORY_KINDS = {
    "name": column_text(ProductCategory, "name"), "key": column_text(ProductCategory, "key"),
    "priority": whole(0), "description": text(), "default_markup": coefficient}
CATEGORY_SCHEMA = {"type": "object", "required": ["name", "key"], "properties": {
    "name": {"type": "string"}, "key": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
    "priority": {"type": "integer", "minimum": 0}, "description": {"type": "string"},
    "default_markup": {"type": "string", "description": "Coefficient for plans delegated "
                                                         "into this category, e.g. \"1.20\"."}}}


def serialize_product_category(category: ProductCategory) -> dict:
    return {"id": category.id, "name": category.name, "key": category.key,
            "priority": category.priority, "description": category.description,
            "default_markup": str(category.default_markup), "is_delegated": category.is_delegated,
            "parent_id": category.parent_id, "created_at": iso(category.created_at)}


@endpoint("/product-categories", methods=("POST",), permission="product_categories.manage",
          summary="Create a product category", body=CATEGORY_SCHEMA, status=201)
def create_product_category_api():
    fields = checked(json_body(), PRODUCT_CATEGORY_KINDS)
    category = create_product_category(g.acting_reseller, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_product_category(category)), 201


@endpoint("/product-categories", permission="product_categories.view",
          summary="List your product categories")
def list_product_categories_api():
    query = scoped_select(ProductCategory)
    if request.args.get("key"):
        query = query.where(ProductCategory.key == request.args["key"])
    return paginate(query, serialize_product_category, sort_fields={
        "id": ProductCategory.id, "name": ProductCategory.name,
        "priority": ProductCategory.priority})


@endpoint("/product-categories/<int:product_category_id>",
          permission="product_categories.view", summary="Get a product category")
def get_product_category_api(product_category_id):
    category = tenant_get_or_404(ProductCategory, product_category_id)
    return jsonify(serialize_product_category(category))


@endpoint("/product-categories/<int:product_category_id>", methods=("PATCH", "PUT"),
          permission="product_categories.manage", summary="Update a product category",
          body=CATEGORY_SCHEMA)
def update_product_category_api(product_category_id):
    category = tenant_get_or_404(ProductCategory, product_category_id)
    fields = checked(json_body(), PRODUCT_CATEGORY_KINDS)
    markup = fields.pop("default_markup", None)
    update_product_category(category, actor=g.principal, **fields)
    if markup is not None:
        set_category_markup(category, markup, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_product_category(category))


@endpoint("/product-categories/<int:product_category_id>", methods=("DELETE",),
          permission="product_categories.manage", summary="Delete an empty product category")
def delete_product_category_api(product_category_id):
    category = tenant_get_or_404(ProductCategory, product_category_id)
    delete_product_category(category, actor=g.principal)
    db.session.commit()
    return deleted(product_category_id)


def default_product_category(reseller) -> ProductCategory:
    """The category of products created without one: key "default", made when first needed."""
    found = db.session.scalar(select(ProductCategory).where(
        ProductCategory.reseller_id == reseller.id, ProductCategory.key == "default"))
    return found or create_product_category(reseller, name=_("General"), key="default",
                                            actor=g.principal)


# --- plan categories (05 §2.6, §4.8) ------------------------------------------------------

PLAN_CATEGORY_KINDS = {"name": column_text(PlanCategory, "name"),
                       "key": column_text(PlanCategory, "key"), "description": text()}
PLAN_CATEGORY_SCHEMA = {"type": "object", "required": ["name", "key"], "properties": {
    "name": {"type": "string"}, "key": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
    "description": {"type": "string"}}}


def serialize_plan_category(category: PlanCategory) -> dict:
    return {"id": category.id, "name": category.name, "key": category.key,
            "description": category.description, "is_delegated": category.is_delegated,
            "created_at": iso(category.created_at)}


@endpoint("/plan-categories", methods=("POST",), permission="plan_categories.manage",
          summary="Create a plan category", body=PLAN_CATEGORY_SCHEMA, status=201)
def create_plan_category_api():
    fields = checked(json_body(), PLAN_CATEGORY_KINDS)
    category = create_plan_category(g.acting_reseller, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_plan_category(category)), 201


@endpoint("/plan-categories", permission="plan_categories.view",
          summary="List your plan categories")
def list_plan_categories_api():
    query = scoped_select(PlanCategory)
    if request.args.get("key"):
        query = query.where(PlanCategory.key == request.args["key"])
    return paginate(query, serialize_plan_category, sort_fields={
        "id": PlanCategory.id, "name": PlanCategory.name, "key": PlanCategory.key})


@endpoint("/plan-categories/<int:plan_category_id>", permission="plan_categories.view",
          summary="Get a plan category")
def get_plan_category_api(plan_category_id):
    return jsonify(serialize_plan_category(tenant_get_or_404(PlanCategory, plan_category_id)))


@endpoint("/plan-categories/<int:plan_category_id>", methods=("PATCH", "PUT"),
          permission="plan_categories.manage", summary="Update a plan category",
          body=PLAN_CATEGORY_SCHEMA)
def update_plan_category_api(plan_category_id):
    category = tenant_get_or_404(PlanCategory, plan_category_id)
    update_plan_category(category, actor=g.principal,
                         **checked(json_body(), PLAN_CATEGORY_KINDS))
    db.session.commit()
    return jsonify(serialize_plan_category(category))


@endpoint("/plan-categories/<int:plan_category_id>", methods=("DELETE",),
          permission="plan_categories.manage", summary="Delete a plan category no plan uses")
def delete_plan_category_api(plan_category_id):
    delete_plan_category(tenant_get_or_404(PlanCategory, plan_category_id), actor=g.principal)
    db.session.commit()
    return deleted(plan_category_id)


def default_plan_category(reseller) -> PlanCategory:
    """The category of plans created without one: key "default", made when first needed."""
    found = db.session.scalar(select(PlanCategory).where(
        PlanCategory.reseller_id == reseller.id, PlanCategory.key == "default"))
    return found or create_plan_category(reseller, name=_("General"), key="default",
                                         actor=g.principal)


# --- service templates (06 §2.9, §2.10) ---------------------------------------------------

SERVICE_RESOURCE_KINDS = {"name": column_text(ServiceResource, "name"),
                          "unit_type": text(16, nullable=False), "measurable": flag,
                          "description": text()}
SERVICE_KINDS = {"name": column_text(ServiceTemplate, "name"),
                 "connector": text(32, nullable=False), "description": text(),
                 "settings": mapping}
SERVICE_RESOURCE_SCHEMA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"},
    "unit_type": {"type": "string", "enum": [u.value for u in ResourceUnit], "default": "units"},
    "measurable": {"type": "boolean", "default": False}, "description": {"type": "string"}}}
SERVICE_SCHEMA = {"type": "object", "required": ["name", "connector"], "properties": {
    "name": {"type": "string"},
    "connector": {"type": "string", "enum": [c.value for c in Connector]},
    "description": {"type": "string"},
    "settings": {"type": "object", "description": "Manual connector: {\"modes\": {action: "
                                                  "\"auto\"|\"manual\"}}"},
    "resources": {"type": "array", "items": SERVICE_RESOURCE_SCHEMA}}}


def serialize_service_resource(resource: ServiceResource) -> dict:
    return {"id": resource.id, "name": resource.name, "unit_type": resource.unit_type.value,
            "measurable": resource.measurable, "active": resource.active,
            "description": resource.description}


def serialize_service(service: ServiceTemplate) -> dict:
    return {"id": service.id, "name": service.name, "connector": service.connector.value,
            "description": service.description, "settings": service.settings,
            "resources": [serialize_service_resource(r) for r in service.resources],
            "created_at": iso(service.created_at)}


@endpoint("/services", methods=("POST",), permission="services.manage",
          summary="Create a service template with its resources", body=SERVICE_SCHEMA,
          status=201)
def create_service_api():
    data = json_body()
    fields = checked(data, SERVICE_KINDS)
    resources = []
    if "resources" in data:
        items = list_of(mapping)(data["resources"], "resources")
        resources = [checked(item or {}, SERVICE_RESOURCE_KINDS, prefix=f"resources[{i}].")
                     for i, item in enumerate(items)]
    service = create_service_template(g.acting_reseller, actor=g.principal, **fields)
    for i, item in enumerate(resources):
        try:
            add_service_resource(service, **{"name": "", **item})
        except CatalogError as error:
            raise nested_error(error, f"resources[{i}]") from None
    db.session.commit()
    return jsonify(serialize_service(service)), 201


@endpoint("/services", permission="services.view", summary="List your service templates")
def list_services_api():
    query = scoped_select(ServiceTemplate)
    connector = query_enum("connector", Connector)
    if connector is not None:
        query = query.where(ServiceTemplate.connector == connector)
    return paginate(query, serialize_service, sort_fields={
        "id": ServiceTemplate.id, "name": ServiceTemplate.name})


@endpoint("/services/<int:service_id>", permission="services.view",
          summary="Get a service template")
def get_service_api(service_id):
    return jsonify(serialize_service(tenant_get_or_404(ServiceTemplate, service_id)))


@endpoint("/services/<int:service_id>", methods=("PATCH", "PUT"), permission="services.manage",
          summary="Update a service template (its connector cannot change)",
          body=SERVICE_SCHEMA)
def update_service_api(service_id):
    service = tenant_get_or_404(ServiceTemplate, service_id)
    update_service_template(service, actor=g.principal, **checked(json_body(), SERVICE_KINDS))
    db.session.commit()
    return jsonify(serialize_service(service))


@endpoint("/services/<int:service_id>/resources", methods=("POST",),
          permission="services.manage", summary="Add a resource to a service template",
          body=SERVICE_RESOURCE_SCHEMA, status=201)
def add_service_resource_api(service_id):
    service = tenant_get_or_404(ServiceTemplate, service_id)
    fields = checked(json_body(), SERVICE_RESOURCE_KINDS)
    resource = add_service_resource(service, actor=g.principal, **{"name": "", **fields})
    db.session.commit()
    return jsonify(serialize_service_resource(resource)), 201


@endpoint("/services/<int:service_id>", methods=("DELETE",), permission="services.manage",
          summary="Delete a service template no plan uses")
def delete_service_api(service_id):
    delete_service_template(tenant_get_or_404(ServiceTemplate, service_id), actor=g.principal)
    db.session.commit()
    return deleted(service_id)


# --- products (05 §2.3, §4.6) -------------------------------------------------------------

PRODUCT_TEXT = ("name", "product_type", "vendor_name", "license_agreement_url",
                "privacy_policy_url", "subscription_name_template", "marketing_name",
                "support_url", "support_email", "support_phone")
PRODUCT_KINDS = {
    **{name: column_text(Product, name) for name in PRODUCT_TEXT},
    "description": text(), "marketing_description": text(), "support_extra": text(),
    "product_category_id": object_id, "published": flag}
PRODUCT_SCHEMA = {"type": "object", "required": ["name"], "properties": {
    **{name: {"type": "string"} for name in PRODUCT_TEXT},
    "product_type": {"type": "string", "default": "SaaS",
                     "description": "Free text, e.g. SaaS, PAYG, Non-Recurring Subscription."},
    "description": {"type": "string", "description": "Internal, never shown to clients."},
    "marketing_description": {"type": "string"}, "support_extra": {"type": "string"},
    "product_category_id": {"type": "integer", "description": "Default: your category with "
                                                              "key \"default\" (made if "
                                                              "missing)."},
    "published": {"type": "boolean", "default": False}}}


def serialize_product(product: Product) -> dict:
    return {"id": product.id, "product_category_id": product.product_category_id,
            **{name: getattr(product, name) for name in PRODUCT_TEXT},
            "description": product.description,
            "marketing_description": product.marketing_description,
            "support_extra": product.support_extra, "published": product.published,
            "is_delegated": product.is_delegated, "parent_id": product.parent_id,
            "created_at": iso(product.created_at)}


@endpoint("/products", methods=("POST",), permission="products.manage",
          summary="Create a product", body=PRODUCT_SCHEMA, status=201)
def create_product_api():
    fields = checked(json_body(), PRODUCT_KINDS)
    if "product_category_id" not in fields:
        fields["product_category_id"] = default_product_category(g.acting_reseller).id
    product = create_product(g.acting_reseller, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_product(product)), 201


@endpoint("/products", permission="products.view",
          summary="List your products (filters: product_category_id, published, delegated)")
def list_products_api():
    query = scoped_select(Product)
    category_id = query_id("product_category_id")
    if category_id is not None:
        query = query.where(Product.product_category_id == category_id)
    for name, column in (("published", Product.published), ("delegated", Product.is_delegated)):
        value = query_flag(name)
        if value is not None:
            query = query.where(column == value)
    return paginate(query, serialize_product, sort_fields={
        "id": Product.id, "name": Product.name, "created_at": Product.created_at})


@endpoint("/products/<int:product_id>", permission="products.view", summary="Get a product")
def get_product_api(product_id):
    return jsonify(serialize_product(tenant_get_or_404(Product, product_id)))


@endpoint("/products/<int:product_id>", methods=("PATCH", "PUT"), permission="products.manage",
          summary="Update a product", body=PRODUCT_SCHEMA)
def update_product_api(product_id):
    product = tenant_get_or_404(Product, product_id)
    update_product(product, actor=g.principal, **checked(json_body(), PRODUCT_KINDS))
    db.session.commit()
    return jsonify(serialize_product(product))


@endpoint("/products/<int:product_id>", methods=("DELETE",), permission="products.manage",
          summary="Delete a product that has no plans")
def delete_product_api(product_id):
    delete_product(tenant_get_or_404(Product, product_id), actor=g.principal)
    db.session.commit()
    return deleted(product_id)
