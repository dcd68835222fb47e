"""The reseller tree: the root operator and resellers at any depth below it (07 §10.1)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.extensions import db


class ResellerStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


RESELLER_STATUS_LABELS = {ResellerStatus.ACTIVE: _l("Active"),
                          ResellerStatus.SUSPENDED: _l("Suspended")}


class SettingsMode(enum.StrEnum):
    """What a new reseller copies from its parent (07 BR-14, BR-16)."""

    COPY_PROVIDER = "copy_provider"
    COPY_STANDARD = "copy_standard"


class SmtpSecurity(enum.StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class Reseller(db.Model):
    """A tenant. The root operator is the one reseller without a parent."""

    __tablename__ = "resellers"
    __table_args__ = (
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        # Only one root: every row with a NULL parent shares is_root = true, which is unique.
        Index("uq_resellers_single_root", "is_root", unique=True,
              sqlite_where=text("is_root"), postgresql_where=text("is_root")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id"), index=True)
    is_root: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[ResellerStatus] = mapped_column(StrEnumType(ResellerStatus),
                                                   default=ResellerStatus.ACTIVE)
    settings_mode: Mapped[SettingsMode] = mapped_column(StrEnumType(SettingsMode),
                                                        default=SettingsMode.COPY_PROVIDER)

    company_name: Mapped[str] = mapped_column(String(255), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="")
    contact_first_name: Mapped[str] = mapped_column(String(128), default="")
    contact_last_name: Mapped[str] = mapped_column(String(128), default="")
    contact_phone: Mapped[str] = mapped_column(String(64), default="")
    contact_email: Mapped[str] = mapped_column(String(255), default="")

    # Branding (07 BR-22..24): white-label is data fed to one template set.
    default_language: Mapped[str] = mapped_column(String(8), default="ru")
    panel_title: Mapped[str] = mapped_column(String(255), default="")
    client_panel_title: Mapped[str] = mapped_column(String(255), default="")
    store_title: Mapped[str] = mapped_column(String(255), default="")
    primary_color: Mapped[str] = mapped_column(String(7), default="#1f5fa8")
    logo: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(String(64))
    favicon: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)
    favicon_type: Mapped[str | None] = mapped_column(String(64))
    branding_version: Mapped[int] = mapped_column(default=1)

    # The reseller's own SMTP server (07 BR-26/27); empty host = inherit the parent's.
    smtp_host: Mapped[str] = mapped_column(String(255), default="")
    smtp_port: Mapped[int | None]
    smtp_username: Mapped[str] = mapped_column(String(255), default="")
    smtp_password: Mapped[str] = mapped_column(String(255), default="")
    smtp_sender: Mapped[str] = mapped_column(String(255), default="")
    smtp_security: Mapped[SmtpSecurity] = mapped_column(StrEnumType(SmtpSecurity),
                                                        default=SmtpSecurity.NONE)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc)

    parent: Mapped[Reseller | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    domains: Mapped[list[ResellerDomain]] = relationship(
        back_populates="reseller", cascade="all, delete-orphan", order_by="ResellerDomain.id")

    def __str__(self) -> str:
        return self.name

    @property
    def status_label(self) -> str:
        return str(RESELLER_STATUS_LABELS[self.status])

    @property
    def reseller_id(self) -> int:
        """A reseller is its own tenant (lets tenant_get_or_404 treat it like any object)."""
        return self.id

    def domain_of(self, kind: str) -> str:
        for domain in self.domains:
            if domain.kind == kind:
                return domain.domain
        return ""

    @property
    def panel_domain(self) -> str:
        return self.domain_of(DomainKind.PANEL)

    @property
    def client_domain(self) -> str:
        return self.domain_of(DomainKind.CLIENT)

    @property
    def store_domain(self) -> str:
        return self.domain_of(DomainKind.STORE)

    @property
    def local_host(self) -> str:
        """The host that works out of the box for local use: <slug>.localhost."""
        return f"{self.slug}.localhost"


class DomainKind(enum.StrEnum):
    PANEL = "panel"   # operator and client panel share it (07 BR-18)
    STORE = "store"
    CLIENT = "client"  # an optional host of the reseller's client panel alone


class ResellerDomain(db.Model):
    """A host name that serves a reseller's panel or store; unique across all tenants (07 A1)."""

    __tablename__ = "reseller_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[DomainKind] = mapped_column(StrEnumType(DomainKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    reseller: Mapped[Reseller] = relationship(back_populates="domains")
