"""Export the price list to an XLSX file and import edited prices back (05 §4.4 R-PX-1..4,
§8.28, §8.29, WE-10; DECISIONS D9).

The file has one sheet whose first row names the columns. Rows are matched by plan ID and item
ID, never by name (05 §8.29); names and currency are there to read. An import applies, row by
row, the prices that differ from the stored ones through the same services as the plan page
(`update_period`, `update_resource`), so the plan's markup becomes "not set" (R-PX-2d), pay as
you go (external) prices are ignored (R-PX-3), copies follow through the sync job and their
cost-changed time is set (R-MK-30). Each row runs in its own SAVEPOINT: a refused row changes
nothing, and the others still apply.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy.exc import SQLAlchemyError

from portal.catalog.models import (PRICE_FIELDS_PERIOD, PRICE_FIELDS_RESOURCE, BillingType, Plan,
                                   PlanPeriod, PlanResource)
from portal.catalog.price_list import load_by_ids, period_name
from portal.catalog.services.errors import CatalogError
from portal.catalog.services.plans import money_value, update_period, update_resource
from portal.catalog.services.sync import request_sync, sync_plan_copies_job
from portal.core import jobs
from portal.core.errors import DomainError
from portal.extensions import db

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD, RESOURCE = "period", "resource"
PRICE_COLUMNS = ("setup_fee", "monthly_fee", "renewal_fee", "transfer_fee", "overuse_fee")
COLUMNS = (
    ("plan_id", _l("Plan ID")),
    ("item_type", _l("Item type")),
    ("item_id", _l("Item ID")),
    ("plan_name", _l("Plan")),
    ("item_name", _l("Item")),
    ("currency", _l("Currency")),
    ("setup_fee", lazy_pgettext("plan price", "Setup fee")),
    ("monthly_fee", _l("Monthly fee")),
    ("renewal_fee", lazy_pgettext("plan price", "Renewal fee")),
    ("transfer_fee", lazy_pgettext("plan price", "Transfer fee")),
    ("overuse_fee", _l("Overuse fee")),
)
COLUMN_LABELS = dict(COLUMNS)
ITEM_LABELS = {PERIOD: _l("Period"), RESOURCE: _l("Resource")}
LANGUAGES = ("en", "ru")  # a file exported in either language imports in either
MAX_ROWS = 100_000
# portal.core.jobs keeps the jobs to queue after the commit under this session key.


# --- export -------------------------------------------------------------------------------

def export_price_list(reseller, plans: list[Plan]) -> bytes:
    """R-PX-1: the plans' non-trial periods and their resources as an XLSX file.

    `plans` are the reseller's plans the price list shows (filtered as on the page), in order.
    """
    from openpyxl import Workbook  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415

    plans = [p for p in plans if p.reseller_id == reseller.id]
    plan_ids = [p.id for p in plans]
    periods_of: dict[int, list[PlanPeriod]] = {}
    resources_of: dict[int, list[PlanResource]] = {}
    for period in load_by_ids(PlanPeriod, reseller.id, PlanPeriod.plan_id, plan_ids,
                        PlanPeriod.deleted_at.is_(None), PlanPeriod.is_trial.is_(False)):
        periods_of.setdefault(period.plan_id, []).append(period)
    for resource in load_by_ids(PlanResource, reseller.id, PlanResource.plan_id, plan_ids,
                          PlanResource.deleted_at.is_(None)):
        resources_of.setdefault(resource.plan_id, []).append(resource)

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(_l("Price list"))[:31]
    sheet.append([str(label) for _key, label in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    period_label, resource_label = str(ITEM_LABELS[PERIOD]), str(ITEM_LABELS[RESOURCE])
    for plan in plans:
        for period in sorted(periods_of.get(plan.id, []), key=lambda p: (p.position, p.id)):
            sheet.append([plan.id, period_label, period.id, plan.name, period_name(period),
                          plan.currency, period.setup_fee, period.monthly_fee,
                          period.renewal_fee, period.transfer_fee, None])
        for resource in sorted(resources_of.get(plan.id, []),
                               key=lambda r: (-r.priority, r.name, r.id)):
            sheet.append([plan.id, resource_label, resource.id, plan.name, resource.name,
                          plan.currency, resource.setup_fee, resource.monthly_fee,
                          resource.renewal_fee, None, resource.overuse_fee])
    first_price = 1 + [key for key, _label in COLUMNS].index("setup_fee")
    for row in sheet.iter_rows(min_row=2, min_col=first_price):
        for cell in row:
            cell.number_format = "0.00"
    for letter, width in zip("ABCDEFGHIJK", (10, 12, 10, 40, 28, 9, 14, 14, 14, 14, 14),
                             strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- import -------------------------------------------------------------------------------

@dataclass
class AppliedRow:
    row: int
    plan_id: int
    plan_name: str
    item_type: str
    item_name: str
    changes: dict[str, tuple[Decimal, Decimal]]  # field → (before, after)


@dataclass
class RefusedRow:
    row: int
    reason: str


@dataclass
class ImportReport:
    applied: list[AppliedRow] = field(default_factory=list)
    unchanged: int = 0
    refused: list[RefusedRow] = field(default_factory=list)

    @property
    def plan_ids(self) -> list[int]:
        return sorted({row.plan_id for row in self.applied})


@dataclass
class _Row:
    number: int
    plan_id: int
    item_type: str
    item_id: int
    currency: str
    prices: dict[str, Decimal]  # only the non-empty price cells


def _normalise(text) -> str:
    return re.sub(r"\s+", " ", str(text if text is not None else "")).strip().casefold()


def _aliases(pairs) -> dict[str, str]:
    """{normalised text: key} for each key and its label in every language."""
    aliases = {}
    for key, label in pairs:
        aliases[_normalise(key)] = key
        aliases[_normalise(label)] = key
        for language in LANGUAGES:
            with force_locale(language):
                aliases[_normalise(str(label))] = key
    return aliases


def _read_sheet(data: bytes):
    """The rows of the workbook's first sheet as tuples of values; one message if unreadable."""
    from openpyxl import load_workbook  # noqa: PLC0415

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(tuple(values))
            if len(rows) > MAX_ROWS + 1:
                raise CatalogError(_l("The file has more than %(n)d rows.", n=MAX_ROWS),
                                   field="file")
        workbook.close()
    except CatalogError:
        raise
    except Exception:  # noqa: BLE001 - zip, XML and openpyxl errors all mean "not an XLSX"
        raise CatalogError(_l("The file is not a readable XLSX workbook. Export the price "
                              "list, edit the file and import it in the XLSX format."),
                           field="file") from None
    return rows


