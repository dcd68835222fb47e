"""A gateway that sends nothing: it keeps what it was given (tests, demos) and can be told to
fail, by its settings (`{"fail": "reason"}` refuses every send, `"fail_permanently": true`
makes the refusal permanent) or in memory (`SimulatedSmsGateway.failures`)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from portal.notifications.connectors.base import SmsConnector, SmsError


@dataclass(frozen=True)
class SimulatedSms:
    message_id: str
    phone: str
    text: str
    sender: str


class SimulatedSmsGateway(SmsConnector):
    settings_fields = ("sender", "fail")

    # The process-wide outbox and the failures still to hand out, oldest first.
    outbox: list[SimulatedSms] = []
    failures: list[str] = []
    _lock = threading.Lock()
    _ids = itertools.count(1)

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.outbox.clear()
            cls.failures.clear()

    @classmethod
    def fail_next(cls, *reasons: str) -> None:
        """Refuse the next len(reasons) sends with these reasons."""
        with cls._lock:
            cls.failures.extend(reasons)

    def send(self, phone: str, text: str) -> str:
        if self.settings.get("fail"):
            raise SmsError(str(self.settings["fail"]),
                           permanent=bool(self.settings.get("fail_permanently")))
        with self._lock:
            if self.failures:
                raise SmsError(self.failures.pop(0))
            message = SimulatedSms(f"sim-{next(self._ids)}", phone, text,
                                   str(self.settings.get("sender", "")))
            self.outbox.append(message)
        return message.message_id
