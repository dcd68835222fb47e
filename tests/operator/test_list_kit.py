"""The list kit as a member sees it: search, filters, sorting, paging, columns and export
(01 R-LIST-1..6), through the real views of the staff and resellers lists."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook

from portal.accounts.models import Role, StaffStatus
from portal.core import jobs
from portal.tenancy.services.resellers import update_reseller
from tests.factories import Panel, make_reseller, make_root, make_staff

HX = {"HX-Request": "true"}
CSV_HEADER = ["ID", "Name", "E-mail", "Status", "Role"]


# -- helpers ---------------------------------------------------------------------------------

def fragment(response, element_id: str) -> str:
    """The element with element_id (to its matching close tag) out of a response's HTML."""
    text = response.get_data(as_text=True)
    match = re.search(r'<(\w+)[^>]*\bid="%s"' % re.escape(element_id), text)
    assert match, f'no id="{element_id}" in the response'
    tag, depth, pos = match.group(1), 0, match.start()
    for token in re.finditer(r"<(/?)%s\b[^>]*>" % tag, text[pos:]):
        depth += -1 if token.group(1) else 1
        if depth == 0:
            return text[pos: pos + token.end()]
    raise AssertionError(f'id="{element_id}" is not closed')


def counter(response) -> str:
    return re.sub(r"<[^>]+>", "", fragment(response, "list-counter")).strip()


def row_ids(response, key: str) -> list[int]:
    found = re.findall(r'<tr id="%s-(\d+)"' % key, fragment(response, f"list-{key}"))
    return [int(n) for n in found]


def cells(response, key: str, column: str) -> list[str]:
    table = fragment(response, f"table-{key}")
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r'<td data-column="%s">(.*?)</td>' % column, table, re.S)]


def headers(response, key: str) -> list[str]:
    return re.findall(r'<th data-column="([^"]+)"', fragment(response, f"table-{key}"))


def link(response, pattern: str) -> str:
    """The href of the first <a> whose attributes match pattern (a regex)."""
    for tag in re.findall(r"<a\b[^>]*>", response.get_data(as_text=True)):
        if re.search(pattern, tag):
            return html.unescape(re.search(r'href="([^"]*)"', tag).group(1))
    raise AssertionError(f"no link matching {pattern!r}")


def sort_link(response, key: str, column: str) -> str:
    th = re.search(r'<th data-column="%s">(.*?)</th>' % column,
                   fragment(response, f"table-{key}"), re.S)
    assert th, f"no {column} column"
    return html.unescape(re.search(r'href="([^"]*)"', th.group(1)).group(1))


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def root(db):
    return make_root()


@pytest.fixture
def admin(root):
    return make_staff(root, name="Zed Admin", email="zed.admin@root.test", language="en")


@pytest.fixture
def panel(app, admin):
    return Panel(app, admin.reseller, admin)


@pytest.fixture
def people(db, root):
    """Staff of the root operator with Cyrillic and Latin names, two of them inactive."""
    rows = [("Иван Петров", "ivan@corp.test", Role.SALES_MANAGER, StaffStatus.ACTIVE),
            ("Мария Иванова", "maria@corp.test", Role.PRODUCT_MANAGER, StaffStatus.INACTIVE),
            ("John Smith", "jsmith@other.test", Role.SALES_MANAGER, StaffStatus.ACTIVE),
            ("Olga Orlova", "olga@corp.test", Role.MARKETING_SPECIALIST, StaffStatus.INACTIVE)]
    members = {}
    for name, email, role, status in rows:
        member = make_staff(root, name=name, email=email, role=role)
        member.status = status
        members[name] = member
    db.session.flush()
    return members


@pytest.fixture
def sync_limit(app):
    """Lets a test lower EXPORT_SYNC_LIMIT; the old value comes back afterwards."""
    old = app.config["EXPORT_SYNC_LIMIT"]
    yield lambda value: app.config.__setitem__("EXPORT_SYNC_LIMIT", value)
    app.config["EXPORT_SYNC_LIMIT"] = old


# -- search and filters ----------------------------------------------------------------------

def test_list_page_and_htmx_partial(panel, people):
    page = panel.get("/staff")
    assert page.status_code == 200
    assert 'id="menu"' in page.get_data(as_text=True)
    partial = panel.get("/staff", headers=HX)
    text = partial.get_data(as_text=True)
    assert partial.status_code == 200
    assert text.lstrip().startswith('<div id="list-staff"')
    assert 'id="menu"' not in text
    assert set(row_ids(partial, "staff")) >= {m.id for m in people.values()}


