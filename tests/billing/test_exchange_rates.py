"""Exchange-rate services: dated lookup, root rates and overrides, revert, conversion (04b §4.14,
FX-2; DECISIONS D10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.billing.models import ExchangeRate
from portal.billing.services import (BillingError, EffectiveRate, RateSource, apply_rate,
                                     convert_amount, effective_rate, inherit_exchange_rate,
                                     list_effective_rates, set_exchange_rate)
from portal.core.audit import events_for
from portal.core.money import CURRENCIES
from tests.factories import make_reseller, make_root, make_staff

NOV_1, NOV_15, NOV_22, DEC_1 = date(2026, 11, 1), date(2026, 11, 15), date(2026, 11, 22), date(
    2026, 12, 1)


@pytest.fixture
def levels(db):
    root = make_root()
    child = make_reseller(root, name="Child")
    grandchild = make_reseller(child, name="Grandchild")
    sibling = make_reseller(root, name="Sibling")
    return root, child, grandchild, sibling


def rate_of(reseller, on, base="RUB", quote="USD"):
    found = effective_rate(reseller, base, quote, on)
    return found.units, found.rate, found.source


# -- defaults and the same currency ----------------------------------------------------------------

def test_unset_rates_are_one_to_one(levels):
    # 04b CUR-5 / EX-28: all rates default to 1.
    root, child, *_ = levels
    for reseller in (root, child):
        found = effective_rate(reseller, "RUB", "USD", NOV_22)
        assert found == EffectiveRate(1, Decimal("1.0000"), None, RateSource.DEFAULT, "RUB", "USD")


def test_a_currency_against_itself_is_always_one(levels):
    root, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_1)
    found = effective_rate(root, "USD", "USD", NOV_22)
    assert (found.units, found.rate, found.source) == (1, Decimal("1.0000"), "same")
    assert convert_amount(Decimal("12.34"), from_currency="USD", to_currency="USD", reseller=root,
                          on=NOV_22) == Decimal("12.34")


# -- dated rows (D10) ------------------------------------------------------------------------------

def test_a_rate_applies_from_its_date_until_the_next(levels):
    root, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90.5", valid_from=NOV_1)
    set_exchange_rate(root, "RUB", "USD", units=1, rate="92.25", valid_from=NOV_15)
    set_exchange_rate(root, "RUB", "USD", units=1, rate="95", valid_from=DEC_1)
    assert rate_of(root, date(2026, 10, 31)) == (1, Decimal("1.0000"), "default")
    assert rate_of(root, NOV_1) == (1, Decimal("90.5000"), "own")
    assert rate_of(root, date(2026, 11, 14)) == (1, Decimal("90.5000"), "own")
    assert rate_of(root, NOV_15) == (1, Decimal("92.2500"), "own")
    assert rate_of(root, date(2026, 11, 30)) == (1, Decimal("92.2500"), "own")
    assert rate_of(root, DEC_1) == (1, Decimal("95.0000"), "own")
    assert effective_rate(root, "RUB", "USD", NOV_22).valid_from == NOV_15


def test_setting_a_pair_twice_on_one_day_replaces_the_row(levels):
    root, *_ = levels
    admin = make_staff(root)
    first = set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_22)
    second = set_exchange_rate(root, "RUB", "USD", units=100, rate="9100.5", valid_from=NOV_22,
                               actor=admin)
    assert first.id == second.id
    rows = root_rows(root)
    assert [(r.units, r.rate, r.created_by_id) for r in rows] == [
        (100, Decimal("9100.5000"), admin.id)]
    assert rate_of(root, NOV_22) == (100, Decimal("9100.5000"), "own")
    events = events_for(second)
    assert events[0].action == "billing.exchange_rate.set"
    assert events[0].changes["units"] == [1, 100]
    assert events[0].actor_id == admin.id


def root_rows(reseller):
    return list(reseller_rows(reseller))


def reseller_rows(reseller):
    from portal.extensions import db

    return db.session.scalars(select(ExchangeRate).where(
        ExchangeRate.reseller_id == reseller.id).order_by(ExchangeRate.valid_from))


def test_inverse_rates_are_independent(levels):
    # 04b CUR-6: USD on the RUB page says nothing about RUB on the USD page.
    root, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_1)
    assert rate_of(root, NOV_22) == (1, Decimal("90.0000"), "own")
    assert rate_of(root, NOV_22, base="USD", quote="RUB") == (1, Decimal("1.0000"), "default")


# -- root rates, overrides and revert (CUR-7, CUR-10, CUR-11, A-21) --------------------------------

def test_root_rates_apply_at_every_level(levels):
    root, child, grandchild, _sibling = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="2", valid_from=NOV_1)
    for reseller in (child, grandchild):
        assert rate_of(reseller, NOV_22) == (1, Decimal("2.0000"), "root")


def test_an_override_applies_to_its_reseller_only(levels):
    # 04b EX-28: a lower reseller's own USD rate 2.0000; the root keeps 1.
    root, child, grandchild, sibling = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="1", valid_from=NOV_1)
    set_exchange_rate(child, "RUB", "USD", units=1, rate="2", valid_from=NOV_15)
    assert rate_of(child, NOV_22) == (1, Decimal("2.0000"), "own")
    assert rate_of(child, date(2026, 11, 14)) == (1, Decimal("1.0000"), "root")
    assert rate_of(root, NOV_22) == (1, Decimal("1.0000"), "own")
    assert rate_of(sibling, NOV_22) == (1, Decimal("1.0000"), "root")
    # the grandchild inherits the ROOT's rate, not its parent's override.
    assert rate_of(grandchild, NOV_22) == (1, Decimal("1.0000"), "root")


def test_an_override_without_a_root_rate_still_wins(levels):
    _root, child, *_ = levels
    set_exchange_rate(child, "RUB", "EUR", units=10, rate="1000", valid_from=NOV_1)
    assert rate_of(child, NOV_22, quote="EUR") == (10, Decimal("1000.0000"), "own")


def test_revert_returns_to_the_roots_rate_from_its_date(levels):
    root, child, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_1)
    set_exchange_rate(child, "RUB", "USD", units=1, rate="100", valid_from=NOV_1)
    marker = inherit_exchange_rate(child, "RUB", "USD", valid_from=NOV_15)
    assert marker.inherit and marker.units is None and marker.rate is None
    assert rate_of(child, date(2026, 11, 14)) == (1, Decimal("100.0000"), "own")
    assert rate_of(child, NOV_15) == (1, Decimal("90.0000"), "root")
    # Later root changes reach the child again...
    set_exchange_rate(root, "RUB", "USD", units=1, rate="93", valid_from=NOV_22)
    assert rate_of(child, NOV_22) == (1, Decimal("93.0000"), "root")
    # ...until it sets its own rate once more.
    set_exchange_rate(child, "RUB", "USD", units=1, rate="101", valid_from=DEC_1)
    assert rate_of(child, DEC_1) == (1, Decimal("101.0000"), "own")
    assert events_for(marker)[0].action == "billing.exchange_rate.inherited"


def test_revert_without_a_root_rate_falls_back_to_one(levels):
    _root, child, *_ = levels
    set_exchange_rate(child, "RUB", "USD", units=1, rate="100", valid_from=NOV_1)
    inherit_exchange_rate(child, "RUB", "USD", valid_from=NOV_22)
    assert rate_of(child, NOV_22) == (1, Decimal("1.0000"), "default")


def test_revert_on_the_day_of_the_override_replaces_it(levels):
    root, child, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_1)
    set_exchange_rate(child, "RUB", "USD", units=1, rate="100", valid_from=NOV_22)
    inherit_exchange_rate(child, "RUB", "USD", valid_from=NOV_22)
    assert [(r.valid_from, r.inherit) for r in reseller_rows(child)] == [(NOV_22, True)]
    assert rate_of(child, NOV_22) == (1, Decimal("90.0000"), "root")


def test_the_root_has_nothing_to_revert_to(levels):
    root, *_ = levels
    with pytest.raises(BillingError) as refused:
        inherit_exchange_rate(root, "RUB", "USD", valid_from=NOV_22)
    assert refused.value.field == "inherit"


def test_the_rates_page_lists_every_other_currency(levels):
    # 04b CUR-14: the page of X lists all currencies but X.
    root, child, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_1)
    set_exchange_rate(child, "RUB", "EUR", units=1, rate="99", valid_from=NOV_1)
    rates = list_effective_rates(child, "RUB", NOV_22)
    assert [r.quote_currency for r in rates] == [c for c in CURRENCIES if c != "RUB"]
    by_code = {r.quote_currency: r for r in rates}
    assert (by_code["USD"].rate, by_code["USD"].source) == (Decimal("90.0000"), "root")
    assert (by_code["EUR"].rate, by_code["EUR"].source) == (Decimal("99.0000"), "own")
    assert by_code["GBP"].source == "default"
    assert all(r.base_currency == "RUB" for r in rates)


# -- conversion (FX-2) and display (CUR-13) --------------------------------------------------------

def test_ex29_a_usd_plan_charged_in_rub(levels):
    # 04b EX-29: 7 units × $8.00 at 2.0000 → 112.00 RUB; 100 USD for 200.0000 is the same.
    root, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="2.0000", valid_from=NOV_1)
    assert convert_amount(Decimal("56.00"), from_currency="USD", to_currency="RUB", reseller=root,
                          on=NOV_22) == Decimal("112.00")
    set_exchange_rate(root, "RUB", "USD", units=100, rate="200.0000", valid_from=NOV_22)
    assert convert_amount(Decimal("56.00"), from_currency="USD", to_currency="RUB", reseller=root,
                          on=NOV_22) == Decimal("112.00")


@pytest.mark.parametrize(("amount", "units", "rate", "expected"), [
    ("10.00", 1, "92.3456", "923.46"),     # 923.456 → half-up
    ("1.00", 1, "0.1235", "0.12"),         # 0.1235 → 0.12 (below the half)
    ("0.50", 1, "0.0250", "0.01"),         # 0.0125 → 0.01
    ("0.10", 1, "0.0250", "0.00"),         # 0.0025 → 0.00
    ("1.00", 100, "0.5000", "0.01"),       # exactly 0.005 → 0.01, never banker's 0.00
    ("3.00", 100, "2500.0000", "75.00"),   # BYN per 100
    ("1.00", 3, "1.0000", "0.33"),         # 0.333… per unit
    ("2.00", 3, "1.0000", "0.67"),
    ("249.95", 10, "1234.5678", "30858.02"),  # 249.95 × 123.45678 = 30858.022161
    (7, 1, "2", "14.00"),                  # an int amount
])
def test_conversion_divides_by_units_and_rounds_half_up(levels, amount, units, rate, expected):
    root, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=units, rate=rate, valid_from=NOV_1)
    converted = convert_amount(amount if isinstance(amount, int) else Decimal(amount),
                               from_currency="USD", to_currency="RUB", reseller=root, on=NOV_22)
    assert converted == Decimal(expected)
    assert str(converted) == expected


def test_conversion_uses_the_rate_of_the_day_asked(levels):
    root, child, *_ = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_1)
    set_exchange_rate(root, "RUB", "USD", units=1, rate="100", valid_from=DEC_1)
    convert = lambda on: convert_amount(Decimal("10"), from_currency="USD",  # noqa: E731
                                        to_currency="RUB", reseller=child, on=on)
    assert convert(NOV_22) == Decimal("900.00")
    assert convert(DEC_1) == Decimal("1000.00")


def test_money_is_never_a_float(levels):
    root, *_ = levels
    with pytest.raises(TypeError):
        convert_amount(1.5, from_currency="USD", to_currency="RUB", reseller=root, on=NOV_22)


def test_apply_rate_is_the_same_formula():
    rate = EffectiveRate(100, Decimal("2500.0000"), NOV_1, RateSource.ROOT, "RUB", "BYN")
    assert apply_rate(Decimal("3"), rate, "RUB") == Decimal("75.00")


@pytest.mark.parametrize(("units", "rate", "shown"), [
    (1, "2.0000", "2.00"), (100, "2500.0000", "25.0000"), (1, "92.3456", "92.35"),
    (3, "1.0000", "0.3333"), (1, "0.0050", "0.01")])
def test_ex30_displayed_rate(units, rate, shown):
    # 04b CUR-13: rate / units, 2 decimals for one unit, 4 for more.
    assert str(EffectiveRate(units, Decimal(rate), None, RateSource.OWN).display_rate) == shown


# -- validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "field"), [
    ({"base_currency": "XYZ"}, "base_currency"),
    ({"quote_currency": "usd"}, "quote_currency"),
    ({"quote_currency": "RUB"}, "quote_currency"),
    ({"rate": "0"}, "rate"),
    ({"rate": "-1"}, "rate"),
    ({"rate": "1.23456"}, "rate"),
    ({"rate": "abc"}, "rate"),
    ({"rate": ""}, "rate"),
    ({"rate": "NaN"}, "rate"),
    ({"rate": "Infinity"}, "rate"),
    ({"rate": 1.5}, "rate"),
    ({"rate": "100000000"}, "rate"),
    ({"units": 0}, "units"),
    ({"units": -1}, "units"),
    ({"units": "1.5"}, "units"),
    ({"units": Decimal("2.5")}, "units"),
    ({"units": 1.0}, "units"),
    ({"units": True}, "units"),
    ({"units": "ten"}, "units"),
    ({"units": 10_000_000}, "units"),
    ({"valid_from": "2026-11-22"}, "valid_from"),
    ({"valid_from": None}, "valid_from"),
])
def test_bad_input_is_refused_with_its_field(levels, kwargs, field):
    root, *_ = levels
    args = {"base_currency": "RUB", "quote_currency": "USD", "units": 1, "rate": "90",
            "valid_from": NOV_22, **kwargs}
    with pytest.raises(BillingError) as refused:
        set_exchange_rate(root, args.pop("base_currency"), args.pop("quote_currency"), **args)
    assert refused.value.field == field
    assert str(refused.value)
    assert root_rows(root) == []


def test_accepted_forms_of_units_and_rate(levels):
    root, *_ = levels
    row = set_exchange_rate(root, "RUB", "USD", units="100", rate=" 9250.5000 ",
                            valid_from=date(2020, 1, 1))  # past dates are allowed
    assert (row.units, row.rate) == (100, Decimal("9250.5000"))
    row = set_exchange_rate(root, "RUB", "EUR", units=Decimal("1"), rate=95,
                            valid_from=NOV_22)
    assert (row.units, row.rate) == (1, Decimal("95.0000"))
    row = set_exchange_rate(root, "RUB", "GBP", units=1, rate="1.50000",  # trailing zero
                            valid_from=NOV_22)
    assert row.rate == Decimal("1.5000")


def test_effective_rate_refuses_unknown_currencies_and_non_dates(levels):
    root, *_ = levels
    with pytest.raises(BillingError):
        effective_rate(root, "RUB", "XXX", NOV_22)
    with pytest.raises(BillingError):
        effective_rate(root, "RUB", "USD", "2026-11-22")


def test_a_resellers_own_rates_go_with_it_when_it_is_deleted(levels):
    # 07 BR-59: an own rate is the reseller's setting, not a link that blocks the delete.
    from portal.tenancy.services.resellers import delete_reseller

    root, _child, _grandchild, sibling = levels
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90", valid_from=NOV_1)
    set_exchange_rate(sibling, "RUB", "USD", units=1, rate="95", valid_from=NOV_1)
    inherit_exchange_rate(sibling, "RUB", "USD", valid_from=NOV_22)
    sibling_id = sibling.id
    delete_reseller(sibling)
    from portal.extensions import db

    assert db.session.scalars(select(ExchangeRate).where(
        ExchangeRate.reseller_id == sibling_id)).all() == []
    assert [r.rate for r in reseller_rows(root)] == [Decimal("90.0000")]
