"""/api/v1 provisioning-rules, product-categories, plan-categories, services and products;
plus the reach of every catalogue route: another reseller's object is a 404."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.catalog.models import (Plan, PlanCategory, Product, ProductCategory,
                                   ProvisioningRule, ServiceTemplate)
from tests.api.conftest import assert_error

RULE = {"name": "Standard", "key": "standard", "financial_day": 5,
        "auto_renewal_point_days": 3, "manual_renewal_point_days": 10,
        "unpaid_stop_after_days": 7, "block_period_days": 30}


def count(db, model, **where) -> int:
    query = select(func.count(model.id))
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


# -- provisioning rules --------------------------------------------------------------------

def test_create_rule_and_read_it_back(api, tree):
    client = api.as_(tree.root_token)
    response = client.post("/provisioning-rules", json={
        **RULE, "promised_payment_allowed": True, "client_types": ["legal_entity"]})
    assert response.status_code == 201, response.get_json()
    rule = response.get_json()
    for name, value in RULE.items():
        assert rule[name] == value, name
    assert rule["promised_payment_allowed"] is True
    assert rule["client_types"] == ["legal_entity"]
    assert rule["is_delegated"] is False
    assert client.get(f"/provisioning-rules/{rule['id']}").get_json() == rule
    listed = client.get("/provisioning-rules?key=standard").get_json()
    assert [r["id"] for r in listed["items"]] == [rule["id"]]


def test_rule_defaults_and_copies_below(api, tree, db):
    response = api.as_(tree.root_token).post("/provisioning-rules",
                                             json={"name": "Plain", "key": "plain"})
    assert response.status_code == 201, response.get_json()
    rule = response.get_json()
    assert (rule["financial_day"], rule["manual_renewal_point_days"],
            rule["auto_renewal_point_days"]) == (1, -1, 0)
    assert len(rule["client_types"]) == 4
    # R-PR-1: every reseller below holds a read-only copy
    copies = api.as_(tree.alpha_token).get("/provisioning-rules?key=plain&delegated=true")
    (copy,) = copies.get_json()["items"]
    assert copy["is_delegated"] is True and copy["parent_id"] == rule["id"]
    assert count(db, ProvisioningRule, key="plain") == 4  # root, alpha, beta, alpha one


@pytest.mark.parametrize(("change", "field"), [
    ({"financial_day": 29}, "financial_day"),
    ({"financial_day": 0}, "financial_day"),
    ({"financial_day": "5"}, "financial_day"),
    ({"financial_day": 5.5}, "financial_day"),
    ({"key": "Has Spaces"}, "key"),
    ({"key": ""}, "key"),
    ({"name": ""}, "name"),
    ({"name": 7}, "name"),
    ({"manual_renewal_point_days": -2}, "manual_renewal_point_days"),
    ({"manual_renewal_point_days": 1, "auto_renewal_point_days": 5},
     "manual_renewal_point_days"),
    ({"block_period_days": -1}, "block_period_days"),
    ({"unpaid_stop_after_days": 10**12}, "unpaid_stop_after_days"),
    ({"promised_payment_allowed": "yes"}, "promised_payment_allowed"),
    ({"client_types": []}, "client_types"),
    ({"client_types": ["martians"]}, "client_types"),
    ({"client_types": "individual"}, "client_types"),
])
def test_bad_rule_is_422_and_creates_nothing(api, tree, db, change, field):
    before = count(db, ProvisioningRule)
    response = api.as_(tree.root_token).post("/provisioning-rules", json={**RULE, **change})
    assert_error(response, 422, fields=[field])
    assert count(db, ProvisioningRule) == before


def test_key_used_below_is_refused(api, tree):
    api.as_(tree.alpha_token).post("/provisioning-rules", json={**RULE, "key": "alpha_key"})
    response = api.as_(tree.root_token).post("/provisioning-rules",
                                             json={**RULE, "key": "alpha_key"})
    assert_error(response, 422, fields=["key"])


def test_update_rule_reaches_its_copies_and_a_copy_is_read_only(api, tree):
    root, alpha = api.as_(tree.root_token), api.as_(tree.alpha_token)
    rule = root.post("/provisioning-rules", json=RULE).get_json()
    response = root.patch(f"/provisioning-rules/{rule['id']}",
                          json={"financial_day": 12, "name": "Standard 12"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["financial_day"] == 12
    (copy,) = alpha.get("/provisioning-rules?key=standard").get_json()["items"]
    assert (copy["financial_day"], copy["name"]) == (12, "Standard 12")

    assert_error(alpha.patch(f"/provisioning-rules/{copy['id']}", json={"financial_day": 3}),
                 422, fields=["financial_day"])
    assert_error(alpha.request("DELETE", f"/provisioning-rules/{copy['id']}"), 422)
    root.patch(f"/provisioning-rules/{rule['id']}", json={"client_types": ["individual"]})
    added = alpha.patch(f"/provisioning-rules/{copy['id']}",
                        json={"added_client_types": ["legal_entity"]})
    assert added.status_code == 200, added.get_json()
    assert added.get_json()["client_types"] == ["individual", "legal_entity"]
    assert_error(root.patch(f"/provisioning-rules/{rule['id']}",
                            json={"financial_day": 31}), 422, fields=["financial_day"])
    assert root.get(f"/provisioning-rules/{rule['id']}").get_json()["financial_day"] == 12


def test_delete_rule_unless_a_plan_uses_it(api, tree, db):
    root = api.as_(tree.root_token)
    unused = root.post("/provisioning-rules", json={**RULE, "key": "unused",
                                                    "name": "Unused"}).get_json()
    response = root.request("DELETE", f"/provisioning-rules/{unused['id']}")
    assert response.status_code == 200
    assert response.get_json() == {"id": unused["id"], "deleted": True}
    assert count(db, ProvisioningRule, key="unused") == 0
    assert_error(root.get(f"/provisioning-rules/{unused['id']}"), 404)

    used = root.post("/provisioning-rules", json=RULE).get_json()
    product = root.post("/products", json={"name": "P"}).get_json()
    root.post("/plans", json={"name": "Uses it", "billing_type": "preorder",
                              "provisioning_rule_id": used["id"], "product_id": product["id"]})
    assert_error(root.request("DELETE", f"/provisioning-rules/{used['id']}"), 422)
    assert root.get(f"/provisioning-rules/{used['id']}").status_code == 200


# -- product and plan categories -----------------------------------------------------------

def test_product_categories(api, tree, db):
    client = api.as_(tree.root_token)
    response = client.post("/product-categories", json={
        "name": "Cloud", "key": "cloud", "priority": 2, "description": "Shown in the store",
        "default_markup": "1.20"})
    assert response.status_code == 201, response.get_json()
    category = response.get_json()
    assert (category["name"], category["key"], category["priority"],
            category["default_markup"]) == ("Cloud", "cloud", 2, "1.20")
    assert client.get(f"/product-categories/{category['id']}").get_json() == category
    assert_error(client.post("/product-categories", json={"name": "Again", "key": "cloud"}),
                 422, fields=["key"])
    assert_error(client.post("/product-categories", json={"name": "N", "key": "n",
                                                          "priority": -1}),
                 422, fields=["priority"])
    assert_error(client.post("/product-categories", json={"name": "N", "key": "n",
                                                          "default_markup": "0"}),
                 422, fields=["default_markup"])
    changed = client.patch(f"/product-categories/{category['id']}",
                           json={"name": "Cloud apps", "default_markup": "1.35"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["name"], changed.get_json()["default_markup"]) == (
        "Cloud apps", "1.35")
    listed = client.get("/product-categories?sort=-priority").get_json()
    assert category["id"] in [c["id"] for c in listed["items"]]

    client.post("/products", json={"name": "In it", "product_category_id": category["id"]})
    assert_error(client.request("DELETE", f"/product-categories/{category['id']}"), 422)
    empty = client.post("/product-categories", json={"name": "Empty", "key": "empty"}).get_json()
    assert client.request("DELETE", f"/product-categories/{empty['id']}").status_code == 200
    assert count(db, ProductCategory, key="empty") == 0


def test_plan_categories(api, tree, db):
    client = api.as_(tree.root_token)
    response = client.post("/plan-categories", json={"name": "Office", "key": "office",
                                                     "description": "Office plans"})
    assert response.status_code == 201, response.get_json()
    category = response.get_json()
    assert (category["name"], category["key"], category["description"]) == (
        "Office", "office", "Office plans")
    assert_error(client.post("/plan-categories", json={"name": "Dup", "key": "office"}), 422,
                 fields=["key"])
    assert_error(client.post("/plan-categories", json={"key": "nameless"}), 422,
                 fields=["name"])
    changed = client.patch(f"/plan-categories/{category['id']}", json={"name": "Office 2"})
    assert changed.get_json()["name"] == "Office 2"
    assert client.get("/plan-categories?key=office").get_json()["total"] == 1
    assert client.request("DELETE", f"/plan-categories/{category['id']}").status_code == 200
    assert count(db, PlanCategory, key="office") == 0


# -- services -------------------------------------------------------------------------------

def test_services(api, tree):
    client = api.as_(tree.root_token)
    response = client.post("/services", json={
        "name": "Hosting", "connector": "manual",
        "resources": [{"name": "Disk, GB"}, {"name": "Backup", "unit_type": "boolean"}]})
    assert response.status_code == 201, response.get_json()
    service = response.get_json()
    assert service["connector"] == "manual"
    assert [(r["name"], r["unit_type"]) for r in service["resources"]] == [
        ("Disk, GB", "units"), ("Backup", "boolean")]
    assert client.get(f"/services/{service['id']}").get_json() == service
    assert client.get("/services?connector=manual").get_json()["total"] == 1
    assert_error(client.get("/services?connector=ftp"), 422, fields=["connector"])
    added = client.post(f"/services/{service['id']}/resources", json={"name": "CPU"})
    assert added.status_code == 201 and added.get_json()["unit_type"] == "units"
    assert_error(client.patch(f"/services/{service['id']}", json={"connector": "simulated"}),
                 422, fields=["connector"])


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "S", "connector": "ftp"}, "connector"),
    ({"connector": "manual"}, "name"),
    ({"name": "S", "resources": [{"name": "R", "unit_type": "litres"}]},
     "resources[0].unit_type"),
    ({"name": "S", "resources": [{"name": ""}]}, "resources[0].name"),
    ({"name": "S", "resources": "disk"}, "resources"),
])
def test_bad_service_is_422(api, tree, db, body, field):
    before = count(db, ServiceTemplate)
    assert_error(api.as_(tree.root_token).post("/services", json=body), 422, fields=[field])
    assert count(db, ServiceTemplate) == before


# -- products -------------------------------------------------------------------------------

def test_products(api, tree):
    client = api.as_(tree.root_token)
    category = client.post("/product-categories", json={"name": "Cloud",
                                                        "key": "cloud"}).get_json()
    response = client.post("/products", json={
        "name": "Office 365", "product_type": "SaaS", "product_category_id": category["id"],
        "published": True, "description": "internal", "marketing_name": "Office for teams",
        "marketing_description": "Mail and documents", "support_email": "help@example.com",
        "support_url": "https://help.example.com"})
    assert response.status_code == 201, response.get_json()
    product = response.get_json()
    assert (product["name"], product["product_category_id"], product["published"],
            product["marketing_name"], product["support_email"]) == (
        "Office 365", category["id"], True, "Office for teams", "help@example.com")
    assert client.get(f"/products/{product['id']}").get_json() == product
    other = client.post("/products", json={"name": "Draft"}).get_json()
    assert other["published"] is False and other["product_type"] == "SaaS"
    assert other["product_category_id"] != category["id"]

    def ids(query):
        return [p["id"] for p in client.get(f"/products?{query}").get_json()["items"]]

    assert ids(f"product_category_id={category['id']}") == [product["id"]]
    assert ids("published=false") == [other["id"]]
    assert ids("published=true") == [product["id"]]
    changed = client.patch(f"/products/{other['id']}", json={"published": True,
                                                             "name": "Final"})
    assert (changed.get_json()["published"], changed.get_json()["name"]) == (True, "Final")
    assert client.request("DELETE", f"/products/{other['id']}").status_code == 200
    assert_error(client.get(f"/products/{other['id']}"), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": "P", "product_category_id": 987654}, "product_category_id"),
    ({"name": "P", "product_category_id": "1"}, "product_category_id"),
    ({"name": "P", "published": "true"}, "published"),
    ({"name": "P", "support_email": "nope"}, "support_email"),
    ({"name": "P", "support_url": "ftp://x"}, "support_url"),
    ({"name": "P" * 300}, "name"),
])
def test_bad_product_is_422(api, tree, db, body, field):
    before = count(db, Product)
    assert_error(api.as_(tree.root_token).post("/products", json=body), 422, fields=[field])
    assert count(db, Product) == before


def test_product_in_another_resellers_category_is_refused(api, tree):
    beta_category = api.as_(tree.beta_token).post("/product-categories", json={
        "name": "Beta", "key": "beta"}).get_json()
    response = api.as_(tree.root_token).post("/products", json={
        "name": "Sneaky", "product_category_id": beta_category["id"]})
    assert_error(response, 422, fields=["product_category_id"])


# -- roles ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/provisioning-rules", "/product-categories",
                                  "/plan-categories", "/services", "/products", "/plans"])
def test_sales_manager_has_no_catalogue(api, tree, db, path):
    client = api.as_(tree.sales_token)
    assert_error(client.get(path), 403, code="forbidden")
    assert_error(client.post(path, json={"name": "X", "key": "x"}), 403, code="forbidden")


# -- reach: every catalogue route hides other resellers' objects ----------------------------

CATALOGUE_PATHS = ("/api/v1/provisioning-rules", "/api/v1/product-categories",
                   "/api/v1/plan-categories", "/api/v1/services", "/api/v1/products",
                   "/api/v1/plans")


def beta_objects(api, tree) -> dict:
    """One object of each kind at beta (a sibling of alpha and a child of root)."""
    client = api.as_(tree.beta_token)
    rule = client.post("/provisioning-rules", json={**RULE, "key": "beta_rule"}).get_json()
    product_category = client.post("/product-categories", json={"name": "B",
                                                                "key": "b"}).get_json()
    plan_category = client.post("/plan-categories", json={"name": "B", "key": "b"}).get_json()
    service = client.post("/services", json={"name": "B", "resources": [
        {"name": "Seats"}]}).get_json()
    product = client.post("/products", json={
        "name": "B", "product_category_id": product_category["id"]}).get_json()
    plan = client.post("/plans", json={
        "name": "B plan", "billing_type": "preorder", "provisioning_rule_id": rule["id"],
        "product_id": product["id"], "plan_category_id": plan_category["id"],
        "periods": [{"duration": 1, "unit": "month", "monthly_fee": "100"}],
        "resources": [{"name": "Seats", "monthly_fee": "1"}]}).get_json()
    return {"rule_id": rule["id"], "product_category_id": product_category["id"],
            "plan_category_id": plan_category["id"], "service_id": service["id"],
            "product_id": product["id"], "plan_id": plan["id"],
            "period_id": plan["periods"][0]["id"], "resource_id": plan["resources"][0]["id"]}


def test_every_catalogue_route_hides_other_resellers_objects(app, api, tree, db):
    foreign = beta_objects(api, tree)
    before = {model: count(db, model) for model in (ProvisioningRule, ProductCategory,
                                                   PlanCategory, ServiceTemplate, Product,
                                                   Plan)}
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith(CATALOGUE_PATHS) and rule.arguments]
    assert len(rules) >= 15
    checked = 0
    for token in (tree.alpha_token, tree.root_token):  # the sibling and the parent
        for rule in rules:
            url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(foreign[m.group(1)]),
                         rule.rule)[len("/api/v1"):]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                body = {"name": "Taken", "coefficient": "2", "reseller_ids": [tree.alpha.id],
                        "monthly_fee": "1.00"}
                response = api.as_(token).request(method, url, json=body)
                assert_error(response, 404, code="not_found")
                checked += 1
    assert checked >= 40
    assert {model: count(db, model) for model in before} == before
    db.session.expire_all()
    plan = db.session.get(Plan, foreign["plan_id"])
    assert plan.name == "B plan" and plan.status.value == "active"
    assert plan.periods[0].monthly_fee == 100
