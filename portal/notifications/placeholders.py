"""What a notification template can reach: the placeholder schema per event type and the
builders that turn domain objects into that plain data (09 §2.9, §4.11, §4.12, LIQ-4).

    schema_for("order_created") -> {"order": {"id": None, ...}, ...}
    build_context("order_created", reseller=r, order=o, language="ru") -> plain dict
    sample_context("order_created", r) -> the context of the reseller's latest order

Schema format (liquid_validation): None is a scalar, a dict an object, [dict] an array of such
objects, "*" any key, a key ending in "*" a prefix, Ellipsis anything below.

Contexts hold only dicts, lists, str, int, bool, Decimal and None (JoinedDict for LIQ-4 joined
forms), never ORM objects. Dates are strings in the manual's formats (EX-32): DD.MM.YYYY,
dd/mm/yyyy for financial days, DD.MM.YYYY HH:MM for instants in the platform time zone.
Placeholders whose source does not exist yet (acts, promised payments, Vendor Portal, …) are in
the schemas so templates validate; their values are simply absent and print as nothing (A-23).

This module reads the models of every area (orders, billing, subscriptions, catalog): the
placeholder catalogue is a read model over the whole product, like the reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from flask import current_app, has_request_context, request
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.models import StaffMember, StaffStatus
from portal.billing.engine.periods import financial_period, next_financial_day
from portal.billing.models import Charge, ChargeStatus
from portal.billing.services.charges import describe_charge
from portal.catalog.models import BillingType, Plan, PlanResource
from portal.catalog.price_list import period_name
from portal.catalog.pricing import add_months
from portal.client_panel.links import client_panel_host
from portal.clients.funds import effective_block_threshold, effective_credit_limit
from portal.clients.hooks import blocked_amount
from portal.clients.models import (ACCESS_LEVEL_LABELS, CLIENT_STATUS_LABELS,
                                   AdditionalParameter, AdditionalParameterValue, Client,
                                   ClientStatus, ClientUser, ParameterTarget, ParameterType,
                                   User)
from portal.core.clock import clock
from portal.core.money import round_money
from portal.extensions import db
from portal.notifications.event_types import event_type as get_event_type
from portal.notifications.liquid_env import JoinedDict, JoinedList, joined, joined_list
from portal.notifications.number_words import amount_in_words
from portal.orders.models import ManualOperation, Order, OrderStatus, OrderType, Payment
from portal.subscriptions.models import PaymentModel, Subscription, SubscriptionStatus

ANY = ...

# -- the schema (09 §2.9) ----------------------------------------------------------------------



def manual_order_type(order_type) -> str:
    """The manual's names of order types in rules and templates: "SalesOrder",
    "RenewalOrder", "ProlongOrder", … (09 §2.10, x-ref 03)."""
    return "".join(part.capitalize() for part in str(getattr(order_type, "value", order_type))
                   .split("_"))

def _fields(*names: str) -> dict:
    return dict.fromkeys(names)


_STATUS = {"was": None}  # 09 RULE-7 / §2.9.7: a status prints itself, `.was` the previous one

OWNER = _fields("id", "email", "first_name", "middle_name", "last_name", "status")
RESELLER = {**_fields("id", "name", "managers_emails"),
            # reseller additional parameters, when resellers get them.
            "custom_attributes": {"*": None}}
VENDOR = _fields("logo", "inverted_logo", "short_logo", "stamp", "favicon")

_CONTACT = ("id", "email", "name", "first_name", "middle_name", "last_name")
ACCOUNT = {
    **_fields("id", "type_id", "type_key", "class_id", "class_key", "billing_day",
              "financial_blocking_threshold", "balance", "balance_with_currency", "name",
              "first_name", "middle_name", "last_name", "street", "building", "office",
              "country", "country_name", "city", "zip", "phone", "owner_reset_password_url"),
    "status": _STATUS,
    "custom_attributes": {"*": None},
    **_fields(*(f"bill_user_{name}" for name in _CONTACT)),
    **_fields(*(f"tech_user_{name}" for name in _CONTACT)),
    "manager": _fields("name", "email"),
}
USER = _fields("id", "email", "first_name", "middle_name", "last_name", "status")

CHARGE = _fields("description", "quantity", "unit_price_without_tax", "discount_amount",
                 "discounted_unit_price_without_tax", "amount_without_tax", "period",
                 "tax_percent", "amount", "operate_from", "operate_to", "name")
ORDER = {**_fields("id", "number", "created_at", "type", "total"), "status": _STATUS,
         # LIQ-4: prints joined with "."; [0], [1]… reach the charges.
         "charges": {"*": CHARGE}}

PLAN = _fields("id", "name", "description", "status", "class_id", "auto_renewal_disabled")
PLAN_PERIOD = _fields("duration_value", "duration_type", "trial", "setup_fee", "recurring_fee",
                      "renewal_fee", "description")
PRODUCT = _fields("id", "name")
RESOURCE = _fields("name", "unit_of_measure", "included", "minimum", "additional", "used",
                   "limit", "visible")
SUBSCRIPTION_POSTPAY = _fields("credit_limit", "current_debt")

_SUBSCRIPTION_CORE = {
    **_fields("id", "name", "start_date", "expiration_date", "auto_renewal",
              "auto_renewal_disabled", "days_left", "days_passed", "trial", "plan_class",
              "renewal_payment_receipt_url", "renewal_amount", "payment_model"),
    "status": _STATUS,
    "plan": PLAN,            # LIQ-4: prints joined with ";"
    "plan_period": PLAN_PERIOD,  # LIQ-4: prints joined with ";"
    "resources": [RESOURCE],  # sorted by resource priority (§2.9.6); [0] is the first
    # §2.9.5: O365 / CSP data keyed by plan or service name; managers by product id and role.
    "notification_settings": {"*": _fields("first_subscription", "login", "password")},
    "responsible_managers_by_product_id": {"*": {"*": _fields("email", "name")}},
}
# subscriptions[] items (§2.9.5): a subscription plus its financial-day fields.
SUBSCRIPTION_ITEM = {**_SUBSCRIPTION_CORE,
                     **_fields("billing_type", "billing_day", "billing_day_date",
                               "billing_day_charge")}
SUBSCRIPTION = {**_SUBSCRIPTION_CORE,
                "account": ACCOUNT,
                "csp": [SUBSCRIPTION_ITEM]}

_PAYMENT_SUBSCRIPTION = {"id": None, "name": None, "status": _STATUS}
PAYMENT = {
    **_fields("id", "payment_method", "document_number", "total", "total_in_words",
              "created_at", "comment", "panel_link", "downloadable", "receipt_url",
              "invoice_from_date", "invoice_to_date", "expiration_date", "link", "days_left",
              "invoice_document_number", "earliest_charge_from_date"),
    "status": _STATUS,
    "orders": {"*": {**_fields("id", "number", "type", "total"), "status": _STATUS}},
    "order_charges": {"*": CHARGE},
    "subscriptions": [_PAYMENT_SUBSCRIPTION],
    # both spellings on both objects.
    "plan_custom_attribute": {"*": None},
    "plan_custom_attributes": {"*": None},
    "plan_resources_custom_attributes": {"*": None},
}
GUARANTEED_PAYMENT = {**_fields("id", "total", "expiration_date", "days_left"),
                      "status": _STATUS}
INVOICE = {
    **_fields("id", "document_number", "total", "total_in_words", "created_at", "from_date",
              "to_date", "to_date_human", "status", "date_today", "due_date", "has_attached"),
    "plan_custom_attributes": {"*": None},
    "plan_custom_attribute": {"*": None},
    "plan_resources_custom_attributes": {"*": None},
    "attached": _fields("name", "url"),
}
MANUAL_OPERATION = {
    "account": _fields("id", "name"),
    "subscription": _fields("id", "name"),
    "owner": _fields("email"),
    "operation": _fields("id", "type", "status"),
    "link": None,
}
SHOPPING_CART_ITEM = _fields("plan_id", "plan_name", "period_id", "period_duration_value",
                             "period_duration_type", "total")
MANUAL_RESOURCE = _fields("name", "count", "description", "type", "operation_value")
PARAM = _fields("name", "resource_name", "value")

BILLING_DAY = _fields("billing_day", "billing_day_left", "billing_day_date",
                      "billing_day_open_charges_amount", "monthly_billing")
_MANAGER_SUBSCRIPTION = {
    **_fields("id", "name", "payment_model", "plan_category_key", "closed_charges_amount"),
    "payment_model_parameters": _fields("credit_limit", "current_debt"),
}
MANAGER_ACCOUNT = {
    **_fields("id", "primary_name", "type_key", "class_key", "balance",
              "financial_blocking_threshold"),
    "subscriptions": [_MANAGER_SUBSCRIPTION],
}

# Placeholder groups, by the names event_types.EventType.objects uses.
GROUPS: dict[str, dict] = {
    "owner": {"owner": OWNER},
    "reseller": {"reseller": RESELLER},
    "vendor": {"vendor": VENDOR},
    "account": {"account": ACCOUNT},
    "user": {"user": USER},
    "manager": {"manager": _fields("name", "email"), "host": None},
    "password_reset": _fields("token", "reset_password_url"),
    "email_confirmation": _fields("confirmation_url"),
    "invitation": {"user_invite": _fields("email", "role"), "inviter": _fields("short_name"),
                   "invite_url": None},
    "order": {"order": ORDER},
    "charge": {"charge": CHARGE},
    "subscription": {"subscription": SUBSCRIPTION},
    "subscriptions": {"subscriptions": [SUBSCRIPTION_ITEM],
                      "subscription": {"csp": [SUBSCRIPTION_ITEM]}},
    "subscription_postpay": {"subscription_postpay": SUBSCRIPTION_POSTPAY},
    "product": {"product": PRODUCT},
    "plan": {"plan": PLAN},
    "plan_period": {"plan_period": PLAN_PERIOD},
    "payment": {"payment": PAYMENT},
    "guaranteed_payment": {"guaranteed_payment": GUARANTEED_PAYMENT},
    "invoice": {"invoice": INVOICE},
    "manual_operation": {"manual_operation": MANUAL_OPERATION,
                         "shopping_cart_item": SHOPPING_CART_ITEM,
                         "resource": MANUAL_RESOURCE, "param": PARAM},
    "billing_day": BILLING_DAY,
    "next_billing_period": _fields("next_billing_period_start_day",
                                   "next_billing_period_end_day"),
    "previous_billing_period": _fields("previous_billing_period_start_day",
                                       "previous_billing_period_end_day"),
    "manager_accounts": {"manager_accounts": [MANAGER_ACCOUNT]},
    "client_products": {"product_ids": [None], "product_names": [None]},  # arrays of scalars
    "days_passed": _fields("DAYS_PASSED"),
    "net_cost": {"price_changed_total": None, "price_changed_time": None,
                 "plans": [_fields("id", "name", "link")], "price_list": _fields("link")},
    "csp_price_file": {"csp_price_file": _fields("accepted_at")},
    "application": {"application": _fields("subscription_attribute_*",
                                           "distributor_attribute_*")},
    "promo_vendor": {"promo_vendor": _fields("id", "name", "description", "status",
                                             "logo_url", "logo_path")},
    "promo_code": {"promo_code": _fields("id", "code", "valid_until", "assigned_at",
                                         "created_at", "updated_at")},
}

# 09 §2.9.15: placeholders only the templates of one event type get.
EVENT_EXTRAS: dict[str, dict] = {
    "account_changed": {"account": {"human_status_name": None}},
    # §2.9.15 "Финансовый день наступил": the recipient is {{manager.email}}.
    "billing_day_come": {"manager": _fields("name", "email")},
}


def _merge(left: Mapping, right: Mapping, *, schema: bool = False) -> dict:
    """Deep-merge two contexts (right wins, joined objects stay joined) or two schemas (whose
    arrays are one item schema, merged too)."""
    merged = dict(left)
    for key, value in right.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(current, value, schema=schema)
        elif schema and isinstance(current, list) and isinstance(value, list):
            merged[key] = [_merge(current[0], value[0], schema=True)]
        else:
            merged[key] = value
    if isinstance(left, JoinedDict):
        return joined(merged, left.text)
    return merged


def schema_for(event_type: str) -> dict:
    """Return the nested placeholder schema of one event type's templates (09 §2.9, A-27).

    Raises KeyError for a key not in 09 §2.5.
    """
    event = get_event_type(event_type)
    schema: dict = {}
    for name in event.all_objects:
        schema = _merge(schema, GROUPS[name], schema=True)
    return _merge(schema, EVENT_EXTRAS.get(event.key, {}), schema=True)


# -- value formats (09 EX-32) ------------------------------------------------------------------

# 09 §2.9.13, A-15: the monthly billing types of billing_day_open_charges_amount and friends.
MONTHLY_BILLING_TYPES = (BillingType.CSP_MONTHLY, BillingType.ESET_ISP_MONTHLY,
                         BillingType.GSUITE, BillingType.FULL_PAYMENT, BillingType.NO_REFUND)
CSP_BILLING_TYPES = (BillingType.CSP_MONTHLY, BillingType.CSP_ANNUAL)
# BD-4: the subscriptions the financial-day events look at.
BILLING_DAY_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.AWAITING_MANUAL_APPROVAL,
                        SubscriptionStatus.PAYMENT_OVERDUE)
UNIT_OF_MEASURE = {"units": "Unit", "boolean": "Boolean"}  # §2.9.6: Единицы / Логический тип
ZERO = Decimal("0")


def _date(value: date | None) -> str | None:
    return value.strftime("%d.%m.%Y") if value else None


def _day_date(value: date | None) -> str | None:
    return value.strftime("%d/%m/%Y") if value else None  # §2.9.13: dd/mm/yyyy


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(clock.zone()).strftime("%d.%m.%Y %H:%M")


def _quantity(value) -> int | Decimal | None:
    """A resource quantity as a template wants it: 10, not 10.00 (EX-31 prints "15")."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else value.normalize()


