"""API: currencies and dated exchange rates, per reseller (04b §2.10, §4.14; DECISIONS D10)."""

from __future__ import annotations

import re
from datetime import date

from flask import g, jsonify, request
from flask_babel import gettext as _

from portal.api.base import ApiValidationError, endpoint, iso, json_body, require
from portal.billing.models import ExchangeRate
from portal.billing.queries import exchange_rate_history_select
from portal.billing.services import (EffectiveRate, inherit_exchange_rate, list_effective_rates,
                                     set_exchange_rate)
from portal.core.clock import clock
from portal.core.money import CURRENCIES
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

RATE_SCHEMA = {"type": "object", "required": ["base_currency", "quote_currency"], "properties": {
    "base_currency": {"type": "string", "enum": list(CURRENCIES)},
    "quote_currency": {"type": "string", "enum": list(CURRENCIES)},
    "units": {"type": "integer", "minimum": 1, "default": 1},
    "rate": {"type": "string", "pattern": r"^\d+(\.\d{1,4})?$",
             "description": "Price of `units` of quote_currency in base_currency; a string "
                            "(or an integer), never a JSON number with a fraction."},
    "valid_from": {"type": "string", "format": "date", "description": "Default: today."},
    "inherit": {"type": "boolean", "default": False,
                "description": "Below the root: use the root's rate again from valid_from."}}}


def serialize_effective(rate: EffectiveRate) -> dict:
    return {"base_currency": rate.base_currency, "quote_currency": rate.quote_currency,
            "units": rate.units, "rate": format(rate.rate, ".4f"),
            "display_rate": str(rate.display_rate), "valid_from": iso(rate.valid_from),
            "source": rate.source.value}


def serialize_row(row: ExchangeRate, reseller=None) -> dict:
    reseller = reseller or g.acting_reseller
    return {"id": row.id, "base_currency": row.base_currency,
            "quote_currency": row.quote_currency, "units": row.units,
            "rate": format(row.rate, ".4f") if row.rate is not None else None,
            "valid_from": iso(row.valid_from), "inherit": row.inherit,
            "level": "own" if row.reseller_id == reseller.id else "root",
            "created_at": iso(row.created_at)}


def _currency_arg(name: str, value, *, required: bool = False) -> str | None:
    if value in (None, ""):
        if required:
            raise ApiValidationError({name: [_("This field is required.")]})
        return None
    if not isinstance(value, str) or value.strip().upper() not in CURRENCIES:
        raise ApiValidationError({name: [_("Unknown currency.")]})
    return value.strip().upper()


def _date_arg(name: str, value) -> date:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ApiValidationError({name: [_("A date looks like 2026-11-22.")]})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiValidationError({name: [_("A date looks like 2026-11-22.")]}) from None


def _page_numbers() -> tuple[int, int]:
    numbers = {}
    for name, default in (("page", 1), ("per_page", 50)):
        try:
            numbers[name] = max(1, int(request.args.get(name, default)))
        except ValueError:
            raise ApiValidationError({name: [_("Must be a whole number.")]}) from None
    return numbers["page"], min(500, numbers["per_page"])


def _page(items: list[dict]):
    page, per_page = _page_numbers()
    start = (page - 1) * per_page
    return jsonify({"items": items[start:start + per_page], "total": len(items), "page": page,
                    "per_page": per_page})


@endpoint("/currencies", permission="currencies.view",
          summary="List the platform's currencies (code and decimal places)")
def list_currencies_api():
    return _page([{"code": code, "precision": places} for code, places in CURRENCIES.items()])


@endpoint("/exchange-rates", permission="currencies.view",
          summary="The rates in force for your reseller on the page of base_currency "
                  "(default: your currency) on a day (default: today)")
def list_exchange_rates_api():
    reseller = g.acting_reseller
    base = _currency_arg("base_currency", request.args.get("base_currency")) or reseller.currency
    quote = _currency_arg("quote_currency", request.args.get("quote_currency"))
    on = _date_arg("on", request.args["on"]) if request.args.get("on") else clock.today()
    rates = list_effective_rates(reseller, base, on)
    return _page([serialize_effective(r) for r in rates
                  if quote is None or r.quote_currency == quote])


HISTORY_SORTS = {"id": ExchangeRate.id, "valid_from": ExchangeRate.valid_from,
                 "created_at": ExchangeRate.created_at}


@endpoint("/exchange-rates/history", permission="currencies.view",
          summary="The stored dated rows your reseller sees: its own and the root's "
                  "(marked level=root)")
def exchange_rate_history_api():
    reseller = g.acting_reseller
    query = exchange_rate_history_select(
        reseller, base_currency=_currency_arg("base_currency", request.args.get("base_currency")),
        quote_currency=_currency_arg("quote_currency", request.args.get("quote_currency")))
    sort = request.args.get("sort") or "-valid_from"
    column = HISTORY_SORTS.get(sort.lstrip("-"))
    if column is None:
        raise ApiValidationError({"sort": [_("Unknown sort field.")]})
    page, per_page = _page_numbers()
    query = query.order_by(column.desc() if sort.startswith("-") else column.asc(),
                           ExchangeRate.id.desc())
    with across_tenants():  # below the root, the root's rows are the provider's rates
        total = db.session.scalar(db.select(db.func.count()).select_from(
            query.order_by(None).subquery()))
        rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [serialize_row(r, reseller) for r in rows], "total": total,
                    "page": page, "per_page": per_page})


def _money_like(data: dict, name: str):
    """Strings and integers only: a JSON number with a fraction is a binary float (M-1)."""
    value = data.get(name)
    if isinstance(value, float):
        raise ApiValidationError({name: [_("Send this value as a string, e.g. \"92.5000\": "
                                           "numbers with a fraction are not accepted.")]})
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise ApiValidationError({name: [_("Must be a string or a whole number.")]})
    return value


@endpoint("/exchange-rates", methods=("POST",), permission="currencies.manage",
          summary="Set a rate from a date (at the root: for every level without its own), or "
                  "below the root return to the root's rate (inherit=true)",
          body=RATE_SCHEMA, status=201)
def set_exchange_rate_api():
    reseller = g.acting_reseller
    data = json_body()
    require(data, "base_currency", "quote_currency")
    base = _currency_arg("base_currency", data.get("base_currency"), required=True)
    quote = _currency_arg("quote_currency", data.get("quote_currency"), required=True)
    valid_from = (_date_arg("valid_from", data["valid_from"])
                  if data.get("valid_from") is not None else clock.today())
    inherit = data.get("inherit", False)
    if not isinstance(inherit, bool):
        raise ApiValidationError({"inherit": [_("Must be true or false.")]})
    units = _money_like(data, "units")
    rate = _money_like(data, "rate")
    if inherit:
        extra = {name: [_("Leave this out when returning to the provider's rate.")]
                 for name in ("units", "rate") if data.get(name) is not None}
        if extra:
            raise ApiValidationError(extra)
        row = inherit_exchange_rate(reseller, base, quote, valid_from=valid_from,
                                    actor=g.principal)
    else:
        require(data, "rate")
        row = set_exchange_rate(reseller, base, quote, units=1 if units is None else units,
                                rate=rate, valid_from=valid_from, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_row(row, reseller)), 201
