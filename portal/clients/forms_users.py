"""Forms of the client-user pages (01 S12–S16). Field names equal the service arguments, so a
refusal of the service (duplicate e-mail, password policy, owner rules) lands next to its field.

The services check e-mails, names and passwords; these forms only say what is missing.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.clients.models import ACCESS_LEVEL_LABELS, AccessLevel


def access_level_choices(*, owner: bool = True) -> list[tuple[str, object]]:
    """Owner, administrator, user; attaching an existing user offers no owner (01 R-USR-7)."""
    return [(level.value, label) for level, label in ACCESS_LEVEL_LABELS.items()
            if owner or level != AccessLevel.OWNER]


def _name(label, message=None, *, required=True):
    validators = [Length(max=128)]
    if required:
        validators.insert(0, DataRequired(message))
    return StringField(label, validators=validators)


class UserNamesMixin:
    last_name = _name(_l("Last name"), _l("Enter the last name."))
    first_name = _name(_l("First name"), _l("Enter the first name."))
    middle_name = _name(_l("Middle name"), required=False)


class UserCreateForm(UserNamesMixin, FlaskForm):
    """«Добавить пользователя» of the users section (01 R-USR-12)."""

    email = StringField(_l("E-mail"), validators=[DataRequired(_l("Enter the e-mail address.")),
                                                  Length(max=255)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter the password."))])
    privacy_accepted = BooleanField(_l("Accepted"), default=True)


class ClientUserCreateForm(UserNamesMixin, FlaskForm):
    """«Создать пользователя» on a client's Users tab (01 R-USR-6)."""

    email = StringField(_l("E-mail"), validators=[DataRequired(_l("Enter the e-mail address.")),
                                                  Length(max=255)])
    access_level = SelectField(_l("Access level"), default=AccessLevel.USER.value,
                               choices=access_level_choices)
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter the password."))])


class UserEditForm(UserNamesMixin, FlaskForm):
    """The editable part of «Общая информация» on the user page (01 R-USR-14)."""

    privacy_accepted = BooleanField(_l("Accepted"))


class UserPasswordForm(FlaskForm):
    """«Сбросить пароль» by staff (01 R-PWD-5): both fields equal; the policy is the service's."""

    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter the password."))])
    confirm = PasswordField(_l("Password confirmation"), validators=[
        DataRequired(_l("Repeat the password.")),
        EqualTo("password", _l("The passwords do not match."))])


class AccessLevelForm(FlaskForm):
    """The inline level select of one row on the client's Users tab (01 R-USR-8)."""

    access_level = SelectField(_l("Access level"), choices=access_level_choices)


class AttachUserForm(FlaskForm):
    """One row of «Добавление пользователя»: administrator or user only (01 R-USR-7)."""

    access_level = SelectField(_l("Access level"), default=AccessLevel.USER.value,
                               choices=lambda: access_level_choices(owner=False))
