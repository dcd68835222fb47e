"""One SMTP connection for a batch of messages (issue 6: 10,000 mails must not reconnect
10,000 times). The connection opens at the first message, is reused for the rest, and is
reopened once when the server drops it between messages."""

from __future__ import annotations

import smtplib
import ssl
from email.message import Message

from portal.core.mail import SmtpServer


class SmtpSendError(Exception):
    """A message the server did not take. `connection`: the server cannot be reached or
    dropped us (the rest of the batch cannot go either); otherwise it refused this message."""

    def __init__(self, message: str, *, connection: bool):
        super().__init__(message)
        self.connection = connection


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()), (None, b""))
        return f"{code} {_text(text)}".strip() or "recipient refused"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}".strip()
    return str(error) or type(error).__name__


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SmtpBatch:
    """Send messages through one server over one connection; use as a context manager."""

    def __init__(self, server: SmtpServer | None, *, timeout: float = 20.0):
        self.server = server
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None
        self.connections = 0  # how many times it connected (the benchmark and tests read it)

    def __enter__(self) -> SmtpBatch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server is None or not server.host:
            raise SmtpSendError("no SMTP server is configured for this reseller or above it",
                                connection=True)
        try:
            if server.security == "ssl":
                smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
            try:
                if server.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if server.username:
                    smtp.login(server.username, server.password)
            except BaseException:
                smtp.close()
                raise
        except (OSError, smtplib.SMTPException) as error:
            raise SmtpSendError(f"cannot connect to {server.host}:{server.port}: "
                                f"{_describe(error)}", connection=True) from error
        self.connections += 1
        return smtp

    def send(self, message: Message, *, sender: str, recipients: list[str]) -> None:
        """Hand one message to the server; raise SmtpSendError if it is not taken."""
        for attempt in (1, 2):
            if self.smtp is None:
                self.smtp = self._connect()
            try:
                refused = self.smtp.send_message(message, from_addr=sender,
                                                 to_addrs=recipients)
            except smtplib.SMTPServerDisconnected as error:
                # The server closed an idle or used-up connection: reconnect once.
                self.smtp.close()
                self.smtp = None
                if attempt == 2:
                    raise SmtpSendError(f"the server closed the connection: "
                                        f"{_describe(error)}", connection=True) from error
                continue
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError) as error:
                raise SmtpSendError(_describe(error), connection=False) from error
            except (OSError, smtplib.SMTPException) as error:
                # A timeout or a broken conversation: this connection is no longer usable.
                self.close()
                raise SmtpSendError(_describe(error), connection=True) from error
            if recipients and recipients[0] in refused:
                code, text = refused[recipients[0]]
                raise SmtpSendError(f"{code} {_text(text)}".strip(), connection=False)
            return