def _columns(header) -> dict[str, int]:
    """{column key: index}; unknown, repeated or missing columns refuse the whole file."""
    aliases = _aliases(COLUMNS)
    index_of, unknown = {}, []
    for index, text in enumerate(header):
        if _normalise(text) == "":
            continue  # an unnamed, formatted-only column
        key = aliases.get(_normalise(text))
        if key is None or key in index_of:
            unknown.append(str(text).strip())
        else:
            index_of[key] = index
    missing = [str(label) for key, label in COLUMNS if key not in index_of]
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(str(_l("unknown columns: %(names)s", names=", ".join(unknown))))
        if missing:
            problems.append(str(_l("missing columns: %(names)s", names=", ".join(missing))))
        raise CatalogError(_l("The file's columns do not match the price list (%(problems)s). "
                              "Nothing was imported.", problems="; ".join(problems)),
                           field="file")
    return index_of


def _identifier(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _price(value, key: str) -> Decimal | None:
    """A price cell: empty means "no change"; a decimal comma is accepted (WE-10)."""
    if value is None:
        return None
    if isinstance(value, bool | datetime | date):
        raise CatalogError(_l("“%(value)s” is not a number.", value=value), field=key)
    if isinstance(value, str):
        value = value.replace("\xa0", "").replace(" ", "").strip()
        if not value:
            return None
    elif isinstance(value, float):
        # A spreadsheet stores 72.6 as a binary float; take the price it stands for.
        exact = Decimal(repr(value))
        near = exact.quantize(Decimal("0.01"))
        value = near if abs(exact - near) < Decimal("0.000001") else exact
    return money_value(value, key)


def _parse(number: int, values, index_of, item_types) -> _Row | RefusedRow:
    def cell(key):
        index = index_of[key]
        return values[index] if index < len(values) else None

    plan_id, item_id = _identifier(cell("plan_id")), _identifier(cell("item_id"))
    if plan_id is None or item_id is None:
        return RefusedRow(number, str(_l("The plan ID and the item ID must be whole numbers.")))
    item_type = item_types.get(_normalise(cell("item_type")))
    if item_type is None:
        return RefusedRow(number, str(_l("Unknown item type “%(value)s”: use “%(period)s” or "
                                         "“%(resource)s”.", value=cell("item_type") or "",
                                         period=ITEM_LABELS[PERIOD],
                                         resource=ITEM_LABELS[RESOURCE])))
    applicable = PRICE_FIELDS_PERIOD if item_type == PERIOD else PRICE_FIELDS_RESOURCE
    prices = {}
    for key in PRICE_COLUMNS:
        if key not in applicable:
            continue  # a period has no overuse fee, a resource no transfer fee
        try:
            amount = _price(cell(key), key)
        except CatalogError as error:
            return RefusedRow(number, f"{COLUMN_LABELS[key]}: {error}")
        if amount is not None:
            prices[key] = amount
    currency = str(cell("currency") or "").strip().upper()
    return _Row(number, plan_id, item_type, item_id, currency, prices)


def _in_savepoint(apply) -> None:
    """Run apply() in a SAVEPOINT: a refused row changes nothing (its jobs go with it)."""
    with db.session.begin_nested():
        apply()


def import_price_list(reseller, data: bytes, *, actor=None) -> ImportReport:
    """R-PX-2..4: apply the changed prices of an edited price-list file, row by row.

    A file that is not a readable XLSX, or whose columns are unknown or missing, is refused
    whole (CatalogError, nothing changed). Then each row is applied, left as "unchanged", or
    refused with its reason: not the reseller's plan or item, a wrong or negative number, a
    price the plan's rules forbid, or a pay-as-you-go (external) plan's price.
    """
    rows = _read_sheet(data)
    header_at = next((i for i, values in enumerate(rows)
                      if any(_normalise(v) for v in values)), None)
    if header_at is None:
        raise CatalogError(_l("The file is empty."), field="file")
    index_of = _columns(rows[header_at])
    item_types = _aliases(ITEM_LABELS.items())

    report = ImportReport()
    parsed: list[_Row] = []
    for offset, values in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not any(_normalise(v) for v in values):
            continue
        row = _parse(offset, values, index_of, item_types)
        if isinstance(row, RefusedRow):
            report.refused.append(row)
        else:
            parsed.append(row)

    plans = {p.id: p for p in load_by_ids(Plan, reseller.id, Plan.id, {r.plan_id for r in parsed})}
    items = {
        PERIOD: {p.id: p for p in load_by_ids(PlanPeriod, reseller.id, PlanPeriod.id,
                                        {r.item_id for r in parsed if r.item_type == PERIOD},
                                        PlanPeriod.deleted_at.is_(None))},
        RESOURCE: {r.id: r for r in load_by_ids(PlanResource, reseller.id, PlanResource.id,
                                          {r.item_id for r in parsed if r.item_type == RESOURCE},
                                          PlanResource.deleted_at.is_(None))},
    }
    changed_plans: dict[int, Plan] = {}
    for row in parsed:
        outcome = _apply_row(row, plans, items, actor)
        if isinstance(outcome, RefusedRow):
            report.refused.append(outcome)
        elif outcome is None:
            report.unchanged += 1
        else:
            report.applied.append(outcome)
            changed_plans[outcome.plan_id] = plans[outcome.plan_id]
    for plan in changed_plans.values():
        request_sync(plan)
    report.refused.sort(key=lambda r: r.row)
    return report


def _apply_row(row: _Row, plans, items, actor) -> AppliedRow | RefusedRow | None:
    plan = plans.get(row.plan_id)
    item = items[row.item_type].get(row.item_id)
    if plan is None or item is None or item.plan_id != plan.id:
        return RefusedRow(row.number, str(_l("Not found: the plan %(plan)s has no such %(item)s "
                                             "(ID %(id)s).", plan=row.plan_id,
                                             item=ITEM_LABELS[row.item_type], id=row.item_id)))
    if row.currency and row.currency != plan.currency:
        return RefusedRow(row.number, str(_l("The plan's currency is %(currency)s, not "
                                             "%(given)s.", currency=plan.currency,
                                             given=row.currency)))
    changes = {key: (getattr(item, key), value) for key, value in row.prices.items()
               if getattr(item, key) != value}
    if not changes:
        return None
    if plan.billing_type == BillingType.PAYG_EXTERNAL:
        return RefusedRow(row.number, str(_l("The prices of a pay-as-you-go (external) plan "
                                             "come from the provider: the row is ignored "
                                             "(05 R-PX-3).")))
    service = update_period if row.item_type == PERIOD else update_resource
    name = period_name(item) if row.item_type == PERIOD else item.name
    try:
        _in_savepoint(lambda: service(item, actor=actor,
                                      **{key: after for key, (_b, after) in changes.items()}))
    except DomainError as error:
        return RefusedRow(row.number, str(error))
    except SQLAlchemyError:
        return RefusedRow(row.number, str(_l("The database refused the row's prices.")))
    return AppliedRow(row=row.number, plan_id=plan.id, plan_name=plan.name,
                      item_type=row.item_type, item_name=name, changes=changes)
