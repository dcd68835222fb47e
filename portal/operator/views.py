"""The panel frame: home, the event log, list columns, background operations."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import escape
from sqlalchemy import func, select

from portal.accounts.auth import staff_required
from portal.core import jobs
from portal.core.clock import clock
from portal.core.listkit import LISTS, Column, Filter, ListDefinition, register_list
from portal.core.models import AuditEvent, OperationStatus
from portal.extensions import db
from portal.operator.lists import list_response, operation_or_404, save_preference
from portal.operator.menu import menu_for
from portal.operator.search import SEARCH_PROVIDERS, search_everything

bp = Blueprint("operator", __name__)


@bp.app_context_processor
def frame_context():
    principal = current_user if getattr(current_user, "is_authenticated", False) else None
    return {"menu": menu_for(principal) if principal else [],
            "reseller": getattr(g, "reseller", None), "clock_today": clock.today()}


# --- home (01 R-HOME-1) ---------------------------------------------------------------------

STATUS_COLOURS = {"active": "#2e7d32", "financially_blocked": "#ef8f00",
                  "admin_blocked": "#c62828", "deleted": "#9e9e9e"}
MY_CLIENTS_SHOWN = 10


def _render_block(template_name: str, block: str, **context) -> str:
    """One block of a page: the htmx answer and the page share one source of markup."""
    app = current_app._get_current_object()
    template = app.jinja_env.get_template(template_name)
    app.update_template_context(context)
    return "".join(template.blocks[block](template.new_context(context)))


def _client_status_chart(reseller) -> dict:
    """Clients by status, with the slices of the pie chart (A-32)."""
    from portal.clients.models import CLIENT_STATUS_LABELS, Client, ClientStatus  # noqa: PLC0415

    counts = dict(db.session.execute(
        select(Client.status, func.count(Client.id)).where(Client.reseller_id == reseller.id)
        .group_by(Client.status)).all())
    total = sum(counts.values())
    slices, start = [], 0.0
    for status in ClientStatus:
        count = counts.get(status, 0)
        share = 100.0 * count / total if total else 0.0
        slices.append({"status": status.value, "label": CLIENT_STATUS_LABELS[status],
                       "count": count, "colour": STATUS_COLOURS[status.value],
                       "start": round(start, 2), "end": round(start + share, 2)})
        start += share
    return {"total": total, "slices": slices}


def _my_clients(reseller, member) -> dict:
    """The member's own clients (manager = me), newest first (R-HOME-1 «Мои клиенты»)."""
    from portal.clients.models import Client, ClientStatus  # noqa: PLC0415

    mine = (select(Client).where(Client.reseller_id == reseller.id,
                                 Client.manager_id == member.id,
                                 Client.status != ClientStatus.DELETED))
    count = db.session.scalar(select(func.count()).select_from(mine.subquery()))
    shown = db.session.scalars(mine.order_by(Client.id.desc()).limit(MY_CLIENTS_SHOWN)).all()
    return {"count": count, "clients": shown}


def _home_context(query: str = "") -> dict:
    reseller = g.acting_reseller
    context = {"query": query, "can_search": any(
        current_user.can(p.permission) for p in SEARCH_PROVIDERS.values())}
    if query:
        context["groups"] = search_everything(current_user, reseller, query)
        context["searched"] = True
    if current_user.can("clients.view") and "clients.list_clients" in current_app.view_functions:
        context["client_chart"] = _client_status_chart(reseller)
        context["my_clients"] = _my_clients(reseller, current_user.member)
    return context


@bp.get("/")
@staff_required("dashboard.view")
def home():
    return render_template("operator/home.html", **_home_context())


@bp.get("/search")
@staff_required("dashboard.view")
def home_search():
    """The home page's search box: clients, users and whatever later areas register."""
    query = (request.args.get("q") or "").strip()[:200]
    if request.headers.get("HX-Request") == "true":
        context = {"query": query, "searched": True,
                   "groups": search_everything(current_user, g.acting_reseller, query)}
        return _render_block("operator/home.html", "search_results", **context)
    return render_template("operator/home.html", **_home_context(query))


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
