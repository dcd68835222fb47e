"""Payments the orders need (03 §3.2, PAY-1..PAY-14): an order's payment, completed from the
balance or as money received; a balance top-up; cancel. Every balance change is one
transaction under the client row's lock (issue 5 item 1)."""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.billing.models import TransactionKind
from portal.billing.services.charges import operator_language
from portal.billing.services.ledger import available_funds, lock_client, post_transaction
from portal.clients import hooks
from portal.clients.models import Client, ClientStatus
from portal.core import audit
from portal.core.clock import clock
from portal.core.money import round_money, to_decimal
from portal.extensions import db
from portal.notifications.events import emit
from portal.orders.models import OrderStatus, Payment, PaymentKind, PaymentStatus
from portal.orders.services.errors import OrderError
from portal.settings.models import DocumentType
from portal.settings.services import next_document_number

PAYABLE = (PaymentStatus.WAITING_FOR_PAYMENT, PaymentStatus.OVERDUE,
           PaymentStatus.INVOICE_PREPARING, PaymentStatus.INVOICE_SENT)


def parse_amount(value, *, field: str = "amount"):
    """A positive money amount with at most two decimals; floats are refused (D4)."""
    if isinstance(value, float) or isinstance(value, bool):
        raise OrderError(_l("Send the amount as a string, e.g. \"100.00\"."), field=field)
    try:
        amount = to_decimal(value)
    except (TypeError, ArithmeticError, ValueError):
        raise OrderError(_l("Enter an amount, e.g. 100.00."), field=field) from None
    if not amount.is_finite():
        raise OrderError(_l("Enter an amount, e.g. 100.00."), field=field)
    if amount >= to_decimal("1000000000000") or amount <= to_decimal("-1000000000000"):
        raise OrderError(_l("The amount is too large."), field=field)
    if amount != amount.quantize(to_decimal("0.01")):
        raise OrderError(_l("Enter an amount with at most two decimals."), field=field)
    if amount <= 0:
        raise OrderError(_l("The amount must be greater than zero."), field=field)
    return amount


def create_topup(client: Client, *, amount, actor, comment: str = "", manager_id=None,
                 ip: str = "") -> Payment:
    """03 PAY-8, S8: a balance top-up waiting for payment, any positive amount."""
    amount = parse_amount(amount)
    if client.status == ClientStatus.DELETED:
        raise OrderError(_l("A deleted client cannot be topped up."), field="client_id")
    payment = Payment(
        reseller_id=client.reseller_id, client_id=client.id,
        number=next_document_number(client.reseller, DocumentType.PAYMENT),
        kind=PaymentKind.BALANCE_TOPUP, status=PaymentStatus.WAITING_FOR_PAYMENT,
        currency=client.reseller.currency, total=amount, comment=comment or "",
        manager_id=manager_id, payer_ip=ip or "", created_at=clock.now(), updated_at=clock.now())
    db.session.add(payment)
    db.session.flush()
    audit.log(payment, "orders.payment.created", actor=actor, label=payment.number,
              data={"total": str(amount)})
    return payment


def complete_payment(payment: Payment, *, from_balance: bool, actor, on: date, amount=None,
                     method: str = "") -> Payment:
    """Complete a payment (03 P7/P8, PAY-12/PAY-13, A20).

    Money received: the balance grows by the total (one transaction), then the order's charges
    take it. From the balance: nothing flows in; only for order payments and only when the
    available money (balance − blocked + threshold, D10) covers the total."""
    client = lock_client(payment.client)
    db.session.refresh(payment, attribute_names=["status"])
    if payment.status not in PAYABLE:
        raise OrderError(_l("This payment is already %(status)s.", status=payment.status_label),
                         code="status_conflict", status=409)
    if amount is not None:
        amount = parse_amount(amount)
        if amount > payment.total:
            raise OrderError(_l("The amount is larger than the payment (%(total)s).",
                                total=payment.total), field="amount")
        if amount < payment.total:
            raise OrderError(_l("Partial payments are not accepted: pay %(total)s.",
                                total=payment.total), field="amount")
    was = payment.status
    orders = [o for o in payment.orders if o.status == OrderStatus.WAITING_FOR_PAYMENT]
    if payment.kind == PaymentKind.ORDER_PAYMENT and not orders:
        raise OrderError(_l("The order of this payment is no longer waiting for payment."),
                         code="status_conflict", status=409)
    if from_balance:
        if payment.kind == PaymentKind.BALANCE_TOPUP:
            raise OrderError(_l("A top-up cannot be paid from the balance."), field="method")
        if available_funds(client) < payment.total:
            raise OrderError(_l("Not enough money on the balance: %(available)s available, "
                                "%(total)s needed.",
                                available=round_money(available_funds(client), payment.currency),
                                total=payment.total), code="insufficient_funds")
        payment.status = PaymentStatus.PAID_FROM_BALANCE
        payment.payment_method = "balance"
    else:
        with force_locale(operator_language(client.reseller_id)):
            description = (_("Balance top-up") if payment.kind == PaymentKind.BALANCE_TOPUP
                           else _("Payment %(number)s", number=payment.number))
        post_transaction(client, payment.total, kind=TransactionKind.PAYMENT,
                         description=description, currency=payment.currency, payment=payment)
        payment.status = PaymentStatus.COMPLETED
        payment.payment_method = method or "manual"
        # 09 §3.5: money received (a payment from the balance receives none).
        emit("payment_received", payment=payment, client=client,
             was={"payment.status": was.value})
    payment.closed_at = clock.now()
    payment.updated_at = clock.now()
    payment.balance_after = client.balance
    audit.log(payment, "orders.payment.completed", actor=actor, label=payment.number,
              data={"status": payment.status.value, "total": str(payment.total)})
    from portal.orders.services.processing import process_paid_order  # noqa: PLC0415

    for order in orders:
        process_paid_order(order, on=on, actor=actor)
    for evaluate in hooks.FINANCIAL_BLOCK_EVALUATORS:
        evaluate(client, actor=actor)
    return payment


def cancel_payment(payment: Payment, *, actor) -> Payment:
    """03 P10/PAY-14: cancel an unpaid payment; its order is cancelled with it (O9)."""
    from portal.orders.services.ordering import cancel_order_for_payment  # noqa: PLC0415

    allowed = [PaymentStatus.WAITING_FOR_PAYMENT]
    if payment.kind == PaymentKind.BALANCE_TOPUP:
        allowed += [PaymentStatus.INVOICE_PREPARING, PaymentStatus.INVOICE_SENT]  # 03 A19
    if payment.status not in allowed:
        raise OrderError(_l("Only a payment waiting for payment can be cancelled."),
                         code="status_conflict", status=409)
    if payment.kind == PaymentKind.POSTPAY_SERVICES:
        raise OrderError(_l("A postpaid services payment cannot be cancelled."))
    was = payment.status
    payment.status = PaymentStatus.CANCELLED
    payment.closed_at = clock.now()
    payment.updated_at = clock.now()
    audit.log(payment, "orders.payment.cancelled", actor=actor, label=payment.number)
    emit("payment_received", payment=payment, was={"payment.status": was.value})
    for order in payment.orders:
        cancel_order_for_payment(order, actor=actor)
    return payment
