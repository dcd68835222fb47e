"""Pre-order stories told through the JSON API (issue 5 item 9): the test clock moves, the due
jobs run, and after every step each charge (status, operate_from/operate_to, period, amount,
close date), the client's balance / blocked / available and the ledger invariant are checked.

Charges are rows `(status, operate_from, operate_to, period, amount, close_date)` in id order,
the way the API answers them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import portal.api.billing_ledger  # noqa: F401 - the API modules register their routes on import
import portal.api.orders  # noqa: F401
import portal.api.subscriptions  # noqa: F401
from portal.billing.models import Charge, Transaction
from portal.billing.services.ledger import ledger_problems
from portal.catalog.models import ServiceTemplate
from portal.clients.models import Client
from portal.orders.models import Order, Payment, Task, TaskStatus
from portal.orders.services.provisioning import rerun_task
from portal.subscriptions.models import Subscription
from tests.api.conftest import ApiClient, assert_error
from tests.factories import (make_client, make_plan, make_reseller, make_root, make_rule,
                             make_service, make_staff, make_token)

START = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class Story:
    """One client of one reseller, driven through the API with the test clock."""

    def __init__(self, api: ApiClient, db, reseller, client_id: int, frozen_clock):
        self.api, self.db, self.reseller, self.client_id = api, db, reseller, client_id
        self.clock = frozen_clock

    # -- the calendar --------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromisoformat(self.api.get("/test/clock").get_json()["now"])

    def run_due_jobs(self) -> dict:
        response = self.api.post("/test/run-due-jobs")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def on(self, day: date) -> dict:
        """Move the platform's time to 12:00 in Moscow of `day` and run what is due."""
        return self.later_to(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))

    def later(self, **delta) -> dict:
        return self.later_to(self.now() + timedelta(**delta))

    def later_to(self, moment: datetime) -> dict:
        response = self.api.put("/test/clock", json={"now": moment.isoformat()})
        assert response.status_code == 200, response.get_json()
        return self.run_due_jobs()

    # -- the catalogue (set up directly: it is not what these stories are about) ------------------

    def plan(self, *, months: int = 2, fee: str = "30.00", resources=None, services=(),
             periods=None, **rule_fields) -> SimpleNamespace:
        rule = make_rule(self.reseller, financial_day=1, **rule_fields)
        plan = make_plan(self.reseller, rule=rule, services=list(services), resources=resources,
                         periods=periods or [{"duration": months, "duration_unit": "month",
                                              "monthly_fee": fee}])
        self.db.session.commit()
        return SimpleNamespace(id=plan.id, period_ids=[p.id for p in plan.periods],
                               resource_ids=[r.id for r in plan.resources])

    # -- money in and orders ----------------------------------------------------------------------

    def order(self, plan, *, resources=None, status: int = 201, **body) -> dict:
        body = {"client_id": self.client_id, "plan_id": plan.id,
                "period_id": plan.period_ids[0], **body}
        if resources is not None:
            body["resources"] = {str(k): v for k, v in resources.items()}
        response = self.api.post("/orders", json=body)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def top_up(self, amount: str) -> dict:
        created = self.api.post("/payments", json={"client_id": self.client_id,
                                                    "amount": amount})
        assert created.status_code == 201, created.get_json()
        done = self.api.post(f"/payments/{created.get_json()['id']}/complete",
                             json={"method": "bank_transfer"})
        assert done.status_code == 200, done.get_json()
        assert done.get_json()["status"] == "completed"
        return done.get_json()

    def pay_from_balance(self, order: dict) -> dict:
        response = self.api.post(f"/payments/{order['payment']['id']}/complete",
                                 json={"from_balance": True})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "paid_from_balance"
        return response.get_json()

    def get_order(self, order_id: int) -> dict:
        return self.api.get(f"/orders/{order_id}").get_json()

    def subscription(self, subscription_id: int) -> dict:
        return self.api.get(f"/subscriptions/{subscription_id}").get_json()

    def action(self, subscription_id: int, name: str, body=None, *, status: int = 200) -> dict:
        response = self.api.post(f"/subscriptions/{subscription_id}/{name}", json=body or {})
        assert response.status_code == status, response.get_json()
        return response.get_json()

    # -- what is checked after every step ---------------------------------------------------------

    def charges(self, **filters) -> list[tuple]:
        query = "&".join(f"{k}={v}" for k, v in {"per_page": 500, **filters}.items())
        items = self.api.get(f"/charges?{query}").get_json()["items"]
        return [(c["status"], c["operate_from"], c["operate_to"], c["period"], c["amount"],
                 c["close_date"]) for c in items]

    def money(self) -> tuple[str, str, str]:
        client = self.api.get(f"/clients/{self.client_id}").get_json()
        return client["balance"], client["blocked_amount"], client["available"]

    def check(self, rows: list[tuple], *, money: tuple[str, str, str], **filters) -> None:
        """The charges (filtered), the client's money and the ledger invariant."""
        assert self.charges(**filters) == rows
        assert self.money() == money
        self.db.session.expire_all()
        client = self.db.session.get(Client, self.client_id)
        assert ledger_problems(client) == []

    def snapshot(self) -> tuple:
        """Everything a refused request must leave as it was."""
        session = self.db.session
        session.expire_all()
        counts = tuple(session.scalar(select(func.count(model.id)))
                       for model in (Order, Payment, Charge, Transaction, Subscription))
        statuses = tuple(session.execute(select(Subscription.id, Subscription.status,
                                                Subscription.expiry_date)
                                         .order_by(Subscription.id)).all())
        charges = tuple(session.execute(select(Charge.id, Charge.status, Charge.amount)
                                        .order_by(Charge.id)).all())
        orders = tuple(session.execute(select(Order.id, Order.status).order_by(Order.id)).all())
        return counts, statuses, charges, orders, self.money()


