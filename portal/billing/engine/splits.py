"""The standard charge splits over charge snapshots (04a §4.11, CH-43, CH-46/CH-47, A-5, A-11).

Split products are created directly in their target status and name their source charge
(04a A-16); amounts follow the part's period (D2) and discounts the source's rate (CH-11).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.billing.engine.periods import DAY
from portal.billing.engine.proration import gross_amount, span_period
from portal.billing.engine.schedule import RECURRING, ChargePlan
from portal.core.money import round_money, to_decimal

NEW = "new"
OPEN = "open"
BLOCKED = "blocked"
CLOSED = "closed"
DELETED = "deleted"
PENDING_REFUND = "pending_refund"
NON_FINAL = (NEW, OPEN, BLOCKED)


@dataclass(frozen=True)
class ChargeView:
    """What the engine needs of an existing charge; `operate_to` is inclusive (D1)."""

    id: int
    line_key: str
    fee_kind: str
    status: str
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
class NewCharge(ChargePlan):
    """A charge a split creates, in its target status, linked to the charge it replaces."""

    status: str
    source_charge_id: int | None


@dataclass(frozen=True)
class SplitResult:
    """Existing charge id -> new status, and the charges to create."""

    status_changes: dict[int, str]
    new_charges: tuple[NewCharge, ...]


def split_on_delete(charges: list[ChargeView], *, on: date, financial_day: int,
                    by_nightly_run: bool = False, currency: str = "RUB") -> SplitResult:
    """Split the charges of a subscription deleted on `on` (04a CH-43, A-11, A-18)."""
    changes: dict[int, str] = {}
    created: list[NewCharge] = []
    for charge in charges:
        if charge.status == NEW:
            # 04a CH-31/A-18: unpaid charges of any kind go with the subscription.
            changes[charge.id] = DELETED
            continue
        if charge.fee_kind != RECURRING or charge.status not in NON_FINAL:
            continue
        if charge.operate_to < on:
            if charge.status == OPEN:
                # Never held, and its period is over: nothing is left to collect.
                changes[charge.id] = DELETED
            # A blocked charge already due is closed by the nightly run (D6).
            continue
        changes[charge.id] = DELETED
        if charge.status != BLOCKED or charge.operate_from > on:
            # CH-43 step 3: future charges are deleted; an open charge held no money.
            continue
        # the deletion day is used, unless the nightly run deletes it.
        used_last = on - DAY if by_nightly_run else on
        if used_last >= charge.operate_from:
            # CH-43 step 2: the actual use of the current period is closed on the deletion day.
            created.append(_part(charge, charge.operate_from, used_last, quantity=charge.quantity,
                                 status=CLOSED, close_date=on, financial_day=financial_day,
                                 currency=currency))
    return SplitResult(status_changes=changes, new_charges=tuple(created))


def split_on_decrease(charges: list[ChargeView], *, on: date, financial_day: int,
                      new_quantity: Decimal, currency: str = "RUB") -> SplitResult:
    """Split one resource line's recurring charges for a decrease on `on` (04a CH-46/CH-47).

    The decrease day is used at the old quantity (A-11); quantities are billed quantities.
    """
    new_quantity = to_decimal(new_quantity)
    if new_quantity < 0:
        raise ValueError("a quantity is never negative")
    changes: dict[int, str] = {}
    created: list[NewCharge] = []
    for charge in charges:
        if charge.fee_kind != RECURRING or charge.status not in NON_FINAL:
            continue
        if charge.operate_to < on:
            # Already due: the nightly run closes it at the old quantity (D6).
            continue
        if new_quantity >= charge.quantity:
            raise ValueError(f"{new_quantity} is not less than charge {charge.id}'s quantity")
        changes[charge.id] = DELETED
        if charge.status == BLOCKED and charge.operate_from <= on:
            created.extend(_split_current(charge, on=on, new_quantity=new_quantity,
                                          financial_day=financial_day, currency=currency))
        elif new_quantity > 0:
            # CH-46 step 6: a later (or never paid) charge is re-priced at the new quantity;
            # CH-47: after a decrease to zero it is only deleted.
            created.append(_part(charge, charge.operate_from, charge.operate_to,
                                 quantity=new_quantity, status=charge.status,
                                 close_date=charge.close_date, financial_day=financial_day,
                                 currency=currency))
    return SplitResult(status_changes=changes, new_charges=tuple(created))


def _split_current(charge: ChargeView, *, on: date, new_quantity: Decimal, financial_day: int,
                   currency: str) -> list[NewCharge]:
    # CH-46 step 2: the used part at the old quantity is closed on the decrease day.
    parts = [_part(charge, charge.operate_from, on, quantity=charge.quantity, status=CLOSED,
                   close_date=on, financial_day=financial_day, currency=currency)]
    if on == charge.operate_to:
        # The whole period was used: nothing is left to refund or to hold.
        return parts
    rest_first = on + DAY
    # CH-46 steps 3-4 with A-5/D5: the removed quantity's unused part waits for its refund.
    parts.append(_part(charge, rest_first, charge.operate_to,
                       quantity=charge.quantity - new_quantity, status=PENDING_REFUND,
                       close_date=on, financial_day=financial_day, currency=currency))
    if new_quantity > 0:
        # CH-46 step 5 (none after a decrease to zero, CH-47): the kept quantity stays held.
        parts.append(_part(charge, rest_first, charge.operate_to, quantity=new_quantity,
                           status=BLOCKED, close_date=charge.close_date,
                           financial_day=financial_day, currency=currency))
    return parts


def _part(source: ChargeView, first: date, last: date, *, quantity: Decimal, status: str,
          close_date: date, financial_day: int, currency: str) -> NewCharge:
    """Price a part of `source` in proportion to its period and quantity (CH-11, D2)."""
    same_range = (first, last) == (source.operate_from, source.operate_to)
    if same_range and quantity == source.quantity:
        # The whole charge: keep its (possibly D3-corrected) sums.
        period, gross, discount, amount = (source.period, source.gross, source.discount,
                                           source.amount)
    else:
        period = source.period if same_range else span_period(first, last, financial_day)
        gross = gross_amount(period, quantity, source.unit_price, currency)
        # CH-11: the discount is proportional to the amount, at the source's rate.
        discount = (round_money(source.discount * gross / source.gross, currency)
                    if source.gross > 0 else round_money(0, currency))
        amount = gross - discount
        if amount > source.amount:
            # A part never costs more than the charge it comes from.
            amount = source.amount
            gross = amount + discount
    return NewCharge(line_key=source.line_key, fee_kind=source.fee_kind, operate_from=first,
                     operate_to=last, period=period, quantity=quantity,
                     unit_price=source.unit_price, gross=gross, discount=discount,
                     amount=amount, close_date=close_date, status=status,
                     source_charge_id=source.id)
