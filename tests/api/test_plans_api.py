"""/api/v1/plans: create with periods and resources, read back, validate, change, list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.catalog.models import Plan, PlanPeriod, PlanResource, Product
from tests.api.conftest import assert_error


def catalogue(api, token) -> dict:
    """A rule, a plan category, a product and a service with two resources, made over the API."""
    client = api.as_(token)
    rule = client.post("/provisioning-rules", json={
        "name": "Monthly", "key": "monthly", "financial_day": 1})
    assert rule.status_code == 201, rule.get_json()
    category = client.post("/plan-categories", json={"name": "Office", "key": "office"})
    assert category.status_code == 201, category.get_json()
    product = client.post("/products", json={"name": "Office 365", "product_type": "SaaS"})
    assert product.status_code == 201, product.get_json()
    service = client.post("/services", json={
        "name": "Mail", "connector": "simulated",
        "resources": [{"name": "Mailboxes", "unit_type": "units"},
                      {"name": "Archive", "unit_type": "boolean"}]})
    assert service.status_code == 201, service.get_json()
    return {"rule": rule.get_json()["id"], "category": category.get_json()["id"],
            "product": product.get_json()["id"], "service": service.get_json()}


def plan_body(ids, **overrides) -> dict:
    body = {
        "name": "Office Basic", "billing_type": "preorder", "provisioning_rule_id": ids["rule"],
        "plan_category_id": ids["category"], "product_id": ids["product"], "published": True,
        "periods": [
            {"duration": 1, "unit": "month", "setup_fee": "10.00", "monthly_fee": "100.00",
             "renewal_fee": "5", "is_trial": False},
            {"duration": 1, "unit": "year", "setup_fee": 0, "monthly_fee": "90.50",
             "renewal_fee": "0"},
        ],
        "resources": [
            {"name": "Extra storage, GB", "unit_type": "units", "included": 10, "minimum": "12",
             "limit": "100", "setup_fee": "1.00", "monthly_fee": "2.50"},
        ],
    }
    body.update(overrides)
    return body


def create_plan(api, token, ids, **overrides):
    return api.as_(token).post("/plans", json=plan_body(ids, **overrides))


def count(db, model) -> int:
    return db.session.scalar(select(func.count(model.id)))


# -- create and read back --------------------------------------------------------------------

def test_create_plan_with_periods_and_resources_and_read_it_back(api, tree):
    ids = catalogue(api, tree.root_token)
    response = create_plan(api, tree.root_token, ids)
    assert response.status_code == 201, response.get_json()
    plan = response.get_json()
    assert plan["name"] == "Office Basic"
    assert plan["billing_type"] == "preorder"
    assert plan["currency"] == tree.root.currency
    assert plan["status"] == "active"
    assert plan["published"] is True
    assert plan["is_delegated"] is False and plan["parent_plan_id"] is None
    assert plan["markup_coefficient"] is None and plan["markup_state"] == "unavailable"
    assert plan["provisioning_rule_id"] == ids["rule"]
    month, year = plan["periods"]
    assert (month["duration"], month["unit"]) == (1, "month")
    assert (month["setup_fee"], month["monthly_fee"], month["renewal_fee"]) == (
        "10.00", "100.00", "5.00")
    assert month["currency"] == plan["currency"]
    assert (year["unit"], year["monthly_fee"], year["setup_fee"]) == ("year", "90.50", "0.00")
    (storage,) = plan["resources"]
    assert storage["name"] == "Extra storage, GB"
    assert (storage["included"], storage["minimum"], storage["limit"]) == ("10", "12", "100")
    assert (storage["setup_fee"], storage["monthly_fee"]) == ("1.00", "2.50")

    got = api.as_(tree.root_token).get(f"/plans/{plan['id']}")
    assert got.status_code == 200
    assert got.get_json() == plan


def test_created_prices_are_stored_as_decimals(api, tree, db):
    ids = catalogue(api, tree.root_token)
    plan_id = create_plan(api, tree.root_token, ids).get_json()["id"]
    fees = db.session.scalars(select(PlanPeriod.monthly_fee).where(
        PlanPeriod.plan_id == plan_id).order_by(PlanPeriod.position)).all()
    assert fees == [Decimal("100.00"), Decimal("90.50")]


def test_resource_from_a_service_takes_its_name_and_unit(api, tree):
    ids = catalogue(api, tree.root_token)
    mailboxes, archive = ids["service"]["resources"]
    response = create_plan(api, tree.root_token, ids, services=[ids["service"]["id"]], resources=[
        {"service_resource_id": mailboxes["id"], "included": 5, "minimum": 5, "limit": 50,
         "monthly_fee": "3.00"},
        {"service_resource_id": archive["id"], "included": True, "minimum": True},
    ])
    assert response.status_code == 201, response.get_json()
    plan = response.get_json()
    assert [s["id"] for s in plan["services"]] == [ids["service"]["id"]]
    by_name = {r["name"]: r for r in plan["resources"]}
    assert by_name["Mailboxes"]["unit_type"] == "units"
    assert by_name["Mailboxes"]["service_resource_id"] == mailboxes["id"]
    assert by_name["Archive"]["unit_type"] == "boolean"
    assert by_name["Archive"]["included"] is True and by_name["Archive"]["minimum"] is True


def test_currency_defaults_to_the_resellers_and_can_be_chosen(api, tree):
    ids = catalogue(api, tree.root_token)
    other = "EUR" if tree.root.currency != "EUR" else "USD"
    plan = create_plan(api, tree.root_token, ids, currency=other.lower()).get_json()
    assert plan["currency"] == other
    assert plan["periods"][0]["currency"] == other


def test_plan_without_category_or_product_gets_defaults(api, tree, db):
    ids = catalogue(api, tree.root_token)
    products_before = count(db, Product)
    body = plan_body(ids)
    del body["plan_category_id"], body["product_id"]
    response = api.as_(tree.root_token).post("/plans", json=body)
    assert response.status_code == 201, response.get_json()
    plan = response.get_json()
    assert count(db, Product) == products_before + 1
    product = api.as_(tree.root_token).get(f"/products/{plan['product_id']}").get_json()
    assert product["name"] == "Office Basic"
    category = api.as_(tree.root_token).get(
        f"/plan-categories/{plan['plan_category_id']}").get_json()
    assert category["key"] == "default"
    # a second plan reuses the default plan category
    again = api.as_(tree.root_token).post("/plans", json={**body, "name": "Office Plus"})
    assert again.get_json()["plan_category_id"] == plan["plan_category_id"]


# -- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"billing_type": "monthly"}, "billing_type"),
    ({"billing_type": None}, "billing_type"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"provisioning_rule_id": None}, "provisioning_rule_id"),
    ({"provisioning_rule_id": "1"}, "provisioning_rule_id"),
    ({"provisioning_rule_id": 987654}, "provisioning_rule_id"),
    ({"currency": "XYZ"}, "currency"),
    ({"published": "yes"}, "published"),
    ({"periods": {"duration": 1}}, "periods"),
    ({"periods": [{"duration": 1, "unit": "month", "monthly_fee": "-1.00"}]},
     "periods[0].monthly_fee"),
    ({"periods": [{"duration": 1, "unit": "month", "monthly_fee": 99.9}]},
     "periods[0].monthly_fee"),
    ({"periods": [{"duration": 1, "unit": "month", "monthly_fee": "9.999"}]},
     "periods[0].monthly_fee"),
    ({"periods": [{"duration": 1, "unit": "month", "monthly_fee": "abc"}]},
     "periods[0].monthly_fee"),
    ({"periods": [{"duration": 1, "unit": "month", "setup_fee": "1e400"}]},
     "periods[0].setup_fee"),
    ({"name": "Office\x00"}, "name"),
    ({"periods": [{"duration": 1, "unit": "month"}, {"duration": 1, "unit": "week"}]},
     "periods[1].unit"),
    ({"periods": [{"duration": 0, "unit": "month"}]}, "periods[0].duration"),
    ({"periods": [{"duration": 1.5, "unit": "month"}]}, "periods[0].duration"),
    ({"periods": [{"duration": 1, "unit": "month", "is_trial": True, "monthly_fee": "5"}]},
     "periods[0].monthly_fee"),
    ({"resources": [{"name": "Seats", "monthly_fee": -5}]}, "resources[0].monthly_fee"),
    ({"resources": [{"name": "Seats", "setup_fee": 1.25}]}, "resources[0].setup_fee"),
    ({"resources": [{"name": "Seats", "included": 5, "minimum": 2}]}, "resources[0].minimum"),
    ({"resources": [{"name": "Seats", "minimum": 5, "limit": 2}]}, "resources[0].limit"),
    ({"resources": [{"name": "Seats", "unit_type": "litres"}]}, "resources[0].unit_type"),
    ({"resources": [{"name": "Seats", "limit": "1e400"}]}, "resources[0].limit"),
    ({"resources": [{"unit_type": "units"}]}, "resources[0].name"),
    ({"resources": [{"service_resource_id": 987654}]}, "resources[0].service_resource_id"),
])
def test_bad_plan_is_422_naming_the_field_and_creates_nothing(api, tree, db, change, field):
    ids = catalogue(api, tree.root_token)
    before = (count(db, Plan), count(db, PlanPeriod), count(db, PlanResource))
    response = create_plan(api, tree.root_token, ids, **change)
    assert_error(response, 422, fields=[field])
    assert (count(db, Plan), count(db, PlanPeriod), count(db, PlanResource)) == before


def test_float_money_is_refused_with_a_clear_message(api, tree):
    ids = catalogue(api, tree.root_token)
    response = create_plan(api, tree.root_token, ids, periods=[
        {"duration": 1, "unit": "month", "monthly_fee": 100.5}])
    error = assert_error(response, 422, fields=["periods[0].monthly_fee"])
    assert "14.66" in error["fields"]["periods[0].monthly_fee"][0]  # the example, in any language


@pytest.mark.parametrize(("included", "minimum", "ok"), [
    (False, False, True),   # optional
    (True, False, False),   # invalid configuration (05 §2.10 matrix)
    (False, True, True),    # always added and charged
    (True, True, True),     # always added, not charged
])
def test_boolean_resource_matrix(api, tree, included, minimum, ok):
    ids = catalogue(api, tree.root_token)
    response = create_plan(api, tree.root_token, ids, resources=[
        {"name": "Premium support", "unit_type": "boolean", "included": included,
         "minimum": minimum, "monthly_fee": "15.00"}])
    if ok:
        assert response.status_code == 201, response.get_json()
        (resource,) = response.get_json()["resources"]
        assert (resource["included"], resource["minimum"]) == (included, minimum)
    else:
        assert_error(response, 422, fields=["resources[0].included"])


def test_full_payment_needs_financial_day_one(api, tree):
    ids = catalogue(api, tree.root_token)
    rule = api.as_(tree.root_token).post("/provisioning-rules", json={
        "name": "Fifth", "key": "fifth", "financial_day": 5}).get_json()
    response = create_plan(api, tree.root_token, ids, billing_type="full_payment",
                           provisioning_rule_id=rule["id"],
                           periods=[{"duration": 1, "unit": "month"}])
    assert_error(response, 422, fields=["provisioning_rule_id"])


def test_body_that_is_not_an_object_is_422(api, tree):
    response = api.as_(tree.root_token).post("/plans", json=[1, 2])
    assert_error(response, 422)


# -- reach and roles -------------------------------------------------------------------------

def test_another_resellers_plan_is_404_and_untouched(api, tree, db):
    ids = catalogue(api, tree.beta_token)
    plan = create_plan(api, tree.beta_token, ids).get_json()
    period_id = plan["periods"][0]["id"]
    for token in (tree.alpha_token, tree.root_token):  # a sibling, and the parent
        client = api.as_(token)
        assert_error(client.get(f"/plans/{plan['id']}"), 404, code="not_found")
        assert_error(client.patch(f"/plans/{plan['id']}", json={"name": "Mine"}), 404)
        assert_error(client.post(f"/plans/{plan['id']}/deactivate"), 404)
        assert_error(client.patch(f"/plans/{plan['id']}/periods/{period_id}",
                                  json={"monthly_fee": "1.00"}), 404)
        listed = client.get("/plans?per_page=500").get_json()["items"]
        assert plan["id"] not in [p["id"] for p in listed]
    db.session.expire_all()
    stored = db.session.get(Plan, plan["id"])
    assert stored.name == "Office Basic" and stored.status.value == "active"
    assert stored.periods[0].monthly_fee == Decimal("100.00")


def test_a_plan_referring_to_another_resellers_rule_is_refused(api, tree):
    ids = catalogue(api, tree.root_token)
    beta_rule = api.as_(tree.beta_token).post("/provisioning-rules", json={
        "name": "Beta own", "key": "beta_own", "financial_day": 3}).get_json()
    response = create_plan(api, tree.root_token, ids, provisioning_rule_id=beta_rule["id"])
    assert_error(response, 422, fields=["provisioning_rule_id"])


def test_sales_manager_token_gets_403(api, tree, db):
    ids = catalogue(api, tree.root_token)
    plan = create_plan(api, tree.root_token, ids).get_json()
    client = api.as_(tree.sales_token)
    before = count(db, Plan)
    assert_error(client.get("/plans"), 403, code="forbidden")
    assert_error(client.get(f"/plans/{plan['id']}"), 403)
    assert_error(client.post("/plans", json=plan_body(ids)), 403)
    assert_error(client.patch(f"/plans/{plan['id']}", json={"name": "X"}), 403)
    assert_error(client.put(f"/plans/{plan['id']}/markup", json={"coefficient": "2"}), 403)
    assert count(db, Plan) == before


def test_no_token_is_401(api, tree):
    assert_error(api.get("/plans"), 401)


# -- update, status, copy --------------------------------------------------------------------

def test_patch_changes_general_fields(api, tree):
    ids = catalogue(api, tree.root_token)
    plan = create_plan(api, tree.root_token, ids).get_json()
    client = api.as_(tree.root_token)
    response = client.patch(f"/plans/{plan['id']}", json={
        "name": "Office Basic 2027", "sku": "OB-1", "published": False, "autorenew": True})
    assert response.status_code == 200, response.get_json()
    got = client.get(f"/plans/{plan['id']}").get_json()
    assert (got["name"], got["sku"], got["published"], got["autorenew"]) == (
        "Office Basic 2027", "OB-1", False, True)
    assert got["periods"] == plan["periods"]


def test_patch_refuses_periods_and_bad_types(api, tree):
    ids = catalogue(api, tree.root_token)
    plan = create_plan(api, tree.root_token, ids).get_json()
    client = api.as_(tree.root_token)
    assert_error(client.patch(f"/plans/{plan['id']}", json={"periods": []}), 422,
                 fields=["periods"])
    assert_error(client.patch(f"/plans/{plan['id']}", json={"billing_type": "weekly"}), 422,
                 fields=["billing_type"])
    assert_error(client.patch(f"/plans/{plan['id']}", json={"single": 1}), 422,
                 fields=["single"])
    assert client.get(f"/plans/{plan['id']}").get_json()["billing_type"] == "preorder"


def test_deactivate_and_activate(api, tree):
    ids = catalogue(api, tree.root_token)
    plan = create_plan(api, tree.root_token, ids).get_json()
    client = api.as_(tree.root_token)
    response = client.post(f"/plans/{plan['id']}/deactivate")
    assert response.status_code == 200 and response.get_json()["status"] == "inactive"
    assert client.get("/plans?status=inactive").get_json()["total"] == 1
    assert client.get("/plans?status=active").get_json()["total"] == 0
    assert_error(client.post(f"/plans/{plan['id']}/deactivate"), 422)
    response = client.post(f"/plans/{plan['id']}/activate")
    assert response.get_json()["status"] == "active"


def test_copy_resets_prices_unless_asked_to_keep_them(api, tree):
    ids = catalogue(api, tree.root_token)
    plan = create_plan(api, tree.root_token, ids).get_json()
    client = api.as_(tree.root_token)
    reset = client.post(f"/plans/{plan['id']}/copy", json={"name": "Office Copy"})
    assert reset.status_code == 201, reset.get_json()
    assert reset.get_json()["name"] == "Office Copy"
    assert [p["monthly_fee"] for p in reset.get_json()["periods"]] == ["0.00", "0.00"]
    kept = client.post(f"/plans/{plan['id']}/copy", json={"reset_prices": False}).get_json()
    assert [p["monthly_fee"] for p in kept["periods"]] == ["100.00", "90.50"]
    assert kept["id"] not in (plan["id"], reset.get_json()["id"])


# -- periods and resources -------------------------------------------------------------------

def test_period_sub_resource(api, tree):
    ids = catalogue(api, tree.root_token)
    plan = create_plan(api, tree.root_token, ids).get_json()
    client = api.as_(tree.root_token)
    added = client.post(f"/plans/{plan['id']}/periods", json={
        "duration": 3, "unit": "month", "monthly_fee": "95.00"})
    assert added.status_code == 201, added.get_json()
    period = added.get_json()
    assert (period["duration"], period["unit"], period["monthly_fee"]) == (3, "month", "95.00")

    changed = client.patch(f"/plans/{plan['id']}/periods/{period['id']}",
                           json={"monthly_fee": "93.10", "description": "Quarter"})
    assert changed.status_code == 200
    assert changed.get_json()["monthly_fee"] == "93.10"
    assert_error(client.patch(f"/plans/{plan['id']}/periods/{period['id']}",
                              json={"renewal_fee": -1}), 422, fields=["renewal_fee"])
    assert_error(client.patch(f"/plans/{plan['id']}/periods/{period['id']}",
                              json={"unit": "fortnight"}), 422, fields=["unit"])

    gone = client.request("DELETE", f"/plans/{plan['id']}/periods/{period['id']}")
    assert gone.status_code == 200
    periods = client.get(f"/plans/{plan['id']}").get_json()["periods"]
    assert period["id"] not in [p["id"] for p in periods] and len(periods) == 2
    assert_error(client.request("DELETE", f"/plans/{plan['id']}/periods/{period['id']}"), 404)


def test_a_period_of_another_plan_is_404(api, tree):
    ids = catalogue(api, tree.root_token)
    first = create_plan(api, tree.root_token, ids).get_json()
    second = create_plan(api, tree.root_token, ids, name="Second").get_json()
    client = api.as_(tree.root_token)
    response = client.patch(f"/plans/{second['id']}/periods/{first['periods'][0]['id']}",
                            json={"monthly_fee": "1.00"})
    assert_error(response, 404)
    assert client.get(f"/plans/{first['id']}").get_json()["periods"][0]["monthly_fee"] == \
        "100.00"


def test_resource_sub_resource(api, tree):
    ids = catalogue(api, tree.root_token)
    plan = create_plan(api, tree.root_token, ids).get_json()
    client = api.as_(tree.root_token)
    added = client.post(f"/plans/{plan['id']}/resources", json={
        "name": "Priority support", "unit_type": "boolean", "minimum": True,
        "monthly_fee": "20"})
    assert added.status_code == 201, added.get_json()
    resource = added.get_json()
    assert (resource["unit_type"], resource["minimum"], resource["monthly_fee"]) == (
        "boolean", True, "20.00")
    changed = client.patch(f"/plans/{plan['id']}/resources/{resource['id']}",
                           json={"monthly_fee": "25.00", "priority": 3})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["monthly_fee"], changed.get_json()["priority"]) == ("25.00", 3)
    assert_error(client.patch(f"/plans/{plan['id']}/resources/{resource['id']}",
                              json={"included": True, "minimum": False}), 422,
                 fields=["included"])
    assert_error(client.patch(f"/plans/{plan['id']}/resources/{resource['id']}",
                              json={"unit_type": "units"}), 422, fields=["unit_type"])
    assert_error(client.patch(f"/plans/{plan['id']}/resources/{resource['id']}",
                              json={"monthly_fee": 25.5}), 422, fields=["monthly_fee"])
    gone = client.request("DELETE", f"/plans/{plan['id']}/resources/{resource['id']}")
    assert gone.status_code == 200
    names = [r["name"] for r in client.get(f"/plans/{plan['id']}").get_json()["resources"]]
    assert names == ["Extra storage, GB"]


# -- list --------------------------------------------------------------------------------------

def test_list_filters_and_sorts(api, tree):
    ids = catalogue(api, tree.root_token)
    client = api.as_(tree.root_token)
    a = create_plan(api, tree.root_token, ids, name="Alpha plan").get_json()
    b = create_plan(api, tree.root_token, ids, name="Beta plan", billing_type="no_refund",
                    published=False).get_json()
    c = create_plan(api, tree.root_token, ids, name="Gamma plan").get_json()
    client.post(f"/plans/{c['id']}/deactivate")

    def names(query):
        response = client.get(f"/plans?{query}")
        assert response.status_code == 200, response.get_json()
        return [p["name"] for p in response.get_json()["items"]]

    assert names("sort=-name") == ["Gamma plan", "Beta plan", "Alpha plan"]
    assert names("sort=id") == ["Alpha plan", "Beta plan", "Gamma plan"]
    assert names("billing_type=no_refund") == ["Beta plan"]
    assert names("published=false") == ["Beta plan"]
    assert names("published=true&status=active") == ["Alpha plan"]
    assert names(f"product_id={ids['product']}&sort=name") == [
        "Alpha plan", "Beta plan", "Gamma plan"]
    assert names("delegated=true") == []
    page = client.get("/plans?per_page=2&page=2&sort=id").get_json()
    assert (page["total"], page["page"], page["per_page"]) == (3, 2, 2)
    assert [p["id"] for p in page["items"]] == [c["id"]]
    assert a["id"] < b["id"] < c["id"]
    for bad in ("status=sleeping", "billing_type=weekly", "published=maybe", "product_id=x",
                "sort=price"):
        field = bad.split("=")[0]
        assert_error(client.get(f"/plans?{bad}"), 422, fields=[field])


# -- idempotency ---------------------------------------------------------------------------------

def test_idempotency_key_on_create_plan_replays(api, tree, db):
    ids = catalogue(api, tree.root_token)
    client = api.as_(tree.root_token)
    headers = {"Idempotency-Key": "plan-office-basic"}
    first = client.post("/plans", json=plan_body(ids), headers=headers)
    assert first.status_code == 201
    after = (count(db, Plan), count(db, PlanPeriod))
    again = client.post("/plans", json=plan_body(ids), headers=headers)
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert (count(db, Plan), count(db, PlanPeriod)) == after
    other = client.post("/plans", json=plan_body(ids, name="Different"), headers=headers)
    assert_error(other, 409)
    assert count(db, Plan) == after[0]
