"""API: notification categories, templates and events (handlers), the notification log and
SMS gateways (spec 09; 03 §7.5; API.md "notification-templates", "notification-events",
"notifications").

Every row is the caller's reseller's own (a delegated copy is the child's own row); anything
else answers 404. The rules are the services' (`portal.notifications.services`): this module
turns JSON into their arguments and their refusals into the API's error shape. A template that
does not validate answers 422 with one message per problem (each naming its line) under the
field, e.g. `contents.ru.body`; a rule that does not parse answers 422 under `rule`, the
message naming the column.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from portal.api.base import ApiValidationError, endpoint, iso, json_body, paginate, require
from portal.api.catalog import (checked, flag, invalid, mapping, object_id, query_enum,
                                query_id, text, whole)
from portal.extensions import db
from portal.notifications.delivery_models import (Notification, NotificationStatus,
                                                  SmsGateway)
from portal.notifications.event_types import EVENT_TYPES_BY_KEY
from portal.notifications.liquid_env import TemplateRenderError, render_template
from portal.notifications.models import (CONTENT_LANGUAGES, HandlerStatus,
                                         NotificationCategory, NotificationEvent,
                                         NotificationTemplate, TemplateType)
from portal.notifications.placeholders import sample_context
from portal.notifications.sending import DeliveryError, resend_notification
from portal.notifications.services import (NotificationError, RuleInvalid,
                                           TemplateContentInvalid, activate_handler,
                                           compare_template, create_category, create_handler,
                                           create_template, deactivate_handler,
                                           delete_category, delete_handler, delete_template,
                                           restore_category, restore_handler, restore_template,
                                           update_category, update_handler, update_template)
from portal.notifications.services.sms_gateways import (MODULE_SETTINGS, choose_sms_gateway,
                                                        create_sms_gateway, delete_sms_gateway,
                                                        selected_gateway_id,
                                                        update_sms_gateway)
from portal.notifications.services.validation import handler_event_types
from portal.tenancy.scope import scoped_select, tenant_get_or_404

HTML_CHANNELS = (TemplateType.EMAIL, TemplateType.CLIENT_PANEL)


# --- service refusals in the API's shape ------------------------------------------------------

def api_field(field: str | None) -> str | None:
    """A service's field name as the API names it: body_ru → contents.ru.body."""
    if not field:
        return field
    base, _sep, language = field.rpartition("_")
    if language in CONTENT_LANGUAGES and base in ("subject", "body"):
        return f"contents.{language}.{base}"
    return field


@contextmanager
def service_errors(*, state_conflict: bool = False):
    """Name a refusal's field as the API does; a refusal about the object's state (no field)
    is a 409 when `state_conflict` (restore an own row, delete an inherited one)."""
    try:
        yield
    except TemplateContentInvalid as error:
        error.fields = {api_field(error.field): [str(p) for p in error.problems] or [str(error)]}
        raise
    except RuleInvalid as error:
        error.fields = {"rule": [str(error)]}
        raise
    except NotificationError as error:
        if error.field:
            error.fields = {api_field(error.field): [str(error)]}
        elif state_conflict and error.status == 422:
            error.status, error.code = 409, "conflict"
        raise


def _language(value, field: str = "language") -> str:
    if value not in CONTENT_LANGUAGES:
        raise invalid(field, _("Unknown language; one of: %(values)s.",
                               values=", ".join(CONTENT_LANGUAGES)))
    return value


def _event_type(value, field: str = "event_type") -> str:
    if not isinstance(value, str) or value not in EVENT_TYPES_BY_KEY:
        raise invalid(field, _("Unknown event."))
    return value


def _event_name(key: str) -> str:
    event = EVENT_TYPES_BY_KEY.get(key)
    return str(event.name) if event else key


def _delegation(row) -> dict:
    """09 §2.1: Установлен, Наследован, Изменен and the state they give."""
    return {"installed": row.installed, "inherited": row.inherited, "modified": row.modified,
            "state": row.state.value, "source_id": row.source_id,
            "updated_at": iso(row.updated_at)}


