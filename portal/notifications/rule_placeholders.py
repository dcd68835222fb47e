"""Which placeholders a handler's rule may read, per event type (09 §2.10, RULE-7, RULE-8).

Keys are the event-type keys of 09 §2.5. Groups follow the manual's merged table cells (A-21);
events the manual gives no rule placeholders get what A-41 says, otherwise only the common set.
A `.was` name (previous value, RULE-7) is listed only for the events that expose it.
"""

from __future__ import annotations

# 09 RULE-8: every event exposes these.
COMMON_RULE_PLACEHOLDERS = frozenset({"owner.status", "owner.country", "owner.city",
                                      "current_date"})

# Клиент изменен / Low balance / Создание сервера / Сброс пароля сервера share one cell.
# account.country is always ISO-2; the country name is account.country_name.
_ACCOUNT = frozenset({
    "account.type_id", "account.type_key", "account.class_id", "account.class_key",
    "account.billing_day", "account.financial_blocking_threshold", "account.balance",
    "account.status", "account.country", "account.country_name", "account.city",
})

# the client keys of "Обещанный платеж создан" go to all three promised-payment events.
_ACCOUNT_KEYS = frozenset({"account.type_id", "account.type_key", "account.class_id",
                           "account.class_key"})

_PAYMENT = frozenset({"payment.total", "payment.status", "payment.status.was"})

# До окончания / После окончания / trial→paid / Подписка изменена share one cell.
_SUBSCRIPTION = frozenset({
    "account.type_key", "account.class_key", "account.billing_day",
    "account.financial_blocking_threshold", "account.balance", "account.status",
    "account.country", "account.country_name", "account.city",
    "plan.id", "plan.status", "plan.auto_renewal_disabled", "plan_category.key",
    "plan_period.duration_value", "plan_period.duration_type", "plan_period.trial",
    "plan_period.setup_fee", "plan_period.recurring_fee", "plan_period.renewal_fee",
    "subscription.id", "subscription.status", "subscription.status.was",
    "subscription.auto_renewal", "subscription.auto_renewal_disabled",
    "subscription.days_left", "subscription.days_passed", "subscription.plan_class",
    "subscription.trial.status", "subscription.trial",  # both are accepted
    "subscription.renewal_amount", "subscription.payment_model",
    "product.id", "product.name",
})

# Заказ изменен / Заказ создан share one cell.
_ORDER = frozenset({
    "order.id", "order.plans_ids", "order.status", "order.status.was", "order.total",
    "order.type", "order.renewal_point", "order.renewal_is_positive",
    "product.id", "product.name", "subscription.payment_model", "plan_category.key",
})

_NONE: frozenset[str] = frozenset()

RULE_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "payment_due_date_coming": frozenset({"payment.days_left"}),
    "account_credit_hold_coming": frozenset({"account.financial_blocking_threshold",
                                             "account.balance"}),
    "account_changed": _ACCOUNT | {"account.status.was"},  # RULE-7: only here
    "account_created": frozenset({"owner.email", "account.id", "account.name",
                                  "account.owner_reset_password_url"}),
    "credit_hold_threshold_changed": frozenset({"account.financial_blocking_threshold"}),
    "account_manager_changed": _NONE,
    "invoice_closed": frozenset({"invoice.status"}),
    "low_balance": _ACCOUNT | {"account.balance.was",  # RULE-7: only here
                               "account.regular_sending",
                               "account.has_endless_trial_subscriptions"},
    "manual_operation": frozenset({
        "operation.id", "operation.status", "operation.type", "product.id", "product.name",
        "product_category.id", "plan.id", "plan_category.key", "subscription.id",
        "subscription.status", "subscription.status.was", "account.type_key",
        "account.class_key",
    }),
    "postpay_payment_created": _NONE,
    "payment_received": (_ACCOUNT - {"account.type_id", "account.class_id"}) | _PAYMENT,
    "password_reset_request": frozenset({"user.id"}),
    "manager_password_reset_request": _NONE,
    "before_subscription_expiration": _SUBSCRIPTION,
    "after_subscription_expiration": _SUBSCRIPTION,
    "subscription_trial_to_paid": _SUBSCRIPTION,
    "subscription_changed": _SUBSCRIPTION,
    "verify_email": frozenset({"user.id"}),
    "user_invitation": _NONE,
    "order_changed": _ORDER,
    "order_created": _ORDER,
    "guaranteed_payment_created": _ACCOUNT_KEYS,
    "guaranteed_payment_changed": _ACCOUNT_KEYS | {"guaranteed_payment.status",
                                                   "guaranteed_payment.status.was"},
    "guaranteed_payment_will_expire": _ACCOUNT_KEYS | {"guaranteed_payment.days_left"},
    # the daily subscription scans get the subscription group.
    "days_left_to_pay": _SUBSCRIPTION,
    "phone_verification": _NONE,
    "csp_price_update": _SUBSCRIPTION,
    "csp_price_upload": _NONE,
    # payment events get the payment and client groups.
    "invoice_request_sent": _ACCOUNT | _PAYMENT,
    "topup_invoice_ready": _ACCOUNT | _PAYMENT,
    # the client and financial-day groups.
    "reporting_period_closed": _ACCOUNT | {"billing_day"},
    "user_created_password_reset": _NONE,
    "vsp_resources_changed": _NONE,
    "vsp_subscription_created": _NONE,
    "create_instance": _ACCOUNT,
    "reset_instance_password": _ACCOUNT,
    "net_cost_changed": _NONE,  # its rule must stay empty (EVT-RULE-REQ, A-33)
    "billing_day_coming": frozenset({
        "billing_day", "billing_day_left", "billing_day_open_charges_amount", "plan_ids",
        "product_ids", "product_names", "monthly_billing", "account.type_key",
        "account.class_key", "account.balance", "account.financial_blocking_threshold",
        "subscription.expiration_date", "subscription.payment_model",
    }),
    "billing_day_come": frozenset({"billing_day", "subscriptions_plan_category_keys",
                                   "subscriptions_statuses"}),
    "postpay_credit_limit_changed": frozenset({"subscription_postpay.credit_limit"}),
    "postpay_credit_limit_approaching": frozenset({"subscription_postpay.current_debt",
                                                   "subscription_postpay.credit_limit"}),
    "closing_documents_ready": _NONE,
    "invoice_approved": frozenset({"invoice.has_attached"}),
    "joined_payment_created": frozenset({"account.class_id", "account.class_key"}),
    "external_promo_code_added": _NONE,
}


def rule_placeholders_for(event_type: str) -> frozenset[str]:
    """Return every placeholder a rule of this event type may read, common ones included.

    Raises KeyError for an event type not in 09 §2.5.
    """
    return RULE_PLACEHOLDERS[event_type] | COMMON_RULE_PLACEHOLDERS
