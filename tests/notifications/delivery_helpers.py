"""Shared pieces of the delivery tests: a local SMTP server that can refuse or go away, and
small builders of categories, templates and handlers."""

from __future__ import annotations

import email
import itertools
import time
from email import policy

from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from portal.extensions import db
from portal.notifications.delivery_models import Notification
from portal.notifications.models import HandlerStatus, NotificationEvent
from portal.notifications.services import create_category, create_handler, create_template
from tests.smtp import free_port


_seq = itertools.count(1)


class _Handler:
    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.sessions = 0
        self.refuse: str | None = None          # answer every RCPT with this
        self.refuse_for: set[str] = set()       # answer 550 to these recipients only
        self.refuse_data: str | None = None     # answer every DATA with this

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse:
            return self.refuse
        if address in self.refuse_for:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refuse_data:
            return self.refuse_data
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class MailServer:
    """aiosmtpd on a free local port; `stop()` makes it unreachable, `start()` brings it back
    on the same port."""

    def __init__(self):
        self.handler = _Handler()
        self.port = free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.handler.messages

    def to(self, address: str):
        """The messages whose envelope includes address."""
        return [m for _sender, rcpts, m in self.messages if address in rcpts]

    def wait_for(self, count: int, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def use_smtp(reseller, server: MailServer, *, sender: str = "noreply@operator.example"):
    reseller.smtp_host = "127.0.0.1"
    reseller.smtp_port = server.port
    reseller.smtp_sender = sender
    db.session.flush()


def quiet(reseller):
    """Switch off every handler of the reseller (the installed set), so only the test's own
    handlers run."""
    db.session.execute(update(NotificationEvent).where(NotificationEvent.reseller_id == reseller.id)
                       .values(status=HandlerStatus.INACTIVE))
    db.session.flush()


def make_channel(reseller, *, type="email", event_type="account_changed", rule="",
                 category=None, published=True, enabled=True, recipient="{{ owner.email }}",
                 user_id="", sender="robot@example.com", cc="", bcc="",
                 subject_ru="Клиент {{ account.name }}", subject_en="Client {{ account.name }}",
                 body_ru="<p>Привет, {{ owner.first_name }}</p>",
                 body_en="<p>Hello, {{ owner.first_name }}</p>", send_hour=None, **kw):
    """A category, a template and an active handler at the reseller (and copies below)."""
    category = category or create_category(
        reseller, name=kw.pop("category_name", f"Test category {next(_seq)}"),
        published=published, enabled_on_client_creation=enabled)
    contents = {"ru": {"subject": subject_ru, "body": body_ru}}
    if body_en is not None:
        contents["en"] = {"subject": subject_en, "body": body_en}
    template = create_template(
        reseller, type=type, name=kw.pop("name", f"Test {type}"), category_id=category.id,
        sender=sender if type == "email" else "", recipient=recipient if type != "client_panel"
        else "", cc=cc, bcc=bcc, user_id=user_id, contents=contents,
        allow_unknown_placeholders=True)
    handler = create_handler(reseller, event_type=event_type, template_type=type,
                             template_id=template.id, rule=rule,
                             send_immediately=send_hour is None, send_hour=send_hour)
    return category, template, handler


def log_of(reseller, **criteria) -> list[Notification]:
    query = select(Notification).where(Notification.reseller_id == reseller.id)
    for name, value in criteria.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.session.scalars(query.order_by(Notification.id)))
