"""API: orders and payments (spec 03 §2.1, §2.6, §3.1, §3.2; API.md "orders", "payments").

The rules are the services' (`portal.orders.services.ordering`, `.payments`); this module only
turns JSON into their arguments, so that bad input is a 422 naming the field, a state conflict
a 409, and never a 500.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import StaffMember
from portal.api.base import endpoint, iso, json_body, paginate, require
from portal.api.catalog import (amount, flag, invalid, mapping, money, object_id, optional_id,
                                query_enum, query_id, text)
from portal.catalog.models import Plan, PlanPeriod, ResourceUnit
from portal.clients.models import Client
from portal.core.clock import clock
from portal.extensions import db
from portal.orders.models import (Order, OrderLine, OrderStatus, OrderType, Payment, PaymentKind,
                                  PaymentStatus)
from portal.orders.services.ordering import (cancel_order, clean_individual_prices,
                                             place_sales_order, set_order_expiry)
from portal.orders.services.payments import cancel_payment, complete_payment, create_topup
from portal.tenancy.scope import scoped_select, tenant_get_or_404

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Dates the billing can count from: the terms and renewals computed from a date near the
# calendar's end would overflow (a 500).
DATE_RANGE = (date(1900, 1, 1), date(2999, 12, 31))
# A quantity column is Numeric(14, 2): anything near that is no real order (and would fail the
# INSERT on PostgreSQL, a 500).
QUANTITY_MAX = Decimal("1000000000")


# --- JSON checks shared with portal.api.subscriptions ---------------------------------------

def date_value(value, field: str) -> date:
    """A calendar date as YYYY-MM-DD (API.md conventions)."""
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise invalid(field, _("A date looks like 2026-11-22."))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise invalid(field, _("A date looks like 2026-11-22.")) from None
    if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
        raise invalid(field, _("The date is out of range."))
    return day


def quantity_value(value, field: str) -> Decimal:
    """A total quantity: a whole number as a JSON number or string; true/false for a yes/no
    resource. Whether it fits the resource's minimum and limit is the service's rule."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str | int):
        raise invalid(field, _("Must be a number or a string such as \"10\"."))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise invalid(field, _("Must be a number or a string such as \"10\".")) from None
    if not number.is_finite() or abs(number) >= QUANTITY_MAX:
        raise invalid(field, _("The number is too large."))
    return number


def quantities_value(value, field: str = "resources") -> dict[int, Decimal]:
    """{plan resource id: total quantity}; the keys are the plan's resource ids."""
    mapping(value, field)
    result = {}
    for key, raw in (value or {}).items():
        name = f"{field}.{key}"
        if not re.fullmatch(r"[0-9]{1,10}", key) or not 0 < int(key) < 2**31:
            raise invalid(name, _("Must be the id of an object (a whole number)."))
        result[int(key)] = quantity_value(raw, name)
    return result


def staff_id_value(value, field: str = "manager_id") -> int | None:
    """A staff member of the acting reseller, or null."""
    member_id = optional_id(value, field)
    if member_id is None:
        return None
    found = db.session.scalar(select(StaffMember.id).where(
        StaffMember.reseller_id == g.acting_reseller.id, StaffMember.id == member_id))
    if found is None:
        raise invalid(field, _("Choose a staff member of this reseller."))
    return member_id


def client_value(data: dict, field: str = "client_id") -> Client:
    client_id = object_id(data.get(field), field)
    client = db.session.scalar(scoped_select(Client).where(Client.id == client_id))
    if client is None:
        raise invalid(field, _("Choose a client of this reseller."))
    return client


def quantity_text(value: Decimal, unit_type: ResourceUnit | None = None):
    """A quantity in an answer: "10", "2.5"; true/false for a yes/no resource."""
    if unit_type == ResourceUnit.BOOLEAN:
        return bool(value)
    return format(value.normalize(), "f")


def period_text(value: Decimal) -> str:
    """Months with three decimals, as the spec shows them ("0.700", 04a WE-3)."""
    return format(value.quantize(Decimal("0.001")), "f")


# --- answers --------------------------------------------------------------------------------

