from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from portal.core.money import CURRENCIES
from portal.settings.models import LANGUAGES
from portal.tenancy.models import SettingsMode, SmtpSecurity

CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]
LANGUAGE_CHOICES = list(LANGUAGES.items())
MODE_CHOICES = [(SettingsMode.COPY_PROVIDER.value, _l("Copy the provider's settings")),
                (SettingsMode.COPY_STANDARD.value, _l("Copy the standard settings"))]
SECURITY_CHOICES = [(SmtpSecurity.NONE.value, _l("None")), (SmtpSecurity.STARTTLS.value, "STARTTLS"),
                    (SmtpSecurity.SSL.value, "SSL/TLS")]


class ResellerDetailsMixin:
    name = StringField(_l("Reseller name"), validators=[DataRequired(), Length(max=255)])
    company_name = StringField(_l("Company name"), validators=[Optional(), Length(max=255)])
    country_code = StringField(_l("Country (ISO code)"), validators=[Optional(), Length(min=2, max=2)])
    contact_last_name = StringField(_l("Contact's last name"), validators=[Optional(), Length(max=128)])
    contact_first_name = StringField(_l("Contact's first name"), validators=[Optional(), Length(max=128)])
    contact_phone = StringField(_l("Contact's phone"), validators=[Optional(), Length(max=64)])
    contact_email = EmailField(_l("Contact's e-mail"), validators=[Optional(), Email()])


class ResellerCreateForm(ResellerDetailsMixin, FlaskForm):
    currency = SelectField(_l("Currency"), choices=CURRENCY_CHOICES, default="USD")
    settings_mode = SelectField(_l("Default settings"), choices=MODE_CHOICES)
    domain = StringField(_l("Panel domain"), validators=[Optional(), Length(max=255)])


class ResellerEditForm(ResellerDetailsMixin, FlaskForm):
    currency = SelectField(_l("Currency"), choices=CURRENCY_CHOICES)


class BrandingForm(FlaskForm):
    panel_title = StringField(_l("Operator panel title"), validators=[Optional(), Length(max=255)])
    client_panel_title = StringField(_l("Client panel title"), validators=[Optional(), Length(max=255)])
    store_title = StringField(_l("Store title"), validators=[Optional(), Length(max=255)])
    default_language = SelectField(_l("Default language"), choices=LANGUAGE_CHOICES)
    primary_color = StringField(_l("Colour"), validators=[Optional(), Length(max=7)])
    logo = FileField(_l("Logo"))
    favicon = FileField(_l("Favicon"))


class DomainForm(FlaskForm):
    panel_domain = StringField(_l("Panel domain"), validators=[Optional(), Length(max=255)])
    store_domain = StringField(_l("Store domain"), validators=[Optional(), Length(max=255)])
    # 07 BR-18: the client panel also works at /client/ on the panel domain; this host is optional.
    client_domain = StringField(_l("Client panel domain"), validators=[Optional(), Length(max=255)])


class SmtpForm(FlaskForm):
    smtp_host = StringField(_l("Host"), validators=[Optional(), Length(max=255)])
    smtp_port = IntegerField(_l("Port"), validators=[Optional(), NumberRange(1, 65535)])
    smtp_security = SelectField(_l("Encryption"), choices=SECURITY_CHOICES)
    smtp_username = StringField(_l("User name"), validators=[Optional(), Length(max=255)])
    smtp_password = PasswordField(_l("Password"), validators=[Optional(), Length(max=255)])
    smtp_sender = EmailField(_l("Default sender"), validators=[Optional(), Email()])


class TestEmailForm(FlaskForm):
    to = EmailField(_l("Send a test e-mail to"), validators=[DataRequired(), Email()])
