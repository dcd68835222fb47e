"""Log in as reseller: an upstream member enters a descendant's panel (07 BR-6/BR-7, A33)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.auth import hash_token, new_token
from portal.accounts.models import StaffSession
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.services.errors import TenancyError
from portal.tenancy.tree import is_descendant

HANDOFF_SECONDS = 120


def enter_reseller_panel(reseller: Reseller, *, actor) -> str:
    """Open a session in the descendant's panel for the acting member; return a one-time key.

    The key is claimed on the descendant's own host (claim_handoff), which sets its cookie.
    Everything done there is logged under the real member, flagged as impersonating.
    """
    if not is_descendant(actor.reseller, reseller.id):
        raise TenancyError(_l("You can only enter the panels of resellers below yours."),
                           status=404, code="not_found")
    key = new_token()
    db.session.add(StaffSession(
        reseller_id=reseller.id, staff_member_id=actor.member.id, token_hash=hash_token(key),
        impersonated_reseller_id=reseller.id, handoff_pending=True, ip=actor.ip,
        created_at=clock.now(), last_seen_at=clock.now()))
    audit.log(reseller, "tenancy.reseller.panel_entered", actor=actor,
              data={"from_reseller_id": actor.reseller.id})
    audit.log(reseller, "tenancy.reseller.panel_entered", actor=actor,
              reseller_id=actor.reseller.id)
    db.session.flush()
    return key


def claim_handoff(reseller: Reseller, key: str) -> tuple[StaffSession, str] | None:
    """Turn a fresh hand-off key into the session's real key (single use, 2 minutes)."""
    session = db.session.scalar(select(StaffSession).where(
        StaffSession.token_hash == hash_token(key or ""), StaffSession.handoff_pending.is_(True),
        StaffSession.reseller_id == reseller.id))
    if session is None or clock.now() - session.created_at > timedelta(seconds=HANDOFF_SECONDS):
        return None
    real_key = new_token()
    session.token_hash = hash_token(real_key)
    session.handoff_pending = False
    session.last_seen_at = clock.now()
    db.session.flush()
    return session, real_key
