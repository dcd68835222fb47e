"""An order in a real Chromium (03 S1–S2, S7–S9; 02 SCR-2): Acme's administrator tops up a
client's balance and confirms the money, orders a subscription through the wizard (client, plan,
period, resources, confirmation), opens the order's payment and pays it from the balance; once
the provisioning jobs ran the order is completed, and its charges hold the client's money."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_plan_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]

STAFF_EMAIL = "system@acme.example.com"
STAFF_PASSWORD = "Demo-pass-2026"
CLIENT_NAME = "Orders Browser LLC"
PLAN_NAME = "Browser Backup"
PRODUCT_NAME = "Browser Backup Suite"


@pytest.fixture
def shop(live_server):
    """Acme's own client and plan: a 1-month pre-order with a Licences resource, provisioned by
    the simulated vendor (it answers on the next poll)."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.tenancy.models import Reseller
    from tests.factories import make_client, make_plan, make_product, make_rule

    with live_server.app.app_context():
        acme = db.session.scalar(select(Reseller).where(Reseller.slug == "acme"))
        # The client first: a provisioning rule allows the client types that exist then.
        client = make_client(acme, primary_name=CLIENT_NAME)
        rule = make_rule(acme, financial_day=1)
        plan = make_plan(acme, rule=rule, name=PLAN_NAME,
                         product=make_product(acme, name=PRODUCT_NAME),
                         periods=[{"duration": 1, "duration_unit": "month",
                                   "monthly_fee": "30.00"}],
                         resources=[{"name": "Licences", "included": "1", "minimum": "1",
                                     "limit": "10", "monthly_fee": "10.00"}])
        db.session.commit()
        ids = {"client": client.id, "plan": plan.id, "licences": plan.resources[0].id,
               "host": acme.local_host}
        db.session.remove()
    return ids


@pytest.fixture
def page(live_server, shop):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        context = browser.new_context(base_url=f"http://{shop['host']}:{live_server.port}",
                                      locale="en-US")
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())  # the confirmation dialogs
        try:
            yield page
        finally:
            context.close()
            browser.close()
        assert not errors, errors


def _run_jobs(live_server) -> None:
    """What the worker does: run the queued jobs, poll the vendor, run what that queued."""
    from portal.core import jobs
    from portal.core.scheduler import run_periodic_jobs
    from portal.extensions import db

    with live_server.app.app_context():
        jobs.drain()
        run_periodic_jobs()
        jobs.drain()
        db.session.remove()


def _text(page, selector: str) -> str:
    return re.sub(r"\s+", " ", page.locator(selector).inner_text()).strip()


def _login(page) -> None:
    page.goto("/login")
    page.fill("input[name=email]", STAFF_EMAIL)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#member-name")


