"""Plan switch (02 §4.12, EX-16, A-26, A-35; 04a CH-39/CH-40) and individual prices with the
three renewal price modes (02 §4.5 R-IP-1..R-IP-10, EX-5), told through the API with the test
clock. After every step: each charge, the client's balance / blocked / available and the ledger
invariant."""

from __future__ import annotations

from datetime import date

import pytest

from portal.catalog.models import PlanPeriod, PlanResource
from portal.catalog.services import add_switch_targets
from portal.catalog.models import Plan
from tests.scenarios.test_api_preorder import Story, refused, story  # noqa: F401 - fixture

USERS = {"name": "Users", "included": "1", "minimum": "1", "limit": "15", "monthly_fee": "10.00"}


def _switchable(story: Story, old, new) -> None:
    add_switch_targets(story.db.session.get(Plan, old.id), [new.id])
    story.db.session.commit()


def _active(story: Story, plan, *, resources=None, top_up="200.00", **body) -> dict:
    order = story.order(plan, resources=resources, **body)
    story.top_up(top_up)
    story.pay_from_balance(order)
    story.run_due_jobs()
    assert story.subscription(order["subscription_id"])["status"] == "active"
    return order


def test_switch_refunds_the_rest_of_the_old_plan_and_charges_the_new_one_for_it(story):
    """Old plan: 2 months at 30.00 with 4 additional users at 10.00 from 10.11.2026 (FD 1).
    On 15.12 it switches to a plan at 4.00 with users at 15.00: the old plan's use up to 14.12
    is closed, the rest released (58.66), the new plan charged for 15.12–09.01 (53.63); the
    order's total −5.03 is carried out at once, the expiry date stays (A-35)."""
    old = story.plan(months=2, fee="30.00", resources=[USERS])
    new = story.plan(months=1, fee="4.00", resources=[{**USERS, "limit": "20",
                                                       "monthly_fee": "15.00"}])
    _switchable(story, old, new)
    order = _active(story, old, resources={old.resource_ids[0]: 5})
    assert order["total"] == "140.00"
    subscription_id = order["subscription_id"]
    story.on(date(2026, 12, 1))
    story.check([], money=("150.30", "90.30", "60.00"), status="new")

    story.on(date(2026, 12, 15))
    answer = story.action(subscription_id, "switch-plan",
                          {"plan_id": new.id, "period_id": new.period_ids[0]})
    switch = answer["order"]
    assert (switch["order_type"], switch["total"], switch["payment"]) == (
        "switch_order", "-5.03", None)
    lines = [(line["fee_kind"], line["quantity"], line["period"], line["amount"])
             for line in switch["lines"]]
    assert lines == [("refund", "1", "0.838", "-58.66"), ("recurring", "1", "0.838", "3.35"),
                     ("recurring", "4", "0.838", "50.28")]
    assert switch["lines"][0]["description"].startswith("Возврат с подписки")  # operator language

    rows = story.charges(subscription_id=subscription_id)
    used = [r for r in rows if r[0] == "closed" and r[1] == "2026-12-01"]
    assert used == [("closed", "2026-12-01", "2026-12-14", "0.452", "13.56", "2026-12-15"),
                    ("closed", "2026-12-01", "2026-12-14", "0.452", "18.08", "2026-12-15")]
    assert [r for r in rows if r[0] == "blocked"] == [
        ("blocked", "2026-12-15", "2026-12-31", "0.548", "2.19", "2027-01-01"),
        ("blocked", "2027-01-01", "2027-01-09", "0.290", "1.16", "2027-01-09"),
        ("blocked", "2026-12-15", "2026-12-31", "0.548", "32.88", "2027-01-01"),
        ("blocked", "2027-01-01", "2027-01-09", "0.290", "17.40", "2027-01-09")]
    # D5: the released part was only held, so no credit; the used part is debited.
    story.check(rows, money=("118.66", "53.63", "65.03"), subscription_id=subscription_id)

    story.run_due_jobs()
    subscription = story.subscription(subscription_id)
    assert (subscription["plan_id"], subscription["status"], subscription["expiry_date"]) == (
        new.id, "active", "2027-01-09")
    assert [(r["name"], r["total"], r["monthly_fee"]) for r in subscription["resources"]] == [
        ("Users", "5", "15.00")]
    assert story.get_order(switch["id"])["status"] == "completed"

    # The new plan's 1-month period applies from the next renewal (A-35, D1).
    renewal = story.action(subscription_id, "renew")["order"]
    assert (renewal["covers_from"], renewal["covers_to"]) == ("2027-01-10", "2027-02-09")
    assert renewal["total"] == "64.00"  # 4.00 + 4 × 15.00


