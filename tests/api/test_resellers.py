"""/api/v1/resellers: create, get, list, update, and the reach of a token."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error

SMTP = {"host": "smtp.alpha-mail.test", "port": 587, "username": "mailer",
        "password": "S3cret-smtp-pw", "sender": "billing@alpha-mail.test"}


def total_resellers(api, token) -> int:
    response = api.as_(token).get("/resellers")
    assert response.status_code == 200
    return response.get_json()["total"]


def create(api, token, **body):
    body.setdefault("name", "Gamma Cloud")
    return api.as_(token).post("/resellers", json=body)


# -- create ------------------------------------------------------------------------------------

def test_create_child_answers_201_with_its_fields(api, tree):
    response = create(api, tree.root_token, name="Gamma Cloud", currency="EUR",
                      domain="Panel.Gamma.test", smtp=SMTP)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert body["parent_id"] == tree.root.id
    assert body["name"] == "Gamma Cloud"
    assert body["currency"] == "EUR"
    assert body["status"] == "active"
    assert body["domain"] == "panel.gamma.test"
    smtp = body["smtp"]
    assert (smtp["host"], smtp["port"], smtp["username"], smtp["sender"]) == (
        "smtp.alpha-mail.test", 587, "mailer", "billing@alpha-mail.test")
    assert "password" not in smtp
    assert SMTP["password"] not in response.get_data(as_text=True)

    got = api.as_(tree.root_token).get(f"/resellers/{body['id']}")
    assert got.status_code == 200
    assert got.get_json() == body
    assert SMTP["password"] not in got.get_data(as_text=True)
    listed = api.as_(tree.root_token).get("/resellers?per_page=500")
    assert SMTP["password"] not in listed.get_data(as_text=True)


def test_created_child_is_below_the_callers_reseller(api, tree):
    response = create(api, tree.alpha_token, name="Alpha Two")
    assert response.status_code == 201
    child = response.get_json()
    assert child["parent_id"] == tree.alpha.id
    # alpha and root see it; beta does not
    assert api.as_(tree.alpha_token).get(f"/resellers/{child['id']}").status_code == 200
    assert api.as_(tree.root_token).get(f"/resellers/{child['id']}").status_code == 200
    assert_error(api.as_(tree.beta_token).get(f"/resellers/{child['id']}"), 404)


def test_create_with_a_taken_domain_is_409_and_creates_nothing(api, tree):
    assert create(api, tree.root_token, name="First", domain="shop.dup.test").status_code == 201
    before = total_resellers(api, tree.root_token)
    response = create(api, tree.alpha_token, name="Second", domain="SHOP.dup.test")
    assert_error(response, 409, fields=["domain"])
    assert total_resellers(api, tree.root_token) == before


def test_create_with_the_roots_domain_is_409(api, tree):
    # the root panel answers on "localhost" (make_root)
    assert_error(create(api, tree.root_token, domain="localhost"), 409)


@pytest.mark.parametrize(("body", "field"), [
    ({"currency": "RUB"}, "name"),
    ({"name": "", "currency": "RUB"}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "Gamma", "currency": "XYZ"}, "currency"),
    ({"name": 42}, "name"),
    ({"name": ["Gamma"]}, "name"),
    ({"name": "Gamma", "currency": 643}, "currency"),
    ({"name": "Gamma", "domain": 7}, "domain"),
    ({"name": "Gamma", "domain": "not a domain!"}, "domain"),
    ({"name": "Gamma", "smtp": "smtp.example.com"}, "smtp"),
    ({"name": "Gamma", "smtp": {"port": "587"}}, "smtp.port"),
    ({"name": "Gamma", "smtp": {"port": True}}, "smtp.port"),
    ({"name": "Gamma", "smtp": {"host": 12}}, "smtp.host"),
    ({"name": "Gamma", "smtp": {"port": 70000}}, "smtp.port"),
    ({"name": "G" * 300}, "name"),
    ({"name": "Gamma", "smtp": {"host": "h" * 300}}, "smtp.host"),
])
def test_bad_input_is_422_with_field_messages_and_creates_nothing(api, tree, body, field):
    before = total_resellers(api, tree.root_token)
    response = api.as_(tree.root_token).post("/resellers", json=body)
    assert_error(response, 422, fields=[field])
    assert total_resellers(api, tree.root_token) == before


@pytest.mark.parametrize(("data", "content_type"), [
    ("{not json", "application/json"),
    ("name=Gamma", "text/plain"),
    ('["Gamma"]', "application/json"),
    ('"Gamma"', "application/json"),
])
def test_a_body_that_is_not_a_json_object_is_refused(api, tree, data, content_type):
    before = total_resellers(api, tree.root_token)
    response = api.as_(tree.root_token).request("POST", "/resellers", data=data,
                                                content_type=content_type)
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)
    assert total_resellers(api, tree.root_token) == before


# -- get / reach ---------------------------------------------------------------------------------

def test_a_token_reaches_only_its_own_descendants(api, tree):
    alpha = api.as_(tree.alpha_token)
    assert alpha.get(f"/resellers/{tree.alpha_one.id}").status_code == 200
    for other in (tree.beta, tree.root, tree.alpha):
        assert_error(alpha.get(f"/resellers/{other.id}"), 404, code="not_found")
    assert_error(alpha.get("/resellers/999999"), 404)
    listed = alpha.get("/resellers").get_json()
    assert [r["id"] for r in listed["items"]] == [tree.alpha_one.id]
    assert listed["total"] == 1


def test_a_grandchild_is_in_reach_of_the_grandparent(api, tree):
    ids = {r["id"] for r in api.as_(tree.root_token).get("/resellers?per_page=500")
           .get_json()["items"]}
    assert {tree.alpha.id, tree.beta.id, tree.alpha_one.id} <= ids
    assert tree.root.id not in ids


def test_out_of_reach_update_is_404_and_changes_nothing(api, tree):
    response = api.as_(tree.beta_token).patch(f"/resellers/{tree.alpha_one.id}",
                                              json={"name": "Hijacked"})
    assert_error(response, 404)
    response = api.as_(tree.alpha_token).patch(f"/resellers/{tree.root.id}",
                                               json={"status": "suspended"})
    assert_error(response, 404)
    got = api.as_(tree.root_token).get(f"/resellers/{tree.alpha_one.id}").get_json()
    assert got["name"] == "Alpha One"


# -- list ----------------------------------------------------------------------------------------

def test_list_paginates_and_sorts(api, tree):
    token = tree.alpha_token
    for name in ("Charlie", "Bravo", "Delta"):
        assert create(api, token, name=name).status_code == 201
    # alpha's reach: Alpha One, Charlie, Bravo, Delta
    page1 = api.as_(token).get("/resellers?per_page=3&page=1&sort=name").get_json()
    assert set(page1) == {"items", "total", "page", "per_page"}
    assert (page1["total"], page1["page"], page1["per_page"]) == (4, 1, 3)
    assert [r["name"] for r in page1["items"]] == ["Alpha One", "Bravo", "Charlie"]
    page2 = api.as_(token).get("/resellers?per_page=3&page=2&sort=name").get_json()
    assert (page2["total"], page2["page"]) == (4, 2)
    assert [r["name"] for r in page2["items"]] == ["Delta"]
    desc = api.as_(token).get("/resellers?sort=-name").get_json()
    assert [r["name"] for r in desc["items"]] == ["Delta", "Charlie", "Bravo", "Alpha One"]
    assert desc["per_page"] == 50 and desc["page"] == 1


def test_list_filters_by_status(api, tree):
    assert api.as_(tree.root_token).patch(f"/resellers/{tree.beta.id}",
                                          json={"status": "suspended"}).status_code == 200
    body = api.as_(tree.root_token).get("/resellers?status=suspended").get_json()
    assert [r["id"] for r in body["items"]] == [tree.beta.id]


@pytest.mark.parametrize(("query", "field"), [
    ("sort=password", "sort"), ("page=abc", "page"), ("per_page=x", None)])
def test_list_with_bad_parameters_is_422(api, tree, query, field):
    error = assert_error(api.as_(tree.root_token).get(f"/resellers?{query}"), 422,
                         fields=[field] if field else [])
    assert error.get("fields")


# -- update --------------------------------------------------------------------------------------

def test_patch_updates_fields_domain_and_status(api, tree):
    client = api.as_(tree.root_token)
    rid = tree.alpha.id
    response = client.patch(f"/resellers/{rid}", json={
        "name": "Alpha Renamed", "domain": "alpha.panel.test",
        "smtp": {"host": "mx.alpha.test", "port": 2525, "password": "Other-smtp-pw"}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "Alpha Renamed"
    assert body["domain"] == "alpha.panel.test"
    assert body["smtp"]["host"] == "mx.alpha.test"
    assert body["smtp"]["port"] == 2525
    assert body["smtp"]["password_set"] is True
    assert "Other-smtp-pw" not in response.get_data(as_text=True)
    assert client.get(f"/resellers/{rid}").get_json() == body

    body = client.patch(f"/resellers/{rid}", json={"status": "suspended"}).get_json()
    assert body["status"] == "suspended"
    assert body["name"] == "Alpha Renamed"  # untouched fields stay
    assert client.get(f"/resellers/{rid}").get_json()["status"] == "suspended"
    assert client.patch(f"/resellers/{rid}", json={"status": "active"}).get_json()[
        "status"] == "active"

    body = client.patch(f"/resellers/{rid}", json={"domain": ""}).get_json()
    assert body["domain"] is None


def test_patch_to_a_taken_domain_is_409_and_changes_nothing(api, tree):
    client = api.as_(tree.root_token)
    assert client.patch(f"/resellers/{tree.beta.id}",
                        json={"domain": "beta.panel.test"}).status_code == 200
    response = client.patch(f"/resellers/{tree.alpha.id}",
                            json={"name": "Alpha X", "domain": "beta.panel.test"})
    assert_error(response, 409, fields=["domain"])
    got = client.get(f"/resellers/{tree.alpha.id}").get_json()
    assert got["domain"] is None
    assert got["name"] == "Alpha"


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "deleted"}, "status"),
    ({"name": ""}, "name"),
    ({"currency": "XYZ"}, "currency"),
    ({"name": 5}, "name"),
    ({"domain": 5}, "domain"),
    ({"smtp": {"port": "25"}}, "smtp.port"),
    ({"smtp": {"port": 0}}, "smtp.port"),
])
def test_patch_with_bad_input_is_422_and_changes_nothing(api, tree, body, field):
    client = api.as_(tree.root_token)
    before = client.get(f"/resellers/{tree.alpha.id}").get_json()
    response = client.patch(f"/resellers/{tree.alpha.id}", json={**body, "panel_title": "Changed"})
    assert_error(response, 422, fields=[field])
    assert client.get(f"/resellers/{tree.alpha.id}").get_json() == before


def test_patch_with_a_non_json_body_is_refused(api, tree):
    response = api.as_(tree.root_token).request("PATCH", f"/resellers/{tree.alpha.id}",
                                                data="{oops", content_type="application/json")
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)
