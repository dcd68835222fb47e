"""Staff API tokens: shown once, stored hashed; create, regenerate, revoke (08 R-STF-6)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.auth import hash_token, new_token
from portal.accounts.models import ApiToken, StaffMember, StaffStatus
from portal.accounts.services.errors import AccountsError
from portal.core import audit
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

TOKEN_PREFIX = "pt_"


def create_api_token(member: StaffMember, *, name: str = "", actor=None) -> tuple[ApiToken, str]:
    """Issue a token for the member; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + new_token()
    token = ApiToken(reseller_id=member.reseller_id, staff_member_id=member.id,
                     name=(name or "").strip()[:128], prefix=raw[:10], token_hash=hash_token(raw),
                     created_at=clock.now())
    db.session.add(token)
    db.session.flush()
    audit.log(member, "accounts.staff.api_token_created", actor=actor,
              data={"token_id": token.id, "prefix": token.prefix})
    return token, raw


def revoke_api_token(token: ApiToken, *, actor=None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.log(token.staff_member, "accounts.staff.api_token_revoked", actor=actor,
                  data={"token_id": token.id, "prefix": token.prefix})
        db.session.flush()
    return token


def regenerate_api_token(token: ApiToken, *, actor=None) -> tuple[ApiToken, str]:
    """Revoke the token at once and issue a new one with the same name."""
    if token.revoked_at is not None:
        raise AccountsError(_l("This token is already revoked."))
    revoke_api_token(token, actor=actor)
    return create_api_token(token.staff_member, name=token.name, actor=actor)


def member_for_api_token(raw: str) -> tuple[ApiToken, StaffMember] | None:
    """The active token and active member behind a bearer token, or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    with across_tenants():  # the token decides the tenant
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        return None
    if token.staff_member.status != StaffStatus.ACTIVE:
        return None
    token.last_used_at = clock.now()
    return token, token.staff_member
