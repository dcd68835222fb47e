"""The event-type catalogue and the placeholder contexts of notification templates (09 §2.5,
§2.9, §4.11, §4.12, LIQ-4): real orders, payments and subscriptions turned into plain data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event as sa_event

from portal.billing.models import Charge, ChargeStatus, ChargeType, RelatedOperation
from portal.billing.services.ledger import blocked_amount_of
from portal.core.clock import clock
from portal.extensions import db as database
from portal.notifications.event_types import (CATEGORY_KEYS, DEFAULT_CATEGORIES, EVENT_TYPES,
                                              available_event_types, event_type)
from portal.notifications.liquid_env import JoinedDict, JoinedList, render_template
from portal.notifications.liquid_validation import validate_template
from portal.notifications.placeholders import (GROUPS, ContextError, build_context,
                                               charge_name, fake_context, sample_context,
                                               schema_for)
from portal.notifications.rule_placeholders import RULE_PLACEHOLDERS
from portal.orders.models import ManualOperation, ManualOperationType, PaymentStatus
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from portal.subscriptions.models import Subscription, SubscriptionStatus
from tests.factories import (make_client, make_plan, make_reseller, make_root, make_rule,
                             make_service, make_staff)

D = Decimal
TODAY = date(2026, 11, 22)  # the frozen clock's day


# -- helpers -----------------------------------------------------------------------------------


def has_path(schema, path: str) -> bool:
    """Whether a dotted path ("subscriptions[].billing_day") is reachable in a schema."""
    node = schema
    for part in path.split("."):
        is_array = part.endswith("[]")
        part = part.removesuffix("[]")
        if not isinstance(node, Mapping):
            return False
        if part in node:
            node = node[part]
        elif "*" in node:
            node = node["*"]
        else:
            return False
        if is_array:
            if not isinstance(node, list):
                return False
            node = node[0]
    return True


def walk(value, path="ctx"):
    """Yield (path, leaf) for every leaf of a context."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list | JoinedList):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


def assert_plain(context):
    for path, leaf in walk(context):
        assert leaf is None or type(leaf) in (str, bool, int, Decimal, date), (path, leaf)
        assert not hasattr(leaf, "_sa_instance_state"), path
    for path, node in _containers(context):
        assert type(node) in (dict, list, JoinedDict, JoinedList), (path, type(node))


def _containers(value, path="ctx"):
    if isinstance(value, (Mapping, list, JoinedList)):
        yield path, value
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            yield from _containers(item, f"{path}.{key}")


def render(source, context, currency="RUB"):
    return render_template(source, context, language="ru", currency=currency)


