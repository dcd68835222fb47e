"""Terms (D1), financial periods (04a CH-1) and part periods (D2): pure functions, no database."""

from datetime import date
from decimal import Decimal

import pytest

from portal.billing.engine.periods import (
    financial_period,
    next_financial_day,
    split_by_financial_days,
    term_end,
    term_start,
)
from portal.billing.engine.proration import gross_amount, part_period, span_period


def d(text: str) -> date:
    day, month, year = (int(piece) for piece in text.split("."))
    return date(year, month, day)


@pytest.mark.parametrize(("start", "months", "days", "k", "first", "last"), [
    # D1: a 1-month subscription from 31 December never drifts off its anchor.
    ("31.12.2016", 1, 0, 0, "31.12.2016", "30.01.2017"),
    ("31.12.2016", 1, 0, 1, "31.01.2017", "27.02.2017"),
    ("31.12.2016", 1, 0, 2, "28.02.2017", "30.03.2017"),
    ("31.12.2016", 1, 0, 3, "31.03.2017", "29.04.2017"),
    # D1: the seeds' ESET example, 14.12–13.01 then 14.01–13.02.
    ("14.12.2019", 1, 0, 0, "14.12.2019", "13.01.2020"),
    ("14.12.2019", 1, 0, 1, "14.01.2020", "13.02.2020"),
    # WE-2: a 2-month pre-order from 10 November ends on 9 January.
    ("10.11.2026", 2, 0, 0, "10.11.2026", "09.01.2027"),
    # WE-6: a year from 10.11.2017 ends on 09.11.2018.
    ("10.11.2017", 12, 0, 0, "10.11.2017", "09.11.2018"),
    ("10.11.2017", 12, 0, 1, "10.11.2018", "09.11.2019"),
    # A leap day anchors a yearly term on 28 February in common years.
    ("29.02.2024", 12, 0, 0, "29.02.2024", "27.02.2025"),
    # D1: day periods are S + N days − 1.
    ("10.11.2026", 0, 30, 0, "10.11.2026", "09.12.2026"),
    ("10.11.2026", 0, 30, 1, "10.12.2026", "08.01.2027"),
    ("10.11.2026", 0, 1, 0, "10.11.2026", "10.11.2026"),
])
def test_terms(start, months, days, k, first, last):
    assert term_start(d(start), months=months, days=days, k=k) == d(first)
    assert term_end(d(start), months=months, days=days, k=k) == d(last)


@pytest.mark.parametrize(("months", "days", "k"), [(0, 0, 0), (1, 1, 0), (-1, 0, 0), (1, 0, -1)])
def test_term_needs_one_positive_length(months, days, k):
    with pytest.raises(ValueError):
        term_end(d("10.11.2026"), months=months, days=days, k=k)


@pytest.mark.parametrize(("day", "fd", "expected"), [
    ("10.11.2026", 1, "01.12.2026"),
    ("01.11.2026", 1, "01.12.2026"),   # strictly after: a financial day is not its own next
    ("31.12.2026", 1, "01.01.2027"),
    ("14.11.2026", 15, "15.11.2026"),
    ("15.11.2026", 15, "15.12.2026"),
    ("31.01.2027", 28, "28.02.2027"),
])
def test_next_financial_day(day, fd, expected):
    assert next_financial_day(d(day), fd) == d(expected)


@pytest.mark.parametrize(("day", "fd", "first", "last"), [
    ("10.11.2026", 1, "01.11.2026", "30.11.2026"),
    ("01.02.2028", 1, "01.02.2028", "29.02.2028"),
    ("20.11.2026", 15, "15.11.2026", "14.12.2026"),
    ("14.11.2026", 15, "15.10.2026", "14.11.2026"),
    ("05.01.2027", 15, "15.12.2026", "14.01.2027"),
])
def test_financial_period(day, fd, first, last):
    assert financial_period(d(day), fd) == (d(first), d(last))


@pytest.mark.parametrize("fd", [0, 29, 31])
def test_financial_day_is_1_to_28(fd):
    with pytest.raises(ValueError):
        financial_period(d("10.11.2026"), fd)


