"""/api/v1/subscriptions: get and list, PATCH of the general tab, and the actions, each
answering {"subscription", "order"} (02 §2.1, §4.10, §4.14–4.24; API.md "subscriptions")."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from tests.api.conftest import assert_error
from tests.api.test_orders_api import alpha, counts, paid_order, place, shop  # noqa: F401
from tests.factories import make_staff


@pytest.fixture
def active(alpha, shop) -> dict:
    """A paid, active subscription of the shop's plan with 3 licences (2 additional)."""
    order = paid_order(alpha, shop, resources={str(shop.licences): 3})
    return alpha.get(f"/subscriptions/{order['subscription_id']}").get_json()


def act(alpha, subscription: dict, action: str, body=None, status: int = 200) -> dict:
    response = alpha.post(f"/subscriptions/{subscription['id']}/{action}", json=body or {})
    if status >= 400:
        return assert_error(response, status)
    assert response.status_code == status, response.get_json()
    answer = response.get_json()
    assert set(answer) == {"subscription", "order"}
    return answer


# -- get, list -------------------------------------------------------------------------------

def test_a_subscription_shows_its_dates_resources_and_settings(alpha, shop, active):
    assert (active["client_id"], active["plan_id"], active["period_id"]) == (
        shop.customer_id, shop.plan_id, shop.period_id)
    assert (active["status"], active["trial"], active["payment_model"],
            active["billing_type"]) == ("active", False, "prepay", "preorder")
    assert (active["start_date"], active["expiry_date"], active["prolonged_until"]) == (
        "2026-11-22", "2027-01-21", "2027-01-21")
    assert (active["auto_renew"], active["auto_renew_point_days"],
            active["manual_renewal_point_days"]) == (False, 0, -1)
    resource, = active["resources"]
    assert {key: resource[key] for key in ("plan_resource_id", "name", "included",
                                           "additional", "total", "minimum", "limit")} == {
        "plan_resource_id": shop.licences, "name": "Licences", "included": "1",
        "additional": "2", "total": "3", "minimum": "1", "limit": "10"}
    assert "balance" not in active and "available" not in active


