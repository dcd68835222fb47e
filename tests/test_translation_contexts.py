"""One English word, several Russian ones: message contexts (pgettext) keep them apart.

The order's button «Изменить» beside the transactions' column «Изменение» (03 S2, 04b §4.13),
a status in the gender of what it describes (подписка «Активная», клиент «Активен»; задача
«Завершена», заказ «Завершен»: 02 E-1, 01 §2.4, 03 §2.1–2.2) and a charge type beside the plan
price of the same name (04a §2.1 «Плата за установку», 05 §2.9 «Стоимость установки").
These pass once the catalogue is regenerated with the contexts and they are translated.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from portal.core.clock import clock
from portal.extensions import db
from portal.orders.models import Order, OrderStatus, Task, TaskStatus
from portal.orders.services.ordering import place_sales_order
from portal.subscriptions.models import SubscriptionStatus
from tests.factories import Panel, make_staff
from tests.orders.factories import ensure_provisioning_pages
from tests.subscriptions import buy, make_world


def plain(html: str) -> str:
    text = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip()


def element(html: str, element_id: str) -> str:
    """The markup inside the element with this id (which holds no element of its own tag)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id}"
    return match.group(2)


def headers(html: str, table_id: str) -> list[str]:
    return [plain(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", element(html, table_id), re.S)]


def status_cell(html: str, row_id: str) -> str:
    row = element(html, row_id)
    match = re.search(r'<td data-column="status"[^>]*>(.*?)</td>', row, re.S)
    assert match, f"no status in #{row_id}"
    return plain(match.group(1))


@pytest.fixture
def world(app, db):
    ensure_provisioning_pages(app)
    world = make_world(app)
    world.admin.language = "ru"
    world.office = buy(world, name="Office")  # paid and provisioned: active, order completed
    db.session.commit()
    return world


@pytest.fixture
def panel(app, world):
    return Panel(app, world.reseller, world.admin)


def test_the_order_says_izmenit_and_the_transactions_say_izmenenie(world, panel):
    order = place_sales_order(world.client, world.plan, world.plan.periods[0], quantities={},
                              actor=None, on=clock.today(), name="Backup")
    db.session.commit()
    assert order.status == OrderStatus.WAITING_FOR_PAYMENT  # the order may still be changed

    page = panel.get(f"/orders/{order.id}").get_data(as_text=True)
    assert plain(element(page, "change-order")) == "Изменить"
    assert plain(re.search(r"<h3>(.*?)</h3>", element(page, "order-lines"), re.S)
                 .group(1)) == "Детализация"

    tab = panel.get(f"/charges/client/{world.client.id}/transactions").get_data(as_text=True)
    assert headers(tab, "transactions") == ["ID", "Баланс", "Изменение", "Дата", "Описание"]


def test_an_active_subscription_is_aktivnaya_and_its_client_aktiven(world, panel):
    assert world.office.status == SubscriptionStatus.ACTIVE
    tab = panel.get(f"/subscriptions/client/{world.client.id}").get_data(as_text=True)
    assert status_cell(tab, f"subscription-{world.office.id}") == "Активная"

    page = panel.get(f"/clients/{world.client.id}").get_data(as_text=True)
    assert plain(element(page, "client-status")) == "Активен"


def test_a_completed_task_is_zavershena_and_its_order_zavershen(app, db, world, panel):
    order = db.session.scalars(db.select(Order).where(
        Order.subscription_id == world.office.id)).one()
    task = db.session.scalars(db.select(Task).where(
        Task.subscription_id == world.office.id)).first()
    assert order.status == OrderStatus.COMPLETED and task.status == TaskStatus.COMPLETED

    orders = panel.get(f"/orders?q={order.number}").get_data(as_text=True)
    assert status_cell(orders, f"orders-{order.id}") == "Завершен"

    # The task queue is the root operator's alone (03 S3).
    root_admin = make_staff(world.root, language="ru")
    db.session.commit()
    tasks = Panel(app, world.root, root_admin).get(
        "/provisioning/tasks?f_status=completed").get_data(as_text=True)
    assert status_cell(tasks, f"tasks-{task.id}") == "Завершена"


def test_a_setup_fee_charge_is_plata_and_the_plan_price_stoimost(world, panel):
    charges = panel.get("/charges/").get_data(as_text=True)
    option = re.search(r'<option[^>]*value="setup_fee"[^>]*>(.*?)</option>', charges, re.S)
    assert option, "no charge type filter"
    assert plain(option.group(1)) == "Плата за установку"

    plan = panel.get(f"/plans/{world.plan.id}?tab=periods").get_data(as_text=True)
    assert headers(plan, "periods")[2:6] == [
        "Стоимость установки", "Стоимость переноса", "Абонентская плата", "Стоимость продления"]
