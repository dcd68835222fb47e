"""Operator-panel pages of product categories, products with their marketing data, plan
categories and services with their resources (05 §5.1.3–§5.1.5, 06 §5.2).

Each page loads its object inside the tenant, calls one service, commits, and renders; a refusal
re-renders the page with 422 and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from PIL import Image
from sqlalchemy import false, func, select
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.catalog.forms_products import (MANUAL_MODE_FIELDS, PRODUCT_TYPE_EXAMPLES,
                                           MarketingImageForm, MarketingItemForm,
                                           PlanCategoryForm, ProductCategoryForm,
                                           ProductGeneralForm, ProductMarketingForm,
                                           ProductPublishForm, ServiceCreateForm,
                                           ServiceEditForm, ServiceResourceForm)
from portal.catalog.models import (CONNECTOR_LABELS, Connector, MarketingItemKind, Plan,
                                   PlanCategory, PlanService, Product, ProductCategory,
                                   ProductMarketingItem, ResourceUnit, ServiceResource,
                                   ServiceTemplate)
from portal.catalog.services import (CatalogError, add_marketing_item, add_service_resource,
                                     create_plan_category, create_product,
                                     create_product_category, create_service_template,
                                     delete_plan_category, delete_product,
                                     delete_product_category, delete_service_template,
                                     remove_marketing_item, set_marketing_item_image,
                                     set_product_logo, set_service_resource_active,
                                     update_plan_category, update_product,
                                     update_product_category, update_service_template)
from portal.catalog.usage import live_subscription_counts
from portal.catalog.views import bp
from portal.core.audit import events_for
from portal.core.errors import DomainError
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, ListState, register_list, run_list
from portal.extensions import db
from portal.operator.lists import list_response, preference
from portal.tenancy.scope import scoped_select, tenant_get_or_404
from portal.tenancy.services.branding import check_image

# --- list-kit helpers -----------------------------------------------------------------------

YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


@dataclass
class YesNoFilter(Filter):
    """A boolean column filtered by a Yes/No choice."""

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if value == "yes":
            return query.where(self.column.is_(True))
        if value == "no":
            return query.where(self.column.is_(False))
        return query.where(false()) if value else query


@dataclass
class IdFilter(Filter):
    """An exact id (a category's products, a service's plans): a text box, matched whole."""

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        try:
            return query.where(self.column == int(value))
        except ValueError:
            return query.where(false())


def _link(endpoint: str, arg: str, text_of):
    def render(row):
        return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **{arg: row.id}),
                                                     text_of(row))
    return render


def embedded_list(definition, endpoint: str, filters: dict, *, create_url=None):
    """A list-kit list shown inside a detail page (a tab), pre-filtered; paging, sorting and
    searching go to the list's own endpoint with the same filter."""
    state = ListState(filters={f.key: "" for f in definition.filters} | filters,
                      sort=definition.default_sort)
    pref = preference(definition.key)
    page = run_list(definition, g.acting_reseller, state, pref.columns if pref else None)
    page.url = lambda **override: url_for(endpoint, **state.args(**override))
    page.base_url = url_for(endpoint, **{f"f_{k}": v for k, v in filters.items()})
    return {"list": page, "create_url": create_url}


def plan_url(plan) -> str | None:
    """The plan page, once the plans pages exist (they are built beside these)."""
    if "catalog.plan_detail" not in current_app.view_functions:
        return None
    rule = next(iter(current_app.url_map.iter_rules("catalog.plan_detail")), None)
    if rule is None or len(rule.arguments) != 1:
        return None
    return url_for("catalog.plan_detail", **{next(iter(rule.arguments)): plan.id})


def plans_table(query) -> dict:
    """Plans of a product or a service with their live subscription counts (05 §8.40)."""
    plans = db.session.scalars(query.order_by(Plan.id.desc())).all()
    return {"plans": plans, "subscriptions": live_subscription_counts([p.id for p in plans]),
            "plan_url": plan_url}


def _fail_page(template: str, context: dict):
    return render_template(template, **context), 422


