"""Signing in to the client panel, its sessions, switching clients, and staff "log in as client"
(01 §3.7, R-ST-2..5, R-LAC-1/3, R-USR-1..5, §5.2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from portal.accounts.auth import hash_token, new_token, security_settings_for
from portal.accounts.services.passwords import verify_password
from portal.clients.models import (Client, ClientStatus, ClientUser, User, UserSession,
                                   UserSignIn, UserStatus)
from portal.clients.services.errors import ClientsError
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db

HANDOFF_SECONDS = 120

WRONG_CREDENTIALS = _l("Wrong e-mail or password.")
USER_INACTIVE = _l("This account is deactivated.")
# 01 R-ST-3 / R-ST-4: the exact Russian text lives in the catalogue.
CLIENT_BLOCKED = _l("The client is blocked. Any operations are prohibited. Contact the "
                    "administrator for further actions.")
CLIENT_DELETED = _l("The client is deleted.")
MEMBERSHIP_INACTIVE = _l("Your access to this client is deactivated.")
NOT_FOUND = _l("The client is not found.")

ENTERABLE_STATUSES = (ClientStatus.ACTIVE, ClientStatus.FINANCIALLY_BLOCKED)


@dataclass(frozen=True)
class ClientAccess:
    """One membership of a user, and whether the client panel lets the user act for it."""

    membership: ClientUser
    client: Client
    refusal: object | None  # a lazily translated message, None when the client can be entered

    @property
    def can_enter(self) -> bool:
        return self.refusal is None


def access_refusal(user: User, membership: ClientUser | None):
    """Why user may not act for the membership's client now, or None (01 §3.7).

    Effective access = user active AND membership active AND client active or financially
    blocked.
    """
    if membership is None:
        return NOT_FOUND
    if user.status != UserStatus.ACTIVE:
        return USER_INACTIVE
    client = membership.client
    if client.status == ClientStatus.DELETED:
        return CLIENT_DELETED
    if client.status == ClientStatus.ADMIN_BLOCKED:
        return CLIENT_BLOCKED
    if membership.status != UserStatus.ACTIVE:
        return MEMBERSHIP_INACTIVE
    return None


def _memberships(user: User) -> list[ClientUser]:
    return list(db.session.scalars(
        select(ClientUser).where(ClientUser.reseller_id == user.reseller_id,
                                 ClientUser.user_id == user.id)
        .options(joinedload(ClientUser.client)).order_by(ClientUser.id)).unique())


def accessible_clients(user: User) -> list[ClientAccess]:
    """Every client the user belongs to, with the reason it cannot be entered (if any)."""
    return [ClientAccess(m, m.client, access_refusal(user, m)) for m in _memberships(user)]


def membership_in(user: User, client: Client) -> ClientUser | None:
    if client.reseller_id != user.reseller_id:
        return None
    return db.session.scalar(select(ClientUser).where(
        ClientUser.reseller_id == user.reseller_id, ClientUser.client_id == client.id,
        ClientUser.user_id == user.id))


# -- signing in ----------------------------------------------------------------------------

def _record(user: User, *, success: bool, reason: str, ip, user_agent) -> None:
    db.session.add(UserSignIn(reseller_id=user.reseller_id, user_id=user.id, at=clock.now(),
                              ip=ip, user_agent=(user_agent or "")[:255], success=success,
                              reason=reason))


def record_user_sign_in(user: User, *, ip=None, user_agent=None, reason: str = "") -> None:
    """A successful sign-in of the user's own: history, counters, and the lockout reset."""
    user.failed_login_count = 0
    user.locked_until = None
    user.sign_in_count += 1
    user.last_sign_in_at = clock.now()
    _record(user, success=True, reason=reason, ip=ip, user_agent=user_agent)
    db.session.flush()


