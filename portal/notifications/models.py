"""Notification categories, templates and events (handlers), delegated down the reseller tree
(09 §2.1–§2.4, §3.1).

Every row belongs to one reseller. A copy delegated from the parent reseller points at the
parent's row through `source_id` (Наследован = `source_id is not null`); `modified` says this
reseller's staff changed the copy (Изменен), so the parent's later updates stop here; `installed`
marks the operator's default set (Установлен), whose templates keep `default_snapshot` to be
compared with and restored to. A template keeps its subject and body per language in
`NotificationTemplateContent`; the recipient's language picks one (`content_for`).
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.extensions import db
from portal.notifications.event_types import EVENT_TYPES_BY_KEY

CONTENT_LANGUAGES = ("ru", "en")  # a template's content languages (the panel languages)


class TemplateType(enum.StrEnum):
    """09 §2.3: the channel a template is written for."""

    EMAIL = "email"
    SMS = "sms"
    CLIENT_PANEL = "client_panel"


TEMPLATE_TYPE_LABELS = {TemplateType.EMAIL: _l("Email"), TemplateType.SMS: _l("SMS"),
                        TemplateType.CLIENT_PANEL: _l("Client panel")}


class HandlerStatus(enum.StrEnum):
    """09 §3.2: inactive handlers send nothing."""

    ACTIVE = "active"
    INACTIVE = "inactive"


HANDLER_STATUS_LABELS = {HandlerStatus.ACTIVE: _l("active"), HandlerStatus.INACTIVE: _l("inactive")}


class DelegationState(enum.StrEnum):
    """09 §3.1: the four states the Установлен / Наследован / Изменен flags give."""

    OWN = "own"
    INSTALLED = "installed"
    INSTALLED_MODIFIED = "installed_modified"
    INHERITED_CLEAN = "inherited_clean"
    INHERITED_MODIFIED = "inherited_modified"


def _delegation_checks(table: str) -> tuple:
    return (
        # 09 DEL-5, A-05: installed rows are the operator's own, never copies.
        CheckConstraint("NOT (installed AND source_id IS NOT NULL)", name="installed_not_copy"),
        # 09 A-36: own rows are never "modified"; only copies and installed rows can be.
        CheckConstraint("NOT modified OR installed OR source_id IS NOT NULL",
                        name="own_never_modified"),
        # One copy of a row per reseller; one installed default per key.
        UniqueConstraint("reseller_id", "source_id", name=f"uq_{table}_copy"),
        UniqueConstraint("reseller_id", "default_key", name=f"uq_{table}_default_key"),
    )


class _Delegated:
    """The delegation attributes of 09 §2.1 (mixed into the three models)."""

    installed: Mapped[bool] = mapped_column(default=False)
    modified: Mapped[bool] = mapped_column(default=False)
    # The key of the installed default this row is (09 §2.1 Установлен); null for the others.
    default_key: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    @property
    def inherited(self) -> bool:
        return self.source_id is not None

    @property
    def state(self) -> DelegationState:
        if self.installed:
            return (DelegationState.INSTALLED_MODIFIED if self.modified
                    else DelegationState.INSTALLED)
        if self.source_id is not None:
            return (DelegationState.INHERITED_MODIFIED if self.modified
                    else DelegationState.INHERITED_CLEAN)
        return DelegationState.OWN

    @property
    def deletable(self) -> bool:
        """09 DLT-1: only rows the reseller's own staff created."""
        return self.state == DelegationState.OWN


