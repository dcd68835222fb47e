"""The handler rule language of 09 §4.7 (RULE-1..10, A-08) on the manual's own rules."""

import re
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import LazyString

from portal.notifications.rule_language import (
    MAX_NESTING,
    MAX_RULE_LENGTH,
    RuleSyntaxError,
    parse_rule,
)
from portal.notifications.rule_placeholders import (
    COMMON_RULE_PLACEHOLDERS,
    RULE_PLACEHOLDERS,
    rule_placeholders_for,
)


def holds(rule: str, event_type: str | None = None, **values) -> bool:
    """Parse (checked against the event's placeholders when given) and evaluate."""
    allowed = rule_placeholders_for(event_type) if event_type else None
    # Keyword arguments cannot hold dots: "account__balance" → "account.balance".
    context = {name.replace("__", "."): value for name, value in values.items()}
    return parse_rule(rule, placeholders=allowed).evaluate(context)


def syntax_error(rule: str, **kwargs) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule(rule, **kwargs)
    return caught.value


# --- The manual's examples ---------------------------------------------------------------------

@pytest.mark.parametrize(("balance", "expected"), [
    ("-30", False),   # 35 < 30
    ("-32", False),   # 35 < 32; modulo (30 < 32) would say true
    ("-36", True),    # 35 < 36
    ("-100", True),
    ("10", False),    # in credit: 35 < -10
])
def test_ex14_approaching_financial_block(balance, expected):
    # T = 100, so 35 % of T is 35 (RULE-2): percent-of, not modulo (100 mod 35 would be 30).
    rule = "account.financial_blocking_threshold % 35 < -account.balance"
    assert holds(rule, "account_credit_hold_coming",
                 account__financial_blocking_threshold=Decimal("100"),
                 account__balance=Decimal(balance)) is expected


def test_percent_binds_tighter_than_plus_and_unary_minus_tighter_than_percent():
    # 200 % 10 + 5 = (200 × 10 / 100) + 5 = 25; -x % 50 = (-x) × 50 / 100.
    assert holds("t % 10 + 5 = 25", t=200)
    assert holds("-t % 50 = -100", t=200)
    assert holds("-t + 5 = -195", t=200)  # not -(t + 5)
    assert holds("t % 10 - 5 = 15", t=200)
    assert holds("1 + 2 - 4 = -1")
    assert holds("(t + 100) % 10 = 30", t=200)


def test_ex24_percent_of_threshold():
    # account.financial_blocking_threshold % 30 is 30 % of T: T = 100 → 30.
    assert holds("account.financial_blocking_threshold % 30 = 30",
                 account__financial_blocking_threshold=100)
    assert holds("account.financial_blocking_threshold % 30 = 30.15",
                 account__financial_blocking_threshold=Decimal("100.50"))


@pytest.mark.parametrize(("order_type", "plans", "expected"), [
    ("SalesOrder", [2000030, 17], True),
    ("SalesOrder", [17], False),
    ("RenewalOrder", [2000030], False),
])
def test_ex24_sales_order_with_plan(order_type, plans, expected):
    rule = 'order.type = "SalesOrder" and (order.plans_ids include? 2000030)'
    assert holds(rule, "order_created", order__type=order_type,
                 order__plans_ids=plans) is expected


def test_ex24_exclude_plan_and_two_products():
    assert holds("order.plans_ids exclude? 2000", "order_created", order__plans_ids=[1, 2])
    assert not holds("order.plans_ids exclude? 2000", "order_created",
                     order__plans_ids=[2000, 3])
    rule = "(product_ids exclude? 34650) and (product_ids exclude? 34702)"
    assert holds(rule, "billing_day_coming", product_ids=[1, 2])
    assert not holds(rule, "billing_day_coming", product_ids=[34702])
    assert not holds(rule, "billing_day_coming", product_ids=(34650, 1))


def test_include_matches_strings_and_numeric_strings():
    assert holds('product_names include? "Default"', product_names=["ESET", "Default"])
    assert not holds('product_names include? "default"', product_names=["Default"])
    # Ids that arrive as strings still match a number literal.
    assert holds("plan_ids include? 200023", plan_ids=["200023"])