@pytest.fixture
def shop(db):
    """The root reseller with a client (balance 500.00) and a two-month pre-order plan with
    one priced resource, financial day 1 (04a WE-2 shape)."""
    root = make_root()
    # A rule lets the client types that exist when it is made order (05 R-PR).
    client = make_client(root, city="Moscow", country="RU", street="Tverskaya",
                         phone="+74950000000")
    rule = make_rule(root, financial_day=1)
    service = make_service(root, resources=(("Licences", "units"), ("Support", "boolean")))
    resources = [{"service_resource_id": service.resources[0].id, "included": 2, "minimum": 2,
                  "limit": 50, "monthly_fee": "10.00", "priority": 5},
                 {"service_resource_id": service.resources[1].id, "included": 1,
                  "minimum": 1, "limit": 1, "monthly_fee": "0", "priority": 1}]
    plan = make_plan(root, rule=rule, services=[service], resources=resources,
                     description="Office for small teams",
                     periods=[{"duration": 2, "duration_unit": "month",
                               "monthly_fee": "30.00", "setup_fee": "5.00"}])
    topup = create_topup(client, amount="500.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=TODAY)
    return root, client, plan


def order_for(client, plan, quantity=5, on=TODAY):
    licences = next(r for r in plan.resources if r.name == "Licences")
    support = next(r for r in plan.resources if r.name == "Support")
    return place_sales_order(client, plan, plan.periods[0],
                             quantities={licences.id: quantity, support.id: 1}, actor=None,
                             on=on)


# -- the catalogue -----------------------------------------------------------------------------


def test_catalogue_has_the_45_event_types_of_the_manual_with_known_groups_and_categories():
    assert [e.number for e in EVENT_TYPES] == list(range(1, 46))
    assert len({e.key for e in EVENT_TYPES}) == 45
    # The rule language's catalogue uses the same keys (09 §2.5 vs §2.10).
    assert {e.key for e in EVENT_TYPES} == set(RULE_PLACEHOLDERS)
    for e in EVENT_TYPES:
        assert e.ru_name and str(e.name), e.key
        assert e.category in CATEGORY_KEYS, e.key
        assert set(e.all_objects) <= set(GROUPS), e.key
    # what cannot be switched off (access mails, staff mails) is unpublished.
    unpublished = {c.key for c in DEFAULT_CATEGORIES if not c.published}
    assert unpublished == {"registration", "internal"}
    assert event_type("password_reset_request").category == "registration"
    assert event_type("billing_day_come").category == "internal"
    assert event_type("order_created").ru_name == "Заказ создан"
    assert str(event_type("payment_received").name) == "Payment has been received"
    assert "order" in event_type("order_created").objects
    with pytest.raises(KeyError):
        event_type("no_such_event")


def test_available_event_types_are_those_whose_source_exists():
    assert {e.key for e in available_event_types()} == {
        "account_created", "account_changed", "account_manager_changed",
        "credit_hold_threshold_changed", "low_balance", "manual_operation", "payment_received",
        "password_reset_request", "manager_password_reset_request",
        "before_subscription_expiration", "after_subscription_expiration",
        "subscription_changed", "user_invitation", "order_changed", "order_created",
        "billing_day_coming", "billing_day_come", "user_created_password_reset",
        "account_credit_hold_coming",
        # Plan cost changes are recorded (catalog sync sets cost_changed_at); a trial
        # subscription switches to a paid period (orders/services/switching.py).
        "net_cost_changed", "subscription_trial_to_paid"}
    # Acts, promised payments and postpaid payments do not exist yet.
    assert not event_type("invoice_closed").available
    assert not event_type("guaranteed_payment_created").available
    assert not event_type("postpay_payment_created").available


# -- schemas -----------------------------------------------------------------------------------

COMMON = ["owner.id", "owner.email", "owner.first_name", "owner.middle_name", "owner.last_name",
          "owner.status", "reseller.id", "reseller.name", "reseller.managers_emails",
          "vendor.logo", "vendor.inverted_logo", "vendor.short_logo", "vendor.stamp",
          "vendor.favicon"]
ACCOUNT = [f"account.{name}" for name in (
    "id", "type_id", "type_key", "class_id", "class_key", "billing_day",
    "financial_blocking_threshold", "balance", "balance_with_currency", "status", "name",
    "first_name", "middle_name", "last_name", "street", "building", "office", "country",
    "country_name", "city", "zip", "phone", "custom_attributes", "bill_user_id",
    "bill_user_email", "bill_user_name", "bill_user_first_name", "bill_user_middle_name",
    "bill_user_last_name", "tech_user_id", "tech_user_email", "tech_user_name",
    "tech_user_first_name", "tech_user_middle_name", "tech_user_last_name", "manager.name",
    "manager.email", "owner_reset_password_url")]
ORDER = ["order.id", "order.number", "order.status", "order.created_at", "order.charges"] + [
    f"{prefix}.{name}" for prefix in ("charge", "order.charges.0") for name in (
        "description", "quantity", "unit_price_without_tax", "discount_amount",
        "discounted_unit_price_without_tax", "amount_without_tax", "period", "tax_percent",
        "amount", "operate_from", "operate_to", "name")]
SUBSCRIPTION = [f"subscription.{name}" for name in (
    "id", "name", "status", "start_date", "expiration_date", "auto_renewal",
    "auto_renewal_disabled", "days_left", "days_passed", "trial", "account", "plan_class",
    "plan", "plan_period", "renewal_payment_receipt_url", "csp", "renewal_amount",
    "payment_model", "notification_settings.Office 365 E1.first_subscription",
    "notification_settings.office365.password", "notification_settings.office365.login",
    "responsible_managers_by_product_id.7.sales.email",
    "responsible_managers_by_product_id.7.sales.name",
    "resources[].included", "resources[].additional")] + [
    f"subscription.resources[].{name}" for name in (
        "name", "unit_of_measure", "included", "minimum", "additional", "used", "limit",
        "visible")] + [
    "subscription_postpay.credit_limit", "subscription_postpay.current_debt",
    "plan.id", "plan.name", "plan.description", "plan.status", "plan.class_id",
    "plan.auto_renewal_disabled", "plan_period.duration_value", "plan_period.duration_type",
    "plan_period.trial", "plan_period.setup_fee", "plan_period.recurring_fee",
    "plan_period.renewal_fee", "plan_period.description", "product.id", "product.name"]
PAYMENT = [f"payment.{name}" for name in (
    "id", "payment_method", "document_number", "total", "total_in_words", "created_at",
    "status", "status.was", "comment", "orders", "order_charges", "panel_link", "downloadable",
    "receipt_url", "plan_custom_attribute.item", "plan_custom_attributes.item",
    "plan_resources_custom_attributes.item", "invoice_from_date", "invoice_to_date",
    "expiration_date", "link", "invoice_document_number")]


@pytest.mark.parametrize("event_key, paths", [
    ("order_created", COMMON + ACCOUNT + ORDER + [
        "subscription.name", "payment.link", "billing_day_date", "product.id", "plan.id"]),
    ("order_changed", ORDER),
    ("subscription_changed", COMMON + ACCOUNT + SUBSCRIPTION),
    ("before_subscription_expiration", SUBSCRIPTION + ["payment.link", "billing_day_date"]),
    ("after_subscription_expiration", SUBSCRIPTION + ["DAYS_PASSED"]),
    ("payment_received", COMMON + ACCOUNT + PAYMENT),
    ("payment_due_date_coming", PAYMENT + ["payment.days_left", "payment.subscriptions[].id",
                                           "payment.subscriptions[].name",
                                           "payment.subscriptions[].status"]),
    ("account_changed", ACCOUNT + ["account.human_status_name"]),
    ("account_created", COMMON + ACCOUNT),
    ("low_balance", ACCOUNT + ["subscriptions[].billing_type", "subscription.csp"]),
    ("billing_day_coming", [
        "billing_day", "billing_day_left", "billing_day_date",
        "billing_day_open_charges_amount", "monthly_billing", "next_billing_period_start_day",
        "next_billing_period_end_day", "product_ids", "product_names",
        "subscriptions[].billing_type", "subscriptions[].billing_day",
        "subscriptions[].billing_day_date", "subscriptions[].billing_day_charge",
        "subscriptions[].payment_model", "subscriptions[].resources[].name"]),
    ("billing_day_come", [
        "manager.email", "previous_billing_period_start_day", "previous_billing_period_end_day",
        "manager_accounts[].id", "manager_accounts[].primary_name",
        "manager_accounts[].type_key", "manager_accounts[].class_key",
        "manager_accounts[].balance", "manager_accounts[].financial_blocking_threshold",
        "manager_accounts[].subscriptions[].id", "manager_accounts[].subscriptions[].name",
        "manager_accounts[].subscriptions[].payment_model",
        "manager_accounts[].subscriptions[].payment_model_parameters.credit_limit",
        "manager_accounts[].subscriptions[].payment_model_parameters.current_debt",
        "manager_accounts[].subscriptions[].plan_category_key",
        "manager_accounts[].subscriptions[].closed_charges_amount"]),
    ("manual_operation", [
        "manual_operation.account.id", "manual_operation.account.name",
        "manual_operation.subscription.id", "manual_operation.subscription.name",
        "manual_operation.owner.email", "manual_operation.operation.id",
        "manual_operation.link", "shopping_cart_item.plan_id", "shopping_cart_item.plan_name",
        "shopping_cart_item.period_id", "shopping_cart_item.period_duration_value",
        "shopping_cart_item.period_duration_type", "shopping_cart_item.total", "resource.name",
        "resource.count", "resource.description", "resource.type", "resource.operation_value",
        "param.name", "param.resource_name", "param.value"]),
    ("user_invitation", ["user_invite.email", "user_invite.role", "inviter.short_name",
                         "invite_url"]),
    ("password_reset_request", ["token", "user.id", "user.email", "user.status"]),
    ("manager_password_reset_request", ["manager.name", "host"]),
    ("verify_email", ["confirmation_url"]),
    ("invoice_approved", ["invoice.attached.name", "invoice.attached.url",
                          "invoice.document_number", "invoice.due_date"]),
    ("invoice_closed", [f"invoice.{name}" for name in (
        "id", "document_number", "total", "total_in_words", "created_at", "from_date",
        "to_date", "to_date_human", "status", "date_today", "plan_custom_attributes.item",
        "plan_resources_custom_attributes.item")]),
    ("net_cost_changed", ["price_changed_total", "price_changed_time", "plans[].name",
                          "plans[].id", "plans[].link", "price_list.link"]),
    ("guaranteed_payment_will_expire", [
        "guaranteed_payment.id", "guaranteed_payment.status", "guaranteed_payment.total",
        "guaranteed_payment.expiration_date", "guaranteed_payment.days_left"]),
])
def test_schema_has_every_manual_placeholder_of_the_event(event_key, paths):
    schema = schema_for(event_key)
    missing = [path for path in paths if not has_path(schema, path)]
    assert missing == []


def test_event_specific_placeholders_stay_with_their_event():
    # 09 §2.9.15: usable only in templates of the named event type.
    assert has_path(schema_for("account_changed"), "account.human_status_name")
    assert not has_path(schema_for("account_created"), "account.human_status_name")
    assert not has_path(schema_for("order_created"), "DAYS_PASSED")
    assert not has_path(schema_for("payment_received"), "order.number")
    assert not has_path(schema_for("password_reset_request"), "order")


def test_schema_drives_the_template_validator(app):
    schema = schema_for("order_created")
    good = ("{{ owner.first_name }}, заказ {{ order.number }} на {{ order.total }}: "
            "{{ order.charges }} {{ order.charges[0].amount }} "
            "{% for r in subscription.resources %}{{ r.name }} {{ r.included }}{% endfor %}"
            "{{ subscription.plan }} {{ subscription.plan.name }} {{ payment.link }} "
            "{{ subscription['resources'][0].included }} {{ payment.status.was }}")
    assert validate_template(good, schema) == []
    problems = validate_template("{{ order.nope }} {{ invoice.id }}", schema)
    assert [p.subject for p in problems] == ["order.nope", "invoice"]


# -- contexts built from real objects ----------------------------------------------------------


def test_order_created_context_shows_the_order_its_charges_and_the_client(app, shop):
    root, client, plan = shop
    order = order_for(client, plan)
    context = build_context("order_created", reseller=root, order=order, language="ru")

    assert context["order"]["id"] == order.id
    assert context["order"]["number"] == order.number
    assert str(context["order"]["status"]) == "waiting_for_payment"
    assert context["order"]["total"] == order.total and isinstance(order.total, Decimal)
    # LIQ-4: the charges print joined with "."; each charge keeps its fields.
    charges = context["order"]["charges"]
    assert len(charges) == 3 * 2 + 1  # 3 financial parts × (service, licences) + setup
    names = [charges[i]["name"] for i in range(len(charges))]
    assert str(charges) == ". ".join(names)
    assert sum(charges[i]["amount"] for i in range(len(charges))) == order.total
    assert all(isinstance(charges[i]["amount"], Decimal) for i in range(len(charges)))
    assert context["charge"]["name"] == names[0]
    assert context["charge"]["period"] == "2 месяца"
    assert render("{{ order.charges.size }}: {{ order.charges[1].amount }} | {{ charge }}",
                  context) == f"7: {charges[1]['amount']} | {names[0]}"

    subscription = order.subscription
    sub = context["subscription"]
    assert sub["id"] == subscription.id and sub["name"] == subscription.name
    assert sub["plan"]["name"] == plan.name
    assert str(sub["plan"]) == f"{plan.id};{plan.name};Office for small teams;active;" \
                               f"{plan.provisioning_rule_id}"
    assert str(sub["plan_period"]) == "2;false;5.00;0.00;30.00;"
    assert sub["expiration_date"] == "21.01.2027" and sub["start_date"] == "22.11.2026"
    assert sub["days_left"] == 60
    # §2.9.6: sorted by priority, quantities as a template prints them.
    assert [(r["name"], r["included"], r["additional"], r["unit_of_measure"])
            for r in sub["resources"]] == [("Licences", 2, 3, "Unit"), ("Support", 1, 0, "Boolean")]
    assert str(sub["account"]) == client.name and sub["account"]["id"] == client.id
    assert context["product"]["name"] == plan.product.name
    assert context["plan_period"]["duration_type"] == "month"

    account = context["account"]
    assert account["name"] == client.name and account["city"] == "Moscow"
    assert account["country"] == "RU" and account["country_name"] == "Россия"
    assert account["billing_day"] == 1
    # §2.9.2: balance minus the blocked funds (nothing is held before the payment).
    assert account["balance"] == D("500.00")
    assert account["balance_with_currency"].startswith("500,00") and "₽" in \
        account["balance_with_currency"]
    assert context["owner"]["email"] == client.owner.email
    assert account["first_name"] == client.owner.first_name
    assert context["reseller"]["id"] == root.id
    assert "root@example.com" in context["reseller"]["managers_emails"]

    assert context["payment"]["document_number"] == order.payment.number
    assert context["payment"]["link"].startswith("http://localhost")
    assert context["billing_day_date"] == "01/12/2026"  # the nearest financial day
    assert_plain(context)


def test_payment_received_context_after_paying_from_the_balance(app, shop):
    root, client, plan = shop
    order = order_for(client, plan)
    payment = complete_payment(order.payment, from_balance=True, actor=None, on=TODAY)
    assert payment.status == PaymentStatus.PAID_FROM_BALANCE
    context = build_context("payment_received", reseller=root, payment=payment, language="ru",
                            was={"payment.status": "waiting_for_payment"})

    values = context["payment"]
    assert values["id"] == payment.id and values["document_number"] == payment.number
    # 2 months × 30.00 + setup 5.00 + 3 additional licences × 10.00 × 2 months.
    assert values["total"] == order.total == D("125.00")
    assert values["total_in_words"] == "сто двадцать пять рублей 00 копеек"
    assert str(values["status"]) == "paid_from_balance"
    assert values["status"]["was"] == "waiting_for_payment"
    assert values["payment_method"] == "balance"
    assert values["created_at"] == "22.11.2026"
    assert str(values["orders"]) == order.number and values["orders"][0]["id"] == order.id
    charge_names = [values["order_charges"][i]["name"]
                    for i in range(len(values["order_charges"]))]
    assert str(values["order_charges"]) == ";".join(charge_names) and len(charge_names) == 7
    assert values["subscriptions"] == [{"id": order.subscription_id,
                                        "name": order.subscription.name,
                                        "status": values["subscriptions"][0]["status"]}]
    assert values["earliest_charge_from_date"] == "22.11.2026"
    # The setup fee is debited, the recurring fees are held: held money does not count as
    # balance (§2.9.2).
    assert client.balance == D("495.00") and blocked_amount_of(client) == D("120.00")
    assert context["account"]["balance"] == D("375.00")
    assert "order" not in context  # not this event's
    assert_plain(context)

    text = render("Платёж {{ payment.document_number }} на сумму {{ payment.total | "
                  "format_as_currency }} {% if payment.status == 'paid_from_balance' %}оплачен"
                  "{% endif %} (был {{ payment.status.was }})", context)
    assert text == f"Платёж {payment.number} на сумму 125,00\xa0₽ оплачен " \
                   "(был waiting_for_payment)"


def test_charge_name_follows_the_billing_type_period_rule(app, shop):
    # CHN-1: a prepaid pre-order names every charge from the order day to the subscription's
    # expiry (the last charge's operate_to, inclusive per D1).
    root, client, plan = shop
    order = order_for(client, plan)
    context = build_context("order_created", reseller=root, order=order, language="ru")
    charges = context["order"]["charges"]
    recurring = [charges[i] for i in range(len(charges)) if charges[i]["operate_from"]]
    assert {c["operate_from"] for c in recurring} == {"22.11.2026", "01.12.2026", "01.01.2027"}
    for charge in recurring:
        assert "22.11.2026" in charge["name"] and "21.01.2027" in charge["name"]
    licences = [c for c in recurring if "Licences" in c["name"]]
    assert len(licences) == 3
    assert all(f"#{order.subscription_id}" in c["name"] for c in recurring)


def _charge(operate_from, operate_to, **kw):
    values = {"order_id": 7, "line_key": "service", "subscription_resource": None,
              "related_operation": RelatedOperation.SERVICE_PURCHASE,
              "charge_type": ChargeType.RECURRING_FEE}
    values.update(kw)
    return SimpleNamespace(operate_from=operate_from, operate_to=operate_to, **values)


@pytest.mark.parametrize("billing_type, payment_model, expected", [
    # CHN-1 (EX-34 with D1's inclusive last day): CSP monthly, G Suite, no refund: the order
    # day to the next financial day (the first charge's period).
    ("csp_monthly", "prepay", ("14.12.2023", "31.12.2023")),
    ("gsuite", "prepay", ("14.12.2023", "31.12.2023")),
    # CSP annual / pre-order, prepay: to the subscription's expiry (the last charge's end).
    ("csp_annual", "prepay", ("14.12.2023", "13.12.2024")),
    # … postpay: to the next financial day.
    ("csp_annual", "postpay", ("14.12.2023", "31.12.2023")),
    # Full payment: the charge's own financial period.
    ("full_payment", "prepay", ("01.03.2024", "31.03.2024")),
])
def test_charge_name_period_by_billing_type(app, billing_type, payment_model, expected):
    subscription = SimpleNamespace(id=42, name="Office 365", payment_model=payment_model,
                                   plan=SimpleNamespace(billing_type=billing_type))
    charges = [_charge(date(2023, 12, 14), date(2023, 12, 31)),
               _charge(date(2024, 3, 1), date(2024, 3, 31)),
               _charge(date(2024, 12, 1), date(2024, 12, 13))]
    for charge in charges:
        charge.subscription = subscription
    name = charge_name(charges[1], charges, language="en")
    assert name == (f'Service purchase (subscription fee) #42 "Office 365" from {expected[0]} '
                    f'to {expected[1]}')


def test_charge_name_of_a_resource_names_it(app):
    subscription = SimpleNamespace(id=5, name="Backup", payment_model="prepay",
                                   plan=SimpleNamespace(billing_type="preorder"))
    charge = _charge(date(2026, 11, 22), date(2026, 11, 30), line_key="resource:9",
                     subscription_resource=SimpleNamespace(name="Storage, GB"),
                     related_operation=RelatedOperation.RESOURCE_INCREASE)
    charge.subscription = subscription
    assert charge_name(charge, [charge], language="en") == (
        'Resource increase (subscription fee) "Storage, GB" of subscription #5 "Backup" '
        'from 22.11.2026 to 30.11.2026')


def test_subscription_event_context_counts_days_and_renders_resources(app, shop, frozen_clock):
    root, client, plan = shop
    order = order_for(client, plan, quantity=10)
    subscription = order.subscription
    frozen_clock.set(datetime(2027, 1, 25, 9, 0, tzinfo=UTC))  # 4 days after the expiry
    context = build_context("after_subscription_expiration", reseller=root,
                            subscription=subscription, language="ru",
                            was={"subscription.status": "active"})
    assert context["DAYS_PASSED"] == 4
    assert context["subscription"]["days_passed"] == 4
    assert context["subscription"]["days_left"] == -4
    assert context["subscription"]["status"]["was"] == "active"
    assert context["plan"]["id"] == plan.id and context["product"]["id"] == plan.product_id
    assert "subscription_postpay" not in context  # a prepaid subscription
    assert_plain(context)
    # EX-30, EX-31: the resource loop and the priority resource's total.
    text = render("{% for resource in subscription.resources %}{{ resource.name }}:"
                  "{{ resource.included }}+{{ resource.additional }};{% endfor %} "
                  "{{ subscription['resources'][0].included | plus: "
                  "subscription['resources'][0].additional }} "
                  "{% if subscription.payment_model == 'prepay' %}prepay{% endif %}", context)
    assert text == "Licences:2+8;Support:1+0; 10 prepay"


def test_billing_day_coming_context_for_the_financial_day(app, shop, frozen_clock):
    root, client, plan = shop
    order = order_for(client, plan)
    complete_payment(order.payment, from_balance=True, actor=None, on=TODAY)
    order.subscription.status = SubscriptionStatus.ACTIVE  # provisioned
    frozen_clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    context = build_context("billing_day_coming", reseller=root, client=client, language="en",
                            extra={"billing_day_date": date(2026, 12, 1)})
    assert context["billing_day"] == 1
    assert context["billing_day_left"] == 6
    assert context["billing_day_date"] == "01/12/2026"
    assert context["next_billing_period_start_day"] == "01.12.2026"
    assert context["next_billing_period_end_day"] == "31.12.2026"
    assert context["monthly_billing"] is False  # a pre-order is not a monthly billing type
    assert context["billing_day_open_charges_amount"] == D("0")
    assert context["product_names"] == [plan.product.name]
    # the subscriptions whose financial day is coming.
    [item] = context["subscriptions"]
    assert item["id"] == order.subscription_id and item["billing_type"] == "preorder"
    assert item["billing_day"] == 1 and item["billing_day_date"] == "01/12/2026"
    assert item["billing_day_charge"] == D("0")  # its charges are held, not open
    assert [r["name"] for r in item["resources"]] == ["Licences", "Support"]
    assert "billing_day_date" not in context["account"]
    assert context["account"]["country_name"] == "Russia"  # the render language
    assert_plain(context)


def test_billing_day_open_charges_of_monthly_subscriptions(app, db):
    # BD-8, A-15: Σ Open charges closing on the financial day, of monthly billing types with
    # auto-renewal point 0. Monthly types cannot be ordered yet, so the rows are made here.
    root = make_root()
    client = make_client(root)
    rule = make_rule(root, financial_day=5)
    monthly = make_plan(root, rule=rule, billing_type="csp_monthly")
    preorder = make_plan(root, rule=rule)
    subscriptions = []
    for plan, amount in ((monthly, "42.10"), (preorder, "7.00")):
        subscription = Subscription(
            reseller_id=root.id, client_id=client.id, plan_id=plan.id,
            plan_period_id=plan.periods[0].id, name=plan.name,
            status=SubscriptionStatus.ACTIVE, currency="RUB", start_date=date(2026, 11, 5),
            expiry_date=date(2026, 12, 4), auto_renew_point_days=0)
        database.session.add(subscription)
        database.session.flush()
        database.session.add(Charge(
            reseller_id=root.id, client_id=client.id, subscription_id=subscription.id,
            line_key="service", charge_type=ChargeType.RECURRING_FEE, description="fee",
            status=ChargeStatus.OPEN, operate_from=date(2026, 12, 5),
            operate_to=date(2027, 1, 4), period=D("1.000"), quantity=D("1"),
            unit_price=D(amount), gross=D(amount), amount=D(amount), currency="RUB",
            close_date=date(2026, 12, 5)))
        subscriptions.append(subscription)
    database.session.flush()
    context = build_context("billing_day_coming", reseller=root, client=client, language="ru",
                            extra={"billing_day_date": date(2026, 12, 5)})
    assert context["monthly_billing"] is True
    assert context["billing_day_open_charges_amount"] == D("42.10")
    assert [(s["id"], s["billing_day_charge"]) for s in context["subscriptions"]] == [
        (subscriptions[0].id, D("42.10")), (subscriptions[1].id, D("0"))]
    assert context["billing_day_left"] == 13 and context["billing_day"] == 5


def test_billing_day_left_on_the_financial_day_is_the_days_to_the_next_one(app, shop,
                                                                           frozen_clock):
    root, client, _plan = shop
    frozen_clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    context = build_context("billing_day_coming", reseller=root, client=client, language="ru",
                            extra={"billing_day_date": date(2026, 12, 1)})
    assert context["billing_day_left"] == 31  # BD-7: never 0


def test_billing_day_come_lists_the_managers_clients(app, shop):
    root, client, plan = shop
    manager = make_staff(root, name="Maria Manager")
    client.manager_id = manager.id
    order = order_for(client, plan)
    complete_payment(order.payment, from_balance=True, actor=None, on=TODAY)
    context = build_context("billing_day_come", reseller=root, staff_member=manager,
                            language="ru", extra={"billing_day_date": date(2026, 12, 1)})
    assert context["manager"] == {"name": "Maria Manager", "email": manager.email}
    assert context["previous_billing_period_start_day"] == "01.11.2026"
    assert context["previous_billing_period_end_day"] == "30.11.2026"
    [account] = context["manager_accounts"]
    assert account["id"] == client.id and account["primary_name"] == client.name
    assert account["balance"] == D("375.00")  # 495.00 less 120.00 held
    [item] = account["subscriptions"]
    assert item["id"] == order.subscription_id and item["payment_model"] == "prepay"
    assert item["plan_category_key"] == plan.plan_category.key
    # The setup fee was debited on 22.11, inside the period 01.11–30.11 before the day.
    assert item["closed_charges_amount"] == D("5.00")
    assert_plain(context)


def test_account_and_manual_operation_contexts(app, shop):
    root, client, plan = shop
    order = order_for(client, plan)
    operation = ManualOperation(
        reseller_id=root.id, client_id=client.id, subscription_id=order.subscription_id,
        operation_type=ManualOperationType.SUBSCRIPTION_STOP, created_at=clock.now())
    database.session.add(operation)
    database.session.flush()
    context = build_context("manual_operation", reseller=root, manual_operation=operation,
                            language="ru")
    values = context["manual_operation"]
    assert values["account"] == {"id": client.id, "name": client.name}
    assert values["subscription"]["id"] == order.subscription_id
    assert values["owner"]["email"] == client.owner.email
    assert values["operation"]["id"] == operation.id
    assert values["link"].endswith(f"/provisioning/manual-operations/{operation.id}")
    assert context["shopping_cart_item"]["plan_name"] == plan.name
    assert context["shopping_cart_item"]["total"] == order.total
    assert_plain(context)

    context = build_context("account_changed", reseller=root, client=client, language="ru",
                            was={"account.status": "financially_blocked"})
    assert str(context["account"]["status"]) == "active"
    assert context["account"]["status"]["was"] == "financially_blocked"
    assert context["account"]["human_status_name"] == "Активен"
    assert context["account"]["type_key"] == client.client_type.key
    assert context["account"]["class_key"] == client.service_rule.key
    assert context["account"]["financial_blocking_threshold"] == D("0")
    assert_plain(context)


def test_emitter_values_come_through_extra(app, shop):
    root, client, _plan = shop
    owner = client.owner
    context = build_context("password_reset_request", reseller=root, user=owner,
                            language="ru", extra={"token": "1q2w3e",
                                                  "reset_password_url": "http://x/reset"})
    assert context["user"]["email"] == owner.email and context["token"] == "1q2w3e"
    context = build_context("account_created", reseller=root, client=client, language="ru",
                            extra={"account": {"owner_reset_password_url": "http://x/set"}})
    assert context["account"]["owner_reset_password_url"] == "http://x/set"
    assert context["account"]["name"] == client.name  # merged, not replaced
    assert context["user"]["id"] == owner.id
    with pytest.raises(TypeError):
        build_context("account_created", reseller=root, client=client, language="ru",
                      extra={"account": {"raw": client}})


def test_objects_of_another_reseller_are_refused(app, shop):
    root, client, plan = shop
    order = order_for(client, plan)
    other = make_reseller(root)
    with pytest.raises(ContextError):
        build_context("order_created", reseller=other, order=order, language="ru")
    stranger = make_client(root)
    with pytest.raises(ContextError):
        build_context("order_created", reseller=root, client=stranger, order=order,
                      language="ru")


def test_building_a_context_does_not_grow_with_the_number_of_resources(app, db):
    root = make_root()
    client = make_client(root)
    counts = []
    for resource_count in (1, 4):
        service = make_service(root, resources=[(f"R{i}", "units")
                                                for i in range(resource_count)])
        plan = make_plan(root, services=[service], resources=[
            {"service_resource_id": r.id, "minimum": 0, "limit": 10, "monthly_fee": "1.00"}
            for r in service.resources])
        order = place_sales_order(client, plan, plan.periods[0],
                                  quantities={r.id: 2 for r in plan.resources}, actor=None,
                                  on=TODAY)
        database.session.expire_all()
        order = database.session.get(type(order), order.id)
        clock.zone()  # the platform zone is read once a minute, not per context
        statements = []

        def count(conn, cursor, statement, *args, statements=statements):
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        engine = database.session.get_bind()
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            build_context("order_created", reseller=root, order=order, language="ru")
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] < 30


