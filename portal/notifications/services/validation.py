"""Checks on save: template fields as Liquid and addresses, handler rules and timing
(09 TPL-2..4, A-23, A-27, A-32..A-35, §4.7)."""

from __future__ import annotations

import hashlib
import re
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.event_types import EVENT_TYPES, EVENT_TYPES_BY_KEY
from portal.notifications.liquid_validation import (UNKNOWN_PLACEHOLDER, union_schemas,
                                                    validate_template)
from portal.notifications.models import (CONTENT_LANGUAGES, NotificationEvent,
                                         NotificationTemplate, TemplateType)
from portal.notifications.placeholders import schema_for
from portal.notifications.rule_language import RuleSyntaxError, parse_rule
from portal.notifications.rule_placeholders import rule_placeholders_for
from portal.notifications.services.errors import (NotificationError, RuleInvalid,
                                                  TemplateContentInvalid)

EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
PHONE_RE = re.compile(r"^\+[0-9]{7,15}$")  # 09 TPL-3: international format
USER_ID_RE = re.compile(r"^[0-9]+$")
NET_COST_CHANGED = "net_cost_changed"

FIELD_LABELS = {
    "name": _l("Name"), "sender": _l("Sender"), "recipient": _l("Recipient"), "cc": _l("Cc"),
    "bcc": _l("Bcc"), "user_id": _l("User ID"), "subject": _l("Subject"),
    "body": _l("Template body"),
}
# 09 A-32: the required "Дополнительные настройки" per type.
REQUIRED_FIELDS = {TemplateType.EMAIL: ("sender", "recipient"),
                   TemplateType.SMS: ("recipient",),
                   TemplateType.CLIENT_PANEL: ("user_id",)}
CHANNEL_FIELDS = {TemplateType.EMAIL: ("sender", "recipient", "cc", "bcc"),
                  TemplateType.SMS: ("recipient",),
                  TemplateType.CLIENT_PANEL: ("user_id",)}


def content_field(field: str, language: str) -> str:
    """The form field of a subject or body in one language: "body_en"."""
    return f"{field}_{language}"


def _label(field: str):
    base, _sep, language = field.rpartition("_")
    if language in CONTENT_LANGUAGES and base in FIELD_LABELS:
        return _l("%(field)s (%(language)s)", field=FIELD_LABELS[base], language=language)
    return FIELD_LABELS.get(field, field)


def _has_liquid(text: str) -> bool:
    return "{{" in text or "{%" in text


# -- Liquid against the events that use the template (A-27) -----------------------------------


@cache
def _all_events_schema() -> dict:
    return union_schemas(*(schema_for(event.key) for event in EVENT_TYPES))


def template_schema(event_types) -> dict:
    """The placeholders a template may use: those of the events whose handlers use it, or of
    every event while no handler does (09 A-27)."""
    keys = sorted(set(event_types))
    if not keys:
        return _all_events_schema()
    return union_schemas(*(schema_for(key) for key in keys))


def handler_event_types(template: NotificationTemplate) -> list[str]:
    """The event types of the handlers (at the template's own reseller) that use it."""
    if template.id is None:
        return []
    return list(db.session.scalars(select(NotificationEvent.event_type).where(
        NotificationEvent.reseller_id == template.reseller_id,
        NotificationEvent.template_id == template.id).distinct()))


def check_liquid(source: str, schema: dict, *, field: str,
                 allow_unknown_placeholders: bool = False) -> None:
    """Refuse syntax errors and unknown filters always; unknown placeholders unless the author
    confirmed them (A-23 renders them empty)."""
    problems = validate_template(source or "", schema)
    if allow_unknown_placeholders:
        problems = [p for p in problems if p.kind != UNKNOWN_PLACEHOLDER]
    if problems:
        raise TemplateContentInvalid(
            _l("%(field)s: %(problems)s", field=_label(field),
               problems="; ".join(str(problem) for problem in problems)),
            field=field, problems=problems)


# -- template fields --------------------------------------------------------------------------


def clean_contents(contents) -> dict[str, dict[str, str]]:
    """Normalise {language: {"subject", "body"}}; a language with neither is dropped."""
    cleaned: dict[str, dict[str, str]] = {}
    for language, texts in (contents or {}).items():
        if language not in CONTENT_LANGUAGES:
            raise NotificationError(_l("Unknown language “%(language)s”.", language=language),
                                    field="contents")
        if texts is None:
            continue
        subject = (texts.get("subject") or "").strip()
        body = texts.get("body") or ""
        if subject or body.strip():
            cleaned[language] = {"subject": subject, "body": body}
    return cleaned


