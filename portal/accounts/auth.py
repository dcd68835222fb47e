"""Who is acting: the Principal behind current_user, panel sessions, and permission checks."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from flask import abort, g, make_response, redirect, request, url_for
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import select

from portal.accounts.models import StaffMember, StaffSession
from portal.accounts.permissions import has_permission
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db, login_manager
from portal.settings.models import SecuritySettings


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


class Principal:
    """A staff member acting inside one reseller (their own, or one they entered from above)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, member: StaffMember, reseller, *, session: StaffSession | None = None,
                 via_api: bool = False, ip: str | None = None, session_key: str = ""):
        self.member = member
        self.session_key = session_key
        self.reseller = reseller
        self.session = session
        self.via_api = via_api
        self.ip = ip

    @property
    def is_active(self) -> bool:
        return self.member.is_active

    @property
    def impersonating(self) -> bool:
        return self.reseller.id != self.member.reseller_id

    @property
    def id(self) -> int:
        return self.member.id

    @property
    def role(self):
        return self.member.role

    def get_id(self) -> str:
        return self.session_key

    def can(self, permission: str) -> bool:
        return has_permission(self.member.role, permission, at_root=self.reseller.is_root)

    def __str__(self) -> str:
        return str(self.member)


class Anonymous(AnonymousUserMixin):
    member = None

    def can(self, permission: str) -> bool:
        return False


login_manager.anonymous_user = Anonymous


def security_settings_for(reseller) -> SecuritySettings:
    settings = db.session.scalar(
        select(SecuritySettings).where(SecuritySettings.reseller_id == reseller.id))
    return settings or SecuritySettings(reseller_id=reseller.id)


@login_manager.user_loader
def load_principal(session_key: str):
    """Restore the principal from the session cookie's key; refuse another tenant's session."""
    reseller = getattr(g, "reseller", None)
    if reseller is None or not session_key:
        return None
    with across_tenants():  # the key itself says whose session it is; checked just below
        session = db.session.scalar(
            select(StaffSession).where(StaffSession.token_hash == hash_token(session_key),
                                       StaffSession.ended_at.is_(None),
                                       StaffSession.handoff_pending.is_(False)))
    if session is None:
        return None
    acting_id = session.impersonated_reseller_id or session.staff_member.reseller_id
    if acting_id != reseller.id or not session.staff_member.is_active:
        return None
    now = clock.now()
    idle = timedelta(minutes=security_settings_for(reseller).session_idle_minutes)
    if now - session.last_seen_at > idle:
        session.ended_at = now
        db.session.commit()
        return None
    if now - session.last_seen_at > timedelta(minutes=1):
        session.last_seen_at = now
        db.session.commit()
    principal = Principal(session.staff_member, reseller, session=session, ip=request.remote_addr,
                          session_key=session_key)
    g.acting_reseller = reseller
    return principal


@login_manager.unauthorized_handler
def unauthorized():
    target = url_for("accounts.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        answer = make_response("", 401)
        answer.headers["HX-Redirect"] = target
        return answer
    return redirect(target)


# Where a member whose password has expired may still go (08 R-AUTH-7).
PASSWORD_CHANGE_ENDPOINTS = {"accounts.profile", "accounts.change_own_password",
                             "accounts.logout", "core.set_language"}


def must_change_password(principal) -> bool:
    """The member's own password has expired under the reseller's security settings."""
    if principal.impersonating or principal.via_api:
        return False
    member = principal.member
    settings = security_settings_for(member.reseller)
    if not settings.staff_password_expiry_enabled or member.password_changed_at is None:
        return False
    return clock.now() >= member.password_changed_at + timedelta(
        days=settings.staff_password_valid_days)


def staff_required(permission: str | None = None):
    """View decorator: a signed-in member of this panel, holding permission (403 otherwise)."""

    def decorate(view):
        view.required_permission = permission

        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if request.endpoint not in PASSWORD_CHANGE_ENDPOINTS and must_change_password(
                    current_user):
                return redirect(url_for("accounts.profile") + "#password")
            if permission and not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_permission = permission
        return wrapper

    return decorate
