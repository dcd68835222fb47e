"""Operator-panel pages of the task queue (03 S3, TSK-1..TSK-3) and of manual operations
(03 S4, MO-2, MO-3).

The task queue is the root operator's alone (03 TSK-1, A34): any other reseller's panel answers
404, and at the root it lists the tasks of every tenant. Manual operations belong to the
reseller whose client they concern.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import String, cast, false, select
from sqlalchemy.orm import selectinload
from wtforms import TextAreaField
from wtforms.validators import Length

from portal.accounts.auth import staff_required
from portal.clients.models import Client
from portal.core.audit import events_for
from portal.core.forms import run_action
from portal.core.links import link_to
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.operator.lists import list_response
from portal.orders.models import (MANUAL_OPERATION_STATUS_LABELS, MANUAL_OPERATION_TYPE_LABELS,
                                  TASK_STATUS_LABELS, ManualOperation, ManualOperationStatus,
                                  Task, TaskStatus)
from portal.orders.services.manual_operations import (COMMENT_MAX, approve_manual_operation,
                                                      decline_manual_operation)
from portal.orders.services.provisioning import cancel_task, rerun_task
from portal.tenancy.scope import scoped_select, tenant_get_or_404

bp = Blueprint("provisioning", __name__, url_prefix="/provisioning")

SUBSCRIPTION_PAGE = "subscriptions.detail"
CLIENT_PAGE = "clients.client_detail"


# -- the task queue (03 S3) -----------------------------------------------------------------

def root_only(view):
    """03 TSK-1, A34: the task queue exists only in the root operator's panel."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated and not current_user.reseller.is_root:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def _all_tasks(reseller):
    # The root sees the queue of every tenant; the list runs inside across_tenants().
    return select(Task) if reseller.is_root else select(Task).where(false())


def _tasklink_to(text_of):
    def render(task):
        return Markup('<a href="{}">{}</a>').format(
            url_for("provisioning.task_detail", task_id=task.id), text_of(task))
    return render


TASK_STATUS_CHOICES = [(status.value, label) for status, label in TASK_STATUS_LABELS.items()]

TASKS = register_list(ListDefinition(
    key="tasks", title=_l("Task queue"), model=Task, permission="task_queue.view",
    query=_all_tasks,
    columns=[
        Column("id", "ID", sort=Task.id, search=cast(Task.id, String),
               render=_tasklink_to(lambda t: t.id)),
        Column("name", _l("Description"), sort=Task.name, search=Task.name,
               render=_tasklink_to(lambda t: t.name)),
        # 03 S3: the creation time with seconds (the list kit's date-time format has them).
        Column("created_at", _l("Created"), sort=Task.created_at),
        Column("status", _l("Status"), sort=Task.status, value=lambda t: t.status_label),
        Column("attempts", _l("Attempts"), sort=Task.attempts, default=False),
        Column("last_error", _l("Last error"), default=False),
    ],
    filters=[Filter("status", _l("Status"), Task.status, TASK_STATUS_CHOICES)],
))


def _task_or_404(task_id: int) -> Task:
    with across_tenants():  # the root's queue holds every tenant's tasks
        task = db.session.scalar(select(Task).where(Task.id == task_id))
    if task is None:
        abort(404)
    return task


@bp.get("/tasks")
@root_only
@staff_required("task_queue.view")
def list_tasks():
    """«Очередь задач»: the provisioning tasks of every tenant (03 S3)."""
    with across_tenants():
        return list_response(TASKS, title=TASKS.title)


@bp.get("/tasks/<int:task_id>")
@root_only
@staff_required("task_queue.view")
def task_detail(task_id):
    task = _task_or_404(task_id)
    return render_template(
        "orders/tasks/detail.html", task=task, entries=list(task.log_entries),
        can_manage=current_user.can("task_queue.manage"),
        subscription_link=link_to(SUBSCRIPTION_PAGE,
                                _("Subscription #%(id)s", id=task.subscription_id),
                                subscription_id=task.subscription_id),
        can_run=task.status == TaskStatus.FAILED,
        can_cancel=task.status in (TaskStatus.QUEUED, TaskStatus.FAILED))


@bp.post("/tasks/<int:task_id>/run")
@root_only
@staff_required("task_queue.manage")
def run_task_page(task_id):
    """«Запустить»: only a failed task; it goes back to the queue (03 TSK-2)."""
    task = _task_or_404(task_id)
    with across_tenants():
        run_action(lambda: rerun_task(task, actor=current_user),
                   success=_("The task is queued again."))
    return redirect(url_for("provisioning.task_detail", task_id=task_id))


@bp.post("/tasks/<int:task_id>/cancel")
@root_only
@staff_required("task_queue.manage")
def cancel_task_page(task_id):
    """«Отменить»: only a queued or failed task (03 TSK-3)."""
    task = _task_or_404(task_id)
    with across_tenants():
        run_action(lambda: cancel_task(task, actor=current_user),
                   success=_("The task is cancelled."))
    return redirect(url_for("provisioning.task_detail", task_id=task_id))


# -- manual operations (03 S4) --------------------------------------------------------------

