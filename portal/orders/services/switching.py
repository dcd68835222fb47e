"""Switching a subscription to another plan (02 §4.12 R-SW-1..R-SW-10, A-26, A-35; 04a §4.11.2
CH-39/CH-40; 04b PRE-3).

A switch gives back the unused rest of the old plan's paid window and charges the new plan for
that same rest; the new plan's period applies from the next renewal (A-35). The switch day
belongs to the new plan. A trial switches to a paid period that starts on the switch day.
The old plan's charges are split when the order is paid (R-SW-9), as of the switch day, so the
money the order agreed is the money that moves."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.billing.engine.periods import split_by_financial_days
from portal.billing.engine.proration import part_period
from portal.billing.models import Charge
from portal.billing.rules import rules_for
from portal.billing.services.charges import operator_language
from portal.catalog.models import BillingType, Plan, PlanPeriod, PlanStatus, PlanSwitchTarget
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.events import emit
from portal.orders.models import Order, OrderLine, OrderType
from portal.orders.services.errors import OrderError
from portal.orders.services.ordering import (ZERO, Quote, _Prices, _quote, _sales_inputs,
                                             _store_order, check_no_open_order, check_operable,
                                             clean_quantities, term_bounds, term_shape)
from portal.subscriptions.models import Subscription, SubscriptionResource, SubscriptionStatus

S = SubscriptionStatus
# 04a CH-38 and 02 A-25: these billing types are never switched.
NOT_SWITCHED = (BillingType.ESET_ISP_MONTHLY, BillingType.NO_REFUND)


def switch_targets(subscription: Subscription) -> list[Plan]:
    """The active plans configured as switch targets of the subscription's plan, published or
    not (R-SW-4)."""
    targets = select(PlanSwitchTarget.target_plan_id).where(
        PlanSwitchTarget.reseller_id == subscription.reseller_id,
        PlanSwitchTarget.plan_id == subscription.plan_id)
    return list(db.session.scalars(select(Plan).where(
        Plan.reseller_id == subscription.reseller_id, Plan.id.in_(targets),
        Plan.status == PlanStatus.ACTIVE).order_by(Plan.name, Plan.id)))


def switch_periods(plan: Plan, subscription: Subscription) -> list[PlanPeriod]:
    """A paid subscription switches to paid periods only; so does a trial (to leave it)."""
    return [p for p in plan.periods if p.deleted_at is None and not p.is_trial]


def shared_resource(subscription: Subscription, plan_resource) -> SubscriptionResource | None:
    """The old resource a new plan's resource continues: the same service resource, or the
    same name when neither comes from one (R-SW-5)."""
    for resource in subscription.resources:
        old = resource.plan_resource
        if plan_resource.service_resource_id is not None:
            if old.service_resource_id == plan_resource.service_resource_id:
                return resource
        elif old.service_resource_id is None and old.name == plan_resource.name:
            return resource
    return None


def default_quantities(subscription: Subscription, plan: Plan) -> dict[int, Decimal]:
    """R-SW-5: a shared resource keeps the quantity ordered under the old plan."""
    result = {}
    for plan_resource in plan.resources:
        old = shared_resource(subscription, plan_resource)
        result[plan_resource.id] = (old.total if old is not None
                                    else max(plan_resource.included, plan_resource.minimum))
    return result


def _check(subscription: Subscription, plan: Plan, period: PlanPeriod, on: date) -> None:
    check_operable(subscription, allowed=(S.ACTIVE,), operation=_l("switch the plan of"))
    old_type = BillingType(subscription.plan.billing_type)
    if old_type in NOT_SWITCHED:
        raise OrderError(_l("A subscription of billing type %(type)s cannot switch plans.",
                            type=subscription.plan.billing_type_label), field="plan_id")
    if plan.id not in {p.id for p in switch_targets(subscription)}:
        raise OrderError(_l("The plan is not among the plans this subscription can switch to."),
                         field="plan_id")
    if BillingType(plan.billing_type) != old_type or rules_for(plan.billing_type) is None:
        raise OrderError(_l("Switching to a plan of billing type %(type)s is not available.",
                            type=plan.billing_type_label), field="plan_id")
    if period.plan_id != plan.id or period.deleted_at is not None:
        raise OrderError(_l("The period does not belong to the plan."), field="period_id")
    if period.is_trial:
        raise OrderError(_l("A subscription cannot switch to a trial period."),
                         field="period_id")
    rules_for(plan.billing_type).check_period(period)
    if subscription.charges_closed_manually:
        raise OrderError(_l("The charges were closed by hand: the plan can be switched after "
                            "the subscription is renewed."))
    if not subscription.is_trial and (subscription.expiry_date is None
                                      or on > subscription.expiry_date):
        raise OrderError(_l("The subscription's term has ended; renew it first."))


def _check_shared(subscription: Subscription, plan: Plan, quantities: dict | None) -> None:
    """A-26: a shared resource above the new plan's limit is refused, never clamped."""
    asked = {str(k) for k in (quantities or {})}
    for plan_resource in plan.resources:
        old = shared_resource(subscription, plan_resource)
        if old is None or str(plan_resource.id) in asked or plan_resource.unlimited:
            continue
        if old.total > plan_resource.limit:
            raise OrderError(_l('"%(name)s" has %(quantity)s, more than the new plan allows '
                                '(%(limit)s); decrease it first.', name=plan_resource.name,
                                quantity=_plain(old.total), limit=_plain(plan_resource.limit)),
                             field=f"resources.{plan_resource.id}")


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _window(subscription: Subscription, period: PlanPeriod, on: date) -> tuple[date, date,
                                                                                Decimal | None]:
    """The days the new plan is charged for: the rest of the paid window, or a new term for a
    trial (A-35)."""
    if subscription.is_trial:
        first, last = term_bounds(on, period)
        return first, last, term_shape(period)[2]
    return on, subscription.expiry_date, None


