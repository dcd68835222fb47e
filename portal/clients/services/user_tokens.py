"""E-mailed single-use links of client-panel users: the new owner's invitation to set a password,
and password recovery (01 R-CL-7, §3.8). The links travel in notification events (09 §2.9.2,
§2.9.15), whose templates the reseller edits."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.accounts.auth import hash_token, new_token, security_settings_for
from portal.clients.models import User, UserSession, UserStatus, UserToken
from portal.clients.services.errors import ClientsError
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.events import emit

INVALID_LINK = _l("This link is invalid, has expired or was already used.")
INVITATION_DAYS = 7
INVITATION = "invitation"
RESET = "reset"


def _issue(user: User, purpose: str, lifetime: timedelta) -> tuple[UserToken, str]:
    raw = new_token()
    token = UserToken(reseller_id=user.reseller_id, user_id=user.id, purpose=purpose,
                      token_hash=hash_token(raw), created_at=clock.now(),
                      expires_at=clock.now() + lifetime)
    db.session.add(token)
    db.session.flush()
    return token, raw


def issue_invitation(user: User, *, link_for) -> tuple[UserToken, str]:
    """The new owner's link to set the password (01 R-CL-7), valid for a week: the token and
    the URL link_for(raw) gives. The "Клиент создан" notification mails it (09 §2.9.2)."""
    token, raw = _issue(user, INVITATION, timedelta(days=INVITATION_DAYS))
    return token, link_for(raw)


def request_user_password_reset(reseller, *, email: str, link_for,
                                by_staff: bool = False) -> UserToken | None:
    """Send a reset link when the e-mail is an active user of this reseller; silent otherwise.

    The user asking in the client panel gets "Запрос сброса пароля" (09 TRG-12); a link staff
    send from the operator panel is "Запрос на сброс пароля при создании пользователя"
    (TRG-32: the user was created there)."""
    user = db.session.scalar(select(User).where(
        User.reseller_id == reseller.id, User.email == (email or "").strip().lower()))
    if user is None or user.status != UserStatus.ACTIVE:
        return None
    minutes = security_settings_for(reseller).reset_link_valid_minutes
    token, raw = _issue(user, RESET, timedelta(minutes=minutes))
    audit.log(user, "clients.user.password_reset_requested", label=user.email)
    extra = {"token": raw, "reset_password_url": link_for(raw)}
    if by_staff:
        emit("user_created_password_reset", reseller=reseller, user=user,
             client=_first_client(user), extra=extra)
    else:
        emit("password_reset_request", reseller=reseller, user=user, extra=extra)
    return token


def _first_client(user: User):
    """The client the user belongs to for account.* (the owned one first), if any."""
    memberships = sorted(user.memberships, key=lambda m: (m.access_level != "owner", m.id))
    return memberships[0].client if memberships else None


def find_user_token(reseller, raw: str, purpose: str | None = None) -> UserToken:
    """The live token behind a link of this reseller, or a 404 refusal."""
    query = select(UserToken).where(UserToken.token_hash == hash_token(raw or ""),
                                    UserToken.reseller_id == reseller.id)
    if purpose:
        query = query.where(UserToken.purpose == purpose)
    token = db.session.scalar(query)
    if token is None or token.used_at is not None or token.expires_at <= clock.now():
        raise ClientsError(INVALID_LINK, code="invalid_link", status=404)
    return token


def complete_user_token(reseller, *, raw_token: str, password: str,
                        purpose: str | None = None) -> User:
    """Set the password through the link, burn it, and end the user's other sessions."""
    from portal.clients.services.users import set_user_password  # noqa: PLC0415

    token = find_user_token(reseller, raw_token, purpose)
    user = token.user
    set_user_password(user, password)
    token.used_at = clock.now()
    end_user_sessions(user)
    db.session.flush()
    return user


def end_user_sessions(user: User) -> None:
    db.session.execute(update(UserSession).where(
        UserSession.reseller_id == user.reseller_id, UserSession.user_id == user.id,
        UserSession.ended_at.is_(None)).values(ended_at=clock.now()))


def pending_invitation(user: User) -> bool:
    """Whether the user still has an unused invitation link (shown on the user's page)."""
    return bool(db.session.scalar(select(func.count(UserToken.id)).where(
        UserToken.reseller_id == user.reseller_id, UserToken.user_id == user.id,
        UserToken.purpose == INVITATION, UserToken.used_at.is_(None),
        UserToken.expires_at > clock.now())))
