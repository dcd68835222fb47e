"""Users of the client panel and their memberships of clients (01 §5.2, R-USR-1..14, A-17, A-18)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.services.passwords import hash_password, password_problems
from portal.clients.models import (AccessLevel, Client, ClientStatus, ClientUser, ParameterTarget,
                                   User, UserStatus)
from portal.clients.services.errors import ClientsError
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.settings.services import security_settings

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USER_FIELDS = ("email", "first_name", "middle_name", "last_name", "status", "privacy_accepted")
NAME_LIMIT = 128


def normalise_email(email: str, *, field: str = "email") -> str:
    email = (email or "").strip().lower()
    if not email:
        raise ClientsError(_l("Enter the e-mail address."), field=field)
    if len(email) > 255 or not EMAIL_RE.match(email):
        raise ClientsError(_l("“%(email)s” is not a valid e-mail address.", email=email),
                           field=field)
    return email


def _names(fields: dict, prefix: str = "") -> dict:
    names = {}
    for part in ("first_name", "middle_name", "last_name"):
        if part in fields:
            value = (fields[part] or "").strip()
            if len(value) > NAME_LIMIT:
                raise ClientsError(_l("At most %(n)d characters.", n=NAME_LIMIT),
                                   field=prefix + part)
            names[part] = value
    for part, message in (("first_name", _l("Enter the first name.")),
                          ("last_name", _l("Enter the last name."))):
        if part in names and not names[part]:
            raise ClientsError(message, field=prefix + part)
    return names


def user_by_email(reseller, email: str) -> User | None:
    return db.session.scalar(select(User).where(User.reseller_id == reseller.id,
                                                User.email == (email or "").strip().lower()))


def check_password(reseller, password: str, *, login: str = "", field: str = "password") -> None:
    """The reseller's password policy (08 R-PWD, 01 R-PWD-3); the first broken rule is named."""
    settings = security_settings(reseller)
    problems = password_problems(password, settings.password_complexity, login=login,
                                 forbid_login=settings.forbid_login_in_password)
    if problems:
        raise ClientsError(problems[0], field=field)


