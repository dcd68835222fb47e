"""Reference sums and corrections of 04b §4.8 (RND-1..RND-10) on the manual's examples."""

from decimal import Decimal

import pytest

from portal.billing.engine.rounding import Reference, apply_correction, reference


def dec(values: str) -> list[Decimal]:
    return [Decimal(value) for value in values.split()]


def test_ex12_order_reference_sum_and_discount():
    # 3 months × 7 units × 8.00, 34.3 %: disc_raw 57.624, net_raw 110.376.
    order = reference(Decimal("168.00"), Decimal("0.343"), is_charge=False)
    assert order == Reference(gross=Decimal("168.00"), amount=Decimal("110.38"),
                              discount=Decimal("57.62"))


@pytest.mark.parametrize(("g_raw", "gross", "amount", "discount"), [
    ("26.152", "26.15", "17.18", "8.97"),    # charge 1, 0.467 month
    ("56.000", "56.00", "36.79", "19.21"),   # charges 2 and 3, full months
    ("29.848", "29.85", "19.61", "10.24"),   # charge 4, 0.533 month
])
def test_ex13_charge_reference_sums(g_raw, gross, amount, discount):
    charge = reference(Decimal(g_raw), Decimal("0.343"), is_charge=True)
    assert (charge.gross, charge.amount, charge.discount) == (
        Decimal(gross), Decimal(amount), Decimal(discount))


def test_ex14_corrections_land_on_the_last_charge():
    periods = dec("0.467 1 1 0.533")
    amounts = dec("17.18 36.79 36.79 19.61")
    discounts = dec("8.97 19.21 19.21 10.24")
    # RND-5: +0.01 on the amount, −0.01 on the discount; RND-7: 0.467 < 0.533 → charge 4.
    fixed_amounts = apply_correction(amounts, periods, Decimal("110.38") - sum(amounts))
    fixed_discounts = apply_correction(discounts, periods, Decimal("57.62") - sum(discounts))
    assert fixed_amounts == dec("17.18 36.79 36.79 19.62")
    assert fixed_discounts == dec("8.97 19.21 19.21 10.23")
    # RND-10 and the gross of charge 4 survives: 19.62 + 10.23 = 29.85.
    assert sum(fixed_amounts) == Decimal("110.38")
    assert sum(fixed_discounts) == Decimal("57.62")
    assert amounts == dec("17.18 36.79 36.79 19.61")  # the input list is left alone


def test_ex15_amount_correction_cascades():
    # Charge 6 (0.6 > 0.4) cannot take −0.06: it drops to 0.00 and charge 5 takes −0.03.
    result = apply_correction(dec("0.02 0.05 0.05 0.05 0.05 0.03"),
                              dec("0.4 1 1 1 1 0.6"), Decimal("-0.06"))
    assert result == dec("0.02 0.05 0.05 0.05 0.02 0.00")
    assert sum(result) == Decimal("0.19")


def test_ex16_discount_correction_goes_to_the_larger_first_charge():
    result = apply_correction(dec("0.10 0.15 0.15 0.15 0.15 0.05"),
                              dec("0.667 1 1 1 1 0.333"), Decimal("0.06"))
    assert result == dec("0.16 0.15 0.15 0.15 0.15 0.05")
    assert sum(result) == Decimal("0.81")


@pytest.mark.parametrize(("values", "periods", "correction", "first_index", "expected"), [
    ("1.00 2.00 1.00", "0.500 1 0.500", "0.03", 0, "1.00 2.00 1.03"),    # equal → last
    ("1.00 2.00 1.00", "0.600 1 0.500", "0.03", 0, "1.03 2.00 1.00"),    # larger first wins
    ("1.00 2.00 1.00", "0.600 1 0.500", "0.00", 0, "1.00 2.00 1.00"),    # nothing to do
    # RND-7: a change-resources order compares its current-FP charge with the last one.
    ("1.00 0.50 1.00", "1 0.700 0.500", "0.02", 1, "1.00 0.52 1.00"),
    # The cascade from the first side moves inward too.
    ("0.01 0.05 0.02", "0.700 1 0.300", "-0.02", 0, "0.00 0.04 0.02"),
])
def test_correction_targets(values, periods, correction, first_index, expected):
    assert apply_correction(dec(values), dec(periods), Decimal(correction),
                            first_index) == dec(expected)


def test_a_correction_larger_than_the_values_is_refused():
    with pytest.raises(ValueError):
        apply_correction(dec("0.01 0.01"), dec("1 1"), Decimal("-0.05"))


def test_ex17_minimum_charge_amount():
    # 0.01 at 70 %: net_raw 0.003 would round to 0.00 (RND-3).
    charge = reference(Decimal("0.01"), Decimal("0.70"), is_charge=True)
    assert (charge.amount, charge.discount) == (Decimal("0.01"), Decimal("0.00"))
    # The minimum is for charges only: the order's reference keeps the rounding.
    order = reference(Decimal("0.01"), Decimal("0.70"), is_charge=False)
    assert (order.amount, order.discount) == (Decimal("0.00"), Decimal("0.01"))


def test_ex18_full_discount():
    # RND-4 / A-14: amount 0.00 and the discount is the whole gross (0.01 in the manual's case).
    tiny = reference(Decimal("0.01"), Decimal("1"), is_charge=True, full_discount=True)
    assert (tiny.gross, tiny.amount, tiny.discount) == (
        Decimal("0.01"), Decimal("0.00"), Decimal("0.01"))
    charge = reference(Decimal("26.152"), Decimal("1"), is_charge=True, full_discount=True)
    assert (charge.amount, charge.discount) == (Decimal("0.00"), Decimal("26.15"))


@pytest.mark.parametrize(("g_raw", "rate", "amount", "discount"), [
    ("0.005", "0", "0.01", "0.00"),    # half-up, not banker's rounding (M-1)
    ("0.004", "0", "0.00", "0.00"),    # nothing to pay: no minimum
    ("60.00", "0", "60.00", "0.00"),
    ("100.00", "0.125", "87.50", "12.50"),
    ("10.00", "0.3335", "6.67", "3.33"),  # net_raw 6.665 rounds up
])
def test_reference_rounding(g_raw, rate, amount, discount):
    charge = reference(Decimal(g_raw), Decimal(rate), is_charge=True)
    assert (charge.amount, charge.discount) == (Decimal(amount), Decimal(discount))
    assert charge.gross - charge.discount == charge.amount