# -- preview samples ---------------------------------------------------------------------------


def test_sample_context_uses_the_latest_object_of_this_reseller_only(app, db, frozen_clock):
    root = make_root()
    child = make_reseller(root)
    root_client, other_root_client = make_client(root), make_client(root)
    child_client = make_client(child)
    root_plan = make_plan(root)
    child_plan = make_plan(child)
    first = place_sales_order(root_client, root_plan, root_plan.periods[0], quantities={},
                              actor=None, on=TODAY)
    latest = place_sales_order(other_root_client, root_plan, root_plan.periods[0],
                               quantities={}, actor=None, on=TODAY)
    # The child's order is the newest of all, but belongs to another tenant.
    child_order = place_sales_order(child_client, child_plan, child_plan.periods[0],
                                    quantities={}, actor=None, on=TODAY)
    assert child_order.id > latest.id > first.id

    context = sample_context("order_created", root)
    assert context["order"]["number"] == latest.number
    assert context["account"]["id"] == latest.client_id
    assert sample_context("order_created", child)["order"]["number"] == child_order.number

    subscription_context = sample_context("subscription_changed", root)
    newest = database.session.get(Subscription, latest.subscription_id)
    assert subscription_context["subscription"]["id"] == newest.id
    payment_context = sample_context("payment_received", child)
    assert payment_context["payment"]["document_number"] == child_order.payment.number
    assert sample_context("account_changed", child)["account"]["id"] == child_client.id
    assert_plain(context)


