"""Forms of the subscription page (02 SCR-3, SCR-8, SCR-9, SCR-14). Field names equal the service
arguments, so a refusal of the service lands next to its field.

The toolbar dialogs share one page, so they carry a prefix ("stop-reason") and no CSRF field of
their own: the app-wide CSRFProtect checks the page's plain csrf_token input.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

COMMENT_MAX = 2000


class SubscriptionUpdateForm(FlaskForm):
    """The General tab (02 R-DET-11): name, manager, promo code and the renewal group."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("The name is required.")),
                                               Length(max=255)])
    manager_id = SelectField(_l("Manager"), choices=[])
    promo_code = StringField(_l("Promo code"), validators=[Length(max=64)])
    auto_renew = BooleanField(_l("Auto-renew"))
    auto_renew_locked = BooleanField(_l("Lock the auto-renew option"))
    auto_renew_point_days = IntegerField(
        _l("Automatic renewal point (days)"),
        validators=[InputRequired(_l("Enter a whole number of days."))])
    manual_renewal_point_days = IntegerField(
        _l("Manual renewal point (days)"),
        validators=[InputRequired(_l("Enter a whole number of days."))])


class DialogForm(FlaskForm):
    class Meta:
        csrf = False


class _ReasonForm(DialogForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Give the reason.")),
                                                   Length(max=500)])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_MAX)])


class SubscriptionStopForm(_ReasonForm):
    """02 SCR-8 / R-STP-3: reason (required) and comment."""


class SubscriptionActivateForm(_ReasonForm):
    """02 SCR-14 / R-ACT-5: reason (required) and comment."""


class ExpiryDateChangeForm(DialogForm):
    """02 SCR-9 / R-EXD-4: the new last valid day and an optional comment."""

    expiry_date = DateField(_l("Expiry date"),
                            validators=[InputRequired(_l("Choose the expiry date."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_MAX)])


class SwitchPlanForm(FlaskForm):
    """Step 1 of the plan switch (02 SCR-6, R-SW-4); step 2 posts the same fields hidden.

    The choices are the switch targets and their periods; the service refuses any other plan
    with its own message, so the choice is not validated here."""

    plan_id = SelectField(_l("Plan"), choices=[], validate_choice=False,
                          validators=[DataRequired(_l("Choose a plan."))])
    period_id = SelectField(_l("Plan period"), choices=[], validate_choice=False,
                            validators=[DataRequired(_l("Choose a period."))])
