"""Serving a list-kit list in the operator panel: page, htmx partial, columns, export."""

from __future__ import annotations

from flask import Response, abort, current_app, g, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import func, select

from portal.accounts.models import ListPreference
from portal.core import jobs
from portal.core.clock import clock
from portal.core.htmx import render_page_or_partial
from portal.core.listkit import (
    ListState, iter_export_rows, run_list, visible_columns, write_export, filtered_query)
from portal.core.models import Operation, OperationStatus
from portal.extensions import db


def preference(list_key: str) -> ListPreference | None:
    return db.session.scalar(select(ListPreference).where(
        ListPreference.reseller_id == current_user.member.reseller_id,
        ListPreference.staff_member_id == current_user.member.id,
        ListPreference.list_key == list_key))


def list_response(definition, *, page_template: str = "operator/list_page.html", **context):
    """Answer a list request: the page, its htmx partial, or an export of the selection."""
    pref = preference(definition.key)
    state = ListState.from_args(definition, request.args,
                                per_page=pref.per_page if pref else None)
    reseller = g.acting_reseller
    export = request.args.get("export")
    if export in ("csv", "xlsx"):
        return export_response(definition, reseller, state, pref, export)
    if pref is None or pref.per_page != state.per_page:
        if "per_page" in request.args:
            save_preference(definition.key, per_page=state.per_page)
    page = run_list(definition, reseller, state, pref.columns if pref else None)
    endpoint, view_args = request.endpoint, dict(request.view_args or {})
    page.url = lambda **override: url_for(endpoint, **view_args, **state.args(**override))
    page.base_url = url_for(endpoint, **view_args)
    return render_page_or_partial(page_template, "operator/_list.html", list=page, **context)


def save_preference(list_key: str, *, columns: list[str] | None = None,
                    per_page: int | None = None) -> ListPreference:
    pref = preference(list_key)
    if pref is None:
        pref = ListPreference(reseller_id=current_user.member.reseller_id,
                              staff_member_id=current_user.member.id, list_key=list_key)
        db.session.add(pref)
    if columns is not None:
        pref.columns = columns
    if per_page is not None:
        pref.per_page = per_page
    db.session.commit()
    return pref


def export_response(definition, reseller, state, pref, fmt):
    """Small selections download at once; large ones become a tracked background export."""
    columns = visible_columns(definition, pref.columns if pref else None)
    query = filtered_query(definition, reseller, state, columns)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    filename = f"{definition.key}-{clock.today().isoformat()}.{fmt}"
    if total <= current_app.config["EXPORT_SYNC_LIMIT"]:
        data, content_type = write_export(fmt, columns,
                                          iter_export_rows(definition, reseller, state, columns))
        return Response(data, content_type=content_type, headers={
            "Content-Disposition": f'attachment; filename="{filename}"'})
    operation = Operation(
        reseller_id=reseller.id, kind="export", status=OperationStatus.QUEUED,
        progress_total=total, created_by_id=current_user.member.id, created_at=clock.now(),
        file_name=filename,
        params={"list": definition.key, "format": fmt, "args": state.args(),
                "columns": [c.key for c in columns], "email": request.args.get("email") == "1",
                "locale": str(get_locale())})
    db.session.add(operation)
    db.session.flush()
    from portal.operator.jobs import export_list_job  # noqa: PLC0415

    jobs.enqueue_after_commit(export_list_job, operation.id, queue="exports")
    db.session.commit()
    target = url_for("operator.operation", operation_id=operation.id)
    if request.headers.get("HX-Request") == "true":
        response = Response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def operation_or_404(operation_id: int) -> Operation:
    operation = db.session.scalar(select(Operation).where(
        Operation.id == operation_id, Operation.reseller_id == g.acting_reseller.id,
        Operation.created_by_id == current_user.member.id))
    if operation is None:
        abort(404)
    return operation
