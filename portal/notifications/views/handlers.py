"""Notification events, the handlers, in the operator panel (09 §5.3 S8–S10): list, create
(the template select follows the template type, the rule help follows the event), the handler
page with General and Event log tabs, activate / deactivate, restore, delete."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.core.audit import events_for
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.notifications.event_types import EVENT_TYPES_BY_KEY, event_type_choices
from portal.notifications.models import (HANDLER_STATUS_LABELS, TEMPLATE_TYPE_LABELS,
                                         HandlerStatus, NotificationEvent,
                                         NotificationTemplate, TemplateType)
from portal.notifications.rule_placeholders import rule_placeholders_for
from portal.notifications.services import (activate_handler, create_handler,
                                           deactivate_handler, delete_handler, restore_handler,
                                           update_handler)
from portal.notifications.views import bp
from portal.notifications.views.common import (delegation_columns, delegation_filters,
                                               delete_confirmation, link, run_action,
                                               run_service)
from portal.notifications.views.forms import HandlerForm
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404

VIEW, MANAGE = "notification_events.view", "notification_events.manage"
TEMPLATES_VIEW = "notification_templates.view"
H = NotificationEvent
TABS = (("general", _l("General information")), ("events", _l("Event log")))
# 09 RULE-1, RULE-2: the operators the help lists.
RULE_OPERATORS = (">", "<", ">=", "<=", "=", "!=", "include?", "exclude?", "and", "or", "%",
                  "+", "-", "( )")


def event_name(key: str) -> str:
    event = EVENT_TYPES_BY_KEY.get(key)
    return str(event.name) if event is not None else key


def _template_cell(handler: NotificationEvent) -> Markup:
    return Markup('<a href="{}">{}</a>').format(
        url_for("notifications.template_detail", template_id=handler.template_id),
        handler.template.name)


HANDLERS = register_list(ListDefinition(
    key="notification_events", title=_l("Notification events"), model=H, permission=VIEW,
    query=lambda reseller: (scoped_select(H, reseller)
                            .join(NotificationTemplate, NotificationTemplate.id == H.template_id)
                            .options(contains_eager(H.template))),
    columns=[
        Column("id", "ID", sort=H.id,
               render=link("notifications.handler_detail", "handler_id", lambda h: h.id)),
        Column("event_type", _l("Event"), sort=H.event_type, search=H.event_type,
               value=lambda h: event_name(h.event_type),
               render=link("notifications.handler_detail", "handler_id",
                           lambda h: event_name(h.event_type))),
        Column("template_type", _l("Template type"), sort=H.template_type,
               value=lambda h: str(TEMPLATE_TYPE_LABELS[h.template_type])),
        Column("template", _l("Notification template"), sort=NotificationTemplate.name,
               search=NotificationTemplate.name, value=lambda h: h.template.name,
               render=_template_cell),
        Column("rule", _l("Rule"), search=H.rule),
        Column("status", _l("Status"), sort=H.status, value=lambda h: h.status_label),
        *delegation_columns(H),
    ],
    filters=[Filter("status", _l("Status"), H.status,
                    choices=[(s.value, HANDLER_STATUS_LABELS[s]) for s in HandlerStatus]),
             Filter("template_type", _l("Template type"), H.template_type,
                    choices=[(t.value, TEMPLATE_TYPE_LABELS[t]) for t in TemplateType]),
             Filter("event_type", _l("Event"), H.event_type, choices=event_type_choices()),
             *delegation_filters(H)],
))


@bp.get("/events")
@staff_required(VIEW)
def list_handlers():
    return list_response(HANDLERS, title=HANDLERS.title,
                         create_url=url_for("notifications.create_handler")
                         if current_user.can(MANAGE) else None)


# --- the form --------------------------------------------------------------------------------


def _type_of(value) -> TemplateType:
    try:
        return TemplateType(value)
    except ValueError:
        return TemplateType.EMAIL


def _template_choices(reseller_id: int, template_type: TemplateType) -> list[tuple[str, str]]:
    """09 A-34: the reseller's templates of the chosen type."""
    rows = db.session.execute(select(NotificationTemplate.id, NotificationTemplate.name).where(
        NotificationTemplate.reseller_id == reseller_id,
        NotificationTemplate.type == template_type)
        .order_by(NotificationTemplate.name, NotificationTemplate.id)).all()
    return [("", "—")] + [(str(tid), f"{name} #{tid}") for tid, name in rows]