def serialize_payment_summary(payment: Payment | None) -> dict | None:
    if payment is None:
        return None
    return {"id": payment.id, "number": payment.number, "kind": payment.kind.value,
            "status": payment.status.value, "total": amount(payment.total, payment.currency),
            "currency": payment.currency}


def serialize_line(line: OrderLine, currency: str) -> dict:
    return {"id": line.id, "description": line.description, "fee_kind": line.fee_kind,
            "quantity": quantity_text(line.quantity), "period": period_text(line.period),
            "unit_price": amount(line.unit_price, currency),
            "gross": amount(line.gross, currency), "discount": amount(line.discount, currency),
            "amount": amount(line.amount, currency), "currency": currency}


def serialize_order(order: Order) -> dict:
    currency = order.currency
    return {
        "id": order.id, "number": order.number, "order_type": order.order_type.value,
        "status": order.status.value, "client_id": order.client_id,
        "subscription_id": order.subscription_id, "plan_id": order.plan_id,
        "period_id": order.plan_period_id, "currency": currency,
        "gross_total": amount(order.gross_total, currency),
        "discount": amount(order.discount_total, currency),
        "total": amount(order.total, currency),
        "promo_code": order.promo_code or None, "individual_prices": order.individual_prices,
        "is_deferred": order.is_deferred, "covers_from": iso(order.covers_from),
        "covers_to": iso(order.covers_to), "provision_date": iso(order.provision_date),
        "expires_on": iso(order.expires_on), "created_on": iso(order.created_on),
        "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
        "closed_at": iso(order.closed_at),
        # 03 §2.1: the staff member or client user who placed it; both null = the system.
        "created_by_staff_id": order.created_by_staff_id,
        "created_by_user_id": order.created_by_user_id,
        "customer_ip": order.customer_ip or None,
        # 03 O7: why provisioning failed, visible while the order is in activation_error.
        "last_error": order.last_error or None,
        "lines": [serialize_line(line, currency) for line in order.lines],
        "payment": serialize_payment_summary(order.payment),
    }


def serialize_payment(payment: Payment) -> dict:
    currency = payment.currency
    return {
        "id": payment.id, "number": payment.number, "kind": payment.kind.value,
        "status": payment.status.value, "client_id": payment.client_id, "currency": currency,
        "total": amount(payment.total, currency), "discount": amount(payment.discount, currency),
        "payment_method": payment.payment_method or None,
        "balance_after": amount(payment.balance_after, currency),
        "comment": payment.comment, "manager_id": payment.manager_id,
        "payer_ip": payment.payer_ip or None, "due_date": iso(payment.due_date),
        "created_at": iso(payment.created_at), "updated_at": iso(payment.updated_at),
        "closed_at": iso(payment.closed_at), "order_ids": [o.id for o in payment.orders],
    }


# --- orders -----------------------------------------------------------------------------------

ORDER_SCHEMA = {"type": "object", "required": ["client_id", "plan_id"], "properties": {
    "client_id": {"type": "integer"}, "plan_id": {"type": "integer"},
    "period_id": {"type": "integer",
                  "description": "Required unless trial is true (then the plan's trial period)."},
    "resources": {"type": "object", "description": "{plan resource id: total quantity}; a "
                                                   "resource not named gets what the plan "
                                                   "includes."},
    "trial": {"type": "boolean", "description": "Order the plan's trial period."},
    "name": {"type": "string", "description": "The subscription's name (default: the "
                                              "product's name template)."},
    "manager_id": {"type": "integer", "nullable": True},
    "promo_code": {"type": "string", "description": "Not applied yet; echoed back."},
    "individual_prices": {
        "type": "object", "nullable": True,
        "description": "Prices instead of the plan's, in the plan currency (02 §4.5): "
                       "{\"service\": {\"recurring\": \"9.00\", \"setup\": \"0.00\"}, "
                       "\"resources\": {plan resource id: {\"recurring\": ...}}}; what is "
                       "not sent keeps the plan price."},
    "renewal_price_mode": {"type": "string", "enum": ["individual", "plan", "highest"],
                           "description": "How renewals are priced (02 R-IP-5); default "
                                          "individual."}}}


