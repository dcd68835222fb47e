"""Signing in and out of a panel (01 R-AUTH, 08 R-AUTH-6 lockout)."""

from __future__ import annotations

import math
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.auth import hash_token, new_token, security_settings_for
from portal.accounts.models import SignInEvent, StaffMember, StaffSession, StaffStatus
from portal.accounts.services.errors import SignInError
from portal.accounts.services.passwords import verify_password
from portal.core import audit
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

WRONG_CREDENTIALS = _l("Wrong e-mail or password.")


def _record(member: StaffMember, *, success: bool, reason: str, ip, user_agent) -> None:
    db.session.add(SignInEvent(reseller_id=member.reseller_id, staff_member_id=member.id,
                               at=clock.now(), ip=ip, user_agent=(user_agent or "")[:255],
                               success=success, reason=reason))


def authenticate(reseller, *, email: str, password: str, ip=None, user_agent=None) -> StaffMember:
    """Check the credentials for this reseller's panel; every attempt on an account is recorded.

    Wrong passwords count towards the lockout; the message never says which part was wrong.
    """
    with across_tenants():  # the e-mail is unique platform-wide; the panel is checked below
        member = db.session.scalar(select(StaffMember).where(
            func.lower(StaffMember.email) == (email or "").strip().lower()))
    if member is None:
        raise SignInError(WRONG_CREDENTIALS)
    now = clock.now()
    settings = security_settings_for(member.reseller)
    if member.locked_until and member.locked_until > now:
        _record(member, success=False, reason="locked", ip=ip, user_agent=user_agent)
        db.session.flush()
        minutes = max(1, math.ceil((member.locked_until - now).total_seconds() / 60))
        raise SignInError(_l("Too many failed sign-in attempts. Try again in %(minutes)s min.",
                             minutes=minutes), code="locked")
    if not verify_password(member.password_hash, password or ""):
        member.failed_login_count += 1
        reason = "wrong_password"
        if (settings.staff_login_rules_enabled
                and member.failed_login_count >= settings.staff_max_login_attempts):
            member.locked_until = now + timedelta(minutes=settings.staff_lockout_minutes)
            member.failed_login_count = 0
            reason = "wrong_password_locked"
            audit.log(member, "accounts.staff.locked_out", data={"ip": ip})
        _record(member, success=False, reason=reason, ip=ip, user_agent=user_agent)
        db.session.flush()
        raise SignInError(WRONG_CREDENTIALS)
    if member.reseller_id != reseller.id:
        # Right password, wrong panel: the same generic answer (the account lives elsewhere).
        _record(member, success=False, reason="other_panel", ip=ip, user_agent=user_agent)
        db.session.flush()
        raise SignInError(WRONG_CREDENTIALS)
    if member.status != StaffStatus.ACTIVE:
        _record(member, success=False, reason="inactive", ip=ip, user_agent=user_agent)
        db.session.flush()
        raise SignInError(_l("This account is deactivated."), code="inactive")
    member.failed_login_count = 0
    member.locked_until = None
    member.sign_in_count += 1
    member.last_sign_in_at = now
    _record(member, success=True, reason="", ip=ip, user_agent=user_agent)
    db.session.flush()
    return member


def start_session(member: StaffMember, *, reseller=None, ip=None) -> tuple[StaffSession, str]:
    """Open a server-side session; returns it with the key the cookie carries."""
    key = new_token()
    reseller = reseller or member.reseller
    session = StaffSession(
        reseller_id=reseller.id, staff_member_id=member.id, token_hash=hash_token(key),
        impersonated_reseller_id=reseller.id if reseller.id != member.reseller_id else None,
        ip=ip, created_at=clock.now(), last_seen_at=clock.now())
    db.session.add(session)
    db.session.flush()
    return session, key


def end_session(session: StaffSession) -> None:
    """Sign out: the session stops working server-side, whatever the cookie says."""
    if session.ended_at is None:
        session.ended_at = clock.now()
        db.session.flush()
