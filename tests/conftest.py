"""Test fixtures: one migrated database per run, each test in a rolled-back transaction."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

from portal.core.clock import FrozenClock, SystemClock, clock

TMP = Path(tempfile.mkdtemp(prefix="portal-tests-"))
os.environ.setdefault("PORTAL_INSTANCE_PATH", str(TMP / "instance"))


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres", "postgresql")) else f"sqlite:///{TMP / 'test.db'}"


def is_postgres() -> bool:
    return database_url().startswith("postgres")


def reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app():
    from flask_migrate import upgrade

    from portal import create_app

    url = database_url()
    if url.startswith("postgres"):
        reset_postgres(url)
    os.environ["DATABASE_URL"] = url
    application = create_app({"TESTING": True, "SERVER_NAME": None,
                              "PORTAL_TEST_MODE": True, "SECRET_KEY": "test-secret"})
    with application.app_context():
        upgrade()
    return application


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Cheap argon2 parameters: the suite hashes hundreds of passwords."""
    from argon2 import PasswordHasher

    from portal.accounts.services import passwords

    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


@pytest.fixture(autouse=True)
def frozen_clock():
    """Every test starts on 22.11.2026 09:00 UTC (12:00 in Moscow) unless it moves the clock."""
    frozen = FrozenClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    clock.use(frozen)
    yield frozen
    clock.use(SystemClock())


@pytest.fixture
def db(app):
    """A session bound to one connection whose transaction is rolled back after the test."""
    from portal.extensions import db as database

    with app.app_context():
        connection = database.engine.connect()
        transaction = connection.begin()
        original = database.session
        # A plain Session: Flask-SQLAlchemy's own get_bind() would pick the engine again.
        database.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id)
        _clear_queues(app)
        try:
            yield database
        finally:
            database.session.remove()
            database.session = original
            transaction.rollback()
            connection.close()


def _clear_queues(app):
    backend = app.extensions["portal_jobs"]
    if hasattr(backend, "pending"):
        while not backend.pending.empty():
            backend.pending.get_nowait()
        backend.failures.clear()
    else:
        for name in ("default", "billing", "mail", "pdf", "exports"):
            backend.queue(name).empty()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def smtp_server():
    """A real SMTP server on localhost that keeps what it receives."""
    from tests.smtp import LocalSmtpServer

    server = LocalSmtpServer()
    server.start()
    yield server
    server.stop()
