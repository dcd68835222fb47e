"""Charge schedules of one term (04a §4.4, 04b §4.7/§4.8, DECISIONS D1-D4): no database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.billing.engine.periods import term_end
from portal.billing.engine.schedule import LineInput, order_totals, plan_term


def d(text: str) -> date:
    day, month, year = (int(piece) for piece in text.split("."))
    return date(year, month, day)


def plan_months(start: str, months: int, lines: list[LineInput], *, fd: int = 1,
                rate: str = "0"):
    first = d(start)
    return plan_term(lines, term_first=first, term_last=term_end(first, months=months),
                     term_months=Decimal(months), financial_day=fd,
                     discount_rate=Decimal(rate), order_day=first)


def rows(line):
    """The charges as (from, to, period, amount, discount, close) tuples of strings."""
    return [(c.operate_from.strftime("%d.%m.%Y"), c.operate_to.strftime("%d.%m.%Y"),
             str(c.period), str(c.amount), str(c.discount), c.close_date.strftime("%d.%m.%Y"))
            for c in line.charges]


def service(price: str, quantity: str = "1", kind: str = "recurring", key: str = "service"):
    return LineInput(key=key, fee_kind=kind, quantity=Decimal(quantity),
                     unit_price=Decimal(price))


def assert_adds_up(line):
    # D3 / RND-10: the charges add up to the line to the cent, each charge is consistent.
    assert sum(c.amount for c in line.charges) == line.amount
    assert sum(c.discount for c in line.charges) == line.discount
    assert sum(c.gross for c in line.charges) == line.gross
    assert line.gross - line.discount == line.amount
    for charge in line.charges:
        assert charge.gross - charge.discount == charge.amount
        assert min(charge.amount, charge.discount) >= 0


def test_we2_two_month_pre_order_from_10_november():
    # 0.700 + 1.000 + 0.290 = 1.990 months: 59.70 before D3 moves +0.30 onto charge 1.
    [line] = plan_months("10.11.2026", 2, [service("30.00")])
    assert rows(line) == [
        ("10.11.2026", "30.11.2026", "0.700", "21.30", "0.00", "01.12.2026"),
        ("01.12.2026", "31.12.2026", "1.000", "30.00", "0.00", "01.01.2027"),
        ("01.01.2027", "09.01.2027", "0.290", "8.70", "0.00", "09.01.2027"),
    ]
    assert (line.gross, line.discount, line.amount) == (
        Decimal("60.00"), Decimal("0.00"), Decimal("60.00"))
    assert line.months == Decimal("2.000")
    assert_adds_up(line)


def test_ordered_on_a_financial_day_gives_n_charges():
    # CH-15: ordered on the FD, 2 months → 2 charges; the last one closes on its last day.
    [line] = plan_months("01.11.2026", 2, [service("30.00")])
    assert rows(line) == [
        ("01.11.2026", "30.11.2026", "1.000", "30.00", "0.00", "01.12.2026"),
        ("01.12.2026", "31.12.2026", "1.000", "30.00", "0.00", "31.12.2026"),
    ]
    assert_adds_up(line)


def test_we6_annual_purchase_13_charges():
    # P·Q = 8.35: 5.85 + 11 × 8.35 + 2.51 = 100.21; the −0.01 goes to charge 1 (0.700 > 0.300).
    [line] = plan_months("10.11.2017", 12, [service("8.35", key="resource:12")])
    charges = line.charges
    assert len(charges) == 13
    assert rows(line)[0] == ("10.11.2017", "30.11.2017", "0.700", "5.84", "0.00", "01.12.2017")
    assert rows(line)[1] == ("01.12.2017", "31.12.2017", "1.000", "8.35", "0.00", "01.01.2018")
    assert rows(line)[11] == ("01.10.2018", "31.10.2018", "1.000", "8.35", "0.00", "01.11.2018")
    assert rows(line)[12] == ("01.11.2018", "09.11.2018", "0.300", "2.51", "0.00", "09.11.2018")
    assert all(c.amount == Decimal("8.35") for c in charges[1:12])
    assert line.amount == Decimal("100.20") == sum(c.amount for c in charges)
    assert all(c.line_key == "resource:12" for c in charges)
    assert_adds_up(line)


def test_financial_day_15():
    # A-4 / D2: 20.11–14.12 lies in the 30-day FP 15.11–14.12 (25/30 = 0.833), 15.12–19.12 in
    # the 31-day FP 15.12–14.01 (5/31 = 0.161). 24.99 + 4.83 = 29.82, +0.18 on the larger part.
    [line] = plan_months("20.11.2026", 1, [service("30.00")], fd=15)
    assert rows(line) == [
        ("20.11.2026", "14.12.2026", "0.833", "25.17", "0.00", "15.12.2026"),
        ("15.12.2026", "19.12.2026", "0.161", "4.83", "0.00", "19.12.2026"),
    ]
    assert line.amount == Decimal("30.00")
    assert_adds_up(line)


def test_ex12_to_ex14_discounted_three_months():
    # 3 months from 17.06.2018, 7 units × 8.00, 34.3 %: the corrections land on charge 4
    # (0.533 > 0.467): amount +0.01, discount −0.01.
    [line] = plan_months("17.06.2018", 3, [service("8.00", "7", key="resource:7")],
                         rate="0.343")
    assert rows(line) == [
        ("17.06.2018", "30.06.2018", "0.467", "17.18", "8.97", "01.07.2018"),
        ("01.07.2018", "31.07.2018", "1.000", "36.79", "19.21", "01.08.2018"),
        ("01.08.2018", "31.08.2018", "1.000", "36.79", "19.21", "01.09.2018"),
        ("01.09.2018", "16.09.2018", "0.533", "19.62", "10.23", "16.09.2018"),
    ]
    assert [c.gross for c in line.charges] == [
        Decimal("26.15"), Decimal("56.00"), Decimal("56.00"), Decimal("29.85")]
    assert (line.gross, line.discount, line.amount) == (
        Decimal("168.00"), Decimal("57.62"), Decimal("110.38"))
    assert_adds_up(line)


def test_setup_fee_is_one_charge_for_the_whole_term():
    # 04a §4.3 / PRE-3: one charge, period = the term's months, closes on the order day.
    setup, renewal = plan_months("10.11.2026", 2, [service("150.00", kind="setup"),
                                                   service("20.00", "2", "renewal", "renew")],
                                 rate="0.10")
    assert rows(setup) == [("10.11.2026", "09.01.2027", "2.000", "135.00", "15.00",
                            "10.11.2026")]
    assert setup.months == Decimal("0")
    assert (setup.gross, setup.discount, setup.amount) == (
        Decimal("150.00"), Decimal("15.00"), Decimal("135.00"))
    assert rows(renewal) == [("10.11.2026", "09.01.2027", "2.000", "36.00", "4.00",
                              "10.11.2026")]
    assert_adds_up(setup)
    assert_adds_up(renewal)


def test_year_term_with_setup_and_two_resources():
    lines = plan_months("10.11.2017", 12, [service("500.00", kind="setup"),
                                           service("10.00", "3", key="resource:1"),
                                           service("4.99", "7", key="resource:2")])
    setup, first, second = lines
    assert setup.charges[0].period == Decimal("12.000")
    assert len(first.charges) == len(second.charges) == 13
    assert first.amount == Decimal("360.00")     # 12 × 3 × 10.00 (D3)
    assert second.amount == Decimal("419.16")    # 12 × 7 × 4.99
    gross, discount, amount = order_totals(lines)
    assert (gross, discount, amount) == (
        Decimal("1279.16"), Decimal("0.00"), Decimal("1279.16"))
    # D3: Σ charges of the order == the order total.
    assert sum(c.amount for line in lines for c in line.charges) == amount
    for line in lines:
        assert_adds_up(line)


def test_day_term_sums_its_part_periods():
    # A 30-day term from 10.11: 21/30 + 9/31 = 0.700 + 0.290 = 0.990 months.
    first = d("10.11.2026")
    recurring, setup = plan_term(
        [service("30.00"), service("5.00", kind="setup")], term_first=first,
        term_last=term_end(first, days=30), term_months=None, financial_day=1,
        order_day=d("11.11.2026"))
    assert recurring.months == Decimal("0.990")
    assert rows(recurring) == [
        ("10.11.2026", "30.11.2026", "0.700", "21.00", "0.00", "01.12.2026"),
        ("01.12.2026", "09.12.2026", "0.290", "8.70", "0.00", "09.12.2026"),
    ]
    assert recurring.amount == Decimal("29.70")
    assert rows(setup) == [("10.11.2026", "09.12.2026", "0.990", "5.00", "0.00", "11.11.2026")]


@pytest.mark.parametrize(("quantity", "price", "kind"), [
    ("0", "30.00", "recurring"), ("3", "0.00", "recurring"), ("0", "10.00", "setup"),
    ("1", "0.00", "transfer"),
])
def test_lines_that_cost_nothing_create_no_charges(quantity, price, kind):
    [line] = plan_months("10.11.2026", 2, [service(price, quantity, kind)])
    assert line.charges == ()
    assert (line.gross, line.discount, line.amount) == (Decimal("0"), Decimal("0"), Decimal("0"))


def test_full_discount():
    # RND-4: nothing to pay, every charge's discount is its gross; D3 still balances them.
    [line] = plan_months("10.11.2026", 2, [service("30.00")], rate="1")
    assert [c.amount for c in line.charges] == [Decimal("0.00")] * 3
    assert [c.discount for c in line.charges] == [
        Decimal("21.30"), Decimal("30.00"), Decimal("8.70")]
    assert (line.discount, line.amount) == (Decimal("60.00"), Decimal("0.00"))
    assert_adds_up(line)


def test_unknown_fee_kind_is_refused():
    with pytest.raises(ValueError):
        plan_months("10.11.2026", 1, [service("1.00", kind="usage")])


@pytest.mark.parametrize(("months", "fd", "rate", "quantity", "price"), [
    (1, 1, "0", "1", "30.00"),
    (2, 1, "0.343", "7", "8.00"),
    (3, 5, "0.15", "3", "9.99"),
    (12, 1, "0.05", "10", "8.35"),
    (12, 28, "0.2", "1", "0.10"),
    (1, 15, "0.7", "1", "0.03"),
])
def test_every_start_day_adds_up(months, fd, rate, quantity, price):
    # D3 over a whole year of order days, including month ends and financial days.
    day = d("01.01.2027")
    while day.year == 2027:
        [line] = plan_term([service(price, quantity)], term_first=day,
                           term_last=term_end(day, months=months),
                           term_months=Decimal(months), financial_day=fd,
                           discount_rate=Decimal(rate), order_day=day)
        # CH-14/CH-15: N + 1 charges, N when ordered on the FD; tiny prices skip 0.00 parts.
        expected = months if day.day == fd else months + 1
        if Decimal(price) >= 1:
            assert len(line.charges) == expected
        assert 0 < len(line.charges) <= expected
        for charge in line.charges:
            # CH-17: the term's last part closes on the term's last day, the others on the FD.
            on_last_day = charge.operate_to == term_end(day, months=months)
            assert charge.close_date == charge.operate_to + timedelta(days=0 if on_last_day else 1)
        assert_adds_up(line)
        day += timedelta(days=1)
