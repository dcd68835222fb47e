"""A plan in a real Chromium: the root's administrator creates it with two periods and two
resources, delegates it to a child reseller from the plan page, waits on the operation's
progress page and finds the child's copy on the plan's "Delegated to" tab."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CHROMIUM

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        context = browser.new_context(base_url=live_server.url(), locale="en-US")
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
        finally:
            context.close()
            browser.close()
        assert not errors, errors


@pytest.fixture
def catalog(live_server):
    """What a plan needs at the demo root (rule, product, plan category, a service with two
    resources), committed to the live server's database; the demo's "Acme Cloud" is the child."""
    from sqlalchemy import select

    from portal.catalog.services import (catalog_settings, create_plan_category,
                                         create_product, create_product_category,
                                         create_provisioning_rule, create_service_template)
    from portal.extensions import db
    from portal.tenancy.models import Reseller

    with live_server.app.app_context():
        root = db.session.scalar(select(Reseller).where(Reseller.is_root))
        child = db.session.scalar(select(Reseller).where(Reseller.parent_id == root.id))
        create_provisioning_rule(root, name="Browser rule", key="browser_rule",
                                 financial_day=1)
        category = create_product_category(root, name="Browser category",
                                           key="browser_category")
        create_product(root, name="Browser Office", product_category_id=category.id)
        create_plan_category(root, name="Browser plans", key="browser_plans")
        create_service_template(root, name="Browser service", connector="simulated",
                                resources=[{"name": "Mailboxes", "unit_type": "units"},
                                           {"name": "Priority support", "unit_type": "boolean"}])
        # The copy lands in a new product category: it takes the child's default markup.
        markup = catalog_settings(child).default_markup_new_categories
        db.session.commit()
        names = {"child": child.name, "markup": f"{markup:.2f}"}
        db.session.remove()
    return names


def drain_jobs(live_server) -> None:
    """The live server runs no worker thread in tests: run what the request queued."""
    from portal.core import jobs

    with live_server.app.app_context():
        jobs.drain()


def test_create_a_plan_and_delegate_it(page, live_server, catalog):
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", "Demo-pass-2026")
    page.click("#login-submit")
    expect(page.locator("#member-name")).to_contain_text("admin@example.com")
    page.click("button[data-lang=en]")
    expect(page.locator("button[data-lang=en].current")).to_be_visible()

    # Plans list → Create plan.
    page.click("#menu a[data-menu=plans]")
    expect(page).to_have_url(re.compile(r"/plans$"))
    page.click("#create-plan")
    expect(page).to_have_url(re.compile(r"/plans/new$"))
    page.fill("#name", "Browser Office Pro")
    page.fill("#sku", "BOP-1")
    page.select_option("#plan_category_id", label="Browser plans")
    page.select_option("#product_id", label="Browser Office")
    page.check("#published")
    page.select_option("#billing_type", label="Pre-order")
    page.select_option("#provisioning_rule_id", label="Browser rule")
    expect(page.locator("#currency")).to_have_value("RUB")  # the reseller's currency
    page.locator("#field-services label", has_text="Browser service").locator("input").check()
    page.click("#plan-create")
    expect(page).to_have_url(re.compile(r"/plans/\d+\?tab=periods$"))
    plan_id = re.search(r"/plans/(\d+)", page.url).group(1)

    # Two periods.
    for duration, unit, monthly in (("1", "month", "100.00"), ("1", "year", "90.00")):
        page.click("#period-create")
        page.fill("#duration", duration)
        page.select_option("#duration_unit", unit)
        page.check("#published")
        page.fill("#setup_fee", "10")
        page.fill("#monthly_fee", monthly)
        page.click("#period-save")
        expect(page).to_have_url(re.compile(r"\?tab=periods$"))
    rows = page.locator("#periods tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td[data-column=period]")).to_have_text("1 month")
    expect(rows.nth(0).locator("td[data-column=monthly_fee]")).to_contain_text("100.00")
    expect(rows.nth(1).locator("td[data-column=period]")).to_have_text("1 year")

    # Two resources: a countable one and a boolean one.
    page.click("#plan-tabs a[data-tab=resources]")
    page.click("#resource-create")
    page.select_option("#service_resource_id", label="Browser service: Mailboxes (Units)")
    page.click("#resource-choose-submit")
    expect(page.locator("#name")).to_have_value("Mailboxes")
    page.fill("#minimum", "5")
    page.fill("#limit", "100")
    page.fill("#monthly_fee", "4.50")
    page.click("#resource-save")
    expect(page).to_have_url(re.compile(r"\?tab=resources$"))
    page.click("#resource-create")
    page.select_option("#service_resource_id",
                       label="Browser service: Priority support (Boolean)")
    page.click("#resource-choose-submit")
    page.check("input[type=checkbox][name=minimum]")
    page.fill("#monthly_fee", "3")
    page.click("#resource-save")
    resources = page.locator("#resources tbody tr")
    expect(resources).to_have_count(2)
    expect(page.locator("#resources td[data-column=name]")).to_have_text(
        ["Mailboxes", "Priority support"])
    expect(resources.nth(0).locator("td[data-column=minimum]")).to_have_text("5")
    expect(resources.nth(1).locator("td[data-column=minimum]")).to_have_text("Yes")
    expect(page.locator("#resources-all-included")).to_be_visible()

    # Delegate it to the child from the plan page.
    page.click("#plan-tabs a[data-tab=delegated]")
    expect(page.locator("#copies")).to_contain_text("not delegated to any reseller")
    page.locator("#delegate-form label", has_text=catalog["child"]).locator("input").check()
    page.click("#delegate-submit")
    expect(page).to_have_url(re.compile(r"/operations/\d+$"))
    expect(page.locator("#operation-status")).to_contain_text("of 1 delegations")
    drain_jobs(live_server)
    # The progress page polls itself until the operation is done.
    expect(page.locator("#operation-status")).to_have_text("Done.", timeout=15_000)
    expect(page.locator("#operation-percent")).to_have_text("100%")
    result = page.locator(f"#delegation-results tr[id^='delegation-{plan_id}-']")
    expect(result).to_contain_text(catalog["child"])
    child_plan_id = result.locator("td[data-column=child_plan_id]").inner_text().strip()
    assert child_plan_id.isdigit() and child_plan_id != plan_id

    # The plan's "Delegated to" tab lists the child's copy.
    result.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/plans/{plan_id}\?tab=delegated$"))
    copy = page.locator(f"#copy-{child_plan_id}")
    expect(copy).to_contain_text(catalog["child"])
    expect(copy).to_contain_text("Browser Office Pro")
    expect(copy).to_contain_text("Active")
    expect(copy.locator("td[data-column=markup]")).to_have_text(catalog["markup"])
