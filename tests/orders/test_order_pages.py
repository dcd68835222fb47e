"""Operator-panel pages of orders: the list (03 S1), the order page and its actions (S2, ORD-8,
ORD-16, ORD-17) and the sales-order wizard (02 SCR-2), and who may open them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.clients.models import ClientStatus
from portal.core.clock import clock
from portal.core.models import AuditEvent
from portal.operator.search import register_search
from portal.orders.models import Order, OrderStatus, Payment, PaymentStatus
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from portal.subscriptions.models import Subscription, SubscriptionStatus
from tests.factories import (Panel, make_client, make_plan, make_reseller, make_root, make_rule,
                             make_staff)

D = Decimal
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the frozen clock of every test


def plain(html: str) -> str:
    text = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip()


def row_ids(html: str, key: str = "orders") -> list[int]:
    return [int(i) for i in re.findall(rf'<tr id="{key}-(\d+)">', html)]


def cell(html: str, row_id: int, column: str, key: str = "orders") -> str:
    row = re.search(rf'<tr id="{key}-{row_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row {row_id}"
    match = re.search(rf'<td data-column="{column}">(.*?)</td>', row.group(1), re.S)
    assert match, f"no column {column}"
    return plain(match.group(1))


def by_id(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no #{element_id}"
    return plain(match.group(1))


def flashes(html: str) -> str:
    return plain(" ".join(re.findall(r'<div class="flash flash-[a-z]+" role="status">(.*?)</div>',
                                     html, re.S)))


def count(db, model) -> int:
    return db.session.scalar(select(func.count(model.id)))


@pytest.fixture
def world(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    admin = make_staff(reseller, name="Anna Admin", language="en")
    # Clients first: a provisioning rule allows the client types that exist when it is made.
    client = make_client(reseller, primary_name="Horns Ltd")
    other_client = make_client(reseller, primary_name="Hooves Ltd")
    rule = make_rule(reseller, financial_day=1)
    plan = make_plan(reseller, rule=rule, name="Cloud Office",
                     periods=[{"duration": 2, "duration_unit": "month", "monthly_fee": "30.00"}],
                     resources=[{"name": "Licences", "included": "1", "minimum": "1",
                                 "limit": "10", "monthly_fee": "10.00"}])
    bare = make_plan(reseller, rule=rule, name="Bare Hosting",
                     periods=[{"duration": 1, "duration_unit": "month", "monthly_fee": "50.00"},
                              {"duration": 1, "duration_unit": "year", "monthly_fee": "40.00"}])
    db.session.commit()
    return SimpleNamespace(root=root, reseller=reseller, admin=admin, client=client,
                           other_client=other_client, rule=rule, plan=plan, bare=bare,
                           licences=plan.resources[0], panel=Panel(app, reseller, admin))


def order_for(w, client=None, plan=None, *, quantities=None, actor=None):
    plan = plan or w.plan
    order = place_sales_order(client or w.client, plan, plan.periods[0],
                              quantities=quantities or {}, actor=actor, on=clock.today())
    return order


def choices(w, **change) -> dict:
    data = {"client_id": str(w.client.id), "plan_id": str(w.plan.id),
            "period_id": str(w.plan.periods[0].id)}
    data.update(change)
    return data


# --- the list (S1) ---------------------------------------------------------------------------

def test_the_list_shows_the_orders_newest_first_with_their_columns(db, world, frozen_clock):
    w = world
    # The panel signed in on 22.11; the first order was placed two days before.
    frozen_clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    first = order_for(w)
    frozen_clock.set(NOW)
    second = order_for(w, w.other_client, w.bare, actor=w.admin)
    db.session.commit()
    html = w.panel.get("/orders").get_data(as_text=True)
    assert row_ids(html) == [second.id, first.id]
    assert cell(html, first.id, "number") == first.number
    assert f'href="/orders/{first.id}"' in html
    assert cell(html, first.id, "client") == "Horns Ltd"
    assert cell(html, first.id, "order_type") == "Sales order"
    assert cell(html, first.id, "status") == "Waiting for payment"
    assert cell(html, first.id, "total") == "RUB60.00"
    assert cell(html, second.id, "total") == "RUB50.00"
    assert cell(html, first.id, "discount_total") == "RUB0.00"
    assert cell(html, first.id, "individual_prices") == "No"
    assert cell(html, first.id, "closed_at") == ""
    assert 'id="list-create"' in html and 'href="/orders/new"' in html


def test_the_list_filters_and_searches(db, world, frozen_clock):
    w = world
    frozen_clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=UTC))
    first = order_for(w)
    cancelled = order_for(w, w.other_client, w.bare)
    cancelled.status = OrderStatus.CANCELLED
    frozen_clock.set(NOW)
    later = order_for(w, w.other_client)
    db.session.commit()

    def ids(query):
        return row_ids(w.panel.get(f"/orders?{query}").get_data(as_text=True))

    assert ids("f_status=cancelled") == [cancelled.id]
    assert ids("f_order_type=renewal_order") == []
    assert ids("f_created_from=2026-11-19") == [later.id]
    assert ids("f_created_to=18.11.2026") == [cancelled.id, first.id]
    assert ids("f_created_from=18.11.2026&f_created_to=2026-11-22") == [
        later.id, cancelled.id, first.id]
    assert ids("f_created_from=not-a-date") == []
    assert ids(f"q={later.number}") == [later.id]
    assert ids("q=hooves") == [later.id, cancelled.id]
    assert ids("f_individual_prices=no") == [later.id, cancelled.id, first.id]


def test_the_list_holds_only_the_resellers_orders(app, db, world):
    w = world
    mine = order_for(w)
    other = make_reseller(w.root, name="Other")
    stranger = make_client(other)
    foreign = make_plan(other, rule=make_rule(other))
    theirs = order_for(w, stranger, foreign)
    db.session.commit()
    listed = row_ids(w.panel.get("/orders").get_data(as_text=True))
    assert mine.id in listed and theirs.id not in listed


def test_htmx_gets_the_list_partial(db, world):
    w = world
    order_for(w)
    db.session.commit()
    html = w.panel.get("/orders?f_status=waiting_for_payment",
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="list-orders"') and "<html" not in html


# --- the wizard (SCR-2) ------------------------------------------------------------------------

def test_the_wizard_places_a_sales_order_in_three_steps(db, world):
    w = world
    # From the client page: the client comes chosen.
    html = w.panel.get(f"/orders/new?client_id={w.client.id}").get_data(as_text=True)
    assert f'<option selected value="{w.client.id}">ID{w.client.id} - Horns Ltd</option>' in html
    assert f"ID{w.plan.id} - Cloud Office" in html and "Hooves Ltd" in html
    # Choosing the plan redraws the product and its periods; the only period comes chosen.
    part = w.panel.get(f"/orders/new/plan-fields?plan_id={w.plan.id}",
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert part.lstrip().startswith('<div id="plan-fields">')
    period = w.plan.periods[0]
    assert f'<option selected value="{period.id}">2 months</option>' in part
    two = w.panel.get(f"/orders/new/plan-fields?plan_id={w.bare.id}").get_data(as_text=True)
    assert '<option selected value="">—</option>' in two and "1 year" in two

    # Step 1 → 2: the resource table with min/max, included and the computed additional.
    step2 = w.panel.post("/orders/new", data={"step": "start", **choices(w)})
    html = step2.get_data(as_text=True)
    assert step2.status_code == 200 and 'data-step="resources"' in html
    assert "Licences (min.: 1; max.: 10)" in html
    assert cell(html, w.licences.id, "additional", key="resource") == "0"
    # Typing a total redraws the step (htmx) with the additional and the amount due.
    refresh = w.panel.post("/orders/new", data={
        "step": "resources", "_refresh": "1", f"res-{w.licences.id}": "3", **choices(w)},
        headers={"HX-Request": "true"})
    part = refresh.get_data(as_text=True)
    assert part.lstrip().startswith('<div id="order-wizard"')
    assert cell(part, w.licences.id, "additional", key="resource") == "2"
    assert by_id(part, "wizard-amount-due") == "RUB100.00"

    # Step 2 → 3: the lines and the total.
    step3 = w.panel.post("/orders/new", data={
        "step": "resources", "action": "next", f"res-{w.licences.id}": "3", **choices(w)})
    html = step3.get_data(as_text=True)
    assert 'data-step="confirm"' in html
    assert by_id(html, "summary-client") == f"ID{w.client.id} - Horns Ltd"
    assert by_id(html, "summary-plan") == f"ID{w.plan.id} - Cloud Office"
    assert by_id(html, "summary-period") == "2 months"
    assert by_id(html, "summary-payment-model") == "Prepaid"
    lines = plain(re.search(r'id="wizard-lines">(.*?)</table>', html, re.S).group(1))
    # Lines are stored in the reseller's operator language (Russian by default).
    assert 'Покупка подписки "Cloud Office" (абонентская плата) 1 2.000 RUB30.00 RUB0.00 ' \
           'RUB60.00' in lines
    assert 'Увеличение ресурса "Licences" для подписки "Cloud Office" (абонентская плата) ' \
           '2 2.000 RUB10.00 RUB0.00 RUB40.00' in lines
    assert by_id(html, "wizard-total") == "RUB100.00"
    assert count(db, Order) == 0  # nothing is stored before «Подтвердить»

    placed = w.panel.post("/orders/new", data={
        "step": "confirm", "action": "confirm", f"res-{w.licences.id}": "3", **choices(w)})
    assert placed.status_code == 302
    order = db.session.scalar(select(Order))
    assert placed.headers["Location"].endswith(f"/orders/{order.id}")
    assert (order.total, order.status, order.created_by_staff_id) == (
        D("100.00"), OrderStatus.WAITING_FOR_PAYMENT, w.admin.id)
    assert order.payment.total == D("100.00")
    assert order.subscription.resources[0].additional == D("2")


def test_a_plan_without_resources_goes_straight_to_the_confirmation(db, world):
    w = world
    data = choices(w, plan_id=str(w.bare.id), period_id=str(w.bare.periods[1].id))
    html = w.panel.post("/orders/new", data={"step": "start", **data}).get_data(as_text=True)
    assert 'data-step="confirm"' in html
    assert by_id(html, "wizard-total") == "RUB480.00"  # 12 × 40.00
    # «Назад» goes back to the first step with the choices kept.
    back = w.panel.post("/orders/new", data={"step": "confirm", "action": "back", **data})
    html = back.get_data(as_text=True)
    assert 'data-step="start"' in html
    assert f'<option selected value="{w.bare.periods[1].id}">1 year</option>' in html


def test_a_trial_period_skips_the_resources_and_goes_to_provisioning(db, world):
    w = world
    trial = make_plan(w.reseller, rule=w.rule, name="Try Office",
                      periods=[{"duration": 1, "duration_unit": "month", "is_trial": True},
                               {"duration": 1, "duration_unit": "month",
                                "monthly_fee": "30.00"}],
                      resources=[{"name": "Seats", "included": "1", "minimum": "1",
                                  "limit": "5", "monthly_fee": "10.00"}])
    db.session.commit()
    data = choices(w, plan_id=str(trial.id), period_id=str(trial.periods[0].id))
    part = w.panel.get(f"/orders/new/plan-fields?plan_id={trial.id}").get_data(as_text=True)
    assert "1 month (trial)" in part
    html = w.panel.post("/orders/new", data={"step": "start", **data}).get_data(as_text=True)
    assert 'data-step="confirm"' in html and by_id(html, "wizard-total") == "RUB0.00"
    placed = w.panel.post("/orders/new", data={"step": "confirm", "action": "confirm", **data})
    assert placed.status_code == 302
    order = db.session.scalar(select(Order))
    # 03 A33: nothing to pay, no payment; provisioning starts at once.
    assert order.payment is None and order.status != OrderStatus.WAITING_FOR_PAYMENT


def test_back_from_the_resources_keeps_the_choices(db, world):
    w = world
    back = w.panel.post("/orders/new", data={
        "step": "resources", "action": "back", f"res-{w.licences.id}": "5", **choices(w)})
    html = back.get_data(as_text=True)
    assert back.status_code == 200 and 'data-step="start"' in html
    assert f'<option selected value="{w.plan.id}">' in html
    assert f'name="res-{w.licences.id}" value="5"' in html


def test_a_quantity_out_of_range_is_refused_on_its_row(db, world):
    w = world
    response = w.panel.post("/orders/new", data={
        "step": "resources", "action": "next", f"res-{w.licences.id}": "11", **choices(w)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-step="resources"' in html
    assert by_id(html, f"resource-error-{w.licences.id}") == \
        'The quantity of "Licences" must be at most 10 (the resource limit).'
    assert f'name="res-{w.licences.id}" value="11"' in html
    # The same refusal at «Подтвердить»: nothing is saved.
    confirm = w.panel.post("/orders/new", data={
        "step": "confirm", "action": "confirm", f"res-{w.licences.id}": "abc", **choices(w)})
    assert confirm.status_code == 422
    assert "The quantity must be a number." in confirm.get_data(as_text=True)
    assert count(db, Order) == 0 and count(db, Subscription) == 0


def test_the_wizard_refuses_what_may_not_be_ordered(db, world):
    w = world
    w.client.status = ClientStatus.ADMIN_BLOCKED
    db.session.commit()
    response = w.panel.post("/orders/new", data={"step": "start", **choices(w)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-step="start"' in html
    assert 'class="field has-error" id="field-client_id"' in html
    assert "The client is blocked or deleted and cannot order." in html
    missing = w.panel.post("/orders/new", data={"step": "start", "client_id": "",
                                                "plan_id": str(w.plan.id), "period_id": ""})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert "Choose a client." in html and "Choose a period." not in html  # one period: chosen
    assert count(db, Order) == 0


def test_the_wizard_does_not_take_another_resellers_objects(db, world):
    w = world
    other = make_reseller(w.root, name="Other")
    stranger = make_client(other, primary_name="Stranger Ltd")
    foreign = make_plan(other, rule=make_rule(other), name="Foreign Plan")
    db.session.commit()
    response = w.panel.post("/orders/new", data={
        "step": "confirm", "action": "confirm", "client_id": str(stranger.id),
        "plan_id": str(foreign.id), "period_id": str(foreign.periods[0].id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a client." in html and "Choose a plan." in html
    assert "Stranger Ltd" not in html and "Foreign Plan" not in html
    assert count(db, Order) == 0


# --- the order page (S2) ---------------------------------------------------------------------

def test_the_order_page_shows_its_groups_lines_and_links(db, world):
    w = world
    order = order_for(w, quantities={w.licences.id: "3"}, actor=w.admin)
    db.session.commit()
    html = w.panel.get(f"/orders/{order.id}").get_data(as_text=True)
    assert by_id(html, "order-number") == order.number
    assert f'href="/payments/{order.payment.id}"' in html
    assert by_id(html, "order-expires") == "23.11.2026"  # the rule's one day to pay
    assert "order-provision-date" not in html  # only for deferred orders
    assert by_id(html, "order-status") == "Waiting for payment"
    assert by_id(html, "order-client") == f"ID{w.client.id} - Horns Ltd"
    assert by_id(html, "order-created-by") == f"#{w.admin.id} Anna Admin"
    assert by_id(html, "order-ip") == "" and by_id(html, "order-total") == "RUB100.00"
    assert by_id(html, "order-promo") == "Not applied"
    subscription = order.subscription
    assert f"ID{subscription.id} - {subscription.name}" in html
    line = order.lines[1]
    assert cell(html, line.id, "period", key="order-line") == "2.000"
    assert cell(html, line.id, "quantity", key="order-line") == "2"
    assert cell(html, line.id, "amount", key="order-line") == "RUB40.00"
    for button in ("set-order-expiry", "cancel-order", "change-order"):
        assert f'id="{button}"' in html


def test_an_automatic_order_shows_system_and_the_activation_error(db, world):
    w = world
    order = order_for(w, plan=w.bare)
    order.status = OrderStatus.ACTIVATION_ERROR
    order.last_error = "The vendor refused the tenant."
    db.session.commit()
    html = w.panel.get(f"/orders/{order.id}").get_data(as_text=True)
    assert by_id(html, "order-created-by") == "System"
    assert "The vendor refused the tenant." in by_id(html, "order-error")
    # ORD-8: the expiry date can be set; ORD-16/17: no cancel, no change.
    assert 'id="set-order-expiry"' in html
    assert 'id="cancel-order"' not in html and 'id="change-order"' not in html


def test_the_event_log_tab(db, world):
    w = world
    order = order_for(w, actor=w.admin)
    db.session.commit()
    html = w.panel.get(f"/orders/{order.id}/events").get_data(as_text=True)
    assert 'id="event-log"' in html and "orders.order.created" in html
    assert 'data-tab="events" class="active"' in html


def test_set_the_expiry_date(db, world):
    w = world
    order = order_for(w)
    db.session.commit()
    url = f"/orders/{order.id}/expiry"
    form = w.panel.get(url).get_data(as_text=True)
    assert 'name="expires_on"' in form and 'value="2026-11-23"' in form
    done = w.panel.post(url, data={"expires_on": "2026-12-01", "comment": "Client asked"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/orders/{order.id}")
    db.session.refresh(order)
    assert order.expires_on == date(2026, 12, 1)
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "orders.order.expiry_set"))
    assert event.data == {"comment": "Client asked"}
    # A date in the past is refused on its field; nothing changes.
    past = w.panel.post(url, data={"expires_on": "2026-11-01"})
    html = past.get_data(as_text=True)
    assert past.status_code == 422 and 'id="field-expires_on"' in html
    assert "The expiry date cannot be in the past." in html
    db.session.refresh(order)
    assert order.expires_on == date(2026, 12, 1)


def test_the_expiry_date_of_a_completed_order_is_refused(db, world):
    w = world
    order = order_for(w)
    order.status = OrderStatus.COMPLETED
    db.session.commit()
    assert 'id="set-order-expiry"' not in w.panel.get(f"/orders/{order.id}").get_data(
        as_text=True)
    response = w.panel.post(f"/orders/{order.id}/expiry", data={"expires_on": "2026-12-01"})
    assert response.status_code == 422
    assert "The expiry date can be set only while the order waits for payment or has an " \
           "activation error." in flashes(response.get_data(as_text=True))


def test_cancel_an_order_with_its_payment(db, world):
    w = world
    order = order_for(w)
    db.session.commit()
    response = w.panel.post(f"/orders/{order.id}/cancel")
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status == OrderStatus.CANCELLED and order.closed_at is not None
    assert order.payment.status == PaymentStatus.CANCELLED
    assert order.subscription.status == SubscriptionStatus.DELETED
    html = w.panel.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "The order is cancelled." in flashes(html)
    assert 'id="cancel-order"' not in html and 'id="change-order"' not in html


def test_a_completed_order_cannot_be_cancelled_or_changed(db, world):
    w = world
    order = order_for(w)
    order.status = OrderStatus.COMPLETED
    db.session.commit()
    for action in ("cancel", "change"):
        response = w.panel.post(f"/orders/{order.id}/{action}")
        assert response.status_code == 422
        assert "can be" in flashes(response.get_data(as_text=True))
    db.session.refresh(order)
    assert order.status == OrderStatus.COMPLETED


def test_change_cancels_the_order_and_opens_the_wizard_filled_in(db, world):
    w = world
    order = order_for(w, quantities={w.licences.id: "4"})
    db.session.commit()
    response = w.panel.post(f"/orders/{order.id}/change")
    assert response.status_code == 302
    target = response.headers["Location"]
    assert f"plan_id={w.plan.id}" in target and f"res-{w.licences.id}=4" in target
    db.session.refresh(order)
    assert order.status == OrderStatus.CANCELLED
    assert order.payment.status == PaymentStatus.CANCELLED
    html = w.panel.get(target).get_data(as_text=True)
    assert f'<option selected value="{w.plan.id}">' in html
    assert f'<option selected value="{w.client.id}">' in html
    assert f'name="res-{w.licences.id}" value="4"' in html
    # The next step shows the total carried over, ready to be edited.
    step2 = w.panel.post("/orders/new", data={"step": "start", f"res-{w.licences.id}": "4",
                                              **choices(w)}).get_data(as_text=True)
    assert f'name="res-{w.licences.id}" value="4"' in step2
    assert cell(step2, w.licences.id, "additional", key="resource") == "3"


def test_a_paid_order_shows_provisioning_and_the_payment_block(db, world):
    w = world
    topup = create_topup(w.client, amount="100.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=clock.today())
    order = order_for(w, plan=w.bare)
    complete_payment(order.payment, from_balance=True, actor=None, on=clock.today())
    db.session.commit()
    html = w.panel.get(f"/orders/{order.id}").get_data(as_text=True)
    assert by_id(html, "order-status") in ("Provisioning", "Completed")
    assert 'id="order-toolbar"' not in html


# --- search, access ----------------------------------------------------------------------------

def test_the_home_search_finds_orders_by_number(db, world):
    from portal.orders.views.orders import ORDER_SEARCH

    register_search(ORDER_SEARCH)  # another test may have swapped a stand-in for it
    w = world
    order = order_for(w)
    db.session.commit()
    html = w.panel.get(f"/search?q={order.number.lower()}").get_data(as_text=True)
    assert f'href="/orders/{order.id}"' in html and order.number in html


def test_another_resellers_order_is_not_found(app, db, world):
    w = world
    other = make_reseller(w.root, name="Other")
    stranger = make_client(other)
    foreign = order_for(w, stranger, make_plan(other, rule=make_rule(other)))
    db.session.commit()
    for path in (f"/orders/{foreign.id}", f"/orders/{foreign.id}/events",
                 f"/orders/{foreign.id}/expiry"):
        assert w.panel.get(path).status_code == 404, path
    for path in (f"/orders/{foreign.id}/cancel", f"/orders/{foreign.id}/change",
                 f"/orders/{foreign.id}/expiry"):
        assert w.panel.post(path, data={"expires_on": "2026-12-01"}).status_code == 404, path
    db.session.refresh(foreign)
    assert foreign.status == OrderStatus.WAITING_FOR_PAYMENT


def test_a_product_manager_may_not_open_the_order_pages(app, db, world):
    w = world
    order = order_for(w)
    product = make_staff(w.reseller, role=Role.PRODUCT_MANAGER)
    db.session.commit()
    panel = Panel(app, w.reseller, product)
    for path in ("/orders", "/orders/new", f"/orders/{order.id}", f"/orders/{order.id}/events",
                 f"/orders/new/plan-fields?plan_id={w.plan.id}"):
        assert panel.get(path).status_code == 403, path
    for path in (f"/orders/{order.id}/cancel", "/orders/new"):
        assert panel.post(path, data=choices(w)).status_code == 403, path
    assert count(db, Order) == 1 and order.status == OrderStatus.WAITING_FOR_PAYMENT


def test_sales_and_marketing_staff_may_order(app, db, world):
    w = world
    for role in (Role.SALES_MANAGER, Role.MARKETING_SPECIALIST):
        panel = Panel(app, w.reseller, make_staff(w.reseller, role=role, language="en"))
        db.session.commit()
        assert panel.get("/orders").status_code == 200
        response = panel.post("/orders/new", data={
            "step": "confirm", "action": "confirm",
            **choices(w, plan_id=str(w.bare.id), period_id=str(w.bare.periods[0].id))})
        assert response.status_code == 302
    assert count(db, Order) == 2 and count(db, Payment) == 2
