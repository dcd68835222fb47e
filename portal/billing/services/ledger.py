"""The client balance ledger: every balance change is one append-only transaction written under
the client row's lock (04b §4.13 TRX-1/TRX-2, DECISIONS D5, STYLE §4 Locking)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from portal.billing.models import Charge, ChargeStatus, Transaction, TransactionKind
from portal.clients.hooks import BLOCKED_AMOUNT_SOURCES
from portal.clients.models import Client
from portal.core.clock import clock
from portal.core.money import to_decimal
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.events import emit

ZERO = Decimal("0")


def lock_client(client: Client) -> Client:
    """Take the client row's lock for the rest of the transaction and reload its balance.

    PostgreSQL: SELECT ... FOR UPDATE; SQLite serialises writers itself."""
    db.session.flush()
    with across_tenants():
        db.session.execute(select(Client.id).where(Client.id == client.id).with_for_update())
    db.session.refresh(client, attribute_names=["balance", "status", "negative_balance_since"])
    return client


def post_transaction(client: Client, change, *, kind: TransactionKind, description: str,
                     currency: str, charge: Charge | None = None, payment=None) -> Transaction:
    """Move the balance by `change` and record it. The caller holds lock_client(client)."""
    change = to_decimal(change)
    before = client.balance or ZERO
    client.balance = before + change
    if change < 0 and client.balance <= 0:
        notify_low_balance(client, before)
    row = Transaction(reseller_id=client.reseller_id, client_id=client.id, kind=kind,
                      change=change, balance_after=client.balance, currency=currency,
                      description=description,
                      charge_id=charge.id if charge is not None else None,
                      payment_id=payment.id if payment is not None else None,
                      created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    return row


def notify_low_balance(client, before: Decimal) -> None:
    """09 TRG-8 at a balance change that left `client` (a Client, or anything with its id) at 0
    or below (A-46: account.regular_sending false), once per client and transaction however
    many charges the operation closes."""
    pending = db.session.info.get("portal_after_commit")
    queue, sent = db.session.info.get("portal_low_balance", (None, {}))
    if queue is not pending:
        sent = {}  # a new transaction: what was queued for the last one is gone
    entry = sent.get(client.id)
    # An earlier emit stands unless its savepoint was rolled back (then its entry is gone).
    if entry is not None and any(queued is entry for queued in pending):
        return
    emit("low_balance", client=client, extra={"account.regular_sending": "false"},
         was={"account.balance": before})
    pending = db.session.info["portal_after_commit"]
    sent[client.id] = pending[-1]
    db.session.info["portal_low_balance"] = (pending, sent)


def blocked_amount_of(client: Client) -> Decimal:
    """Money held on the balance: Σ amounts of the client's blocked charges (04a CH-2)."""
    with across_tenants():
        total = db.session.scalar(select(func.coalesce(func.sum(Charge.amount), 0)).where(
            Charge.client_id == client.id, Charge.status == ChargeStatus.BLOCKED))
    return to_decimal(total or 0)


BLOCKED_AMOUNT_SOURCES.append(blocked_amount_of)


def available_funds(client: Client) -> Decimal:
    """What a prepaid client may still hold or pay: balance − blocked + T (DECISIONS D10)."""
    from portal.clients.funds import threshold_in_force  # noqa: PLC0415

    return (client.balance or ZERO) - blocked_amount_of(client) + threshold_in_force(client)


def ledger_problems(client: Client) -> list[str]:
    """The invariant of issue 5 / D5, as a list of what is wrong (empty when it holds):
    balance == Σ transactions; each closed charge has exactly one transaction; each refunded
    charge whose money had been debited has one; no other charge has any."""
    problems = []
    with across_tenants():
        total = db.session.scalar(select(func.coalesce(func.sum(Transaction.change), 0)).where(
            Transaction.client_id == client.id))
        if to_decimal(total or 0) != (client.balance or ZERO):
            problems.append(f"balance {client.balance} != Σ transactions {total}")
        last = db.session.scalar(select(Transaction).where(Transaction.client_id == client.id)
                                 .order_by(Transaction.id.desc()).limit(1))
        if last is not None and last.balance_after != client.balance:
            problems.append(f"last balance_after {last.balance_after} != {client.balance}")
        rows = db.session.execute(
            select(Charge.id, Charge.status, Charge.amount, Charge.source_charge_id,
                   func.count(Transaction.id))
            .outerjoin(Transaction, Transaction.charge_id == Charge.id)
            .where(Charge.client_id == client.id).group_by(Charge.id)).all()
        statuses = {charge_id: status for charge_id, status, *_ in rows}
        for charge_id, status, amount, source_id, count in rows:
            debited_refund = (status == ChargeStatus.REFUNDED
                              and statuses.get(source_id) == ChargeStatus.CLOSED)
            expected = 1 if status == ChargeStatus.CLOSED or debited_refund else 0
            if count != expected:
                problems.append(f"charge {charge_id} ({status}) has {count} transactions")
        running = ZERO
        for row in db.session.scalars(select(Transaction).where(
                Transaction.client_id == client.id).order_by(Transaction.id)):
            running += row.change
            if running != row.balance_after:
                problems.append(f"transaction {row.id}: balance_after {row.balance_after} "
                                f"!= running {running}")
                break
    return problems
