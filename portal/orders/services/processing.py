"""What a paid order does (03 O4, 04a T4/T5, CH-27/CH-28, 02 S2/S5/S6): its charges are held or
debited by the billing type's rules, the subscription moves on, and provisioning starts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.billing.engine.schedule import LineInput, plan_term
from portal.billing.models import ChargeStatus
from portal.billing.rules import rules_for
from portal.billing.services.charges import (charges_of, delete_charge, new_charge,
                                             operator_language)
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.events import emit
from portal.orders.models import Order, OrderStatus, OrderType, TaskAction
from portal.orders.services.switching import carry_out_switch
from portal.subscriptions.models import SubscriptionStatus

S = SubscriptionStatus


def _late_payment_schedule(order: Order, *, on: date) -> None:
    """04a CH-27/CH-28, A-13: a sales order paid after its day is billed as if placed on the
    payment day: the term starts then, and the schedule is regenerated (the total stays)."""
    from portal.orders.services.ordering import term_bounds, term_shape  # noqa: PLC0415

    subscription = order.subscription
    period = order.plan_period
    first, last = term_bounds(on, period)
    old = [c for c in charges_of(subscription, [ChargeStatus.NEW]) if c.order_id == order.id]
    inputs = [LineInput(line.line_key, line.fee_kind, line.quantity, line.unit_price)
              for line in order.lines]
    plans = plan_term(inputs, term_first=first, term_last=last,
                      term_months=term_shape(period)[2],
                      financial_day=order.plan.provisioning_rule.financial_day, order_day=on,
                      currency=order.currency)
    resources = {f"resource:{r.plan_resource_id}": r for r in subscription.resources}
    language = operator_language(order.reseller_id)
    # Each new charge names the first old charge of its line as the one it replaces.
    sources = {}
    for charge in old:
        sources.setdefault(charge.line_key, charge)
        delete_charge(charge)
    for line_plan in plans:
        for planned in line_plan.charges:
            source = sources.get(planned.line_key)
            new_charge(subscription=subscription, line_key=planned.line_key,
                       fee_kind=planned.fee_kind,
                       related_operation=source.related_operation if source else None,
                       status=ChargeStatus.NEW, operate_from=planned.operate_from,
                       operate_to=planned.operate_to, period=planned.period,
                       quantity=planned.quantity, unit_price=planned.unit_price,
                       gross=planned.gross, discount=planned.discount, amount=planned.amount,
                       close_date=planned.close_date, order=order, source=source,
                       subscription_resource=resources.get(planned.line_key),
                       language=language)
    subscription.start_date = first
    if subscription.expiry_date is not None:
        subscription.expiry_date = last
        subscription.prolonged_until = last
    order.covers_from, order.covers_to = first, last
    audit.log(order, "orders.order.rescheduled", label=order.number,
              data={"paid_on": on.isoformat()})


def _renewed_prices(order: Order) -> None:
    """The renewal's monthly prices are in force from its term (02 R-REN-3/4, A-12); prices
    that were individual for the first term only end here (R-IP-6)."""
    subscription = order.subscription
    monthly = {line.line_key: line.unit_price for line in order.lines
               if line.fee_kind == "recurring"}
    keep_individual = subscription.individual_prices
    if "service" in monthly:
        subscription.monthly_fee = monthly["service"]
    if not keep_individual:
        subscription.individual_monthly_fee = None
    for resource in subscription.resources:
        price = monthly.get(f"resource:{resource.plan_resource_id}")
        if price is not None:
            resource.monthly_fee = price
        if not keep_individual:
            resource.individual_monthly_fee = None


def process_paid_order(order: Order, *, on: date, actor=None) -> Order:
    """Move a paid (or free) order on. The caller holds lock_client(order.client)."""
    from portal.orders.services.provisioning import request_provisioning  # noqa: PLC0415

    if order.status != OrderStatus.WAITING_FOR_PAYMENT:
        return order
    subscription = order.subscription
    client = order.client
    if order.order_type == OrderType.SALES_ORDER and on != order.created_on \
            and not order.is_deferred:
        _late_payment_schedule(order, on=on)
    if order.order_type == OrderType.SWITCH_ORDER:
        carry_out_switch(order, actor=actor)
    charges = [c for c in charges_of(subscription, [ChargeStatus.NEW]) if c.order_id == order.id]
    rules_for(order.plan.billing_type).on_order_paid(order, charges, client, on=on)
    order.status = OrderStatus.PROVISIONING
    order.updated_at = clock.now()
    emit("order_changed", order=order,
         was={"order.status": OrderStatus.WAITING_FOR_PAYMENT.value})
    audit.log(order, "orders.order.paid", actor=actor, label=order.number)
    action = None
    if order.order_type == OrderType.SALES_ORDER:
        subscription.status = S.INSTALLING
        action = TaskAction.INSTALL
    elif order.order_type == OrderType.RENEWAL_ORDER:
        # The term moves on as soon as the renewal is paid (02 S6, R-NM-1 with D1).
        subscription.expiry_date = order.covers_to
        subscription.prolonged_until = order.covers_to
        if order.plan_period_id != subscription.plan_period_id:
            # Renewed for another period: its terms run from the renewed term (SCR-12, D1).
            subscription.plan_period = order.plan_period
            subscription.term_anchor, subscription.term_index = order.covers_from, 0
        else:
            subscription.term_index += 1
        subscription.unpaid_since = None
        subscription.charges_closed_manually = False
        _renewed_prices(order)
        subscription.status = S.RENEWING
        action = TaskAction.RENEW
    elif order.order_type == OrderType.SWITCH_ORDER:
        subscription.status = S.UPDATING
        action = TaskAction.UPDATE
    elif order.order_type == OrderType.CHANGE_ORDER:
        increases = (order.request or {}).get("increases") or {}
        for resource in subscription.resources:
            delta = increases.get(str(resource.plan_resource_id))
            if delta:
                total = resource.total + Decimal(delta)
                resource.additional = max(total - resource.included, Decimal(0))
        if subscription.status in (S.ACTIVE, S.PAYMENT_OVERDUE):
            subscription.status = S.UPDATING
        action = TaskAction.UPDATE
    subscription.updated_at = clock.now()
    db.session.flush()
    if action is not None:
        request_provisioning(subscription, action, order=order, actor=actor)
    return order