def _plan_value(data: dict) -> Plan:
    plan_id = object_id(data.get("plan_id"), "plan_id")
    plan = db.session.scalar(scoped_select(Plan).where(Plan.id == plan_id))
    if plan is None:
        raise invalid("plan_id", _("Choose a plan of this reseller."))
    return plan


def _period_value(data: dict, plan: Plan) -> PlanPeriod:
    """The ordered period; `trial: true` takes the plan's trial period (02 §2.1 `trial`)."""
    trial = flag(data["trial"], "trial") if data.get("trial") is not None else None
    periods = [p for p in plan.periods if p.deleted_at is None]
    if data.get("period_id") is None:
        if not trial:
            raise invalid("period_id", _("This field is required."))
        period = next((p for p in periods if p.is_trial), None)
        if period is None:
            raise invalid("trial", _("The plan has no trial period."))
        return period
    period_id = object_id(data["period_id"], "period_id")
    period = next((p for p in plan.periods if p.id == period_id), None)
    if period is None:
        raise invalid("period_id", _("The period does not belong to the plan."))
    if trial and not period.is_trial:
        raise invalid("trial", _("The chosen period is not a trial period of the plan."))
    if trial is False and period.is_trial:
        raise invalid("trial", _("The chosen period is a trial period of the plan."))
    return period


@endpoint("/orders", methods=("POST",), permission="orders.manage",
          summary="Place a sales order (the subscription, its lines, charges and payment)",
          body=ORDER_SCHEMA, status=201)
def create_order_api():
    data = json_body()
    require(data, "client_id", "plan_id")
    client = client_value(data)
    plan = _plan_value(data)
    period = _period_value(data, plan)
    quantities = quantities_value(data.get("resources"))
    name = text(255)(data.get("name"), "name").strip() or None
    manager_id = staff_id_value(data.get("manager_id"))
    promo_code = text(64)(data.get("promo_code"), "promo_code").strip() or None
    if data.get("renewal_price_mode") is not None and data.get("individual_prices") is None:
        raise invalid("renewal_price_mode", _("A renewal price mode needs individual prices."))
    individual = clean_individual_prices(plan, data.get("individual_prices"),
                                         data.get("renewal_price_mode"))
    order = place_sales_order(client, plan, period, quantities=quantities, actor=g.principal,
                              on=clock.today(), ip=request.remote_addr or "", name=name,
                              manager_id=manager_id, individual=individual)
    db.session.commit()
    answer = serialize_order(order)
    # Promo codes are not applied yet (discounts come later): the code is only echoed.
    answer["promo_code"] = promo_code
    return jsonify(answer), 201


ORDER_SORT = {"id": Order.id, "number": Order.number, "created_at": Order.created_at,
              "total": Order.total, "expires_on": Order.expires_on}


@endpoint("/orders", permission="orders.view",
          summary="List orders (filters: client_id, subscription_id, status, order_type)")
def list_orders_api():
    query = scoped_select(Order).options(selectinload(Order.lines),
                                         selectinload(Order.payment))
    for name, column in (("client_id", Order.client_id),
                         ("subscription_id", Order.subscription_id)):
        value = query_id(name)
        if value is not None:
            query = query.where(column == value)
    status = query_enum("status", OrderStatus)
    if status is not None:
        query = query.where(Order.status == status)
    order_type = query_enum("order_type", OrderType)
    if order_type is not None:
        query = query.where(Order.order_type == order_type)
    return paginate(query, serialize_order, sort_fields=ORDER_SORT)


@endpoint("/orders/<int:order_id>", permission="orders.view",
          summary="Get an order with its lines, payment and, after a failed provisioning, "
                  "the error")
def get_order_api(order_id):
    return jsonify(serialize_order(tenant_get_or_404(Order, order_id)))


@endpoint("/orders/<int:order_id>/cancel", methods=("POST",), permission="orders.manage",
          summary="Cancel an order waiting for payment or provisioning (03 O8, O13); 409 "
                  "otherwise")
def cancel_order_api(order_id):
    order = tenant_get_or_404(Order, order_id)
    cancel_order(order, actor=g.principal, on=clock.today())
    db.session.commit()
    return jsonify(serialize_order(order))