@pytest.fixture
def story(db, client, frozen_clock) -> Story:
    """A reseller with an API token and one prepaid client, on 10.11.2026 at 12:00 Moscow."""
    frozen_clock.set(START)
    reseller = make_reseller(make_root(), name="Shop")
    token = make_token(make_staff(reseller))
    customer = make_client(reseller)  # before the rules: they allow the existing client types
    db.session.commit()
    return Story(ApiClient(client, token), db, reseller, customer.id, frozen_clock)


def refused(response, status: int, *, fields=(), code=None, says=()) -> dict:
    """The error shape, and the values the rule names (the words are the reader's language)."""
    error = assert_error(response, status, fields=fields, code=code)
    text = " ".join([error["message"], *sum(error.get("fields", {}).values(), [])])
    for value in says:
        assert value in text, error
    return error


# -- 1. WE-2 / EX-11 ------------------------------------------------------------------------------

def test_we2_ex11_two_month_preorder_held_then_closed_on_each_financial_day(story):
    """10.11.2026, 2 months at 30.00, FD 1: 21.30 / 30.00 / 8.70 held at payment, each closed
    on its close date (04a WE-2, 04b EX-11, DECISIONS D1–D3)."""
    plan = story.plan(months=2, fee="30.00")
    story.check([], money=("0.00", "0.00", "0.00"))

    order = story.order(plan)
    assert (order["order_type"], order["status"], order["total"], order["discount"]) == (
        "sales_order", "waiting_for_payment", "60.00", "0.00")
    assert order["payment"]["total"] == "60.00"
    assert story.subscription(order["subscription_id"])["expiry_date"] == "2027-01-09"
    schedule = [("2026-11-10", "2026-11-30", "0.700", "21.30", "2026-12-01"),
                ("2026-12-01", "2026-12-31", "1.000", "30.00", "2027-01-01"),
                ("2027-01-01", "2027-01-09", "0.290", "8.70", "2027-01-09")]
    mine = {"order_id": order["id"]}
    story.check([("new", *row) for row in schedule], money=("0.00", "0.00", "0.00"), **mine)

    story.top_up("100.00")
    story.check([("new", *row) for row in schedule], money=("100.00", "0.00", "100.00"),
                **mine)

    story.pay_from_balance(order)
    held = [("blocked", *row) for row in schedule]
    story.check(held, money=("100.00", "60.00", "40.00"), **mine)

    story.run_due_jobs()  # provisioning: the plan has no service, so it completes at once
    assert story.get_order(order["id"])["status"] == "completed"
    assert story.subscription(order["subscription_id"])["status"] == "active"
    story.check(held, money=("100.00", "60.00", "40.00"), **mine)

    story.on(date(2026, 11, 30))  # the day before the financial day: nothing is due
    story.check(held, money=("100.00", "60.00", "40.00"), **mine)

    story.on(date(2026, 12, 1))
    story.check([("closed", *schedule[0]), *held[1:]], money=("78.70", "38.70", "40.00"),
                **mine)
    story.on(date(2027, 1, 1))
    story.check([("closed", *row) for row in schedule[:2]] + held[2:],
                money=("48.70", "8.70", "40.00"), **mine)
    story.on(date(2027, 1, 9))
    story.check([("closed", *row) for row in schedule], money=("40.00", "0.00", "40.00"),
                **mine)

    # TRX-5: one debit per closed charge, described as the charge, with the running balance.
    ledger = story.api.get(f"/transactions?client_id={story.client_id}").get_json()["items"]
    assert [(t["change"], t["balance_after"]) for t in ledger] == [
        ("-8.70", "40.00"), ("-30.00", "48.70"), ("-21.30", "78.70"), ("100.00", "100.00")]
    closed = story.api.get(f"/charges?order_id={order['id']}").get_json()["items"]
    assert [t["charge_id"] for t in ledger[:3]] == [c["id"] for c in reversed(closed)]
    assert [t["description"] for t in ledger[:3]] == [c["description"] for c in reversed(closed)]


