"""The platform clock: the only reader of system time (DECISIONS D6).

Instants are UTC-aware datetimes; "today" is the date in the platform's time zone, a system
setting of the root operator (default Europe/Moscow).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "Europe/Moscow"


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests, and the API test clock)."""

    def __init__(self, now: datetime):
        self._now = _aware(now)

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime | date) -> None:
        if not isinstance(value, datetime):
            # A bare date means the start of that day in the platform zone, plus a few minutes.
            value = datetime(value.year, value.month, value.day, 0, 5, tzinfo=clock.zone())
        self._now = _aware(value)

    def advance(self, *, days: int = 0, hours: int = 0, minutes: int = 0) -> None:
        self._now += timedelta(days=days, hours=hours, minutes=minutes)


class StoredClock:
    """Test-mode clock kept in the database so web and worker processes agree on it."""

    def __init__(self, loader):
        self._loader = loader

    def now(self) -> datetime:
        stored = self._loader()
        return _aware(stored) if stored else datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """Facade that everything reads: clock.now(), clock.today(), clock.zone()."""

    def __init__(self):
        self._source = SystemClock()
        self._zone_name = DEFAULT_TIME_ZONE
        self._zone_loader = None
        self._zone_cached_at = 0.0
        self._lock = threading.Lock()

    # -- configuration ------------------------------------------------------------------
    def use(self, source) -> None:
        self._source = source

    @property
    def source(self):
        return self._source

    def set_zone_loader(self, loader) -> None:
        """Read the platform time zone through loader() (cached for a minute)."""
        self._zone_loader = loader
        self._zone_cached_at = 0.0

    def forget_zone(self) -> None:
        self._zone_cached_at = 0.0

    # -- reading ------------------------------------------------------------------------
    def zone(self) -> ZoneInfo:
        if self._zone_loader is not None and time.monotonic() - self._zone_cached_at > 60:
            with self._lock:
                try:
                    self._zone_name = self._zone_loader() or DEFAULT_TIME_ZONE
                except Exception:  # noqa: BLE001 - no database yet: keep the default
                    self._zone_name = self._zone_name or DEFAULT_TIME_ZONE
                self._zone_cached_at = time.monotonic()
        return ZoneInfo(self._zone_name)

    def now(self) -> datetime:
        return self._source.now()

    def local_now(self) -> datetime:
        return self.now().astimezone(self.zone())

    def today(self) -> date:
        return self.local_now().date()


clock = Clock()
