"""Forms of the notification pages (09 §5.1–§5.3). Field names equal the service arguments (and
the services' error fields, "body_en" for a body), so a refusal lands next to its field. The
services own the rules: choices are not validated here, a foreign id is refused there."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.notifications.models import CONTENT_LANGUAGES, TEMPLATE_TYPE_LABELS, TemplateType

TYPE_CHOICES = [(t.value, TEMPLATE_TYPE_LABELS[t]) for t in TemplateType]
LANGUAGE_LABELS = {"ru": _l("Russian"), "en": _l("English")}


class CategoryForm(FlaskForm):
    """S2 / S3 (09 CAT-6)."""

    name = StringField(_l("Name"), validators=[Length(max=255)])
    description = TextAreaField(_l("Description"), validators=[Optional()])
    published = BooleanField(_l("Published"))
    enabled_on_client_creation = BooleanField(_l("Enabled on client creation"))


class TemplateForm(FlaskForm):
    """S5 / S6: information, the channel's settings by type, subject and body per language."""

    type = SelectField(_l("Type"), choices=TYPE_CHOICES, validate_choice=False)
    name = StringField(_l("Name"), validators=[Length(max=255)])
    category_id = SelectField(_l("Category"), validate_choice=False)
    sender = StringField(_l("Sender"))
    recipient = StringField(_l("Recipient"))
    cc = StringField(_l("Cc"))
    bcc = StringField(_l("Bcc"))
    user_id = StringField(_l("User ID"))
    subject_ru = StringField(_l("Subject"))
    body_ru = TextAreaField(_l("Template body"))
    subject_en = StringField(_l("Subject"))
    body_en = TextAreaField(_l("Template body"))
    # 09 A-23: unknown placeholders render empty; the author may save them knowingly.
    allow_unknown_placeholders = BooleanField(_l("Save anyway: unknown placeholders are "
                                                 "printed as nothing"))

    def contents(self) -> dict:
        """{language: {"subject", "body"}} as the services take it; browsers post textareas
        with CRLF line ends, bodies are kept with LF (else every save would differ, A-37)."""
        return {language: {"subject": self[f"subject_{language}"].data or "",
                           "body": (self[f"body_{language}"].data or "").replace("\r\n", "\n")}
                for language in CONTENT_LANGUAGES}

    def channel_values(self) -> dict:
        return {name: self[name].data or "" for name in ("sender", "recipient", "cc", "bcc",
                                                         "user_id")}


class HandlerForm(FlaskForm):
    """S9 / S10 (09 §2.4, EVT-4, EVT-5)."""

    event_type = SelectField(_l("Event"), validate_choice=False)
    template_type = SelectField(_l("Template type"), choices=TYPE_CHOICES,
                                validate_choice=False)
    template_id = SelectField(_l("Notification template"), validate_choice=False)
    send_immediately = BooleanField(_l("Queue for sending at once"), default=True)
    # Checked by the service (0–23, required without "at once"), whose message is the one shown.
    send_hour = StringField(_l("Queue for sending at a set hour of the day"))
    rule = TextAreaField(_l("Rule"))
