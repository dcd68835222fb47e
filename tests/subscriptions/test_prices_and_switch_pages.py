"""The subscription page's Prices tab (02 SCR-5, §4.11, EX-13, EX-14) and the plan switch pages
(02 SCR-6, §4.12, A-26), driven through the operator panel with the test clock."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.catalog.services import (add_switch_targets, set_markup,
                                     update_provisioning_rule)
from portal.core.clock import clock
from portal.core.scheduler import run_due_days
from portal.extensions import db as database
from portal.orders.models import Order, OrderType
from portal.orders.services.ordering import clean_individual_prices, place_sales_order
from portal.orders.services.payments import complete_payment
from portal.subscriptions.models import RenewalPriceMode, Subscription, SubscriptionStatus
from tests.factories import Panel, delegate, make_client, make_plan, make_reseller, make_staff
from tests.subscriptions import cell, make_world, plain, settle, top_up

S = SubscriptionStatus
ORDER_PAGES = {"orders.detail", "orders.order_detail"}
USERS = {"name": "Users", "included": "1", "minimum": "1", "limit": "15", "monthly_fee": "10.00"}


def months(n: int, fee: str) -> dict:
    return {"duration": n, "duration_unit": "month", "monthly_fee": fee}


def at(frozen_clock, day: date) -> None:
    """12:00 in Moscow of `day`, with what is due run (the billing day closes charges)."""
    frozen_clock.set(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))
    run_due_days(clock.today())
    settle()
    database.session.commit()


def buy(world, plan, *, quantities=None, individual=None, name=None) -> Subscription:
    """An active subscription of the world's client on `plan`, paid from its balance."""
    order = place_sales_order(world.client, plan, plan.periods[0], quantities=quantities or {},
                              actor=None, on=clock.today(), name=name, individual=individual)
    complete_payment(order.payment, from_balance=True, actor=None, on=clock.today())
    database.session.commit()
    subscription_id = order.subscription_id
    settle()
    return database.session.get(Subscription, subscription_id)


def text_of(response) -> str:
    return html_lib.unescape(plain(response.get_data(as_text=True)))


def unescaped(fragment: str) -> str:
    """The text of a cell; amounts are roubles, which the English locale writes "RUB40.00"."""
    return html_lib.unescape(plain(fragment)).replace("RUB", "")


def reload(subscription) -> Subscription:
    database.session.expire_all()
    return database.session.get(Subscription, subscription.id)


def switch_orders(subscription) -> int:
    return database.session.scalar(select(func.count(Order.id)).where(
        Order.subscription_id == subscription.id, Order.order_type == OrderType.SWITCH_ORDER))


@pytest.fixture
def world(app, db, frozen_clock):
    """10.11.2026: a reseller with 1000.00 on its client's balance and three plans sharing the
    resource "Users" by name: the old one (2 months, 30.00; users at 10.00, up to 15), the
    target (1 month, 4.00; users at 15.00, up to 20) and a small one (users up to 3)."""
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    world = make_world(app, topup="1000.00")
    world.admin.language = "en"
    world.old = make_plan(world.reseller, name="Tw_Switch1", rule=world.rule, services=[],
                          resources=[dict(USERS)], periods=[months(2, "30.00")])
    world.new = make_plan(world.reseller, name="TW_switch 3", rule=world.rule, services=[],
                          resources=[{**USERS, "limit": "20", "monthly_fee": "15.00"}],
                          periods=[months(1, "4.00")])
    world.small = make_plan(world.reseller, name="Small", rule=world.rule, services=[],
                            resources=[{**USERS, "limit": "3"}],
                            periods=[months(2, "10.00"), months(1, "10.00")])
    add_switch_targets(world.old, [world.new.id, world.small.id])
    db.session.commit()
    return world


@pytest.fixture
def panel(app, world):
    return Panel(app, world.reseller, world.admin)


@pytest.fixture
def other(app, db, world):
    """Another reseller with a subscription of its own."""
    other = make_world(app, name="Elsewhere")
    other.subscription = buy(other, other.plan, name="Foreign")
    db.session.commit()
    return other


