"""Plan pages of the operator panel: the list, create, the plan page with its tabs (general,
periods, resources, services, switch targets, delegated copies, event log), copy, and the
delegation of plans to child resellers (05 §5.1.6–§5.1.9, 07 §4.5).

Each handler loads its objects inside the tenant, calls one service, commits and redirects;
a refusal re-renders the page with the message next to its field (422; 409 for a
provisioning-rule key clash, 07 BR-34).
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.catalog.forms_plans import (CopyForm, CopyPageForm, DelegateForm, PeriodForm,
                                        PlanCreateForm, PlanEditForm, ResourceAddForm,
                                        ResourceForm, ServicesForm, SwitchTargetsForm,
                                        WizardPlansForm)
from portal.catalog.models import (BILLING_TYPE_LABELS, PLAN_STATUS_LABELS, BillingType, Plan,
                                   PlanCategory, PlanPeriod, PlanResource, PlanService,
                                   PlanSource, PlanStatus, PlanSwitchTarget, Product,
                                   ProvisioningRule, ResourceUnit, ServiceResource,
                                   ServiceTemplate)
from portal.catalog.services import (CatalogError, activate_plan, add_period, add_resource,
                                     add_switch_targets, copy_plan, deactivate_plan,
                                     delete_period, delete_resource, markup_state,
                                     remove_switch_targets, set_plan_services, start_delegation,
                                     update_period, update_plan, update_resource)
from portal.catalog.services import create_plan as create_plan_service
from portal.catalog.services.markup import MarkupState
from portal.catalog.services.plans import SYNCED_FIELDS, has_copies
from portal.catalog.usage import has_live_subscriptions, live_subscription_counts
from portal.catalog.views import bp
from portal.core.audit import events_for
from portal.core.errors import DomainError
from portal.core.forms import attach_error, run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.tenancy.models import Reseller
from portal.tenancy.scope import scoped_select, tenant_get_or_404

# Detail pages of other catalogue screens; linked only once they exist.
PRODUCT_ENDPOINT = "catalog.product_detail"
PLAN_CATEGORY_ENDPOINT = "catalog.plan_category_detail"

TABS = (("general", _l("General information")), ("periods", _l("Plan periods")),
        ("resources", _l("Plan resources")), ("services", _l("Services")),
        ("switch", _l("Switchable plans")), ("delegated", _l("Delegated to")),
        ("events", _l("Event log")))
PLAN_FORM_FIELDS = PlanEditForm.GENERAL + PlanEditForm.BILLING


# --- small helpers ----------------------------------------------------------------------

def link_if(endpoint: str, text, **values) -> Markup:
    """A link to another screen when that screen exists, else the plain text."""
    if endpoint in current_app.view_functions:
        return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), text)
    return escape(text)


def period_label(period) -> str:
    if period.is_unlimited:
        return _("Unlimited")
    n = period.duration or 0
    unit = getattr(period.duration_unit, "value", period.duration_unit)
    if unit == "day":
        return ngettext("%(num)d day", "%(num)d days", n)
    if unit == "year":
        return ngettext("%(num)d year", "%(num)d years", n)
    return ngettext("%(num)d month", "%(num)d months", n)


def quantity(value) -> str:
    """A resource quantity without trailing zeros: 15, 2.5."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def markup_text(plan: Plan) -> str:
    state = markup_state(plan)
    if state == MarkupState.UNAVAILABLE:
        return _("Cannot be set")
    if state == MarkupState.MANUAL:
        return _("Not set")
    return f"{plan.markup_coefficient:.2f}"


def yes_no(value) -> str:
    return _("Yes") if value else _("No")


@bp.app_context_processor
def plan_helpers():
    return {"period_label": period_label, "quantity": quantity, "yes_no": yes_no,
            "delegation_rows": delegation_rows}


