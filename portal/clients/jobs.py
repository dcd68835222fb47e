"""Mail jobs of the clients area (until the notifications issue makes them templated events)."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.clients.models import UserToken
from portal.core.mail import send_mail
from portal.extensions import db
from portal.tenancy.services.smtp import effective_smtp


def send_user_link_mail_job(token_id: int, link: str, client_name: str = "") -> None:
    """Send an invitation or reset link through the reseller's (inherited) SMTP server."""
    token = db.session.get(UserToken, token_id)
    if token is None or token.used_at is not None:
        return
    user = token.user
    from portal.tenancy.models import Reseller  # noqa: PLC0415

    reseller = db.session.get(Reseller, user.reseller_id)
    server = effective_smtp(reseller)
    if server is None:
        raise RuntimeError(f"no SMTP server for reseller {reseller.id}")
    panel = reseller.client_panel_title or reseller.name
    with force_locale(user.language or reseller.default_language):
        if token.purpose == "invitation":
            subject = _("Welcome to %(panel)s", panel=panel)
            text = _("Hello, %(user)s!\n\nYou are the owner of the client %(client)s in %(panel)s."
                     "\nYour login is %(email)s. To set your password, open this link:\n%(link)s"
                     "\n\nThe link works once within 7 days.", user=user.full_name or user.email,
                     client=client_name, panel=panel, email=user.email, link=link)
        else:
            subject = _("Password recovery — %(name)s", name=panel)
            text = _("Hello, %(member)s!\n\nTo set a new password for %(panel)s, open this link:\n"
                     "%(link)s\n\nThe link works once. If you did not ask for it, ignore this "
                     "letter.", member=user.full_name or user.email, panel=panel, link=link)
    send_mail(server, to=user.email, subject=subject, text=text)
