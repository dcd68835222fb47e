"""Forms of the client pages (01 S10, S11). Field names equal the service arguments, so a
refusal of the service lands next to its field; an additional parameter `inn` is the field
`param_inn` (the service names it `parameters.inn`).

The additional-parameter fields depend on the client type, so each request builds its form class
with `client_form(...)`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, PasswordField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired

from portal.clients.models import AdditionalParameter, ParameterType
from portal.clients.services.parameter_values import default_value

PARAM_PREFIX = "param_"


def parameter_field_name(key: str) -> str:
    return f"{PARAM_PREFIX}{key}"


class ClientForm(FlaskForm):
    """What the create form and the client page share."""

    client_type_id = RadioField(_l("Client type"), coerce=int,
                                validators=[InputRequired(_l("Choose the client type."))])
    primary_name = StringField(_l("Name"))
    first_name = StringField(_l("First name"))
    middle_name = StringField(_l("Middle name"))
    last_name = StringField(_l("Last name"))
    manager_id = SelectField(_l("Manager"), choices=[], validate_choice=False)
    service_rule_id = SelectField(_l("Service rule"), choices=[], validate_choice=False,
                                  validators=[DataRequired(_l("Choose the service rule."))])
    # Contacts (R-CL-5, R-CL-6)
    country = SelectField(_l("Country"), choices=[], validate_choice=False,
                          validators=[DataRequired(_l("Choose the country."))])
    region = StringField(_l("Region"))
    city = StringField(_l("City"))
    street = StringField(_l("Street"))
    house = StringField(_l("House"))
    premises = StringField(_l("Premises"))
    postal_code = StringField(_l("Postal code"))
    phone = StringField(_l("Phone"))
    # The person authorised to sign the contract: first, last name and e-mail required.
    signatory_first_name = StringField(
        _l("First name"), validators=[DataRequired(_l("Enter the signatory's first name."))])
    signatory_last_name = StringField(
        _l("Last name"), validators=[DataRequired(_l("Enter the signatory's last name."))])
    signatory_middle_name = StringField(_l("Middle name"))
    signatory_email = StringField(
        _l("E-mail"), validators=[DataRequired(_l("Enter the signatory's e-mail."))])
    # The payment-model overrides: switched on, the service rule's value applies (R-CLV-3).
    block_threshold_from_rule = BooleanField(_l("Use the service rule's value"), default=True)
    block_threshold = StringField(_l("Financial block threshold"))
    credit_limit_from_rule = BooleanField(_l("Use the service rule's value"), default=True)
    credit_limit = StringField(_l("Credit limit per subscription"))
    terms_accepted = BooleanField(_l("Acceptance of the general terms: accepted"), default=True)


class ClientCreateForm(ClientForm):
    """01 S10 «Добавить клиента»: the owner is created here or chosen among the users (R-CL-2)."""

    owner_mode = RadioField(_l("Client's contact person"), default="create",
                            choices=[("create", _l("Create an owner")),
                                     ("choose", _l("Choose an owner"))])
    owner_first_name = StringField(_l("First name"))
    owner_last_name = StringField(_l("Last name"))
    owner_middle_name = StringField(_l("Middle name"))
    owner_email = StringField(_l("E-mail"))
    owner_user_id = SelectField(_l("Owner"), choices=[], validate_choice=False)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.owner_mode.data == "choose" and not self.owner_user_id.data:
            self.owner_user_id.errors = [*self.owner_user_id.errors,
                                         _l("Choose the owner.")]
            valid = False
        return valid


class ClientUpdateForm(ClientForm):
    """01 S11 «Общая информация»: the contacts are chosen among the client's users (R-CLV-7)."""

    technical_contact_id = SelectField(_l("Technical contact"), choices=[],
                                       validate_choice=False)
    financial_contact_id = SelectField(_l("Financial contact"), choices=[],
                                       validate_choice=False)


def _parameter_field(parameter: AdditionalParameter, *, creating: bool):
    label = parameter.name
    description = parameter.description or ""
    kind = parameter.data_type
    if kind == ParameterType.BOOLEAN:
        default = default_value(parameter) == "true" if creating else False
        return BooleanField(label, default=default, description=description)
    default = default_value(parameter) if creating else ""
    if kind == ParameterType.TEXT:
        return TextAreaField(label, default=default, description=description)
    if kind == ParameterType.PASSWORD:
        return PasswordField(label, description=description)
    if kind == ParameterType.LIST:
        choices = [("", "—")] + [(o["key"], o["name"]) for o in parameter.options or []]
        return SelectField(label, choices=choices, default=default, validate_choice=False,
                           description=description)
    render_kw = {"type": "date"} if kind == ParameterType.DATE else None
    return StringField(label, default=default, description=description, render_kw=render_kw)


def client_form(base: type[ClientForm], parameters: list[AdditionalParameter], *,
                creating: bool, **kwargs) -> ClientForm:
    """An instance of base with a field per additional parameter the operator may edit (R-CL-9);
    kwargs go to the form (formdata=None, obj=..., values of fields)."""
    fields = {parameter_field_name(p.key): _parameter_field(p, creating=creating)
              for p in parameters if not p.readonly_for_operator}
    form_class = type(base.__name__, (base,), fields)
    form = form_class(**kwargs)
    form.parameters = [p for p in parameters if not p.readonly_for_operator]
    form.parameter_fields = [(p, form[parameter_field_name(p.key)]) for p in form.parameters]
    return form


def parameter_data(form: ClientForm, *, creating: bool) -> dict[str, str | bool]:
    """{key: value} of the parameter fields, as the service takes them. On the client page an
    empty password keeps the stored one, so it is left out."""
    values = {}
    for parameter in form.parameters:
        data = form[parameter_field_name(parameter.key)].data
        if parameter.data_type == ParameterType.BOOLEAN:
            values[parameter.key] = bool(data)
            continue
        data = data or ""
        if parameter.data_type == ParameterType.PASSWORD and not data and not creating:
            continue
        values[parameter.key] = data
    return values
