"""Operator-panel pages of charges and the balance ledger: the charges list (04a §5.1, WE-1)
and the client page's Transactions tab (04b §4.13 TRX-1..TRX-3).

Read-only: nobody edits a charge or a transaction (04a §5.1); the money-moving operations are
on the subscription page.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from markupsafe import Markup, escape
from sqlalchemy import false, func, select
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.billing.models import (CHARGE_STATUS_LABELS, Charge, ChargeStatus, ChargeType,
                                   Transaction)
from portal.clients.models import Client
from portal.core.links import link_to
from portal.core.formatting import money
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404

bp = Blueprint("charges", __name__, url_prefix="/charges")

CLIENT_PAGE = "clients.client_detail"
SUBSCRIPTION_PAGE = "subscriptions.detail"
TRANSACTIONS_PER_PAGE = 50

# 04a §2.1 «Плата за установку»; the plan's price field is «Стоимость установки» (05 §2.9).
CHARGE_TYPE_LABELS = {
    ChargeType.SETUP_FEE: lazy_pgettext("charge type", "Setup fee"),
    ChargeType.RENEWAL_FEE: lazy_pgettext("charge type", "Renewal fee"),
    ChargeType.TRANSFER_FEE: lazy_pgettext("charge type", "Transfer fee"),
    ChargeType.RECURRING_FEE: lazy_pgettext("charge type", "Recurring fee"),
    ChargeType.USAGE: lazy_pgettext("charge type", "Resource usage"),
}


def as_minutes(value: datetime | None) -> str:
    """04a §5.1: the creation time as DD.MM.YYYY HH:MM in the platform zone."""
    return format_datetime(value, "dd.MM.yyyy HH:mm") if value else ""


def signed_money(value, currency: str) -> Markup:
    """04b TRX-3: a negative change in red, a positive one in green."""
    if value < 0:
        css, colour = "change-negative", "#b3261e"
    elif value > 0:
        css, colour = "change-positive", "#2e7d32"
    else:
        css, colour = "change-zero", "inherit"
    text = money(value, currency)
    if value > 0:
        text = f"+{text}"
    return Markup('<span class="{}" style="color:{}">{}</span>').format(css, colour, text)


def _money_cell(name: str):
    def render(charge: Charge) -> Markup:
        return escape(money(getattr(charge, name), charge.currency))
    return render


def _transaction_id(charge: Charge) -> int | None:
    # 04a CH-6: only a closed (or refunded, D5) charge carries a transaction.
    return charge.transaction.id if charge.transaction is not None else None


# --- the charges list (04a §5.1) -----------------------------------------------------------------

def _charges_query(reseller):
    return (scoped_select(Charge, reseller)
            .join(Client, Client.id == Charge.client_id)
            .outerjoin(Transaction, Transaction.charge_id == Charge.id)
            .options(contains_eager(Charge.client), contains_eager(Charge.transaction)))


class IdFilter:
    """An exact record id typed in (client ID, subscription ID)."""

    choices = None

    def __init__(self, key: str, label, column):
        self.key, self.label, self.column = key, label, column

    def apply(self, query, raw: str):
        value = (raw or "").strip().lstrip("#")
        if not value:
            return query
        try:
            return query.where(self.column == int(value))
        except ValueError:
            return query.where(false())


CHARGES = register_list(ListDefinition(
    key="charges", title=_l("Charges"), model=Charge, permission="charges.view",
    query=_charges_query,
    columns=[
        Column("id", "ID", sort=Charge.id),
        Column("client", _l("Client"), sort=Client.name, value=lambda c: c.client.name,
               render=lambda c: link_to(CLIENT_PAGE, c.client.name, client_id=c.client_id)),
        Column("description", _l("Description"), sort=Charge.description,
               search=Charge.description),
        Column("transaction", _l("Transaction"), sort=Transaction.id, value=_transaction_id),
        Column("status", _l("Status"), sort=Charge.status, value=lambda c: str(c.status_label),
               render=lambda c: Markup('<span data-status="{}">{}</span>').format(
                   c.status.value, c.status_label)),
        Column("discount", _l("Discount"), sort=Charge.discount, render=_money_cell("discount")),
        Column("tax", _l("Taxes"), sort=Charge.tax, render=_money_cell("tax")),
        Column("amount", _l("Amount"), sort=Charge.amount, render=_money_cell("amount")),
        Column("created_at", _l("Created"), sort=Charge.created_at,
               render=lambda c: escape(as_minutes(c.created_at))),
        Column("close_date", _l("Close date"), sort=Charge.close_date),
        Column("subscription", _l("Subscription"), sort=Charge.subscription_id,
               value=lambda c: c.subscription_id,
               render=lambda c: link_to(SUBSCRIPTION_PAGE, c.subscription_id,
                                      subscription_id=c.subscription_id), default=False),
        Column("charge_type", _l("Charge type"), sort=Charge.charge_type,
               value=lambda c: str(CHARGE_TYPE_LABELS[c.charge_type]), default=False),
        Column("operate_from", _l("Paid from"), sort=Charge.operate_from, default=False),
        Column("operate_to", _l("Paid to"), sort=Charge.operate_to, default=False),
        Column("currency", _l("Currency"), sort=Charge.currency, default=False),
    ],
    filters=[
        Filter("status", _l("Status"), Charge.status,
               choices=[(s.value, CHARGE_STATUS_LABELS[s]) for s in ChargeStatus]),
        Filter("charge_type", _l("Charge type"), Charge.charge_type,
               choices=[(t.value, CHARGE_TYPE_LABELS[t]) for t in ChargeType]),
        IdFilter("client", _l("Client ID"), Charge.client_id),
        IdFilter("subscription", _l("Subscription ID"), Charge.subscription_id),
    ],
))


@bp.get("/")
@staff_required("charges.view")
def list_charges():
    return list_response(CHARGES, title=CHARGES.title)


# --- the client page's Transactions tab (04b §4.13) ---------------------------------------------

@bp.get("/client/<int:client_id>/transactions")
@staff_required("transactions.view")
def client_transactions(client_id):
    """The client's balance movements, newest first, each with the balance after it (TRX-2)."""
    client = tenant_get_or_404(Client, client_id)
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        abort(404)
    query = scoped_select(Transaction).where(Transaction.client_id == client.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // TRANSACTIONS_PER_PAGE))
    page = min(page, pages)
    transactions = db.session.scalars(
        query.order_by(Transaction.id.desc()).limit(TRANSACTIONS_PER_PAGE)
        .offset((page - 1) * TRANSACTIONS_PER_PAGE)).all()
    return render_template("billing/charges/client_transactions.html", client=client,
                           transactions=transactions, page=page, pages=pages, total=total,
                           signed_money=signed_money, active_tab="transactions",
                           users_tab="clients.client_users" in current_app.view_functions)