@pytest.mark.parametrize(("first", "last", "fd", "parts"), [
    # WE-2: N + 1 parts when the term does not start on a financial day (CH-14).
    ("10.11.2026", "09.01.2027", 1,
     [("10.11.2026", "30.11.2026"), ("01.12.2026", "31.12.2026"), ("01.01.2027", "09.01.2027")]),
    # CH-15: N parts when it does.
    ("01.11.2026", "31.12.2026", 1, [("01.11.2026", "30.11.2026"), ("01.12.2026", "31.12.2026")]),
    ("20.11.2026", "19.12.2026", 15, [("20.11.2026", "14.12.2026"), ("15.12.2026", "19.12.2026")]),
    ("10.11.2026", "10.11.2026", 1, [("10.11.2026", "10.11.2026")]),
    ("30.11.2026", "01.12.2026", 1, [("30.11.2026", "30.11.2026"), ("01.12.2026", "01.12.2026")]),
])
def test_split_by_financial_days(first, last, fd, parts):
    assert split_by_financial_days(d(first), d(last), fd) == [
        (d(a), d(b)) for a, b in parts]


def test_split_rejects_a_reversed_range():
    with pytest.raises(ValueError):
        split_by_financial_days(d("02.11.2026"), d("01.11.2026"), 1)


@pytest.mark.parametrize(("first", "last", "fd", "months"), [
    ("10.11.2026", "30.11.2026", 1, "0.700"),   # WE-2 charge 1: 21/30
    ("01.12.2026", "31.12.2026", 1, "1.000"),   # a full financial period is exactly 1.000
    ("01.02.2027", "28.02.2027", 1, "1.000"),
    ("01.01.2027", "09.01.2027", 1, "0.290"),   # WE-2 charge 3: 9/31
    ("20.08.2026", "31.08.2026", 1, "0.387"),   # WE-5: 12 days of August
    ("17.06.2018", "30.06.2018", 1, "0.467"),   # EX-13 charge 1: 14/30
    ("01.09.2018", "16.09.2018", 1, "0.533"),   # EX-13 charge 4: 16/30
    # WE-3 / A-22: one day in a 31-, 30-, 29- and 28-day financial period.
    ("10.12.2026", "10.12.2026", 1, "0.032"),
    ("10.11.2026", "10.11.2026", 1, "0.033"),
    ("10.02.2028", "10.02.2028", 1, "0.034"),
    ("10.02.2027", "10.02.2027", 1, "0.036"),
    # with FD 15 the financial period 15.11–14.12 has 30 days, 15.12–14.01 has 31.
    ("20.11.2026", "14.12.2026", 15, "0.833"),
    ("15.12.2026", "19.12.2026", 15, "0.161"),
    ("15.11.2026", "14.12.2026", 15, "1.000"),
])
def test_part_period(first, last, fd, months):
    assert part_period(d(first), d(last), fd) == Decimal(months)
    assert str(part_period(d(first), d(last), fd)) == months


def test_part_period_stays_inside_one_financial_period():
    with pytest.raises(ValueError):
        part_period(d("30.11.2026"), d("01.12.2026"), 1)


def test_span_period_adds_the_parts():
    # WE-2: 0.700 + 1.000 + 0.290 = 1.990 months (why D3 needs the correction).
    assert span_period(d("10.11.2026"), d("09.01.2027"), 1) == Decimal("1.990")
    # WE-3: two years are 24 full financial periods.
    assert span_period(d("01.01.2027"), d("31.12.2028"), 1) == Decimal("24.000")


@pytest.mark.parametrize(("period", "quantity", "price", "expected"), [
    ("0.290", "1", "30.00", "8.70"),      # CH-8 D2 note: not 8.71
    ("0.387", "10", "100.00", "387.00"),  # WE-5: not 387.10
    ("0.700", "1", "8.35", "5.85"),       # 5.845 rounds half-up
    ("0.467", "7", "8.00", "26.15"),      # EX-13: 26.152
    ("0.333", "10", "30.00", "99.90"),
])
def test_gross_amount(period, quantity, price, expected):
    assert gross_amount(Decimal(period), Decimal(quantity), Decimal(price)) == Decimal(expected)
