"""The order wizard with individual prices (02 §4.5 R-IP-1..R-IP-10, SCR-2, §2.6–§2.8): the
toggle on the first step, the price tables and renewal parameters on the configuration step,
live totals, the prices carried through the steps and «Назад», the placed order, refusals,
the R-IP-10 warning and the order page's «Изменить».

The story: on 22.11.2026 Anna orders "Cloud Office" (2 months, a pre-order: the whole term is
paid at once) for Horns Ltd. The plan asks 30.00 a month and 5.00 for setup, and a licence
beyond the one included 10.00 a month and 2.00 for setup; Anna agrees 25.00 / 4.00 and 8.00 /
1.50 with the client."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.billing.services import set_exchange_rate
from portal.core.clock import clock
from portal.orders.models import Order, OrderStatus, Payment
from portal.orders.services.ordering import clean_individual_prices, place_sales_order
from portal.subscriptions.models import RenewalPriceMode, Subscription, SubscriptionStatus
from tests.factories import Panel, make_client, make_plan, make_reseller, make_root, make_rule, \
    make_staff
from tests.orders.test_order_pages import by_id, plain

D = Decimal


class FormReader(HTMLParser):
    """What a browser would post from the wizard's form: inputs (a checkbox only when checked)
    and the selected option of each select; no buttons."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.data[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select, self._first = a.get("name"), None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value") or ""
            if "selected" in a:
                self.data[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.data.setdefault(self._select, self._first or "")
            self._select = None


def form_of(html: str, **change) -> dict[str, str]:
    match = re.search(r'<form[^>]*id="order-wizard-form".*?</form>', html, re.S)
    assert match, "no wizard form"
    reader = FormReader()
    reader.feed(match.group(0))
    data = {**reader.data, **change}
    return {k: v for k, v in data.items() if v is not None}


def input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def count(db, model) -> int:
    return db.session.scalar(select(func.count(model.id)))


@pytest.fixture
def world(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    admin = make_staff(reseller, name="Anna Admin", language="en")
    client = make_client(reseller, primary_name="Horns Ltd")
    other_client = make_client(reseller, primary_name="Hooves Ltd")
    rule = make_rule(reseller, financial_day=1)
    plan = make_plan(reseller, rule=rule, name="Cloud Office",
                     periods=[{"duration": 2, "duration_unit": "month", "monthly_fee": "30.00",
                               "setup_fee": "5.00"}],
                     resources=[{"name": "Licences", "included": "1", "minimum": "1",
                                 "limit": "10", "monthly_fee": "10.00", "setup_fee": "2.00"}])
    bare = make_plan(reseller, rule=rule, name="Bare Hosting",
                     periods=[{"duration": 1, "duration_unit": "month", "monthly_fee": "50.00"}])
    db.session.commit()
    return SimpleNamespace(reseller=reseller, admin=admin, client=client, rule=rule,
                           other_client=other_client, plan=plan, bare=bare,
                           period=plan.periods[0], licences=plan.resources[0],
                           panel=Panel(app, reseller, admin))


def choices(w, plan=None, **change) -> dict:
    plan = plan or w.plan
    data = {"client_id": str(w.client.id), "plan_id": str(plan.id),
            "period_id": str(plan.periods[0].id)}
    data.update(change)
    return data


def agreed(w, **change) -> dict:
    """The configuration step as Anna fills it in: three licences, the agreed prices."""
    lic = w.licences.id
    data = {**choices(w), "individual_prices": "y", "renewal_price_mode": "highest",
            "ip-for": f"{w.plan.id}:{w.period.id}", f"res-{lic}": "3",
            "ip-service-recurring": "25.00", "ip-service-setup": "4.00",
            f"ip-res-{lic}-recurring": "8.00", f"ip-res-{lic}-setup": "1.50"}
    data.update(change)
    return data


def lines_of(html: str) -> list[str]:
    body = re.search(r'id="wizard-lines">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [plain(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


# --- the whole flow -----------------------------------------------------------------------------

def test_the_wizard_places_an_order_at_individual_prices(db, world):
    w = world
    lic = w.licences.id
    # Step 1: the toggle is there and off (R-IP-1).
    start = w.panel.get(f"/orders/new?client_id={w.client.id}").get_data(as_text=True)
    assert re.search(r'<input id="individual_prices" name="individual_prices" type="checkbox" '
                     r'value="y">', start)

    # Step 1 → 2 with the toggle on: renewal parameters and the price tables (R-IP-2, R-IP-5).
    step2 = w.panel.post("/orders/new", data={**form_of(start, **choices(w)), "step": "start",
                                              "individual_prices": "y"})
    html = step2.get_data(as_text=True)
    assert step2.status_code == 200 and 'data-step="resources"' in html
    assert by_id(html, "summary-individual") == "Yes"
    mode = re.search(r'<select[^>]*name="renewal_price_mode".*?</select>', html, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", mode) == [
        "Use individual prices", "Use plan prices", "Use the highest prices"]
    assert '<option selected value="individual">' in mode
    service = plain(re.search(r'id="wizard-service-prices">(.*?)</table>', html, re.S).group(1))
    assert 'Subscription purchase "Cloud Office" Subscription fee (monthly) RUB30.00' in service
    assert "Setup fee RUB5.00" in service
    assert input_value(html, "ip-service-recurring") == "30.00"
    assert input_value(html, "ip-service-setup") == "5.00"
    assert by_id(html, f"plan-price-res-{lic}-recurring") == "RUB10.00"
    assert by_id(html, f"plan-price-res-{lic}-setup") == "RUB2.00"
    assert input_value(html, f"ip-res-{lic}-recurring") == "10.00"
    assert input_value(html, f"ip-res-{lic}-setup") == "2.00"
    # Only the subscription and setup fees can be individual (R-IP-4).
    assert not re.search(r'name="ip-[^"]*(renewal|transfer|overuse)', html)
    assert by_id(html, "months-service-recurring") == "2.000"
    assert by_id(html, "months-service-setup") == "-"
    assert by_id(html, "amount-service-recurring") == "RUB60.00"
    assert by_id(html, "amount-service-setup") == "RUB5.00"
    assert by_id(html, "wizard-amount-due") == "RUB65.00"
    assert 'id="individual-price-warning"' not in html

    # Typing the prices redraws the totals at once (R-IP-3), through the htmx refresh.
    data = form_of(html, **{f"res-{lic}": "3", "ip-service-recurring": "25.00",
                            "ip-service-setup": "4.00", f"ip-res-{lic}-recurring": "8.00",
                            f"ip-res-{lic}-setup": "1.50", "renewal_price_mode": "highest"})
    refresh = w.panel.post("/orders/new", data={**data, "_refresh": "1"},
                           headers={"HX-Request": "true"})
    part = refresh.get_data(as_text=True)
    assert refresh.status_code == 200 and part.lstrip().startswith('<div id="order-wizard"')
    assert by_id(part, "amount-service-recurring") == "RUB50.00"  # 25.00 × 2 months
    assert by_id(part, "amount-service-setup") == "RUB4.00"
    assert by_id(part, f"amount-res-{lic}-recurring") == "RUB32.00"  # 8.00 × 2 extra × 2 months
    assert by_id(part, f"amount-res-{lic}-setup") == "RUB3.00"  # 1.50 × 2 extra
    assert by_id(part, "wizard-amount-due") == "RUB89.00"
    assert input_value(part, "ip-service-recurring") == "25.00"
    assert '<option selected value="highest">' in part

    # Step 2 → 3: the lines at the individual prices, the mode in the summary.
    step3 = w.panel.post("/orders/new", data={**form_of(part), "action": "next"})
    html = step3.get_data(as_text=True)
    assert step3.status_code == 200 and 'data-step="confirm"' in html
    assert by_id(html, "summary-individual") == "Yes"
    assert by_id(html, "summary-renewal-mode") == "Use the highest prices"
    assert "Individual unit price" in html
    assert lines_of(html) == [
        'Покупка подписки "Cloud Office" (абонентская плата) 1 2.000 RUB25.00 RUB0.00 RUB50.00',
        'Покупка подписки "Cloud Office" (установка) 1 0.000 RUB4.00 RUB0.00 RUB4.00',
        'Увеличение ресурса "Licences" для подписки "Cloud Office" (абонентская плата) 2 2.000 '
        'RUB8.00 RUB0.00 RUB32.00',
        'Увеличение ресурса "Licences" для подписки "Cloud Office" (установка) 2 0.000 RUB1.50 '
        'RUB0.00 RUB3.00']
    assert by_id(html, "wizard-total") == "RUB89.00"
    assert count(db, Order) == 0

    # «Подтвердить»: the order, its lines and the subscription carry the individual prices.
    placed = w.panel.post("/orders/new", data={**form_of(html), "action": "confirm"})
    assert placed.status_code == 302
    order = db.session.scalar(select(Order))
    assert placed.headers["Location"].endswith(f"/orders/{order.id}")
    assert order.individual_prices is True and order.total == D("89.00")
    assert order.request["individual_prices"] == {
        "mode": "highest",
        "prices": {"service": {"recurring": "25.00", "setup": "4.00"},
                   f"resource:{lic}": {"recurring": "8.00", "setup": "1.50"}}}
    assert sorted((line.fee_kind, line.unit_price, line.amount) for line in order.lines) == [
        ("recurring", D("8.00"), D("32.00")), ("recurring", D("25.00"), D("50.00")),
        ("setup", D("1.50"), D("3.00")), ("setup", D("4.00"), D("4.00"))]
    subscription = order.subscription
    assert (subscription.individual_monthly_fee, subscription.monthly_fee,
            subscription.setup_fee) == (D("25.00"), D("25.00"), D("4.00"))
    resource = subscription.resources[0]
    assert (resource.additional, resource.individual_monthly_fee, resource.setup_fee) == (
        D("2"), D("8.00"), D("1.50"))
    assert order.payment.total == D("89.00")

    # The order page (03 ORD-13): individual prices, discount not applied, individual unit price.
    page = w.panel.get(f"/orders/{order.id}").get_data(as_text=True)
    assert by_id(page, "order-individual") == "Yes"
    assert by_id(page, "order-discount") == "Not applied"
    assert "Individual unit price" in page


def test_the_confirmation_lines_use_the_individual_prices(db, world):
    """The unit price column on the confirmation step, line by line."""
    w = world
    html = w.panel.post("/orders/new", data={**agreed(w), "step": "resources",
                                             "action": "next"}).get_data(as_text=True)
    rows = lines_of(html)
    assert len(rows) == 4
    assert rows[0].endswith("1 2.000 RUB25.00 RUB0.00 RUB50.00")
    assert rows[1].endswith("1 0.000 RUB4.00 RUB0.00 RUB4.00")
    assert rows[2].endswith("2 2.000 RUB8.00 RUB0.00 RUB32.00")
    assert rows[3].endswith("2 0.000 RUB1.50 RUB0.00 RUB3.00")
    # Every choice rides along hidden for «Подтвердить» and «Назад».
    for name, value in agreed(w).items():
        assert input_value(html, name) == value, name


def test_a_plan_without_resources_gets_the_configuration_step_with_the_toggle_on(db, world):
    w = world
    data = choices(w, w.bare)
    plain_prices = w.panel.post("/orders/new", data={**data, "step": "start"})
    assert 'data-step="confirm"' in plain_prices.get_data(as_text=True)  # R-ORD-10, toggle off
    assert "Unit price" in plain_prices.get_data(as_text=True)
    assert by_id(plain_prices.get_data(as_text=True), "summary-individual") == "No"

    html = w.panel.post("/orders/new", data={**data, "step": "start",
                                             "individual_prices": "y"}).get_data(as_text=True)
    assert 'data-step="resources"' in html
    assert 'id="wizard-service-prices"' in html and 'id="wizard-resources"' not in html
    assert by_id(html, "plan-price-service-recurring") == "RUB50.00"
    placed = w.panel.post("/orders/new", data={
        **form_of(html, **{"ip-service-recurring": "45.50"}), "step": "confirm",
        "action": "confirm"})
    assert placed.status_code == 302
    order = db.session.scalar(select(Order))
    assert order.individual_prices and order.total == D("45.50")
    assert order.request["individual_prices"]["mode"] == "individual"
    assert order.subscription.individual_monthly_fee == D("45.50")


def test_plan_prices_in_another_currency_are_shown_in_it_and_converted(db, world):
    """R-ORD-3: the configuration step shows the plan currency; the order is in the reseller's,
    the individual price converted like a plan price (04b FX-2)."""
    w = world
    set_exchange_rate(w.reseller, "RUB", "USD", units=1, rate="90", valid_from=clock.today())
    dollars = make_plan(w.reseller, rule=w.rule, name="Dollar Hosting", currency="USD",
                        periods=[{"duration": 1, "duration_unit": "month",
                                  "monthly_fee": "2.00"}])
    db.session.commit()
    data = {**choices(w, dollars), "individual_prices": "y"}
    html = w.panel.post("/orders/new", data={**data, "step": "start"}).get_data(as_text=True)
    assert by_id(html, "plan-price-service-recurring") == "$2.00"
    assert input_value(html, "ip-service-recurring") == "2.00"
    assert by_id(html, "wizard-amount-due") == "RUB180.00"
    part = w.panel.post("/orders/new", data={
        **form_of(html, **{"ip-service-recurring": "1.50"}), "_refresh": "1"},
        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert by_id(part, "amount-service-recurring") == "RUB135.00"
    assert by_id(part, "wizard-amount-due") == "RUB135.00"


# --- carrying and «Назад» ----------------------------------------------------------------------

def test_back_keeps_the_typed_prices_and_the_mode(db, world):
    w = world
    lic = w.licences.id
    confirm = w.panel.post("/orders/new", data={**agreed(w), "step": "resources",
                                                "action": "next"}).get_data(as_text=True)
    # Confirmation → configuration: the typed prices in their inputs, the totals recomputed.
    back = w.panel.post("/orders/new", data={**form_of(confirm), "action": "back"})
    html = back.get_data(as_text=True)
    assert back.status_code == 200 and 'data-step="resources"' in html
    assert input_value(html, "ip-service-recurring") == "25.00"
    assert input_value(html, f"ip-res-{lic}-setup") == "1.50"
    assert input_value(html, f"res-{lic}") == "3"
    assert '<option selected value="highest">' in html
    assert by_id(html, "wizard-amount-due") == "RUB89.00"
    # Configuration → step 1: the toggle still on, the prices carried hidden.
    first = w.panel.post("/orders/new", data={**form_of(html), "action": "back"})
    html = first.get_data(as_text=True)
    assert 'data-step="start"' in html
    assert re.search(r'<input checked id="individual_prices" name="individual_prices"', html)
    assert input_value(html, "ip-service-setup") == "4.00"
    assert input_value(html, "renewal_price_mode") == "highest"
    # …and forward again: nothing was lost.
    again = w.panel.post("/orders/new", data={**form_of(html), "action": "next"})
    html = again.get_data(as_text=True)
    assert 'data-step="resources"' in html
    assert input_value(html, "ip-service-recurring") == "25.00"
    assert input_value(html, f"ip-res-{lic}-recurring") == "8.00"
    assert by_id(html, "wizard-amount-due") == "RUB89.00"


def test_prices_typed_for_another_plan_are_not_carried_over(db, world):
    """Back on step 1 Anna picks another plan: the old plan's prices mean nothing there."""
    w = world
    data = {**agreed(w), "step": "start", "plan_id": str(w.bare.id),
            "period_id": str(w.bare.periods[0].id)}
    html = w.panel.post("/orders/new", data=data).get_data(as_text=True)
    assert 'data-step="resources"' in html
    assert input_value(html, "ip-service-recurring") == "50.00"  # the plan price again
    assert by_id(html, "wizard-amount-due") == "RUB50.00"


# --- refusals ------------------------------------------------------------------------------------

def test_bad_prices_are_refused_next_to_their_inputs_and_nothing_is_placed(db, world):
    w = world
    lic = w.licences.id
    bad = agreed(w, **{"ip-service-recurring": "abc", "ip-service-setup": "-1",
                       f"ip-res-{lic}-recurring": "1.005"})
    for step, action in (("resources", "next"), ("confirm", "confirm")):
        response = w.panel.post("/orders/new", data={**bad, "step": step, "action": action})
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and 'data-step="resources"' in html, step
        assert by_id(html, "price-error-service-recurring") == "Enter a price, e.g. 100.00."
        assert by_id(html, "price-error-service-setup") == "A price is a number, 0 or more."
        assert by_id(html, f"price-error-res-{lic}-recurring") == \
            "Enter a price with at most two decimals."
        assert f'id="price-error-res-{lic}-setup"' not in html  # 1.50 is fine
        # What was typed stays to be corrected.
        assert input_value(html, "ip-service-recurring") == "abc"
        assert input_value(html, f"ip-res-{lic}-recurring") == "1.005"
    # The live refresh says the same and shows no totals it cannot compute.
    part = w.panel.post("/orders/new", data={**bad, "step": "resources", "_refresh": "1"},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert by_id(part, "price-error-service-setup") == "A price is a number, 0 or more."
    assert 'id="wizard-amount-due"' not in part
    assert count(db, Order) == 0 and count(db, Subscription) == 0 and count(db, Payment) == 0


def test_an_unknown_renewal_mode_is_refused_on_its_select(db, world):
    w = world
    response = w.panel.post("/orders/new", data={**agreed(w, renewal_price_mode="cheapest"),
                                                 "step": "confirm", "action": "confirm"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-step="resources"' in html
    assert 'class="field has-error" id="field-renewal_price_mode"' in html
    assert "Choose how a renewal is priced: individual, plan or highest." in html
    assert count(db, Order) == 0


def test_a_trial_period_cannot_take_individual_prices(db, world):
    w = world
    trial = make_plan(w.reseller, rule=w.rule, name="Try Office",
                      periods=[{"duration": 1, "duration_unit": "month", "is_trial": True}])
    db.session.commit()
    response = w.panel.post("/orders/new", data={**choices(w, trial), "step": "start",
                                                 "individual_prices": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-step="start"' in html
    assert 'class="field has-error" id="field-individual_prices"' in html
    assert "A trial period has no prices to set individually." in html
    assert count(db, Order) == 0


# --- R-IP-10 ---------------------------------------------------------------------------------

def _individually_priced(w, client, *, status=None):
    individual = clean_individual_prices(w.plan, {"service": {"recurring": "20.00"}},
                                         RenewalPriceMode.INDIVIDUAL)
    order = place_sales_order(client, w.plan, w.period, quantities={}, actor=None,
                              on=clock.today(), individual=individual)
    # As if its order had completed (R-IP-7).
    order.status = OrderStatus.COMPLETED
    order.subscription.individual_prices = True
    order.subscription.status = status or SubscriptionStatus.ACTIVE
    return order.subscription


def test_the_warning_about_the_clients_individually_priced_subscriptions(db, world):
    w = world
    existing = _individually_priced(w, w.client)
    _individually_priced(w, w.other_client)
    db.session.commit()
    html = w.panel.post("/orders/new", data={**choices(w), "step": "start",
                                             "individual_prices": "y"}).get_data(as_text=True)
    assert "make sure the client's price conditions are consistent" in plain(
        re.search(r'id="individual-price-warning">(.*?)</div>', html, re.S).group(1))
    # Hooves has one too: the warning is on its configuration step even with the toggle off.
    other = w.panel.post("/orders/new", data={**choices(w, client_id=str(w.other_client.id)),
                                              "step": "start"}).get_data(as_text=True)
    assert 'id="individual-price-warning"' in other
    # A deleted subscription does not count.
    existing.status = SubscriptionStatus.DELETED
    db.session.commit()
    html = w.panel.post("/orders/new", data={**choices(w), "step": "start",
                                             "individual_prices": "y"}).get_data(as_text=True)
    assert 'data-step="resources"' in html and 'id="individual-price-warning"' not in html


def test_no_warning_for_plan_prices_or_another_plan(db, world):
    w = world
    subscription = _individually_priced(w, w.client)
    subscription.individual_prices = False  # ordered in mode "plan"
    db.session.commit()
    html = w.panel.post("/orders/new", data={**choices(w), "step": "start",
                                             "individual_prices": "y"}).get_data(as_text=True)
    assert 'id="individual-price-warning"' not in html
    # Individually priced on this plan, but Anna orders another one.
    subscription.individual_prices = True
    db.session.commit()
    html = w.panel.post("/orders/new", data={**choices(w, w.bare), "step": "start",
                                             "individual_prices": "y"}).get_data(as_text=True)
    assert 'data-step="resources"' in html and 'id="individual-price-warning"' not in html


# --- «Изменить» ------------------------------------------------------------------------------

def test_change_reopens_the_wizard_with_the_individual_prices(db, world):
    w = world
    lic = w.licences.id
    placed = w.panel.post("/orders/new", data={**agreed(w), "step": "confirm",
                                               "action": "confirm"})
    assert placed.status_code == 302
    order = db.session.scalar(select(Order))
    response = w.panel.post(f"/orders/{order.id}/change")
    assert response.status_code == 302
    target = response.headers["Location"]
    for part in ("individual_prices=y", "renewal_price_mode=highest",
                 "ip-service-recurring=25.00", f"ip-res-{lic}-setup=1.50", f"res-{lic}=3"):
        assert part in target, part
    db.session.refresh(order)
    assert order.status == OrderStatus.CANCELLED

    # Step 1 comes with the toggle on; «Далее» shows the prices as they were.
    start = w.panel.get(target).get_data(as_text=True)
    assert re.search(r'<input checked id="individual_prices" name="individual_prices"', start)
    html = w.panel.post("/orders/new", data={**form_of(start), "action": "next"}).get_data(
        as_text=True)
    assert 'data-step="resources"' in html
    assert input_value(html, "ip-service-recurring") == "25.00"
    assert input_value(html, "ip-service-setup") == "4.00"
    assert input_value(html, f"ip-res-{lic}-recurring") == "8.00"
    assert input_value(html, f"ip-res-{lic}-setup") == "1.50"
    assert '<option selected value="highest">' in html
    assert by_id(html, "wizard-amount-due") == "RUB89.00"
    # And the changed order is placed with them again.
    confirm = w.panel.post("/orders/new", data={**form_of(html), "action": "next"})
    again = w.panel.post("/orders/new", data={**form_of(confirm.get_data(as_text=True)),
                                              "action": "confirm"})
    assert again.status_code == 302
    second = db.session.scalar(select(Order).where(Order.id != order.id))
    assert second.individual_prices and second.total == D("89.00")
    assert second.request["individual_prices"] == order.request["individual_prices"]


def test_change_of_an_order_at_plan_prices_leaves_the_toggle_off(db, world):
    w = world
    order = place_sales_order(w.client, w.plan, w.period, quantities={}, actor=None,
                              on=clock.today())
    db.session.commit()
    target = w.panel.post(f"/orders/{order.id}/change").headers["Location"]
    assert "individual_prices" not in target and "ip-" not in target
    html = w.panel.get(target).get_data(as_text=True)
    assert re.search(r'<input id="individual_prices" name="individual_prices" type="checkbox"',
                     html)
