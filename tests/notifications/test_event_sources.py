"""Every source of a notification event emits it once per change, inside its own transaction
(09 §3.5, §4.9): the queued dispatch job names the objects by id and the previous status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.clients.models import ClientStatus
from portal.clients.services.clients import block_client, unblock_client, update_client
from portal.clients.services.service_rules import update_service_rule
from portal.core import jobs
from portal.core.clock import clock
from portal.orders.models import (ManualOperation, ManualOperationStatus, ManualOperationType,
                                  OrderStatus, PaymentStatus, TaskAction)
from portal.orders.services.manual_operations import (approve_manual_operation,
                                                      decline_manual_operation)
from portal.orders.services.ordering import cancel_order, place_sales_order
from portal.orders.services.payments import cancel_payment, complete_payment, create_topup
from portal.subscriptions.models import SubscriptionStatus
from portal.subscriptions.services.lifecycle import delete_subscription, stop_subscription
from portal.subscriptions.services.outcome import provisioning_succeeded
from tests.factories import (make_client, make_plan, make_reseller, make_root, make_rule,
                             make_service_rule, make_staff)

S = SubscriptionStatus
DISPATCH = "portal.notifications.dispatch.dispatch_event"
ON = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    """Queue jobs in this process even when REDIS_URL is set, to read them back."""
    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = jobs.InProcessBackend()
    yield
    app.extensions["portal_jobs"] = original


def queued(db, event_type: str | None = None) -> list[tuple]:
    """(event type, refs, extra, was) of the events waiting for this transaction's commit."""
    pending = db.session.info.get("portal_after_commit", [])
    return [args for path, args, _queue in pending
            if path == DISPATCH and (event_type is None or args[0] == event_type)]


def committed(app, event_type: str | None = None) -> list[tuple]:
    """The events a commit handed to the job queue."""
    pending = app.extensions["portal_jobs"].pending.queue
    return [args for path, args in list(pending)
            if path == DISPATCH and (event_type is None or args[0] == event_type)]


def settle(db) -> None:
    """Commit the set-up and forget its events."""
    db.session.commit()
    jobs.backend().pending.queue.clear()


