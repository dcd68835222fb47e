"""Commands: init-root, demo, worker, tick."""

from __future__ import annotations

import click
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal.extensions import db


def ensure_root(*, name: str, email: str, password: str, currency: str = "RUB",
                domain: str = "localhost"):
    """Create the root operator and its first administrator once; return (root, member, token).

    Running it again with the same e-mail only issues that member a fresh API token and
    revokes the old ones.
    """
    from portal.accounts.models import ApiToken, Role, StaffMember  # noqa: PLC0415
    from portal.accounts.services import create_api_token, create_staff_member  # noqa: PLC0415
    from portal.core.clock import clock  # noqa: PLC0415
    from portal.settings.models import SecuritySettings, SystemSettings  # noqa: PLC0415
    from portal.tenancy.models import DomainKind, Reseller, ResellerDomain  # noqa: PLC0415
    from portal.tenancy.services.resellers import unique_slug  # noqa: PLC0415

    root = db.session.scalar(select(Reseller).where(Reseller.is_root))
    member = db.session.scalar(select(StaffMember).where(
        func.lower(StaffMember.email) == email.lower()))
    if root is None:
        root = Reseller(name=name, slug=unique_slug("root"), is_root=True, currency=currency,
                        default_language="ru", created_at=clock.now(), updated_at=clock.now())
        db.session.add(root)
        db.session.flush()
        if domain:
            db.session.add(ResellerDomain(reseller_id=root.id, domain=domain,
                                          kind=DomainKind.PANEL, created_at=clock.now()))
        db.session.add(SystemSettings(reseller_id=root.id))
        db.session.add(SecuritySettings(reseller_id=root.id))
        db.session.flush()
    from portal.clients.services.setup import install_client_defaults  # noqa: PLC0415

    install_client_defaults(root)  # the standard client types with INN and the standard rule
    from portal.notifications.defaults import install_default_notifications  # noqa: PLC0415

    install_default_notifications(root)  # 09: the installed categories, templates, handlers
    if member is None:
        member = create_staff_member(root, email=email, name=name, role=Role.SYSTEM_ADMIN,
                                     password=password)
    else:
        for token in db.session.scalars(select(ApiToken).where(
                ApiToken.staff_member_id == member.id, ApiToken.revoked_at.is_(None))):
            token.revoked_at = clock.now()
    _token, raw = create_api_token(member, name="init-root")
    db.session.commit()
    return root, member, raw


def register_cli(app) -> None:
    @app.cli.command("init-root")
    @click.option("--name", required=True)
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--currency", default="RUB")
    @click.option("--domain", default="localhost", help="The root panel's host name.")
    def init_root(name, email, password, currency, domain):
        """Apply migrations, create the root operator and print its administrator's API token."""
        from portal.core.errors import DomainError  # noqa: PLC0415

        upgrade()
        try:
            root, member, token = ensure_root(name=name, email=email, password=password,
                                              currency=currency, domain=domain)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
        click.echo(f"Root operator: {root.name} (id {root.id}); administrator: {member.email}")
        click.echo(token)

    @app.cli.command("demo")
    @click.option("--reset", is_flag=True, help="Delete the database file first (SQLite only).")
    def demo(reset):
        """Apply migrations and load demo data: a root, two levels of resellers, staff."""
        from portal.demo import load_demo  # noqa: PLC0415

        if reset and db.engine.url.get_backend_name() == "sqlite":
            db.engine.dispose()
            path = db.engine.url.database
            import os  # noqa: PLC0415

            if path and os.path.exists(path):
                os.remove(path)
        upgrade()
        for line in load_demo():
            click.echo(line)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    def worker(burst):
        """Run an RQ worker (SimpleWorker, no fork) for every queue, inside the app."""
        from rq import SimpleWorker  # noqa: PLC0415

        from portal.core.jobs import QUEUES, RedisBackend  # noqa: PLC0415

        backend = current_app.extensions["portal_jobs"]
        if not isinstance(backend, RedisBackend):
            raise click.ClickException("REDIS_URL is not set; the web process runs jobs itself.")
        SimpleWorker([backend.queue(q) for q in QUEUES], connection=backend.connection).work(
            burst=burst)

    @app.cli.command("tick")
    def tick():
        """Run the daily jobs due up to today, catching up missed days in order."""
        from portal.core.scheduler import run_due_days  # noqa: PLC0415

        for name, day in run_due_days():
            click.echo(f"{day} {name}")
