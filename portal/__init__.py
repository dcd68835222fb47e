"""The portal application: create_app() binds extensions and one explicit list of blueprints."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, g, request, session
from sqlalchemy import event

from portal.config import load_config
from portal.extensions import babel, csrf, db, htmx, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    """The member's language, else the one chosen in this browser, else the panel's default."""
    from flask import has_request_context  # noqa: PLC0415
    from flask_login import current_user  # noqa: PLC0415

    if not has_request_context():
        return "ru"
    chosen = session.get("lang")
    if chosen in ("ru", "en"):
        return chosen
    user = getattr(g, "user", None)  # a client-panel user
    if user is not None and getattr(user, "language", None) in ("ru", "en"):
        return user.language
    member = getattr(current_user, "member", None)
    if member is not None and member.language in ("ru", "en"):
        return member.language
    reseller = getattr(g, "reseller", None)
    if reseller is not None and reseller.default_language in ("ru", "en"):
        return reseller.default_language
    return request.accept_languages.best_match(["ru", "en"]) or "ru"


def select_timezone() -> str:
    from portal.core.clock import clock  # noqa: PLC0415

    return str(clock.zone())


def _sqlite_pragmas(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy emit BEGIN itself so SAVEPOINTs and transactional DDL work.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL needs no fsync per commit: a crash of the process loses nothing, a power
            # cut at most the last commits (SQLite's recommended pairing with WAL).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLite's own lower() knows only ASCII; searches must fold Cyrillic too.
            dbapi_connection.create_function(
                "lower", 1, lambda value: value.lower() if isinstance(value, str) else value,
                deterministic=True)

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            connection.exec_driver_sql("BEGIN")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"),
                instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or str(ROOT / "instance"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    htmx.init_app(app)
    _sqlite_pragmas(app)

    from portal import models  # noqa: F401, PLC0415 - register every table
    from portal.accounts import jobs as _accounts_jobs  # noqa: F401, PLC0415 - daily jobs
    from portal.catalog import services as _catalog  # noqa: F401, PLC0415 - inheritance steps
    from portal.clients import services as _clients  # noqa: F401, PLC0415 - inheritance steps
    from portal.notifications import services as _notes  # noqa: F401, PLC0415 - inheritance steps
    from portal.notifications import sending as _sending  # noqa: F401, PLC0415 - release job
    from portal.orders import jobs as _orders_jobs  # noqa: F401, PLC0415 - task sweeper
    from portal.orders.services import nightly as _nightly  # noqa: F401, PLC0415 - daily job
    from portal.orders.services import daily_notices as _notices  # noqa: F401, PLC0415 - after it
    from portal.subscriptions.services import blocks as _blocks  # noqa: F401, PLC0415 - hooks
    from portal.core import formatting, jobs  # noqa: PLC0415
    from portal.core.clock import clock  # noqa: PLC0415
    from portal.core.errors_views import register_error_handlers  # noqa: PLC0415
    from portal.tenancy.host import resolve_tenant  # noqa: PLC0415

    jobs.init_jobs(app)
    if app.config.get("TENANT_GUARD", app.config.get("TESTING")):
        from portal.core.tenant_guard import install_tenant_guard  # noqa: PLC0415

        install_tenant_guard()
    formatting.init_app(app)
    register_error_handlers(app)
    app.before_request(resolve_tenant)
    _configure_clock(app, clock)

    from portal.accounts.views import bp as accounts_bp  # noqa: PLC0415
    from portal.api import bp as api_bp  # noqa: PLC0415
    from portal.billing.views import bp as billing_bp  # noqa: PLC0415
    from portal.billing.views_charges import bp as charges_bp  # noqa: PLC0415
    from portal.catalog.views import bp as catalog_bp  # noqa: PLC0415
    from portal.client_panel.views import bp as client_panel_bp  # noqa: PLC0415
    from portal.clients.views import bp as clients_bp  # noqa: PLC0415
    from portal.core.views import bp as core_bp  # noqa: PLC0415
    from portal.notifications.views import bp as notifications_bp  # noqa: PLC0415
    from portal.operator.views import bp as operator_bp  # noqa: PLC0415
    from portal.orders.views.orders import bp as orders_bp  # noqa: PLC0415
    from portal.orders.views.payments import bp as payments_bp  # noqa: PLC0415
    from portal.orders.views.provisioning import bp as provisioning_bp  # noqa: PLC0415
    from portal.settings.views import bp as settings_bp  # noqa: PLC0415
    from portal.subscriptions.views import bp as subscriptions_bp  # noqa: PLC0415
    from portal.tenancy.views import bp as tenancy_bp  # noqa: PLC0415

    for blueprint in (core_bp, accounts_bp, operator_bp, tenancy_bp, settings_bp, clients_bp,
                      catalog_bp, billing_bp, charges_bp, subscriptions_bp, client_panel_bp,
                      orders_bp, payments_bp, provisioning_bp, notifications_bp, api_bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)

    from portal.cli import register_cli  # noqa: PLC0415

    register_cli(app)

    if (not app.config.get("TESTING") and not app.config.get("REDIS_URL")
            and app.config.get("PORTAL_EMBEDDED_WORKER") and os.environ.get("PORTAL_WORKER_THREAD") == "1"):
        app.extensions["portal_jobs"].start(app)
    return app


def _configure_clock(app: Flask, clock) -> None:
    from portal.core.models import TestClockState  # noqa: PLC0415
    from portal.settings.models import SystemSettings  # noqa: PLC0415
    from portal.tenancy.models import Reseller  # noqa: PLC0415

    def load_zone():
        with app.app_context():
            return db.session.scalar(
                db.select(SystemSettings.time_zone).join(
                    Reseller, Reseller.id == SystemSettings.reseller_id).where(Reseller.is_root))

    clock.set_zone_loader(load_zone)
    if app.config["PORTAL_TEST_MODE"] and not app.config.get("TESTING"):
        from portal.core.clock import StoredClock  # noqa: PLC0415

        def load_now():
            with app.app_context():
                return db.session.scalar(db.select(TestClockState.now).where(TestClockState.id == 1))

        clock.use(StoredClock(load_now))
