"""API: the OpenAPI document, operations, and the test clock (PORTAL_TEST_MODE only)."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, g, jsonify
from flask_babel import gettext as _
from sqlalchemy import select

from portal.api import bp
from portal.api.base import OPENAPI_PATHS, ApiValidationError, endpoint, iso, json_body
from portal.core import jobs
from portal.core.clock import clock
from portal.core.models import Operation, TestClockState
from portal.core.scheduler import run_due_days, run_periodic_jobs
from portal.core.tenant_guard import across_tenants
from portal.extensions import db


@bp.get("/openapi.json")
def openapi():
    return jsonify({
        "openapi": "3.0.3",
        "info": {"title": "Portal API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "fields": {"type": "object"}}}}}},
            "responses": {"Error": {"description": "Error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
        "security": [{"bearer": []}],
        "paths": {path: ops for path, ops in sorted(OPENAPI_PATHS.items())
                  if current_app.config["PORTAL_TEST_MODE"] or "/test/" not in path},
    })


openapi.api_public = True


@endpoint("/me", permission=None, summary="The staff member behind the token")
def me():
    member = g.principal.member
    return jsonify({"id": member.id, "email": member.email, "name": member.name,
                    "role": member.role.value, "reseller_id": member.reseller_id})


def serialize_operation(op: Operation) -> dict:
    data = {"id": op.id, "kind": op.kind, "status": op.status.value, "percent": op.percent,
            "progress": {"done": op.progress_done, "total": op.progress_total},
            "result": op.result, "error": op.error, "created_at": iso(op.created_at),
            "finished_at": iso(op.finished_at)}
    if op.kind == "delegation":  # the child resellers' copies made so far (07 §4.5)
        data["child_plan_ids"] = [row["child_plan_id"]
                                  for row in (op.result or {}).get("plans", [])]
    return data


@endpoint("/operations/<int:operation_id>", permission=None,
          summary="A background operation's progress and result")
def get_operation(operation_id):
    op = db.session.scalar(select(Operation).where(
        Operation.id == operation_id, Operation.reseller_id == g.acting_reseller.id))
    if op is None:
        abort(404)
    return jsonify(serialize_operation(op))


def _test_mode_only():
    if not current_app.config["PORTAL_TEST_MODE"]:
        abort(404)


@endpoint("/test/clock", permission=None, auth=False, summary="The platform's now (test mode)")
def get_test_clock():
    _test_mode_only()
    return jsonify({"now": clock.now().astimezone(clock.zone()).isoformat()})


@endpoint("/test/clock", methods=("PUT",), permission=None, auth=False,
          summary="Move the platform's time forward (test mode)",
          body={"type": "object", "properties": {"now": {"type": "string"}}})
def set_test_clock():
    _test_mode_only()
    data = json_body()
    try:
        value = datetime.fromisoformat(str(data.get("now", "")))
    except ValueError:
        raise ApiValidationError({"now": [_("An ISO 8601 instant with its offset.")]}) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone())
    if value < clock.now():
        raise ApiValidationError({"now": [_("The clock only moves forward.")]})
    state = db.session.get(TestClockState, 1)
    if state is None:
        db.session.add(TestClockState(id=1, now=value))
    else:
        state.now = value
    db.session.commit()
    source = clock.source
    if hasattr(source, "set"):
        source.set(value)
    return jsonify({"now": value.astimezone(clock.zone()).isoformat()})


@endpoint("/test/run-due-jobs", methods=("POST",), permission=None, auth=False,
          summary="Run every job due up to the clock's now, then drain the queue (test mode)")
def run_due_jobs():
    _test_mode_only()
    days = run_due_days(clock.today())
    # The queued jobs run here as a worker runs them: outside any tenant's request (they load
    # their objects by id, e.g. the notification dispatch finds the client's reseller).
    with across_tenants():
        drained = jobs.drain()
        # Retries, polls and deferred notifications that became due may queue more work;
        # settle it (bounded).
        for _ in range(20):
            more = run_periodic_jobs()
            ran = jobs.drain()
            drained += ran
            if not more and not ran:
                break
    return jsonify({"today": clock.today().isoformat(),
                    "daily_jobs": [{"job": name, "day": day} for name, day in days],
                    "queued_jobs_run": drained})
