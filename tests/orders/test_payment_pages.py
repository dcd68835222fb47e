"""Operator-panel pages of payments: the list (03 S7), a new top-up (S8, PAY-2), the payment
page (S9) and its actions: confirm the money received (PAY-12), pay from the balance (PAY-13),
cancel (PAY-14); and who may open them."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.billing.services.ledger import ledger_problems
from portal.clients.models import ClientStatus
from portal.core.clock import clock
from portal.orders.models import Order, OrderStatus, Payment, PaymentKind, PaymentStatus
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from tests.factories import (Panel, make_client, make_plan, make_reseller, make_root, make_rule,
                             make_staff)
from tests.orders.test_order_pages import by_id, cell, flashes, plain, row_ids

D = Decimal


@pytest.fixture
def world(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    admin = make_staff(reseller, name="Anna Admin", language="en")
    seller = make_staff(reseller, role=Role.SALES_MANAGER, name="Boris Seller")
    client = make_client(reseller, primary_name="Horns Ltd")
    other_client = make_client(reseller, primary_name="Hooves Ltd")
    rule = make_rule(reseller, financial_day=1)
    plan = make_plan(reseller, rule=rule, name="Bare Hosting",
                     periods=[{"duration": 2, "duration_unit": "month", "monthly_fee": "30.00"}])
    db.session.commit()
    return SimpleNamespace(root=root, reseller=reseller, admin=admin, seller=seller,
                           client=client, other_client=other_client, plan=plan,
                           panel=Panel(app, reseller, admin))


def topup(client, amount="100.00", *, paid=False, actor=None):
    payment = create_topup(client, amount=amount, actor=actor, comment="Bank transfer 17")
    if paid:
        complete_payment(payment, from_balance=False, actor=None, on=clock.today())
    return payment


def order_of(w, client=None):
    return place_sales_order(client or w.client, w.plan, w.plan.periods[0], quantities={},
                             actor=None, on=clock.today())


def field_error(html: str, name: str) -> str:
    match = re.search(rf'class="field has-error" id="field-{name}">.*?'
                      r'<div class="error" role="alert">(.*?)</div>', html, re.S)
    assert match, f"no error on {name}"
    return plain(match.group(1))


def count(db) -> int:
    return db.session.scalar(select(func.count(Payment.id)))


# --- the list (S7) ---------------------------------------------------------------------------

def test_the_list_shows_payments_with_their_columns_and_filters(db, world):
    w = world
    paid = topup(w.client, "250.00", paid=True)
    paid.manager_id = w.seller.id
    order = order_of(w, w.other_client)
    db.session.commit()
    html = w.panel.get("/payments").get_data(as_text=True)
    ids = row_ids(html, "payments")
    assert ids == [order.payment.id, paid.id]
    assert cell(html, paid.id, "number", "payments") == paid.number
    assert cell(html, paid.id, "client", "payments") == "Horns Ltd"
    assert cell(html, paid.id, "kind", "payments") == "Balance top-up"
    assert cell(html, paid.id, "status", "payments") == "Completed"
    assert cell(html, paid.id, "payment_method", "payments") == "Manual confirmation"
    assert cell(html, paid.id, "total", "payments") == "RUB250.00"
    assert cell(html, paid.id, "balance_after", "payments") == "RUB250.00"
    assert cell(html, paid.id, "manager", "payments") == "Boris Seller"
    assert cell(html, order.payment.id, "kind", "payments") == "Order payment"
    assert cell(html, order.payment.id, "closed_at", "payments") == ""
    assert 'id="list-create"' in html and 'href="/payments/new"' in html

    def listed(query):
        return row_ids(w.panel.get(f"/payments?{query}").get_data(as_text=True), "payments")

    assert listed("f_status=completed") == [paid.id]
    assert listed("f_kind=order_payment") == [order.payment.id]
    assert listed("f_kind=postpay_services") == []
    assert listed("q=hooves") == [order.payment.id]
    assert listed(f"q={paid.number}") == [paid.id]


def test_the_list_holds_only_the_resellers_payments(db, world):
    w = world
    mine = topup(w.client)
    theirs = topup(make_client(make_reseller(w.root, name="Other")))
    db.session.commit()
    ids = row_ids(w.panel.get("/payments").get_data(as_text=True), "payments")
    assert mine.id in ids and theirs.id not in ids


# --- a new top-up (S8) -----------------------------------------------------------------------

def test_create_a_topup(db, world):
    w = world
    form = w.panel.get("/payments/new").get_data(as_text=True)
    assert f"ID{w.client.id} - Horns Ltd" in form and 'name="total"' in form
    assert f'<option selected value="{w.admin.id}">Anna Admin</option>' in form
    response = w.panel.post("/payments/new", data={
        "client_id": str(w.client.id), "total": "1 500,50", "comment": "Invoice 42",
        "manager_id": str(w.seller.id)})
    assert response.status_code == 302
    payment = db.session.scalar(select(Payment))
    assert response.headers["Location"].endswith(f"/payments/{payment.id}")
    assert (payment.kind, payment.status, payment.total, payment.comment, payment.manager_id) == (
        PaymentKind.BALANCE_TOPUP, PaymentStatus.WAITING_FOR_PAYMENT, D("1500.50"),
        "Invoice 42", w.seller.id)
    html = w.panel.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert "The payment is created." in flashes(html)
    assert by_id(html, "payment-total") == "RUB1,500.50"


@pytest.mark.parametrize(("total", "message"), [
    ("0", "The amount must be greater than zero."),
    ("-5", "The amount must be greater than zero."),
    ("abc", "Enter an amount, e.g. 100.00."),
    ("10.005", "Enter an amount with at most two decimals."),
    ("", "Enter the amount."),
])
def test_a_bad_amount_is_refused_on_its_field(db, world, total, message):
    w = world
    response = w.panel.post("/payments/new", data={"client_id": str(w.client.id),
                                                   "total": total})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "total") == message
    assert count(db) == 0


def test_from_the_client_page_the_client_is_fixed(db, world):
    w = world
    html = w.panel.get(f"/payments/new?client_id={w.client.id}").get_data(as_text=True)
    assert f'name="fixed_client_id" value="{w.client.id}"' in html
    assert by_id(html, "payment-client") == f"ID{w.client.id} - Horns Ltd"
    assert '<select id="client_id"' not in html
    # Another client posted beside the fixed one does not win.
    response = w.panel.post("/payments/new", data={
        "fixed_client_id": str(w.client.id), "client_id": str(w.other_client.id),
        "total": "10.00"})
    assert response.status_code == 302
    assert db.session.scalar(select(Payment)).client_id == w.client.id


def test_a_deleted_client_is_refused_by_the_service(db, world):
    w = world
    w.client.status = ClientStatus.DELETED
    db.session.commit()
    response = w.panel.post("/payments/new", data={"fixed_client_id": str(w.client.id),
                                                   "total": "10.00"})
    assert response.status_code == 422
    assert "A deleted client cannot be topped up." in response.get_data(as_text=True)
    assert count(db) == 0


# --- the payment page (S9) -------------------------------------------------------------------

def test_confirm_a_topup_with_its_method(db, world):
    w = world
    payment = topup(w.client, "300.00")
    db.session.commit()
    html = w.panel.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert 'id="confirm-payment"' in html and 'id="cancel-payment"' in html
    assert 'id="pay-from-balance"' not in html  # PAY-13: never for a top-up
    assert "Bank transfer / Cash" in html and by_id(html, "payment-comment") == "Bank transfer 17"
    response = w.panel.post(f"/payments/{payment.id}/confirm", data={"method": "card"})
    assert response.status_code == 302
    db.session.refresh(payment)
    db.session.refresh(w.client)
    assert (payment.status, payment.payment_method, payment.balance_after) == (
        PaymentStatus.COMPLETED, "card", D("300.00"))
    assert w.client.balance == D("300.00") and ledger_problems(w.client) == []
    html = w.panel.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert by_id(html, "payment-status") == "Completed"
    assert by_id(html, "payment-method") == "Card"
    assert by_id(html, "payment-balance-after") == "RUB300.00"
    assert 'id="payment-toolbar"' not in html
    # A second confirmation is refused with the service's message.
    again = w.panel.post(f"/payments/{payment.id}/confirm", data={"method": "card"})
    assert again.status_code == 422
    assert "This payment is already Completed." in flashes(again.get_data(as_text=True))
    db.session.refresh(w.client)
    assert w.client.balance == D("300.00")


def test_an_unknown_method_is_refused(db, world):
    w = world
    payment = topup(w.client)
    db.session.commit()
    response = w.panel.post(f"/payments/{payment.id}/confirm", data={"method": "bitcoin"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "method") == "Not a valid choice."
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.WAITING_FOR_PAYMENT


def test_pay_an_order_from_the_balance(db, world):
    w = world
    order = order_of(w)
    db.session.commit()
    payment = order.payment
    url = f"/payments/{payment.id}"
    html = w.panel.get(url).get_data(as_text=True)
    assert by_id(html, "payment-kind") == "Order payment"
    assert 'id="pay-from-balance"' in html and 'id="payment-orders"' not in html
    # Nothing on the balance yet: the service's refusal, and nothing changes.
    refused = w.panel.post(f"{url}/pay-from-balance")
    assert refused.status_code == 422
    assert "Not enough money on the balance: 0.00 available, 60.00 needed." in flashes(
        refused.get_data(as_text=True))
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.WAITING_FOR_PAYMENT

    topup(w.client, "100.00", paid=True)
    db.session.commit()
    done = w.panel.post(f"{url}/pay-from-balance")
    assert done.status_code == 302
    db.session.refresh(payment)
    db.session.refresh(order)
    assert payment.status == PaymentStatus.PAID_FROM_BALANCE
    assert order.status in (OrderStatus.PROVISIONING, OrderStatus.COMPLETED)
    assert ledger_problems(w.client) == []
    html = w.panel.get(url).get_data(as_text=True)
    assert by_id(html, "payment-status") == "Paid from balance"
    assert by_id(html, "payment-method") == "Balance"
    # PAY-11: the orders block, once the payment is final, links the order.
    block = re.search(r'id="payment-orders">(.*?)</section>', html, re.S).group(1)
    assert f'href="/orders/{order.id}"' in block and order.number in block
    assert f"ID{order.subscription_id} - " in block


def test_cancel_an_order_payment_cancels_its_order(db, world):
    w = world
    order = order_of(w)
    db.session.commit()
    response = w.panel.post(f"/payments/{order.payment.id}/cancel")
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.payment.status == PaymentStatus.CANCELLED
    assert order.status == OrderStatus.CANCELLED
    html = w.panel.get(f"/payments/{order.payment.id}").get_data(as_text=True)
    assert "The payment is cancelled." in flashes(html)
    assert 'id="payment-toolbar"' not in html
    refused = w.panel.post(f"/payments/{order.payment.id}/cancel")
    assert refused.status_code == 422
    assert "Only a payment waiting for payment can be cancelled." in flashes(
        refused.get_data(as_text=True))


def test_the_event_log_tab(db, world):
    w = world
    payment = topup(w.client, actor=w.admin)
    db.session.commit()
    html = w.panel.get(f"/payments/{payment.id}/events").get_data(as_text=True)
    assert "orders.payment.created" in html and 'data-tab="events" class="active"' in html


# --- search, access ----------------------------------------------------------------------------

def test_another_resellers_payment_is_not_found(db, world):
    w = world
    foreign = topup(make_client(make_reseller(w.root, name="Other")))
    db.session.commit()
    for path in (f"/payments/{foreign.id}", f"/payments/{foreign.id}/events"):
        assert w.panel.get(path).status_code == 404, path
    for action in ("confirm", "pay-from-balance", "cancel"):
        response = w.panel.post(f"/payments/{foreign.id}/{action}", data={"method": "card"})
        assert response.status_code == 404, action
    # Nor can a top-up be created for another reseller's client.
    response = w.panel.post("/payments/new", data={"client_id": str(foreign.client_id),
                                                   "total": "10.00"})
    assert response.status_code == 422 and "Choose a client." in response.get_data(as_text=True)
    db.session.refresh(foreign)
    assert foreign.status == PaymentStatus.WAITING_FOR_PAYMENT and count(db) == 1


def test_a_product_manager_may_not_open_the_payment_pages(app, db, world):
    w = world
    payment = topup(w.client)
    product = make_staff(w.reseller, role=Role.PRODUCT_MANAGER)
    db.session.commit()
    panel = Panel(app, w.reseller, product)
    for path in ("/payments", "/payments/new", f"/payments/{payment.id}",
                 f"/payments/{payment.id}/events"):
        assert panel.get(path).status_code == 403, path
    for path in (f"/payments/{payment.id}/confirm", f"/payments/{payment.id}/cancel",
                 "/payments/new"):
        response = panel.post(path, data={"method": "card", "client_id": str(w.client.id),
                                          "total": "5.00"})
        assert response.status_code == 403, path
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.WAITING_FOR_PAYMENT and count(db) == 1


def test_the_home_search_finds_payments_by_number(db, world):
    from portal.operator.search import register_search
    from portal.orders.views.payments import PAYMENT_SEARCH

    register_search(PAYMENT_SEARCH)
    w = world
    payment = topup(w.client)
    db.session.commit()
    html = w.panel.get(f"/search?q={payment.number}").get_data(as_text=True)
    assert f'href="/payments/{payment.id}"' in html


def test_a_sales_manager_confirms_a_payment(app, db, world):
    w = world
    payment = topup(w.client, "20.00")
    db.session.commit()
    panel = Panel(app, w.reseller, w.seller)
    assert panel.post(f"/payments/{payment.id}/confirm",
                      data={"method": "bank_transfer"}).status_code == 302
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.COMPLETED
    assert db.session.scalar(select(func.count(Order.id))) == 0
