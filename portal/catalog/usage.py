"""How many live subscriptions use plans: the lock rules of spec 05 depend on it.

Subscriptions live in a higher area (STYLE §3), so that area registers its counter here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select

from portal.core.tenant_guard import across_tenants
from portal.extensions import db

# fn(plan_ids) -> {plan_id: number of subscriptions that are not Deleted}
SUBSCRIPTION_COUNTERS: list[Callable[[list[int]], dict[int, int]]] = []


def live_subscription_counts(plan_ids: Iterable[int]) -> dict[int, int]:
    plan_ids = list(plan_ids)
    counts = dict.fromkeys(plan_ids, 0)
    for counter in SUBSCRIPTION_COUNTERS:
        for plan_id, n in counter(plan_ids).items():
            counts[plan_id] = counts.get(plan_id, 0) + n
    return counts


def copy_tree_ids(plan_id: int) -> list[int]:
    """The plan and every delegated copy of it at any depth (the copies are other tenants')."""
    from portal.catalog.services.sync import copy_tree  # noqa: PLC0415

    tree = copy_tree(plan_id)
    with across_tenants():
        return list(db.session.scalars(select(tree.c.id)))


def has_live_subscriptions(plan) -> bool:
    """05 R-PER-10, R-RS-12: subscriptions here or at any child plan lock the structure."""
    if not SUBSCRIPTION_COUNTERS:
        return False
    return any(live_subscription_counts(copy_tree_ids(plan.id)).values())
