"""Approving and declining manual operations (03 §3.5, MO-2, MO-3; 06 §3.4)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.core import audit
from portal.core.clock import clock
from portal.notifications.events import emit
from portal.orders.models import (ManualOperation, ManualOperationStatus, ManualOperationType,
                                  TaskAction, TaskStatus)
from portal.orders.services.errors import OrderError
from portal.orders.services.provisioning import poll_task, request_provisioning
from portal.subscriptions.models import SubscriptionStatus

COMMENT_MAX = 2000
# 02 S14: a system stop or deletion held for approval continues once approved.
SUBSCRIPTION_OPERATIONS = {
    ManualOperationType.SUBSCRIPTION_STOP: (SubscriptionStatus.STOPPING, TaskAction.STOP),
    ManualOperationType.SUBSCRIPTION_DELETE: (SubscriptionStatus.DELETING, TaskAction.REMOVE),
}


def approve_manual_operation(operation: ManualOperation, *, actor) -> ManualOperation:
    """«Подтвердить»: the operation is carried out; its task (and order) finish now (MO-2)."""
    _ensure_waiting(operation)
    member = getattr(actor, "member", actor)
    operation.status = ManualOperationStatus.APPROVED
    # MO-3: «Подтверждена менеджером» names who approved.
    operation.approved_by_id = getattr(member, "id", None)
    operation.decided_at = clock.now()
    audit.log(operation, "orders.manual_operation.approved", actor=actor,
              label=operation.description)
    emit("manual_operation", manual_operation=operation)  # 09 TRG-9: approved
    _finish_task(operation)
    _continue_subscription_operation(operation, actor=actor)
    return operation


def decline_manual_operation(operation: ManualOperation, *, actor,
                             comment: str = "") -> ManualOperation:
    """«Отклонить»: the operation is not carried out; its order ends in activation_error."""
    _ensure_waiting(operation)
    operation.status = ManualOperationStatus.DECLINED
    operation.comment = (comment or "").strip()[:COMMENT_MAX]
    operation.decided_at = clock.now()
    audit.log(operation, "orders.manual_operation.declined", actor=actor,
              label=operation.description,
              data={"comment": operation.comment} if operation.comment else None)
    emit("manual_operation", manual_operation=operation)  # 09 TRG-9: rejected
    _finish_task(operation)
    return operation


def _ensure_waiting(operation: ManualOperation) -> None:
    if operation.status != ManualOperationStatus.APPROVAL_REQUIRED:
        raise OrderError(_l("The operation has already been decided."))


def _finish_task(operation: ManualOperation) -> None:
    # The waiting task hears the decision at once instead of at the sweeper's next poll.
    task = operation.task
    if task is not None and task.status == TaskStatus.RUNNING:
        poll_task(task)


def _continue_subscription_operation(operation: ManualOperation, *, actor) -> None:
    subscription = operation.subscription
    step = SUBSCRIPTION_OPERATIONS.get(operation.operation_type)
    if step is None or subscription is None or operation.task_id is not None:
        return
    if subscription.status != SubscriptionStatus.AWAITING_MANUAL_APPROVAL:
        return
    under_way, action = step
    subscription.status = under_way
    subscription.updated_at = clock.now()
    request_provisioning(subscription, action, actor=actor)
