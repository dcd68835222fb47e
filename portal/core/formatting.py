"""Locale-aware display: |money(currency), |datetime, |date, |number (Flask-Babel)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_currency, format_date, format_datetime, format_decimal

from portal.core.money import round_money


def money(value, currency: str = "RUB") -> str:
    if value is None:
        return ""
    return format_currency(round_money(Decimal(str(value)) if not isinstance(value, Decimal)
                                       else value, currency), currency)


def as_datetime(value: datetime | None) -> str:
    # 01 R-LOG-1: dd.mm.yyyy hh:mm:ss in the platform zone.
    return format_datetime(value, "dd.MM.yyyy HH:mm:ss") if value else ""


def as_date(value: date | None) -> str:
    return format_date(value, "dd.MM.yyyy") if value else ""


def number(value) -> str:
    return "" if value is None else format_decimal(value)


def init_app(app) -> None:
    from flask_babel import get_locale  # noqa: PLC0415

    app.jinja_env.filters.update(money=money, datetime=as_datetime, date=as_date, number=number)
    app.jinja_env.globals["get_locale"] = get_locale
