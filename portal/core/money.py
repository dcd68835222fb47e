"""Money: Decimal only, rounded half-up where the manual rounds (04b M-1, M-2)."""

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Numeric

Money = Numeric(14, 2)
Rate = Numeric(12, 4)
PeriodMonths = Numeric(8, 3)

CENT = Decimal("0.01")
THOUSANDTH = Decimal("0.001")

# ISO 4217 codes the platform offers, with their minor units.
CURRENCIES = {"RUB": 2, "USD": 2, "EUR": 2, "KZT": 2, "BYN": 2, "UAH": 2, "GBP": 2}


def to_decimal(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money is never a float")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def round_money(value, currency: str = "RUB") -> Decimal:
    """Round half-up to the currency's minor unit (DECISIONS D4)."""
    places = CURRENCIES.get(currency, 2)
    return to_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_period(value) -> Decimal:
    """Round a period in months half-up to thousandths (DECISIONS D2)."""
    return to_decimal(value).quantize(THOUSANDTH, rounding=ROUND_HALF_UP)
