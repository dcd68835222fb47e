"""Standard splits on deletion and on a resource decrease (04a §4.11, A-5, A-11): no database."""

from datetime import date
from decimal import Decimal

import pytest

from portal.billing.engine.splits import ChargeView, split_on_decrease, split_on_delete


def d(text: str) -> date:
    day, month, year = (int(piece) for piece in text.split("."))
    return date(year, month, day)


def view(charge_id: int, first: str, last: str, period: str, amount: str, *, close: str,
         status: str = "blocked", quantity: str = "1", price: str = "30.00",
         discount: str = "0.00", kind: str = "recurring", key: str = "service") -> ChargeView:
    return ChargeView(id=charge_id, line_key=key, fee_kind=kind, status=status,
                      operate_from=d(first), operate_to=d(last), period=Decimal(period),
                      quantity=Decimal(quantity), unit_price=Decimal(price),
                      gross=Decimal(amount) + Decimal(discount), discount=Decimal(discount),
                      amount=Decimal(amount), close_date=d(close))


def rows(result):
    """New charges as (status, from, to, period, quantity, amount, discount, close, source)."""
    return [(c.status, c.operate_from.strftime("%d.%m.%Y"), c.operate_to.strftime("%d.%m.%Y"),
             str(c.period), str(c.quantity), str(c.amount), str(c.discount),
             c.close_date.strftime("%d.%m.%Y"), c.source_charge_id)
            for c in result.new_charges]


def we2_schedule() -> list[ChargeView]:
    """The paid WE-2 pre-order: 2 months from 10.11.2026 at 30.00, FD 1 (after D3)."""
    return [
        view(1, "10.11.2026", "30.11.2026", "0.700", "21.30", close="01.12.2026"),
        view(2, "01.12.2026", "31.12.2026", "1.000", "30.00", close="01.01.2027"),
        view(3, "01.01.2027", "09.01.2027", "0.290", "8.70", close="09.01.2027"),
        view(4, "10.11.2026", "09.01.2027", "2.000", "50.00", close="10.11.2026",
             status="closed", kind="setup"),
    ]


# Deletion (04a CH-43)

def test_delete_during_the_first_charge():
    # the deletion day 20.11 is used: 10.11–20.11 = 11/30 = 0.367 month → 11.01.
    result = split_on_delete(we2_schedule(), on=d("20.11.2026"), financial_day=1)
    assert result.status_changes == {1: "deleted", 2: "deleted", 3: "deleted"}
    assert rows(result) == [
        ("closed", "10.11.2026", "20.11.2026", "0.367", "1", "11.01", "0.00", "20.11.2026", 1)]
    [closed] = result.new_charges
    assert (closed.gross, closed.line_key, closed.fee_kind) == (
        Decimal("11.01"), "service", "recurring")


def test_delete_by_the_nightly_run_does_not_count_the_day():
    # A-11 exception: the nightly run's day is not used: 10.11–19.11 = 10/30 = 0.333 → 9.99.
    result = split_on_delete(we2_schedule(), on=d("20.11.2026"), financial_day=1,
                             by_nightly_run=True)
    assert rows(result) == [
        ("closed", "10.11.2026", "19.11.2026", "0.333", "1", "9.99", "0.00", "20.11.2026", 1)]


def test_delete_by_the_nightly_run_on_the_first_day_closes_nothing():
    result = split_on_delete(we2_schedule(), on=d("10.11.2026"), financial_day=1,
                             by_nightly_run=True)
    assert result.status_changes == {1: "deleted", 2: "deleted", 3: "deleted"}
    assert result.new_charges == ()


def test_delete_on_the_last_day_of_a_charge_keeps_its_sums():
    # The used part is the whole charge: its D3-corrected 21.30 stays, not 0.700 × 30 = 21.00.
    result = split_on_delete(we2_schedule(), on=d("30.11.2026"), financial_day=1)
    assert rows(result) == [
        ("closed", "10.11.2026", "30.11.2026", "0.700", "1", "21.30", "0.00", "30.11.2026", 1)]


def test_delete_on_a_financial_day():
    # Charge 1 is due on 01.12 and still blocked: the nightly run closes it, the split leaves
    # it alone. One day of December is used: 1/31 = 0.032 → 0.96.
    result = split_on_delete(we2_schedule(), on=d("01.12.2026"), financial_day=1)
    assert result.status_changes == {2: "deleted", 3: "deleted"}
    assert rows(result) == [
        ("closed", "01.12.2026", "01.12.2026", "0.032", "1", "0.96", "0.00", "01.12.2026", 2)]