def _status(current, previous=None) -> JoinedDict:
    return joined({"was": _text(previous)}, _text(current))


def _text(value) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(str(language or "ru").replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse("en")


def _joined_items(items: list[dict], text_of, separator: str) -> JoinedList:
    # LIQ-4: a list printed joined; {% for %}, [0], [1]… and .size still reach the items.
    return joined_list(items, separator.join(text_of(item) for item in items))


# -- links -------------------------------------------------------------------------------------


def _absolute(host: str, endpoint: str, **values) -> str | None:
    """An absolute URL on `host`, or None when the page does not exist in this app."""
    app = current_app
    if endpoint not in app.view_functions:
        return None
    scheme = app.config.get("PREFERRED_URL_SCHEME", "http")
    if has_request_context():
        scheme = request.scheme
        # Keep a development port (localhost:5000), as client_panel_url does.
        if ":" in request.host and not request.host.startswith("["):
            host = f"{host}:{request.host.rsplit(':', 1)[1]}"
    adapter = app.url_map.bind(host, url_scheme=scheme)
    return adapter.build(endpoint, values, force_external=True)


def _client_url(reseller, endpoint: str, **values) -> str | None:
    return _absolute(client_panel_host(reseller), endpoint, **values)


def _panel_url(reseller, endpoint: str, **values) -> str | None:
    return _absolute(reseller.panel_domain or reseller.local_host, endpoint, **values)


# -- the sources of one notification -----------------------------------------------------------


class ContextError(ValueError):
    """A context was asked for with objects of another reseller or of another client."""


class _Sources:
    """The objects of one notification and what is read from them, each read at most once."""

    def __init__(self, event, reseller, *, client, user, staff_member, order, subscription,
                 payment, charge, manual_operation, extra, language, was):
        # Fill in what the given objects imply (an order knows its subscription and client).
        if charge is not None:
            order = order or charge.order
            subscription = subscription or charge.subscription
        if order is not None:
            subscription = subscription or order.subscription
            payment = payment or order.payment
        if manual_operation is not None:
            subscription = subscription or manual_operation.subscription
            client = client or manual_operation.client
        for holder in (order, subscription, payment, charge):
            if holder is not None and client is None:
                client = holder.client
        self.reseller = reseller
        self.client = client
        self.user = user
        self.staff_member = staff_member
        self.order = order
        self.subscription = subscription
        self.payment = payment
        self.charge = charge
        self.manual_operation = manual_operation
        self.extra = dict(extra or {})
        self.language = language
        self.was = dict(was or {})
        self.today = clock.today()
        self.currency = reseller.currency
        self.event = event
        self._charges: dict[tuple, list[Charge]] = {}
        self._check_tenant()
        given = self.extra.pop("billing_day_date", None)
        self.billing_date = self._billing_date(given) if _needs_billing_date(event) else None

    def _check_tenant(self) -> None:
        objects = (self.client, self.user, self.staff_member, self.order, self.subscription,
                   self.payment, self.charge, self.manual_operation)
        for obj in objects:
            if obj is not None and obj.reseller_id != self.reseller.id:
                raise ContextError(f"{type(obj).__name__} #{obj.id} belongs to another reseller")
        if self.client is not None:
            for obj in (self.order, self.subscription, self.payment, self.charge,
                        self.manual_operation):
                if obj is not None and obj.client_id != self.client.id:
                    raise ContextError(f"{type(obj).__name__} #{obj.id} is another client's")

    # -- reads, each once ------------------------------------------------------------------
    @cached_property
    def owner(self) -> User | None:
        return self.client.owner if self.client is not None else None

    @cached_property
    def blocked(self) -> Decimal:
        return blocked_amount(self.client)

    @cached_property
    def contacts(self) -> dict[int, User]:
        ids = [i for i in (self.client.financial_contact_id, self.client.technical_contact_id)
               if i is not None]
        if not ids:
            return {}
        users = db.session.scalars(select(User).where(User.reseller_id == self.reseller.id,
                                                      User.id.in_(ids)))
        return {user.id: user for user in users}

    @cached_property
    def custom_attributes(self) -> dict[str, str]:
        # Passwords stay out of e-mails.
        rows = db.session.execute(
            select(AdditionalParameter.key, AdditionalParameterValue.value)
            .join(AdditionalParameter,
                  AdditionalParameter.id == AdditionalParameterValue.parameter_id)
            .where(AdditionalParameterValue.reseller_id == self.reseller.id,
                   AdditionalParameterValue.entity_type == ParameterTarget.CLIENT,
                   AdditionalParameterValue.entity_id == self.client.id,
                   AdditionalParameter.data_type != ParameterType.PASSWORD))
        return {key: value for key, value in rows}

    @cached_property
    def client_subscriptions(self) -> list[Subscription]:
        """The client's subscriptions that are not deleted, with their plans (one query)."""
        return list(db.session.scalars(
            select(Subscription)
            .options(joinedload(Subscription.plan).joinedload(Plan.provisioning_rule),
                     joinedload(Subscription.plan).joinedload(Plan.product),
                     joinedload(Subscription.plan_period),
                     selectinload(Subscription.resources))
            .where(Subscription.reseller_id == self.reseller.id,
                   Subscription.client_id == self.client.id,
                   Subscription.status != SubscriptionStatus.DELETED)
            .order_by(Subscription.id)).unique())

    def resources_of(self, subscriptions: list[Subscription]) -> dict[int, list[dict]]:
        """Each subscription's resources sorted by priority (§2.9.6); the client's
        subscriptions come with their resources, so this reads only the plan resources."""
        resources = [r for s in subscriptions for r in s.resources]
        plan_ids = {r.plan_resource_id for r in resources}
        plan_resources = {p.id: p for p in db.session.scalars(select(PlanResource).where(
            PlanResource.reseller_id == self.reseller.id, PlanResource.id.in_(plan_ids)))
        } if plan_ids else {}
        by_subscription: dict[int, list] = {s.id: [] for s in subscriptions}
        for resource in resources:
            by_subscription[resource.subscription_id].append(
                (resource, plan_resources.get(resource.plan_resource_id)))
        return {sid: [_resource(r, p) for r, p in sorted(
                    items, key=lambda pair: (-(pair[1].priority if pair[1] else 0), pair[0].id))]
                for sid, items in by_subscription.items()}

    def blocked_debt_of(self, subscriptions: list[Subscription]) -> dict[int, Decimal]:
        """09 §4.11: Σ Blocked charges in the current financial period, per subscription."""
        debts = {subscription.id: ZERO for subscription in subscriptions}
        if not subscriptions:
            return debts
        periods = {s.id: financial_period(self.today, _financial_day(s)) for s in subscriptions}
        rows = db.session.execute(
            select(Charge.subscription_id, Charge.amount, Charge.operate_from,
                   Charge.operate_to)
            .where(Charge.reseller_id == self.reseller.id,
                   Charge.subscription_id.in_(list(debts)),
                   Charge.status == ChargeStatus.BLOCKED))
        for subscription_id, amount, operate_from, operate_to in rows:
            first, last = periods[subscription_id]
            if operate_from <= last and operate_to >= first:
                debts[subscription_id] += amount
        return debts

    @cached_property
    def order_charges(self) -> list[Charge]:
        return self.charges_of_orders([self.order.id]) if self.order is not None else []

    def charges_of_orders(self, order_ids: list[int]) -> list[Charge]:
        key = tuple(sorted(order_ids))
        if key not in self._charges:
            self._charges[key] = list(db.session.scalars(
                select(Charge).options(joinedload(Charge.subscription_resource))
                .where(Charge.reseller_id == self.reseller.id, Charge.order_id.in_(key))
                .order_by(Charge.order_id, Charge.operate_from, Charge.id))) if key else []
        return self._charges[key]

    @cached_property
    def payment_orders(self) -> list[Order]:
        if self.payment is None:
            return []
        return list(db.session.scalars(
            select(Order).options(joinedload(Order.subscription))
            .where(Order.reseller_id == self.reseller.id, Order.payment_id == self.payment.id)
            .order_by(Order.id)))

    @cached_property
    def renewal_orders(self) -> dict[int, Order]:
        """The client's renewal and prolong orders waiting for payment, by subscription."""
        if self.client is None:
            return {}
        orders = db.session.scalars(select(Order).where(
            Order.reseller_id == self.reseller.id, Order.client_id == self.client.id,
            Order.status == OrderStatus.WAITING_FOR_PAYMENT,
            Order.order_type.in_((OrderType.RENEWAL_ORDER, OrderType.PROLONG_ORDER))))
        return {order.subscription_id: order for order in orders}

    @cached_property
    def open_charges(self) -> dict[int, Decimal]:
        """§2.9.5 billing_day_charge: Σ Open charges closing on the event's financial day, of
        subscriptions with auto-renewal point 0 and a monthly billing type (A-15)."""
        if self.billing_date is None or self.client is None:
            return {}
        ids = [s.id for s in self.client_subscriptions if s.auto_renew_point_days == 0
               and s.plan.billing_type in MONTHLY_BILLING_TYPES]
        if not ids:
            return {}
        rows = db.session.execute(
            select(Charge.subscription_id, func.sum(Charge.amount))
            .where(Charge.reseller_id == self.reseller.id, Charge.subscription_id.in_(ids),
                   Charge.status == ChargeStatus.OPEN, Charge.close_date == self.billing_date)
            .group_by(Charge.subscription_id))
        return {subscription_id: Decimal(total) for subscription_id, total in rows}

    def _billing_date(self, given) -> date | None:
        """The financial day the event is about: given by the emitter, else the nearest one
        of the subscription on or after today (09 A-22)."""
        if isinstance(given, date):
            return given
        subscription = self.subscription
        if subscription is None and self.client is not None:
            subscription = next(iter(self.client_subscriptions), None)
        if subscription is None:
            return None
        return next_financial_day(self.today - timedelta(days=1), _financial_day(subscription))


def _needs_billing_date(event) -> bool:
    return any(name in event.objects for name in
               ("billing_day", "next_billing_period", "previous_billing_period",
                "manager_accounts", "subscriptions"))


def _financial_day(subscription: Subscription) -> int:
    return subscription.plan.provisioning_rule.financial_day


# -- builders, one per group -------------------------------------------------------------------


def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "email": user.email, "first_name": user.first_name,
            "middle_name": user.middle_name, "last_name": user.last_name,
            "status": _text(user.status)}


