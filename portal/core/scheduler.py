"""Daily jobs: each day runs once, missed days are caught up in order (DECISIONS D6)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.core.clock import clock
from portal.core.models import ScheduledDay
from portal.extensions import db

log = logging.getLogger(__name__)

# name -> fn(on: date); registration order is the order jobs run within a day.
DAILY_JOBS: dict[str, Callable[[date], object]] = {}
# fn() -> int (how much it did); run on every tick after the days are caught up, e.g. the
# provisioning retries whose backoff has run out.
PERIODIC_JOBS: list[Callable[[], int]] = []


def periodic_job(fn):
    """Register fn() to run on every scheduler tick."""
    PERIODIC_JOBS.append(fn)
    return fn


def run_periodic_jobs() -> int:
    done = 0
    for fn in PERIODIC_JOBS:
        done += fn() or 0
        db.session.commit()
    return done


def daily_job(name: str):
    """Register fn(on) to run once for every platform day."""

    def register(fn):
        DAILY_JOBS[name] = fn
        return fn

    return register


def run_due_days(up_to: date | None = None) -> list[tuple[str, str]]:
    """Run every daily job for each day not yet run, up to (and including) up_to.

    A job that has never run starts on up_to. Each (job, day) commits on its own, so a crash
    leaves the finished days done and the next call resumes with the first missing one.
    """
    up_to = up_to or clock.today()
    done: list[tuple[str, str]] = []
    last_runs = dict(db.session.execute(
        select(ScheduledDay.job_name, func.max(ScheduledDay.run_on))
        .group_by(ScheduledDay.job_name)).all())
    # A job that never ran starts on up_to, or on the day its `first_day()` names.
    starts = {}
    for name, fn in DAILY_JOBS.items():
        if name not in last_runs and getattr(fn, "first_day", None) is not None:
            hinted = fn.first_day()
            if hinted is not None and hinted < up_to:
                starts[name] = hinted
    first_day = min([last + timedelta(days=1) for last in last_runs.values()]
                    + list(starts.values()), default=up_to)
    first_day = min(first_day, up_to)
    day = first_day
    while day <= up_to:
        for name, fn in DAILY_JOBS.items():
            last = last_runs.get(name)
            if last is not None and day <= last:
                continue
            if last is None and day < starts.get(name, up_to):
                continue
            try:
                fn(day)
                db.session.add(ScheduledDay(job_name=name, run_on=day))
                db.session.commit()
            except IntegrityError:
                # Another worker ran this day first: its work stands, ours is rolled back.
                db.session.rollback()
                continue
            except Exception:
                db.session.rollback()
                log.exception("daily job %s for %s failed", name, day)
                raise
            done.append((name, day.isoformat()))
        day += timedelta(days=1)
    return done


def tick_job() -> None:
    """The periodic entry point (rq cron, or the in-process worker): catch up to today, then
    run the periodic jobs."""
    run_due_days()
    run_periodic_jobs()
