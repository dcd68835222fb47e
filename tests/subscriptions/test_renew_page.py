"""The manual renewal page «Продление подписки» (02 SCR-12, R-MREN-2..5, EX-17): the period
select, the renewal order's lines and total after «Далее», «Подтвердить» placing the order, the
refusals shown on the page, and who may open it."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.catalog.models import BillingType
from portal.core.clock import clock
from portal.extensions import db as database
from portal.orders.models import Order, OrderStatus, OrderType
from portal.orders.services.ordering import clean_individual_prices, place_sales_order
from portal.orders.services.payments import complete_payment
from portal.subscriptions.models import RenewalPriceMode, Subscription, SubscriptionStatus
from tests.factories import Panel, make_plan
from tests.subscriptions import cell, make_world, plain, settle

ORDER_PAGES = {"orders.detail", "orders.order_detail"}


def months(n: int, fee: str, **kw) -> dict:
    return {"duration": n, "duration_unit": "month", "monthly_fee": fee, **kw}


def buy(world, plan, *, individual=None, name=None) -> Subscription:
    """An active subscription of the world's client on `plan`'s first period, paid."""
    order = place_sales_order(world.client, plan, plan.periods[0], quantities={}, actor=None,
                              on=clock.today(), name=name, individual=individual)
    complete_payment(order.payment, from_balance=True, actor=None, on=clock.today())
    database.session.commit()
    subscription_id = order.subscription_id
    settle()
    return database.session.get(Subscription, subscription_id)


@pytest.fixture
def world(app, db, frozen_clock):
    """10.11.2026: a plan "Office 365 E1" of 1 month at 10.00, 3 months at 9.00 and an
    unpublished year at 8.00; the client buys the month, so it expires on 09.12.2026 (D1)."""
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    world = make_world(app, topup="1000.00")
    world.admin.language = "en"
    world.e1 = make_plan(world.reseller, name="Office 365 E1", rule=world.rule, services=[],
                         periods=[months(1, "10.00"), months(3, "9.00"),
                                  {"duration": 1, "duration_unit": "year",
                                   "monthly_fee": "8.00", "published": False}])
    db.session.commit()
    world.month, world.quarter, world.year = world.e1.periods
    world.subscription = buy(world, world.e1, name="Mail")
    assert world.subscription.expiry_date == date(2026, 12, 9)
    return world


@pytest.fixture
def panel(app, world):
    return Panel(app, world.reseller, world.admin)


def page_url(subscription, **args) -> str:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    return f"/subscriptions/{subscription.id}/renew" + (f"?{query}" if query else "")


def text_of(response) -> str:
    return html_lib.unescape(plain(response.get_data(as_text=True)))


def money(fragment: str) -> str:
    """A cell's amount without the currency (roubles are "RUB10.00" in English)."""
    return html_lib.unescape(plain(fragment)).replace("RUB", "")


def options(html: str) -> list[tuple[str, str, bool]]:
    select_ = re.search(r'<select name="period_id"[^>]*>(.*?)</select>', html, re.S)
    assert select_, "no period select"
    return [(value, label, bool(selected)) for value, selected, label in re.findall(
        r'<option value="(\d+)"( selected)?>([^<]*)</option>', select_.group(1))]


def renewal_orders(subscription) -> list[Order]:
    return list(database.session.scalars(select(Order).where(
        Order.subscription_id == subscription.id, Order.order_type == OrderType.RENEWAL_ORDER)))


def line_cells(html: str, index: int) -> dict[str, str]:
    return {column: cell(html, "renew-line", index, column) for column in (
        "description", "quantity", "period", "unit_price", "discount", "amount")}


# --- step 1: the period --------------------------------------------------------------------------

def test_the_toolbar_links_to_the_page(world, panel):
    s = world.subscription
    html = panel.get(f"/subscriptions/{s.id}").get_data(as_text=True)
    link = re.search(r'<a [^>]*id="renew-subscription"[^>]*>', html)
    assert link and f'href="/subscriptions/{s.id}/renew"' in link.group(0)


