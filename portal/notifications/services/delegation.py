"""The delegation machinery shared by categories, templates and handlers (09 §3.1, §4.5).

A row created at reseller R is copied to every reseller below R (DEL-1); each copy points at
its parent reseller's row through `source_id`, so the copies of one row form a tree mirroring
the reseller tree, one row per reseller. An update flows down only through clean copies
(DEL-2); a template's category and a handler's template are remapped on the way to the copy's
own reseller's row (DEL-6, A-05).

The work is set-based so that a tree of hundreds of resellers costs a few statements per level:
one INSERT … SELECT per tree level creates the copies, a recursive CTE finds the clean copies an
update reaches, and the audit entries of the copies go into each copy's own tenant log in one
INSERT.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (case, delete, false, insert, inspect, literal, null, select, union_all,
                        update)
from sqlalchemy.orm import aliased

from portal.core.clock import clock
from portal.core.models import AuditEvent, UTCDateTime
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.event_types import EVENT_TYPES_BY_KEY
from portal.notifications.models import (NotificationCategory, NotificationEvent,
                                         NotificationTemplate, NotificationTemplateContent)
from portal.notifications.services.errors import NotificationError
from portal.tenancy.models import Reseller

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    """What is delegated of one model (09 DEL-6)."""

    model: type
    fields: tuple[str, ...]           # plain delegated fields
    reference: str | None = None      # the foreign key remapped to the copy's reseller's row
    relation: str | None = None       # the relationship behind `reference`
    reference_model: type | None = None
    code: str = ""                    # audit code prefix

    @property
    def has_contents(self) -> bool:
        return self.model is NotificationTemplate


CATEGORY = Kind(NotificationCategory,
                ("name", "description", "published", "enabled_on_client_creation"),
                code="notifications.category")
TEMPLATE = Kind(NotificationTemplate,
                ("type", "name", "sender", "recipient", "cc", "bcc", "user_id"),
                reference="category_id", relation="category",
                reference_model=NotificationCategory, code="notifications.template")
# 09 EVT-7: the status is not delegated after creation.
HANDLER = Kind(NotificationEvent,
               ("event_type", "template_type", "send_immediately", "send_hour", "rule",
                "rule_key"),
               reference="template_id", relation="template",
               reference_model=NotificationTemplate, code="notifications.handler")

KINDS = {NotificationCategory: CATEGORY, NotificationTemplate: TEMPLATE,
         NotificationEvent: HANDLER}


# -- the copy tree of one row ---------------------------------------------------------------


def copies_cte(model, row_id: int, *, only_clean: bool = False):
    """A CTE of (id, reseller_id) of the row's copies at every depth, the row excluded.

    With only_clean, the walk stops at a modified copy (09 DEL-2).
    """
    base = select(model.id.label("id"), model.reseller_id.label("reseller_id")).where(
        model.source_id == row_id)
    if only_clean:
        base = base.where(model.modified.is_(False))
    tree = base.cte(f"{model.__tablename__}_copies", recursive=True)
    step = select(model.id, model.reseller_id).where(model.source_id == tree.c.id)
    if only_clean:
        step = step.where(model.modified.is_(False))
    return tree.union_all(step)


def family_ids_select(model, row_id: int):
    """SELECT id of the row and all its copies."""
    tree = copies_cte(model, row_id)
    return union_all(select(literal(row_id).label("id")), select(tree.c.id))


def family_map(model, row_id: int) -> dict[int, int]:
    """{reseller_id: id} of the row and its copies: which row stands for it at each reseller."""
    tree = copies_cte(model, row_id)
    with across_tenants():
        found = dict(db.session.execute(select(tree.c.reseller_id, tree.c.id)).all())
        own = db.session.execute(select(model.reseller_id).where(model.id == row_id)).scalar()
    found[own] = row_id
    return found


def parent_row(kind: Kind, row):
    """The parent reseller's row a copy was delegated from."""
    with across_tenants():
        return db.session.get(kind.model, row.source_id)


def own_reference(kind: Kind, row, parent) -> int:
    """At the row's reseller, the copy of what the parent's row refers to (09 A-05)."""
    target = getattr(parent, kind.reference)
    model = kind.reference_model
    found = db.session.scalar(select(model.id).where(model.reseller_id == row.reseller_id,
                                                     model.source_id == target))
    if found is None:
        raise NotificationError(_l("The parent's %(what)s has no copy at this reseller.",
                                   what=_reference_label(kind)))
    return found


def _reference_label(kind: Kind):
    return _l("category") if kind.reference_model is NotificationCategory else _l("template")


# -- delegated state ------------------------------------------------------------------------


