"""Clients, their client types and service rules, additional parameters, and the users of the
client panel (spec 01 §5, 08 §14.1–14.2, §15.5)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import (JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint,
                        text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.core.money import Money
from portal.extensions import db

# -- client types (08 §2.1) ---------------------------------------------------------------


class LegalForm(enum.StrEnum):
    """What kind of person a client type describes; decides the INN length (10 or 12)."""

    INDIVIDUAL = "individual"
    SOLE_PROPRIETOR = "sole_proprietor"
    ORGANIZATION = "organization"


LEGAL_FORM_LABELS = {LegalForm.INDIVIDUAL: _l("Individual"),
                     LegalForm.SOLE_PROPRIETOR: _l("Sole proprietor"),
                     LegalForm.ORGANIZATION: _l("Organisation")}


class ClientType(db.Model):
    """A reseller's client type; a type made upstream arrives as a read-only delegated copy."""

    __tablename__ = "client_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    # The upstream type this copy follows (08 CT3); cleared when the upstream one is deleted.
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_types.id", ondelete="SET NULL"), index=True)
    is_delegated: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    name_template: Mapped[str] = mapped_column(String(255))
    primary_name_label: Mapped[str] = mapped_column(String(255), default="")
    legal_form: Mapped[LegalForm] = mapped_column(StrEnumType(LegalForm),
                                                  default=LegalForm.ORGANIZATION)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    def __str__(self) -> str:
        return self.name

    @property
    def uses_primary_name(self) -> bool:
        return "%primary_name" in self.name_template.lower()

    @property
    def uses_person_name(self) -> bool:
        template = self.name_template.lower()
        return any(token in template for token in ("%first_name", "%last_name", "%middle_name"))


# -- service rules (08 §2.2) --------------------------------------------------------------


class PaymentModel(enum.StrEnum):
    PREPAY = "prepay"
    POSTPAY = "postpay"


PAYMENT_MODEL_LABELS = {PaymentModel.PREPAY: _l("Prepay"), PaymentModel.POSTPAY: _l("Postpay")}