def test_search_by_id_is_exact(panel, people, root):
    ivan = people["Иван Петров"]
    # More members so that some ids contain Ivan's id as a part (e.g. 7 in 17, 27).
    for _ in range(12):
        make_staff(root)
    response = panel.get(f"/staff?id={ivan.id}", headers=HX)
    assert row_ids(response, "staff") == [ivan.id]
    assert counter(response) == "1 - 1 of 1"
    response = panel.get(f"/staff?id=%20{ivan.id}%20", headers=HX)
    assert row_ids(response, "staff") == [ivan.id]
    for wrong in ("abc", "999999"):
        response = panel.get(f"/staff?id={wrong}", headers=HX)
        assert row_ids(response, "staff") == []
        assert "Nothing found." in fragment(response, "table-staff")
        assert counter(response) == "0 - 0 of 0"


@pytest.mark.parametrize("query", ["иван", "ИВАН", "Иван", "иВаН"])
def test_search_is_case_insensitive_for_cyrillic(panel, people, query):
    response = panel.get("/staff", query_string={"q": query}, headers=HX)
    assert sorted(cells(response, "staff", "name")) == ["Иван Петров", "Мария Иванова"]


def test_search_looks_through_every_visible_column(panel, people):
    by_email = panel.get("/staff", query_string={"q": "OTHER.TEST"}, headers=HX)
    assert cells(by_email, "staff", "name") == ["John Smith"]
    by_name = panel.get("/staff", query_string={"q": "  smith "}, headers=HX)
    assert cells(by_name, "staff", "name") == ["John Smith"]
    # The value stays in the search box for the next request.
    assert 'name="q" value="smith"' in fragment(by_name, "list-staff")
    # LIKE wildcards typed by the member are plain characters.
    for wildcard in ("%", "_"):
        response = panel.get("/staff", query_string={"q": wildcard}, headers=HX)
        assert row_ids(response, "staff") == [], wildcard


def test_choice_filter(panel, people):
    inactive = panel.get("/staff?f_status=inactive", headers=HX)
    assert sorted(cells(inactive, "staff", "name")) == ["Olga Orlova", "Мария Иванова"]
    assert set(cells(inactive, "staff", "status")) == {"Inactive"}
    assert re.search(r'<option value="inactive" selected>', fragment(inactive, "list-staff"))
    sales = panel.get("/staff?f_role=sales_manager&f_status=active", headers=HX)
    assert sorted(cells(sales, "staff", "name")) == ["John Smith", "Иван Петров"]
    unknown = panel.get("/staff?f_status=deleted", headers=HX)
    assert row_ids(unknown, "staff") == []


def test_text_filter_matches_part_after_trimming(panel, people):
    response = panel.get("/staff", query_string={"f_email": "  @CORP.test  "}, headers=HX)
    assert sorted(cells(response, "staff", "name")) == ["Olga Orlova", "Иван Петров",
                                                       "Мария Иванова"]
    assert 'name="f_email" value="@CORP.test"' in fragment(response, "list-staff")
    # Filters and the search narrow down together.
    response = panel.get("/staff", query_string={"f_email": "corp", "q": "иван",
                                                 "f_status": "active"}, headers=HX)
    assert cells(response, "staff", "name") == ["Иван Петров"]


# -- sorting ---------------------------------------------------------------------------------

def test_sorting_first_click_ascending_then_descending_ties_by_id(panel, root):
    names = ["Sortme Charlie", "Sortme Bravo", "Sortme Alpha", "Sortme Bravo", "Sortme Delta"]
    members = [make_staff(root, name=name) for name in names]
    bravo = sorted(m.id for m in members if m.name == "Sortme Bravo")
    by_name = {m.name: m.id for m in members if m.name != "Sortme Bravo"}

    start = panel.get("/staff?q=Sortme", headers=HX)
    # Newest first until the member picks a column.
    assert row_ids(start, "staff") == sorted((m.id for m in members), reverse=True)

    ascending = panel.get(sort_link(start, "staff", "name"), headers=HX)
    assert row_ids(ascending, "staff") == [by_name["Sortme Alpha"], *bravo,
                                           by_name["Sortme Charlie"], by_name["Sortme Delta"]]
    assert "Name ▲" in fragment(ascending, "table-staff")

    descending = panel.get(sort_link(ascending, "staff", "name"), headers=HX)
    assert row_ids(descending, "staff") == [by_name["Sortme Delta"], by_name["Sortme Charlie"],
                                            *reversed(bravo), by_name["Sortme Alpha"]]
    assert "Name ▼" in fragment(descending, "table-staff")
    # The search is kept while sorting.
    assert "q=Sortme" in sort_link(descending, "staff", "name")

    # A column that cannot be sorted falls back to the default order.
    fallback = panel.get("/staff?q=Sortme&sort=password_hash", headers=HX)
    assert row_ids(fallback, "staff") == row_ids(start, "staff")


