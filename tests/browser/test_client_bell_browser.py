"""The client panel's bell in a real browser: the count, the list, marking read through htmx,
and the notification settings page (09 §5.5 C1, C2)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_plan_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]

USER_EMAIL = "nina@bell-browser.example.com"
PASSWORD = "Owner-pass-2026"


@pytest.fixture
def bell_client(live_server):
    """A new user of an Acme demo client (its only client) with three unread messages."""
    from sqlalchemy import select

    from portal.clients.models import Client
    from portal.clients.services.users import create_client_user
    from portal.core.clock import clock
    from portal.extensions import db
    from portal.notifications.delivery_models import Notification, NotificationStatus
    from portal.notifications.models import TemplateType
    from portal.tenancy.models import Reseller

    with live_server.app.app_context():
        acme = db.session.scalar(select(Reseller).where(Reseller.slug == "acme"))
        client = db.session.scalar(select(Client).where(Client.reseller_id == acme.id)
                                   .order_by(Client.id).limit(1))
        user = create_client_user(client, access_level="admin", email=USER_EMAIL,
                                  first_name="Nina", last_name="Bell", password=PASSWORD).user
        for n in range(3):
            db.session.add(Notification(
                reseller_id=acme.id, client_id=client.id, user_id=user.id,
                event_type="subscription_changed", channel=TemplateType.CLIENT_PANEL,
                recipient=str(user.id), subject=f"Message {n}", body=f"<p>Body <b>{n}</b></p>",
                status=NotificationStatus.SENT, created_at=clock.now()))
        db.session.commit()
        host = acme.local_host
        db.session.remove()
    return host


def test_the_bell_counts_lists_and_marks_read(live_server, bell_client):
    from playwright.sync_api import sync_playwright

    base = f"http://{bell_client}:{live_server.port}"
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            page = browser.new_context(locale="en-US").new_page()
            page.set_default_timeout(10_000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/client/login")
            page.fill("#client-login-form input[name=email]", USER_EMAIL)
            page.fill("#client-login-form input[name=password]", PASSWORD)
            page.click("#login-submit")
            page.wait_for_selector("#client-name")
            assert page.locator("#notification-count").inner_text() == "3"
            page.click("#notification-bell summary")
            assert page.locator(".bell-item").count() == 3
            assert page.locator(".bell-item b").first.inner_text() in {"0", "1", "2"}
            page.locator(".bell-item button").first.click()
            page.wait_for_function(
                "document.querySelector('#notification-count').textContent === '2'")
            # The bell replaced itself and stays open.
            assert page.locator("#notification-bell[open]").count() == 1
            assert page.locator(".bell-item").count() == 2
            page.click("#notification-read-all")
            page.wait_for_selector("#notification-empty")
            assert page.locator("#notification-count").count() == 0

            page.click("#notification-settings-link")
            page.wait_for_selector("#notification-settings-form")
            first = page.locator("#notification-settings-form input[name^=email-]").first
            was = first.is_checked()
            first.set_checked(not was)
            page.click("#notification-settings-save")
            page.wait_for_selector(".flash-success")
            first = page.locator("#notification-settings-form input[name^=email-]").first
            assert first.is_checked() is (not was)
            assert page.locator("#notification-settings-form input[name^=sms-]").first \
                .is_disabled()
        finally:
            browser.close()
    assert not errors, errors