def authenticate_user(reseller, *, email: str, password: str, ip=None,
                      user_agent=None) -> User:
    """Check a client-panel login of this reseller (01 R-USR-1, A-17); every attempt on a known
    account is recorded. Wrong passwords count towards the lockout (08 §15.2 user_* rules);
    the message never says which part was wrong. A user whose only client is admin-blocked
    or deleted is refused with R-ST-3 / R-ST-4.
    """
    user = db.session.scalar(select(User).where(
        User.reseller_id == reseller.id, User.email == (email or "").strip().lower()))
    if user is None:
        raise ClientsError(WRONG_CREDENTIALS, status=401, code="wrong_credentials")
    now = clock.now()
    settings = security_settings_for(reseller)
    if user.locked_until and user.locked_until > now:
        _record(user, success=False, reason="locked", ip=ip, user_agent=user_agent)
        db.session.flush()
        minutes = max(1, math.ceil((user.locked_until - now).total_seconds() / 60))
        raise ClientsError(_l("Too many failed sign-in attempts. Try again in %(minutes)s min.",
                              minutes=minutes), status=401, code="locked")
    if not verify_password(user.password_hash, password or ""):
        user.failed_login_count += 1
        reason = "wrong_password"
        if (settings.user_login_rules_enabled
                and user.failed_login_count >= settings.user_max_login_attempts):
            user.locked_until = now + timedelta(minutes=settings.user_lockout_minutes)
            user.failed_login_count = 0
            reason = "wrong_password_locked"
            audit.log(user, "clients.user.locked_out", data={"ip": ip})
        _record(user, success=False, reason=reason, ip=ip, user_agent=user_agent)
        db.session.flush()
        raise ClientsError(WRONG_CREDENTIALS, status=401, code="wrong_credentials")
    if user.status != UserStatus.ACTIVE:
        _record(user, success=False, reason="inactive", ip=ip, user_agent=user_agent)
        db.session.flush()
        raise ClientsError(USER_INACTIVE, status=401, code="inactive")
    accesses = accessible_clients(user)
    if len(accesses) == 1 and not accesses[0].can_enter:
        only = accesses[0]
        code = {ClientStatus.DELETED: "client_deleted",
                ClientStatus.ADMIN_BLOCKED: "client_blocked"}.get(only.client.status,
                                                                   "membership_inactive")
        user.failed_login_count = 0
        _record(user, success=False, reason=code, ip=ip, user_agent=user_agent)
        db.session.flush()
        raise ClientsError(only.refusal, status=401, code=code)
    record_user_sign_in(user, ip=ip, user_agent=user_agent)
    return user


def landing_client(user: User) -> Client | None:
    """The client a fresh session starts in: the user's only client, if it can be entered.

    With several clients the user picks one on the accounts page (01 §5.2).
    """
    accesses = accessible_clients(user)
    if len(accesses) == 1 and accesses[0].can_enter:
        return accesses[0].client
    return None


# -- sessions ------------------------------------------------------------------------------

def start_user_session(user: User, client: Client | None, *, ip=None) -> tuple[UserSession, str]:
    """Open a server-side client-panel session; returns it with the key the cookie carries."""
    key = new_token()
    now = clock.now()
    session = UserSession(reseller_id=user.reseller_id, user_id=user.id,
                          client_id=client.id if client is not None else None,
                          token_hash=hash_token(key), ip=ip, created_at=now, last_seen_at=now)
    db.session.add(session)
    db.session.flush()
    return session, key


def find_user_session(reseller, key: str) -> UserSession | None:
    """The open session behind a cookie key, only on its own reseller's hosts."""
    if not key:
        return None
    return db.session.scalar(select(UserSession).where(
        UserSession.reseller_id == reseller.id, UserSession.token_hash == hash_token(key),
        UserSession.ended_at.is_(None), UserSession.handoff_pending.is_(False)))


def end_user_session(session: UserSession) -> None:
    """Sign out: the session stops working server-side, whatever the cookie says."""
    if session.ended_at is None:
        session.ended_at = clock.now()
        db.session.flush()


