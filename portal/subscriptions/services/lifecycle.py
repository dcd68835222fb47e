"""Subscription operations (02 §4.14–4.16, §4.23–4.24, S7/S11/S13): stop, activate, delete,
change the expiry date, close all charges by hand, edit the general tab."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import StaffMember
from portal.billing.models import ChargeStatus, ChargeType
from portal.billing.rules import rules_for
from portal.billing.services.charges import charges_of, close_charge, delete_charge, new_charge
from portal.billing.services.ledger import lock_client
from portal.clients.models import ClientStatus
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.orders.models import OPEN_ORDER_STATUSES, Order, OrderStatus, TaskAction
from portal.subscriptions.models import RenewalPriceMode, Subscription, SubscriptionStatus
from portal.subscriptions.services import SubscriptionError

S = SubscriptionStatus


def _refuse_status(subscription: Subscription, operation) -> SubscriptionError:
    return SubscriptionError(
        _l("You cannot %(operation)s a subscription in status \"%(status)s\".",
           operation=operation, status=subscription.status_label),
        code="status_conflict", status=409)


def _provision(subscription, action, *, actor, order=None):
    from portal.orders.services.provisioning import request_provisioning  # noqa: PLC0415

    request_provisioning(subscription, action, order=order, actor=actor)


def stop_subscription(subscription: Subscription, *, reason: str, comment: str = "", actor,
                      on: date) -> Subscription:
    """02 R-STP-3, S7: active → stopping → stopped; charges per billing type (04a CH-36)."""
    if subscription.status not in (S.ACTIVE, S.PAYMENT_OVERDUE):
        raise _refuse_status(subscription, _l("stop"))
    if not (reason or "").strip():
        raise SubscriptionError(_l("Give the reason for the stop."), field="reason")
    client = lock_client(subscription.client)
    rules_for(subscription.plan.billing_type).on_stop(subscription, client, on=on)
    before = subscription.status
    subscription.status = S.STOPPING
    subscription.stop_reason = reason.strip()
    subscription.updated_at = clock.now()
    audit.log(subscription, "subscriptions.subscription.stopped", actor=actor,
              label=subscription.name, changes={"status": [before.value, S.STOPPING.value]},
              data={"reason": reason.strip(), "comment": comment or ""})
    _provision(subscription, TaskAction.STOP, actor=actor)
    return subscription


def activate_subscription(subscription: Subscription, *, reason: str, comment: str = "", actor,
                          on: date) -> Subscription:
    """02 R-ACT-1..R-ACT-5, S11: stopped → activating → active; impossible while the client is
    financially blocked."""
    if subscription.status != S.STOPPED:
        raise _refuse_status(subscription, _l("activate"))
    if subscription.client.status == ClientStatus.FINANCIALLY_BLOCKED:
        raise SubscriptionError(_l("The client is financially blocked: its subscriptions cannot "
                                   "be activated until the balance is topped up."),
                                code="financially_blocked", status=409)
    if subscription.client.status == ClientStatus.ADMIN_BLOCKED:
        raise SubscriptionError(_l("The client is blocked by the administrator."),
                                code="status_conflict", status=409)
    if subscription.expiry_date is not None and subscription.expiry_date < on:
        raise SubscriptionError(_l("The subscription's term has ended; renew it instead."),
                                code="status_conflict", status=409)
    if not (reason or "").strip():
        raise SubscriptionError(_l("Give the reason for the activation."), field="reason")
    client = lock_client(subscription.client)
    rules_for(subscription.plan.billing_type).on_activate(subscription, client, on=on)
    subscription.status = S.ACTIVATING
    subscription.stop_reason = ""
    subscription.updated_at = clock.now()
    audit.log(subscription, "subscriptions.subscription.activated", actor=actor,
              label=subscription.name, data={"reason": reason.strip(), "comment": comment or ""})
    _provision(subscription, TaskAction.RESUME, actor=actor)
    return subscription


def delete_subscription(subscription: Subscription, *, actor, on: date,
                        by_nightly_run: bool = False) -> Subscription:
    """02 R-DEL-1, S13; 04a CH-43 (the standard split on deletion, the day used unless the
    nightly run deletes, A-11). Open orders waiting for payment are cancelled first."""
    from portal.orders.services.ordering import cancel_order  # noqa: PLC0415

    if subscription.status in (S.DELETED, S.DELETING):
        raise _refuse_status(subscription, _l("delete"))
    open_orders = list(db.session.scalars(select(Order).where(
        Order.reseller_id == subscription.reseller_id, Order.subscription_id == subscription.id,
        Order.status.in_(OPEN_ORDER_STATUSES))))
    for order in open_orders:
        if order.status in (OrderStatus.WAITING_FOR_PAYMENT, OrderStatus.WAITING_FOR_PROVISIONING):
            cancel_order(order, actor=actor, on=on, reason="subscription_deleted")
        else:
            raise SubscriptionError(_l("Order %(number)s is being provisioned; wait for it to "
                                       "finish.", number=order.number), code="status_conflict",
                                    status=409)
    if subscription.status == S.DELETED:
        return subscription  # it was an unpaid new order: cancelling it deleted it
    client = lock_client(subscription.client)
    rules_for(subscription.plan.billing_type).on_delete(subscription, client, on=on,
                                                        by_nightly_run=by_nightly_run)
    before = subscription.status
    subscription.status = S.DELETING
    subscription.updated_at = clock.now()
    audit.log(subscription, "subscriptions.subscription.deleted", actor=actor,
              label=subscription.name, changes={"status": [before.value, S.DELETING.value]})
    _provision(subscription, TaskAction.REMOVE, actor=actor)
    return subscription


def change_expiry_date(subscription: Subscription, *, expiry_date: date, comment: str = "",
                       actor) -> Subscription:
    """02 R-EXD-1..4: a service operation on own plans only; no charges are made."""
    if subscription.plan.is_delegated:
        raise SubscriptionError(_l("The expiry date can be changed only for subscriptions on "
                                   "the reseller's own plans."), field="expiry_date")
    if subscription.status == S.DELETED:
        raise _refuse_status(subscription, _l("change the expiry date of"))
    if expiry_date.year > 2999:
        raise SubscriptionError(_l("Choose an expiry date before the year 3000."),
                                field="expiry_date")
    if subscription.start_date and expiry_date < subscription.start_date:
        raise SubscriptionError(_l("The expiry date cannot be before the start date."),
                                field="expiry_date")
    before = subscription.expiry_date
    subscription.expiry_date = expiry_date
    subscription.prolonged_until = expiry_date
    subscription.updated_at = clock.now()
    audit.log(subscription, "subscriptions.subscription.expiry_changed", actor=actor,
              label=subscription.name,
              changes={"expiry_date": [before.isoformat() if before else None,
                                       expiry_date.isoformat()]},
              data={"comment": comment} if comment else None)
    return subscription


def close_charges_manually(subscription: Subscription, *, actor, on: date) -> list:
    """04a CH-49, 02 R-CLS-3: every open and blocked charge is deleted and, per service or
    resource, one charge for the whole remaining period is formed and closed."""
    if subscription.status in (S.DELETED, S.DELETING, S.NEW_ORDER):
        raise _refuse_status(subscription, _l("close the charges of"))
    client = lock_client(subscription.client)
    charges = [c for c in charges_of(subscription, [ChargeStatus.OPEN, ChargeStatus.BLOCKED])
               if c.charge_type == ChargeType.RECURRING_FEE]
    groups: dict[str, list] = {}
    for charge in charges:
        groups.setdefault(charge.line_key, []).append(charge)
    created = []
    for key, group in groups.items():
        for charge in group:
            delete_charge(charge)
        first = group[0]
        merged = new_charge(
            subscription=subscription, line_key=key, fee_kind="recurring",
            related_operation=first.related_operation, status=ChargeStatus.NEW,
            operate_from=min(c.operate_from for c in group),
            operate_to=max(c.operate_to for c in group),
            period=sum((c.period for c in group), Decimal(0)), quantity=first.quantity,
            unit_price=first.unit_price, gross=sum((c.gross for c in group), Decimal(0)),
            discount=sum((c.discount for c in group), Decimal(0)),
            amount=sum((c.amount for c in group), Decimal(0)), close_date=on,
            source=first, subscription_resource=first.subscription_resource)
        close_charge(merged, client, on=on)
        created.append(merged)
    subscription.charges_closed_manually = True
    subscription.updated_at = clock.now()
    audit.log(subscription, "subscriptions.subscription.charges_closed", actor=actor,
              label=subscription.name, data={"charges": [c.id for c in created]})
    return created


EDITABLE = ("name", "manager_id", "auto_renew", "auto_renew_locked", "auto_renew_point_days",
            "manual_renewal_point_days", "promo_code")


def update_subscription(subscription: Subscription, *, actor, **fields) -> Subscription:
    """02 R-DET-11 with R-DET-9: manual point ≥ auto point unless −1."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise SubscriptionError(_l("Unknown field %(name)s.", name=min(unknown)),
                                field=min(unknown))
    if "name" in fields and not (fields["name"] or "").strip():
        raise SubscriptionError(_l("The name is required."), field="name")
    if fields.get("manager_id") is not None:
        if db.session.scalar(select(StaffMember.id).where(
                StaffMember.id == fields["manager_id"],
                StaffMember.reseller_id == subscription.reseller_id)) is None:
            raise SubscriptionError(_l("Choose a staff member of this reseller."),
                                    field="manager_id")
    auto = fields.get("auto_renew_point_days", subscription.auto_renew_point_days)
    manual = fields.get("manual_renewal_point_days", subscription.manual_renewal_point_days)
    for name, value in (("auto_renew_point_days", auto), ("manual_renewal_point_days", manual)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise SubscriptionError(_l("Enter a whole number of days."), field=name)
    if auto > 3650 or manual > 3650:
        raise SubscriptionError(_l("A renewal point is at most 3650 days."),
                                field="auto_renew_point_days" if auto > 3650
                                else "manual_renewal_point_days")
    if auto < 0:
        raise SubscriptionError(_l("The automatic renewal point is 0 days or more."),
                                field="auto_renew_point_days")
    if manual < -1:
        raise SubscriptionError(_l("The manual renewal point is −1 (any time), 0 (never) or a "
                                   "number of days."), field="manual_renewal_point_days")
    if manual != -1 and manual < auto:
        raise SubscriptionError(_l("The manual renewal point must not be less than the "
                                   "automatic renewal point (or −1)."),
                                field="manual_renewal_point_days")
    before = {name: getattr(subscription, name) for name in fields}
    for name, value in fields.items():
        setattr(subscription, name, value.strip() if isinstance(value, str) else value)
    changes = {name: [str(before[name]), str(getattr(subscription, name))] for name in fields
               if before[name] != getattr(subscription, name)}
    if changes:
        subscription.updated_at = clock.now()
        audit.log(subscription, "subscriptions.subscription.updated", actor=actor,
                  label=subscription.name, changes=changes)
    return subscription


def set_individual_prices(subscription: Subscription, *, monthly_fee: Decimal | None = None,
                          resources: dict[int, Decimal] | None = None,
                          renewal_price_mode: RenewalPriceMode | str | None = None,
                          actor) -> Subscription:
    """02 R-PRC-6..R-PRC-10, R-AREN-4: edit the individual monthly prices (only the
    subscription fee: no setup, renewal, transfer or overage price here) and the renewal price
    mode of an individually priced subscription. The prices apply to charges made from now
    on (R-PRC-8): increases and renewals; charges already made keep theirs."""
    if not subscription.individual_prices:
        raise SubscriptionError(_l("Only an individually priced subscription has individual "
                                   "prices to edit."), code="status_conflict", status=409)
    if subscription.status in (S.DELETED, S.DELETING):
        raise SubscriptionError(_l("A deleted subscription cannot be changed."),
                                code="status_conflict", status=409)
    if renewal_price_mode is not None:
        try:
            renewal_price_mode = RenewalPriceMode(renewal_price_mode)
        except ValueError:
            raise SubscriptionError(_l("Choose how a renewal is priced: individual, plan or "
                                       "highest."), field="renewal_price_mode") from None
    by_id = {r.id: r for r in subscription.resources}
    for resource_id in resources or {}:
        if resource_id not in by_id:
            raise SubscriptionError(_l("The subscription has no resource %(id)s.",
                                       id=resource_id), field=f"resources.{resource_id}")
    for field, value in [("monthly_fee", monthly_fee),
                         *((f"resources.{k}", v) for k, v in (resources or {}).items())]:
        if value is not None and (not value.is_finite() or value < 0
                                  or value != value.quantize(Decimal("0.01"))
                                  or value >= Decimal("1000000000000")):
            raise SubscriptionError(_l("A price is a number, 0 or more, with at most two "
                                       "decimals."), field=field)
    changes = {}
    if monthly_fee is not None and monthly_fee != subscription.individual_monthly_fee:
        changes["individual_monthly_fee"] = [str(subscription.individual_monthly_fee),
                                             str(monthly_fee)]
        subscription.individual_monthly_fee = subscription.monthly_fee = monthly_fee
    for resource_id, value in (resources or {}).items():
        resource = by_id[resource_id]
        if value is not None and value != resource.individual_monthly_fee:
            changes[f"resource {resource.name}"] = [str(resource.individual_monthly_fee),
                                                    str(value)]
            resource.individual_monthly_fee = resource.monthly_fee = value
    if renewal_price_mode is not None and renewal_price_mode != subscription.renewal_price_mode:
        changes["renewal_price_mode"] = [str(subscription.renewal_price_mode),
                                         renewal_price_mode.value]
        subscription.renewal_price_mode = renewal_price_mode
    if changes:
        subscription.updated_at = clock.now()
        audit.log(subscription, "subscriptions.subscription.individual_prices_set", actor=actor,
                  label=subscription.name, changes=changes)
    return subscription
