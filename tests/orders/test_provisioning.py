"""The provisioning task queue (03 §3.4, TSK-2, TSK-3; 06 §3.3): tasks run through their
connector, are retried with backoff, fail for good after the last attempt, and complete the
order once every task of the request is done. The clock is frozen: each test moves it."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

from portal.core import jobs
from portal.core.clock import clock
from portal.orders.connectors.simulated import instance_quantities, vendor_state
from portal.orders.jobs import poll_due_tasks, run_task_job
from portal.orders.models import (ManualOperation, ManualOperationStatus, ManualOperationType,
                                  OrderStatus, Task, TaskAction, TaskStatus)
from portal.orders.services import (OrderError, approve_manual_operation, cancel_task,
                                    decline_manual_operation, request_provisioning, rerun_task)
from portal.subscriptions.models import ServiceInstanceStatus, SubscriptionStatus
from tests.factories import make_reseller, make_staff
from tests.orders.factories import make_provisioning_subscription, make_service_template


@pytest.fixture
def run_jobs(app, db):
    """Commit, then run the queued jobs the way the worker does, keeping the test's session."""

    def run() -> int:
        db.session.commit()
        backend = app.extensions["portal_jobs"]
        ran = 0
        while not backend.pending.empty():
            path, args = backend.pending.get_nowait()
            if path.startswith("portal.notifications."):
                continue  # the set-up's notification events (tests/notifications has them)
            module_name, name = path.rsplit(".", 1)
            getattr(importlib.import_module(module_name), name)(*args)
            ran += 1
        return ran

    return run


def test_a_task_is_queued_per_service_and_runs_after_the_commit(db, run_jobs):
    subscription, order = make_provisioning_subscription()
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    instance = task.service_instance
    template = instance.service_template
    # 03 EX-7 names tasks «ManualProvisioning: удаление подписки #4486».
    assert task.name.startswith(f"{template.name}: ")
    assert task.name.endswith(f" #{subscription.id}")
    assert (task.status, task.order_id, task.attempts) == (TaskStatus.QUEUED, order.id, 0)
    assert instance.status == ServiceInstanceStatus.PROVISIONING
    assert instance.client_id == subscription.client_id and instance.name == template.name

    assert run_jobs() == 1
    assert task.status == TaskStatus.RUNNING and task.attempts == 1
    assert task.external_request_id and task.next_attempt_at == clock.now()
    # The vendor answers on the next sweep.
    assert poll_due_tasks() == 1
    assert task.status == TaskStatus.COMPLETED
    assert instance.status == ServiceInstanceStatus.ACTIVE
    assert instance.external_id == f"SIM-{instance.id}"
    assert order.status == OrderStatus.COMPLETED and order.closed_at == clock.now()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert [e.level for e in task.log_entries] == ["info"] * len(task.log_entries)
    assert len(task.log_entries) == 4  # queued, attempt sent, accepted, completed


def test_the_real_worker_path_runs_the_task(app, db):
    subscription, order = make_provisioning_subscription()
    db.session.commit()
    app.extensions["portal_jobs"].pending.queue.clear()  # the set-up's notification events
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    task_id, order_id = task.id, order.id
    db.session.commit()
    assert jobs.drain() == 1
    poll_due_tasks()
    db.session.commit()
    assert db.session.get(Task, task_id).status == TaskStatus.COMPLETED
    assert db.session.get(type(order), order_id).status == OrderStatus.COMPLETED


def test_a_slow_vendor_is_polled_when_its_answer_is_due(db, run_jobs, frozen_clock):
    subscription, order = make_provisioning_subscription(settings={"delay_seconds": 600})
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    run_jobs()
    assert task.next_attempt_at == clock.now() + timedelta(minutes=10)
    assert poll_due_tasks() == 0
    frozen_clock.advance(minutes=9)
    assert poll_due_tasks() == 0 and task.status == TaskStatus.RUNNING
    assert order.status == OrderStatus.PROVISIONING
    frozen_clock.advance(minutes=1)
    assert poll_due_tasks() == 1
    assert order.status == OrderStatus.COMPLETED


