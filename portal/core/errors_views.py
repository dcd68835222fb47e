"""Error pages: a plain 404 for unknown hosts, framed 403/404 inside a panel, JSON for the API."""

from __future__ import annotations

import logging

from flask import g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

API_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large",
             422: "validation_error", 429: "too_many_requests"}


def api_error(status: int, message: str, *, code: str | None = None, fields: dict | None = None):
    body = {"error": {"code": code or API_CODES.get(status, "error"), "message": str(message)}}
    if fields:
        body["error"]["fields"] = {k: [str(m) for m in v] for k, v in fields.items()}
    return jsonify(body), status


def _is_api() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if _is_api():
            return api_error(400, error.description)
        return render_template("errors/error.html", status=400,
                               message=_("The form has expired. Reload the page and try again.")), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if _is_api():
            messages = {401: _("Authentication required."), 403: _("Forbidden."),
                        404: _("Not found."), 405: _("Method not allowed.")}
            return api_error(status, messages.get(status, error.description or error.name))
        if getattr(g, "reseller", None) is None:
            # Unknown host: a plain page that does not reveal any tenant.
            return render_template("errors/plain.html", status=status), status
        if status == 403 and error.description == "suspended":
            return render_template("errors/plain.html", status=403,
                                   message=_("This panel is suspended.")), 403
        return render_template("errors/error.html", status=status), status

    @app.errorhandler(Exception)
    def unexpected(error):
        from portal.core.tenant_guard import UnscopedTenantQuery  # noqa: PLC0415

        if isinstance(error, UnscopedTenantQuery):
            raise error  # a programming error the tests must see, not a 500 page
        log.exception("unhandled error")
        from portal.extensions import db  # noqa: PLC0415

        db.session.rollback()
        if _is_api():
            return api_error(500, _("Internal error."), code="internal_error")
        return render_template("errors/plain.html", status=500), 500