# -- 2. WE-6 --------------------------------------------------------------------------------------

def test_we6_twelve_month_preorder_has_thirteen_charges_adding_up_to_the_order(story):
    """12 months from 10.11.2026 at P·Q = 8.35: 0.700 → 5.85 corrected to 5.84, eleven full
    months, 0.300 → 2.51 closing on the last day; Σ 100.20 (04a WE-6, D3)."""
    plan = story.plan(months=12, fee="8.35")
    order = story.order(plan)
    assert order["total"] == "100.20"
    months = [date(2026, 12, 1)] + [date(2027, m, 1) for m in range(1, 12)]
    schedule = [("2026-11-10", "2026-11-30", "0.700", "5.84", "2026-12-01")]
    for first, following in zip(months, months[1:], strict=False):
        schedule.append((first.isoformat(), (following - timedelta(days=1)).isoformat(),
                         "1.000", "8.35", following.isoformat()))
    schedule.append(("2027-11-01", "2027-11-09", "0.300", "2.51", "2027-11-09"))
    assert len(schedule) == 13
    mine = {"order_id": order["id"]}
    story.check([("new", *row) for row in schedule], money=("0.00", "0.00", "0.00"), **mine)

    story.top_up("200.00")
    story.pay_from_balance(order)
    story.check([("blocked", *row) for row in schedule], money=("200.00", "100.20", "99.80"),
                **mine)

    story.on(date(2026, 12, 1))
    story.check([("closed", *schedule[0])] + [("blocked", *row) for row in schedule[1:]],
                money=("194.16", "94.36", "99.80"), **mine)
    story.on(date(2027, 11, 8))
    story.check([("closed", *row) for row in schedule[:12]] + [("blocked", *schedule[12])],
                money=("102.31", "2.51", "99.80"), **mine)
    story.on(date(2027, 11, 9))
    story.check([("closed", *row) for row in schedule], money=("99.80", "0.00", "99.80"),
                **mine)