@pytest.mark.parametrize(("product_ids", "expected"), [([498], True), ([499], False)])
def test_ex18_full_billing_day_rule(product_ids, expected):
    rule = ('billing_day = 1 and billing_day_left = 28 and account.type_key = "personal" and '
            'account.class_key = "default" and account.financial_blocking_threshold = 0 and '
            "monthly_billing = true and (plan_ids include? 1420) and (product_ids include? 498)")
    context = {"billing_day": 1, "billing_day_left": 28, "account.type_key": "personal",
               "account.class_key": "default",
               "account.financial_blocking_threshold": Decimal("0.00"),
               "monthly_billing": True, "plan_ids": [1420, 77], "product_ids": product_ids}
    allowed = rule_placeholders_for("billing_day_coming")
    assert parse_rule(rule, placeholders=allowed).evaluate(context) is expected


def test_ex20_or():
    rule = "billing_day = 1 or billing_day = 5"
    assert [holds(rule, billing_day=day) for day in (1, 5, 10)] == [True, True, False]


def test_ex21_parentheses_give_four_combinations():
    rule = "(billing_day = 1 or billing_day = 2) and (billing_day_left = 3 or billing_day_left = 4)"
    sent = [(day, left) for day in range(1, 6) for left in range(1, 31)
            if holds(rule, billing_day=day, billing_day_left=left)]
    assert sent == [(1, 3), (1, 4), (2, 3), (2, 4)]


def test_and_binds_tighter_than_or():
    # a or b and c = a or (b and c).
    rule = "x = 1 or x = 2 and y = 3"
    assert holds(rule, x=1, y=0)
    assert not holds(rule, x=2, y=0)
    assert not holds("(x = 1 or x = 2) and y = 3", x=1, y=0)


@pytest.mark.parametrize("rule", [
    'subscription.days_left = 10 AND subscription.status = "active"',
    'subscription.days_left = 10 and subscription.status = "active"',
    'subscription.days_left = 10 And subscription.status = "active"',
])
def test_ex25_keywords_are_case_insensitive(rule):
    event = "before_subscription_expiration"
    assert holds(rule, event, subscription__days_left=10, subscription__status="active")
    assert not holds(rule, event, subscription__days_left=9, subscription__status="active")
    assert not holds(rule, event, subscription__days_left=10, subscription__status="stopped")


def test_ex15_prolong_order_rule_is_evaluated_literally():
    # the manual's rule also stops every non-prolong order; we evaluate it as written.
    rule = 'order.type = "ProlongOrder" AND order.renewal_is_positive = true'
    assert holds(rule, "order_changed", order__type="ProlongOrder",
                 order__renewal_is_positive=True)
    assert not holds(rule, "order_changed", order__type="ProlongOrder",
                     order__renewal_is_positive=False)
    assert not holds(rule, "order_changed", order__type="SalesOrder",
                     order__renewal_is_positive=True)
    corrected = 'order.type != "ProlongOrder" or order.renewal_is_positive = true'
    assert holds(corrected, "order_changed", order__type="SalesOrder",
                 order__renewal_is_positive=False)


def test_ex23_approaching_credit_limit_on_two_lines():
    rule = "subscription_postpay.credit_limit % 70 <\nsubscription_postpay.current_debt"
    event = "postpay_credit_limit_approaching"
    debts = {"60": False, "75": True, "80": True}
    for debt, expected in debts.items():
        assert holds(rule, event, subscription_postpay__credit_limit=Decimal(100),
                     subscription_postpay__current_debt=Decimal(debt)) is expected


def test_swapped_operand_order():
    assert holds("1 = billing_day", billing_day=1)
    assert not holds("1 = billing_day", billing_day=2)
    assert holds("28 > billing_day_left", billing_day_left=7)
    assert holds("100 <= account.balance", account__balance=Decimal("100.00"))


def test_ex13_trailing_comma_is_ignored():
    assert holds("payment.days_left = 5,", "payment_due_date_coming", payment__days_left=5)
    assert not holds("payment.days_left = 0,", "payment_due_date_coming", payment__days_left=5)


def test_was_compares_previous_value():
    rule = 'account.status.was = "active" and account.status = "inactive"'
    assert holds(rule, "account_changed", account__status__was="active",
                 account__status="inactive")
    assert not holds(rule, "account_changed", account__status__was="inactive",
                     account__status="inactive")
    # Low balance: the balance fell below 100 with this change.
    rule = "account.balance.was >= 100 and account.balance < 100"
    assert holds(rule, "low_balance", account__balance__was=Decimal("150"),
                 account__balance=Decimal("99.99"))
    assert not holds(rule, "low_balance", account__balance__was=Decimal("99"),
                     account__balance=Decimal("50"))
    assert holds('order.status.was = "provisioning"', "order_changed",
                 order__status__was="provisioning")
    assert holds('guaranteed_payment.status.was = "provided" and '
                 'guaranteed_payment.status = "revoked"', "guaranteed_payment_changed",
                 guaranteed_payment__status__was="provided", guaranteed_payment__status="revoked")