def _image(upload, field: str) -> tuple[bytes, str] | None:
    """The bytes and content type of an uploaded image, checked with Pillow; None if none."""
    if upload is None or not getattr(upload, "filename", ""):
        return None
    data = upload.read()
    try:
        return data, check_image(data)
    except DomainError as error:
        error.field = field
        raise
    except Image.DecompressionBombError as error:  # a few KB that would unpack to gigabytes
        raise CatalogError(_l("The image is too large."), field=field) from error


def _image_response(data: bytes | None, content_type: str):
    if not data:
        abort(404)
    return Response(data, content_type=content_type or "application/octet-stream", headers={
        "Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"})


# --- product categories (05 §5.1.3) ---------------------------------------------------------

PRODUCT_CATEGORIES = register_list(ListDefinition(
    key="product_categories", title=_l("Product categories"), model=ProductCategory,
    permission="product_categories.view",
    query=lambda reseller: scoped_select(ProductCategory, reseller),
    columns=[
        Column("id", "ID", sort=ProductCategory.id,
               render=_link("catalog.product_category_detail", "category_id", lambda c: c.id)),
        Column("name", _l("Name"), sort=ProductCategory.name, search=ProductCategory.name,
               render=_link("catalog.product_category_detail", "category_id", lambda c: c.name)),
        Column("is_delegated", _l("Delegated"), sort=ProductCategory.is_delegated),
        Column("key", _l("Key"), sort=ProductCategory.key, search=ProductCategory.key),
        Column("priority", _l("Priority"), sort=ProductCategory.priority),
        Column("description", _l("Description"), search=ProductCategory.description,
               default=False),
    ],
    filters=[YesNoFilter("delegated", _l("Delegated"), ProductCategory.is_delegated, YES_NO)],
))


@bp.get("/product-categories")
@staff_required("product_categories.view")
def list_product_categories():
    return list_response(PRODUCT_CATEGORIES, title=PRODUCT_CATEGORIES.title,
                         create_url=url_for("catalog.create_product_category_page")
                         if current_user.can("product_categories.manage") else None)


@bp.route("/product-categories/new", methods=["GET", "POST"])
@staff_required("product_categories.manage")
def create_product_category_page():
    form = ProductCategoryForm()
    created = []
    if submit(form, lambda f: created.append(create_product_category(
            g.acting_reseller, actor=current_user, name=f.name.data, key=f.key.data,
            priority=f.priority.data, description=f.description.data or "")),
            success=_("The product category is created.")):
        return redirect(url_for("catalog.product_category_detail", category_id=created[0].id))
    return render_template("catalog/product_categories/create.html", form=form), \
        422 if form.is_submitted() else 200


def _product_category_context(category, **extra):
    ctx = {
        "category": category,
        "form": ProductCategoryForm(obj=category, formdata=None),
        "events": events_for(category),
        "products": embedded_list(
            PRODUCTS, "catalog.list_products", {"category_id": str(category.id)},
            create_url=url_for("catalog.create_product_page", category_id=category.id)
            if current_user.can("products.manage") else None)
        if current_user.can("products.view") else None,
    }
    ctx.update(extra)
    return ctx


@bp.get("/product-categories/<int:category_id>")
@staff_required("product_categories.view")
def product_category_detail(category_id):
    category = tenant_get_or_404(ProductCategory, category_id)
    return render_template("catalog/product_categories/detail.html",
                           **_product_category_context(category))


@bp.post("/product-categories/<int:category_id>")
@staff_required("product_categories.manage")
def update_product_category_page(category_id):
    category = tenant_get_or_404(ProductCategory, category_id)
    form = ProductCategoryForm()
    if submit(form, lambda f: update_product_category(
            category, actor=current_user, name=f.name.data, key=f.key.data,
            priority=f.priority.data, description=f.description.data or "")):
        return redirect(url_for("catalog.product_category_detail", category_id=category.id))
    return _fail_page("catalog/product_categories/detail.html",
                      _product_category_context(category, form=form))


@bp.post("/product-categories/<int:category_id>/delete")
@staff_required("product_categories.manage")
def delete_product_category_page(category_id):
    category = tenant_get_or_404(ProductCategory, category_id)
    if run_action(lambda: delete_product_category(category, actor=current_user),
                  success=_("The product category is deleted.")):
        return redirect(url_for("catalog.list_product_categories"))
    return _fail_page("catalog/product_categories/detail.html",
                      _product_category_context(category))


