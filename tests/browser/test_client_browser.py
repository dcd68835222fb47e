"""A client in a real Chromium (issue 4, "Done when"): Acme's administrator creates a client with
a new owner; the owner follows the e-mailed link to the client panel on Acme's host, sets a
password and sees Acme's branding; then the staff member logs in as the client and the banner
says so."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_plan_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]

OWNER_EMAIL = "olga@contoso-browser.example.com"
OWNER_PASSWORD = "Owner-pass-2026"


@pytest.fixture
def acme(live_server, smtp_server):
    """Acme's mail goes to the test's own SMTP server; its client panel has its own title."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.tenancy.models import Reseller
    from portal.tenancy.services.resellers import update_reseller

    with live_server.app.app_context():
        reseller = db.session.scalar(select(Reseller).where(Reseller.slug == "acme"))
        update_reseller(reseller, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                        smtp_sender="noreply@acme.example.com",
                        client_panel_title="Acme Cloud Client Area")
        db.session.commit()
        yield reseller.local_host
        db.session.remove()


@pytest.fixture
def browser(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield instance
        finally:
            instance.close()


def _page(browser, errors):
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def _drain(live_server):
    from portal.core import jobs

    with live_server.app.app_context():
        jobs.drain()


def test_owner_signs_in_at_the_resellers_host_and_staff_logs_in_as_the_client(
        live_server, acme, browser, smtp_server):
    errors = []
    base = f"http://{acme}:{live_server.port}"
    staff = _page(browser, errors)
    staff.goto(f"{base}/login")
    staff.fill("input[name=email]", "system@acme.example.com")
    staff.fill("input[name=password]", "Demo-pass-2026")
    staff.click("#login-submit")
    staff.wait_for_selector("#member-name")

    # The create form: pick "legal entity" (the form redraws its fields), then fill it in.
    staff.goto(f"{base}/clients/new")
    staff.get_by_label("Юридическое лицо", exact=True).check()
    staff.wait_for_selector("input[name=primary_name]")
    staff.fill("input[name=primary_name]", "Contoso Browser LLC")
    staff.fill("input[name=param_inn]", "7707083893")
    staff.fill("input[name=owner_first_name]", "Olga")
    staff.fill("input[name=owner_last_name]", "Petrova")
    staff.fill("input[name=owner_email]", OWNER_EMAIL)
    for name, value in (("signatory_first_name", "Olga"), ("signatory_last_name", "Petrova"),
                        ("signatory_email", OWNER_EMAIL)):
        if staff.locator(f"input[name={name}]").count():
            staff.fill(f"input[name={name}]", value)
    # A rule copied from the provider is never the default (08 R-SR-2): staff choose it.
    staff.select_option("select[name=service_rule_id]", label="Стандартное")
    staff.click("#create-client")
    staff.wait_for_url(re.compile(r"/clients/\d+$"))
    assert "Contoso Browser LLC" in staff.content()

    # The owner's invitation arrives; its link opens Acme's client panel on Acme's host.
    _drain(live_server)
    # The "Клиент создан" mail carries it (09 §2.9.2); "Порог … изменен" comes too (TRG-5).
    bodies = [m.get_body(preferencelist=("plain",)).get_content()
              for m in smtp_server.messages if m["To"] == OWNER_EMAIL]
    [body] = [b for b in bodies if "/client/password/set/" in b]
    link = re.search(r"http://\S+/client/password/set/[\w-]+", body).group(0)
    assert link.startswith(f"http://{acme}")

    owner = _page(browser, errors)
    owner.goto(link)
    owner.fill("#new-password-form input[name=password]", OWNER_PASSWORD)
    owner.fill("#new-password-form input[name=confirm]", OWNER_PASSWORD)
    owner.click("#new-password-form button[type=submit]")
    # The link signs the owner in at once.
    owner.wait_for_selector("#client-name")
    # Sign in the ordinary way, as the owner would on another day.
    owner.context.clear_cookies()
    owner.goto(f"{base}/client/login")
    assert owner.locator("#panel-name").inner_text().strip() == "Acme Cloud Client Area"
    # Acme's logo (the demo draws an "A"), served from Acme's host and actually loaded.
    assert owner.locator("#brand-logo").evaluate("img => img.naturalWidth") > 0
    owner.fill("#client-login-form input[name=email]", OWNER_EMAIL)
    owner.fill("#client-login-form input[name=password]", OWNER_PASSWORD)
    owner.click("#login-submit")
    owner.wait_for_selector("#client-name")
    assert "Contoso Browser LLC" in owner.locator("#client-name").inner_text()
    assert owner.locator("#impersonation-banner").count() == 0
    assert "Acme Cloud Client Area" in owner.content()

    # Staff log in as the client from the client page: the client panel says who is inside.
    # The client panel opens in a new tab, so the operator page stays where it was.
    with staff.context.expect_page() as opened:
        staff.click("#enter-client-panel")
    panel = opened.value
    panel.wait_for_selector("#impersonation-banner")
    banner = panel.locator("#impersonation-banner").inner_text()
    assert "Olga Petrova" in banner and "System Admin Acme Cloud" in banner
    assert "Contoso Browser LLC" in panel.locator("#client-name").inner_text()
    assert panel.url.startswith(f"{base}/client/")
    assert not errors, errors
