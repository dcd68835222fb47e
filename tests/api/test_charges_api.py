"""/api/v1/charges and /api/v1/transactions: the charges with their paid period (operate_to
inclusive, D1), period in months with three decimals, money as strings; a client's ledger
with the running balance, newest first (04a §2.1, 04b §4.13; API.md "charges",
"transactions")."""

from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import assert_error
from tests.api.test_orders_api import alpha, paid_order, place, shop, top_up  # noqa: F401

CHARGE_FIELDS = {"id", "client_id", "subscription_id", "subscription_resource_id", "order_id",
                 "source_charge_id", "charge_type", "related_operation", "description",
                 "status", "operate_from", "operate_to", "period", "quantity", "unit_price",
                 "gross", "discount", "tax", "amount", "currency", "created_at", "close_date",
                 "billed_at", "transaction_id"}


def items(alpha, path: str) -> list[dict]:
    response = alpha.get(path)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_charges_of_a_paid_order(alpha, shop):
    """22.11.2026, 2 months, FD 1: 22.11–30.11 (9/30), December, 01.01–21.01 (21/31, with
    the D3 correction), each for the service and the additional licences, plus the two setup
    fees for the plan period (04a §4.3), closed at payment."""
    order = paid_order(alpha, shop, resources={str(shop.licences): 3})
    charges = items(alpha, f"/charges?order_id={order['id']}&per_page=100")
    assert all(set(c) == CHARGE_FIELDS for c in charges)
    rows = [(c["charge_type"], c["related_operation"], c["status"], c["operate_from"],
             c["operate_to"], c["period"], c["quantity"], c["unit_price"], c["amount"],
             c["close_date"]) for c in charges]
    assert rows == [
        ("recurring_fee", "service_purchase", "blocked", "2026-11-22", "2026-11-30", "0.300",
         "1", "30.00", "9.00", "2026-12-01"),
        ("recurring_fee", "service_purchase", "blocked", "2026-12-01", "2026-12-31", "1.000",
         "1", "30.00", "30.00", "2027-01-01"),
        ("recurring_fee", "service_purchase", "blocked", "2027-01-01", "2027-01-21", "0.677",
         "1", "30.00", "21.00", "2027-01-21"),
        ("setup_fee", "service_purchase", "closed", "2026-11-22", "2027-01-21", "2.000", "1",
         "5.00", "5.00", "2026-11-22"),
        ("recurring_fee", "resource_increase", "blocked", "2026-11-22", "2026-11-30", "0.300",
         "2", "10.00", "6.00", "2026-12-01"),
        ("recurring_fee", "resource_increase", "blocked", "2026-12-01", "2026-12-31", "1.000",
         "2", "10.00", "20.00", "2027-01-01"),
        ("recurring_fee", "resource_increase", "blocked", "2027-01-01", "2027-01-21", "0.677",
         "2", "10.00", "14.00", "2027-01-21"),
        ("setup_fee", "resource_increase", "closed", "2026-11-22", "2027-01-21", "2.000", "2",
         "2.00", "4.00", "2026-11-22"),
    ]
    # D3: the charges add up to the order, to the cent.
    assert sum(Decimal(c["amount"]) for c in charges) == Decimal(order["total"])
    assert all((c["discount"], c["tax"], c["currency"]) == ("0.00", "0.00", "RUB")
               for c in charges)
    # 04a CH-6: only a closed charge carries a transaction.
    ledger = items(alpha, f"/transactions?client_id={shop.customer_id}")
    debits = {t["charge_id"]: t for t in ledger if t["charge_id"]}
    for charge in charges:
        if charge["status"] == "closed":
            assert debits[charge["id"]]["id"] == charge["transaction_id"]
            assert charge["billed_at"] == "2026-11-22"
        else:
            assert charge["transaction_id"] is None and charge["billed_at"] is None
    resource_charges = [c for c in charges if c["subscription_resource_id"] is not None]
    assert len(resource_charges) == 4
    assert all("Licences" in c["description"] for c in resource_charges)
    assert "22.11.2026" in charges[0]["description"] and "30.11.2026" in charges[0]["description"]