def test_a_task_failing_twice_then_succeeding_completes_its_order(db, run_jobs, frozen_clock):
    subscription, order = make_provisioning_subscription(
        settings={"delay_seconds": 0, "fail_next": {"install": 2}})
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    run_jobs()
    poll_due_tasks()  # the vendor refuses the first attempt
    assert (task.status, task.attempts) == (TaskStatus.QUEUED, 1)
    assert "refused to install" in task.last_error
    assert task.next_attempt_at == clock.now() + timedelta(minutes=1)
    assert order.status == OrderStatus.PROVISIONING
    assert poll_due_tasks() == 0  # the backoff has not run out

    frozen_clock.advance(minutes=1)
    assert poll_due_tasks() == 1  # the second attempt is sent...
    assert poll_due_tasks() == 1  # ...and refused
    assert (task.status, task.attempts) == (TaskStatus.QUEUED, 2)
    assert task.next_attempt_at == clock.now() + timedelta(minutes=5)

    frozen_clock.advance(minutes=4)
    assert poll_due_tasks() == 0
    frozen_clock.advance(minutes=1)
    poll_due_tasks()
    poll_due_tasks()
    assert (task.status, task.attempts, task.last_error) == (TaskStatus.COMPLETED, 3, "")
    assert order.status == OrderStatus.COMPLETED
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert task.service_instance.service_template.settings["fail_next"] == {"install": 0}
    assert [e.level for e in task.log_entries].count("error") == 2


def _fail_for_good(task, frozen_clock):
    """Four attempts a backoff apart (1, 5, 30 minutes): the fourth failure is final."""
    poll_due_tasks()
    for minutes in (1, 5, 30):
        frozen_clock.advance(minutes=minutes)
        poll_due_tasks()
        poll_due_tasks()


def test_a_task_failing_for_good_leaves_the_order_in_activation_error(db, run_jobs,
                                                                      frozen_clock):
    subscription, order = make_provisioning_subscription(settings={"fail_always": ["install"]})
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    run_jobs()
    _fail_for_good(task, frozen_clock)
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 4)
    assert task.finished_at == clock.now() and task.next_attempt_at is None
    assert order.status == OrderStatus.ACTIVATION_ERROR
    assert "refused to install" in order.last_error
    assert subscription.status == SubscriptionStatus.INSTALL_ERROR
    assert task.service_instance.status == ServiceInstanceStatus.PROVISIONING_ERROR
    frozen_clock.advance(days=1)
    assert poll_due_tasks() == 0  # nothing retries a failed task by itself

    # The cause is fixed at the vendor; «Запустить» completes the order (03 A32).
    template = task.service_instance.service_template
    template.settings = {}
    member = make_staff(make_reseller())
    rerun_task(task, actor=member)
    assert (task.status, task.attempts) == (TaskStatus.QUEUED, 0)
    assert task.service_instance.status == ServiceInstanceStatus.PROVISIONING
    run_jobs()
    poll_due_tasks()
    assert task.status == TaskStatus.COMPLETED
    assert order.status == OrderStatus.COMPLETED and order.last_error == ""
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert task.service_instance.status == ServiceInstanceStatus.ACTIVE


def test_rerun_only_failed_and_cancel_only_queued_or_failed(db, run_jobs):
    subscription, order = make_provisioning_subscription()
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    member = make_staff(make_reseller())
    with pytest.raises(OrderError):
        rerun_task(task, actor=member)  # TSK-2: queued is not failed
    run_jobs()
    assert task.status == TaskStatus.RUNNING
    with pytest.raises(OrderError):
        cancel_task(task, actor=member)  # A11: never a running task
    task.status = TaskStatus.FAILED
    cancel_task(task, actor=member)
    assert task.status == TaskStatus.CANCELLED and task.finished_at == clock.now()
    with pytest.raises(OrderError):
        rerun_task(task, actor=member)


