"""Months of a part of a financial period and its amount before discount (DECISIONS D2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.billing.engine.periods import financial_period, split_by_financial_days
from portal.core.money import round_money, round_period

FULL_PERIOD = Decimal("1.000")


def part_period(first: date, last: date, financial_day: int) -> Decimal:
    """Return the months of an inclusive range inside one financial period (D2)."""
    period_first, period_last = financial_period(first, financial_day)
    if last < first or last > period_last:
        raise ValueError(f"{first}..{last} is not inside one financial period")
    if (first, last) == (period_first, period_last):
        # D2 / 04a CH-8a: a full financial period is always exactly one month.
        return FULL_PERIOD
    days = (last - first).days + 1
    period_days = (period_last - period_first).days + 1
    # D2: days / Y with Y = days of the whole financial period, half-up to thousandths.
    return round_period(Decimal(days) / Decimal(period_days))


def span_period(first: date, last: date, financial_day: int) -> Decimal:
    """Return the months of any inclusive range: the sum of its financial-period parts (D2)."""
    return sum((part_period(part_first, part_last, financial_day)
                for part_first, part_last in split_by_financial_days(first, last, financial_day)),
               Decimal("0.000"))


def gross_amount(period: Decimal, quantity: Decimal, unit_price: Decimal,
                 currency: str = "RUB") -> Decimal:
    """Return the amount before discount: period × quantity × unit price, half-up (04b RND-2)."""
    return round_money(period * quantity * unit_price, currency)
