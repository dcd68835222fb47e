"""Forms of the plan pages and of plan delegation (05 §5.1.6–§5.1.9, 07 §4.5).

Prices and quantities are text fields: the services parse them as Decimal and refuse bad input
with a message tied to the field, so the panel and the API say the same thing.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.catalog.models import BILLING_TYPE_LABELS, BillingType, DurationUnit
from portal.core.money import CURRENCIES

CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]
BILLING_TYPE_CHOICES = [("", "—")] + [(t.value, BILLING_TYPE_LABELS[t]) for t in BillingType]
DURATION_UNIT_CHOICES = [(DurationUnit.DAY.value, _l("day(s)")),
                         (DurationUnit.MONTH.value, _l("month(s)")),
                         (DurationUnit.YEAR.value, _l("year(s)"))]


def id_or_none(value):
    """Coerce a select's value to an id; the empty choice is None (the service says why)."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not any choice: "Not a valid choice"


class TextValue(StringField):
    """A text input holding a number the service parses (a Decimal or int shows as text)."""

    def process_data(self, value):
        self.data = None if value is None else str(value)


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("choices", [])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        try:
            self.data = [self.coerce(v) for v in valuelist]
        except (TypeError, ValueError):
            self.data = []
            raise ValueError(self.gettext("Invalid choice(s): one or more data inputs could not "
                                          "be coerced.")) from None


class PlanEditForm(FlaskForm):
    """General and billing information of a plan (05 §2.7)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=255)])
    sku = StringField(_l("SKU (Offer ID)"), validators=[Optional(), Length(max=128)])
    plan_category_id = SelectField(_l("Plan category"), coerce=id_or_none, choices=[])
    product_id = SelectField(_l("Product"), coerce=id_or_none, choices=[])
    description = TextAreaField(_l("Description"), validators=[Optional()])
    published = BooleanField(_l("Published"))
    single = BooleanField(_l("Single"))
    fixed_price = BooleanField(_l("Fixed price"))
    billing_type = SelectField(_l("Billing type"), choices=BILLING_TYPE_CHOICES)
    provisioning_rule_id = SelectField(_l("Provisioning rule"), coerce=id_or_none, choices=[])
    lock_autorenew = BooleanField(_l("Lock the auto-renew option"))
    autorenew = BooleanField(_l("Auto-renew"))
    currency = SelectField(_l("Currency"), choices=CURRENCY_CHOICES)

    GENERAL = ("name", "sku", "plan_category_id", "product_id", "description", "published",
               "single", "fixed_price")
    BILLING = ("billing_type", "provisioning_rule_id", "lock_autorenew", "autorenew", "currency")

    def set_choices(self, *, categories, products, rules) -> None:
        empty = [("", "—")]
        self.plan_category_id.choices = empty + [(c.id, c.name) for c in categories]
        self.product_id.choices = empty + [(p.id, p.name) for p in products]
        self.provisioning_rule_id.choices = empty + [(r.id, r.name) for r in rules]


class PlanCreateForm(PlanEditForm):
    """The create page: general info, billing info and the services (05 §5.1.7)."""

    services = MultiCheckbox(_l("Services"))


class PeriodForm(FlaskForm):
    """A plan period (05 §2.9)."""

    is_unlimited = BooleanField(_l("Unlimited"))
    duration = TextValue(_l("Period"), validators=[Optional(), Length(max=6)])
    duration_unit = SelectField(_l("Unit"), choices=DURATION_UNIT_CHOICES,
                                default=DurationUnit.MONTH.value)
    published = BooleanField(_l("Published"))
    is_trial = BooleanField(_l("Trial"))
    setup_fee = TextValue(lazy_pgettext("plan price", "Setup fee"), default="0.00",
                          validators=[Length(max=32)])
    monthly_fee = TextValue(_l("Monthly fee"), default="0.00", validators=[Length(max=32)])
    transfer_fee = TextValue(lazy_pgettext("plan price", "Transfer fee"), default="0.00",
                             validators=[Length(max=32)])
    renewal_fee = TextValue(lazy_pgettext("plan price", "Renewal fee"), default="0.00",
                            validators=[Length(max=32)])
    description = TextAreaField(_l("Description"), validators=[Optional()])

    STRUCTURE = ("is_unlimited", "duration", "duration_unit", "published", "is_trial")
    PRICES = ("setup_fee", "monthly_fee", "transfer_fee", "renewal_fee")


class ResourceForm(FlaskForm):
    """A plan resource (05 §2.10); included and minimum of a boolean resource are 0 or 1."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=255)])
    measurable = BooleanField(_l("Measurable"))
    included = TextValue(_l("Included"), default="0", validators=[Length(max=32)])
    minimum = TextValue(_l("Minimum"), default="0", validators=[Length(max=32)])
    unlimited = BooleanField(_l("Unlimited"))
    limit = TextValue(_l("Limit"), default="0", validators=[Length(max=32)])
    setup_fee = TextValue(lazy_pgettext("plan price", "Setup fee"), default="0.00",
                          validators=[Length(max=32)])
    overuse_fee = TextValue(_l("Overuse fee"), default="0.00", validators=[Length(max=32)])
    monthly_fee = TextValue(_l("Monthly fee"), default="0.00", validators=[Length(max=32)])
    renewal_fee = TextValue(lazy_pgettext("plan price", "Renewal fee"), default="0.00",
                            validators=[Length(max=32)])
    public = BooleanField(_l("Public"), default=True)
    priority = TextValue(_l("Priority"), default="0", validators=[Length(max=9)])

    LIMITS = ("included", "minimum", "unlimited", "limit")
    PRICES = ("setup_fee", "overuse_fee", "monthly_fee", "renewal_fee")
    STRUCTURE = ("name", "measurable", "public")


class ResourceAddForm(ResourceForm):
    service_resource_id = SelectField(_l("Resource"), coerce=id_or_none, choices=[])


class CopyForm(FlaskForm):
    """The copy dialog of the plan page (05 R-CP-3)."""

    name = StringField(_l("Name of the new plan"), validators=[Optional(), Length(max=255)])
    published = BooleanField(_l("Published"), default=True)
    reset_prices = BooleanField(_l("Reset (zero) the prices"), default=True)


class CopyPageForm(FlaskForm):
    """The "Copy plan" page of the plans list (05 §5.1.9)."""

    plan_id = SelectField(_l("Plan"), coerce=id_or_none, choices=[])
    published = BooleanField(_l("Published"), default=True)
    reset_prices = BooleanField(_l("Reset (zero) the prices"), default=True)


class ServicesForm(FlaskForm):
    services = MultiCheckbox(_l("Services"))


class SwitchTargetsForm(FlaskForm):
    target_ids = MultiCheckbox(_l("Plans"))


class DelegateForm(FlaskForm):
    """Delegate one plan to child resellers (07 BR-33)."""

    reseller_ids = MultiCheckbox(_l("Resellers"))


class WizardPlansForm(FlaskForm):
    """Step 2 of the delegation wizard: the chosen resellers travel as hidden ids."""

    reseller_ids = MultiCheckbox(_l("Resellers"))
    plan_ids = MultiCheckbox(_l("Plans"))
