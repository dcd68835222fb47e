"""Pre-order scenarios through the services: WE-2 (04a §7) with the ledger after each step."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from portal.billing.models import Charge
from portal.billing.services.ledger import available_funds, blocked_amount_of, ledger_problems
from portal.core.scheduler import run_due_days
from portal.orders.models import OrderStatus
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from portal.subscriptions.models import SubscriptionStatus
from tests.factories import make_client, make_plan, make_root, make_rule

D = Decimal


def charges_of(subscription):
    from sqlalchemy import select

    from portal.extensions import db

    return list(db.session.scalars(select(Charge).where(
        Charge.subscription_id == subscription.id).order_by(Charge.operate_from, Charge.id)))


def rows(subscription):
    return [(c.charge_type.value, c.status.value, c.operate_from, c.operate_to, c.period, c.amount,
             c.close_date) for c in charges_of(subscription)]


def test_we2_two_month_preorder_held_then_closed_on_each_financial_day(db, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    root = make_root()
    client = make_client(root)
    rule = make_rule(root, financial_day=1)
    plan = make_plan(root, rule=rule, periods=[{"duration": 2, "duration_unit": "month",
                                                "monthly_fee": "30.00"}])
    topup = create_topup(client, amount="100.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=date(2026, 11, 10))
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None,
                              on=date(2026, 11, 10))
    assert order.total == D("60.00") and order.status == OrderStatus.WAITING_FOR_PAYMENT
    complete_payment(order.payment, from_balance=True, actor=None, on=date(2026, 11, 10))
    db.session.commit()
    subscription = order.subscription
    assert rows(subscription) == [
        ("recurring_fee", "blocked", date(2026, 11, 10), date(2026, 11, 30), D("0.700"),
         D("21.30"), date(2026, 12, 1)),
        ("recurring_fee", "blocked", date(2026, 12, 1), date(2026, 12, 31), D("1.000"),
         D("30.00"), date(2027, 1, 1)),
        ("recurring_fee", "blocked", date(2027, 1, 1), date(2027, 1, 9), D("0.290"),
         D("8.70"), date(2027, 1, 9)),
    ]
    assert client.balance == D("100.00") and blocked_amount_of(client) == D("60.00")
    assert available_funds(client) == D("40.00")
    assert subscription.expiry_date == date(2027, 1, 9)
    frozen_clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    run_due_days()
    db.session.refresh(client)
    assert [c.status.value for c in charges_of(subscription)] == ["closed", "blocked", "blocked"]
    assert client.balance == D("78.70") and blocked_amount_of(client) == D("38.70")
    assert ledger_problems(client) == []
    frozen_clock.set(datetime(2027, 1, 9, 9, 0, tzinfo=UTC))
    run_due_days()
    db.session.refresh(client)
    ours = [c for c in charges_of(subscription) if c.order_id == order.id]
    assert [c.status.value for c in ours] == ["closed"] * 3
    assert client.balance == D("40.00") and blocked_amount_of(client) == D("0")
    assert ledger_problems(client) == []
    assert subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.INSTALLING)
    # the renewal order exists from the renewal point (0 days: the expiry day), unpaid
    # because auto-renew is off.
    renewal = [c for c in charges_of(subscription) if c.order_id != order.id]
    assert {c.status.value for c in renewal} == {"new"}