def test_a_cancelled_queued_task_is_not_run(db, run_jobs):
    subscription, order = make_provisioning_subscription()
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    cancel_task(task, actor=None)
    run_jobs()
    assert task.status == TaskStatus.CANCELLED and task.attempts == 0
    assert order.status == OrderStatus.PROVISIONING


def test_the_order_completes_when_every_task_of_the_request_has(db, run_jobs, frozen_clock):
    reseller = make_reseller()
    fast = make_service_template(reseller, settings={"delay_seconds": 0})
    slow = make_service_template(reseller, settings={"delay_seconds": 300})
    subscription, order = make_provisioning_subscription(reseller, services=[fast, slow])
    tasks = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    assert len(tasks) == 2 and len(subscription.service_instances) == 2
    run_jobs()
    poll_due_tasks()
    assert [t.status for t in tasks] == [TaskStatus.COMPLETED, TaskStatus.RUNNING]
    assert order.status == OrderStatus.PROVISIONING
    assert subscription.status == SubscriptionStatus.INSTALLING
    frozen_clock.advance(minutes=5)
    poll_due_tasks()
    assert order.status == OrderStatus.COMPLETED


def test_a_plan_without_services_succeeds_at_once(db):
    subscription, order = make_provisioning_subscription(services=[])
    assert request_provisioning(subscription, TaskAction.INSTALL, order=order) == []
    assert order.status == OrderStatus.COMPLETED
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_the_vendor_book_matches_the_platform(db, run_jobs):
    subscription, order = make_provisioning_subscription(quantity="12")
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    run_jobs()
    poll_due_tasks()
    instance = task.service_instance
    assert vendor_state(instance.external_id) == {
        "status": "active", "quantities": instance_quantities(instance)}
    assert instance_quantities(instance) == {"Licences": "12.00"}

    # A stop and a resume without an order (the nightly run, a block) reach the vendor too.
    for under_way, action, platform, vendor in (
            (SubscriptionStatus.STOPPING, TaskAction.STOP, "stopped", "stopped"),
            (SubscriptionStatus.ACTIVATING, TaskAction.RESUME, "active", "active"),
            (SubscriptionStatus.DELETING, TaskAction.REMOVE, "deleted", "removed")):
        subscription.status = under_way
        task, = request_provisioning(subscription, action)
        assert task.order_id is None
        run_jobs()
        poll_due_tasks()
        assert task.status == TaskStatus.COMPLETED
        assert instance.status.value == platform
        assert vendor_state(instance.external_id)["status"] == vendor
    assert subscription.status == SubscriptionStatus.DELETED
    # A deleted instance is not provisioned again.
    assert request_provisioning(subscription, TaskAction.UPDATE) == []


def test_a_lost_job_is_picked_up_by_the_sweeper(app, db, frozen_clock):
    subscription, order = make_provisioning_subscription()
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    db.session.commit()
    backend = app.extensions["portal_jobs"]
    while not backend.pending.empty():  # the worker died before running it
        backend.pending.get_nowait()
    assert poll_due_tasks() == 0
    frozen_clock.advance(minutes=10)
    assert poll_due_tasks() == 1
    assert task.status == TaskStatus.RUNNING
    run_task_job(task.id)  # a late duplicate of the job changes nothing
    assert task.attempts == 1


