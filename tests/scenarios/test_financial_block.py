"""The financial block (01 §5.1.5, R-FB-1..R-FB-7) driven by the ledger and the nightly run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from portal.billing.services.ledger import ledger_problems
from portal.clients.models import ClientStatus
from portal.core import jobs
from portal.core.scheduler import run_due_days, run_periodic_jobs
from portal.extensions import db as database
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from portal.subscriptions.models import SubscriptionStatus as S
from tests.factories import make_client, make_plan, make_root, make_rule, make_service_rule

D = Decimal


def settle():
    database.session.commit()
    for _ in range(3):
        jobs.drain()
        run_periodic_jobs()
    jobs.drain()


def test_a_negative_balance_past_its_period_blocks_and_a_top_up_lifts_the_block(db, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    root = make_root()
    # May pay with a negative balance down to −100; a negative balance is allowed for 0 days.
    rule = make_service_rule(root, allow_negative_balance_payment=True, block_threshold="100.00",
                             negative_balance_days=0)
    client = make_client(root, service_rule=rule)
    plan = make_plan(root, rule=make_rule(root), periods=[{"duration": 2, "duration_unit": "month",
                                                          "monthly_fee": "30.00"}])
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None,
                              on=date(2026, 11, 10))
    # Nothing on the balance, but the threshold makes 100.00 available (D10).
    complete_payment(order.payment, from_balance=True, actor=None, on=date(2026, 11, 10))
    settle()
    subscription = order.subscription
    assert subscription.status == S.ACTIVE
    frozen_clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    run_due_days()
    database.session.refresh(client)
    # The first charge is debited: −21.30, within the threshold, the period starts today.
    assert client.balance == D("-21.30") and client.status == ClientStatus.ACTIVE
    assert client.negative_balance_since is not None
    frozen_clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    run_due_days()
    settle()
    database.session.refresh(client)
    database.session.refresh(subscription)
    assert client.status == ClientStatus.FINANCIALLY_BLOCKED
    assert subscription.status == S.STOPPED and subscription.status_before_block == S.ACTIVE
    # Money arrives: the balance is back above zero, the pre-order is restored (01 §3.4).
    topup = create_topup(client, amount="50.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=date(2026, 12, 2))
    settle()
    database.session.refresh(client)
    database.session.refresh(subscription)
    assert client.status == ClientStatus.ACTIVE and client.balance == D("28.70")
    assert subscription.status == S.ACTIVE and subscription.status_before_block is None
    assert ledger_problems(client) == []


def test_a_threshold_lowered_below_the_debt_blocks_at_once(db, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    root = make_root()
    rule = make_service_rule(root, allow_negative_balance_payment=True, block_threshold="10.00",
                             negative_balance_days=-1)
    client = make_client(root, service_rule=rule)
    plan = make_plan(root, rule=make_rule(root), periods=[{"duration": 1, "duration_unit": "month",
                                                          "setup_fee": "5.00",
                                                          "monthly_fee": "30.00"}])
    topup = create_topup(client, amount="30.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=date(2026, 11, 10))
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None,
                              on=date(2026, 11, 10))
    assert order.total == D("35.00")
    complete_payment(order.payment, from_balance=True, actor=None, on=date(2026, 11, 10))
    settle()
    database.session.refresh(client)
    # The setup fee is debited at payment: 30 − 5 = 25; 30.00 held (available 25 − 30 + 10).
    assert client.balance == D("25.00") and client.status == ClientStatus.ACTIVE
    frozen_clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    run_due_days()
    settle()
    database.session.refresh(client)
    # Both charges debited (21.30 + 8.70): −5.00 is within −10, and −1 means no period limit.
    assert client.balance == D("-5.00") and client.status == ClientStatus.ACTIVE
    assert ledger_problems(client) == []
    # R-FB-3 (b): staff lower the client's own threshold below its debt.
    from portal.clients.services.clients import update_client

    update_client(client, block_threshold=D("2.00"))
    settle()
    database.session.refresh(client)
    assert client.status == ClientStatus.FINANCIALLY_BLOCKED
