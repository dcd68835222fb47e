"""Jobs of the provisioning task queue (03 §3.4): run one task, and the sweeper that retries
and polls the tasks whose time has come."""

from __future__ import annotations

import logging

from portal.core.clock import clock
from portal.core.scheduler import periodic_job
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.orders.models import Task
from portal.orders.services.provisioning import advance_task, due_task_ids, run_task

log = logging.getLogger(__name__)


def run_task_job(task_id: int) -> None:
    """Send a queued task to its connector; a task already moved on is left alone."""
    # The task names its tenant; the queue serves every tenant (03 TSK-1).
    with across_tenants():
        task = db.session.get(Task, task_id)
        if task is None:
            return
        run_task(task)
    db.session.commit()


@periodic_job
def poll_due_tasks() -> int:
    """Retry the queued tasks whose backoff has run out and poll the running ones that are
    due; each task commits on its own, so one broken task does not hold up the rest."""
    with across_tenants():
        task_ids = due_task_ids(clock.now())
    advanced = 0
    for task_id in task_ids:
        try:
            with across_tenants():
                task = db.session.get(Task, task_id)
                if task is not None and advance_task(task):
                    advanced += 1
            db.session.commit()
        except Exception:  # noqa: BLE001 - logged; the task stays due and the next tick retries
            db.session.rollback()
            log.exception("provisioning task %s could not advance", task_id)
    return advanced
