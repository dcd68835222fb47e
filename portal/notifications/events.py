"""Emitting notification events (09 §4.1 N-1..N-9, §4.9): the source of an event calls `emit`
inside its transaction; once that transaction commits, a job finds the matching handlers of the
reseller that owns the client (N-7) and queues their messages. A rolled-back change notifies no
one."""

from __future__ import annotations

from portal.core import jobs

# The objects an event may concern, passed to the job as ids (jobs take ids, STYLE §9).
OBJECT_KINDS = ("reseller", "client", "user", "order", "subscription", "payment", "charge",
                "manual_operation", "staff_member")


def emit(event_type: str, *, extra: dict | None = None, was: dict | None = None,
         **objects) -> None:
    """Record that `event_type` (a key of event_types.EVENT_TYPES) happened to `objects`
    (reseller=, client=, user=, order=, subscription=, payment=, charge=, manual_operation=,
    staff_member=). `extra` carries what only the source knows (links, tokens) as strings;
    `was` the values before the change, e.g. {"subscription.status": "active"} (RULE-7)."""
    unknown = set(objects) - set(OBJECT_KINDS)
    if unknown:
        raise TypeError(f"unknown event objects: {sorted(unknown)}")
    refs = {kind: obj.id for kind, obj in objects.items() if obj is not None}
    from portal.notifications.dispatch import dispatch_event  # noqa: PLC0415 - job module

    jobs.enqueue_after_commit(dispatch_event, event_type, refs, _strings(extra), _strings(was),
                              queue="mail")


def _strings(values: dict | None) -> dict:
    return {str(k): (None if v is None else str(v)) for k, v in (values or {}).items()}
