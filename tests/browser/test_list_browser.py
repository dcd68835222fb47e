"""The staff list in a real Chromium: sign in, search, sort, page, choose columns, export."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.browser.conftest import CHROMIUM, EXTRA_STAFF

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TOTAL = 5 + EXTRA_STAFF  # the demo root's administrator and four role accounts, plus the extra


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        context = browser.new_context(base_url=live_server.url(), accept_downloads=True,
                                      locale="en-US")
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
        finally:
            context.close()
            browser.close()
        assert not errors, errors


def names(page) -> list[str]:
    cells = page.locator("#table-staff tbody td[data-column=name]")
    return [text.strip() for text in cells.all_inner_texts()]


def test_staff_list_in_the_browser(page, live_server):
    from playwright.sync_api import expect

    # Sign in through the login page of the root panel.
    page.goto("/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", "Demo-pass-2026")
    page.click("#login-submit")
    expect(page.locator("#member-name")).to_contain_text("admin@example.com")
    page.click("button[data-lang=en]")
    expect(page.locator("button[data-lang=en].current")).to_be_visible()

    # The menu leads to the staff list.
    page.click("#menu a[data-menu=staff]")
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.locator("#menu a[data-menu=staff]")).to_have_text("Staff and access rights")
    counter = page.locator("#list-counter")
    expect(counter).to_have_text(f"1 - 50 of {TOTAL}")

    # Search: case-insensitive, the list swaps in place and the address keeps the query.
    page.fill("#list-staff input[name=q]", "browser STAFF 1")
    page.click("#list-apply")
    expect(counter).to_have_text("1 - 10 of 10")
    expect(page).to_have_url(re.compile(r"q=browser(%20|\+)STAFF(%20|\+)1"))
    assert sorted(names(page)) == [f"Browser Staff {n}" for n in range(10, 20)]

    # Sort by name: first click ascending, second descending.
    name_header = page.locator("#table-staff th[data-column=name] a")
    name_header.click()
    expect(name_header).to_have_text("Name ▲")
    assert names(page) == [f"Browser Staff {n}" for n in range(10, 20)]
    name_header.click()
    expect(name_header).to_have_text("Name ▼")
    assert names(page) == [f"Browser Staff {n}" for n in range(19, 9, -1)]

    # Clear the search, keep sorting by name descending; page 2 holds the rest.
    page.fill("#list-staff input[name=q]", "")
    page.click("#list-apply")
    expect(counter).to_have_text(f"1 - 50 of {TOTAL}")
    first_page = names(page)
    page.click("#list-staff .pages a[data-page='2']")
    expect(counter).to_have_text(f"51 - {TOTAL} of {TOTAL}")
    second_page = names(page)
    assert len(second_page) == TOTAL - 50
    assert not set(first_page) & set(second_page)
    assert first_page + second_page == sorted(first_page + second_page, reverse=True)

    # Hide the e-mail column; it stays hidden after a reload.
    expect(page.locator("#table-staff th[data-column=email]")).to_have_count(1)
    page.click("#column-chooser summary")
    page.uncheck("#column-chooser input[value=email]")
    expect(page.locator("#table-staff th[data-column=email]")).to_have_count(0)
    expect(page.locator("#table-staff th[data-column=name]")).to_have_count(1)
    page.reload()
    expect(counter).to_have_text(f"51 - {TOTAL} of {TOTAL}")
    expect(page.locator("#table-staff th[data-column=email]")).to_have_count(0)
    expect(page.locator("#table-staff td[data-column=email]")).to_have_count(0)
    expect(page.locator("#column-chooser input[value=email]")).not_to_be_checked()

    # Export the selection to CSV: every row of it, the visible columns, in the list's order.
    page.click("#export-menu summary")
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    assert download.suggested_filename == "staff-2026-11-22.csv"
    data = open(download.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["ID", "Name", "Status", "Role"]
    assert len(rows) == 1 + TOTAL
    assert [r[1] for r in rows[1:]] == first_page + second_page
    assert ["Browser Staff 07", "Active", "Sales manager"] in [r[1:] for r in rows]
