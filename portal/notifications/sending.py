"""Sending queued notifications: e-mail through the owning reseller's SMTP server, SMS through
its gateway, retries with backoff, the release of deferred messages, and resend (09 N-6, N-8,
§3.3, §6 J2–J4; 07 BR-27; A-48).

A send job works for one reseller: it claims a batch of due messages (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, so several workers share a backlog without waiting for each other),
commits the claim, sends the batch over one SMTP connection, records every outcome, commits,
and claims the next batch. A refused or timed-out send is retried after 1, 5, 30 and 120
minutes and then fails for good; a recipient that cannot be used fails at once and holds up
nothing. A claim lapses after `CLAIM_MINUTES`, so a worker that dies mid-batch loses nothing.
"""

from __future__ import annotations

import base64
import html
import logging
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, update

from portal.core import audit, jobs
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.mail import SmtpServer
from portal.core.scheduler import periodic_job
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.connectors import SmsError, SmtpBatch, SmtpSendError, sms_connector
from portal.notifications.delivery_models import (AttemptOutcome, Notification,
                                                  NotificationAttempt, NotificationStatus,
                                                  SmsGateway)
from portal.notifications.models import TemplateType
from portal.settings.models import SystemSettings
from portal.tenancy.models import Reseller
from portal.tenancy.services.smtp import effective_smtp
from portal.tenancy.tree import ancestors

log = logging.getLogger(__name__)

BACKOFF_MINUTES = (1, 5, 30, 120)  # after the 1st, 2nd, 3rd and 4th failed try
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
BATCH_SIZE = 100
CLAIM_MINUTES = 15
JOB_SECONDS = 120  # a send job hands the rest of a long backlog to a fresh job
PARALLEL_JOBS = 4  # at most this many send jobs are queued for one reseller's backlog
SENT_CHANNELS = (TemplateType.EMAIL, TemplateType.SMS)

EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
PHONE_RE = re.compile(r"^\+[0-9]{10,15}$")
_PHONE_NOISE = re.compile(r"[\s()\-.]")
_TAGS = re.compile(r"<[^>]+>")
_BREAKS = re.compile(r"<\s*(br|/p|/div|/tr|/h[1-6]|/li)\b[^>]*>", re.IGNORECASE)
_BLANKS = re.compile(r"[ \t]+")


class DeliveryError(DomainError):
    code = "notification_delivery_error"


# -- recipients ---------------------------------------------------------------------------------


def split_addresses(text: str | None) -> list[str]:
    """The addresses of a rendered address field: comma- or semicolon-separated."""
    return [part.strip() for part in re.split(r"[,;]", text or "") if part.strip()]


def email_problem(address: str) -> str | None:
    """Why an address cannot take e-mail, or None."""
    if len(address) > 254 or not EMAIL_RE.match(address):
        return str(_l("“%(address)s” is not an e-mail address.", address=address))
    return None


def normalise_phone(phone: str) -> str:
    return _PHONE_NOISE.sub("", phone or "")


def phone_problem(phone: str) -> str | None:
    """09 TPL-3: an SMS goes to a number in international format, + and 10–15 digits."""
    if not PHONE_RE.match(phone):
        return str(_l("“%(phone)s” is not a phone number in international format "
                      "(+ and 10 to 15 digits).", phone=phone))
    return None


# -- where a reseller's messages go -------------------------------------------------------------


def smtp_server_for(reseller: Reseller) -> SmtpServer | None:
    """07 BR-27: the reseller's SMTP server, else the nearest ancestor's, else the platform's
    default from the configuration (NOTIFICATIONS_SMTP: host, port, username, password,
    sender, security)."""
    server = effective_smtp(reseller)
    if server is None and has_app_context():
        default = current_app.config.get("NOTIFICATIONS_SMTP")
        if default and default.get("host"):
            server = SmtpServer(host=default["host"], port=int(default.get("port") or 25),
                                username=default.get("username", ""),
                                password=default.get("password", ""),
                                sender=default.get("sender", ""),
                                security=default.get("security", "none"))
    return server