# -- 3. Renewal -----------------------------------------------------------------------------------

def _monthly_subscription(story, *, top_up: str, **rule_fields):
    """A 1-month plan at 30.00 ordered and paid on 10.11.2026: 21.30 + 8.70, expiry 09.12."""
    plan = story.plan(months=1, fee="30.00", **rule_fields)
    order = story.order(plan)
    story.top_up(top_up)
    story.pay_from_balance(order)
    story.run_due_jobs()
    return order, order["subscription_id"]


FIRST_TERM = [("2026-11-10", "2026-11-30", "0.700", "21.30", "2026-12-01"),
              ("2026-12-01", "2026-12-09", "0.290", "8.70", "2026-12-09")]
SECOND_TERM = [("2026-12-10", "2026-12-31", "0.710", "21.30", "2027-01-01"),
               ("2027-01-01", "2027-01-09", "0.290", "8.70", "2027-01-09")]


def test_automatic_renewal_is_paid_from_the_balance_on_the_expiry_day(story):
    order, subscription_id = _monthly_subscription(story, top_up="100.00")
    changed = story.api.patch(f"/subscriptions/{subscription_id}",
                              json={"auto_renew": True, "auto_renew_point_days": 0})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["auto_renew"], changed.get_json()["auto_renew_point_days"]) == (
        True, 0)
    whole = {"subscription_id": subscription_id}
    story.check([("blocked", *row) for row in FIRST_TERM], money=("100.00", "30.00", "70.00"),
                **whole)

    story.on(date(2026, 12, 8))  # renewal point 0: nothing before the expiry day
    assert story.api.get(f"/orders?subscription_id={subscription_id}&order_type=renewal_order"
                         ).get_json()["total"] == 0
    story.check([("closed", *FIRST_TERM[0]), ("blocked", *FIRST_TERM[1])],
                money=("78.70", "8.70", "70.00"), **whole)

    story.on(date(2026, 12, 9))
    renewals = story.api.get(f"/orders?subscription_id={subscription_id}"
                             f"&order_type=renewal_order").get_json()["items"]
    assert [(r["status"], r["total"], r["covers_from"], r["covers_to"]) for r in renewals] == [
        ("completed", "30.00", "2026-12-10", "2027-01-09")]
    assert renewals[0]["payment"]["status"] == "paid_from_balance"
    # 04a CH-25: a pre-order renewal's recurring charges are held for the whole new term.
    story.check([("closed", *row) for row in FIRST_TERM]
                + [("blocked", *row) for row in SECOND_TERM],
                money=("70.00", "30.00", "40.00"), **whole)
    subscription = story.subscription(subscription_id)
    # D1: the next term is anchored on the first day (10.12.2026 − 1 day → 09.01.2027).
    assert (subscription["status"], subscription["expiry_date"],
            subscription["prolonged_until"]) == ("active", "2027-01-09", "2027-01-09")

    story.on(date(2027, 1, 1))
    story.check([("closed", *row) for row in FIRST_TERM]
                + [("closed", *SECOND_TERM[0]), ("blocked", *SECOND_TERM[1])],
                money=("48.70", "8.70", "40.00"), **whole)