# -- paging ----------------------------------------------------------------------------------

def test_paging_counter_and_page_sizes(panel, root):
    for n in range(120):
        make_staff(root, name=f"Pager {n:03d}")
    total = 122  # the 120, the root's first administrator and the signed-in admin

    first = panel.get("/staff", headers=HX)
    assert counter(first) == f"1 - 50 of {total}"
    assert len(row_ids(first, "staff")) == 50

    second = panel.get(link(first, r'data-page="2"'), headers=HX)
    assert counter(second) == f"51 - 100 of {total}"
    third = panel.get(link(second, r'rel="next"'), headers=HX)
    assert counter(third) == f"101 - {total} of {total}"
    assert len(row_ids(third, "staff")) == total - 100
    assert 'rel="next"' not in fragment(third, "list-staff")
    seen = row_ids(first, "staff") + row_ids(second, "staff") + row_ids(third, "staff")
    assert len(set(seen)) == total  # every member exactly once

    # A page past the end shows the last one.
    assert counter(panel.get("/staff?page=99", headers=HX)) == f"101 - {total} of {total}"

    hundred = panel.get(link(first, r'data-per-page="100"'), headers=HX)
    assert counter(hundred) == f"1 - 100 of {total}"
    assert len(row_ids(hundred, "staff")) == 100
    # The page size is remembered for this member.
    assert counter(panel.get("/staff", headers=HX)) == f"1 - 100 of {total}"
    assert counter(panel.get("/staff?page=2", headers=HX)) == f"101 - {total} of {total}"

    everything = panel.get("/staff?per_page=150", headers=HX)
    assert counter(everything) == f"1 - {total} of {total}"
    assert len(row_ids(everything, "staff")) == total

    # Only 50, 100 and 150 are offered.
    assert counter(panel.get("/staff?per_page=7", headers=HX)) == f"1 - 50 of {total}"


def test_paging_resellers_list(app, root, admin):
    for n in range(60):
        make_reseller(root, name=f"Reseller page {n:02d}")
    panel = Panel(app, root, admin)
    first = panel.get("/resellers", headers=HX)
    assert counter(first) == "1 - 50 of 60"
    second = panel.get(link(first, r'data-page="2"'), headers=HX)
    assert counter(second) == "51 - 60 of 60"
    assert not set(row_ids(first, "resellers")) & set(row_ids(second, "resellers"))


# -- column chooser --------------------------------------------------------------------------

def test_column_chooser_is_remembered_per_member(app, panel, root, people):
    other_admin = make_staff(root, name="Other Admin", language="en")
    assert headers(panel.get("/staff", headers=HX), "staff") == ["id", "name", "email", "status",
                                                                 "role"]

    response = panel.post("/lists/staff/columns", headers=HX,
                          data={"columns": ["id", "name", "role", "created_at", "bogus"]})
    assert response.status_code == 204
    assert response.headers["HX-Trigger"] == "list-changed-staff"

    again = panel.get("/staff", headers=HX)
    assert headers(again, "staff") == ["id", "name", "role", "created_at"]
    assert 'data-column="email"' not in fragment(again, "table-staff")
    chooser = fragment(again, "column-chooser")
    assert re.search(r'value="email">', chooser)  # offered, unchecked
    assert re.search(r'value="created_at" checked>', chooser)
    # The full page (a reload) has the same columns.
    assert headers(panel.get("/staff"), "staff") == ["id", "name", "role", "created_at"]
    # Search covers the visible columns only: e-mail is hidden now.
    assert row_ids(panel.get("/staff?q=other.test", headers=HX), "staff") == []

    other = Panel(app, root, other_admin)
    assert headers(other.get("/staff", headers=HX), "staff") == ["id", "name", "email", "status",
                                                                 "role"]

    # Unchecking the last box never leaves the list without columns: the choice stays.
    assert panel.post("/lists/staff/columns", headers=HX, data={}).status_code == 204
    assert headers(panel.get("/staff", headers=HX), "staff") == ["id", "name", "role", "created_at"]


