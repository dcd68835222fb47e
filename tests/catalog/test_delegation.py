"""Delegating plans to child resellers as a tracked background operation (07 §4.5, BR-30..41):
what the child gets, how prices follow, what blocks a delegation, and delegating further down."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.catalog.models import (Plan, PlanCategory, PlanStatus, PlanSwitchTarget, Product,
                                   ProductCategory, ProvisioningRule)
from portal.catalog.services import (CatalogError, DelegationConflict, add_switch_targets,
                                     deactivate_plan, set_category_markup, set_markup,
                                     set_new_categories_markup, start_delegation)
from portal.core import jobs
from portal.core.models import Operation, OperationStatus
from tests.factories import (delegate, make_plan, make_plan_category, make_product,
                             make_reseller, make_root, make_rule, make_service)


@pytest.fixture
def tree(db):
    root = make_root()
    alpha = make_reseller(root, name="Alpha")
    beta = make_reseller(root, name="Beta")
    alpha_one = make_reseller(alpha, name="Alpha One")
    return root, alpha, beta, alpha_one


def run(app, db, operation: Operation) -> Operation:
    """Commit (the request's commit queues the job), run the queued jobs, reread."""
    db.session.commit()
    with app.app_context():
        jobs.drain()
    db.session.expire_all()
    return db.session.get(Operation, operation.id)


def office_plan(root, **kw):
    service = make_service(root, name="Office service")
    licences = service.resources[0]
    product = kw.pop("product", None) or make_product(root, name="Office")
    return make_plan(root, name=kw.pop("name", "Office Std"), sku="OS", product=product,
                     plan_category=kw.pop("plan_category", None)
                     or make_plan_category(root, name="Office plans", key="office"),
                     services=[service], periods=[
                         {"duration": 1, "duration_unit": "month", "setup_fee": "10.00",
                          "monthly_fee": "100.00"},
                         {"duration": 1, "duration_unit": "year", "monthly_fee": "90.00"}],
                     resources=[{"service_resource_id": licences.id, "minimum": 1,
                                 "limit": 50, "monthly_fee": "5.00"}], **kw)


def copy_of(db, plan, reseller):
    return db.session.scalar(select(Plan).where(Plan.parent_id == plan.id,
                                                Plan.reseller_id == reseller.id))


def test_delegation_runs_as_an_operation_and_builds_the_childs_copy(app, db, tree):
    root, alpha, _beta, _alpha_one = tree
    set_new_categories_markup(alpha, "1.20")
    plan = office_plan(root)
    upgrade = make_plan(root, name="Upgrade")
    add_switch_targets(plan, [upgrade.id])

    operation = start_delegation(root, [plan], [alpha])
    assert (operation.kind, operation.status, operation.progress_total) == (
        "delegation", OperationStatus.QUEUED, 1)
    assert copy_of(db, plan, alpha) is None  # nothing happens before the job runs
    operation = run(app, db, operation)

    copy = copy_of(db, plan, alpha)
    assert operation.status == OperationStatus.DONE
    assert operation.progress_done == 1 and operation.percent == 100
    assert operation.result == {"plans": [{"plan_id": plan.id, "reseller_id": alpha.id,
                                           "child_plan_id": copy.id, "skipped": False}]}

    # 07 EX-08: a new id, the parent's id and name; active and delegated.
    assert copy.id != plan.id and copy.parent_id == plan.id
    assert (copy.name, copy.sku, copy.currency, copy.billing_type) == (
        "Office Std", "OS", "RUB", "preorder")
    assert copy.is_delegated and copy.status == PlanStatus.ACTIVE
    # BR-36: its own product (unpublished) in its own product category.
    product = db.session.get(Product, copy.product_id)
    assert product.reseller_id == alpha.id and product.parent_id == plan.product_id
    assert product.is_delegated and not product.published and product.name == "Office"
    category = db.session.get(ProductCategory, product.product_category_id)
    assert category.reseller_id == alpha.id and category.key == plan.product.category.key
    assert category.default_markup == Decimal("1.20")  # new category: the reseller default
    # BR-35: the plan category, created with the same name and key, no description.
    plan_category = db.session.get(PlanCategory, copy.plan_category_id)
    assert (plan_category.reseller_id, plan_category.name, plan_category.key,
            plan_category.description) == (alpha.id, "Office plans", "office", "")
    # BR-31: the child's copy of the plan's provisioning rule.
    rule = db.session.get(ProvisioningRule, copy.provisioning_rule_id)
    assert rule.reseller_id == alpha.id and rule.parent_id == plan.provisioning_rule_id
    # BR-37: prices = parent × the category's default markup, rounded and stored (D9).
    assert copy.markup_coefficient == Decimal("1.20")
    assert [(p.setup_fee, p.monthly_fee) for p in copy.periods] == [
        (Decimal("12.00"), Decimal("120.00")), (Decimal("0.00"), Decimal("108.00"))]
    assert [(r.name, r.minimum, r.limit, r.monthly_fee) for r in copy.resources] == [
        ("Licences", Decimal(1), Decimal(50), Decimal("6.00"))]
    # BR-32: switch targets are not delegated.
    assert db.session.scalar(select(func.count(PlanSwitchTarget.id)).where(
        PlanSwitchTarget.plan_id == copy.id)) == 0


def test_existing_categories_are_reused_and_their_markup_applies(app, db, tree):
    root, alpha, _beta, _alpha_one = tree
    product = make_product(root, name="Office")
    office = make_plan_category(root, name="Office plans", key="office")
    first = office_plan(root, product=product, plan_category=office)
    # The child already has a plan category with the key: the copy joins it (BR-35).
    own_category = make_plan_category(alpha, name="Our office plans", key="office")
    run(app, db, start_delegation(root, [first], [alpha]))
    child_category = copy_of(db, first, alpha).product.category
    set_category_markup(child_category, "1.50")

    second = office_plan(root, name="Office Pro", product=product, plan_category=office)
    run(app, db, start_delegation(root, [second], [alpha]))
    one, two = copy_of(db, first, alpha), copy_of(db, second, alpha)
    assert one.plan_category_id == two.plan_category_id == own_category.id
    # One product and one product category at the child for both plans (BR-36).
    assert one.product_id == two.product_id
    assert db.session.scalar(select(func.count(Product.id)).where(
        Product.reseller_id == alpha.id)) == 1
    # The second plan took the category's markup as it was when it arrived (R-MK-12/13).
    assert (one.markup_coefficient, two.markup_coefficient) == (Decimal("1.00"),
                                                                Decimal("1.50"))
    assert two.periods[0].monthly_fee == Decimal("150.00")
    assert one.periods[0].monthly_fee == Decimal("100.00")


def test_delegating_twice_skips_and_several_resellers_at_once(app, db, tree):
    root, alpha, beta, _alpha_one = tree
    plan = office_plan(root)
    other = make_plan(root, name="Backup")
    first = run(app, db, start_delegation(root, [plan], [alpha]))
    child_id = first.result["plans"][0]["child_plan_id"]

    operation = run(app, db, start_delegation(root, [plan, other], [alpha, beta]))
    assert operation.status == OperationStatus.DONE
    assert operation.progress_done == operation.progress_total == 4
    rows = {(r["plan_id"], r["reseller_id"]): r for r in operation.result["plans"]}
    assert rows[(plan.id, alpha.id)]["skipped"] is True  # BR-41: no re-delegation
    assert rows[(plan.id, alpha.id)]["child_plan_id"] == child_id
    assert not any(r["skipped"] for key, r in rows.items() if key != (plan.id, alpha.id))
    for p in (plan, other):
        for reseller in (alpha, beta):
            assert rows[(p.id, reseller.id)]["child_plan_id"] == copy_of(db, p, reseller).id
    assert db.session.scalar(select(func.count(Plan.id)).where(
        Plan.parent_id == plan.id)) == 2


def test_rule_key_clash_blocks_the_whole_delegation(app, db, tree):
    root, alpha, beta, _alpha_one = tree
    # Beta made its own rule "gold" before the root had one (the root could not create it
    # through the services any more, R-PR-3): the state 07 BR-34 guards against.
    own = make_rule(beta, name="Beta gold", key="gold")
    gold = ProvisioningRule(reseller_id=root.id, name="Gold", key="gold", financial_day=1,
                            client_types=["individual"], added_client_types=[])
    db.session.add(gold)
    db.session.flush()
    plan = make_plan(root, name="Gold plan", rule=gold)
    fine = make_plan(root, name="Fine plan")

    with pytest.raises(DelegationConflict) as refused:
        start_delegation(root, [fine, plan], [alpha, beta])
    error = refused.value
    assert error.status == 409
    assert "Beta gold" in str(error) and "gold" in str(error)
    assert error.clashes == [{"reseller_id": beta.id, "reseller": "Beta", "rule_id": own.id,
                              "rule": "Beta gold", "key": "gold"}]
    db.session.commit()
    with app.app_context():
        assert jobs.drain() == 0  # nothing was queued
    assert db.session.scalar(select(func.count(Operation.id))) == 0
    assert db.session.scalar(select(func.count(Plan.id)).where(
        Plan.parent_id.in_([plan.id, fine.id]))) == 0  # not even the plans without a clash


def test_a_clash_appearing_before_the_job_runs_fails_the_operation(app, db, tree):
    root, alpha, _beta, _alpha_one = tree
    gold = ProvisioningRule(reseller_id=root.id, name="Gold", key="gold", financial_day=1,
                            client_types=["individual"], added_client_types=[])
    db.session.add(gold)
    db.session.flush()
    plan = make_plan(root, name="Gold plan", rule=gold)
    operation = start_delegation(root, [plan], [alpha])
    make_rule(alpha, name="Alpha gold", key="gold")  # between the request and the job
    operation = run(app, db, operation)
    assert operation.status == OperationStatus.FAILED
    assert "Alpha gold" in operation.error
    assert copy_of(db, plan, alpha) is None


def test_only_active_plans_and_only_one_level_down(db, tree):
    root, alpha, _beta, alpha_one = tree
    plan = office_plan(root)
    with pytest.raises(CatalogError) as refused:
        start_delegation(root, [plan], [alpha_one])  # a grandchild
    assert refused.value.field == "reseller_ids"
    with pytest.raises(CatalogError):
        start_delegation(root, [plan], [root])
    with pytest.raises(CatalogError):
        start_delegation(alpha, [plan], [alpha_one])  # not alpha's plan
    with pytest.raises(CatalogError) as refused:
        start_delegation(root, [plan], [])
    assert refused.value.field == "reseller_ids"
    deactivate_plan(plan)
    with pytest.raises(CatalogError) as refused:
        start_delegation(root, [plan], [alpha])
    assert refused.value.field == "plan_ids"
    assert db.session.scalar(select(func.count(Operation.id))) == 0


def test_a_child_delegates_its_copy_further_down(app, db, tree):
    root, alpha, _beta, alpha_one = tree
    plan = office_plan(root)
    copy = delegate(plan, alpha)
    set_markup([copy], "1.50")
    set_new_categories_markup(alpha_one, "2.00")
    operation = run(app, db, start_delegation(alpha, [copy], [alpha_one]))
    assert operation.status == OperationStatus.DONE and operation.reseller_id == alpha.id
    grand = copy_of(db, copy, alpha_one)
    assert operation.result["plans"][0]["child_plan_id"] == grand.id
    assert grand.parent_id == copy.id and grand.is_delegated
    # 100 at the root, × 1.5 at Alpha, × 2 at Alpha One.
    assert grand.periods[0].monthly_fee == Decimal("300.00")
    rule = db.session.get(ProvisioningRule, grand.provisioning_rule_id)
    assert rule.reseller_id == alpha_one.id and rule.parent_id == copy.provisioning_rule_id
    assert db.session.get(Product, grand.product_id).parent_id == copy.product_id
    # The root cannot delegate to the grandchild directly.
    with pytest.raises(CatalogError):
        start_delegation(root, [plan], [alpha_one])