def delegation_rows(operation) -> list[dict]:
    """The result of a delegation operation with the names of its plans and resellers."""
    rows = list((operation.result or {}).get("plans", []))
    if not rows:
        return []
    plan_names = dict(db.session.execute(
        select(Plan.id, Plan.name).where(Plan.reseller_id == operation.reseller_id,
                                         Plan.id.in_({r["plan_id"] for r in rows}))).all())
    reseller_names = dict(db.session.execute(
        select(Reseller.id, Reseller.name).where(
            Reseller.parent_id == operation.reseller_id,
            Reseller.id.in_({r["reseller_id"] for r in rows}))).all())
    return [{**r, "plan": plan_names.get(r["plan_id"], ""),
             "reseller": reseller_names.get(r["reseller_id"], "")} for r in rows]


# --- the plans list (05 §5.1.6) ---------------------------------------------------------

def _plans_query(reseller):
    return (scoped_select(Plan, reseller)
            .join(PlanCategory, PlanCategory.id == Plan.plan_category_id)
            .join(Product, Product.id == Plan.product_id)
            .options(contains_eager(Plan.plan_category), contains_eager(Plan.product)))


def _subscriptions(plan: Plan) -> int:
    return live_subscription_counts([plan.id]).get(plan.id, 0)


DELEGATED = case((Plan.is_delegated.is_(True), "yes"), else_="no")

PLANS = register_list(ListDefinition(
    key="plans", title=_l("Plans"), model=Plan, permission="plans.view", query=_plans_query,
    columns=[
        Column("id", "ID", sort=Plan.id),
        Column("name", _l("Name"), sort=Plan.name, search=Plan.name,
               render=lambda p: Markup('<a href="{}">{}</a>').format(
                   url_for("catalog.plan_detail", plan_id=p.id), p.name)),
        Column("sku", _l("SKU (Offer ID)"), sort=Plan.sku, search=Plan.sku),
        Column("currency", _l("Currency"), sort=Plan.currency, search=Plan.currency,
               default=False),
        Column("is_delegated", _l("Delegated"), sort=Plan.is_delegated),
        Column("billing_type", _l("Billing type"), sort=Plan.billing_type,
               value=lambda p: str(BILLING_TYPE_LABELS[p.billing_type])),
        Column("plan_category", _l("Plan category"), sort=PlanCategory.name,
               search=PlanCategory.name, value=lambda p: p.plan_category.name,
               render=lambda p: link_if(PLAN_CATEGORY_ENDPOINT, p.plan_category.name,
                                        category_id=p.plan_category_id)),
        Column("product", _l("Product"), sort=Product.name, search=Product.name,
               value=lambda p: p.product.name,
               render=lambda p: link_if(PRODUCT_ENDPOINT, p.product.name,
                                        product_id=p.product_id)),
        Column("subscriptions", _l("Subscriptions"), value=_subscriptions),
        Column("single", _l("Single"), sort=Plan.single),
        Column("published", _l("Published"), sort=Plan.published),
        Column("status", _l("Status"), sort=Plan.status,
               value=lambda p: str(PLAN_STATUS_LABELS[p.status])),
    ],
    filters=[
        Filter("status", _l("Status"), Plan.status,
               choices=[(s.value, PLAN_STATUS_LABELS[s]) for s in PlanStatus]),
        Filter("billing_type", _l("Billing type"), Plan.billing_type,
               choices=[(t.value, BILLING_TYPE_LABELS[t]) for t in BillingType]),
        Filter("delegated", _l("Delegated"), DELEGATED,
               choices=[("yes", _l("Yes")), ("no", _l("No"))]),
    ],
))


@bp.get("/plans")
@staff_required("plans.view")
def list_plans():
    manage = current_user.can("plans.manage")
    # The page's own toolbar has "Create plan", "Copy plan" and "Delegate plans".
    return list_response(PLANS, page_template="catalog/plans/list.html", title=PLANS.title,
                         can_manage=manage)


# --- choices inside the tenant ----------------------------------------------------------

def _own(model, order):
    return db.session.scalars(scoped_select(model).order_by(order, model.id)).all()


def _set_plan_choices(form) -> None:
    form.set_choices(categories=_own(PlanCategory, PlanCategory.name),
                     products=_own(Product, Product.name),
                     rules=_own(ProvisioningRule, ProvisioningRule.name))


def _own_services():
    return _own(ServiceTemplate, ServiceTemplate.name)


# --- create (05 §5.1.7) -----------------------------------------------------------------

