"""The price-list pages of the operator panel (05 §5.1.1, §5.1.2): figures, bulk markup,
export and import, default markups, access."""

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.accounts.models import Role
from portal.catalog.models import CatalogSettings, Plan, ProductCategory
from portal.catalog.services import deactivate_plan, set_markup, update_period, update_plan
from portal.catalog.services.price_import import COLUMNS
from portal.extensions import db as database
from tests.factories import Panel, delegate, make_plan, make_reseller, make_root, make_staff

KEYS = [key for key, _label in COLUMNS]


def year(**fees):
    return {"duration": 1, "duration_unit": "year", **fees}


@pytest.fixture
def shop(app, db):
    """A reseller (RUB) with three delegated USD plans: k 1.20, k 1.00, and one sold below
    cost; plus a sibling reseller with a plan of its own."""
    root = make_root()
    child = make_reseller(root, name="Shop", slug="shop", currency="RUB")
    sibling = make_reseller(root, name="Sibling", slug="sibling", currency="RUB")
    eset = make_plan(root, name="ESET", sku="AZR-0145P", currency="USD",
                     periods=[year(monthly_fee="5.00")])
    drweb = make_plan(root, name="Dr Web", currency="USD", periods=[year(setup_fee="3.00")])
    cheap = make_plan(root, name="Cheap", currency="USD", periods=[year(setup_fee="10.00")])
    copies = {plan.name: delegate(plan, child) for plan in (eset, drweb, cheap)}
    set_markup([copies["ESET"]], "1.20")
    update_period(copies["Cheap"].periods[0], setup_fee="8.00")  # below cost: margin −25 %
    theirs = delegate(make_plan(root, name="Theirs", currency="USD", periods=[year()]), sibling)
    admin = make_staff(child, role=Role.SYSTEM_ADMIN, language="en")
    database.session.flush()
    return {"root": root, "child": child, "copies": copies, "theirs": theirs,
            "panel": Panel(app, child, admin)}


def plan_block(html: str, plan_id: int) -> str:
    match = re.search(rf'<tbody id="price-plan-{plan_id}".*?</tbody>', html, re.S)
    assert match, f"plan {plan_id} is not on the page"
    return match.group(0)


def test_the_page_shows_sale_cost_margin_and_markup(shop):
    html = shop["panel"].get("/price-list").get_data(as_text=True)
    eset = plan_block(html, shop["copies"]["ESET"].id)
    assert "$72.00" in eset and "$60.00" in eset and "16.67" in eset and "1.20" in eset
    assert "AZR-0145P" in eset
    drweb = plan_block(html, shop["copies"]["Dr Web"].id)
    assert "$3.00" in drweb and "0.00" in drweb
    cheap = plan_block(html, shop["copies"]["Cheap"].id)
    assert "-25.00" in cheap and "negative" in cheap and "Not set" in cheap
    # The plans are in USD, the reseller counts in RUB: the cost in RUB at today's rate (1:1
    # while no rate is set).
    assert "Cost in RUB" in html and "RUB60.00" in eset
    assert "Theirs" not in html


def test_root_plans_show_that_markup_cannot_be_set(app, shop):
    root = shop["root"]
    admin = make_staff(root, role=Role.SYSTEM_ADMIN, language="en")
    own = make_plan(root, name="CloudHost", currency="BYN", published=False, periods=[{
        "duration": 1, "duration_unit": "month", "setup_fee": "10.00", "monthly_fee": "100.00",
        "transfer_fee": "10.00", "renewal_fee": "10.00"}])
    deactivate_plan(own)
    html = Panel(app, root, admin).get("/price-list").get_data(as_text=True)
    block = plan_block(html, own.id)
    assert "BYN110.00" in block and "Cannot be set" in block
    assert 'data-label="inactive"' in block and 'data-label="unpublished"' in block


