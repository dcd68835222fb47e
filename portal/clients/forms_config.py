"""Forms of the client-type, service-rule and additional-parameter pages (08 S-1..S-6,
S-17..S-21). Field names equal the service arguments, so a refusal lands next to its field;
amounts are text the service parses, as in the catalogue forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, IntegerField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.clients.models import (LEGAL_FORM_LABELS, PARAMETER_TARGET_LABELS,
                                   PARAMETER_TYPE_LABELS, PAYMENT_MODEL_LABELS, RULE_COLORS,
                                   STOP_METHOD_LABELS, LegalForm, ParameterTarget, ParameterType,
                                   PaymentModel, StopMethod)


class TextValue(StringField):
    """A text input holding a number the service parses (a Decimal shows as text)."""

    def process_data(self, value):
        self.data = None if value is None else str(value)


def id_or_none(value):
    """A select's value as an id; the empty choice is None (the service says why)."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _days(label, default):
    return IntegerField(label, default=default,
                        validators=[InputRequired(_l("Enter a whole number of days."))])


# -- client types (S-2, S-3) ------------------------------------------------------------------

class ClientTypeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the client type's name.")),
                                               Length(max=255)])
    name_template = StringField(_l("Name template"), validators=[
        DataRequired(_l("Enter the name template.")), Length(max=255)])
    primary_name_label = StringField(_l("Primary name"), validators=[Optional(),
                                                                     Length(max=255)])
    key = StringField(_l("Key"), validators=[DataRequired(_l("Enter the key.")), Length(max=64)])
    legal_form = SelectField(_l("Legal form"),
                             choices=[(f.value, LEGAL_FORM_LABELS[f]) for f in LegalForm],
                             default=LegalForm.ORGANIZATION.value)
    is_default = BooleanField(_l("Default type for new clients"))

    FIELDS = ("name", "name_template", "primary_name_label", "key", "legal_form")


class DelegatedClientTypeForm(FlaskForm):
    """R-CT-8: a delegated copy only takes the default flag."""

    is_default = BooleanField(_l("Default type for new clients"))


# -- service rules (S-5, S-6) -----------------------------------------------------------------

def _choices(labels, enum_class):
    return [(item.value, labels[item]) for item in enum_class]


class ServiceRuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the rule's name.")),
                                               Length(max=255)])
    key = StringField(_l("Key"), validators=[DataRequired(_l("Enter the key.")), Length(max=64)])
    stop_method = SelectField(_l("Subscription stop method"),
                              choices=_choices(STOP_METHOD_LABELS, StopMethod))
    delete_method = SelectField(_l("Subscription deletion method"),
                                choices=_choices(STOP_METHOD_LABELS, StopMethod))
    color = SelectField(_l("Colour"), choices=list(RULE_COLORS.items()), default="grey")
    is_default = BooleanField(_l("Default rule for new clients"))
    payment_model = SelectField(_l("Default payment model"),
                                choices=_choices(PAYMENT_MODEL_LABELS, PaymentModel))
    # Prepay
    block_threshold = TextValue(_l("Financial block threshold"), default="0.00",
                                validators=[InputRequired(_l("Enter an amount.")),
                                            Length(max=32)])
    allow_negative_balance_payment = BooleanField(_l("Pay with a negative balance"))
    negative_balance_days = _days(_l("Allowed negative balance period (days)"), 0)
    cancel_unpaid_order_after_days = _days(_l("Cancel an unpaid order after (days)"), 1)
    # Postpay
    credit_limit = TextValue(_l("Credit limit per subscription"), default="0.00",
                             validators=[InputRequired(_l("Enter an amount.")), Length(max=32)])
    payment_grace_days = _days(_l("Payment grace period (days)"), 0)
    # Promised payments
    promised_payment_limit = TextValue(_l("Promised payment limit"), default="0.00",
                                       validators=[InputRequired(_l("Enter an amount.")),
                                                   Length(max=32)])
    promised_payment_days = _days(_l("Promised payment period (days)"), 0)

    FIELDS = ("name", "key", "stop_method", "delete_method", "color", "is_default",
              "payment_model", "block_threshold", "allow_negative_balance_payment",
              "negative_balance_days", "cancel_unpaid_order_after_days", "credit_limit",
              "payment_grace_days", "promised_payment_limit", "promised_payment_days")


# -- additional parameters (S-18, S-19, S-21) -------------------------------------------------

def parse_options(text: str | None) -> list[dict]:
    """ "name=key" per line (a line without "=" uses the name as the key), in order."""
    options = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        name, sep, key = line.rpartition("=") if "=" in line else (line, "", line)
        options.append({"name": name.strip(), "key": key.strip()})
    return options


def format_options(options) -> str:
    return "\n".join(f"{o['name']}={o['key']}" for o in options or [])


class ParameterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the parameter's name.")),
                                               Length(max=255)])
    data_type = SelectField(_l("Data type"),
                            choices=_choices(PARAMETER_TYPE_LABELS, ParameterType))
    options = TextAreaField(_l("List items"), validators=[Optional(), Length(max=20000)],
                            description=_l("One item per line: name=key, in the order of the "
                                           "list."))
    first_option_is_default = BooleanField(_l("The first item is the default value"))
    format = StringField(_l("Format"), validators=[Optional(), Length(max=500)],
                         description=_l("A regular expression the whole value must match."))
    default_value = StringField(_l("Default value"), validators=[Optional(), Length(max=500)])
    applies_to = SelectField(_l("Apply to"),
                             choices=_choices(PARAMETER_TARGET_LABELS, ParameterTarget))
    # The service checks that the type and group are the reseller's (and says so by field).
    client_type_id = SelectField(_l("Client type"), coerce=id_or_none, choices=[],
                                 validate_choice=False)
    optional = BooleanField(_l("Optional"))
    readonly_for_client = BooleanField(_l("Read-only for the client"))
    readonly_for_operator = BooleanField(_l("Read-only for the operator"))
    public = BooleanField(_l("Public"))
    unique = BooleanField(_l("Unique"))
    key = StringField(_l("Key"), validators=[DataRequired(_l("Enter the key.")), Length(max=64)])
    weight = IntegerField(_l("Weight"), default=0,
                          validators=[InputRequired(_l("Enter a whole number."))])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    group_id = SelectField(_l("Group"), coerce=id_or_none, choices=[], validate_choice=False)

    FIELDS = ("name", "data_type", "first_option_is_default", "format", "default_value",
              "applies_to", "client_type_id", "optional", "readonly_for_client",
              "readonly_for_operator", "public", "unique", "key", "weight", "description",
              "group_id")

    def set_choices(self, *, client_types, groups) -> None:
        """client_types: ClientType rows; groups: (id, label) pairs."""
        self.client_type_id.choices = [("", "—")] + [(t.id, t.name) for t in client_types]
        self.group_id.choices = list(groups)

    def service_fields(self) -> dict:
        data = {name: getattr(self, name).data for name in self.FIELDS}
        data["options"] = parse_options(self.options.data)
        for name in ("format", "default_value", "description"):
            data[name] = data[name] or ""
        return data


class ParameterGroupForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the group's name.")),
                                               Length(max=255)])