def _owner(src: _Sources) -> dict:
    owner = _person(src.owner)
    return {"owner": owner} if owner else {}


def _reseller(src: _Sources) -> dict:
    emails = db.session.scalars(
        select(StaffMember.email).where(StaffMember.reseller_id == src.reseller.id,
                                        StaffMember.status == StaffStatus.ACTIVE)
        .order_by(StaffMember.id))
    return {"reseller": {"id": src.reseller.id,
                         "name": src.reseller.company_name or src.reseller.name,
                         # An address field takes a comma-separated list.
                         "managers_emails": ", ".join(emails),
                         "custom_attributes": {}}}


def _vendor(src: _Sources) -> dict:
    """A-26: absolute URLs of the reseller's uploaded logos; one logo serves every slot."""
    reseller = src.reseller
    version = reseller.branding_version
    logo = (_client_url(reseller, "tenancy.branding_asset", kind="logo", v=version)
            if reseller.logo_type else None)
    favicon = (_client_url(reseller, "tenancy.branding_asset", kind="favicon", v=version)
               if reseller.favicon_type else None)
    return {"vendor": {"logo": logo, "inverted_logo": logo, "short_logo": logo, "stamp": None,
                       "favicon": favicon}}


def _contact(prefix: str, user: User | None) -> dict:
    values = {"id": None, "email": None, "name": None, "first_name": None, "middle_name": None,
              "last_name": None}
    if user is not None:
        values = {"id": user.id, "email": user.email, "name": user.full_name,
                  "first_name": user.first_name, "middle_name": user.middle_name,
                  "last_name": user.last_name}
    return {f"{prefix}_{key}": value for key, value in values.items()}