@bp.route("/plans/new", methods=["GET", "POST"])
@staff_required("plans.manage")
def create_plan():
    reseller = g.acting_reseller
    form = PlanCreateForm()
    _set_plan_choices(form)
    services = _own_services()
    form.services.choices = [(s.id, s.name) for s in services]
    if not form.is_submitted():
        form.currency.data = reseller.currency  # R-PLN-9
        # R-PD-5: "Create a plan" from a product's Plans tab comes with the product chosen.
        product_id = request.args.get("product_id", type=int)
        if product_id in {value for value, _label in form.product_id.choices}:
            form.product_id.data = product_id
    created = []

    def apply(f):
        fields = {name: getattr(f, name).data for name in PLAN_FORM_FIELDS}
        if not f.services.data:  # 05 R-SV-2: the resources come from the services
            raise CatalogError(_l("Choose at least one service."), field="services")
        created.append(create_plan_service(reseller, actor=current_user,
                                           services=f.services.data, **fields))

    if form.is_submitted() and submit(
            form, apply, success=_("The plan is created. Add its periods and resources.")):
        return redirect(url_for("catalog.plan_detail", plan_id=created[0].id, tab="periods"))
    # R-PLN-1: what must exist before a plan can be created.
    missing = [label for label, present in (
        (_("a plan category"), len(form.plan_category_id.choices) > 1),
        (_("a product"), len(form.product_id.choices) > 1),
        (_("a provisioning rule"), len(form.provisioning_rule_id.choices) > 1),
        (_("a service"), bool(services))) if not present]
    status = 422 if form.is_submitted() else 200
    return render_template("catalog/plans/create.html", form=form, services=services,
                           missing=missing), status


# --- the plan page (05 §5.1.8) ----------------------------------------------------------

def plan_locks(plan: Plan) -> set[str]:
    """The general fields shown read-only (R-PLN-10..15)."""
    locked = set()
    live = has_live_subscriptions(plan)
    if plan.is_delegated:
        locked |= SYNCED_FIELDS
    if live or plan.is_delegated or plan.source == PlanSource.VENDOR_PORTAL or has_copies(plan):
        locked.add("billing_type")
    if plan.is_delegated or live:
        locked.add("product_id")
    if plan.billing_type == BillingType.NON_RECURRING:
        locked.add("autorenew")
    return locked


def _copies(plan: Plan) -> list[tuple[Plan, Reseller]]:
    """This plan's copies one level down, with their resellers (07 EX-08)."""
    copies = db.session.scalars(scoped_select(Plan, subtree=True).where(
        Plan.parent_id == plan.id).order_by(Plan.id)).all()
    if not copies:
        return []
    resellers = {r.id: r for r in db.session.scalars(scoped_select(Reseller).where(
        Reseller.id.in_({c.reseller_id for c in copies})))}
    return [(c, resellers.get(c.reseller_id)) for c in copies]


def _children() -> list[Reseller]:
    reseller = g.acting_reseller
    return db.session.scalars(scoped_select(Reseller).where(
        Reseller.parent_id == reseller.id).order_by(Reseller.name, Reseller.id)).all()


def _delegate_form(plan: Plan, copies, form=None) -> DelegateForm:
    form = form or DelegateForm(formdata=None)
    done = {c.reseller_id for c, _r in copies}
    form.reseller_ids.choices = [(r.id, r.name) for r in _children() if r.id not in done]
    return form


def _available_resources(plan: Plan) -> list[ServiceResource]:
    """Active resources of the plan's services not yet on the plan (R-RS-8)."""
    taken = set(db.session.scalars(select(PlanResource.service_resource_id).where(
        PlanResource.reseller_id == plan.reseller_id, PlanResource.plan_id == plan.id,
        PlanResource.deleted_at.is_(None), PlanResource.service_resource_id.is_not(None))))
    resources = db.session.scalars(select(ServiceResource).join(
        PlanService, PlanService.service_template_id == ServiceResource.service_template_id)
        .where(PlanService.reseller_id == plan.reseller_id, PlanService.plan_id == plan.id,
               ServiceResource.active.is_(True))
        .order_by(ServiceResource.service_template_id, ServiceResource.id)).all()
    return [r for r in resources if r.id not in taken]


