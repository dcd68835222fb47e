"""Synchronisation of delegated copies (07 BR-42..44, 05 R-MK-8, R-MK-11, R-PER-7/8/10,
R-RS-10/13/15, §3.1) through every level of the tree."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.catalog.models import Plan, PlanStatus, ProvisioningRule
from portal.catalog.services import (CatalogError, activate_plan, add_period, add_resource,
                                     deactivate_plan, delete_period, set_markup, update_plan,
                                     update_provisioning_rule, update_resource)
from portal.core import jobs
from tests.factories import delegate, make_plan, make_reseller, make_root, make_rule, sync


@pytest.fixture
def tree(db):
    root = make_root()
    child = make_reseller(root, name="Child")
    grandchild = make_reseller(child, name="Grandchild")
    return root, child, grandchild


def chain(tree, *, child_k=None, grand_k=None, **plan_kw):
    root, child, grandchild = tree
    plan = make_plan(root, **plan_kw)
    child_plan = delegate(plan, child)
    child_plan.markup_coefficient = None
    if child_k:
        set_markup([child_plan], child_k)
    grand_plan = delegate(child_plan, grandchild)
    grand_plan.markup_coefficient = None
    if grand_k:
        set_markup([grand_plan], grand_k)
    return plan, child_plan, grand_plan


def refresh(db, *plans):
    db.session.expire_all()
    return plans


@pytest.mark.parametrize(("child_k", "grand_k", "expected"), [
    ("2", "3", (Decimal("2.00"), Decimal("6.00"))),     # WE-5, first chain
    (None, "3", (Decimal("1.00"), Decimal("3.00"))),    # WE-5, the middle level without k
])
def test_we5_a_new_period_and_resource_are_priced_down_the_chain(db, tree, child_k, grand_k,
                                                                 expected):
    plan, child_plan, grand_plan = chain(tree, child_k=child_k, grand_k=grand_k)
    add_period(plan, duration=3, duration_unit="month", monthly_fee="1.00")
    add_resource(plan, name="Extra mailbox", minimum=0, limit=10, monthly_fee="1.00")
    sync(plan)
    refresh(db)
    child_period = [p for p in child_plan.periods if p.duration == 3][0]
    grand_period = [p for p in grand_plan.periods if p.duration == 3][0]
    assert (child_period.monthly_fee, grand_period.monthly_fee) == expected
    child_resource = [r for r in child_plan.resources if r.name == "Extra mailbox"][0]
    grand_resource = [r for r in grand_plan.resources if r.name == "Extra mailbox"][0]
    assert (child_resource.monthly_fee, grand_resource.monthly_fee) == expected
    assert grand_resource.parent_id == child_resource.id


def test_structure_edits_and_deletions_reach_every_copy(db, tree):
    plan, child_plan, grand_plan = chain(tree, child_k="1.5", grand_k="1.2", resources=[
        {"name": "Licences", "included": 0, "minimum": 1, "limit": 5, "monthly_fee": "5.00"}])
    update_plan(plan, name="Office 365 E3", sku="E3-1Y")
    update_resource(plan.resources[0], limit=50, public=False)
    extra = add_period(plan, duration=1, duration_unit="year", monthly_fee="90.00")
    sync(plan)
    refresh(db)
    assert (grand_plan.name, grand_plan.sku) == ("Office 365 E3", "E3-1Y")
    assert grand_plan.resources[0].limit == 50 and grand_plan.resources[0].public is False
    assert len(grand_plan.periods) == 2

    delete_period(extra)
    sync(plan)
    refresh(db)
    assert [p.duration_unit for p in child_plan.periods] == ["month"]
    assert [p.duration_unit for p in grand_plan.periods] == ["month"]


def test_a_child_cannot_restructure_its_copy(db, tree):
    plan, child_plan, _grand = chain(tree, child_k="1.5")
    with pytest.raises(CatalogError):
        update_plan(child_plan, name="Mine now")
    with pytest.raises(CatalogError):
        add_period(child_plan, duration=2, duration_unit="month")
    # What is local to each level stays editable (07 BR-43).
    update_plan(child_plan, description="Our best offer", published=False)
    assert child_plan.description == "Our best offer"


def test_provider_deactivation_keeps_each_levels_own_choice(db, tree):
    plan, child_plan, grand_plan = chain(tree)
    deactivate_plan(child_plan)  # the child withdraws its copy on its own
    sync(child_plan)
    refresh(db)
    assert grand_plan.status == PlanStatus.DEACTIVATED_BY_PROVIDER

    deactivate_plan(plan)
    sync(plan)
    refresh(db)
    assert child_plan.status == PlanStatus.DEACTIVATED_BY_PROVIDER
    with pytest.raises(CatalogError):
        activate_plan(child_plan)

    activate_plan(plan)
    sync(plan)
    refresh(db)
    # The child's own deactivation comes back; its copy below stays withdrawn.
    assert child_plan.status == PlanStatus.INACTIVE
    assert grand_plan.status == PlanStatus.DEACTIVATED_BY_PROVIDER


def test_rule_changes_reach_the_copies_and_plans_follow_a_new_rule(db, tree):
    root, child, grandchild = tree
    plan, child_plan, grand_plan = chain(tree)
    update_provisioning_rule(plan.provisioning_rule, financial_day=21, block_period_days=90)
    refresh(db)
    assert grand_plan.provisioning_rule.financial_day == 21
    assert grand_plan.provisioning_rule.reseller_id == grandchild.id

    other = make_rule(root, key="csptest", financial_day=5)
    update_plan(plan, provisioning_rule_id=other.id)
    sync(plan)
    refresh(db)
    assert grand_plan.provisioning_rule.key == "csptest"
    assert grand_plan.provisioning_rule.reseller_id == grandchild.id
    assert grand_plan.provisioning_rule.is_delegated


def test_sync_is_idempotent(db, tree):
    plan, child_plan, grand_plan = chain(tree, child_k="1.5", grand_k="1.2")
    assert sync(plan) == 2
    refresh(db)
    before = [(p.id, p.monthly_fee) for p in grand_plan.periods]
    sync(plan)
    refresh(db)
    assert [(p.id, p.monthly_fee) for p in grand_plan.periods] == before


def test_a_price_edit_runs_one_background_job_after_commit(db, tree):
    plan, child_plan, grand_plan = chain(tree, child_k="1.5", grand_k="1.2")
    db.session.commit()
    jobs.drain()
    from portal.catalog.services import update_period

    update_period(plan.periods[0], monthly_fee="200.00")
    add_period(plan, duration=6, duration_unit="month", monthly_fee="50.00")
    assert grand_plan.periods[0].monthly_fee == Decimal("180.00")  # nothing before the commit
    db.session.commit()
    assert jobs.drain() == 1
    refresh(db)
    assert [p.monthly_fee for p in grand_plan.periods] == [Decimal("360.00"), Decimal("90.00")]


def test_a_new_reseller_receives_the_rules_of_its_parent(db, tree):
    root, child, _grandchild = tree
    rule = make_rule(root, key="gsuite")
    late = make_reseller(child, name="Late grandchild")
    copy = db.session.scalar(select(ProvisioningRule).where(
        ProvisioningRule.reseller_id == late.id, ProvisioningRule.key == "gsuite"))
    assert copy is not None and copy.is_delegated
    assert copy.parent.reseller_id == child.id and copy.parent.parent_id == rule.id


def test_delegated_copies_are_unique_per_reseller(db, tree):
    root, child, _ = tree
    plan = make_plan(root)
    first = delegate(plan, child)
    assert delegate(plan, child).id == first.id
    assert db.session.scalar(select(Plan.id).where(Plan.reseller_id == child.id,
                                                   Plan.parent_id == plan.id)) == first.id