def _account(src: _Sources) -> dict:
    client = src.client
    if client is None:
        return {}
    owner = src.owner
    balance = (client.balance or ZERO) - src.blocked  # §2.9.2: minus the blocked funds
    subscription = src.subscription or next(iter(src.client_subscriptions), None)
    country = client.country or ""
    account = {
        "id": client.id,
        "type_id": client.client_type_id, "type_key": client.client_type.key,
        "class_id": client.service_rule_id, "class_key": client.service_rule.key,
        "billing_day": _financial_day(subscription) if subscription is not None else None,
        "financial_blocking_threshold": effective_block_threshold(client),
        "balance": balance,
        "balance_with_currency": format_currency(round_money(balance, src.currency),
                                                 src.currency, locale=_locale(src.language)),
        "status": _status(client.status, src.was.get("account.status")),
        "name": client.name,
        # §2.9.2: the first, middle and last name are the Owner's.
        "first_name": owner.first_name if owner else "",
        "middle_name": owner.middle_name if owner else "",
        "last_name": owner.last_name if owner else "",
        "street": client.street, "building": client.house, "office": client.premises,
        "country": country,
        "country_name": _locale(src.language).territories.get(country, "") if country else "",
        "city": client.city, "zip": client.postal_code, "phone": client.phone,
        "custom_attributes": src.custom_attributes,
        **_contact("bill_user", src.contacts.get(client.financial_contact_id)),
        **_contact("tech_user", src.contacts.get(client.technical_contact_id)),
        "manager": ({"name": client.manager.name, "email": client.manager.email}
                    if client.manager is not None else {"name": None, "email": None}),
    }
    if src.event.key == "account_changed":  # §2.9.15: this event's templates only
        account["human_status_name"] = str(CLIENT_STATUS_LABELS[client.status])
    return {"account": account}