# --- products (05 §5.1.4) --------------------------------------------------------------------

def _product_query(reseller):
    return scoped_select(Product, reseller).join(
        ProductCategory, ProductCategory.id == Product.product_category_id).options(
        contains_eager(Product.category))  # the category column reads the joined row


PRODUCTS = register_list(ListDefinition(
    key="products", title=_l("Products"), model=Product, permission="products.view",
    query=_product_query,
    columns=[
        Column("id", "ID", sort=Product.id,
               render=_link("catalog.product_detail", "product_id", lambda p: p.id)),
        Column("name", _l("Name"), sort=Product.name, search=Product.name,
               render=_link("catalog.product_detail", "product_id", lambda p: p.name)),
        Column("category", _l("Product category"), sort=ProductCategory.name,
               search=ProductCategory.name, value=lambda p: p.category.name,
               render=lambda p: Markup('<a href="{}">{}</a>').format(
                   url_for("catalog.product_category_detail", category_id=p.category.id),
                   p.category.name)),
        Column("product_type", _l("Product type"), sort=Product.product_type,
               search=Product.product_type),
        Column("published", _l("Published"), sort=Product.published),
        Column("is_delegated", _l("Delegated"), sort=Product.is_delegated),
        Column("created_at", _l("Created"), sort=Product.created_at),
        Column("vendor_name", _l("Vendor name"), sort=Product.vendor_name,
               search=Product.vendor_name, default=False),
        Column("marketing_name", _l("Marketing name"), sort=Product.marketing_name,
               search=Product.marketing_name, default=False),
    ],
    filters=[
        IdFilter("category_id", _l("Product category ID"), Product.product_category_id),
        Filter("product_type", _l("Product type"), Product.product_type),
        YesNoFilter("published", _l("Published"), Product.published, YES_NO),
        YesNoFilter("delegated", _l("Delegated"), Product.is_delegated, YES_NO),
    ],
))


@bp.get("/products")
@staff_required("products.view")
def list_products():
    create_url = None
    if current_user.can("products.manage"):
        category_id = (request.args.get("f_category_id") or "").strip()
        create_url = url_for("catalog.create_product_page",
                             **({"category_id": category_id} if category_id.isdigit() else {}))
    return list_response(PRODUCTS, title=PRODUCTS.title, create_url=create_url)


def _category_choices():
    return [(c.id, c.name) for c in db.session.scalars(
        scoped_select(ProductCategory).order_by(ProductCategory.priority, ProductCategory.name,
                                                ProductCategory.id))]


def _general_fields(form) -> dict:
    return {name: getattr(form, name).data if name in ("published", "product_category_id")
            else (getattr(form, name).data or "") for name in (
        "name", "product_type", "product_category_id", "published", "description", "vendor_name",
        "license_agreement_url", "privacy_policy_url", "subscription_name_template")}


@bp.route("/products/new", methods=["GET", "POST"])
@staff_required("products.manage")
def create_product_page():
    """R-PD-1 step 1, general information; «Continue» leads to the marketing step."""
    form = ProductGeneralForm()
    form.product_category_id.choices = _category_choices()
    if not form.is_submitted():
        wanted = request.args.get("category_id", type=int)
        if wanted in {c for c, _name in form.product_category_id.choices}:
            form.product_category_id.data = wanted
    created = []
    if submit(form, lambda f: created.append(create_product(
            g.acting_reseller, actor=current_user, **_general_fields(f))),
            success=_("The product is created. Now fill in its marketing information.")):
        return redirect(url_for("catalog.product_marketing_step", product_id=created[0].id))
    return render_template("catalog/products/create.html", form=form,
                           type_examples=PRODUCT_TYPE_EXAMPLES), \
        422 if form.is_submitted() else 200


