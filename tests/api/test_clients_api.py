"""/api/v1 clients (create, list with filters, get with money, update, block/unblock, delete),
the users of a client, and the users of the client panel; plus the reach of every route."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.clients import hooks
from portal.clients.models import (AccessLevel, Client, ClientStatus, ClientUser, User,
                                   UserToken)
from portal.clients.services.parameters import create_parameter
from tests.api.conftest import assert_error
from tests.factories import (VALID_INN_10, VALID_INN_12, make_client, make_client_type,
                             make_service_rule, make_staff, make_token, make_user)

STRONG = "Strong-pass-2026"


def count(db, model, **where) -> int:
    query = select(func.count(model.id))
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


@pytest.fixture
def setup(tree, db):
    """At alpha: a company type (INN required, 10 digits) and a person type (INN optional),
    a prepay rule (threshold 100, may pay with a negative balance) and a postpay rule, a
    sales manager, a product manager's token and an existing user."""
    alpha = tree.alpha
    company = make_client_type(alpha, key="company", name="Company",
                               name_template="%primary_name", primary_name_label="Company",
                               legal_form="organization")
    person = make_client_type(alpha, key="person", name="Person",
                              name_template="%last_name %first_name %middle_name",
                              primary_name_label="", legal_form="individual")
    create_parameter(alpha, name="INN", key="inn", data_type="inn", applies_to="client",
                     client_type_id=company.id)
    create_parameter(alpha, name="INN", key="inn", data_type="inn", applies_to="client",
                     client_type_id=person.id, optional=True)
    create_parameter(alpha, name="Secret", key="secret", data_type="password",
                     applies_to="client", client_type_id=person.id, optional=True)
    prepay = make_service_rule(alpha, key="prepay", block_threshold="100.00",
                               allow_negative_balance_payment=True, credit_limit="0")
    postpay = make_service_rule(alpha, key="postpay", payment_model="postpay",
                                credit_limit="1000.00")
    manager = make_staff(alpha, role=Role.SALES_MANAGER, name="Manager")
    product_manager = make_staff(alpha, role=Role.PRODUCT_MANAGER)
    existing = make_user(alpha, email="taken@example.com", first_name="Taken",
                         last_name="User")
    ns = SimpleNamespace(alpha=alpha, company=company, person=person, prepay=prepay,
                         postpay=postpay, manager=manager, existing=existing,
                         pm_token=make_token(product_manager))
    db.session.commit()
    return ns


def company_body(setup, **change) -> dict:
    return {"client_type": "company", "service_rule_id": setup.prepay.id,
            "name": "Acme Ltd", "email": "Owner@Acme.example",
            "parameters": {"inn": VALID_INN_10}, **change}


def make_alpha_client(setup, **kw) -> Client:
    kw.setdefault("client_type", setup.company)
    kw.setdefault("service_rule", setup.prepay)
    if kw["client_type"] is setup.company:
        kw.setdefault("parameters", {"inn": VALID_INN_10})
    return make_client(setup.alpha, **kw)


# -- create --------------------------------------------------------------------------------

def test_create_legal_entity_and_read_it_back(api, tree, setup, db):
    client = api.as_(tree.alpha_token)
    response = client.post("/clients", json=company_body(
        setup, credit_limit="500.00", manager_id=setup.manager.id,
        contacts={"country": "ru", "city": "Kazan", "phone": "+7 900 000-00-00"},
        signatory={"first_name": "Olga", "last_name": "Signer", "email": "olga@acme.example"}))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["name"], body["primary_name"], body["client_type"], body["client_type_id"],
            body["service_rule_id"]) == ("Acme Ltd", "Acme Ltd", "company", setup.company.id,
                                         setup.prepay.id)
    assert (body["status"], body["postpay_permission"], body["is_trial"],
            body["self_registered"]) == ("active", "not_checked", False, False)
    assert body["manager_id"] == setup.manager.id
    assert body["contacts"]["country"] == "RU" and body["contacts"]["city"] == "Kazan"
    assert body["signatory"] == {"first_name": "Olga", "last_name": "Signer",
                                 "middle_name": "", "email": "olga@acme.example"}
    assert body["parameters"] == {"inn": VALID_INN_10}
    # The new owner: e-mail lower-cased, names from the signatory when none are given.
    owner = body["owner"]
    assert owner["email"] == "owner@acme.example" and owner["name"] == "Olga Signer"
    assert body["technical_contact_id"] == body["financial_contact_id"] == owner["user_id"]
    assert (body["currency"], body["balance"], body["blocked_amount"], body["available"],
            body["credit_limit"], body["block_threshold"], body["current_debt"]) == (
        "RUB", "0.00", "0.00", "100.00", "500.00", "100.00", "0.00")
    assert body["credit_limit_from_rule"] is False and body["block_threshold_from_rule"] is True
    assert client.get(f"/clients/{body['id']}").get_json() == body
    membership = db.session.scalar(select(ClientUser).where(ClientUser.client_id == body["id"]))
    assert membership.access_level == AccessLevel.OWNER
    # 01 R-CL-7: the new owner is invited to set a password.
    assert count(db, UserToken, user_id=owner["user_id"], purpose="invitation") == 1