def sms_gateway_for(reseller: Reseller) -> SmsGateway | None:
    """09 SMS-3, A-28: the gateway chosen in the reseller's system settings, else the nearest
    ancestor's choice; only an active gateway of that reseller or an ancestor counts."""
    chain = ancestors(reseller, include_self=True)
    chain_ids = [r.id for r in chain]
    chosen = dict(db.session.execute(
        select(SystemSettings.reseller_id, SystemSettings.sms_gateway_id)
        .where(SystemSettings.reseller_id.in_(chain_ids))).all())
    for candidate in chain:
        gateway_id = chosen.get(candidate.id)
        if gateway_id is None:
            continue
        gateway = db.session.scalar(select(SmsGateway).where(
            SmsGateway.reseller_id.in_(chain_ids), SmsGateway.id == gateway_id))
        return gateway if gateway is not None and gateway.active else None
    return None


# -- queueing -----------------------------------------------------------------------------------


def queue_sending(reseller_id: int, due: int = 1) -> None:
    """After the commit, start send jobs for a reseller's due messages: one per batch, a few
    at most, so that several workers can share a large backlog."""
    for _ in range(max(1, min(PARALLEL_JOBS, math.ceil(due / BATCH_SIZE)))):
        jobs.enqueue_after_commit(send_pending, reseller_id, queue="mail")


def due_at(send_immediately: bool, send_hour: int | None, now: datetime) -> datetime:
    """09 N-6: at once, or at the handler's hour of day in the platform time zone (A-30);
    a message made during that hour is due at once."""
    if send_immediately or send_hour is None:
        return now
    zone = clock.zone()
    local = now.astimezone(zone)
    slot = datetime(local.year, local.month, local.day, send_hour, tzinfo=zone)
    if local >= slot + timedelta(hours=1):
        tomorrow = local.date() + timedelta(days=1)
        slot = datetime(tomorrow.year, tomorrow.month, tomorrow.day, send_hour, tzinfo=zone)
    return now if slot <= now else slot


@periodic_job
def release_due_notifications() -> int:
    """09 J2: start send jobs for the resellers whose messages have come due (deferred to
    their hour, or waiting for a retry), and return lapsed claims to the queue. Idempotent:
    a send job that finds nothing left to claim does nothing."""
    now = clock.now()
    with across_tenants():
        db.session.execute(
            update(Notification)
            .where(Notification.status == NotificationStatus.SENDING,
                   Notification.next_attempt_at <= now)
            .values(status=NotificationStatus.QUEUED)
            .execution_options(synchronize_session=False))
        due = db.session.execute(
            select(Notification.reseller_id, func.count())
            .where(Notification.status == NotificationStatus.QUEUED,
                   Notification.next_attempt_at <= now,
                   Notification.channel.in_(SENT_CHANNELS))
            .group_by(Notification.reseller_id)).all()
    for reseller_id, count in due:
        queue_sending(reseller_id, count)
    return len(due)


# -- the send job -------------------------------------------------------------------------------


def claim_due(reseller_id: int, *, now: datetime, limit: int = BATCH_SIZE,
              session=None) -> list[int]:
    """Mark up to `limit` due messages of a reseller as being sent by this job; return ids.
    The caller commits the claim before it sends."""
    session = session or db.session
    due = (select(Notification.id)
           .where(Notification.reseller_id == reseller_id,
                  Notification.status == NotificationStatus.QUEUED,
                  Notification.next_attempt_at <= now,
                  Notification.channel.in_(SENT_CHANNELS))
           .order_by(Notification.id).limit(limit))
    claim = (update(Notification)
             .values(status=NotificationStatus.SENDING,
                     next_attempt_at=now + timedelta(minutes=CLAIM_MINUTES))
             .returning(Notification.id)
             .execution_options(synchronize_session=False))
    if session.get_bind().dialect.name == "postgresql":
        # Rows another worker holds are skipped, not waited for. Two statements: as a
        # subquery of the UPDATE, PostgreSQL may run the LIMIT more than once.
        ids = list(session.scalars(due.with_for_update(skip_locked=True)))
        if not ids:
            return []
        claimed = session.execute(claim.where(Notification.id.in_(ids)))
    else:
        # SQLite: one writing statement, so the transaction starts with the write lock
        # (a read first could not be upgraded once another worker has committed).
        claimed = session.execute(claim.where(Notification.id.in_(due.scalar_subquery()),
                                              Notification.status == NotificationStatus.QUEUED))
    return sorted(claimed.scalars())


@dataclass
class _Outcome:
    error: str | None = None
    permanent: bool = False


class _ConnectionLost(_Outcome):
    pass


@dataclass(frozen=True)
class _Message:
    """What sending needs of a claimed row, read once (no lazy loads while sending)."""

    id: int
    reseller_id: int
    channel: TemplateType
    recipient: str
    cc: str
    bcc: str
    sender: str
    subject: str
    body: str
    attachments: list | None
    attempts: int
    cycle: int


