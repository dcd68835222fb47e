"""The generic delete: allowed only when nothing else links to the object (01 R-DEL-1)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core import audit
from portal.core.errors import DomainError
from portal.extensions import db


class StillLinkedError(DomainError):
    code = "still_linked"
    status = 409


def linked_objects(obj, *, owned: set[str] = frozenset()) -> dict[str, int]:
    """{table: rows} of the rows in other tables whose foreign keys point at obj.

    Tables in owned belong to obj (its settings, its own log) and go with it.
    """
    table = obj.__table__
    counts: dict[str, int] = {}
    for other in db.metadata.sorted_tables:
        if other.name in owned:
            continue
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            query = select(func.count()).select_from(other).where(fk.parent == obj.id)
            if other is table:  # self-reference, e.g. a parent reseller
                query = query.where(other.c.id != obj.id)
            count = db.session.scalar(query)
            if count:
                counts[other.name] = counts.get(other.name, 0) + count
    return counts


def delete_object(obj, *, actor=None, owned: set[str] = frozenset(), label: str | None = None,
                  audit_reseller_id: int | None = None) -> None:
    """Delete obj, or refuse with the list of what still links to it."""
    links = linked_objects(obj, owned=owned)
    if links:
        details = ", ".join(f"{name}: {count}" for name, count in sorted(links.items()))
        raise StillLinkedError(
            _l("%(object)s cannot be deleted: other objects are still linked to it (%(links)s).",
               object=label or str(obj), links=details))
    audit.log(obj, f"{obj.__tablename__}.deleted", actor=actor, reseller_id=audit_reseller_id,
              label=label)
    db.session.delete(obj)
    db.session.flush()