@pytest.fixture
def shop(app, db):
    """A client with money and a plan without services (its provisioning succeeds at once)."""
    reseller = make_reseller(make_root(), name="Shop")
    client = make_client(reseller)
    plan = make_plan(reseller, rule=make_rule(reseller, financial_day=1))
    topup = create_topup(client, amount="1000.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=ON)
    settle(db)
    return reseller, client, plan


def test_a_paid_sales_order_emits_each_step_once(db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    assert queued(db) == [("order_created", {"order": order.id}, {}, {})]

    complete_payment(order.payment, from_balance=False, actor=None, on=ON)
    subscription = order.subscription
    assert (order.status, subscription.status) == (OrderStatus.COMPLETED, S.ACTIVE)
    events = queued(db)[1:]
    assert [e[0] for e in events] == ["payment_received", "order_changed", "order_changed",
                                      "subscription_changed"]
    payment, provisioning, completed, active = events
    assert payment[1]["payment"] == order.payment.id
    assert payment[3] == {"payment.status": "waiting_for_payment"}
    assert provisioning[1] == completed[1] == {"order": order.id}
    assert provisioning[3] == {"order.status": "waiting_for_payment"}
    assert completed[3] == {"order.status": "provisioning"}
    assert active[1] == {"subscription": subscription.id}
    assert active[3] == {"subscription.status": "installing"}


def test_paying_from_the_balance_receives_no_payment(db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    complete_payment(order.payment, from_balance=True, actor=None, on=ON)
    assert order.payment.status == PaymentStatus.PAID_FROM_BALANCE
    assert queued(db, "payment_received") == []
    assert len(queued(db, "order_changed")) == 2


def test_cancelling_an_order_emits_the_order_and_its_payment_not_the_new_subscription(db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    settle(db)
    cancel_order(order, actor=None, on=ON)
    assert order.subscription.status == S.DELETED  # an unpaid new order: no "changed" (§3.5)
    assert [(e[0], e[3]) for e in queued(db)] == [
        ("order_changed", {"order.status": "waiting_for_payment"}),
        ("payment_received", {"payment.status": "waiting_for_payment"})]


def test_cancelling_a_payment_emits_it_and_its_order(db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    settle(db)
    cancel_payment(order.payment, actor=None)
    assert [e[0] for e in queued(db)] == ["payment_received", "order_changed"]


def test_a_rolled_back_change_notifies_no_one(app, db, shop):
    _reseller, client, plan = shop
    place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    assert queued(db, "order_created")
    db.session.rollback()
    assert queued(db) == []
    db.session.commit()
    assert committed(app) == []


def test_a_committed_change_queues_its_events_once(app, db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    db.session.commit()
    assert committed(app) == [("order_created", {"order": order.id}, {}, {})]
    assert queued(db) == []


def test_subscription_stop_and_delete_notify_when_they_are_done(db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    complete_payment(order.payment, from_balance=False, actor=None, on=ON)
    subscription = order.subscription
    settle(db)
    stop_subscription(subscription, reason="Client asked", actor=None, on=ON)
    assert subscription.status == S.STOPPED  # no services: done at once
    assert [(e[0], e[3]) for e in queued(db)] == [
        ("subscription_changed", {"subscription.status": "stopping"})]
    settle(db)
    delete_subscription(subscription, actor=None, on=ON)
    assert subscription.status == S.DELETED
    assert [(e[0], e[3]) for e in queued(db, "subscription_changed")] == [
        ("subscription_changed", {"subscription.status": "deleting"})]


def test_a_stop_by_the_administrative_block_is_not_notified(db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    complete_payment(order.payment, from_balance=False, actor=None, on=ON)
    settle(db)
    block_client(client, actor=None)
    assert order.subscription.status == S.STOPPED
    assert queued(db, "subscription_changed") == []  # 09 §3.5
    assert [(e[0], e[1], e[3]) for e in queued(db)] == [
        ("account_changed", {"client": client.id}, {"account.status": "active"})]
    settle(db)
    unblock_client(client, actor=None)
    assert order.subscription.status == S.ACTIVE
    assert [(e[0], e[3]) for e in queued(db)] == [
        ("account_changed", {"account.status": "admin_blocked"}),
        ("subscription_changed", {"subscription.status": "activating"})]


def test_financial_block_and_manual_stop_operations(db, app):
    reseller = make_reseller(make_root(), name="Blocky")
    rule = make_service_rule(reseller, stop_method="manual")
    client = make_client(reseller, service_rule=rule)
    plan = make_plan(reseller)
    topup = create_topup(client, amount="100.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=ON)
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    complete_payment(order.payment, from_balance=True, actor=None, on=ON)
    subscription = order.subscription
    settle(db)
    # The balance goes below the threshold (0): the financial block stops it for approval.
    from portal.billing.models import TransactionKind
    from portal.billing.services.ledger import lock_client, post_transaction
    from portal.subscriptions.services.blocks import evaluate_financial_block

    lock_client(client)
    post_transaction(client, Decimal("-500.00"), kind=TransactionKind.CHARGE,
                     description="Correction", currency="RUB")
    evaluate_financial_block(client)
    assert client.status == ClientStatus.FINANCIALLY_BLOCKED
    assert subscription.status == S.AWAITING_MANUAL_APPROVAL
    operation = db.session.scalar(select(ManualOperation).where(
        ManualOperation.reseller_id == reseller.id, ManualOperation.subscription_id ==
        subscription.id))
    assert [(e[0], e[1], e[3]) for e in queued(db)] == [
        ("low_balance", {"client": client.id}, {"account.balance": "100.00"}),
        ("account_changed", {"client": client.id}, {"account.status": "active"}),
        ("subscription_changed", {"subscription": subscription.id},
         {"subscription.status": "active"}),
        ("manual_operation", {"manual_operation": operation.id}, {})]
    settle(db)
    # Money comes back: the block is lifted, the waiting operation declined.
    topup = create_topup(client, amount="1000.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=ON)
    assert client.status == ClientStatus.ACTIVE
    assert operation.status == ManualOperationStatus.DECLINED
    assert [(e[0], e[1], e[3]) for e in queued(db)] == [
        ("payment_received", {"payment": topup.id, "client": client.id},
         {"payment.status": "waiting_for_payment"}),
        ("account_changed", {"client": client.id}, {"account.status": "financially_blocked"}),
        ("manual_operation", {"manual_operation": operation.id}, {}),
        ("subscription_changed", {"subscription": subscription.id},
         {"subscription.status": "awaiting_manual_approval"})]


def test_manual_operation_decisions(db, shop):
    reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    complete_payment(order.payment, from_balance=False, actor=None, on=ON)
    staff = make_staff(reseller)
    operations = [ManualOperation(
        reseller_id=reseller.id, client_id=client.id, subscription_id=order.subscription_id,
        operation_type=ManualOperationType.SUBSCRIPTION_STOP, description="Stop",
        created_at=clock.now()) for _ in range(2)]
    db.session.add_all(operations)
    settle(db)
    approve_manual_operation(operations[0], actor=staff)
    decline_manual_operation(operations[1], actor=staff, comment="No")
    assert queued(db) == [("manual_operation", {"manual_operation": op.id}, {}, {})
                          for op in operations]


def test_client_changes(db, app):
    reseller = make_reseller(make_root(), name="Clients")
    manager = make_staff(reseller)
    client = make_client(reseller, invitation_link=lambda raw: f"http://x/set/{raw}")
    created = queued(db)
    assert [e[0] for e in created] == ["account_created", "credit_hold_threshold_changed"]
    assert created[0][1] == {"client": client.id, "user": client.owner.id}
    assert created[0][2]["account.owner_reset_password_url"].startswith("http://x/set/")
    settle(db)
    update_client(client, manager_id=manager.id, block_threshold="150.00")
    assert [(e[0], e[1]) for e in queued(db)] == [
        ("account_manager_changed", {"client": client.id}),
        ("credit_hold_threshold_changed", {"client": client.id})]
    settle(db)
    update_client(client, manager_id=manager.id, block_threshold="150.00", city="Тверь")
    assert queued(db) == []  # nothing the events are about changed


def test_a_service_rule_threshold_reaches_the_clients_that_use_it(db, app):
    reseller = make_reseller(make_root(), name="Rules")
    rule = make_service_rule(reseller)
    follows = make_client(reseller, service_rule=rule)
    own = make_client(reseller, service_rule=rule, block_threshold="10.00")
    settle(db)
    update_service_rule(rule, block_threshold="300.00")
    assert [(e[0], e[1]) for e in queued(db)] == [
        ("credit_hold_threshold_changed", {"client": follows.id})]
    assert own.id != follows.id


def test_low_balance_once_per_transaction_however_many_debits(db, shop):
    from portal.billing.models import TransactionKind
    from portal.billing.services.ledger import lock_client, post_transaction

    _reseller, client, _plan = shop
    lock_client(client)
    post_transaction(client, Decimal("-400.00"), kind=TransactionKind.CHARGE,
                     description="a", currency="RUB")
    assert queued(db) == []  # 600 left
    for _ in range(4):  # 300, then 0, −300, −600: the first debit to 0 or below notifies
        post_transaction(client, Decimal("-300.00"), kind=TransactionKind.CHARGE,
                         description="b", currency="RUB")
    assert queued(db) == [("low_balance", {"client": client.id},
                           {"account.regular_sending": "false"}, {"account.balance": "300.00"})]
    settle(db)
    lock_client(client)
    post_transaction(client, Decimal("-1.00"), kind=TransactionKind.CHARGE,
                     description="c", currency="RUB")
    assert len(queued(db, "low_balance")) == 1  # a new transaction, a new notice


def test_the_client_panel_reset_and_the_staff_links(db, app):
    from portal.accounts.services import request_password_reset
    from portal.clients.services.user_tokens import request_user_password_reset

    reseller = make_reseller(make_root(), name="Links")
    client = make_client(reseller, owner_email="olga@example.com")
    member = make_staff(reseller, email="kate@example.com")
    settle(db)
    request_user_password_reset(reseller, email="olga@example.com",
                                link_for=lambda raw: f"http://r/{raw}")
    request_user_password_reset(reseller, email="olga@example.com",
                                link_for=lambda raw: f"http://s/{raw}", by_staff=True)
    request_password_reset(reseller, email="kate@example.com",
                           link_for=lambda raw: f"http://m/{raw}")
    request_user_password_reset(reseller, email="nobody@example.com", link_for=str)
    user_reset, staff_link, manager = queued(db)
    assert user_reset[:2] == ("password_reset_request",
                              {"reseller": reseller.id, "user": client.owner.id})
    assert user_reset[2]["reset_password_url"] == f"http://r/{user_reset[2]['token']}"
    assert staff_link[:2] == ("user_created_password_reset",
                              {"reseller": reseller.id, "user": client.owner.id,
                               "client": client.id})
    assert manager[:2] == ("manager_password_reset_request",
                           {"reseller": reseller.id, "staff_member": member.id})
    assert manager[2]["reset_password_url"].startswith("http://m/")


def test_trial_to_paid(db, app):
    from portal.catalog.models import PlanSwitchTarget
    from portal.orders.services.switching import place_switch_order

    reseller = make_reseller(make_root(), name="Trials")
    client = make_client(reseller)
    rule = make_rule(reseller, financial_day=1)
    trial = make_plan(reseller, rule=rule, periods=[
        {"duration": 14, "duration_unit": "day", "monthly_fee": "0", "is_trial": True}])
    paid = make_plan(reseller, rule=rule)
    db.session.add(PlanSwitchTarget(reseller_id=reseller.id, plan_id=trial.id,
                                    target_plan_id=paid.id))
    topup = create_topup(client, amount="1000.00", actor=None)
    complete_payment(topup, from_balance=False, actor=None, on=ON)
    order = place_sales_order(client, trial, trial.periods[0], quantities={}, actor=None,
                              on=ON)
    subscription = order.subscription
    assert subscription.is_trial and subscription.status == S.ACTIVE
    settle(db)
    switch = place_switch_order(subscription, paid, paid.periods[0], quantities={}, actor=None,
                                on=ON)
    complete_payment(switch.payment, from_balance=True, actor=None, on=ON)
    assert not subscription.is_trial
    assert queued(db, "subscription_trial_to_paid") == [
        ("subscription_trial_to_paid", {"subscription": subscription.id}, {}, {})]
    # "Подписка изменена" fires too, once the update is provisioned.
    assert [e[3] for e in queued(db, "subscription_changed")] == [
        {"subscription.status": "updating"}]


def test_provisioning_success_twice_notifies_once(db, shop):
    _reseller, client, plan = shop
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=ON)
    complete_payment(order.payment, from_balance=False, actor=None, on=ON)
    settle(db)
    provisioning_succeeded(order.subscription, TaskAction.INSTALL, order=order)
    assert queued(db) == []
