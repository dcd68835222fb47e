"""The client panel's bell (09 §5.5 C2) and "Notification settings" (C1, §2.7, §3.4, PREF-1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core import jobs
from portal.core.clock import clock
from portal.notifications.delivery_models import (Notification, NotificationPreference,
                                                  NotificationStatus)
from portal.notifications.events import emit
from portal.notifications.models import (NotificationCategory, NotificationEvent,
                                         NotificationTemplate, TemplateType)
from portal.subscriptions.models import SubscriptionStatus
from tests.client_panel.conftest import ClientBrowser, add_user, make_client
from tests.factories import csrf_from, make_reseller, make_root, make_user
from tests.orders.factories import make_provisioning_subscription

HTMX = {"HX-Request": "true"}


def message(client, user, subject, *, minutes=0, read=False, channel=TemplateType.CLIENT_PANEL,
            status=NotificationStatus.SENT):
    """An in-panel message as the dispatcher stores it."""
    row = Notification(reseller_id=client.reseller_id, client_id=client.id, user_id=user.id,
                       event_type="subscription_changed", channel=channel,
                       recipient=str(user.id), subject=subject, body=f"<p>{subject} body</p>",
                       status=status, created_at=clock.now() + timedelta(minutes=minutes),
                       read_at=clock.now() if read else None)
    from portal.extensions import db

    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def world(app, db, acme):
    """Olga owns Alpha and is a user of Beta; Pavel is another user of Alpha."""
    alpha = make_client(acme, name="Alpha", owner_email="olga@example.com")
    olga = alpha.owner
    beta = make_client(acme, name="Beta")
    add_user(beta, olga, level="user")
    pavel = make_user(acme, email="pavel@example.com")
    add_user(alpha, pavel)
    return alpha, beta, olga, pavel


def _bell(html: str) -> str:
    found = re.search(r'<details class="dropdown bell" id="notification-bell".*?</details>', html,
                      re.S)
    assert found, "no bell"
    return found.group(0)


def _signed_in(app, acme, email, client=None):
    browser = ClientBrowser(app, acme.local_host).english()
    assert browser.login(email).status_code == 302
    if client is not None:
        browser.post(f"/client/accounts/{client.id}", csrf_from_path="/client/settings")
    return browser


def test_the_bell_shows_my_unread_messages_for_this_client_newest_first(app, db, acme, world):
    alpha, beta, olga, pavel = world
    older = message(alpha, olga, "Older", minutes=-5)
    newer = message(alpha, olga, "Newer")
    message(alpha, olga, "Already read", read=True)
    message(alpha, pavel, "Pavel's")
    message(beta, olga, "Beta's")
    message(alpha, olga, "An e-mail", channel=TemplateType.EMAIL)
    message(alpha, olga, "Failed", status=NotificationStatus.FAILED)
    db.session.commit()
    browser = _signed_in(app, acme, "olga@example.com", alpha)
    bell = _bell(browser.get("/client/").get_data(as_text=True))
    assert 'id="notification-count">2<' in bell
    assert re.findall(r'id="notification-(\d+)"', bell) == [str(newer.id), str(older.id)]
    for foreign in ("Already read", "Pavel", "Beta", "An e-mail", "Failed"):
        assert foreign not in bell
    assert "<p>Newer body</p>" in bell


def test_marking_one_read_replaces_the_bell(app, db, acme, world):
    alpha, _beta, olga, _pavel = world
    first, second = message(alpha, olga, "First"), message(alpha, olga, "Second", minutes=1)
    db.session.commit()
    browser = _signed_in(app, acme, "olga@example.com", alpha)
    response = browser.post(f"/client/notifications/{first.id}/read", headers=HTMX,
                            csrf_from_path="/client/")
    assert response.status_code == 200
    bell = response.get_data(as_text=True)
    assert "<html" not in bell and 'id="notification-bell"' in bell and " open" in bell
    assert 'id="notification-count">1<' in bell and f'id="notification-{second.id}"' in bell
    assert f'id="notification-{first.id}"' not in bell
    db.session.expire_all()
    assert db.session.get(Notification, first.id).read_at is not None
    assert db.session.get(Notification, second.id).read_at is None
    # Without htmx the page comes back.
    response = browser.post(f"/client/notifications/{second.id}/read",
                            csrf_from_path="/client/")
    assert response.status_code == 302
    assert 'id="notification-count"' not in browser.get("/client/").get_data(as_text=True)


def test_others_messages_cannot_be_marked(app, db, acme, world):
    alpha, beta, olga, pavel = world
    pavels = message(alpha, pavel, "Pavel's")
    betas = message(beta, olga, "Beta's")  # Olga's, but not for the client she acts for
    stranger = make_client(make_reseller(make_root(), name="Other"), name="Gamma")
    theirs = message(stranger, stranger.owner, "Another reseller's")
    db.session.commit()
    browser = _signed_in(app, acme, "olga@example.com", alpha)
    for row in (pavels, betas, theirs):
        response = browser.post(f"/client/notifications/{row.id}/read", headers=HTMX,
                                csrf_from_path="/client/")
        assert response.status_code == 404
    db.session.expire_all()
    assert all(db.session.get(Notification, row.id).read_at is None
               for row in (pavels, betas, theirs))


def test_mark_all_read_touches_only_mine_for_this_client(app, db, acme, world):
    alpha, beta, olga, pavel = world
    mine = [message(alpha, olga, f"Mine {i}") for i in range(3)]
    pavels, betas = message(alpha, pavel, "Pavel's"), message(beta, olga, "Beta's")
    db.session.commit()
    browser = _signed_in(app, acme, "olga@example.com", alpha)
    response = browser.post("/client/notifications/read-all", headers=HTMX,
                            csrf_from_path="/client/")
    assert 'id="notification-empty"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert all(db.session.get(Notification, row.id).read_at for row in mine)
    assert db.session.get(Notification, pavels.id).read_at is None
    assert db.session.get(Notification, betas.id).read_at is None
    # Acting for Beta now, its message is there.
    browser.post(f"/client/accounts/{beta.id}", csrf_from_path="/client/")
    assert 'id="notification-count">1<' in browser.get("/client/").get_data(as_text=True)


def test_an_event_reaches_the_bell(app, db, acme, world):
    alpha, _beta, olga, _pavel = world
    subscription, _order = make_provisioning_subscription(
        acme, services=[], client=alpha, status=SubscriptionStatus.ACTIVE, with_order=False)
    subscription.name = "Office for Alpha"
    emit("subscription_changed", subscription=subscription,
         was={"subscription.status": "updating"})
    db.session.commit()
    jobs.drain()
    # The installed client-panel template of "Подписка изменена" goes to {{ owner.id }}.
    browser = _signed_in(app, acme, "olga@example.com", alpha)
    bell = _bell(browser.get("/client/").get_data(as_text=True))
    assert 'id="notification-count">1<' in bell and "Office for Alpha" in bell


def _published(acme):
    from portal.extensions import db

    return list(db.session.scalars(select(NotificationCategory).where(
        NotificationCategory.reseller_id == acme.id, NotificationCategory.published.is_(True))
        .order_by(NotificationCategory.name)))


def test_the_settings_page_lists_published_categories_with_their_defaults(app, db, acme, world):
    categories = _published(acme)
    assert categories  # the installed set, copied to Acme
    off = categories[0]
    off.enabled_on_client_creation = False
    hidden = db.session.scalar(select(NotificationCategory).where(
        NotificationCategory.reseller_id == acme.id, NotificationCategory.published.is_(False)))
    db.session.commit()
    browser = _signed_in(app, acme, "olga@example.com")
    html = browser.get("/client/notifications/settings").get_data(as_text=True)
    assert re.findall(r'<tr id="category-(\d+)"', html) == [str(c.id) for c in categories]
    assert f'id="category-{hidden.id}"' not in html
    assert not re.search(rf'id="email-{off.id}"[^>]*checked', html)
    assert re.search(rf'id="email-{categories[1].id}"[^>]*checked', html)
    # No category has an SMS template: every SMS switch is locked (09 §3.4).
    assert all(re.search(rf'id="sms-{c.id}"[^>]*disabled', html) for c in categories)


def test_saving_the_settings_stores_them_and_keeps_a_locked_sms_switch(app, db, acme, world):
    _alpha, _beta, olga, _pavel = world
    with_sms, locked = _published(acme)[:2]
    db.session.add(NotificationTemplate(reseller_id=acme.id, type=TemplateType.SMS,
                                        name="SMS", category_id=with_sms.id,
                                        recipient="{{ account.phone }}"))
    db.session.commit()
    browser = _signed_in(app, acme, "olga@example.com")
    page = browser.get("/client/notifications/settings").get_data(as_text=True)
    assert not re.search(rf'id="sms-{with_sms.id}"[^>]*disabled', page)
    response = browser.client.post("/client/notifications/settings", base_url=browser.base,
                                   data={"csrf_token": csrf_from(page),
                                         f"sms-{with_sms.id}": "on",
                                         f"panel-{with_sms.id}": "on",
                                         # A forged switch of the locked SMS column is ignored.
                                         f"sms-{locked.id}": "on", f"email-{locked.id}": "on",
                                         "email-999999": "on"})
    assert response.status_code == 302
    rows = {p.category_id: p for p in db.session.scalars(select(NotificationPreference).where(
        NotificationPreference.reseller_id == acme.id,
        NotificationPreference.user_id == olga.id))}
    assert set(rows) == {c.id for c in _published(acme)}
    assert (rows[with_sms.id].email_enabled, rows[with_sms.id].sms_enabled,
            rows[with_sms.id].panel_enabled) == (False, True, True)
    # Locked: keeps the value it had (the default, on), whatever the form said.
    assert (rows[locked.id].email_enabled, rows[locked.id].sms_enabled,
            rows[locked.id].panel_enabled) == (True, True, False)
    html = browser.get("/client/notifications/settings").get_data(as_text=True)
    assert not re.search(rf'id="email-{with_sms.id}"[^>]*checked', html)
    assert re.search(rf'id="sms-{with_sms.id}"[^>]*checked', html)


def test_a_switched_off_panel_channel_is_honoured(app, db, acme, world):
    alpha, _beta, olga, _pavel = world
    subscriptions = db.session.scalar(
        select(NotificationTemplate.category_id)
        .join(NotificationEvent, NotificationEvent.template_id == NotificationTemplate.id)
        .where(NotificationEvent.reseller_id == acme.id,
               NotificationEvent.event_type == "subscription_changed",
               NotificationEvent.template_type == TemplateType.CLIENT_PANEL))
    db.session.add(NotificationPreference(reseller_id=acme.id, user_id=olga.id,
                                          category_id=subscriptions, email_enabled=True,
                                          sms_enabled=True, panel_enabled=False))
    subscription, _order = make_provisioning_subscription(
        acme, services=[], client=alpha, status=SubscriptionStatus.ACTIVE, with_order=False)
    emit("subscription_changed", subscription=subscription,
         was={"subscription.status": "updating"})
    emit("payment_received", client=alpha)  # no payment: its rule is false, nothing either
    db.session.commit()
    jobs.drain()
    assert db.session.scalars(select(Notification).where(
        Notification.reseller_id == acme.id,
        Notification.channel == TemplateType.CLIENT_PANEL)).all() == []


def test_the_settings_need_a_signed_in_user_and_stay_within_the_reseller(app, db, acme, world):
    other = make_reseller(make_root(), name="Other")
    make_client(other, owner_email="olga@example.com")  # the same address, another reseller
    db.session.commit()
    anonymous = ClientBrowser(app, acme.local_host)
    assert anonymous.get("/client/notifications/settings").status_code == 302
    browser = _signed_in(app, acme, "olga@example.com")
    html = browser.get("/client/notifications/settings").get_data(as_text=True)
    foreign = db.session.scalars(select(NotificationCategory.id).where(
        NotificationCategory.reseller_id == other.id)).all()
    assert foreign and not any(f'id="category-{cid}"' in html for cid in foreign)
