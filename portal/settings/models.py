"""Per-reseller system and security settings (08 §15.1, §15.2) and document counters."""

from __future__ import annotations

import enum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.models import StrEnumType
from portal.extensions import db

LANGUAGES = {"ru": "Русский", "en": "English"}


class DocumentType(enum.StrEnum):
    """Documents numbered by a mask (08 R-SYS-8)."""

    SALES_ORDER = "sales_order"
    RENEWAL_ORDER = "renewal_order"
    PROLONG_ORDER = "prolong_order"
    CHANGE_ORDER = "change_order"
    SWITCH_ORDER = "switch_order"
    PAYMENT = "payment"
    PROMISED_PAYMENT = "promised_payment"
    ACT = "act"


DEFAULT_MASKS = {
    DocumentType.SALES_ORDER: "SO%6",
    DocumentType.RENEWAL_ORDER: "RN%6",
    DocumentType.PROLONG_ORDER: "PR%6",
    DocumentType.CHANGE_ORDER: "CO%6",
    DocumentType.SWITCH_ORDER: "SW%6",
    DocumentType.PAYMENT: "P%6",
    DocumentType.PROMISED_PAYMENT: "GP%6",
    DocumentType.ACT: "A%6",
}


class PasswordComplexity(enum.StrEnum):
    SIMPLE = "simple"
    GOOD = "good"
    STRONG = "strong"


class SystemSettings(db.Model):
    """A reseller's system settings; the root's time zone is the platform's (D6)."""

    __tablename__ = "system_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    operator_languages: Mapped[list] = mapped_column(JSON, default=lambda: ["ru", "en"])
    operator_default_language: Mapped[str] = mapped_column(String(8), default="ru")
    client_languages: Mapped[list] = mapped_column(JSON, default=lambda: ["ru", "en"])
    client_default_language: Mapped[str] = mapped_column(String(8), default="ru")
    number_masks: Mapped[dict] = mapped_column(
        JSON, default=lambda: {k.value: v for k, v in DEFAULT_MASKS.items()})
    storefront_url: Mapped[str] = mapped_column(String(500), default="")
    require_privacy_consent: Mapped[bool] = mapped_column(default=False)
    privacy_policy_url: Mapped[str] = mapped_column(String(500), default="")
    require_terms_consent: Mapped[bool] = mapped_column(default=False)
    terms_url: Mapped[str] = mapped_column(String(500), default="")
    # 09 SMS-3 "SMS-шлюз": the reseller's own gateway or an ancestor's; empty = the
    # nearest ancestor's choice.
    sms_gateway_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_gateways.id", ondelete="SET NULL"))

    def mask_for(self, document_type: DocumentType) -> str:
        return (self.number_masks or {}).get(document_type.value) or DEFAULT_MASKS[document_type]


class SecuritySettings(db.Model):
    """Password policy and sign-in rules of a reseller's panels (08 §15.2)."""

    __tablename__ = "security_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             unique=True)
    password_complexity: Mapped[PasswordComplexity] = mapped_column(
        StrEnumType(PasswordComplexity), default=PasswordComplexity.GOOD)
    forbid_login_in_password: Mapped[bool] = mapped_column(default=True)
    staff_login_rules_enabled: Mapped[bool] = mapped_column(default=True)
    staff_max_login_attempts: Mapped[int] = mapped_column(default=5)
    staff_lockout_minutes: Mapped[int] = mapped_column(default=15)
    staff_password_expiry_enabled: Mapped[bool] = mapped_column(default=False)
    staff_password_valid_days: Mapped[int] = mapped_column(default=90)
    staff_password_reminder_days: Mapped[int] = mapped_column(default=7)
    user_login_rules_enabled: Mapped[bool] = mapped_column(default=True)
    user_max_login_attempts: Mapped[int] = mapped_column(default=5)
    user_lockout_minutes: Mapped[int] = mapped_column(default=15)
    user_password_expiry_enabled: Mapped[bool] = mapped_column(default=False)
    user_password_valid_days: Mapped[int] = mapped_column(default=90)
    user_password_reminder_days: Mapped[int] = mapped_column(default=7)
    session_idle_minutes: Mapped[int] = mapped_column(default=480)
    reset_link_valid_minutes: Mapped[int] = mapped_column(default=60)


class DocumentCounter(db.Model):
    """The last number issued per reseller and document type (taken under a row lock)."""

    __tablename__ = "document_counters"
    __table_args__ = (UniqueConstraint("reseller_id", "document_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"))
    document_type: Mapped[DocumentType] = mapped_column(StrEnumType(DocumentType))
    last_value: Mapped[int] = mapped_column(default=0)
