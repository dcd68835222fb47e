"""Staff member use cases: create, edit, activate/deactivate, set a password (08 §15.4)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.accounts.models import Role, StaffMember, StaffSession, StaffStatus
from portal.accounts.services.errors import AccountsError
from portal.accounts.services.passwords import hash_password, password_problems
from portal.core import audit
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.settings.models import SecuritySettings

STAFF_FIELDS = ("name", "email", "role", "status", "language")


def _security(reseller_id: int) -> SecuritySettings:
    return db.session.scalar(select(SecuritySettings).where(
        SecuritySettings.reseller_id == reseller_id)) or SecuritySettings()


def check_password(password: str, *, reseller_id: int, login: str) -> None:
    settings = _security(reseller_id)
    problems = password_problems(
        password, settings.password_complexity or "good", login=login,
        forbid_login=settings.forbid_login_in_password
        if settings.forbid_login_in_password is not None else True)
    if problems:
        raise AccountsError(" ".join(str(p) for p in problems), field="password")


def _check_email_free(email: str, *, except_id: int | None = None) -> None:
    query = select(StaffMember.id).where(func.lower(StaffMember.email) == email.lower())
    if except_id:
        query = query.where(StaffMember.id != except_id)
    with across_tenants():  # 08: the e-mail is unique across the installation
        taken = db.session.scalar(query) is not None
    if taken:
        raise AccountsError(_l("A staff member with this e-mail already exists."), field="email",
                            status=409, code="conflict")


def create_staff_member(reseller, *, email: str, name: str, role: Role | str, password: str,
                        actor=None, language: str | None = None) -> StaffMember:
    """Add a staff member to the reseller; the e-mail is the login, unique platform-wide."""
    email = email.strip()
    name = name.strip()
    if not name:
        raise AccountsError(_l("Enter the name."), field="name")
    try:
        role = Role(role)
    except ValueError as error:
        raise AccountsError(_l("Unknown role."), field="role") from error
    _check_email_free(email)
    check_password(password, reseller_id=reseller.id, login=email)
    member = StaffMember(reseller_id=reseller.id, email=email, name=name, role=role,
                         status=StaffStatus.ACTIVE, password_hash=hash_password(password),
                         password_changed_at=clock.now(), language=language,
                         created_at=clock.now())
    db.session.add(member)
    db.session.flush()
    audit.log(member, "accounts.staff.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(member, STAFF_FIELDS)))
    return member


def _active_admins(reseller_id: int) -> int:
    return db.session.scalar(select(func.count(StaffMember.id)).where(
        StaffMember.reseller_id == reseller_id, StaffMember.role == Role.SYSTEM_ADMIN,
        StaffMember.status == StaffStatus.ACTIVE))


def _guard_last_admin(member: StaffMember) -> None:
    if (member.role == Role.SYSTEM_ADMIN and member.status == StaffStatus.ACTIVE
            and _active_admins(member.reseller_id) <= 1):
        raise AccountsError(_l("The last active system administrator of a reseller cannot be "
                               "demoted or deactivated."))


def update_staff_member(member: StaffMember, *, actor=None, **fields) -> StaffMember:
    """Change name, e-mail, role or language; a member cannot change their own role."""
    before = audit.snapshot(member, STAFF_FIELDS)
    if "email" in fields and fields["email"].strip().lower() != member.email.lower():
        _check_email_free(fields["email"].strip(), except_id=member.id)
        member.email = fields["email"].strip()
    if "name" in fields:
        if not fields["name"].strip():
            raise AccountsError(_l("Enter the name."), field="name")
        member.name = fields["name"].strip()
    if "role" in fields and Role(fields["role"]) != member.role:
        if actor is not None and getattr(actor, "id", None) == member.id:
            raise AccountsError(_l("You cannot change your own role."), field="role")
        _guard_last_admin(member)
        member.role = Role(fields["role"])
    if "language" in fields:
        member.language = fields["language"] or None
    changes = audit.diff(before, audit.snapshot(member, STAFF_FIELDS))
    if changes:
        audit.log(member, "accounts.staff.updated", actor=actor, changes=changes)
    db.session.flush()
    return member


def end_sessions(member: StaffMember) -> None:
    db.session.execute(update(StaffSession).where(
        StaffSession.staff_member_id == member.id, StaffSession.ended_at.is_(None))
        .values(ended_at=clock.now()))


def set_staff_status(member: StaffMember, status: StaffStatus | str, *, actor=None) -> StaffMember:
    """Activate or deactivate; deactivation ends the member's sessions at once."""
    status = StaffStatus(status)
    if status == member.status:
        return member
    if status == StaffStatus.INACTIVE:
        if actor is not None and getattr(actor, "id", None) == member.id:
            raise AccountsError(_l("You cannot deactivate yourself."))
        _guard_last_admin(member)
        end_sessions(member)
    before = audit.snapshot(member, ("status",))
    member.status = status
    member.failed_login_count = 0
    member.locked_until = None
    audit.log(member, f"accounts.staff.{'activated' if status == StaffStatus.ACTIVE else 'deactivated'}",
              actor=actor, changes=audit.diff(before, audit.snapshot(member, ("status",))))
    db.session.flush()
    return member


def set_staff_password(member: StaffMember, password: str, *, actor=None) -> StaffMember:
    """Set a new password (policy-checked); clears the lockout."""
    check_password(password, reseller_id=member.reseller_id, login=member.email)
    member.password_hash = hash_password(password)
    member.password_changed_at = clock.now()
    member.failed_login_count = 0
    member.locked_until = None
    audit.log(member, "accounts.staff.password_changed", actor=actor,
              changes={"password": ["••••••", "••••••"]})
    db.session.flush()
    return member
