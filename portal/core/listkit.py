"""The list kit every list uses: search by ID, full-text search, filters, sorting, paging,
a column chooser remembered per member, and CSV/XLSX export of the current selection
(01 R-LIST-1..6). Large exports run as a background operation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import String, cast, false, func, or_, select

from portal.extensions import db

PAGE_SIZES = (50, 100, 150)


@dataclass
class Column:
    key: str
    label: Any
    sort: Any = None            # SQL expression to order by, or None when not sortable
    search: Any = None          # SQL expression searched by full-text search
    value: Callable | None = None   # row -> plain value (display and export)
    render: Callable | None = None  # row -> Markup for the cell
    default: bool = True        # shown until the member chooses columns

    def plain(self, row):
        if self.value is not None:
            return self.value(row)
        return getattr(row, self.key, None)

    def cell(self, row) -> Markup:
        if self.render is not None:
            return self.render(row)
        return escape(display(self.plain(row)))


@dataclass
class Filter:
    key: str
    label: Any
    column: Any
    choices: list[tuple[str, Any]] | None = None  # exact match from a list; None: partial text

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        if self.choices is not None:
            if value not in {c for c, _ in self.choices}:
                return query.where(false())
            return query.where(self.column == value)
        return query.where(func.lower(cast(self.column, String)).contains(value.lower(),
                                                                         autoescape=True))


@dataclass
class ListDefinition:
    key: str
    title: Any
    model: Any
    query: Callable            # query(reseller) -> Select of model rows inside the tenant
    columns: list[Column]
    filters: list[Filter] = field(default_factory=list)
    permission: str = ""
    default_sort: str = "-id"

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


LISTS: dict[str, ListDefinition] = {}


def register_list(definition: ListDefinition) -> ListDefinition:
    LISTS[definition.key] = definition
    return definition


def display(value) -> str:
    from portal.core.formatting import as_date, as_datetime  # noqa: PLC0415

    if value is None:
        return ""
    if isinstance(value, bool):
        from flask_babel import gettext as _  # noqa: PLC0415

        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return as_datetime(value)
    if isinstance(value, date):
        return as_date(value)
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


@dataclass
class ListState:
    """What the request asked for: parsed, validated, and ready to put back into URLs."""

    id: str = ""
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = ""
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, definition: ListDefinition, args, *, per_page: int | None = None):
        def as_int(name, default):
            try:
                return int(args.get(name, default))
            except (TypeError, ValueError):
                return default

        size = as_int("per_page", per_page or 50)
        sort = args.get("sort") or definition.default_sort
        sort_key = sort.lstrip("-")
        column = definition.column(sort_key)
        if sort_key != "id" and (column is None or column.sort is None):
            sort = definition.default_sort
        return cls(
            id=(args.get("id") or "").strip(), q=(args.get("q") or "").strip(),
            filters={f.key: (args.get(f"f_{f.key}") or "").strip() for f in definition.filters},
            sort=sort, page=max(1, as_int("page", 1)),
            per_page=size if size in PAGE_SIZES else 50)

    def args(self, **override) -> dict:
        data = {"id": self.id, "q": self.q, "sort": self.sort, "page": self.page,
                "per_page": self.per_page}
        data.update({f"f_{k}": v for k, v in self.filters.items()})
        data.update(override)
        return {k: v for k, v in data.items() if v not in ("", None)}

    def next_sort(self, key: str) -> str:
        """First click sorts ascending; clicking the same column again reverses (R-LIST-3)."""
        if self.sort == key:
            return f"-{key}"
        return key


@dataclass
class ListPage:
    definition: ListDefinition
    state: ListState
    rows: list
    total: int
    columns: list[Column]
    all_columns: list[Column]

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.state.page - 1) * self.state.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.state.page * self.state.per_page)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.state.per_page))

    def page_numbers(self) -> list[int]:
        current, pages = self.state.page, self.pages
        wanted = {1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)}
        return sorted(wanted)


def visible_columns(definition: ListDefinition, chosen: list[str] | None) -> list[Column]:
    if chosen:
        picked = [c for c in definition.columns if c.key in chosen]
        if picked:
            return picked
    return [c for c in definition.columns if c.default]


def filtered_query(definition: ListDefinition, reseller, state: ListState, columns: list[Column]):
    """The tenant's rows matching ID, full-text search and filters, in the chosen order."""
    query = definition.query(reseller)
    model = definition.model
    if state.id:
        try:
            query = query.where(model.id == int(state.id))
        except ValueError:
            query = query.where(false())
    if state.q:
        needle = state.q.lower()
        searchable = [c.search for c in columns if c.search is not None]
        if searchable:
            query = query.where(or_(*[func.lower(cast(expr, String)).contains(needle, autoescape=True)
                                      for expr in searchable]))
    for flt in definition.filters:
        query = flt.apply(query, state.filters.get(flt.key, ""))
    key = state.sort.lstrip("-")
    descending = state.sort.startswith("-")
    column = definition.column(key)
    expr = model.id if key == "id" or column is None or column.sort is None else column.sort
    order = [expr.desc() if descending else expr.asc()]
    if expr is not model.id:
        order.append(model.id.desc() if descending else model.id.asc())  # stable tie-break (E3)
    return query.order_by(*order)


def run_list(definition: ListDefinition, reseller, state: ListState,
             chosen_columns: list[str] | None) -> ListPage:
    columns = visible_columns(definition, chosen_columns)
    query = filtered_query(definition, reseller, state, columns)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // state.per_page))
    state.page = min(state.page, pages)
    rows = db.session.scalars(
        query.limit(state.per_page).offset((state.page - 1) * state.per_page)).all()
    return ListPage(definition, state, rows, total, columns, definition.columns)


# -- export ---------------------------------------------------------------------------------

def export_value(value):
    if value is None:
        return ""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value if isinstance(value, int | bool) else str(value)


def iter_export_rows(definition, reseller, state, columns, *, batch: int = 1000, progress=None):
    query = filtered_query(definition, reseller, state, columns)
    done = 0
    for row in db.session.scalars(query.execution_options(yield_per=batch)):
        yield [export_value(c.plain(row)) for c in columns]
        done += 1
        if progress is not None and done % batch == 0:
            progress(done)


def write_export(fmt: str, columns, rows) -> tuple[bytes, str]:
    """The file bytes and content type of an export in fmt ("csv" or "xlsx")."""
    headers = [str(c.label) for c in columns]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        # A BOM lets spreadsheet programs read the UTF-8 (Cyrillic) correctly.
        return ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    from openpyxl import Workbook  # noqa: PLC0415

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
