"""/api/v1/resellers/{id}/staff: create staff (with a token), reach, roles."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error

PASSWORD = "Strong-pass-2026!"


def staff_body(**kw):
    return {"email": "new.admin@example.com", "name": "New Admin", "role": "system_admin",
            "password": PASSWORD, **kw}


def staff_total(api, token, reseller_id) -> int:
    response = api.as_(token).get(f"/resellers/{reseller_id}/staff")
    assert response.status_code == 200
    return response.get_json()["total"]


def test_create_staff_in_own_reseller_returns_a_working_token(api, tree):
    response = api.as_(tree.alpha_token).post(
        f"/resellers/{tree.alpha.id}/staff",
        json=staff_body(email="pm@alpha.test", name="Alpha PM", role="product_manager"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["email"], body["name"], body["role"], body["reseller_id"], body["status"]) == (
        "pm@alpha.test", "Alpha PM", "product_manager", tree.alpha.id, "active")
    assert PASSWORD not in response.get_data(as_text=True)
    token = body["api_token"]
    assert isinstance(token, str) and len(token) >= 20

    me = api.as_(token).get("/me").get_json()
    assert (me["id"], me["reseller_id"], me["role"]) == (body["id"], tree.alpha.id,
                                                         "product_manager")
    # the member is listed and can be fetched; the token is not shown again
    listed = api.as_(tree.alpha_token).get(f"/resellers/{tree.alpha.id}/staff").get_json()
    assert body["id"] in [m["id"] for m in listed["items"]]
    assert token not in api.as_(tree.alpha_token).get(
        f"/resellers/{tree.alpha.id}/staff").get_data(as_text=True)
    got = api.as_(tree.alpha_token).get(f"/resellers/{tree.alpha.id}/staff/{body['id']}")
    assert got.status_code == 200 and "api_token" not in got.get_json()


def test_operator_bootstraps_a_childs_first_admin(api, tree):
    child = api.as_(tree.root_token).post("/resellers", json={"name": "Fresh Child"}).get_json()
    assert staff_total(api, tree.root_token, child["id"]) == 0
    response = api.as_(tree.root_token).post(f"/resellers/{child['id']}/staff",
                                             json=staff_body(email="admin@fresh.test"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reseller_id"] == child["id"]
    token = response.get_json()["api_token"]

    # the new token acts inside the child: it creates the child's own children...
    me = api.as_(token).get("/me").get_json()
    assert me["reseller_id"] == child["id"]
    grandchild = api.as_(token).post("/resellers", json={"name": "Fresh Grandchild"})
    assert grandchild.status_code == 201
    assert grandchild.get_json()["parent_id"] == child["id"]
    listed = api.as_(token).get("/resellers").get_json()
    assert [r["id"] for r in listed["items"]] == [grandchild.get_json()["id"]]
    # ...and staff of its own, but reaches neither its parent nor the parent's other children
    assert api.as_(token).post(f"/resellers/{child['id']}/staff", json=staff_body(
        email="sales@fresh.test", role="sales_manager")).status_code == 201
    assert_error(api.as_(token).get(f"/resellers/{tree.root.id}"), 404)
    assert_error(api.as_(token).get(f"/resellers/{tree.alpha.id}"), 404)
    assert_error(api.as_(token).get(f"/resellers/{tree.root.id}/staff"), 404)


def test_a_grandparent_can_create_staff_in_a_grandchild(api, tree):
    response = api.as_(tree.root_token).post(f"/resellers/{tree.alpha_one.id}/staff",
                                             json=staff_body(email="a1@example.com"))
    assert response.status_code == 201
    assert api.as_(response.get_json()["api_token"]).get("/me").get_json()[
        "reseller_id"] == tree.alpha_one.id


@pytest.mark.parametrize("target", ["beta", "root", "missing"])
def test_staff_outside_the_reach_is_404_and_creates_nothing(api, tree, target):
    reseller_id = {"beta": tree.beta.id, "root": tree.root.id, "missing": 999999}[target]
    before = staff_total(api, tree.root_token, tree.beta.id)
    response = api.as_(tree.alpha_token).post(f"/resellers/{reseller_id}/staff",
                                              json=staff_body(email="intruder@example.com"))
    assert_error(response, 404)
    assert_error(api.as_(tree.alpha_token).get(f"/resellers/{reseller_id}/staff"), 404)
    assert_error(api.as_(tree.alpha_token).get(
        f"/resellers/{reseller_id}/staff/{tree.beta_admin.id}"), 404)
    assert staff_total(api, tree.root_token, tree.beta.id) == before
    # the e-mail is still free: nothing was created anywhere
    assert api.as_(tree.root_token).post(f"/resellers/{tree.beta.id}/staff", json=staff_body(
        email="intruder@example.com")).status_code == 201


def test_a_member_of_another_reseller_is_404_through_the_wrong_parent(api, tree):
    response = api.as_(tree.root_token).get(
        f"/resellers/{tree.alpha.id}/staff/{tree.beta_admin.id}")
    assert_error(response, 404)


@pytest.mark.parametrize("password", ["123", "password", "short", "new.admin@example.com"])
def test_weak_password_is_422_on_password(api, tree, password):
    before = staff_total(api, tree.alpha_token, tree.alpha.id)
    response = api.as_(tree.alpha_token).post(f"/resellers/{tree.alpha.id}/staff",
                                              json=staff_body(password=password))
    assert_error(response, 422, fields=["password"])
    assert staff_total(api, tree.alpha_token, tree.alpha.id) == before


def test_duplicate_email_is_409_platform_wide(api, tree):
    taken = tree.beta_admin.email
    for email in (taken, taken.upper()):
        response = api.as_(tree.alpha_token).post(f"/resellers/{tree.alpha.id}/staff",
                                                  json=staff_body(email=email))
        assert_error(response, 409, fields=["email"])
    before = staff_total(api, tree.alpha_token, tree.alpha.id)
    assert api.as_(tree.alpha_token).post(f"/resellers/{tree.alpha.id}/staff",
                                          json=staff_body()).status_code == 201
    assert_error(api.as_(tree.alpha_token).post(f"/resellers/{tree.alpha.id}/staff",
                                                json=staff_body(name="Other")), 409)
    assert staff_total(api, tree.alpha_token, tree.alpha.id) == before + 1


@pytest.mark.parametrize(("body", "field"), [
    ({"email": ""}, "email"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"role": ""}, "role"),
    ({"role": "overlord"}, "role"),
    ({"password": ""}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"email": ["a@example.com"]}, "email"),
    ({"name": "N" * 300}, "name"),
    ({"email": "a" * 300 + "@example.com"}, "email"),
])
def test_bad_staff_input_is_422_and_creates_nothing(api, tree, body, field):
    before = staff_total(api, tree.alpha_token, tree.alpha.id)
    response = api.as_(tree.alpha_token).post(f"/resellers/{tree.alpha.id}/staff",
                                              json=staff_body(**body))
    assert_error(response, 422, fields=[field])
    assert staff_total(api, tree.alpha_token, tree.alpha.id) == before


def test_staff_with_a_non_json_body_is_refused(api, tree):
    response = api.as_(tree.alpha_token).request(
        "POST", f"/resellers/{tree.alpha.id}/staff", data="email=x", content_type="text/plain")
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/resellers", None),
    ("POST", "/resellers", {"name": "By Sales"}),
    ("GET", "/resellers/{alpha}", None),
    ("PATCH", "/resellers/{alpha}", {"name": "By Sales"}),
    ("GET", "/resellers/{root}/staff", None),
    ("POST", "/resellers/{root}/staff", staff_body(email="by.sales@example.com")),
    ("POST", "/resellers/{alpha}/staff", staff_body(email="by.sales@example.com")),
])
def test_sales_manager_is_403_on_resellers_and_staff(api, tree, method, path, body):
    path = path.format(alpha=tree.alpha.id, root=tree.root.id)
    response = api.as_(tree.sales_token).request(method, path, json=body)
    assert_error(response, 403, code="forbidden")
    # the same token does authenticate
    assert api.as_(tree.sales_token).get("/me").status_code == 200
    assert api.as_(tree.root_token).get(f"/resellers/{tree.alpha.id}").get_json()[
        "name"] == "Alpha"
    assert "by.sales@example.com" not in api.as_(tree.root_token).get(
        f"/resellers/{tree.root.id}/staff?per_page=500").get_data(as_text=True)
