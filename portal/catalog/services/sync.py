"""Keep every delegated copy of a plan equal to its upstream (07 BR-42..44, 05 R-MK-8, R-MK-11).

Synchronised: name, SKU, billing type, currency, fixed price, the provisioning rule, status,
periods (with their published flag) and resources (with name and published flag). Prices: a
copy with a markup coefficient k takes upstream price × k, rounded and stored (D9), and the
cascade goes on below it; a copy without k keeps its own prices and stops the price cascade
there, though its cost (the upstream prices) and `cost_changed_at` still follow.

The sync is idempotent: it recomputes each copy from its upstream, so running it twice, or
after a missed run, leaves the same result. It works over the whole copy tree in a handful of
set-based reads and one batched flush (the issue's 1,000-copy target).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import literal, select, update

from portal.catalog.models import (PRICE_FIELDS_PERIOD, PRICE_FIELDS_RESOURCE, BillingType, Plan,
                                   PlanPeriod, PlanResource, PlanStatus, ProvisioningRule)
from portal.catalog.pricing import marked_up
from portal.core import jobs
from portal.core.clock import clock
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

SYNCED_PLAN_FIELDS = ("name", "sku", "billing_type", "currency", "fixed_price")
PERIOD_STRUCTURE = ("is_unlimited", "duration", "duration_unit", "published", "is_trial",
                    "position")
RESOURCE_STRUCTURE = ("name", "unit_type", "measurable", "included", "minimum", "unlimited",
                      "limit", "public", "service_resource_id")


def copy_tree(plan_id: int):
    """A CTE of (id, depth) over the plan and all its delegated copies."""
    tree = select(Plan.id.label("id"), literal(0).label("depth")).where(
        Plan.id == plan_id).cte("plan_copies", recursive=True)
    return tree.union_all(select(Plan.id, (tree.c.depth + 1).label("depth"))
                          .where(Plan.parent_id == tree.c.id))


def request_sync(plan: Plan) -> None:
    """Queue the sync of the plan's copies after this transaction commits.

    All plans changed in one transaction share one job (a price-list import of hundreds of
    plans is one background run): the pending job's id list grows until the commit.
    """
    path = jobs.job_path(sync_plan_copies_job)
    for pending_path, args, _queue in db.session.info.get("portal_after_commit", []):
        if pending_path == path:
            if plan.id not in args[0]:
                args[0].append(plan.id)
            return
    jobs.enqueue_after_commit(sync_plan_copies_job, [plan.id], queue="default")


def mark_cost_changed(plan: Plan, *, now: datetime) -> None:
    """R-MK-30: the plan's prices changed, so the cost of each direct copy did."""
    db.session.execute(update(Plan).where(
        Plan.parent_id == plan.id, Plan.billing_type != BillingType.PAYG_EXTERNAL.value)
        .values(cost_changed_at=now))


def sync_plan_copies_job(plan_ids) -> int:
    """Sync the copies of each plan; returns the number of copies visited."""
    if isinstance(plan_ids, int):
        plan_ids = [plan_ids]
    visited = 0
    for plan_id in sorted(set(plan_ids)):
        plan = db.session.get(Plan, plan_id)
        if plan is not None:
            visited += sync_plan_copies(plan, now=clock.now())
    db.session.commit()
    return visited


def sync_plan_copies(plan: Plan, *, now: datetime) -> int:
    """Bring every copy below `plan` in line with its upstream; returns the copies visited."""
    tree = copy_tree(plan.id)
    with across_tenants():
        depth = dict(db.session.execute(select(tree.c.id, tree.c.depth)).all())
        if len(depth) == 1:
            return 0
        plans = db.session.scalars(select(Plan).join(tree, tree.c.id == Plan.id)).all()
        periods = db.session.scalars(
            select(PlanPeriod).join(tree, tree.c.id == PlanPeriod.plan_id)).all()
        resources = db.session.scalars(
            select(PlanResource).join(tree, tree.c.id == PlanResource.plan_id)).all()
        rule_ids = {p.provisioning_rule_id for p in plans}
        rule_copies = {(r.parent_id, r.reseller_id): r.id for r in db.session.execute(
            select(ProvisioningRule.id, ProvisioningRule.parent_id, ProvisioningRule.reseller_id)
            .where(ProvisioningRule.parent_id.in_(rule_ids)))}
    children = defaultdict(list)
    for p in plans:
        if p.id != plan.id:
            children[p.parent_id].append(p)
    periods_of, resources_of = defaultdict(list), defaultdict(list)
    for item in periods:
        periods_of[item.plan_id].append(item)
    for item in resources:
        resources_of[item.plan_id].append(item)
    prices_changed = {plan.id: False}
    visited = 0
    level = 0
    for parent in sorted(plans, key=lambda p: depth[p.id]):
        if depth[parent.id] != level:
            level = depth[parent.id]
            db.session.flush()  # items created one level up need their ids below
        for child in children[parent.id]:
            changed = apply_to_copy(parent, child, periods_of, resources_of, rule_copies, now=now)
            if prices_changed.get(parent.id) and child.billing_type != BillingType.PAYG_EXTERNAL:
                child.cost_changed_at = now
            prices_changed[child.id] = changed
            visited += 1
    db.session.flush()
    return visited