def test_charges_filters_and_sorting(alpha, shop):
    first = paid_order(alpha, shop)
    second = place(alpha, shop, client_id=shop.other_id)

    def ids(query):
        return [c["id"] for c in items(alpha, f"/charges?per_page=500&{query}")]

    everything = ids("")
    assert everything == sorted(everything) and len(everything) == 8
    assert set(ids(f"client_id={shop.other_id}")) == set(ids(f"order_id={second['id']}"))
    assert set(ids(f"subscription_id={first['subscription_id']}")) == set(
        ids(f"order_id={first['id']}"))
    assert len(ids(f"order_id={first['id']}&status=blocked")) == 3
    assert len(ids("status=new")) == 4
    assert ids("charge_type=setup_fee&status=closed") == ids(
        f"order_id={first['id']}&charge_type=setup_fee")
    assert ids("charge_type=usage") == []
    assert ids("sort=-id") == list(reversed(everything))
    assert [c["operate_from"] for c in items(alpha, "/charges?sort=operate_from&per_page=500")
            ] == sorted(c["operate_from"] for c in items(alpha, "/charges?per_page=500"))
    for bad in ("status=paid", "charge_type=fee", "client_id=x", "order_id=0",
                "sort=amount"):
        assert_error(alpha.get(f"/charges?{bad}"), 422)


def test_other_resellers_charges_and_ledgers_are_hidden(api, alpha, shop):
    order = paid_order(alpha, shop)
    beta = api.as_(shop.beta_token)
    assert beta.get("/charges").get_json()["total"] == 0
    assert beta.get(f"/charges?order_id={order['id']}").get_json()["items"] == []
    assert_error(beta.get(f"/transactions?client_id={shop.customer_id}"), 404,
                 code="not_found")


def test_the_ledger_runs_newest_first_with_the_balance_after_each_movement(alpha, shop):
    top_up(alpha, shop.customer_id, "50.00")
    order = paid_order(alpha, shop, top="100.00")  # setup fee 5.00 closed at payment
    ledger = items(alpha, f"/transactions?client_id={shop.customer_id}")
    assert [(t["kind"], t["change"], t["balance_after"]) for t in ledger] == [
        ("charge", "-5.00", "145.00"), ("payment", "100.00", "150.00"),
        ("payment", "50.00", "50.00")]
    assert ledger[0]["charge_id"] and ledger[0]["payment_id"] is None
    assert ledger[1]["payment_id"] and ledger[1]["charge_id"] is None
    assert all(t["currency"] == "RUB" and t["created_at"] for t in ledger)
    assert [t["id"] for t in items(alpha, f"/transactions?client_id={shop.customer_id}"
                                          "&sort=id")] == [t["id"] for t in reversed(ledger)]
    client = alpha.get(f"/clients/{shop.customer_id}").get_json()
    assert (client["balance"], client["blocked_amount"], client["available"]) == (
        "145.00", "60.00", "85.00")
    assert items(alpha, f"/transactions?client_id={shop.other_id}") == []
    assert order["status"] == "completed"


def test_the_ledger_needs_a_client(alpha, shop):
    assert_error(alpha.get("/transactions"), 422, fields=["client_id"])
    assert_error(alpha.get("/transactions?client_id=abc"), 422, fields=["client_id"])
    assert_error(alpha.get("/transactions?client_id=999999"), 404)
    assert_error(alpha.get(f"/transactions?client_id={shop.customer_id}&sort=change"), 422,
                 fields=["sort"])


def test_roles(api, shop):
    manager = api.as_(shop.pm_token)  # a product manager has no finance sections
    assert_error(manager.get("/charges"), 403)
    assert_error(manager.get(f"/transactions?client_id={shop.customer_id}"), 403)
    assert_error(api.get("/charges"), 401)
