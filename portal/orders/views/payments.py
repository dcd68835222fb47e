"""Operator-panel pages of payments: the list (03 S7), a new balance top-up (S8, PAY-2) and the
payment page with its actions (S9): confirm the money received (PAY-12), pay from the balance
(PAY-13) and cancel (PAY-14).

The buttons appear only in the statuses the service accepts; the service still decides, and a
refusal (e.g. not enough money on the balance) re-renders the page with its message and 422.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import func, or_
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.accounts.models import StaffMember, StaffStatus
from portal.clients.models import Client, ClientStatus
from portal.core.audit import events_for
from portal.core.clock import clock
from portal.core.errors import DomainError
from portal.core.formatting import money
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.operator.search import SearchHit, SearchProvider, id_in, register_search
from portal.orders.forms import METHOD_LABELS, PaymentConfirmForm, PaymentCreateForm
from portal.orders.models import (PAYMENT_KIND_LABELS, PAYMENT_STATUS_LABELS, Payment,
                                  PaymentKind, PaymentStatus)
from portal.orders.services.errors import OrderError
from portal.orders.services.payments import (PAYABLE, cancel_payment, complete_payment,
                                             create_topup)
from portal.orders.views.orders import (CLIENT_PAGE, client_link, link, status_badge,
                                        subscription_url, tenant_row)
from portal.tenancy.scope import scoped_select, tenant_get_or_404

bp = Blueprint("payments", __name__, url_prefix="/payments")

# 03 PAY-13: «Баланс» only while the payment waits (or is overdue); never for a top-up.
BALANCE_STATUSES = (PaymentStatus.WAITING_FOR_PAYMENT, PaymentStatus.OVERDUE)
# 03 PAY-11: the «Заказ(ы)» block is shown once the order payment is final.
ORDERS_BLOCK_STATUSES = (PaymentStatus.COMPLETED, PaymentStatus.PAID_FROM_BALANCE,
                         PaymentStatus.CANCELLED)


def method_label(payment: Payment) -> str:
    method = payment.payment_method or ""
    return str(METHOD_LABELS.get(method, method))


# --- the list (03 S7) ------------------------------------------------------------------------

def _payments_query(reseller):
    return (scoped_select(Payment, reseller).join(Client, Client.id == Payment.client_id)
            .outerjoin(StaffMember, StaffMember.id == Payment.manager_id)
            .options(contains_eager(Payment.client), contains_eager(Payment.manager)))


def _payment_link(text_of):
    def render(payment: Payment) -> Markup:
        return Markup('<a href="{}">{}</a>').format(
            url_for("payments.payment_detail", payment_id=payment.id), text_of(payment))
    return render


def _money_cell(value_of):
    def render(payment: Payment) -> Markup:
        return escape(money(value_of(payment), payment.currency))
    return render


PAYMENTS = register_list(ListDefinition(
    key="payments", title=_l("Payments"), model=Payment, permission="payments.view",
    query=_payments_query,
    columns=[
        Column("id", "ID", sort=Payment.id, render=_payment_link(lambda p: p.id)),
        Column("number", _l("Number"), sort=Payment.number, search=Payment.number,
               render=_payment_link(lambda p: p.number)),
        Column("client", _l("Client"), sort=Client.name, search=Client.name,
               value=lambda p: p.client.name,
               render=lambda p: link(CLIENT_PAGE, p.client.name, client_id=p.client_id)),
        Column("kind", _l("Kind"), sort=Payment.kind, value=lambda p: p.kind_label),
        Column("status", _l("Status"), sort=Payment.status, value=lambda p: p.status_label,
               render=status_badge),
        Column("due_date", _l("Due date"), sort=Payment.due_date),
        Column("payment_method", _l("Payment method"), sort=Payment.payment_method,
               value=method_label),
        Column("discount", _l("Discount"), sort=Payment.discount,
               render=_money_cell(lambda p: p.discount)),
        Column("total", _l("Total"), sort=Payment.total, render=_money_cell(lambda p: p.total)),
        # 03 §2.6: the client's balance when the payment was closed.
        Column("balance_after", _l("Balance"), sort=Payment.balance_after,
               render=_money_cell(lambda p: p.balance_after)),
        Column("manager", _l("Manager"), sort=StaffMember.name, search=StaffMember.name,
               value=lambda p: p.manager.name if p.manager else ""),
        Column("created_at", _l("Created"), sort=Payment.created_at),
        Column("closed_at", _l("Closed"), sort=Payment.closed_at),
    ],
    filters=[
        Filter("status", _l("Status"), Payment.status,
               [(s.value, label) for s, label in PAYMENT_STATUS_LABELS.items()]),
        Filter("kind", _l("Kind"), Payment.kind,
               [(k.value, label) for k, label in PAYMENT_KIND_LABELS.items()]),
    ],
))


@bp.get("")
@staff_required("payments.view")
def list_payments():
    """«Платежи» (03 S7)."""
    return list_response(PAYMENTS, title=PAYMENTS.title,
                         create_url=url_for("payments.new_payment")
                         if current_user.can("payments.manage") else None)


# --- a new top-up (03 S8) --------------------------------------------------------------------

def _fill_choices(form: PaymentCreateForm, client: Client | None) -> None:
    clients = list(db.session.scalars(
        scoped_select(Client).where(Client.status != ClientStatus.DELETED)
        .order_by(Client.name, Client.id)))
    if client is not None and client not in clients:
        clients.append(client)  # the service says why it cannot be topped up
    form.client_id.choices = [("", "—")] + [(str(c.id), c.label) for c in clients]
    staff = list(db.session.scalars(
        scoped_select(StaffMember).where(StaffMember.status == StaffStatus.ACTIVE)
        .order_by(StaffMember.name, StaffMember.id)))
    form.manager_id.choices = [("", _("Not assigned"))] + [(str(m.id), m.name) for m in staff]


def _create(form: PaymentCreateForm, client: Client | None) -> Payment:
    if client is None:
        raise OrderError(_l("Choose a client."), field="client_id")
    manager = tenant_row(StaffMember, form.manager_id.data) if form.manager_id.data else None
    # A decimal comma is as good as a point; the service checks the amount itself.
    amount = (form.total.data or "").strip().replace(" ", "").replace(",", ".")
    try:
        return create_topup(client, amount=amount, actor=current_user,
                            comment=(form.comment.data or "").strip(),
                            manager_id=manager.id if manager else None,
                            ip=request.remote_addr or "")
    except DomainError as error:
        if error.field == "amount":
            error.field = "total"  # the service's argument is this form's «Итого»
        raise


@bp.route("/new", methods=["GET", "POST"])
@staff_required("payments.manage")
def new_payment():
    """«Новый платеж»: a balance top-up waiting for payment (03 S8, PAY-2, PAY-3).

    Opened from a client page with ?client_id=, the client is fixed (03 S7)."""
    if request.method == "POST":
        fixed = tenant_row(Client, request.form.get("fixed_client_id"))
        form = PaymentCreateForm()
        if fixed is not None:
            form.client_id.data = str(fixed.id)
    else:
        fixed = tenant_row(Client, request.args.get("client_id"))
        form = PaymentCreateForm(formdata=None, client_id=str(fixed.id) if fixed else "",
                                 manager_id=str(current_user.member.id))
    client = tenant_row(Client, form.client_id.data)
    _fill_choices(form, client)
    if request.method == "POST":
        created = []
        if submit(form, lambda f: created.append(_create(f, client)),
                  success=_("The payment is created.")):
            return redirect(url_for("payments.payment_detail", payment_id=created[0].id))
        return render_template("orders/payments/new.html", form=form, fixed=fixed), 422
    return render_template("orders/payments/new.html", form=form, fixed=fixed)


# --- the payment page (03 S9) ----------------------------------------------------------------

def _tabs(payment: Payment, active: str) -> dict:
    return {"active_tab": active,
            "tabs": [("general", _("General information"),
                      url_for("payments.payment_detail", payment_id=payment.id)),
                     ("events", _("Event log"),
                      url_for("payments.payment_events", payment_id=payment.id))]}


def _order_rows(payment: Payment) -> list[dict]:
    rows = []
    for order in payment.orders:
        rows.append({"order": order,
                     "order_url": url_for("orders.order_detail", order_id=order.id),
                     "subscription_text": f"ID{order.subscription_id} - {order.subscription.name}",
                     "subscription_url": subscription_url(order.subscription_id)})
    return rows


def _payment_context(payment: Payment, *, confirm_form=None) -> dict:
    can_manage = current_user.can("payments.manage")
    payable = payment.status in PAYABLE
    cancellable = payment.kind != PaymentKind.POSTPAY_SERVICES and (
        payment.status == PaymentStatus.WAITING_FOR_PAYMENT
        or (payment.kind == PaymentKind.BALANCE_TOPUP and payment.status in PAYABLE))
    return {
        "payment": payment, "client_link": client_link(payment.client),
        "method": method_label(payment),
        "orders": _order_rows(payment)
        if payment.kind == PaymentKind.ORDER_PAYMENT
        and payment.status in ORDERS_BLOCK_STATUSES else [],
        "confirm_form": confirm_form or PaymentConfirmForm(formdata=None),
        "can_confirm": can_manage and payable,
        "can_pay_from_balance": can_manage and payment.kind == PaymentKind.ORDER_PAYMENT
        and payment.status in BALANCE_STATUSES,
        # 03 PAY-14, A18, A19: a waiting payment; a top-up also while its invoice is handled;
        # never a postpaid-services payment.
        "can_cancel": can_manage and cancellable,
        "PaymentKind": PaymentKind,
        **_tabs(payment, "general")}


def _detail_page(payment: Payment, status: int = 200, **extra):
    return render_template("orders/payments/detail.html",
                           **_payment_context(payment, **extra)), status


@bp.get("/<int:payment_id>")
@staff_required("payments.view")
def payment_detail(payment_id):
    return _detail_page(tenant_get_or_404(Payment, payment_id))


@bp.get("/<int:payment_id>/events")
@staff_required("payments.view")
def payment_events(payment_id):
    payment = tenant_get_or_404(Payment, payment_id)
    return render_template("orders/payments/events.html", payment=payment,
                           events=events_for(payment), **_tabs(payment, "events"))


def _after(payment: Payment, done: bool, **extra):
    if done:
        return redirect(url_for("payments.payment_detail", payment_id=payment.id))
    db.session.refresh(payment)
    return _detail_page(payment, 422, **extra)


@bp.post("/<int:payment_id>/confirm")
@staff_required("payments.manage")
def confirm_payment(payment_id):
    """«Подтвердить»: the money came through the chosen method (03 PAY-12, P6/P7, ORD-15)."""
    payment = tenant_get_or_404(Payment, payment_id)
    form = PaymentConfirmForm()
    done = submit(form, lambda f: complete_payment(
        payment, from_balance=False, actor=current_user, on=clock.today(),
        method=f.method.data), success=_("The payment is confirmed."))
    return _after(payment, done, confirm_form=form)


@bp.post("/<int:payment_id>/pay-from-balance")
@staff_required("payments.manage")
def pay_from_balance(payment_id):
    """«Баланс»: the order's charges take the client's money (03 PAY-13, P8, A20)."""
    payment = tenant_get_or_404(Payment, payment_id)
    done = run_action(lambda: complete_payment(payment, from_balance=True, actor=current_user,
                                               on=clock.today()),
                      success=_("The payment is paid from the balance."))
    return _after(payment, done)


@bp.post("/<int:payment_id>/cancel")
@staff_required("payments.manage")
def cancel_payment_page(payment_id):
    """«Отменить платеж», after the confirmation; its order is cancelled with it (PAY-14)."""
    payment = tenant_get_or_404(Payment, payment_id)
    done = run_action(lambda: cancel_payment(payment, actor=current_user),
                      success=_("The payment is cancelled."))
    return _after(payment, done)


# --- the home page's search (01 R-HOME-1) ------------------------------------------------------

def find_payments(reseller, query: str, limit: int) -> list[SearchHit]:
    """Payments by their number or ID."""
    condition = func.lower(Payment.number).contains(query.strip().lower(), autoescape=True)
    wanted = id_in(query)
    if wanted is not None:
        condition = or_(Payment.id == wanted, condition)
    found = db.session.scalars(scoped_select(Payment, reseller).where(condition)
                               .order_by(Payment.id.desc()).limit(limit)).all()
    return [SearchHit(p.number, url_for("payments.payment_detail", payment_id=p.id),
                      f"{p.kind_label}, {p.status_label}") for p in found]


PAYMENT_SEARCH = register_search(SearchProvider("payments", _l("Payments"), "payments.view",
                                                find_payments, 40))