def _user(src: _Sources) -> dict:
    user = src.user or (src.owner if src.client is not None else None)
    person = _person(user)
    return {"user": person} if person else {}


def _manager(src: _Sources) -> dict:
    member = src.staff_member
    if member is None and src.client is not None:
        member = src.client.manager  # 09 event 6: the client's (new) manager
    values: dict = {"host": _panel_url(src.reseller, "operator.home")}
    if member is not None:
        values["manager"] = {"name": member.name, "email": member.email}
    return values


def _invitation(src: _Sources) -> dict:
    if src.user is None:
        return {}
    role = None
    if src.client is not None:
        membership = db.session.scalar(select(ClientUser).where(
            ClientUser.reseller_id == src.reseller.id, ClientUser.client_id == src.client.id,
            ClientUser.user_id == src.user.id))
        if membership is not None:
            role = str(ACCESS_LEVEL_LABELS[membership.access_level])
    return {"user_invite": {"email": src.user.email, "role": role}}


def _charge_values(charge: Charge, *, name: str) -> dict:
    without_tax = charge.amount - (charge.tax or ZERO)
    tax_percent = ((charge.tax or ZERO) * 100 / without_tax).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP) if without_tax and charge.tax else ZERO
    # the discounted unit price, not the per-unit discount.
    discounted = (round_money(charge.unit_price * (charge.gross - charge.discount)
                              / charge.gross, charge.currency)
                  if charge.gross else charge.unit_price)
    return joined({
        "description": charge.description, "quantity": _quantity(charge.quantity),
        "unit_price_without_tax": charge.unit_price, "discount_amount": charge.discount,
        "discounted_unit_price_without_tax": discounted, "amount_without_tax": without_tax,
        # §2.9.4: the period the subscription was ordered for ("2 месяца").
        "period": period_name(charge.subscription.plan_period),
        "tax_percent": tax_percent, "amount": charge.amount,
        "operate_from": _date(charge.operate_from), "operate_to": _date(charge.operate_to),
        "name": name,
    }, name)


def charge_name(charge: Charge, order_charges: list[Charge], *, language: str) -> str:
    """09 CHN-1 (§4.12): resource, subscription and paid period "с … по …" as invoices show it.

    The period depends on the billing type; "first/last charge" are the first and last charge
    of the same order line and fee. Dates are the charges' own, the last day inclusive (D1).
    """
    subscription = charge.subscription
    line = [c for c in order_charges if c.order_id == charge.order_id
            and c.line_key == charge.line_key and c.charge_type == charge.charge_type] or [charge]
    first, last = line[0], line[-1]
    billing_type = subscription.plan.billing_type
    start, end = charge.operate_from, charge.operate_to
    if charge.order_id is not None:
        if billing_type in (BillingType.CSP_ANNUAL, BillingType.PREORDER):
            start = first.operate_from
            end = (last.operate_to if subscription.payment_model == PaymentModel.PREPAY
                   else first.operate_to)
        elif billing_type in (BillingType.CSP_MONTHLY, BillingType.GSUITE,
                              BillingType.NO_REFUND):
            start, end = first.operate_from, first.operate_to
    resource = charge.subscription_resource
    return describe_charge(related_operation=charge.related_operation,
                           charge_type=charge.charge_type, subscription=subscription,
                           resource_name=resource.name if resource is not None else None,
                           operate_from=start, operate_to=end, language=language)


def _order(src: _Sources) -> dict:
    order = src.order
    if order is None:
        return {}
    charges = [_charge_values(c, name=charge_name(c, src.order_charges, language=src.language))
               for c in src.order_charges]
    return {"order": {
        "id": order.id, "number": order.number,
        "status": _status(order.status, src.was.get("order.status")),
        "created_at": _instant(order.created_at), "type": manual_order_type(order.order_type),
        "total": order.total,
        # LIQ-4: the charges joined with ".".
        "charges": _joined_items(charges, lambda c: c["name"], ". "),
    }}


def _charge(src: _Sources) -> dict:
    charge = src.charge or next(iter(src.order_charges), None)
    if charge is None:
        return {}
    name = charge_name(charge, src.order_charges or [charge], language=src.language)
    return {"charge": _charge_values(charge, name=name)}


def _plan_values(plan: Plan) -> JoinedDict:
    values = {"id": plan.id, "name": plan.name, "description": plan.description,
              "status": _text(plan.status), "class_id": plan.provisioning_rule_id,
              "auto_renewal_disabled": plan.lock_autorenew}
    # LIQ-4: ID, name, description, status, provisioning-rule ID joined with ";".
    return joined(values, ";".join(_text(values[key]) for key in
                                   ("id", "name", "description", "status", "class_id")))


def _period_values(period) -> JoinedDict:
    values = {"duration_value": period.duration,
              "duration_type": _text(period.duration_unit) or None,
              "trial": period.is_trial, "setup_fee": period.setup_fee,
              "recurring_fee": period.monthly_fee, "renewal_fee": period.renewal_fee,
              "description": period.description}
    # LIQ-4: duration, trial, setup, renewal and recurring fee, description joined with ";".
    text = ";".join(_text(values[key]).lower() if key == "trial" else _text(values[key])
                    for key in ("duration_value", "trial", "setup_fee", "renewal_fee",
                                "recurring_fee", "description"))
    return joined(values, text)


def _resource(resource, plan_resource) -> dict:
    unit = _text(plan_resource.unit_type) if plan_resource is not None else "units"
    measurable = plan_resource is not None and plan_resource.measurable
    return {"name": resource.name, "unit_of_measure": UNIT_OF_MEASURE.get(unit, unit),
            "included": _quantity(resource.included), "minimum": _quantity(resource.minimum),
            "additional": _quantity(resource.additional),
            "used": _quantity(resource.used) if measurable else 0,  # §2.9.6: 0 if unmetered
            "limit": None if resource.unlimited else _quantity(resource.limit),
            "visible": plan_resource.public if plan_resource is not None else True}


