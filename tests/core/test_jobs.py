"""Jobs queued in a transaction run only after the real commit (STYLE §9), savepoints too."""

from portal.core import jobs
from portal.extensions import db as database

RAN: list[str] = []


def record_job(name: str) -> None:
    RAN.append(name)


def test_jobs_wait_for_the_commit_and_a_rolled_back_savepoint_drops_only_its_own(db):
    RAN.clear()
    jobs.enqueue_after_commit(record_job, "before")
    with database.session.begin_nested():
        jobs.enqueue_after_commit(record_job, "kept savepoint")
    assert jobs.drain() == 0  # a released savepoint is not the commit
    savepoint = database.session.begin_nested()
    jobs.enqueue_after_commit(record_job, "refused row")
    savepoint.rollback()
    database.session.commit()
    jobs.drain()
    assert RAN == ["before", "kept savepoint"]


def test_a_rollback_drops_the_queued_jobs(db):
    from sqlalchemy import text

    RAN.clear()
    database.session.execute(text("SELECT 1"))
    jobs.enqueue_after_commit(record_job, "never")
    database.session.rollback()
    database.session.commit()
    jobs.drain()
    assert RAN == []