def _product_context(product, **extra):
    general = ProductGeneralForm(obj=product, formdata=None)
    general.product_category_id.choices = _category_choices()
    ctx = {
        "product": product,
        "general_form": general,
        "publish_form": ProductPublishForm(obj=product, formdata=None),
        "marketing_form": ProductMarketingForm(obj=product, formdata=None),
        "item_forms": {kind.value: MarketingItemForm(formdata=None, prefix=kind.value)
                       for kind in MarketingItemKind},
        "items": {kind.value: [i for i in product.marketing_items if i.kind == kind]
                  for kind in MarketingItemKind},
        "image_form": None, "image_item_id": None,
        "events": events_for(product),
        "type_examples": PRODUCT_TYPE_EXAMPLES,
        "wizard": False,
        # R-PD-5: a plan may be created from the product's Plans tab.
        "create_plan_url": url_for("catalog.create_plan", product_id=product.id)
        if "catalog.create_plan" in current_app.view_functions else None,
        **plans_table(scoped_select(Plan).where(Plan.product_id == product.id)),
    }
    ctx.update(extra)
    return ctx


@bp.get("/products/<int:product_id>")
@staff_required("products.view")
def product_detail(product_id):
    product = tenant_get_or_404(Product, product_id)
    return render_template("catalog/products/detail.html", **_product_context(product))


@bp.get("/products/<int:product_id>/marketing")
@staff_required("products.manage")
def product_marketing_step(product_id):
    """R-PD-1 step 2, marketing; «Save» opens the product on its Plans tab."""
    product = tenant_get_or_404(Product, product_id)
    return render_template("catalog/products/marketing_step.html",
                           **_product_context(product, wizard=True))


def _marketing_done(product):
    if request.form.get("wizard"):
        return redirect(url_for("catalog.product_marketing_step", product_id=product.id))
    return redirect(url_for("catalog.product_detail", product_id=product.id) + "#marketing")


def _marketing_failed(product, **forms):
    wizard = bool(request.form.get("wizard"))
    template = "catalog/products/marketing_step.html" if wizard else \
        "catalog/products/detail.html"
    return _fail_page(template, _product_context(product, wizard=wizard, **forms))


@bp.post("/products/<int:product_id>")
@staff_required("products.manage")
def update_product_page(product_id):
    """General information; a delegated product's only own setting there is «Published»."""
    product = tenant_get_or_404(Product, product_id)
    if product.is_delegated:
        form = ProductPublishForm()
        ok = submit(form, lambda f: update_product(product, actor=current_user,
                                                   published=f.published.data))
        name = "publish_form"
    else:
        form = ProductGeneralForm()
        form.product_category_id.choices = _category_choices()
        ok = submit(form, lambda f: update_product(product, actor=current_user,
                                                   **_general_fields(f)))
        name = "general_form"
    if ok:
        return redirect(url_for("catalog.product_detail", product_id=product.id))
    return _fail_page("catalog/products/detail.html", _product_context(product, **{name: form}))


@bp.post("/products/<int:product_id>/marketing")
@staff_required("products.manage")
def update_product_marketing(product_id):
    product = tenant_get_or_404(Product, product_id)
    form = ProductMarketingForm()

    def apply(f):
        update_product(product, actor=current_user, marketing_name=f.marketing_name.data,
                       **{name: getattr(f, name).data or "" for name in (
                           "marketing_description", "support_url", "support_email",
                           "support_phone", "support_extra")})
        image = _image(f.logo.data, "logo")
        if image is not None:
            set_product_logo(product, image[0], image[1], actor=current_user)
        elif f.remove_logo.data and product.logo_type:
            set_product_logo(product, None, "", actor=current_user)

    if submit(form, apply):
        if request.form.get("wizard"):
            return redirect(url_for("catalog.product_detail", product_id=product.id) + "#plans")
        return redirect(url_for("catalog.product_detail", product_id=product.id) + "#marketing")
    return _marketing_failed(product, marketing_form=form)


@bp.post("/products/<int:product_id>/items/<kind>")
@staff_required("products.manage")
def add_product_item(product_id, kind):
    """Add a screenshot, video, document or advantage (05 §2.3)."""
    product = tenant_get_or_404(Product, product_id)
    if kind not in {k.value for k in MarketingItemKind}:
        abort(404)
    form = MarketingItemForm(prefix=kind)

    def apply(f):
        image = _image(f.image.data, "image") if kind == MarketingItemKind.SCREENSHOT else None
        add_marketing_item(product, kind=kind, name=f.name.data, url=f.url.data or "",
                           description=f.description.data or "",
                           image=image[0] if image else None,
                           image_type=image[1] if image else "", actor=current_user)

    if submit(form, apply, success=_("Added.")):
        return _marketing_done(product)
    forms = {k.value: MarketingItemForm(formdata=None, prefix=k.value) for k in MarketingItemKind}
    forms[kind] = form
    return _marketing_failed(product, item_forms=forms)


