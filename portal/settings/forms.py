from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.settings.models import LANGUAGES, DocumentType, PasswordComplexity

ZONES = sorted(available_timezones())
LANGUAGE_CHOICES = list(LANGUAGES.items())
MASK_LABELS = {
    DocumentType.SALES_ORDER: _l("Sales order"),
    DocumentType.RENEWAL_ORDER: _l("Renewal order"),
    DocumentType.PROLONG_ORDER: _l("Prolongation order"),
    DocumentType.CHANGE_ORDER: _l("Resource change order"),
    DocumentType.SWITCH_ORDER: _l("Plan switch order"),
    DocumentType.PAYMENT: _l("Payment"),
    DocumentType.PROMISED_PAYMENT: _l("Promised payment"),
    DocumentType.ACT: _l("Act"),
}


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SystemSettingsForm(FlaskForm):
    time_zone = SelectField(_l("Time zone"), choices=[(z, z) for z in ZONES])
    operator_languages = MultiCheckbox(_l("Operator panel languages"), choices=LANGUAGE_CHOICES)
    operator_default_language = SelectField(_l("Default language"), choices=LANGUAGE_CHOICES)
    client_languages = MultiCheckbox(_l("Client panel languages"), choices=LANGUAGE_CHOICES)
    client_default_language = SelectField(_l("Default language"), choices=LANGUAGE_CHOICES)
    storefront_url = StringField(_l("Online store link"), validators=[Optional(), Length(max=500)])
    require_privacy_consent = BooleanField(_l("Ask for consent to the privacy policy"))
    privacy_policy_url = StringField(_l("Privacy policy link"), validators=[Optional(), Length(max=500)])
    require_terms_consent = BooleanField(_l("Ask for acceptance of the general terms"))
    terms_url = StringField(_l("General terms link"), validators=[Optional(), Length(max=500)])


for _doc in DocumentType:
    setattr(SystemSettingsForm, f"mask_{_doc.value}",
            StringField(MASK_LABELS[_doc], validators=[DataRequired(), Length(max=32)]))


def _positive(label):
    return IntegerField(label, validators=[DataRequired(), NumberRange(min=1, max=100000)])


class SecuritySettingsForm(FlaskForm):
    password_complexity = SelectField(_l("Password complexity"), choices=[
        (PasswordComplexity.STRONG.value, _l("Strong")), (PasswordComplexity.GOOD.value, _l("Good")),
        (PasswordComplexity.SIMPLE.value, _l("Simple"))])
    forbid_login_in_password = BooleanField(_l("The password may not contain the login"))
    staff_login_rules_enabled = BooleanField(_l("Limit sign-in attempts"))
    staff_max_login_attempts = _positive(_l("Sign-in attempts"))
    staff_lockout_minutes = _positive(_l("Pause before the next attempts, minutes"))
    staff_password_expiry_enabled = BooleanField(_l("Passwords expire"))
    staff_password_valid_days = _positive(_l("Password validity, days"))
    staff_password_reminder_days = IntegerField(_l("Reminder before expiry, days"),
                                                validators=[NumberRange(min=0, max=100000)])
    session_idle_minutes = _positive(_l("Sign out after inactivity, minutes"))
    reset_link_valid_minutes = _positive(_l("Password reset link valid, minutes"))
