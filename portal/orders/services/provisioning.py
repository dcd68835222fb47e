"""Provisioning through connectors: one task per service instance, queued, sent, polled and
retried with backoff (03 §2.2, §3.4, TSK-1..TSK-3, A32; 06 §3.3, S-7, J4).

A task's life: `queued` → `running` (its connector got the request) → `completed`, or back to
`queued` with a later `next_attempt_at` after a failed attempt, or `failed` for good after the
last one. When every task of one request has completed, the subscription and its order hear
of it through `provisioning_succeeded`; a task failed for good reports `provisioning_failed`.
This module never moves money: the callbacks own the order and subscription statuses.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from portal.catalog.models import CONNECTOR_LABELS
from portal.core import audit
from portal.core.clock import clock
from portal.core.formatting import as_datetime
from portal.extensions import db
from portal.orders.connectors import ConnectorError, connector_for
from portal.orders.models import (TASK_ACTION_LABELS, Order, Task, TaskAction, TaskLogEntry,
                                  TaskStatus)
from portal.orders.services.errors import OrderError
from portal.subscriptions.models import ServiceInstance, ServiceInstanceStatus, Subscription
from portal.subscriptions.services.outcome import provisioning_failed, provisioning_succeeded
from portal.tenancy.models import Reseller

MAX_ATTEMPTS = 4
# Waits after the 1st, 2nd and 3rd failed attempt; the 4th failure is final.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
# How often a request still under way is asked about again.
POLL_INTERVAL = timedelta(minutes=1)
# A queued task nobody picked up this long after it was queued lost its job: the sweeper runs it.
LOST_JOB_AFTER = timedelta(minutes=10)

SI = ServiceInstanceStatus
# 06 §3.3: the instance status an action leads to, on success and on failure.
INSTANCE_STATUSES = {
    TaskAction.INSTALL: (SI.ACTIVE, SI.PROVISIONING_ERROR),
    TaskAction.UPDATE: (SI.ACTIVE, SI.UPDATE_ERROR),
    TaskAction.RENEW: (SI.ACTIVE, SI.RENEW_ERROR),
    TaskAction.STOP: (SI.STOPPED, SI.STOP_ERROR),
    TaskAction.RESUME: (SI.ACTIVE, SI.ACTIVATION_ERROR),
    TaskAction.REMOVE: (SI.DELETED, SI.DELETE_ERROR),
}

# Task names and log lines are stored in the root operator's language: only the root sees
# the task queue (03 TSK-1).
TASK_NAME = _l("%(service)s: %(action)s of subscription #%(subscription)s")
LOG_QUEUED = _l("Queued.")
LOG_ATTEMPT = _l("Attempt %(attempt)s of %(max)s: sending the request to %(connector)s.")
LOG_ACCEPTED = _l("The request %(request)s is accepted; the answer is expected at %(at)s.")
LOG_AWAITING = _l("Manual operation #%(operation)s awaits a staff member's approval.")
LOG_FAILED = _l("Attempt %(attempt)s failed: %(error)s")
LOG_RETRY = _l("Next attempt at %(at)s.")
LOG_GAVE_UP = _l("The task failed; run it again from the task queue when the cause is fixed.")
LOG_COMPLETED = _l("Completed.")
LOG_RERUN = _l("Queued again by %(actor)s.")
LOG_CANCELLED = _l("Cancelled by %(actor)s.")


# -- creating tasks ---------------------------------------------------------------------------

def request_provisioning(subscription: Subscription, action: TaskAction | str, *,
                         order: Order | None = None, actor=None,
                         payload: dict | None = None) -> list[Task]:
    """Queue one task per service instance of the subscription (03 §3.4, 06 S-7).

    An install creates the instances, one per service of the plan. The caller has already set
    the subscription's status; a plan without services succeeds at once.
    """
    action = TaskAction(action)
    now = clock.now()
    instances = _instances_for(subscription, action, now)
    if not instances:
        provisioning_succeeded(subscription, action, order=order, actor=actor)
        return []
    # The tasks of one request finish together: the order completes when all of them have.
    batch = uuid.uuid4().hex[:16]
    language = _root_language()
    tasks = []
    for instance in instances:
        with force_locale(language):
            name = TASK_NAME % {"service": instance.service_template.name,
                                "action": TASK_ACTION_LABELS[action],
                                "subscription": subscription.id}
        task = Task(reseller_id=subscription.reseller_id, subscription_id=subscription.id,
                    order_id=order.id if order is not None else None,
                    service_instance_id=instance.id, action=action, name=name[:255],
                    status=TaskStatus.QUEUED, attempts=0, max_attempts=MAX_ATTEMPTS,
                    payload={"batch": batch, "request": payload}, created_at=now,
                    updated_at=now)
        db.session.add(task)
        db.session.flush()
        _log(task, LOG_QUEUED, language=language)
        _enqueue(task)
        tasks.append(task)
    return tasks


def _instances_for(subscription: Subscription, action: TaskAction,
                   now: datetime) -> list[ServiceInstance]:
    living = [i for i in subscription.service_instances if i.status != SI.DELETED]
    if action != TaskAction.INSTALL:
        return living
    instances = []
    for template in subscription.plan.services:
        instance = next((i for i in living if i.service_template_id == template.id), None)
        if instance is None:
            instance = ServiceInstance(
                reseller_id=subscription.reseller_id, subscription=subscription,
                client_id=subscription.client_id, service_template_id=template.id,
                name=template.name, created_at=now)
            db.session.add(instance)
        instance.status = SI.PROVISIONING
        instance.updated_at = now
        instances.append(instance)
    db.session.flush()
    return instances


def _enqueue(task: Task) -> None:
    from portal.core.jobs import enqueue_after_commit  # noqa: PLC0415
    from portal.orders.jobs import run_task_job  # noqa: PLC0415 - the job imports this module

    enqueue_after_commit(run_task_job, task.id, queue="default")


# -- running and polling ----------------------------------------------------------------------

def run_task(task: Task) -> bool:
    """Send a queued task's action to its connector (queued → running); False if not due."""
    now = clock.now()
    if task.status != TaskStatus.QUEUED or (task.next_attempt_at is not None
                                             and task.next_attempt_at > now):
        return False
    instance = task.service_instance
    connector = connector_for(instance.service_template)
    task.status = TaskStatus.RUNNING
    task.attempts += 1
    task.next_attempt_at = None
    task.external_request_id = ""
    task.updated_at = now
    _log(task, LOG_ATTEMPT, attempt=task.attempts, max=task.max_attempts,
         connector=CONNECTOR_LABELS[connector.kind])
    try:
        submission = connector.submit(task)
    except ConnectorError as error:
        _attempt_failed(task, str(error))
        return True
    if submission.error:
        _attempt_failed(task, submission.error)
    elif submission.done:
        _complete(task, submission.external_id)
    else:
        task.external_request_id = submission.request_id
        task.next_attempt_at = submission.ready_at or now + POLL_INTERVAL
        if submission.awaiting_approval:
            # 06 §3.3: the instance waits for the manual operation to be decided.
            instance.status = SI.AWAITING_MANUAL
            instance.updated_at = now
            _log(task, LOG_AWAITING, operation=submission.request_id)
        else:
            _log(task, LOG_ACCEPTED, request=submission.request_id,
                 at=as_datetime(task.next_attempt_at))
    db.session.flush()
    return True


