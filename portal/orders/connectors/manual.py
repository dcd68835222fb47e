"""Manual provisioning (06 §2.9.2, §4.7 MP-1/MP-2): each of the six instance actions is
performed automatically, or waits for a staff member to approve a manual operation
(03 §2.3, §3.5)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.catalog.models import Connector as ConnectorKind
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.events import emit
from portal.orders.connectors.base import (Connector, ConnectorError, PollResult, Submission,
                                           register_connector)
from portal.orders.models import (ManualOperation, ManualOperationStatus, ManualOperationType,
                                  Task, TaskAction)

AUTO, MANUAL = "auto", "manual"
# The keys of the template's `modes` (catalog MANUAL_ACTIONS) for each task action; the
# task's own name is accepted too.
MODE_KEYS = {TaskAction.INSTALL: "install", TaskAction.UPDATE: "update",
             TaskAction.RENEW: "renew", TaskAction.STOP: "stop",
             TaskAction.RESUME: "activate", TaskAction.REMOVE: "delete"}
# 06 MP-2: install → «Установка приложения», activate → «Запуск приложения», …
OPERATION_TYPES = {
    TaskAction.INSTALL: ManualOperationType.APPLICATION_INSTALL,
    TaskAction.UPDATE: ManualOperationType.APPLICATION_UPDATE,
    TaskAction.RENEW: ManualOperationType.APPLICATION_RENEW,
    TaskAction.STOP: ManualOperationType.APPLICATION_STOP,
    TaskAction.RESUME: ManualOperationType.APPLICATION_START,
    TaskAction.REMOVE: ManualOperationType.APPLICATION_DELETE,
}
# Staff answer when they answer; the sweeper asks again this often meanwhile.
POLL_INTERVAL = timedelta(minutes=1)


def action_mode(settings: dict | None, action: TaskAction) -> str:
    """«Автоматически» unless the template sets the action to «Вручную» (06 §2.9.2 defaults)."""
    modes = (settings or {}).get("modes") or {}
    mode = modes.get(MODE_KEYS[action], modes.get(action.value, AUTO))
    return MANUAL if mode == MANUAL else AUTO


def operation_description(action: TaskAction, service_name: str) -> str:
    """03 EX-8: 'Покупка услуги "Full Manual provisioning"' for an install."""
    descriptions = {
        TaskAction.INSTALL: _('Purchase of the service "%(name)s"', name=service_name),
        TaskAction.UPDATE: _('Change of the service "%(name)s"', name=service_name),
        TaskAction.RENEW: _('Renewal of the service "%(name)s"', name=service_name),
        TaskAction.STOP: _('Stop of the service "%(name)s"', name=service_name),
        TaskAction.RESUME: _('Start of the service "%(name)s"', name=service_name),
        TaskAction.REMOVE: _('Deletion of the service "%(name)s"', name=service_name),
    }
    return descriptions[action]


@register_connector
class ManualConnector(Connector):
    kind = ConnectorKind.MANUAL

    def submit(self, task: Task) -> Submission:
        """Automatic actions are done at once; manual ones open a manual operation (MP-2)."""
        instance = task.service_instance
        if instance is None:
            raise ConnectorError("Manual provisioning needs a service instance.")
        action = TaskAction(task.action)
        template = instance.service_template
        if action_mode(template.settings, action) == AUTO:
            return Submission(request_id="", done=True)
        subscription = task.subscription
        client = subscription.client
        # The description is stored, so it speaks the reseller's language, not the caller's.
        with force_locale(client.reseller.default_language or "ru"):
            description = operation_description(action, template.name)
        operation = ManualOperation(
            reseller_id=task.reseller_id, client_id=client.id, subscription_id=subscription.id,
            task_id=task.id, service_rule_id=client.service_rule_id,
            operation_type=OPERATION_TYPES[action], description=description,
            status=ManualOperationStatus.APPROVAL_REQUIRED, created_at=clock.now())
        db.session.add(operation)
        db.session.flush()
        audit.log(operation, "orders.manual_operation.created", label=operation.description,
                  data={"task_id": task.id, "type": operation.operation_type.value})
        emit("manual_operation", manual_operation=operation)  # 09 TRG-9: created
        return Submission(request_id=str(operation.id), done=False,
                          ready_at=clock.now() + POLL_INTERVAL, awaiting_approval=True)

    def poll(self, task: Task) -> PollResult:
        """Pending while the operation waits; done once approved; failed once declined (MO-2)."""
        operation = _operation_of(task)
        if operation is None:
            return PollResult("failed",
                              error=f"Unknown manual operation {task.external_request_id!r}.")
        if operation.status == ManualOperationStatus.APPROVED:
            return PollResult("done")
        if operation.status == ManualOperationStatus.DECLINED:
            with force_locale(operation.client.reseller.default_language or "ru"):
                error = _("Declined by staff")
                if operation.comment:
                    error = _("Declined by staff: %(comment)s", comment=operation.comment)
            # 03 MO-2: a refusal is final; asking the staff again would not change it.
            return PollResult("failed", error=error, retry=False)
        return PollResult("pending")


def _operation_of(task: Task) -> ManualOperation | None:
    try:
        operation_id = int(task.external_request_id)
    except ValueError:
        return None
    return db.session.scalar(select(ManualOperation).where(
        ManualOperation.reseller_id == task.reseller_id, ManualOperation.id == operation_id,
        ManualOperation.task_id == task.id))
