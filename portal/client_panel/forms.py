from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from portal.settings.models import LANGUAGES


class UserLoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=255)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=255)])


class UserForgotForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=255)])


class UserNewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=255)])
    confirm = PasswordField(_l("Confirm the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])


class UserPasswordChangeForm(UserNewPasswordForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(), Length(max=255)])


class UserSettingsForm(FlaskForm):
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=128)])
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=128)])
    middle_name = StringField(_l("Middle name"), validators=[Optional(), Length(max=128)])
    language = SelectField(_l("Language"), choices=[("", _l("The panel's default")),
                                                    *LANGUAGES.items()])