def test_a_switch_that_costs_more_waits_for_its_payment(story):
    old = story.plan(months=2, fee="30.00")
    new = story.plan(months=2, fee="90.00")
    _switchable(story, old, new)
    order = _active(story, old, top_up="300.00")
    subscription_id = order["subscription_id"]
    story.on(date(2026, 12, 1))

    switch = story.action(subscription_id, "switch-plan",
                          {"plan_id": new.id, "period_id": new.period_ids[0]})["order"]
    # Rest of the window 01.12–09.01: 30.00 + 8.70 back; 90.00 + 26.10 for the new plan.
    assert (switch["status"], switch["total"], switch["payment"]["total"]) == (
        "waiting_for_payment", "77.40", "77.40")
    before = story.money()
    assert story.subscription(subscription_id)["plan_id"] == old.id  # R-SW-9: not yet

    story.pay_from_balance(switch)
    story.run_due_jobs()
    assert story.subscription(subscription_id)["plan_id"] == new.id
    balance, blocked, available = story.money()
    assert balance == before[0]  # nothing debited: the first day belongs to the new plan
    assert (blocked, available) == ("116.10", "162.60")
    story.check(story.charges(subscription_id=subscription_id),
                money=(balance, blocked, available), subscription_id=subscription_id)


def test_switch_refusals_name_the_rule_and_change_nothing(story):
    old = story.plan(months=2, fee="30.00", resources=[USERS])
    small = story.plan(months=2, fee="10.00", resources=[{**USERS, "limit": "3"}])
    other = story.plan(months=2, fee="10.00")
    _switchable(story, old, small)
    order = _active(story, old, resources={old.resource_ids[0]: 5})
    subscription_id = order["subscription_id"]
    api = story.api

    def unchanged(body, status, **expect):
        before = story.snapshot()
        refused(api.post(f"/subscriptions/{subscription_id}/switch-plan", json=body), status,
                **expect)
        assert story.snapshot() == before

    # Not a configured switch target (R-SW-1).
    unchanged({"plan_id": other.id, "period_id": other.period_ids[0]}, 422, fields=["plan_id"])
    # five users do not fit a plan allowing three; nothing is clamped.
    unchanged({"plan_id": small.id, "period_id": small.period_ids[0]}, 422,
              fields=[f"resources.{small.resource_ids[0]}"], says=("Users", "5", "3"))
    # Asking for more than the new plan allows is refused with the limit.
    unchanged({"plan_id": small.id, "period_id": small.period_ids[0],
               "resources": {str(small.resource_ids[0]): 9}}, 422,
              fields=[f"resources.{small.resource_ids[0]}"])
    # A period of another plan.
    unchanged({"plan_id": small.id, "period_id": old.period_ids[0]}, 422, fields=["period_id"])
    # R-SW-1: only an active subscription switches.
    story.action(subscription_id, "stop", {"reason": "holiday"})
    story.run_due_jobs()
    unchanged({"plan_id": small.id, "period_id": small.period_ids[0],
               "resources": {str(small.resource_ids[0]): 3}}, 409, code="status_conflict")


def test_a_trial_switches_to_a_paid_period_starting_on_the_switch_day(story):
    trial = story.plan(periods=[{"duration": 14, "duration_unit": "day", "monthly_fee": "0",
                                 "is_trial": True}])
    paid = story.plan(months=1, fee="30.00")
    _switchable(story, trial, paid)
    order = story.order(trial)
    assert order["total"] == "0.00"
    story.run_due_jobs()
    subscription_id = order["subscription_id"]
    assert story.subscription(subscription_id)["trial"] is True

    story.on(date(2026, 11, 20))
    switch = story.action(subscription_id, "switch-plan",
                          {"plan_id": paid.id, "period_id": paid.period_ids[0]})["order"]
    assert (switch["total"], switch["covers_from"], switch["covers_to"]) == (
        "30.00", "2026-11-20", "2026-12-19")
    story.top_up("30.00")
    story.pay_from_balance(switch)
    story.run_due_jobs()
    subscription = story.subscription(subscription_id)
    assert (subscription["trial"], subscription["expiry_date"], subscription["plan_id"]) == (
        False, "2026-12-19", paid.id)
    story.check(story.charges(subscription_id=subscription_id),
                money=("30.00", "30.00", "0.00"), subscription_id=subscription_id)


# -- individual prices ------------------------------------------------------------------------

def _set_plan_price(story: Story, plan, monthly: str) -> None:
    period = story.db.session.get(PlanPeriod, plan.period_ids[0])
    period.monthly_fee = monthly
    for resource_id in plan.resource_ids:
        story.db.session.get(PlanResource, resource_id).monthly_fee = monthly
    story.db.session.commit()