def test_was_is_only_offered_where_the_manual_allows_it():
    # RULE-7: account.balance.was only for Low balance, account.status.was only for Account changed.
    error = syntax_error("account.balance.was = 100",
                         placeholders=rule_placeholders_for("account_changed"))
    assert "account.balance.was" in str(error)
    error = syntax_error('account.status.was = "active"',
                         placeholders=rule_placeholders_for("low_balance"))
    assert "account.status.was" in str(error)


@pytest.mark.parametrize(("rule", "trial", "expected"), [
    ('plan_period.trial = "false"', False, True),
    ('plan_period.trial = "false"', True, False),
    ('plan_period.trial = "true"', True, True),
    ("plan_period.trial = false", False, True),
    ('plan_period.trial != "true"', False, True),
    # The value may also come as the string the manual describes.
    ("plan_period.trial = false", "false", True),
    ("plan_period.trial = true", "false", False),
])
def test_rule6_booleans_equal_quoted_true_false(rule, trial, expected):
    assert holds(rule, "subscription_changed", plan_period__trial=trial) is expected


def test_a08_monthly_billing_quoted_or_not():
    assert holds('monthly_billing = "true"', monthly_billing=True)
    assert holds("monthly_billing = true", monthly_billing=True)
    assert not holds("monthly_billing = true", monthly_billing=False)
    assert holds("monthly_billing = TRUE", monthly_billing=True)


def test_a08_double_equals_is_accepted():
    assert holds("billing_day == 5", billing_day=5)


def test_a46_regular_sending_binding():
    # EX-36: the rule is tested with regular_sending true in the billing run, false otherwise.
    rule = parse_rule("account.regular_sending = true",
                      placeholders=rule_placeholders_for("low_balance"))
    assert rule.evaluate({"account.regular_sending": True})
    assert not rule.evaluate({"account.regular_sending": False})


def test_bare_boolean_placeholder_is_a_test():
    assert holds("monthly_billing", monthly_billing=True)
    assert not holds("monthly_billing", monthly_billing=False)
    assert holds("monthly_billing", monthly_billing="true")
    assert not holds("monthly_billing", monthly_billing=1)
    assert not holds("monthly_billing")
    assert holds("invoice.has_attached and x = 1", invoice__has_attached=True, x=1)


# --- Values and types ----------------------------------------------------------------------------

@pytest.mark.parametrize("balance", [Decimal("58.5"), Decimal("58.50"), "58.5", " 58.50 "])
def test_numbers_are_decimal_and_numeric_strings_compare_as_numbers(balance):
    assert holds("account.balance = 58.5", account__balance=balance)
    assert holds("account.balance > 58.49", account__balance=balance)
    assert holds("account.balance < 100", account__balance=balance)  # not "58.5" < "100"


def test_decimal_arithmetic_is_exact():
    # 0.1 + 0.2 = 0.3 exactly (floats would fail this).
    assert holds("x + 0.2 = 0.3", x=Decimal("0.1"))
    assert holds("billing_day_open_charges_amount = 120.1",
                 billing_day_open_charges_amount=Decimal("120.10"))
    assert holds("subscription.renewal_amount = 123.4", subscription__renewal_amount=123.4)


def test_strings_compare_as_strings():
    assert holds('owner.country = "BY"', owner__country="BY")
    assert not holds('owner.country = "by"', owner__country="BY")
    assert holds('account.type_key < "c"', account__type_key="business")
    # Two strings are never compared as numbers: "9" > "10" as text.
    assert holds('code > "10"', code="9")
    assert holds('order.status = "waiting for payment"', order__status="waiting for payment")
    assert holds(r'name = "say \"hi\" \\ bye"', name='say "hi" \\ bye')


def test_mismatched_types_make_the_comparison_false():
    assert not holds('account.balance = "abc"', account__balance=Decimal("1"))
    assert not holds('account.balance != "abc"', account__balance=Decimal("1"))
    assert not holds("monthly_billing = 1", monthly_billing=True)
    assert not holds("monthly_billing > false", monthly_billing=True)
    assert not holds("plan_ids = 1", plan_ids=[1])
    assert not holds("plan_ids include? 1", plan_ids=1)
    assert not holds("x + 1 = 2", x="one")
    assert not holds("-x = -1", x=True)


