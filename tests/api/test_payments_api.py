"""/api/v1/payments: top-ups, completing a payment as money received or from the balance,
cancelling, list and get (03 §2.6, §3.2, PAY-8..PAY-14; API.md "payments")."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.billing.models import Transaction
from portal.billing.services.ledger import ledger_problems
from portal.clients.models import Client
from portal.orders.models import Payment
from tests.api.conftest import assert_error
from tests.api.test_orders_api import alpha, place, shop, top_up  # noqa: F401 - fixtures


def money_of(alpha, client_id: int) -> tuple[str, str, str]:
    client = alpha.get(f"/clients/{client_id}").get_json()
    return client["balance"], client["blocked_amount"], client["available"]


def ledger_ok(db, client_id: int) -> None:
    db.session.expire_all()
    assert ledger_problems(db.session.get(Client, client_id)) == []


def payments_count(db) -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Payment.id))),
            db.session.scalar(select(func.count(Transaction.id))))


# -- top-ups ---------------------------------------------------------------------------------

def test_a_top_up_waits_for_payment_then_credits_the_balance(alpha, shop, db):
    response = alpha.post("/payments", json={"client_id": shop.customer_id, "amount": "150.50",
                                             "comment": "invoice 17"})
    assert response.status_code == 201
    payment = response.get_json()
    assert (payment["kind"], payment["status"], payment["total"], payment["currency"]) == (
        "balance_topup", "waiting_for_payment", "150.50", "RUB")
    assert (payment["comment"], payment["balance_after"], payment["closed_at"]) == (
        "invoice 17", None, None)
    assert money_of(alpha, shop.customer_id) == ("0.00", "0.00", "0.00")

    done = alpha.post(f"/payments/{payment['id']}/complete", json={"method": "bank_transfer"})
    assert done.status_code == 200
    completed = done.get_json()
    assert (completed["status"], completed["payment_method"], completed["balance_after"]) == (
        "completed", "bank_transfer", "150.50")
    assert completed["closed_at"]
    assert money_of(alpha, shop.customer_id) == ("150.50", "0.00", "150.50")
    ledger = alpha.get(f"/transactions?client_id={shop.customer_id}").get_json()["items"]
    assert [(t["kind"], t["change"], t["balance_after"], t["payment_id"]) for t in ledger] == [
        ("payment", "150.50", "150.50", payment["id"])]
    ledger_ok(db, shop.customer_id)
    # Completing it again is a state conflict; the money came in once.
    assert_error(alpha.post(f"/payments/{payment['id']}/complete", json={}), 409,
                 code="status_conflict")
    assert money_of(alpha, shop.customer_id) == ("150.50", "0.00", "150.50")


@pytest.mark.parametrize("amount", ["-5.00", "0", "0.00", 12.5, "1.001", "abc", "NaN",
                                    "Infinity", "1e400", True, [], {"v": 1}, "", None, "\x00"])
def test_a_bad_top_up_amount_is_refused(alpha, shop, db, amount):
    before = payments_count(db)
    assert_error(alpha.post("/payments", json={"client_id": shop.customer_id,
                                               "amount": amount}), 422, fields=["amount"])
    assert payments_count(db) == before


def test_a_top_up_names_a_client_of_this_reseller(alpha, shop, db):
    before = payments_count(db)
    assert_error(alpha.post("/payments", json={"client_id": shop.beta_client_id,
                                               "amount": "10.00"}), 422, fields=["client_id"])
    assert_error(alpha.post("/payments", json={"amount": "10.00"}), 422, fields=["client_id"])
    assert_error(alpha.post("/payments", json={"client_id": "1", "amount": "10.00"}), 422,
                 fields=["client_id"])
    assert payments_count(db) == before


def test_a_top_up_cannot_be_paid_from_the_balance(alpha, shop, db):
    payment = alpha.post("/payments", json={"client_id": shop.customer_id,
                                            "amount": "10.00"}).get_json()
    assert_error(alpha.post(f"/payments/{payment['id']}/complete",
                            json={"from_balance": True}), 422, fields=["method"])
    assert_error(alpha.post(f"/payments/{payment['id']}/complete",
                            json={"from_balance": "yes"}), 422, fields=["from_balance"])
    assert alpha.get(f"/payments/{payment['id']}").get_json()["status"] == "waiting_for_payment"


# -- an order's payment ----------------------------------------------------------------------

def test_paying_an_order_from_the_balance_needs_the_money_available(alpha, shop, db):
    order = place(alpha, shop)  # 65.00
    path = f"/payments/{order['payment']['id']}/complete"
    before = payments_count(db)
    error = assert_error(alpha.post(path, json={"from_balance": True}), 422,
                         code="insufficient_funds")
    assert "65.00" in error["message"]
    assert payments_count(db) == before
    assert alpha.get(f"/orders/{order['id']}").get_json()["status"] == "waiting_for_payment"

    top_up(alpha, shop.customer_id, "100.00")
    response = alpha.post(path, json={"from_balance": True})
    assert response.status_code == 200
    payment = response.get_json()
    assert (payment["status"], payment["payment_method"], payment["order_ids"]) == (
        "paid_from_balance", "balance", [order["id"]])
    # 03 P8 / A20: no second debit: the setup fee closes, the recurring fees are held.
    assert money_of(alpha, shop.customer_id) == ("95.00", "60.00", "35.00")
    assert alpha.get(f"/orders/{order['id']}").get_json()["status"] == "completed"
    statuses = {(c["charge_type"], c["status"]) for c in alpha.get(
        f"/charges?order_id={order['id']}").get_json()["items"]}
    assert statuses == {("setup_fee", "closed"), ("recurring_fee", "blocked")}
    ledger_ok(db, shop.customer_id)


def test_an_order_payment_received_as_money_credits_then_holds(alpha, shop, db):
    order = place(alpha, shop)
    path = f"/payments/{order['payment']['id']}/complete"
    before = payments_count(db)
    for amount, says in (("65.01", "65.00"), ("64.99", "65.00"), (65.5, ""), ("-1", "")):
        error = assert_error(alpha.post(path, json={"amount": amount}), 422, fields=["amount"])
        assert says in error["fields"]["amount"][0]
    assert payments_count(db) == before
    response = alpha.post(path, json={"amount": "65.00", "method": "card"})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["balance_after"]) == (
        "completed", "65.00")
    assert money_of(alpha, shop.customer_id) == ("60.00", "60.00", "0.00")
    ledger_ok(db, shop.customer_id)


def test_cancelling_payments(alpha, shop, db):
    topup = alpha.post("/payments", json={"client_id": shop.customer_id,
                                          "amount": "10.00"}).get_json()
    cancelled = alpha.post(f"/payments/{topup['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    assert_error(alpha.post(f"/payments/{topup['id']}/cancel"), 409, code="status_conflict")
    assert_error(alpha.post(f"/payments/{topup['id']}/complete", json={}), 409,
                 code="status_conflict")
    # 03 O9: an order's payment cancelled cancels its order.
    order = place(alpha, shop)
    alpha.post(f"/payments/{order['payment']['id']}/cancel")
    assert alpha.get(f"/orders/{order['id']}").get_json()["status"] == "cancelled"
    assert money_of(alpha, shop.customer_id) == ("0.00", "0.00", "0.00")


# -- list, get -------------------------------------------------------------------------------

def test_list_filters_payments(alpha, shop, db):
    order = place(alpha, shop)
    topup = top_up(alpha, shop.other_id, "20.00")

    def ids(query=""):
        response = alpha.get(f"/payments?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    everything = ids()
    assert everything == sorted([order["payment"]["id"], topup["id"]])
    assert ids(f"client_id={shop.other_id}") == [topup["id"]]
    assert ids("kind=order_payment") == [order["payment"]["id"]]
    assert ids("status=completed") == [topup["id"]]
    assert ids("status=waiting_for_payment&kind=balance_topup") == []
    assert ids("sort=-id") == list(reversed(everything))
    assert_error(alpha.get("/payments?kind=gift"), 422, fields=["kind"])
    payment = alpha.get(f"/payments/{order['payment']['id']}").get_json()
    assert (payment["kind"], payment["order_ids"], payment["total"]) == (
        "order_payment", [order["id"]], "65.00")
    assert_error(alpha.get("/payments/999999"), 404)


def test_odd_json_never_breaks_a_payment(alpha, shop):
    order = place(alpha, shop)
    for value in (True, 2**63, 1.5, "\x00", [], {"a": 1}, -1, ""):
        for body in ({"client_id": value, "amount": "5"},
                     {"client_id": shop.customer_id, "amount": "5", "comment": value},
                     {"client_id": shop.customer_id, "amount": "5", "manager_id": value}):
            response = alpha.post("/payments", json=body)
            assert response.status_code in (201, 422), (body, response.get_json())
        for body in ({"from_balance": value}, {"amount": value}, {"method": value}):
            response = alpha.post(f"/payments/{order['payment']['id']}/complete", json=body)
            assert response.status_code in (200, 409, 422), (body, response.get_json())