def test_delete_removes_unpaid_and_unheld_charges():
    charges = [
        view(1, "01.11.2026", "30.11.2026", "1.000", "30.00", close="01.12.2026",
             status="closed"),
        view(2, "01.12.2026", "31.12.2026", "1.000", "30.00", close="01.01.2027",
             status="open"),
        view(3, "01.01.2027", "31.01.2027", "1.000", "30.00", close="01.02.2027", status="new"),
        view(4, "01.01.2027", "31.12.2027", "12.000", "10.00", close="20.12.2026",
             status="new", kind="renewal"),
        view(5, "01.10.2026", "31.10.2026", "1.000", "30.00", close="01.11.2026",
             status="refunded"),
        view(6, "01.11.2026", "30.11.2026", "1.000", "12.00", close="10.11.2026",
             status="pending_refund"),
    ]
    result = split_on_delete(charges, on=d("10.12.2026"), financial_day=1)
    # An open charge held no money: deleted without a closed part; new ones of any kind
    # (an unpaid renewal order, A-18) go too; final and pending-refund charges are untouched.
    assert result.status_changes == {2: "deleted", 3: "deleted", 4: "deleted"}
    assert result.new_charges == ()


def test_delete_with_a_discount_keeps_the_rate():
    # EX-14's July charge (56.00 − 19.21 = 36.79); deleted on 10.07: 10/31 = 0.323 month,
    # gross 0.323 × 7 × 8.00 = 18.09, discount 19.21 × 18.09 / 56.00 = 6.21, amount 11.88.
    charge = view(2, "01.07.2018", "31.07.2018", "1.000", "36.79", discount="19.21",
                  quantity="7", price="8.00", close="01.08.2018")
    result = split_on_delete([charge], on=d("10.07.2018"), financial_day=1)
    assert rows(result) == [
        ("closed", "01.07.2018", "10.07.2018", "0.323", "7", "11.88", "6.21", "10.07.2018", 2)]
    assert result.new_charges[0].gross == Decimal("18.09")


def test_a_part_never_costs_more_than_its_source():
    # A source corrected down (D3) to 10.00: 29/30 of it cannot be 29.01.
    charge = view(7, "01.11.2026", "30.11.2026", "1.000", "10.00", close="01.12.2026")
    [closed] = split_on_delete([charge], on=d("29.11.2026"), financial_day=1).new_charges
    assert (closed.period, closed.gross, closed.amount) == (
        Decimal("0.967"), Decimal("10.00"), Decimal("10.00"))


# Resource decrease (04a CH-46/CH-47, A-5)

def resource_schedule() -> list[ChargeView]:
    """10 units × 30.00 from 01.11.2026 (a 30-day month), FD 1."""
    common = {"quantity": "10", "key": "resource:3"}
    return [
        view(11, "01.11.2026", "30.11.2026", "1.000", "300.00", close="01.12.2026", **common),
        view(12, "01.12.2026", "31.12.2026", "1.000", "300.00", close="01.01.2027", **common),
        view(13, "01.01.2027", "09.01.2027", "0.290", "87.00", close="09.01.2027", **common),
    ]


def test_a5_decrease_from_10_to_6_on_day_10():
    # A-5 with D2: 10/30 = 0.333 and 20/30 = 0.667 → 99.90 + 80.04 + 120.06 = 300.00.
    result = split_on_decrease(resource_schedule()[:1], on=d("10.11.2026"), financial_day=1,
                               new_quantity=Decimal("6"))
    assert result.status_changes == {11: "deleted"}
    assert rows(result) == [
        ("closed", "01.11.2026", "10.11.2026", "0.333", "10", "99.90", "0.00", "10.11.2026", 11),
        ("pending_refund", "11.11.2026", "30.11.2026", "0.667", "4", "80.04", "0.00",
         "10.11.2026", 11),
        ("blocked", "11.11.2026", "30.11.2026", "0.667", "6", "120.06", "0.00",
         "01.12.2026", 11),
    ]
    assert sum(c.amount for c in result.new_charges) == Decimal("300.00")
    assert {c.line_key for c in result.new_charges} == {"resource:3"}


def test_decrease_replaces_future_charges():
    result = split_on_decrease(resource_schedule(), on=d("10.11.2026"), financial_day=1,
                               new_quantity=Decimal("6"))
    assert result.status_changes == {11: "deleted", 12: "deleted", 13: "deleted"}
    assert rows(result)[3:] == [
        ("blocked", "01.12.2026", "31.12.2026", "1.000", "6", "180.00", "0.00", "01.01.2027", 12),
        ("blocked", "01.01.2027", "09.01.2027", "0.290", "6", "52.20", "0.00", "09.01.2027", 13),
    ]


