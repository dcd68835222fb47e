"""Signing in to the client panel: one client goes home, several go to the accounts page,
blocked and deleted clients say so (01 R-ST-3/4), lockout, and sessions that stay apart."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.clients.models import ClientStatus, UserSession, UserSignIn, UserStatus
from portal.clients.services.users import create_user, set_membership_status, set_user_status
from portal.settings.services import update_security_settings
from tests.client_panel.conftest import ClientBrowser, add_user, make_client
from tests.factories import PASSWORD, Panel, make_reseller, make_staff

BLOCKED = ("The client is blocked. Any operations are prohibited. Contact the administrator "
           "for further actions.")


def _error(response) -> str:
    match = re.search(r'id="login-error">([^<]+)<', response.get_data(as_text=True))
    return match.group(1) if match else ""


def test_owner_of_one_client_lands_on_its_home(app, db, acme, browser, frozen_clock):
    client = make_client(acme, name="Romashka LLC", owner_email="olga@romashka.example.com")
    db.session.commit()
    response = browser.login("Olga@Romashka.example.com")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/client/")
    home = browser.get("/client/").get_data(as_text=True)
    assert 'id="client-name">Romashka LLC<' in home
    assert 'id="access-level"' in home and "Owner" in home
    assert 'id="client-switcher"' not in home
    assert 'id="impersonation-banner"' not in home
    owner = client.owner
    assert owner.sign_in_count == 1 and owner.last_sign_in_at == frozen_clock.now()
    sign_ins = db.session.scalars(select(UserSignIn).where(UserSignIn.user_id == owner.id)).all()
    assert [(s.success, s.ip) for s in sign_ins] == [(True, "127.0.0.1")]
    session = db.session.scalar(select(UserSession).where(UserSession.user_id == owner.id))
    assert session.client_id == client.id and session.impersonator_id is None


def test_user_of_several_clients_picks_one_on_the_accounts_page(app, db, acme, browser):
    first = make_client(acme, name="First LLC", owner_email="pat@example.com")
    pat = first.owner
    second = make_client(acme, name="Second LLC")
    add_user(second, pat, "user")
    blocked = make_client(acme, name="Blocked LLC", status=ClientStatus.FINANCIALLY_BLOCKED)
    add_user(blocked, pat, "admin")
    frozen = make_client(acme, name="Frozen LLC")
    add_user(frozen, pat, "admin")
    frozen.status = ClientStatus.ADMIN_BLOCKED
    gone = make_client(acme, name="Gone LLC")
    add_user(gone, pat, "admin")
    gone.status = ClientStatus.DELETED
    db.session.commit()

    response = browser.login("pat@example.com")
    assert response.headers["Location"].endswith("/client/accounts")
    # Home needs a chosen client.
    assert browser.get("/client/").headers["Location"].endswith("/client/accounts")
    page = browser.get("/client/accounts").get_data(as_text=True)
    for client in (first, second, blocked, frozen, gone):
        assert f'id="account-{client.id}"' in page
    assert f'id="enter-{first.id}"' in page and f'id="enter-{second.id}"' in page
    # Financially blocked clients can be entered (01 §3.7); admin-blocked and deleted cannot.
    assert f'id="enter-{blocked.id}"' in page
    assert f'id="enter-{frozen.id}"' not in page and f'id="enter-{gone.id}"' not in page
    assert 'data-status="admin_blocked"' in page and 'data-status="deleted"' in page
    assert "Financial block" in page and "Administrative block" in page

    entered = browser.post(f"/client/accounts/{second.id}")
    assert entered.status_code == 302 and entered.headers["Location"].endswith("/client/")
    home = browser.get("/client/").get_data(as_text=True)
    assert 'id="client-name">Second LLC<' in home and "User" in home
    assert 'id="client-switcher"' in home and f'data-client="{first.id}"' in home

    # An admin-blocked client stays closed, with the R-ST-3 message.
    refused = browser.post(f"/client/accounts/{frozen.id}")
    assert refused.headers["Location"].endswith("/client/accounts")
    assert BLOCKED in browser.get("/client/accounts").get_data(as_text=True)
    assert 'id="client-name">Second LLC<' in browser.get("/client/").get_data(as_text=True)


def test_another_clients_id_in_the_url_is_a_404(app, db, acme, browser):
    mine = make_client(acme, owner_email="me@example.com")
    stranger = make_client(acme, name="Not mine")
    beta = make_reseller(name="Beta", slug="beta")
    foreign = make_client(beta, name="Beta's client")
    db.session.commit()
    browser.login("me@example.com")
    assert browser.post(f"/client/accounts/{stranger.id}").status_code == 404
    assert browser.post(f"/client/accounts/{foreign.id}").status_code == 404
    assert browser.post("/client/accounts/999999").status_code == 404
    # Still in its own client.
    assert f'id="client-name">{mine.name}<' in browser.get("/client/").get_data(as_text=True)
    # Without a session, another reseller's client is a 404 too (never a login redirect).
    assert ClientBrowser(app, acme.local_host).post(
        f"/client/accounts/{foreign.id}").status_code == 404


def test_only_client_admin_blocked_or_deleted_is_refused_with_its_message(app, db, acme,
                                                                             browser):
    make_client(acme, owner_email="blocked@example.com", status=ClientStatus.ADMIN_BLOCKED)
    make_client(acme, owner_email="deleted@example.com", status=ClientStatus.DELETED)
    db.session.commit()
    blocked = browser.login("blocked@example.com")
    assert blocked.status_code == 401 and _error(blocked) == BLOCKED
    deleted = browser.login("deleted@example.com")
    assert deleted.status_code == 401 and _error(deleted) == "The client is deleted."
    assert browser.session_key() is None
    reasons = {s.reason for s in db.session.scalars(select(UserSignIn)).all()}
    assert {"client_blocked", "client_deleted"} <= reasons


def test_only_client_financially_blocked_still_signs_in(app, db, acme, browser):
    make_client(acme, owner_email="debtor@example.com", status=ClientStatus.FINANCIALLY_BLOCKED)
    db.session.commit()
    response = browser.login("debtor@example.com")
    assert response.headers["Location"].endswith("/client/")
    assert 'id="client-status">Financial block<' in browser.get("/client/").get_data(as_text=True)


def test_inactive_user_and_wrong_password(app, db, acme, browser):
    client = make_client(acme, owner_email="olga@example.com")
    db.session.commit()
    wrong = browser.login("olga@example.com", "Wrong-pass-1")
    unknown = browser.login("nobody@example.com", "Wrong-pass-1")
    assert wrong.status_code == unknown.status_code == 401
    assert _error(wrong) == _error(unknown) == "Wrong e-mail or password."
    set_user_status(client.owner, UserStatus.INACTIVE)
    db.session.commit()
    inactive = browser.login("olga@example.com")
    assert inactive.status_code == 401 and _error(inactive) == "This account is deactivated."
    # A user of another reseller does not exist here.
    beta = make_reseller(name="Beta", slug="beta")
    make_client(beta, owner_email="betty@example.com")
    db.session.commit()
    assert browser.login("betty@example.com").status_code == 401


def test_lockout_after_failed_attempts_then_unlocks(app, db, acme, browser, frozen_clock):
    update_security_settings(acme, user_max_login_attempts=3, user_lockout_minutes=15)
    make_client(acme, owner_email="olga@example.com")
    db.session.commit()
    for _ in range(3):
        assert browser.login("olga@example.com", "Wrong-pass-1").status_code == 401
    locked = browser.login("olga@example.com")
    assert locked.status_code == 401 and "15 min" in _error(locked)
    frozen_clock.advance(minutes=16)
    assert browser.login("olga@example.com").status_code == 302


def test_client_and_staff_sessions_are_independent(app, db, acme):
    make_client(acme, owner_email="olga@example.com")
    member = make_staff(acme, email="kate@acme.example.com")
    db.session.commit()
    # A staff member signed in to the operator panel is not a client-panel user.
    panel = Panel(app, acme, member)
    response = panel.get("/client/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/login")
    # A client-panel user of the same browser is not a staff member.
    browser = ClientBrowser(app, acme.local_host)
    assert browser.login("olga@example.com").status_code == 302
    operator = browser.get("/")
    assert operator.status_code == 302 and operator.headers["Location"].startswith("/login")
    # Both in one browser, then the client panel signs out: the staff login stays.
    assert panel.client.post("/client/login", base_url=panel.base, data={
        "csrf_token": panel.csrf("/client/login"), "email": "olga@example.com",
        "password": PASSWORD}).status_code == 302
    assert panel.get("/client/").status_code == 200
    panel.client.post("/client/logout", base_url=panel.base,
                      data={"csrf_token": panel.csrf("/client/")})
    assert panel.get("/client/").status_code == 302
    assert panel.get("/").status_code == 200


def test_a_session_of_one_reseller_does_nothing_on_anothers_host(app, db, acme, browser):
    beta = make_reseller(name="Beta", slug="beta")
    make_client(acme, owner_email="olga@example.com")
    db.session.commit()
    browser.login("olga@example.com")
    key = browser.session_key()
    assert key and browser.get("/client/").status_code == 200
    thief = ClientBrowser(app, beta.local_host)
    with thief.client.session_transaction(base_url=thief.base) as session:
        session["client_session"] = key
    response = thief.get("/client/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/login")


def test_idle_session_expires(app, db, acme, browser, frozen_clock):
    update_security_settings(acme, session_idle_minutes=30)
    make_client(acme, owner_email="olga@example.com")
    db.session.commit()
    browser.login("olga@example.com")
    frozen_clock.advance(minutes=20)
    assert browser.get("/client/").status_code == 200
    frozen_clock.advance(minutes=31)
    assert browser.get("/client/").headers["Location"].endswith("/client/login")


def test_access_is_rechecked_on_every_request(app, db, acme, browser):
    first = make_client(acme, name="First LLC", owner_email="pat@example.com")
    pat = first.owner
    second = make_client(acme, name="Second LLC")
    membership = add_user(second, pat, "admin")
    db.session.commit()
    browser.login("pat@example.com")
    browser.post(f"/client/accounts/{second.id}")
    assert browser.get("/client/").status_code == 200
    # Deactivated for the client meanwhile: back to the accounts page with the reason.
    set_membership_status(membership, UserStatus.INACTIVE)
    db.session.commit()
    response = browser.get("/client/")
    assert response.headers["Location"].endswith("/client/accounts")
    assert "Your access to this client is deactivated." in browser.get(
        "/client/accounts").get_data(as_text=True)
    # The other client is admin-blocked meanwhile.
    browser.post(f"/client/accounts/{first.id}")
    first.status = ClientStatus.ADMIN_BLOCKED
    db.session.commit()
    assert browser.get("/client/").headers["Location"].endswith("/client/accounts")
    assert BLOCKED in browser.get("/client/accounts").get_data(as_text=True)
    # Deactivated globally (set_user_status also ends the sessions; the check stands alone).
    pat.status = UserStatus.INACTIVE
    db.session.commit()
    assert browser.get("/client/accounts").headers["Location"].endswith("/client/login")
    assert "This account is deactivated." in browser.get("/client/login").get_data(as_text=True)


def test_htmx_request_without_a_session_gets_401_and_a_redirect(app, db, acme, browser):
    response = browser.get("/client/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].endswith("/client/login")


def test_user_without_clients_sees_an_empty_accounts_page(app, db, acme, browser):
    create_user(acme, email="lonely@example.com", first_name="Lo", last_name="Nely",
                password=PASSWORD)
    db.session.commit()
    assert browser.login("lonely@example.com").headers["Location"].endswith("/client/accounts")
    assert 'id="no-accounts"' in browser.get("/client/accounts").get_data(as_text=True)


def test_settings_change_names_language_and_password(app, db, acme, browser):
    client = make_client(acme, owner_email="olga@example.com")
    db.session.commit()
    browser.login("olga@example.com")
    page = browser.get("/client/settings").get_data(as_text=True)
    assert "At least 8 characters" in page and 'id="user-email">olga@example.com<' in page
    saved = browser.post("/client/settings", {"last_name": "Petrova", "first_name": "Olga",
                                              "middle_name": "", "language": "en"})
    assert saved.status_code == 302
    assert client.owner.last_name == "Petrova" and client.owner.language == "en"
    wrong = browser.post("/client/settings/password", {
        "current_password": "Not-the-one-1", "password": "Brand-new-pass-77",
        "confirm": "Brand-new-pass-77"})
    assert wrong.status_code == 422 and "The current password is wrong." in wrong.get_data(
        as_text=True)
    weak = browser.post("/client/settings/password", {
        "current_password": PASSWORD, "password": "short", "confirm": "short"})
    assert weak.status_code == 422
    changed = browser.post("/client/settings/password", {
        "current_password": PASSWORD, "password": "Brand-new-pass-77",
        "confirm": "Brand-new-pass-77"})
    assert changed.status_code == 302
    # This session goes on; the new password signs in elsewhere, the old one does not.
    assert browser.get("/client/").status_code == 200
    other = ClientBrowser(app, acme.local_host)
    assert other.login("olga@example.com").status_code == 401
    assert other.login("olga@example.com", "Brand-new-pass-77").status_code == 302


def test_sign_out_ends_the_session_server_side(app, db, acme, browser):
    make_client(acme, owner_email="olga@example.com")
    db.session.commit()
    browser.login("olga@example.com")
    key = browser.session_key()
    browser.post("/client/logout")
    assert browser.get("/client/").status_code == 302
    replay = ClientBrowser(app, acme.local_host)
    with replay.client.session_transaction(base_url=replay.base) as session:
        session["client_session"] = key
    assert replay.get("/client/").status_code == 302


def _bell_message(client):
    """An in-panel message of the client's owner (the bell's routes name one)."""
    from portal.core.clock import clock
    from portal.extensions import db
    from portal.notifications.delivery_models import Notification, NotificationStatus
    from portal.notifications.models import TemplateType

    message = Notification(reseller_id=client.reseller_id, client_id=client.id,
                           user_id=client.owner.id, event_type="subscription_changed",
                           channel=TemplateType.CLIENT_PANEL, recipient=str(client.owner.id),
                           status=NotificationStatus.SENT, created_at=clock.now())
    db.session.add(message)
    db.session.flush()
    return message


# Pages anyone may open; every other client-panel page needs a signed-in user.
PUBLIC = {"client_panel.login", "client_panel.logout", "client_panel.forgot_password",
          "client_panel.reset_password", "client_panel.set_password", "client_panel.enter"}


def test_every_other_client_panel_page_needs_a_signed_in_user(app, db, acme, browser):
    stranger = make_client(acme)
    message = _bell_message(stranger)
    db.session.commit()
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("client_panel.") or rule.endpoint in PUBLIC:
            continue
        path = rule.rule.replace("<int:client_id>", str(stranger.id))
        path = path.replace("<int:notification_id>", str(message.id))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {}
            if method == "POST":
                data = {"csrf_token": re.search(
                    r'name="csrf_token" type="hidden" value="([^"]+)"',
                    browser.get("/client/login").get_data(as_text=True)).group(1)}
            response = browser.client.open(path, method=method, base_url=browser.base, data=data)
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].endswith("/client/login"), (method, path)
            checked += 1
    assert checked >= 6
