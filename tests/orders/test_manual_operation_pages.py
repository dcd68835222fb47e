"""Manual operation pages (03 S4, MO-2, MO-3, EX-8): the reseller's list, the operation page,
approve and decline from the page."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.orders.models import (ManualOperation, ManualOperationStatus, Order, OrderStatus,
                                  TaskAction)
from portal.orders.services import request_provisioning
from tests.factories import Panel, make_reseller, make_root, make_staff
from tests.orders.factories import ensure_provisioning_pages, make_provisioning_subscription


def _run_jobs(app):
    backend = app.extensions["portal_jobs"]
    while not backend.pending.empty():
        path, args = backend.pending.get_nowait()
        module_name, name = path.rsplit(".", 1)
        getattr(importlib.import_module(module_name), name)(*args)


@pytest.fixture
def waiting(app, db):
    """A manual-provisioning install of reseller A's client, waiting for approval."""
    ensure_provisioning_pages(app)
    root = make_root()
    a = make_reseller(root, name="Alpha", slug="alpha-ops")
    b = make_reseller(root, name="Beta", slug="beta-ops")
    subscription, order = make_provisioning_subscription(
        a, connector="manual", settings={"modes": {"install": "manual"}})
    manager = make_staff(a, role=Role.SALES_MANAGER, name="Adam Smith")
    subscription.client.manager_id = manager.id
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    db.session.commit()
    _run_jobs(app)
    operation_id = db.session.scalar(
        select(ManualOperation.id).where(ManualOperation.task_id == task.id))
    return {"a": a, "b": b, "admin": make_staff(a), "manager": manager,
            "b_admin": make_staff(b), "operation_id": operation_id, "order_id": order.id,
            "subscription": subscription}


def _operation(db, waiting) -> ManualOperation:
    db.session.expire_all()
    return db.session.get(ManualOperation, waiting["operation_id"])


def test_the_list_shows_the_manual_columns(app, waiting):
    panel = Panel(app, waiting["a"], waiting["admin"])
    response = panel.get("/provisioning/manual-operations")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    subscription = waiting["subscription"]
    operation_id = waiting["operation_id"]
    assert f'href="/provisioning/manual-operations/{operation_id}"' in html
    assert f"Subscription #{subscription.id}" in html or f"Подписка #{subscription.id}" in html
    assert "Adam Smith" in html  # 03 S4: the client's manager
    assert subscription.client.name in html
    assert subscription.client.service_rule.name in html


def test_another_reseller_sees_nothing(app, waiting):
    panel = Panel(app, waiting["b"], waiting["b_admin"])
    operation_id = waiting["operation_id"]
    html = panel.get("/provisioning/manual-operations").get_data(as_text=True)
    assert f"/provisioning/manual-operations/{operation_id}" not in html
    assert panel.get(f"/provisioning/manual-operations/{operation_id}").status_code == 404
    assert panel.post(
        f"/provisioning/manual-operations/{operation_id}/approve").status_code == 404


def test_approve_from_the_page_completes_the_order(app, db, waiting):
    panel = Panel(app, waiting["a"], waiting["admin"])
    url = f"/provisioning/manual-operations/{waiting['operation_id']}"
    html = panel.get(url).get_data(as_text=True)
    assert 'id="approve-operation"' in html and 'id="decline-operation"' in html
    assert 'id="operation-approved-by"' not in html
    assert panel.post(f"{url}/approve").status_code == 302
    operation = _operation(db, waiting)
    assert operation.status == ManualOperationStatus.APPROVED
    assert operation.approved_by_id == waiting["admin"].id
    assert db.session.get(Order, waiting["order_id"]).status == OrderStatus.COMPLETED
    html = panel.get(url).get_data(as_text=True)
    # MO-3: who approved is shown once approved; the buttons are gone.
    assert 'id="operation-approved-by"' in html and waiting["admin"].name in html
    assert 'id="approve-operation"' not in html and 'id="decline-operation"' not in html
    panel.post(f"{url}/approve")  # twice is refused, nothing changes
    assert _operation(db, waiting).decided_at is not None


def test_decline_from_the_page_with_a_comment(app, db, waiting):
    panel = Panel(app, waiting["a"], waiting["admin"])
    url = f"/provisioning/manual-operations/{waiting['operation_id']}"
    assert panel.post(f"{url}/decline", data={"comment": "No licences left"}).status_code == 302
    operation = _operation(db, waiting)
    assert operation.status == ManualOperationStatus.DECLINED
    assert operation.comment == "No licences left"
    order = db.session.get(Order, waiting["order_id"])
    assert order.status == OrderStatus.ACTIVATION_ERROR
    assert "No licences left" in order.last_error
    html = panel.get(url).get_data(as_text=True)
    assert 'data-status="declined"' in html and "No licences left" in html


def test_a_too_long_comment_is_refused_next_to_its_field(app, db, waiting):
    panel = Panel(app, waiting["a"], waiting["admin"])
    url = f"/provisioning/manual-operations/{waiting['operation_id']}"
    response = panel.post(f"{url}/decline", data={"comment": "x" * 2001})
    assert response.status_code == 422
    assert 'id="field-comment"' in response.get_data(as_text=True)
    assert _operation(db, waiting).status == ManualOperationStatus.APPROVAL_REQUIRED


def test_a_sales_manager_may_decide(app, db, waiting):
    # 03 §5.1: manual operations belong to the system administrator, sales manager and marketer.
    panel = Panel(app, waiting["a"], waiting["manager"])
    url = f"/provisioning/manual-operations/{waiting['operation_id']}"
    assert panel.get(url).status_code == 200
    assert panel.post(f"{url}/approve").status_code == 302
    assert _operation(db, waiting).status == ManualOperationStatus.APPROVED


def test_a_product_manager_may_not(app, db, waiting):
    panel = Panel(app, waiting["a"], make_staff(waiting["a"], role=Role.PRODUCT_MANAGER))
    url = f"/provisioning/manual-operations/{waiting['operation_id']}"
    assert panel.get("/provisioning/manual-operations").status_code == 403
    assert panel.post(f"{url}/approve").status_code == 403
