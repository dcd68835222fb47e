"""Background jobs through RQ, or an in-process worker when no Redis is configured (STYLE §9).

Jobs are module-level functions whose arguments are ids and ISO strings. They are named by
import path so that the same job runs in an RQ worker process or in this process.
"""

from __future__ import annotations

import importlib
import logging
import queue as queue_module
import threading

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db

log = logging.getLogger(__name__)

QUEUES = ("default", "billing", "mail", "pdf", "exports")


def job_path(fn) -> str:
    return f"{fn.__module__}.{fn.__name__}"


def run_job(path: str, args: tuple) -> None:
    """Execute one job inside the current app context, then drop the session."""
    module_name, fn_name = path.rsplit(".", 1)
    fn = getattr(importlib.import_module(module_name), fn_name)
    try:
        fn(*args)
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()


class InProcessBackend:
    """The embedded default: a thread in the web process runs the jobs in order."""

    def __init__(self):
        self.pending: queue_module.Queue = queue_module.Queue()
        self.thread: threading.Thread | None = None
        self.app = None
        self.failures: list[tuple[str, str]] = []

    def enqueue(self, path: str, args: tuple, queue: str) -> None:
        self.pending.put((path, args))

    def start(self, app, tick_seconds: int = 60) -> None:
        """Run queued jobs and the scheduler tick in a daemon thread."""
        self.app = app

        def loop():
            from portal.core.scheduler import tick_job  # noqa: PLC0415 - avoid a cycle

            while True:
                try:
                    path, args = self.pending.get(timeout=tick_seconds)
                except queue_module.Empty:
                    with app.app_context():
                        try:
                            tick_job()
                        except Exception:  # noqa: BLE001 - the next tick retries
                            log.exception("scheduler tick failed")
                    continue
                self._run(path, args)

        self.thread = threading.Thread(target=loop, name="portal-worker", daemon=True)
        self.thread.start()

    def _run(self, path: str, args: tuple) -> None:
        with self.app.app_context():
            try:
                run_job(path, args)
            except Exception as error:  # noqa: BLE001 - recorded; the job's own state says more
                log.exception("job %s failed", path)
                self.failures.append((path, repr(error)))

    def drain(self, app) -> int:
        """Run every pending job now, in this thread (tests, run-due-jobs)."""
        self.app = app
        count = 0
        while True:
            try:
                path, args = self.pending.get_nowait()
            except queue_module.Empty:
                return count
            self._run(path, args)
            count += 1


class RedisBackend:
    """Production: jobs go to Redis; `flask worker` (rq SimpleWorker) runs them."""

    def __init__(self, url: str):
        from redis import Redis  # noqa: PLC0415

        self.connection = Redis.from_url(url)

    def queue(self, name: str):
        from rq import Queue  # noqa: PLC0415

        return Queue(name, connection=self.connection)

    def enqueue(self, path: str, args: tuple, queue: str) -> None:
        self.queue(queue).enqueue(run_job, path, args, job_timeout=3600)

    def drain(self, app) -> int:
        from rq import SimpleWorker  # noqa: PLC0415

        queues = [self.queue(name) for name in QUEUES]
        before = sum(q.count for q in queues)
        with app.app_context():
            SimpleWorker(queues, connection=self.connection).work(burst=True, logging_level="WARNING")
        return before


def backend():
    return current_app.extensions["portal_jobs"]


def enqueue(fn, *args, queue: str = "default") -> None:
    """Queue fn(*args) now (use enqueue_after_commit inside a transaction)."""
    backend().enqueue(job_path(fn), tuple(args), queue)


def enqueue_after_commit(fn, *args, queue: str = "default") -> None:
    """Queue fn(*args) once the current transaction commits; drop it on rollback."""
    pending = db.session.info.setdefault("portal_after_commit", [])
    pending.append((job_path(fn), tuple(args), queue))
    # Jobs queued inside a savepoint go if that savepoint is rolled back.
    nested = db.session().get_nested_transaction()
    if nested is not None:
        db.session.info.setdefault("portal_after_commit_nested", []).append(
            (id(nested), pending[-1]))


def drain() -> int:
    return backend().drain(current_app._get_current_object())


def init_jobs(app) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["portal_jobs"] = RedisBackend(url) if url else InProcessBackend()


@event.listens_for(Session, "after_commit", propagate=True)
def _flush_after_commit(session):
    if session.in_nested_transaction():
        # A savepoint released: its jobs now wait for the real commit.
        savepoint = id(session.get_nested_transaction())
        session.info["portal_after_commit_nested"] = [
            t for t in session.info.get("portal_after_commit_nested", []) if t[0] != savepoint]
        return
    session.info.pop("portal_after_commit_nested", None)
    pending = session.info.pop("portal_after_commit", None)
    if pending:
        jobs_backend = current_app.extensions["portal_jobs"]
        for path, args, queue in pending:
            jobs_backend.enqueue(path, args, queue)


@event.listens_for(Session, "after_soft_rollback", propagate=True)
def _drop_after_rollback(session, previous_transaction):
    """A rollback drops the jobs it undid (fires even when no SQL had run yet)."""
    if previous_transaction.nested:
        # Only the jobs queued inside the savepoint being rolled back are dropped.
        savepoint = id(previous_transaction)
        tagged = session.info.get("portal_after_commit_nested", [])
        dropped = [entry for tag, entry in tagged if tag == savepoint]
        session.info["portal_after_commit_nested"] = [t for t in tagged if t[0] != savepoint]
        pending = session.info.get("portal_after_commit", [])
        session.info["portal_after_commit"] = [e for e in pending
                                               if not any(e is d for d in dropped)]
        return
    if previous_transaction.parent is None:
        session.info.pop("portal_after_commit_nested", None)
        session.info.pop("portal_after_commit", None)