def _deleted(row_id: int, plan) -> dict:
    return {"id": row_id, "deleted": True, "counts": plan.counts()}


# --- categories (09 §2.2, §5.1) ---------------------------------------------------------------

def serialize_category(category: NotificationCategory) -> dict:
    return {"id": category.id, "name": category.name, "description": category.description,
            "published": category.published,
            "enabled_on_client_creation": category.enabled_on_client_creation,
            "template_ids": [t.id for t in category.templates], **_delegation(category)}


CATEGORY_KINDS = {"name": text(255), "description": text(), "published": flag,
                  "enabled_on_client_creation": flag}
CATEGORY_SCHEMA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "description": {"type": "string"},
    "published": {"type": "boolean", "default": False},
    "enabled_on_client_creation": {"type": "boolean", "default": False}}}
CATEGORY_SORT = {"id": NotificationCategory.id, "name": NotificationCategory.name,
                 "updated_at": NotificationCategory.updated_at}


@endpoint("/notification-categories", permission="notification_categories.view",
          summary="List notification categories (own, inherited and installed; 09 §5.1 S1)")
def list_notification_categories_api():
    query = scoped_select(NotificationCategory).options(
        selectinload(NotificationCategory.templates))
    return paginate(query, serialize_category, sort_fields=CATEGORY_SORT)


@endpoint("/notification-categories/<int:category_id>",
          permission="notification_categories.view", summary="Get a notification category")
def get_notification_category_api(category_id):
    return jsonify(serialize_category(tenant_get_or_404(NotificationCategory, category_id)))


@endpoint("/notification-categories", methods=("POST",),
          permission="notification_categories.manage", body=CATEGORY_SCHEMA, status=201,
          summary="Create a category here and at every reseller below (09 CAT-1, CAT-2); a "
                  "name taken here or below answers 409")
def create_notification_category_api():
    data = json_body()
    require(data, "name")
    with service_errors():
        category = create_category(g.acting_reseller, actor=g.principal,
                                   **checked(data, CATEGORY_KINDS))
    db.session.commit()
    return jsonify(serialize_category(category)), 201


@endpoint("/notification-categories/<int:category_id>", methods=("PATCH",),
          permission="notification_categories.manage", body=CATEGORY_SCHEMA,
          summary="Update a category; unchanged copies below follow (09 CAT-6, CAT-7)")
def update_notification_category_api(category_id):
    category = tenant_get_or_404(NotificationCategory, category_id)
    data = json_body()
    with service_errors():
        update_category(category, actor=g.principal, **checked(data, CATEGORY_KINDS))
    db.session.commit()
    return jsonify(serialize_category(category))


@endpoint("/notification-categories/<int:category_id>/restore", methods=("POST",),
          permission="notification_categories.manage",
          summary="Restore an inherited category to its parent's current state (09 D6); 409 "
                  "for an own one")
def restore_notification_category_api(category_id):
    category = tenant_get_or_404(NotificationCategory, category_id)
    with service_errors(state_conflict=True):
        restore_category(category, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_category(category))


@endpoint("/notification-categories/<int:category_id>", methods=("DELETE",),
          permission="notification_categories.manage",
          summary="Delete an own category with its templates and handlers, here and below "
                  "(09 §4.6); 409 for an inherited or installed one")
def delete_notification_category_api(category_id):
    category = tenant_get_or_404(NotificationCategory, category_id)
    with service_errors(state_conflict=True):
        plan = delete_category(category, actor=g.principal)
    db.session.commit()
    return jsonify(_deleted(category_id, plan))


# --- templates (09 §2.3, §5.2) ----------------------------------------------------------------

def _contents(template: NotificationTemplate) -> dict:
    return {c.language: {"subject": c.subject, "body": c.body} for c in template.contents}