def test_search_filters_and_htmx_partial(shop):
    panel, copies = shop["panel"], shop["copies"]
    html = panel.get("/price-list?q=azr-0145").get_data(as_text=True)
    assert f'price-plan-{copies["ESET"].id}"' in html
    assert f'price-plan-{copies["Dr Web"].id}"' not in html
    html = panel.get("/price-list?f_markup=manual").get_data(as_text=True)
    assert f'price-plan-{copies["Cheap"].id}"' in html
    assert f'price-plan-{copies["ESET"].id}"' not in html
    category = copies["ESET"].product.category
    response = panel.get(f"/price-list?f_category={category.id}",
                         headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.startswith('<div id="list-price_list"') or 'id="list-price_list"' in html[:300]
    assert f'price-plan-{copies["ESET"].id}"' in html
    assert "<html" not in html


def test_bulk_set_asks_for_confirmation_then_sets_the_coefficient(shop):
    panel, copies = shop["panel"], shop["copies"]
    ids = [copies["Dr Web"].id, copies["Cheap"].id]
    response = panel.post("/price-list/markup", data={"plan_ids": ids, "coefficient": "1,5",
                                                      "list_args": "q=r"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "will be set for 2 plans" in html and "1.50" in html
    database.session.expire_all()
    assert copies["Dr Web"].markup_coefficient == Decimal("1.00")  # nothing before confirming

    response = panel.post("/price-list/markup", data={
        "plan_ids": ids, "coefficient": "1.50", "confirm": "1", "list_args": "q=r"})
    assert response.status_code == 302 and response.location.endswith("/price-list?q=r")
    database.session.expire_all()
    assert copies["Dr Web"].markup_coefficient == Decimal("1.50")
    assert copies["Dr Web"].periods[0].setup_fee == Decimal("4.50")
    assert copies["Cheap"].periods[0].setup_fee == Decimal("15.00")
    html = panel.get("/price-list").get_data(as_text=True)
    assert "$4.50" in plan_block(html, copies["Dr Web"].id)


def test_bulk_clear_keeps_prices_and_shows_not_set(shop):
    panel, eset = shop["panel"], shop["copies"]["ESET"]
    response = panel.post("/price-list/markup/clear", data={"plan_ids": [eset.id]})
    assert "switched off for 1 plan" in response.get_data(as_text=True)
    response = panel.post("/price-list/markup/clear", data={"plan_ids": [eset.id],
                                                            "confirm": "1"})
    assert response.status_code == 302
    database.session.expire_all()
    assert eset.markup_coefficient is None
    assert eset.periods[0].monthly_fee == Decimal("6.00")
    assert "Not set" in plan_block(panel.get("/price-list").get_data(as_text=True), eset.id)


def test_another_resellers_plan_ids_are_ignored(shop):
    panel, theirs, drweb = shop["panel"], shop["theirs"], shop["copies"]["Dr Web"]
    response = panel.post("/price-list/markup", data={"plan_ids": [theirs.id],
                                                      "coefficient": "2", "confirm": "1"})
    assert response.status_code == 422
    assert "Choose at least one plan" in response.get_data(as_text=True)
    response = panel.post("/price-list/markup", data={"plan_ids": [theirs.id, drweb.id],
                                                      "coefficient": "2", "confirm": "1"})
    assert response.status_code == 302
    database.session.expire_all()
    assert drweb.markup_coefficient == Decimal("2.00")
    assert theirs.markup_coefficient == Decimal("1.00")
    response = panel.post("/price-list/markup", data={"plan_ids": ["x"], "coefficient": "2"})
    assert response.status_code == 422


@pytest.mark.parametrize(("value", "message"), [
    ("-1.2", "above zero"), ("0", "above zero"), ("abc", "is not a number"),
    ("1.234", "2 decimals"), ("", "Enter the markup coefficient")])
def test_a_bad_coefficient_is_refused_with_a_message(shop, value, message):
    panel, drweb = shop["panel"], shop["copies"]["Dr Web"]
    response = panel.post("/price-list/markup", data={"plan_ids": [drweb.id],
                                                      "coefficient": value, "confirm": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'id="list-price_list"' in html
    database.session.expire_all()
    assert drweb.markup_coefficient == Decimal("1.00")


def test_a_sales_manager_gets_403(app, shop):
    manager = make_staff(shop["child"], role=Role.SALES_MANAGER, language="en")
    panel = Panel(app, shop["child"], manager)
    drweb = shop["copies"]["Dr Web"]
    for path in ("/price-list", "/price-list/export", "/price-list/default-markups",
                 "/price-list/import"):
        assert panel.get(path).status_code == 403, path
    response = panel.post("/price-list/markup", data={"plan_ids": [drweb.id],
                                                      "coefficient": "3", "confirm": "1"})
    assert response.status_code == 403
    category = drweb.product.category
    assert panel.post(f"/price-list/default-markups/{category.id}",
                      data={"coefficient": "3"}).status_code == 403
    database.session.expire_all()
    assert drweb.markup_coefficient == Decimal("1.00")


def test_export_downloads_the_filtered_list(shop):
    panel, eset = shop["panel"], shop["copies"]["ESET"]
    response = panel.get("/price-list/export?q=ESET")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    plan_ids = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert plan_ids == {eset.id}


def test_import_through_the_panel_reports_applied_and_refused_rows(shop):
    panel, eset, drweb = shop["panel"], shop["copies"]["ESET"], shop["copies"]["Dr Web"]
    book = load_workbook(io.BytesIO(panel.get("/price-list/export").data))
    sheet = book.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == eset.id:
            row[KEYS.index("monthly_fee")].value = "6,50"
        if row[0].value == drweb.id:
            row[KEYS.index("setup_fee")].value = -1
    buffer = io.BytesIO()
    book.save(buffer)
    assert panel.get("/price-list/import").status_code == 200
    response = panel.post("/price-list/import", data={
        "file": (io.BytesIO(buffer.getvalue()), "prices.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Applied: 1. Unchanged: 1. Refused: 1." in html
    assert "below zero" in html
    database.session.expire_all()
    assert eset.periods[0].monthly_fee == Decimal("6.50")
    assert eset.markup_coefficient is None
    assert drweb.periods[0].setup_fee == Decimal("3.00")

    response = panel.post("/price-list/import", data={
        "file": (io.BytesIO(b"id;price\n1;2\n"), "prices.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "not a readable XLSX" in response.get_data(as_text=True)
    response = panel.post("/price-list/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file" in response.get_data(as_text=True)


def test_default_markups_per_category_and_for_new_categories(shop):
    panel, child = shop["panel"], shop["child"]
    category = shop["copies"]["ESET"].product.category
    html = panel.get("/price-list/default-markups").get_data(as_text=True)
    assert f'id="category-markup-{category.id}"' in html and "1.00" in html

    response = panel.post(f"/price-list/default-markups/{category.id}",
                          data={"coefficient": "1,35"})
    assert response.status_code == 302
    database.session.expire_all()
    assert category.default_markup == Decimal("1.35")
    # R-MK-13: existing plans keep their coefficient.
    assert shop["copies"]["Dr Web"].markup_coefficient == Decimal("1.00")

    response = panel.post(f"/price-list/default-markups/{category.id}",
                          data={"coefficient": "-2"})
    assert response.status_code == 422 and "above zero" in response.get_data(as_text=True)
    database.session.expire_all()
    assert category.default_markup == Decimal("1.35")

    response = panel.post("/price-list/default-markups/new-categories",
                          data={"coefficient": "1.10"})
    assert response.status_code == 302
    settings = database.session.scalar(select(CatalogSettings).where(
        CatalogSettings.reseller_id == child.id))
    assert settings.default_markup_new_categories == Decimal("1.10")
    html = panel.get("/price-list/default-markups").get_data(as_text=True)
    assert '<span id="new-categories-markup">1.10</span>' in html
    response = panel.post("/price-list/default-markups/new-categories",
                          data={"coefficient": "1000"})
    assert response.status_code == 422 and "999.99" in response.get_data(as_text=True)

    foreign = database.session.scalar(select(ProductCategory).where(
        ProductCategory.reseller_id == shop["theirs"].reseller_id))
    assert panel.post(f"/price-list/default-markups/{foreign.id}",
                      data={"coefficient": "2"}).status_code == 404


def test_pages_of_fifty_plans(app, shop):
    root, child = shop["root"], shop["child"]
    for n in range(52):
        delegate(make_plan(root, name=f"Bulk {n:02}", currency="USD", periods=[year()]), child)
    update_plan(shop["copies"]["ESET"], published=True)
    database.session.flush()
    html = shop["panel"].get("/price-list").get_data(as_text=True)
    assert html.count('class="price-plan"') == 50
    assert "1 - 50 of 55" in html
    html = shop["panel"].get("/price-list?page=2").get_data(as_text=True)
    assert html.count('class="price-plan"') == 5
    assert database.session.scalar(select(Plan.id).where(Plan.reseller_id == child.id,
                                                         Plan.name == "Bulk 51"))


def test_plans_without_a_cost_are_left_out_of_the_bulk_markup(shop):
    panel, child, drweb = shop["panel"], shop["child"], shop["copies"]["Dr Web"]
    own = make_plan(child, name="Own plan", currency="USD", periods=[year(setup_fee="1.00")])
    database.session.flush()
    response = panel.post("/price-list/markup", data={"plan_ids": [own.id, drweb.id],
                                                      "coefficient": "2"})
    html = response.get_data(as_text=True)
    assert "will be set for 1 plan." in html
    assert re.search(r'<ul id="skipped-plans".*Own plan', html, re.S)
    response = panel.post("/price-list/markup", data={"plan_ids": [own.id, drweb.id],
                                                      "coefficient": "2", "confirm": "1"})
    assert response.status_code == 302
    database.session.expire_all()
    assert own.markup_coefficient is None and drweb.markup_coefficient == Decimal("2.00")
    assert "Cannot be set" in plan_block(panel.get("/price-list").get_data(as_text=True), own.id)