@pytest.mark.parametrize(("mode", "flagged", "renewals"), [
    # EX-5: "highest" takes the greater of the current plan price and the individual price.
    ("highest", True, {"20.00": "25.00", "40.00": "40.00"}),
    ("individual", True, {"20.00": "25.00", "40.00": "25.00"}),
    ("plan", False, {"20.00": "20.00", "40.00": "40.00"}),
])
def test_individual_prices_and_the_three_renewal_price_modes(story, mode, flagged, renewals):
    plan = story.plan(months=1, fee="30.00")
    order = story.order(plan, individual_prices={"service": {"recurring": "25.00"}},
                        renewal_price_mode=mode)
    # R-IP-3: the charges come from the individual price.
    assert (order["total"], order["individual_prices"]) == ("25.00", True)
    assert sum(float(c[4]) for c in story.charges(order_id=order["id"])) == 25.0
    subscription_id = order["subscription_id"]
    # R-IP-7: the subscription is individually priced only once the order is completed.
    assert story.subscription(subscription_id)["individual_prices"] is False
    story.top_up("200.00")
    story.pay_from_balance(order)
    story.run_due_jobs()
    subscription = story.subscription(subscription_id)
    assert (subscription["individual_prices"], subscription["renewal_price_mode"]) == (
        flagged, mode if flagged else None)
    assert subscription["monthly_fee"] == "25.00"

    for plan_price, expected in renewals.items():
        _set_plan_price(story, plan, plan_price)
        renewal = story.action(subscription_id, "renew")["order"]
        assert renewal["lines"][0]["unit_price"] == expected, plan_price
        # R-IP-8: a renewal at individual or highest prices is marked as such.
        assert renewal["individual_prices"] is flagged
        story.api.post(f"/orders/{renewal['id']}/cancel")


def test_a_renewal_at_plan_prices_ends_the_individual_prices_of_the_first_term(story):
    """R-IP-6 / A-12: ordered with mode "plan", the individual price holds for the first term
    only; from the renewed term the plan price is in force (and resource increases follow)."""
    plan = story.plan(months=1, fee="30.00", resources=[USERS])
    users = str(plan.resource_ids[0])
    order = _active(story, plan, resources={users: 2}, top_up="500.00",
                    individual_prices={"service": {"recurring": "25.00"},
                                       "resources": {users: {"recurring": "7.00"}}},
                    renewal_price_mode="plan")
    assert order["total"] == "32.00"
    subscription_id = order["subscription_id"]
    # R-IP-9: a resource increase in the first term is at the individual price.
    increase = story.action(subscription_id, "change-resources",
                            {"resources": {users: 3}})["order"]
    assert increase["lines"][0]["unit_price"] == "7.00"
    story.api.post(f"/orders/{increase['id']}/cancel")

    renewal = story.action(subscription_id, "renew")["order"]
    assert [line["unit_price"] for line in renewal["lines"] if line["fee_kind"] == "recurring"] \
        == ["30.00", "10.00"]
    story.pay_from_balance(renewal)
    story.run_due_jobs()
    subscription = story.subscription(subscription_id)
    assert subscription["monthly_fee"] == "30.00"
    assert subscription["resources"][0]["monthly_fee"] == "10.00"
    assert subscription["individual_monthly_fee"] is None


def test_individual_price_refusals(story):
    plan = story.plan(months=1, fee="30.00")
    before = story.snapshot()
    for body, field in (
            ({"individual_prices": {"service": {"recurring": "-1"}}},
             "individual_prices.service.recurring"),
            ({"individual_prices": {"service": {"recurring": "1.005"}}},
             "individual_prices.service.recurring"),
            # R-IP-4: no individual renewal price.
            ({"individual_prices": {"service": {"renewal": "1.00"}}},
             "individual_prices.service.renewal"),
            ({"individual_prices": {"resources": {"999999": {"recurring": "1.00"}}}},
             "individual_prices.resources.999999"),
            ({"individual_prices": {"service": {"recurring": "1.00"}},
              "renewal_price_mode": "cheapest"}, "renewal_price_mode"),
            ({"renewal_price_mode": "plan"}, "renewal_price_mode")):
        response = story.api.post("/orders", json={"client_id": story.client_id,
                                                   "plan_id": plan.id,
                                                   "period_id": plan.period_ids[0], **body})
        refused(response, 422, fields=[field])
    assert story.snapshot() == before


def test_a_manual_renewal_may_take_another_period_whose_terms_start_with_it(story):
    """02 SCR-12: renewing a 1-month subscription for 3 months: 10.12.2026–09.03.2027, then
    the next term runs 10.03–09.06.2027 (anchored on the renewed term, D1)."""
    plan = story.plan(periods=[{"duration": 1, "duration_unit": "month", "monthly_fee": "10.00"},
                               {"duration": 3, "duration_unit": "month", "monthly_fee": "9.00"},
                               {"duration": 1, "duration_unit": "year", "monthly_fee": "8.00",
                                "published": False}])
    order = _active(story, plan)
    subscription_id = order["subscription_id"]
    assert story.subscription(subscription_id)["expiry_date"] == "2026-12-09"
    refused(story.api.post(f"/subscriptions/{subscription_id}/renew",
                           json={"period_id": plan.period_ids[2]}), 422, fields=["period_id"])
    renewal = story.action(subscription_id, "renew", {"period_id": plan.period_ids[1]})["order"]
    assert (renewal["covers_from"], renewal["covers_to"], renewal["total"]) == (
        "2026-12-10", "2027-03-09", "27.00")
    story.pay_from_balance(renewal)
    story.run_due_jobs()
    subscription = story.subscription(subscription_id)
    assert (subscription["period_id"], subscription["expiry_date"]) == (
        plan.period_ids[1], "2027-03-09")
    following = story.action(subscription_id, "renew")["order"]
    assert (following["covers_from"], following["covers_to"]) == ("2027-03-10", "2027-06-09")