def test_decrease_on_a_financial_day():
    # November is due on 01.12 and left to the nightly run; 01.12 itself is used at 10 units:
    # 1/31 = 0.032 → 9.60; 30/31 = 0.968 → 116.16 refunded and 174.24 kept (Σ 300.00).
    result = split_on_decrease(resource_schedule(), on=d("01.12.2026"), financial_day=1,
                               new_quantity=Decimal("6"))
    assert result.status_changes == {12: "deleted", 13: "deleted"}
    assert rows(result)[:3] == [
        ("closed", "01.12.2026", "01.12.2026", "0.032", "10", "9.60", "0.00", "01.12.2026", 12),
        ("pending_refund", "02.12.2026", "31.12.2026", "0.968", "4", "116.16", "0.00",
         "01.12.2026", 12),
        ("blocked", "02.12.2026", "31.12.2026", "0.968", "6", "174.24", "0.00",
         "01.01.2027", 12),
    ]


def test_decrease_on_the_last_day_of_a_charge():
    # The whole November was used at 10 units: only the closed part, with the source's sums.
    result = split_on_decrease(resource_schedule(), on=d("30.11.2026"), financial_day=1,
                               new_quantity=Decimal("6"))
    assert rows(result) == [
        ("closed", "01.11.2026", "30.11.2026", "1.000", "10", "300.00", "0.00", "30.11.2026", 11),
        ("blocked", "01.12.2026", "31.12.2026", "1.000", "6", "180.00", "0.00", "01.01.2027", 12),
        ("blocked", "01.01.2027", "09.01.2027", "0.290", "6", "52.20", "0.00", "09.01.2027", 13),
    ]


def test_decrease_to_zero():
    # CH-47: no held remainder, and the future charges are only deleted.
    result = split_on_decrease(resource_schedule(), on=d("10.11.2026"), financial_day=1,
                               new_quantity=Decimal("0"))
    assert result.status_changes == {11: "deleted", 12: "deleted", 13: "deleted"}
    assert rows(result) == [
        ("closed", "01.11.2026", "10.11.2026", "0.333", "10", "99.90", "0.00", "10.11.2026", 11),
        ("pending_refund", "11.11.2026", "30.11.2026", "0.667", "10", "200.10", "0.00",
         "10.11.2026", 11),
    ]


def test_decrease_keeps_the_status_of_later_charges_and_the_discount_rate():
    # 20 % off: 300.00 gross, 60.00 discount. The open December charge stays open at 6 units:
    # 180.00 gross, 60.00 × 180.00 / 300.00 = 36.00 discount.
    charges = [
        view(21, "01.11.2026", "30.11.2026", "1.000", "240.00", discount="60.00",
             quantity="10", close="01.12.2026"),
        view(22, "01.12.2026", "31.12.2026", "1.000", "240.00", discount="60.00",
             quantity="10", close="01.01.2027", status="open"),
        view(23, "01.01.2027", "31.01.2027", "1.000", "240.00", discount="60.00",
             quantity="10", close="01.02.2027", status="closed"),
    ]
    result = split_on_decrease(charges, on=d("10.11.2026"), financial_day=1,
                               new_quantity=Decimal("6"))
    assert result.status_changes == {21: "deleted", 22: "deleted"}
    assert rows(result) == [
        ("closed", "01.11.2026", "10.11.2026", "0.333", "10", "79.92", "19.98", "10.11.2026", 21),
        ("pending_refund", "11.11.2026", "30.11.2026", "0.667", "4", "64.03", "16.01",
         "10.11.2026", 21),
        ("blocked", "11.11.2026", "30.11.2026", "0.667", "6", "96.05", "24.01", "01.12.2026", 21),
        ("open", "01.12.2026", "31.12.2026", "1.000", "6", "144.00", "36.00", "01.01.2027", 22),
    ]
    for charge in result.new_charges:
        assert charge.gross - charge.discount == charge.amount


@pytest.mark.parametrize("new_quantity", ["10", "12", "-1"])
def test_decrease_needs_a_smaller_quantity(new_quantity):
    with pytest.raises(ValueError):
        split_on_decrease(resource_schedule(), on=d("10.11.2026"), financial_day=1,
                          new_quantity=Decimal(new_quantity))