def _claimed_messages(reseller_id: int, ids: list[int]) -> list[_Message]:
    columns = [getattr(Notification, name) for name in _Message.__dataclass_fields__]
    rows = db.session.execute(select(*columns).where(
        Notification.reseller_id == reseller_id, Notification.id.in_(ids))
        .order_by(Notification.id))
    return [_Message(*row) for row in rows]


def send_pending(reseller_id: int) -> int:
    """Job: send a reseller's due e-mail and SMS in batches; return how many were tried."""
    reseller = db.session.get(Reseller, reseller_id)
    if reseller is None:
        return 0
    timeout = float(current_app.config.get("NOTIFICATIONS_SMTP_TIMEOUT", 20)) \
        if has_app_context() else 20.0
    server = smtp_server_for(reseller)
    default_sender = reseller.smtp_sender or (server.sender if server else "")
    sms = _SmsSender(reseller)
    started = time.monotonic()
    tried = 0
    with SmtpBatch(server, timeout=timeout) as smtp:
        while True:
            ids = claim_due(reseller_id, now=clock.now())
            db.session.commit()
            if not ids:
                break
            messages = _claimed_messages(reseller_id, ids)
            db.session.commit()  # no transaction stays open while the batch is sent
            connection_error: str | None = None
            outcomes: list[tuple[_Message, _Outcome]] = []
            for message in messages:
                if connection_error is not None and message.channel == TemplateType.EMAIL:
                    # The server is unreachable: every e-mail of the batch waits for a retry.
                    outcomes.append((message, _Outcome(connection_error)))
                    continue
                outcome = (_send_email(smtp, message, default_sender)
                           if message.channel == TemplateType.EMAIL else sms.send(message))
                if isinstance(outcome, _ConnectionLost):
                    connection_error = outcome.error
                outcomes.append((message, outcome))
            db.session.commit()  # the gateway lookup may have read: start the record afresh
            _record(outcomes, clock.now())
            db.session.commit()
            tried += len(messages)
            if connection_error is not None:
                break  # the release job brings the rest back once the retry is due
            if time.monotonic() - started > JOB_SECONDS:
                # Hand the rest to a fresh job (nothing is pending in this transaction).
                jobs.enqueue(send_pending, reseller_id, queue="mail")
                break
    return tried


def _send_email(smtp: SmtpBatch, message: _Message, default_sender: str) -> _Outcome:
    problem = email_problem(message.recipient)
    if problem:
        return _Outcome(problem, permanent=True)
    sender = message.sender or default_sender or "no-reply@localhost"
    recipients = [message.recipient, *split_addresses(message.cc),
                  *split_addresses(message.bcc)]
    try:
        mime = build_email(message, sender=sender)
    except (OSError, ValueError, TypeError) as error:
        return _Outcome(str(_l("The message could not be built: %(error)s", error=str(error))),
                        permanent=True)
    try:
        smtp.send(mime, sender=sender, recipients=recipients)
    except SmtpSendError as error:
        if error.connection:
            return _ConnectionLost(str(error))
        return _Outcome(str(error))
    return _Outcome()


class _SmsSender:
    """Sends SMS through the reseller's gateway, resolved once per job."""

    def __init__(self, reseller: Reseller):
        self.reseller = reseller
        self._resolved = False
        self.connector = None

    def send(self, message: _Message) -> _Outcome:
        phone = normalise_phone(message.recipient)
        problem = phone_problem(phone)
        if problem:
            return _Outcome(problem, permanent=True)
        if not self._resolved:
            gateway = sms_gateway_for(self.reseller)
            self.connector = sms_connector(gateway) if gateway is not None else None
            self._resolved = True
        if self.connector is None:
            # no gateway to send through; the log says so.
            return _Outcome(str(_l("No SMS gateway is selected for this reseller or above "
                                   "it.")), permanent=True)
        try:
            self.connector.send(phone, message.body)
        except SmsError as error:
            return _Outcome(str(error), permanent=error.permanent)
        return _Outcome()


