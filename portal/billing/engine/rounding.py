"""Reference sums and their corrections (04b §4.8 RND-1..RND-10, DECISIONS D3/D4)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.core.money import CURRENCIES, round_money, to_decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Reference:
    """A reference sum: gross before discount, amount to pay and discount, all rounded."""

    gross: Decimal
    amount: Decimal
    discount: Decimal


def _minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-CURRENCIES.get(currency, 2))


def reference(g_raw: Decimal, discount_rate: Decimal, *, is_charge: bool,
              full_discount: bool = False, currency: str = "RUB") -> Reference:
    """Compute the reference gross, amount and discount of an order or a charge (RND-1/RND-2).

    `discount_rate` is a fraction (0.343 for 34.3 %).
    """
    gross = round_money(to_decimal(g_raw), currency)
    if full_discount:
        # 04b RND-4: a 100 % order discount leaves nothing to pay; the discount is G.
        return Reference(gross=gross, amount=round_money(0, currency), discount=gross)
    net_raw = gross - gross * to_decimal(discount_rate)
    amount = round_money(net_raw, currency)
    if is_charge and amount == 0 and net_raw > 0:
        # 04b RND-3: a charge that still costs something never rounds down to nothing.
        amount = _minor_unit(currency)
    return Reference(gross=gross, amount=amount, discount=gross - amount)


def apply_correction(values: list[Decimal], periods: list[Decimal], correction: Decimal,
                     first_index: int = 0) -> list[Decimal]:
    """Put `correction` on the first or last value and cascade past zero (RND-7/RND-8).

    `values` and `periods` are the recurring charges ordered by their first day; `first_index`
    is the current-FP charge for change-resources and switch-plan orders (RND-7).
    """
    if len(values) != len(periods):
        raise ValueError("one period per value")
    result = list(values)
    low, high = first_index, len(result) - 1
    remaining = to_decimal(correction)
    while remaining != 0 and low <= high:
        # RND-7: equal periods choose the last charge, otherwise the larger period wins.
        pick = high if periods[high] >= periods[low] else low
        new = result[pick] + remaining
        if new >= 0:
            result[pick], remaining = new, Decimal(0)
        else:
            # RND-8: the charge drops to zero and the rest moves to the next extreme charge.
            result[pick], remaining = ZERO, new
            if pick == high:
                high -= 1
            else:
                low += 1
    if remaining != 0:
        raise ValueError(f"a correction of {correction} does not fit the values {values}")
    return result