def _subscription_core(src: _Sources, subscription: Subscription,
                       resources: list[dict]) -> dict:
    expiry = subscription.expiry_date
    return {
        "id": subscription.id, "name": subscription.name,
        "status": _status(subscription.status,
                          src.was.get("subscription.status")
                          if subscription is src.subscription else None),
        "start_date": _date(subscription.start_date), "expiration_date": _date(expiry),
        "auto_renewal": subscription.auto_renew,
        "auto_renewal_disabled": subscription.auto_renew_locked,
        # 09 §4.11, A-12: both count from the expiration date.
        "days_left": (expiry - src.today).days if expiry else None,
        "days_passed": (src.today - expiry).days if expiry else None,
        "trial": subscription.is_trial,
        "plan_class": subscription.plan.provisioning_rule_id,
        "plan": _plan_values(subscription.plan),
        "plan_period": _period_values(subscription.plan_period),
        "resources": resources,
        "payment_model": _text(subscription.payment_model),
        "renewal_amount": _renewal_amount(src, subscription),
        "renewal_payment_receipt_url": None,  # invoices cannot be downloaded yet
        "notification_settings": {},
        "responsible_managers_by_product_id": {},
    }


def _renewal_amount(src: _Sources, subscription: Subscription) -> Decimal | None:
    """§2.9.5: what the balance lacks for the open renewal order; None without one."""
    order = src.renewal_orders.get(subscription.id)
    if order is None:
        return None
    available = (src.client.balance or ZERO) - src.blocked
    return max(ZERO, order.total - available)


def _subscription_item(src: _Sources, subscription: Subscription, resources: list[dict],
                       billing_date: date | None) -> dict:
    day = _financial_day(subscription)
    nearest = next_financial_day(src.today - timedelta(days=1), day)
    item = _subscription_core(src, subscription, resources)
    item.update({"billing_type": _text(subscription.plan.billing_type), "billing_day": day,
                 "billing_day_date": _day_date(nearest),
                 "billing_day_charge": (src.open_charges.get(subscription.id, ZERO)
                                        if billing_date is not None else None)})
    return item


def _subscription(src: _Sources) -> dict:
    subscription = src.subscription
    if subscription is None:
        return {}
    resources = src.resources_of([subscription])[subscription.id]
    values = _subscription_core(src, subscription, resources)
    values["account"] = None  # filled in by build_context from the account group
    values["csp"] = _csp(src)
    return {"subscription": values}


def _csp(src: _Sources) -> list[dict]:
    if src.client is None:
        return []
    csp = [s for s in src.client_subscriptions if s.plan.billing_type in CSP_BILLING_TYPES]
    resources = src.resources_of(csp)
    return [_subscription_item(src, s, resources[s.id], None) for s in csp]


def _subscriptions(src: _Sources) -> dict:
    """§2.9.5 `subscriptions`; for a financial-day event only those on that day (A-45)."""
    if src.client is None:
        return {}
    billing_date = src.billing_date
    chosen = src.client_subscriptions
    if src.event.key == "billing_day_coming" and billing_date is not None:
        chosen = [s for s in chosen if s.status in BILLING_DAY_STATUSES
                  and _financial_day(s) == billing_date.day]
    resources = src.resources_of(chosen)
    return {"subscriptions": [_subscription_item(src, s, resources[s.id], billing_date)
                              for s in chosen],
            "subscription": {"csp": _csp(src)}}


def _subscription_postpay(src: _Sources) -> dict:
    subscription = src.subscription
    if subscription is None or subscription.payment_model != PaymentModel.POSTPAY:
        return {}
    debt = src.blocked_debt_of([subscription])[subscription.id]
    return {"subscription_postpay": {"credit_limit": effective_credit_limit(src.client),
                                     "current_debt": debt}}


def _product(src: _Sources) -> dict:
    plan = _context_plan(src)
    if plan is None:
        return {}
    return {"product": {"id": plan.product_id, "name": plan.product.name}}


def _context_plan(src: _Sources) -> Plan | None:
    if src.order is not None:
        return src.order.plan
    if src.subscription is not None:
        return src.subscription.plan
    return None


def _plan(src: _Sources) -> dict:
    plan = _context_plan(src)
    return {"plan": _plan_values(plan)} if plan is not None else {}


def _plan_period(src: _Sources) -> dict:
    period = (src.order.plan_period if src.order is not None else
              src.subscription.plan_period if src.subscription is not None else None)
    return {"plan_period": _period_values(period)} if period is not None else {}


def _payment(src: _Sources) -> dict:
    payment = src.payment
    if payment is None:
        return {}
    orders = src.payment_orders
    charges = src.charges_of_orders([o.id for o in orders])
    link = (_client_url(src.reseller, "client_panel.payments", document_id=payment.number)
            or _client_url(src.reseller, "client_panel.home"))
    plans = {o.plan_id: o.plan for o in orders}
    plan_attributes = {k: v for plan in plans.values()
                       for k, v in (plan.additional_params or {}).items()}
    resource_attributes = {k: v for plan in plans.values() for resource in plan.resources
                           for k, v in (resource.additional_params or {}).items()}
    subscriptions = {o.subscription_id: o.subscription for o in orders}
    due = payment.due_date or min((o.expires_on for o in orders if o.expires_on), default=None)
    order_values = [{"id": o.id, "number": o.number, "type": manual_order_type(o.order_type),
                     "total": o.total, "status": _status(o.status)} for o in orders]
    charge_values = [_charge_values(c, name=charge_name(c, charges, language=src.language))
                     for c in charges]
    return {"payment": {
        "id": payment.id, "payment_method": payment.payment_method or None,
        "document_number": payment.number, "total": payment.total,
        "total_in_words": amount_in_words(payment.total, language=src.language,
                                          currency=payment.currency),
        "created_at": _date(payment.created_at.astimezone(clock.zone()).date()),
        "status": _status(payment.status, src.was.get("payment.status")),
        "comment": payment.comment,
        # LIQ-4: orders and their charges joined with ";".
        "orders": _joined_items(order_values, lambda o: o["number"], ";"),
        "order_charges": _joined_items(charge_values, lambda c: c["name"], ";"),
        "panel_link": link, "link": link,
        "downloadable": False, "receipt_url": None,  # no invoice download yet
        "plan_custom_attribute": plan_attributes, "plan_custom_attributes": plan_attributes,
        "plan_resources_custom_attributes": resource_attributes,
        "expiration_date": _date(due),
        "days_left": (due - src.today).days if due else None,
        "subscriptions": [{"id": s.id, "name": s.name, "status": _status(s.status)}
                          for s in subscriptions.values()],
        "earliest_charge_from_date": _date(min((c.operate_from for c in charges),
                                               default=None)),
    }}


