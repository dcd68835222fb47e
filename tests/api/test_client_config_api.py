"""/api/v1 service-rules, client-types and additional-parameters (08 §2.1, §2.2, §2.15):
create, list with filters, read back, update, delete, validation and the tenant's reach."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.clients.models import AdditionalParameter, Client, ClientType, ServiceRule
from portal.clients.services.setup import install_client_defaults
from tests.api.conftest import assert_error
from tests.factories import make_reseller, make_root, make_staff, make_token

RULE = {"name": "POSTPAY", "key": "postpay", "payment_model": "postpay",
        "credit_limit": "10000.00", "block_threshold": "0", "payment_grace_days": 3,
        "cancel_unpaid_order_after_days": 2, "color": "orange", "stop_method": "manual"}


def count(db, model, **where) -> int:
    query = select(func.count(model.id))
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


@pytest.fixture
def tree(db):
    """root (with the standard client set) ─┬─ alpha ── alpha_one
                                              └─ beta"""
    from types import SimpleNamespace

    root = make_root()
    install_client_defaults(root)
    alpha = make_reseller(root, name="Alpha")
    beta = make_reseller(root, name="Beta")
    alpha_one = make_reseller(alpha, name="Alpha One")
    alpha_admin = make_staff(alpha, name="Alpha Admin")
    beta_admin = make_staff(beta, name="Beta Admin")
    root_admin = make_staff(root, name="Root Admin")
    from portal.accounts.models import Role

    alpha_sales = make_staff(alpha, role=Role.SALES_MANAGER, name="Alpha Sales")
    ns = SimpleNamespace(root=root, alpha=alpha, beta=beta, alpha_one=alpha_one,
                         root_token=make_token(root_admin), alpha_token=make_token(alpha_admin),
                         beta_token=make_token(beta_admin), sales_token=make_token(alpha_sales))
    db.session.commit()
    return ns


# -- service rules ---------------------------------------------------------------------------

def test_create_rule_and_read_it_back(api, tree):
    client = api.as_(tree.alpha_token)
    response = client.post("/service-rules", json=RULE)
    assert response.status_code == 201, response.get_json()
    rule = response.get_json()
    assert {k: rule[k] for k in RULE} == {**RULE, "block_threshold": "0.00"}
    assert (rule["currency"], rule["negative_balance_days"], rule["is_default"],
            rule["delete_method"], rule["promised_payment_limit"]) == (
        "RUB", 0, False, "auto", "0.00")
    assert client.get(f"/service-rules/{rule['id']}").get_json() == rule


def test_list_filters_by_payment_model(api, tree):
    client = api.as_(tree.alpha_token)
    client.post("/service-rules", json=RULE)
    client.post("/service-rules", json={"name": "Prepay", "key": "prepay_rule",
                                        "block_threshold": "100.00",
                                        "negative_balance_days": -1})
    postpaid = client.get("/service-rules?payment_model=postpay").get_json()
    assert [r["key"] for r in postpaid["items"]] == ["postpay"]
    prepaid = {r["key"] for r in client.get("/service-rules?payment_model=prepay&per_page=500")
               .get_json()["items"]}
    assert "prepay_rule" in prepaid and "postpay" not in prepaid
    assert_error(client.get("/service-rules?payment_model=barter"), 422,
                 fields=["payment_model"])


@pytest.mark.parametrize(("change", "field"), [
    ({"credit_limit": "-1"}, "credit_limit"),
    ({"credit_limit": 12.5}, "credit_limit"),
    ({"credit_limit": "1.234"}, "credit_limit"),
    ({"credit_limit": None}, "credit_limit"),
    ({"block_threshold": "-0.01"}, "block_threshold"),
    ({"negative_balance_days": -2}, "negative_balance_days"),
    ({"negative_balance_days": "1"}, "negative_balance_days"),
    ({"cancel_unpaid_order_after_days": 0}, "cancel_unpaid_order_after_days"),
    ({"payment_grace_days": -1}, "payment_grace_days"),
    ({"payment_model": "barter"}, "payment_model"),
    ({"color": "pink"}, "color"),
    ({"key": "Not A Key"}, "key"),
    ({"name": ""}, "name"),
    ({"is_default": "yes"}, "is_default"),
])
def test_bad_rule_is_422_and_creates_nothing(api, tree, db, change, field):
    before = count(db, ServiceRule)
    response = api.as_(tree.alpha_token).post("/service-rules", json={**RULE, **change})
    assert_error(response, 422, fields=[field])
    assert count(db, ServiceRule) == before


def test_update_default_and_delete(api, tree, db):
    client = api.as_(tree.alpha_token)
    rule = client.post("/service-rules", json=RULE).get_json()
    response = client.patch(f"/service-rules/{rule['id']}",
                            json={"is_default": True, "credit_limit": "500"})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["is_default"], response.get_json()["credit_limit"]) == (
        True, "500.00")
    defaults = client.get("/service-rules?is_default=true").get_json()["items"]
    assert [r["id"] for r in defaults] == [rule["id"]]
    assert_error(client.patch(f"/service-rules/{rule['id']}", json={"credit_limit": "-3"}),
                 422, fields=["credit_limit"])
    assert client.get(f"/service-rules/{rule['id']}").get_json()["credit_limit"] == "500.00"
    response = client.request("DELETE", f"/service-rules/{rule['id']}")
    assert response.status_code == 200 and response.get_json()["deleted"] is True
    assert count(db, ServiceRule, id=rule["id"]) == 0


def test_rule_in_use_is_409(api, tree, db):
    client = api.as_(tree.alpha_token)
    rule = client.post("/service-rules", json=RULE).get_json()
    client_type = db.session.scalar(select(ClientType).where(
        ClientType.reseller_id == tree.alpha.id))
    db.session.add(Client(reseller_id=tree.alpha.id, client_type_id=client_type.id,
                          service_rule_id=rule["id"], name="Client"))
    db.session.commit()
    assert_error(client.request("DELETE", f"/service-rules/{rule['id']}"), 409, code="in_use")


def test_siblings_rule_is_404(api, tree):
    theirs = api.as_(tree.beta_token).post("/service-rules", json=RULE).get_json()
    client = api.as_(tree.alpha_token)
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, f"/service-rules/{theirs['id']}", json={})
        assert_error(response, 404, code="not_found")
    assert theirs["id"] not in [r["id"] for r in client.get("/service-rules").get_json()["items"]]


def test_sales_manager_is_403(api, tree):
    assert_error(api.as_(tree.sales_token).get("/service-rules"), 403)
    assert_error(api.as_(tree.sales_token).post("/service-rules", json=RULE), 403)


# -- client types ----------------------------------------------------------------------------

TYPE = {"name": "Business", "key": "business", "name_template": "%primary_name",
        "primary_name_label": "Company", "legal_form": "organization"}


def test_client_type_create_copies_and_delegated_read_only(api, tree, db):
    response = api.as_(tree.alpha_token).post("/client-types", json=TYPE)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert {k: created[k] for k in TYPE} == TYPE
    assert (created["is_delegated"], created["is_default"]) == (False, False)
    # The reseller below got a delegated copy (CT1)...
    copy = db.session.scalar(select(ClientType).where(ClientType.reseller_id == tree.alpha_one.id,
                                                      ClientType.key == "business"))
    assert copy.is_delegated and copy.source_id == created["id"]
    # ... the alpha list shows its own and delegated types, filterable.
    client = api.as_(tree.alpha_token)
    own = client.get("/client-types?delegated=false").get_json()["items"]
    assert [t["key"] for t in own] == ["business"]
    delegated = client.get("/client-types?delegated=true").get_json()["items"]
    assert {t["key"] for t in delegated} >= {"individual", "legal_entity"}
    # A delegated copy takes only is_default.
    individual = next(t for t in delegated if t["key"] == "legal_entity")
    assert_error(client.patch(f"/client-types/{individual['id']}", json={"name": "Mine"}), 422,
                 fields=["name"])
    response = client.patch(f"/client-types/{individual['id']}", json={"is_default": True})
    assert response.status_code == 200 and response.get_json()["is_default"] is True
    assert_error(client.request("DELETE", f"/client-types/{individual['id']}"), 422)


def test_client_type_update_reaches_two_levels_and_delete(api, tree, db):
    client = api.as_(tree.root_token)
    created = client.post("/client-types", json=TYPE).get_json()
    response = client.patch(f"/client-types/{created['id']}", json={"name": "Company"})
    assert response.status_code == 200
    names = set(db.session.scalars(select(ClientType.name).where(ClientType.key == "business")))
    assert names == {"Company"}
    assert count(db, ClientType, key="business") == 4  # root, alpha, beta, alpha one
    response = client.request("DELETE", f"/client-types/{created['id']}")
    assert response.status_code == 200
    assert count(db, ClientType, key="business") == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"name_template": "no tokens"}, "name_template"),
    ({"key": "Bad Key"}, "key"),
    ({"name": 5}, "name"),
    ({"legal_form": "martian"}, "legal_form"),
    ({"is_default": 1}, "is_default"),
])
def test_bad_client_type_is_422(api, tree, db, change, field):
    before = count(db, ClientType)
    response = api.as_(tree.alpha_token).post("/client-types", json={**TYPE, **change})
    assert_error(response, 422, fields=[field])
    assert count(db, ClientType) == before


def test_siblings_client_type_is_404(api, tree):
    theirs = api.as_(tree.beta_token).post("/client-types", json=TYPE).get_json()
    for method in ("GET", "PATCH", "DELETE"):
        response = api.as_(tree.alpha_token).request(
            method, f"/client-types/{theirs['id']}", json={})
        assert_error(response, 404, code="not_found")


# -- additional parameters ---------------------------------------------------------------------

def test_parameters_create_filter_update_delete(api, tree, db):
    client = api.as_(tree.alpha_token)
    business = client.post("/client-types", json=TYPE).get_json()
    response = client.post("/additional-parameters", json={
        "name": "Отрасль", "key": "industry", "data_type": "list", "applies_to": "client",
        "client_type_id": business["id"], "optional": True, "first_option_is_default": True,
        "options": [{"name": "IT", "key": "it"}, {"name": "Retail", "key": "retail"}]})
    assert response.status_code == 201, response.get_json()
    parameter = response.get_json()
    assert parameter["options"] == [{"name": "IT", "key": "it"},
                                    {"name": "Retail", "key": "retail"}]
    assert parameter["group_id"] is not None and parameter["is_delegated"] is False
    user_parameter = client.post("/additional-parameters", json={
        "name": "Telegram", "key": "telegram", "data_type": "string",
        "applies_to": "user"}).get_json()

    by_type = client.get(f"/additional-parameters?client_type_id={business['id']}").get_json()
    assert [p["id"] for p in by_type["items"]] == [parameter["id"]]
    users = client.get("/additional-parameters?applies_to=user").get_json()
    assert [p["id"] for p in users["items"]] == [user_parameter["id"]]
    assert_error(client.get("/additional-parameters?applies_to=plan"), 422, fields=["applies_to"])

    # The copy at alpha_one follows.
    assert count(db, AdditionalParameter, reseller_id=tree.alpha_one.id, key="industry") == 1
    response = client.patch(f"/additional-parameters/{parameter['id']}", json={"weight": 7})
    assert response.status_code == 200 and response.get_json()["weight"] == 7
    assert_error(client.patch(f"/additional-parameters/{parameter['id']}",
                              json={"data_type": "string"}), 422, fields=["data_type"])
    assert client.request("DELETE",
                          f"/additional-parameters/{parameter['id']}").status_code == 200
    assert count(db, AdditionalParameter, key="industry") == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"client_type_id": None}, "client_type_id"),
    ({"client_type_id": "1"}, "client_type_id"),
    ({"data_type": "list"}, "options"),
    ({"format": "([a"}, "format"),
    ({"options": "a=b", "data_type": "list"}, "options"),
    ({"weight": 1.5}, "weight"),
    ({"key": ""}, "key"),
])
def test_bad_parameter_is_422(api, tree, db, change, field):
    client = api.as_(tree.alpha_token)
    individual = client.get("/client-types?key=individual").get_json()["items"][0]
    before = count(db, AdditionalParameter)
    response = client.post("/additional-parameters", json={
        "name": "X", "key": "x", "data_type": "string", "applies_to": "client",
        "client_type_id": individual["id"], **change})
    assert_error(response, 422, fields=[field])
    assert count(db, AdditionalParameter) == before


def test_siblings_parameter_is_404(api, tree, db):
    beta_inn = db.session.scalar(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == tree.beta.id, AdditionalParameter.key == "inn"))
    for method in ("GET", "PATCH", "DELETE"):
        response = api.as_(tree.alpha_token).request(
            method, f"/additional-parameters/{beta_inn.id}", json={})
        assert_error(response, 404, code="not_found")


def test_copy_of_inn_is_read_only_over_the_api(api, tree, db):
    alpha_inn = db.session.scalar(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == tree.alpha.id, AdditionalParameter.key == "inn"))
    client = api.as_(tree.alpha_token)
    assert client.get(f"/additional-parameters/{alpha_inn.id}").get_json()["is_delegated"]
    assert_error(client.patch(f"/additional-parameters/{alpha_inn.id}",
                              json={"optional": not alpha_inn.optional}), 422,
                 fields=["optional"])
    assert_error(client.request("DELETE", f"/additional-parameters/{alpha_inn.id}"), 422)


def test_root_made_without_defaults_still_answers(api, db):
    """A reseller with no client settings yet lists nothing rather than failing."""
    root = make_root()
    admin = make_staff(root)
    token = make_token(admin)
    db.session.commit()
    response = api.as_(token).get("/additional-parameters?applies_to=client")
    assert response.status_code == 200
