"""The notification events of the day (09 §4.9 TRG-8, 14, 15, 37, 38, 39; §4.10; §6 J6, J9, J10,
J11, J12), after the nightly run of the day has closed its charges.

A daily scan could emit one event per subscription or client every day; most would find no
handler whose rule holds. So each scan asks first which resellers have an active handler for
the event and what their rules require of the day-count placeholder (`subscription.days_left
= 10` needs only the subscriptions expiring in 10 days), and emits only for those. A rule the
scan cannot narrow (no day term, `<`, `or` with another term) gets every candidate: the
dispatch evaluates the full rule anyway, the narrowing only saves work."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import exists, select

from portal.billing.engine.periods import next_financial_day
from portal.catalog.models import Plan, ProvisioningRule
from portal.clients.models import Client, ClientStatus
from portal.core.clock import clock
from portal.core.scheduler import daily_job
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.notifications.events import emit
from portal.notifications.models import HandlerStatus, NotificationEvent
from portal.notifications.rule_language import RuleSyntaxError, parse_rule
from portal.orders.models import Order, OrderStatus, OrderType
from portal.orders.services import nightly  # noqa: F401 - "billing" registers before this job
from portal.subscriptions.models import Subscription, SubscriptionStatus

log = logging.getLogger(__name__)
S = SubscriptionStatus
ANY = None  # a rule the scan cannot narrow: every candidate
# 09 BD-4: the subscriptions whose financial day "Финансовый день наступает" is about.
BILLING_DAY_STATUSES = (S.ACTIVE, S.AWAITING_MANUAL_APPROVAL, S.PAYMENT_OVERDUE)
FINANCIAL_DAYS = range(1, 29)  # 04a CH-1


@dataclass(frozen=True)
class Ref:
    """An object an event is about, by id: emit sends ids only, so the scans load no rows."""

    id: int


@daily_job("notifications")
def daily_notifications_job(on: date) -> None:
    """The scheduler's entry for day `on`; registered after the nightly run ("billing")."""
    if on < clock.today():
        # A caught-up past day: its reminders would be stale, and the rules see today's values.
        log.info("daily notifications of %s skipped (caught up on %s)", on, clock.today())
        return
    emit_daily_events(on)


def emit_daily_events(on: date) -> dict[str, int]:
    """Emit the day's events; return how many of each."""
    with across_tenants():
        return {
            "before_subscription_expiration": emit_expiration_events(on, before=True),
            "after_subscription_expiration": emit_expiration_events(on, before=False),
            "billing_day_coming": emit_billing_day_coming(on),
            "billing_day_come": emit_billing_day_come(on),
            "low_balance": emit_regular_low_balance(on),
            "net_cost_changed": emit_net_cost_changed(on),
        }


# -- what the handlers want ---------------------------------------------------------------------

def wanted_values(event_type: str, placeholder: str | None = None) -> dict[int, set | None]:
    """{reseller id: the values of `placeholder` some active handler's rule can hold for, or ANY}
    for every reseller with an active handler of `event_type` (09 N-4, N-7)."""
    wanted: dict[int, set | None] = {}
    rows = db.session.execute(select(NotificationEvent.reseller_id, NotificationEvent.rule).where(
        NotificationEvent.event_type == event_type,
        NotificationEvent.status == HandlerStatus.ACTIVE))
    for reseller_id, text in rows:
        values = ANY if placeholder is None else required_values(text, placeholder)
        if reseller_id in wanted and wanted[reseller_id] is ANY:
            continue
        if values is ANY:
            wanted[reseller_id] = ANY
        else:
            wanted[reseller_id] = wanted.get(reseller_id, set()) | values
    return wanted


def required_values(rule_text: str, placeholder: str) -> set | None:
    """The values `placeholder` must equal for the rule to hold, or ANY when the rule does not
    pin it (empty, unparsable, or compared otherwise than by `=`)."""
    try:
        rule = parse_rule(rule_text)
    except RuleSyntaxError:
        return ANY  # refused on save; the dispatch reports it
    # Reads the parsed tree of rule_language (its node classes by name): an `and` narrows to any
    # pinned operand, an `or` only when every branch is pinned.
    return _pinned(getattr(rule, "_root", None), placeholder)


def _pinned(node, placeholder: str) -> set | None:
    kind = type(node).__name__
    if kind == "_Placeholder":
        return {True} if node.name == placeholder else ANY  # a bare boolean test
    if kind == "_Comparison" and node.operator in ("=", "=="):
        for one, other in ((node.left, node.right), (node.right, node.left)):
            if type(one).__name__ == "_Placeholder" and one.name == placeholder \
                    and type(other).__name__ == "_Literal":
                return {_normal(other.constant)}
        return ANY
    if kind == "_AllOf":
        found = ANY
        for operand in node.operands:
            values = _pinned(operand, placeholder)
            if values is not ANY:
                found = values if found is ANY else found & values
        return found
    if kind == "_AnyOf":
        union: set = set()
        for operand in node.operands:
            values = _pinned(operand, placeholder)
            if values is ANY:
                return ANY
            union |= values
        return union
    return ANY