def _manual_operation(src: _Sources) -> dict:
    operation = src.manual_operation
    if operation is None:
        return {}
    client, subscription = operation.client, operation.subscription
    owner = src.owner
    values = {"manual_operation": {
        "account": {"id": client.id, "name": client.name},
        "subscription": ({"id": subscription.id, "name": subscription.name}
                         if subscription is not None else {"id": None, "name": None}),
        "owner": {"email": owner.email if owner else None},
        "operation": {"id": operation.id, "type": _text(operation.operation_type),
                      "status": _text(operation.status)},
        "link": _panel_url(src.reseller, "provisioning.manual_operation_detail",
                           manual_operation_id=operation.id),
    }}
    order = operation.task.order if operation.task is not None else None
    if order is None and subscription is not None:
        order = db.session.scalar(select(Order).where(
            Order.reseller_id == src.reseller.id, Order.subscription_id == subscription.id)
            .order_by(Order.id.desc()).limit(1))
    if order is not None:
        period = order.plan_period
        values["shopping_cart_item"] = {
            "plan_id": order.plan_id, "plan_name": order.plan.name,  # the plan's name
            "period_id": period.id, "period_duration_value": period.duration,
            "period_duration_type": _text(period.duration_unit) or None,
            "total": order.total}
    return values


def _billing_day(src: _Sources) -> dict:
    """§2.9.13 for the event's financial day (BD-7, BD-8)."""
    billing_date = src.billing_date
    if billing_date is None:
        return {}
    day = billing_date.day
    # BD-7: on the financial day itself, the days to the next one (never 0).
    target = billing_date if billing_date > src.today else next_financial_day(src.today, day)
    values = {"billing_day": day, "billing_day_left": (target - src.today).days,
              "billing_day_date": _day_date(billing_date)}
    if src.client is not None:
        monthly = [s for s in src.client_subscriptions
                   if s.plan.billing_type in MONTHLY_BILLING_TYPES and _financial_day(s) == day]
        values["monthly_billing"] = bool(monthly)
        values["billing_day_open_charges_amount"] = sum(src.open_charges.values(), ZERO)
    return values


def _next_billing_period(src: _Sources) -> dict:
    billing_date = src.billing_date
    if billing_date is None:
        return {}
    return {"next_billing_period_start_day": _date(billing_date),
            "next_billing_period_end_day": _date(add_months(billing_date, 1)
                                                 - timedelta(days=1))}


def _previous_billing_period(src: _Sources) -> dict:
    billing_date = src.billing_date
    if billing_date is None:
        return {}
    return {"previous_billing_period_start_day": _date(add_months(billing_date, -1)),
            "previous_billing_period_end_day": _date(billing_date - timedelta(days=1))}


def _client_products(src: _Sources) -> dict:
    if src.client is None:
        return {}
    active = [s for s in src.client_subscriptions if s.status == SubscriptionStatus.ACTIVE]
    products = {s.plan.product_id: s.plan.product.name for s in active}
    return {"product_ids": list(products), "product_names": list(products.values())}


def _days_passed(src: _Sources) -> dict:
    subscription = src.subscription
    if subscription is None or subscription.expiry_date is None:
        return {}
    return {"DAYS_PASSED": (src.today - subscription.expiry_date).days}


def _manager_accounts(src: _Sources) -> dict:
    """§2.9.15 "Финансовый день наступил": the manager's clients with a subscription whose
    financial day is the event's, in a fixed number of queries."""
    member, billing_date = src.staff_member, src.billing_date
    if member is None or billing_date is None:
        return {}
    clients = list(db.session.scalars(
        select(Client).options(joinedload(Client.client_type), joinedload(Client.service_rule))
        .where(Client.reseller_id == src.reseller.id, Client.manager_id == member.id,
               Client.status != ClientStatus.DELETED).order_by(Client.id)))
    if not clients:
        return {"manager_accounts": []}
    subscriptions = list(db.session.scalars(
        select(Subscription)
        .options(joinedload(Subscription.plan).joinedload(Plan.provisioning_rule),
                 joinedload(Subscription.plan).joinedload(Plan.plan_category))
        .where(Subscription.reseller_id == src.reseller.id,
               Subscription.client_id.in_([c.id for c in clients]),
               Subscription.status != SubscriptionStatus.DELETED)
        .order_by(Subscription.id)).unique())
    subscriptions = [s for s in subscriptions if _financial_day(s) == billing_date.day]
    previous_first = add_months(billing_date, -1)
    closed = dict(db.session.execute(
        select(Charge.subscription_id, func.sum(Charge.amount))
        .where(Charge.reseller_id == src.reseller.id,
               Charge.subscription_id.in_([s.id for s in subscriptions]),
               Charge.status == ChargeStatus.CLOSED, Charge.close_date >= previous_first,
               Charge.close_date < billing_date)
        .group_by(Charge.subscription_id)).all()) if subscriptions else {}
    postpaid = [s for s in subscriptions if s.payment_model == PaymentModel.POSTPAY]
    debts = src.blocked_debt_of(postpaid)
    held = dict(db.session.execute(
        select(Charge.client_id, func.sum(Charge.amount))
        .where(Charge.reseller_id == src.reseller.id,
               Charge.client_id.in_([c.id for c in clients]),
               Charge.status == ChargeStatus.BLOCKED)
        .group_by(Charge.client_id)).all())
    accounts = []
    for client in clients:
        own = [s for s in subscriptions if s.client_id == client.id]
        if not own:
            continue
        items = []
        for s in own:
            item = {"id": s.id, "name": s.name, "payment_model": _text(s.payment_model),
                    "plan_category_key": s.plan.plan_category.key,
                    "closed_charges_amount": Decimal(closed.get(s.id) or 0)}
            if s.payment_model == PaymentModel.POSTPAY:
                item["payment_model_parameters"] = {
                    "credit_limit": effective_credit_limit(client), "current_debt": debts[s.id]}
            items.append(item)
        accounts.append({"id": client.id, "primary_name": client.name,
                         "type_key": client.client_type.key,
                         "class_key": client.service_rule.key,
                         # As account.balance (§2.9.2): less the money held.
                         "balance": (client.balance or ZERO) - Decimal(held.get(client.id) or 0),
                         "financial_blocking_threshold": effective_block_threshold(client),
                         "subscriptions": items})
    return {"manager_accounts": accounts}


def _net_cost(src: _Sources) -> dict:
    """09 J12: plans whose cost changed on the given day (extra "changed_on", default the
    day before today), 00:00:00–23:59:59 in the platform zone (EX-16)."""
    day = src.extra.pop("changed_on", None) or src.today - timedelta(days=1)
    zone = clock.zone()
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    plans = list(db.session.scalars(select(Plan).where(
        Plan.reseller_id == src.reseller.id, Plan.cost_changed_at >= start,
        Plan.cost_changed_at < start + timedelta(days=1)).order_by(Plan.id)))
    return {"price_changed_total": len(plans),
            "price_changed_time": _instant(max((p.cost_changed_at for p in plans),
                                               default=None)),
            "plans": [{"id": p.id, "name": p.name,
                       "link": _panel_url(src.reseller, "catalog.plan_detail", plan_id=p.id)}
                      for p in plans],
            "price_list": {"link": _panel_url(src.reseller, "catalog.price_list")}}


