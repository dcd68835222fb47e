"""Password reset: the e-mail arrives at a real SMTP server, the link works once, and expires."""

from __future__ import annotations

import re

import pytest

from portal.core import jobs
from portal.tenancy.services.resellers import update_reseller
from tests.factories import PASSWORD, csrf_from, login, make_reseller, make_root, make_staff

NEW_PASSWORD = "Brand-new-pass-77"


@pytest.fixture
def setup(app, db, smtp_server):
    root = make_root()
    # The reseller has no SMTP server of its own: it inherits the root's (07 BR-26/27).
    update_reseller(root, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                    smtp_sender="noreply@root.example.com")
    acme = make_reseller(root, name="Acme", slug="acme")
    member = make_staff(acme, email="kate@acme.example.com")
    return acme, member


def _request_reset(app, acme, email):
    client = app.test_client()
    base = f"http://{acme.local_host}"
    page = client.get("/password/forgot", base_url=base)
    response = client.post("/password/forgot", base_url=base, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": email})
    assert response.status_code == 200
    return client


def _link_from(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    # The token is URL-safe base64; the mail's sentence may end right after it.
    return re.search(r"http://\S+/password/reset/[\w-]+", body).group(0)


def test_reset_mail_arrives_and_the_link_works_once(app, db, setup, smtp_server):
    acme, member = setup
    client = _request_reset(app, acme, member.email)
    jobs.drain()
    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    assert messages[0]["To"] == member.email
    assert messages[0]["From"] == "noreply@root.example.com"
    link = _link_from(messages[0])
    assert link.startswith(f"http://{acme.local_host}/password/reset/")
    path = link.split(acme.local_host, 1)[1]

    page = client.get(path, base_url=f"http://{acme.local_host}")
    assert page.status_code == 200
    response = client.post(path, base_url=f"http://{acme.local_host}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD})
    assert response.status_code == 302

    # Used once: the same link is dead now.
    assert client.get(path, base_url=f"http://{acme.local_host}").status_code == 404
    # The new password signs in, the old one does not.
    assert login(app.test_client(), acme, member, PASSWORD).status_code == 401
    assert login(app.test_client(), acme, member, NEW_PASSWORD).status_code == 302


def test_unknown_address_gets_the_same_answer_and_no_mail(app, db, setup, smtp_server):
    acme, _member = setup
    _request_reset(app, acme, "stranger@example.com")
    jobs.drain()
    assert smtp_server.wait_for(1, timeout=0.5) == []


def test_link_expires(app, db, setup, smtp_server, frozen_clock):
    acme, member = setup
    client = _request_reset(app, acme, member.email)
    jobs.drain()
    path = _link_from(smtp_server.wait_for(1)[0]).split(acme.local_host, 1)[1]
    frozen_clock.advance(minutes=61)
    assert client.get(path, base_url=f"http://{acme.local_host}").status_code == 404


def test_weak_new_password_is_refused_and_the_link_stays_valid(app, db, setup, smtp_server):
    acme, member = setup
    client = _request_reset(app, acme, member.email)
    jobs.drain()
    path = _link_from(smtp_server.wait_for(1)[0]).split(acme.local_host, 1)[1]
    base = f"http://{acme.local_host}"
    page = client.get(path, base_url=base)
    response = client.post(path, base_url=base, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "password": "short",
        "confirm": "short"})
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert client.get(path, base_url=base).status_code == 200
    assert login(app.test_client(), acme, member, PASSWORD).status_code == 302
