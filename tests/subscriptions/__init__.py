"""Helpers shared by the subscription and charge page tests: a reseller with a client, money on
its balance, a pre-order plan with one resource, and subscriptions bought through the services."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

from portal.accounts.models import Role
from portal.billing.views_charges import bp as charges_bp
from portal.core import jobs
from portal.core.clock import clock
from portal.core.scheduler import run_periodic_jobs
from portal.extensions import db
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from portal.subscriptions.models import Subscription
from portal.subscriptions.views import bp as subscriptions_bp
from tests.factories import make_client, make_plan, make_reseller, make_root, make_rule, make_staff

LICENCES = {"name": "Licences", "included": "1", "minimum": "1", "limit": "10",
            "monthly_fee": "10.00"}


def ensure_pages(app) -> None:
    """Register the subscription and charge blueprints on the test app when create_app does
    not yet (the suite's shared app has served requests already)."""
    missing = [bp for bp in (subscriptions_bp, charges_bp) if bp.name not in app.blueprints]
    if not missing:
        return
    handled = app._got_first_request
    app._got_first_request = False
    try:
        for blueprint in missing:
            app.register_blueprint(blueprint)
    finally:
        app._got_first_request = handled


def make_world(app, *, name: str = "Distributor", slug: str | None = None,
               topup: str = "100.00") -> SimpleNamespace:
    """A reseller, its administrator and a product manager (no subscriptions or charges
    section), one client with `topup` on its balance and a 2-month plan at 30.00 a month."""
    ensure_pages(app)
    root = make_root()
    reseller = make_reseller(root, name=name, **({"slug": slug} if slug else {}))
    admin = make_staff(reseller, name=f"{name} Admin")
    product_manager = make_staff(reseller, role=Role.PRODUCT_MANAGER)
    # The client first: a provisioning rule allows the client types that exist when it is made.
    client = make_client(reseller)
    rule = make_rule(reseller, financial_day=1)
    plan = make_plan(reseller, rule=rule, resources=[dict(LICENCES)],
                     periods=[{"duration": 2, "duration_unit": "month",
                               "monthly_fee": "30.00"}])
    if Decimal(topup):
        top_up(client, topup)
    db.session.commit()
    return SimpleNamespace(root=root, reseller=reseller, admin=admin,
                           product_manager=product_manager, client=client, rule=rule, plan=plan)


def top_up(client, amount: str) -> None:
    """Money received on the client's balance (one payment transaction)."""
    payment = create_topup(client, amount=amount, actor=None)
    complete_payment(payment, from_balance=False, actor=None, on=clock.today())


def settle() -> None:
    """Run the queued provisioning jobs and one poll of the simulated vendor."""
    jobs.drain()
    run_periodic_jobs()
    jobs.drain()
    db.session.expire_all()


def buy(world, *, name: str | None = None, quantities: dict | None = None) -> Subscription:
    """An active subscription of the world's client, paid from its balance (WE-2 style)."""
    order = place_sales_order(world.client, world.plan, world.plan.periods[0],
                              quantities=quantities or {}, actor=None, on=clock.today(),
                              name=name)
    complete_payment(order.payment, from_balance=True, actor=None, on=clock.today())
    db.session.commit()
    subscription_id = order.subscription_id
    settle()
    return db.session.get(Subscription, subscription_id)


def plain(html: str) -> str:
    text = re.sub(r"<[^>]+>", " ", html).replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip()


def row_ids(html: str, prefix: str) -> list[int]:
    return [int(i) for i in re.findall(rf'<tr id="{prefix}-(\d+)"', html)]


def cell(html: str, prefix: str, row_id: int, column: str) -> str:
    row = re.search(rf'<tr id="{prefix}-{row_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row {prefix}-{row_id}"
    match = re.search(rf'<td data-column="{column}"[^>]*>(.*?)</td>', row.group(1), re.S)
    assert match, f"no column {column}"
    return match.group(1)