def poll_task(task: Task) -> bool:
    """Ask the connector how a running task's request went; False while it is under way."""
    if task.status != TaskStatus.RUNNING:
        return False
    connector = connector_for(task.service_instance.service_template)
    result = connector.poll(task)
    if result.state == "pending":
        # Not logged: a request can wait days for a staff member, polled every minute.
        task.next_attempt_at = clock.now() + POLL_INTERVAL
        db.session.flush()
        return False
    if result.state == "done":
        _complete(task, result.external_id)
    else:
        _attempt_failed(task, result.error, retry=result.retry)
    db.session.flush()
    return True


def advance_task(task: Task) -> bool:
    """One step of a due task: run a queued one, poll a running one."""
    if task.status == TaskStatus.QUEUED:
        return run_task(task)
    return poll_task(task)


def due_task_ids(now: datetime) -> list[int]:
    """Tasks whose retry or poll time has come (every tenant: call across_tenants)."""
    lost = now - LOST_JOB_AFTER
    return list(db.session.scalars(
        select(Task.id).where(or_(
            Task.status.in_((TaskStatus.QUEUED, TaskStatus.RUNNING))
            & (Task.next_attempt_at <= now),
            (Task.status == TaskStatus.QUEUED) & Task.next_attempt_at.is_(None)
            & (Task.updated_at <= lost)))
        .order_by(Task.next_attempt_at, Task.id)))


