"""The price-list figures: sale price, cost, margin, markup state (05 §4.2 R-PL, §7 WE-1, WE-4,
WE-5, WE-8; DECISIONS D2, D9, D10)."""

from datetime import date
from decimal import Decimal

from sqlalchemy import event, select

from portal.billing.services import set_exchange_rate
from portal.catalog.models import Plan
from portal.catalog.price_list import price_list_query, price_rows
from portal.catalog.services import clear_markup, deactivate_plan, set_markup
from portal.catalog.services.markup import MarkupState
from portal.core.clock import clock
from portal.extensions import db as database
from tests.factories import delegate, make_plan, make_reseller, make_root, make_rule, sync


def year(**fees):
    return {"duration": 1, "duration_unit": "year", **fees}


def month(**fees):
    return {"duration": 1, "duration_unit": "month", **fees}


def rows_of(reseller):
    plans = database.session.scalars(price_list_query(reseller)).all()
    return {row.plan.name: row for row in price_rows(reseller, plans, on=clock.today())}


def figures(row):
    return [(p.sale, p.cost, p.margin) for p in row.periods]


def test_we1_margins_and_the_corrected_dr_web_case(db):
    root = make_root()
    child = make_reseller(root, currency="USD")
    eset = make_plan(root, name="ESET", currency="USD", sku="AZR-0145P",
                     periods=[year(monthly_fee="5.00")])
    gsuite = make_plan(root, name="G Suite", currency="USD", periods=[year(setup_fee="500.00")])
    drweb = make_plan(root, name="Dr Web", currency="USD", periods=[year(setup_fee="3.00")])
    at_cost = make_plan(root, name="At cost", currency="USD", periods=[year(setup_fee="3.00")])
    copies = [delegate(plan, child) for plan in (eset, gsuite, drweb, at_cost)]
    set_markup(copies[:3], "1.20")
    # ESET and G Suite: prices once computed at k = 1.20, then auto markup switched off.
    clear_markup(copies[:2])

    rows = rows_of(child)
    assert figures(rows["ESET"]) == [(Decimal("72.00"), Decimal("60.00"), Decimal("16.67"))]
    assert figures(rows["G Suite"]) == [(Decimal("600.00"), Decimal("500.00"), Decimal("16.67"))]
    # WE-1's screenshot shows 3.00 for k 1.20; under R-MK-2 the sale price is 3.00 × 1.20.
    assert figures(rows["Dr Web"]) == [(Decimal("3.60"), Decimal("3.00"), Decimal("16.67"))]
    assert figures(rows["At cost"]) == [(Decimal("3.00"), Decimal("3.00"), Decimal("0.00"))]
    assert rows["ESET"].markup == rows["G Suite"].markup == MarkupState.MANUAL
    assert rows["Dr Web"].markup == MarkupState.AUTO
    assert rows["Dr Web"].coefficient == Decimal("1.20")
    assert rows["Dr Web"].cost_changed_at is None


def test_we4_sale_price_of_an_own_plan_without_cost(db):
    root = make_root()
    make_plan(root, name="CloudHost", currency="BYN", periods=[month(
        setup_fee="10.00", monthly_fee="100.00", transfer_fee="10.00", renewal_fee="10.00")])
    row = rows_of(root)["CloudHost"]
    # R-PL-2 with the setup fee (§8.1): 10.00 + 100.00 × 1; no cost at the root (§8.36).
    assert figures(row) == [(Decimal("110.00"), None, None)]
    assert row.markup == MarkupState.UNAVAILABLE
    assert row.periods[0].cost_converted is None


