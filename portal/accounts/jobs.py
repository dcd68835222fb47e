"""Mail jobs of the accounts area."""

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.accounts.models import PasswordResetToken
from portal.core.mail import send_mail
from portal.core.scheduler import daily_job
from portal.extensions import db
from portal.tenancy.services.smtp import effective_smtp


def send_password_reset_mail_job(token_id: int, link: str) -> None:
    """Send the reset link through the reseller's SMTP server."""
    token = db.session.get(PasswordResetToken, token_id)
    if token is None or token.used_at is not None:
        return
    member = token.staff_member
    reseller = member.reseller
    server = effective_smtp(reseller)
    if server is None:
        raise RuntimeError(f"no SMTP server for reseller {reseller.id}")
    with force_locale(member.language or reseller.default_language):
        subject = _("Password recovery — %(name)s", name=reseller.name)
        text = _("Hello, %(member)s!\n\nTo set a new password for %(panel)s, open this link:\n"
                 "%(link)s\n\nThe link works once. If you did not ask for it, ignore this letter.",
                 member=member.name, panel=reseller.name, link=link)
    send_mail(server, to=member.email, subject=subject, text=text)


@daily_job("accounts.housekeeping")
def housekeeping(on) -> None:
    """Drop reset links and API replay records that can no longer be used; end idle sessions."""
    from datetime import timedelta  # noqa: PLC0415

    from sqlalchemy import delete, update  # noqa: PLC0415

    from portal.accounts.models import StaffSession  # noqa: PLC0415
    from portal.core.clock import clock  # noqa: PLC0415
    from portal.core.models import IdempotentRequest  # noqa: PLC0415

    now = clock.now()
    db.session.execute(delete(PasswordResetToken).where(PasswordResetToken.expires_at < now))
    db.session.execute(delete(IdempotentRequest).where(
        IdempotentRequest.created_at < now - timedelta(hours=24)))
    db.session.execute(update(StaffSession).where(
        StaffSession.ended_at.is_(None), StaffSession.last_seen_at < now - timedelta(days=30))
        .values(ended_at=now))