@endpoint("/orders/<int:order_id>/expiry", methods=("POST",), permission="orders.manage",
          summary="Set the date an unpaid order is cancelled on (03 ORD-8)",
          body={"type": "object", "required": ["expires_on"], "properties": {
              "expires_on": {"type": "string", "format": "date"},
              "comment": {"type": "string"}}})
def set_order_expiry_api(order_id):
    order = tenant_get_or_404(Order, order_id)
    data = json_body()
    require(data, "expires_on")
    expires_on = date_value(data["expires_on"], "expires_on")
    comment = text()(data.get("comment"), "comment").strip()
    set_order_expiry(order, expires_on=expires_on, comment=comment, actor=g.principal,
                     on=clock.today())
    db.session.commit()
    return jsonify(serialize_order(order))


# --- payments ---------------------------------------------------------------------------------

TOPUP_SCHEMA = {"type": "object", "required": ["client_id", "amount"], "properties": {
    "client_id": {"type": "integer"},
    "amount": {"type": "string", "description": "A positive amount such as \"100.00\"."},
    "comment": {"type": "string"}, "manager_id": {"type": "integer", "nullable": True}}}


@endpoint("/payments", methods=("POST",), permission="payments.manage",
          summary="Create a balance top-up waiting for payment (03 PAY-8, P3)",
          body=TOPUP_SCHEMA, status=201)
def create_payment_api():
    data = json_body()
    require(data, "client_id", "amount")
    client = client_value(data)
    value = money(data["amount"], "amount")
    comment = text()(data.get("comment"), "comment").strip()
    manager_id = staff_id_value(data.get("manager_id"))
    payment = create_topup(client, amount=value, actor=g.principal, comment=comment,
                           manager_id=manager_id, ip=request.remote_addr or "")
    db.session.commit()
    return jsonify(serialize_payment(payment)), 201


PAYMENT_SORT = {"id": Payment.id, "number": Payment.number, "created_at": Payment.created_at,
                "total": Payment.total}


@endpoint("/payments", permission="payments.view",
          summary="List payments (filters: client_id, status, kind)")
def list_payments_api():
    query = scoped_select(Payment).options(selectinload(Payment.orders))
    client_id = query_id("client_id")
    if client_id is not None:
        query = query.where(Payment.client_id == client_id)
    status = query_enum("status", PaymentStatus)
    if status is not None:
        query = query.where(Payment.status == status)
    kind = query_enum("kind", PaymentKind)
    if kind is not None:
        query = query.where(Payment.kind == kind)
    return paginate(query, serialize_payment, sort_fields=PAYMENT_SORT)


@endpoint("/payments/<int:payment_id>", permission="payments.view", summary="Get a payment")
def get_payment_api(payment_id):
    return jsonify(serialize_payment(tenant_get_or_404(Payment, payment_id)))


@endpoint("/payments/<int:payment_id>/complete", methods=("POST",),
          permission="payments.manage",
          summary="Complete a payment: as money received, or (from_balance) from the client's "
                  "available money (03 P7, P8); an order's payment moves the order on",
          body={"type": "object", "properties": {
              "from_balance": {"type": "boolean", "default": False},
              "amount": {"type": "string",
                         "description": "Optional; must equal the payment's total."},
              "method": {"type": "string", "description": "How the money came in."}}})
def complete_payment_api(payment_id):
    payment = tenant_get_or_404(Payment, payment_id)
    data = json_body()
    from_balance = (flag(data["from_balance"], "from_balance")
                    if data.get("from_balance") is not None else False)
    value = money(data["amount"], "amount") if data.get("amount") is not None else None
    method = text(64)(data.get("method"), "method").strip()
    complete_payment(payment, from_balance=from_balance, actor=g.principal, on=clock.today(),
                     amount=value, method=method)
    db.session.commit()
    return jsonify(serialize_payment(payment))


@endpoint("/payments/<int:payment_id>/cancel", methods=("POST",), permission="payments.manage",
          summary="Cancel an unpaid payment; an order's payment cancels its order (03 P10, O9)")
def cancel_payment_api(payment_id):
    payment = tenant_get_or_404(Payment, payment_id)
    cancel_payment(payment, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_payment(payment))