def test_column_chooser_of_a_list_the_member_cannot_see(app, root, people):
    sales = make_staff(root, name="Sales Person", role=Role.SALES_MANAGER, language="en")
    panel = Panel(app, root, sales)
    assert panel.get("/staff").status_code == 403
    assert panel.post("/lists/staff/columns", data={"columns": ["id"]}).status_code == 404
    assert panel.post("/lists/nope/columns", data={"columns": ["id"]}).status_code == 404


# -- export ----------------------------------------------------------------------------------

def test_csv_export_of_the_current_selection(panel, people):
    panel.post("/lists/staff/columns", headers=HX, data={"columns": ["id", "name", "role"]})
    listing = panel.get("/staff?f_email=corp&sort=name", headers=HX)
    export_url = link(listing, r'id="export-csv"')
    assert parse_qs(urlsplit(export_url).query)["f_email"] == ["corp"]

    response = panel.get(export_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="staff-2026-11-22.csv"'
    rows = read_csv(response.data)
    ordered = sorted(["Иван Петров", "Мария Иванова", "Olga Orlova"])
    assert rows[0] == ["ID", "Name", "Role"]
    assert [r[1] for r in rows[1:]] == [n for n in cells(listing, "staff", "name")]
    assert sorted(r[1] for r in rows[1:]) == ordered
    ivan = people["Иван Петров"]
    assert [str(ivan.id), "Иван Петров", "Sales manager"] in rows


def test_xlsx_export(panel, people):
    listing = panel.get("/staff?f_status=inactive&sort=-name", headers=HX)
    response = panel.get(link(listing, r'id="export-xlsx"'))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "staff-2026-11-22.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    maria, olga = people["Мария Иванова"], people["Olga Orlova"]
    expected = {olga.id: [olga.id, "Olga Orlova", "olga@corp.test", "Inactive",
                          "Marketing specialist"],
                maria.id: [maria.id, "Мария Иванова", "maria@corp.test", "Inactive",
                           "Product manager"]}
    # The rows in the order the list shows them (descending by name).
    assert rows == [CSV_HEADER, *(expected[i] for i in row_ids(listing, "staff"))]
    assert isinstance(rows[1][0], int)  # numbers stay numbers in the spreadsheet


def _background_export(panel, url):
    response = panel.get(url)
    assert response.status_code == 302
    target = response.headers["Location"]
    assert re.search(r"/operations/\d+$", target)
    return urlsplit(target).path


def test_large_export_runs_in_background(app, panel, root, sync_limit):
    for n in range(12):
        make_staff(root, name=f"Bulk Ёлкин {n:02d}", email=f"bulk{n}@bulk.test")
    sync_limit(5)
    url = "/staff?export=csv&q=bulk.test&sort=name"

    # From htmx the export answers with a redirect htmx follows.
    hx = panel.get(url, headers=HX)
    assert hx.status_code == 204
    assert re.search(r"/operations/\d+$", hx.headers["HX-Redirect"])

    operation = _background_export(panel, url)
    waiting = panel.get(operation)
    assert waiting.status_code == 200
    status = fragment(waiting, "operation-status")
    assert "In progress: 0 of 12 rows." in status
    assert 'id="operation-download"' not in waiting.get_data(as_text=True)
    assert "0%" in fragment(waiting, "operation-percent")
    assert 'hx-trigger="load delay:1s"' in waiting.get_data(as_text=True)  # it polls itself

    with app.app_context():
        jobs.drain()

    done = panel.get(operation, headers=HX)
    assert fragment(done, "operation-percent").endswith(">100%</span>")
    assert "Ready." in fragment(done, "operation-status")
    assert 'hx-trigger="load' not in done.get_data(as_text=True)  # polling stops
    download = panel.get(link(done, r'id="operation-download"'))
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="staff-2026-11-22.csv"'
    rows = read_csv(download.data)
    assert rows[0] == CSV_HEADER
    assert [r[1] for r in rows[1:]] == [f"Bulk Ёлкин {n:02d}" for n in range(12)]

    # The background file is the same file a small export downloads at once.
    sync_limit(1000)
    assert panel.get(url).data == download.data

    # ... in the language of the page, here after switching the panel to Russian.
    panel.post("/language/ru", data={"next": "/staff"})
    russian_sync = panel.get(url).data
    assert read_csv(russian_sync)[0] == ["ID", "Имя", "Электронная почта", "Статус", "Роль"]
    sync_limit(5)
    operation = _background_export(panel, url)
    with app.app_context():
        jobs.drain()
    assert panel.get(operation + "/download").data == russian_sync


def test_background_export_is_private_to_its_member(app, panel, root, people, sync_limit):
    sync_limit(1)
    operation = _background_export(panel, "/staff?export=xlsx")
    with app.app_context():
        jobs.drain()
    other = Panel(app, root, make_staff(root, name="Nosy Admin"))
    assert other.get(operation).status_code == 404
    assert other.get(operation + "/download").status_code == 404


def test_email_export_to_me(app, panel, root, admin, people, sync_limit, smtp_server):
    update_reseller(root, smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    sync_limit(2)
    operation = _background_export(panel, "/staff?export=csv&f_email=corp.test&sort=name")
    with app.app_context():
        jobs.drain()
    page = panel.get(operation, headers=HX)
    assert 'id="operation-email"' in fragment(page, operation.replace("/operations/", "operation-"))

    answer = panel.post(operation + "/email", headers=HX)
    assert answer.status_code == 200
    assert "The file will be e-mailed to you." in fragment(answer, "operation-email-note")
    assert 'id="operation-email"' not in answer.get_data(as_text=True)
    with app.app_context():
        jobs.drain()

    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == admin.email
    assert "staff-2026-11-22.csv" in message["Subject"]
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["staff-2026-11-22.csv"]
    attached = attachments[0].get_payload(decode=True)
    assert attached == panel.get(operation + "/download").data
    assert sorted(r[1] for r in read_csv(attached)[1:]) == ["Olga Orlova", "Иван Петров",
                                                            "Мария Иванова"]
    assert "The file was e-mailed to you." in panel.get(operation).get_data(as_text=True)


def test_email_requested_before_the_export_is_ready(app, panel, root, admin, people, sync_limit,
                                                    smtp_server):
    update_reseller(root, smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    sync_limit(1)
    operation = _background_export(panel, "/staff?export=xlsx&q=corp.test")
    answer = panel.post(operation + "/email", headers=HX)
    assert "The file will be e-mailed to you." in answer.get_data(as_text=True)
    with app.app_context():
        jobs.drain()
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == admin.email
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "staff-2026-11-22.xlsx"
    sheet = load_workbook(io.BytesIO(attachment.get_payload(decode=True))).active
    names = sorted(row[1] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert names == ["Olga Orlova", "Иван Петров", "Мария Иванова"]


# -- tenancy ---------------------------------------------------------------------------------

def test_lists_never_show_another_resellers_rows(app, panel, root, people, sync_limit):
    acme = make_reseller(root, name="Acme Tenant", slug="acmetenant")
    beta = make_reseller(acme, name="Beta Tenant", slug="betatenant")
    gamma = make_reseller(root, name="Gamma Tenant", slug="gammatenant")
    acme_admin = make_staff(acme, name="Иван Acme", email="ivan@acme.test", language="en")
    make_staff(beta, name="Иван Beta", email="ivan@beta.test")

    # The root sees its own staff only, whatever it searches for.
    response = panel.get("/staff", query_string={"q": "иван"}, headers=HX)
    assert sorted(cells(response, "staff", "name")) == ["Иван Петров", "Мария Иванова"]
    assert row_ids(panel.get(f"/staff?id={acme_admin.id}", headers=HX), "staff") == []
    exported = read_csv(panel.get("/staff?export=csv&q=иван").data)
    assert sorted(r[1] for r in exported[1:]) == ["Иван Петров", "Мария Иванова"]

    acme_panel = Panel(app, acme, acme_admin)
    staff = acme_panel.get("/staff", headers=HX)
    assert cells(staff, "staff", "name") == ["Иван Acme"]
    assert row_ids(acme_panel.get(f"/staff?id={people['Иван Петров'].id}", headers=HX),
                   "staff") == []
    # Acme's resellers list holds the resellers below it, never its siblings or the root.
    resellers = acme_panel.get("/resellers", headers=HX)
    assert row_ids(resellers, "resellers") == [beta.id]
    assert row_ids(acme_panel.get("/resellers?q=Tenant", headers=HX), "resellers") == [beta.id]
    assert row_ids(acme_panel.get(f"/resellers?id={gamma.id}", headers=HX), "resellers") == []

    # Background exports too.
    sync_limit(0)
    operation = _background_export(acme_panel, "/staff?export=csv")
    with app.app_context():
        jobs.drain()
    rows = read_csv(acme_panel.get(operation + "/download").data)
    assert [r[1] for r in rows[1:]] == ["Иван Acme"]