def serialize_template(template: NotificationTemplate) -> dict:
    return {"id": template.id, "type": template.type.value, "name": template.name,
            "category_id": template.category_id, "sender": template.sender,
            "recipient": template.recipient, "cc": template.cc, "bcc": template.bcc,
            "user_id": template.user_id, "contents": _contents(template),
            "handler_ids": [h.id for h in template.handlers],
            # 09 TPL-6: the compare tab exists for copies and, at the Operator, installed rows.
            "comparable": template.inherited or template.installed,
            **_delegation(template)}


def _contents_value(value, field: str = "contents") -> dict:
    """{language: {"subject", "body"} or null (remove that language)}."""
    mapping(value, field)
    result = {}
    for language, texts in (value or {}).items():
        _language(language, f"{field}.{language}")
        if texts is None:
            result[language] = None
            continue
        mapping(texts, f"{field}.{language}")
        unknown = set(texts) - {"subject", "body"}
        if unknown:
            raise invalid(f"{field}.{language}.{sorted(unknown)[0]}", _("Unknown field."))
        result[language] = {key: text()(texts[key], f"{field}.{language}.{key}")
                            for key in ("subject", "body") if key in texts}
    return result


TEMPLATE_KINDS = {"type": text(32), "name": text(255), "category_id": object_id,
                  "sender": text(), "recipient": text(), "cc": text(), "bcc": text(),
                  "user_id": text(255), "contents": _contents_value}
TEMPLATE_SCHEMA = {"type": "object", "required": ["type", "name", "category_id", "contents"],
                   "properties": {
    "type": {"type": "string", "enum": [t.value for t in TemplateType]},
    "name": {"type": "string"}, "category_id": {"type": "integer"},
    "sender": {"type": "string", "description": "E-mail: address or placeholder."},
    "recipient": {"type": "string", "description": "E-mail: addresses or placeholders, "
                                                   "comma-separated; SMS: +phone or a "
                                                   "placeholder."},
    "cc": {"type": "string"}, "bcc": {"type": "string"},
    "user_id": {"type": "string", "description": "Client panel: a user id or {{owner.id}}."},
    "contents": {"type": "object", "description": "{\"ru\": {\"subject\": ..., \"body\": ...}, "
                                                  "\"en\": ...}; Liquid with the placeholders "
                                                  "of 09 §2.9. On update, null removes a "
                                                  "language."},
    "allow_unknown_placeholders": {"type": "boolean", "default": False,
                                   "description": "Save although some placeholders are not in "
                                                  "the catalogue (they print nothing, A-23)."}}}
TEMPLATE_SORT = {"id": NotificationTemplate.id, "name": NotificationTemplate.name,
                 "type": NotificationTemplate.type,
                 "updated_at": NotificationTemplate.updated_at}


def _allow_unknown(data: dict) -> bool:
    value = data.get("allow_unknown_placeholders")
    return flag(value, "allow_unknown_placeholders") if value is not None else False


@endpoint("/notification-templates", permission="notification_templates.view",
          summary="List notification templates (filters: type, category_id)")
def list_notification_templates_api():
    query = scoped_select(NotificationTemplate).options(
        selectinload(NotificationTemplate.contents), selectinload(NotificationTemplate.handlers))
    template_type = query_enum("type", TemplateType)
    if template_type is not None:
        query = query.where(NotificationTemplate.type == template_type)
    category_id = query_id("category_id")
    if category_id is not None:
        query = query.where(NotificationTemplate.category_id == category_id)
    return paginate(query, serialize_template, sort_fields=TEMPLATE_SORT)


@endpoint("/notification-templates/<int:template_id>",
          permission="notification_templates.view", summary="Get a notification template")
def get_notification_template_api(template_id):
    return jsonify(serialize_template(tenant_get_or_404(NotificationTemplate, template_id)))


@endpoint("/notification-templates", methods=("POST",),
          permission="notification_templates.manage", body=TEMPLATE_SCHEMA, status=201,
          summary="Create a template here and at every reseller below (09 TPL-1..4); Liquid "
                  "problems answer 422 per field with their lines")