@pytest.mark.parametrize("rule", [
    "account.balance < 100",
    "account.balance != 100",
    "account.balance + 1 = 2",
    "-account.balance > 0",
    "account.financial_blocking_threshold % 35 < -account.balance",
    "plan_ids include? 1",
    "plan_ids exclude? 1",
    "monthly_billing",
])
@pytest.mark.parametrize("context", [{}, {"account.balance": None, "plan_ids": None,
                                          "monthly_billing": None,
                                          "account.financial_blocking_threshold": None}])
def test_rule10_missing_value_makes_the_comparison_false(rule, context):
    assert parse_rule(rule).evaluate(context) is False


def test_missing_value_fails_only_its_own_comparison():
    assert holds("x = 1 or y = 2", y=2)
    assert not holds("x = 1 and y = 2", y=2)


def test_dates_compare_with_quoted_dates_and_support_day_arithmetic():
    context = {"current_date": date(2021, 5, 10),
               "subscription.expiration_date": date(2021, 5, 20)}
    rule = parse_rule('subscription.expiration_date = "20.05.2021"')
    assert rule.evaluate(context)
    assert parse_rule('subscription.expiration_date = "20.05.21"').evaluate(context)
    assert parse_rule('subscription.expiration_date > "2021-05-19"').evaluate(context)
    assert parse_rule("subscription.expiration_date - current_date = 10").evaluate(context)
    assert parse_rule("current_date + 10 = subscription.expiration_date").evaluate(context)
    assert parse_rule("current_date < subscription.expiration_date").evaluate(context)
    assert not parse_rule('current_date = "not a date"').evaluate(context)
    assert not parse_rule("current_date + 0.5 = current_date").evaluate(context)


def test_empty_rule_always_holds():
    for text in ("", "   \n ", None):
        rule = parse_rule(text)
        assert rule.is_empty
        assert rule.evaluate({})
        assert rule.placeholders == frozenset()


def test_placeholders_lists_what_the_rule_reads():
    rule = parse_rule('(a.b = 1 or c > 2) and d.e.was include? "x" and -f % 3 < a.b')
    assert rule.placeholders == {"a.b", "c", "d.e.was", "f"}
    assert parse_rule('1 = 1 and "a" = "a"').placeholders == frozenset()


def test_literals_only():
    assert parse_rule("1 = 1").evaluate({})
    assert parse_rule("true").evaluate({})
    assert not parse_rule("false").evaluate({})
    assert not parse_rule('1 = "2"').evaluate({})


# --- Refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "position"), [
    ("billing_day =", 13),                  # ends too early
    ("billing_day = 1 billing_day_left", 16),
    ("billing_day = = 1", 14),
    ("(billing_day = 1", 0),               # unclosed parenthesis points at "("
    ("billing_day = 1)", 15),
    ("()", 1),
    ('order.type = "SalesOrder', 13),      # unclosed string points at its quote
    ("order.plans_ids include 2000", 16),  # include without "?"
    ("order.plans_ids contains? 2000", 16),
    ("billing_day = 1 && x = 2", 16),
    ("billing_day = 'x'", 14),
    ("billing_day = 1.", 14),
    ("billing_day = 5days", 14),
    ("a < b < c", 6),                      # comparisons do not chain
    ("account.financial_blocking_threshold % 30", 0),  # a value, not a condition
    ("x = 1 and 5", 10),
    ("(x = 1) + 2 = 3", 1),                # a condition, not a value
    ("x = (y = 1)", 5),
    ("payment.days_left = 5,,", 21),       # only one trailing comma
    (", x = 1", 0),
    ("x = 1, y = 2", 5),
    ("x. = 1", 1),
])
def test_syntax_errors_carry_the_position(rule, position):
    error = syntax_error(rule)
    assert error.position == position
    assert error.column == position + 1
    # The column is named in the reader's language ("column 5", "в позиции 5").
    assert re.search(rf"\b{position + 1}\b", str(error))
    assert error.field == "rule"


@pytest.mark.parametrize("rule", [
    '__import__("os").system("echo owned")',
    'x = __import__("os")',
    "exec(x)",
    "billing_day.__class__ = 1",
    'open("/etc/passwd")',
    "x = [1, 2]",
    "lambda: 1",
    "x = 1; y = 2",
    "x = `id`",
    "x = 1 if y else 2",
])
def test_no_python_can_be_smuggled_in(rule):
    with pytest.raises(RuleSyntaxError):
        parse_rule(rule)


def test_unknown_placeholder_is_refused_by_name_and_position():
    allowed = rule_placeholders_for("billing_day_coming")
    error = syntax_error("billing_day = 1 and account.balanse > 0", placeholders=allowed)
    assert error.position == 20
    assert "account.balanse" in str(error)
    # The same rule is accepted where no placeholder set is given.
    parse_rule("billing_day = 1 and account.balanse > 0")