def test_create_person_client_with_rule_key(api, tree, setup):
    response = api.as_(tree.alpha_token).post("/clients", json={
        "client_type": "person", "service_rule": "postpay", "first_name": "Anna",
        "last_name": "Ivanova", "middle_name": "Petrovna", "email": "anna@example.com",
        "parameters": {"inn": VALID_INN_12, "secret": "hidden-value"}})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == "Ivanova Anna Petrovna"
    assert body["service_rule_id"] == setup.postpay.id and body["payment_model"] == "postpay"
    assert body["owner"]["name"] == "Anna Petrovna Ivanova"  # the client's own name
    assert body["parameters"] == {"inn": VALID_INN_12, "secret": ""}  # never the password
    assert body["credit_limit"] == "1000.00"


def test_create_with_explicit_owner_names_and_with_an_existing_owner(api, tree, setup):
    client = api.as_(tree.alpha_token)
    named = client.post("/clients", json=company_body(
        setup, owner={"first_name": "Boris", "last_name": "Boss"})).get_json()
    assert named["owner"]["name"] == "Boris Boss"
    split = client.post("/clients", json=company_body(
        setup, name="Beta Gamma Delta", email="split@example.com")).get_json()
    assert split["owner"]["name"] == "Beta Gamma Delta"  # the name split in two

    response = client.post("/clients", json=company_body(
        setup, email=None, owner_user_id=setup.existing.id))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["owner"]["user_id"] == setup.existing.id


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"email": "taken@example.com"}, 409, "email"),
    ({"email": "not-an-email"}, 422, "email"),
    ({"email": None}, 422, "email"),
    ({"parameters": {}}, 422, "parameters.inn"),
    ({"parameters": {"inn": VALID_INN_12}}, 422, "parameters.inn"),
    ({"parameters": {"inn": "7707083894"}}, 422, "parameters.inn"),
    ({"parameters": {"inn": "77070838ab"}}, 422, "parameters.inn"),
    ({"parameters": {"inn": 7.5}}, 422, "parameters.inn"),
    ({"parameters": {"nope": "1"}}, 422, "parameters.nope"),
    ({"parameters": "inn"}, 422, "parameters"),
    ({"credit_limit": "-1.00"}, 422, "credit_limit"),
    ({"credit_limit": 10.5}, 422, "credit_limit"),
    ({"credit_limit": "10.001"}, 422, "credit_limit"),
    ({"credit_limit": "lots"}, 422, "credit_limit"),
    ({"block_threshold": 1.5}, 422, "block_threshold"),
    ({"block_threshold": "-5"}, 422, "block_threshold"),
    ({"client_type": "martians"}, 422, "client_type"),
    ({"client_type": None}, 422, "client_type"),
    ({"client_type": 5}, 422, "client_type"),
    ({"service_rule_id": None}, 422, "service_rule_id"),
    ({"service_rule_id": "1"}, 422, "service_rule_id"),
    ({"service_rule_id": 2**40}, 422, "service_rule_id"),
    ({"service_rule_id": None, "service_rule": "nope"}, 422, "service_rule"),
    ({"name": None}, 422, "name"),
    ({"name": "x" * 300}, 422, "name"),
    ({"name": "Nul\x00name"}, 422, "name"),
    ({"manager_id": 2**30}, 422, "manager_id"),
    ({"manager_id": "7"}, 422, "manager_id"),
    ({"owner_user_id": 2**30, "email": None}, 422, "owner_user_id"),
    ({"owner_user_id": 1}, 422, "email"),
    ({"owner": {"first_name": "x" * 200}}, 422, "owner.first_name"),
    ({"owner": "Boss"}, 422, "owner"),
    ({"contacts": {"phone": "call me"}}, 422, "contacts.phone"),
    ({"contacts": {"region": "Республика Крым"}}, 422, "contacts.region"),
    ({"contacts": {"zip": "420000"}}, 422, "contacts.zip"),
    ({"country": "XX"}, 422, "country"),
    ({"signatory": {"email": "bad"}}, 422, "signatory.email"),
    ({"terms_accepted": "yes"}, 422, "terms_accepted"),
])
def test_bad_client_is_refused_and_creates_nothing(api, tree, setup, db, change, status, field):
    before = count(db, Client), count(db, User)
    response = api.as_(tree.alpha_token).post("/clients", json=company_body(setup, **change))
    assert_error(response, status, fields=[field])
    assert (count(db, Client), count(db, User)) == before