def test_list_filters_subscriptions(alpha, shop, active):
    unpaid = place(alpha, shop, client_id=shop.other_id)

    def ids(query=""):
        response = alpha.get(f"/subscriptions?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids() == [active["id"], unpaid["subscription_id"]]
    assert ids(f"client_id={shop.other_id}") == [unpaid["subscription_id"]]
    assert ids("status=active") == [active["id"]]
    assert ids(f"plan_id={shop.plan_id}&status=new_order") == [unpaid["subscription_id"]]
    assert ids(f"plan_id={shop.trial_plan_id}") == []
    assert ids("sort=-id") == [unpaid["subscription_id"], active["id"]]
    assert_error(alpha.get("/subscriptions?status=asleep"), 422, fields=["status"])


def test_other_resellers_subscriptions_are_not_found(api, alpha, shop, active, db):
    beta = api.as_(shop.beta_token)
    before = counts(db)
    actions = ("change-resources", "renew", "stop", "activate", "delete", "close-charges",
               "expiry-date", "switch-plan", "prolong")
    assert_error(beta.get(f"/subscriptions/{active['id']}"), 404, code="not_found")
    assert_error(beta.patch(f"/subscriptions/{active['id']}", json={"name": "Mine"}), 404)
    for action in actions:
        response = beta.post(f"/subscriptions/{active['id']}/{action}",
                             json={"reason": "x", "expiry_date": "2027-03-01",
                                   "resources": {str(shop.licences): 2}})
        assert_error(response, 404, code="not_found")
    assert counts(db) == before
    assert beta.get("/subscriptions").get_json()["items"] == []
    assert alpha.get(f"/subscriptions/{active['id']}").get_json() == active


def test_roles(api, shop, active):
    manager = api.as_(shop.pm_token)
    assert_error(manager.get("/subscriptions"), 403)
    assert_error(manager.post(f"/subscriptions/{active['id']}/stop", json={"reason": "x"}),
                 403)


# -- PATCH -----------------------------------------------------------------------------------

def test_patch_changes_the_general_tab(alpha, shop, active, tree, db):
    manager = make_staff(tree.alpha, role=Role.SALES_MANAGER)
    db.session.commit()
    path = f"/subscriptions/{active['id']}"
    response = alpha.patch(path, json={"name": " Office ", "auto_renew": True,
                                       "auto_renew_point_days": 3,
                                       "manual_renewal_point_days": 10,
                                       "manager_id": manager.id, "promo_code": "P1"})
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert {key: changed[key] for key in ("name", "auto_renew", "auto_renew_point_days",
                                          "manual_renewal_point_days", "manager_id",
                                          "promo_code")} == {
        "name": "Office", "auto_renew": True, "auto_renew_point_days": 3,
        "manual_renewal_point_days": 10, "manager_id": manager.id, "promo_code": "P1"}
    # A subscription read back and sent again changes nothing it cannot change.
    again = alpha.patch(path, json=changed)
    assert again.status_code == 200 and again.get_json()["expiry_date"] == "2027-01-21"
    assert alpha.patch(path, json={"manager_id": None}).get_json()["manager_id"] is None


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"manual_renewal_point_days": 1, "auto_renew_point_days": 2},
     "manual_renewal_point_days", ""),
    ({"auto_renew_point_days": -1}, "auto_renew_point_days", ""),
    ({"manual_renewal_point_days": -2}, "manual_renewal_point_days", ""),
    ({"auto_renew_point_days": "3"}, "auto_renew_point_days", ""),
    ({"auto_renew_point_days": 2**40}, "auto_renew_point_days", ""),
    ({"manual_renewal_point_days": 36501}, "manual_renewal_point_days", ""),
    ({"auto_renew": "yes"}, "auto_renew", ""),
    ({"name": ""}, "name", ""),
    ({"name": None}, "name", ""),
    ({"manager_id": 999999}, "manager_id", ""),
    ({"expiry_date": "2030-01-01"}, "expiry_date", "/expiry-date"),
    ({"status": "stopped"}, "status", "/stop"),
    ({"resources": []}, "resources", "/change-resources"),
    ({"trial": True}, "trial", ""),
    ({"colour": "red"}, "colour", ""),
])
def test_patch_refuses_what_it_cannot_change(alpha, active, body, field, says):
    path = f"/subscriptions/{active['id']}"
    error = assert_error(alpha.patch(path, json=body), 422, fields=[field])
    assert says in error["fields"][field][0]
    assert alpha.get(path).get_json() == active


def test_patch_refuses_a_manager_of_another_reseller(alpha, active, tree, db):
    foreign = make_staff(tree.beta)
    db.session.commit()
    assert_error(alpha.patch(f"/subscriptions/{active['id']}", json={"manager_id": foreign.id}),
                 422, fields=["manager_id"])


# -- resources ------------------------------------------------------------------------------

def test_an_increase_makes_a_change_order_that_waits_for_payment(alpha, shop, active):
    lic = str(shop.licences)
    answer = act(alpha, active, "change-resources", {"resources": {lic: 5}})
    order = answer["order"]
    assert (order["order_type"], order["status"], order["subscription_id"]) == (
        "change_order", "waiting_for_payment", active["id"])
    assert order["payment"]["status"] == "waiting_for_payment"
    assert [r["total"] for r in answer["subscription"]["resources"]] == ["3"]  # until paid
    # 03 ORD-2: one open order per subscription.
    assert act(alpha, active, "change-resources", {"resources": {lic: 6}}, status=409)
    paid = alpha.post(f"/payments/{order['payment']['id']}/complete",
                      json={"amount": order["total"]})
    assert paid.status_code == 200, paid.get_json()
    subscription = alpha.get(f"/subscriptions/{active['id']}").get_json()
    assert [r["total"] for r in subscription["resources"]] == ["5"]
    assert alpha.get(f"/orders/{order['id']}").get_json()["status"] == "completed"