def _operationlink_to(text_of):
    def render(operation):
        return Markup('<a href="{}">{}</a>').format(
            url_for("provisioning.manual_operation_detail", manual_operation_id=operation.id),
            text_of(operation))
    return render


def _subscription_cell(operation) -> Markup:
    if operation.subscription_id is None:
        return Markup("")
    return link_to(SUBSCRIPTION_PAGE, _("Subscription #%(id)s", id=operation.subscription_id),
                 subscription_id=operation.subscription_id)


def _client_cell(operation) -> Markup:
    return link_to(CLIENT_PAGE, operation.client.name, client_id=operation.client_id)


def _operations(reseller):
    return scoped_select(ManualOperation, reseller).options(
        selectinload(ManualOperation.client).selectinload(Client.manager),
        selectinload(ManualOperation.service_rule))


OPERATION_STATUS_CHOICES = [(status.value, label)
                            for status, label in MANUAL_OPERATION_STATUS_LABELS.items()]
OPERATION_TYPE_CHOICES = [(kind.value, label)
                          for kind, label in MANUAL_OPERATION_TYPE_LABELS.items()]

MANUAL_OPERATIONS = register_list(ListDefinition(
    key="manual_operations", title=_l("Manual operations"), model=ManualOperation,
    permission="manual_operations.view", query=_operations,
    columns=[
        Column("id", "ID", sort=ManualOperation.id, search=cast(ManualOperation.id, String),
               render=_operationlink_to(lambda o: o.id)),
        Column("view", _l("View"), value=lambda o: "",
               render=_operationlink_to(lambda o: _("View"))),
        Column("subscription", _l("Description"), sort=ManualOperation.subscription_id,
               search=cast(ManualOperation.subscription_id, String),
               value=lambda o: _("Subscription #%(id)s", id=o.subscription_id)
               if o.subscription_id else "",
               render=_subscription_cell),
        Column("operation_type", _l("Operation"), sort=ManualOperation.operation_type,
               value=lambda o: o.type_label),
        Column("client", _l("Client"), value=lambda o: o.client.name, render=_client_cell),
        # 03 S4: the client's manager, not whoever decided the operation.
        Column("manager", _l("Manager"),
               value=lambda o: o.client.manager.name if o.client.manager else ""),
        Column("service_rule", _l("Service rule"),
               value=lambda o: o.service_rule.name if o.service_rule else ""),
        Column("status", _l("Status"), sort=ManualOperation.status,
               value=lambda o: o.status_label),
        Column("created_at", _l("Created"), sort=ManualOperation.created_at),
        Column("description", _l("Details"), search=ManualOperation.description,
               default=False),
    ],
    filters=[Filter("status", _l("Status"), ManualOperation.status, OPERATION_STATUS_CHOICES),
             Filter("operation_type", _l("Operation"), ManualOperation.operation_type,
                    OPERATION_TYPE_CHOICES)],
))


class ManualOperationDeclineForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_MAX)])


@bp.get("/manual-operations")
@staff_required("manual_operations.view")
def list_manual_operations():
    """«Ручные операции» (03 S4)."""
    return list_response(MANUAL_OPERATIONS, title=MANUAL_OPERATIONS.title)


def _operation_context(operation: ManualOperation, **extra) -> dict:
    context = {
        "operation": operation,
        "events": events_for(operation),
        "can_decide": current_user.can("manual_operations.manage")
        and operation.status == ManualOperationStatus.APPROVAL_REQUIRED,
        "decline_form": ManualOperationDeclineForm(formdata=None),
        "subscription_link": _subscription_cell(operation),
        "client_link": _client_cell(operation),
    }
    context.update(extra)
    return context


@bp.get("/manual-operations/<int:manual_operation_id>")
@staff_required("manual_operations.view")
def manual_operation_detail(manual_operation_id):
    operation = tenant_get_or_404(ManualOperation, manual_operation_id)
    return render_template("orders/manual_operations/detail.html",
                           **_operation_context(operation))


@bp.post("/manual-operations/<int:manual_operation_id>/approve")
@staff_required("manual_operations.manage")
def approve_manual_operation_page(manual_operation_id):
    """«Подтвердить»: the operation is carried out, e.g. its order completes (MO-2)."""
    operation = tenant_get_or_404(ManualOperation, manual_operation_id)
    run_action(lambda: approve_manual_operation(operation, actor=current_user),
               success=_("The operation is approved."))
    return redirect(url_for("provisioning.manual_operation_detail",
                            manual_operation_id=manual_operation_id))


@bp.post("/manual-operations/<int:manual_operation_id>/decline")
@staff_required("manual_operations.manage")
def decline_manual_operation_page(manual_operation_id):
    """«Отклонить» with an optional comment: e.g. its order goes to activation_error (MO-2)."""
    operation = tenant_get_or_404(ManualOperation, manual_operation_id)
    form = ManualOperationDeclineForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return render_template("orders/manual_operations/detail.html",
                               **_operation_context(operation, decline_form=form)), 422
    run_action(lambda: decline_manual_operation(operation, actor=current_user,
                                                comment=form.comment.data or ""),
               success=_("The operation is declined."))
    return redirect(url_for("provisioning.manual_operation_detail",
                            manual_operation_id=manual_operation_id))
