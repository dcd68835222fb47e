"""The nightly run (issue 5 item 6): chunked, resumable after a crash, idempotent per day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.billing.models import BillingChunk, Charge, ChargeStatus, Transaction
from portal.billing.services.ledger import ledger_problems
from portal.core.scheduler import run_due_days
from portal.extensions import db as database
from portal.orders.services import nightly
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from tests.factories import make_client, make_plan, make_root, make_rule

D = Decimal
ORDER_DAY = date(2026, 11, 10)
FD = date(2026, 12, 1)


def build_world(frozen_clock, n=7):
    """n clients, each with a paid 1-month pre-order from 10.11 whose first charge closes 01.12."""
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    root = make_root()
    clients = [make_client(root) for _ in range(n)]
    rule = make_rule(root, financial_day=1)
    plan = make_plan(root, rule=rule, periods=[{"duration": 1, "duration_unit": "month",
                                                "monthly_fee": "30.00"}])
    for i, client in enumerate(clients):
        topup = create_topup(client, amount=f"{100 + i}.00", actor=None)
        complete_payment(topup, from_balance=False, actor=None, on=ORDER_DAY)
        order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None,
                                  on=ORDER_DAY)
        complete_payment(order.payment, from_balance=True, actor=None, on=ORDER_DAY)
    database.session.commit()
    return clients


def expected_ledger(clients, on):
    """What an uninterrupted run must produce: every charge due by `on` closed once, in id
    order per client, each with a transaction carrying the running balance."""
    expected = {}
    for client in clients:
        balance = client.balance
        rows = []
        for charge in database.session.scalars(select(Charge).where(
                Charge.client_id == client.id, Charge.status == ChargeStatus.BLOCKED,
                Charge.close_date <= on).order_by(Charge.id)):
            balance -= charge.amount
            rows.append((charge.id, -charge.amount, balance))
        expected[client.id] = (balance, rows)
    return expected


def actual_ledger(clients, since_id):
    actual = {}
    for client in clients:
        database.session.refresh(client)
        rows = [(t.charge_id, t.change, t.balance_after) for t in database.session.scalars(
            select(Transaction).where(Transaction.client_id == client.id,
                                      Transaction.id > since_id).order_by(Transaction.id))]
        actual[client.id] = (client.balance, rows)
    return actual


def last_transaction_id():
    return database.session.scalar(select(Transaction.id).order_by(Transaction.id.desc())
                                   .limit(1)) or 0


def test_an_uninterrupted_day_closes_every_due_charge_once(db, frozen_clock):
    clients = build_world(frozen_clock)
    expected = expected_ledger(clients, FD)
    since = last_transaction_id()
    summary = nightly.run_billing_day(FD, chunk_size=2)
    assert summary == {"closed": 7, "chunks": 4}
    assert actual_ledger(clients, since) == expected
    assert all(ledger_problems(client) == [] for client in clients)
    # Running the same day again closes nothing and writes nothing.
    assert nightly.run_billing_day(FD, chunk_size=2) == {"closed": 0, "chunks": 0}
    assert nightly.close_due_charges(FD, 0, nightly.LAST_ID) == 0
    assert actual_ledger(clients, since) == expected


def test_a_run_killed_after_two_chunks_resumes_to_the_same_ledger(db, frozen_clock):
    clients = build_world(frozen_clock)
    expected = expected_ledger(clients, FD)
    since = last_transaction_id()

    def crash_after_second(chunk):
        if chunk.chunk_index == 1:
            raise RuntimeError("worker killed")

    nightly.AFTER_CHUNK.append(crash_after_second)
    try:
        with pytest.raises(RuntimeError):
            nightly.run_billing_day(FD, chunk_size=2)
    finally:
        nightly.AFTER_CHUNK.remove(crash_after_second)
    done = database.session.scalars(select(BillingChunk.chunk_index).where(
        BillingChunk.run_on == FD, BillingChunk.done_at.is_not(None))).all()
    assert sorted(done) == [0, 1]
    partial = actual_ledger(clients, since)
    assert sum(len(rows) for _b, rows in partial.values()) == 4  # the first two chunks' clients
    assert nightly.run_billing_day(FD, chunk_size=2) == {"closed": 3, "chunks": 2}
    assert actual_ledger(clients, since) == expected
    assert all(ledger_problems(client) == [] for client in clients)


def test_the_scheduler_catches_up_missed_days_in_order_and_runs_each_once(db, frozen_clock):
    clients = build_world(frozen_clock, n=2)
    frozen_clock.set(datetime(2026, 12, 12, 9, 0, tzinfo=UTC))  # the worker was down a month
    ran = [day for name, day in run_due_days() if name == "billing"]
    assert ran[0] == ORDER_DAY.isoformat() and ran[-1] == "2026-12-12"
    assert len(ran) == len(set(ran)) == 33
    for client in clients:
        database.session.refresh(client)
        statuses = [c.status.value for c in database.session.scalars(
            select(Charge).where(Charge.client_id == client.id).order_by(Charge.operate_from))
            if c.order.order_type.value == "sales_order"]
        # 10.11–30.11 closed on 01.12, 01.12–09.12 closed on 09.12 (the term's last day).
        assert statuses == ["closed", "closed"]
        assert ledger_problems(client) == []
    assert run_due_days() == []
