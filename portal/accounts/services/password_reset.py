"""Password reset by an e-mailed, expiring, single-use link (01 R-AUTH-4/5)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.auth import hash_token, new_token, security_settings_for
from portal.accounts.models import PasswordResetToken, StaffMember, StaffStatus
from portal.accounts.services.errors import AccountsError
from portal.accounts.services.staff import end_sessions, set_staff_password
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.events import emit

INVALID_LINK = _l("This password reset link is invalid, has expired or was already used.")


def request_password_reset(reseller, *, email: str, link_for) -> PasswordResetToken | None:
    """Send a reset link if the e-mail is a staff member of this panel; silent otherwise. The
    link travels in "Запрос сброса пароля менеджера" (09 TRG-13).

    link_for(token) builds the absolute URL of the reset page on the reseller's host.
    """
    member = db.session.scalar(select(StaffMember).where(
        func.lower(StaffMember.email) == (email or "").strip().lower(),
        StaffMember.reseller_id == reseller.id))
    if member is None or member.status != StaffStatus.ACTIVE:
        return None
    raw = new_token()
    minutes = security_settings_for(reseller).reset_link_valid_minutes
    token = PasswordResetToken(reseller_id=reseller.id, staff_member_id=member.id,
                               token_hash=hash_token(raw), created_at=clock.now(),
                               expires_at=clock.now() + timedelta(minutes=minutes))
    db.session.add(token)
    db.session.flush()
    audit.log(member, "accounts.staff.password_reset_requested")
    emit("manager_password_reset_request", reseller=reseller, staff_member=member,
         extra={"token": raw, "reset_password_url": link_for(raw)})
    return token


def find_reset_token(reseller, raw: str) -> PasswordResetToken:
    token = db.session.scalar(select(PasswordResetToken).where(
        PasswordResetToken.token_hash == hash_token(raw or ""),
        PasswordResetToken.reseller_id == reseller.id))
    if token is None or token.used_at is not None or token.expires_at <= clock.now():
        raise AccountsError(INVALID_LINK, code="invalid_link", status=404)
    return token


def complete_password_reset(reseller, *, raw_token: str, password: str) -> StaffMember:
    """Set the new password and burn the link; other sessions of the member end."""
    token = find_reset_token(reseller, raw_token)
    member = token.staff_member
    set_staff_password(member, password)
    token.used_at = clock.now()
    end_sessions(member)
    db.session.flush()
    return member
