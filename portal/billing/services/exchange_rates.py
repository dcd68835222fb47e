"""Exchange rates: dated rows set at the root and overridden below it (04b §2.10, §4.14, FX-2;
DECISIONS D10).

A row on the rates page of currency X says "`units` of Y cost `rate` of X" from its date until
the next row. The effective rate of a reseller for (X, Y) on day D is its own latest row dated
on or before D, unless that row is an inherit marker; else the root's latest such row; else the
default 1 for 1 (CUR-5). Inverse rates are independent (CUR-6): nothing is ever derived.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from portal.billing.models import ExchangeRate
from portal.billing.services.errors import BillingError
from portal.core import audit
from portal.core.models import now_utc
from portal.core.money import CURRENCIES, round_money, to_decimal
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.tenancy.models import Reseller

RATE_PLACES = Decimal("0.0001")
ONE = Decimal(1).quantize(RATE_PLACES)
MAX_UNITS = 1_000_000
MAX_RATE = Decimal(10) ** 8  # Rate = Numeric(12, 4): 8 digits before the point
DIGITS_RE = re.compile(r"^\d+$")


class RateSource(enum.StrEnum):
    OWN = "own"          # the reseller's own row (at the root: every row it set)
    ROOT = "root"        # inherited from the root reseller (CUR-7)
    DEFAULT = "default"  # nobody set the pair: 1 for 1 (CUR-5)
    SAME = "same"        # a currency against itself


@dataclass(frozen=True)
class EffectiveRate:
    """The rate in force: `units` of quote_currency cost `rate` of base_currency."""

    units: int
    rate: Decimal
    valid_from: date | None
    source: RateSource
    base_currency: str = ""
    quote_currency: str = ""

    @property
    def display_rate(self) -> Decimal:
        """04b CUR-13: rate / units, 2 decimals for one unit, 4 for a larger nominal."""
        places = Decimal("0.01") if self.units == 1 else RATE_PLACES
        return (self.rate / self.units).quantize(places, rounding=ROUND_HALF_UP)


# -- validation ---------------------------------------------------------------------------------

def _currency(code, field: str) -> str:
    if not isinstance(code, str) or code not in CURRENCIES:
        raise BillingError(_l("Unknown currency."), field=field)
    return code


def _pair(base_currency, quote_currency) -> tuple[str, str]:
    base = _currency(base_currency, "base_currency")
    quote = _currency(quote_currency, "quote_currency")
    if base == quote:
        raise BillingError(_l("A currency has no rate against itself."), field="quote_currency")
    return base, quote


def parse_units(value) -> int:
    """The nominal of a rate: a whole number from 1 (04b CUR-8, CUR-10)."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
    elif isinstance(value, str) and DIGITS_RE.match(value.strip()):
        number = int(value.strip())
    if number is None or number < 1:
        raise BillingError(_l("Enter the units as a whole number, at least 1."), field="units")
    if number > MAX_UNITS:
        raise BillingError(_l("The units may be at most %(n)s.", n=f"{MAX_UNITS:,}".replace(
            ",", " ")), field="units")
    return number


def parse_rate(value) -> Decimal:
    """A rate: greater than zero, at most 4 decimals (04b CUR-8, M-1); never a float."""
    rate = None
    if isinstance(value, int) and not isinstance(value, bool):
        rate = Decimal(value)
    elif isinstance(value, Decimal):
        rate = value
    elif isinstance(value, str) and value.strip():
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            rate = None
    if rate is None or not rate.is_finite():
        raise BillingError(_l("Enter the rate as a number, e.g. 92.5000."), field="rate")
    if rate <= 0:
        raise BillingError(_l("The rate must be greater than zero."), field="rate")
    if rate.normalize().as_tuple().exponent < -4:
        raise BillingError(_l("The rate may have at most 4 decimals."), field="rate")
    if rate >= MAX_RATE:
        raise BillingError(_l("The rate is too large."), field="rate")
    return rate.quantize(RATE_PLACES)


def _day(value) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise BillingError(_l("Enter the date the rate applies from."), field="valid_from")
    return value


# -- reading ------------------------------------------------------------------------------------

def _root_id(reseller: Reseller) -> int:
    if reseller.is_root:
        return reseller.id
    return db.session.scalar(select(Reseller.id).where(Reseller.is_root))


def _latest_rows(reseller_id: int, base: str, on: date,
                 quote: str | None = None) -> dict[str, ExchangeRate]:
    """{quote currency: the reseller's row in force on `on`} for one rates page."""
    criteria = [ExchangeRate.reseller_id == reseller_id, ExchangeRate.base_currency == base]
    if quote is not None:
        criteria.append(ExchangeRate.quote_currency == quote)
    latest = (select(ExchangeRate.quote_currency, func.max(ExchangeRate.valid_from).label("day"))
              .where(*criteria, ExchangeRate.valid_from <= on)
              .group_by(ExchangeRate.quote_currency).subquery())
    rows = db.session.scalars(
        select(ExchangeRate).join(latest, and_(
            ExchangeRate.quote_currency == latest.c.quote_currency,
            ExchangeRate.valid_from == latest.c.day)).where(*criteria))
    return {row.quote_currency: row for row in rows}


def _from_row(row: ExchangeRate, source: RateSource) -> EffectiveRate:
    return EffectiveRate(units=row.units, rate=Decimal(row.rate).quantize(RATE_PLACES),
                         valid_from=row.valid_from, source=source,
                         base_currency=row.base_currency, quote_currency=row.quote_currency)


