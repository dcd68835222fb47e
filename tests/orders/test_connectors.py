"""The connectors on their own: the simulated vendor answers asynchronously and fails when
told to; manual provisioning opens a manual operation for the actions set to «Вручную»."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core.clock import clock
from portal.orders.connectors import connector_for
from portal.orders.connectors.manual import ManualConnector, action_mode
from portal.orders.connectors.simulated import (SimulatedConnector, instance_quantities,
                                                vendor_book, vendor_state)
from portal.orders.models import (ManualOperation, ManualOperationStatus, ManualOperationType,
                                  SimulatedVendorRecord, TaskAction)
from portal.orders.services.provisioning import request_provisioning
from tests.orders.factories import make_provisioning_subscription


def _task(db, **kw):
    subscription, order = make_provisioning_subscription(**kw)
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    return task


def test_connector_for_follows_the_template(db):
    task = _task(db)
    assert isinstance(connector_for(task.service_instance.service_template), SimulatedConnector)
    manual = _task(db, connector="manual")
    assert isinstance(connector_for(manual.service_instance.service_template), ManualConnector)


def test_simulated_vendor_answers_after_its_delay(db, frozen_clock):
    task = _task(db, settings={"delay_seconds": 90})
    connector = SimulatedConnector()
    submission = connector.submit(task)
    assert not submission.done and submission.request_id
    assert submission.ready_at == clock.now() + timedelta(seconds=90)
    record, = vendor_book(f"SIM-{task.service_instance_id}")
    assert (record.status, record.action) == ("accepted", "install")
    assert record.payload["quantities"] == {"Licences": "5.00"}

    task.external_request_id = submission.request_id
    assert connector.poll(task).state == "pending"
    frozen_clock.advance(minutes=1)
    assert connector.poll(task).state == "pending"
    frozen_clock.advance(minutes=1)
    result = connector.poll(task)
    assert (result.state, result.external_id) == ("done", f"SIM-{task.service_instance_id}")
    assert record.status == "done"
    # Asking again gives the same answer: the vendor's book is the truth.
    assert connector.poll(task).state == "done"


def test_fail_next_counts_down_and_is_saved(db):
    task = _task(db, settings={"delay_seconds": 0, "fail_next": {"install": 2}})
    template = task.service_instance.service_template
    connector = SimulatedConnector()
    states = []
    for _attempt in range(3):
        task.external_request_id = connector.submit(task).request_id
        states.append(connector.poll(task))
        db.session.flush()
        db.session.expire(template)
        if states[-1].state == "failed":
            assert "refused to install" in states[-1].error
    assert [r.state for r in states] == ["failed", "failed", "done"]
    assert template.settings["fail_next"] == {"install": 0}
    assert [r.status for r in vendor_book(f"SIM-{task.service_instance_id}")] == [
        "failed", "failed", "done"]


def test_fail_always_fails_every_attempt_of_that_action_only(db):
    task = _task(db, settings={"fail_always": ["remove"]})
    connector = SimulatedConnector()
    task.external_request_id = connector.submit(task).request_id
    assert connector.poll(task).state == "done"
    task.action = TaskAction.REMOVE
    for _attempt in range(3):
        task.external_request_id = connector.submit(task).request_id
        result = connector.poll(task)
        assert result.state == "failed" and result.retry
    assert vendor_state(f"SIM-{task.service_instance_id}")["status"] == "active"


def test_unknown_request_fails(db):
    task = _task(db)
    task.external_request_id = "nope"
    assert SimulatedConnector().poll(task).state == "failed"


def test_vendor_state_is_built_from_done_records(db):
    task = _task(db, quantity="7")
    connector = SimulatedConnector()
    external_id = f"SIM-{task.service_instance_id}"
    assert vendor_state(external_id) == {"status": "none", "quantities": {}}
    for action in (TaskAction.INSTALL, TaskAction.STOP):
        task.action = action
        task.external_request_id = connector.submit(task).request_id
        connector.poll(task)
    assert vendor_state(external_id) == {"status": "stopped",
                                         "quantities": {"Licences": "7.00"}}
    assert instance_quantities(task.service_instance) == {"Licences": "7.00"}
    assert SimulatedVendorRecord.query.filter_by(external_id=external_id).count() == 2


@pytest.mark.parametrize(("modes", "action", "expected"), [
    ({}, TaskAction.INSTALL, "auto"),
    ({"install": "manual"}, TaskAction.INSTALL, "manual"),
    ({"activate": "manual"}, TaskAction.RESUME, "manual"),
    ({"delete": "manual"}, TaskAction.REMOVE, "manual"),
    ({"remove": "manual"}, TaskAction.REMOVE, "manual"),
    ({"install": "manual"}, TaskAction.UPDATE, "auto"),
])
def test_manual_modes_default_to_automatic(modes, action, expected):
    # 06 §2.9.2: every action is «Автоматически» unless set to «Вручную».
    assert action_mode({"modes": modes}, action) == expected


def test_manual_connector_done_at_once_when_automatic(db):
    task = _task(db, connector="manual", settings={"modes": {"install": "auto"}})
    submission = ManualConnector().submit(task)
    assert submission.done
    assert ManualOperation.query.count() == 0


def test_manual_connector_waits_for_the_staff(db):
    subscription, order = make_provisioning_subscription(
        connector="manual", settings={"modes": {"install": "manual"}})
    subscription.client.reseller.default_language = "en"
    task, = request_provisioning(subscription, TaskAction.INSTALL, order=order)
    template = task.service_instance.service_template
    connector = ManualConnector()
    submission = connector.submit(task)
    assert not submission.done and submission.awaiting_approval
    operation = ManualOperation.query.filter_by(task_id=task.id).one()
    # 03 EX-8: «Покупка услуги "Full Manual provisioning"», here in the reseller's English.
    assert operation.description == f'Purchase of the service "{template.name}"'
    assert operation.operation_type == ManualOperationType.APPLICATION_INSTALL
    assert operation.status == ManualOperationStatus.APPROVAL_REQUIRED
    assert (operation.client_id, operation.subscription_id, operation.service_rule_id) == (
        subscription.client_id, subscription.id, subscription.client.service_rule_id)
    assert operation.reseller_id == subscription.reseller_id

    task.external_request_id = submission.request_id
    assert connector.poll(task).state == "pending"
    operation.status = ManualOperationStatus.DECLINED
    result = connector.poll(task)
    assert (result.state, result.error, result.retry) == ("failed", "Declined by staff", False)
    operation.comment = "No stock"
    assert connector.poll(task).error == "Declined by staff: No stock"
    operation.status = ManualOperationStatus.APPROVED
    assert connector.poll(task).state == "done"
