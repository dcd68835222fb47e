"""Create, update, restore, activate and deactivate notification events, the handlers
(09 §2.4, §3.2, EVT-1..7, D1..D6)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import audit
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.models import (HandlerStatus, NotificationEvent, NotificationTemplate,
                                         TemplateType)
from portal.notifications.services.delegation import (HANDLER, apply_values, audit_many,
                                                      copies_cte, create_copies, differs_from,
                                                      family_ids_select, own_reference,
                                                      parent_row, propagate)
from portal.notifications.services.errors import NotificationError
from portal.notifications.services.validation import (check_event_type, check_rule,
                                                      check_timing, rule_key)
from portal.tenancy.models import Reseller
from portal.tenancy.tree import descendant_ids_select

AUDITED = ("event_type", "template_type", "template_id", "send_immediately", "send_hour",
           "rule", "status")


def _template(reseller_id: int, template_id) -> NotificationTemplate:
    """A template of this reseller (never another tenant's)."""
    template = db.session.scalar(select(NotificationTemplate).where(
        NotificationTemplate.reseller_id == reseller_id,
        NotificationTemplate.id == template_id)) if template_id not in (None, "") else None
    if template is None:
        raise NotificationError(_l("Choose a template of this reseller."), field="template_id")
    return template


def _checked(reseller_id: int, values: dict) -> tuple[dict, NotificationTemplate]:
    """09 §2.4, A-33, A-34: a known event, a template of the chosen type, a rule that parses
    with the event's placeholders, and an hour when not sent at once."""
    check_event_type(values["event_type"])
    try:
        template_type = TemplateType(values["template_type"])
    except ValueError:
        raise NotificationError(_l("Unknown template type."), field="template_type") from None
    template = _template(reseller_id, values["template_id"])
    if template.type != template_type:
        raise NotificationError(_l("The template is not of the chosen type."),
                                field="template_id")
    rule = (values.get("rule") or "").strip()
    check_rule(values["event_type"], rule)
    send_immediately = bool(values["send_immediately"])
    return {"event_type": values["event_type"], "template_type": template_type,
            "template_id": template.id, "send_immediately": send_immediately,
            "send_hour": check_timing(send_immediately, values.get("send_hour")),
            "rule": rule, "rule_key": rule_key(rule)}, template


def require_unique(reseller_id: int, values: dict, *,
                   excluding: NotificationEvent | None = None) -> None:
    """09 EVT-2, A-35: no handler with the same event, template type, template and rule at the
    reseller or below it (the template compared through its copies; this handler's copies
    aside)."""
    model = NotificationEvent
    query = select(model.id).where(
        model.reseller_id.in_(descendant_ids_select(reseller_id, include_self=True)),
        model.event_type == values["event_type"],
        model.template_type == values["template_type"],
        model.rule_key == values["rule_key"],
        model.template_id.in_(family_ids_select(NotificationTemplate, values["template_id"])))
    if excluding is not None and excluding.id is not None:
        query = query.where(model.id != excluding.id,
                            model.id.not_in(select(copies_cte(model, excluding.id).c.id)))
    with across_tenants():
        taken = db.session.scalar(query.limit(1))
    if taken is not None:
        raise NotificationError(
            _l("Such a notification event already exists at this reseller or at a reseller "
               "below it."), field="event_type", code="conflict", status=409)


def add_handler(reseller: Reseller, values: dict, *, actor=None) -> NotificationEvent:
    """Insert a checked handler at reseller and copy it below (09 EVT-1, D1, A-06)."""
    now = clock.now()
    handler = NotificationEvent(reseller_id=reseller.id, installed=False, modified=False,
                                updated_at=now, status=HandlerStatus.ACTIVE, **values)
    db.session.add(handler)
    db.session.flush()
    copies = create_copies(HANDLER, handler, now=now)
    audit.log(handler, "notifications.handler.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(handler, AUDITED)),
              data={"copies": len(copies)} if copies else None)
    audit_many(copies, "notifications.handler.delegated", actor=actor,
               data={"source_reseller_id": reseller.id})
    return handler


def create_handler(reseller: Reseller, *, event_type: str, template_type: str,
                   template_id: int, send_immediately: bool = True, send_hour=None,
                   rule: str = "", actor=None) -> NotificationEvent:
    """Create a handler at the reseller and at every reseller below (09 EVT-1..4, D1).

    A new handler is active (A-06); its copies start with the same status.
    """
    values, _template_row = _checked(reseller.id, {
        "event_type": event_type, "template_type": template_type, "template_id": template_id,
        "send_immediately": send_immediately, "send_hour": send_hour, "rule": rule})
    require_unique(reseller.id, values)
    return add_handler(reseller, values, actor=actor)


def update_handler(handler: NotificationEvent, *, actor=None, **fields) -> NotificationEvent:
    """Save the handler and pass it on to the unchanged copies below (09 EVT-5, EVT-6, D3..D5).

    The status changes only through activate/deactivate (EVT-5).
    """
    current = {"event_type": handler.event_type, "template_type": handler.template_type,
               "template_id": handler.template_id, "send_immediately": handler.send_immediately,
               "send_hour": handler.send_hour, "rule": handler.rule}
    if fields.get("send_immediately") and "send_hour" not in fields:
        fields["send_hour"] = None
    values, template = _checked(handler.reseller_id, {
        **current, **{k: v for k, v in fields.items() if k in current}})
    if (values["event_type"], values["template_type"], values["template_id"],
            values["rule_key"]) != (handler.event_type, handler.template_type,
                                    handler.template_id, handler.rule_key):
        require_unique(handler.reseller_id, values, excluding=handler)
    before = audit.snapshot(handler, AUDITED)
    for key, value in values.items():
        setattr(handler, key, value)
    handler.template = template
    changes = audit.diff(before, audit.snapshot(handler, AUDITED))
    now = clock.now()
    if handler.source_id is not None:
        handler.modified = differs_from(HANDLER, handler, parent_row(HANDLER, handler))
    elif handler.installed and changes:
        handler.modified = True  # 09 A-38: no default to compare with or restore to
    if changes:
        handler.updated_at = now
    db.session.flush()
    # Clean copies equal this row, so without a change there is nothing to pass on.
    copies = propagate(HANDLER, handler, now=now) if changes else []
    if changes:
        audit.log(handler, "notifications.handler.updated", actor=actor, changes=changes,
                  data={"copies": len(copies)} if copies else None)
    audit_many(copies, "notifications.handler.updated_from_source", actor=actor,
               data={"source_id": handler.id})
    return handler


def restore_handler(handler: NotificationEvent, *, actor=None) -> NotificationEvent:
    """Bring an inherited handler back to its parent's current state, its status kept
    (09 D6, EVT-6)."""
    if handler.source_id is None:
        raise NotificationError(_l("Only a notification event inherited from the upper "
                                   "reseller can be restored to its state."))
    parent = parent_row(HANDLER, handler)
    values = {"event_type": parent.event_type, "template_type": parent.template_type,
              "template_id": own_reference(HANDLER, handler, parent),
              "rule_key": parent.rule_key}
    if (values["event_type"], values["template_type"], values["template_id"],
            values["rule_key"]) != (handler.event_type, handler.template_type,
                                    handler.template_id, handler.rule_key):
        require_unique(handler.reseller_id, values, excluding=handler)
    before = audit.snapshot(handler, AUDITED)
    now = clock.now()
    apply_values(HANDLER, handler, parent, values["template_id"])
    handler.modified = False
    handler.updated_at = now
    db.session.flush()
    db.session.expire(handler, ["template"])
    copies = propagate(HANDLER, handler, now=now)
    audit.log(handler, "notifications.handler.restored", actor=actor,
              changes=audit.diff(before, audit.snapshot(handler, AUDITED)),
              data={"source_id": parent.id})
    audit_many(copies, "notifications.handler.updated_from_source", actor=actor,
               data={"source_id": handler.id})
    return handler


def _set_status(handler: NotificationEvent, status: HandlerStatus, action: str, actor):
    if handler.status == status:
        return handler
    before = audit.snapshot(handler, ("status",))
    handler.status = status
    handler.updated_at = clock.now()
    db.session.flush()
    # 09 EVT-7: never passed on to the copies; `modified` is about the delegated fields only.
    audit.log(handler, action, actor=actor,
              changes=audit.diff(before, audit.snapshot(handler, ("status",))))
    return handler


def activate_handler(handler: NotificationEvent, *, actor=None) -> NotificationEvent:
    """Make the handler send again; its copies keep their own status (09 §3.2, EVT-7)."""
    return _set_status(handler, HandlerStatus.ACTIVE, "notifications.handler.activated", actor)


def deactivate_handler(handler: NotificationEvent, *, actor=None) -> NotificationEvent:
    """Stop the handler sending; its copies keep their own status (09 §3.2, EVT-7)."""
    return _set_status(handler, HandlerStatus.INACTIVE, "notifications.handler.deactivated",
                       actor)