def test_manual_provisioning_approved_completes_the_order(db, run_jobs):
    subscription, order = make_provisioning_subscription(
        connector="manual", settings={"modes": {"install": "manual"}})
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    run_jobs()
    assert task.status == TaskStatus.RUNNING
    assert task.service_instance.status == ServiceInstanceStatus.AWAITING_MANUAL
    operation = ManualOperation.query.filter_by(task_id=task.id).one()
    member = make_staff(subscription.client.reseller)
    assert poll_due_tasks() == 0  # nobody decided yet
    approve_manual_operation(operation, actor=member)
    # The decision finishes the task at once, without waiting for the sweeper (MO-2).
    assert operation.status == ManualOperationStatus.APPROVED
    assert operation.approved_by_id == member.id and operation.decided_at == clock.now()
    assert task.status == TaskStatus.COMPLETED
    assert task.service_instance.status == ServiceInstanceStatus.ACTIVE
    assert order.status == OrderStatus.COMPLETED
    with pytest.raises(OrderError):
        decline_manual_operation(operation, actor=member)


def test_manual_provisioning_declined_leaves_activation_error(db, run_jobs):
    subscription, order = make_provisioning_subscription(
        connector="manual", settings={"modes": {"install": "manual"}})
    subscription.client.reseller.default_language = "en"
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    run_jobs()
    operation = ManualOperation.query.filter_by(task_id=task.id).one()
    decline_manual_operation(operation, actor=None, comment="  Out of stock ")
    assert operation.comment == "Out of stock" and operation.approved_by_id is None
    # A refusal is final: no retries that would ask the staff again.
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 1)
    assert task.service_instance.status == ServiceInstanceStatus.PROVISIONING_ERROR
    assert order.status == OrderStatus.ACTIVATION_ERROR
    assert order.last_error == "Declined by staff: Out of stock"
    assert subscription.status == SubscriptionStatus.INSTALL_ERROR

    # «Запустить» asks again with a new operation; approving it completes the order.
    rerun_task(task, actor=None)
    run_jobs()
    second = ManualOperation.query.filter_by(task_id=task.id, status="approval_required").one()
    assert second.id != operation.id
    approve_manual_operation(second, actor=None)
    assert order.status == OrderStatus.COMPLETED


def test_automatic_actions_of_a_manual_service_need_nobody(db, run_jobs):
    subscription, order = make_provisioning_subscription(
        connector="manual", settings={"modes": {"install": "auto", "stop": "manual"}})
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    run_jobs()
    assert task.status == TaskStatus.COMPLETED and order.status == OrderStatus.COMPLETED
    assert ManualOperation.query.count() == 0
    subscription.status = SubscriptionStatus.STOPPING
    stop, = request_provisioning(subscription, TaskAction.STOP)
    run_jobs()
    operation = ManualOperation.query.one()
    assert operation.operation_type.value.endswith("_application_stop")
    approve_manual_operation(operation, actor=None)
    assert stop.status == TaskStatus.COMPLETED
    assert subscription.status == SubscriptionStatus.STOPPED
    assert stop.service_instance.status == ServiceInstanceStatus.STOPPED


def test_an_approved_subscription_stop_goes_on_to_provisioning(db, run_jobs):
    # 02 S14: a system stop held by the service rule's manual stop method continues once
    # approved.
    subscription, _order = make_provisioning_subscription(with_order=False)
    task, = request_provisioning(subscription, TaskAction.INSTALL)
    run_jobs()
    poll_due_tasks()
    assert subscription.status == SubscriptionStatus.ACTIVE
    subscription.status = SubscriptionStatus.AWAITING_MANUAL_APPROVAL
    operation = ManualOperation(
        reseller_id=subscription.reseller_id, client_id=subscription.client_id,
        subscription_id=subscription.id, operation_type=ManualOperationType.SUBSCRIPTION_STOP,
        service_rule_id=subscription.client.service_rule_id, created_at=clock.now())
    db.session.add(operation)
    db.session.flush()
    approve_manual_operation(operation, actor=None)
    assert subscription.status == SubscriptionStatus.STOPPING
    stop = Task.query.filter_by(subscription_id=subscription.id, action="stop").one()
    run_jobs()
    poll_due_tasks()
    assert stop.status == TaskStatus.COMPLETED
    assert subscription.status == SubscriptionStatus.STOPPED
