from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length


class RowForm(FlaskForm):
    """A form repeated once per currency row, told apart by a prefix. The app-wide CSRFProtect
    checks the page's plain csrf_token input; a prefixed per-form token would not match it."""

    class Meta:
        csrf = False


class ExchangeRateSetForm(RowForm):
    """One row of a rates page: the nominal, the rate and the day it applies from (CUR-8)."""

    units = StringField(_l("Units"), validators=[InputRequired(), Length(max=16)])
    rate = StringField(_l("Rate"), validators=[InputRequired(), Length(max=32)])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])


class ExchangeRateRevertForm(RowForm):
    """Return to the provider's rate from a date (CUR-11)."""

    valid_from = DateField(_l("From"), validators=[InputRequired()])
