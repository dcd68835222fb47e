"""The operator home page (01 R-HOME-1, S8): the search box over clients and client users (and
whatever later areas register), the member's own clients, and clients by status (A-32)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from portal.accounts.models import Role
from portal.clients.models import ClientStatus
from portal.operator.search import (SEARCH_PROVIDERS, SearchHit, SearchProvider, id_in,
                                    register_search)
from tests.factories import (Panel, make_client, make_client_type, make_reseller, make_root,
                             make_service_rule, make_staff, make_user)


def plain(html: str) -> str:
    text = re.sub(r"<[^>]+>", " ", html).replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip()


def results(response) -> dict[str, list[str]]:
    """{provider key: [hit text]} of the search results."""
    html = response.get_data(as_text=True)
    block = re.search(r'<div id="search-results".*?</div>\s*(?=</section>|$)', html, re.S)
    assert block, "no search results block"
    groups = {}
    for key, body in re.findall(r'data-provider="([^"]+)">(.*?)</ul>', block.group(0), re.S):
        groups[key] = [plain(item) for item in re.findall(r"<li>(.*?)</li>", body, re.S)]
    return groups


@pytest.fixture
def home(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    seller = make_staff(reseller, role=Role.SALES_MANAGER, name="Boris Seller")
    client_type = make_client_type(reseller)
    rule = make_service_rule(reseller)

    def client(name, **kw):
        return make_client(reseller, client_type=client_type, service_rule=rule,
                           primary_name=name, **kw)

    horns = client("Рога и копыта", manager_id=seller.id, owner_email="boss@horns.example")
    hooves = client("Копыта и хвосты", manager_id=seller.id)
    other = client("Other Ltd")
    blocked = client("Blocked Ltd")
    blocked.status = ClientStatus.ADMIN_BLOCKED
    gone = client("Gone Ltd", manager_id=seller.id)
    gone.status = ClientStatus.DELETED
    lone = make_user(reseller, email="lone.user@example.com", first_name="Lone",
                     last_name="Wolf")
    stranger = make_client(make_reseller(root, name="Stranger"), primary_name="Рога чужие")
    db.session.commit()
    return SimpleNamespace(reseller=reseller, seller=seller, horns=horns, hooves=hooves,
                           other=other, blocked=blocked, gone=gone, lone=lone,
                           stranger=stranger, panel=Panel(app, reseller, seller))


def test_home_shows_search_my_clients_and_counts(db, home):
    html = home.panel.get("/").get_data(as_text=True)
    assert 'id="home-search-q"' in html
    my_block = re.search(r'<section class="card" id="my-block">(.*?)</section>', html, re.S)
    assert 'href="/clients?manager=me"' in my_block.group(1)
    assert "(2)" in plain(my_block.group(1))  # deleted clients are not counted
    listed = re.findall(r'href="/clients/(\d+)"', my_block.group(1))
    assert listed == [str(home.hooves.id), str(home.horns.id)]
    counts = dict(re.findall(r'<tr data-status="([a-z_]+)">.*?<td class="count">(\d+)</td>',
                             html, re.S))
    assert counts == {"active": "3", "admin_blocked": "1", "financially_blocked": "0",
                      "deleted": "1"}
    assert plain(re.search(r'id="clients-total">(.*?)<', html).group(1)) == "5"
    assert 'href="/clients?f_status=deleted"' in html


def test_my_clients_link_opens_the_filtered_list(db, home):
    response = home.panel.get("/clients?manager=me")
    assert response.status_code == 302
    html = home.panel.get(response.headers["Location"]).get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<tr id="clients-(\d+)">', html)]
    assert ids == [home.hooves.id, home.horns.id]


def test_search_by_name_finds_clients_in_any_case(db, home):
    found = results(home.panel.get("/search?q=КОПЫТА"))
    assert found["clients"] == [f"ID{home.hooves.id} - Копыта и хвосты Активен",
                                f"ID{home.horns.id} - Рога и копыта Активен"]
    assert "client_users" not in found


def test_search_by_id_puts_that_client_first(db, home):
    found = results(home.panel.get(f"/search?q=ID{home.other.id}"))
    assert found["clients"][0].startswith(f"ID{home.other.id} - Other Ltd")
    assert id_in(f"#{home.other.id}") == home.other.id and id_in("12abc") is None


def test_search_finds_client_users_by_email_and_name(db, home):
    assert results(home.panel.get("/search?q=lone.user"))["client_users"] == [
        f"ID{home.lone.id} - Lone Wolf lone.user@example.com"]
    assert results(home.panel.get("/search?q=wolf lone"))["client_users"][0].startswith(
        f"ID{home.lone.id} - Lone Wolf")
    owner = home.horns.owner
    assert results(home.panel.get("/search?q=BOSS@horns"))["client_users"] == [
        f"ID{owner.id} - {owner.full_name} boss@horns.example"]


def test_search_stays_inside_the_reseller(db, home):
    found = results(home.panel.get("/search?q=рога"))
    assert [h.split(" - ")[0] for h in found["clients"]] == [f"ID{home.horns.id}"]
    assert "clients" not in results(home.panel.get(f"/search?q={home.stranger.id}"))


def test_htmx_search_answers_with_the_results_block_only(db, home):
    response = home.panel.get("/search?q=Other", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="search-results"')
    assert "<html" not in html and f'href="/clients/{home.other.id}"' in html


def test_too_short_or_empty_queries_find_nothing(db, home):
    html = home.panel.get("/search?q=a", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="search-nothing"' in html and "data-provider" not in html


def test_later_areas_register_their_own_search(db, home):
    def find_orders(reseller, query, limit):
        return [SearchHit(f"Order {query}", "/orders/1", reseller.name)]

    previous = SEARCH_PROVIDERS.get("orders")
    register_search(SearchProvider("orders", "Orders", "orders.view", find_orders, weight=5))
    try:
        found = results(home.panel.get("/search?q=77"))
        assert list(found)[0] == "orders"
        assert found["orders"] == ["Order 77 Distributor"]
    finally:
        if previous is not None:
            SEARCH_PROVIDERS["orders"] = previous
        else:
            SEARCH_PROVIDERS.pop("orders")


def test_a_product_manager_sees_no_client_blocks(app, db, home):
    product = make_staff(home.reseller, role=Role.PRODUCT_MANAGER)
    db.session.commit()
    panel = Panel(app, home.reseller, product)
    html = panel.get("/").get_data(as_text=True)
    assert panel.get("/").status_code == 200
    for block in ('id="home-search"', 'id="my-block"', 'id="client-chart"'):
        assert block not in html
    assert "data-provider" not in panel.get("/search?q=Рога").get_data(as_text=True)
