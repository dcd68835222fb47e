"""Two send workers share one reseller's backlog without waiting for each other: a claim takes
due rows `FOR UPDATE SKIP LOCKED`, so the second worker gets the next rows at once instead of
blocking on the first worker's uncommitted claim (issue 6 performance).

PostgreSQL only. The two sessions need committed rows, so the test commits its own reseller
and messages through a separate engine and deletes them at the end.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from portal.notifications.delivery_models import Notification, NotificationStatus
from portal.notifications.models import TemplateType
from portal.notifications.sending import claim_due
from portal.tenancy.models import Reseller
from tests.conftest import database_url, is_postgres

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")]

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(app):
    engine = create_engine(make_url(database_url()).set(drivername="postgresql+psycopg"))
    yield engine
    engine.dispose()


@pytest.fixture
def backlog(engine):
    with Session(engine) as session:
        reseller = Reseller(name="Queue test", slug=f"queue-{uuid.uuid4().hex[:12]}")
        session.add(reseller)
        session.flush()
        session.add_all(Notification(
            reseller_id=reseller.id, event_type="account_changed", channel=TemplateType.EMAIL,
            recipient=f"user{n}@example.com", status=NotificationStatus.QUEUED,
            next_attempt_at=NOW, created_at=NOW) for n in range(6))
        session.commit()
        reseller_id = reseller.id
    yield reseller_id
    with Session(engine) as session:
        session.execute(delete(Notification).where(Notification.reseller_id == reseller_id))
        session.execute(delete(Reseller).where(Reseller.id == reseller_id))
        session.commit()


def test_a_second_worker_skips_the_rows_the_first_has_claimed(engine, backlog):
    with Session(engine) as first, Session(engine) as second:
        mine = claim_due(backlog, now=NOW, limit=3, session=first)  # not committed yet
        second.execute(text("SET lock_timeout = '3s'"))
        started = time.monotonic()
        theirs = claim_due(backlog, now=NOW, limit=3, session=second)
        assert time.monotonic() - started < 1.0  # it did not wait for the first claim
        assert len(mine) == len(theirs) == 3 and not set(mine) & set(theirs)
        first.commit()
        second.commit()
        # Everything is claimed: a third look finds nothing.
        assert claim_due(backlog, now=NOW, limit=3, session=second) == []
        second.rollback()
