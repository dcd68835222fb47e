"""/api/v1/orders: a sales order with its lines, totals and payment; list with filters, get,
cancel, expiry date; trials; bad input is a 422 naming the field, a state conflict a 409,
another reseller's order a 404 (03 §2.1, §3.1; API.md "orders").

The `shop` fixture and the helpers here are shared with the other order, payment,
subscription and charge API tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import portal.api.billing_ledger  # noqa: F401 - the API modules register their routes on import
import portal.api.orders  # noqa: F401
import portal.api.subscriptions  # noqa: F401
from portal.accounts.models import Role
from portal.billing.models import Charge
from portal.orders.models import Order, Payment
from portal.subscriptions.models import Subscription
from tests.api.conftest import assert_error
from tests.factories import make_client, make_plan, make_rule, make_staff, make_token

TODAY = date(2026, 11, 22)  # the suite's frozen clock


@pytest.fixture
def shop(tree, db):
    """At alpha: two clients, a 2-month pre-order plan (30.00 a month, setup 5.00) with a
    resource (1 included, 1–10, 10.00 a month, setup 2.00), a plan with a 14-day trial, and
    a product manager (no orders, payments, subscriptions or charges). At beta: a client and a
    plan of its own."""
    alpha = tree.alpha
    customer = make_client(alpha)
    other = make_client(alpha)
    beta_client = make_client(tree.beta)
    rule = make_rule(alpha, financial_day=1)
    plan = make_plan(alpha, rule=rule, services=[], periods=[
        {"duration": 2, "duration_unit": "month", "monthly_fee": "30.00", "setup_fee": "5.00"}],
        resources=[{"name": "Licences", "included": "1", "minimum": "1", "limit": "10",
                    "monthly_fee": "10.00", "setup_fee": "2.00"}])
    trial_plan = make_plan(alpha, rule=rule, services=[], periods=[
        {"duration": 1, "duration_unit": "month", "monthly_fee": "30.00"},
        {"duration": 14, "duration_unit": "day", "is_trial": True}])
    beta_plan = make_plan(tree.beta, rule=make_rule(tree.beta), services=[])
    pm_token = make_token(make_staff(alpha, role=Role.PRODUCT_MANAGER))
    ns = SimpleNamespace(
        api=None, customer_id=customer.id, other_id=other.id, beta_client_id=beta_client.id,
        plan_id=plan.id, period_id=plan.periods[0].id, licences=plan.resources[0].id,
        trial_plan_id=trial_plan.id, trial_period_id=trial_plan.periods[1].id,
        trial_plan_paid_period_id=trial_plan.periods[0].id, beta_plan_id=beta_plan.id,
        beta_period_id=beta_plan.periods[0].id, pm_token=pm_token,
        alpha_token=tree.alpha_token, beta_token=tree.beta_token)
    db.session.commit()
    return ns


@pytest.fixture
def alpha(api, shop):
    return api.as_(shop.alpha_token)


def order_body(shop, **change) -> dict:
    return {"client_id": shop.customer_id, "plan_id": shop.plan_id,
            "period_id": shop.period_id, **change}


def place(alpha, shop, **change) -> dict:
    response = alpha.post("/orders", json=order_body(shop, **change))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def top_up(alpha, client_id: int, amount: str) -> dict:
    payment = alpha.post("/payments", json={"client_id": client_id, "amount": amount}).get_json()
    done = alpha.post(f"/payments/{payment['id']}/complete", json={})
    assert done.status_code == 200, done.get_json()
    return done.get_json()


def paid_order(alpha, shop, *, top: str = "200.00", **change) -> dict:
    """An order paid from the balance; the plan has no service, so it is complete at once."""
    order = place(alpha, shop, **change)
    top_up(alpha, order["client_id"], top)
    paid = alpha.post(f"/payments/{order['payment']['id']}/complete",
                      json={"from_balance": True})
    assert paid.status_code == 200, paid.get_json()
    return alpha.get(f"/orders/{order['id']}").get_json()


def counts(db) -> tuple:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count(model.id)))
                 for model in (Order, Payment, Charge, Subscription))


# -- create ----------------------------------------------------------------------------------

def test_a_sales_order_answers_its_lines_totals_and_payment(alpha, shop, db):
    response = alpha.post("/orders", json=order_body(
        shop, resources={str(shop.licences): "3"}, name="Office", promo_code="SPRING"))
    assert response.status_code == 201
    order = response.get_json()
    assert (order["order_type"], order["status"], order["client_id"], order["currency"]) == (
        "sales_order", "waiting_for_payment", shop.customer_id, "RUB")
    # 2 months × 30.00 + setup 5.00; 2 additional licences × 10.00 × 2 months + 2 × 2.00.
    assert (order["gross_total"], order["discount"], order["total"]) == (
        "109.00", "0.00", "109.00")
    assert [(line["fee_kind"], line["quantity"], line["unit_price"], line["amount"])
            for line in order["lines"]] == [
        ("recurring", "1", "30.00", "60.00"), ("setup", "1", "5.00", "5.00"),
        ("recurring", "2", "10.00", "40.00"), ("setup", "2", "2.00", "4.00")]
    assert order["lines"][0]["period"] == "2.000"
    assert all(line["description"] and line["currency"] == "RUB" and line["discount"] == "0.00"
               for line in order["lines"])
    payment = order["payment"]
    assert (payment["kind"], payment["status"], payment["total"]) == (
        "order_payment", "waiting_for_payment", "109.00")
    # 03 §2.1: an unpaid order is cancelled after the rule's days (1 by default).
    assert (order["expires_on"], order["created_on"]) == ("2026-11-23", TODAY.isoformat())
    assert order["created_at"].startswith("2026-11-22T")
    assert (order["covers_from"], order["covers_to"]) == ("2026-11-22", "2027-01-21")
    assert order["promo_code"] == "SPRING"  # not applied yet: echoed
    assert order["last_error"] is None and order["closed_at"] is None
    subscription = alpha.get(f"/subscriptions/{order['subscription_id']}").get_json()
    assert (subscription["name"], subscription["status"]) == ("Office", "new_order")
    assert [r["total"] for r in subscription["resources"]] == ["3"]
    # The charges wait as new (04a §4.3) and add up to the order (D3).
    charges = alpha.get(f"/charges?order_id={order['id']}&per_page=100").get_json()["items"]
    assert {c["status"] for c in charges} == {"new"}
    assert sum(Decimal(c["amount"]) for c in charges) == Decimal("109.00")
    assert alpha.get(f"/orders/{order['id']}").get_json() == {**order, "promo_code": None}


def test_resources_not_named_get_what_the_plan_includes(alpha, shop):
    order = place(alpha, shop)
    assert order["total"] == "65.00"
    subscription = alpha.get(f"/subscriptions/{order['subscription_id']}").get_json()
    assert [(r["included"], r["additional"], r["total"]) for r in subscription["resources"]] \
        == [("1", "0", "1")]


def test_a_trial_order_costs_nothing_and_is_provisioned_at_once(alpha, shop):
    order = place(alpha, shop, plan_id=shop.trial_plan_id, period_id=None, trial=True)
    assert (order["total"], order["payment"], order["lines"]) == ("0.00", None, [])
    assert order["period_id"] == shop.trial_period_id
    assert order["status"] == "completed"  # no service to install
    subscription = alpha.get(f"/subscriptions/{order['subscription_id']}").get_json()
    assert (subscription["trial"], subscription["status"]) == (True, "active")
    # The trial period named directly, with or without the flag.
    assert place(alpha, shop, client_id=shop.other_id, plan_id=shop.trial_plan_id,
                 period_id=shop.trial_period_id)["total"] == "0.00"


def test_trial_must_match_the_period(alpha, shop, db):
    before = counts(db)
    assert_error(alpha.post("/orders", json=order_body(shop, period_id=None, trial=True)),
                 422, fields=["trial"])
    assert_error(alpha.post("/orders", json=order_body(
        shop, plan_id=shop.trial_plan_id, period_id=shop.trial_plan_paid_period_id,
        trial=True)), 422, fields=["trial"])
    assert_error(alpha.post("/orders", json=order_body(
        shop, plan_id=shop.trial_plan_id, period_id=shop.trial_period_id, trial=False)),
        422, fields=["trial"])
    assert_error(alpha.post("/orders", json=order_body(shop, trial="yes")), 422,
                 fields=["trial"])
    assert counts(db) == before


# -- bad input -------------------------------------------------------------------------------

def test_required_fields_and_foreign_objects_are_named(alpha, shop, db):
    before = counts(db)
    assert_error(alpha.post("/orders", json={}), 422, fields=["client_id", "plan_id"])
    assert_error(alpha.post("/orders", json=order_body(shop, period_id=None)), 422,
                 fields=["period_id"])
    assert_error(alpha.post("/orders", json=order_body(shop, client_id=shop.beta_client_id)),
                 422, fields=["client_id"])
    assert_error(alpha.post("/orders", json=order_body(shop, plan_id=shop.beta_plan_id)),
                 422, fields=["plan_id"])
    assert_error(alpha.post("/orders", json=order_body(shop, period_id=shop.beta_period_id)),
                 422, fields=["period_id"])
    assert_error(alpha.post("/orders", json=order_body(shop, manager_id=10**6)), 422,
                 fields=["manager_id"])
    assert counts(db) == before


@pytest.mark.parametrize(("resources", "field", "says"), [
    ({"{lic}": 11}, "resources.{lic}", "10"),
    ({"{lic}": 0}, "resources.{lic}", "Licences"),
    ({"{lic}": "2.5"}, "resources.{lic}", ""),
    ({"{lic}": -1}, "resources.{lic}", ""),
    ({"{lic}": "many"}, "resources.{lic}", ""),
    ({"{lic}": "1e400"}, "resources.{lic}", ""),
    ({"{lic}": "sNaN"}, "resources.{lic}", ""),
    ({"{lic}": None}, "resources.{lic}", ""),
    ({"{lic}": [3]}, "resources.{lic}", ""),
    ({"abc": 1}, "resources.abc", ""),
    ({"999999": 1}, "resources.999999", ""),
    ({"99999999999999": 1}, "resources.99999999999999", ""),
    ([1, 2], "resources", ""),
])
def test_bad_quantities_are_refused_naming_the_resource(alpha, shop, db, resources, field,
                                                        says):
    lic = str(shop.licences)
    if isinstance(resources, dict):
        resources = {k.format(lic=lic): v for k, v in resources.items()}
    before = counts(db)
    error = assert_error(alpha.post("/orders", json=order_body(shop, resources=resources)),
                         422, fields=[field.format(lic=lic)])
    assert says in error["fields"][field.format(lic=lic)][0]
    assert counts(db) == before


def test_an_unpublished_period_or_an_inactive_client_cannot_be_ordered(alpha, shop, db, tree):
    from portal.catalog.models import PlanPeriod
    from portal.clients.models import Client, ClientStatus

    db.session.get(PlanPeriod, shop.period_id).published = False
    db.session.commit()
    assert_error(alpha.post("/orders", json=order_body(shop)), 422, fields=["period_id"])
    db.session.get(PlanPeriod, shop.period_id).published = True
    db.session.get(Client, shop.customer_id).status = ClientStatus.ADMIN_BLOCKED
    db.session.commit()
    assert_error(alpha.post("/orders", json=order_body(shop)), 422, fields=["client_id"])


ODD_VALUES = [True, 2**63, 1.5, "\x00", [], {"a": 1}, -1, ""]
ORDER_FIELDS = ["client_id", "plan_id", "period_id", "resources", "trial", "name",
                "manager_id", "promo_code"]


def test_odd_json_never_breaks_an_order(alpha, shop, db):
    """Whatever the types: 2xx or 4xx JSON (ApiClient asserts < 500)."""
    for field in ORDER_FIELDS:
        for value in ODD_VALUES:
            response = alpha.post("/orders", json=order_body(shop, **{field: value}))
            assert response.status_code in (201, 422), (field, value, response.get_json())
    for raw in (b"[1]", b"not json", b'"text"'):
        response = alpha.post("/orders", data=raw, content_type="application/json")
        assert response.status_code == 422
    order = place(alpha, shop)
    for value in ODD_VALUES:
        response = alpha.post(f"/orders/{order['id']}/expiry",
                              json={"expires_on": value, "comment": value})
        assert_error(response, 422)
    for query in ("status=paid", "order_type=x", "client_id=abc", "client_id=-1",
                  "subscription_id=99999999999", "sort=total;drop", "page=0", "page=x"):
        response = alpha.get(f"/orders?{query}")
        assert response.status_code in (200, 422), query


# -- list, get -------------------------------------------------------------------------------

def test_list_filters_orders(alpha, shop, db):
    first = place(alpha, shop)
    second = place(alpha, shop, client_id=shop.other_id)
    alpha.post(f"/orders/{second['id']}/cancel")

    def ids(query=""):
        response = alpha.get(f"/orders?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids() == [first["id"], second["id"]]
    assert ids("sort=-id") == [second["id"], first["id"]]
    assert ids(f"client_id={shop.customer_id}") == [first["id"]]
    assert ids(f"subscription_id={second['subscription_id']}") == [second["id"]]
    assert ids("status=cancelled") == [second["id"]]
    assert ids("status=waiting_for_payment&order_type=sales_order") == [first["id"]]
    assert ids("order_type=renewal_order") == []
    assert_error(alpha.get("/orders?status=paid"), 422, fields=["status"])
    page = alpha.get("/orders?per_page=1&page=2").get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (2, 2, 1, 1)


def test_other_resellers_orders_are_not_found(api, alpha, shop, db):
    order = place(alpha, shop)
    beta = api.as_(shop.beta_token)
    before = counts(db)
    for method, path in (("GET", f"/orders/{order['id']}"),
                         ("POST", f"/orders/{order['id']}/cancel"),
                         ("POST", f"/orders/{order['id']}/expiry"),
                         ("GET", f"/payments/{order['payment']['id']}"),
                         ("POST", f"/payments/{order['payment']['id']}/complete"),
                         ("POST", f"/payments/{order['payment']['id']}/cancel")):
        assert_error(beta.request(method, path, json={"expires_on": "2026-12-01"}), 404,
                     code="not_found")
    assert counts(db) == before
    assert beta.get("/orders").get_json()["total"] == 0
    assert beta.get(f"/orders?client_id={shop.customer_id}").get_json()["items"] == []
    assert alpha.get(f"/orders/{order['id']}").get_json()["status"] == "waiting_for_payment"


def test_tokens_and_roles(api, alpha, shop):
    assert_error(api.get("/orders"), 401)
    assert_error(api.post("/orders", json={}), 401)
    manager = api.as_(shop.pm_token)  # a product manager has no orders section
    assert_error(manager.get("/orders"), 403)
    assert_error(manager.post("/orders", json=order_body(shop)), 403)


def test_the_same_idempotency_key_places_one_order(alpha, shop, db):
    headers = {"Idempotency-Key": "order-1"}
    first = alpha.post("/orders", json=order_body(shop), headers=headers)
    again = alpha.post("/orders", json=order_body(shop), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json()["id"] == again.get_json()["id"]
    other = alpha.post("/orders", json=order_body(shop, client_id=shop.other_id),
                       headers=headers)
    assert_error(other, 409, code="idempotency_conflict")
    assert alpha.get("/orders").get_json()["total"] == 1


# -- cancel, expiry --------------------------------------------------------------------------

def test_cancelling_an_unpaid_order_cancels_its_payment_charges_and_subscription(alpha, shop):
    order = place(alpha, shop)
    response = alpha.post(f"/orders/{order['id']}/cancel")
    assert response.status_code == 200
    cancelled = response.get_json()
    assert cancelled["status"] == "cancelled" and cancelled["closed_at"]
    assert cancelled["payment"]["status"] == "cancelled"
    charges = alpha.get(f"/charges?order_id={order['id']}").get_json()["items"]
    assert charges and {c["status"] for c in charges} == {"deleted"}
    assert alpha.get(f"/subscriptions/{order['subscription_id']}").get_json()["status"] \
        == "deleted"
    assert_error(alpha.post(f"/orders/{order['id']}/cancel"), 409, code="status_conflict")


def test_a_paid_order_cannot_be_cancelled(alpha, shop):
    order = paid_order(alpha, shop)
    assert order["status"] == "completed"
    assert_error(alpha.post(f"/orders/{order['id']}/cancel"), 409, code="status_conflict")
    assert alpha.get(f"/orders/{order['id']}").get_json()["status"] == "completed"


def test_the_expiry_date_of_an_unpaid_order(alpha, shop):
    order = place(alpha, shop)
    path = f"/orders/{order['id']}/expiry"
    response = alpha.post(path, json={"expires_on": "2026-12-05", "comment": "bank transfer"})
    assert response.status_code == 200
    assert response.get_json()["expires_on"] == "2026-12-05"
    assert_error(alpha.post(path, json={}), 422, fields=["expires_on"])
    assert_error(alpha.post(path, json={"expires_on": "05.12.2026"}), 422,
                 fields=["expires_on"])
    for bad in ("2026-02-30", "9999-12-31", "0001-01-01"):
        assert_error(alpha.post(path, json={"expires_on": bad}), 422, fields=["expires_on"])
    assert_error(alpha.post(path, json={"expires_on": "2026-11-21"}), 422,  # in the past
                 fields=["expires_on"])
    assert alpha.get(f"/orders/{order['id']}").get_json()["expires_on"] == "2026-12-05"
    alpha.post(f"/orders/{order['id']}/cancel")
    assert_error(alpha.post(path, json={"expires_on": "2026-12-06"}), 409,
                 code="status_conflict")
