"""The charge schedule of one term of an order (04a §4.3/§4.4, 04b §4.7 PRE-3/PRE-4, §4.8).

Recurring fees get one charge per financial-period part of the term (CH-14/15/17); one-off fees
get one charge for the whole term. Corrections make every line's charges add up to the line's
reference sums to the cent (DECISIONS D3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.billing.engine.periods import DAY, split_by_financial_days
from portal.billing.engine.proration import part_period
from portal.billing.engine.rounding import apply_correction, reference
from portal.core.money import round_period, to_decimal

RECURRING = "recurring"
ONE_OFF_KINDS = ("setup", "renewal", "transfer")
FEE_KINDS = (RECURRING, *ONE_OFF_KINDS)
ZERO = Decimal("0.00")
NO_MONTHS = Decimal("0.000")


@dataclass(frozen=True)
class LineInput:
    """One priced thing of an order; `unit_price` is per month for recurring fees."""

    key: str
    fee_kind: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class ChargePlan:
    """One charge to create; `operate_to` is the last paid day, inclusive (D1)."""

    line_key: str
    fee_kind: str
    operate_from: date
    operate_to: date
    period: Decimal
    quantity: Decimal
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    amount: Decimal
    close_date: date


@dataclass(frozen=True)
class LinePlan:
    """An order line with its reference sums (RND-1) and the charges that add up to them."""

    key: str
    fee_kind: str
    quantity: Decimal
    unit_price: Decimal
    months: Decimal
    gross: Decimal
    discount: Decimal
    amount: Decimal
    charges: tuple[ChargePlan, ...]


def plan_term(lines: list[LineInput], *, term_first: date, term_last: date,
              term_months: Decimal | None, financial_day: int,
              discount_rate: Decimal = Decimal(0), order_day: date,
              currency: str = "RUB") -> list[LinePlan]:
    """Plan the charges of every line for the inclusive term [term_first, term_last].

    `term_months` is N for an N-month term (12 for a year); None for a day term, whose months
    are the sum of its part periods. Implements 04a CH-14..CH-18, 04b RND-1..RND-10, D1..D4.
    """
    if term_last < term_first:
        raise ValueError("the term ends before it starts")
    parts = [(first, last, part_period(first, last, financial_day))
             for first, last in split_by_financial_days(term_first, term_last, financial_day)]
    summed_months = sum((period for _, _, period in parts), NO_MONTHS)
    months = round_period(term_months) if term_months is not None else summed_months
    rate = to_decimal(discount_rate)
    # 04b RND-4: a 100 % discount is the full-discount case.
    term = _Term(term_first, term_last, months, parts, rate, rate >= 1, order_day, currency)
    plans = []
    for line in lines:
        if line.fee_kind == RECURRING:
            plans.append(_plan_recurring(line, term))
        elif line.fee_kind in ONE_OFF_KINDS:
            plans.append(_plan_one_off(line, term))
        else:
            raise ValueError(f"unknown fee kind {line.fee_kind!r}")
    return plans


def order_totals(lines: list[LinePlan]) -> tuple[Decimal, Decimal, Decimal]:
    """Return the order's (gross, discount, amount): the sums of its lines (04b A-15)."""
    return (sum((line.gross for line in lines), ZERO),
            sum((line.discount for line in lines), ZERO),
            sum((line.amount for line in lines), ZERO))


@dataclass(frozen=True)
class _Term:
    first: date
    last: date
    months: Decimal
    parts: list[tuple[date, date, Decimal]]
    discount_rate: Decimal
    full_discount: bool
    order_day: date
    currency: str


def _empty(line: LineInput, months: Decimal) -> LinePlan:
    # A line that costs nothing creates no zero-amount charges and adds nothing to the order.
    return LinePlan(key=line.key, fee_kind=line.fee_kind, quantity=line.quantity,
                    unit_price=line.unit_price, months=months, gross=ZERO, discount=ZERO,
                    amount=ZERO, charges=())


def _plan_recurring(line: LineInput, term: _Term) -> LinePlan:
    drafts = []
    for first, last, period in term.parts:
        charge_ref = reference(period * line.quantity * line.unit_price, term.discount_rate,
                               is_charge=True, full_discount=term.full_discount,
                               currency=term.currency)
        if charge_ref.gross == 0:
            continue
        # 04a CH-17: a part closes on the financial day after it; the term's last part closes
        # on the term's last day (PRE-4/PRE-5, WE-2 charge 3 closes on 09.01).
        close_date = last if last == term.last else last + DAY
        drafts.append((first, last, period, charge_ref, close_date))
    if not drafts:
        return _empty(line, term.months)
    # 04b RND-1 with D3: the line's reference is N × monthly fee × quantity for an N-month
    # term, not the sum of the prorated parts.
    line_ref = reference(term.months * line.quantity * line.unit_price, term.discount_rate,
                         is_charge=False, full_discount=term.full_discount,
                         currency=term.currency)
    periods = [period for _, _, period, _, _ in drafts]
    amounts = [charge_ref.amount for _, _, _, charge_ref, _ in drafts]
    discounts = [charge_ref.discount for _, _, _, charge_ref, _ in drafts]
    # 04b RND-5/RND-9: amount and discount are corrected separately, RND-7/RND-8 pick the target.
    amounts = apply_correction(amounts, periods, line_ref.amount - sum(amounts, ZERO))
    discounts = apply_correction(discounts, periods, line_ref.discount - sum(discounts, ZERO))
    charges = tuple(
        ChargePlan(line_key=line.key, fee_kind=line.fee_kind, operate_from=first,
                   operate_to=last, period=period, quantity=line.quantity,
                   unit_price=line.unit_price,
                   # D3: the gross follows the corrections, so gross − discount == amount and
                   # the charges' gross adds up to the line's gross.
                   gross=amount + discount, discount=discount, amount=amount,
                   close_date=close_date)
        for (first, last, period, _, close_date), amount, discount
        in zip(drafts, amounts, discounts, strict=True))
    return LinePlan(key=line.key, fee_kind=line.fee_kind, quantity=line.quantity,
                    unit_price=line.unit_price, months=term.months, gross=line_ref.gross,
                    discount=line_ref.discount, amount=line_ref.amount, charges=charges)


def _plan_one_off(line: LineInput, term: _Term) -> LinePlan:
    # 04a §4.3 / PRE-3: a one-off fee is one charge for the whole term at its price, priced
    # like an order (RND-1) and outside the corrections (RND-6).
    line_ref = reference(line.quantity * line.unit_price, term.discount_rate, is_charge=False,
                         full_discount=term.full_discount, currency=term.currency)
    if line_ref.gross == 0:
        return _empty(line, NO_MONTHS)
    charge = ChargePlan(line_key=line.key, fee_kind=line.fee_kind, operate_from=term.first,
                        operate_to=term.last, period=term.months, quantity=line.quantity,
                        unit_price=line.unit_price, gross=line_ref.gross,
                        discount=line_ref.discount, amount=line_ref.amount,
                        # 04a §4.3: closes when the order is paid; the caller moves it there.
                        close_date=term.order_day)
    return LinePlan(key=line.key, fee_kind=line.fee_kind, quantity=line.quantity,
                    unit_price=line.unit_price, months=NO_MONTHS, gross=line_ref.gross,
                    discount=line_ref.discount, amount=line_ref.amount, charges=(charge,))