def quote_switch_order(subscription: Subscription, plan: Plan, period: PlanPeriod, *,
                       quantities: dict | None, on: date) -> Quote:
    """The switch order's lines: the refund of the old plan (negative), the new plan and its
    additional resources for the same days; the total may be negative (R-SW-6, EX-16)."""
    _check(subscription, plan, period, on)
    _check_shared(subscription, plan, quantities)
    # What the request names wins over the defaults (the same id as text comes later).
    totals = clean_quantities(plan, {**default_quantities(subscription, plan),
                                     **(quantities or {})})
    first, last, term_months = _window(subscription, period, on)
    client = subscription.client
    quote = _quote(OrderType.SWITCH_ORDER, client, plan, term_first=first, term_last=last,
                   term_months=term_months, on=on,
                   inputs=_sales_inputs(plan, period, totals, _Prices(client, plan, on),
                                        trial=False))
    if not subscription.is_trial:
        rules = rules_for(subscription.plan.billing_type)
        quote.refund = rules.switch_release(subscription, on=on)
        financial_day = subscription.plan.provisioning_rule.financial_day
        quote.refund_months = sum(
            (part_period(a, b, financial_day)
             for a, b in split_by_financial_days(first, last, financial_day)), Decimal(0))
    with force_locale(operator_language(subscription.reseller_id)):
        quote.refund_text = _('Refund from subscription "%(name)s"', name=subscription.name)
    quote.totals = totals
    return quote


def place_switch_order(subscription: Subscription, plan: Plan, period: PlanPeriod, *,
                       quantities: dict | None, actor, on: date, ip: str = "") -> Order:
    """Create the switch order with its charges (New) and, when it costs something, its
    payment; one that gives money back or costs nothing is carried out at once."""
    check_no_open_order(subscription)
    quote = quote_switch_order(subscription, plan, period, quantities=quantities, on=on)
    order = _store_order(
        OrderType.SWITCH_ORDER, subscription, quote, plan=plan, period=period, actor=actor,
        on=on, ip=ip, covers=(quote.term_first, quote.term_last),
        request={"resources": {str(k): str(v) for k, v in quote.totals.items()},
                 "from_plan_id": subscription.plan_id,
                 "from_period_id": subscription.plan_period_id,
                 "refund": str(quote.refund)})
    if order.total <= 0:
        from portal.billing.services.ledger import lock_client  # noqa: PLC0415
        from portal.orders.services.processing import process_paid_order  # noqa: PLC0415

        lock_client(subscription.client)
        process_paid_order(order, on=on, actor=actor)
    return order