class NotificationCategory(_Delegated, db.Model):
    """Категория уведомлений (09 §2.2)."""

    __tablename__ = "notification_categories"
    __table_args__ = (
        # 09 CAT-2 within one reseller (the service also compares case-insensitively and
        # across the descendants).
        UniqueConstraint("reseller_id", "name", name="uq_notification_categories_name"),
        *_delegation_checks("notification_categories"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("notification_categories.id"),
                                                  index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(default=False)
    enabled_on_client_creation: Mapped[bool] = mapped_column(default=False)

    templates: Mapped[list[NotificationTemplate]] = relationship(
        back_populates="category", order_by="NotificationTemplate.id")

    def __str__(self) -> str:
        return self.name


class NotificationTemplate(_Delegated, db.Model):
    """Шаблон уведомления (09 §2.3): the channel's fields plus a subject and body per language."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        CheckConstraint("type IN ('email', 'sms', 'client_panel')", name="known_type"),
        *_delegation_checks("notification_templates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("notification_templates.id"),
                                                  index=True)
    type: Mapped[TemplateType] = mapped_column(StrEnumType(TemplateType))
    name: Mapped[str] = mapped_column(String(255))
    category_id: Mapped[int] = mapped_column(ForeignKey("notification_categories.id"),
                                             index=True)
    # E-mail: addresses or placeholders, comma-separated (09 TPL-2); SMS: the recipient phone.
    sender: Mapped[str] = mapped_column(Text, default="")
    recipient: Mapped[str] = mapped_column(Text, default="")
    cc: Mapped[str] = mapped_column(Text, default="")
    bcc: Mapped[str] = mapped_column(Text, default="")
    # Client panel: the recipient user's id or a placeholder such as {{owner.id}} (09 TPL-4).
    user_id: Mapped[str] = mapped_column(String(255), default="")
    # Installed templates: the state "restore" returns to and "compare" shows (09 D7, TPL-7).
    default_snapshot: Mapped[dict | None] = mapped_column(JSON)

    category: Mapped[NotificationCategory] = relationship(back_populates="templates")
    contents: Mapped[list[NotificationTemplateContent]] = relationship(
        back_populates="template", cascade="all, delete-orphan",
        order_by="NotificationTemplateContent.language")
    handlers: Mapped[list[NotificationEvent]] = relationship(
        back_populates="template", order_by="NotificationEvent.id")

    def __str__(self) -> str:
        return self.name

    @property
    def type_label(self) -> str:
        return str(TEMPLATE_TYPE_LABELS[self.type])

    def content(self, language: str) -> NotificationTemplateContent | None:
        """The content written in exactly this language, if any."""
        return next((c for c in self.contents if c.language == language), None)

    def content_for(self, language: str | None, *, default_language: str | None = None
                    ) -> NotificationTemplateContent | None:
        """The content for a recipient: their language, else the reseller's default language,
        else any the template has (issue 6: a template holds a subject and body per language)."""
        for candidate in (language, default_language):
            if candidate:
                found = self.content(candidate)
                if found is not None:
                    return found
        return self.contents[0] if self.contents else None


class NotificationTemplateContent(db.Model):
    """The subject and body of a template in one language."""

    __tablename__ = "notification_template_contents"
    __table_args__ = (UniqueConstraint("template_id", "language",
                                       name="uq_notification_template_contents_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("notification_templates.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text, default="")  # e-mail and client panel only
    body: Mapped[str] = mapped_column(Text, default="")

    template: Mapped[NotificationTemplate] = relationship(back_populates="contents")


class NotificationEvent(_Delegated, db.Model):
    """Событие уведомлений, the handler (09 §2.4): when `event_type` happens and the rule holds,
    send `template` through its channel."""

    __tablename__ = "notification_events"
    __table_args__ = (
        CheckConstraint("send_hour IS NULL OR (send_hour >= 0 AND send_hour <= 23)",
                        name="send_hour_range"),
        CheckConstraint("send_immediately OR send_hour IS NOT NULL", name="send_time_set"),
        # 09 EVT-2 within one reseller (the service checks the descendants too); the rule is
        # compared by the digest of its whitespace-collapsed text.
        UniqueConstraint("reseller_id", "event_type", "template_type", "template_id",
                         "rule_key", name="uq_notification_events_tuple"),
        *_delegation_checks("notification_events"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("notification_events.id"),
                                                  index=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)  # event_types key (§2.5)
    template_type: Mapped[TemplateType] = mapped_column(StrEnumType(TemplateType))
    template_id: Mapped[int] = mapped_column(ForeignKey("notification_templates.id"),
                                             index=True)
    send_immediately: Mapped[bool] = mapped_column(default=True)
    send_hour: Mapped[int | None]  # 0–23 in the platform time zone
    rule: Mapped[str] = mapped_column(Text, default="")
    rule_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[HandlerStatus] = mapped_column(StrEnumType(HandlerStatus),
                                                  default=HandlerStatus.ACTIVE)

    template: Mapped[NotificationTemplate] = relationship(back_populates="handlers")

    def __str__(self) -> str:
        event = EVENT_TYPES_BY_KEY.get(self.event_type)
        return f"{event.name if event else self.event_type} #{self.id}"

    @property
    def status_label(self) -> str:
        return str(HANDLER_STATUS_LABELS[self.status])
