"""Sending e-mail through an SMTP server (a reseller's own, or inherited: 07 BR-26/27)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str = ""
    password: str = ""
    sender: str = ""
    security: str = "none"  # none | starttls | ssl


class MailError(Exception):
    pass


def send_mail(server: SmtpServer, *, to: str, subject: str, text: str,
              html: str | None = None, attachments: list[tuple[str, str, bytes]] = ()) -> None:
    """Deliver one message; raise MailError with the server's complaint."""
    message = EmailMessage()
    message["From"] = server.sender or "no-reply@localhost"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid()
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    try:
        if server.security == "ssl":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=20,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=20)
        with smtp:
            if server.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if server.username:
                smtp.login(server.username, server.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(str(error) or type(error).__name__) from error