def test_top_up_order_pay_from_balance_and_provision(live_server, shop, page):
    _login(page)

    # 1. A top-up from the client page's link (the client is fixed), confirmed as received.
    page.goto(f"/payments/new?client_id={shop['client']}")
    assert CLIENT_NAME in _text(page, "#payment-client")
    page.fill("input[name=total]", "500.00")
    page.click("#create-payment")
    page.wait_for_url(re.compile(r"/payments/\d+$"))
    assert _text(page, "#payment-status") == "Waiting for payment"
    page.select_option("select[name=method]", "bank_transfer")
    page.click("#confirm-payment")
    page.wait_for_selector("#payment-status[data-status=completed]")
    assert _text(page, "#payment-balance-after") == "$500.00"

    # 2. The wizard: client, plan (the period select is redrawn), resources, confirmation.
    page.goto("/orders")
    page.click("#list-create")
    page.wait_for_url(re.compile(r"/orders/new$"))
    page.select_option("select[name=client_id]", str(shop["client"]))
    page.select_option("select[name=plan_id]", str(shop["plan"]))
    page.wait_for_function(
        "document.querySelector('#wizard-product').textContent.includes('%s')" % PRODUCT_NAME,
        timeout=30000)
    assert page.locator("select[name=period_id]").input_value() != ""  # the only period
    page.click("#wizard-next")
    page.wait_for_selector("#order-wizard[data-step=resources]")
    licences = page.locator(f"#res-{shop['licences']}")
    licences.fill("3")
    licences.dispatch_event("change")
    page.wait_for_function(
        "document.querySelector('#resource-%s [data-column=additional]').textContent.trim()"
        " === '2'" % shop["licences"], timeout=30000)
    assert _text(page, "#wizard-amount-due") == "$50.00"
    page.click("#wizard-next")
    page.wait_for_selector("#order-wizard[data-step=confirm]")
    assert CLIENT_NAME in _text(page, "#summary-client")
    assert _text(page, "#wizard-total") == "$50.00"
    page.click("#wizard-confirm")
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    order_id = int(page.url.rsplit("/", 1)[1])
    assert _text(page, "#order-status") == "Waiting for payment"

    # 3. The order's payment, paid from the balance.
    page.click("#order-payment-link")
    page.wait_for_url(re.compile(r"/payments/\d+$"))
    assert _text(page, "#payment-kind") == "Order payment"
    page.click("#pay-from-balance")
    page.wait_for_selector("#payment-status[data-status=paid_from_balance]")
    assert page.locator(f"#payment-orders a[href='/orders/{order_id}']").count() == 1

    # 4. The worker provisions it: the order completes and the subscription is there.
    page.goto(f"/orders/{order_id}")
    assert _text(page, "#order-status") in ("Provisioning", "Completed")
    deadline = time.monotonic() + 5
    while _text(page, "#order-status") != "Completed" and time.monotonic() < deadline:
        _run_jobs(live_server)
        page.reload()
    assert _text(page, "#order-status") == "Completed"
    subscription = _text(page, "#order-items tbody tr")
    assert PLAN_NAME in subscription and "Active" in subscription
    lines = _text(page, "#order-lines-table tbody")
    assert "Licences" in lines and "$20.00" in lines and "$30.00" in lines
    assert _text(page, "#order-lines-total") == "$50.00"

    # 5. Its charges hold the money: on the subscription's «Списания» tab (the subscriptions
    # area's page, linked once it is there) and in the ledger.
    subscription_link = page.locator("#order-subscription-link")
    if subscription_link.count():
        subscription_link.click()
        page.wait_for_url(re.compile(r"/subscriptions/\d+$"))
        page.click("#subscription-tabs [data-tab=charges]")
        page.wait_for_selector("#charges")
        statuses = page.locator("#charges td[data-column=status]").evaluate_all(
            "cells => cells.map(cell => cell.dataset.status)")
        assert statuses and set(statuses) <= {"blocked", "closed"}
    _assert_charges(live_server, order_id)


def _assert_charges(live_server, order_id: int) -> None:
    from sqlalchemy import select

    from portal.billing.models import Charge
    from portal.billing.services.ledger import available_funds, ledger_problems
    from portal.extensions import db
    from portal.orders.models import Order

    with live_server.app.app_context():
        order = db.session.scalar(select(Order).where(Order.id == order_id))
        charges = db.session.scalars(select(Charge).where(Charge.order_id == order.id)).all()
        assert charges and sum((c.amount for c in charges), Decimal(0)) == order.total
        assert {c.status.value for c in charges} <= {"blocked", "closed"}
        client = order.client
        assert ledger_problems(client) == []
        assert client.balance == Decimal("500.00")
        assert available_funds(client) == Decimal("450.00")
        db.session.remove()


def test_order_at_individual_prices(live_server, shop, page):
    """02 §4.5: the toggle on the first step, a typed price redraws the totals (R-IP-3), and
    the order is placed with it."""
    _login(page)
    page.goto(f"/orders/new?client_id={shop['client']}")
    page.select_option("select[name=plan_id]", str(shop["plan"]))
    page.wait_for_function(
        "document.querySelector('#wizard-product').textContent.includes('%s')" % PRODUCT_NAME,
        timeout=30000)
    page.check("#individual_prices")
    page.click("#wizard-next")
    page.wait_for_selector("#order-wizard[data-step=resources]")
    assert _text(page, "#plan-price-service-recurring") == "$30.00"
    assert page.locator("#ip-service-recurring").input_value() == "30.00"
    price = page.locator("#ip-service-recurring")
    price.fill("25.00")
    price.dispatch_event("change")
    page.wait_for_function(
        "document.querySelector('#amount-service-recurring').textContent.trim() === '$25.00'",
        timeout=30000)
    assert _text(page, "#wizard-amount-due") == "$25.00"
    page.select_option("select[name=renewal_price_mode]", "plan")
    page.click("#wizard-next")
    page.wait_for_selector("#order-wizard[data-step=confirm]")
    assert _text(page, "#summary-individual") == "Yes"
    assert _text(page, "#summary-renewal-mode") == "Use plan prices"
    assert _text(page, "#wizard-total") == "$25.00"
    page.click("#wizard-confirm")
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    assert _text(page, "#order-individual") == "Yes"
    assert _text(page, "#order-total") == "$25.00"