def test_unpaid_renewal_stops_the_subscription_then_deletes_it_after_the_block_period(story):
    order, subscription_id = _monthly_subscription(story, top_up="30.00",
                                                   unpaid_stop_after_days=0,
                                                   block_period_days=3)
    story.api.patch(f"/subscriptions/{subscription_id}",
                    json={"auto_renew": True, "auto_renew_point_days": 0})
    whole = {"subscription_id": subscription_id}
    story.check([("blocked", *row) for row in FIRST_TERM], money=("30.00", "30.00", "0.00"),
                **whole)

    story.on(date(2026, 12, 9))  # the renewal order is made, but 0.00 is available
    renewal, = story.api.get(f"/orders?subscription_id={subscription_id}"
                             f"&order_type=renewal_order").get_json()["items"]
    assert (renewal["status"], renewal["total"]) == ("waiting_for_payment", "30.00")
    story.check([("closed", *row) for row in FIRST_TERM] + [("new", *row) for row in SECOND_TERM],
                money=("0.00", "0.00", "0.00"), **whole)
    assert story.subscription(subscription_id)["status"] == "active"

    story.on(date(2026, 12, 10))  # unpaid-stop 0: stopped the day after expiry
    assert story.get_order(renewal["id"])["status"] == "cancelled"  # its expiry day passed
    story.check([("closed", *row) for row in FIRST_TERM]
                + [("deleted", *row) for row in SECOND_TERM],
                money=("0.00", "0.00", "0.00"), **whole)
    subscription = story.subscription(subscription_id)
    assert (subscription["status"], subscription["unpaid_since"]) == ("stopped", "2026-12-10")

    story.on(date(2026, 12, 12))
    assert story.subscription(subscription_id)["status"] == "stopped"
    story.on(date(2026, 12, 13))  # block period 3 days after the stop: deleted
    assert story.subscription(subscription_id)["status"] == "deleted"
    story.check([("closed", *row) for row in FIRST_TERM]
                + [("deleted", *row) for row in SECOND_TERM],
                money=("0.00", "0.00", "0.00"), **whole)


# -- 4. Stop, activate, delete, decrease ----------------------------------------------------------

WE2 = [("2026-11-10", "2026-11-30", "0.700", "21.30", "2026-12-01"),
       ("2026-12-01", "2026-12-31", "1.000", "30.00", "2027-01-01"),
       ("2027-01-01", "2027-01-09", "0.290", "8.70", "2027-01-09")]


def test_stop_and_activate_move_no_money_and_delete_splits_the_current_charge(story):
    plan = story.plan(months=2, fee="30.00", services=[make_service(story.reseller)])
    order = story.order(plan)
    story.top_up("100.00")
    story.pay_from_balance(order)
    subscription_id = order["subscription_id"]
    assert story.subscription(subscription_id)["status"] == "installing"
    story.run_due_jobs()  # the simulated vendor installs it
    assert story.subscription(subscription_id)["status"] == "active"
    held = [("blocked", *row) for row in WE2]
    whole = {"subscription_id": subscription_id}
    story.check(held, money=("100.00", "60.00", "40.00"), **whole)

    story.on(date(2026, 11, 15))
    answer = story.action(subscription_id, "stop", {"reason": "client asked",
                                                   "comment": "holiday"})
    assert (answer["subscription"]["status"], answer["order"]) == ("stopping", None)
    story.check(held, money=("100.00", "60.00", "40.00"), **whole)  # pre-order: no change
    story.run_due_jobs()
    assert story.subscription(subscription_id)["status"] == "stopped"
    story.check(held, money=("100.00", "60.00", "40.00"), **whole)

    story.on(date(2026, 11, 16))
    answer = story.action(subscription_id, "activate", {"reason": "back"})
    assert answer["subscription"]["status"] == "activating"
    story.check(held, money=("100.00", "60.00", "40.00"), **whole)
    story.run_due_jobs()
    assert story.subscription(subscription_id)["status"] == "active"
    story.check(held, money=("100.00", "60.00", "40.00"), **whole)

    story.on(date(2026, 12, 1))
    story.check([("closed", *WE2[0]), *held[1:]], money=("78.70", "38.70", "40.00"), **whole)

    story.on(date(2026, 12, 20))
    answer = story.action(subscription_id, "delete")
    assert (answer["subscription"]["status"], answer["order"]) == ("deleting", None)
    # 04a CH-43: the current charge is replaced by the used part 01.12–20.12 (20/31 = 0.645
    # → 19.35, the deletion day included), closed today; the later one is deleted; the rest
    # of the hold is released and only the used part is debited.
    after = [("closed", *WE2[0]), ("deleted", *WE2[1]), ("deleted", *WE2[2]),
             ("closed", "2026-12-01", "2026-12-20", "0.645", "19.35", "2026-12-20")]
    story.check(after, money=("59.35", "0.00", "59.35"), **whole)
    story.run_due_jobs()
    assert story.subscription(subscription_id)["status"] == "deleted"
    story.check(after, money=("59.35", "0.00", "59.35"), **whole)
    refused(story.api.post(f"/subscriptions/{subscription_id}/stop", json={"reason": "x"}),
            409, code="status_conflict")


