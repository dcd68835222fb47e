"""The simulated vendor: a stand-in for a remote cloud service that answers asynchronously
(06 S-1, J4). It keeps its own book (`SimulatedVendorRecord`), so tests can compare what the
vendor believes it provides with what the platform shows.

The service template's settings tell it how to behave:
`{"delay_seconds": 0, "fail_next": {"install": 2}, "fail_always": ["remove"]}` — each request
is ready `delay_seconds` after it was sent; `fail_next` fails that many attempts of an action
(counted down and saved); `fail_always` fails every attempt of the listed actions.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from portal.catalog.models import Connector as ConnectorKind
from portal.core.clock import clock
from portal.extensions import db
from portal.orders.connectors.base import (Connector, ConnectorError, PollResult, Submission,
                                           register_connector)
from portal.orders.models import SimulatedVendorRecord, Task, TaskAction
from portal.subscriptions.models import ServiceInstance

ACCEPTED, DONE, FAILED = "accepted", "done", "failed"
# What the vendor's account looks like after a done request of each action.
STATE_AFTER = {TaskAction.INSTALL: "active", TaskAction.UPDATE: "active",
               TaskAction.RENEW: "active", TaskAction.STOP: "stopped",
               TaskAction.RESUME: "active", TaskAction.REMOVE: "removed"}


def vendor_external_id(instance: ServiceInstance) -> str:
    """The vendor's stable id of an instance's account."""
    return instance.external_id or f"SIM-{instance.id}"


def instance_quantities(instance: ServiceInstance) -> dict[str, str]:
    """{resource name: total quantity} of the subscription's resources on this service."""
    quantities = {}
    for resource in instance.subscription.resources:
        service_resource = resource.plan_resource.service_resource
        if service_resource is not None and (
                service_resource.service_template_id != instance.service_template_id):
            continue
        quantities[resource.name] = str(resource.total)
    return quantities


@register_connector
class SimulatedConnector(Connector):
    kind = ConnectorKind.SIMULATED

    def submit(self, task: Task) -> Submission:
        """Accept the request; the answer is ready after the template's delay."""
        instance = task.service_instance
        if instance is None:
            raise ConnectorError("The simulated vendor needs a service instance.")
        settings = instance.service_template.settings or {}
        now = clock.now()
        record = SimulatedVendorRecord(
            request_id=uuid.uuid4().hex, external_id=vendor_external_id(instance),
            action=TaskAction(task.action).value, status=ACCEPTED,
            payload={"quantities": instance_quantities(instance),
                     "subscription_id": instance.subscription_id,
                     "request": (task.payload or {}).get("request")},
            ready_at=now + timedelta(seconds=int(settings.get("delay_seconds", 0) or 0)),
            created_at=now)
        db.session.add(record)
        db.session.flush()
        return Submission(request_id=record.request_id, done=False, ready_at=record.ready_at)

    def poll(self, task: Task) -> PollResult:
        """Pending until the request is ready, then done, or failed when told to fail."""
        record = db.session.scalar(select(SimulatedVendorRecord).where(
            SimulatedVendorRecord.request_id == task.external_request_id))
        if record is None:
            return PollResult("failed", error=f"Unknown request {task.external_request_id!r}.")
        if record.status == DONE:
            return PollResult("done", external_id=record.external_id)
        if record.status == FAILED:
            return PollResult("failed", error=record.error)
        if clock.now() < record.ready_at:
            return PollResult("pending")
        if self._told_to_fail(task, record.action):
            record.status = FAILED
            record.error = f"The vendor refused to {record.action} {record.external_id}."
            db.session.flush()
            return PollResult("failed", error=record.error)
        record.status = DONE
        db.session.flush()
        return PollResult("done", external_id=record.external_id)

    @staticmethod
    def _told_to_fail(task: Task, action: str) -> bool:
        template = task.service_instance.service_template
        settings = dict(template.settings or {})
        if action in (settings.get("fail_always") or []):
            return True
        fail_next = dict(settings.get("fail_next") or {})
        left = int(fail_next.get(action, 0) or 0)
        if left <= 0:
            return False
        # The countdown is the vendor's state: a new dict, so the JSON column saves it.
        fail_next[action] = left - 1
        settings["fail_next"] = fail_next
        template.settings = settings
        return True


def vendor_book(external_id: str) -> list[SimulatedVendorRecord]:
    """Every request the vendor received for one account, oldest first."""
    return list(db.session.scalars(
        select(SimulatedVendorRecord).where(SimulatedVendorRecord.external_id == external_id)
        .order_by(SimulatedVendorRecord.id)))


def vendor_state(external_id: str) -> dict:
    """What the vendor believes it provides: the status and quantities of its done requests."""
    state: dict = {"status": "none", "quantities": {}}
    for record in vendor_book(external_id):
        if record.status != DONE:
            continue
        state["status"] = STATE_AFTER[TaskAction(record.action)]
        if record.action in (TaskAction.INSTALL, TaskAction.UPDATE):
            state["quantities"] = dict((record.payload or {}).get("quantities") or {})
    return state
