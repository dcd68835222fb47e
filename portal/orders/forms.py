"""Forms of the order and payment pages (03 S2, S8, S9; 02 SCR-2).

Field names equal the service arguments where they can (client_id, plan_id, period_id,
expires_on, comment), so a refusal of the service lands next to its field. The choices are
filled by the view from the acting reseller's rows; the objects are looked up inside the tenant
and the services refuse what may not be ordered or paid, with their own messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.subscriptions.models import RENEWAL_PRICE_MODE_LABELS, RenewalPriceMode

COMMENT_MAX = 2000

# 03 S9: how the money came in when staff confirm a payment by hand (ORD-15, PAY-12).
PAYMENT_METHODS = (("bank_transfer", _l("Bank transfer / Cash")), ("card", _l("Card")))
METHOD_LABELS = {"balance": _l("Balance"), "manual": _l("Manual confirmation"),
                 **dict(PAYMENT_METHODS)}


class OrderStartForm(FlaskForm):
    """Step 1 of the order wizard (02 R-ORD-9); the later steps post the same fields hidden.

    DataRequired, not InputRequired: a plan's only period is chosen by the view (R-ORD-9)."""

    client_id = SelectField(_l("Client"), choices=[], validate_choice=False,
                            validators=[DataRequired(_l("Choose a client."))])
    plan_id = SelectField(_l("Plan"), choices=[], validate_choice=False,
                          validators=[DataRequired(_l("Choose a plan."))])
    period_id = SelectField(_l("Period"), choices=[], validate_choice=False,
                            validators=[DataRequired(_l("Choose a period."))])
    # 02 R-IP-1: off by default; on, the configuration step asks for the prices.
    individual_prices = BooleanField(_l("Individual prices"))
    # 02 R-IP-5, A-10: shown on the configuration step; the service refuses an unknown mode.
    renewal_price_mode = SelectField(
        _l("Renewal parameters"), validate_choice=False, default=RenewalPriceMode.INDIVIDUAL.value,
        choices=[(mode.value, RENEWAL_PRICE_MODE_LABELS[mode])
                 for mode in (RenewalPriceMode.INDIVIDUAL, RenewalPriceMode.PLAN,
                              RenewalPriceMode.HIGHEST)])


class OrderExpiryForm(FlaskForm):
    """«Установить дату истечения» (03 ORD-8): the new date and an optional comment."""

    expires_on = DateField(_l("Expiry date"),
                           validators=[InputRequired(_l("Enter the expiry date."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_MAX)])


class PaymentCreateForm(FlaskForm):
    """«Новый платеж» (03 S8): a balance top-up; the amount is checked by the service."""

    client_id = SelectField(_l("Client"), choices=[], validate_choice=False,
                            validators=[DataRequired(_l("Choose a client."))])
    total = StringField(_l("Total"), validators=[InputRequired(_l("Enter the amount."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_MAX)])
    manager_id = SelectField(_l("Manager"), choices=[], validate_choice=False)


class PaymentConfirmForm(FlaskForm):
    """«Подтвердить» with the method the money came through (03 PAY-12, A21)."""

    method = SelectField(_l("Payment method"), choices=list(PAYMENT_METHODS))
