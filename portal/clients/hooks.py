"""Where the areas above (subscriptions, billing) plug into client status changes, without the
clients area importing upward (STYLE §3)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

# fn(client) -> how many of its subscriptions are not deleted (01 R-CLD-1 delete guard).
LIVE_SUBSCRIPTION_COUNTERS: list[Callable] = []
# fn(client, *, blocked: bool, actor) — stop the client's subscriptions on an administrative
# block, restore them when it is lifted (01 §3.2).
ADMIN_BLOCK_STEPS: list[Callable] = []
# fn(client, *, actor) — re-evaluate the financial block after an unblock or a threshold change
# (01 R-FB-3, C5, R-CLV-6).
FINANCIAL_BLOCK_EVALUATORS: list[Callable] = []
# fn(client) -> Decimal: money held on the balance by blocked charges (01 R-CLV-2).
BLOCKED_AMOUNT_SOURCES: list[Callable] = []


def live_subscription_count(client) -> int:
    return sum(counter(client) for counter in LIVE_SUBSCRIPTION_COUNTERS)


def blocked_amount(client) -> Decimal:
    return sum((source(client) for source in BLOCKED_AMOUNT_SOURCES), Decimal("0"))
# fn(client) -> Decimal: what the client owes on postpaid subscriptions this financial period
# (01 R-CLV-4).
CURRENT_DEBT_SOURCES: list[Callable] = []


def current_debt(client) -> Decimal:
    return sum((source(client) for source in CURRENT_DEBT_SOURCES), Decimal("0"))