def test_a5_decrease_closes_the_used_part_releases_the_refund_and_holds_the_rest(story):
    """10 additional units × 30.00 from 01.04.2027 (April: 30 days), FD 1; on 10.04 down to 6:
    closed 99.90, refunded 80.04 (released, no transaction), held 120.06; May re-made at 6."""
    story.on(date(2027, 4, 1))
    plan = story.plan(months=2, fee="0.00", resources=[
        {"name": "Seats", "included": "0", "minimum": "1", "limit": "20",
         "monthly_fee": "30.00"}])
    seats = plan.resource_ids[0]
    order = story.order(plan, resources={seats: 10})
    assert order["total"] == "600.00"
    story.top_up("600.00")
    story.pay_from_balance(order)
    story.run_due_jobs()
    subscription_id = order["subscription_id"]
    whole = {"subscription_id": subscription_id}
    april = ("2027-04-01", "2027-04-30", "1.000", "300.00", "2027-05-01")
    may = ("2027-05-01", "2027-05-31", "1.000", "300.00", "2027-05-31")
    story.check([("blocked", *april), ("blocked", *may)], money=("600.00", "600.00", "0.00"),
                **whole)

    story.on(date(2027, 4, 10))
    answer = story.action(subscription_id, "change-resources", {"resources": {str(seats): 6}})
    change = answer["order"]
    assert (change["order_type"], change["total"], change["payment"]) == (
        "change_order", "0.00", None)
    after = [("deleted", *april), ("deleted", *may),
             ("closed", "2027-04-01", "2027-04-10", "0.333", "99.90", "2027-04-10"),
             ("refunded", "2027-04-11", "2027-04-30", "0.667", "80.04", "2027-04-10"),
             ("blocked", "2027-04-11", "2027-04-30", "0.667", "120.06", "2027-05-01"),
             ("blocked", "2027-05-01", "2027-05-31", "1.000", "180.00", "2027-05-31")]
    story.check(after, money=("500.10", "300.06", "200.04"), **whole)
    refund = story.api.get(f"/charges?subscription_id={subscription_id}&status=refunded"
                           ).get_json()["items"]
    assert [(c["quantity"], c["transaction_id"]) for c in refund] == [("4", None)]  # D5
    story.run_due_jobs()
    subscription = story.subscription(subscription_id)
    assert subscription["status"] == "active"
    assert [(r["additional"], r["total"]) for r in subscription["resources"]] == [("6", "6")]
    assert story.get_order(change["id"])["status"] == "completed"
    story.check(after, money=("500.10", "300.06", "200.04"), **whole)

    story.on(date(2027, 5, 1))
    closed = [after[0], after[1], after[2], after[3], ("closed", *after[4][1:]), after[5]]
    story.check(closed, money=("380.04", "180.00", "200.04"), **whole)


# -- 5. Bad input ---------------------------------------------------------------------------------

