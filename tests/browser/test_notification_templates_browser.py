"""A notification template in a real Chromium (09 §5.2 S4–S7): Acme, a reseller below the
operator, opens its inherited "order created" e-mail template from the list, changes the
closing line of the English body and saves it (the copy becomes modified), previews it (the
rendered mail in a sandboxed frame), then on the compare tab sees the changed fragment
highlighted yellow, reverts it and updates: the copy equals the operator's again."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_plan_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]

STAFF_EMAIL = "system@acme.example.com"
STAFF_PASSWORD = "Demo-pass-2026"
ORIGINAL_LINE = "<p>Best regards,"
CHANGED_LINE = "<p>Warm wishes from the Acme team,"
YELLOW = "rgb(255, 245, 157)"


@pytest.fixture
def order_mail(live_server):
    """Acme's copy of the operator's installed "order created" e-mail; put back afterwards."""
    from sqlalchemy import select

    from portal.core.tenant_guard import across_tenants
    from portal.extensions import db
    from portal.notifications.models import NotificationTemplate
    from portal.notifications.services import restore_template
    from portal.notifications.services.delegation import family_map
    from portal.tenancy.models import Reseller

    with live_server.app.app_context():
        acme = db.session.scalar(select(Reseller).where(Reseller.slug == "acme"))
        with across_tenants():
            installed = db.session.scalar(select(NotificationTemplate).where(
                NotificationTemplate.default_key == "order_created.email",
                NotificationTemplate.installed.is_(True)))
        template_id = family_map(NotificationTemplate, installed.id)[acme.id]
        template = db.session.get(NotificationTemplate, template_id)
        assert template.inherited and not template.modified
        assert ORIGINAL_LINE in template.content("en").body
        ids = {"template": template_id, "host": acme.local_host}
        db.session.remove()
    yield ids
    with live_server.app.app_context():
        template = db.session.get(NotificationTemplate, ids["template"])
        if template.modified:
            restore_template(template)
            db.session.commit()
        db.session.remove()


@pytest.fixture
def page(live_server, order_mail):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        context = browser.new_context(
            base_url=f"http://{order_mail['host']}:{live_server.port}", locale="en-US")
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


def _text(page, selector: str) -> str:
    return re.sub(r"\s+", " ", page.locator(selector).inner_text()).strip()


def _login(page) -> None:
    page.goto("/login")
    page.fill("input[name=email]", STAFF_EMAIL)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#member-name")


def test_edit_preview_compare_and_revert_an_inherited_template(live_server, order_mail, page):
    template_id = order_mail["template"]
    _login(page)

    # 1. The list: the row of the inherited template, with its compare link; open it.
    page.click("#menu [data-menu=notification_templates]")
    page.wait_for_url(re.compile(r"/notifications/templates$"))
    row = page.locator(f"#notification_templates-{template_id}")
    assert row.locator(".compare-link").count() == 1
    row.locator("td[data-column=name] a").click()
    page.wait_for_url(re.compile(rf"/notifications/templates/{template_id}$"))
    assert _text(page, "#flag-inherited") == "Yes" and _text(page, "#flag-modified") == "No"

    # 2. Change the closing line of the English body and save: the copy is modified.
    body = page.locator("#body_en")
    original = body.input_value()
    assert ORIGINAL_LINE in original
    body.fill(original.replace(ORIGINAL_LINE, CHANGED_LINE))
    page.click("#template-save")
    page.wait_for_selector("#flag-modified")
    assert _text(page, "#flag-modified") == "Yes"
    assert CHANGED_LINE in page.locator("#body_en").input_value()

    # 3. Preview in English: the rendered mail, placeholders filled, in a sandboxed frame.
    page.click("#template-tabs [data-tab=preview]")
    page.wait_for_selector("#preview-frame")
    assert page.locator("#preview-frame").get_attribute("sandbox") == ""
    if page.locator("#preview-language").input_value() != "en":
        page.select_option("#preview-language", "en")
        page.wait_for_selector("#preview-result[data-language=en]")
    frame = page.frame_locator("#preview-frame")
    rendered = frame.locator("body").inner_text()
    assert "Warm wishes from the Acme team," in rendered
    assert "{{" not in rendered and "Order" in rendered
    assert page.locator("#preview-errors").count() == 0

    # 4. Compare: the changed fragment is highlighted yellow, with its revert button.
    page.click("#template-tabs [data-tab=compare]")
    page.wait_for_selector("#compare-en")
    assert page.locator("#compare-en").get_attribute("data-differs") == "yes"
    changed = page.locator("#compare-en tr.fragment.changed")
    assert changed.count() == 1
    assert "Warm wishes from the Acme team," in changed.locator("td").first.inner_text()
    assert changed.locator("pre").first.evaluate(
        "element => getComputedStyle(element).backgroundColor") == YELLOW

    # 5. Revert it (htmx, nothing saved yet), then Update.
    changed.locator(".revert-fragment").click()
    page.wait_for_selector("#compare-en[data-differs=no]")
    assert page.locator("#compare-body-en").input_value().replace("\r\n", "\n") == original
    assert _text(page, "#compare-note-en") == "The fragment is reverted. Click Update to save."
    page.click("#compare-update-en")
    page.locator("#compare-note-en", has_text="The template is updated.").wait_for()

    # 6. The copy equals the operator's template again (09 A-37).
    page.click("#template-tabs [data-tab=general]")
    page.wait_for_selector("#flag-modified")
    assert _text(page, "#flag-modified") == "No"
    assert ORIGINAL_LINE in page.locator("#body_en").input_value()