BUILDERS = {
    "owner": _owner, "reseller": _reseller, "vendor": _vendor, "account": _account,
    "user": _user, "manager": _manager, "invitation": _invitation, "order": _order,
    "charge": _charge, "subscription": _subscription, "subscriptions": _subscriptions,
    "subscription_postpay": _subscription_postpay, "product": _product, "plan": _plan,
    "plan_period": _plan_period, "payment": _payment, "manual_operation": _manual_operation,
    "billing_day": _billing_day, "next_billing_period": _next_billing_period,
    "previous_billing_period": _previous_billing_period, "client_products": _client_products,
    "days_passed": _days_passed, "manager_accounts": _manager_accounts, "net_cost": _net_cost,
    # No source yet (acts, promised payments, CSP files, Vendor Portal, promo codes), or values
    # only the emitter knows (tokens, links): they come through `extra`.
}


# -- the context -------------------------------------------------------------------------------


def build_context(event_type: str, *, reseller, client=None, user=None, order=None,
                  subscription=None, payment=None, charge=None, manual_operation=None,
                  staff_member=None, extra: Mapping | None = None, language: str,
                  was: Mapping | None = None) -> dict:
    """Return the plain placeholder context of one notification (09 §2.9).

    Objects imply each other (an order brings its subscription, payment and client) and must
    all belong to `reseller` and to one client (ContextError otherwise). `staff_member` is the
    staff member an event is about (manager password reset, the manager of "Финансовый день
    наступил"). `extra` holds what only the emitter knows, merged over the built values:
    tokens and links (`token`, `reset_password_url`, `invite_url`, `inviter`,
    `confirmation_url`, `account: {owner_reset_password_url}`), and `billing_day_date` (a date:
    the financial day of events 38/39) or `changed_on` (a date: the day of the net-cost digest).
    `was` maps "payment.status" / "order.status" / "subscription.status" / "account.status" to
    the previous status (RULE-7). `language` renders labels, country names and amounts in words.
    """
    event = get_event_type(event_type)
    with force_locale(language):
        src = _Sources(event, reseller, client=client, user=user, staff_member=staff_member,
                       order=order, subscription=subscription, payment=payment, charge=charge,
                       manual_operation=manual_operation, extra=extra, language=language,
                       was=was)
        context: dict = {}
        for name in event.all_objects:
            builder = BUILDERS.get(name)
            if builder is not None:
                context = _merge(context, builder(src))
    context = _merge(context, src.extra)
    if "id" in context.get("subscription", {}) and "account" in context:
        # §2.9.5 subscription.account: the owning client, printed as its name.
        context["subscription"]["account"] = joined(context["account"],
                                                    context["account"]["name"])
    _check_plain(context)
    return context


_PLAIN = (str, bool, int, Decimal, date, type(None))


def _check_plain(value, path: str = "") -> None:
    """The sandbox must never reach a Python object: fail loudly in the builder instead."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_plain(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | JoinedList):
        for index, item in enumerate(value):
            _check_plain(item, f"{path}[{index}]")
    elif not isinstance(value, _PLAIN) or isinstance(value, float):
        raise TypeError(f"placeholder {path} holds a {type(value).__name__}")


# -- preview samples ---------------------------------------------------------------------------


def _latest(model, reseller, *criteria):
    return db.session.scalar(select(model).where(model.reseller_id == reseller.id, *criteria)
                             .order_by(model.id.desc()).limit(1))


def _sample_subject(event, reseller) -> tuple[str, object] | None:
    """The object a preview of this event shows: the reseller's latest of its kind."""
    objects = event.objects
    if "order" in objects:
        return "order", _latest(Order, reseller)
    if "manual_operation" in objects:
        return "manual_operation", _latest(ManualOperation, reseller)
    if "payment" in objects:
        return "payment", _latest(Payment, reseller)
    if "subscription" in objects:
        return "subscription", _latest(Subscription, reseller,
                                       Subscription.status != SubscriptionStatus.DELETED)
    if "account" in objects or "subscriptions" in objects:
        return "client", _latest(Client, reseller, Client.status != ClientStatus.DELETED)
    if "user" in objects:
        return "user", _latest(User, reseller)
    if "manager" in objects:
        return "staff_member", _latest(StaffMember, reseller,
                                       StaffMember.status == StaffStatus.ACTIVE)
    if "net_cost" in objects:
        return None  # the digest is about the reseller itself
    return "nothing", None  # no source in the product yet (CSP price files)


def sample_context(event_type: str, reseller, *, language: str | None = None) -> dict:
    """A context for the template preview: built from the reseller's latest fitting object
    (order, manual operation, payment, subscription, client, user, staff member), else the
    clearly fake `fake_context`."""
    event = get_event_type(event_type)
    language = language or reseller.default_language or "ru"
    subject = _sample_subject(event, reseller)
    if subject is not None and subject[1] is None:
        return fake_context(event_type)
    kwargs = dict([subject]) if subject is not None else {}
    extra = {}
    if "manager_accounts" in event.objects:
        extra["billing_day_date"] = clock.today()  # as if today's billing run had finished
    return build_context(event_type, reseller=reseller, language=language, extra=extra,
                         **kwargs)


# Typed examples where a string would break a filter; everything else prints "[path]".
_FAKE_LEAVES = {
    "id": 1001, "total": Decimal("1234.50"), "amount": Decimal("1234.50"),
    "balance": Decimal("1234.50"), "email": "client@example.com", "quantity": 1,
    "days_left": 10, "days_passed": 1, "billing_day": 1, "billing_day_left": 10,
    "trial": False, "payment_model": "prepay",
}


def fake_context(event_type: str) -> dict:
    """A context covering the whole schema with values that cannot pass for real ones:
    "[account.name]" strings, objects printed as "[subscription.plan]", and a few typed
    examples (1001, 1234.50) so that filters can be tried."""

    def fill(schema, path: str):
        if schema is None or schema is ANY:
            return _FAKE_LEAVES.get(path.rsplit(".", 1)[-1], f"[{path}]")
        if isinstance(schema, list):
            return [fill(schema[0], f"{path}[0]")]
        values = {}
        for key, item in schema.items():
            if key == "*":
                values[0 if isinstance(item, dict) else "example"] = fill(item, f"{path}[0]")
            elif key.endswith("*"):
                values[f"{key[:-1]}example"] = fill(item, f"{path}.{key[:-1]}example")
            else:
                values[key] = fill(item, f"{path}.{key}" if path else key)
        return joined(values, f"[{path}]") if path else values

    context = fill(schema_for(event_type), "")
    _check_plain(context)
    return context
