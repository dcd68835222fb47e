"""The task queue pages (03 S3, TSK-1..TSK-3, A34): the root operator's alone, across tenants."""

from __future__ import annotations

import re

import pytest

from portal.accounts.models import Role
from portal.orders.models import Task, TaskAction, TaskStatus
from portal.orders.services import request_provisioning
from tests.factories import Panel, make_reseller, make_root, make_staff
from tests.orders.factories import ensure_provisioning_pages, make_provisioning_subscription


@pytest.fixture
def queue(app, db):
    ensure_provisioning_pages(app)
    root = make_root()
    child = make_reseller(root, name="Child", slug="child-tasks")
    subscription, order = make_provisioning_subscription(child)
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    db.session.flush()
    return {"root": root, "child": child, "task": task, "order": order,
            "root_admin": make_staff(root), "child_admin": make_staff(child)}


def _set(db, task, status):
    task.status = status
    db.session.flush()


def test_root_sees_every_tenants_tasks(app, queue):
    panel = Panel(app, queue["root"], queue["root_admin"])
    task = queue["task"]
    response = panel.get("/provisioning/tasks")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert task.name in html
    assert f'href="/provisioning/tasks/{task.id}"' in html
    # 03 S3: the creation time with seconds.
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", html)
    fragment = panel.get("/provisioning/tasks?f_status=completed",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="list-tasks"' in fragment and task.name not in fragment


def test_other_resellers_get_404(app, queue):
    panel = Panel(app, queue["child"], queue["child_admin"])
    task = queue["task"]
    assert panel.get("/provisioning/tasks").status_code == 404
    assert panel.get(f"/provisioning/tasks/{task.id}").status_code == 404
    assert panel.post(f"/provisioning/tasks/{task.id}/cancel").status_code == 404


def test_only_the_system_administrator_has_the_queue(app, queue):
    manager = make_staff(queue["root"], role=Role.SALES_MANAGER)
    panel = Panel(app, queue["root"], manager)
    assert panel.get("/provisioning/tasks").status_code == 403


@pytest.mark.parametrize(("status", "run", "cancel"), [
    (TaskStatus.QUEUED, False, True),
    (TaskStatus.RUNNING, False, False),
    (TaskStatus.FAILED, True, True),
    (TaskStatus.COMPLETED, False, False),
    (TaskStatus.CANCELLED, False, False),
])
def test_buttons_follow_the_status(app, db, queue, status, run, cancel):
    task = queue["task"]
    _set(db, task, status)
    panel = Panel(app, queue["root"], queue["root_admin"])
    html = panel.get(f"/provisioning/tasks/{task.id}").get_data(as_text=True)
    assert f'data-status="{status.value}"' in html
    assert task.name in html
    assert ('id="run-task"' in html) is run
    assert ('id="cancel-task"' in html) is cancel


def test_run_puts_a_failed_task_back_in_the_queue(app, db, queue):
    task = queue["task"]
    task.attempts = 4
    task.last_error = "The vendor refused."
    _set(db, task, TaskStatus.FAILED)
    panel = Panel(app, queue["root"], queue["root_admin"])
    response = panel.post(f"/provisioning/tasks/{task.id}/run")
    assert response.status_code == 302
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert (task.status, task.attempts) == (TaskStatus.QUEUED, 0)
    html = panel.get(f"/provisioning/tasks/{task.id}").get_data(as_text=True)
    assert queue["root_admin"].name in html  # the task log says who ran it


def test_cancel_refuses_a_running_task(app, db, queue):
    task = queue["task"]
    _set(db, task, TaskStatus.RUNNING)
    panel = Panel(app, queue["root"], queue["root_admin"])
    panel.post(f"/provisioning/tasks/{task.id}/cancel")
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.RUNNING
    _set(db, db.session.get(Task, task.id), TaskStatus.QUEUED)
    panel.post(f"/provisioning/tasks/{task.id}/cancel")
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.CANCELLED


def test_the_task_log_tab_lists_the_steps(app, queue):
    panel = Panel(app, queue["root"], queue["root_admin"])
    task = queue["task"]
    html = panel.get(f"/provisioning/tasks/{task.id}").get_data(as_text=True)
    assert 'id="task-log-table"' in html
    assert f'id="task-log-{task.log_entries[0].id}"' in html
