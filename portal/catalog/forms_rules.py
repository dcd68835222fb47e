"""Forms of the provisioning-rule pages (05 §5.1.10). Field names equal the service arguments,
so a refusal of the service (key clash, renewal points) lands next to its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, InputRequired, Length

from portal.catalog.services.rules import client_type_keys


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes; the service decides which choices are valid."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form):
        pass


def client_type_choices():
    """The acting reseller's client types, by key (08 §2.1; 05 "Available to clients")."""
    from flask import g  # noqa: PLC0415

    return list(client_type_keys(g.acting_reseller.id).items())


def all_client_types():
    return [key for key, _label in client_type_choices()]


def _days(label, default):
    return IntegerField(label, default=default,
                        validators=[InputRequired(_l("Enter a whole number of days."))])


class RuleForm(FlaskForm):
    """05 §2.12 with the manual's defaults: manual renewal point −1, automatic 0 (§8.15)."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the rule's name.")),
                                               Length(max=255)])
    key = StringField(_l("Key"), validators=[DataRequired(_l("Enter the key.")), Length(max=64)])
    financial_day = IntegerField(_l("Financial day"), default=1,
                                 validators=[InputRequired(_l("Enter a day from 1 to 28."))])
    promised_payment_allowed = BooleanField(_l("May be paid with a promised payment"))
    manual_renewal_point_days = _days(_l("Manual renewal point (days)"), -1)
    auto_renewal_point_days = _days(_l("Automatic renewal point (days)"), 0)
    unpaid_stop_after_days = _days(_l("Stop an unpaid subscription after (days)"), 0)
    block_period_days = _days(_l("Subscription block period (days)"), 0)
    client_types = CheckboxesField(_l("Client types"), choices=client_type_choices,
                                   default=all_client_types)


class DelegatedRuleForm(FlaskForm):
    """A delegated rule is read-only; its reseller may only add client types (R-PR-11)."""

    added_client_types = CheckboxesField(_l("Client types"), choices=client_type_choices)
