"""Auto markup: set or clear a plan's coefficient, and the defaults for new plans (05 §3.2)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.catalog.models import BillingType, CatalogSettings, Plan, ProductCategory
from portal.catalog.services.errors import CatalogError
from portal.catalog.services.sync import apply_to_copy, mark_cost_changed, request_sync
from portal.core import audit
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

MAX_COEFFICIENT = Decimal("999.99")


class MarkupState:
    AUTO = "auto"
    MANUAL = "manual"
    UNAVAILABLE = "unavailable"


def markup_state(plan: Plan) -> str:
    """R-MK-1: a coefficient needs a cost source, i.e. an upstream plan (or payg external)."""
    if plan.parent_id is None and plan.billing_type != BillingType.PAYG_EXTERNAL:
        return MarkupState.UNAVAILABLE
    return MarkupState.AUTO if plan.markup_coefficient is not None else MarkupState.MANUAL


def coefficient_value(value, field: str = "coefficient") -> Decimal:
    """A coefficient: above zero, at most 999.99, two decimals (R-MK-4, 05 §8.6)."""
    if isinstance(value, float):
        value = str(value)
    try:
        k = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise CatalogError(_l("“%(value)s” is not a number.", value=value), field=field) from None
    if not k.is_finite() or k <= 0:
        raise CatalogError(_l("The markup coefficient must be above zero."), field=field)
    if k > MAX_COEFFICIENT:
        raise CatalogError(_l("The markup coefficient is at most 999.99."), field=field)
    if k != k.quantize(Decimal("0.01")):
        raise CatalogError(_l("The markup coefficient has at most 2 decimals."), field=field)
    return k.quantize(Decimal("0.01"))


def _reprice_from_upstream(plan: Plan) -> bool:
    parent = plan.parent
    with across_tenants():
        periods_of = {parent.id: list(_all(parent, "periods")), plan.id: _all(plan, "periods")}
        resources_of = {parent.id: _all(parent, "resources"), plan.id: _all(plan, "resources")}
    rule_copies = {(parent.provisioning_rule_id, plan.reseller_id): plan.provisioning_rule_id}
    return apply_to_copy(parent, plan, periods_of, resources_of, rule_copies, now=clock.now())


def _all(plan: Plan, kind: str) -> list:
    from portal.catalog.models import PlanPeriod, PlanResource  # noqa: PLC0415

    model = PlanPeriod if kind == "periods" else PlanResource
    return list(db.session.scalars(select(model).where(model.reseller_id == plan.reseller_id,
                                                       model.plan_id == plan.id)))


def set_markup(plans: list[Plan], coefficient, *, actor=None) -> int:
    """R-MK-5/6: set k on each plan that has a cost; its prices and its copies' follow."""
    k = coefficient_value(coefficient)
    changed = 0
    for plan in plans:
        if markup_state(plan) == MarkupState.UNAVAILABLE:
            continue  # R-MK-5: plans without a cost are skipped
        before = plan.markup_coefficient
        plan.markup_coefficient = k
        prices_changed = _reprice_from_upstream(plan) if plan.parent_id else False
        if before != k:
            changed += 1
            audit.log(plan, "catalog.plan.markup_set", actor=actor,
                      changes={"markup_coefficient": [str(before or ""), str(k)]})
        if prices_changed:
            mark_cost_changed(plan, now=clock.now())
        request_sync(plan)
    db.session.flush()
    return changed


def clear_markup(plans: list[Plan], *, actor=None) -> int:
    """R-MK-9: prices stay as last computed and stop following cost; not for payg external."""
    changed = 0
    for plan in plans:
        if plan.billing_type == BillingType.PAYG_EXTERNAL or plan.markup_coefficient is None:
            continue
        if markup_state(plan) == MarkupState.UNAVAILABLE:
            continue
        audit.log(plan, "catalog.plan.markup_cleared", actor=actor,
                  changes={"markup_coefficient": [str(plan.markup_coefficient), ""]})
        plan.markup_coefficient = None
        changed += 1
    db.session.flush()
    return changed


def catalog_settings(reseller) -> CatalogSettings:
    settings = db.session.scalar(select(CatalogSettings).where(
        CatalogSettings.reseller_id == reseller.id))
    if settings is None:
        settings = CatalogSettings(reseller_id=reseller.id,
                                   default_markup_new_categories=Decimal("1.00"))
        db.session.add(settings)
        db.session.flush()
    return settings


def set_new_categories_markup(reseller, coefficient, *, actor=None) -> CatalogSettings:
    """R-MK-12/13: applies to plans delegated later into a new product category."""
    k = coefficient_value(coefficient)
    settings = catalog_settings(reseller)
    before = settings.default_markup_new_categories
    settings.default_markup_new_categories = k
    audit.log(settings, "catalog.settings.new_categories_markup_set", actor=actor,
              changes={"default_markup_new_categories": [str(before), str(k)]},
              label=str(_l("Markup for new plans")))
    return settings


def set_category_markup(category: ProductCategory, coefficient, *, actor=None):
    """R-MK-12/13: the default for plans delegated into this category from now on."""
    k = coefficient_value(coefficient)
    before = category.default_markup
    category.default_markup = k
    audit.log(category, "catalog.product_category.default_markup_set", actor=actor,
              changes={"default_markup": [str(before), str(k)]})
    return category