def test_placeholder_names_are_case_sensitive_but_keywords_are_not():
    allowed = rule_placeholders_for("billing_day_coming")
    parse_rule("billing_day_left = 1 OR billing_day = 2", placeholders=allowed)
    error = syntax_error("Billing_day = 1", placeholders=allowed)
    assert "Billing_day" in str(error)


def test_length_and_nesting_limits():
    long_rule = " or ".join(["billing_day = 1"] * 200)
    assert len(long_rule) > MAX_RULE_LENGTH
    error = syntax_error(long_rule)
    assert error.position == MAX_RULE_LENGTH
    assert str(MAX_RULE_LENGTH) in str(error)
    # A rule just under the limit is fine.
    fitting = " or ".join(["billing_day = 1"] * 105)
    assert len(fitting) <= MAX_RULE_LENGTH
    assert parse_rule(fitting).evaluate({"billing_day": 1})

    deep = "(" * MAX_NESTING + "x = 1" + ")" * MAX_NESTING
    assert parse_rule(deep).evaluate({"x": 1})
    too_deep = "(" * (MAX_NESTING + 1) + "x = 1" + ")" * (MAX_NESTING + 1)
    assert syntax_error(too_deep).position == MAX_NESTING
    minus = "-" * (MAX_NESTING + 1) + "x = 1"
    assert syntax_error(minus).position == MAX_NESTING
    assert parse_rule("-" * MAX_NESTING + "x = 1").evaluate({"x": 1})  # 50 minuses: even


def test_error_messages_are_lazily_translatable(app):
    error = syntax_error("billing_day = ")
    assert isinstance(error.message, LazyString)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert str(error) == "The rule ends too early at column 15."


# --- Placeholder catalogue (09 §2.10) -----------------------------------------------------------

def test_every_event_type_of_the_catalogue_has_an_entry():
    assert len(RULE_PLACEHOLDERS) == 45
    assert rule_placeholders_for("user_invitation") == COMMON_RULE_PLACEHOLDERS
    assert COMMON_RULE_PLACEHOLDERS == {"owner.status", "owner.country", "owner.city",
                                        "current_date"}
    with pytest.raises(KeyError):
        rule_placeholders_for("no_such_event")


@pytest.mark.parametrize(("event_type", "names"), [
    ("account_changed", {"account.type_id", "account.class_key", "account.status.was",
                         "account.country"}),
    ("low_balance", {"account.balance.was", "account.regular_sending",
                     "account.has_endless_trial_subscriptions", "account.billing_day"}),
    ("create_instance", {"account.balance", "account.city"}),
    ("account_created", {"owner.email", "account.owner_reset_password_url"}),
    ("manual_operation", {"operation.type", "product_category.id", "subscription.status.was"}),
    ("payment_received", {"payment.total", "payment.status", "account.billing_day"}),
    ("subscription_changed", {"plan_period.trial", "subscription.trial.status",
                              "subscription.renewal_amount", "subscription.days_passed"}),
    ("order_created", {"order.plans_ids", "order.renewal_is_positive", "order.status.was"}),
    ("guaranteed_payment_will_expire", {"guaranteed_payment.days_left", "account.type_key"}),
    ("billing_day_coming", {"billing_day_left", "plan_ids", "product_names",
                            "subscription.expiration_date"}),
    ("billing_day_come", {"subscriptions_plan_category_keys", "subscriptions_statuses"}),
    ("postpay_credit_limit_approaching", {"subscription_postpay.current_debt"}),
    ("invoice_approved", {"invoice.has_attached"}),
    ("joined_payment_created", {"account.class_id"}),
    ("payment_due_date_coming", {"payment.days_left", "current_date", "owner.city"}),
])
def test_rule_placeholders_per_event(event_type, names):
    assert names <= rule_placeholders_for(event_type)


@pytest.mark.parametrize(("event_type", "name"), [
    ("account_changed", "account.balance.was"),
    ("low_balance", "account.status.was"),
    ("create_instance", "account.status.was"),
    ("account_created", "account.balance"),
    ("net_cost_changed", "account.balance"),
    ("invoice_closed", "invoice.has_attached"),
    ("billing_day_come", "billing_day_left"),
])
def test_rule_placeholders_not_offered(event_type, name):
    assert name not in rule_placeholders_for(event_type)


def test_rule_catalogue_covers_exactly_the_event_types():
    from portal.notifications.event_types import EVENT_TYPES_BY_KEY

    assert set(RULE_PLACEHOLDERS) == set(EVENT_TYPES_BY_KEY)