class StopMethod(enum.StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


STOP_METHOD_LABELS = {StopMethod.AUTO: _l("Automatic"), StopMethod.MANUAL: _l("Manual")}

RULE_COLORS = {"grey": _l("Grey"), "orange": _l("Orange"), "blue": _l("Blue"),
               "light_blue": _l("Light blue"), "green": _l("Green"), "red": _l("Red"),
               "violet": _l("Violet"), "yellow": _l("Yellow")}


class ServiceRule(db.Model):
    """Service conditions of a group of clients: payment model, block threshold, credit limit."""

    __tablename__ = "service_rules"
    __table_args__ = (
        UniqueConstraint("reseller_id", "key"),
        CheckConstraint("block_threshold >= 0", name="service_rule_threshold_not_negative"),
        CheckConstraint("credit_limit >= 0", name="service_rule_credit_limit_not_negative"),
        CheckConstraint("negative_balance_days >= -1", name="service_rule_negative_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    color: Mapped[str] = mapped_column(String(32), default="grey")
    is_default: Mapped[bool] = mapped_column(default=False)
    payment_model: Mapped[PaymentModel] = mapped_column(StrEnumType(PaymentModel),
                                                        default=PaymentModel.PREPAY)
    stop_method: Mapped[StopMethod] = mapped_column(StrEnumType(StopMethod),
                                                    default=StopMethod.AUTO)
    delete_method: Mapped[StopMethod] = mapped_column(StrEnumType(StopMethod),
                                                      default=StopMethod.AUTO)
    # Prepay: how far the balance may go below zero (a positive amount T; the floor is −T).
    block_threshold: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    allow_negative_balance_payment: Mapped[bool] = mapped_column(default=False)
    # −1 = the balance may stay negative (within the threshold) for ever (01 R-FB-2).
    negative_balance_days: Mapped[int] = mapped_column(default=0)
    cancel_unpaid_order_after_days: Mapped[int] = mapped_column(default=1)
    # Postpay: the debt limit of one subscription, and the days a postpaid payment may wait.
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    payment_grace_days: Mapped[int] = mapped_column(default=0)
    promised_payment_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    promised_payment_days: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    def __str__(self) -> str:
        return self.name


# -- additional parameters (08 §2.15–2.17) ------------------------------------------------


class ParameterTarget(enum.StrEnum):
    CLIENT = "client"
    USER = "user"


PARAMETER_TARGET_LABELS = {ParameterTarget.CLIENT: _l("Client"), ParameterTarget.USER: _l("User")}


class ParameterType(enum.StrEnum):
    STRING = "string"
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"
    PASSWORD = "password"
    LIST = "list"
    # A Russian taxpayer number: check digits, 10 digits for organisations, 12 for persons.
    INN = "inn"


PARAMETER_TYPE_LABELS = {ParameterType.STRING: _l("String"), ParameterType.TEXT: _l("Text"),
                         ParameterType.BOOLEAN: _l("Boolean"), ParameterType.DATE: _l("Date"),
                         ParameterType.PASSWORD: _l("Password"), ParameterType.LIST: _l("List"),
                         ParameterType.INN: _l("INN (taxpayer number)")}


class AdditionalParameterGroup(db.Model):
    __tablename__ = "additional_parameter_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(255))
    # The seeded group parameters fall back to; it cannot be deleted (08 A-19).
    is_default: Mapped[bool] = mapped_column(default=False)
    weight: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


class AdditionalParameter(db.Model):
    """A custom field on clients of one client type, or on users (08 R-AP)."""

    __tablename__ = "additional_parameters"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    # Set on a copy that follows the parameter of an upstream client type.
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("additional_parameters.id", ondelete="SET NULL"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("additional_parameter_groups.id", ondelete="SET NULL"))
    applies_to: Mapped[ParameterTarget] = mapped_column(StrEnumType(ParameterTarget))
    client_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_types.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    data_type: Mapped[ParameterType] = mapped_column(StrEnumType(ParameterType))
    options: Mapped[list | None] = mapped_column(JSON)  # [{"name": ..., "key": ...}] for lists
    first_option_is_default: Mapped[bool] = mapped_column(default=False)
    format: Mapped[str] = mapped_column(String(500), default="")
    default_value: Mapped[str] = mapped_column(String(500), default="")
    optional: Mapped[bool] = mapped_column(default=False)
    readonly_for_client: Mapped[bool] = mapped_column(default=False)
    readonly_for_operator: Mapped[bool] = mapped_column(default=False)
    public: Mapped[bool] = mapped_column(default=False)
    unique: Mapped[bool] = mapped_column(default=False)
    weight: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    group: Mapped[AdditionalParameterGroup | None] = relationship()
    client_type: Mapped[ClientType | None] = relationship()

    def __str__(self) -> str:
        return self.name

    @property
    def is_delegated(self) -> bool:
        return self.source_id is not None


class AdditionalParameterValue(db.Model):
    """The value of one parameter on one client or user, stored as text (08 §2.17)."""

    __tablename__ = "additional_parameter_values"
    __table_args__ = (UniqueConstraint("parameter_id", "entity_id"),
                      Index("ix_parameter_values_entity", "entity_type", "entity_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    parameter_id: Mapped[int] = mapped_column(
        ForeignKey("additional_parameters.id", ondelete="CASCADE"))
    entity_type: Mapped[ParameterTarget] = mapped_column(StrEnumType(ParameterTarget))
    entity_id: Mapped[int]
    value: Mapped[str] = mapped_column(Text, default="")

    parameter: Mapped[AdditionalParameter] = relationship()


# -- clients (01 §2.4) --------------------------------------------------------------------


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    ADMIN_BLOCKED = "admin_blocked"
    FINANCIALLY_BLOCKED = "financially_blocked"
    DELETED = "deleted"


CLIENT_STATUS_LABELS = {
    ClientStatus.ACTIVE: lazy_pgettext("client status", "Active"),
    ClientStatus.ADMIN_BLOCKED: lazy_pgettext("client status", "Administrative block"),
    ClientStatus.FINANCIALLY_BLOCKED: lazy_pgettext("client status", "Financial block"),
    ClientStatus.DELETED: lazy_pgettext("client status", "Deleted"),
}


class PostpayPermission(enum.StrEnum):
    NOT_CHECKED = "not_checked"
    PENDING = "pending"
    REJECTED = "rejected"
    APPROVED = "approved"


POSTPAY_PERMISSION_LABELS = {
    PostpayPermission.NOT_CHECKED: lazy_pgettext("postpay permission", "Not checked"),
    PostpayPermission.PENDING: lazy_pgettext("postpay permission", "Awaiting confirmation"),
    PostpayPermission.REJECTED: lazy_pgettext("postpay permission", "Rejected"),
    PostpayPermission.APPROVED: lazy_pgettext("postpay permission", "Approved"),
}


class Client(db.Model):
    """A reseller's client (account): orders, pays and owns subscriptions (01 §2.4)."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("block_threshold IS NULL OR block_threshold >= 0",
                        name="client_threshold_not_negative"),
        CheckConstraint("credit_limit IS NULL OR credit_limit >= 0",
                        name="client_credit_limit_not_negative"),
        Index("ix_clients_reseller_status", "reseller_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_type_id: Mapped[int] = mapped_column(ForeignKey("client_types.id"), index=True)
    service_rule_id: Mapped[int] = mapped_column(ForeignKey("service_rules.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    primary_name: Mapped[str] = mapped_column(String(255), default="")
    first_name: Mapped[str] = mapped_column(String(128), default="")
    middle_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[ClientStatus] = mapped_column(StrEnumType(ClientStatus),
                                                 default=ClientStatus.ACTIVE)
    is_trial: Mapped[bool] = mapped_column(default=False)
    self_registered: Mapped[bool] = mapped_column(default=False)
    postpay_permission: Mapped[PostpayPermission] = mapped_column(
        StrEnumType(PostpayPermission), default=PostpayPermission.NOT_CHECKED)
    # The client's own threshold and credit limit; NULL = take the service rule's (01 R-CLV-3).
    block_threshold: Mapped[Decimal | None] = mapped_column(Money)
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)

    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(255), default="")
    city: Mapped[str] = mapped_column(String(255), default="")
    street: Mapped[str] = mapped_column(String(255), default="")
    house: Mapped[str] = mapped_column(String(64), default="")
    premises: Mapped[str] = mapped_column(String(64), default="")
    postal_code: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    signatory_first_name: Mapped[str] = mapped_column(String(128), default="")
    signatory_last_name: Mapped[str] = mapped_column(String(128), default="")
    signatory_middle_name: Mapped[str] = mapped_column(String(128), default="")
    signatory_email: Mapped[str] = mapped_column(String(255), default="")
    technical_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    financial_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    terms_accepted: Mapped[bool] = mapped_column(default=True)
    ms_tenant_id: Mapped[str] = mapped_column(String(64), default="")
    ms_tenant_name: Mapped[str] = mapped_column(String(255), default="")

    # The ledger's running balance, kept by the billing area under the client row's lock.
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    negative_balance_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reseller = relationship("Reseller")
    client_type: Mapped[ClientType] = relationship()
    service_rule: Mapped[ServiceRule] = relationship()
    manager = relationship("StaffMember")
    memberships: Mapped[list[ClientUser]] = relationship(
        back_populates="client", order_by="ClientUser.id", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How pickers show a client (01 R-FORM-1): ID<id> - <name>."""
        return f"ID{self.id} - {self.name}"

    @property
    def status_label(self) -> str:
        return str(CLIENT_STATUS_LABELS[self.status])

    @property
    def owner_membership(self) -> ClientUser | None:
        return next((m for m in self.memberships if m.access_level == AccessLevel.OWNER), None)

    @property
    def owner(self) -> User | None:
        membership = self.owner_membership
        return membership.user if membership else None


# -- users of the client panel (01 §2.5–2.6) ----------------------------------------------


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


USER_STATUS_LABELS = {UserStatus.ACTIVE: _l("Active"), UserStatus.INACTIVE: _l("Inactive")}


class AccessLevel(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    USER = "user"


ACCESS_LEVEL_LABELS = {AccessLevel.OWNER: _l("Owner"), AccessLevel.ADMIN: _l("Administrator"),
                       AccessLevel.USER: _l("User")}


class User(db.Model):
    """A person who signs in to the client panel; may be a user of several clients."""

    __tablename__ = "users"
    # 01 A-17: the e-mail (stored lower-case) is the login, unique within the reseller.
    __table_args__ = (UniqueConstraint("reseller_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    email: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(128), default="")
    middle_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[UserStatus] = mapped_column(StrEnumType(UserStatus), default=UserStatus.ACTIVE)
    privacy_accepted: Mapped[bool] = mapped_column(default=True)
    # operator_panel | client_panel: which "password reset on creation" event applies.
    created_via: Mapped[str] = mapped_column(String(32), default="operator_panel")
    language: Mapped[str | None] = mapped_column(String(8))
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sign_in_count: Mapped[int] = mapped_column(default=0)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    memberships: Mapped[list[ClientUser]] = relationship(back_populates="user",
                                                         order_by="ClientUser.id")

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    @property
    def status_label(self) -> str:
        return str(USER_STATUS_LABELS[self.status])


class ClientUser(db.Model):
    """A user's membership of a client, with its access level and per-client status."""

    __tablename__ = "client_users"
    __table_args__ = (
        UniqueConstraint("client_id", "user_id"),
        # 01 R-CL-2: exactly one owner per client, kept by the database too.
        Index("uq_client_users_one_owner", "client_id", unique=True,
              sqlite_where=text("access_level = 'owner'"),
              postgresql_where=text("access_level = 'owner'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    access_level: Mapped[AccessLevel] = mapped_column(StrEnumType(AccessLevel))
    status: Mapped[UserStatus] = mapped_column(StrEnumType(UserStatus), default=UserStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    client: Mapped[Client] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")

    @property
    def access_level_label(self) -> str:
        return str(ACCESS_LEVEL_LABELS[self.access_level])

    @property
    def status_label(self) -> str:
        return str(USER_STATUS_LABELS[self.status])


class UserSession(db.Model):
    """A client-panel session: the user, the client they act for, and who opened it."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Set when a staff member logged in as the client (01 R-LAC-1): the panel says so.
    impersonator_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"))
    handoff_pending: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    client: Mapped[Client | None] = relationship()
    impersonator = relationship("StaffMember")


class UserSignIn(db.Model):
    """The client-panel login history of a user (01 R-USR-14 «История входов»)."""

    __tablename__ = "user_sign_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    success: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(64), default="")


class UserToken(db.Model):
    """A single-use, expiring link e-mailed to a user: set the first password, or reset it."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invitation | reset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