def carry_out_switch(order: Order, *, actor=None) -> None:
    """The paid switch: split the old plan's charges as of the switch day, give the
    subscription the new plan, period, resources and prices (R-SW-9, CH-40). The caller holds
    lock_client(order.client) and then holds/closes the order's own charges."""
    subscription = order.subscription
    client = order.client
    switch_day = order.covers_from
    before = {"plan_id": subscription.plan_id, "plan_period_id": subscription.plan_period_id}
    if not subscription.is_trial:
        rules_for(subscription.plan.billing_type).on_switch(subscription, client,
                                                            on=switch_day, order=order)
    plan, period = order.plan, order.plan_period
    price = _Prices(client, plan, order.created_on)
    lines = {(line.line_key, line.fee_kind): line for line in order.lines}

    def unit(key: str, kind: str, plan_price) -> Decimal:
        line = lines.get((key, kind))
        return line.unit_price if line is not None else price(plan_price)

    totals = {int(k): Decimal(v) for k, v in ((order.request or {}).get("resources") or {}).items()}
    now = clock.now()
    for resource in subscription.resources:
        resource.removed_at = now
    created = {}
    for plan_resource in plan.resources:
        key = f"resource:{plan_resource.id}"
        total = totals.get(plan_resource.id, max(plan_resource.included, plan_resource.minimum))
        row = SubscriptionResource(
            reseller_id=subscription.reseller_id, subscription_id=subscription.id,
            plan_resource_id=plan_resource.id, name=plan_resource.name,
            included=plan_resource.included,
            additional=max(total - plan_resource.included, ZERO),
            minimum=plan_resource.minimum, unlimited=plan_resource.unlimited,
            limit=plan_resource.limit,
            monthly_fee=unit(key, "recurring", plan_resource.monthly_fee),
            setup_fee=unit(key, "setup", plan_resource.setup_fee),
            renewal_fee=price(plan_resource.renewal_fee))
        db.session.add(row)
        created[key] = row
    db.session.flush()
    # The order's charges and lines were made before the subscription had these resources.
    for charge in db.session.scalars(select(Charge).where(
            Charge.reseller_id == order.reseller_id, Charge.order_id == order.id)):
        if charge.line_key in created:
            charge.subscription_resource_id = created[charge.line_key].id
    for line in db.session.scalars(select(OrderLine).where(
            OrderLine.reseller_id == order.reseller_id, OrderLine.order_id == order.id)):
        if line.line_key in created:
            line.subscription_resource_id = created[line.line_key].id
    subscription.plan_id, subscription.plan_period_id = plan.id, period.id
    subscription.plan, subscription.plan_period = plan, period
    subscription.monthly_fee = unit("service", "recurring", period.monthly_fee)
    subscription.setup_fee = unit("service", "setup", period.setup_fee)
    subscription.renewal_fee = price(period.renewal_fee)
    subscription.transfer_fee = price(period.transfer_fee)
    # R-IP-6: individual prices end with a switch.
    subscription.individual_prices = False
    subscription.renewal_price_mode = None
    subscription.individual_monthly_fee = None
    if subscription.is_trial:
        subscription.is_trial = False
        subscription.term_anchor, subscription.term_index = order.covers_from, 0
        subscription.expiry_date = subscription.prolonged_until = order.covers_to
        subscription.auto_renew = bool(plan.autorenew)
        # 09 TRG-16 (prepay only, as every switch is today); "Подписка изменена" follows
        # when the update is provisioned (A-42: both fire).
        emit("subscription_trial_to_paid", subscription=subscription)
    else:
        # The new period's terms start the day after the paid window (A-35, D1).
        subscription.term_anchor = subscription.expiry_date + timedelta(days=1)
        subscription.term_index = -1
    subscription.updated_at = now
    db.session.flush()
    db.session.expire(subscription, ["resources"])
    audit.log(subscription, "subscriptions.subscription.switched", actor=actor,
              label=subscription.name,
              changes={"plan_id": [before["plan_id"], plan.id],
                       "plan_period_id": [before["plan_period_id"], period.id]},
              data={"order": order.number})
