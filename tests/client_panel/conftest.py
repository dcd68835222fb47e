"""Clients built with the ORM (the lead's create_client is not ready yet) and a browser of the
client panel."""

from __future__ import annotations

import itertools

import pytest

from portal.clients.models import ClientStatus, ClientType, ServiceRule, UserStatus
from portal.clients.models import Client as ClientAccount
from portal.clients.services.users import attach_user, create_user
from portal.core.clock import clock
from portal.extensions import db
from tests.factories import PASSWORD, csrf_from, make_reseller, make_root

_seq = itertools.count(1)


def make_client(reseller, *, name=None, status=ClientStatus.ACTIVE, owner=None,
                owner_email=None, password=PASSWORD, first_name="Olga", last_name="Ivanova"):
    """A client of the reseller with its owner (a new user unless owner is given)."""
    n = next(_seq)
    client_type = ClientType(reseller_id=reseller.id, name=f"Type {n}", key=f"cp_type_{n}",
                             name_template="%primary_name")
    rule = ServiceRule(reseller_id=reseller.id, name=f"Rule {n}", key=f"cp_rule_{n}")
    db.session.add_all([client_type, rule])
    db.session.flush()
    client = ClientAccount(reseller_id=reseller.id, client_type_id=client_type.id,
                           service_rule_id=rule.id, name=name or f"Client {n}",
                           primary_name=name or f"Client {n}", status=ClientStatus.ACTIVE,
                           created_at=clock.now(), updated_at=clock.now())
    db.session.add(client)
    db.session.flush()
    if owner is None:
        owner = create_user(reseller, email=owner_email or f"owner{n}@client.example.com",
                            first_name=first_name, last_name=last_name, password=password)
    attach_user(client, owner, access_level="owner", allow_owner=True)
    # The status is set last: users of a deleted client cannot be changed.
    client.status = ClientStatus(status)
    db.session.flush()
    return client


def add_user(client, user, level="admin", status=UserStatus.ACTIVE):
    membership = attach_user(client, user, access_level=level)
    membership.status = status
    db.session.flush()
    return membership


class ClientBrowser:
    """A test client in the client panel of one host."""

    def __init__(self, app, host):
        self.client = app.test_client()
        self.base = f"http://{host}"

    def get(self, path, **kw):
        return self.client.get(path, base_url=self.base, **kw)

    def post(self, path, data=None, *, csrf_from_path="/client/password/forgot", **kw):
        data = dict(data or {})
        if "csrf_token" not in data:
            data["csrf_token"] = csrf_from(self.get(csrf_from_path).get_data(as_text=True))
        return self.client.post(path, base_url=self.base, data=data, **kw)

    def login(self, email, password=PASSWORD):
        page = self.get("/client/login")
        return self.client.post("/client/login", base_url=self.base, data={
            "csrf_token": csrf_from(page.get_data(as_text=True)), "email": email,
            "password": password})

    def english(self):
        with self.client.session_transaction(base_url=self.base) as session:
            session["lang"] = "en"
        return self

    def session_key(self):
        with self.client.session_transaction(base_url=self.base) as session:
            return session.get("client_session")


@pytest.fixture
def acme(app, db):
    root = make_root()
    return make_reseller(root, name="Acme", slug="acme")


@pytest.fixture
def browser(app, acme):
    return ClientBrowser(app, acme.local_host).english()