def apply_to_copy(parent: Plan, child: Plan, periods_of, resources_of, rule_copies, *,
                  now: datetime) -> bool:
    """Copy the synchronised fields, periods and resources of parent onto child.

    Returns whether the child's prices changed (its own copies' cost changes then).
    """
    for field in SYNCED_PLAN_FIELDS:
        if getattr(child, field) != getattr(parent, field):
            setattr(child, field, getattr(parent, field))
    rule_id = rule_copies.get((parent.provisioning_rule_id, child.reseller_id))
    if rule_id is None:
        rule_id = _copy_rule(parent.provisioning_rule_id, child.reseller_id)
        rule_copies[(parent.provisioning_rule_id, child.reseller_id)] = rule_id
    if child.provisioning_rule_id != rule_id:
        child.provisioning_rule_id = rule_id
    status = child.own_status if parent.status == PlanStatus.ACTIVE \
        else PlanStatus.DEACTIVATED_BY_PROVIDER
    if child.status != status:
        child.status = status
    k = child.markup_coefficient
    changed = _sync_items(PlanPeriod, PERIOD_STRUCTURE, PRICE_FIELDS_PERIOD,
                          periods_of[parent.id], periods_of[child.id], child, k, now)
    changed |= _sync_items(PlanResource, RESOURCE_STRUCTURE, PRICE_FIELDS_RESOURCE,
                           resources_of[parent.id], resources_of[child.id], child, k, now)
    return changed


def _sync_items(model, structure, price_fields, upstream, own, child: Plan, k, now) -> bool:
    mine = {item.parent_id: item for item in own if item.parent_id is not None}
    changed = False
    for source in upstream:
        item = mine.get(source.id)
        if source.deleted_at is not None:
            if item is not None and item.deleted_at is None:
                item.deleted_at = source.deleted_at
                changed = True
            continue
        if item is None:
            # R-MK-11: a new item is priced parent × k, or at the parent's price without k.
            item = model(reseller_id=child.reseller_id, plan_id=child.id, parent_id=source.id,
                         **{f: getattr(source, f) for f in structure})
            if model is PlanPeriod:
                item.description = source.description
            else:
                item.priority = source.priority
            for field in price_fields:
                value = getattr(source, field)
                setattr(item, field, marked_up(value, k, child.currency) if k else value)
            db.session.add(item)
            own.append(item)
            changed = True
            continue
        if item.deleted_at is not None:
            item.deleted_at = None
            changed = True
        for field in structure:
            if getattr(item, field) != getattr(source, field):
                setattr(item, field, getattr(source, field))
        # Unlimited periods have no cost, so no markup applies to them (05 R-MK-3, §8.8).
        if k is None or getattr(item, "is_unlimited", False):
            continue
        for field in price_fields:
            value = marked_up(getattr(source, field), k, child.currency)
            if getattr(item, field) != value:
                setattr(item, field, value)
                changed = True
    return changed


def _copy_rule(rule_id: int, reseller_id: int) -> int:
    from portal.catalog.services.rules import _copy_to  # noqa: PLC0415

    with across_tenants():
        existing = db.session.scalar(select(ProvisioningRule.id).where(
            ProvisioningRule.parent_id == rule_id, ProvisioningRule.reseller_id == reseller_id))
        if existing is not None:
            return existing
        rule = db.session.get(ProvisioningRule, rule_id)
    copy = _copy_to(rule, reseller_id)
    db.session.flush()
    return copy.id