def contents_state(template: NotificationTemplate) -> dict[str, dict[str, str]]:
    """{language: {"subject", "body"}} of a template."""
    return {c.language: {"subject": c.subject or "", "body": c.body or ""}
            for c in template.contents}


def set_contents(template: NotificationTemplate, state: dict[str, dict[str, str]]) -> bool:
    """Make the template's contents equal state; return whether anything changed."""
    changed = False
    existing = {c.language: c for c in template.contents}
    for language, values in state.items():
        content = existing.get(language)
        if content is None:
            template.contents.append(NotificationTemplateContent(
                reseller_id=template.reseller_id, language=language,
                subject=values.get("subject", ""), body=values.get("body", "")))
            changed = True
            continue
        for field in ("subject", "body"):
            if getattr(content, field) != values.get(field, ""):
                setattr(content, field, values.get(field, ""))
                changed = True
    for language, content in existing.items():
        if language not in state:
            template.contents.remove(content)
            changed = True
    return changed


def differs_from(kind: Kind, row, source) -> bool:
    """Whether row's delegated values differ from source's, the reference compared through
    the copy link (09 A-37)."""
    if any(getattr(row, field) != getattr(source, field) for field in kind.fields):
        return True
    if kind.reference is not None:
        referenced = getattr(row, kind.relation)
        if referenced is None or referenced.source_id != getattr(source, kind.reference):
            return True
    return kind.has_contents and contents_state(row) != contents_state(source)


def apply_values(kind: Kind, row, source, reference_id: int | None) -> bool:
    """Copy source's delegated values onto row; return whether anything changed."""
    changed = False
    for field in kind.fields:
        value = getattr(source, field)
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    if kind.reference is not None and reference_id is not None \
            and getattr(row, kind.reference) != reference_id:
        setattr(row, kind.reference, reference_id)
        changed = True
    if kind.has_contents:
        changed |= set_contents(row, contents_state(source))
    return changed


# -- create copies (D1) and propagate updates (D3) -------------------------------------------


def create_copies(kind: Kind, origin, *, now: datetime) -> list[Subject]:
    """Copy a new row to every reseller below its own (09 D1, DEL-1); return the copies.

    One INSERT … SELECT per tree level: each reseller of the level takes its parent's copy,
    the category (template) being its own copy of the parent's (A-05); a handler copy takes the
    origin's status (A-06).
    """
    model = kind.model
    db.session.flush()
    frontier = [origin.id]
    copies: list[Subject] = []
    with across_tenants():
        while frontier:
            source, child = aliased(model), aliased(Reseller)
            values = {"reseller_id": child.id, "source_id": source.id, "installed": false(),
                      "modified": false(), "default_key": null(),
                      "updated_at": literal(now, UTCDateTime()),
                      **{field: getattr(source, field) for field in kind.fields}}
            query = select(source.id).join(child, child.parent_id == source.reseller_id)
            if kind.reference is not None:
                own = aliased(kind.reference_model)
                values[kind.reference] = own.id
                query = query.join(own, (own.source_id == getattr(source, kind.reference))
                                   & (own.reseller_id == child.id))
            if kind is HANDLER:
                values["status"] = source.status
            query = query.where(source.id.in_(frontier))
            db.session.execute(insert(model).from_select(
                list(values), query.with_only_columns(*(v.label(k) for k, v in values.items()))))
            rows = db.session.execute(select(model.id, model.reseller_id)
                                      .where(model.source_id.in_(frontier))).all()
            if kind.has_contents and rows:
                _copy_contents(frontier)
            copies += _subjects(kind, origin, rows)
            frontier = [row.id for row in rows]
    return copies


def _copy_contents(source_ids: list[int]) -> None:
    """Give the templates just copied from source_ids their sources' contents."""
    content, copy = NotificationTemplateContent, aliased(NotificationTemplate)
    db.session.execute(insert(content).from_select(
        ["reseller_id", "template_id", "language", "subject", "body"],
        select(copy.reseller_id, copy.id, content.language, content.subject, content.body)
        .join(copy, copy.source_id == content.template_id)
        .where(content.template_id.in_(source_ids))))