def _record(outcomes: list[tuple[_Message, _Outcome]], now: datetime) -> None:
    """Write each try's outcome: sent, retried after the backoff, or failed for good.
    Updates by primary key in one executemany, the attempts in one insert."""
    changes, attempts = [], []
    for message, outcome in outcomes:
        tries = message.attempts + 1
        change = {"id": message.id, "attempts": tries, "status": NotificationStatus.QUEUED,
                  "next_attempt_at": None, "sent_at": None, "last_error": outcome.error or ""}
        if outcome.error is None:
            change.update(status=NotificationStatus.SENT, sent_at=now)
            result = AttemptOutcome.SENT
        elif outcome.permanent or tries >= MAX_ATTEMPTS:
            change.update(status=NotificationStatus.FAILED)
            result = AttemptOutcome.FAILED
        else:
            change.update(next_attempt_at=now + timedelta(minutes=BACKOFF_MINUTES[tries - 1]))
            result = AttemptOutcome.RETRY
        changes.append(change)
        attempts.append({"reseller_id": message.reseller_id, "notification_id": message.id,
                         "cycle": message.cycle, "attempted_at": now, "outcome": result,
                         "error": outcome.error or "", "actor_id": None})
    if changes:
        db.session.execute(update(Notification), changes)
        db.session.execute(insert(NotificationAttempt), attempts)


# -- the message --------------------------------------------------------------------------------


def html_to_text(body: str) -> str:
    """A plain-text alternative of an HTML body."""
    text = _BREAKS.sub("\n", body)
    text = html.unescape(_TAGS.sub("", text))
    lines = (_BLANKS.sub(" ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _address_header(value: str) -> str:
    """An address header, its display names encoded when they are not ASCII."""
    return ", ".join(formataddr(parseaddr(part), charset="utf-8")
                     for part in split_addresses(value))


def build_email(row, *, sender: str) -> Message:
    """The MIME message of an e-mail notification: text and HTML bodies, attachments.

    The compat32 MIME classes: the modern EmailMessage API parses and refolds every header
    and costs more than the SMTP conversation itself (issue 6: ≥150 messages/s).
    """
    # A boundary of our own spares the generator a regex compiled per message to find one;
    # "=_" never occurs in the base64 parts.
    body = MIMEMultipart("alternative", boundary=f"=_{uuid.uuid4().hex}")
    body.attach(MIMEText(html_to_text(row.body), "plain", "utf-8"))
    body.attach(MIMEText(row.body, "html", "utf-8"))
    message = body
    if row.attachments:
        message = MIMEMultipart("mixed", boundary=f"=_{uuid.uuid4().hex}")
        message.attach(body)
        for attachment in row.attachments:
            maintype, _, subtype = (attachment.get("content_type")
                                    or "application/octet-stream").partition("/")
            if attachment.get("data") is not None:
                data = base64.b64decode(attachment["data"])
            else:
                data = Path(attachment["path"]).read_bytes()
            part = MIMEBase(maintype, subtype or "octet-stream")
            part.set_payload(data)
            encode_base64(part)
            part.add_header("Content-Disposition", "attachment",
                            filename=attachment.get("name") or "attachment")
            message.attach(part)
    message["From"] = _address_header(sender)
    message["To"] = _address_header(row.recipient)
    if row.cc:
        message["Cc"] = _address_header(row.cc)
    subject = " ".join(row.subject.split())
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Date"] = format_datetime(clock.now())
    # An explicit domain: make_msgid would otherwise look up this host's name every time.
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "localhost")
    return message


# -- resend -------------------------------------------------------------------------------------


def resend_notification(notification: Notification, *, actor=None) -> Notification:
    """Send a sent or failed notification again as a new attempt cycle (issue 6 item 5);
    the attempts of earlier cycles stay in the log. Flushes; the caller commits."""
    if not notification.resendable:
        raise DeliveryError(_l("Only a sent or failed notification can be sent again."))
    now = clock.now()
    notification.cycle += 1
    notification.attempts = 0
    notification.last_error = ""
    db.session.add(NotificationAttempt(
        reseller_id=notification.reseller_id, notification_id=notification.id,
        cycle=notification.cycle, attempted_at=now, outcome=AttemptOutcome.RESEND,
        actor_id=getattr(getattr(actor, "member", actor), "id", None)))
    if notification.channel == TemplateType.CLIENT_PANEL:
        # Shown again in the client panel as unread.
        notification.status = NotificationStatus.SENT
        notification.sent_at = now
        notification.read_at = None
    else:
        notification.status = NotificationStatus.QUEUED
        notification.sent_at = None
        notification.next_attempt_at = now
        queue_sending(notification.reseller_id)
    db.session.flush()
    audit.log(notification, "notifications.notification.resent", actor=actor,
              data={"cycle": notification.cycle})
    return notification