def create_notification_template_api():
    data = json_body()
    require(data, "type", "name", "category_id", "contents")
    values = checked(data, TEMPLATE_KINDS)
    if any(texts is None for texts in values["contents"].values()):
        raise invalid("contents", _("A new template has no language to remove."))
    with service_errors():
        template = create_template(g.acting_reseller, actor=g.principal,
                                   allow_unknown_placeholders=_allow_unknown(data), **values)
    db.session.commit()
    return jsonify(serialize_template(template)), 201


@endpoint("/notification-templates/<int:template_id>", methods=("PATCH",),
          permission="notification_templates.manage", body=TEMPLATE_SCHEMA,
          summary="Update a template; unchanged copies below follow, a changed copy becomes "
                  "modified (09 TPL-5, D3..D5)")
def update_notification_template_api(template_id):
    template = tenant_get_or_404(NotificationTemplate, template_id)
    data = json_body()
    values = checked(data, TEMPLATE_KINDS)
    with service_errors():
        update_template(template, actor=g.principal,
                        allow_unknown_placeholders=_allow_unknown(data), **values)
    db.session.commit()
    return jsonify(serialize_template(template))


@endpoint("/notification-templates/<int:template_id>/restore", methods=("POST",),
          permission="notification_templates.manage",
          summary="Restore a template to its parent's current state, or an installed one to "
                  "its default (09 D6, D7, TPL-9); 409 for an own one")
def restore_notification_template_api(template_id):
    template = tenant_get_or_404(NotificationTemplate, template_id)
    with service_errors(state_conflict=True):
        restore_template(template, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_template(template))


@endpoint("/notification-templates/<int:template_id>", methods=("DELETE",),
          permission="notification_templates.manage",
          summary="Delete an own template with its handlers, here and below (09 §4.6); 409 "
                  "for an inherited or installed one")
def delete_notification_template_api(template_id):
    template = tenant_get_or_404(NotificationTemplate, template_id)
    with service_errors(state_conflict=True):
        plan = delete_template(template, actor=g.principal)
    db.session.commit()
    return jsonify(_deleted(template_id, plan))


def _serialize_comparison(comparison) -> dict:
    return {"language": comparison.language, "current": comparison.current,
            "reference": comparison.reference, "differs": comparison.differs,
            "fragments": [{"index": f.index, "equal": f.equal, "current": f.current,
                           "reference": f.reference} for f in comparison.fragments]}


@endpoint("/notification-templates/<int:template_id>/compare",
          permission="notification_templates.view",
          summary="Compare the body with the parent's (or, at the Operator, the default) body "
                  "in line fragments (09 TPL-6, TPL-7); ?language=ru|en, else every language; "
                  "409 for an own template")
def compare_notification_template_api(template_id):
    template = tenant_get_or_404(NotificationTemplate, template_id)
    asked = request.args.get("language")
    languages = [_language(asked)] if asked else list(CONTENT_LANGUAGES)
    with service_errors(state_conflict=True):
        comparisons = [compare_template(template, language=language) for language in languages]
    if not asked:
        # Only the languages either side is written in.
        comparisons = [c for c in comparisons if c.current or c.reference] or comparisons[:1]
    return jsonify({"template_id": template.id,
                    "reference_kind": comparisons[0].reference_kind,
                    "languages": [_serialize_comparison(c) for c in comparisons]})


PREVIEW_SCHEMA = {"type": "object", "properties": {
    "event_type": {"type": "string", "description": "Default: the event of the first handler "
                                                    "using the template, else order_created."},
    "language": {"type": "string", "enum": list(CONTENT_LANGUAGES)},
    "subject": {"type": "string", "description": "Unsaved text to render instead."},
    "body": {"type": "string", "description": "Unsaved text to render instead."}}}


def _render_preview(source: str, context: dict, *, field: str, language: str,
                    html: bool) -> str:
    try:
        return render_template(source or "", context, language=language,
                               currency=g.acting_reseller.currency, html=html)
    except TemplateRenderError as error:
        raise invalid(field, str(error)) from None


