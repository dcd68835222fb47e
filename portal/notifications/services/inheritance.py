"""A new reseller receives copies of its parent's categories, templates and handlers
(09 D2; x-ref 07 L11452: whatever the "default settings" option says).

Every reseller gets the whole set, so this runs as a handful of INSERT … SELECT statements:
each copy links to the parent's row, and a template's category (a handler's template) is found
through that link at the new reseller (A-05).
"""

from __future__ import annotations

from sqlalchemy import false, insert, literal, null, select
from sqlalchemy.orm import aliased

from portal.core.clock import clock
from portal.core.models import UTCDateTime
from portal.extensions import db
from portal.notifications.models import (NotificationCategory, NotificationEvent,
                                         NotificationTemplate, NotificationTemplateContent)
from portal.notifications.services.delegation import (CATEGORY, HANDLER, TEMPLATE, Subject,
                                                      audit_many, handler_label)
from portal.tenancy.models import Reseller


def _copy_columns(kind, row, child_id: int, now) -> dict:
    """The values of the copy of `row` (a table alias or the table) at the new reseller."""
    return {
        "reseller_id": literal(child_id), "source_id": row.id, "installed": false(),
        "modified": false(), "default_key": null(),
        "updated_at": literal(now, UTCDateTime()),
        **{field: getattr(row, field) for field in kind.fields},
    }


def _insert_copies(model, values: dict, query) -> None:
    columns = list(values)
    db.session.execute(insert(model).from_select(
        columns, query.with_only_columns(*(values[c].label(c) for c in columns))))


def copy_notifications_to_new_reseller(parent: Reseller, child: Reseller, _mode=None) -> None:
    """Copy everything the parent has, clean and linked, the references remapped (09 D2, A-05);
    a handler copy starts with the parent's status (A-06)."""
    db.session.flush()
    now = clock.now()
    category = NotificationCategory
    _insert_copies(category, _copy_columns(CATEGORY, category, child.id, now),
                   select(category.id).where(category.reseller_id == parent.id))

    template, own_category = NotificationTemplate, aliased(NotificationCategory)
    values = _copy_columns(TEMPLATE, template, child.id, now)
    values["category_id"] = own_category.id
    _insert_copies(template, values, select(template.id).join(
        own_category, (own_category.source_id == template.category_id)
        & (own_category.reseller_id == child.id)).where(template.reseller_id == parent.id))

    content, own_template = NotificationTemplateContent, aliased(NotificationTemplate)
    db.session.execute(insert(content).from_select(
        ["reseller_id", "template_id", "language", "subject", "body"],
        select(literal(child.id), own_template.id, content.language, content.subject,
               content.body)
        .join(own_template, (own_template.source_id == content.template_id)
              & (own_template.reseller_id == child.id))
        .where(content.reseller_id == parent.id)))

    handler, own_template = NotificationEvent, aliased(NotificationTemplate)
    values = _copy_columns(HANDLER, handler, child.id, now)
    values["template_id"] = own_template.id
    values["status"] = handler.status
    _insert_copies(handler, values, select(handler.id).join(
        own_template, (own_template.source_id == handler.template_id)
        & (own_template.reseller_id == child.id)).where(handler.reseller_id == parent.id))

    data = {"source_reseller_id": parent.id}
    for kind in (CATEGORY, TEMPLATE, HANDLER):
        model = kind.model
        rows = db.session.execute(select(model.id, *(
            [model.name] if model is not NotificationEvent else [model.event_type]))
            .where(model.reseller_id == child.id)).all()
        audit_many([Subject(model, row[0], child.id, _label(model, row)) for row in rows],
                   f"{kind.code}.delegated", data=data)



def _label(model, row) -> str:
    return handler_label(row[1], row[0]) if model is NotificationEvent else row[1]