def prices_url(subscription) -> str:
    return f"/subscriptions/{subscription.id}?tab=prices"


def price_rows(html: str, key: str) -> list[str]:
    return re.findall(rf'<tr id="{key}-([a-z]+)"', html)


# --- the Prices tab (SCR-5) ---------------------------------------------------------------------

def test_ex13_prices_of_a_subscription_at_plan_prices(db, world, panel):
    """EX-13: a 1-year period, setup 40.00 and 40.00 a month; an unlimited resource at 70.00
    (setup, monthly and renewal). Sums: 40.00, 40.00 × 12 = 480.00, 70.00, 840.00, 70.00."""
    plan = make_plan(world.reseller, rule=world.rule, services=[], name="Annual",
                     periods=[{"duration": 1, "duration_unit": "year", "setup_fee": "40.00",
                               "monthly_fee": "40.00"}],
                     resources=[{"name": "Resource1", "included": "0", "minimum": "0",
                                 "unlimited": True, "setup_fee": "70.00",
                                 "monthly_fee": "70.00", "renewal_fee": "70.00"}])
    db.session.commit()
    s = buy(world, plan)
    assert s.status == S.ACTIVE
    html = panel.get(prices_url(s)).get_data(as_text=True)
    assert 'data-tab="prices" class="active"' in html
    assert unescaped(re.search(r'id="price-fixed">(.*?)<', html).group(1)) == "No"
    assert "Automatic markup" in html
    assert re.search(r'id="price-markup">Not set<', html)
    period = f"price-period-{s.plan_period_id}"
    # the renewal and transfer fees are zero everywhere, so not listed.
    assert price_rows(html, period) == ["setup", "recurring"]
    assert "1 year" in unescaped(cell(html, period, "setup", "name"))
    assert [unescaped(cell(html, period, "setup", c)) for c in ("cost", "sale", "months", "sum")] \
        == ["0.00", "40.00", "-", "40.00"]
    assert [unescaped(cell(html, period, "recurring", c))
            for c in ("cost", "sale", "months", "sum")] == ["0.00", "40.00", "12", "480.00"]
    resource = f"price-resource-{s.resources[0].id}"
    assert price_rows(html, resource) == ["setup", "recurring", "renewal"]
    assert unescaped(cell(html, resource, "setup", "name")) == "Resource1 (unlimited)"
    assert [unescaped(cell(html, resource, kind, "sum")) for kind in ("setup", "recurring",
                                                                     "renewal")] \
        == ["70.00", "840.00", "70.00"]
    # Plan prices: nothing to edit, no plan-price column.
    assert 'id="prices-apply"' not in html and "<input type=\"text\"" not in html
    assert "Plan price" not in html


def test_the_price_in_force_follows_the_plan_unless_the_price_is_fixed(db, world, panel):
    """R-PRC-2: without a fixed price the plan's price today is the sale price; with it, the
    price snapshotted at ordering."""
    s = buy(world, world.plan)
    world.plan.periods[0].monthly_fee = Decimal("33.00")
    db.session.commit()
    period = f"price-period-{s.plan_period_id}"
    html = panel.get(prices_url(s)).get_data(as_text=True)
    assert unescaped(cell(html, period, "recurring", "sale")) == "33.00"
    assert unescaped(cell(html, period, "recurring", "sum")) == "66.00"
    resource = f"price-resource-{s.resources[0].id}"
    assert unescaped(cell(html, resource, "recurring", "name")) == "Licences (min.: 1, max.: 10)"
    world.plan.fixed_price = True
    db.session.commit()
    html = panel.get(prices_url(s)).get_data(as_text=True)
    assert unescaped(re.search(r'id="price-fixed">(.*?)<', html).group(1)) == "Yes"
    assert unescaped(cell(html, period, "recurring", "sale")) == "30.00"
    assert unescaped(cell(html, period, "recurring", "sum")) == "60.00"