def check_template(template_type: TemplateType, values: dict, contents: dict, schema: dict, *,
                   allow_unknown_placeholders: bool = False) -> None:
    """09 A-32, TPL-2..4: required fields, address formats, every rendered field as Liquid."""
    if not values.get("name"):
        raise NotificationError(_l("Enter the template's name."), field="name")
    for field in REQUIRED_FIELDS[template_type]:
        if not values.get(field):
            raise NotificationError(_l("%(field)s is required.", field=_label(field)),
                                    field=field)
    for field in CHANNEL_FIELDS[template_type]:
        value = values.get(field) or ""
        _check_format(template_type, field, value)
        check_liquid(value, schema, field=field,
                     allow_unknown_placeholders=allow_unknown_placeholders)
    if not contents:
        raise NotificationError(_l("Write the template in at least one language."),
                                field=content_field("body", CONTENT_LANGUAGES[0]))
    for language, texts in contents.items():
        if template_type != TemplateType.SMS:
            if not texts["subject"]:
                raise NotificationError(_l("%(field)s is required.",
                                           field=_label(content_field("subject", language))),
                                        field=content_field("subject", language))
            check_liquid(texts["subject"], schema, field=content_field("subject", language),
                         allow_unknown_placeholders=allow_unknown_placeholders)
        if not texts["body"].strip():
            raise NotificationError(_l("%(field)s is required.",
                                       field=_label(content_field("body", language))),
                                    field=content_field("body", language))
        check_liquid(texts["body"], schema, field=content_field("body", language),
                     allow_unknown_placeholders=allow_unknown_placeholders)


def _check_format(template_type: TemplateType, field: str, value: str) -> None:
    if not value:
        return
    if template_type == TemplateType.CLIENT_PANEL:
        if not (_has_liquid(value) or USER_ID_RE.match(value)):
            raise NotificationError(_l("The user ID is a number or a placeholder such as "
                                       "{{owner.id}}."), field=field)
        return
    for item in value.split(","):
        item = item.strip()
        if _has_liquid(item):
            continue
        if template_type == TemplateType.SMS:
            if not PHONE_RE.match(item):
                raise NotificationError(
                    _l("“%(value)s” is not a phone number in international format (+79991234567) "
                       "or a placeholder.", value=item), field=field)
        elif not EMAIL_RE.match(item):
            raise NotificationError(_l("“%(value)s” is not an e-mail address or a placeholder.",
                                       value=item), field=field)


# -- handlers ---------------------------------------------------------------------------------


def normalise_rule(rule: str | None) -> str:
    """09 A-35: rules compare after trimming and collapsing whitespace."""
    return " ".join((rule or "").split())


def rule_key(rule: str | None) -> str:
    """The digest the uniqueness constraint compares (rules may be long)."""
    return hashlib.sha256(normalise_rule(rule).encode()).hexdigest()


def check_rule(event_type: str, rule: str) -> None:
    """09 §4.7, RULE-10, A-33: the rule parses with the event's placeholders."""
    if event_type == NET_COST_CHANGED and rule.strip():
        raise NotificationError(
            _l("For the event “%(event)s” the rule must be empty.",
               event=EVENT_TYPES_BY_KEY[NET_COST_CHANGED].name), field="rule")
    try:
        parse_rule(rule, placeholders=rule_placeholders_for(event_type))
    except RuleSyntaxError as error:
        raise RuleInvalid(error.message, position=error.position) from error


def check_event_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES_BY_KEY:
        raise NotificationError(_l("Unknown event."), field="event_type")


def check_timing(send_immediately: bool, send_hour) -> int | None:
    """09 EVT-4, A-30: without "at once" an hour 0–23 is required; with it, none is kept."""
    if send_immediately:
        return None
    if send_hour in (None, ""):
        raise NotificationError(_l("Enter the hour at which to queue the notifications."),
                                field="send_hour")
    if isinstance(send_hour, str) and send_hour.strip().isdigit():
        send_hour = int(send_hour.strip())
    if isinstance(send_hour, bool) or not isinstance(send_hour, int) or not 0 <= send_hour <= 23:
        raise NotificationError(_l("The hour is a whole number from 0 to 23."),
                                field="send_hour")
    return send_hour
