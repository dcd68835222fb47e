"""The markup cascade down a three-level tree (issue 3 "done when", 05 R-MK-8, D9)."""

from decimal import Decimal

from sqlalchemy import select

from portal.catalog.models import Plan, PlanStatus
from portal.catalog.services import (add_period, clear_markup, deactivate_plan, activate_plan,
                                     set_markup, update_period)
from tests.factories import delegate, make_plan, make_reseller, make_root, sync


def _tree(db):
    root = make_root()
    child = make_reseller(root, name="Child")
    grandchild = make_reseller(child, name="Grandchild")
    plan = make_plan(root, name="Office", periods=[
        {"duration": 1, "duration_unit": "month", "monthly_fee": "100.00"}])
    child_plan = delegate(plan, child)
    set_markup([child_plan], "1.5")
    grand_plan = delegate(child_plan, grandchild)
    set_markup([grand_plan], "1.2")
    db.session.flush()
    return plan, child_plan, grand_plan


def fee(plan):
    return plan.periods[0].monthly_fee


def test_root_price_cascades_and_clearing_freezes(db):
    plan, child_plan, grand_plan = _tree(db)
    assert fee(child_plan) == Decimal("150.00")
    assert fee(grand_plan) == Decimal("180.00")

    update_period(plan.periods[0], monthly_fee="200")
    sync(plan)
    db.session.expire_all()
    assert fee(child_plan) == Decimal("300.00")
    assert fee(grand_plan) == Decimal("360.00")
    assert child_plan.cost_changed_at is not None and grand_plan.cost_changed_at is not None

    clear_markup([child_plan])
    update_period(plan.periods[0], monthly_fee="250")
    sync(plan)
    db.session.expire_all()
    assert fee(child_plan) == Decimal("300.00")
    assert fee(grand_plan) == Decimal("360.00")


def test_new_period_reaches_every_level_and_deactivation_cascades(db):
    plan, child_plan, grand_plan = _tree(db)
    add_period(plan, duration=1, duration_unit="year", monthly_fee="90.00")
    sync(plan)
    db.session.expire_all()
    years = [p for p in grand_plan.periods if p.duration_unit == "year"]
    assert [p.monthly_fee for p in years] == [Decimal("162.00")]  # 90 × 1.5 × 1.2

    deactivate_plan(plan)
    sync(plan)
    db.session.expire_all()
    assert child_plan.status == PlanStatus.DEACTIVATED_BY_PROVIDER
    assert grand_plan.status == PlanStatus.DEACTIVATED_BY_PROVIDER
    activate_plan(plan)
    sync(plan)
    db.session.expire_all()
    assert grand_plan.status == PlanStatus.ACTIVE
