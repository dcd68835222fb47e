"""Delivery of notifications: the notification log, its send attempts, SMS gateways and the
client users' channel preferences (09 §2.6–§2.8, §3.3; 03 §2.5, §7.5).

A `Notification` is one generated message (NL-1): one recipient, rendered subject and body, the
channel, and where it stands. E-mail and SMS rows go `queued` → `sending` (claimed by a send
job) → `sent`, or back to `queued` with a later `next_attempt_at` after a failed try, and
`failed` after the last one or at once when the recipient cannot be used (A-48). Client-panel
rows are stored `sent` and become read when the user opens them (`read_at`). Every try is a
`NotificationAttempt`; a resend starts a new `cycle` and keeps the old attempts.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.extensions import db
from portal.notifications.models import TEMPLATE_TYPE_LABELS, TemplateType


class NotificationStatus(enum.StrEnum):
    """09 §3.3 / 03 §3.7 with the failure states of A-48 / 03 A15."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# 03 §2.5 shows "В очереди" / "Завершен"; a claimed message is still waiting for the server.
NOTIFICATION_STATUS_LABELS = {
    NotificationStatus.QUEUED: _l("queued"),
    NotificationStatus.SENDING: _l("queued"),
    NotificationStatus.SENT: _l("completed"),
    NotificationStatus.FAILED: _l("failed"),
}


class Notification(db.Model):
    """Уведомление, one entry of the notification log (03 §2.5, 09 §2.8)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms', 'client_panel')", name="known_channel"),
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="known_status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The send jobs look for due rows of one reseller; the release job for due rows of all.
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_reseller_status", "reseller_id", "status", "next_attempt_at"),
        Index("ix_notifications_user_channel", "user_id", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by ix_notifications_reseller_status, whose first column it is.
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True)
    # The recipient when it is a client user (preferences, language, the panel's bell) or a
    # staff member; both empty for an address that is neither.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))  # event_types key (09 §2.5)
    # The log outlives handlers and templates deleted later (09 §4.6).
    handler_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_events.id", ondelete="SET NULL"), index=True)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_templates.id", ondelete="SET NULL"), index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_categories.id", ondelete="SET NULL"), index=True)
    channel: Mapped[TemplateType] = mapped_column(StrEnumType(TemplateType))
    # E-mail address, phone in international format, or the client user's id (client panel).
    recipient: Mapped[str] = mapped_column(Text, default="")
    cc: Mapped[str] = mapped_column(Text, default="")
    bcc: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(255), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # [{"name", "content_type", "data" (base64) or "path"}]; PDFs come with the money issue.
    attachments: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[NotificationStatus] = mapped_column(StrEnumType(NotificationStatus),
                                                       default=NotificationStatus.QUEUED)
    send_hour: Mapped[int | None]  # the handler's hour (03 §2.5 "Время отправки")
    attempts: Mapped[int] = mapped_column(default=0)  # tries in the current cycle
    cycle: Mapped[int] = mapped_column(default=1)  # 1 + resends
    last_error: Mapped[str] = mapped_column(Text, default="")
    # When a queued row is due; while `sending`, when the claim lapses (a crashed worker).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # client panel only

    attempt_log: Mapped[list[NotificationAttempt]] = relationship(
        back_populates="notification", cascade="all, delete-orphan",
        order_by="NotificationAttempt.id")
    handler = relationship("NotificationEvent")
    template = relationship("NotificationTemplate")

    def __str__(self) -> str:
        return f"#{self.id}"

    @property
    def channel_label(self) -> str:
        return str(TEMPLATE_TYPE_LABELS[self.channel])

    @property
    def status_label(self) -> str:
        if self.channel == TemplateType.CLIENT_PANEL and self.status == NotificationStatus.SENT:
            return str(_l("read")) if self.read_at else str(_l("unread"))
        return str(NOTIFICATION_STATUS_LABELS[self.status])

    @property
    def info(self) -> str:
        """03 §2.5 Информация: "Получатель: …, Тема: …"."""
        if self.subject:
            return str(_l("Recipient: %(recipient)s, Subject: %(subject)s",
                          recipient=self.recipient, subject=self.subject))
        return str(_l("Recipient: %(recipient)s", recipient=self.recipient))

    @property
    def resendable(self) -> bool:
        return self.status in (NotificationStatus.SENT, NotificationStatus.FAILED)


class AttemptOutcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"      # failed, another try is scheduled
    FAILED = "failed"    # failed for good
    RESEND = "resend"    # a staff member started a new cycle


class NotificationAttempt(db.Model):
    """One try to deliver a notification (the log shows each: issue 6 "nothing is lost")."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    cycle: Mapped[int] = mapped_column(default=1)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    outcome: Mapped[AttemptOutcome] = mapped_column(StrEnumType(AttemptOutcome))
    error: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"))  # who asked for a resend

    notification: Mapped[Notification] = relationship(back_populates="attempt_log")


class SmsModule(enum.StrEnum):
    """09 §2.6 Модуль: the installed SMS modules."""

    SIMULATED = "simulated"
    SMSCRU = "smscru"


SMS_MODULE_LABELS = {SmsModule.SIMULATED: _l("Simulated gateway"),
                     SmsModule.SMSCRU: _l("smsc.ru")}


class SmsGateway(db.Model):
    """SMS-шлюз (09 §2.6): a reseller's connection to an SMS service through a module.

    `settings` are the module's Дополнительные настройки; for smscru: login, password, sender,
    url. Which gateway a reseller uses is `SystemSettings.sms_gateway_id` (SMS-3, A-28).
    """

    __tablename__ = "sms_gateways"
    __table_args__ = (
        CheckConstraint("module IN ('simulated', 'smscru')", name="known_module"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(255))
    module: Mapped[SmsModule] = mapped_column(StrEnumType(SmsModule))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc,
                                                 onupdate=now_utc)

    def __str__(self) -> str:
        return self.name

    @property
    def module_label(self) -> str:
        return str(SMS_MODULE_LABELS[self.module])


class NotificationPreference(db.Model):
    """A client user's switches for one category (09 §2.7, PREF-2); a missing row means the
    category's `enabled_on_client_creation` (A-02)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "category_id",
                                       name="uq_notification_preferences_user_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("notification_categories.id", ondelete="CASCADE"), index=True)
    email_enabled: Mapped[bool] = mapped_column(default=True)
    sms_enabled: Mapped[bool] = mapped_column(default=True)
    panel_enabled: Mapped[bool] = mapped_column(default=True)

    def allows(self, channel: TemplateType) -> bool:
        return {TemplateType.EMAIL: self.email_enabled, TemplateType.SMS: self.sms_enabled,
                TemplateType.CLIENT_PANEL: self.panel_enabled}[channel]
