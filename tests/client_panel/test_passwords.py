"""The new owner's invitation link and password recovery by e-mail in the client panel."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.clients.models import ClientStatus, UserSignIn
from portal.clients.services.user_tokens import issue_invitation
from portal.clients.services.users import create_user
from portal.core import jobs
from portal.tenancy.services.resellers import update_reseller
from tests.client_panel.conftest import ClientBrowser, make_client
from tests.factories import PASSWORD, csrf_from, make_reseller, make_root

NEW_PASSWORD = "Brand-new-pass-77"


def _invite(acme, **kw):
    """A client whose new owner has no password yet, and the raw invitation token."""
    owner = create_user(acme, email="new.owner@example.com", first_name="Nina",
                        last_name="Owner")
    client = make_client(acme, name="Invited LLC", owner=owner, **kw)
    raws = []
    issue_invitation(owner, link_for=lambda raw: raws.append(raw) or raw)
    return client, raws[0]


def _set(browser, path, password=NEW_PASSWORD, confirm=None):
    page = browser.get(path)
    return browser.client.post(path, base_url=browser.base, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "password": password,
        "confirm": confirm or password})


def test_invitation_link_sets_the_password_once_and_signs_in(app, db, acme, browser):
    client, raw = _invite(acme)
    db.session.commit()
    owner = client.owner
    # No password yet: nothing signs in.
    assert browser.login(owner.email, "Any-pass-123").status_code == 401
    path = f"/client/password/set/{raw}"
    page = browser.get(path)
    assert page.status_code == 200 and 'id="password-hint"' in page.get_data(as_text=True)
    assert _set(browser, path, "short").status_code == 422
    assert _set(browser, path, NEW_PASSWORD, "Other-pass-123").status_code == 422
    response = _set(browser, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/")
    assert 'id="client-name">Invited LLC<' in browser.get("/client/").get_data(as_text=True)
    assert owner.sign_in_count == 1
    assert db.session.scalar(select(UserSignIn.reason).where(
        UserSignIn.user_id == owner.id, UserSignIn.success.is_(True))) == "invitation"
    # Used once.
    assert ClientBrowser(app, acme.local_host).get(path).status_code == 404
    assert ClientBrowser(app, acme.local_host).login(owner.email, NEW_PASSWORD).status_code == 302


def test_invitation_of_an_admin_blocked_client_sets_the_password_but_stays_out(app, db, acme,
                                                                              browser):
    client, raw = _invite(acme, status=ClientStatus.ADMIN_BLOCKED)
    db.session.commit()
    response = _set(browser, f"/client/password/set/{raw}")
    assert response.headers["Location"].endswith("/client/login")
    assert browser.session_key() is None
    assert "The client is blocked." in browser.get("/client/login").get_data(as_text=True)


def test_a_reset_token_does_not_open_the_invitation_form(app, db, acme, browser):
    _client, raw = _invite(acme)
    db.session.commit()
    assert browser.get(f"/client/password/reset/{raw}").status_code == 404
    assert browser.get("/client/password/set/not-a-token").status_code == 404


def test_invitation_link_of_another_reseller_is_dead_here(app, db, acme):
    _client, raw = _invite(acme)
    beta = make_reseller(name="Beta", slug="beta")
    db.session.commit()
    assert ClientBrowser(app, beta.local_host).get(
        f"/client/password/set/{raw}").status_code == 404


@pytest.fixture
def mailing_acme(app, db, smtp_server):
    root = make_root()
    # Acme has no SMTP server of its own: it inherits the root's (07 BR-26/27).
    update_reseller(root, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                    smtp_sender="noreply@root.example.com")
    return make_reseller(root, name="Acme", slug="acme")


def _link_from(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    # The token is URL-safe base64; the mail's sentence may end right after it.
    return re.search(r"http://\S+/client/password/reset/[\w-]+", body).group(0)


def test_reset_by_email_works_once(app, db, mailing_acme, smtp_server):
    acme = mailing_acme
    client = make_client(acme, owner_email="olga@example.com")
    db.session.commit()
    browser = ClientBrowser(app, acme.local_host).english()
    page = browser.get("/client/password/forgot")
    sent = browser.client.post("/client/password/forgot", base_url=browser.base, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "olga@example.com"})
    assert sent.status_code == 200 and 'id="forgot-sent"' in sent.get_data(as_text=True)
    jobs.drain()
    messages = smtp_server.wait_for(1)
    assert [m["To"] for m in messages] == ["olga@example.com"]
    link = _link_from(messages[0])
    assert link.startswith(f"http://{acme.local_host}/client/password/reset/")
    path = link.split(acme.local_host, 1)[1]

    response = _set(browser, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/login")
    assert browser.get(path).status_code == 404
    assert browser.login(client.owner.email, PASSWORD).status_code == 401
    assert browser.login(client.owner.email, NEW_PASSWORD).status_code == 302


def test_reset_for_an_unknown_address_sends_nothing(app, db, mailing_acme, smtp_server):
    browser = ClientBrowser(app, mailing_acme.local_host)
    page = browser.get("/client/password/forgot")
    sent = browser.client.post("/client/password/forgot", base_url=browser.base, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "nobody@example.com"})
    assert sent.status_code == 200
    jobs.drain()
    assert smtp_server.wait_for(1, timeout=0.5) == []
