"""The day's notification events (09 TRG-8, 14, 15, 37, 38, 39): emitted only for what some
active handler's rule can hold for, once per subscription, client or manager."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from portal.core import jobs
from portal.core.scheduler import DAILY_JOBS
from portal.notifications.models import HandlerStatus, NotificationEvent
from portal.orders.models import Order, OrderStatus, OrderType
from portal.orders.services import daily_notices
from portal.orders.services.daily_notices import emit_daily_events, required_values
from portal.subscriptions.models import SubscriptionStatus
from tests.factories import make_client, make_plan, make_reseller, make_root, make_rule, make_staff
from tests.orders.factories import make_provisioning_subscription

S = SubscriptionStatus
D = Decimal
TODAY = date(2026, 11, 22)  # the frozen clock's day


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = jobs.InProcessBackend()
    yield
    app.extensions["portal_jobs"] = original


def queued(db, event_type):
    pending = db.session.info.get("portal_after_commit", [])
    return [args for path, args, _queue in pending
            if path.endswith("dispatch_event") and args[0] == event_type]


@pytest.mark.parametrize(("rule", "name", "values"), [
    ('subscription.days_left = 10 and subscription.status = "active"',
     "subscription.days_left", {D(10)}),
    ("10 = subscription.days_left", "subscription.days_left", {D(10)}),
    ("subscription.days_left = 10 or (subscription.days_left = 3 and plan.id = 4)",
     "subscription.days_left", {D(10), D(3)}),
    ("subscription.days_left = 10 and subscription.days_left = 3", "subscription.days_left",
     set()),
    ("subscription.days_left < 10", "subscription.days_left", None),
    ('subscription.days_left = 10 or subscription.status = "active"',
     "subscription.days_left", None),
    ("", "subscription.days_left", None),
    ("subscription.days_left = ", "subscription.days_left", None),  # refused on save
    ("account.regular_sending = false", "account.regular_sending", {False}),
    ('account.regular_sending = "true"', "account.regular_sending", {True}),
    ("account.regular_sending and account.balance < 0", "account.regular_sending", {True}),
    ("billing_day_left = 3 and monthly_billing = true", "billing_day_left", {D(3)}),
])
def test_what_a_rule_pins(rule, name, values):
    assert required_values(rule, name) == values


def _subscription(reseller, client, *, expires, status=S.ACTIVE, plan=None):
    subscription, _order = make_provisioning_subscription(reseller, services=[], client=client,
                                                          status=status, with_order=False)
    subscription.expiry_date = expires
    if plan is not None:
        subscription.plan_id = plan.id
    return subscription


def _handlers(db, reseller, event_type, **values):
    db.session.execute(update(NotificationEvent).where(
        NotificationEvent.reseller_id == reseller.id,
        NotificationEvent.event_type == event_type).values(**values))


@pytest.fixture
def reseller(app, db):
    return make_reseller(make_root(), name="Daily")


def test_expiry_reminders_go_to_the_days_the_rules_name(db, reseller):
    client = make_client(reseller)
    in_ten = _subscription(reseller, client, expires=TODAY + timedelta(days=10))
    _subscription(reseller, client, expires=TODAY + timedelta(days=9))
    _subscription(reseller, client, expires=TODAY + timedelta(days=10), status=S.DELETED)
    renewing = _subscription(reseller, client, expires=TODAY + timedelta(days=10))
    db.session.add(Order(reseller_id=reseller.id, client_id=client.id,
                         subscription_id=renewing.id, number="RO1",
                         order_type=OrderType.RENEWAL_ORDER, status=OrderStatus.PROVISIONING,
                         currency="RUB", plan_id=renewing.plan_id,
                         plan_period_id=renewing.plan_period_id, created_on=TODAY,
                         provision_date=TODAY,
                         total=D("1"), gross_total=D("1")))
    yesterday = _subscription(reseller, client, expires=TODAY - timedelta(days=1))
    _subscription(reseller, client, expires=TODAY - timedelta(days=2))
    db.session.flush()
    # The installed handlers: days_left = 10 (and active), days_passed = 1.
    counts = emit_daily_events(TODAY)
    assert counts["before_subscription_expiration"] == 1
    assert counts["after_subscription_expiration"] == 1
    assert queued(db, "before_subscription_expiration") == [
        ("before_subscription_expiration", {"client": client.id, "subscription": in_ten.id},
         {}, {})]
    assert queued(db, "after_subscription_expiration") == [
        ("after_subscription_expiration", {"client": client.id, "subscription": yesterday.id},
         {}, {})]


def test_an_unnarrowed_rule_gets_every_candidate_and_no_handler_none(db, reseller):
    client = make_client(reseller)
    subscriptions = [_subscription(reseller, client, expires=TODAY + timedelta(days=d))
                     for d in (1, 5, 40)]
    db.session.flush()
    _handlers(db, reseller, "before_subscription_expiration", rule="subscription.days_left < 7")
    _handlers(db, reseller, "after_subscription_expiration", status=HandlerStatus.INACTIVE)
    emit_daily_events(TODAY)
    assert [e[1]["subscription"] for e in queued(db, "before_subscription_expiration")] == [
        s.id for s in subscriptions]
    assert queued(db, "after_subscription_expiration") == []


def test_billing_day_coming_once_per_client_and_financial_day(db, reseller):
    # The installed rule: billing_day_left = 3 and monthly_billing = true -> 25.11 (FD 25).
    client, other = make_client(reseller), make_client(reseller)
    plan_25 = make_plan(reseller, rule=make_rule(reseller, financial_day=25))
    plan_24 = make_plan(reseller, rule=make_rule(reseller, financial_day=24))
    for _ in range(2):
        _subscription(reseller, client, expires=TODAY + timedelta(days=60), plan=plan_25)
    _subscription(reseller, client, expires=TODAY + timedelta(days=60), plan=plan_24)
    _subscription(reseller, other, expires=TODAY + timedelta(days=60), plan=plan_25,
                  status=S.STOPPED)  # BD-4: not a status the event counts
    db.session.flush()
    emit_daily_events(TODAY)
    assert queued(db, "billing_day_coming") == [
        ("billing_day_coming", {"client": client.id}, {"billing_day_date": "2026-11-25"}, {})]


def test_billing_day_come_once_per_manager(db, reseller):
    manager, idle = make_staff(reseller), make_staff(reseller)
    plan_22 = make_plan(reseller, rule=make_rule(reseller, financial_day=22))
    plan_1 = make_plan(reseller, rule=make_rule(reseller, financial_day=1))
    for _ in range(2):
        client = make_client(reseller, manager_id=manager.id)
        _subscription(reseller, client, expires=TODAY + timedelta(days=60), plan=plan_22)
    client = make_client(reseller, manager_id=idle.id)
    _subscription(reseller, client, expires=TODAY + timedelta(days=60), plan=plan_1)
    db.session.flush()
    emit_daily_events(TODAY)
    assert queued(db, "billing_day_come") == [
        ("billing_day_come", {"reseller": reseller.id, "staff_member": manager.id},
         {"billing_day_date": "2026-11-22"}, {})]


def test_regular_low_balance_only_for_rules_that_want_it(db, reseller):
    broke, rich = make_client(reseller), make_client(reseller)
    broke.balance = D("-5.00")
    rich.balance = D("5.00")
    db.session.flush()
    emit_daily_events(TODAY)
    # The installed rule asks for the balance-change notice only (account.regular_sending false).
    assert queued(db, "low_balance") == []
    _handlers(db, reseller, "low_balance", rule="")
    emit_daily_events(TODAY)
    assert queued(db, "low_balance") == [
        ("low_balance", {"client": broke.id}, {"account.regular_sending": "true"}, {})]


def test_net_cost_digest_for_yesterdays_changes(db, reseller, frozen_clock):
    plan = make_plan(reseller)
    plan.cost_changed_at = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    quiet = make_reseller(make_root(), name="Quiet")
    make_plan(quiet).cost_changed_at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    db.session.flush()
    emit_daily_events(TODAY)
    assert queued(db, "net_cost_changed") == [
        ("net_cost_changed", {"reseller": reseller.id}, {"changed_on": "2026-11-21"}, {})]


def test_the_daily_job_runs_after_the_billing_run_and_skips_stale_days(db, reseller):
    names = list(DAILY_JOBS)
    assert names.index("notifications") > names.index("billing")
    client = make_client(reseller)
    _subscription(reseller, client, expires=TODAY + timedelta(days=9))  # 10 days after 21.11
    in_ten = _subscription(reseller, client, expires=TODAY + timedelta(days=10))
    db.session.flush()
    # A day caught up late: "10 days left" would be wrong by now, so it emits nothing.
    daily_notices.daily_notifications_job(TODAY - timedelta(days=1))
    assert queued(db, "before_subscription_expiration") == []
    daily_notices.daily_notifications_job(TODAY)
    assert [e[1]["subscription"] for e in queued(db, "before_subscription_expiration")] == [
        in_ten.id]
