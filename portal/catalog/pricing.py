"""Pure price arithmetic of the catalogue: no database, no Flask, no clock (STYLE §2).

Implements 05 R-PL-2 (sale price), R-PL-4 (cost), R-PL-6 with DECISIONS D2 (months of a
period), R-PL-7 (margin) and D9 (a marked-up price is rounded half-up and stored).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from portal.core.money import round_money, round_period, to_decimal

ZERO = Decimal("0")
HUNDRED = Decimal("100")


def add_months(day: date, months: int) -> date:
    """The same day `months` later; a day the month lacks becomes its last day (D1)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def financial_period_days(on: date, financial_day: int) -> int:
    """Days of the financial period that contains `on` (for day 1, the calendar month)."""
    start = date(on.year, on.month, financial_day)
    if on < start:
        start = add_months(start, -1)
    return (add_months(start, 1) - start).days


def months_of(unit: str | None, duration: int | None, *, unlimited: bool, on: date,
              financial_day: int = 1) -> Decimal:
    """A period's length in months: n months, 12·n for years, n / Y for days (D2)."""
    if unlimited or not duration or unit is None:
        return ZERO
    if unit == "month":
        return Decimal(duration)
    if unit == "year":
        return Decimal(duration * 12)
    return round_period(Decimal(duration) / financial_period_days(on, financial_day))


def period_months(period, on: date | None = None, financial_day: int = 1) -> Decimal:
    on = on or date(2001, 1, 1)  # a 31-day month; callers that show prices pass today
    unit = period.duration_unit.value if period.duration_unit is not None else None
    return months_of(unit, period.duration, unlimited=period.is_unlimited, on=on,
                     financial_day=financial_day)


def billable_minimum(resource) -> Decimal:
    """Quantity a client must pay for at least (05 §8.2, R-RS-1, the boolean matrix)."""
    if resource.unit_type == "boolean":
        return Decimal(1) if resource.minimum and not resource.included else ZERO
    return max(to_decimal(resource.minimum) - to_decimal(resource.included), ZERO)


@dataclass(frozen=True)
class PriceItems:
    """The prices of one plan period plus the plan's resources at one level."""

    setup_fee: Decimal
    monthly_fee: Decimal
    resources: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (setup, monthly, quantity)


def items_of(period, resources) -> PriceItems:
    return PriceItems(
        setup_fee=to_decimal(period.setup_fee), monthly_fee=to_decimal(period.monthly_fee),
        resources=tuple((to_decimal(r.setup_fee), to_decimal(r.monthly_fee), billable_minimum(r))
                        for r in resources))


def minimum_amount(items: PriceItems, months: Decimal, currency: str) -> Decimal:
    """R-PL-2: the least a client pays, without discounts, to buy the period now."""
    total = items.setup_fee + items.monthly_fee * months
    for setup, monthly, quantity in items.resources:
        total += setup * quantity + monthly * months * quantity
    return round_money(total, currency)


def margin_percent(sale: Decimal | None, cost: Decimal | None) -> Decimal | None:
    """R-PL-7: (sale − cost) / sale × 100, 2 decimals; none without a cost or a sale price."""
    if sale is None or cost is None or sale == 0:
        return None
    return ((sale - cost) / sale * HUNDRED).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


def marked_up(price, coefficient, currency: str) -> Decimal:
    """D9: upstream price × k, rounded half-up to the currency's minor unit."""
    return round_money(to_decimal(price) * to_decimal(coefficient), currency)


def expiry_after(start: date, duration: int, unit: str) -> date:
    """The last day (inclusive) of a first period that starts on `start` (D1)."""
    if unit == "day":
        return start + timedelta(days=duration - 1)
    months = duration * (12 if unit == "year" else 1)
    return add_months(start, months) - timedelta(days=1)