def test_sample_context_falls_back_to_a_clearly_fake_one(app, db):
    root = make_root()
    empty = make_reseller(root)
    context = sample_context("order_created", empty)
    assert context == fake_context("order_created")
    assert context["order"]["number"] == "[order.number]"
    assert context["order"]["total"] == D("1234.50")
    assert_plain(context)
    # The fake context renders every placeholder of the schema without errors.
    text = render("{{ order.number }} {{ order.status }} {{ order.total | format_as_currency }}"
                  " {{ subscription.plan }} {% for r in subscription.resources %}{{ r.name }}"
                  "{% endfor %}", context)
    assert text == "[order.number] [order.status] 1\xa0234,50\xa0₽ [subscription.plan] " \
                   "[subscription.resources[0].name]"
    # Every event's fake context is plain and covers its schema.
    for event in EVENT_TYPES:
        fake = fake_context(event.key)
        assert_plain(fake)
        assert set(fake) == set(schema_for(event.key))


def outside_schema(value, schema, path="") -> list[str]:
    """The paths of a context that its schema does not know."""
    if schema is ...:  # liquid_validation.ANY
        return []
    if isinstance(value, Mapping):
        if not isinstance(schema, Mapping):
            return [path]
        found = []
        for key, item in value.items():
            key = str(key)
            if key in schema:
                sub = schema[key]
            elif any(k.endswith("*") and k != "*" and key.startswith(k[:-1]) for k in schema):
                sub = next(v for k, v in schema.items()
                           if k.endswith("*") and k != "*" and key.startswith(k[:-1]))
            elif "*" in schema:
                sub = schema["*"]
            else:
                found.append(f"{path}.{key}".lstrip("."))
                continue
            found += outside_schema(item, sub, f"{path}.{key}")
        return found
    if isinstance(value, list):
        if not isinstance(schema, list):
            return [path]
        return [p for item in value for p in outside_schema(item, schema[0], f"{path}[]")]
    return []



