"""The charges list (04a §5.1, WE-1) and the client page's Transactions tab (04b §4.13): columns,
filters, search, export, the running balance, tenancy and who may open them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from portal.billing.models import Charge, ChargeStatus, ChargeType, Transaction
from portal.core.clock import clock
from portal.extensions import db as database
from portal.subscriptions.services.lifecycle import close_charges_manually
from tests.factories import Panel, make_client
from tests.subscriptions import buy, cell, make_world, row_ids, top_up


@pytest.fixture
def world(app, db):
    world = make_world(app)
    world.admin.language = "en"
    world.office = buy(world, name="Office")
    top_up(world.client, "60.00")
    world.backup = buy(world, name="Backup")
    # The office's charges are debited: closed, each with its transaction (04a CH-6).
    close_charges_manually(world.office, actor=None, on=clock.today())
    # A second client of the same reseller, with money received only.
    world.second = make_client(world.reseller)
    top_up(world.second, "25.00")
    db.session.commit()
    return world


@pytest.fixture
def panel(app, world):
    return Panel(app, world.reseller, world.admin)


@pytest.fixture
def other(app, db, world):
    other = make_world(app, name="Elsewhere")
    other.subscription = buy(other, name="Foreign")
    db.session.commit()
    return other


def charges(**where) -> list[Charge]:
    query = select(Charge).order_by(Charge.id.desc())
    for name, value in where.items():
        query = query.where(getattr(Charge, name) == value)
    return list(database.session.scalars(query))


def listed(panel, query: str = "") -> list[int]:
    response = panel.get(f"/charges/?{query}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert 'id="list-charges"' in fragment and "<html" not in fragment
    return row_ids(fragment, "charges")


# --- the charges list -------------------------------------------------------------------------

def test_the_list_shows_the_04a_columns(world, other, panel):
    html = panel.get("/charges/").get_data(as_text=True)
    assert re.findall(r'<th data-column="([a-z_]+)"', html) == [
        "id", "client", "description", "transaction", "status", "discount", "tax", "amount",
        "created_at", "close_date"]
    ours = charges(reseller_id=world.reseller.id)
    assert row_ids(html, "charges") == [c.id for c in ours]
    closed = next(c for c in ours if c.status == ChargeStatus.CLOSED)
    blocked = next(c for c in ours if c.status == ChargeStatus.BLOCKED)
    assert f'href="/clients/{world.client.id}"' in cell(html, "charges", closed.id, "client")
    # CH-6: only a closed charge shows its transaction.
    assert cell(html, "charges", closed.id, "transaction") == str(closed.transaction.id)
    assert cell(html, "charges", blocked.id, "transaction") == ""
    assert "Office" in cell(html, "charges", closed.id, "description")
    assert 'data-status="closed"' in cell(html, "charges", closed.id, "status")
    assert "60.00" in cell(html, "charges", closed.id, "amount")
    assert "0.00" in cell(html, "charges", closed.id, "discount")
    # DD.MM.YYYY HH:MM in the platform zone (12:00 in Moscow).
    assert cell(html, "charges", closed.id, "created_at") == "22.11.2026 12:00"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", cell(html, "charges", closed.id, "close_date"))
    assert not set(row_ids(html, "charges")) & {c.id for c in charges(
        reseller_id=other.reseller.id)}


def test_the_list_filters_and_searches(world, panel):
    ours = charges(reseller_id=world.reseller.id)
    closed = [c.id for c in ours if c.status == ChargeStatus.CLOSED]
    blocked = [c.id for c in ours if c.status == ChargeStatus.BLOCKED]
    assert closed and blocked
    assert listed(panel, "f_status=closed") == closed
    assert listed(panel, "f_status=blocked") == blocked
    assert listed(panel, "f_status=nonsense") == []
    assert listed(panel, "f_charge_type=recurring_fee") == [
        c.id for c in ours if c.charge_type == ChargeType.RECURRING_FEE]
    assert listed(panel, "f_charge_type=setup_fee") == []
    assert listed(panel, f"f_subscription={world.backup.id}") == [
        c.id for c in ours if c.subscription_id == world.backup.id]
    assert listed(panel, f"f_client={world.client.id}") == [c.id for c in ours]
    assert listed(panel, f"f_client={world.second.id}") == []
    assert listed(panel, "f_client=abc") == []
    assert listed(panel, f"id={closed[0]}") == [closed[0]]
    assert listed(panel, "q=backup") == [c.id for c in ours if c.subscription_id == world.backup.id]


def test_another_resellers_charges_are_not_found(world, other, panel):
    foreign = charges(reseller_id=other.reseller.id)
    assert foreign
    assert listed(panel, f"id={foreign[0].id}") == []
    assert listed(panel, f"f_client={other.client.id}") == []


def test_the_export_holds_the_selection(world, panel):
    response = panel.get("/charges/?export=csv&f_status=closed")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["ID", "Client", "Description", "Transaction"]
    closed = [c for c in charges(reseller_id=world.reseller.id)
              if c.status == ChargeStatus.CLOSED]
    assert [int(r[0]) for r in rows[1:]] == [c.id for c in closed]
    assert rows[1][3] == str(closed[0].transaction.id) and rows[1][7] == "60.00"


def test_a_role_without_the_section_gets_403(app, world):
    manager = Panel(app, world.reseller, world.product_manager)
    assert manager.get("/charges/").status_code == 403
    assert manager.get(f"/charges/client/{world.client.id}/transactions").status_code == 403


# --- the client page's Transactions tab ----------------------------------------------------------

def test_transactions_tab_shows_the_running_balance_newest_first(world, panel):
    response = panel.get(f"/charges/client/{world.client.id}/transactions")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="client-tabs"' in html
    ledger = list(database.session.scalars(select(Transaction).where(
        Transaction.client_id == world.client.id).order_by(Transaction.id)))
    # 100.00 in, 60.00 in, the office's 60.00 debited (TRX-2: each row's balance after it).
    assert [(t.change, t.balance_after) for t in ledger] == [
        (100, 100), (60, 160), (-60, 100)]
    assert row_ids(html, "transaction") == [t.id for t in reversed(ledger)]
    top_up_row, _second, debit = ledger
    assert "100.00" in cell(html, "transaction", debit.id, "balance")
    assert "160.00" in cell(html, "transaction", _second.id, "balance")
    # TRX-3: a negative change red, a positive one green.
    assert "change-negative" in cell(html, "transaction", debit.id, "change")
    assert "-RUB60.00" in cell(html, "transaction", debit.id, "change").replace("\xa0", "")
    assert "change-positive" in cell(html, "transaction", top_up_row.id, "change")
    assert "Office" in cell(html, "transaction", debit.id, "description")
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d",
                        cell(html, "transaction", debit.id, "date"))
    second = panel.get(f"/charges/client/{world.second.id}/transactions").get_data(as_text=True)
    assert len(row_ids(second, "transaction")) == 1


def test_transactions_tab_of_another_resellers_client_is_404(world, other, panel):
    assert panel.get(f"/charges/client/{other.client.id}/transactions").status_code == 404
    assert panel.get(f"/charges/client/{world.client.id}/transactions?page=x").status_code == 404