@endpoint("/notification-templates/<int:template_id>/preview", methods=("POST",),
          permission="notification_templates.view", body=PREVIEW_SCHEMA,
          summary="Render the template for an event with sample data (the reseller's latest "
                  "fitting object, else clearly fake values); nothing is saved or sent")
def preview_notification_template_api(template_id):
    template = tenant_get_or_404(NotificationTemplate, template_id)
    data = json_body()
    reseller = g.acting_reseller
    if data.get("event_type") is not None:
        event_type = _event_type(data["event_type"])
    else:
        used = sorted(handler_event_types(template))
        event_type = used[0] if used else "order_created"
    language = _language(data["language"]) if data.get("language") is not None \
        else (reseller.default_language or CONTENT_LANGUAGES[0])
    content = template.content_for(language, default_language=reseller.default_language)
    subject = text()(data["subject"], "subject") if "subject" in data \
        else (content.subject if content else "")
    body = text()(data["body"], "body") if "body" in data else (content.body if content else "")
    context = sample_context(event_type, reseller, language=language)
    html = template.type in HTML_CHANNELS
    answer = {"template_id": template.id, "event_type": event_type, "language": language,
              "content_language": content.language if content else None}
    for field in ("sender", "recipient", "cc", "bcc", "user_id"):
        answer[field] = _render_preview(getattr(template, field), context, field=field,
                                        language=language, html=False)
    answer["subject"] = _render_preview(subject, context, field="subject", language=language,
                                        html=False)
    answer["body"] = _render_preview(body, context, field="body", language=language, html=html)
    return jsonify(answer)


# --- notification events, the handlers (09 §2.4, §5.3) -----------------------------------------

def serialize_handler(handler: NotificationEvent) -> dict:
    return {"id": handler.id, "event_type": handler.event_type,
            "event_name": _event_name(handler.event_type),
            "template_type": handler.template_type.value, "template_id": handler.template_id,
            "send_immediately": handler.send_immediately, "send_hour": handler.send_hour,
            "rule": handler.rule, "status": handler.status.value, **_delegation(handler)}


HANDLER_KINDS = {"event_type": text(64), "template_type": text(32), "template_id": object_id,
                 "send_immediately": flag, "send_hour": whole(0, 23, nullable=True),
                 "rule": text()}
HANDLER_SCHEMA = {"type": "object", "required": ["event_type", "template_type", "template_id"],
                  "properties": {
    "event_type": {"type": "string", "description": "A key of 09 §2.5, e.g. order_created."},
    "template_type": {"type": "string", "enum": [t.value for t in TemplateType]},
    "template_id": {"type": "integer"},
    "send_immediately": {"type": "boolean", "default": True},
    "send_hour": {"type": "integer", "minimum": 0, "maximum": 23, "nullable": True,
                  "description": "Required when send_immediately is false."},
    "rule": {"type": "string", "description": "09 §4.7; a syntax error answers 422 under "
                                              "`rule` with its column."}}}
HANDLER_SORT = {"id": NotificationEvent.id, "event_type": NotificationEvent.event_type,
                "updated_at": NotificationEvent.updated_at}


@endpoint("/notification-events", permission="notification_events.view",
          summary="List notification events (handlers; filters: event_type, template_type, "
                  "template_id, status)")
def list_notification_events_api():
    query = scoped_select(NotificationEvent)
    if request.args.get("event_type"):
        query = query.where(NotificationEvent.event_type == _event_type(
            request.args["event_type"]))
    template_type = query_enum("template_type", TemplateType)
    if template_type is not None:
        query = query.where(NotificationEvent.template_type == template_type)
    template_id = query_id("template_id")
    if template_id is not None:
        query = query.where(NotificationEvent.template_id == template_id)
    status = query_enum("status", HandlerStatus)
    if status is not None:
        query = query.where(NotificationEvent.status == status)
    return paginate(query, serialize_handler, sort_fields=HANDLER_SORT)


