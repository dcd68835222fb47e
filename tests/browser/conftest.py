"""A live server for browser tests: its own freshly migrated database with committed demo data
(the rolled-back `db` fixture cannot serve another thread), served on 127.0.0.1."""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.core.clock import FrozenClock, clock
from tests.conftest import database_url

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_SUFFIX = "_browser"  # DATABASE_URL …/test → the browser's own database test_browser
EXTRA_STAFF = 60  # with the demo's five, the root's staff list has two pages


@dataclass
class LiveServer:
    app: object
    port: int

    def url(self, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}"


def _postgres_admin_engine(url: str):
    maintenance = make_url(url).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(maintenance, isolation_level="AUTOCOMMIT")


def _recreate_postgres(url: str, name: str) -> None:
    engine = _postgres_admin_engine(url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def _drop_postgres(url: str, name: str) -> None:
    engine = _postgres_admin_engine(url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _create_browser_app(url: str):
    """create_app() reads DATABASE_URL and installs the clock's zone loader: neither may leak
    into the main `app` fixture, whichever of the two is built first."""
    from portal import create_app

    saved_url = os.environ.get("DATABASE_URL")
    saved_zone_loader = clock._zone_loader
    os.environ["DATABASE_URL"] = url
    try:
        return create_app({"TESTING": True, "SERVER_NAME": None, "SECRET_KEY": "browser-secret"})
    finally:
        if saved_url is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved_url
        clock.set_zone_loader(saved_zone_loader)


def _load_data() -> None:
    from portal.accounts.models import Role
    from portal.accounts.services import create_staff_member
    from portal.demo import PASSWORD, load_demo
    from portal.extensions import db
    from portal.tenancy.models import Reseller

    load_demo()
    root = db.session.scalar(db.select(Reseller).where(Reseller.is_root))
    for n in range(EXTRA_STAFF):
        create_staff_member(root, email=f"browser{n:02d}@root.example.com",
                            name=f"Browser Staff {n:02d}", role=Role.SALES_MANAGER,
                            password=PASSWORD)
    db.session.commit()


@pytest.fixture(scope="session")
def live_server():
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from portal.extensions import db

    main_url = database_url()
    postgres = main_url.startswith("postgres")
    workdir = Path(tempfile.mkdtemp(prefix="portal-browser-"))
    browser_database = f"{make_url(main_url).database}{BROWSER_SUFFIX}" if postgres else ""
    if postgres:
        url = make_url(main_url).set(database=browser_database).render_as_string(
            hide_password=False)
        _recreate_postgres(main_url, browser_database)
    else:
        url = f"sqlite:///{workdir / 'browser.db'}"

    application = _create_browser_app(url)
    # The data is written on the same frozen day the tests run on (tests/conftest.py).
    previous_clock = clock.source
    clock.use(FrozenClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC)))
    try:
        with application.app_context():
            upgrade()
            _load_data()
            db.session.remove()
    finally:
        clock.use(previous_clock)

    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-live-server",
                              daemon=True)
    thread.start()
    try:
        yield LiveServer(application, server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        if postgres:
            _drop_postgres(main_url, browser_database)
