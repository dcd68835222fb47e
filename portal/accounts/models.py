"""Staff members of a reseller, their sessions, API tokens and sign-in history (08 §15.4)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.extensions import db


class Role(enum.StrEnum):
    """The four fixed roles of the platform (seed 000, 08 R-ROLE-1)."""

    SYSTEM_ADMIN = "system_admin"
    PRODUCT_MANAGER = "product_manager"
    SALES_MANAGER = "sales_manager"
    MARKETING_SPECIALIST = "marketing_specialist"


ROLE_LABELS = {
    Role.SYSTEM_ADMIN: _l("System administrator"),
    Role.PRODUCT_MANAGER: _l("Product manager"),
    Role.SALES_MANAGER: _l("Sales manager"),
    Role.MARKETING_SPECIALIST: _l("Marketing specialist"),
}


class StaffStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


STAFF_STATUS_LABELS = {StaffStatus.ACTIVE: _l("Active"), StaffStatus.INACTIVE: _l("Inactive")}


class StaffMember(db.Model):
    """A member of a reseller's staff (Сотрудник): signs in to the reseller's panel."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"), index=True)
    # 08: the e-mail is the login and unique across the installation.
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    status: Mapped[StaffStatus] = mapped_column(StrEnumType(StaffStatus),
                                                default=StaffStatus.ACTIVE)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sign_in_count: Mapped[int] = mapped_column(default=0)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    reseller = relationship("Reseller", foreign_keys=[reseller_id])

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == StaffStatus.ACTIVE

    @property
    def status_label(self) -> str:
        return str(STAFF_STATUS_LABELS[self.status])


class StaffSession(db.Model):
    """A signed-in browser session; signing out ends it here, not just in the cookie."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Set when an upstream member entered this reseller's panel ("log in as reseller").
    impersonated_reseller_id: Mapped[int | None] = mapped_column(
        ForeignKey("resellers.id", ondelete="CASCADE"))
    # An entry into a child panel starts as a one-time hand-off key, claimed on the child's host.
    handoff_pending: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff_member: Mapped[StaffMember] = relationship()


class ApiToken(db.Model):
    """A staff API token: shown once, stored as a SHA-256 hash (API.md)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff_member: Mapped[StaffMember] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SignInEvent(db.Model):
    """Every sign-in attempt on an existing account, with time and IP (01 R-AUTH-3)."""

    __tablename__ = "sign_in_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    success: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(64), default="")

    staff_member: Mapped[StaffMember] = relationship()


class PasswordResetToken(db.Model):
    """A single-use, expiring password reset link (01 R-AUTH-4)."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff_member: Mapped[StaffMember] = relationship()


class ListPreference(db.Model):
    """A member's column choice, page size and sort for one list (01 R-LIST-5)."""

    __tablename__ = "list_preferences"
    __table_args__ = (UniqueConstraint("staff_member_id", "list_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"))
    list_key: Mapped[str] = mapped_column(String(64))
    columns: Mapped[list | None] = mapped_column(JSON)
    per_page: Mapped[int | None]
