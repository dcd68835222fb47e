"""The SMTP server a reseller's mail goes through: its own, else the nearest ancestor's."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.core import audit
from portal.core.mail import MailError, SmtpServer, send_mail
from portal.tenancy.models import Reseller
from portal.tenancy.services.errors import TenancyError
from portal.tenancy.tree import ancestors


def smtp_of(reseller: Reseller) -> SmtpServer | None:
    if not reseller.smtp_host:
        return None
    return SmtpServer(host=reseller.smtp_host, port=reseller.smtp_port or 25,
                      username=reseller.smtp_username, password=reseller.smtp_password,
                      sender=reseller.smtp_sender, security=reseller.smtp_security.value)


def effective_smtp(reseller: Reseller) -> SmtpServer | None:
    """The reseller's SMTP server, inherited from the nearest ancestor that has one."""
    for candidate in ancestors(reseller, include_self=True):
        server = smtp_of(candidate)
        if server is not None:
            return server
    return None


def send_test_email(reseller: Reseller, *, to: str, actor) -> SmtpServer:
    """Send a test message through the reseller's (possibly inherited) SMTP server."""
    server = effective_smtp(reseller)
    if server is None:
        raise TenancyError(_("No SMTP server is configured for this reseller or above it."))
    try:
        send_mail(server, to=to, subject=_("Test e-mail from %(name)s", name=reseller.name),
                  text=_("This is a test message: the SMTP settings of %(name)s work.",
                         name=reseller.name))
    except MailError as error:
        raise TenancyError(_("The SMTP server refused the message: %(error)s",
                             error=str(error))) from error
    audit.log(reseller, "tenancy.reseller.smtp_tested", actor=actor, data={"to": to})
    return server
