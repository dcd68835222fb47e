"""Daily jobs run once per platform day and catch up missed days in order (D6)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.core import scheduler


@pytest.fixture
def recorded(monkeypatch):
    days = []
    monkeypatch.setattr(scheduler, "DAILY_JOBS", {"test.record": days.append})
    return days


def test_first_run_starts_today_then_catches_up_in_order(db, recorded):
    assert scheduler.run_due_days(date(2026, 11, 22)) == [("test.record", "2026-11-22")]
    # The worker was down for three days.
    done = scheduler.run_due_days(date(2026, 11, 25))
    assert [day for _name, day in done] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert recorded == [date(2026, 11, d) for d in (22, 23, 24, 25)]


def test_running_a_day_twice_changes_nothing(db, recorded):
    scheduler.run_due_days(date(2026, 11, 22))
    assert scheduler.run_due_days(date(2026, 11, 22)) == []
    assert recorded == [date(2026, 11, 22)]


def test_a_failing_day_stops_the_catch_up_and_is_retried(db, monkeypatch):
    calls = []

    def flaky(on):
        calls.append(on)
        if on == date(2026, 11, 23) and calls.count(on) == 1:
            raise RuntimeError("vendor down")

    monkeypatch.setattr(scheduler, "DAILY_JOBS", {"test.flaky": flaky})
    scheduler.run_due_days(date(2026, 11, 22))
    with pytest.raises(RuntimeError):
        scheduler.run_due_days(date(2026, 11, 24))
    done = scheduler.run_due_days(date(2026, 11, 24))
    assert [day for _n, day in done] == ["2026-11-23", "2026-11-24"]
