from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length


class ExchangeRateSetForm(FlaskForm):
    """One row of a rates page: the nominal, the rate and the day it applies from (CUR-8)."""

    units = StringField(_l("Units"), validators=[InputRequired(), Length(max=16)])
    rate = StringField(_l("Rate"), validators=[InputRequired(), Length(max=32)])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])


class ExchangeRateRevertForm(FlaskForm):
    """Return to the provider's rate from a date (CUR-11)."""

    valid_from = DateField(_l("From"), validators=[InputRequired()])
