"""The panel frame: home, the event log, list columns, background operations."""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import escape
from sqlalchemy import select

from portal.accounts.auth import staff_required
from portal.core import jobs
from portal.core.clock import clock
from portal.core.listkit import LISTS, Column, Filter, ListDefinition, register_list
from portal.core.models import AuditEvent, OperationStatus
from portal.extensions import db
from portal.operator.lists import list_response, operation_or_404, save_preference
from portal.operator.menu import menu_for

bp = Blueprint("operator", __name__)


@bp.app_context_processor
def frame_context():
    principal = current_user if getattr(current_user, "is_authenticated", False) else None
    return {"menu": menu_for(principal) if principal else [],
            "reseller": getattr(g, "reseller", None), "clock_today": clock.today()}


@bp.get("/")
@staff_required("dashboard.view")
def home():
    return render_template("operator/home.html")


def _changes(event: AuditEvent):
    if not event.changes:
        return escape(event.data or "")
    return escape(", ".join(f"{k}: {v[0]} → {v[1]}" for k, v in event.changes.items()))


EVENT_LOG = register_list(ListDefinition(
    key="event_log", title=_l("Event log"), model=AuditEvent, permission="system_log.view",
    query=lambda reseller: select(AuditEvent).where(AuditEvent.reseller_id == reseller.id),
    columns=[
        Column("id", "ID", sort=AuditEvent.id),
        Column("created_at", _l("Created"), sort=AuditEvent.created_at),
        Column("subject_label", _l("Subject"), sort=AuditEvent.subject_label,
               search=AuditEvent.subject_label),
        Column("action", _l("Action"), sort=AuditEvent.action, search=AuditEvent.action),
        Column("changes", _l("Description"), render=_changes,
               value=lambda e: e.changes or e.data or ""),
        Column("actor_label", _l("Staff member"), sort=AuditEvent.actor_label,
               search=AuditEvent.actor_label,
               value=lambda e: (e.actor_label or str(_l("System"))) + (" (API)" if e.via_api else "")),
        Column("ip", "IP", default=False, search=AuditEvent.ip),
    ],
    filters=[Filter("action", _l("Action"), AuditEvent.action),
             Filter("subject", _l("Subject"), AuditEvent.subject_label)],
))


@bp.get("/event-log")
@staff_required("system_log.view")
def event_log():
    return list_response(EVENT_LOG, title=EVENT_LOG.title)


@bp.post("/lists/<list_key>/columns")
@staff_required()
def list_columns(list_key):
    """Remember the member's columns for a list; the list reloads itself (R-LIST-5)."""
    definition = LISTS.get(list_key)
    if definition is None or (definition.permission and not current_user.can(definition.permission)):
        return Response(status=404)
    valid = [c.key for c in definition.columns]
    chosen = [key for key in request.form.getlist("columns") if key in valid]
    save_preference(list_key, columns=chosen or None)
    response = Response("", 204)
    response.headers["HX-Trigger"] = f"list-changed-{list_key}"
    return response


@bp.get("/operations/<int:operation_id>")
@staff_required()
def operation(operation_id):
    op = operation_or_404(operation_id)
    template = "operator/_operation.html" if request.headers.get("HX-Request") == "true" \
        else "operator/operation.html"
    return render_template(template, operation=op)


@bp.get("/operations/<int:operation_id>/download")
@staff_required()
def operation_download(operation_id):
    op = operation_or_404(operation_id)
    if op.status != OperationStatus.DONE or op.file_data is None:
        return Response(status=404)
    return Response(op.file_data, content_type=op.file_type, headers={
        "Content-Disposition": f'attachment; filename="{op.file_name}"'})


@bp.post("/operations/<int:operation_id>/email")
@staff_required()
def operation_email(operation_id):
    """Mail the export when ready (or now, if it already is)."""
    op = operation_or_404(operation_id)
    op.params = {**(op.params or {}), "email": True}
    if op.status == OperationStatus.DONE:
        from portal.operator.jobs import mail_export_job  # noqa: PLC0415

        jobs.enqueue_after_commit(mail_export_job, op.id, queue="mail")
    db.session.commit()
    return render_template("operator/_operation.html", operation=op, email_requested=True)
