"""Client blocks and the subscriptions they stop (01 §3.2–3.4, R-FB-1..R-FB-7).

The financial block is entered as soon as a balance change takes the balance below −T, or
when the negative balance outlasts the allowed period; it stops the client's prepaid
subscriptions (those mid-operation once they are stable; the "manual" stop method creates
manual operations instead) and is lifted when money brings the balance back."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.catalog.models import BillingType
from portal.clients import hooks
from portal.clients.funds import threshold_in_force
from portal.clients.models import Client, ClientStatus
from portal.core import audit
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.events import emit
from portal.orders.models import (ManualOperation, ManualOperationStatus, ManualOperationType,
                                  TaskAction)
from portal.subscriptions.models import (PaymentModel, Subscription, SubscriptionStatus,
                                         TRANSITIONAL_STATUSES)
from portal.subscriptions.services.notices import notify_status_change

S = SubscriptionStatus
FINANCIAL, ADMIN = "financial", "admin"
STOPPABLE = (S.ACTIVE, S.PAYMENT_OVERDUE)
# 01 §3.4: these billing types come back without a funds check.
RESTORED_WITHOUT_CHECK = {BillingType.PREORDER, BillingType.CSP_ANNUAL,
                          BillingType.PAYG_INTERNAL, BillingType.PAYG_EXTERNAL}


def _subscriptions(client: Client, *, prepaid_only: bool) -> list[Subscription]:
    query = select(Subscription).where(Subscription.reseller_id == client.reseller_id,
                                       Subscription.client_id == client.id,
                                       Subscription.status != S.DELETED)
    if prepaid_only:
        query = query.where(Subscription.payment_model == PaymentModel.PREPAY)
    return list(db.session.scalars(query.order_by(Subscription.id)))


def _stop_for_block(subscription: Subscription, kind: str, *, actor, manual: bool) -> None:
    from portal.orders.services.provisioning import request_provisioning  # noqa: PLC0415

    subscription.pending_block = kind
    if subscription.status in TRANSITIONAL_STATUSES:
        return  # applied once the subscription is stable (apply_pending_block)
    if subscription.status not in STOPPABLE:
        return
    subscription.status_before_block = subscription.status
    if manual:
        subscription.status = S.AWAITING_MANUAL_APPROVAL
        operation = ManualOperation(
            reseller_id=subscription.reseller_id, client_id=subscription.client_id,
            subscription_id=subscription.id, service_rule_id=subscription.client.service_rule_id,
            operation_type=ManualOperationType.SUBSCRIPTION_STOP,
            description=str(_l("Stop of subscription #%(id)s: financial block",
                               id=subscription.id)), created_at=clock.now())
        db.session.add(operation)
        db.session.flush()
        notify_status_change(subscription, subscription.status_before_block)
        emit("manual_operation", manual_operation=operation)  # 09 TRG-9: created
    else:
        subscription.status = S.STOPPING
        request_provisioning(subscription, TaskAction.STOP, actor=actor)
    subscription.updated_at = clock.now()
    audit.log(subscription, f"subscriptions.subscription.{kind}_block_stopped", actor=actor,
              label=subscription.name)


def apply_pending_block(subscription: Subscription, *, actor=None) -> None:
    """A subscription that was mid-operation when its client was blocked stops now that it
    is stable (01 §3.2, §3.3)."""
    kind = subscription.pending_block
    if not kind or subscription.status_before_block is not None:
        return
    client = subscription.client
    still = (client.status == ClientStatus.FINANCIALLY_BLOCKED if kind == FINANCIAL
             else client.status == ClientStatus.ADMIN_BLOCKED)
    if not still:
        subscription.pending_block = None
        return
    manual = kind == FINANCIAL and client.service_rule.stop_method == "manual"
    _stop_for_block(subscription, kind, actor=actor, manual=manual)


def _restore(subscription: Subscription, kind: str, *, actor) -> None:
    from portal.orders.services.provisioning import request_provisioning  # noqa: PLC0415

    if subscription.pending_block != kind:
        return
    before = subscription.status_before_block
    subscription.pending_block = None
    subscription.status_before_block = None
    if before is None:
        return
    if subscription.status == S.AWAITING_MANUAL_APPROVAL:
        # Its stop was never approved: the pending operation is declined (01 §3.4).
        for op in db.session.scalars(select(ManualOperation).where(
                ManualOperation.reseller_id == subscription.reseller_id,
                ManualOperation.subscription_id == subscription.id,
                ManualOperation.status == ManualOperationStatus.APPROVAL_REQUIRED)):
            op.status = ManualOperationStatus.DECLINED
            op.comment = "Account was moved from credit hold"
            op.decided_at = clock.now()
            emit("manual_operation", manual_operation=op)  # 09 TRG-9: rejected
        subscription.status = before
        notify_status_change(subscription, S.AWAITING_MANUAL_APPROVAL)
    elif subscription.status in (S.STOPPED, S.STOPPING):
        subscription.status = S.ACTIVATING
        request_provisioning(subscription, TaskAction.RESUME, actor=actor)
    subscription.updated_at = clock.now()
    audit.log(subscription, f"subscriptions.subscription.{kind}_block_restored", actor=actor,
              label=subscription.name)


def admin_block_step(client: Client, *, blocked: bool, actor=None) -> None:
    """01 §3.2: all subscriptions (prepaid and postpaid) stop with the administrative block
    and get their saved status back when it is lifted."""
    for subscription in _subscriptions(client, prepaid_only=False):
        if blocked:
            _stop_for_block(subscription, ADMIN, actor=actor, manual=False)
        else:
            _restore(subscription, ADMIN, actor=actor)


def evaluate_financial_block(client: Client, *, actor=None, on: date | None = None) -> None:
    """01 R-FB-3 entry / R-FB-6 exit, after every balance change and on the nightly run."""
    on = on or clock.today()
    balance = client.balance or 0
    threshold = threshold_in_force(client)
    rule = client.service_rule
    # R-FB-4: the negative period counts from the moment the balance went below zero.
    if balance < 0 and client.negative_balance_since is None:
        client.negative_balance_since = clock.now()
    elif balance >= 0:
        client.negative_balance_since = None
    period = rule.negative_balance_days
    period_over = (balance < 0 and period is not None and period >= 0
                   and client.negative_balance_since is not None
                   and on > _day(client.negative_balance_since) + timedelta(days=period))
    if client.status == ClientStatus.ACTIVE and (balance < -threshold or period_over):
        _enter(client, actor=actor)
    elif client.status == ClientStatus.FINANCIALLY_BLOCKED and balance >= -threshold \
            and not period_over:
        _leave(client, actor=actor)


def _day(instant: datetime) -> date:
    return instant.astimezone(clock.zone()).date()


def _enter(client: Client, *, actor) -> None:
    emit("account_changed", client=client, was={"account.status": client.status.value})
    client.status = ClientStatus.FINANCIALLY_BLOCKED
    client.updated_at = clock.now()
    audit.log(client, "clients.client.financially_blocked", actor=actor, label=client.name,
              data={"balance": str(client.balance)})
    manual = client.service_rule.stop_method == "manual"
    for subscription in _subscriptions(client, prepaid_only=True):
        _stop_for_block(subscription, FINANCIAL, actor=actor, manual=manual)


def _leave(client: Client, *, actor) -> None:
    emit("account_changed", client=client, was={"account.status": client.status.value})
    client.status = ClientStatus.ACTIVE
    client.updated_at = clock.now()
    audit.log(client, "clients.client.financial_block_lifted", actor=actor, label=client.name,
              data={"balance": str(client.balance)})
    for subscription in _subscriptions(client, prepaid_only=True):
        if subscription.plan.billing_type in RESTORED_WITHOUT_CHECK:
            _restore(subscription, FINANCIAL, actor=actor)


def live_subscriptions(client: Client) -> int:
    with across_tenants():
        return db.session.scalar(select(func.count(Subscription.id)).where(
            Subscription.client_id == client.id, Subscription.status != S.DELETED)) or 0


def live_subscriptions_by_plan(plan_ids: list[int]) -> dict[int, int]:
    if not plan_ids:
        return {}
    with across_tenants():
        rows = db.session.execute(select(Subscription.plan_id, func.count(Subscription.id)).where(
            Subscription.plan_id.in_(plan_ids), Subscription.status != S.DELETED)
            .group_by(Subscription.plan_id)).all()
    return dict(rows)


def register_hooks() -> None:
    from portal.catalog.usage import SUBSCRIPTION_COUNTERS  # noqa: PLC0415

    if evaluate_financial_block not in hooks.FINANCIAL_BLOCK_EVALUATORS:
        hooks.FINANCIAL_BLOCK_EVALUATORS.append(evaluate_financial_block)
        hooks.ADMIN_BLOCK_STEPS.append(admin_block_step)
        hooks.LIVE_SUBSCRIPTION_COUNTERS.append(live_subscriptions)
        SUBSCRIPTION_COUNTERS.append(live_subscriptions_by_plan)


register_hooks()
__all__ = ["ADMIN", "FINANCIAL", "_l"]