def test_person_type_needs_name_parts(api, tree, setup):
    client = api.as_(tree.alpha_token)
    response = client.post("/clients", json={
        "client_type": "person", "service_rule_id": setup.prepay.id,
        "name": "Ivanova Anna", "email": "anna@example.com"})
    assert_error(response, 422, fields=["first_name"])
    response = client.post("/clients", json={
        "client_type": "person", "service_rule_id": setup.prepay.id, "first_name": "Anna",
        "email": "anna@example.com"})
    assert_error(response, 422, fields=["last_name"])
    response = client.post("/clients", json={
        "client_type": "person", "service_rule_id": setup.prepay.id, "first_name": "Anna",
        "last_name": "Ivanova", "email": "anna@example.com",
        "parameters": {"inn": VALID_INN_10}})  # a person's INN has 12 digits
    assert_error(response, 422, fields=["parameters.inn"])


def test_other_resellers_type_and_rule_are_refused(api, tree, setup, db):
    beta_type = make_client_type(tree.beta, key="beta_type")
    beta_rule = make_service_rule(tree.beta, key="beta_rule")
    db.session.commit()
    client = api.as_(tree.alpha_token)
    assert_error(client.post("/clients", json=company_body(
        setup, client_type=None, client_type_id=beta_type.id)), 422, fields=["client_type_id"])
    assert_error(client.post("/clients", json=company_body(
        setup, service_rule_id=beta_rule.id)), 422, fields=["service_rule_id"])
    assert_error(client.post("/clients", json=company_body(
        setup, client_type="beta_type")), 422, fields=["client_type"])


def test_body_must_be_a_json_object(api, tree, setup):
    client = api.as_(tree.alpha_token)
    assert_error(client.post("/clients", json=[1, 2]), 422)
    assert_error(client.post("/clients", data="{nope", headers={
        "Content-Type": "application/json"}), 422)


# -- list and filters ----------------------------------------------------------------------

