"""Read helpers for billing screens and the API; the reseller is always the first argument."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.billing.models import ExchangeRate
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.tenancy.models import Reseller


def rate_owner_ids(reseller: Reseller) -> list[int]:
    """Whose rate rows a reseller sees: its own and, below the root, the root's (04b CUR-7)."""
    if reseller.is_root:
        return [reseller.id]
    root_id = db.session.scalar(select(Reseller.id).where(Reseller.is_root))
    return [reseller.id, root_id]


def exchange_rate_history_select(reseller: Reseller, *, base_currency: str | None = None,
                                 quote_currency: str | None = None):
    """SELECT the stored rate rows the reseller sees. Below the root this reads the root's rows
    too: run it inside across_tenants()."""
    query = select(ExchangeRate).where(ExchangeRate.reseller_id.in_(rate_owner_ids(reseller)))
    if base_currency:
        query = query.where(ExchangeRate.base_currency == base_currency)
    if quote_currency:
        query = query.where(ExchangeRate.quote_currency == quote_currency)
    return query


def list_exchange_rate_history(reseller: Reseller, *, base_currency: str | None = None,
                               quote_currency: str | None = None,
                               limit: int = 500) -> list[ExchangeRate]:
    """The stored rows, newest date first (the own row first on a date both levels set)."""
    query = exchange_rate_history_select(reseller, base_currency=base_currency,
                                         quote_currency=quote_currency)
    query = query.order_by(ExchangeRate.valid_from.desc(), ExchangeRate.quote_currency,
                           (ExchangeRate.reseller_id == reseller.id).desc(),
                           ExchangeRate.id.desc()).limit(limit)
    with across_tenants():  # the root's rows are the provider's rates every level sees
        return list(db.session.scalars(query))


def list_scheduled_own_quotes(reseller: Reseller, base_currency: str, after: date) -> set[str]:
    """The quote currencies of the page for which the reseller set an own rate dated after
    `after` (a scheduled override it may still want to cancel)."""
    return set(db.session.scalars(select(ExchangeRate.quote_currency).where(
        ExchangeRate.reseller_id == reseller.id, ExchangeRate.base_currency == base_currency,
        ExchangeRate.valid_from > after, ExchangeRate.inherit.is_(False)).distinct()))