def test_a_delegated_plan_shows_its_cost_and_markup(app, db, world):
    """The cost is the provider's price; the coefficient is the plan's markup (R-PRC-2/4)."""
    child = make_reseller(world.reseller, name="Child")
    child_admin = make_staff(child, name="Child Admin", language="en")
    child_client = make_client(child)
    copy = delegate(world.plan, child)
    set_markup([copy], "1.50")
    # A delegated rule only adds the child's own client types (05 R-PR-11).
    update_provisioning_rule(copy.provisioning_rule,
                             added_client_types=[child_client.client_type.key])
    top_up(child_client, "200.00")
    db.session.commit()
    order = place_sales_order(child_client, copy, copy.periods[0], quantities={}, actor=None,
                              on=clock.today())
    complete_payment(order.payment, from_balance=True, actor=None, on=clock.today())
    db.session.commit()
    settle()
    s = db.session.get(Subscription, order.subscription_id)
    html = Panel(app, child, child_admin).get(prices_url(s)).get_data(as_text=True)
    assert re.search(r'id="price-markup">1.50<', html)
    period = f"price-period-{s.plan_period_id}"
    assert [unescaped(cell(html, period, "recurring", c)) for c in ("cost", "sale", "sum")] \
        == ["30.00", "45.00", "90.00"]
    resource = f"price-resource-{s.resources[0].id}"
    assert [unescaped(cell(html, resource, "recurring", c)) for c in ("cost", "sale")] \
        == ["10.00", "15.00"]


@pytest.fixture
def individual(db, world):
    """EX-14: 1 month, plan prices setup 10.00 / 20.00 a month / renewal 5.00 and a resource
    "Licenses" (max. 0) at 10.00 / 20.00 / 5.00, ordered at individual prices 9.00 / 15.00 and
    8.00 / 12.00, renewals at the highest prices."""
    plan = make_plan(world.reseller, rule=world.rule, services=[], name="Office USA annual E1",
                     periods=[{"duration": 1, "duration_unit": "month", "setup_fee": "10.00",
                               "monthly_fee": "20.00", "renewal_fee": "5.00"}],
                     resources=[{"name": "Licenses", "included": "0", "minimum": "0",
                                 "limit": "0", "setup_fee": "10.00", "monthly_fee": "20.00",
                                 "renewal_fee": "5.00"}])
    db.session.commit()
    licenses = plan.resources[0].id
    prices = clean_individual_prices(plan, {
        "service": {"setup": "9.00", "recurring": "15.00"},
        "resources": {str(licenses): {"setup": "8.00", "recurring": "12.00"}}}, "highest")
    s = buy(world, plan, individual=prices)
    assert s.individual_prices and s.renewal_price_mode == RenewalPriceMode.HIGHEST
    return s


def test_ex14_an_individually_priced_subscription_edits_its_monthly_prices(world, panel,
                                                                            individual):
    s = individual
    html = panel.get(prices_url(s)).get_data(as_text=True)
    assert "Plan price" in html and "Individual price" in html and "Sale price" not in html
    assert re.search(r'id="price-markup"><s>Not set</s><', html)
    period = f"price-period-{s.plan_period_id}"
    assert price_rows(html, period) == ["setup", "recurring", "renewal"]
    assert [unescaped(cell(html, period, "setup", c))
            for c in ("cost", "plan_price", "sale", "months", "sum")] \
        == ["0.00", "10.00", "9.00", "-", "9.00"]
    assert "<s>" in cell(html, period, "setup", "plan_price")
    # R-PRC-10: only the monthly price is an input.
    assert 'name="monthly_fee" value="15.00"' in cell(html, period, "recurring", "sale")
    assert [unescaped(cell(html, period, "recurring", c)) for c in ("months", "sum")] \
        == ["1", "15.00"]
    assert unescaped(cell(html, period, "renewal", "sum")) == "5.00"
    resource = s.resources[0]
    key = f"price-resource-{resource.id}"
    assert unescaped(cell(html, key, "setup", "name")) == "Licenses (min.: 0, max.: 0)"
    assert [unescaped(cell(html, key, "setup", c)) for c in ("plan_price", "sale", "sum")] \
        == ["10.00", "8.00", "8.00"]
    assert f'name="resource-{resource.id}" value="12.00"' in cell(html, key, "recurring", "sale")
    assert len(re.findall(r'<input type="text"', html)) == 2
    assert re.search(r'<option value="highest" selected>', html)
    assert 'id="prices-apply"' in html


