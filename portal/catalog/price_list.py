"""Read helpers of the price list: one row per plan and non-trial period, with sale price,
cost, margin and markup state (05 §2.13, R-PL-1..8, R-MK-1; DECISIONS D2, D9, D10).

Everything a page needs is read in a fixed number of set-based queries, whatever the number of
plans on it: periods, resources, the upstream plans' periods and resources, the rules, products
and categories, and one exchange rate per plan currency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext, ngettext
from sqlalchemy import String, and_, case, cast, select

from portal.catalog.models import (BillingType, Plan, PlanPeriod, PlanResource, Product,
                                   ProductCategory, ProvisioningRule)
from portal.catalog.pricing import items_of, margin_percent, minimum_amount, months_of
from portal.catalog.services.markup import MarkupState, markup_state
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

CHUNK = 500

# R-MK-1 as SQL, for the markup-state filter: no cost source (an own plan that is not pay as
# you go external) → "cannot be set"; a coefficient → auto; otherwise "not set".
MARKUP_STATE_SQL = case(
    (and_(Plan.parent_id.is_(None), Plan.billing_type != BillingType.PAYG_EXTERNAL.value),
     MarkupState.UNAVAILABLE),
    (Plan.markup_coefficient.is_not(None), MarkupState.AUTO),
    else_=MarkupState.MANUAL)

CATEGORY_ID_SQL = cast(ProductCategory.id, String)


def price_list_query(reseller):
    """The reseller's plans that have a non-trial period (R-PL-1), joined to product and
    product category for search, filters and sorting."""
    listed_period = (select(PlanPeriod.id)
                     .where(PlanPeriod.reseller_id == reseller.id, PlanPeriod.plan_id == Plan.id,
                            PlanPeriod.deleted_at.is_(None), PlanPeriod.is_trial.is_(False))
                     .exists())
    return (select(Plan)
            .join(Product, Product.id == Plan.product_id)
            .join(ProductCategory, ProductCategory.id == Product.product_category_id)
            .where(Plan.reseller_id == reseller.id, listed_period))


def _unit(period: PlanPeriod) -> str | None:
    unit = period.duration_unit
    return None if unit is None else str(getattr(unit, "value", unit))


def period_name(period: PlanPeriod) -> str:
    """How a period is named on the price list and in its file: "3 months", "Unlimited"."""
    if period.is_unlimited:
        return gettext("Unlimited")
    unit = _unit(period)
    if unit == "day":
        return ngettext("%(num)d day", "%(num)d days", period.duration)
    if unit == "year":
        return ngettext("%(num)d year", "%(num)d years", period.duration)
    return ngettext("%(num)d month", "%(num)d months", period.duration)


@dataclass
class PeriodRow:
    """One period of a plan on the price list; money in the plan's currency."""

    period: PlanPeriod
    months: Decimal
    sale: Decimal | None
    cost: Decimal | None
    margin: Decimal | None
    cost_converted: Decimal | None = None  # the cost in the reseller's currency (D10)


@dataclass
class PlanRow:
    plan: Plan
    markup: str  # MarkupState
    periods: list[PeriodRow] = field(default_factory=list)

    @property
    def coefficient(self) -> Decimal | None:
        return self.plan.markup_coefficient

    @property
    def cost_changed_at(self) -> datetime | None:
        return self.plan.cost_changed_at


def _chunks(ids):
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def load_by_ids(model, reseller_id: int | None, column, ids, *extra) -> list:
    """Rows of model whose column is in ids, in chunks; reseller_id None reads across tenants
    (the caller says so)."""
    rows = []
    for chunk in _chunks(ids):
        criteria = [column.in_(chunk), *extra]
        if reseller_id is not None:
            criteria.append(model.reseller_id == reseller_id)
        rows.extend(db.session.scalars(select(model).where(*criteria)))
    return rows


def _rate_converter(reseller, currencies: set[str], on: date):
    """{plan currency: function(amount) → amount in the reseller's currency at `on`'s rate}."""
    if not currencies:
        return {}
    # D10: the price list shows costs converted at today's rate. The rates live in billing; the
    # import stays local so that catalogue models load without the billing package.
    from portal.billing.services import apply_rate, effective_rate  # noqa: PLC0415

    converters = {}
    for currency in currencies:
        rate = effective_rate(reseller, reseller.currency, currency, on)
        converters[currency] = (lambda amount, rate=rate: apply_rate(amount, rate,
                                                                     reseller.currency))
    return converters