def test_every_event_builds_inside_the_tenant_and_within_its_schema(app, shop):
    """Inside a request the tenant guard fails any unscoped SELECT; every context stays within
    the schema its templates are validated against."""
    root, client, plan = shop
    manager = make_staff(root)
    client.manager_id = manager.id
    order = order_for(client, plan)
    complete_payment(order.payment, from_balance=True, actor=None, on=TODAY)
    order.subscription.status = SubscriptionStatus.ACTIVE
    database.session.add(ManualOperation(
        reseller_id=root.id, client_id=client.id, subscription_id=order.subscription_id,
        operation_type=ManualOperationType.SUBSCRIPTION_DELETE, created_at=clock.now()))
    database.session.flush()
    with app.test_request_context("/", base_url="http://localhost"):
        for event in EVENT_TYPES:
            context = sample_context(event.key, root)
            assert_plain(context)
            assert outside_schema(context, schema_for(event.key)) == [], event.key
            if event.key in ("order_created", "payment_received", "subscription_changed",
                             "account_changed", "low_balance", "billing_day_coming"):
                assert context["account"]["id"] == client.id, event.key
    # The reseller-wide manager list and the sample of a staff event.
    context = sample_context("billing_day_come", root)
    assert context["manager"]["email"] == manager.email
    assert context["manager_accounts"] == []  # no financial day today (22.11)
