"""/api/v1/plans/{id}/delegations and /markup: delegate to a child as a tracked operation,
follow it at /operations/{id}, then price the child's copy with an auto markup (07 §4.5,
05 §3.2)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from portal.catalog.models import Plan, ProvisioningRule
from portal.core import jobs
from portal.extensions import db as database
from tests.api.conftest import assert_error


def run_jobs() -> int:
    """Run the queued jobs as a worker would, after the request's transaction ended.

    The test's session shares one connection with the worker's: ending its transaction first
    keeps a later refused request's rollback from undoing the worker's commits."""
    database.session.commit()
    return jobs.drain()


def root_plan(api, token, *, monthly_fee="100.00", rule_key="office_rule") -> dict:
    """Root's plan: one month at 100.00 and a resource at 2.00, under rule `rule_key`."""
    client = api.as_(token)
    rule = client.post("/provisioning-rules", json={
        "name": "Office rule", "key": rule_key, "financial_day": 1})
    assert rule.status_code == 201, rule.get_json()
    product = client.post("/products", json={"name": "Office 365"}).get_json()
    response = client.post("/plans", json={
        "name": "Office", "billing_type": "preorder", "provisioning_rule_id": rule.get_json()["id"],
        "product_id": product["id"], "published": True,
        "periods": [{"duration": 1, "unit": "month", "monthly_fee": monthly_fee,
                     "setup_fee": "10.00"}],
        "resources": [{"name": "Seats", "monthly_fee": "2.00", "limit": 100}]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def delegate(api, token, plan_id, reseller_ids):
    return api.as_(token).post(f"/plans/{plan_id}/delegations",
                               json={"reseller_ids": reseller_ids})


def delegated_copy(api, tree, plan) -> dict:
    """Delegate root's plan to alpha, run the queue, and answer alpha's copy."""
    response = delegate(api, tree.root_token, plan["id"], [tree.alpha.id])
    assert response.status_code == 202, response.get_json()
    run_jobs()
    operation = api.as_(tree.root_token).get(
        f"/operations/{response.get_json()['operation_id']}").get_json()
    (child_id,) = operation["child_plan_ids"]
    return api.as_(tree.alpha_token).get(f"/plans/{child_id}").get_json()


def test_delegation_answers_202_and_the_operation_ends_with_the_child_plan(api, tree):
    plan = root_plan(api, tree.root_token)
    response = delegate(api, tree.root_token, plan["id"], [tree.alpha.id, tree.beta.id])
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    operation_id = body["operation_id"]
    assert isinstance(operation_id, int)
    assert response.headers["Location"].endswith(f"/operations/{operation_id}")

    queued = api.as_(tree.root_token).get(f"/operations/{operation_id}").get_json()
    assert queued["kind"] == "delegation"
    assert queued["status"] == "queued"
    assert queued["progress"] == {"done": 0, "total": 2}
    assert queued["child_plan_ids"] == []

    assert run_jobs() >= 1

    done = api.as_(tree.root_token).get(f"/operations/{operation_id}").get_json()
    assert done["status"] == "done", done
    assert done["percent"] == 100
    assert done["progress"] == {"done": 2, "total": 2}
    child_ids = done["child_plan_ids"]
    assert len(child_ids) == 2 and plan["id"] not in child_ids
    by_reseller = {row["reseller_id"]: row["child_plan_id"] for row in done["result"]["plans"]}
    assert set(by_reseller) == {tree.alpha.id, tree.beta.id}

    # The child's token sees its copy; the sibling's copy is not its business.
    alpha = api.as_(tree.alpha_token)
    copy = alpha.get(f"/plans/{by_reseller[tree.alpha.id]}")
    assert copy.status_code == 200
    copy = copy.get_json()
    assert copy["is_delegated"] is True
    assert copy["parent_plan_id"] == plan["id"]
    assert copy["name"] == "Office"
    assert copy["markup_coefficient"] == "1.00" and copy["markup_state"] == "auto"
    assert [p["monthly_fee"] for p in copy["periods"]] == ["100.00"]
    assert alpha.get("/plans?delegated=true").get_json()["total"] == 1
    assert_error(alpha.get(f"/plans/{by_reseller[tree.beta.id]}"), 404)
    # ... and the parent does not reach into the child's own objects
    assert_error(api.as_(tree.root_token).get(f"/plans/{by_reseller[tree.alpha.id]}"), 404)
    # the operation is root's: a child cannot read it
    assert_error(alpha.get(f"/operations/{operation_id}"), 404)

    copies = api.as_(tree.root_token).get(f"/plans/{plan['id']}/delegations").get_json()
    assert copies["total"] == 2
    assert {c["reseller_id"]: c["id"] for c in copies["items"]} == by_reseller


def test_delegating_twice_reuses_the_copy(api, tree, db):
    plan = root_plan(api, tree.root_token)
    first = delegated_copy(api, tree, plan)
    response = delegate(api, tree.root_token, plan["id"], [tree.alpha.id])
    run_jobs()
    operation = api.as_(tree.root_token).get(
        f"/operations/{response.get_json()['operation_id']}").get_json()
    assert operation["status"] == "done"
    assert operation["child_plan_ids"] == [first["id"]]
    assert operation["result"]["plans"][0]["skipped"] is True
    assert db.session.scalar(select(func.count(Plan.id)).where(
        Plan.parent_id == plan["id"])) == 1


def test_key_clash_is_409_naming_the_rule_and_delegates_nothing(api, tree, db):
    # alpha made its own rule "gold" before root had one (a key root may no longer create
    # through the API, R-PR-3): the state BR-34 guards against.
    own = api.as_(tree.alpha_token).post("/provisioning-rules", json={
        "name": "Alpha gold", "key": "gold", "financial_day": 10}).get_json()
    root_rule = ProvisioningRule(reseller_id=tree.root.id, name="Gold", key="gold",
                                 financial_day=1, client_types=["individual"],
                                 added_client_types=[])
    db.session.add(root_rule)
    db.session.commit()
    product = api.as_(tree.root_token).post("/products", json={"name": "Gold"}).get_json()
    plan = api.as_(tree.root_token).post("/plans", json={
        "name": "Gold plan", "billing_type": "preorder", "provisioning_rule_id": root_rule.id,
        "product_id": product["id"],
        "periods": [{"duration": 1, "unit": "month", "monthly_fee": "50"}]}).get_json()

    response = delegate(api, tree.root_token, plan["id"], [tree.alpha.id, tree.beta.id])
    error = assert_error(response, 409, code="delegation_conflict", fields=["reseller_ids"])
    assert "Alpha gold" in error["message"] and "gold" in error["message"]
    (clash,) = error["fields"]["reseller_ids"]
    assert "Alpha gold" in clash and str(own["id"]) in clash and "Alpha" in clash
    run_jobs()
    assert db.session.scalar(select(func.count(Plan.id)).where(
        Plan.parent_id == plan["id"])) == 0
    assert api.as_(tree.root_token).get(f"/plans/{plan['id']}/delegations").get_json()[
        "total"] == 0


def test_delegation_only_to_direct_children(api, tree):
    plan = root_plan(api, tree.root_token)
    for reseller_ids, field in (([tree.alpha_one.id], "reseller_ids"),  # a grandchild
                                ([tree.root.id], "reseller_ids"),
                                ([987654], "reseller_ids"),
                                ([], "reseller_ids"),
                                (["2"], "reseller_ids[0]"),
                                (None, "reseller_ids")):
        response = delegate(api, tree.root_token, plan["id"], reseller_ids)
        assert_error(response, 422, fields=[field])
    # a child cannot delegate its parent's plan: it does not see it
    assert_error(delegate(api, tree.alpha_token, plan["id"], [tree.alpha_one.id]), 404)


def test_an_inactive_plan_is_not_delegated(api, tree):
    plan = root_plan(api, tree.root_token)
    api.as_(tree.root_token).post(f"/plans/{plan['id']}/deactivate")
    assert_error(delegate(api, tree.root_token, plan["id"], [tree.alpha.id]), 422)


def test_markup_on_the_childs_copy_reprices_it_and_delete_clears_it(api, tree):
    plan = root_plan(api, tree.root_token)
    copy = delegated_copy(api, tree, plan)
    alpha = api.as_(tree.alpha_token)

    response = alpha.put(f"/plans/{copy['id']}/markup", json={"coefficient": "1.50"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["markup_coefficient"] == "1.50" and body["markup_state"] == "auto"
    assert [(p["monthly_fee"], p["setup_fee"]) for p in body["periods"]] == [("150.00", "15.00")]
    assert [r["monthly_fee"] for r in body["resources"]] == ["3.00"]
    assert alpha.get(f"/plans/{copy['id']}").get_json()["periods"][0]["monthly_fee"] == "150.00"

    # while k is set, root's new price reaches the copy as price × k
    root = api.as_(tree.root_token)
    root.patch(f"/plans/{plan['id']}/periods/{plan['periods'][0]['id']}",
               json={"monthly_fee": "200.00"})
    run_jobs()
    assert alpha.get(f"/plans/{copy['id']}").get_json()["periods"][0]["monthly_fee"] == "300.00"

    cleared = alpha.request("DELETE", f"/plans/{copy['id']}/markup")
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["markup_coefficient"] is None
    assert cleared.get_json()["markup_state"] == "manual"
    assert cleared.get_json()["periods"][0]["monthly_fee"] == "300.00"

    # without k the copy keeps its prices when root's change
    root.patch(f"/plans/{plan['id']}/periods/{plan['periods'][0]['id']}",
               json={"monthly_fee": "250.00"})
    run_jobs()
    got = alpha.get(f"/plans/{copy['id']}").get_json()
    assert got["periods"][0]["monthly_fee"] == "300.00"
    assert got["cost_changed_at"] is not None


def test_markup_refused_without_a_cost_source_or_with_a_bad_coefficient(api, tree, db):
    plan = root_plan(api, tree.root_token)
    root = api.as_(tree.root_token)
    assert_error(root.put(f"/plans/{plan['id']}/markup", json={"coefficient": "1.50"}), 422,
                 fields=["coefficient"])
    assert_error(root.request("DELETE", f"/plans/{plan['id']}/markup"), 422,
                 fields=["coefficient"])
    assert root.get(f"/plans/{plan['id']}").get_json()["markup_coefficient"] is None

    copy = delegated_copy(api, tree, plan)
    alpha = api.as_(tree.alpha_token)
    for value in ("0", "-1", "abc", "1.555", "1000", None, True, [1]):
        response = alpha.put(f"/plans/{copy['id']}/markup", json={"coefficient": value})
        assert_error(response, 422, fields=["coefficient"])
    got = alpha.get(f"/plans/{copy['id']}").get_json()
    assert got["markup_coefficient"] == "1.00"
    assert got["periods"][0]["monthly_fee"] == "100.00"
    stored = db.session.scalar(select(Plan.markup_coefficient).where(Plan.id == copy["id"]))
    assert stored == Decimal("1.00")


def test_a_delegated_copy_keeps_the_providers_structure(api, tree):
    plan = root_plan(api, tree.root_token)
    copy = delegated_copy(api, tree, plan)
    alpha = api.as_(tree.alpha_token)
    assert_error(alpha.patch(f"/plans/{copy['id']}", json={"name": "Renamed"}), 422,
                 fields=["name"])
    assert_error(alpha.post(f"/plans/{copy['id']}/periods",
                            json={"duration": 2, "unit": "month"}), 422)
    # its own prices may change, which ends the auto markup (R-MK-10)
    period_id = copy["periods"][0]["id"]
    response = alpha.patch(f"/plans/{copy['id']}/periods/{period_id}",
                           json={"monthly_fee": "120.00"})
    assert response.status_code == 200, response.get_json()
    got = alpha.get(f"/plans/{copy['id']}").get_json()
    assert got["periods"][0]["monthly_fee"] == "120.00"
    assert got["markup_state"] == "manual"
    # and the provider's deactivation reaches it
    api.as_(tree.root_token).post(f"/plans/{plan['id']}/deactivate")
    run_jobs()
    assert alpha.get(f"/plans/{copy['id']}").get_json()["status"] == "deactivated_by_provider"
    assert_error(alpha.post(f"/plans/{copy['id']}/activate"), 422)