def test_we5_markup_chains_for_periods_and_resources(db):
    root = make_root()
    first = make_reseller(root, name="L1", currency="USD")
    second = make_reseller(first, name="L2", currency="USD")
    resource = {"name": "Licences", "minimum": "1", "limit": "10", "monthly_fee": "1.00"}
    plan = make_plan(root, name="Chain", currency="USD", periods=[month(monthly_fee="1.00")],
                     resources=[resource])
    level1 = delegate(plan, first)
    set_markup([level1], "2")
    level2 = delegate(level1, second)
    set_markup([level2], "3")
    assert (level1.periods[0].monthly_fee, level1.resources[0].monthly_fee) == (
        Decimal("2.00"), Decimal("2.00"))
    assert (level2.periods[0].monthly_fee, level2.resources[0].monthly_fee) == (
        Decimal("6.00"), Decimal("6.00"))
    # Period 6 + one licence 6; the cost is L1's 2 + 2.
    assert figures(rows_of(second)["Chain"]) == [
        (Decimal("12.00"), Decimal("4.00"), Decimal("66.67"))]

    other = make_plan(root, name="Chain 2", currency="USD", periods=[month(monthly_fee="1.00")],
                      resources=[resource])
    level1 = delegate(other, first)
    clear_markup([level1])  # L1 sets no coefficient: it sells at the distributor's price
    level2 = delegate(level1, second)
    set_markup([level2], "3")
    assert (level1.periods[0].monthly_fee, level2.periods[0].monthly_fee) == (
        Decimal("1.00"), Decimal("3.00"))
    assert (level1.resources[0].monthly_fee, level2.resources[0].monthly_fee) == (
        Decimal("1.00"), Decimal("3.00"))
    assert rows_of(first)["Chain 2"].markup == MarkupState.MANUAL
    assert figures(rows_of(second)["Chain 2"]) == [
        (Decimal("6.00"), Decimal("2.00"), Decimal("66.67"))]


def test_we8_resources_count_at_their_billable_minimum(db):
    root = make_root()
    resources = [{"name": name, "minimum": "1", "limit": "1", "monthly_fee": fee}
                 for name, fee in (("Licences", "5.00"), ("Users", "4.00"), ("Devices", "3.00"))]
    make_plan(root, name="Office", currency="USD", periods=[year(), month()],
              resources=resources)
    assert [p.sale for p in rows_of(root)["Office"].periods] == [Decimal("144.00"),
                                                                 Decimal("12.00")]


def test_included_quantity_is_not_charged_twice(db):
    root = make_root()
    make_plan(root, name="Seats", currency="USD", periods=[month()], resources=[
        {"name": "Seats", "included": "15", "minimum": "20", "limit": "50",
         "monthly_fee": "2.00"}])
    # WE-3: 20 − 15 = 5 billable seats.
    assert rows_of(root)["Seats"].periods[0].sale == Decimal("10.00")


def test_day_period_is_months_of_the_financial_period_containing_today(db):
    # 22.11.2026 with financial day 25: the financial period 25.10–24.11 has 31 days (D2).
    root = make_root()
    rule = make_rule(root, financial_day=25)
    make_plan(root, name="Days", rule=rule, currency="USD", periods=[
        {"duration": 1, "duration_unit": "day", "monthly_fee": "100.00"},
        {"duration": 3, "duration_unit": "day", "monthly_fee": "100.00"}])
    periods = rows_of(root)["Days"].periods
    assert [p.months for p in periods] == [Decimal("0.032"), Decimal("0.097")]
    assert [p.sale for p in periods] == [Decimal("3.20"), Decimal("9.70")]


def test_margin_is_empty_without_cost_and_for_pay_as_you_go_external(db):
    root = make_root()
    child = make_reseller(root, currency="USD")
    free = make_plan(root, name="Free", currency="USD", billing_type="payg_internal",
                     periods=[month()])
    unlimited = make_plan(root, name="Forever", currency="USD", periods=[
        {"is_unlimited": True, "setup_fee": "50.00"}, month(monthly_fee="10.00")])
    external = make_plan(root, name="Azure", currency="USD", billing_type="payg_external",
                         periods=[month(monthly_fee="10.00")])
    for plan in (free, unlimited, external):
        delegate(plan, child)
    rows = rows_of(child)
    # §8.43: all fees 0 → sale 0.00 and no margin (R-PL-7 divides by the sale price).
    assert figures(rows["Free"]) == [(Decimal("0.00"), Decimal("0.00"), None)]
    # R-PL-5: no cost for an unlimited period of a delegated plan.
    assert figures(rows["Forever"]) == [(Decimal("50.00"), None, None),
                                        (Decimal("10.00"), Decimal("10.00"), Decimal("0.00"))]
    # R-PL-2: nothing is calculated for pay as you go (external); its k is shown.
    assert figures(rows["Azure"]) == [(None, None, None)]
    assert rows["Azure"].markup == MarkupState.AUTO


