"""API: resellers below the caller's reseller."""

from __future__ import annotations

from flask import g, jsonify
from flask_babel import gettext as _

from portal.api.base import (ApiValidationError, endpoint, expect_type, iso, json_body, paginate,
                             require)
from portal.extensions import db
from portal.tenancy.models import DomainKind, Reseller, ResellerStatus
from portal.tenancy.scope import scoped_select, tenant_get_or_404
from portal.tenancy.services.resellers import (create_reseller, set_domain, set_reseller_status,
                                               update_reseller)

SMTP_KEYS = {"host": "smtp_host", "port": "smtp_port", "username": "smtp_username",
             "password": "smtp_password", "sender": "smtp_sender", "security": "smtp_security"}
PLAIN_FIELDS = ("name", "currency", "company_name", "country_code", "contact_first_name",
                "contact_last_name", "contact_phone", "contact_email", "default_language",
                "panel_title", "client_panel_title", "store_title", "primary_color")

RESELLER_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "currency": {"type": "string"}, "domain": {"type": "string"},
    "store_domain": {"type": "string"}, "client_domain": {"type": "string"},
    "status": {"type": "string", "enum": ["active", "suspended"]},
    "settings_mode": {"type": "string", "enum": ["copy_provider", "copy_standard"]},
    "smtp": {"type": "object", "properties": {k: {"type": "string"} for k in SMTP_KEYS}}}}


def serialize(reseller: Reseller) -> dict:
    return {
        "id": reseller.id, "parent_id": reseller.parent_id, "name": reseller.name,
        "slug": reseller.slug, "currency": reseller.currency, "status": reseller.status.value,
        "domain": reseller.panel_domain or None, "store_domain": reseller.store_domain or None,
        "client_domain": reseller.client_domain or None,
        "local_host": reseller.local_host, "default_language": reseller.default_language,
        "panel_title": reseller.panel_title, "company_name": reseller.company_name,
        "contact_email": reseller.contact_email,
        "smtp": {"host": reseller.smtp_host or None, "port": reseller.smtp_port,
                 "username": reseller.smtp_username or None, "sender": reseller.smtp_sender or None,
                 "security": reseller.smtp_security.value,
                 "password_set": bool(reseller.smtp_password)},
        "created_at": iso(reseller.created_at),
    }


def _check_length(api_name: str, column: str, value: str) -> None:
    """Refuse a string longer than its column (PostgreSQL would fail the INSERT: a 500)."""
    limit = getattr(Reseller.__table__.c[column].type, "length", None)
    if limit and len(value) > limit:
        raise ApiValidationError({api_name: [_("At most %(n)d characters.", n=limit)]})


def _fields(data: dict) -> dict:
    fields = {name: data[name] for name in PLAIN_FIELDS if name in data}
    for name, value in fields.items():
        if not isinstance(value, str):
            raise ApiValidationError({name: [_("Must be a string.")]})
        _check_length(name, name, value.strip())
    smtp = data.get("smtp")
    if smtp is not None:
        if not isinstance(smtp, dict):
            raise ApiValidationError({"smtp": [_("Must be an object.")]})
        for key, column in SMTP_KEYS.items():
            if key in smtp:
                value = smtp[key]
                if key == "port":
                    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                        raise ApiValidationError({"smtp.port": [_("Must be a whole number.")]})
                    if value is not None and not 0 < value < 65536:
                        raise ApiValidationError({"smtp.port": [
                            _("The port is a number from 1 to 65535.")]})
                elif value is not None and not isinstance(value, str):
                    raise ApiValidationError({f"smtp.{key}": [_("Must be a string.")]})
                elif value is not None and key != "security":
                    _check_length(f"smtp.{key}", column, value)
                fields[column] = value if value is not None else ("" if key != "port" else None)
    return fields


@endpoint("/resellers", methods=("POST",), permission="resellers.manage",
          summary="Create a child reseller of the caller's reseller", body=RESELLER_SCHEMA,
          status=201)
def create_reseller_api():
    data = json_body()
    require(data, "name")
    expect_type(data, "domain", str)
    expect_type(data, "client_domain", str)
    fields = _fields(data)
    mode = data.get("settings_mode", "copy_provider")
    if mode not in ("copy_provider", "copy_standard"):
        raise ApiValidationError({"settings_mode": [_("Unknown settings mode.")]})
    reseller = create_reseller(
        g.acting_reseller, name=fields.pop("name"), currency=fields.pop("currency", "USD"),
        settings_mode=mode,
        domain=data.get("domain") or "", store_domain=data.get("store_domain") or "",
        actor=g.principal, **fields)
    if data.get("client_domain"):
        set_domain(reseller, DomainKind.CLIENT, data["client_domain"], actor=g.principal)
    db.session.commit()
    return jsonify(serialize(reseller)), 201


@endpoint("/resellers", permission="resellers.view", summary="List the resellers below yours")
def list_resellers_api():
    from flask import request  # noqa: PLC0415

    query = scoped_select(Reseller, g.acting_reseller)
    if request.args.get("status"):
        query = query.where(Reseller.status == request.args["status"])
    if request.args.get("parent_id"):
        query = query.where(Reseller.parent_id == request.args.get("parent_id", type=int))
    return paginate(query, serialize, sort_fields={"id": Reseller.id, "name": Reseller.name,
                                                   "created_at": Reseller.created_at})


@endpoint("/resellers/<int:reseller_id>", permission="resellers.view", summary="Get a reseller")
def get_reseller_api(reseller_id):
    return jsonify(serialize(tenant_get_or_404(Reseller, reseller_id)))


@endpoint("/resellers/<int:reseller_id>", methods=("PATCH", "PUT"), permission="resellers.manage",
          summary="Update a reseller", body=RESELLER_SCHEMA)
def update_reseller_api(reseller_id):
    reseller = tenant_get_or_404(Reseller, reseller_id)
    data = json_body()
    fields = _fields(data)
    if fields:
        update_reseller(reseller, actor=g.principal, **fields)
    for key, kind in (("domain", DomainKind.PANEL), ("store_domain", DomainKind.STORE),
                      ("client_domain", DomainKind.CLIENT)):
        if key in data:
            expect_type(data, key, str)
            set_domain(reseller, kind, data[key] or "", actor=g.principal)
    if "status" in data:
        if data["status"] not in {s.value for s in ResellerStatus}:
            raise ApiValidationError({"status": [_("Unknown status.")]})
        set_reseller_status(reseller, data["status"], actor=g.principal)
    db.session.commit()
    return jsonify(serialize(reseller))