def _switch_candidates(plan: Plan, name: str, product: str) -> list[Plan]:
    """Own plans to add as switch targets, filtered as R-SW-4 describes."""
    current = select(PlanSwitchTarget.target_plan_id).where(
        PlanSwitchTarget.reseller_id == plan.reseller_id, PlanSwitchTarget.plan_id == plan.id)
    query = (scoped_select(Plan).join(Product, Product.id == Plan.product_id)
             .where(Plan.id != plan.id, Plan.id.not_in(current)))
    if name:
        query = query.where(func.lower(Plan.name).contains(name.lower(), autoescape=True))
    if product:
        query = query.where(func.lower(Product.name).contains(product.lower(), autoescape=True))
    return db.session.scalars(query.order_by(Plan.name, Plan.id).limit(200)).all()


def _switch_targets(plan: Plan) -> list[Plan]:
    return db.session.scalars(scoped_select(Plan).join(
        PlanSwitchTarget, PlanSwitchTarget.target_plan_id == Plan.id).where(
        PlanSwitchTarget.reseller_id == plan.reseller_id, PlanSwitchTarget.plan_id == plan.id)
        .order_by(Plan.name, Plan.id)).all()


def _detail(plan: Plan, tab: str, **forms):
    """Render the plan page on one tab; forms given replace the fresh ones (errors)."""
    tab = tab if tab in dict(TABS) else "general"
    ctx = {"plan": plan, "tab": tab, "tabs": TABS, "locks": plan_locks(plan),
           "markup": markup_text(plan), "markup_state": markup_state(plan),
           "can_manage": current_user.can("plans.manage"),
           "live": has_live_subscriptions(plan)}
    if tab == "general":
        edit = forms.get("edit_form") or PlanEditForm(obj=plan, formdata=None)
        _set_plan_choices(edit)
        ctx["edit_form"] = edit
        ctx["copy_form"] = forms.get("copy_form") or CopyForm(
            formdata=None, name=f"{plan.name} {_('Copy')}")
    elif tab == "resources":
        ctx["available"] = _available_resources(plan)
    elif tab == "services":
        form = forms.get("services_form") or ServicesForm(
            formdata=None, services=[s.id for s in plan.services])
        form.services.choices = [(s.id, s.name) for s in _own_services()]
        ctx["services_form"] = form
    elif tab == "switch":
        ctx["targets"] = _switch_targets(plan)
        sw_name = request.args.get("sw_name", "").strip()
        sw_product = request.args.get("sw_product", plan.product.name).strip()
        candidates = _switch_candidates(plan, sw_name, sw_product)
        form = forms.get("switch_form") or SwitchTargetsForm(formdata=None)
        form.target_ids.choices = [(p.id, p.name) for p in candidates]
        ctx.update(candidates=candidates, switch_form=form, sw_name=sw_name,
                   sw_product=sw_product)
    elif tab == "delegated":
        copies = _copies(plan)
        ctx["copies"] = copies
        ctx["delegate_form"] = _delegate_form(plan, copies, forms.get("delegate_form"))
        ctx["conflict"] = forms.get("conflict")
    elif tab == "events":
        ctx["events"] = events_for(plan)
    return render_template("catalog/plans/detail.html", **ctx)


