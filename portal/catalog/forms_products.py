"""Forms of the product-category, product, plan-category and service pages (05 §5.1.3–§5.1.5,
06 §5.2). Field names equal the service arguments, so a refusal lands next to its field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.catalog.models import CONNECTOR_LABELS, Connector, ResourceUnit

# Examples from the manual (L8587–L8589); the type stays free text.
PRODUCT_TYPE_EXAMPLES = ("SaaS", "PAYG", "Non-Recurring Subscription")

MODE_CHOICES = [("auto", _l("Automatically")), ("manual", _l("Manually"))]
# 06 §2.9.2: the six actions of a manual-provisioning service, in the manual's order.
MANUAL_MODE_FIELDS = (
    ("install", _l("Install the instance")),
    ("activate", _l("Activate the instance")),
    ("stop", _l("Stop the instance")),
    ("renew", _l("Renew the instance")),
    ("update", _l("Update the instance")),
    ("delete", _l("Delete the instance")),
)
UNIT_CHOICES = [(ResourceUnit.UNITS.value, _l("Units")),
                (ResourceUnit.BOOLEAN.value, _l("Boolean (yes/no)"))]


def _optional_int(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _name(label):
    return StringField(label, validators=[DataRequired(_l("Enter the name.")), Length(max=255)])


def _key():
    return StringField(_l("Key"), validators=[DataRequired(_l("Enter the key.")),
                                              Length(max=64)])


class ProductCategoryForm(FlaskForm):
    name = _name(_l("Name"))
    key = _key()
    priority = IntegerField(_l("Priority"), default=0,
                            validators=[InputRequired(_l("Enter a whole number."))])
    description = TextAreaField(_l("Description"), validators=[Optional()])


class PlanCategoryForm(FlaskForm):
    name = _name(_l("Name"))
    key = _key()
    description = TextAreaField(_l("Description"), validators=[Optional()])


class ProductGeneralForm(FlaskForm):
    """05 §2.3 general information; the description is internal (R-PD-3)."""

    name = _name(_l("Name"))
    product_type = StringField(_l("Product type"), default="SaaS",
                               validators=[DataRequired(_l("Enter the product type.")),
                                           Length(max=64)])
    # Choices are the tenant's categories; the service checks the chosen one is among them.
    product_category_id = SelectField(_l("Product category"), coerce=_optional_int,
                                      validate_choice=False,
                                      validators=[InputRequired(_l("Choose a product category."))])
    published = BooleanField(_l("Published"))
    description = TextAreaField(_l("Description (not shown to clients)"), validators=[Optional()])
    vendor_name = StringField(_l("Vendor name"), validators=[Optional(), Length(max=255)])
    license_agreement_url = StringField(_l("Licence agreement (link)"),
                                        validators=[Optional(), Length(max=500)])
    privacy_policy_url = StringField(_l("Privacy policy (link)"),
                                     validators=[Optional(), Length(max=500)])
    subscription_name_template = StringField(_l("Subscription name template"),
                                             default="{{plan.name}}",
                                             validators=[Optional(), Length(max=500)])


class ProductPublishForm(FlaskForm):
    """What a reseller may change on a delegated product's general tab: publish it."""

    published = BooleanField(_l("Published"))


class ProductMarketingForm(FlaskForm):
    """05 §2.3 marketing tab: what the store shows to clients."""

    marketing_name = StringField(_l("Marketing name"), validators=[
        DataRequired(_l("Enter the name clients see.")), Length(max=255)])
    marketing_description = TextAreaField(_l("Description (shown to clients)"),
                                          validators=[Optional()])
    logo = FileField(_l("Logo"))
    remove_logo = BooleanField(_l("Remove the logo"))
    support_url = StringField(_l("Support web site"), validators=[Optional(), Length(max=500)])
    support_email = StringField(_l("Support e-mail"), validators=[Optional(), Length(max=255)])
    support_phone = StringField(_l("Support phone"), validators=[Optional(), Length(max=64)])
    support_extra = TextAreaField(_l("Additional support information"), validators=[Optional()])


class MarketingItemForm(FlaskForm):
    """One screenshot, video, document link or advantage (05 §2.3 child collections)."""

    name = _name(_l("Name"))
    url = StringField(_l("URL"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional()])
    image = FileField(_l("Image"))


class MarketingImageForm(FlaskForm):
    image = FileField(_l("Image"))


def _mode_fields(cls):
    for action, label in MANUAL_MODE_FIELDS:
        setattr(cls, f"mode_{action}", SelectField(label, choices=MODE_CHOICES, default="auto"))
    return cls


@_mode_fields
class ServiceCreateForm(FlaskForm):
    name = _name(_l("Name"))
    connector = SelectField(_l("Connector"), default=Connector.SIMULATED.value,
                            choices=[(c.value, CONNECTOR_LABELS[c]) for c in Connector])
    description = TextAreaField(_l("Description"), validators=[Optional()])


@_mode_fields
class ServiceEditForm(FlaskForm):
    """The connector of a service never changes (it decides how instances exist)."""

    name = _name(_l("Name"))
    description = TextAreaField(_l("Description"), validators=[Optional()])


class ServiceResourceForm(FlaskForm):
    """06 §2.10: a resource plans on this service may price."""

    name = _name(_l("Name"))
    unit_type = SelectField(_l("Unit"), choices=UNIT_CHOICES, default=ResourceUnit.UNITS.value)
    measurable = BooleanField(_l("Measurable (the service meters its usage)"))
    description = TextAreaField(_l("Description"), validators=[Optional()])
