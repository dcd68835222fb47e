"""API: staff members of the caller's reseller or of a reseller below it."""

from __future__ import annotations

import re

from flask import g, jsonify
from flask_babel import gettext as _

from portal.accounts.models import StaffMember
from portal.accounts.services import create_api_token, create_staff_member
from portal.api.base import (ApiValidationError, endpoint, expect_type, iso, json_body, paginate,
                             require)
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.scope import tenant_get_or_404

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def serialize(member: StaffMember) -> dict:
    return {"id": member.id, "reseller_id": member.reseller_id, "email": member.email,
            "name": member.name, "role": member.role.value, "status": member.status.value,
            "created_at": iso(member.created_at), "last_sign_in_at": iso(member.last_sign_in_at)}


def _target_reseller(reseller_id: int) -> Reseller:
    """The caller's own reseller or one below it (07 BR-6: the operator creates a child's first
    administrator); anything else is a 404."""
    if reseller_id == g.acting_reseller.id:
        return g.acting_reseller
    return tenant_get_or_404(Reseller, reseller_id)


STAFF_SCHEMA = {"type": "object", "required": ["email", "name", "role", "password"], "properties": {
    "email": {"type": "string"}, "name": {"type": "string"}, "password": {"type": "string"},
    "role": {"type": "string", "enum": ["system_admin", "product_manager", "sales_manager",
                                        "marketing_specialist"]}}}


@endpoint("/resellers/<int:reseller_id>/staff", methods=("POST",), permission="staff.manage",
          summary="Create a staff member (the answer includes its api_token, shown once)",
          body=STAFF_SCHEMA, status=201)
def create_staff_api(reseller_id):
    reseller = _target_reseller(reseller_id)
    data = json_body()
    require(data, "email", "name", "role", "password")
    for name in ("email", "name", "role", "password"):
        expect_type(data, name, str, _("Must be a string."))
    if not EMAIL_RE.match(data["email"].strip()):
        raise ApiValidationError({"email": [_("Enter a valid e-mail address.")]})
    for name in ("email", "name"):  # the columns' length; longer would be a 500 on PostgreSQL
        if len(data[name].strip()) > 255:
            raise ApiValidationError({name: [_("At most %(n)d characters.", n=255)]})
    member = create_staff_member(reseller, email=data["email"], name=data["name"],
                                 role=data["role"], password=data["password"],
                                 actor=g.principal)
    _token, raw = create_api_token(member, name="api", actor=g.principal)
    db.session.commit()
    return jsonify({**serialize(member), "api_token": raw}), 201


@endpoint("/resellers/<int:reseller_id>/staff", permission="staff.view",
          summary="List the staff of a reseller")
def list_staff_api(reseller_id):
    from sqlalchemy import select  # noqa: PLC0415

    reseller = _target_reseller(reseller_id)
    query = select(StaffMember).where(StaffMember.reseller_id == reseller.id)
    return paginate(query, serialize, sort_fields={"id": StaffMember.id,
                                                   "name": StaffMember.name,
                                                   "email": StaffMember.email})


@endpoint("/resellers/<int:reseller_id>/staff/<int:member_id>", permission="staff.view",
          summary="Get a staff member")
def get_staff_api(reseller_id, member_id):
    reseller = _target_reseller(reseller_id)
    return jsonify(serialize(tenant_get_or_404(StaffMember, member_id, reseller=reseller)))