def _complete(task: Task, external_id: str) -> None:
    now = clock.now()
    action = TaskAction(task.action)
    task.status = TaskStatus.COMPLETED
    task.finished_at = now
    task.next_attempt_at = None
    task.last_error = ""
    task.updated_at = now
    instance = task.service_instance
    instance.status = INSTANCE_STATUSES[action][0]
    if external_id:
        instance.external_id = external_id
    instance.updated_at = now
    _log(task, LOG_COMPLETED)
    if _request_completed(task):
        provisioning_succeeded(task.subscription, action, order=task.order)


def _attempt_failed(task: Task, error: str, *, retry: bool = True) -> None:
    now = clock.now()
    task.last_error = error
    task.external_request_id = ""
    task.updated_at = now
    _log(task, LOG_FAILED, level="error", attempt=task.attempts, error=error)
    if retry and task.attempts < task.max_attempts:
        task.status = TaskStatus.QUEUED
        task.next_attempt_at = now + BACKOFF[min(task.attempts, len(BACKOFF)) - 1]
        _log(task, LOG_RETRY, at=as_datetime(task.next_attempt_at))
        return
    action = TaskAction(task.action)
    task.status = TaskStatus.FAILED
    task.finished_at = now
    task.next_attempt_at = None
    instance = task.service_instance
    instance.status = INSTANCE_STATUSES[action][1]
    instance.updated_at = now
    _log(task, LOG_GAVE_UP, level="error")
    provisioning_failed(task.subscription, action, error=error, order=task.order)


def _request_completed(task: Task) -> bool:
    """Every task of the request this task belongs to has completed (cancelled ones aside)."""
    batch = (task.payload or {}).get("batch")
    siblings = db.session.scalars(select(Task).where(
        Task.reseller_id == task.reseller_id, Task.subscription_id == task.subscription_id,
        Task.action == task.action,
        Task.order_id == task.order_id if task.order_id is not None
        else Task.order_id.is_(None))).all()
    return all(t.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED)
               for t in siblings if (t.payload or {}).get("batch") == batch)


# -- the operator's buttons -------------------------------------------------------------------

def rerun_task(task: Task, *, actor) -> Task:
    """«Запустить»: a failed task goes back to the queue with fresh attempts (03 TSK-2)."""
    if task.status != TaskStatus.FAILED:
        raise OrderError(_l("Only a failed task can be run again."))
    now = clock.now()
    task.status = TaskStatus.QUEUED
    task.attempts = 0
    task.next_attempt_at = None
    task.external_request_id = ""
    task.finished_at = None
    task.updated_at = now
    if task.action == TaskAction.INSTALL:
        task.service_instance.status = SI.PROVISIONING
        task.service_instance.updated_at = now
    _log(task, LOG_RERUN, actor=_actor_label(actor))
    audit.log(task, "orders.task.rerun", actor=actor, label=task.name)
    _enqueue(task)
    db.session.flush()
    return task


def cancel_task(task: Task, *, actor) -> Task:
    """«Отменить»: a queued or failed task is dropped (03 TSK-3; never a running one, A11)."""
    if task.status not in (TaskStatus.QUEUED, TaskStatus.FAILED):
        raise OrderError(_l("Only a queued or failed task can be cancelled."))
    now = clock.now()
    task.status = TaskStatus.CANCELLED
    task.next_attempt_at = None
    task.finished_at = now
    task.updated_at = now
    _log(task, LOG_CANCELLED, actor=_actor_label(actor))
    audit.log(task, "orders.task.cancelled", actor=actor, label=task.name)
    db.session.flush()
    return task


# -- helpers ----------------------------------------------------------------------------------

def _root_language() -> str:
    return db.session.scalar(select(Reseller.default_language).where(Reseller.is_root)) or "ru"


def _log(task: Task, message, *, level: str = "info", language: str | None = None,
         **params) -> None:
    with force_locale(language or _root_language()):
        text = str(message % params) if params else str(message)
    db.session.add(TaskLogEntry(reseller_id=task.reseller_id, task_id=task.id,
                                created_at=clock.now(), level=level, message=text))


def _actor_label(actor) -> str:
    member = getattr(actor, "member", actor)
    return str(member) if member is not None else "—"
