"""The plan rules of spec 05 §4.9–§4.16 at the service level: resources (the boolean matrix,
WE-3), billing-type restrictions, what locks the billing type, delegated copies, deleting
periods and resources, copy (WE-14), activation under a provider's deactivation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.catalog.models import BillingType, PlanStatus
from portal.catalog.pricing import billable_minimum
from portal.catalog.services import (CatalogError, activate_plan, add_period, add_resource,
                                     copy_plan, deactivate_plan, delete_period, delete_resource,
                                     update_period, update_plan, update_resource)
from portal.catalog.usage import SUBSCRIPTION_COUNTERS
from tests.factories import (delegate, make_plan, make_product, make_reseller, make_root,
                             make_rule, make_service, sync)


@pytest.fixture
def root(db):
    return make_root()


@pytest.fixture
def subscriptions():
    """A fake subscriptions area: {plan_id: live subscriptions} it reports to the catalogue."""
    counts: dict[int, int] = {}

    def counter(plan_ids):
        return {plan_id: counts.get(plan_id, 0) for plan_id in plan_ids}

    SUBSCRIPTION_COUNTERS.append(counter)
    yield counts
    SUBSCRIPTION_COUNTERS.remove(counter)


def refuse(db, fn, *args, **kw) -> CatalogError:
    """Call a service that must refuse; like the panel, roll back what it touched."""
    with pytest.raises(CatalogError) as refused:
        with db.session.begin_nested():
            fn(*args, **kw)
    return refused.value


def units(plan, **kw):
    return add_resource(plan, name=kw.pop("name", "Licences"), **kw)


def flag(plan, **kw):
    return add_resource(plan, name=kw.pop("name", "Support"), unit_type="boolean", **kw)


# -- resources (R-RS) ------------------------------------------------------------------------

@pytest.mark.parametrize(("included", "minimum", "allowed", "billable"), [
    (False, False, True, Decimal(0)),   # optional: added on request, charged when added
    (True, False, False, None),         # included without minimum: not a configuration
    (False, True, True, Decimal(1)),    # always ordered, charged
    (True, True, True, Decimal(0)),     # always ordered, not charged
])
def test_boolean_resource_matrix(root, included, minimum, allowed, billable):
    plan = make_plan(root)
    if not allowed:
        with pytest.raises(CatalogError) as refused:
            flag(plan, included=included, minimum=minimum)
        assert refused.value.field == "included"
        assert plan.resources == []
        return
    resource = flag(plan, included=included, minimum=minimum)
    assert (resource.included, resource.minimum) == (Decimal(int(included)),
                                                     Decimal(int(minimum)))
    assert billable_minimum(resource) == billable


def test_boolean_resource_takes_no_other_quantity_nor_overuse(root):
    plan = make_plan(root)
    with pytest.raises(CatalogError):
        flag(plan, minimum=2)
    with pytest.raises(CatalogError) as refused:
        flag(plan, minimum=True, overuse_fee="1.00")
    assert refused.value.field == "overuse_fee"  # R-RS-4


def test_we3_minimum_at_least_included(db, root):
    plan = make_plan(root)
    with pytest.raises(CatalogError) as refused:
        units(plan, included=15, minimum=10, limit=100)
    assert refused.value.field == "minimum"
    resource = units(plan, included=15, minimum=20, limit=100)
    # The client pays for at least 20 − 15 = 5 licences beyond the included ones.
    assert billable_minimum(resource) == Decimal(5)
    assert refuse(db, update_resource, resource, minimum="14").field == "minimum"
    assert resource.minimum == Decimal(20)


def test_limit_at_least_minimum_unless_unlimited(db, root):
    plan = make_plan(root)
    with pytest.raises(CatalogError) as refused:
        units(plan, minimum=20, limit=10)
    assert refused.value.field == "limit"
    resource = units(plan, minimum=20, limit=0, unlimited=True)
    assert resource.unlimited and resource.limit == 0
    assert refuse(db, update_resource, resource, unlimited=False).field == "limit"
    assert resource.unlimited


def test_bad_numbers_are_refused_with_the_field(root):
    plan = make_plan(root)
    for data, field in (({"monthly_fee": "-1"}, "monthly_fee"),
                        ({"monthly_fee": "1.005"}, "monthly_fee"),
                        ({"monthly_fee": "abc"}, "monthly_fee"),
                        ({"included": "-3"}, "included"),
                        ({"priority": "-1"}, "priority")):
        with pytest.raises(CatalogError) as refused:
            units(plan, **data)
        assert refused.value.field == field
    with pytest.raises(CatalogError) as refused:
        add_period(plan, duration=0, duration_unit="month")
    assert refused.value.field == "duration"
    with pytest.raises(CatalogError) as refused:
        add_period(plan, duration=1, duration_unit="week")
    assert refused.value.field == "duration_unit"


# -- billing types (R-PLN-7, R-PLN-8, R-PER-4) -----------------------------------------------

def test_non_recurring_has_only_the_resource_setup_fee(db, root):
    plan = make_plan(root, billing_type="non_recurring", autorenew=True,
                     periods=[{"duration": 1, "duration_unit": "year"}])
    assert plan.autorenew is False  # forced off (R-PLN-7)
    with pytest.raises(CatalogError) as refused:
        add_period(plan, duration=1, duration_unit="month", monthly_fee="10")
    assert refused.value.field == "monthly_fee"
    with pytest.raises(CatalogError):
        update_period(plan.periods[0], setup_fee="5")
    for field in ("monthly_fee", "overuse_fee", "renewal_fee"):
        with pytest.raises(CatalogError) as refused:
            units(plan, minimum=1, limit=5, **{field: "1.00"})
        assert refused.value.field == field
    with pytest.raises(CatalogError) as refused:
        units(plan, included=1, minimum=1, limit=5)
    assert refused.value.field == "included"
    resource = units(plan, minimum=1, limit=5, setup_fee="250.00")
    assert resource.setup_fee == Decimal("250.00")
    # Switching an existing plan to non-recurring is refused while it has fees.
    priced = make_plan(root)
    refuse(db, update_plan, priced, billing_type="non_recurring")
    assert priced.billing_type == BillingType.PREORDER


def test_full_payment_needs_one_month_and_financial_day_one(db, root):
    day_15 = make_rule(root, financial_day=15)
    with pytest.raises(CatalogError) as refused:
        make_plan(root, billing_type="full_payment", rule=day_15)
    assert refused.value.field == "provisioning_rule_id"
    plan = make_plan(root, billing_type="full_payment")
    assert plan.periods[0].duration == 1
    with pytest.raises(CatalogError) as refused:
        add_period(plan, duration=1, duration_unit="year")
    assert refused.value.field == "duration"
    with pytest.raises(CatalogError):
        add_period(plan, duration=3, duration_unit="month")
    refuse(db, update_plan, plan, provisioning_rule_id=day_15.id)
    assert plan.provisioning_rule_id != day_15.id
    yearly = make_plan(root, periods=[{"duration": 1, "duration_unit": "year"}])
    assert refuse(db, update_plan, yearly, billing_type="full_payment").field == "duration"
    assert yearly.billing_type == BillingType.PREORDER
    assert len(plan.periods) == 1


# -- what locks the billing type and the product (R-PLN-10, R-PLN-11) ------------------------

def test_billing_type_locked_once_delegated(root):
    plan = make_plan(root)
    update_plan(plan, billing_type="csp_monthly")  # free while nobody else depends on it
    assert plan.billing_type == BillingType.CSP_MONTHLY
    child = make_reseller(root)
    copy = delegate(plan, child)
    with pytest.raises(CatalogError) as refused:
        update_plan(plan, billing_type="preorder")
    assert refused.value.field == "billing_type"
    with pytest.raises(CatalogError):
        update_plan(copy, billing_type="preorder")
    assert (plan.billing_type, copy.billing_type) == ("csp_monthly", "csp_monthly")


def test_billing_type_and_product_locked_by_subscriptions(root, subscriptions):
    plan = make_plan(root)
    other_product = make_product(root)
    subscriptions[plan.id] = 1
    with pytest.raises(CatalogError) as refused:
        update_plan(plan, billing_type="no_refund")
    assert refused.value.field == "billing_type"
    with pytest.raises(CatalogError) as refused:
        update_plan(plan, product_id=other_product.id)
    assert refused.value.field == "product_id"
    update_plan(plan, name="Renamed", single=True, fixed_price=True)  # the rest stays free
    assert (plan.name, plan.single, plan.fixed_price) == ("Renamed", True, True)
    subscriptions[plan.id] = 0
    update_plan(plan, billing_type="no_refund", product_id=other_product.id)
    assert (plan.billing_type, plan.product_id) == ("no_refund", other_product.id)


def test_payg_external_needs_a_markup_first(root):
    plan = make_plan(root)
    with pytest.raises(CatalogError):
        update_plan(plan, billing_type="payg_external")
    assert plan.billing_type == BillingType.PREORDER


def test_single_and_fixed_price_are_stored(root):
    plan = make_plan(root, single=True, fixed_price=True, lock_autorenew=True, autorenew=True)
    assert (plan.single, plan.fixed_price, plan.lock_autorenew, plan.autorenew) == (
        True, True, True, True)
    update_plan(plan, single=False)
    assert (plan.single, plan.fixed_price) == (False, True)


# -- delegated copies (R-PLN-15, R-PER-8, R-RS-12) -------------------------------------------

def test_child_cannot_edit_synchronised_fields(root):
    plan = make_plan(root, name="Office", sku="OFF")
    child = make_reseller(root)
    copy = delegate(plan, child)
    for field, value in (("name", "Mine"), ("sku", "X"), ("currency", "USD"),
                         ("fixed_price", True), ("billing_type", "csp_annual")):
        with pytest.raises(CatalogError) as refused:
            update_plan(copy, **{field: value})
        assert refused.value.field == field
    assert (copy.name, copy.sku, copy.currency, copy.fixed_price) == ("Office", "OFF", "RUB",
                                                                     False)
    # Local fields stay editable: description, published, auto-renew (07 BR-43).
    update_plan(copy, description="Ours", published=True, autorenew=True)
    assert (copy.description, copy.published, copy.autorenew) == ("Ours", True, True)
    # The periods' and resources' structure is the provider's; prices are the child's.
    period = copy.periods[0]
    with pytest.raises(CatalogError):
        update_period(period, duration=2)
    with pytest.raises(CatalogError):
        add_period(copy, duration=1, duration_unit="year")
    update_period(period, monthly_fee="130.00")
    assert period.monthly_fee == Decimal("130.00") and period.duration == 1
    assert copy.markup_coefficient is None  # a price edit ends auto markup (R-MK-10)


def test_child_cannot_change_resource_limits(root):
    service = make_service(root)
    licences = service.resources[0]
    plan = make_plan(root, services=[service], resources=[
        {"service_resource_id": licences.id, "minimum": 1, "limit": 10, "monthly_fee": "5"}])
    copy = delegate(plan, make_reseller(root))
    resource = copy.resources[0]
    for field, value in (("minimum", 2), ("limit", 20), ("unlimited", True),
                         ("name", "Seats"), ("public", False)):
        with pytest.raises(CatalogError) as refused:
            update_resource(resource, **{field: value})
        assert refused.value.field == field
    update_resource(resource, monthly_fee="6.00")
    assert resource.monthly_fee == Decimal("6.00") and resource.limit == Decimal(10)


def test_deleting_periods_and_resources(db, root, subscriptions):
    plan = make_plan(root, periods=[{"duration": 1, "duration_unit": "month"},
                                    {"duration": 1, "duration_unit": "year"}])
    month, year = plan.periods
    resource = units(plan, minimum=1, limit=5)
    child = make_reseller(root)
    copy = delegate(plan, child)

    # Not on a delegated plan (R-PER-10, R-RS-15).
    with pytest.raises(CatalogError):
        delete_period(copy.periods[0])
    with pytest.raises(CatalogError):
        delete_resource(copy.resources[0])
    # Not while a subscription uses the plan or any copy of it.
    subscriptions[copy.id] = 1
    with pytest.raises(CatalogError):
        delete_period(year)
    with pytest.raises(CatalogError):
        delete_resource(resource)
    assert len(plan.periods) == 2 and len(plan.resources) == 1
    subscriptions[copy.id] = 0

    delete_period(year)
    delete_resource(resource)
    assert [p.id for p in plan.periods] == [month.id] and plan.resources == []
    sync(plan)  # the copies lose them too (R-PER-10, R-RS-15)
    db.session.expire_all()
    assert [p.parent_id for p in copy.periods] == [month.id] and copy.resources == []


# -- copy (R-CP, WE-14) ----------------------------------------------------------------------

def _cloudhost(root, default_k="1.50"):
    product = make_product(root)
    product.category.default_markup = Decimal(default_k)
    return make_plan(root, name="CloudHost", product=product, periods=[
        {"duration": 1, "duration_unit": "month", "setup_fee": "10.00", "monthly_fee": "100.00",
         "transfer_fee": "10.00", "renewal_fee": "10.00"}])


def test_we14_copy_with_prices_reset(root):
    plan = _cloudhost(root)
    copy = copy_plan(plan)
    assert copy.name == "CloudHost Копия" and copy.id != plan.id  # the manual's default name
    period = copy.periods[0]
    assert (period.setup_fee, period.monthly_fee, period.transfer_fee, period.renewal_fee) == (
        Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    assert copy.markup_coefficient == Decimal("1.50")  # the category's default (R-CP-4)
    assert copy.published and copy.status == PlanStatus.ACTIVE and not copy.is_delegated
    assert plan.periods[0].monthly_fee == Decimal("100.00")  # the source is untouched


def test_we14_copy_keeping_prices(root):
    plan = _cloudhost(root)
    copy = copy_plan(plan, name="CloudHost 2", reset_prices=False, published=False)
    period = copy.periods[0]
    assert (period.setup_fee, period.monthly_fee, period.transfer_fee, period.renewal_fee) == (
        Decimal("10.00"), Decimal("100.00"), Decimal("10.00"), Decimal("10.00"))
    assert copy.markup_coefficient is None  # "not set": a source price is not 0 (R-CP-5)
    assert copy.name == "CloudHost 2" and not copy.published
    free = make_plan(root, periods=[{"duration": 1, "duration_unit": "month"}],
                     product=plan.product)
    assert copy_plan(free, reset_prices=False).markup_coefficient == Decimal("1.50")


def test_we14_copy_not_offered_for_delegated_or_provider_deactivated(root):
    plan = _cloudhost(root)
    child = make_reseller(root)
    copy = delegate(plan, child)
    with pytest.raises(CatalogError):
        copy_plan(copy)
    own = make_plan(child)
    own.status = PlanStatus.DEACTIVATED_BY_PROVIDER
    with pytest.raises(CatalogError):
        copy_plan(own)
    deactivate_plan(plan)
    assert copy_plan(plan).status == PlanStatus.ACTIVE  # an inactive plan may be copied


# -- status (05 §3.1, 07 §3.3) ---------------------------------------------------------------

def test_deactivation_by_provider_locks_the_copy(root):
    plan = make_plan(root)
    child = make_reseller(root)
    copy = delegate(plan, child)
    with pytest.raises(CatalogError):
        activate_plan(plan)  # already active
    deactivate_plan(plan)
    sync(plan)
    assert (plan.status, copy.status) == (PlanStatus.INACTIVE,
                                          PlanStatus.DEACTIVATED_BY_PROVIDER)
    with pytest.raises(CatalogError):
        activate_plan(copy)  # only the provider can
    with pytest.raises(CatalogError):
        deactivate_plan(copy)
    activate_plan(plan)
    sync(plan)
    assert (plan.status, copy.status) == (PlanStatus.ACTIVE, PlanStatus.ACTIVE)

    # The child's own deactivation is remembered through the provider's (05 §8.25).
    deactivate_plan(copy)
    deactivate_plan(plan)
    sync(plan)
    assert copy.status == PlanStatus.DEACTIVATED_BY_PROVIDER
    activate_plan(plan)
    sync(plan)
    assert copy.status == PlanStatus.INACTIVE
    activate_plan(copy)
    assert copy.status == PlanStatus.ACTIVE