def test_trial_periods_and_trial_only_plans_are_not_listed(db):
    root = make_root()
    make_plan(root, name="Trial only", periods=[month(is_trial=True)])
    make_plan(root, name="Mixed", periods=[month(is_trial=True), year(monthly_fee="1.00")])
    rows = rows_of(root)
    assert "Trial only" not in rows
    assert [p.period.duration_unit for p in rows["Mixed"].periods] == ["year"]


def test_rows_list_only_the_resellers_own_plans(db):
    root = make_root()
    child = make_reseller(root)
    other = make_reseller(root)
    plan = make_plan(root, name="Shared")
    delegate(plan, child)
    make_plan(other, name="Other's")
    assert set(rows_of(child)) == {"Shared"}
    mine = database.session.scalars(price_list_query(child)).all()
    theirs = database.session.scalars(price_list_query(other)).all()
    assert [r.plan.name for r in price_rows(child, mine + theirs, on=clock.today())] == [
        "Shared"]


def test_cost_is_converted_into_the_resellers_currency_at_todays_rate(db):
    root = make_root()  # currency RUB
    child = make_reseller(root, currency="RUB")
    plan = make_plan(root, name="Dollar plan", currency="USD", periods=[year(setup_fee="60.00")])
    copy = delegate(plan, child)
    set_markup([copy], "1.20")
    set_exchange_rate(root, "RUB", "USD", units=1, rate="90.5000", valid_from=date(2026, 11, 1))
    set_exchange_rate(root, "RUB", "USD", units=1, rate="99.0000", valid_from=date(2026, 12, 1))
    period = rows_of(child)["Dollar plan"].periods[0]
    assert (period.sale, period.cost) == (Decimal("72.00"), Decimal("60.00"))
    assert period.cost_converted == Decimal("5430.00")  # 60.00 × 90.50, the rate of today
    # A plan in the reseller's own currency needs no conversion.
    same = delegate(make_plan(root, name="Rouble plan", periods=[month()]), child)
    assert same.currency == "RUB"
    assert rows_of(child)["Rouble plan"].periods[0].cost_converted is None


def test_status_changes_keep_the_plan_listed(db):
    root = make_root()
    child = make_reseller(root)
    plan = make_plan(root, name="Soon gone")
    delegate(plan, child)
    deactivate_plan(plan)
    sync(plan)
    assert "Soon gone" in rows_of(root) and "Soon gone" in rows_of(child)


def test_a_page_of_plans_costs_the_same_number_of_queries_as_a_few(db):
    root = make_root()
    child = make_reseller(root, currency="RUB")
    resources = [{"name": "Seats", "minimum": "1", "limit": "5", "monthly_fee": "1.00"}]
    for n in range(12):
        plan = make_plan(root, name=f"Plan {n:02}", currency="USD" if n % 2 else "RUB",
                         periods=[month(monthly_fee="1.00"), year(monthly_fee="1.00")],
                         resources=resources)
        delegate(plan, child)
    ids = [p.id for p in database.session.scalars(price_list_query(child))]
    today = clock.today()

    def count(subset_ids):
        database.session.expire_all()
        subset = database.session.scalars(select(Plan).where(
            Plan.reseller_id == child.id, Plan.id.in_(subset_ids)).order_by(Plan.id)).all()
        statements = []

        def record(*args, **kwargs):
            statements.append(args[2])

        engine = database.session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            rows = price_rows(child, subset, on=today)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert len(rows) == len(subset_ids)
        assert all(p.cost is not None for r in rows for p in r.periods)
        return len(statements)

    assert len(ids) == 12
    few, many = count(sorted(ids)[:2]), count(ids)
    assert few == many <= 12
