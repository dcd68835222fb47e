"""The object event log: audit.log(obj, "area.thing.action", actor=..., changes=...)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from portal.core.models import AuditEvent
from portal.extensions import db

SECRET_FIELDS = {"password", "password_hash", "smtp_password", "token", "token_hash"}
MASK = "••••••"


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def snapshot(obj, fields) -> dict:
    """The current values of fields, as the log stores them."""
    return {field: _plain(getattr(obj, field)) for field in fields}


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields that changed; secrets are masked."""
    changes = {}
    for field, new in after.items():
        old = before.get(field)
        if old != new:
            if field in SECRET_FIELDS:
                old, new = (MASK if old else ""), MASK
            changes[field] = ["" if old is None else old, "" if new is None else new]
    return changes


def log(obj, action: str, *, actor=None, reseller_id: int | None = None,
        changes: dict | None = None, data: dict | None = None, label: str | None = None):
    """Record an event about obj in its tenant's log. Flushes; the caller commits."""
    member = getattr(actor, "member", actor)
    event = AuditEvent(
        reseller_id=reseller_id if reseller_id is not None else obj.reseller_id,
        subject_type=type(obj).__name__,
        subject_id=getattr(obj, "id", None),
        subject_label=str(label) if label is not None else str(obj),
        action=action,
        changes=changes or None,
        data=data or None,
        actor_id=getattr(member, "id", None),
        actor_label=str(member) if member is not None else "",
        impersonating=bool(getattr(actor, "impersonating", False)),
        via_api=bool(getattr(actor, "via_api", False)),
        ip=getattr(actor, "ip", None),
    )
    db.session.add(event)
    db.session.flush()
    return event


def events_for(obj, *, limit: int = 200) -> list[AuditEvent]:
    """The newest events of one object, from its own tenant's log."""
    from sqlalchemy import select  # noqa: PLC0415

    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.reseller_id == obj.reseller_id,
                                 AuditEvent.subject_type == type(obj).__name__,
                                 AuditEvent.subject_id == obj.id)
        .order_by(AuditEvent.id.desc()).limit(limit)).all()