def _item_or_404(product, item_id) -> ProductMarketingItem:
    item = db.session.scalar(scoped_select(ProductMarketingItem).where(
        ProductMarketingItem.product_id == product.id, ProductMarketingItem.id == item_id))
    if item is None:
        abort(404)
    return item


@bp.post("/products/<int:product_id>/items/<int:item_id>/image")
@staff_required("products.manage")
def change_item_image(product_id, item_id):
    product = tenant_get_or_404(Product, product_id)
    item = _item_or_404(product, item_id)
    form = MarketingImageForm(prefix=f"item{item.id}")

    def apply(f):
        image = _image(f.image.data, "image")
        if image is None:
            raise CatalogError(_l("Choose an image file."), field="image")
        set_marketing_item_image(item, image[0], image[1], actor=current_user)

    if submit(form, apply, success=_("The image is changed.")):
        return _marketing_done(product)
    return _marketing_failed(product, image_form=form, image_item_id=item.id)


@bp.post("/products/<int:product_id>/items/<int:item_id>/delete")
@staff_required("products.manage")
def remove_product_item(product_id, item_id):
    product = tenant_get_or_404(Product, product_id)
    item = _item_or_404(product, item_id)
    if run_action(lambda: remove_marketing_item(item, actor=current_user),
                  success=_("Removed.")):
        return _marketing_done(product)
    return _marketing_failed(product)


@bp.get("/products/<int:product_id>/logo")
@staff_required("products.view")
def product_logo(product_id):
    product = tenant_get_or_404(Product, product_id)
    return _image_response(product.logo, product.logo_type)


@bp.get("/products/<int:product_id>/items/<int:item_id>/image")
@staff_required("products.view")
def product_item_image(product_id, item_id):
    product = tenant_get_or_404(Product, product_id)
    item = _item_or_404(product, item_id)
    return _image_response(item.image, item.image_type)


@bp.post("/products/<int:product_id>/delete")
@staff_required("products.manage")
def delete_product_page(product_id):
    product = tenant_get_or_404(Product, product_id)
    if run_action(lambda: delete_product(product, actor=current_user),
                  success=_("The product is deleted.")):
        return redirect(url_for("catalog.list_products"))
    return _fail_page("catalog/products/detail.html", _product_context(product))


# --- plan categories (05 §5.1.5) ------------------------------------------------------------

PLAN_CATEGORIES = register_list(ListDefinition(
    key="plan_categories", title=_l("Plan categories"), model=PlanCategory,
    permission="plan_categories.view",
    query=lambda reseller: scoped_select(PlanCategory, reseller),
    columns=[
        Column("id", "ID", sort=PlanCategory.id,
               render=_link("catalog.plan_category_detail", "category_id", lambda c: c.id)),
        Column("name", _l("Name"), sort=PlanCategory.name, search=PlanCategory.name,
               render=_link("catalog.plan_category_detail", "category_id", lambda c: c.name)),
        Column("key", _l("Key"), sort=PlanCategory.key, search=PlanCategory.key,
               render=_link("catalog.plan_category_detail", "category_id", lambda c: c.key)),
        Column("is_delegated", _l("Delegated"), sort=PlanCategory.is_delegated, default=False),
        Column("description", _l("Description"), search=PlanCategory.description,
               default=False),
    ],
))


@bp.get("/plan-categories")
@staff_required("plan_categories.view")
def list_plan_categories():
    return list_response(PLAN_CATEGORIES, title=PLAN_CATEGORIES.title,
                         create_url=url_for("catalog.create_plan_category_page")
                         if current_user.can("plan_categories.manage") else None)


@bp.route("/plan-categories/new", methods=["GET", "POST"])
@staff_required("plan_categories.manage")
def create_plan_category_page():
    form = PlanCategoryForm()
    created = []
    if submit(form, lambda f: created.append(create_plan_category(
            g.acting_reseller, actor=current_user, name=f.name.data, key=f.key.data,
            description=f.description.data or "")),
            success=_("The plan category is created.")):
        return redirect(url_for("catalog.plan_category_detail", category_id=created[0].id))
    return render_template("catalog/plan_categories/create.html", form=form), \
        422 if form.is_submitted() else 200


