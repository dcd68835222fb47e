"""Operator-panel pages of subscriptions (02 §5.1): the list (SCR-1), the subscription page and
its tabs (SCR-3, SCR-4), the toolbar operations (SCR-8..SCR-14) with their refusals, the
client page's Subscriptions tab, the home search, and who may open them."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.billing.models import Charge, ChargeStatus
from portal.billing.services.ledger import blocked_amount_of, ledger_problems
from portal.orders.models import Order, OrderStatus, OrderType
from portal.subscriptions.models import Subscription, SubscriptionStatus
from tests.factories import Panel, make_staff
from tests.subscriptions import buy, cell, make_world, plain, row_ids, settle, top_up

S = SubscriptionStatus
ORDER_PAGES = {"orders.detail", "orders.order_detail"}


@pytest.fixture
def world(app, db):
    world = make_world(app)
    world.admin.language = "en"
    world.product_manager.language = "en"
    world.subscription = buy(world, name="Office 365")
    db.session.commit()
    return world


@pytest.fixture
def panel(app, world):
    return Panel(app, world.reseller, world.admin)


@pytest.fixture
def other(app, db, world):
    """Another reseller with a subscription of its own."""
    other = make_world(app, name="Elsewhere")
    other.subscription = buy(other, name="Foreign")
    db.session.commit()
    return other


def text_of(response) -> str:
    return html_lib.unescape(plain(response.get_data(as_text=True)))


def reload(db, subscription) -> Subscription:
    db.session.expire_all()
    return db.session.get(Subscription, subscription.id)


def detail_url(subscription, tab: str | None = None) -> str:
    return f"/subscriptions/{subscription.id}" + (f"?tab={tab}" if tab else "")


# --- the list (SCR-1) ------------------------------------------------------------------------

def test_list_shows_the_default_columns_and_only_own_subscriptions(world, other, panel):
    html = panel.get("/subscriptions/").get_data(as_text=True)
    columns = re.findall(r'<th data-column="([a-z_]+)"', html)
    assert columns == ["id", "name", "client", "plan", "is_trial", "status", "payment_model",
                       "updated_at", "start_date", "expiry_date", "individual_prices"]
    s = world.subscription
    assert row_ids(html, "subscriptions") == [s.id]
    assert f'href="/subscriptions/{s.id}"' in cell(html, "subscriptions", s.id, "name")
    assert "Office 365" in cell(html, "subscriptions", s.id, "name")
    assert world.client.name in cell(html, "subscriptions", s.id, "client")
    assert 'data-status="active"' in cell(html, "subscriptions", s.id, "status")
    assert cell(html, "subscriptions", s.id, "expiry_date") == "21.01.2027"
    assert "Foreign" not in html


def test_list_filters_by_status_plan_and_start_date(app, db, world, panel, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    top_up(world.client, "60.00")
    early = buy(world, name="Early")
    frozen_clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    early.status = S.STOPPED
    db.session.commit()
    s = world.subscription

    def ids(query: str) -> list[int]:
        response = panel.get(f"/subscriptions/?{query}", headers={"HX-Request": "true"})
        fragment = response.get_data(as_text=True)
        assert 'id="list-subscriptions"' in fragment and "<html" not in fragment
        return row_ids(fragment, "subscriptions")

    assert ids("f_status=stopped") == [early.id]
    assert ids("f_status=active") == [s.id]
    assert ids(f"f_plan={world.plan.id}") == [early.id, s.id]
    assert ids("f_plan=999999") == []
    assert ids("f_start_from=15.11.2026") == [s.id]
    assert ids("f_start_to=2026-11-15") == [early.id]
    assert ids("f_start_from=not-a-date") == []
    assert ids("q=early") == [early.id]
    assert ids(f"id={s.id}") == [s.id]


def test_list_exports_and_offers_hidden_columns(world, panel):
    html = panel.get("/subscriptions/").get_data(as_text=True)
    for hidden in ("sku", "billing_type", "manager", "created_at"):
        assert f'name="columns" value="{hidden}"' in html
    export = panel.get("/subscriptions/?export=csv")
    assert export.status_code == 200
    body = export.get_data(as_text=True)
    assert "Office 365" in body and "Active" in body


def test_a_role_without_the_section_gets_403(app, world):
    manager = Panel(app, world.reseller, world.product_manager)
    s = world.subscription
    assert manager.get("/subscriptions/").status_code == 403
    assert manager.get(detail_url(s)).status_code == 403
    assert manager.post(f"/subscriptions/{s.id}/stop", {"stop-reason": "x"}).status_code == 403
    assert manager.get(f"/subscriptions/client/{world.client.id}").status_code == 403


def test_another_resellers_subscription_is_404(world, other, panel, db):
    foreign = other.subscription
    assert panel.get(detail_url(foreign)).status_code == 404
    for action in ("stop", "activate", "renew", "delete", "close-charges", "resources"):
        response = panel.post(f"/subscriptions/{foreign.id}/{action}", {"stop-reason": "x"})
        assert response.status_code == 404, action
    assert panel.post(detail_url(foreign), {"name": "Mine"}).status_code == 404
    assert panel.get(f"/subscriptions/client/{other.client.id}").status_code == 404
    assert reload(db, foreign).status == S.ACTIVE and reload(db, foreign).name == "Foreign"


# --- the subscription page (SCR-3) ---------------------------------------------------------------

def test_general_tab_shows_the_facts_services_and_toolbar(world, panel):
    s = world.subscription
    html = panel.get(detail_url(s)).get_data(as_text=True)
    text = html_lib.unescape(plain(html))
    assert 'id="subscription-id">' + str(s.id) in html
    assert "22.11.2026" in text and "21.01.2027" in text  # start and expiry (D1)
    assert "2 months" in text and world.rule.name in text and "Prepaid" in text
    assert 'value="Office 365"' in html
    instance = s.service_instances[0]
    assert instance.external_id.startswith("SIM-")
    assert instance.external_id in cell(html, "service-instance", instance.id, "external_id")
    assert 'data-status="active"' in html
    # An active subscription: stop, renew (point −1), expiry date, close charges, delete.
    for button in ("stop-dialog", "renew-subscription", "expiry-dialog", "close-charges-dialog",
                   "delete-subscription"):
        assert f'id="{button}"' in html, button
    assert 'id="activate-dialog"' not in html
    assert "no charges are made" in text
    assert 'id="subscription-error"' not in html


def test_general_tab_shows_the_last_error_of_an_error_status(db, world, panel):
    s = world.subscription
    s.status = S.INSTALL_ERROR
    s.last_error = "The vendor refused the tenant"
    db.session.commit()
    html = panel.get(detail_url(s)).get_data(as_text=True)
    assert 'id="subscription-error"' in html and "The vendor refused the tenant" in html
    assert 'id="stop-dialog"' not in html and 'id="renew-subscription"' in html


def test_save_the_general_tab(db, world, panel):
    s = world.subscription
    seller = make_staff(world.reseller, name="Sasha Seller")
    db.session.commit()
    response = panel.post(detail_url(s), {
        "name": "Office 365 E3", "manager_id": str(seller.id), "promo_code": "",
        "auto_renew": "y", "auto_renew_point_days": "3", "manual_renewal_point_days": "10"})
    assert response.status_code == 302
    s = reload(db, s)
    assert (s.name, s.manager_id, s.auto_renew, s.auto_renew_locked) == (
        "Office 365 E3", seller.id, True, False)
    assert (s.auto_renew_point_days, s.manual_renewal_point_days) == (3, 10)


def test_save_refuses_a_manual_point_below_the_automatic_one(db, world, panel):
    s = world.subscription
    response = panel.post(detail_url(s), {
        "name": "Renamed", "manager_id": "", "auto_renew_point_days": "5",
        "manual_renewal_point_days": "2"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'class="field has-error" id="field-manual_renewal_point_days"', html)
    assert "must not be less than the automatic renewal point" in text_of(response)
    assert reload(db, s).name == "Office 365"


def test_save_refuses_a_manager_of_another_reseller(db, world, other, panel):
    s = world.subscription
    response = panel.post(detail_url(s), {
        "name": "Office 365", "manager_id": str(other.admin.id), "auto_renew_point_days": "0",
        "manual_renewal_point_days": "-1"})
    assert response.status_code == 422
    assert reload(db, s).manager_id is None


# --- stop and activate (SCR-8, SCR-14) ------------------------------------------------------------

def test_stop_then_activate(db, world, panel):
    s = world.subscription
    response = panel.post(f"/subscriptions/{s.id}/stop",
                          {"stop-reason": "Client asked", "stop-comment": "By phone"})
    assert response.status_code == 302
    assert reload(db, s).status == S.STOPPING
    settle()
    s = reload(db, s)
    assert s.status == S.STOPPED and s.stop_reason == "Client asked"
    html = panel.get(detail_url(s)).get_data(as_text=True)
    assert 'id="activate-dialog"' in html and 'id="stop-dialog"' not in html
    response = panel.post(f"/subscriptions/{s.id}/activate",
                          {"activate-reason": "Paid", "activate-comment": ""})
    assert response.status_code == 302
    assert reload(db, s).status == S.ACTIVATING
    settle()
    assert reload(db, s).status == S.ACTIVE


def test_stopping_a_stopped_subscription_is_refused(db, world, panel):
    s = world.subscription
    s.status = S.STOPPED
    db.session.commit()
    response = panel.post(f"/subscriptions/{s.id}/stop", {"stop-reason": "Again"})
    assert response.status_code == 409
    assert 'You cannot stop a subscription in status "Stopped".' in text_of(response)
    assert reload(db, s).status == S.STOPPED


def test_stop_needs_a_reason(db, world, panel):
    s = world.subscription
    response = panel.post(f"/subscriptions/{s.id}/stop", {"stop-reason": " "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="field-stop-reason"' in html and 'id="stop-dialog" open' in html
    assert reload(db, s).status == S.ACTIVE


def test_activating_an_active_subscription_is_refused(db, world, panel):
    s = world.subscription
    response = panel.post(f"/subscriptions/{s.id}/activate", {"activate-reason": "Why not"})
    assert response.status_code == 409
    assert 'You cannot activate a subscription in status "Active".' in text_of(response)
    assert reload(db, s).status == S.ACTIVE


# --- renew (SCR-12) -------------------------------------------------------------------------------

def test_renew_places_the_renewal_order_and_a_second_is_refused(app, db, world, panel):
    s = world.subscription
    response = panel.post(f"/subscriptions/{s.id}/renew")
    assert response.status_code == 302
    order = db.session.scalar(select(Order).where(Order.subscription_id == s.id,
                                                  Order.order_type == OrderType.RENEWAL_ORDER))
    assert order is not None and order.status == OrderStatus.WAITING_FOR_PAYMENT
    assert order.covers_from == date(2027, 1, 22)
    if ORDER_PAGES & set(app.view_functions):
        assert response.headers["Location"].endswith(f"/orders/{order.id}")
    else:
        assert response.headers["Location"].endswith(f"/subscriptions/{s.id}?tab=orders")
        page = panel.get(response.headers["Location"])
        assert f"Order {order.number} is created." in text_of(page)
        assert order.number in cell(page.get_data(as_text=True), "order", order.id, "number")
    again = panel.post(f"/subscriptions/{s.id}/renew")
    assert again.status_code == 409
    assert f"already has an open order {order.number}" in text_of(again)
    assert db.session.scalar(select(func.count(Order.id)).where(
        Order.subscription_id == s.id, Order.order_type == OrderType.RENEWAL_ORDER)) == 1


def test_renew_outside_the_manual_renewal_window_is_refused(db, world, panel):
    s = world.subscription
    s.manual_renewal_point_days = 0  # 02 R-DET-8: never renewable by hand
    db.session.commit()
    assert 'id="renew-subscription"' not in panel.get(detail_url(s)).get_data(as_text=True)
    response = panel.post(f"/subscriptions/{s.id}/renew")
    assert response.status_code == 422
    assert "Manual renewal is not available yet" in text_of(response)
    assert db.session.scalar(select(func.count(Order.id)).where(
        Order.subscription_id == s.id, Order.order_type == OrderType.RENEWAL_ORDER)) == 0


# --- change the expiry date (SCR-9) -------------------------------------------------------------

def charge_rows(db, subscription) -> list[tuple]:
    db.session.expire_all()
    return [(c.id, c.status, c.amount) for c in db.session.scalars(
        select(Charge).where(Charge.subscription_id == subscription.id).order_by(Charge.id))]


def test_change_the_expiry_date_makes_no_charges(db, world, panel):
    s = world.subscription
    before = charge_rows(db, s)
    response = panel.post(f"/subscriptions/{s.id}/expiry-date",
                          {"expiry-expiry_date": "2027-02-28", "expiry-comment": "Goodwill"})
    assert response.status_code == 302
    assert reload(db, s).expiry_date == date(2027, 2, 28)
    assert charge_rows(db, s) == before


def test_an_expiry_date_before_the_start_is_refused(db, world, panel):
    s = world.subscription
    response = panel.post(f"/subscriptions/{s.id}/expiry-date",
                          {"expiry-expiry_date": "2026-01-01"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field has-error" id="field-expiry-expiry_date"' in html
    assert "The expiry date cannot be before the start date." in text_of(response)
    assert reload(db, s).expiry_date == date(2027, 1, 21)


# --- close charges (SCR-10) and delete (SCR-13) ---------------------------------------------------

def test_close_charges_debits_the_held_money(db, world, panel):
    s = world.subscription
    client = world.client
    assert blocked_amount_of(client) == Decimal("60.00")
    response = panel.post(f"/subscriptions/{s.id}/close-charges")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("?tab=charges")
    db.session.expire_all()
    assert client.balance == Decimal("40.00") and blocked_amount_of(client) == Decimal("0")
    assert ledger_problems(client) == []
    assert reload(db, s).charges_closed_manually
    html = panel.get(detail_url(s, "charges")).get_data(as_text=True)
    closed = db.session.scalar(select(Charge).where(Charge.subscription_id == s.id,
                                                    Charge.status == ChargeStatus.CLOSED))
    assert cell(html, "charge", closed.id, "transaction") == str(closed.transaction.id)
    assert "60.00" in cell(html, "charge", closed.id, "amount")


def test_delete_then_deleting_or_closing_again_is_refused(db, world, panel):
    s = world.subscription
    response = panel.post(f"/subscriptions/{s.id}/delete")
    assert response.status_code == 302
    assert reload(db, s).status == S.DELETING
    settle()
    assert reload(db, s).status == S.DELETED
    html = panel.get(detail_url(s)).get_data(as_text=True)
    assert 'id="delete-subscription"' not in html and 'id="subscription-form"' not in html
    again = panel.post(f"/subscriptions/{s.id}/delete")
    assert again.status_code == 409
    assert 'You cannot delete a subscription in status "Deleted".' in text_of(again)
    before = charge_rows(db, s)
    close = panel.post(f"/subscriptions/{s.id}/close-charges")
    assert close.status_code == 409
    assert "You cannot close the charges of a subscription" in text_of(close)
    assert charge_rows(db, s) == before and reload(db, s).status == S.DELETED


# --- resources (SCR-4) ---------------------------------------------------------------------------

def test_resources_apply_places_a_change_order(app, db, world, panel):
    s = world.subscription
    resource = s.resources[0]
    html = panel.get(detail_url(s, "resources")).get_data(as_text=True)
    assert f'name="additional-{resource.id}" value="0"' in html
    assert cell(html, "resource", resource.id, "total") == "1"
    assert cell(html, "resource", resource.id, "limit") == "10"
    response = panel.post(f"/subscriptions/{s.id}/resources", {f"additional-{resource.id}": "2"})
    assert response.status_code == 302
    order = db.session.scalar(select(Order).where(Order.subscription_id == s.id,
                                                  Order.order_type == OrderType.CHANGE_ORDER))
    assert order is not None and order.status == OrderStatus.WAITING_FOR_PAYMENT
    assert order.total > 0
    if ORDER_PAGES & set(app.view_functions):
        assert response.headers["Location"].endswith(f"/orders/{order.id}")
    else:
        assert response.headers["Location"].endswith("?tab=orders")


def test_resources_above_the_limit_are_refused_in_the_row(db, world, panel):
    s = world.subscription
    resource = s.resources[0]
    response = panel.post(f"/subscriptions/{s.id}/resources",
                          {f"additional-{resource.id}": "20"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'must be at most 10 (the resource limit)' in html_lib.unescape(
        cell(html, "resource", resource.id, "additional"))
    assert f'name="additional-{resource.id}" value="20"' in html
    assert db.session.scalar(select(func.count(Order.id)).where(
        Order.subscription_id == s.id, Order.order_type == OrderType.CHANGE_ORDER)) == 0
    bad = panel.post(f"/subscriptions/{s.id}/resources", {f"additional-{resource.id}": "1.5"})
    assert bad.status_code == 422
    assert "Enter a whole number, 0 or more." in text_of(bad)
    assert reload(db, s).resources[0].additional == 0


# --- the other tabs ------------------------------------------------------------------------------

def test_orders_charges_transactions_and_events_tabs(db, world, panel):
    s = world.subscription
    sales = db.session.scalar(select(Order).where(Order.subscription_id == s.id))
    html = panel.get(detail_url(s, "orders")).get_data(as_text=True)
    assert row_ids(html, "order") == [sales.id]
    assert "Sales order" in cell(html, "order", sales.id, "type")
    html = panel.get(detail_url(s, "charges")).get_data(as_text=True)
    charges = charge_rows(db, s)
    assert sorted(row_ids(html, "charge")) == [c[0] for c in charges]
    first = charges[0][0]
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", cell(html, "charge", first, "created_at"))
    assert 'data-status="blocked"' in html
    # Held money moves no balance (D5): no transactions until a charge closes.
    html = panel.get(detail_url(s, "transactions")).get_data(as_text=True)
    assert row_ids(html, "transaction") == []
    panel.post(f"/subscriptions/{s.id}/close-charges")
    html = panel.get(detail_url(s, "transactions")).get_data(as_text=True)
    [transaction_id] = row_ids(html, "transaction")
    assert "change-negative" in cell(html, "transaction", transaction_id, "change")
    assert "40.00" in cell(html, "transaction", transaction_id, "balance")
    html = panel.get(detail_url(s, "events")).get_data(as_text=True)
    assert "subscriptions.subscription.charges_closed" in html


# --- the client page's Subscriptions tab and the home search --------------------------------------

def test_client_subscriptions_tab(app, world, other, panel):
    s = world.subscription
    response = panel.get(f"/subscriptions/client/{world.client.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="client-tabs"' in html and row_ids(html, "subscription") == [s.id]
    assert "Office 365" in cell(html, "subscription", s.id, "name")
    assert "Foreign" not in html
    # «Заказать подписку» opens the wizard with the client chosen, once the wizard exists.
    if {"orders.new", "orders.new_order"} & set(app.view_functions):
        assert f'href="/orders/new?client_id={world.client.id}"' in html
    else:
        assert 'id="order-subscription"' not in html


def test_home_search_finds_subscriptions_by_id_and_name(world, other, panel):
    s = world.subscription
    by_name = text_of(panel.get("/search?q=office"))
    assert f"ID{s.id} - Office 365" in by_name and "Foreign" not in by_name
    by_id = panel.get(f"/search?q=ID{s.id}").get_data(as_text=True)
    assert f'href="/subscriptions/{s.id}"' in by_id
    foreign = panel.get("/search?q=Foreign").get_data(as_text=True)
    assert f'href="/subscriptions/{other.subscription.id}"' not in foreign
