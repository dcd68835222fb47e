"""Create, update and restore notification categories (09 §2.2, CAT-1..7, D1..D6)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core import audit
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.models import NotificationCategory
from portal.notifications.services.delegation import (CATEGORY, apply_values, audit_many,
                                                      copies_cte, create_copies, differs_from,
                                                      parent_row, propagate)
from portal.notifications.services.errors import NotificationError
from portal.tenancy.models import Reseller
from portal.tenancy.tree import descendant_ids_select

FIELDS = CATEGORY.fields


def _values(fields: dict) -> dict:
    values = {}
    if "name" in fields:
        values["name"] = (fields["name"] or "").strip()
        if not values["name"]:
            raise NotificationError(_l("Enter the category's name."), field="name")
        if len(values["name"]) > 255:
            raise NotificationError(_l("The name is longer than 255 characters."), field="name")
    if "description" in fields:
        values["description"] = (fields["description"] or "").strip()
    for flag in ("published", "enabled_on_client_creation"):
        if flag in fields:
            values[flag] = bool(fields[flag])
    return values


def require_unique_name(reseller_id: int, name: str, *,
                        excluding: NotificationCategory | None = None) -> None:
    """09 CAT-2, A-35: no category of the reseller or of any reseller below it has this name
    (trimmed, case-insensitive), the category's own copies aside."""
    model = NotificationCategory
    query = select(model.id).where(
        model.reseller_id.in_(descendant_ids_select(reseller_id, include_self=True)),
        func.lower(func.trim(model.name)) == func.lower(name.strip()))
    if excluding is not None and excluding.id is not None:
        query = query.where(model.id != excluding.id,
                            model.id.not_in(select(copies_cte(model, excluding.id).c.id)))
    with across_tenants():
        taken = db.session.scalar(query.limit(1))
    if taken is not None:
        raise NotificationError(
            _l("A category named “%(name)s” already exists at this reseller or at a reseller "
               "below it.", name=name), field="name", code="conflict", status=409)


def add_category(reseller: Reseller, values: dict, *, actor=None) -> NotificationCategory:
    """Insert a checked category at reseller and copy it below (09 D1); no validation."""
    now = clock.now()
    category = NotificationCategory(reseller_id=reseller.id, installed=False, modified=False,
                                    updated_at=now, **values)
    db.session.add(category)
    db.session.flush()
    copies = create_copies(CATEGORY, category, now=now)
    audit.log(category, "notifications.category.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(category, FIELDS)),
              data={"copies": len(copies)} if copies else None)
    audit_many(copies, "notifications.category.delegated", actor=actor,
               data={"source_reseller_id": reseller.id})
    return category


def create_category(reseller: Reseller, *, name: str, description: str = "",
                    published: bool = False, enabled_on_client_creation: bool = False,
                    actor=None) -> NotificationCategory:
    """Create a category at the reseller and at every reseller below (09 CAT-1, CAT-2, D1)."""
    values = _values({"name": name, "description": description, "published": published,
                      "enabled_on_client_creation": enabled_on_client_creation})
    require_unique_name(reseller.id, values["name"])
    return add_category(reseller, values, actor=actor)


def update_category(category: NotificationCategory, *, actor=None,
                    **fields) -> NotificationCategory:
    """Save the category and pass it on to the unchanged copies below (09 CAT-6, CAT-7, D3..D5).

    Saving an inherited copy marks it modified unless it equals its parent's row (A-37).
    """
    values = _values({k: v for k, v in fields.items() if k in FIELDS})
    before = audit.snapshot(category, FIELDS)
    if "name" in values and values["name"].lower() != category.name.strip().lower():
        require_unique_name(category.reseller_id, values["name"], excluding=category)
    for key, value in values.items():
        setattr(category, key, value)
    changes = audit.diff(before, audit.snapshot(category, FIELDS))
    now = clock.now()
    if category.source_id is not None:
        category.modified = differs_from(CATEGORY, category, parent_row(CATEGORY, category))
    elif category.installed and changes:
        category.modified = True  # 09 A-38: no default to compare with or restore to
    if changes:
        category.updated_at = now
    db.session.flush()
    # Clean copies equal this row, so without a change there is nothing to pass on.
    copies = propagate(CATEGORY, category, now=now) if changes else []
    if changes:
        audit.log(category, "notifications.category.updated", actor=actor, changes=changes,
                  data={"copies": len(copies)} if copies else None)
    audit_many(copies, "notifications.category.updated_from_source", actor=actor,
               data={"source_id": category.id})
    return category


def restore_category(category: NotificationCategory, *, actor=None) -> NotificationCategory:
    """Bring an inherited category back to its parent's current state (09 D6, CAT-7)."""
    if category.source_id is None:
        raise NotificationError(_l("Only a category inherited from the upper reseller can be "
                                   "restored to its state."))
    parent = parent_row(CATEGORY, category)
    if parent.name.strip().lower() != category.name.strip().lower():
        require_unique_name(category.reseller_id, parent.name, excluding=category)
    before = audit.snapshot(category, FIELDS)
    now = clock.now()
    apply_values(CATEGORY, category, parent, None)
    category.modified = False
    category.updated_at = now
    db.session.flush()
    copies = propagate(CATEGORY, category, now=now)
    audit.log(category, "notifications.category.restored", actor=actor,
              changes=audit.diff(before, audit.snapshot(category, FIELDS)),
              data={"source_id": parent.id})
    audit_many(copies, "notifications.category.updated_from_source", actor=actor,
               data={"source_id": category.id})
    return category
