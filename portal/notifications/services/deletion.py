"""Delete categories, templates and handlers with their cascades and retention rules
(09 §4.6 DLT-1..7, D8, A-05).

The deletion is planned first, on the flags as they are, then carried out in a few set-based
statements: copies that the retention rules keep are detached (they become the reseller's own
rows, A-05) before the rows they came from go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from portal.core import audit
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.models import (NotificationCategory, NotificationEvent,
                                         NotificationTemplate, NotificationTemplateContent)
from portal.notifications.services.delegation import Subject, audit_many, handler_label
from portal.notifications.services.errors import NotificationError

CHUNK = 2000  # ids per IN (...) list

_NOT_OWN = {
    NotificationCategory: _l("Only a category created by this reseller's staff can be deleted."),
    NotificationTemplate: _l("Only a template created by this reseller's staff can be deleted."),
    NotificationEvent: _l("Only a notification event created by this reseller's staff can be "
                          "deleted."),
}


@dataclass
class Row:
    """What the planning needs of a row."""

    id: int
    reseller_id: int
    modified: bool
    label: str
    parent_id: int | None = None  # a template's category, a handler's template


@dataclass
class DeletionPlan:
    """The rows to delete, by model, and what was kept on the way."""

    categories: dict[int, Row] = field(default_factory=dict)
    templates: dict[int, Row] = field(default_factory=dict)
    handlers: dict[int, Row] = field(default_factory=dict)

    def counts(self) -> dict:
        return {"categories": len(self.categories), "templates": len(self.templates),
                "handlers": len(self.handlers)}


def _chunks(ids):
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


_handler_label = handler_label  # the name pages_support imports


def _template_rows(*criteria) -> list[Row]:
    model = NotificationTemplate
    return [Row(r.id, r.reseller_id, r.modified, r.name, r.category_id)
            for r in db.session.execute(select(model.id, model.reseller_id, model.modified,
                                               model.name, model.category_id).where(*criteria))]


def _handler_rows(*criteria) -> list[Row]:
    model = NotificationEvent
    return [Row(r.id, r.reseller_id, r.modified, handler_label(r.event_type, r.id),
                r.template_id)
            for r in db.session.execute(select(model.id, model.reseller_id, model.modified,
                                               model.event_type, model.template_id)
                                        .where(*criteria))]


def _category_rows(*criteria) -> list[Row]:
    model = NotificationCategory
    return [Row(r.id, r.reseller_id, r.modified, r.name)
            for r in db.session.execute(select(model.id, model.reseller_id, model.modified,
                                               model.name).where(*criteria))]


def _handlers_on(template_ids) -> list[Row]:
    rows: list[Row] = []
    for chunk in _chunks(template_ids):
        rows += _handler_rows(NotificationEvent.template_id.in_(chunk))
    return rows


def _copies(loader, model, source_ids) -> list[Row]:
    rows: list[Row] = []
    for chunk in _chunks(source_ids):
        rows += loader(model.source_id.in_(chunk))
    return rows


# -- planning --------------------------------------------------------------------------------


def _plan_handler(plan: DeletionPlan, handler: Row) -> None:
    """09 DLT-5: the handler and its unchanged copies; a changed copy stays and what is below
    it too."""
    plan.handlers[handler.id] = handler
    frontier = [handler.id]
    while frontier:
        following = []
        for copy in _copies(_handler_rows, NotificationEvent, frontier):
            if copy.id in plan.handlers or copy.modified:
                continue
            plan.handlers[copy.id] = copy
            following.append(copy.id)
        frontier = following


def _plan_templates(plan: DeletionPlan, templates: list[Row]) -> None:
    """09 DLT-4: the templates, every handler on them, and down the tree each copy that neither
    was changed nor has a changed handler, with all handlers on it (the reseller's own too)."""
    frontier = []
    for template in templates:
        plan.templates[template.id] = template
        frontier.append(template.id)
    for handler in _handlers_on(frontier):
        plan.handlers[handler.id] = handler
    while frontier:
        copies = [c for c in _copies(_template_rows, NotificationTemplate, frontier)
                  if c.id not in plan.templates]
        handlers = _handlers_on([c.id for c in copies])
        changed_handler_on = {h.parent_id for h in handlers if h.modified}
        following = []
        for copy in copies:
            if copy.modified or copy.id in changed_handler_on:
                continue  # kept: DLT-4 (1), (2)
            plan.templates[copy.id] = copy
            following.append(copy.id)
        for handler in handlers:
            if handler.parent_id in plan.templates:
                plan.handlers[handler.id] = handler
        frontier = following


def _plan_category(plan: DeletionPlan, category: Row) -> None:
    """09 DLT-7: (a) delete the category's templates (DLT-4, down the tree), (b) the category,
    (c) top-down each copy unless it was changed, holds a changed template or a changed
    handler on one of its templates (DLT-3); a deleted copy takes all its remaining templates
    and their handlers with it (the reseller's own too)."""
    _plan_templates(plan, _template_rows(NotificationTemplate.category_id == category.id))
    plan.categories[category.id] = category
    frontier = [category.id]
    while frontier:
        copies = _copies(_category_rows, NotificationCategory, frontier)
        remaining: list[Row] = []
        for chunk in _chunks([c.id for c in copies]):
            remaining += [t for t in _template_rows(NotificationTemplate.category_id.in_(chunk))
                          if t.id not in plan.templates]
        category_of = {t.id: t.parent_id for t in remaining}
        handlers = [h for h in _handlers_on(category_of) if h.id not in plan.handlers]
        keeps = ({t.parent_id for t in remaining if t.modified}
                 | {category_of[h.parent_id] for h in handlers if h.modified})
        following = []
        for copy in copies:
            if copy.modified or copy.id in keeps:
                continue  # kept: DLT-3 (1)–(3)
            plan.categories[copy.id] = copy
            following.append(copy.id)
        for template in remaining:
            if template.parent_id in plan.categories:
                plan.templates[template.id] = template
        for handler in handlers:
            if handler.parent_id in plan.templates:
                plan.handlers[handler.id] = handler
        frontier = following


# -- carrying out ----------------------------------------------------------------------------


def _detach(model, deleted: dict[int, Row], loader) -> list[Row]:
    """09 A-05: a kept copy whose source goes becomes the reseller's own row."""
    if not deleted:
        return []
    kept = [row for row in _copies(loader, model, deleted) if row.id not in deleted]
    for chunk in _chunks([row.id for row in kept]):
        db.session.execute(update(model).where(model.id.in_(chunk))
                           .values(source_id=None, modified=False)
                           .execution_options(synchronize_session=False))
    return kept


def _delete(model, ids) -> None:
    for chunk in _chunks(ids):
        db.session.execute(delete(model).where(model.id.in_(chunk))
                           .execution_options(synchronize_session=False))


def _carry_out(plan: DeletionPlan, primary, *, kind: str, actor) -> DeletionPlan:
    db.session.flush()
    with across_tenants():
        detached = {
            NotificationCategory: _detach(NotificationCategory, plan.categories,
                                          _category_rows),
            NotificationTemplate: _detach(NotificationTemplate, plan.templates, _template_rows),
            NotificationEvent: _detach(NotificationEvent, plan.handlers, _handler_rows),
        }
    audit.log(primary, f"notifications.{kind}.deleted", actor=actor,
              data={key: value for key, value in plan.counts().items() if value})
    for model, rows in ((NotificationCategory, plan.categories),
                        (NotificationTemplate, plan.templates),
                        (NotificationEvent, plan.handlers)):
        name = {NotificationCategory: "category", NotificationTemplate: "template",
                NotificationEvent: "handler"}[model]
        audit_many([Subject(model, r.id, r.reseller_id, r.label) for r in rows.values()
                    if not (model is type(primary) and r.id == primary.id)],
                   f"notifications.{name}.deleted_with_source", actor=actor,
                   data={"deleted": f"{kind} {primary.id}"})
        audit_many([Subject(model, r.id, r.reseller_id, r.label) for r in detached[model]],
                   f"notifications.{name}.detached", actor=actor,
                   data={"deleted": f"{kind} {primary.id}"})
    _delete(NotificationEvent, plan.handlers)
    for chunk in _chunks(plan.templates):
        db.session.execute(delete(NotificationTemplateContent)
                           .where(NotificationTemplateContent.template_id.in_(chunk))
                           .execution_options(synchronize_session=False))
    _delete(NotificationTemplate, plan.templates)
    _delete(NotificationCategory, plan.categories)
    db.session.expire_all()  # the bulk statements bypassed the objects in the session
    return plan


def _require_own(row) -> None:
    if not row.deletable:
        raise NotificationError(_NOT_OWN[type(row)], code="not_deletable", status=409)


def delete_category(category: NotificationCategory, *, actor=None) -> DeletionPlan:
    """Delete an own category with its templates and handlers, and its copies below where the
    retention rules allow (09 D8, DLT-1..3, DLT-7)."""
    _require_own(category)
    plan = DeletionPlan()
    with across_tenants():
        _plan_category(plan, Row(category.id, category.reseller_id, category.modified,
                                 category.name))
    return _carry_out(plan, category, kind="category", actor=actor)


def delete_template(template: NotificationTemplate, *, actor=None) -> DeletionPlan:
    """Delete an own template with its handlers, and its copies below where the retention rules
    allow (09 D8, DLT-1, DLT-4)."""
    _require_own(template)
    plan = DeletionPlan()
    with across_tenants():
        _plan_templates(plan, [Row(template.id, template.reseller_id, template.modified,
                                   template.name, template.category_id)])
    return _carry_out(plan, template, kind="template", actor=actor)


def delete_handler(handler: NotificationEvent, *, actor=None) -> DeletionPlan:
    """Delete an own handler and its unchanged copies below (09 D8, DLT-1, DLT-5)."""
    _require_own(handler)
    plan = DeletionPlan()
    with across_tenants():
        _plan_handler(plan, Row(handler.id, handler.reseller_id, handler.modified,
                                str(handler), handler.template_id))
    return _carry_out(plan, handler, kind="handler", actor=actor)