@bp.get("/plans/<int:plan_id>")
@staff_required("plans.view")
def plan_detail(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    return _detail(plan, request.args.get("tab", "general"))


def _redirect(plan: Plan, tab: str = "general"):
    return redirect(url_for("catalog.plan_detail", plan_id=plan.id, tab=tab))


@bp.post("/plans/<int:plan_id>")
@staff_required("plans.manage")
def update_plan_page(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    locked = plan_locks(plan)
    form = PlanEditForm(obj=plan)
    _set_plan_choices(form)
    # A read-only field is not submitted; one that is (a forged form) still reaches the
    # service, which refuses a change it does not allow.
    names = [n for n in PLAN_FORM_FIELDS if n not in locked or n in request.form]

    def apply(f):
        update_plan(plan, actor=current_user, **{n: getattr(f, n).data for n in names})

    if submit(form, apply, success=_("Saved.")):
        return _redirect(plan)
    return _detail(plan, "general", edit_form=form), 422


@bp.post("/plans/<int:plan_id>/deactivate")
@staff_required("plans.manage")
def deactivate(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    run_action(lambda: deactivate_plan(plan, actor=current_user),
               success=_("The plan is deactivated."))
    return _redirect(plan)


@bp.post("/plans/<int:plan_id>/activate")
@staff_required("plans.manage")
def activate(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    run_action(lambda: activate_plan(plan, actor=current_user),
               success=_("The plan is activated."))
    return _redirect(plan)


# --- copy (05 §4.16, §5.1.9) ------------------------------------------------------------

@bp.post("/plans/<int:plan_id>/copy")
@staff_required("plans.manage")
def copy_plan_from_page(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    form = CopyForm()
    copies = []
    if submit(form, lambda f: copies.append(copy_plan(
            plan, name=f.name.data, published=f.published.data,
            reset_prices=f.reset_prices.data, actor=current_user)),
            success=_("The plan is copied.")):
        return _redirect(copies[0])
    return _detail(plan, "general", copy_form=form), 422


def _copyable_plans():
    return db.session.scalars(scoped_select(Plan).where(
        Plan.is_delegated.is_(False),
        Plan.status.in_([PlanStatus.ACTIVE.value, PlanStatus.INACTIVE.value]))
        .order_by(Plan.name, Plan.id)).all()


@bp.route("/plans/copy", methods=["GET", "POST"])
@staff_required("plans.manage")
def copy_plan_page():
    form = CopyPageForm()
    form.plan_id.choices = [("", "—")] + [(p.id, f"{p.id} · {p.name}")
                                          for p in _copyable_plans()]
    copies = []

    def apply(f):
        if f.plan_id.data is None:
            raise CatalogError(_l("Choose a plan."), field="plan_id")
        source = tenant_get_or_404(Plan, f.plan_id.data)
        copies.append(copy_plan(source, name=None, published=f.published.data,
                                reset_prices=f.reset_prices.data, actor=current_user))

    if form.is_submitted() and submit(form, apply, success=_("The plan is copied.")):
        return _redirect(copies[0])
    status = 422 if form.is_submitted() else 200
    return render_template("catalog/plans/copy.html", form=form), status


# --- periods (05 §4.12) -----------------------------------------------------------------

def _period_or_404(plan: Plan, period_id: int) -> PlanPeriod:
    period = tenant_get_or_404(PlanPeriod, period_id)
    if period.plan_id != plan.id or period.deleted_at is not None:
        abort(404)
    return period


def period_locks(plan: Plan) -> set[str]:
    locked = set()
    if plan.is_delegated:
        locked |= set(PeriodForm.STRUCTURE)  # R-PER-8
    if plan.billing_type == BillingType.NON_RECURRING:
        locked |= set(PeriodForm.PRICES)  # R-PER-4
    return locked


def _period_fields(form, locked) -> dict:
    names = [n for n in PeriodForm.STRUCTURE + PeriodForm.PRICES + ("description",)
             if n not in locked or n in request.form]
    return {n: getattr(form, n).data for n in names}


@bp.route("/plans/<int:plan_id>/periods/new", methods=["GET", "POST"])
@staff_required("plans.manage")
def add_period_page(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    form = PeriodForm()
    locked = period_locks(plan)
    if plan.is_delegated:
        flash(_("The periods and resources of a delegated plan are set by the provider."),
              "error")
        return _redirect(plan, "periods")
    if form.is_submitted() and submit(
            form, lambda f: add_period(plan, actor=current_user, **_period_fields(f, locked)),
            success=_("The period is added.")):
        return _redirect(plan, "periods")
    status = 422 if form.is_submitted() else 200
    return render_template("catalog/plans/period.html", plan=plan, form=form, period=None,
                           locked=locked), status


@bp.route("/plans/<int:plan_id>/periods/<int:period_id>", methods=["GET", "POST"])
@staff_required("plans.view")
def period_page(plan_id, period_id):
    plan = tenant_get_or_404(Plan, plan_id)
    period = _period_or_404(plan, period_id)
    locked = period_locks(plan)
    if request.method == "POST":
        if not current_user.can("plans.manage"):
            abort(403)
        form = PeriodForm(obj=period)
        if submit(form, lambda f: update_period(period, actor=current_user,
                                                **_period_fields(f, locked))):
            return _redirect(plan, "periods")
        return render_template("catalog/plans/period.html", plan=plan, form=form, period=period,
                               locked=locked), 422
    form = PeriodForm(obj=period, formdata=None)
    return render_template("catalog/plans/period.html", plan=plan, form=form, period=period,
                           locked=locked)


@bp.post("/plans/<int:plan_id>/periods/<int:period_id>/delete")
@staff_required("plans.manage")
def delete_period_page(plan_id, period_id):
    plan = tenant_get_or_404(Plan, plan_id)
    period = _period_or_404(plan, period_id)
    run_action(lambda: delete_period(period, actor=current_user),
               success=_("The period is deleted."))
    return _redirect(plan, "periods")


# --- resources (05 §4.11) ---------------------------------------------------------------

def _resource_or_404(plan: Plan, resource_id: int) -> PlanResource:
    resource = tenant_get_or_404(PlanResource, resource_id)
    if resource.plan_id != plan.id or resource.deleted_at is not None:
        abort(404)
    return resource


def resource_locks(plan: Plan, unit_type, *, live: bool) -> set[str]:
    locked = set()
    if plan.is_delegated:
        locked |= set(ResourceForm.STRUCTURE) | set(ResourceForm.LIMITS)  # R-RS-12
    if live:
        locked |= set(ResourceForm.LIMITS)  # R-RS-9, R-RS-12
    if plan.billing_type == BillingType.NON_RECURRING:
        locked |= {"included", "overuse_fee", "monthly_fee", "renewal_fee"}  # R-PLN-7
    if unit_type == ResourceUnit.BOOLEAN:
        locked |= {"overuse_fee", "unlimited", "limit", "measurable"}  # R-RS-4
    return locked


def _resource_fields(form, locked, unit_type) -> dict:
    names = [n for n in ResourceForm.STRUCTURE + ResourceForm.LIMITS + ResourceForm.PRICES
             + ("priority",) if n not in locked or n in request.form]
    data = {n: getattr(form, n).data for n in names}
    if unit_type == ResourceUnit.BOOLEAN:
        # The 05 §2.10 matrix: included and minimum are checkboxes of a boolean resource.
        for name in ("included", "minimum"):
            if name in data:
                data[name] = "1" if request.form.get(name) else "0"
    if not (data.get("name") or "").strip():
        data.pop("name", None)
    return data


@bp.route("/plans/<int:plan_id>/resources/new", methods=["GET", "POST"])
@staff_required("plans.manage")
def add_resource_page(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    if plan.is_delegated:
        flash(_("The periods and resources of a delegated plan are set by the provider."),
              "error")
        return _redirect(plan, "resources")
    available = _available_resources(plan)
    form = ResourceAddForm()
    form.service_resource_id.choices = [("", "—")] + [
        (r.id, f"{r.service_template.name}: {r.name}") for r in available]
    chosen_id = form.service_resource_id.data if form.is_submitted() else \
        form.service_resource_id.coerce(request.args.get("service_resource_id"))
    source = next((r for r in available if r.id == chosen_id), None)
    unit_type = source.unit_type if source else ResourceUnit.UNITS
    live = has_live_subscriptions(plan)
    locked = resource_locks(plan, unit_type, live=live)
    if source is not None and not form.is_submitted():
        form.service_resource_id.data = source.id
        form.name.data = source.name
        form.public.data = True  # 05 §2.10: public by default in the add grid

    def apply(f):
        if source is None:
            raise CatalogError(_l("Choose a resource of one of the plan's services."),
                               field="service_resource_id")
        add_resource(plan, actor=current_user, service_resource_id=source.id,
                     **_resource_fields(f, locked, unit_type))

    if form.is_submitted() and submit(form, apply, success=_("The resource is added.")):
        return _redirect(plan, "resources")
    status = 422 if form.is_submitted() else 200
    return render_template("catalog/plans/resource.html", plan=plan, form=form, resource=None,
                           source=source, unit_type=unit_type, locked=locked,
                           available=available, live=live), status


@bp.route("/plans/<int:plan_id>/resources/<int:resource_id>", methods=["GET", "POST"])
@staff_required("plans.view")
def resource_page(plan_id, resource_id):
    plan = tenant_get_or_404(Plan, plan_id)
    resource = _resource_or_404(plan, resource_id)
    live = has_live_subscriptions(plan)
    locked = resource_locks(plan, resource.unit_type, live=live)
    ctx = {"plan": plan, "resource": resource, "source": resource.service_resource,
           "unit_type": resource.unit_type, "locked": locked, "live": live}
    if request.method == "POST":
        if not current_user.can("plans.manage"):
            abort(403)
        form = ResourceForm(obj=resource)
        if submit(form, lambda f: update_resource(
                resource, actor=current_user,
                **_resource_fields(f, locked, resource.unit_type))):
            return _redirect(plan, "resources")
        return render_template("catalog/plans/resource.html", form=form, **ctx), 422
    form = ResourceForm(obj=resource, formdata=None)
    return render_template("catalog/plans/resource.html", form=form, **ctx)


@bp.post("/plans/<int:plan_id>/resources/<int:resource_id>/delete")
@staff_required("plans.manage")
def delete_resource_page(plan_id, resource_id):
    plan = tenant_get_or_404(Plan, plan_id)
    resource = _resource_or_404(plan, resource_id)
    run_action(lambda: delete_resource(resource, actor=current_user),
               success=_("The resource is deleted."))
    return _redirect(plan, "resources")


# --- services and switch targets (R-SV, R-SW) -------------------------------------------

@bp.post("/plans/<int:plan_id>/services")
@staff_required("plans.manage")
def update_services(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    form = ServicesForm()
    form.services.choices = [(s.id, s.name) for s in _own_services()]

    def apply(f):
        if plan.is_delegated:
            raise CatalogError(_l("The services of a delegated plan are those of the "
                                  "provider's plan."), field="services")
        if not f.services.data:
            raise CatalogError(_l("Choose at least one service."), field="services")
        set_plan_services(plan, f.services.data, actor=current_user)

    if submit(form, apply):
        return _redirect(plan, "services")
    return _detail(plan, "services", services_form=form), 422


@bp.post("/plans/<int:plan_id>/switch-targets")
@staff_required("plans.manage")
def add_targets(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    form = SwitchTargetsForm()
    form.target_ids.choices = [(p.id, p.name) for p in _switch_candidates(plan, "", "")]

    def apply(f):
        if not f.target_ids.data:
            raise CatalogError(_l("Choose at least one plan."), field="target_ids")
        add_switch_targets(plan, f.target_ids.data, actor=current_user)

    if submit(form, apply, success=_("The switchable plans are added.")):
        return _redirect(plan, "switch")
    return _detail(plan, "switch", switch_form=form), 422


@bp.post("/plans/<int:plan_id>/switch-targets/remove")
@staff_required("plans.manage")
def remove_targets(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    ids = [int(v) for v in request.form.getlist("target_ids") if v.isdigit()]
    run_action(lambda: remove_switch_targets(plan, ids, actor=current_user),
               success=_("The switchable plans are removed."))
    return _redirect(plan, "switch")


# --- delegation (07 §4.5) ---------------------------------------------------------------

def _start(plans: list[Plan], resellers: list[Reseller], form):
    """Queue the delegation and go to its progress page; a refusal answers (status, error)."""
    try:
        operation = start_delegation(g.acting_reseller, plans, resellers, actor=current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        if not getattr(error, "clashes", None):
            attach_error(form, error)
        return None, error
    return redirect(url_for("operator.operation", operation_id=operation.id)), None


def _children_matching(q: str) -> list[Reseller]:
    """Step 1's search: by ID, name or domain (07 S-7)."""
    children = _children()
    if not q:
        return children
    needle = q.lower()
    return [r for r in children if needle in r.name.lower() or q == str(r.id)
            or needle in (r.panel_domain or r.local_host).lower()]


def _chosen_children(ids) -> list[Reseller]:
    children = {r.id: r for r in _children()}
    return [children[i] for i in dict.fromkeys(ids) if i in children]


@bp.post("/plans/<int:plan_id>/delegate")
@staff_required("plans.manage")
def delegate_plan_page(plan_id):
    plan = tenant_get_or_404(Plan, plan_id)
    copies = _copies(plan)
    form = _delegate_form(plan, copies, DelegateForm())
    if not form.validate_on_submit():
        return _detail(plan, "delegated", delegate_form=form), 422
    if not form.reseller_ids.data:
        form.reseller_ids.errors = [_("Choose at least one reseller.")]
        return _detail(plan, "delegated", delegate_form=form), 422
    response, error = _start([plan], _chosen_children(form.reseller_ids.data), form)
    if response is not None:
        return response
    return _detail(plan, "delegated", delegate_form=form,
                   conflict=error if getattr(error, "clashes", None) else None), error.status


def _wizard_plans(resellers: list[Reseller]) -> list[Plan]:
    """07 BR-40: own active plans not yet delegated to at least one of the resellers."""
    plans = db.session.scalars(
        scoped_select(Plan).where(Plan.status == PlanStatus.ACTIVE.value)
        .order_by(Plan.name, Plan.id)).all()
    if not resellers:
        return plans
    ids = [r.id for r in resellers]
    have: dict[int, set[int]] = {}
    for parent_id, reseller_id in db.session.execute(
            select(Plan.parent_id, Plan.reseller_id).where(
                Plan.reseller_id.in_(ids), Plan.parent_id.in_([p.id for p in plans]))):
        have.setdefault(parent_id, set()).add(reseller_id)
    return [p for p in plans if len(have.get(p.id, set())) < len(ids)]


def _wizard_step1(q: str, error: str | None = None, status: int = 200):
    children = _children_matching(q)
    return render_template("catalog/delegation/step1.html", children=children, q=q,
                           error=error), status


def _wizard_step2(resellers, form, conflict=None, status: int = 200):
    plans = _wizard_plans(resellers)
    form.plan_ids.choices = [(p.id, p.name) for p in plans]
    return render_template("catalog/delegation/step2.html", resellers=resellers, plans=plans,
                           form=form, conflict=conflict), status


@bp.route("/plans/delegate", methods=["GET", "POST"])
@staff_required("plans.manage")
def delegate_wizard():
    """The multi-reseller wizard: choose child resellers, then plans (07 BR-39..41)."""
    if request.method == "GET":
        q = request.args.get("q", "").strip()
        if request.args.get("step") != "2":
            return _wizard_step1(q)
        if request.args.get("all_matching"):
            ids = [r.id for r in _children_matching(q)]
        else:
            ids = [int(v) for v in request.args.getlist("reseller_ids") if v.isdigit()]
        resellers = _chosen_children(ids)
        if not resellers:
            return _wizard_step1(q, _("Choose at least one reseller."), 422)
        return _wizard_step2(resellers, WizardPlansForm(formdata=None))
    form = WizardPlansForm()
    children = _children()
    form.reseller_ids.choices = [(r.id, r.name) for r in children]
    form.plan_ids.choices = [(p.id, p.name) for p in _wizard_plans([])]
    valid = form.validate_on_submit()
    resellers = _chosen_children(form.reseller_ids.data or [])
    if not resellers:
        return _wizard_step1("", _("Choose at least one reseller."), 422)
    if not valid:
        return _wizard_step2(resellers, form, status=422)
    if not form.plan_ids.data:
        form.plan_ids.errors = [_("Choose at least one plan.")]
        return _wizard_step2(resellers, form, status=422)
    plans = db.session.scalars(scoped_select(Plan).where(
        Plan.id.in_(form.plan_ids.data)).order_by(Plan.id)).all()
    response, error = _start(plans, resellers, form)
    if response is not None:
        return response
    return _wizard_step2(resellers, form,
                         conflict=error if getattr(error, "clashes", None) else None,
                         status=error.status)