def _plan_category_context(category, **extra):
    ctx = {"category": category, "form": PlanCategoryForm(obj=category, formdata=None),
           "events": events_for(category),
           "plans_count": db.session.scalar(select(func.count(Plan.id)).where(
               Plan.reseller_id == category.reseller_id, Plan.plan_category_id == category.id))}
    ctx.update(extra)
    return ctx


@bp.get("/plan-categories/<int:category_id>")
@staff_required("plan_categories.view")
def plan_category_detail(category_id):
    category = tenant_get_or_404(PlanCategory, category_id)
    return render_template("catalog/plan_categories/detail.html",
                           **_plan_category_context(category))


@bp.post("/plan-categories/<int:category_id>")
@staff_required("plan_categories.manage")
def update_plan_category_page(category_id):
    category = tenant_get_or_404(PlanCategory, category_id)
    form = PlanCategoryForm()
    if submit(form, lambda f: update_plan_category(
            category, actor=current_user, name=f.name.data, key=f.key.data,
            description=f.description.data or "")):
        return redirect(url_for("catalog.plan_category_detail", category_id=category.id))
    return _fail_page("catalog/plan_categories/detail.html",
                      _plan_category_context(category, form=form))


@bp.post("/plan-categories/<int:category_id>/delete")
@staff_required("plan_categories.manage")
def delete_plan_category_page(category_id):
    category = tenant_get_or_404(PlanCategory, category_id)
    if run_action(lambda: delete_plan_category(category, actor=current_user),
                  success=_("The plan category is deleted.")):
        return redirect(url_for("catalog.list_plan_categories"))
    return _fail_page("catalog/plan_categories/detail.html", _plan_category_context(category))


# --- services (06 §5.2) ---------------------------------------------------------------------

# Own plans that include the service (delegated copies at other resellers are theirs).
SERVICE_PLANS = (select(func.count(PlanService.id))
                 .where(PlanService.service_template_id == ServiceTemplate.id,
                        PlanService.reseller_id == ServiceTemplate.reseller_id)
                 .correlate(ServiceTemplate).scalar_subquery())


def _service_plans_count(service) -> int:
    return db.session.scalar(select(func.count(PlanService.id)).where(
        PlanService.reseller_id == service.reseller_id,
        PlanService.service_template_id == service.id)) or 0


SERVICES = register_list(ListDefinition(
    key="services", title=_l("Services"), model=ServiceTemplate, permission="services.view",
    query=lambda reseller: scoped_select(ServiceTemplate, reseller),
    columns=[
        Column("id", "ID", sort=ServiceTemplate.id,
               render=_link("catalog.service_detail", "service_id", lambda s: s.id)),
        Column("name", _l("Name"), sort=ServiceTemplate.name, search=ServiceTemplate.name,
               render=_link("catalog.service_detail", "service_id", lambda s: s.name)),
        Column("connector", _l("Connector"), sort=ServiceTemplate.connector,
               value=lambda s: str(CONNECTOR_LABELS[s.connector])),
        Column("plans", _l("Plans"), sort=SERVICE_PLANS, value=_service_plans_count),
        Column("description", _l("Description"), search=ServiceTemplate.description,
               default=False),
    ],
    filters=[Filter("connector", _l("Connector"), ServiceTemplate.connector,
                    choices=[(c.value, CONNECTOR_LABELS[c]) for c in Connector])],
))


@bp.get("/services")
@staff_required("services.view")
def list_services():
    return list_response(SERVICES, title=SERVICES.title,
                         create_url=url_for("catalog.create_service_page")
                         if current_user.can("services.manage") else None)


def _modes(form) -> dict:
    return {action: getattr(form, f"mode_{action}").data for action, _label in MANUAL_MODE_FIELDS}