def test_bad_input_is_refused_naming_the_rule_and_changes_nothing(story, db):
    plan = story.plan(months=2, fee="30.00", resources=[
        {"name": "Licences", "included": "1", "minimum": "1", "limit": "10",
         "monthly_fee": "10.00"}],
        periods=[{"duration": 2, "duration_unit": "month", "monthly_fee": "30.00"},
                 {"duration": 1, "duration_unit": "year", "monthly_fee": "25.00",
                  "published": False}])
    licences = str(plan.resource_ids[0])
    order = story.order(plan, resources={licences: 2})
    story.top_up("100.00")
    story.pay_from_balance(order)
    story.run_due_jobs()
    subscription_id = order["subscription_id"]
    api = story.api

    def unchanged(response, status, **expect):
        before = story.snapshot()
        refused(response(), status, **expect)
        assert story.snapshot() == before

    base = {"client_id": story.client_id, "plan_id": plan.id, "period_id": plan.period_ids[0]}
    # 02 R-ORD-15/16: a quantity outside [minimum, limit].
    unchanged(lambda: api.post("/orders", json={**base, "resources": {licences: 11}}), 422,
              fields=[f"resources.{licences}"], says=("Licences", "10"))
    unchanged(lambda: api.post("/orders", json={**base, "resources": {licences: 0}}), 422,
              fields=[f"resources.{licences}"], says=("Licences", "1"))
    # A period that is not published cannot be ordered.
    unchanged(lambda: api.post("/orders", json={**base, "period_id": plan.period_ids[1]}), 422,
              fields=["period_id"])
    # A trial on a plan that has none.
    unchanged(lambda: api.post("/orders", json={"client_id": story.client_id,
                                                "plan_id": plan.id, "trial": True}), 422,
              fields=["trial"])
    # 03 ORD-2: one open order per subscription.
    increase = story.action(subscription_id, "change-resources",
                            {"resources": {licences: 4}})["order"]
    assert (increase["status"], increase["payment"]["status"]) == (
        "waiting_for_payment", "waiting_for_payment")
    unchanged(lambda: api.post(f"/subscriptions/{subscription_id}/change-resources",
                               json={"resources": {licences: 5}}), 409,
              says=(increase["number"],))
    unchanged(lambda: api.post(f"/subscriptions/{subscription_id}/renew"), 409,
              says=(increase["number"],))
    # A payment larger than the order.
    unchanged(lambda: api.post(f"/payments/{increase['payment']['id']}/complete",
                               json={"amount": "1000.00"}), 422, fields=["amount"],
              says=(increase["payment"]["total"],))
    api.post(f"/orders/{increase['id']}/cancel")
    # Below the resource minimum.
    unchanged(lambda: api.post(f"/subscriptions/{subscription_id}/change-resources",
                               json={"resources": {licences: 0}}), 422,
              fields=[f"resources.{licences}"], says=("Licences", "1"))
    # A negative top-up (and zero, and a float).
    for amount in ("-5.00", "0", 12.5):
        unchanged(lambda amount=amount: api.post("/payments", json={
            "client_id": story.client_id, "amount": amount}), 422, fields=["amount"])
    # Stopping a deleted subscription is a state conflict.
    story.action(subscription_id, "delete")
    story.run_due_jobs()
    unchanged(lambda: api.post(f"/subscriptions/{subscription_id}/stop",
                               json={"reason": "late"}), 409, code="status_conflict")
    unchanged(lambda: api.post(f"/subscriptions/{subscription_id}/prolong"), 422,
              code="not_available")
    unchanged(lambda: api.post(f"/subscriptions/{subscription_id}/switch-plan", json={
        "plan_id": plan.id, "period_id": plan.period_ids[0]}), 409, code="status_conflict")


# -- 6. Late payment ------------------------------------------------------------------------------

