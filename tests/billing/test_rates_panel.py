"""Panel pages of currencies and exchange rates: the root sets, a lower reseller inherits,
overrides and reverts (04b §5.1.11–5.1.13, EX-28, CUR-7..CUR-13)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from portal.accounts.models import Role
from portal.billing.services import effective_rate, set_exchange_rate
from tests.factories import Panel, make_reseller, make_root, make_staff

TODAY = date(2026, 11, 22)  # the frozen clock's day


@pytest.fixture
def tree(app, db):
    root = make_root()
    child = make_reseller(root, name="Child", slug="child")
    sibling = make_reseller(root, name="Sibling", slug="sibling")
    members = {"root": make_staff(root), "child": make_staff(child),
               "sibling": make_staff(sibling),
               "sales": make_staff(child, role=Role.SALES_MANAGER)}
    return {"root": root, "child": child, "sibling": sibling, **{
        f"{k}_member": v for k, v in members.items()}}


def panel(app, tree, who):
    reseller = tree["root" if who == "root" else "sibling" if who == "sibling" else "child"]
    return Panel(app, reseller, tree[f"{who}_member"])


def row_html(html: str, quote: str) -> str:
    match = re.search(rf'<tr id="rate-{quote}".*?</tr>', html, re.S)
    assert match, f"no row for {quote}"
    return match.group(0)


def set_rate(p, quote, *, units="1", rate="2", valid_from=TODAY.isoformat(), base="RUB"):
    return p.post(f"/currencies/{base}/rates", data={
        "quote_currency": quote, f"set-{quote}-units": units, f"set-{quote}-rate": rate,
        f"set-{quote}-valid_from": valid_from})


def revert(p, quote, *, valid_from=TODAY.isoformat(), base="RUB"):
    return p.post(f"/currencies/{base}/rates/revert", data={
        "quote_currency": quote, f"revert-{quote}-valid_from": valid_from})


def test_currencies_page_lists_the_codes_with_their_decimals(app, tree):
    page = panel(app, tree, "root").get("/currencies")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for code in ("RUB", "USD", "EUR", "BYN"):
        assert f'id="currency-{code}"' in html
        assert f'href="/currencies/{code}/rates"' in html
    assert 'data-menu="currencies"' in html


def test_root_sees_defaults_then_sets_a_rate(app, tree):
    # EX-28: at first every rate on "Курсы RUB" is 1 / 1.0000.
    p = panel(app, tree, "root")
    html = p.get("/currencies/RUB/rates").get_data(as_text=True)
    assert 'id="rate-RUB"' not in html
    usd = row_html(html, "USD")
    assert 'data-source="default"' in usd and "1.0000 RUB" in usd
    assert 'name="set-USD-rate"' in usd and "data-action" not in usd

    response = set_rate(p, "USD", units="1", rate="92,5")  # a decimal comma is fine
    assert response.status_code == 302
    html = p.get("/currencies/RUB/rates").get_data(as_text=True)
    usd = row_html(html, "USD")
    assert 'data-source="own"' in usd
    assert "92.5000 RUB" in usd and '<td class="display-rate">92.50 RUB' in usd
    assert "22.11.2026" in usd
    assert 'id="rate-history"' in html and "92.5000 RUB" in html.split('id="rate-history"')[1]
    found = effective_rate(tree["root"], "RUB", "USD", TODAY)
    assert (found.units, found.rate) == (1, Decimal("92.5000"))


def test_display_rate_has_four_decimals_for_a_larger_nominal(app, tree):
    # CUR-13 / EX-30: BYN 100 for 2500.0000 shows 25.0000.
    p = panel(app, tree, "root")
    assert set_rate(p, "BYN", units="100", rate="2500").status_code == 302
    usd = row_html(p.get("/currencies/RUB/rates").get_data(as_text=True), "BYN")
    assert '<td class="display-rate">25.0000 RUB' in usd


def test_child_sees_the_root_rate_inherited_and_read_only(app, tree):
    set_exchange_rate(tree["root"], "RUB", "USD", units=1, rate="90", valid_from=TODAY)
    html = panel(app, tree, "child").get("/currencies/RUB/rates").get_data(as_text=True)
    usd = row_html(html, "USD")
    assert 'data-source="root"' in usd and "90.0000 RUB" in usd
    assert 'data-action="set-own"' in usd and 'id="revert-rate-USD"' not in usd
    # the form is folded away until "Set own rate" is opened
    assert "<details>" in usd
    # the provider's row is in the history, marked as such
    history = html.split('id="rate-history"')[1]
    assert 'data-level="root"' in history


def test_child_overrides_and_reverts(app, tree):
    # EX-28: own USD rate 2.0000 [Отменить]; Отменить → root's value, [Задать свой].
    root, child = tree["root"], tree["child"]
    set_exchange_rate(root, "RUB", "USD", units=1, rate="1", valid_from=date(2026, 11, 1))
    p = panel(app, tree, "child")
    assert set_rate(p, "USD", units="1", rate="2.0000").status_code == 302
    usd = row_html(p.get("/currencies/RUB/rates").get_data(as_text=True), "USD")
    assert 'data-source="own"' in usd and "2.0000 RUB" in usd
    assert 'data-action="change-own"' in usd and 'id="revert-rate-USD"' in usd
    assert effective_rate(child, "RUB", "USD", TODAY).rate == Decimal("2.0000")
    assert effective_rate(root, "RUB", "USD", TODAY).rate == Decimal("1.0000")

    assert revert(p, "USD").status_code == 302
    usd = row_html(p.get("/currencies/RUB/rates").get_data(as_text=True), "USD")
    assert 'data-source="root"' in usd and "1.0000 RUB" in usd
    assert 'data-action="set-own"' in usd and 'id="revert-rate-USD"' not in usd
    assert effective_rate(child, "RUB", "USD", TODAY).source == "root"


def test_child_can_schedule_an_override(app, tree):
    p = panel(app, tree, "child")
    assert set_rate(p, "EUR", rate="100", valid_from="2026-12-01").status_code == 302
    html = p.get("/currencies/RUB/rates").get_data(as_text=True)
    eur = row_html(html, "EUR")
    assert 'data-source="default"' in eur  # not yet in force...
    assert 'id="revert-rate-EUR"' in eur  # ...but it can still be cancelled
    assert "01.12.2026" in html.split('id="rate-history"')[1]
    assert effective_rate(tree["child"], "RUB", "EUR", date(2026, 12, 1)).rate == Decimal("100")


def test_a_sibling_does_not_see_another_resellers_override(app, tree):
    set_exchange_rate(tree["root"], "RUB", "USD", units=1, rate="90", valid_from=TODAY)
    assert set_rate(panel(app, tree, "child"), "USD", rate="777").status_code == 302
    html = panel(app, tree, "sibling").get("/currencies/RUB/rates").get_data(as_text=True)
    assert "777" not in html
    usd = row_html(html, "USD")
    assert 'data-source="root"' in usd and "90.0000 RUB" in usd
    # and the root's own page is untouched by the child's override
    root_html = panel(app, tree, "root").get("/currencies/RUB/rates").get_data(as_text=True)
    assert "777" not in root_html


@pytest.mark.parametrize(("units", "rate", "valid_from", "field"), [
    ("1", "0", TODAY.isoformat(), "rate"),
    ("1", "-5", TODAY.isoformat(), "rate"),
    ("1", "1.23456", TODAY.isoformat(), "rate"),
    ("1", "abc", TODAY.isoformat(), "rate"),
    ("1", "", TODAY.isoformat(), "rate"),
    ("1", "999999999", TODAY.isoformat(), "rate"),
    ("0", "2", TODAY.isoformat(), "units"),
    ("1.5", "2", TODAY.isoformat(), "units"),
    ("", "2", TODAY.isoformat(), "units"),
    ("99999999999999999999", "2", TODAY.isoformat(), "units"),
    ("1", "2", "22.11.2026x", "valid_from"),
    ("1", "2", "", "valid_from"),
])
def test_bad_input_answers_422_next_to_the_field(app, tree, units, rate, valid_from, field):
    p = panel(app, tree, "child")
    response = set_rate(p, "USD", units=units, rate=rate, valid_from=valid_from)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    usd = row_html(html, "USD")
    assert f'id="field-set-USD-{field}"' in usd
    assert re.search(rf'id="field-set-USD-{field}".*?class="error"', usd, re.S)
    assert "<details open>" in usd  # the row's form stays open with its errors
    assert effective_rate(tree["child"], "RUB", "USD", TODAY).source == "default"


@pytest.mark.parametrize("quote", ["RUB", "XYZ", ""])
def test_an_unknown_or_same_currency_answers_422(app, tree, quote):
    p = panel(app, tree, "root")
    response = p.post("/currencies/RUB/rates", data={
        "quote_currency": quote, f"set-{quote}-units": "1", f"set-{quote}-rate": "2",
        f"set-{quote}-valid_from": TODAY.isoformat()})
    assert response.status_code == 422
    assert "flash-error" in response.get_data(as_text=True)


def test_unknown_page_currency_is_404(app, tree):
    p = panel(app, tree, "root")
    assert p.get("/currencies/XYZ/rates").status_code == 404
    assert p.get("/currencies/rub/rates").status_code == 404
    assert set_rate(p, "USD", base="XYZ").status_code == 404


def test_root_cannot_revert_to_anything(app, tree):
    response = revert(panel(app, tree, "root"), "USD")
    assert response.status_code == 422
    assert "flash-error" in response.get_data(as_text=True)


def test_sales_manager_gets_403(app, tree):
    p = panel(app, tree, "sales")
    assert 'data-menu="currencies"' not in p.get("/").get_data(as_text=True)
    assert p.get("/currencies").status_code == 403
    assert p.get("/currencies/RUB/rates").status_code == 403
    assert set_rate(p, "USD").status_code == 403
    assert revert(p, "USD").status_code == 403
    assert effective_rate(tree["child"], "RUB", "USD", TODAY).source == "default"


def test_history_can_be_narrowed_to_one_currency(app, tree):
    root = tree["root"]
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=date(2026, 11, 1))
    set_exchange_rate(root, "RUB", "USD", units=1, rate="91", valid_from=date(2026, 11, 10))
    set_exchange_rate(root, "RUB", "EUR", units=1, rate="99", valid_from=date(2026, 11, 1))
    p = panel(app, tree, "root")
    history = p.get("/currencies/RUB/rates?quote=USD").get_data(as_text=True).split(
        'id="rate-history"')[1]
    assert "90.0000" in history and "91.0000" in history and "99.0000" not in history
    # newest date first
    assert history.index("91.0000") < history.index("90.0000")


def test_a_scheduled_override_can_be_cancelled(app, tree):
    p = panel(app, tree, "child")
    assert set_rate(p, "EUR", rate="100", valid_from="2026-12-01").status_code == 302
    assert revert(p, "EUR", valid_from="2026-12-01").status_code == 302
    assert effective_rate(tree["child"], "RUB", "EUR", date(2026, 12, 1)).source == "default"
    eur = row_html(p.get("/currencies/RUB/rates").get_data(as_text=True), "EUR")
    assert 'id="revert-rate-EUR"' not in eur


def test_a_bad_revert_date_answers_422_next_to_the_field(app, tree):
    response = revert(panel(app, tree, "child"), "USD", valid_from="soon")
    assert response.status_code == 422
    usd = row_html(response.get_data(as_text=True), "USD")
    assert re.search(r'id="field-revert-USD-valid_from".*?class="error"', usd, re.S)