@endpoint("/notification-events/<int:handler_id>", permission="notification_events.view",
          summary="Get a notification event (handler)")
def get_notification_event_api(handler_id):
    return jsonify(serialize_handler(tenant_get_or_404(NotificationEvent, handler_id)))


@endpoint("/notification-events", methods=("POST",), permission="notification_events.manage",
          body=HANDLER_SCHEMA, status=201,
          summary="Create a handler here and at every reseller below (09 EVT-1..4); the same "
                  "event, template and rule here or below answers 409")
def create_notification_event_api():
    data = json_body()
    require(data, "event_type", "template_type", "template_id")
    with service_errors():
        handler = create_handler(g.acting_reseller, actor=g.principal,
                                 **checked(data, HANDLER_KINDS))
    db.session.commit()
    return jsonify(serialize_handler(handler)), 201


@endpoint("/notification-events/<int:handler_id>", methods=("PATCH",),
          permission="notification_events.manage", body=HANDLER_SCHEMA,
          summary="Update a handler; unchanged copies below follow (09 EVT-5, EVT-6). The "
                  "status changes only through activate / deactivate")
def update_notification_event_api(handler_id):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    data = json_body()
    if "status" in data:
        raise invalid("status", _("Use the activate and deactivate operations."))
    with service_errors():
        update_handler(handler, actor=g.principal, **checked(data, HANDLER_KINDS))
    db.session.commit()
    return jsonify(serialize_handler(handler))


@endpoint("/notification-events/<int:handler_id>/activate", methods=("POST",),
          permission="notification_events.manage",
          summary="Activate a handler; its copies keep their own status (09 §3.2, EVT-7)")
def activate_notification_event_api(handler_id):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    activate_handler(handler, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_handler(handler))


@endpoint("/notification-events/<int:handler_id>/deactivate", methods=("POST",),
          permission="notification_events.manage",
          summary="Deactivate a handler: it sends nothing; its copies keep their own status "
                  "(09 §3.2, EVT-7)")
def deactivate_notification_event_api(handler_id):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    deactivate_handler(handler, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_handler(handler))


@endpoint("/notification-events/<int:handler_id>/restore", methods=("POST",),
          permission="notification_events.manage",
          summary="Restore an inherited handler to its parent's current state, status kept "
                  "(09 D6); 409 for an own one")
def restore_notification_event_api(handler_id):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    with service_errors(state_conflict=True):
        restore_handler(handler, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_handler(handler))


@endpoint("/notification-events/<int:handler_id>", methods=("DELETE",),
          permission="notification_events.manage",
          summary="Delete an own handler and its copies below (09 §4.6); 409 for an "
                  "inherited or installed one")
def delete_notification_event_api(handler_id):
    handler = tenant_get_or_404(NotificationEvent, handler_id)
    with service_errors(state_conflict=True):
        plan = delete_handler(handler, actor=g.principal)
    db.session.commit()
    return jsonify(_deleted(handler_id, plan))


# --- the notification log (03 §2.5, §7.5; 09 §2.8) ----------------------------------------------

def serialize_notification(notification: Notification, *, full: bool = False) -> dict:
    data = {
        "id": notification.id, "created_at": iso(notification.created_at),
        "event_type": notification.event_type,
        "event_name": _event_name(notification.event_type),
        "handler_id": notification.handler_id, "template_id": notification.template_id,
        "category_id": notification.category_id, "channel": notification.channel.value,
        "client_id": notification.client_id, "user_id": notification.user_id,
        "staff_member_id": notification.staff_member_id,
        "recipient": notification.recipient, "cc": notification.cc, "bcc": notification.bcc,
        "sender": notification.sender, "language": notification.language,
        "subject": notification.subject, "status": notification.status.value,
        "send_hour": notification.send_hour, "attempts": notification.attempts,
        "cycle": notification.cycle, "last_error": notification.last_error or None,
        "next_attempt_at": iso(notification.next_attempt_at),
        "sent_at": iso(notification.sent_at), "read_at": iso(notification.read_at),
    }
    if full:
        data["body"] = notification.body
        data["attachments"] = [{"name": a.get("name"), "content_type": a.get("content_type")}
                               for a in notification.attachments or ()]
        data["attempt_log"] = [
            {"id": a.id, "cycle": a.cycle, "attempted_at": iso(a.attempted_at),
             "outcome": a.outcome.value, "error": a.error or None, "actor_id": a.actor_id}
            for a in notification.attempt_log]
    return data


