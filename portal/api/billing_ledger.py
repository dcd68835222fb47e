"""API: charges and the balance ledger (spec 04a §2.1, 04b §4.13; API.md "charges",
"transactions"). Read-only: charges and transactions are made by the services, never by hand.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from portal.api.base import endpoint, iso, paginate
from portal.api.catalog import amount, invalid, query_enum, query_id
from portal.api.orders import period_text, quantity_text
from portal.billing.models import Charge, ChargeStatus, ChargeType, Transaction
from portal.clients.models import Client
from portal.tenancy.scope import scoped_select, tenant_get_or_404


def serialize_charge(charge: Charge) -> dict:
    """04a §2.1 with DECISIONS D1: operate_to is the last paid day, inclusive; close_date is
    the expected close date until the charge is final, then the actual one."""
    currency = charge.currency
    transaction = charge.transaction
    return {
        "id": charge.id, "client_id": charge.client_id,
        "subscription_id": charge.subscription_id,
        "subscription_resource_id": charge.subscription_resource_id,
        "order_id": charge.order_id, "source_charge_id": charge.source_charge_id,
        "charge_type": charge.charge_type.value,
        "related_operation": (charge.related_operation.value
                              if charge.related_operation is not None else None),
        "description": charge.description, "status": charge.status.value,
        "operate_from": iso(charge.operate_from), "operate_to": iso(charge.operate_to),
        "period": period_text(charge.period), "quantity": quantity_text(charge.quantity),
        "unit_price": amount(charge.unit_price, currency),
        "gross": amount(charge.gross, currency), "discount": amount(charge.discount, currency),
        "tax": amount(charge.tax, currency), "amount": amount(charge.amount, currency),
        "currency": currency, "created_at": iso(charge.created_at),
        "close_date": iso(charge.close_date), "billed_at": iso(charge.billed_at),
        # 04a CH-6: only closed charges and refunds of debited money have one.
        "transaction_id": transaction.id if transaction is not None else None,
    }


CHARGE_SORT = {"id": Charge.id, "operate_from": Charge.operate_from,
               "close_date": Charge.close_date, "created_at": Charge.created_at}


@endpoint("/charges", permission="charges.view",
          summary="List charges (filters: client_id, subscription_id, order_id, status, "
                  "charge_type)")
def list_charges_api():
    query = scoped_select(Charge).options(selectinload(Charge.transaction))
    for name, column in (("client_id", Charge.client_id),
                         ("subscription_id", Charge.subscription_id),
                         ("order_id", Charge.order_id)):
        value = query_id(name)
        if value is not None:
            query = query.where(column == value)
    status = query_enum("status", ChargeStatus)
    if status is not None:
        query = query.where(Charge.status == status)
    charge_type = query_enum("charge_type", ChargeType)
    if charge_type is not None:
        query = query.where(Charge.charge_type == charge_type)
    return paginate(query, serialize_charge, sort_fields=CHARGE_SORT)


def serialize_transaction(row: Transaction) -> dict:
    currency = row.currency
    return {"id": row.id, "client_id": row.client_id, "kind": row.kind.value,
            "change": amount(row.change, currency),
            "balance_after": amount(row.balance_after, currency), "currency": currency,
            "description": row.description, "created_at": iso(row.created_at),
            "charge_id": row.charge_id, "payment_id": row.payment_id}


TRANSACTION_SORT = {"id": Transaction.id, "created_at": Transaction.created_at}


@endpoint("/transactions", permission="transactions.view",
          summary="A client's balance ledger with the balance after each movement, newest "
                  "first (client_id is required)")
def list_transactions_api():
    client_id = query_id("client_id")
    if client_id is None:
        raise invalid("client_id", _("This field is required."))
    client = tenant_get_or_404(Client, client_id)
    query = scoped_select(Transaction).where(Transaction.client_id == client.id)
    return paginate(query, serialize_transaction, sort_fields=TRANSACTION_SORT,
                    default_sort="-id")