def _effective(reseller: Reseller, base: str, on: date, quotes: list[str]) -> list[EffectiveRate]:
    quote = quotes[0] if len(quotes) == 1 else None
    own = _latest_rows(reseller.id, base, on, quote)
    root_id = _root_id(reseller)
    inherited: dict[str, ExchangeRate] = {}
    if root_id != reseller.id and any(own.get(q) is None or own[q].inherit for q in quotes):
        with across_tenants():  # 04b CUR-7: the root's rates apply at every level
            inherited = _latest_rows(root_id, base, on, quote)
    result = []
    for code in quotes:
        row = own.get(code)
        if row is not None and not row.inherit:
            result.append(_from_row(row, RateSource.OWN))
        elif (upstream := inherited.get(code)) is not None and not upstream.inherit:
            result.append(_from_row(upstream, RateSource.ROOT))
        else:
            result.append(EffectiveRate(units=1, rate=ONE, valid_from=None,
                                        source=RateSource.DEFAULT, base_currency=base,
                                        quote_currency=code))
    return result


def effective_rate(reseller: Reseller, base_currency: str, quote_currency: str,
                   on: date) -> EffectiveRate:
    """The rate in force for the reseller on day `on`: what `units` of quote_currency cost in
    base_currency (04b CUR-5, CUR-7, A-21; DECISIONS D10). Same currency: 1."""
    base = _currency(base_currency, "base_currency")
    quote = _currency(quote_currency, "quote_currency")
    on = _day(on)
    if base == quote:
        return EffectiveRate(units=1, rate=ONE, valid_from=None, source=RateSource.SAME,
                             base_currency=base, quote_currency=quote)
    return _effective(reseller, base, on, [quote])[0]


def list_effective_rates(reseller: Reseller, base_currency: str, on: date) -> list[EffectiveRate]:
    """The rates page of base_currency: every other currency with its rate in force (CUR-14)."""
    base = _currency(base_currency, "base_currency")
    return _effective(reseller, base, _day(on), [code for code in CURRENCIES if code != base])


def apply_rate(amount, rate: EffectiveRate, currency: str) -> Decimal:
    """amount × rate / units, rounded half-up to currency's minor unit (04b FX-2, D4)."""
    return round_money(to_decimal(amount) * rate.rate / rate.units, currency)


def convert_amount(amount, *, from_currency: str, to_currency: str, reseller: Reseller,
                   on: date) -> Decimal:
    """Convert an amount of from_currency (the plan's) into to_currency (the reseller's) at the
    rate in force for the reseller on day `on`: amount / units × rate from the rates page of
    to_currency, rounded half-up to to_currency's minor unit (04b FX-2; DECISIONS D4, D10)."""
    rate = effective_rate(reseller, to_currency, from_currency, on)
    return apply_rate(amount, rate, to_currency)


# -- writing ------------------------------------------------------------------------------------

FIELDS = ("units", "rate", "inherit")


def _store(reseller: Reseller, base: str, quote: str, valid_from: date, *, units: int | None,
           rate: Decimal | None, inherit: bool, actor) -> ExchangeRate:
    member = getattr(actor, "member", actor)
    row = db.session.scalar(select(ExchangeRate).where(
        ExchangeRate.reseller_id == reseller.id, ExchangeRate.base_currency == base,
        ExchangeRate.quote_currency == quote, ExchangeRate.valid_from == valid_from))
    before = audit.snapshot(row, FIELDS) if row is not None else {}
    if row is None:
        row = ExchangeRate(reseller_id=reseller.id, base_currency=base, quote_currency=quote,
                           valid_from=valid_from)
        db.session.add(row)
    row.units, row.rate, row.inherit = units, rate, inherit
    # A replaced row was set again now, by this member.
    row.created_at = now_utc()
    row.created_by_id = getattr(member, "id", None)
    db.session.flush()
    action = "billing.exchange_rate.inherited" if inherit else "billing.exchange_rate.set"
    audit.log(row, action, actor=actor, changes=audit.diff(before, audit.snapshot(row, FIELDS)),
              data={"base_currency": base, "quote_currency": quote,
                    "valid_from": valid_from.isoformat(), "replaced": bool(before)})
    return row


def set_exchange_rate(reseller: Reseller, base_currency: str, quote_currency: str, *, units,
                      rate, valid_from: date, actor=None) -> ExchangeRate:
    """Set the rate of quote_currency on the rates page of base_currency from valid_from on.

    At the root it applies at every level without an own rate; below the root it is that
    reseller's own rate (04b CUR-8, CUR-10). A second row on the same date replaces the first.
    Any date is allowed, past ones included; charges already made keep their rate (FX-3).
    """
    base, quote = _pair(base_currency, quote_currency)
    return _store(reseller, base, quote, _day(valid_from), units=parse_units(units),
                  rate=parse_rate(rate), inherit=False, actor=actor)


def inherit_exchange_rate(reseller: Reseller, base_currency: str, quote_currency: str, *,
                          valid_from: date, actor=None) -> ExchangeRate:
    """From valid_from on, use the root reseller's rate for the pair again (04b CUR-11)."""
    base, quote = _pair(base_currency, quote_currency)
    if reseller.is_root:
        raise BillingError(_l("The root reseller's rates apply at every level: there is no "
                              "provider's rate to return to."), field="inherit")
    return _store(reseller, base, quote, _day(valid_from), units=None, rate=None, inherit=True,
                  actor=actor)