def test_step_one_shows_client_product_plan_and_the_published_paid_periods(world, panel):
    s = world.subscription
    response = panel.get(page_url(s))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = text_of(response)
    assert f"ID{world.client.id} - {world.client.name}" in text
    assert f"ID{world.e1.product_id} - {world.e1.product.name}" in text
    assert f"ID{world.e1.id} - Office 365 E1" in text
    # The unpublished year is not offered; the subscription's month is chosen.
    assert options(html) == [(str(world.month.id), "1 month", True),
                             (str(world.quarter.id), "3 months", False)]
    assert 'id="renew-next"' in html and 'id="renew-lines"' not in html
    assert 'id="renew-price-mode"' not in html  # plan prices: no renewal price mode
    assert renewal_orders(s) == []


# --- step 2: the lines ----------------------------------------------------------------------------

def test_next_with_the_current_period_renews_the_month_after_expiry(world, panel):
    s = world.subscription
    response = panel.get(page_url(s, step="lines", period_id=world.month.id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<tr id="renew-line-(\d+)"', html)
    assert len(re.findall(r'<tr id="renew-line-\d+"', html)) == 1  # no renewal fee: no line
    line = line_cells(html, 1)
    # Order lines are written in the operator's language (EX-17's words).
    assert html_lib.unescape(line["description"]).startswith(
        'Продление подписки "Office 365 E1"')
    assert (line["quantity"], line["period"]) == ("1", "1.000")
    assert [money(line[k]) for k in ("unit_price", "discount", "amount")] == [
        "10.00", "0.00", "10.00"]
    assert text_of(response).count("10.12.2026 – 09.01.2027") == 1
    assert re.search(r'id="renew-period">1 month<', html)
    assert money(re.search(r'id="renew-total">(.*?)</th>', html).group(1)) == "10.00"
    assert f'name="period_id" value="{world.month.id}"' in html and 'id="renew-confirm"' in html
    assert renewal_orders(s) == []


def test_next_with_three_months_at_9_renews_to_9_march_for_27(world, panel):
    """02 SCR-12: another published period's term starts the day after expiry: 10.12.2026 +
    3 months − 1 day = 09.03.2027, at 3 × 9.00 = 27.00."""
    s = world.subscription
    response = panel.get(page_url(s, step="lines", period_id=world.quarter.id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    line = line_cells(html, 1)
    assert (line["quantity"], line["period"]) == ("1", "3.000")
    assert [money(line[k]) for k in ("unit_price", "discount", "amount")] == [
        "9.00", "0.00", "27.00"]
    assert "10.12.2026 – 09.03.2027" in text_of(response)
    assert money(re.search(r'id="renew-total">(.*?)</th>', html).group(1)) == "27.00"
    assert money(re.search(r'id="renew-discount">(.*?)</th>', html).group(1)) == "0.00"
    # «Назад» keeps the choice.
    back = re.search(r'<a [^>]*id="renew-back"[^>]*>', html).group(0)
    assert f"period_id={world.quarter.id}" in back
    again = panel.get(page_url(s, period_id=world.quarter.id)).get_data(as_text=True)
    assert (str(world.quarter.id), "3 months", True) in options(again)


def test_the_total_is_the_sum_of_the_lines_with_resources_and_renewal_fees(app, db, world,
                                                                           panel):
    """EX-17, A-32: only "Итого = Σ lines" is testable; here the service's renewal fee 5.00,
    12 months at 5.00 and 2 additional licences at 22.00 a month with a renewal fee of 1.00."""
    plan = make_plan(world.reseller, name="Office 365 E3", rule=world.rule, services=[],
                     periods=[{"duration": 1, "duration_unit": "year", "monthly_fee": "5.00",
                               "renewal_fee": "5.00"}],
                     resources=[{"name": "Licences", "included": "1", "minimum": "1",
                                 "limit": "10", "monthly_fee": "22.00", "renewal_fee": "1.00"}])
    db.session.commit()
    order = place_sales_order(world.client, plan, plan.periods[0],
                              quantities={plan.resources[0].id: "3"}, actor=None,
                              on=clock.today())
    complete_payment(order.payment, from_balance=True, actor=None, on=clock.today())
    db.session.commit()
    settle()
    s = db.session.get(Subscription, order.subscription_id)
    html = panel.get(page_url(s, step="lines")).get_data(as_text=True)
    rows = re.findall(r'<tr id="renew-line-(\d+)"', html)
    amounts = [Decimal(money(line_cells(html, int(i))["amount"]).replace(",", ""))
               for i in rows]
    assert len(rows) == 4 and sum(amounts) == Decimal("60.00") + 5 + 2 * 22 * 12 + 2
    total = money(re.search(r'id="renew-total">(.*?)</th>', html).group(1)).replace(",", "")
    assert Decimal(total) == sum(amounts) == Decimal("595.00")
    licences = [line for line in map(lambda i: line_cells(html, int(i)), rows)
                if '"Licences"' in html_lib.unescape(line["description"])]
    assert sorted((line["quantity"], line["period"], money(line["unit_price"]),
                   money(line["amount"])) for line in licences) == [
        ("2", "0.000", "1.00", "2.00"),  # the one-off renewal fee has no months
        ("2", "12.000", "22.00", "528.00")]


def test_an_individually_priced_subscription_shows_its_renewal_price_mode(db, world, panel):
    """R-MREN-3: renewing at the individual 7.00 a month, not the plan's 10.00."""
    prices = clean_individual_prices(world.e1, {"service": {"recurring": "7.00"}}, "individual")
    s = buy(world, world.e1, individual=prices, name="Individual")
    assert s.individual_prices and s.renewal_price_mode == RenewalPriceMode.INDIVIDUAL
    first = panel.get(page_url(s)).get_data(as_text=True)
    assert re.search(r'id="renew-price-mode">Use individual prices<', first)
    html = panel.get(page_url(s, step="lines")).get_data(as_text=True)
    assert re.search(r'id="renew-price-mode">Use individual prices<', html)
    assert money(line_cells(html, 1)["unit_price"]) == "7.00"
    assert money(re.search(r'id="renew-total">(.*?)</th>', html).group(1)) == "7.00"


# --- «Подтвердить» ------------------------------------------------------------------------------

def test_confirm_places_the_renewal_order_for_the_chosen_period(app, db, world, panel):
    s = world.subscription
    response = panel.post(page_url(s), {"period_id": str(world.quarter.id)})
    assert response.status_code == 302
    [order] = renewal_orders(s)
    assert order.status == OrderStatus.WAITING_FOR_PAYMENT
    assert (order.covers_from, order.covers_to, order.total) == (
        date(2026, 12, 10), date(2027, 3, 9), Decimal("27.00"))
    # R-MREN-4: not deferred, provided from the order's day.
    assert order.plan_period_id == world.quarter.id and not order.is_deferred
    assert order.provision_date == date(2026, 11, 10)
    if ORDER_PAGES & set(app.view_functions):
        assert response.headers["Location"].endswith(f"/orders/{order.id}")
    else:
        assert response.headers["Location"].endswith(f"/subscriptions/{s.id}?tab=orders")


# --- refusals -----------------------------------------------------------------------------------

def test_an_open_order_is_refused_with_409_on_the_page(db, world, panel):
    s = world.subscription
    assert panel.post(page_url(s), {"period_id": str(world.month.id)}).status_code == 302
    [order] = renewal_orders(s)
    for response in (panel.get(page_url(s)), panel.get(page_url(s, step="lines")),
                     panel.post(page_url(s), {"period_id": str(world.quarter.id)})):
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert f"already has an open order {order.number}" in text_of(response)
        assert 'id="renew-error"' in html
        assert 'id="renew-next"' not in html and 'id="renew-confirm"' not in html
    assert renewal_orders(s) == [order]


def test_outside_the_manual_renewal_window_nothing_is_offered(db, world, panel):
    s = world.subscription
    s.manual_renewal_point_days = 5  # 02 R-DET-8: from 04.12.2026
    db.session.commit()
    assert 'id="renew-subscription"' not in panel.get(
        f"/subscriptions/{s.id}").get_data(as_text=True)
    for response in (panel.get(page_url(s)),
                     panel.post(page_url(s), {"period_id": str(world.month.id)})):
        assert response.status_code == 422
        assert "Manual renewal is not available yet" in text_of(response)
        assert 'id="renew-next"' not in response.get_data(as_text=True)
    assert renewal_orders(s) == []


def test_the_window_opens_five_days_before_expiry(app, db, world, frozen_clock):
    s = world.subscription
    s.manual_renewal_point_days = 5
    db.session.commit()
    frozen_clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    panel = Panel(app, world.reseller, world.admin)  # signed in on the day
    assert 'id="renew-subscription"' in panel.get(
        f"/subscriptions/{s.id}").get_data(as_text=True)
    assert panel.get(page_url(s, step="lines")).status_code == 200


@pytest.mark.parametrize("which", ["other_plan", "unpublished", "unknown", "not_a_number",
                                   "huge"])
def test_a_period_that_is_not_offered_is_refused_beside_the_select(world, panel, which):
    s = world.subscription
    period_id = {"other_plan": str(world.plan.periods[0].id), "unpublished": str(world.year.id),
                 "unknown": "987654", "not_a_number": "x1", "huge": "9" * 30}[which]
    for response in (panel.get(page_url(s, step="lines", period_id=period_id)),
                     panel.post(page_url(s), {"period_id": period_id})):
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "Choose a published period of the subscription's plan." in text_of(response)
        assert 'id="renew-period-error"' in html and 'id="renew-lines"' not in html
        # The select falls back to the subscription's period; «Далее» is still there.
        assert (str(world.month.id), "1 month", True) in options(html)
        assert 'id="renew-next"' in html
    assert renewal_orders(s) == []


def test_a_no_refund_subscription_is_warned_and_not_offered_before_expiry(app, db, world, panel,
                                                                           frozen_clock):
    """R-MREN-2 (WARN-ONLY) and A-25: no toolbar button before the expiry day, a warning on
    the page. (No-refund plans cannot be ordered yet, so the plan is turned into one.)"""
    s = world.subscription
    world.e1.billing_type = BillingType.NO_REFUND
    db.session.commit()
    detail = f"/subscriptions/{s.id}"
    warning = "renewed before it expires fails to be provisioned"
    assert 'id="renew-subscription"' not in panel.get(detail).get_data(as_text=True)
    assert warning in text_of(panel.get(page_url(s)))
    frozen_clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))  # the expiry day
    panel = Panel(app, world.reseller, world.admin)
    assert 'id="renew-subscription"' in panel.get(detail).get_data(as_text=True)
    assert warning not in text_of(panel.get(page_url(s)))


def test_a_blocked_subscription_is_warned(db, world, panel):
    """R-MREN-2 (WARN-ONLY) and A-24: the toolbar hides «Продлить»; the page warns."""
    s = world.subscription
    s.status = SubscriptionStatus.BLOCKED
    db.session.commit()
    assert 'id="renew-subscription"' not in panel.get(
        f"/subscriptions/{s.id}").get_data(as_text=True)
    assert "The subscription is blocked: renewing it" in text_of(panel.get(page_url(s)))
    world.subscription.status = SubscriptionStatus.ACTIVE
    db.session.commit()
    assert "The subscription is blocked" not in text_of(panel.get(page_url(s)))


# --- who may -------------------------------------------------------------------------------------

def test_another_resellers_subscription_is_404(app, db, world, panel):
    other = make_world(app, name="Elsewhere")
    foreign = buy(other, other.plan, name="Foreign")
    db.session.commit()
    assert panel.get(page_url(foreign)).status_code == 404
    assert panel.get(page_url(foreign, step="lines")).status_code == 404
    assert panel.post(page_url(foreign), {}).status_code == 404
    assert renewal_orders(foreign) == []


def test_without_subscriptions_manage_it_is_403(app, db, world):
    manager = Panel(app, world.reseller, world.product_manager)
    s = world.subscription
    assert manager.get(page_url(s)).status_code == 403
    assert manager.get(page_url(s, step="lines")).status_code == 403
    assert manager.post(page_url(s), {"period_id": str(world.month.id)}).status_code == 403
    assert renewal_orders(s) == []
