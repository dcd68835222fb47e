"""Which subscription changes notify (09 §3.5, TRG-17): the status transitions the manual lists
emit "Подписка изменена"; the sources call `notify_status_change` right after they set the
status, inside their transaction."""

from __future__ import annotations

from portal.notifications.events import emit
from portal.subscriptions.models import Subscription, SubscriptionStatus

S = SubscriptionStatus

# 09 §3.5: → active (a renewal, a resource change and trial → paid end here too), → deleted,
# → stopped, → payment overdue, → awaiting manual approval.
NOTIFIED_STATUSES = frozenset({S.ACTIVE, S.DELETED, S.STOPPED, S.PAYMENT_OVERDUE,
                               S.AWAITING_MANUAL_APPROVAL})


def notify_status_change(subscription: Subscription, before: SubscriptionStatus | None) -> bool:
    """Emit subscription_changed when `before` → the subscription's status is one the manual
    lists; return whether it did."""
    after = subscription.status
    if before is None or after == before or after not in NOTIFIED_STATUSES:
        return False
    if after == S.DELETED and before == S.NEW_ORDER:
        return False  # 09 §3.5: not a deletion of an unpaid new order
    if after == S.STOPPED and subscription.pending_block == "admin":
        return False  # 09 §3.5: not a stop caused by the administrative block (blocks.ADMIN)
    emit("subscription_changed", subscription=subscription,
         was={"subscription.status": S(before).value})
    return True