@pytest.fixture
def listed(setup, db):
    acme = make_alpha_client(setup, primary_name="ООО Ромашка", manager_id=setup.manager.id,
                             owner_email="romashka@example.com")
    anna = make_alpha_client(setup, client_type=setup.person, service_rule=setup.postpay,
                             first_name="Anna", last_name="Zorina",
                             owner_email="anna@example.com")
    blocked = make_alpha_client(setup, primary_name="Blocked Co")
    blocked.status = ClientStatus.ADMIN_BLOCKED
    gone = make_alpha_client(setup, primary_name="Gone Co")
    gone.status = ClientStatus.DELETED
    make_client(setup.alpha.parent, primary_name="Root's own")  # another reseller
    db.session.commit()
    return SimpleNamespace(acme=acme, anna=anna, blocked=blocked, gone=gone)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_list_and_filters(api, tree, setup, listed):
    client = api.as_(tree.alpha_token)
    c = listed
    body = client.get("/clients").get_json()
    assert body["total"] == 3 and (body["page"], body["per_page"]) == (1, 50)
    assert [i["id"] for i in body["items"]] == [c.acme.id, c.anna.id, c.blocked.id]
    assert body["items"][0]["balance"] == "0.00"  # serialized like the detail
    assert ids(client.get("/clients?status=deleted")) == [c.gone.id]
    assert ids(client.get("/clients?status=active,admin_blocked")) == [
        c.acme.id, c.anna.id, c.blocked.id]
    assert ids(client.get("/clients?status=admin_blocked,deleted")) == [c.blocked.id, c.gone.id]
    assert ids(client.get("/clients?client_type=person")) == [c.anna.id]
    assert ids(client.get(f"/clients?client_type_id={setup.person.id}")) == [c.anna.id]
    assert ids(client.get("/clients?client_type=nobody")) == []
    assert ids(client.get(f"/clients?service_rule_id={setup.postpay.id}")) == [c.anna.id]
    assert ids(client.get(f"/clients?manager_id={setup.manager.id}")) == [c.acme.id]
    assert ids(client.get("/clients?q=РОМАШ")) == [c.acme.id]  # case-insensitive, Cyrillic
    assert ids(client.get("/clients?q=co")) == [c.blocked.id]
    assert ids(client.get("/clients?q=%25")) == []
    assert ids(client.get("/clients?email=Anna@Example.com")) == [c.anna.id]
    names = [i["name"] for i in client.get("/clients?sort=name").get_json()["items"]]
    assert names == sorted(names)
    names = [i["name"] for i in client.get("/clients?sort=-name").get_json()["items"]]
    assert names == sorted(names, reverse=True)
    assert ids(client.get("/clients?sort=-id")) == [c.blocked.id, c.anna.id, c.acme.id]
    paged = client.get("/clients?per_page=2&page=2").get_json()
    assert paged["total"] == 3 and [i["id"] for i in paged["items"]] == [c.blocked.id]


@pytest.mark.parametrize("query", ["status=frozen", "manager_id=abc", "service_rule_id=-1",
                                   "sort=balance", "page=x", "q=a%00b"])
def test_bad_list_query_is_422(api, tree, setup, query):
    assert_error(api.as_(tree.alpha_token).get(f"/clients?{query}"), 422)


# -- get with money ------------------------------------------------------------------------

def test_money_fields(api, tree, setup, db, monkeypatch):
    client = make_alpha_client(setup)
    client.balance = Decimal("150.50")
    db.session.commit()
    monkeypatch.setattr(hooks, "BLOCKED_AMOUNT_SOURCES", [lambda c: Decimal("30")])
    monkeypatch.setattr(hooks, "CURRENT_DEBT_SOURCES", [lambda c: Decimal("12.345")])
    body = api.as_(tree.alpha_token).get(f"/clients/{client.id}").get_json()
    # D10: available = balance − blocked + T (the rule allows paying with a negative balance)
    assert (body["balance"], body["blocked_amount"], body["available"], body["block_threshold"],
            body["credit_limit"], body["current_debt"], body["currency"]) == (
        "150.50", "30.00", "220.50", "100.00", "0.00", "12.35", "RUB")
    for name in ("balance", "blocked_amount", "available", "credit_limit", "current_debt"):
        assert isinstance(body[name], str)


def test_threshold_ignored_when_rule_refuses_negative_payments(api, tree, setup, db):
    client = make_alpha_client(setup, service_rule=setup.postpay, block_threshold="40")
    db.session.commit()
    body = api.as_(tree.alpha_token).get(f"/clients/{client.id}").get_json()
    assert (body["block_threshold"], body["available"]) == ("40.00", "0.00")


# -- update --------------------------------------------------------------------------------

