"""Benchmark: a price change at the root reaches 1,000 delegated plan copies (issue 3).

Builds a three-level tree of 500 resellers (20 children of the root, 24 grandchildren each),
delegates two root plans down every branch (2 × 500 = 1,000 copies, each level with a markup),
then changes both plans' prices at the root in one transaction and times the one background
sync job that carries the change to every copy. Prints the time and the copies updated.

    .venv/bin/python bench/price_cascade.py            # SQLite in a temporary directory
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python bench/price_cascade.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))

CHILDREN, GRANDCHILDREN_EACH, PLANS = 20, 24, 2


def main() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from portal import create_app
    from portal.catalog.models import Plan, PlanPeriod
    from portal.catalog.services import (create_plan, create_plan_category, create_product,
                                         create_product_category, create_provisioning_rule,
                                         delegate_plan, set_markup, update_period)
    from portal.catalog.services.sync import sync_plan_copies_job
    from portal.cli import ensure_root
    from portal.core import jobs
    from portal.core.clock import clock
    from portal.extensions import db
    from portal.tenancy.services.resellers import create_reseller

    app = create_app({"TESTING": False})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        root, _member, _token = ensure_root(name="Bench root", email="operator@example.com",
                                            password="Quick-fox-2026", currency="RUB",
                                            domain="localhost")
        rule = create_provisioning_rule(root, name="Monthly", key="monthly", financial_day=1)
        category = create_product_category(root, name="Software", key="software")
        product = create_product(root, name="Office", product_category_id=category.id)
        plan_category = create_plan_category(root, name="Office", key="office")
        plans = [create_plan(root, name=f"Office {n}", billing_type="preorder",
                             plan_category_id=plan_category.id, product_id=product.id,
                             provisioning_rule_id=rule.id,
                             periods=[{"duration": 1, "duration_unit": "month",
                                       "monthly_fee": "100.00"},
                                      {"duration": 1, "duration_unit": "year",
                                       "monthly_fee": "90.00", "setup_fee": "10.00"}],
                             resources=[{"name": "Licences", "minimum": 1, "included": 0,
                                         "limit": 300, "monthly_fee": "5.00"}])
                 for n in range(PLANS)]
        db.session.commit()
        now = clock.now()
        for c in range(CHILDREN):
            child = create_reseller(root, name=f"Child {c}", slug=f"child-{c}", currency="RUB")
            child_copies = []
            for plan in plans:
                copy, _ = delegate_plan(plan, child, now=now)
                child_copies.append(copy)
            set_markup(child_copies, "1.50")
            for g in range(GRANDCHILDREN_EACH):
                grandchild = create_reseller(child, name=f"Grandchild {c}-{g}",
                                             slug=f"grandchild-{c}-{g}", currency="RUB")
                grand_copies = [delegate_plan(copy, grandchild, now=now)[0]
                                for copy in child_copies]
                set_markup(grand_copies, "1.20")
            db.session.commit()
        jobs.backend().pending.queue.clear()  # the set-up's own sync jobs are not measured
        copies = db.session.scalar(select(func.count(Plan.id)).where(Plan.parent_id.is_not(None)))
        print(f"built {CHILDREN + CHILDREN * GRANDCHILDREN_EACH} resellers and {copies} plan "
              f"copies in {time.perf_counter() - started:.1f} s")

        for plan in plans:
            update_period(plan.periods[0], monthly_fee="200.00")
        db.session.commit()
        pending = list(jobs.backend().pending.queue)
        assert len(pending) == 1, pending
        path, args = pending[0]
        started = time.perf_counter()
        visited = sync_plan_copies_job(*args)
        elapsed = time.perf_counter() - started

        sample = db.session.scalars(select(PlanPeriod.monthly_fee).join(
            Plan, Plan.id == PlanPeriod.plan_id).where(
            Plan.name == "Office 0", Plan.reseller_id != root.id,
            PlanPeriod.duration_unit == "month")).all()
        assert set(sample) == {Decimal("300.00"), Decimal("360.00")}, set(sample)
        print(f"price change at the root: one job updated {visited} copies in {elapsed:.2f} s "
              f"({db.engine.dialect.name})")


if __name__ == "__main__":
    main()