def test_a_decrease_needs_no_payment(alpha, shop, active):
    answer = act(alpha, active, "change-resources",
                 {"resources": {str(shop.licences): 2}})
    assert (answer["order"]["total"], answer["order"]["payment"]) == ("0.00", None)
    assert [r["total"] for r in answer["subscription"]["resources"]] == ["2"]
    split = alpha.get(f"/charges?subscription_id={active['id']}&status=refunded").get_json()
    assert split["total"] == 1


@pytest.mark.parametrize(("body", "field"), [
    ({}, "resources"), ({"resources": "5"}, "resources"),
    ({"resources": {"{lic}": 3}}, "resources"),       # nothing to change
    ({"resources": {"{lic}": 0}}, "resources.{lic}"),  # below the minimum
    ({"resources": {"{lic}": 11}}, "resources.{lic}"),
    ({"resources": {"{lic}": "x"}}, "resources.{lic}"),
    ({"resources": {"12345": 1}}, "resources.12345"),
])
def test_bad_resource_changes_are_refused(alpha, shop, active, db, body, field):
    lic = str(shop.licences)
    if isinstance(body.get("resources"), dict):
        body = {"resources": {k.format(lic=lic): v for k, v in body["resources"].items()}}
    before = counts(db)
    assert_error(alpha.post(f"/subscriptions/{active['id']}/change-resources", json=body), 422,
                 fields=[field.format(lic=lic)])
    assert counts(db) == before


def test_an_unpaid_subscription_cannot_change_or_stop(alpha, shop):
    order = place(alpha, shop)
    subscription = {"id": order["subscription_id"]}
    assert act(alpha, subscription, "change-resources",
               {"resources": {str(shop.licences): 4}}, status=409)["code"] == "status_conflict"
    assert act(alpha, subscription, "stop", {"reason": "x"}, status=409)
    assert act(alpha, subscription, "close-charges", status=409)
    # Deleting it cancels its order: nothing is left behind.
    answer = act(alpha, subscription, "delete")
    assert (answer["subscription"]["status"], answer["order"]) == ("deleted", None)
    assert alpha.get(f"/orders/{order['id']}").get_json()["status"] == "cancelled"


# -- renewal ---------------------------------------------------------------------------------

def test_renew_makes_a_renewal_order_for_the_next_term(alpha, active):
    answer = act(alpha, active, "renew")
    order = answer["order"]
    assert (order["order_type"], order["status"], order["covers_from"], order["covers_to"]) == (
        "renewal_order", "waiting_for_payment", "2027-01-22", "2027-03-21")
    assert order["total"] == "100.00"  # 2 × 30.00 + 2 additional × 10.00 × 2
    assert act(alpha, active, "renew", status=409)["code"] == "conflict"


def test_renew_waits_for_the_manual_renewal_point(alpha, active):
    alpha.patch(f"/subscriptions/{active['id']}", json={"manual_renewal_point_days": 0})
    assert act(alpha, active, "renew", status=422)["code"] == "order_error"


def test_prolong_is_not_available_for_pre_order(alpha, active, db):
    """02 R-PRL-2: only CSP monthly subscriptions are prolonged."""
    before = counts(db)
    error = act(alpha, active, "prolong", {}, status=422)
    assert error["code"] == "not_available"
    assert counts(db) == before
    assert_error(alpha.post("/subscriptions/999999/prolong"), 404)


def test_switch_plan_needs_a_configured_target(alpha, active, db):
    before = counts(db)
    assert act(alpha, active, "switch-plan", {}, status=422)["fields"].keys() == {
        "plan_id", "period_id"}
    error = act(alpha, active, "switch-plan", {"plan_id": active["plan_id"],
                                               "period_id": active["period_id"]}, status=422)
    assert "plan_id" in error["fields"]
    assert act(alpha, active, "switch-plan", {"plan_id": 999999, "period_id": 1},
               status=422)["fields"]["plan_id"]
    assert counts(db) == before
    assert_error(alpha.post("/subscriptions/999999/switch-plan", json={}), 404)


