"""Subscription terms and financial periods as inclusive date ranges (DECISIONS D1, 04a CH-1)."""

from __future__ import annotations

from datetime import date, timedelta

from portal.catalog.pricing import add_months

DAY = timedelta(days=1)


def _check_financial_day(financial_day: int) -> None:
    # 04a CH-1: the financial day is a day of the month 1..28 (every month has it).
    if not 1 <= financial_day <= 28:
        raise ValueError(f"financial day must be 1..28, not {financial_day}")


def _check_term(months: int, days: int, k: int) -> None:
    if (months > 0) == (days > 0) or months < 0 or days < 0 or k < 0:
        raise ValueError("a term is a positive number of months or of days, k >= 0")


def term_start(start: date, *, months: int = 0, days: int = 0, k: int = 0) -> date:
    """Return A(k), the first day of the k-th term anchored on `start` (D1)."""
    _check_term(months, days, k)
    if months:
        # D1: anchored on the first day; a day the month lacks becomes its last day.
        return add_months(start, k * months)
    return start + timedelta(days=k * days)


def term_end(start: date, *, months: int = 0, days: int = 0, k: int = 0) -> date:
    """Return the last day (inclusive) of the k-th term: A(k+1) − 1 day (D1)."""
    _check_term(months, days, k)
    return term_start(start, months=months, days=days, k=k + 1) - DAY


def next_financial_day(day: date, financial_day: int) -> date:
    """Return the first financial day strictly after `day`."""
    _check_financial_day(financial_day)
    candidate = date(day.year, day.month, financial_day)
    return candidate if candidate > day else add_months(candidate, 1)


def financial_period(day: date, financial_day: int) -> tuple[date, date]:
    """Return the first and last day (inclusive) of the financial period containing `day`."""
    _check_financial_day(financial_day)
    first = date(day.year, day.month, financial_day)
    if day < first:
        first = add_months(first, -1)
    return first, add_months(first, 1) - DAY


def split_by_financial_days(first: date, last: date,
                            financial_day: int) -> list[tuple[date, date]]:
    """Cut the inclusive range at every financial day inside (first, last] (04a CH-17)."""
    if last < first:
        raise ValueError("the range ends before it starts")
    parts = []
    part_first = first
    cut = next_financial_day(first, financial_day)
    while cut <= last:
        parts.append((part_first, cut - DAY))
        part_first, cut = cut, add_months(cut, 1)
    parts.append((part_first, last))
    return parts
