"""The nightly run skips the later stages on a day none of them can find anything (issue 5
performance): the day-level check must never hide work a stage's own query would find."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from portal.billing.models import BillingChunk
from portal.clients.models import ClientStatus
from portal.extensions import db as database
from portal.orders.services import nightly
from portal.orders.services.ordering import place_sales_order
from portal.orders.services.payments import complete_payment, create_topup
from portal.subscriptions.models import SubscriptionStatus as S
from tests.factories import make_client, make_plan, make_root, make_rule, make_service_rule

ORDER_DAY = date(2026, 11, 10)


def _paid_preorder(client, plan, *, topup: str | None):
    if topup:
        payment = create_topup(client, amount=topup, actor=None)
        complete_payment(payment, from_balance=False, actor=None, on=ORDER_DAY)
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None,
                              on=ORDER_DAY)
    complete_payment(order.payment, from_balance=True, actor=None, on=ORDER_DAY)
    return order.subscription


def test_a_day_with_only_charges_due_runs_no_later_stage_and_still_closes(db, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    root = make_root()
    clients = [make_client(root) for _ in range(3)]  # before the rule: it takes their types
    plan = make_plan(root, rule=make_rule(root), periods=[{"duration": 1, "duration_unit": "month",
                                                           "monthly_fee": "30.00"}])
    for client in clients:
        _paid_preorder(client, plan, topup="100.00")
    database.session.commit()
    frozen_clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    assert nightly.stages_with_work(date(2026, 12, 1)) == frozenset()
    assert nightly.run_billing_day(date(2026, 12, 1), chunk_size=2) == {"closed": 3, "chunks": 2}
    summaries = database.session.scalars(select(BillingChunk.summary).where(
        BillingChunk.run_on == date(2026, 12, 1)).order_by(BillingChunk.chunk_index)).all()
    assert summaries == ["closed=2, expired=0, renewals=0, expiries=0, blocks=0",
                         "closed=1, expired=0, renewals=0, expiries=0, blocks=0"]


def test_a_stage_left_out_for_the_day_finds_nothing_over_a_whole_lifecycle(db, frozen_clock):
    """Renewal orders at the renewal point, one paid and one not; the unpaid one's subscription
    runs out, is stopped and deleted; an unpaid order expires; a balance goes negative and its
    period runs out. Every day, each stage the day-level check leaves out must find nothing on
    its own over all clients, and each stage is needed on some day."""
    frozen_clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    root = make_root()
    debtor_rule = make_service_rule(root, allow_negative_balance_payment=True,
                                    block_threshold="100.00", negative_balance_days=2)
    clients = [make_client(root) for _ in range(3)] + [make_client(root, service_rule=debtor_rule)]
    rule = make_rule(root, auto_renewal_point_days=5, unpaid_stop_after_days=3,
                     block_period_days=4)
    plan = make_plan(root, rule=rule, autorenew=True,
                     periods=[{"duration": 1, "duration_unit": "month", "monthly_fee": "30.00"}])
    renewing = _paid_preorder(clients[0], plan, topup="200.00")
    lapsing = _paid_preorder(clients[1], plan, topup="30.00")
    unpaid = place_sales_order(clients[2], plan, plan.periods[0], quantities={}, actor=None,
                               on=ORDER_DAY)
    debtor = clients[3]
    _paid_preorder(debtor, plan, topup=None)
    database.session.commit()

    needed = set()
    day = ORDER_DAY
    while day <= date(2027, 1, 31):
        frozen_clock.set(datetime.combine(day, time(0, 5), tzinfo=UTC))
        stages = nightly.stages_with_work(day)
        needed |= stages
        for name, stage in nightly.STAGES.items():
            if name not in stages:
                assert stage(day, 0, nightly.LAST_ID) == 0, (day, name)
        nightly.run_billing_day(day)
        database.session.commit()
        day += timedelta(days=1)

    assert needed == set(nightly.STAGES)
    for row in (renewing, lapsing, unpaid, debtor):
        database.session.refresh(row)
    assert renewing.status == S.ACTIVE and renewing.expiry_date > date(2027, 1, 31)
    assert lapsing.status == S.DELETED
    assert unpaid.status.value == "cancelled"
    assert debtor.status == ClientStatus.FINANCIALLY_BLOCKED
