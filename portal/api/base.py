"""Token auth, errors, pagination, Idempotency-Key and the OpenAPI registry of the API."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import wraps

from flask import Response, abort, g, jsonify, make_response, request
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from portal.accounts.auth import Principal
from portal.accounts.services import member_for_api_token
from portal.api import bp
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.errors_views import api_error
from portal.core.models import IdempotentRequest
from portal.extensions import db

# path -> method -> operation object (the OpenAPI document is built from this registry).
OPENAPI_PATHS: dict[str, dict[str, dict]] = {}


class ApiValidationError(DomainError):
    code = "validation_error"
    status = 422

    def __init__(self, fields: dict[str, list[str]], message=None):
        super().__init__(message or _("The request has invalid fields."))
        self.fields = fields


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    db.session.rollback()
    fields = getattr(error, "fields", None)
    if fields is None and error.field:
        fields = {error.field: [str(error)]}
    return api_error(error.status, str(error), code=error.code, fields=fields)


def authenticate_request() -> Principal:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(401)
    found = member_for_api_token(header[len("Bearer "):].strip())
    if found is None:
        abort(401)
    _token, member = found
    principal = Principal(member, member.reseller, via_api=True, ip=request.remote_addr)
    g.acting_reseller = member.reseller
    g.principal = principal
    return principal


def _openapi_path(rule: str) -> str:
    import re  # noqa: PLC0415

    return "/api/v1" + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def endpoint(rule: str, methods=("GET",), *, permission: str | None, summary: str,
             body: dict | None = None, auth: bool = True, status: int = 200):
    """Register an API endpoint: token auth, permission check (403), idempotent writes."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if auth:
                principal = authenticate_request()
                if permission and not principal.can(permission):
                    abort(403)
            if request.method in ("POST", "PUT", "PATCH", "DELETE") and auth:
                return idempotent(lambda: view(*args, **kwargs))
            return view(*args, **kwargs)

        wrapper.required_permission = permission
        wrapper.api_public = not auth
        bp.add_url_rule(rule, view.__name__, wrapper, methods=list(methods))
        path = OPENAPI_PATHS.setdefault(_openapi_path(rule), {})
        for method in methods:
            operation = {"summary": summary, "operationId": view.__name__,
                         "responses": {str(status): {"description": "OK"},
                                       "400": {"$ref": "#/components/responses/Error"},
                                       "401": {"$ref": "#/components/responses/Error"},
                                       "403": {"$ref": "#/components/responses/Error"},
                                       "404": {"$ref": "#/components/responses/Error"},
                                       "409": {"$ref": "#/components/responses/Error"},
                                       "422": {"$ref": "#/components/responses/Error"}}}
            if permission:
                operation["x-permission"] = permission
            if not auth:
                operation["security"] = []
            if body and method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
            path[method.lower()] = operation
        return wrapper

    return decorate


def json_body() -> dict:
    data = request.get_json(silent=True)
    if data is None and request.data:
        raise ApiValidationError({}, _("The body is not valid JSON."))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiValidationError({}, _("The body must be a JSON object."))
    return data


def require(data: dict, *names: str) -> None:
    missing = {name: [_("This field is required.")] for name in names
               if data.get(name) in (None, "")}
    if missing:
        raise ApiValidationError(missing)


def expect_type(data: dict, name: str, kind, label: str | None = None):
    value = data.get(name)
    if value is not None and not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ApiValidationError({name: [label or _("Wrong type.")]})
    return value


def paginate(query, serialize, *, sort_fields: dict | None = None, default_sort="id"):
    """Answer {"items", "total", "page", "per_page"} for a tenant-scoped SELECT."""
    numbers = {}
    for name, default in (("page", 1), ("per_page", 50)):
        try:
            numbers[name] = max(1, int(request.args.get(name, default)))
        except ValueError:
            raise ApiValidationError({name: [_("Must be a whole number.")]}) from None
    page, per_page = numbers["page"], min(500, numbers["per_page"])
    if page > 1_000_000:  # an offset past bigint answers 500 on PostgreSQL
        raise ApiValidationError({"page": [_("The page number is too large.")]})
    sort = request.args.get("sort") or default_sort
    fields = sort_fields or {}
    key = sort.lstrip("-")
    if key not in fields:
        raise ApiValidationError({"sort": [_("Unknown sort field.")]})
    column = fields[key]
    query = query.order_by(column.desc() if sort.startswith("-") else column.asc())
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [serialize(r) for r in rows], "total": total, "page": page,
                    "per_page": per_page})


def idempotent(run):
    """Same Idempotency-Key + same body within 24 h: the first answer again; other body: 409."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return run()
    principal = g.principal
    digest = hashlib.sha256(
        f"{request.method} {request.path}\n".encode() + (request.get_data() or b"")).hexdigest()
    cutoff = clock.now() - timedelta(hours=24)
    db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff,
                                                       IdempotentRequest.reseller_id ==
                                                       principal.member.reseller_id))
    previous = db.session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.reseller_id == principal.member.reseller_id,
        IdempotentRequest.staff_member_id == principal.member.id,
        IdempotentRequest.key == key[:255]))
    if previous is not None:
        if previous.request_hash != digest:
            return api_error(409, _("This Idempotency-Key was used with a different request."),
                             code="idempotency_conflict")
        return Response(previous.response_body, status=previous.status_code,
                        content_type="application/json",
                        headers={"Idempotent-Replayed": "true"})
    response = run()
    response = response if isinstance(response, Response) else make_response(response)
    if response.status_code < 500:
        body = response.get_data(as_text=True)
        if '"api_token"' in body:
            # Tokens are shown once and stored only hashed: a replay answers without it.
            payload = json.loads(body)
            payload["api_token"] = None
            body = json.dumps(payload, ensure_ascii=False)
        db.session.add(IdempotentRequest(
            reseller_id=principal.member.reseller_id, staff_member_id=principal.member.id,
            key=key[:255], request_hash=digest, status_code=response.status_code,
            response_body=body, created_at=clock.now()))
        db.session.commit()
    return response


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None

