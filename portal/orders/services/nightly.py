"""The nightly run (04a §6.1, 02 §6.1, 03 §6.1; DECISIONS D6): for day D, chunk by chunk of
clients — close the charges whose close date has come (set-based), cancel expired unpaid
orders, create renewal orders at the renewal point and pay them from the balance on the expiry
day, stop unpaid subscriptions after the unpaid-stop period and delete them after the block
period, and run the negative-balance period of the financial block. A stage after closing is
skipped for the whole day when a day-level check finds none of its work.

A chunk's work and its done mark commit together; an interrupted day resumes with the chunks
not done, so it ends with the same ledger as an uninterrupted run. Running a day twice does
nothing twice: the done marks, the status guards, and the unique transaction per charge and
renewal order per term back it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.exc import IntegrityError

from portal.billing.models import BillingChunk, Charge, ChargeStatus, Transaction
from portal.billing.rules import rules_for
from portal.billing.services.ledger import available_funds, lock_client
from portal.clients.models import Client, ClientStatus
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.models import UTCDateTime
from portal.core.scheduler import daily_job
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.orders.models import (OPEN_ORDER_STATUSES, Order, OrderStatus, OrderType,
                                  PaymentStatus, TaskAction)
from portal.subscriptions.models import PaymentModel, Subscription, SubscriptionStatus
from portal.subscriptions.services.notices import notify_status_change

log = logging.getLogger(__name__)
S = SubscriptionStatus
CHUNK_SIZE = 5000  # larger chunks measured no faster on SQLite, and hold locks longer
LAST_ID = 2**31 - 1
# Test seam: fn(chunk) runs after each chunk commits (the kill-midway test raises here).
AFTER_CHUNK: list[Callable[[BillingChunk], None]] = []


class BillingDayIncomplete(Exception):
    """Some chunks of the day are still being worked on by another worker."""


# -- chunks -----------------------------------------------------------------------------------

def ensure_chunks(on: date, *, chunk_size: int = CHUNK_SIZE) -> None:
    """Cut the clients into id ranges for day `on`, once (the unique key decides races)."""
    if db.session.scalar(select(func.count(BillingChunk.id)).where(BillingChunk.run_on == on)):
        return
    # Only each chunk's first id leaves the database: one primary-key step per chunk.
    bounds = []
    with across_tenants():
        first = db.session.scalar(select(func.min(Client.id)))
        while first is not None:
            bounds.append(first)
            first = db.session.scalar(select(Client.id).where(Client.id > first)
                                      .order_by(Client.id).offset(chunk_size - 1).limit(1))
    bounds = bounds or [0]
    try:
        for index, first in enumerate(bounds):
            last = bounds[index + 1] - 1 if index + 1 < len(bounds) else LAST_ID
            db.session.add(BillingChunk(run_on=on, chunk_index=index,
                                        client_id_from=0 if index == 0 else first,
                                        client_id_to=last))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def _claim(on: date) -> BillingChunk | None:
    query = (select(BillingChunk).where(BillingChunk.run_on == on,
                                        BillingChunk.done_at.is_(None))
             .order_by(BillingChunk.chunk_index).limit(1))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


def run_billing_day(on: date, *, chunk_size: int = CHUNK_SIZE) -> dict:
    """Process every chunk of day `on` not yet done; return what was done."""
    ensure_chunks(on, chunk_size=chunk_size)
    summary = {"closed": 0, "chunks": 0}
    stages = stages_with_work(on)
    while True:
        chunk = _claim(on)
        if chunk is None:
            break
        with across_tenants():
            result = process_chunk(on, chunk.client_id_from, chunk.client_id_to, stages=stages)
        chunk.done_at = clock.now()
        chunk.summary = ", ".join(f"{k}={v}" for k, v in result.items())
        db.session.commit()
        summary["closed"] += result["closed"]
        summary["chunks"] += 1
        for hook in AFTER_CHUNK:
            hook(chunk)
    left = db.session.scalar(select(func.count(BillingChunk.id)).where(
        BillingChunk.run_on == on, BillingChunk.done_at.is_(None)))
    if left:
        raise BillingDayIncomplete(f"{left} chunks of {on} are still running")
    return summary


@daily_job("billing")
def billing_day_job(on: date) -> None:
    """The scheduler's entry for day `on` (catch-up in order is the scheduler's, D6)."""
    run_billing_day(on)


def first_billing_day() -> date | None:
    """The billing run starts with the first day any order was placed."""
    with across_tenants():
        return db.session.scalar(select(func.min(Order.created_on)))


billing_day_job.first_day = first_billing_day


# -- the stages of one chunk ------------------------------------------------------------------

def process_chunk(on: date, first_id: int, last_id: int, *,
                  stages: frozenset[str] | None = None) -> dict:
    """Close the chunk's due charges, then run the later stages (all of them unless `stages`
    names the ones with work today, see stages_with_work)."""
    result = {"closed": close_due_charges(on, first_id, last_id)}
    for name, stage in STAGES.items():
        result[name] = stage(on, first_id, last_id) if stages is None or name in stages else 0
    return result


def stages_with_work(on: date) -> frozenset[str]:
    """The later stages that can find anything on day `on`, judged once for the day rather
    than by every chunk, so that a quiet day does not scan each chunk's subscriptions and
    clients. Each check finds a superset of what its stage's own query finds, and no stage
    gives another new work on the same day: a block started by closing puts subscriptions
    into stopping and a paid renewal into renewing, out of both subscription stages' reach;
    cancelling an unpaid order makes no subscription renewable or expired; a balance that
    goes negative is evaluated then (R-FB-3), and evaluating it again that day changes
    nothing."""
    with across_tenants():
        widest = db.session.scalar(select(func.max(Subscription.auto_renew_point_days))) or 0
        checks = {
            "expired": _unpaid_orders(on),
            "renewals": (*_renewable(on), Subscription.expiry_date <= on + timedelta(days=widest)),
            "expiries": _expired_subscriptions(on),
            "blocks": _in_negative_period(),
        }
        return frozenset(name for name, criteria in checks.items()
                         if db.session.scalar(select(exists().where(*criteria))))


def close_due_charges(on: date, first_id: int, last_id: int) -> int:
    """04a T10, CH-30; 04b PRE-4: every blocked charge whose close date is `on` or earlier is
    debited, with one transaction each carrying the running balance — set-based, under the
    locks of the clients concerned."""
    charges, clients, transactions = (Charge.__table__, Client.__table__,
                                       Transaction.__table__)
    due = and_(charges.c.status == ChargeStatus.BLOCKED,
               charges.c.client_id.between(first_id, last_id), charges.c.close_date <= on)
    due_clients = select(charges.c.client_id).where(due)
    # The rows are locked in id order inside the count (PostgreSQL; SQLite has one writer
    # anyway), so only a number comes back rather than every id of the chunk.
    locked = db.session.scalar(select(func.count()).select_from(
        select(clients.c.id).where(clients.c.id.in_(due_clients)).order_by(clients.c.id)
        .with_for_update().subquery()))
    if not locked:
        return 0
    now = clock.now()
    running = clients.c.balance - func.sum(charges.c.amount).over(
        partition_by=charges.c.client_id, order_by=charges.c.id)
    rows = (select(charges.c.reseller_id, charges.c.client_id, literal("charge"),
                   -charges.c.amount, running, charges.c.currency, charges.c.description,
                   charges.c.id, literal(now, UTCDateTime()))
            .select_from(charges.join(clients, clients.c.id == charges.c.client_id))
            .where(due).order_by(charges.c.client_id, charges.c.id))
    db.session.execute(transactions.insert().from_select(
        ["reseller_id", "client_id", "kind", "change", "balance_after", "currency",
         "description", "charge_id", "created_at"], rows))
    totals = (select(charges.c.client_id, func.sum(charges.c.amount).label("total"))
              .where(due).group_by(charges.c.client_id).subquery())
    db.session.execute(clients.update().where(clients.c.id == totals.c.client_id)
                       .values(balance=clients.c.balance - totals.c.total))
    # R-FB-3 concerns only the balances this debit took below zero: usually none.
    negative = db.session.scalars(select(clients.c.id).where(
        clients.c.id.in_(due_clients), clients.c.balance < 0)).all()
    # 09 TRG-8 at a balance change: once per client the debit left at 0 or below.
    low = dict(db.session.execute(select(clients.c.id, clients.c.balance).where(
        clients.c.id.in_(due_clients), clients.c.balance <= 0)).all())
    if low:
        _notify_low_balances(low, due)
    result = db.session.execute(charges.update().where(due).values(
        status=ChargeStatus.CLOSED, close_date=on,
        billed_at=case((charges.c.operate_to < on, charges.c.operate_to), else_=on)))
    db.session.expire_all()
    if negative:
        from portal.subscriptions.services.blocks import evaluate_financial_block  # noqa: PLC0415

        for client in db.session.scalars(select(Client).where(Client.id.in_(negative))):
            evaluate_financial_block(client, on=on)
    return result.rowcount


def _notify_low_balances(low: dict, due) -> None:
    """Emit low_balance for {client id: balance now}, with the balance before this debit."""
    from portal.billing.services.ledger import notify_low_balance  # noqa: PLC0415
    from portal.orders.services.daily_notices import Ref  # noqa: PLC0415

    charges = Charge.__table__
    debited = dict(db.session.execute(
        select(charges.c.client_id, func.sum(charges.c.amount))
        .where(due, charges.c.client_id.in_(list(low))).group_by(charges.c.client_id)).all())
    for client_id, balance in sorted(low.items()):
        notify_low_balance(Ref(client_id), balance + debited.get(client_id, 0))


def _each(items, fn) -> int:
    """Run fn per item in its own savepoint: one refusal does not stop the night."""
    done = 0
    for item in items:
        try:
            with db.session.begin_nested():
                fn(item)
            done += 1
        except DomainError as error:
            log.warning("nightly run skipped %r: %s", item, error)
    return done


def expire_unpaid_orders(on: date, first_id: int, last_id: int) -> int:
    """03 ORD-7, O10/P11: orders still waiting for payment on their expiry date are cancelled
    with their payment, their charges deleted (04a CH-31)."""
    from portal.orders.services.ordering import cancel_order  # noqa: PLC0415

    orders = list(db.session.scalars(select(Order).where(
        Order.client_id.between(first_id, last_id), *_unpaid_orders(on)).order_by(Order.id)))
    return _each(orders, lambda order: cancel_order(order, actor=None, on=on, reason="expired"))


def run_renewals(on: date, first_id: int, last_id: int) -> int:
    """02 JOB-4/JOB-5, R-AREN-2/3/6, A-40: a renewal order at the automatic renewal point
    (whatever the auto-renew flag), paid from the balance on the expiry day when auto-renew
    is on and the money is there. ORD-3: on the expiry day a waiting change order gives way."""
    from portal.orders.services.ordering import cancel_order, place_renewal_order  # noqa
    from portal.orders.services.payments import complete_payment  # noqa: PLC0415

    scope = (Subscription.client_id.between(first_id, last_id), *_renewable(on))
    # Only subscriptions whose renewal point can have come: expiry ≤ on + the largest point.
    widest = db.session.scalar(select(func.max(Subscription.auto_renew_point_days))
                               .where(*scope)) or 0
    candidates = list(db.session.scalars(select(Subscription).where(
        *scope, Subscription.expiry_date <= on + timedelta(days=widest))
        .order_by(Subscription.id)))
    done = 0
    for subscription in candidates:
        if subscription.expiry_date - timedelta(days=subscription.auto_renew_point_days) > on:
            continue
        if rules_for(subscription.plan.billing_type) is None:
            continue
        covers_from = subscription.expiry_date + timedelta(days=1)

        def renew(subscription=subscription, covers_from=covers_from):
            order = db.session.scalar(select(Order).where(
                Order.reseller_id == subscription.reseller_id,
                Order.subscription_id == subscription.id,
                Order.order_type == OrderType.RENEWAL_ORDER, Order.covers_from == covers_from,
                Order.status != OrderStatus.CANCELLED))
            if order is None:
                if subscription.status not in (S.ACTIVE, S.PAYMENT_OVERDUE):
                    return
                blocking = db.session.scalar(select(Order).where(
                    Order.reseller_id == subscription.reseller_id,
                    Order.subscription_id == subscription.id,
                    Order.status.in_(OPEN_ORDER_STATUSES)))
                if blocking is not None:
                    if on == subscription.expiry_date \
                            and blocking.status == OrderStatus.WAITING_FOR_PAYMENT:
                        cancel_order(blocking, actor=None, on=on, reason="auto_renewal")
                    else:
                        return
                order = place_renewal_order(subscription, actor=None, on=on, automatic=True)
            if on == subscription.expiry_date and subscription.auto_renew \
                    and order.status == OrderStatus.WAITING_FOR_PAYMENT \
                    and order.payment is not None \
                    and order.payment.status == PaymentStatus.WAITING_FOR_PAYMENT:
                client = lock_client(subscription.client)
                if client.status == ClientStatus.ACTIVE \
                        and available_funds(client) >= order.payment.total:
                    complete_payment(order.payment, from_balance=True, actor=None, on=on)

        try:
            with db.session.begin_nested():
                renew()
            done += 1
        except (DomainError, IntegrityError) as error:
            log.warning("renewal of subscription %s skipped: %s", subscription.id, error)
    return done


def run_expiries(on: date, first_id: int, last_id: int) -> int:
    """02 S10, R-DET-1, JOB-7: after its last day an unrenewed subscription keeps working for
    the unpaid-stop period (payment overdue), is then stopped, and is deleted once the block
    period has passed too (a block period of 0 keeps it stopped)."""
    from portal.orders.services.provisioning import request_provisioning  # noqa: PLC0415
    from portal.subscriptions.services.lifecycle import delete_subscription  # noqa: PLC0415

    subscriptions = list(db.session.scalars(select(Subscription).where(
        Subscription.client_id.between(first_id, last_id), *_expired_subscriptions(on))
        .order_by(Subscription.id)))

    def expire(subscription: Subscription) -> None:
        rule = subscription.plan.provisioning_rule
        if subscription.unpaid_since is None:
            subscription.unpaid_since = subscription.expiry_date + timedelta(days=1)
        stop_on = subscription.unpaid_since + timedelta(days=max(rule.unpaid_stop_after_days, 0))
        if subscription.status in (S.ACTIVE, S.PAYMENT_OVERDUE):
            if on < stop_on:
                before = subscription.status
                subscription.status = S.PAYMENT_OVERDUE
                notify_status_change(subscription, before)  # 09 §3.5: → payment overdue
            else:
                subscription.status = S.STOPPING
                subscription.stop_reason = "unpaid"
                request_provisioning(subscription, TaskAction.STOP)
            subscription.updated_at = clock.now()
        elif subscription.status == S.STOPPED and rule.block_period_days > 0 \
                and on >= stop_on + timedelta(days=rule.block_period_days):
            delete_subscription(subscription, actor=None, on=on, by_nightly_run=True)

    return _each(subscriptions, expire)


def run_negative_periods(on: date, first_id: int, last_id: int) -> int:
    """01 R-FB-3.2: the allowed negative-balance period runs out in the nightly run."""
    from portal.subscriptions.services.blocks import evaluate_financial_block  # noqa: PLC0415

    clients = list(db.session.scalars(select(Client).where(
        Client.id.between(first_id, last_id), *_in_negative_period())))
    for client in clients:
        evaluate_financial_block(client, on=on)
    return len(clients)


# What each later stage looks for, shared by its own query and by stages_with_work.

def _unpaid_orders(on: date) -> tuple:
    return Order.status == OrderStatus.WAITING_FOR_PAYMENT, Order.expires_on <= on


def _renewable(on: date) -> tuple:
    return (Subscription.status.in_([S.ACTIVE, S.PAYMENT_OVERDUE, S.RENEWING, S.UPDATING]),
            Subscription.payment_model == PaymentModel.PREPAY,
            Subscription.is_trial.is_(False), Subscription.expiry_date.is_not(None),
            Subscription.expiry_date >= on)


def _expired_subscriptions(on: date) -> tuple:
    return (Subscription.status.in_([S.ACTIVE, S.PAYMENT_OVERDUE, S.STOPPED]),
            Subscription.expiry_date.is_not(None), Subscription.expiry_date < on)


def _in_negative_period() -> tuple:
    return Client.negative_balance_since.is_not(None), Client.status == ClientStatus.ACTIVE


STAGES = {"expired": expire_unpaid_orders, "renewals": run_renewals, "expiries": run_expiries,
          "blocks": run_negative_periods}
