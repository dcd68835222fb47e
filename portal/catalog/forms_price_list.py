"""Forms of the price list and of the default markups page (05 §5.1.1, §5.1.2)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length


class PlanSelectionMixin:
    # Plan ids come from the checkboxes; another reseller's ids are dropped by the view.
    plan_ids = SelectMultipleField(_l("Plans"), coerce=int, validate_choice=False)
    list_args = HiddenField()  # the price list's search, filters and page, to return to
    confirm = HiddenField()


class MarkupApplyForm(PlanSelectionMixin, FlaskForm):
    """R-MK-5: a coefficient for the selected plans."""

    coefficient = StringField(_l("Markup management"), validators=[
        DataRequired(message=_l("Enter the markup coefficient.")), Length(max=20)])


class MarkupClearForm(PlanSelectionMixin, FlaskForm):
    """R-MK-9: switch auto markup off for the selected plans."""


class DefaultMarkupForm(FlaskForm):
    """R-MK-12/14: a default coefficient (of one category, or for new categories)."""

    coefficient = StringField(_l("New markup"), validators=[
        DataRequired(message=_l("Enter the markup coefficient.")), Length(max=20)])


class PriceImportForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file."))])


class NewCategoriesMarkupForm(FlaskForm):
    """R-MK-12: the coefficient of plans delegated later into a new product category."""

    coefficient = StringField(_l("Auto markup for new product categories"), validators=[
        DataRequired(message=_l("Enter the markup coefficient.")), Length(max=20)])
