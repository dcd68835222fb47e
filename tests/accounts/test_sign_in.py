"""Signing in and out of a panel: one generic refusal, lockout, sessions ended server-side."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import SignInEvent, StaffStatus
from portal.accounts.services import set_staff_status
from portal.settings.services import update_security_settings
from tests.factories import PASSWORD, Panel, csrf_from, login, make_reseller, make_root, make_staff


@pytest.fixture
def acme(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Acme", slug="acme")
    return reseller


def _attempt(client, reseller, email, password):
    host = f"http://{reseller.local_host}"
    page = client.get("/login", base_url=host)
    return client.post("/login", base_url=host, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": email, "password": password})


def test_wrong_password_and_unknown_email_get_the_same_message(app, acme, db):
    member = make_staff(acme)
    client = app.test_client()
    wrong = _attempt(client, acme, member.email, "Nope-123456")
    unknown = _attempt(client, acme, "nobody@example.com", "Nope-123456")
    assert wrong.status_code == unknown.status_code == 401
    message = re.search(r'id="login-error">([^<]+)<', wrong.get_data(as_text=True)).group(1)
    assert message == re.search(r'id="login-error">([^<]+)<',
                                unknown.get_data(as_text=True)).group(1)
    assert client.get("/", base_url=f"http://{acme.local_host}").status_code == 302


def test_sign_in_is_recorded_with_time_and_ip(app, acme, db, frozen_clock):
    member = make_staff(acme)
    client = app.test_client()
    _attempt(client, acme, member.email, "Wrong-pass-1")
    response = login(client, acme, member)
    assert response.status_code == 302
    events = db.session.scalars(select(SignInEvent).where(
        SignInEvent.staff_member_id == member.id).order_by(SignInEvent.id)).all()
    assert [(e.success, e.ip) for e in events] == [(False, "127.0.0.1"), (True, "127.0.0.1")]
    assert events[-1].at == frozen_clock.now()
    assert member.sign_in_count == 1


def test_lockout_after_failed_attempts_then_unlocks(app, acme, db, frozen_clock):
    update_security_settings(acme, staff_max_login_attempts=3, staff_lockout_minutes=15)
    member = make_staff(acme)
    client = app.test_client()
    for _ in range(3):
        assert _attempt(client, acme, member.email, "Wrong-pass-1").status_code == 401
    # Locked: even the right password is refused, with the waiting time.
    locked = _attempt(client, acme, member.email, PASSWORD)
    assert locked.status_code == 401
    assert "15 мин" in locked.get_data(as_text=True)
    frozen_clock.advance(minutes=16)
    assert _attempt(client, acme, member.email, PASSWORD).status_code == 302


def test_member_of_another_reseller_cannot_sign_in_here(app, acme, db):
    root = make_root()
    outsider = make_staff(root)
    response = _attempt(app.test_client(), acme, outsider.email, PASSWORD)
    assert response.status_code == 401


def test_deactivated_member_is_refused_and_loses_open_sessions(app, acme, db):
    admin = make_staff(acme)
    member = make_staff(acme)
    panel = Panel(app, acme, member)
    assert panel.get("/").status_code == 200
    set_staff_status(member, StaffStatus.INACTIVE, actor=admin)
    db.session.flush()
    assert panel.get("/").status_code == 302
    assert _attempt(app.test_client(), acme, member.email, PASSWORD).status_code == 401


def test_sign_out_ends_the_session_server_side(app, acme, db):
    member = make_staff(acme)
    panel = Panel(app, acme, member)
    cookie = panel.client.get_cookie("session", domain=acme.local_host)
    assert cookie is not None
    panel.post("/logout")
    # Replaying the old cookie in another browser does not get back in.
    thief = app.test_client()
    thief.set_cookie("session", cookie.value, domain=acme.local_host)
    response = thief.get("/", base_url=f"http://{acme.local_host}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_cookie_is_http_only_and_same_site(app, acme, db):
    member = make_staff(acme)
    client = app.test_client()
    response = login(client, acme, member)
    header = " ".join(response.headers.getlist("Set-Cookie"))
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_idle_session_expires(app, acme, db, frozen_clock):
    member = make_staff(acme)
    panel = Panel(app, acme, member)
    frozen_clock.advance(hours=9)  # default idle limit: 480 minutes
    assert panel.get("/").status_code == 302


def test_language_switch_turns_the_panel_russian_and_english(app, acme, db):
    member = make_staff(acme)
    panel = Panel(app, acme, member)
    panel.post("/language/en", data={"next": "/"})
    assert "Sign out" in panel.get("/").get_data(as_text=True)
    panel.post("/language/ru", data={"next": "/"})
    html = panel.get("/").get_data(as_text=True)
    assert "Выход" in html and 'lang="ru"' in html
    assert member.language == "ru"


def test_expired_password_must_be_changed_before_anything_else(app, acme, db, frozen_clock):
    update_security_settings(acme, staff_password_expiry_enabled=True,
                             staff_password_valid_days=90, staff_password_reminder_days=7)
    member = make_staff(acme)
    frozen_clock.advance(days=91)
    panel = Panel(app, acme, member)
    response = panel.get("/staff")
    assert response.status_code == 302 and "/profile" in response.headers["Location"]
    assert panel.get("/profile").status_code == 200
    new = "Fresh-pass-2027"
    changed = panel.post("/profile/password", data={"password": new, "confirm": new,
                                                    "csrf_token": panel.csrf("/profile")})
    assert changed.status_code == 302
    assert panel.get("/staff").status_code == 200