NOTIFICATION_SORT = {"id": Notification.id, "created_at": Notification.created_at,
                     "status": Notification.status}


@endpoint("/notifications", permission="notification_log.view",
          summary="The notification log: what was sent, to whom, over which channel, status "
                  "(filters: client_id, status, channel, event_type, handler_id, recipient)")
def list_notifications_api():
    query = scoped_select(Notification)
    client_id = query_id("client_id")
    if client_id is not None:
        query = query.where(Notification.client_id == client_id)
    handler_id = query_id("handler_id")
    if handler_id is not None:
        query = query.where(Notification.handler_id == handler_id)
    status = query_enum("status", NotificationStatus)
    if status is not None:
        query = query.where(Notification.status == status)
    channel = query_enum("channel", TemplateType)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    if request.args.get("event_type"):
        query = query.where(Notification.event_type == _event_type(request.args["event_type"]))
    recipient = (request.args.get("recipient") or "").strip()
    if recipient:
        query = query.where(func.lower(Notification.recipient).contains(recipient.lower(),
                                                                        autoescape=True))
    return paginate(query, serialize_notification, sort_fields=NOTIFICATION_SORT,
                    default_sort="-id")


@endpoint("/notifications/<int:notification_id>", permission="notification_log.view",
          summary="One notification with its rendered body and every send attempt")
def get_notification_api(notification_id):
    notification = tenant_get_or_404(Notification, notification_id)
    return jsonify(serialize_notification(notification, full=True))


@endpoint("/notifications/<int:notification_id>/resend", methods=("POST",),
          permission="notification_log.manage",
          summary="Send a sent or failed notification again as a new attempt cycle (the earlier "
                  "attempts stay); 409 while it is still queued")
def resend_notification_api(notification_id):
    notification = tenant_get_or_404(Notification, notification_id)
    try:
        resend_notification(notification, actor=g.principal)
    except DeliveryError as error:
        error.status, error.code = 409, "conflict"
        raise
    db.session.commit()
    return jsonify(serialize_notification(notification, full=True))


# --- SMS gateways (09 §2.6, §4.13, §5.4) ---------------------------------------------------------

def serialize_gateway(gateway: SmsGateway, selected_id: int | None = None) -> dict:
    """The password is never shown: only whether one is stored."""
    settings = {}
    for setting in MODULE_SETTINGS[gateway.module]:
        value = (gateway.settings or {}).get(setting.key)
        if setting.secret:
            settings[f"{setting.key}_set"] = bool(value)
        else:
            settings[setting.key] = value or ""
    return {"id": gateway.id, "reseller_id": gateway.reseller_id, "name": gateway.name,
            "module": gateway.module.value, "settings": settings, "active": gateway.active,
            "selected": selected_id == gateway.id, "created_at": iso(gateway.created_at),
            "updated_at": iso(gateway.updated_at)}


GATEWAY_KINDS = {"name": text(255), "module": text(32), "settings": mapping}
GATEWAY_SCHEMA = {"type": "object", "required": ["name", "module"], "properties": {
    "name": {"type": "string"}, "module": {"type": "string", "enum": ["simulated", "smscru"]},
    "settings": {"type": "object", "description": "By module: simulated has none; smscru: "
                                                  "login, password, sender, url (default "
                                                  "smsc.ru). An empty or missing password "
                                                  "keeps the stored one."}}}
