"""Create, update and restore notification templates (09 §2.3, TPL-1..9, D1..D7)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.models import (NotificationCategory, NotificationTemplate,
                                         NotificationTemplateContent, TemplateType)
from portal.notifications.services.delegation import (TEMPLATE, apply_values, audit_many,
                                                      contents_state, create_copies,
                                                      differs_from, own_reference, parent_row,
                                                      propagate, set_contents)
from portal.notifications.services.errors import NotificationError
from portal.notifications.services.validation import (check_template, clean_contents,
                                                      handler_event_types, template_schema)
from portal.tenancy.models import Reseller

TEXT_FIELDS = ("name", "sender", "recipient", "cc", "bcc", "user_id")
AUDITED = ("type", "name", "category_id", "sender", "recipient", "cc", "bcc", "user_id")


def _category(reseller_id: int, category_id) -> NotificationCategory:
    """A category of this reseller (never another tenant's)."""
    category = db.session.scalar(select(NotificationCategory).where(
        NotificationCategory.reseller_id == reseller_id,
        NotificationCategory.id == category_id)) if category_id not in (None, "") else None
    if category is None:
        raise NotificationError(_l("Choose a category of this reseller."), field="category_id")
    return category


def _type(value) -> TemplateType:
    try:
        return TemplateType(value)
    except ValueError:
        raise NotificationError(_l("Unknown template type."), field="type") from None


def _text_values(fields: dict) -> dict:
    values = {key: (fields[key] or "").strip() for key in TEXT_FIELDS if key in fields}
    if len(values.get("name", "")) > 255:
        raise NotificationError(_l("The name is longer than 255 characters."), field="name")
    return values


def default_snapshot(template: NotificationTemplate) -> dict:
    """09 §2.1 default_snapshot: the delegated state of an installed template."""
    return {**{field: getattr(template, field) for field in TEMPLATE.fields},
            "category_id": template.category_id, "contents": contents_state(template)}


def _audit_state(template: NotificationTemplate) -> dict:
    state = audit.snapshot(template, AUDITED)
    for language, texts in contents_state(template).items():
        state[f"subject_{language}"] = texts["subject"]
        state[f"body_{language}"] = texts["body"]
    return state


def add_template(reseller: Reseller, *, template_type: TemplateType, values: dict,
                 category: NotificationCategory, contents: dict, actor=None
                 ) -> NotificationTemplate:
    """Insert a checked template at reseller and copy it below (09 TPL-1, D1)."""
    now = clock.now()
    template = NotificationTemplate(
        reseller_id=reseller.id, type=template_type, category_id=category.id,
        installed=False, modified=False, updated_at=now,
        **{field: values.get(field, "") for field in TEXT_FIELDS})
    template.contents = [NotificationTemplateContent(reseller_id=reseller.id, language=language,
                                                     **texts)
                         for language, texts in contents.items()]
    db.session.add(template)
    db.session.flush()
    copies = create_copies(TEMPLATE, template, now=now)
    audit.log(template, "notifications.template.created", actor=actor,
              changes=audit.diff({}, _audit_state(template)),
              data={"copies": len(copies)} if copies else None)
    audit_many(copies, "notifications.template.delegated", actor=actor,
               data={"source_reseller_id": reseller.id})
    return template


def create_template(reseller: Reseller, *, type: str, name: str, category_id: int,
                    contents: dict, sender: str = "", recipient: str = "", cc: str = "",
                    bcc: str = "", user_id: str = "", actor=None,
                    allow_unknown_placeholders: bool = False) -> NotificationTemplate:
    """Create a template at the reseller and at every reseller below (09 TPL-1..4, D1).

    `contents` is {language: {"subject", "body"}} in "ru" and/or "en". Every rendered field is
    checked as Liquid against the placeholders of all events, as no handler uses it yet (A-27).
    """
    template_type = _type(type)
    values = _text_values({"name": name, "sender": sender, "recipient": recipient, "cc": cc,
                           "bcc": bcc, "user_id": user_id})
    category = _category(reseller.id, category_id)
    cleaned = clean_contents(contents)
    check_template(template_type, values, cleaned, template_schema(()),
                   allow_unknown_placeholders=allow_unknown_placeholders)
    return add_template(reseller, template_type=template_type, values=values, category=category,
                        contents=cleaned, actor=actor)


def update_template(template: NotificationTemplate, *, actor=None,
                    allow_unknown_placeholders: bool = False, **fields) -> NotificationTemplate:
    """Save the template and pass it on to the unchanged copies below (09 TPL-5, D3..D5, A-37).

    `contents` replaces the languages it names (None or empty texts remove one); the others
    stay. The type cannot change (A-34). Fields are checked against the placeholders of the
    events whose handlers use the template (A-27).
    """
    if "type" in fields and _type(fields["type"]) != template.type:
        raise NotificationError(_l("A template's type cannot be changed."), field="type")
    values = _text_values(fields)
    category = (_category(template.reseller_id, fields["category_id"])
                if "category_id" in fields else template.category)
    contents = contents_state(template)
    if "contents" in fields:
        for language, texts in (fields["contents"] or {}).items():
            merged = {**contents.get(language, {"subject": "", "body": ""}), **(texts or {})}
            contents[language] = merged if texts is not None else None
        contents = clean_contents(contents)
    current = {field: getattr(template, field) for field in TEXT_FIELDS}
    check_template(template.type, {**current, **values}, contents,
                   template_schema(handler_event_types(template)),
                   allow_unknown_placeholders=allow_unknown_placeholders)
    before = _audit_state(template)
    for key, value in values.items():
        setattr(template, key, value)
    template.category_id = category.id
    template.category = category
    set_contents(template, contents)
    db.session.flush()
    changes = audit.diff(before, _audit_state(template))
    now = clock.now()
    _recompute_modified(template)
    if changes:
        template.updated_at = now
    db.session.flush()
    # Clean copies equal this row, so without a change there is nothing to pass on.
    copies = propagate(TEMPLATE, template, now=now) if changes else []
    if changes:
        audit.log(template, "notifications.template.updated", actor=actor, changes=changes,
                  data={"copies": len(copies)} if copies else None)
    audit_many(copies, "notifications.template.updated_from_source", actor=actor,
               data={"source_id": template.id})
    return template


def _recompute_modified(template: NotificationTemplate) -> None:
    """09 DEL-3, A-37: a copy or an installed template is modified while it differs from its
    parent's row or its default."""
    if template.source_id is not None:
        template.modified = differs_from(TEMPLATE, template, parent_row(TEMPLATE, template))
    elif template.installed:
        template.modified = default_snapshot(template) != template.default_snapshot


def restore_template(template: NotificationTemplate, *, actor=None) -> NotificationTemplate:
    """Bring the template back to its parent's current state, or an installed one to its
    default (09 D6, D7, TPL-9): information, channel settings and body; modified = no."""
    before = _audit_state(template)
    now = clock.now()
    if template.source_id is not None:
        parent = parent_row(TEMPLATE, template)
        apply_values(TEMPLATE, template, parent, own_reference(TEMPLATE, template, parent))
        source = {"source_id": parent.id}
    elif template.installed and template.default_snapshot:
        _apply_snapshot(template, template.default_snapshot)
        source = {"default": True}
    else:
        raise NotificationError(_l("Only an inherited or installed template can be restored."))
    template.modified = False
    template.updated_at = now
    db.session.flush()
    db.session.expire(template, ["category"])
    copies = propagate(TEMPLATE, template, now=now)
    audit.log(template, "notifications.template.restored", actor=actor,
              changes=audit.diff(before, _audit_state(template)), data=source)
    audit_many(copies, "notifications.template.updated_from_source", actor=actor,
               data={"source_id": template.id})
    return template


def _apply_snapshot(template: NotificationTemplate, snapshot: dict) -> None:
    for field in TEXT_FIELDS:
        setattr(template, field, snapshot.get(field, ""))
    # An installed category cannot be deleted, so the default's category is still there.
    template.category_id = _category(template.reseller_id, snapshot["category_id"]).id
    set_contents(template, snapshot.get("contents") or {})


def reference_body(template: NotificationTemplate, language: str) -> tuple[str, str]:
    """The body a template is compared with (09 TPL-7): ("parent", its parent's body) for a
    copy, ("default", the default body) for an installed template at the Operator."""
    if template.source_id is not None:
        parent = parent_row(TEMPLATE, template)
        content = parent.content(language)
        return "parent", content.body if content is not None else ""
    if template.installed and template.default_snapshot:
        texts = (template.default_snapshot.get("contents") or {}).get(language) or {}
        return "default", texts.get("body", "")
    raise NotificationError(_l("Only an inherited or installed template can be compared."))