def create_user(reseller, *, email: str, first_name: str, last_name: str, middle_name: str = "",
                password: str | None = None, privacy_accepted: bool = True,
                parameters: dict | None = None, created_via: str = "operator_panel",
                actor=None) -> User:
    """A user of the reseller's client panel (01 R-USR-12); the e-mail is unique here (A-17).

    Without a password the user sets one through an e-mailed link (the new owner's case).
    """
    email = normalise_email(email)
    names = _names({"first_name": first_name, "middle_name": middle_name,
                    "last_name": last_name})
    if user_by_email(reseller, email) is not None:
        raise ClientsError(_l("A user with the e-mail %(email)s already exists.", email=email),
                           field="email", status=409, code="conflict")
    if password is not None:
        check_password(reseller, password, login=email)
    from portal.clients.services.parameter_values import (  # noqa: PLC0415
        clean_parameter_values, store_parameter_values)

    values = clean_parameter_values(reseller, ParameterTarget.USER, parameters or {},
                                    creating=True)
    user = User(reseller_id=reseller.id, email=email, privacy_accepted=bool(privacy_accepted),
                created_via=created_via, created_at=clock.now(), status=UserStatus.ACTIVE,
                password_hash=hash_password(password) if password else "",
                password_changed_at=clock.now() if password else None, **names)
    db.session.add(user)
    db.session.flush()
    store_parameter_values(user, ParameterTarget.USER, values)
    audit.log(user, "clients.user.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(user, USER_FIELDS)))
    return user


def update_user(user: User, *, actor=None, parameters: dict | None = None, **fields) -> User:
    """Edit the names and consent of a user; the e-mail is the login and stays (01 A-17)."""
    if "email" in fields and normalise_email(fields["email"]) != user.email:
        raise ClientsError(_l("The e-mail is the user's login and cannot be changed."),
                           field="email")
    changes = _names(fields)
    if "privacy_accepted" in fields:
        changes["privacy_accepted"] = bool(fields["privacy_accepted"])
    if "language" in fields:
        if fields["language"] not in (None, "", "ru", "en"):
            raise ClientsError(_l("Unknown language."), field="language")
        changes["language"] = fields["language"] or None
    before = audit.snapshot(user, USER_FIELDS)
    from portal.clients.services.parameter_values import (  # noqa: PLC0415
        clean_parameter_values, store_parameter_values)

    values = None
    if parameters is not None:
        values = clean_parameter_values(user_reseller(user), ParameterTarget.USER, parameters,
                                        entity_id=user.id)
    for name, value in changes.items():
        setattr(user, name, value)
    param_changes = store_parameter_values(user, ParameterTarget.USER, values) if values else {}
    db.session.flush()
    diff = {**audit.diff(before, audit.snapshot(user, USER_FIELDS)), **param_changes}
    if diff:
        audit.log(user, "clients.user.updated", actor=actor, changes=diff)
    return user


def user_reseller(user: User):
    from portal.tenancy.models import Reseller  # noqa: PLC0415

    return db.session.get(Reseller, user.reseller_id)


def set_user_password(user: User, password: str, *, actor=None) -> User:
    """Set a password under the reseller's policy (01 R-PWD-5 by staff, or through a link)."""
    check_password(user_reseller(user), password, login=user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.failed_login_count = 0
    user.locked_until = None
    db.session.flush()
    audit.log(user, "clients.user.password_changed", actor=actor,
              changes={"password": ["", "••••••"]})
    return user


def set_user_status(user: User, status: UserStatus | str, *, actor=None) -> User:
    """Global deactivation or activation (01 R-USR-11): access to every client stops or returns;
    the per-client statuses keep their own values."""
    status = UserStatus(status)
    if user.status == status:
        return user
    before = audit.snapshot(user, ("status",))
    user.status = status
    if status == UserStatus.INACTIVE:
        from portal.clients.services.user_tokens import end_user_sessions  # noqa: PLC0415

        end_user_sessions(user)
    db.session.flush()
    audit.log(user, "clients.user.status_changed", actor=actor,
              changes=audit.diff(before, audit.snapshot(user, ("status",))))
    return user


# -- memberships ---------------------------------------------------------------------------

def _membership(client: Client, user: User) -> ClientUser | None:
    return next((m for m in client.memberships if m.user_id == user.id), None)


def _check_client_open(client: Client) -> None:
    if client.status == ClientStatus.DELETED:
        raise ClientsError(_l("The client is deleted; its users cannot be changed."),
                           status=409, code="conflict")


def _make_owner(client: Client, membership: ClientUser, *, actor) -> None:
    """The new owner takes over; the previous owner becomes an administrator (01 R-USR-6/8)."""
    previous = client.owner_membership
    if previous is not None and previous is not membership:
        previous.access_level = AccessLevel.ADMIN
        db.session.flush()  # the one-owner index must see the demotion first
        audit.log(client, "clients.client.user_level_changed", actor=actor,
                  data={"user_id": previous.user_id},
                  changes={"access_level": [AccessLevel.OWNER.value, AccessLevel.ADMIN.value]})
    membership.access_level = AccessLevel.OWNER
    db.session.flush()


def attach_user(client: Client, user: User, *, access_level: AccessLevel | str,
                actor=None, allow_owner: bool = False) -> ClientUser:
    """Link a user of the same reseller to the client (01 R-USR-7: admin or user level only,
    unless the caller makes the owner, as client creation and "create user" do)."""
    _check_client_open(client)
    level = AccessLevel(access_level)
    if user.reseller_id != client.reseller_id:
        raise ClientsError(_l("The user belongs to another reseller."), field="user_id",
                           status=404, code="not_found")
    if level == AccessLevel.OWNER and not allow_owner:
        raise ClientsError(_l("An existing user is attached as an administrator or a user; "
                              "make them the owner afterwards."), field="access_level")
    if _membership(client, user) is not None:
        raise ClientsError(_l("%(email)s is already a user of this client.", email=user.email),
                           field="email", status=409, code="conflict")
    membership = ClientUser(reseller_id=client.reseller_id, client=client, user=user,
                            access_level=AccessLevel.USER if level == AccessLevel.OWNER else level,
                            status=UserStatus.ACTIVE, created_at=clock.now())
    db.session.add(membership)
    db.session.flush()
    if level == AccessLevel.OWNER:
        _make_owner(client, membership, actor=actor)
    audit.log(client, "clients.client.user_attached", actor=actor,
              data={"user_id": user.id, "email": user.email, "access_level": level.value})
    return membership


def create_client_user(client: Client, *, access_level: AccessLevel | str, email: str,
                       first_name: str, last_name: str, middle_name: str = "",
                       password: str | None = None, actor=None) -> ClientUser:
    """Create a user from the client's Users tab and link it at once (01 R-USR-6)."""
    _check_client_open(client)
    reseller = client.reseller
    user = create_user(reseller, email=email, first_name=first_name, last_name=last_name,
                       middle_name=middle_name, password=password, actor=actor)
    return attach_user(client, user, access_level=access_level, actor=actor, allow_owner=True)


def set_access_level(membership: ClientUser, access_level: AccessLevel | str, *,
                     actor=None) -> ClientUser:
    """Change a level in place (01 R-USR-8); naming an owner demotes the current one (A-18)."""
    level = AccessLevel(access_level)
    client = membership.client
    _check_client_open(client)
    if membership.access_level == level:
        return membership
    if membership.access_level == AccessLevel.OWNER:
        raise ClientsError(_l("The owner's level changes only by making another user the "
                              "owner."), field="access_level", status=409, code="conflict")
    old = membership.access_level
    if level == AccessLevel.OWNER:
        _make_owner(client, membership, actor=actor)
    else:
        membership.access_level = level
        db.session.flush()
    audit.log(client, "clients.client.user_level_changed", actor=actor,
              data={"user_id": membership.user_id},
              changes={"access_level": [old.value, level.value]})
    return membership


def detach_user(membership: ClientUser, *, actor=None) -> None:
    """Unlink a user from the client; the user record stays (01 R-USR-9). Never the owner."""
    client = membership.client
    _check_client_open(client)
    if membership.access_level == AccessLevel.OWNER:
        raise ClientsError(_l("The owner cannot be detached; make another user the owner "
                              "first."), status=409, code="conflict")
    user = membership.user
    for field in ("technical_contact_id", "financial_contact_id"):
        if getattr(client, field) == user.id:
            setattr(client, field, client.owner.id if client.owner else None)
    client.memberships.remove(membership)
    db.session.flush()
    audit.log(client, "clients.client.user_detached", actor=actor,
              data={"user_id": user.id, "email": user.email})


def set_membership_status(membership: ClientUser, status: UserStatus | str, *,
                          actor=None) -> ClientUser:
    """Deactivate or activate a user for one client (01 R-USR-10, A-18)."""
    status = UserStatus(status)
    _check_client_open(membership.client)
    if membership.user.status != UserStatus.ACTIVE:
        raise ClientsError(_l("The user is deactivated globally; activate the user first."),
                           status=409, code="conflict")
    if status == UserStatus.INACTIVE and membership.access_level == AccessLevel.OWNER:
        raise ClientsError(_l("The owner cannot be deactivated for the client."),
                           status=409, code="conflict")
    if membership.status == status:
        return membership
    old = membership.status
    membership.status = status
    db.session.flush()
    audit.log(membership.client, "clients.client.user_status_changed", actor=actor,
              data={"user_id": membership.user_id},
              changes={"status": [old.value, status.value]})
    return membership


def membership_of(client: Client, user_id: int) -> ClientUser:
    membership = next((m for m in client.memberships if m.user_id == user_id), None)
    if membership is None:
        raise ClientsError(_l("The user is not a user of this client."), status=404,
                           code="not_found")
    return membership
