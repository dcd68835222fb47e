"""The nightly run emits per event, never per charge (09 TRG-8, §3.5; issue 6 performance)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portal.billing.models import TransactionKind
from portal.billing.services.ledger import lock_client, post_transaction
from portal.core import jobs
from portal.extensions import db as database
from portal.orders.services import nightly
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from portal.subscriptions.models import SubscriptionStatus
from tests.factories import make_client, make_plan, make_root, make_rule
from tests.orders.factories import make_provisioning_subscription

ORDER_DAY = date(2026, 11, 10)
FD = date(2026, 12, 1)
S = SubscriptionStatus


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = jobs.InProcessBackend()
    yield
    app.extensions["portal_jobs"] = original


def committed(app) -> list[tuple]:
    return [args for path, args in list(app.extensions["portal_jobs"].pending.queue)
            if path.endswith("dispatch_event")]


def test_closing_many_charges_emits_one_low_balance_per_client_it_took_to_zero(app, db,
                                                                              frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    root = make_root()
    clients = [make_client(root) for _ in range(6)]
    rule = make_rule(root, financial_day=1)  # allows the client types there are (05)
    plan = make_plan(root, rule=rule, periods=[{"duration": 1, "duration_unit": "month",
                                                "monthly_fee": "30.00"}])
    for client in clients:
        topup = create_topup(client, amount="100.00", actor=None)
        complete_payment(topup, from_balance=False, actor=None, on=ORDER_DAY)
        for _ in range(3):  # three subscriptions: three charges close on 01.12
            order = place_sales_order(client, plan, plan.periods[0], quantities={},
                                      actor=None, on=ORDER_DAY)
            complete_payment(order.payment, from_balance=True, actor=None, on=ORDER_DAY)
    # 63.90 of the 100 closes on 01.12 (21.30 per subscription); half of the clients spend 40
    # elsewhere meanwhile, so the night takes them to −3.90.
    for client in clients[:3]:
        lock_client(client)
        post_transaction(client, Decimal("-40.00"), kind=TransactionKind.CHARGE,
                         description="Other", currency="RUB")
    database.session.commit()
    jobs.backend().pending.queue.clear()

    summary = nightly.run_billing_day(FD, chunk_size=4)
    assert summary["closed"] == 18  # 3 per client
    events = committed(app)
    low = [e for e in events if e[0] == "low_balance"]
    assert sorted(e[1]["client"] for e in low) == sorted(c.id for c in clients[:3])
    assert all(e[3] == {"account.balance": "60.00"} and e[2] == {"account.regular_sending":
                                                                  "false"} for e in low)
    # Per client or subscription, never per charge: the three taken below zero are blocked
    # (09 TRG-3) and their nine subscriptions stopped for it (§3.5); 18 charges closed.
    assert Counter(e[0] for e in events) == {"low_balance": 3, "account_changed": 3,
                                            "subscription_changed": 9}


def test_an_unpaid_subscription_turns_overdue_once(app, db, frozen_clock):
    root = make_root()
    subscription, _order = make_provisioning_subscription(root, services=[], status=S.ACTIVE,
                                                          with_order=False)
    subscription.expiry_date = date(2026, 11, 20)
    subscription.plan.provisioning_rule.unpaid_stop_after_days = 5
    database.session.commit()
    jobs.backend().pending.queue.clear()
    on = date(2026, 11, 22)
    nightly.run_expiries(on, 0, nightly.LAST_ID)
    database.session.commit()
    assert subscription.status == S.PAYMENT_OVERDUE
    assert [(e[0], e[1], e[3]) for e in committed(app)] == [
        ("subscription_changed", {"subscription": subscription.id},
         {"subscription.status": "active"})]
    jobs.backend().pending.queue.clear()
    nightly.run_expiries(on + timedelta(days=1), 0, nightly.LAST_ID)
    database.session.commit()
    assert committed(app) == []  # still overdue: nothing changed