def _normal(value):
    """Literals as the scans compare them: numbers as Decimal, "true"/"false" as booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return value


def _whole_days(values: set) -> list[int]:
    return sorted({int(v) for v in values
                   if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value()})


# -- the scans ----------------------------------------------------------------------------------

def emit_expiration_events(on: date, *, before: bool) -> int:
    """09 TRG-14 "До окончания периода подписки" (days_left = expiry − today, subscriptions
    without a renewal order being provisioned) and TRG-15 "После окончания периода подписки"
    (days_passed = today − expiry, A-12), daily (J6)."""
    event_type = "before_subscription_expiration" if before else "after_subscription_expiration"
    placeholder = "subscription.days_left" if before else "subscription.days_passed"
    count = 0
    for reseller_id, values in wanted_values(event_type, placeholder).items():
        query = select(Subscription.id, Subscription.client_id).where(
            Subscription.reseller_id == reseller_id, Subscription.status != S.DELETED,
            Subscription.expiry_date.is_not(None))
        if values is not ANY:
            days = _whole_days(values)
            if not days:
                continue
            query = query.where(Subscription.expiry_date.in_(
                [on + timedelta(days=d) if before else on - timedelta(days=d) for d in days]))
        elif not before:
            query = query.where(Subscription.expiry_date < on)
        if before:
            query = query.where(~exists().where(
                Order.reseller_id == reseller_id, Order.subscription_id == Subscription.id,
                Order.order_type == OrderType.RENEWAL_ORDER,
                Order.status.in_([OrderStatus.WAITING_FOR_PROVISIONING,
                                  OrderStatus.PROVISIONING])))
        for subscription_id, client_id in db.session.execute(query.order_by(Subscription.id)):
            emit(event_type, client=Ref(client_id), subscription=Ref(subscription_id))
            count += 1
    return count


def emit_billing_day_coming(on: date) -> int:
    """09 TRG-38, BD-1..BD-7, J9: per client and unique financial day of its subscriptions in
    the BD-4 statuses; billing_day_left is the days to that day, never 0 (BD-7)."""
    count = 0
    for reseller_id, values in wanted_values("billing_day_coming", "billing_day_left").items():
        coming = {day: next_financial_day(on, day) for day in FINANCIAL_DAYS}
        if values is not ANY:
            days = set(_whole_days(values))
            coming = {day: when for day, when in coming.items() if (when - on).days in days}
        if not coming:
            continue
        pairs = db.session.execute(
            select(Subscription.client_id, ProvisioningRule.financial_day).distinct()
            .join(Plan, Plan.id == Subscription.plan_id)
            .join(ProvisioningRule, ProvisioningRule.id == Plan.provisioning_rule_id)
            .where(Subscription.reseller_id == reseller_id,
                   Subscription.status.in_(BILLING_DAY_STATUSES),
                   ProvisioningRule.financial_day.in_(list(coming)))
            .order_by(Subscription.client_id, ProvisioningRule.financial_day))
        for client_id, day in pairs:
            emit("billing_day_coming", client=Ref(client_id),
                 extra={"billing_day_date": coming[day].isoformat()})
            count += 1
    return count


def emit_billing_day_come(on: date) -> int:
    """09 TRG-39, BD-10, J10: after the billing run of `on`, per manager of the reseller with a
    client that has a non-deleted subscription whose financial day is `on`."""
    count = 0
    for reseller_id in wanted_values("billing_day_come"):
        due = (select(Subscription.id)
               .join(Plan, Plan.id == Subscription.plan_id)
               .join(ProvisioningRule, ProvisioningRule.id == Plan.provisioning_rule_id)
               .where(Subscription.reseller_id == reseller_id,
                      Subscription.client_id == Client.id, Subscription.status != S.DELETED,
                      ProvisioningRule.financial_day == on.day))
        managers = db.session.scalars(
            select(Client.manager_id).distinct()
            .where(Client.reseller_id == reseller_id, Client.manager_id.is_not(None),
                   Client.status != ClientStatus.DELETED, due.exists())
            .order_by(Client.manager_id))
        for manager_id in managers:
            emit("billing_day_come", reseller=Ref(reseller_id), staff_member=Ref(manager_id),
                 extra={"billing_day_date": on.isoformat()})
            count += 1
    return count


def emit_regular_low_balance(on: date) -> int:
    """09 TRG-8 in the billing process (A-46: account.regular_sending true; J11): every client
    whose balance is 0 or less after the run, for handlers that do not ask for the balance-change
    notice only."""
    count = 0
    for reseller_id, values in wanted_values("low_balance", "account.regular_sending").items():
        if values is not ANY and True not in values:
            continue
        clients = db.session.scalars(select(Client.id).where(
            Client.reseller_id == reseller_id, Client.balance <= 0,
            Client.status != ClientStatus.DELETED).order_by(Client.id))
        for client_id in clients:
            emit("low_balance", client=Ref(client_id),
                 extra={"account.regular_sending": "true"})
            count += 1
    return count


def emit_net_cost_changed(on: date) -> int:
    """09 TRG-37, J12: per reseller whose plan costs changed on the day before `on`
    (00:00:00–23:59:59 in the platform zone)."""
    day = on - timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=clock.zone())
    changed = defaultdict(int)
    for (reseller_id,) in db.session.execute(select(Plan.reseller_id).where(
            Plan.cost_changed_at >= start, Plan.cost_changed_at < start + timedelta(days=1))):
        changed[reseller_id] += 1
    count = 0
    for reseller_id in wanted_values("net_cost_changed"):
        if changed.get(reseller_id):
            emit("net_cost_changed", reseller=Ref(reseller_id),
                 extra={"changed_on": day.isoformat()})
            count += 1
    return count
