"""What a connector's answer does to the subscription and its order (02 §3.1 S2–S7, S13;
03 §3.1 O6/O7). The provisioning area calls these when a task ends."""

from __future__ import annotations

from datetime import date

from portal.core import audit
from portal.core.clock import clock
from portal.notifications.events import emit
from portal.orders.models import Order, OrderStatus, OrderType, TaskAction
from portal.subscriptions.models import RenewalPriceMode, Subscription, SubscriptionStatus
from portal.subscriptions.services.notices import notify_status_change

S = SubscriptionStatus

# action -> (status while under way, status on success, status on failure)
ACTION_STATUSES = {
    TaskAction.INSTALL: (S.INSTALLING, S.ACTIVE, S.INSTALL_ERROR),
    TaskAction.UPDATE: (S.UPDATING, S.ACTIVE, S.UPDATE_ERROR),
    TaskAction.RENEW: (S.RENEWING, S.ACTIVE, S.RENEWAL_ERROR),
    TaskAction.STOP: (S.STOPPING, S.STOPPED, S.STOP_FAILED),
    TaskAction.RESUME: (S.ACTIVATING, S.ACTIVE, S.ACTIVATION_ERROR),
    TaskAction.REMOVE: (S.DELETING, S.DELETED, S.DELETE_ERROR),
}


def provisioning_succeeded(subscription: Subscription, action: TaskAction, *,
                           order: Order | None = None, on: date | None = None,
                           actor=None) -> None:
    """The service did what was asked: the subscription reaches its stable status and the
    order completes (O6). A rerun after an error ends here too."""
    action = TaskAction(action)
    under_way, success, failure = ACTION_STATUSES[action]
    before = subscription.status
    # A block that arrived meanwhile stops the subscription once it is stable (01 §3.2).
    if subscription.status in (under_way, failure) or subscription.status == S.NEW_ORDER:
        subscription.status = success
        subscription.last_error = ""
    if action == TaskAction.REMOVE and subscription.deleted_at is None:
        subscription.deleted_at = clock.now()
    subscription.updated_at = clock.now()
    if order is not None and order.status in (OrderStatus.PROVISIONING,
                                              OrderStatus.ACTIVATION_ERROR):
        emit("order_changed", order=order, was={"order.status": order.status.value})
        order.status = OrderStatus.COMPLETED
        order.closed_at = clock.now()
        order.updated_at = clock.now()
        order.last_error = ""
        audit.log(order, "orders.order.completed", actor=actor, label=order.number)
        _individual_prices_on_completion(subscription, order)
    if before != subscription.status:
        audit.log(subscription, "subscriptions.subscription.provisioned", actor=actor,
                  changes={"status": [before.value, subscription.status.value]},
                  data={"action": action.value}, label=subscription.name)
    notify_status_change(subscription, before)
    from portal.subscriptions.services.blocks import apply_pending_block  # noqa: PLC0415

    apply_pending_block(subscription, actor=actor)


def _individual_prices_on_completion(subscription: Subscription, order: Order) -> None:
    """02 R-IP-7: the subscription is individually priced once its individual-price purchase
    order is completed, and only when renewals keep the individual (or highest) prices."""
    if order.order_type != OrderType.SALES_ORDER or not order.individual_prices:
        return
    mode = ((order.request or {}).get("individual_prices") or {}).get("mode")
    if mode in (RenewalPriceMode.INDIVIDUAL.value, RenewalPriceMode.HIGHEST.value):
        subscription.individual_prices = True
        subscription.renewal_price_mode = RenewalPriceMode(mode)


def provisioning_failed(subscription: Subscription, action: TaskAction, *, error: str,
                        order: Order | None = None, on: date | None = None,
                        actor=None) -> None:
    """The service refused or failed for good: the error status, the order in
    activation_error with the error visible (O7)."""
    action = TaskAction(action)
    under_way, _success, failure = ACTION_STATUSES[action]
    before = subscription.status
    if subscription.status in (under_way, S.NEW_ORDER):
        subscription.status = failure
    subscription.last_error = error
    subscription.updated_at = clock.now()
    if order is not None and order.status == OrderStatus.PROVISIONING:
        order.status = OrderStatus.ACTIVATION_ERROR
        order.last_error = error
        order.updated_at = clock.now()
        audit.log(order, "orders.order.activation_error", actor=actor, data={"error": error},
                  label=order.number)
    audit.log(subscription, "subscriptions.subscription.provisioning_failed", actor=actor,
              changes={"status": [before.value, subscription.status.value]},
              data={"action": action.value, "error": error}, label=subscription.name)