def test_an_order_paid_later_is_billed_from_the_payment_day(story):
    """04a CH-27/CH-28, A-13: ordered 10.11, paid 12.11: the term runs 12.11.2026–11.01.2027,
    the first charge is 12.11–30.11 (19/30 = 0.633), the order total stays 60.00."""
    plan = story.plan(months=2, fee="30.00")
    order = story.order(plan)
    # The client's rule cancels unpaid orders the next day: give it until the 15th.
    extended = story.api.post(f"/orders/{order['id']}/expiry",
                              json={"expires_on": "2026-11-15", "comment": "paying by bank"})
    assert extended.get_json()["expires_on"] == "2026-11-15"
    mine = {"order_id": order["id"]}
    planned = [("2026-11-10", "2026-11-30", "0.700", "21.30", "2026-12-01"),
               ("2026-12-01", "2026-12-31", "1.000", "30.00", "2027-01-01"),
               ("2027-01-01", "2027-01-09", "0.290", "8.70", "2027-01-09")]
    story.check([("new", *row) for row in planned], money=("0.00", "0.00", "0.00"), **mine)

    story.on(date(2026, 11, 12))
    assert story.get_order(order["id"])["status"] == "waiting_for_payment"
    story.check([("new", *row) for row in planned], money=("0.00", "0.00", "0.00"), **mine)
    story.top_up("100.00")
    story.pay_from_balance(order)
    rebuilt = [("2026-11-12", "2026-11-30", "0.633", "19.35", "2026-12-01"),
               ("2026-12-01", "2026-12-31", "1.000", "30.00", "2027-01-01"),
               ("2027-01-01", "2027-01-11", "0.355", "10.65", "2027-01-11")]
    story.check([("deleted", *row) for row in planned] + [("blocked", *row) for row in rebuilt],
                money=("100.00", "60.00", "40.00"), **mine)
    paid = story.get_order(order["id"])
    assert (paid["total"], paid["covers_from"], paid["covers_to"]) == (
        "60.00", "2026-11-12", "2027-01-11")
    subscription = story.subscription(order["subscription_id"])
    assert (subscription["start_date"], subscription["expiry_date"]) == (
        "2026-11-12", "2027-01-11")

    story.on(date(2027, 1, 11))
    story.check([("deleted", *row) for row in planned] + [("closed", *row) for row in rebuilt],
                money=("40.00", "0.00", "40.00"), **mine)


# -- 7. Provisioning failure ----------------------------------------------------------------------

def test_a_failed_installation_is_visible_and_a_rerun_completes_without_moving_money(story, db):
    service = make_service(story.reseller)
    service.settings = {"fail_always": ["install"]}
    service_id = service.id
    plan = story.plan(months=2, fee="30.00", services=[service])
    order = story.order(plan)
    story.top_up("100.00")
    story.pay_from_balance(order)
    held = [("blocked", *row) for row in WE2]
    mine = {"order_id": order["id"]}

    story.check(held, money=("100.00", "60.00", "40.00"), **mine)
    story.run_due_jobs()  # attempt 1 is sent and fails; the retries wait 1, 5 and 30 minutes
    assert story.get_order(order["id"])["status"] == "provisioning"
    story.check(held, money=("100.00", "60.00", "40.00"), **mine)
    for minutes in (1, 5, 30):
        story.later(minutes=minutes)
        story.check(held, money=("100.00", "60.00", "40.00"), **mine)
    failed = story.get_order(order["id"])
    assert failed["status"] == "activation_error"
    assert "refused to install" in failed["last_error"]
    subscription = story.subscription(order["subscription_id"])
    assert subscription["status"] == "install_error"
    story.check(held, money=("100.00", "60.00", "40.00"), **mine)
    ledger = story.api.get(f"/transactions?client_id={story.client_id}").get_json()["total"]

    # The vendor is fixed; the operator runs the task again from the task queue (03 TSK-2).
    db.session.get(ServiceTemplate, service_id).settings = {}
    task = db.session.scalar(select(Task).where(Task.order_id == order["id"]))
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 4)
    rerun_task(task, actor=None)
    db.session.commit()
    story.run_due_jobs()
    done = story.get_order(order["id"])
    assert (done["status"], done["last_error"]) == ("completed", None)
    assert story.subscription(order["subscription_id"])["status"] == "active"
    story.check(held, money=("100.00", "60.00", "40.00"), **mine)
    assert story.api.get(f"/transactions?client_id={story.client_id}").get_json()["total"] \
        == ledger
