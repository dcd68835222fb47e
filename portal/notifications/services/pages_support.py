"""What the operator-panel pages of notifications need beyond the use-case services: the
deletion confirmation (what would go, 09 DLT-6), the compare tab on a text being edited
(TPL-7/8) and the template preview against a sample (A-27). Nothing here writes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.notifications.event_types import (EVENT_TYPES_BY_KEY, EventType,
                                              available_event_types)
from portal.notifications.liquid_env import TemplateRenderError, render_template
from portal.notifications.models import (NotificationCategory, NotificationEvent,
                                         NotificationTemplate, TemplateType)
from portal.notifications.placeholders import ContextError, fake_context, sample_context
from portal.notifications.services.compare import TemplateComparison, body_fragments
from portal.notifications.services.deletion import (DeletionPlan, Row, _handler_label,
                                                    _plan_category, _plan_handler,
                                                    _plan_templates)
from portal.notifications.services.templates import reference_body
from portal.notifications.services.validation import handler_event_types

# -- the deletion confirmation (09 DLT-6) ------------------------------------------------------


@dataclass(frozen=True)
class DeletionSummary:
    """How many rows of each kind a deletion takes besides the row itself: at the row's
    reseller and at the resellers below it."""

    here: dict[str, int]
    below: dict[str, int]

    @property
    def cascades(self) -> bool:
        return any(self.here.values()) or any(self.below.values())


def plan_deletion(row) -> DeletionPlan:
    """What deleting an own category, template or handler would delete, with its cascades and
    retention rules (09 DLT-2..DLT-7), without deleting anything."""
    plan = DeletionPlan()
    with across_tenants():
        if isinstance(row, NotificationCategory):
            _plan_category(plan, Row(row.id, row.reseller_id, row.modified, row.name))
        elif isinstance(row, NotificationTemplate):
            _plan_templates(plan, [Row(row.id, row.reseller_id, row.modified, row.name,
                                       row.category_id)])
        elif isinstance(row, NotificationEvent):
            _plan_handler(plan, Row(row.id, row.reseller_id, row.modified,
                                    _handler_label(row.event_type, row.id), row.template_id))
        else:
            raise TypeError(f"not a notification row: {row!r}")
    return plan


def summarise_deletion(row) -> DeletionSummary:
    """plan_deletion counted by kind, the row itself aside, at its reseller and below."""
    plan = plan_deletion(row)
    here: Counter = Counter()
    below: Counter = Counter()
    for kind, model, rows in (("categories", NotificationCategory, plan.categories),
                              ("templates", NotificationTemplate, plan.templates),
                              ("handlers", NotificationEvent, plan.handlers)):
        for planned in rows.values():
            if isinstance(row, model) and planned.id == row.id:
                continue
            (here if planned.reseller_id == row.reseller_id else below)[kind] += 1
    kinds = ("categories", "templates", "handlers")
    return DeletionSummary({k: here[k] for k in kinds}, {k: below[k] for k in kinds})


# -- compare on the text being edited (09 TPL-7, TPL-8) ----------------------------------------


def text_digest(text: str) -> str:
    """A short fingerprint of the text a set of fragments was computed from: a revert of
    fragment n only applies to that same text."""
    return hashlib.sha256((text or "").encode()).hexdigest()[:16]


def compare_text(template: NotificationTemplate, *, language: str,
                 text: str | None = None) -> TemplateComparison:
    """The compare tab for one language, on `text` (the body being edited) or, without it, on
    the saved body. Raises NotificationError for a template with nothing to compare with."""
    kind, reference = reference_body(template, language)
    if text is None:
        content = template.content(language)
        text = content.body if content is not None else ""
    # Browsers post textareas with CRLF line ends; the bodies are stored with LF.
    text = text.replace("\r\n", "\n")
    return TemplateComparison(language, kind, text, reference, body_fragments(text, reference))


def comparable(template: NotificationTemplate) -> bool:
    """09 TPL-6: the compare tab exists for inherited templates and, at the Operator, for
    installed ones."""
    return template.source_id is not None or (template.installed
                                              and bool(template.default_snapshot))


# -- the preview (09 A-27) ---------------------------------------------------------------------


@dataclass
class TemplatePreview:
    """A template rendered against a sample: each part, or the error that stopped it."""

    event: EventType
    language: str
    headers: list[tuple[object, str]] = field(default_factory=list)  # (label, rendered)
    subject: str = ""
    body: str = ""
    html: bool = True
    errors: list[tuple[object, str]] = field(default_factory=list)  # (part label, message)


def preview_event_types(template: NotificationTemplate) -> list[EventType]:
    """The events a preview may use: those whose handlers use the template, else every event
    whose source exists (A-27)."""
    used = [EVENT_TYPES_BY_KEY[key] for key in handler_event_types(template)
            if key in EVENT_TYPES_BY_KEY]
    return sorted(used, key=lambda e: e.number) if used else list(available_event_types())


_HEADERS = {
    TemplateType.EMAIL: (("sender", _l("Sender")), ("recipient", _l("Recipient")),
                         ("cc", _l("Cc")), ("bcc", _l("Bcc"))),
    TemplateType.SMS: (("recipient", _l("Recipient")),),
    TemplateType.CLIENT_PANEL: (("user_id", _l("User ID")),),
}


def preview_template(template: NotificationTemplate, *, event_type: str, language: str,
                     reseller) -> TemplatePreview:
    """Render the template's saved texts in `language` against a sample context of
    `event_type` at `reseller` (its latest fitting object, else the fake context). A part that
    does not render gives its message, never an exception."""
    event = EVENT_TYPES_BY_KEY[event_type]
    try:
        context = sample_context(event_type, reseller, language=language)
    except ContextError:  # the sample object reaches across tenants: show the fake values
        context = fake_context(event_type)
    preview = TemplatePreview(event, language, html=template.type != TemplateType.SMS)

    def render(label, source: str, *, html: bool = False) -> str:
        try:
            return render_template(source or "", context, language=language,
                                   currency=reseller.currency, html=html, zone=clock.zone())
        except TemplateRenderError as error:
            preview.errors.append((label, str(error)))
            return ""

    for name, label in _HEADERS[template.type]:
        if getattr(template, name):
            preview.headers.append((label, " ".join(render(label, getattr(template, name))
                                                    .split())))
    content = template.content(language)
    if content is None:
        preview.errors.append((_l("Template body"),
                               str(_l("The template has no text in this language."))))
        return preview
    if template.type != TemplateType.SMS:
        preview.subject = " ".join(render(_l("Subject"), content.subject).split())
    preview.body = render(_l("Template body"), content.body, html=preview.html)
    return preview