def propagate(kind: Kind, row, *, now: datetime) -> list[Subject]:
    """Copy row's delegated values to its clean copies at every depth (09 D3, D4, DEL-2);
    return those copies.

    Clean copies equal their source, so one UPDATE gives them all the row's values; the
    category (template) differs per reseller and comes from a CASE over the reseller.
    """
    model = kind.model
    db.session.flush()
    tree = copies_cte(model, row.id, only_clean=True)
    with across_tenants():
        found = db.session.execute(select(tree.c.id, tree.c.reseller_id)).all()
        if not found:
            return []
        references = (family_map(kind.reference_model, getattr(row, kind.reference))
                      if kind.reference else {})
    targets = []
    for copy_id, reseller_id in found:
        if kind.reference and reseller_id not in references:
            log.warning("%s %s: no %s copy at reseller %s", kind.code, row.id, kind.reference,
                        reseller_id)
            continue
        targets.append((copy_id, reseller_id))
    values = {field: getattr(row, field) for field in kind.fields}
    values["updated_at"] = now
    for start in range(0, len(targets), CASE_CHUNK):
        chunk = targets[start:start + CASE_CHUNK]
        ids = [copy_id for copy_id, _reseller in chunk]
        if kind.reference:
            values[kind.reference] = case(
                {reseller: references[reseller] for _copy, reseller in chunk},
                value=model.reseller_id)
        db.session.execute(update(model).where(model.id.in_(ids)).values(**values)
                           .execution_options(synchronize_session=False))
        if kind.has_contents:
            _replace_contents(row, ids)
    _expire_loaded(model, {copy_id for copy_id, _reseller in targets})
    return _subjects(kind, row, targets)


def _subjects(kind: Kind, row, rows) -> list[Subject]:
    """Subjects of the copies of row, given (id, reseller id) pairs."""
    name = event_name(row.event_type) if kind is HANDLER else str(row)
    return [Subject(kind.model, copy_id, reseller,
                    f"{name} #{copy_id}" if kind is HANDLER else name)
            for copy_id, reseller in rows]


CASE_CHUNK = 500  # copies per UPDATE (two bind parameters each in the CASE)


def _replace_contents(row: NotificationTemplate, ids: list[int]) -> None:
    """Make the contents of the templates `ids` equal the row's, language by language."""
    content, target = NotificationTemplateContent, aliased(NotificationTemplate)
    state = contents_state(row)
    db.session.execute(delete(content).where(content.template_id.in_(ids),
                                             content.language.not_in(list(state)))
                       .execution_options(synchronize_session=False))
    for language, texts in state.items():
        db.session.execute(update(content).where(content.template_id.in_(ids),
                                                 content.language == language)
                           .values(subject=texts["subject"], body=texts["body"])
                           .execution_options(synchronize_session=False))
        missing = ~select(content.id).where(content.template_id == target.id,
                                            content.language == language).exists()
        db.session.execute(insert(content).from_select(
            ["reseller_id", "template_id", "language", "subject", "body"],
            select(target.reseller_id, target.id, literal(language), literal(texts["subject"]),
                   literal(texts["body"])).where(target.id.in_(ids), missing)))


def _expire_loaded(model, ids: set[int]) -> None:
    """The bulk statements bypassed the session: reload what it holds of those rows."""
    for key, obj in list(db.session.identity_map.items()):
        if isinstance(obj, model) and key[1][0] in ids:
            db.session.expire(obj)
        elif (model is NotificationTemplate and isinstance(obj, NotificationTemplateContent)
              and inspect(obj).dict.get("template_id") in ids):
            db.session.expunge(obj)  # updated, or deleted: the template reloads its contents


# -- the audit of many rows ------------------------------------------------------------------


def handler_label(event_type: str, handler_id: int) -> str:
    """What str(handler) gives, from its columns: "Order created #12"."""
    return f"{event_name(event_type)} #{handler_id}"


def event_name(event_type: str) -> str:
    event = EVENT_TYPES_BY_KEY.get(event_type)
    return str(event.name) if event else event_type


@dataclass(frozen=True)
class Subject:
    """An audited row, also after it is gone."""

    model: type
    id: int
    reseller_id: int
    label: str

    @classmethod
    def of(cls, row) -> Subject:
        return cls(type(row), row.id, row.reseller_id, str(row))


def audit_many(subjects: Iterable, action: str, *, actor=None, data: dict | None = None) -> None:
    """One event per row in its own tenant's log, in one INSERT (a tree may hold hundreds of
    copies). The same fields as audit.log."""
    subjects = [s if isinstance(s, Subject) else Subject.of(s) for s in subjects]
    if not subjects:
        return
    member = getattr(actor, "member", actor)
    now = clock.now()
    common = {
        "created_at": now, "action": action, "changes": None, "data": data or None,
        "actor_id": getattr(member, "id", None),
        "actor_label": str(member) if member is not None else "",
        "impersonating": bool(getattr(actor, "impersonating", False)),
        "via_api": bool(getattr(actor, "via_api", False)), "ip": getattr(actor, "ip", None),
    }
    db.session.execute(AuditEvent.__table__.insert(), [
        {**common, "reseller_id": s.reseller_id, "subject_type": s.model.__name__,
         "subject_id": s.id, "subject_label": s.label[:255]} for s in subjects])
