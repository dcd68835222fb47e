"""Fifty money operations on one client at once, through the API, from ten threads (issue 5
item 9; STYLE §4 Locking, §10): top-ups completed as money received and sales orders paid
from the balance. Every balance change runs under the client row's lock, so the ledger ends
exact: no update lost, the running balance unbroken, the holds what the charges hold.

PostgreSQL only (row locks). The threads need committed data, so the test has a freshly
migrated database of its own, dropped at the end, instead of the rolled-back `db` fixture.
"""

from __future__ import annotations

import os
import queue
import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import portal.api.billing_ledger  # noqa: F401 - the API modules register their routes on import
import portal.api.orders  # noqa: F401
import portal.api.subscriptions  # noqa: F401
from portal.core.clock import clock
from tests.conftest import database_url, is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")

THREADS = 10
TOP_UPS = [Decimal(f"{10 + n}.{(7 * n) % 100:02d}") for n in range(25)]
ORDERS = 25
SETUP_FEE, MONTHLY_FEE = Decimal("5.00"), Decimal("30.00")
OPENING = Decimal("1000.00")  # enough for every order whatever the interleaving


def _admin_engine(url: str):
    return create_engine(make_url(url).set(drivername="postgresql+psycopg", database="postgres"),
                         isolation_level="AUTOCOMMIT")


def _run_admin(url: str, *statements: str) -> None:
    engine = _admin_engine(url)
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def _create_app(url: str):
    """create_app() reads DATABASE_URL and installs the clock's zone loader: neither may leak
    into the suite's `app` fixture."""
    from portal import create_app

    saved_url, saved_loader = os.environ.get("DATABASE_URL"), clock._zone_loader
    os.environ["DATABASE_URL"] = url
    try:
        return create_app({"TESTING": True, "SERVER_NAME": None, "PORTAL_TEST_MODE": True,
                           "SECRET_KEY": "concurrency-secret"})
    finally:
        if saved_url is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved_url
        clock.set_zone_loader(saved_loader)