def _event_choices(current: str | None = None) -> list[tuple[str, str]]:
    """The events whose source exists (an existing handler keeps its own)."""
    choices = event_type_choices(only_available=True)
    if current and current not in {key for key, _label in choices}:
        choices.append((current, event_name(current)))
    return [("", "—"), *choices]


def _prepare(form: HandlerForm, reseller_id: int, current_event: str | None = None):
    form.event_type.choices = _event_choices(current_event)
    form.template_type.data = _type_of(form.template_type.data).value
    form.template_id.choices = _template_choices(reseller_id,
                                                 _type_of(form.template_type.data))
    return form


def _fields(form: HandlerForm) -> dict:
    template_id = form.template_id.data
    return {"event_type": form.event_type.data or "", "template_type": form.template_type.data,
            "template_id": int(template_id) if (template_id or "").isdigit() else None,
            "send_immediately": bool(form.send_immediately.data),
            "send_hour": None if form.send_immediately.data else (form.send_hour.data or None),
            "rule": form.rule.data or ""}


def rule_help(event_type: str | None) -> dict:
    """09 S9 help: the operators and the event's rule placeholders (RULE-8)."""
    event = EVENT_TYPES_BY_KEY.get(event_type or "")
    return {"help_event": event, "operators": RULE_OPERATORS,
            "placeholders": sorted(rule_placeholders_for(event.key)) if event else []}


def _form_context(form: HandlerForm) -> dict:
    return {"form": form, **rule_help(form.event_type.data)}


@bp.route("/events/new", methods=["GET", "POST"], endpoint="create_handler")
@staff_required(MANAGE)
def create_handler_page():
    """S9: creates the handler here and at every reseller below (09 EVT-1, EVT-2)."""
    reseller = g.acting_reseller
    status = 200
    if request.method == "POST":
        form = _prepare(HandlerForm(), reseller.id)
        if form.validate():
            done, result = run_service(lambda: create_handler(
                reseller, actor=current_user, **_fields(form)), form=form,
                success=_("The notification event is created."))
            if done:
                return redirect(url_for("notifications.handler_detail", handler_id=result.id))
            status = result
        else:
            status = 422
    else:
        form = _prepare(HandlerForm(formdata=None, template_type=request.args.get("template_type"),
                                    template_id=request.args.get("template_id")), reseller.id)
    return render_template("notifications/handlers/create.html", **_form_context(form)), status


@bp.get("/events/template-options")
@staff_required(MANAGE)
def template_options():
    """The Notification template field for the chosen type (htmx, 09 A-34)."""
    form = HandlerForm(formdata=None, template_type=request.args.get("template_type"),
                       template_id=request.args.get("template_id"))
    _prepare(form, g.acting_reseller.id)
    return render_template("notifications/handlers/_template_field.html", form=form)


@bp.get("/events/rule-help", endpoint="rule_help")
@staff_required(MANAGE)
def rule_help_page():
    """The rule help for the chosen event (htmx)."""
    return render_template("notifications/handlers/_rule_help.html",
                           **rule_help(request.args.get("event_type")))


# --- the handler page (S10) ------------------------------------------------------------------


def _edit_form(handler: NotificationEvent, *, posted: bool = False) -> HandlerForm:
    if posted:
        form = HandlerForm()
    else:
        form = HandlerForm(formdata=None, event_type=handler.event_type,
                           template_type=handler.template_type.value,
                           template_id=str(handler.template_id),
                           send_immediately=handler.send_immediately,
                           send_hour="" if handler.send_hour is None else str(handler.send_hour),
                           rule=handler.rule)
    return _prepare(form, handler.reseller_id, handler.event_type)


