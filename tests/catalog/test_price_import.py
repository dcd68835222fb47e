"""Price-list export to XLSX and import back (05 §4.4 R-PX-1..4, §8.29, WE-10; DECISIONS D9)."""

import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from portal.catalog.models import PlanPeriod
from portal.catalog.price_list import price_list_query
from portal.catalog.services import CatalogError, set_markup
from portal.catalog.services.price_import import (COLUMNS, ITEM_LABELS, export_price_list,
                                                  import_price_list)
from portal.core import jobs
from portal.extensions import db as database
from tests.factories import delegate, make_plan, make_reseller, make_root

KEYS = [key for key, _label in COLUMNS]


@pytest.fixture(autouse=True)
def english(db):
    """The reports below are read in English; the file's headers are language-neutral."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


def month(**fees):
    return {"duration": 1, "duration_unit": "month", **fees}


def year(**fees):
    return {"duration": 1, "duration_unit": "year", **fees}


def export(reseller) -> bytes:
    return export_price_list(reseller, database.session.scalars(price_list_query(reseller)).all())


def open_book(data: bytes):
    book = load_workbook(io.BytesIO(data))
    return book, book.worksheets[0]


def save(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def row_of(sheet, item) -> int:
    kind = str(ITEM_LABELS["period" if isinstance(item, PlanPeriod) else "resource"])
    for number in range(2, sheet.max_row + 1):
        values = [sheet.cell(row=number, column=i + 1).value for i in range(len(KEYS))]
        if (values[KEYS.index("item_type")] == kind and values[KEYS.index("item_id")] == item.id
                and values[KEYS.index("plan_id")] == item.plan_id):
            return number
    raise AssertionError(f"no row for {item}")


def put(sheet, row: int, key: str, value) -> None:
    sheet.cell(row=row, column=KEYS.index(key) + 1, value=value)


def prices(item, fields=("setup_fee", "monthly_fee", "renewal_fee")):
    database.session.refresh(item)
    return tuple(getattr(item, f) for f in fields)


@pytest.fixture
def catalogue(db):
    """A child reseller with two delegated plans (k 1.20) and a grandchild copy of the first."""
    root = make_root()
    child = make_reseller(root, name="Child", currency="USD")
    grandchild = make_reseller(child, name="Grandchild", currency="USD")
    office = make_plan(root, name="Office", currency="USD",
                       periods=[month(monthly_fee="10.00"), year(monthly_fee="9.00")],
                       resources=[{"name": "Seats", "minimum": "1", "limit": "9",
                                   "monthly_fee": "2.00", "setup_fee": "1.00"}])
    backup = make_plan(root, name="Backup", currency="USD", periods=[month(monthly_fee="5.00")])
    office_copy, backup_copy = delegate(office, child), delegate(backup, child)
    set_markup([office_copy, backup_copy], "1.20")
    grand_copy = delegate(office_copy, grandchild)
    set_markup([grand_copy], "1.50")
    database.session.flush()
    return {"root": root, "child": child, "grandchild": grandchild, "office": office_copy,
            "backup": backup_copy, "grand": grand_copy}


def test_export_lists_periods_and_resources_with_their_prices(catalogue):
    office = catalogue["office"]
    book, sheet = open_book(export(catalogue["child"]))
    assert [c.value for c in sheet[1]] == [str(label) for _key, label in COLUMNS]
    assert sheet.max_row == 1 + 2 + 1 + 1  # Office: 2 periods, 1 resource; Backup: 1 period
    month_row = row_of(sheet, office.periods[0])
    values = {key: sheet.cell(row=month_row, column=i + 1).value for i, key in enumerate(KEYS)}
    assert values["plan_name"] == "Office" and values["currency"] == "USD"
    assert Decimal(str(values["monthly_fee"])) == Decimal("12.00")
    seats = row_of(sheet, office.resources[0])
    assert Decimal(str(sheet.cell(row=seats, column=KEYS.index("setup_fee") + 1).value)) == \
        Decimal("1.20")


def test_reimporting_an_unedited_export_changes_nothing(catalogue):
    report = import_price_list(catalogue["child"], export(catalogue["child"]))
    assert (report.applied, report.refused, report.unchanged) == ([], [], 4)
    assert catalogue["office"].markup_coefficient == Decimal("1.20")


def test_edited_cells_change_exactly_those_prices_and_copies_follow(app, catalogue):
    child, office, backup, grand = (catalogue[k] for k in ("child", "office", "backup", "grand"))
    month_period, year_period = office.periods
    seats = office.resources[0]
    book, sheet = open_book(export(child))
    put(sheet, row_of(sheet, month_period), "monthly_fee", 15.5)
    put(sheet, row_of(sheet, seats), "setup_fee", 3)

    report = import_price_list(child, save(book))
    assert [(r.item_name, r.changes) for r in report.applied] == [
        ("1 month", {"monthly_fee": (Decimal("12.00"), Decimal("15.50"))}),
        ("Seats", {"setup_fee": (Decimal("1.20"), Decimal("3.00"))})]
    assert (report.unchanged, report.refused) == (2, [])
    backend = app.extensions["portal_jobs"]
    if hasattr(backend, "pending"):
        assert backend.pending.empty()  # nothing is queued before the import commits

    assert prices(month_period) == (Decimal("0.00"), Decimal("15.50"), Decimal("0.00"))
    assert prices(year_period) == (Decimal("0.00"), Decimal("10.80"), Decimal("0.00"))
    assert prices(seats) == (Decimal("3.00"), Decimal("2.40"), Decimal("0.00"))
    assert prices(backup.periods[0]) == (Decimal("0.00"), Decimal("6.00"), Decimal("0.00"))
    # R-PX-2d: the edited plan's markup is "not set"; the other plan keeps its coefficient.
    assert office.markup_coefficient is None
    assert backup.markup_coefficient == Decimal("1.20")
    # R-MK-30: the direct copy's cost changed; its prices follow through the sync job.
    database.session.refresh(grand)
    assert grand.cost_changed_at is not None
    database.session.commit()
    if hasattr(backend, "pending"):
        assert backend.pending.qsize() == 1  # one sync job for the whole import
    jobs.drain()
    database.session.expire_all()
    assert grand.periods[0].monthly_fee == Decimal("23.25")  # 15.50 × 1.50
    assert grand.resources[0].setup_fee == Decimal("4.50")
    assert grand.periods[1].monthly_fee == Decimal("16.20")  # 10.80 × 1.50, unchanged


def test_a_file_that_is_not_xlsx_is_refused_whole(catalogue):
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    for data in (b"plan_id;item_id\n1;2\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
                 zipped.getvalue(), b""):
        with pytest.raises(CatalogError, match="not a readable XLSX"):
            import_price_list(catalogue["child"], data)
    assert catalogue["office"].markup_coefficient == Decimal("1.20")


def test_unknown_or_missing_columns_refuse_the_whole_file(catalogue):
    child, office = catalogue["child"], catalogue["office"]
    book, sheet = open_book(export(child))
    put(sheet, row_of(sheet, office.periods[0]), "monthly_fee", 99)
    sheet.cell(row=1, column=len(KEYS) + 1, value="Discount")
    with pytest.raises(CatalogError, match="Discount") as error:
        import_price_list(child, save(book))
    assert "unknown columns" in str(error.value)

    book, sheet = open_book(export(child))
    put(sheet, row_of(sheet, office.periods[0]), "monthly_fee", 99)
    sheet.delete_cols(KEYS.index("renewal_fee") + 1)
    with pytest.raises(CatalogError, match="missing columns") as error:
        import_price_list(child, save(book))
    assert str(COLUMNS[KEYS.index("renewal_fee")][1]) in str(error.value)
    assert prices(office.periods[0]) == (Decimal("0.00"), Decimal("12.00"), Decimal("0.00"))


def test_bad_numbers_refuse_their_rows_while_good_rows_apply(catalogue):
    child, office, backup = catalogue["child"], catalogue["office"], catalogue["backup"]
    month_period, year_period = office.periods
    seats = office.resources[0]
    book, sheet = open_book(export(child))
    put(sheet, row_of(sheet, month_period), "monthly_fee", "twelve")
    # One good and one negative cell: the whole row is refused.
    put(sheet, row_of(sheet, year_period), "monthly_fee", 11)
    put(sheet, row_of(sheet, year_period), "setup_fee", -5)
    put(sheet, row_of(sheet, seats), "monthly_fee", "2.345")
    put(sheet, row_of(sheet, backup.periods[0]), "monthly_fee", 7)

    report = import_price_list(child, save(book))
    refused = {r.row: r.reason for r in report.refused}
    assert set(refused) == {row_of(sheet, month_period), row_of(sheet, year_period),
                            row_of(sheet, seats)}
    assert "not a number" in refused[row_of(sheet, month_period)]
    assert "below zero" in refused[row_of(sheet, year_period)]
    assert "2 decimals" in refused[row_of(sheet, seats)]
    assert [r.plan_id for r in report.applied] == [backup.id]
    assert prices(year_period) == (Decimal("0.00"), Decimal("10.80"), Decimal("0.00"))
    assert prices(month_period)[1] == Decimal("12.00")
    assert prices(seats)[1] == Decimal("2.40")
    assert prices(backup.periods[0])[1] == Decimal("7.00")
    assert office.markup_coefficient == Decimal("1.20")  # none of its rows applied


def test_rows_of_another_resellers_plans_are_not_found(catalogue):
    child, office = catalogue["child"], catalogue["office"]
    stranger = make_reseller(catalogue["root"], currency="USD")
    theirs = make_plan(stranger, name="Theirs", currency="USD", periods=[month(monthly_fee="1")])
    upstream = office.parent
    book, sheet = open_book(export(child))
    last = sheet.max_row
    period_label = str(ITEM_LABELS["period"])
    for offset, (plan_id, item_id) in enumerate([
            (theirs.id, theirs.periods[0].id),            # a sibling's plan
            (upstream.id, upstream.periods[0].id),         # the provider's own plan
            (office.id, theirs.periods[0].id),             # own plan, someone else's period
            (office.id, catalogue["grand"].periods[0].id)], start=1):  # a copy below
        sheet.append([plan_id, period_label, item_id, "x", "x", "USD", 0, 0, 0, 0, None])
        assert sheet.max_row == last + offset

    report = import_price_list(child, save(book))
    assert [r.row for r in report.refused] == [last + 1, last + 2, last + 3, last + 4]
    assert all("Not found" in r.reason for r in report.refused)
    assert report.applied == []
    assert prices(theirs.periods[0])[1] == Decimal("1.00")
    assert prices(upstream.periods[0])[1] == Decimal("10.00")


def test_we10_decimal_comma_and_empty_cells(catalogue):
    child, office = catalogue["child"], catalogue["office"]
    month_period = office.periods[0]
    book, sheet = open_book(export(child))
    row = row_of(sheet, month_period)
    put(sheet, row, "setup_fee", "0,1")
    put(sheet, row, "transfer_fee", "40")
    put(sheet, row, "monthly_fee", None)  # empty: no change
    put(sheet, row, "overuse_fee", None)  # periods have no overuse fee
    report = import_price_list(child, save(book))
    assert report.refused == []
    assert report.applied[0].changes == {"setup_fee": (Decimal("0.00"), Decimal("0.10")),
                                         "transfer_fee": (Decimal("0.00"), Decimal("40.00"))}
    assert prices(month_period, ("setup_fee", "monthly_fee", "transfer_fee")) == (
        Decimal("0.10"), Decimal("12.00"), Decimal("40.00"))
    assert office.markup_coefficient is None  # R-BX-2 / R-PX-2d


def test_a_refused_row_keeps_the_earlier_rows_and_their_sync(app, catalogue):
    child, office = catalogue["child"], catalogue["office"]
    month_period = office.periods[0]
    trial = PlanPeriod(reseller_id=child.id, plan_id=office.id, duration=7,
                       duration_unit="day", is_trial=True, position=9)
    database.session.add(trial)
    database.session.flush()
    book, sheet = open_book(export(child))
    put(sheet, row_of(sheet, month_period), "monthly_fee", 20)
    sheet.append([office.id, str(ITEM_LABELS["period"]), trial.id, "Office", "7 days", "USD",
                  0, 5, 0, 0, None])
    report = import_price_list(child, save(book))
    assert [r.row for r in report.refused] == [sheet.max_row]
    assert "trial" in report.refused[0].reason
    assert len(report.applied) == 1
    database.session.refresh(trial)
    assert trial.monthly_fee == Decimal("0.00")
    database.session.commit()
    jobs.drain()
    database.session.expire_all()
    copy = next(p for p in catalogue["grand"].periods if p.parent_id == month_period.id)
    assert copy.monthly_fee == Decimal("30.00")  # 20 × 1.50


def test_pay_as_you_go_external_prices_are_ignored(catalogue):
    root, child = catalogue["root"], catalogue["child"]
    azure = delegate(make_plan(root, name="Azure", currency="USD", billing_type="payg_external",
                               periods=[month(monthly_fee="10.00")]), child)
    set_markup([azure], "1.30")
    book, sheet = open_book(export(child))
    put(sheet, row_of(sheet, azure.periods[0]), "monthly_fee", 1)
    report = import_price_list(child, save(book))
    assert [r.row for r in report.refused] == [row_of(sheet, azure.periods[0])]
    assert "R-PX-3" in report.refused[0].reason
    assert prices(azure.periods[0])[1] == Decimal("13.00")
    assert azure.markup_coefficient == Decimal("1.30")


def test_currency_and_identifiers_are_checked(catalogue):
    child, office = catalogue["child"], catalogue["office"]
    book, sheet = open_book(export(child))
    row = row_of(sheet, office.periods[0])
    put(sheet, row, "monthly_fee", 50)
    put(sheet, row, "currency", "EUR")
    other = row_of(sheet, office.periods[1])
    put(sheet, other, "item_id", "abc")
    report = import_price_list(child, save(book))
    reasons = {r.row: r.reason for r in report.refused}
    assert "USD" in reasons[row] and "EUR" in reasons[row]
    assert "whole numbers" in reasons[other]
    assert prices(office.periods[0])[1] == Decimal("12.00")


def test_a_workbook_without_rows_is_refused(catalogue):
    book = Workbook()
    with pytest.raises(CatalogError, match="empty"):
        import_price_list(catalogue["child"], save(book))