GATEWAY_SORT = {"id": SmsGateway.id, "name": SmsGateway.name}


def _gateway_values(data: dict) -> dict:
    values = checked(data, GATEWAY_KINDS)
    for key, value in (values.get("settings") or {}).items():
        text(255)(value, f"settings.{key}")
    return values


@endpoint("/sms-gateways", permission="sms_gateways.view", summary="List SMS gateways")
def list_sms_gateways_api():
    selected = selected_gateway_id(g.acting_reseller)
    return paginate(scoped_select(SmsGateway), lambda gw: serialize_gateway(gw, selected),
                    sort_fields=GATEWAY_SORT)


@endpoint("/sms-gateways/<int:gateway_id>", permission="sms_gateways.view",
          summary="Get an SMS gateway")
def get_sms_gateway_api(gateway_id):
    gateway = tenant_get_or_404(SmsGateway, gateway_id)
    return jsonify(serialize_gateway(gateway, selected_gateway_id(g.acting_reseller)))


@endpoint("/sms-gateways", methods=("POST",), permission="sms_gateways.manage",
          body=GATEWAY_SCHEMA, status=201,
          summary="Create an SMS gateway with its module's settings (09 SMS-1, SMS-2)")
def create_sms_gateway_api():
    data = json_body()
    require(data, "name", "module")
    with service_errors():
        gateway = create_sms_gateway(g.acting_reseller, actor=g.principal,
                                     **_gateway_values(data))
    db.session.commit()
    return jsonify(serialize_gateway(gateway, selected_gateway_id(g.acting_reseller))), 201


@endpoint("/sms-gateways/<int:gateway_id>", methods=("PATCH",),
          permission="sms_gateways.manage", body=GATEWAY_SCHEMA,
          summary="Update an SMS gateway; settings not sent and an empty password stay")
def update_sms_gateway_api(gateway_id):
    gateway = tenant_get_or_404(SmsGateway, gateway_id)
    with service_errors():
        update_sms_gateway(gateway, actor=g.principal, **_gateway_values(json_body()))
    db.session.commit()
    return jsonify(serialize_gateway(gateway, selected_gateway_id(g.acting_reseller)))


@endpoint("/sms-gateways/<int:gateway_id>", methods=("DELETE",),
          permission="sms_gateways.manage",
          summary="Delete an SMS gateway; 409 while a reseller's system settings select it "
                  "(09 SMS-4, A-28)")
def delete_sms_gateway_api(gateway_id):
    gateway = tenant_get_or_404(SmsGateway, gateway_id)
    with service_errors():
        delete_sms_gateway(gateway, actor=g.principal)
    db.session.commit()
    return jsonify({"id": gateway_id, "deleted": True})


@endpoint("/sms-gateways/selected", permission="sms_gateways.view",
          summary="The gateway chosen in this reseller's system settings (null: the nearest "
                  "reseller above decides, A-28)")
def get_selected_sms_gateway_api():
    return jsonify({"sms_gateway_id": selected_gateway_id(g.acting_reseller)})


@endpoint("/sms-gateways/selected", methods=("PUT",), permission="sms_gateways.manage",
          body={"type": "object", "required": ["sms_gateway_id"], "properties": {
              "sms_gateway_id": {"type": "integer", "nullable": True}}},
          summary="Choose the gateway this reseller sends SMS through: its own or one of a "
                  "reseller above it (09 SMS-3, A-28); null clears the choice")
def select_sms_gateway_api():
    data = json_body()
    if "sms_gateway_id" not in data:
        raise ApiValidationError({"sms_gateway_id": [_("This field is required.")]})
    gateway_id = None if data["sms_gateway_id"] is None \
        else object_id(data["sms_gateway_id"], "sms_gateway_id")
    with service_errors():
        choose_sms_gateway(g.acting_reseller, gateway_id, actor=g.principal)
    db.session.commit()
    return jsonify({"sms_gateway_id": selected_gateway_id(g.acting_reseller)})