@pytest.fixture
def own_database():
    """A freshly migrated database of this test's own (the suite's name + "_concurrency")."""
    from flask_migrate import upgrade

    from portal.extensions import db

    main = database_url()
    name = f"{make_url(main).database}_concurrency"
    _run_admin(main, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = make_url(main).set(database=name).render_as_string(hide_password=False)
    app = _create_app(url)
    try:
        with app.app_context():
            upgrade()
            db.session.remove()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _run_admin(main, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _committed_shop(app, *, opened: bool = True) -> SimpleNamespace:
    """A reseller with one staff member and API token per thread (the requests of one token
    would wait for each other on its last-used stamp), one client and a 1-month plan (setup
    5.00, 30.00 a month); opened: the client has 1000.00 and one order already paid."""
    from portal.extensions import db
    from portal.orders.services.ordering import place_sales_order
    from portal.orders.services.payments import complete_payment, create_topup
    from tests.factories import (make_client, make_plan, make_reseller, make_root, make_rule,
                                 make_staff, make_token)

    with app.app_context():
        reseller = make_reseller(make_root(), name="Busy Shop")
        tokens = [make_token(make_staff(reseller)) for _n in range(THREADS)]
        customer = make_client(reseller)
        rule = make_rule(reseller, financial_day=1)
        plan = make_plan(reseller, rule=rule, services=[], periods=[
            {"duration": 1, "duration_unit": "month", "setup_fee": str(SETUP_FEE),
             "monthly_fee": str(MONTHLY_FEE)}])
        if opened:
            opening = create_topup(customer, amount=str(OPENING), actor=None)
            complete_payment(opening, from_balance=False, actor=None, on=clock.today())
            first = place_sales_order(customer, plan, plan.periods[0], quantities={},
                                      actor=None, on=clock.today())
            complete_payment(first.payment, from_balance=True, actor=None, on=clock.today())
        db.session.commit()
        shop = SimpleNamespace(tokens=tokens, client_id=customer.id, plan_id=plan.id,
                               period_id=plan.periods[0].id)
        db.session.remove()
    return shop


def _operate(api, shop, kind: str, value) -> tuple:
    """A top-up completed as money received, or a sales order paid from the balance."""
    if kind == "top_up":
        created = api.post("/payments", json={"client_id": shop.client_id,
                                              "amount": str(value)})
        payment_id = created.get_json().get("id")
        body = {}
    else:
        created = api.post("/orders", json={"client_id": shop.client_id,
                                            "plan_id": shop.plan_id,
                                            "period_id": shop.period_id})
        payment_id = (created.get_json().get("payment") or {}).get("id")
        body = {"from_balance": True}
    if created.status_code != 201:
        return kind, value, created.status_code, None, created.get_json()
    done = api.post(f"/payments/{payment_id}/complete", json=body)
    return kind, value, created.status_code, done.status_code, done.get_json()


def _run_threads(app, shop, operations: list[tuple]) -> list[tuple]:
    """Start the threads together; each takes the next operation until none is left. Each has
    its own test client, so each request has its own app context and session."""
    from tests.api.conftest import ApiClient

    work: queue.Queue = queue.Queue()
    for operation in operations:
        work.put(operation)
    results: list = []
    start = threading.Barrier(THREADS)

    def worker(token: str) -> None:
        api = ApiClient(app.test_client(), token)
        start.wait()
        while True:
            try:
                kind, value = work.get_nowait()
            except queue.Empty:
                return
            try:
                results.append(_operate(api, shop, kind, value))
            except Exception as error:  # noqa: BLE001 - reported by the test, not lost
                results.append((kind, value, "error", repr(error), None))

    threads = [threading.Thread(target=worker, args=(token,), name=f"money-{n}")
               for n, token in enumerate(shop.tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_fifty_concurrent_money_operations_on_one_client_lose_nothing(own_database):
    """25 top-ups and 25 orders paid from the balance, interleaved over ten threads."""
    from portal.billing.models import Charge, ChargeStatus, Transaction
    from portal.billing.services.ledger import blocked_amount_of, ledger_problems
    from portal.clients.models import Client
    from portal.extensions import db
    from portal.orders.models import Order, OrderStatus, Payment, PaymentKind, PaymentStatus

    app = own_database
    shop = _committed_shop(app)
    # Interleaved, so that every thread does both kinds.
    operations = [operation for top_up in TOP_UPS
                  for operation in (("top_up", top_up), ("order", None))]
    assert len(operations) == 50
    results = _run_threads(app, shop, operations)
    assert len(results) == 50
    assert [r for r in results if r[2] != 201 or r[3] != 200] == []
    assert sorted(r[4]["status"] for r in results) == (
        ["completed"] * 25 + ["paid_from_balance"] * 25)

    with app.app_context():
        client = db.session.get(Client, shop.client_id)
        orders = ORDERS + 1
        # Σ top-ups in, Σ one-off fees debited at payment; the recurring fees are only held.
        assert client.balance == OPENING + sum(TOP_UPS) - SETUP_FEE * orders
        held = db.session.scalar(select(func.sum(Charge.amount)).where(
            Charge.client_id == client.id, Charge.status == ChargeStatus.BLOCKED))
        assert blocked_amount_of(client) == held == MONTHLY_FEE * orders
        assert ledger_problems(client) == []
        # No update lost: one credit per top-up, one debit per setup fee, nothing else.
        kinds = dict(db.session.execute(select(Transaction.kind, func.count(Transaction.id))
                                        .where(Transaction.client_id == client.id)
                                        .group_by(Transaction.kind)).all())
        assert {kind.value: count for kind, count in kinds.items()} == {
            "payment": 1 + len(TOP_UPS), "charge": orders}
        top_ups = db.session.scalars(select(Payment).where(
            Payment.client_id == client.id, Payment.kind == PaymentKind.BALANCE_TOPUP)).all()
        assert sorted(p.total for p in top_ups) == sorted([OPENING, *TOP_UPS])
        assert {p.status for p in top_ups} == {PaymentStatus.COMPLETED}
        # Each completion saw the balance its own transaction left.
        credited = dict(db.session.execute(select(Transaction.payment_id,
                                                  Transaction.balance_after)
                                           .where(Transaction.client_id == client.id,
                                                  Transaction.payment_id.is_not(None))).all())
        assert {p.id: p.balance_after for p in top_ups} == credited
        statuses = db.session.scalars(select(Order.status).where(
            Order.client_id == client.id)).all()
        assert sorted(statuses) == [OrderStatus.COMPLETED] * orders
        db.session.remove()


def test_a_new_resellers_first_documents_are_numbered_at_once(own_database):
    """The first payments of a reseller, requested together by ten staff members: each gets
    its own number (the document counter row does not exist yet when they start)."""
    from portal.extensions import db
    from portal.orders.models import Payment

    app = own_database
    shop = _committed_shop(app, opened=False)
    results = _run_threads(app, shop, [("top_up", Decimal(f"{n + 1}.00"))
                                       for n in range(THREADS)])
    assert [r for r in results if r[2] != 201 or r[3] != 200] == []
    with app.app_context():
        numbers = db.session.scalars(select(Payment.number)).all()
        assert len(numbers) == len(set(numbers)) == THREADS
        db.session.remove()
