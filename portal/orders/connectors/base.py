"""The connector interface: how a provisioning task talks to the side that provides the service
(06 §2.9, J4). A connector answers asynchronously: `submit` sends a request, `poll` asks how it
went; the task queue (03 §3.4) turns the answers into task, instance and order statuses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from portal.catalog.models import Connector as ConnectorKind

if TYPE_CHECKING:
    from portal.catalog.models import ServiceTemplate
    from portal.orders.models import Task

PollState = Literal["pending", "done", "failed"]


class ConnectorError(Exception):
    """The remote side could not be reached or refused the request outright."""


@dataclass(frozen=True)
class Submission:
    """The answer to a request: done at once, refused, or accepted for later (then poll)."""

    request_id: str
    done: bool
    error: str = ""
    external_id: str = ""
    # When the answer is worth asking for; None: the queue's own poll interval.
    ready_at: datetime | None = None
    # A staff member must approve it first (06 §3.3: the instance awaits manual approval).
    awaiting_approval: bool = False


@dataclass(frozen=True)
class PollResult:
    state: PollState
    error: str = ""
    external_id: str = ""
    # False when trying again cannot help (03 MO-2: a declined operation is final).
    retry: bool = True


class Connector(ABC):
    """One kind of remote side; stateless, so one instance serves every task."""

    kind: ConnectorKind

    @abstractmethod
    def submit(self, task: Task) -> Submission:
        """Send the task's action to the remote side."""

    @abstractmethod
    def poll(self, task: Task) -> PollResult:
        """Ask the remote side how the request in task.external_request_id went."""


CONNECTORS: dict[ConnectorKind, Connector] = {}


def register_connector(cls: type[Connector]) -> type[Connector]:
    CONNECTORS[cls.kind] = cls()
    return cls


def connector_for(service_template: ServiceTemplate) -> Connector:
    """The connector that provisions instances of service_template (06 S-1)."""
    import portal.orders.connectors  # noqa: F401, PLC0415 - registers the connectors

    return CONNECTORS[ConnectorKind(service_template.connector)]
