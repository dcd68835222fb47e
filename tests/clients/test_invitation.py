"""The new owner's invitation: the "Клиент создан" e-mail (09 TRG-4) carries a set-password link
that works once (01 R-CL-7, 09 §2.9.2 account.owner_reset_password_url)."""

from __future__ import annotations

import re

import pytest

from portal.accounts.services.passwords import verify_password
from portal.clients.services import ClientsError
from portal.clients.services.user_tokens import complete_user_token, pending_invitation
from portal.core import jobs
from portal.tenancy.services.resellers import update_reseller
from tests.factories import make_client, make_reseller, make_root


@pytest.fixture
def reseller(app, db, smtp_server):
    root = make_root()
    update_reseller(root, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                    smtp_sender="noreply@root.example.com")
    return make_reseller(root, name="Acme", slug="acme", client_panel_title="Acme Cloud")


def test_the_owner_gets_a_link_to_set_the_password(app, db, reseller, smtp_server):
    links = {}

    def link_for(raw):
        links["raw"] = raw
        return f"http://acme.localhost/client/password/set/{raw}"

    client = make_client(reseller, owner_email="boss@example.com", primary_name="Рога и копыта",
                         invitation_link=link_for)
    owner = client.owner
    assert owner.password_hash == "" and pending_invitation(owner)
    db.session.commit()
    jobs.drain()
    # "Клиент создан" and, as on every creation, "Порог … изменен" (09 TRG-5).
    messages = smtp_server.wait_for(2)
    assert [m["To"] for m in messages] == ["boss@example.com"] * 2
    [message] = [m for m in messages if "/password/set/" in _text(m)]
    assert "Acme" in message["Subject"]  # the owning reseller's copy of the template
    body = _text(message)
    assert "Рога и копыта" in body
    assert re.search(r"/client/password/set/[\w-]+", body).group(0).endswith(links["raw"])

    complete_user_token(reseller, raw_token=links["raw"], password="Owner-pass-2026")
    assert verify_password(owner.password_hash, "Owner-pass-2026")
    assert not pending_invitation(owner)
    with pytest.raises(ClientsError) as refusal:  # single use
        complete_user_token(reseller, raw_token=links["raw"], password="Another-pass-2026")
    assert refusal.value.status == 404


def test_an_existing_owner_gets_no_invitation(app, db, reseller, smtp_server):
    first = make_client(reseller, owner_email="boss@example.com", primary_name="Первый")
    make_client(reseller, owner_user_id=first.owner.id, primary_name="Второй",
                invitation_link=lambda raw: f"http://acme.localhost/client/password/set/{raw}")
    db.session.commit()
    jobs.drain()
    # Both clients' mails arrive ("Клиент создан", "Порог … изменен"); none has a link.
    messages = smtp_server.wait_for(4)
    assert [m["To"] for m in messages] == ["boss@example.com"] * 4
    assert sum("Второй" in _text(m) for m in messages) == 2
    assert not any("/password/set/" in _text(m) for m in messages)


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