def price_rows(reseller, plans: list[Plan], *, on: date) -> list[PlanRow]:
    """The price-list rows of plans (the reseller's own), figures as of day `on`.

    Sale price (R-PL-2) = the least a client pays for the period now; cost (R-PL-4/5) = the same
    formula over the upstream plan's prices, only for delegated plans, never for pay as you go
    (external) nor unlimited periods; margin per R-PL-7; days are months per D2.
    """
    plans = [p for p in plans if p.reseller_id == reseller.id]
    if not plans:
        return []
    plan_ids = [p.id for p in plans]
    periods_of, resources_of = defaultdict(list), defaultdict(list)
    for period in load_by_ids(PlanPeriod, reseller.id, PlanPeriod.plan_id, plan_ids,
                        PlanPeriod.deleted_at.is_(None), PlanPeriod.is_trial.is_(False)):
        periods_of[period.plan_id].append(period)
    for resource in load_by_ids(PlanResource, reseller.id, PlanResource.plan_id, plan_ids,
                          PlanResource.deleted_at.is_(None)):
        resources_of[resource.plan_id].append(resource)
    # Products, categories and rules go into the identity map: plan.product is then no query.
    products = load_by_ids(Product, reseller.id, Product.id, {p.product_id for p in plans})
    load_by_ids(ProductCategory, reseller.id, ProductCategory.id,
          {p.product_category_id for p in products})
    financial_day = {r.id: r.financial_day for r in load_by_ids(
        ProvisioningRule, reseller.id, ProvisioningRule.id,
        {p.provisioning_rule_id for p in plans})}

    costed = [p for p in plans if p.parent_id is not None
              and p.billing_type != BillingType.PAYG_EXTERNAL]
    costed_ids = {p.id for p in costed}
    upstream_period, upstream_resources = {}, defaultdict(list)
    if costed:
        wanted = {period.parent_id for p in costed for period in periods_of[p.id]
                  if period.parent_id is not None and not period.is_unlimited}
        # The cost is the upstream reseller's price: a deliberate read of the parent's plan.
        with across_tenants():
            for period in load_by_ids(PlanPeriod, None, PlanPeriod.id, wanted,
                                PlanPeriod.deleted_at.is_(None)):
                upstream_period[period.id] = period
            for resource in load_by_ids(PlanResource, None, PlanResource.plan_id,
                                  {p.parent_id for p in costed},
                                  PlanResource.deleted_at.is_(None)):
                upstream_resources[resource.plan_id].append(resource)

    convert = _rate_converter(reseller, {p.currency for p in costed
                                         if p.currency != reseller.currency}, on)
    rows = []
    for plan in plans:
        row = PlanRow(plan=plan, markup=markup_state(plan))
        external = plan.billing_type == BillingType.PAYG_EXTERNAL
        for period in sorted(periods_of[plan.id], key=lambda p: (p.position, p.id)):
            months = months_of(_unit(period), period.duration, unlimited=period.is_unlimited, on=on,
                               financial_day=financial_day.get(plan.provisioning_rule_id, 1))
            sale = cost = None
            if not external:  # R-PL-2: not calculated for pay as you go (external)
                sale = minimum_amount(items_of(period, resources_of[plan.id]), months,
                                      plan.currency)
            source = upstream_period.get(period.parent_id) if plan.id in costed_ids else None
            if source is not None and not period.is_unlimited:
                cost = minimum_amount(items_of(source, upstream_resources[plan.parent_id]),
                                      months, plan.currency)
            converted = convert[plan.currency](cost) if (
                cost is not None and plan.currency in convert) else None
            row.periods.append(PeriodRow(period=period, months=months, sale=sale, cost=cost,
                                         margin=margin_percent(sale, cost),
                                         cost_converted=converted))
        rows.append(row)
    return rows


def eligible_for_markup(plans: list[Plan]) -> list[Plan]:
    """R-MK-5: the plans a coefficient can be set on (those without a cost are skipped)."""
    return [p for p in plans if markup_state(p) != MarkupState.UNAVAILABLE]


def eligible_for_clearing(plans: list[Plan]) -> list[Plan]:
    """R-MK-9: plans whose coefficient would be switched off (never pay as you go external)."""
    return [p for p in plans if p.markup_coefficient is not None
            and p.billing_type != BillingType.PAYG_EXTERNAL
            and markup_state(p) != MarkupState.UNAVAILABLE]