@bp.route("/services/new", methods=["GET", "POST"])
@staff_required("services.manage")
def create_service_page():
    form = ServiceCreateForm()
    created = []

    def apply(f):
        extra = {"settings": {"modes": _modes(f)}} if f.connector.data == Connector.MANUAL else {}
        created.append(create_service_template(
            g.acting_reseller, actor=current_user, name=f.name.data, connector=f.connector.data,
            description=f.description.data or "", **extra))

    if submit(form, apply, success=_("The service is created.")):
        return redirect(url_for("catalog.service_detail", service_id=created[0].id))
    return render_template("catalog/services/create.html", form=form,
                           mode_fields=MANUAL_MODE_FIELDS), 422 if form.is_submitted() else 200


def _service_context(service, **extra):
    form = ServiceEditForm(obj=service, formdata=None)
    for action, mode in ((service.settings or {}).get("modes") or {}).items():
        field = getattr(form, f"mode_{action}", None)
        if field is not None:
            field.data = mode
    ctx = {
        "service": service, "form": form, "connector_label": CONNECTOR_LABELS[service.connector],
        "is_manual": service.connector == Connector.MANUAL, "mode_fields": MANUAL_MODE_FIELDS,
        "resource_form": ServiceResourceForm(formdata=None),
        "resources": db.session.scalars(scoped_select(ServiceResource).where(
            ServiceResource.service_template_id == service.id)
            .order_by(ServiceResource.id)).all(),
        "unit_labels": {ResourceUnit.UNITS: _("Units"), ResourceUnit.BOOLEAN: _("Boolean")},
        "events": events_for(service),
        **plans_table(scoped_select(Plan).join(PlanService, PlanService.plan_id == Plan.id)
                      .where(PlanService.service_template_id == service.id)),
    }
    ctx.update(extra)
    return ctx


@bp.get("/services/<int:service_id>")
@staff_required("services.view")
def service_detail(service_id):
    service = tenant_get_or_404(ServiceTemplate, service_id)
    return render_template("catalog/services/detail.html", **_service_context(service))


@bp.post("/services/<int:service_id>")
@staff_required("services.manage")
def update_service_page(service_id):
    service = tenant_get_or_404(ServiceTemplate, service_id)
    form = ServiceEditForm()

    def apply(f):
        extra = {}
        if service.connector == Connector.MANUAL:
            extra["settings"] = {**(service.settings or {}), "modes": _modes(f)}
        update_service_template(service, actor=current_user, name=f.name.data,
                                description=f.description.data or "", **extra)

    if submit(form, apply):
        return redirect(url_for("catalog.service_detail", service_id=service.id))
    return _fail_page("catalog/services/detail.html", _service_context(service, form=form))


@bp.post("/services/<int:service_id>/resources")
@staff_required("services.manage")
def add_service_resource_page(service_id):
    service = tenant_get_or_404(ServiceTemplate, service_id)
    form = ServiceResourceForm()
    if submit(form, lambda f: add_service_resource(
            service, actor=current_user, name=f.name.data, unit_type=f.unit_type.data,
            measurable=f.measurable.data, description=f.description.data or ""),
            success=_("The resource is added.")):
        return redirect(url_for("catalog.service_detail", service_id=service.id) + "#resources")
    return _fail_page("catalog/services/detail.html",
                      _service_context(service, resource_form=form))


@bp.post("/services/<int:service_id>/resources/<int:resource_id>/status")
@staff_required("services.manage")
def service_resource_status(service_id, resource_id):
    """06 SR-2: only active resources are offered to new plans."""
    service = tenant_get_or_404(ServiceTemplate, service_id)
    resource = db.session.scalar(scoped_select(ServiceResource).where(
        ServiceResource.service_template_id == service.id, ServiceResource.id == resource_id))
    if resource is None:
        abort(404)
    active = request.form.get("active") == "1"
    run_action(lambda: set_service_resource_active(resource, active, actor=current_user),
               success=_("The resource is activated.") if active
               else _("The resource is deactivated."))
    return redirect(url_for("catalog.service_detail", service_id=service.id) + "#resources")


@bp.post("/services/<int:service_id>/delete")
@staff_required("services.manage")
def delete_service_page(service_id):
    service = tenant_get_or_404(ServiceTemplate, service_id)
    if run_action(lambda: delete_service_template(service, actor=current_user),
                  success=_("The service is deleted.")):
        return redirect(url_for("catalog.list_services"))
    return _fail_page("catalog/services/detail.html", _service_context(service))