# -- stop, activate, delete, close charges, expiry date -------------------------------------

def test_stop_then_activate(alpha, active):
    assert act(alpha, active, "stop", {}, status=422)["fields"]["reason"]
    stopped = act(alpha, active, "stop", {"reason": "client asked", "comment": "for a week"})
    # The plan provisions nothing: the stop completes at once.
    assert (stopped["subscription"]["status"], stopped["subscription"]["stop_reason"]) == (
        "stopped", "client asked")
    assert act(alpha, active, "stop", {"reason": "again"}, status=409)["code"] \
        == "status_conflict"
    assert act(alpha, active, "activate", {}, status=422)["fields"]["reason"]
    activated = act(alpha, active, "activate", {"reason": "paid up"})
    assert activated["subscription"]["status"] == "active"
    assert act(alpha, active, "activate", {"reason": "again"}, status=409)


def test_closing_the_charges_debits_the_rest_of_the_term(alpha, shop, active):
    client = alpha.get(f"/clients/{shop.customer_id}").get_json()
    assert (client["balance"], client["blocked_amount"]) == ("191.00", "100.00")
    answer = act(alpha, active, "close-charges")
    assert answer["subscription"]["charges_closed_manually"] is True
    client = alpha.get(f"/clients/{shop.customer_id}").get_json()
    assert (client["balance"], client["blocked_amount"], client["available"]) == (
        "91.00", "0.00", "91.00")
    assert alpha.get(f"/charges?subscription_id={active['id']}&status=blocked"
                     ).get_json()["total"] == 0


def test_the_expiry_date_changes_without_charges(alpha, shop, active):
    charges = alpha.get(f"/charges?subscription_id={active['id']}").get_json()
    answer = act(alpha, active, "expiry-date", {"expiry_date": "2027-02-15",
                                                "comment": "goodwill"})
    assert (answer["subscription"]["expiry_date"], answer["subscription"]["prolonged_until"],
            answer["order"]) == ("2027-02-15", "2027-02-15", None)
    assert alpha.get(f"/charges?subscription_id={active['id']}").get_json() == charges
    for body in ({}, {"expiry_date": "15.02.2027"}, {"expiry_date": 20270215},
                 {"expiry_date": "2026-11-01"}, {"expiry_date": "9999-12-31"}):
        assert act(alpha, active, "expiry-date", body, status=422)["fields"]["expiry_date"]


def test_deleting_an_active_subscription_splits_its_charges(alpha, shop, active):
    answer = act(alpha, active, "delete")
    assert answer["subscription"]["status"] == "deleted"
    statuses = [c["status"] for c in alpha.get(
        f"/charges?subscription_id={active['id']}&charge_type=recurring_fee&per_page=100"
    ).get_json()["items"]]
    assert "blocked" not in statuses and "closed" in statuses
    assert act(alpha, active, "delete", status=409)["code"] == "status_conflict"
    assert act(alpha, active, "stop", {"reason": "x"}, status=409)


def test_odd_json_never_breaks_a_subscription_write(alpha, shop, active):
    path = f"/subscriptions/{active['id']}"
    for value in (True, 2**63, 1.5, "\x00", [], {"a": 1}, -1, "", None):
        for name in ("name", "manager_id", "auto_renew", "auto_renew_locked",
                     "auto_renew_point_days", "manual_renewal_point_days", "promo_code"):
            response = alpha.patch(path, json={name: value})
            assert response.status_code in (200, 422), (name, value, response.get_json())
        for action, body in (("change-resources", {"resources": value}),
                             ("change-resources", {"resources": {str(shop.licences): value}}),
                             ("expiry-date", {"expiry_date": value, "comment": value}),
                             ("stop", {"reason": value, "comment": value})):
            response = alpha.post(f"{path}/{action}", json=body)
            assert response.status_code in (200, 409, 422), (action, body, response.get_json())
        alpha.post(f"{path}/activate", json={"reason": "back"})