def test_apply_changes_the_individual_price_and_logs_it(db, world, panel, individual):
    s = individual
    resource = s.resources[0]
    response = panel.post(f"/subscriptions/{s.id}/prices", {
        "monthly_fee": "17.50", f"resource-{resource.id}": "12.00",
        "renewal_price_mode": "individual"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/subscriptions/{s.id}?tab=prices")
    s = reload(s)
    assert (s.individual_monthly_fee, s.monthly_fee) == (Decimal("17.50"), Decimal("17.50"))
    assert s.resources[0].individual_monthly_fee == Decimal("12.00")  # untouched
    assert s.renewal_price_mode == RenewalPriceMode.INDIVIDUAL
    page = text_of(panel.get(response.headers["Location"]))
    assert "The prices are applied" in page
    # R-PRC-9: not unlimited, so the renewal price mode also chooses the prices.
    assert "renewal price mode (Use individual prices)" in page
    assert "17.50" in page
    events = panel.get(f"/subscriptions/{s.id}?tab=events").get_data(as_text=True)
    assert "subscriptions.subscription.individual_prices_set" in events
    assert "15.00 → 17.50" in html_lib.unescape(events)


@pytest.mark.parametrize(("typed", "says"), [
    ("abc", "A price is a number, 0 or more, with at most two decimals."),
    ("-1", "A price is a number, 0 or more, with at most two decimals."),
    ("1.005", "A price is a number, 0 or more, with at most two decimals."),
])
def test_a_bad_price_is_refused_next_to_its_input(db, world, panel, individual, typed, says):
    s = individual
    resource = s.resources[0]
    response = panel.post(f"/subscriptions/{s.id}/prices", {
        "monthly_fee": "16.00", f"resource-{resource.id}": typed,
        "renewal_price_mode": "plan"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    key = f"price-resource-{resource.id}"
    assert says in unescaped(cell(html, key, "recurring", "sale"))
    assert f'name="resource-{resource.id}" value="{typed}"' in html
    assert '<option value="plan" selected>' in html  # what was chosen stays chosen
    assert says not in unescaped(cell(html, f"price-period-{s.plan_period_id}", "recurring",
                                      "sale"))
    s = reload(s)
    assert (s.monthly_fee, s.renewal_price_mode) == (Decimal("15.00"), RenewalPriceMode.HIGHEST)
    assert s.resources[0].monthly_fee == Decimal("12.00")


def test_plan_prices_cannot_be_applied(db, world, panel):
    s = buy(world, world.plan)
    response = panel.post(f"/subscriptions/{s.id}/prices", {"monthly_fee": "1.00"})
    assert response.status_code == 409
    assert "Only an individually priced subscription" in text_of(response)
    assert reload(s).monthly_fee == Decimal("30.00")


# --- switch plan (SCR-6) -----------------------------------------------------------------------

@pytest.fixture
def switching(world, frozen_clock):
    """The old plan bought on 10.11.2026 with 5 users (140.00); the billing day 01.12 passes;
    it is 15.12.2026."""
    s = buy(world, world.old, quantities={world.old.resources[0].id: 5}, name="Tw_Switch1")
    assert s.status == S.ACTIVE and s.expiry_date == date(2027, 1, 9)
    at(frozen_clock, date(2026, 12, 1))
    at(frozen_clock, date(2026, 12, 15))
    return reload(s)


def switch_url(subscription) -> str:
    return f"/subscriptions/{subscription.id}/switch"


def test_the_switch_button_needs_switch_targets(db, world, switching, panel):
    plain_one = buy(world, world.plan)
    assert 'id="switch-plan-button"' not in panel.get(
        f"/subscriptions/{plain_one.id}").get_data(as_text=True)
    html = panel.get(f"/subscriptions/{switching.id}").get_data(as_text=True)
    assert 'id="switch-plan-button"' in html and f'href="{switch_url(switching)}"' in html
    switching.status = S.STOPPED  # R-SW-1: an active subscription only
    db.session.commit()
    assert 'id="switch-plan-button"' not in panel.get(
        f"/subscriptions/{switching.id}").get_data(as_text=True)


def test_step_one_offers_the_targets_and_locks_a_single_period(world, switching, panel):
    new, small = world.new, world.small
    html = panel.get(switch_url(switching)).get_data(as_text=True)
    assert 'data-step="start"' in html
    assert f'<option value="{new.id}">ID{new.id} - TW_switch 3</option>' in html
    assert f'<option value="{small.id}">ID{small.id} - Small</option>' in html
    assert f"ID{world.plan.id} -" not in html
    # htmx: the periods of the plan chosen; one period is chosen and locked (R-SW-4).
    fragment = panel.get(f"{switch_url(switching)}/periods?plan_id={new.id}",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<div id="switch-period-field">' in fragment and "<html" not in fragment
    period = new.periods[0]
    assert re.search(r"<select[^>]*disabled", fragment)
    assert f'<input type="hidden" name="period_id" value="{period.id}">' in fragment
    two = panel.get(f"{switch_url(switching)}/periods?plan_id={small.id}").get_data(
        as_text=True)
    assert not re.search(r"<select[^>]*disabled", two)
    assert re.search(r'<option [^>]*value="">—</option>', two)
    assert "2 months" in two and "1 month" in two


def test_switch_quote_refunds_the_rest_and_submit_creates_the_switch_order(
        app, db, world, switching, panel):
    """The scenario of tests/scenarios/test_api_switch_and_individual_prices.py: 58.66 of the
    old plan back, 3.35 for the new plan and 50.28 for 4 more users at 15.00, all for the
    0.838 months from 15.12 to 09.01; the total −5.03 (EX-16: a negative total)."""
    new = world.new
    users = new.resources[0].id
    response = panel.post(switch_url(switching), {"plan_id": str(new.id), "period_id": "",
                                                  "step": "resources"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-step="resources"' in html
    # R-SW-5: the shared resource keeps the 5 users of the old plan.
    assert [unescaped(cell(html, "switch-resource", users, c))
            for c in ("name", "minimum", "limit", "included", "monthly_fee")] \
        == ["Users", "1", "20", "1", "15.00"]
    assert f'name="res-{users}" id="res-{users}" value="5"' in html
    refund = [unescaped(cell(html, "switch-line", "refund", c))
              for c in ("description", "quantity", "period", "amount")]
    assert refund == ['Возврат с подписки "Tw_Switch1"', "1", "0.838", "-58.66"]
    assert [unescaped(cell(html, "switch-line", "1", c)) for c in ("quantity", "amount")] \
        == ["1", "3.35"]
    assert [unescaped(cell(html, "switch-line", "2", c))
            for c in ("quantity", "period", "unit_price", "amount")] \
        == ["4", "0.838", "15.00", "50.28"]
    assert unescaped(re.search(r'id="switch-total">(.*?)<', html).group(1)) == "-5.03"

    # htmx: another total recomputes the lines in place.
    fragment = panel.post(switch_url(switching), {
        "plan_id": str(new.id), "period_id": str(new.periods[0].id), "step": "resources",
        f"res-{users}": "6"}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="switch-plan"') and "<html" not in fragment
    assert unescaped(cell(fragment, "switch-line", "2", "quantity")) == "5"
    assert switch_orders(switching) == 0

    response = panel.post(switch_url(switching), {
        "plan_id": str(new.id), "period_id": str(new.periods[0].id), "step": "resources",
        f"res-{users}": "5", "action": "confirm"})
    assert response.status_code == 302
    order = db.session.scalar(select(Order).where(Order.subscription_id == switching.id,
                                                  Order.order_type == OrderType.SWITCH_ORDER))
    assert order is not None and order.total == Decimal("-5.03")
    if ORDER_PAGES & set(app.view_functions):
        assert response.headers["Location"].endswith(f"/orders/{order.id}")
    else:
        assert response.headers["Location"].endswith(f"/subscriptions/{switching.id}?tab=orders")
    assert f"Order {order.number} is created." in text_of(panel.get(response.headers["Location"]))
    settle()
    s = reload(switching)
    assert (s.plan_id, s.status, s.expiry_date) == (new.id, S.ACTIVE, date(2027, 1, 9))
    assert [(r.name, r.total, r.monthly_fee) for r in s.resources] == [
        ("Users", Decimal("5"), Decimal("15.00"))]


def test_a26_too_many_shared_resources_are_refused_in_their_row(db, world, switching, panel):
    small = world.small
    users = small.resources[0].id
    choice = {"plan_id": str(small.id), "period_id": str(small.periods[0].id),
              "step": "resources"}
    response = panel.post(switch_url(switching), choice)
    assert response.status_code == 200  # not submitted yet: the row says what is wrong
    error = unescaped(cell(response.get_data(as_text=True), "switch-resource", users, "total"))
    assert '"Users" has 5, more than the new plan allows (3); decrease it first.' in error
    refused = panel.post(switch_url(switching), {**choice, f"res-{users}": "5",
                                                 "action": "confirm"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "decrease it first" in unescaped(cell(html, "switch-resource", users, "total"))
    above = panel.post(switch_url(switching), {**choice, f"res-{users}": "9",
                                               "action": "confirm"})
    assert above.status_code == 422
    assert "must be at most 3" in unescaped(cell(above.get_data(as_text=True),
                                                 "switch-resource", users, "total"))
    assert switch_orders(switching) == 0 and reload(switching).plan_id == world.old.id


def test_a_plan_that_is_no_target_is_refused_at_the_plan_select(db, world, other, switching,
                                                                panel):
    for plan in (world.plan, other.plan):  # not a switch target; another tenant's plan
        response = panel.post(switch_url(switching), {
            "plan_id": str(plan.id), "period_id": str(plan.periods[0].id),
            "step": "resources"})
        assert response.status_code == 422, plan.name
        html = response.get_data(as_text=True)
        assert 'class="field has-error" id="field-plan_id"' in html
        assert "The plan is not among the plans this subscription can switch to." \
            in text_of(response)
    assert switch_orders(switching) == 0


def test_a_stopped_subscription_is_refused_with_409(db, world, switching, panel):
    switching.status = S.STOPPED
    db.session.commit()
    new = world.new
    response = panel.post(switch_url(switching), {
        "plan_id": str(new.id), "period_id": str(new.periods[0].id), "step": "resources",
        "action": "confirm"})
    assert response.status_code == 409
    assert 'id="switch-error"' in response.get_data(as_text=True)
    assert "switch the plan of a subscription" in text_of(response)
    assert switch_orders(switching) == 0


def test_another_resellers_subscription_is_404(db, world, other, panel):
    foreign = other.subscription
    assert panel.get(switch_url(foreign)).status_code == 404
    assert panel.get(f"{switch_url(foreign)}/periods?plan_id={other.plan.id}").status_code == 404
    assert panel.post(switch_url(foreign), {"plan_id": str(other.plan.id),
                                            "step": "resources"}).status_code == 404
    assert panel.post(f"/subscriptions/{foreign.id}/prices",
                      {"monthly_fee": "1.00"}).status_code == 404
    assert panel.get(prices_url(foreign)).status_code == 404


def test_a_role_without_subscriptions_manage_gets_403(app, db, world, switching, individual):
    manager = Panel(app, world.reseller, world.product_manager)
    assert manager.get(switch_url(switching)).status_code == 403
    assert manager.post(switch_url(switching), {"plan_id": str(world.new.id),
                                                "step": "resources"}).status_code == 403
    assert manager.post(f"/subscriptions/{individual.id}/prices",
                        {"monthly_fee": "1.00"}).status_code == 403
    assert reload(individual).monthly_fee == Decimal("15.00")