def session_is_idle(session: UserSession, reseller) -> bool:
    idle = timedelta(minutes=security_settings_for(reseller).session_idle_minutes)
    return clock.now() - session.last_seen_at > idle


def switch_client(session: UserSession, client: Client) -> UserSession:
    """Act for another client of the session's user (01 §5.2 "Аккаунты").

    A client without the user's membership, of another reseller, or (for a staff member
    signed in as the owner) other than the one entered, is a 404; a client the user cannot
    enter now is refused with its status message.
    """
    if client.reseller_id != session.reseller_id or (
            session.impersonator_id is not None and client.id != session.client_id):
        raise ClientsError(NOT_FOUND, status=404, code="not_found")
    user = session.user
    membership = membership_in(user, client)
    if membership is None:
        raise ClientsError(NOT_FOUND, status=404, code="not_found")
    refusal = access_refusal(user, membership)
    if refusal is not None:
        raise ClientsError(refusal, status=409, code="cannot_enter")
    session.client_id = client.id
    db.session.flush()
    return session


def change_user_password(user: User, *, current_password: str, password: str,
                         keep: UserSession | None = None) -> User:
    """The user's own password change: the current one first; other sessions end."""
    from portal.clients.services.users import set_user_password  # noqa: PLC0415

    if not verify_password(user.password_hash, current_password or ""):
        raise ClientsError(_l("The current password is wrong."), field="current_password")
    set_user_password(user, password)
    query = update(UserSession).where(
        UserSession.reseller_id == user.reseller_id, UserSession.user_id == user.id,
        UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    db.session.execute(query.values(ended_at=clock.now()))
    return user


# -- staff "log in as client" (01 R-LAC-1/3) -----------------------------------------------

def enter_client_panel(client: Client, *, actor) -> str:
    """Open a client-panel session as the client's owner for a staff member; return a one-time
    key to claim on the client-panel host within 2 minutes (claim_client_handoff).

    Refused for admin-blocked and deleted clients with the messages a user would get (R-LAC-3).
    Logged on the client under the staff member.
    """
    if client.status == ClientStatus.DELETED:
        raise ClientsError(CLIENT_DELETED, status=409, code="client_deleted")
    if client.status == ClientStatus.ADMIN_BLOCKED:
        raise ClientsError(CLIENT_BLOCKED, status=409, code="client_blocked")
    owner = client.owner
    if owner is None or owner.status != UserStatus.ACTIVE:
        raise ClientsError(_l("The client has no active owner to sign in as."), status=409,
                           code="no_owner")
    member = getattr(actor, "member", actor)
    key = new_token()
    now = clock.now()
    db.session.add(UserSession(
        reseller_id=client.reseller_id, user_id=owner.id, client_id=client.id,
        token_hash=hash_token(key), impersonator_id=member.id, handoff_pending=True,
        ip=getattr(actor, "ip", None), created_at=now, last_seen_at=now))
    audit.log(client, "clients.client.panel_entered", actor=actor,
              data={"user_id": owner.id, "email": owner.email})
    db.session.flush()
    return key


def claim_client_handoff(reseller, key: str) -> tuple[UserSession, str] | None:
    """Turn a fresh hand-off key into the session's real key (single use, 2 minutes)."""
    if not key:
        return None
    session = db.session.scalar(select(UserSession).where(
        UserSession.reseller_id == reseller.id, UserSession.token_hash == hash_token(key),
        UserSession.handoff_pending.is_(True), UserSession.ended_at.is_(None)))
    if session is None or clock.now() - session.created_at > timedelta(seconds=HANDOFF_SECONDS):
        return None
    real_key = new_token()
    session.token_hash = hash_token(real_key)
    session.handoff_pending = False
    session.last_seen_at = clock.now()
    db.session.flush()
    return session, real_key