def test_update_client(api, tree, setup, db):
    target = make_alpha_client(setup, primary_name="Old Name")
    db.session.commit()
    client = api.as_(tree.alpha_token)
    path = f"/clients/{target.id}"
    response = client.patch(path, json={
        "name": "New Name", "contacts": {"city": "Tver"}, "signatory_first_name": "Ivan",
        "credit_limit": "250", "block_threshold": "0", "manager_id": setup.manager.id,
        "service_rule": "postpay", "parameters": {"inn": "7736207543"}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["contacts"]["city"], body["signatory"]["first_name"],
            body["credit_limit"], body["block_threshold"], body["manager_id"],
            body["service_rule_id"], body["parameters"]["inn"]) == (
        "New Name", "Tver", "Ivan", "250.00", "0.00", setup.manager.id, setup.postpay.id,
        "7736207543")
    # null: back to the rule's value
    body = client.patch(path, json={"credit_limit": None, "block_threshold": None,
                                    "manager_id": None}).get_json()
    assert (body["credit_limit"], body["credit_limit_from_rule"], body["block_threshold"],
            body["manager_id"]) == ("1000.00", True, "0.00", None)
    # *_from_rule: true keeps the rule's value whatever the amount says
    body = client.patch(path, json={"credit_limit": "5", "credit_limit_from_rule": True}
                        ).get_json()
    assert (body["credit_limit"], body["credit_limit_from_rule"]) == ("1000.00", True)
    assert_error(client.patch(path, json={"credit_limit_from_rule": "yes"}), 422,
                 fields=["credit_limit_from_rule"])
    # a round trip of what GET answers changes nothing
    again = client.patch(path, json=body)
    assert again.status_code == 200, again.get_json()
    assert {k: v for k, v in again.get_json().items() if k != "updated_at"} == {
        k: v for k, v in body.items() if k != "updated_at"}


def test_update_to_person_type_and_contacts(api, tree, setup, db):
    target = make_alpha_client(setup)
    db.session.commit()
    client = api.as_(tree.alpha_token)
    path = f"/clients/{target.id}"
    assert_error(client.patch(path, json={"client_type": "person"}), 422,
                 fields=["first_name"])
    response = client.patch(path, json={"client_type": "person", "first_name": "Ivan",
                                        "last_name": "Petrov"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "Petrov Ivan"
    assert_error(client.patch(path, json={"name": "Someone Else"}), 422, fields=["first_name"])
    owner_id = response.get_json()["owner"]["user_id"]
    assert_error(client.patch(path, json={"technical_contact_id": setup.existing.id}), 422,
                 fields=["technical_contact_id"])
    body = client.patch(path, json={"financial_contact_id": owner_id}).get_json()
    assert body["financial_contact_id"] == owner_id


@pytest.mark.parametrize(("change", "field"), [
    ({"credit_limit": 1.25}, "credit_limit"),
    ({"credit_limit": "-3"}, "credit_limit"),
    ({"status": "admin_blocked"}, "status"),
    ({"name": ""}, "name"),
    ({"parameters": {"inn": "123"}}, "parameters.inn"),
    ({"client_type": "nobody"}, "client_type"),
    ({"service_rule_id": 2**30}, "service_rule_id"),
    ({"contacts": {"city": "Севастополь"}}, "contacts.city"),
    ({"manager_id": True}, "manager_id"),
])
def test_bad_update_is_422_and_changes_nothing(api, tree, setup, db, change, field):
    target = make_alpha_client(setup, primary_name="Stays")
    db.session.commit()
    response = api.as_(tree.alpha_token).patch(f"/clients/{target.id}", json=change)
    assert_error(response, 422, fields=[field])
    body = api.as_(tree.alpha_token).get(f"/clients/{target.id}").get_json()
    assert (body["name"], body["credit_limit"], body["status"]) == ("Stays", "0.00", "active")


# -- block, unblock, delete ----------------------------------------------------------------

def test_block_and_unblock(api, tree, setup, db):
    target = make_alpha_client(setup)
    db.session.commit()
    client = api.as_(tree.alpha_token)
    response = client.post(f"/clients/{target.id}/block")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "admin_blocked"
    assert_error(client.post(f"/clients/{target.id}/block"), 409, code="conflict")
    assert ids(client.get("/clients?status=admin_blocked")) == [target.id]
    response = client.post(f"/clients/{target.id}/unblock")
    assert response.status_code == 200 and response.get_json()["status"] == "active"
    assert_error(client.post(f"/clients/{target.id}/unblock"), 409, code="conflict")


def test_delete_client(api, tree, setup, db, monkeypatch):
    target = make_alpha_client(setup)
    db.session.commit()
    client = api.as_(tree.alpha_token)
    path = f"/clients/{target.id}"
    monkeypatch.setattr(hooks, "LIVE_SUBSCRIPTION_COUNTERS", [lambda c: 2])
    error = assert_error(client.request("DELETE", path), 409, code="conflict")
    assert "2" in error["message"]
    assert client.get(path).get_json()["status"] == "active"
    monkeypatch.setattr(hooks, "LIVE_SUBSCRIPTION_COUNTERS", [])
    response = client.request("DELETE", path)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "deleted"
    assert client.get(path).get_json()["deleted_at"] is not None
    assert ids(client.get("/clients")) == []
    assert ids(client.get("/clients?status=deleted")) == [target.id]
    assert_error(client.request("DELETE", path), 409)
    assert_error(client.patch(path, json={"name": "Back"}), 409)
    assert_error(client.post(f"{path}/block"), 409)
    assert_error(client.post(f"{path}/unblock"), 409)


# -- a client's users ----------------------------------------------------------------------

def test_client_users(api, tree, setup, db):
    target = make_alpha_client(setup, owner_email="first@example.com")
    other = make_user(setup.alpha, email="other@example.com")
    db.session.commit()
    client = api.as_(tree.alpha_token)
    path = f"/clients/{target.id}/users"
    (owner,) = client.get(path).get_json()["items"]
    assert (owner["email"], owner["access_level"], owner["status"], owner["global_status"]) == (
        "first@example.com", "owner", "active", "active")

    # create a new user as an admin, attach an existing one as a user
    response = client.post(path, json={"email": "admin@example.com", "first_name": "Ada",
                                       "last_name": "Admin", "access_level": "admin",
                                       "password": STRONG})
    assert response.status_code == 201, response.get_json()
    admin = response.get_json()
    assert (admin["access_level"], admin["name"]) == ("admin", "Ada Admin")
    response = client.post(path, json={"user_id": other.id, "access_level": "user"})
    assert response.status_code == 201, response.get_json()
    assert_error(client.post(path, json={"user_id": other.id, "access_level": "user"}), 409)
    assert_error(client.post(path, json={"user_id": setup.existing.id,
                                         "access_level": "owner"}), 422,
                 fields=["access_level"])
    assert_error(client.post(path, json={"user_id": setup.existing.id,
                                         "access_level": "boss"}), 422,
                 fields=["access_level"])
    assert_error(client.post(path, json={"user_id": setup.existing.id}), 422,
                 fields=["access_level"])
    assert_error(client.post(path, json={"email": "admin@example.com", "first_name": "A",
                                         "last_name": "B", "access_level": "user"}), 409,
                 fields=["email"])
    assert_error(client.post(path, json={"email": "weak@example.com", "first_name": "A",
                                         "last_name": "B", "access_level": "user",
                                         "password": "short"}), 422, fields=["password"])
    levels = {m["email"]: m["access_level"] for m in client.get(path).get_json()["items"]}
    assert levels == {"first@example.com": "owner", "admin@example.com": "admin",
                      "other@example.com": "user"}

    # naming a new owner demotes the former one to admin (01 R-USR-8)
    owner_path = f"{path}/{owner['user_id']}"
    assert_error(client.patch(owner_path, json={"access_level": "user"}), 409,
                 fields=["access_level"])
    response = client.patch(f"{path}/{other.id}", json={"access_level": "owner"})
    assert response.status_code == 200, response.get_json()
    levels = {m["email"]: m["access_level"] for m in client.get(path).get_json()["items"]}
    assert levels["first@example.com"] == "admin" and levels["other@example.com"] == "owner"
    assert client.get(f"/clients/{target.id}").get_json()["owner"]["user_id"] == other.id

    # creating a user as the owner demotes again
    response = client.post(path, json={"email": "boss@example.com", "first_name": "Big",
                                       "last_name": "Boss", "access_level": "owner"})
    assert response.status_code == 201, response.get_json()
    levels = {m["email"]: m["access_level"] for m in client.get(path).get_json()["items"]}
    assert levels["other@example.com"] == "admin" and levels["boss@example.com"] == "owner"

    # status in the client; detaching; the owner stays
    boss_id = response.get_json()["user_id"]
    response = client.patch(f"{path}/{admin['user_id']}", json={"status": "inactive"})
    assert response.status_code == 200 and response.get_json()["status"] == "inactive"
    assert_error(client.patch(f"{path}/{boss_id}", json={"status": "inactive"}), 409)
    assert_error(client.patch(f"{path}/{boss_id}", json={"status": "asleep"}), 422,
                 fields=["status"])
    assert_error(client.request("DELETE", f"{path}/{boss_id}"), 409)
    response = client.request("DELETE", f"{path}/{admin['user_id']}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"client_id": target.id, "user_id": admin["user_id"],
                                   "detached": True}
    assert_error(client.request("DELETE", f"{path}/{admin['user_id']}"), 404)
    assert_error(client.patch(f"{path}/{setup.existing.id}", json={"status": "active"}), 404)
    assert admin["user_id"] not in [m["user_id"] for m in client.get(path).get_json()["items"]]
    assert client.get(f"/users/{admin['user_id']}").status_code == 200  # the user stays


def test_attach_another_resellers_user_is_refused(api, tree, setup, db):
    target = make_alpha_client(setup)
    foreign = make_user(tree.beta, email="foreign@example.com")
    db.session.commit()
    response = api.as_(tree.alpha_token).post(f"/clients/{target.id}/users", json={
        "user_id": foreign.id, "access_level": "user"})
    assert_error(response, 422, fields=["user_id"])


# -- users of the client panel -------------------------------------------------------------

def test_users(api, tree, setup, db):
    target = make_alpha_client(setup, owner_email="owner@example.com")
    db.session.commit()
    client = api.as_(tree.alpha_token)
    response = client.post("/users", json={"email": "New@Example.com", "first_name": "Nina",
                                           "last_name": "New", "password": STRONG})
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert (user["email"], user["name"], user["status"], user["clients"],
            user["has_password"]) == ("new@example.com", "Nina New", "active", [], True)
    assert "password" not in user and "password_hash" not in user
    assert_error(client.post("/users", json={"email": "new@example.com", "first_name": "N",
                                             "last_name": "N", "password": STRONG}), 409,
                 fields=["email"])
    assert_error(client.post("/users", json={"email": "x@example.com", "first_name": "N",
                                             "last_name": "N"}), 422, fields=["password"])
    assert_error(client.post("/users", json={"email": "x@example.com", "first_name": "N",
                                             "last_name": "N", "password": "abc"}), 422,
                 fields=["password"])
    assert_error(client.post("/users", json={"email": "x@example.com", "last_name": "N",
                                             "password": STRONG}), 422, fields=["first_name"])

    assert ids(client.get("/users?email=NEW@example.com")) == [user["id"]]
    assert ids(client.get("/users?q=nin")) == [user["id"]]
    owner = client.get("/users?email=owner@example.com").get_json()["items"][0]
    assert owner["clients"] == [{"client_id": target.id, "name": target.name,
                                 "client_status": "active", "access_level": "owner",
                                 "status": "active"}]
    assert client.get("/users").get_json()["total"] == 3  # with the fixture's user

    path = f"/users/{user['id']}"
    response = client.patch(path, json={"first_name": "Nora", "middle_name": "M"})
    assert response.status_code == 200 and response.get_json()["name"] == "Nora M New"
    assert_error(client.patch(path, json={"email": "other@example.com"}), 422, fields=["email"])
    assert_error(client.patch(path, json={"last_name": ""}), 422, fields=["last_name"])
    assert_error(client.patch(path, json={"status": "sleeping"}), 422, fields=["status"])
    assert_error(client.patch(path, json={"password": "weak"}), 422, fields=["password"])
    response = client.patch(path, json={"status": "inactive"})
    assert response.get_json()["status"] == "inactive"
    assert ids(client.get("/users?status=inactive")) == [user["id"]]
    before = db.session.get(User, user["id"]).password_hash
    response = client.patch(path, json={"status": "active", "password": "Other-pass-2027"})
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert db.session.get(User, user["id"]).password_hash != before
    assert client.get(path).get_json()["status"] == "active"


# -- roles and reach -----------------------------------------------------------------------

def test_product_manager_has_no_clients(api, tree, setup, db):
    target = make_alpha_client(setup)
    db.session.commit()
    client = api.as_(setup.pm_token)
    for path in ("/clients", f"/clients/{target.id}", f"/clients/{target.id}/users", "/users"):
        assert_error(client.get(path), 403, code="forbidden")
    assert_error(client.post("/clients", json=company_body(setup)), 403, code="forbidden")
    assert_error(client.post(f"/clients/{target.id}/block"), 403, code="forbidden")
    assert_error(client.post("/users", json={"email": "a@example.com"}), 403, code="forbidden")
    assert count(db, Client, reseller_id=setup.alpha.id) == 1


def test_sales_manager_manages_clients(api, tree, db):
    root_type = make_client_type(tree.root, key="root_company")
    root_rule = make_service_rule(tree.root, key="root_rule")
    db.session.commit()
    response = api.as_(tree.sales_token).post("/clients", json={
        "client_type": "root_company", "service_rule_id": root_rule.id, "name": "Sold",
        "email": "sold@example.com"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["client_type_id"] == root_type.id


def test_no_token_is_401(api, tree, setup):
    assert_error(api.get("/clients"), 401)
    assert_error(api.post("/users", json={}), 401)


def test_every_route_hides_other_resellers_clients_and_users(app, api, tree, setup, db):
    beta_client = make_client(tree.beta, primary_name="Beta Co",
                              owner_email="beta-owner@example.com")
    db.session.commit()
    foreign = {"client_id": beta_client.id, "user_id": beta_client.owner.id}
    before = (count(db, Client), count(db, User), count(db, ClientUser))
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith(("/api/v1/clients/", "/api/v1/users/")) and rule.arguments]
    assert len(rules) >= 6
    checked = 0
    for token in (tree.alpha_token, tree.root_token):  # the sibling and the parent
        for rule in rules:
            url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(foreign[m.group(1)]),
                         rule.rule)[len("/api/v1"):]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                body = {"name": "Taken", "access_level": "admin", "status": "inactive",
                        "first_name": "Mallory", "password": STRONG}
                response = api.as_(token).request(method, url, json=body)
                assert_error(response, 404, code="not_found")
                checked += 1
    assert checked >= 24
    assert (count(db, Client), count(db, User), count(db, ClientUser)) == before
    db.session.expire_all()
    reloaded = db.session.get(Client, beta_client.id)
    assert (reloaded.name, reloaded.status) == ("Beta Co", ClientStatus.ACTIVE)
    assert reloaded.owner.first_name == "Ivan"
    # and the lists never show them
    assert ids(api.as_(tree.alpha_token).get("/clients?status=active,admin_blocked,"
                                             "financially_blocked,deleted")) == []
    assert ids(api.as_(tree.alpha_token).get("/users?email=beta-owner@example.com")) == []


ODD_VALUES = [True, 2**63, 1.5, "\x00", [], {"a": 1}]
ODD_FIELDS = ["client_type", "client_type_id", "service_rule_id", "service_rule", "name",
              "first_name", "email", "owner", "owner_user_id", "contacts", "signatory",
              "manager_id", "credit_limit", "parameters", "technical_contact_id",
              "access_level", "status", "user_id", "password", "language", "terms_accepted"]


def test_odd_json_never_breaks_a_write(api, tree, setup, db):
    """Every write answers 2xx/4xx JSON whatever the types (ApiClient asserts < 500)."""
    target = make_alpha_client(setup)
    db.session.commit()
    client = api.as_(tree.alpha_token)
    member = target.owner.id
    writes = [("POST", "/clients"), ("PATCH", f"/clients/{target.id}"),
              ("POST", f"/clients/{target.id}/users"),
              ("PATCH", f"/clients/{target.id}/users/{member}"), ("POST", "/users"),
              ("PATCH", f"/users/{member}")]
    for method, path in writes:
        for field in ODD_FIELDS:
            for value in ODD_VALUES:
                body = {**company_body(setup), "access_level": "user", field: value}
                response = client.request(method, path, json=body)
                assert response.status_code in (200, 201, 404, 409, 422), (
                    method, path, field, value, response.get_json())
    for query in ("q=\x00", "email=%00", "client_type=%00", "page=0", "per_page=-5",
                  "manager_id=99999999999999999999"):
        assert client.get(f"/clients?{query}").status_code in (200, 422)
        assert client.get(f"/users?{query}").status_code in (200, 422)
