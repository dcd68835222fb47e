"""Benchmark: the nightly run closes one financial day's pre-order charges (issue 5).

Builds N clients (default 100,000), each with a paid pre-order subscription whose held charge
closes on the financial day 01.12.2026, then, in a fresh process:
  1. times the bare SQL the run must do at minimum on the same rows — one UPDATE of the due
     charges' statuses and one INSERT of their transactions with running balances, in one
     transaction with the client rows locked — and rolls it back;
  2. runs that day through the real nightly run (chunks, all stages) and prints charges closed
     per second, the ratio to the bare SQL, the CPU time of both in this process (steadier on a
     busy machine; on PostgreSQL it leaves out the server's work), and the peak memory;
  3. runs the same day again and checks that it closes nothing.

    .venv/bin/python bench/nightly_run.py [--clients 100000]      # SQLite in a temp directory
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python bench/nightly_run.py

The PostgreSQL database is emptied first (its public schema is dropped).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR))
os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))

FD = date(2026, 12, 1)
ORDER_DAY = date(2026, 11, 10)
BATCH = 10_000


def _app():
    from portal import create_app

    return create_app({"TESTING": False})


def build(n: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import insert, select, text

    from portal.billing.models import Charge
    from portal.catalog.services import (create_plan, create_plan_category, create_product,
                                         create_product_category, create_provisioning_rule)
    from portal.cli import ensure_root
    from portal.clients.models import Client, ClientType, ServiceRule
    from portal.core.clock import FrozenClock, clock
    from portal.extensions import db
    from portal.orders.services.ordering import place_sales_order
    from portal.orders.services.payments import complete_payment, create_topup
    from portal.subscriptions.models import Subscription

    url = os.environ.get("DATABASE_URL", "")
    app = _app()
    with app.app_context():
        if url.startswith("postgres"):
            db.session.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        clock.use(FrozenClock(datetime(2026, 11, 10, 9, 0, tzinfo=UTC)))
        root, _m, _t = ensure_root(name="Bench root", email="operator@example.com",
                                   password="Quick-fox-2026", currency="RUB", domain="localhost")
        client_type = db.session.scalar(select(ClientType).where(
            ClientType.reseller_id == root.id, ClientType.key == "legal_entity"))
        service_rule = db.session.scalar(select(ServiceRule).where(
            ServiceRule.reseller_id == root.id))
        rule = create_provisioning_rule(root, name="Monthly", key="monthly", financial_day=1)
        category = create_product_category(root, name="Cloud", key="cloud")
        product = create_product(root, name="Office", product_category_id=category.id)
        plan_category = create_plan_category(root, name="Standard", key="standard")
        plan = create_plan(root, name="Office 2 months", billing_type="preorder",
                           plan_category_id=plan_category.id, product_id=product.id,
                           provisioning_rule_id=rule.id, services=[], resources=[],
                           periods=[{"duration": 2, "duration_unit": "month",
                                     "monthly_fee": "30.00"}])
        db.session.commit()
        # One subscription through the services: the template every other row copies.
        from portal.clients.services.clients import create_client

        template_client = create_client(
            root, client_type_id=client_type.id, service_rule_id=service_rule.id,
            primary_name="Template client", parameters={"inn": "7707083893"},
            owner={"email": "owner@example.com", "first_name": "A", "last_name": "B"})
        topup = create_topup(template_client, amount="100.00", actor=None)
        complete_payment(topup, from_balance=False, actor=None, on=ORDER_DAY)
        order = place_sales_order(template_client, plan, plan.periods[0], quantities={},
                                  actor=None, on=ORDER_DAY)
        complete_payment(order.payment, from_balance=True, actor=None, on=ORDER_DAY)
        db.session.commit()
        sub = order.subscription
        charges = list(db.session.scalars(select(Charge).where(
            Charge.subscription_id == sub.id).order_by(Charge.id)))
        now = clock.now()
        made = 1
        while made < n:
            size = min(BATCH, n - made)
            client_rows = [{"reseller_id": root.id, "client_type_id": client_type.id,
                            "service_rule_id": service_rule.id, "name": f"Client {made + i}",
                            "primary_name": f"Client {made + i}", "balance": Decimal("100.00"),
                            "created_at": now, "updated_at": now} for i in range(size)]
            ids = db.session.execute(insert(Client).returning(Client.id), client_rows)
            client_ids = [row[0] for row in ids]
            sub_rows = [{"reseller_id": root.id, "client_id": cid, "plan_id": plan.id,
                         "plan_period_id": sub.plan_period_id, "name": sub.name,
                         "status": "active", "currency": "RUB", "start_date": sub.start_date,
                         "expiry_date": sub.expiry_date, "prolonged_until": sub.expiry_date,
                         "auto_renew": False, "created_at": now, "updated_at": now}
                        for cid in client_ids]
            sub_ids = [row[0] for row in db.session.execute(
                insert(Subscription).returning(Subscription.id), sub_rows)]
            charge_rows = []
            for cid, sid in zip(client_ids, sub_ids, strict=True):
                for charge in charges:
                    charge_rows.append({
                        "reseller_id": root.id, "client_id": cid, "subscription_id": sid,
                        "line_key": charge.line_key, "charge_type": charge.charge_type,
                        "related_operation": charge.related_operation,
                        "description": charge.description.replace(f"#{sub.id}", f"#{sid}"),
                        "status": charge.status, "operate_from": charge.operate_from,
                        "operate_to": charge.operate_to, "period": charge.period,
                        "quantity": charge.quantity, "unit_price": charge.unit_price,
                        "gross": charge.gross, "discount": charge.discount,
                        "amount": charge.amount, "currency": "RUB", "created_at": now,
                        "close_date": charge.close_date})
            db.session.execute(insert(Charge), charge_rows)
            db.session.commit()
            made += size
        print(f"built {n} clients with {n * len(charges)} charges "
              f"({n} due on {FD.isoformat()})", flush=True)


def run() -> None:
    from sqlalchemy import and_, func, literal, select

    from portal.billing.models import Charge, ChargeStatus, Transaction
    from portal.clients.models import Client
    from portal.core.clock import FrozenClock, clock
    from portal.core.models import UTCDateTime
    from portal.extensions import db
    from portal.orders.services import nightly

    app = _app()
    with app.app_context():
        clock.use(FrozenClock(datetime(2026, 12, 1, 0, 5, tzinfo=UTC)))
        charges, clients, transactions = (Charge.__table__, Client.__table__,
                                          Transaction.__table__)
        due = and_(charges.c.status == ChargeStatus.BLOCKED, charges.c.close_date <= FD)
        count = db.session.scalar(select(func.count()).select_from(charges).where(due))
        # 1. The bare minimum, rolled back.
        started, cpu_started = time.perf_counter(), time.process_time()
        db.session.execute(select(clients.c.id).where(clients.c.id.in_(
            select(charges.c.client_id).where(due))).with_for_update())
        running = clients.c.balance - func.sum(charges.c.amount).over(
            partition_by=charges.c.client_id, order_by=charges.c.id)
        db.session.execute(transactions.insert().from_select(
            ["reseller_id", "client_id", "kind", "change", "balance_after", "currency",
             "description", "charge_id", "created_at"],
            select(charges.c.reseller_id, charges.c.client_id, literal("charge"),
                   -charges.c.amount, running, charges.c.currency, charges.c.description,
                   charges.c.id, literal(clock.now(), UTCDateTime()))
            .select_from(charges.join(clients, clients.c.id == charges.c.client_id))
            .where(due)))
        db.session.execute(charges.update().where(due).values(status=ChargeStatus.CLOSED))
        bare, bare_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        db.session.rollback()
        # 2. The real run.
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = nightly.run_billing_day(FD)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # 3. The same day again.
        again = nightly.run_billing_day(FD)
        nightly.ensure_chunks(FD)
        rerun_closed = nightly.close_due_charges(FD, 0, nightly.LAST_ID)
        db.session.commit()
        engine = db.engine.dialect.name
        print(f"database: {engine}")
        print(f"due charges: {count}; closed: {summary['closed']} in {summary['chunks']} chunks")
        print(f"nightly run: {elapsed:.2f} s = {summary['closed'] / elapsed:,.0f} charges/s")
        print(f"bare SQL minimum: {bare:.2f} s = {count / bare:,.0f} charges/s; "
              f"run / bare = {elapsed / bare:.2f}x")
        # Wall time swings on a busy machine; this process's CPU time much less (it leaves out
        # the PostgreSQL server's work and the waits for the disk).
        print(f"CPU time of this process: run {cpu:.2f} s, bare SQL {bare_cpu:.2f} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"peak memory of the run process: {peak_mb:.0f} MB")
        print(f"second run of the same day: closed {again['closed'] + rerun_closed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--phase", choices=["build", "run"])
    args = parser.parse_args()
    if args.phase == "build":
        build(args.clients)
        return
    if args.phase == "run":
        run()
        return
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.db"
    for phase in ("build", "run"):
        subprocess.run([sys.executable, __file__, "--phase", phase, "--clients",
                        str(args.clients)], check=True, env=os.environ.copy())


if __name__ == "__main__":
    main()