def _context(handler: NotificationEvent, tab: str = "general", *, form=None) -> dict:
    tab = tab if tab in dict(TABS) else "general"
    return {"handler": handler, "tab": tab, "tabs": TABS, "can_manage": current_user.can(MANAGE),
            "event_label": event_name(handler.event_type), "HandlerStatus": HandlerStatus,
            "can_see_templates": current_user.can(TEMPLATES_VIEW),
            "events": events_for(handler) if tab == "events" else [],
            **_form_context(form or _edit_form(handler))}


def _page(handler: NotificationEvent, tab: str = "general", *, form=None, status: int = 200):
    return render_template("notifications/handlers/detail.html",
                           **_context(handler, tab, form=form)), status


@bp.get("/events/<int:handler_id>")
@staff_required(VIEW)
def handler_detail(handler_id):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    return _page(handler, request.args.get("tab", "general"))


@bp.post("/events/<int:handler_id>", endpoint="update_handler")
@staff_required(MANAGE)
def update_handler_page(handler_id):
    """S10 Save (09 EVT-5, EVT-6): an inherited handler becomes modified while it differs."""
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    form = _edit_form(handler, posted=True)
    if not form.validate():
        return _page(handler, form=form, status=422)
    done, result = run_service(lambda: update_handler(handler, actor=current_user,
                                                      **_fields(form)),
                               form=form, success=_("The notification event is saved."))
    if not done:
        return _page(handler, form=form, status=result)
    return redirect(url_for("notifications.handler_detail", handler_id=handler.id))


def _toolbar_action(handler_id: int, service, success):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    run_action(lambda: service(handler, actor=current_user), success=success)
    return redirect(url_for("notifications.handler_detail", handler_id=handler.id))


@bp.post("/events/<int:handler_id>/activate", endpoint="activate_handler")
@staff_required(MANAGE)
def activate_handler_page(handler_id):
    """09 §3.2: no dialog; the copies below keep their status (EVT-7)."""
    return _toolbar_action(handler_id, activate_handler, _("The notification event is active."))


@bp.post("/events/<int:handler_id>/deactivate", endpoint="deactivate_handler")
@staff_required(MANAGE)
def deactivate_handler_page(handler_id):
    """09 §3.2: after the Confirm dialog; inactive handlers send nothing (N-4)."""
    return _toolbar_action(handler_id, deactivate_handler,
                           _("The notification event is inactive."))


@bp.post("/events/<int:handler_id>/restore", endpoint="restore_handler")
@staff_required(MANAGE)
def restore_handler_page(handler_id):
    """09 D6: the parent's current state, the status kept."""
    return _toolbar_action(handler_id, restore_handler,
                           _("The notification event is restored to the upper reseller's "
                             "state."))


@bp.get("/events/<int:handler_id>/delete")
@staff_required(MANAGE)
def confirm_delete_handler(handler_id):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    return delete_confirmation(
        handler, title=_("Delete the notification event “%(name)s”?", name=str(handler)),
        action_url=url_for("notifications.delete_handler", handler_id=handler.id),
        cancel_url=url_for("notifications.handler_detail", handler_id=handler.id),
        page="notifications/handlers/detail.html", page_context=_context(handler))


@bp.post("/events/<int:handler_id>/delete", endpoint="delete_handler")
@staff_required(MANAGE)
def delete_handler_page(handler_id):
    """09 D8, DLT-1, DLT-5: own handlers only, with their unchanged copies."""
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    if run_action(lambda: delete_handler(handler, actor=current_user),
                  success=_("The notification event is deleted.")):
        return redirect(url_for("notifications.list_handlers"))
    return redirect(url_for("notifications.handler_detail", handler_id=handler.id))

