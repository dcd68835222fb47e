"""Plans, their periods, resources, services and switch targets (05 §4.9–§4.16).

Every function checks the manual's rules and refuses with the rule named; changes that
copies must follow end with `request_sync(plan)`, and price changes mark the copies' cost.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from portal.catalog.models import (PRICE_FIELDS_PERIOD, PRICE_FIELDS_RESOURCE, BillingType,
                                   DurationUnit, Plan, PlanCategory, PlanPeriod, PlanResource,
                                   PlanService, PlanSource, PlanStatus, PlanSwitchTarget, Product,
                                   ProvisioningRule, ResourceUnit, ServiceResource,
                                   ServiceTemplate)
from portal.catalog.services.errors import CatalogError
from portal.catalog.services.sync import copy_tree, mark_cost_changed, request_sync
from portal.catalog.usage import has_live_subscriptions
from portal.core import audit
from portal.core.clock import clock
from portal.core.money import CURRENCIES
from portal.core.tenant_guard import across_tenants
from portal.extensions import db

PLAN_FIELDS = ("name", "sku", "description", "plan_category_id", "product_id", "published",
               "single", "fixed_price", "billing_type", "provisioning_rule_id", "lock_autorenew",
               "autorenew", "currency", "additional_params")
# Fields a delegated copy takes from upstream and may not edit (05 R-PLN-15, 07 BR-44).
SYNCED_FIELDS = {"name", "sku", "billing_type", "currency", "fixed_price",
                 "provisioning_rule_id", "product_id"}
LOGGED_PLAN_FIELDS = PLAN_FIELDS + ("status", "markup_coefficient")
PERIOD_FIELDS = ("is_unlimited", "duration", "duration_unit", "published", "is_trial",
                 "description", *PRICE_FIELDS_PERIOD)
PERIOD_STRUCTURE = ("is_unlimited", "duration", "duration_unit", "published", "is_trial")
RESOURCE_FIELDS = ("name", "measurable", "included", "minimum", "unlimited", "limit", "public",
                   "priority", "additional_params", *PRICE_FIELDS_RESOURCE)
RESOURCE_LIMITS = ("included", "minimum", "limit", "unlimited")
MAX_PRICE = Decimal("999999999999.99")


# --- value checks -----------------------------------------------------------------------

def money_value(value, field: str) -> Decimal:
    """A price: a Decimal with at most 2 decimals, not below zero (bad input is refused)."""
    if isinstance(value, float):
        value = str(value)
    try:
        amount = Decimal(str(value).strip().replace(",", ".")) if value not in (None, "") \
            else Decimal("0")
    except (InvalidOperation, ValueError):
        raise CatalogError(_l("“%(value)s” is not a number.", value=value), field=field) from None
    if not amount.is_finite():
        raise CatalogError(_l("“%(value)s” is not a number.", value=value), field=field)
    if amount < 0:
        raise CatalogError(_l("A price cannot be below zero."), field=field)
    if amount > MAX_PRICE:  # before quantize, which fails on a huge exponent ("1e400")
        raise CatalogError(_l("The price is too large."), field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise CatalogError(_l("A price has at most 2 decimals."), field=field)
    return amount.quantize(Decimal("0.01"))


def quantity_value(value, field: str) -> Decimal:
    if isinstance(value, bool):
        return Decimal(1) if value else Decimal(0)
    try:
        amount = Decimal(str(value).strip().replace(",", ".")) if value not in (None, "") \
            else Decimal("0")
    except (InvalidOperation, ValueError):
        raise CatalogError(_l("“%(value)s” is not a number.", value=value), field=field) from None
    if not amount.is_finite() or amount < 0:
        raise CatalogError(_l("A quantity cannot be below zero."), field=field)
    if amount > Decimal("999999999999") or amount != amount.quantize(Decimal("0.01")):
        raise CatalogError(_l("“%(value)s” is not a valid quantity.", value=value), field=field)
    return amount


def _int_value(value, field: str, *, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CatalogError(_l("Enter a whole number."), field=field) from None
    if isinstance(value, float) and value != number or number < minimum:
        raise CatalogError(_l("Enter a whole number of at least %(n)d.", n=minimum), field=field)
    return number


# --- lookups inside the plan's reseller -------------------------------------------------

def _own(model, reseller_id: int, object_id, field: str, message):
    obj = db.session.scalar(select(model).where(model.id == object_id,
                                                model.reseller_id == reseller_id)) \
        if object_id is not None else None
    if obj is None:
        raise CatalogError(message, field=field)
    return obj


def has_copies(plan: Plan) -> bool:
    with across_tenants():
        return db.session.scalar(select(func.count(Plan.id)).where(Plan.parent_id == plan.id)) > 0


def copy_reseller_ids(plan: Plan) -> set[int]:
    tree = copy_tree(plan.id)
    with across_tenants():
        return set(db.session.scalars(select(Plan.reseller_id).join(tree, tree.c.id == Plan.id)
                                      .where(tree.c.depth > 0)))


# --- plans ------------------------------------------------------------------------------

def _normalise_plan_fields(reseller_id: int, fields: dict, plan: Plan | None) -> dict:
    clean = {k: v for k, v in fields.items() if k in PLAN_FIELDS}
    if "name" in clean:
        clean["name"] = (clean["name"] or "").strip()
        if not clean["name"]:
            raise CatalogError(_l("Enter the plan's name."), field="name")
    if "billing_type" in clean:
        try:
            clean["billing_type"] = BillingType(clean["billing_type"])
        except ValueError:
            raise CatalogError(_l("Unknown billing type."), field="billing_type") from None
    if "currency" in clean and clean["currency"] not in CURRENCIES:
        raise CatalogError(_l("Unknown currency."), field="currency")
    if "plan_category_id" in clean:
        _own(PlanCategory, reseller_id, clean["plan_category_id"], "plan_category_id",
             _l("Choose a plan category."))
    if "product_id" in clean:
        _own(Product, reseller_id, clean["product_id"], "product_id", _l("Choose a product."))
    if "provisioning_rule_id" in clean:
        _own(ProvisioningRule, reseller_id, clean["provisioning_rule_id"],
             "provisioning_rule_id", _l("Choose a provisioning rule."))
    if "additional_params" in clean and clean["additional_params"] is not None \
            and not isinstance(clean["additional_params"], dict):
        raise CatalogError(_l("Additional parameters are name–value pairs."),
                           field="additional_params")
    for flag in ("published", "single", "fixed_price", "lock_autorenew", "autorenew"):
        if flag in clean:
            clean[flag] = bool(clean[flag])
    return clean


def _check_billing_rules(plan: Plan) -> None:
    """R-PLN-7 and R-PLN-8: what a billing type demands of the plan."""
    if plan.billing_type == BillingType.NON_RECURRING:
        plan.autorenew = False
    if plan.billing_type == BillingType.FULL_PAYMENT:
        rule = db.session.scalar(select(ProvisioningRule).where(
            ProvisioningRule.reseller_id == plan.reseller_id,
            ProvisioningRule.id == plan.provisioning_rule_id))
        if rule is not None and rule.financial_day != 1:
            raise CatalogError(_l("Full-payment billing requires a provisioning rule with "
                                  "financial day 1 (05 R-PLN-8)."), field="provisioning_rule_id")
    for period in plan.periods if plan.id else []:
        _check_period_for_billing(plan, period)
    for resource in plan.resources if plan.id else []:
        _check_resource_for_billing(plan, resource)


def create_plan(reseller, *, actor=None, services=(), periods=(), resources=(),
                **fields) -> Plan:
    """Create a plan with its services, periods and resources (05 §4.9, the wizard)."""
    fields.setdefault("currency", reseller.currency)
    for required, message in (("name", _l("Enter the plan's name.")),
                              ("billing_type", _l("Choose a billing type.")),
                              ("plan_category_id", _l("Choose a plan category.")),
                              ("product_id", _l("Choose a product.")),
                              ("provisioning_rule_id", _l("Choose a provisioning rule."))):
        if fields.get(required) in (None, ""):
            raise CatalogError(message, field=required)
    clean = _normalise_plan_fields(reseller.id, fields, None)
    plan = Plan(reseller_id=reseller.id, source=PlanSource.MANUAL, status=PlanStatus.ACTIVE,
                own_status=PlanStatus.ACTIVE, **clean)
    _check_billing_rules(plan)
    db.session.add(plan)
    db.session.flush()
    set_plan_services(plan, services, actor=None, log=False)
    for data in periods:
        add_period(plan, actor=None, log=False, **data)
    for data in resources:
        add_resource(plan, actor=None, log=False, **data)
    db.session.flush()
    db.session.expire(plan, ["periods", "resources", "services"])
    audit.log(plan, "catalog.plan.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(plan, LOGGED_PLAN_FIELDS)))
    return plan


def update_plan(plan: Plan, *, actor=None, **fields) -> Plan:
    """Edit the general and billing information, with the locks of R-PLN-10..15."""
    clean = _normalise_plan_fields(plan.reseller_id, fields, plan)
    changed = {k for k, v in clean.items() if getattr(plan, k) != v}
    if plan.is_delegated and changed & SYNCED_FIELDS:
        field = sorted(changed & SYNCED_FIELDS)[0]
        raise CatalogError(_l("This field of a delegated plan is set by the provider and "
                              "cannot be changed (05 R-PLN-15)."), field=field)
    live = bool(changed & {"billing_type", "product_id"}) and has_live_subscriptions(plan)
    if "billing_type" in changed:
        if live or plan.is_delegated or plan.source == PlanSource.VENDOR_PORTAL \
                or has_copies(plan):
            raise CatalogError(_l("The billing type cannot be changed: the plan has "
                                  "subscriptions or is delegated (05 R-PLN-10)."),
                               field="billing_type")
        if clean["billing_type"] == BillingType.PAYG_EXTERNAL and plan.markup_coefficient is None:
            raise CatalogError(_l("Set an automatic markup in the price list before switching "
                                  "to pay as you go (external) (05 R-MK-24)."),
                               field="billing_type")
    if "product_id" in changed and live:
        raise CatalogError(_l("The product cannot be changed: the plan has subscriptions "
                              "(05 R-PLN-11)."), field="product_id")
    if "provisioning_rule_id" in changed:
        needed = copy_reseller_ids(plan)
        if needed:
            with across_tenants():
                have = set(db.session.scalars(select(ProvisioningRule.reseller_id).where(
                    ProvisioningRule.parent_id == clean["provisioning_rule_id"])))
                deeper = _rule_holders(clean["provisioning_rule_id"])
            if not needed <= (have | deeper):
                raise CatalogError(_l("Choose a provisioning rule that is delegated to the "
                                      "resellers of this plan (05 R-PLN-12)."),
                                   field="provisioning_rule_id")
    before = audit.snapshot(plan, LOGGED_PLAN_FIELDS)
    for name in changed:
        setattr(plan, name, clean[name])
    _check_billing_rules(plan)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(plan, LOGGED_PLAN_FIELDS))
    if changes:
        audit.log(plan, "catalog.plan.updated", actor=actor, changes=changes)
    if changed & SYNCED_FIELDS:
        request_sync(plan)
    return plan


def _rule_holders(rule_id: int) -> set[int]:
    tree = select(ProvisioningRule.id, ProvisioningRule.reseller_id).where(
        ProvisioningRule.id == rule_id).cte("rule_holders", recursive=True)
    tree = tree.union_all(select(ProvisioningRule.id, ProvisioningRule.reseller_id)
                          .where(ProvisioningRule.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.reseller_id)))


def set_plan_icon(plan: Plan, data: bytes | None, content_type: str, *, actor=None) -> None:
    plan.icon = data
    plan.icon_type = content_type if data else ""
    audit.log(plan, "catalog.plan.icon_changed", actor=actor)


def deactivate_plan(plan: Plan, *, actor=None) -> Plan:
    """05 §3.1: inactive here; every copy below becomes deactivated by provider."""
    if plan.status != PlanStatus.ACTIVE:
        raise CatalogError(_l("Only an active plan can be deactivated."))
    plan.own_status = plan.status = PlanStatus.INACTIVE
    audit.log(plan, "catalog.plan.deactivated", actor=actor,
              changes={"status": ["active", "inactive"]})
    request_sync(plan)
    return plan


def activate_plan(plan: Plan, *, actor=None) -> Plan:
    """05 §3.1: a plan deactivated by its provider waits for the provider (07 §3.3)."""
    if plan.status == PlanStatus.DEACTIVATED_BY_PROVIDER:
        raise CatalogError(_l("The provider has deactivated this plan; only the provider can "
                              "activate it."))
    if plan.status == PlanStatus.ACTIVE:
        raise CatalogError(_l("The plan is already active."))
    plan.own_status = plan.status = PlanStatus.ACTIVE
    audit.log(plan, "catalog.plan.activated", actor=actor,
              changes={"status": ["inactive", "active"]})
    request_sync(plan)
    return plan


def set_plan_services(plan: Plan, services, *, actor=None, log: bool = True) -> None:
    """The service templates the plan provisions; resources must come from them (R-SV)."""
    ids = []
    for service in services:
        service_id = service.id if isinstance(service, ServiceTemplate) else service
        if plan.is_delegated:  # a copy keeps the provider's templates
            with across_tenants():
                template = db.session.get(ServiceTemplate, service_id)
        else:
            template = _own(ServiceTemplate, plan.reseller_id, service_id, "services",
                            _l("Unknown service."))
        if template is None:
            raise CatalogError(_l("Unknown service."), field="services")
        ids.append(template.id)
    current = set(db.session.scalars(select(PlanService.service_template_id).where(
        PlanService.reseller_id == plan.reseller_id, PlanService.plan_id == plan.id)))
    removed = current - set(ids)
    if removed:
        used = db.session.scalar(select(func.count(PlanResource.id)).join(
            ServiceResource, ServiceResource.id == PlanResource.service_resource_id).where(
            PlanResource.reseller_id == plan.reseller_id, PlanResource.plan_id == plan.id,
            PlanResource.deleted_at.is_(None),
            ServiceResource.service_template_id.in_(removed)))
        if used:
            raise CatalogError(_l("Remove the plan's resources of a service before removing "
                                  "the service."), field="services")
        db.session.execute(delete(PlanService).where(
            PlanService.plan_id == plan.id, PlanService.service_template_id.in_(removed)))
    for service_id in dict.fromkeys(ids):
        if service_id not in current:
            db.session.add(PlanService(reseller_id=plan.reseller_id, plan_id=plan.id,
                                       service_template_id=service_id))
    db.session.flush()
    db.session.expire(plan, ["services"])
    if log and (removed or set(ids) - current):
        audit.log(plan, "catalog.plan.services_changed", actor=actor,
                  data={"services": sorted(set(ids))})


def _after_price_change(plan: Plan, *, actor) -> None:
    """R-MK-10: an edited price ends auto markup; the copies' cost changes (R-MK-30)."""
    if plan.markup_coefficient is not None and plan.billing_type != BillingType.PAYG_EXTERNAL:
        audit.log(plan, "catalog.plan.markup_cleared", actor=actor,
                  changes={"markup_coefficient": [str(plan.markup_coefficient), ""]},
                  data={"reason": "price_edited"})
        plan.markup_coefficient = None
    mark_cost_changed(plan, now=clock.now())


# --- periods ----------------------------------------------------------------------------

def _normalise_period(data: dict, current: PlanPeriod | None) -> dict:
    clean = {k: v for k, v in data.items() if k in PERIOD_FIELDS}
    for flag in ("is_unlimited", "published", "is_trial"):
        if flag in clean:
            clean[flag] = bool(clean[flag])
    for field in PRICE_FIELDS_PERIOD:
        if field in clean:
            clean[field] = money_value(clean[field], field)
    unlimited = clean.get("is_unlimited", current.is_unlimited if current else False)
    if unlimited:
        clean["duration"], clean["duration_unit"] = None, None
    else:
        if "duration" in clean or current is None:
            clean["duration"] = _int_value(clean.get("duration"), "duration", minimum=1)
        if "duration_unit" in clean or current is None:
            try:
                clean["duration_unit"] = DurationUnit(clean.get("duration_unit") or "")
            except ValueError:
                raise CatalogError(_l("Choose days, months or years."),
                                   field="duration_unit") from None
    if "description" in clean:
        clean["description"] = clean["description"] or ""
    return clean


def _check_period(plan: Plan, period: PlanPeriod) -> None:
    if period.is_unlimited:
        if period.is_trial:
            raise CatalogError(_l("An unlimited period cannot be a trial (05 R-PER-1)."),
                               field="is_trial")
        for field in ("monthly_fee", "renewal_fee", "transfer_fee"):
            if getattr(period, field):
                raise CatalogError(_l("An unlimited period has only a setup fee (05 R-PER-1)."),
                                   field=field)
    if period.is_trial:
        for field in PRICE_FIELDS_PERIOD:
            if getattr(period, field):
                raise CatalogError(_l("A trial period is free (05 R-PER-3)."), field=field)
    _check_period_for_billing(plan, period)


def _check_period_for_billing(plan: Plan, period: PlanPeriod) -> None:
    if plan.billing_type == BillingType.NON_RECURRING:
        for field in PRICE_FIELDS_PERIOD:
            if getattr(period, field):
                raise CatalogError(_l("A Non-Recurring Subscription plan has no period fees "
                                      "(05 R-PER-4)."), field=field)
    if plan.billing_type == BillingType.FULL_PAYMENT and not (
            not period.is_unlimited and period.duration == 1
            and period.duration_unit == DurationUnit.MONTH):
        raise CatalogError(_l("A full-payment plan allows only the period “1 month” "
                              "(05 R-PER-4)."), field="duration")


def _refuse_structure_of_delegated(plan: Plan) -> None:
    if plan.is_delegated:
        raise CatalogError(_l("The periods and resources of a delegated plan are set by the "
                              "provider (05 R-PER-8, R-RS-12)."))


def add_period(plan: Plan, *, actor=None, log: bool = True, **data) -> PlanPeriod:
    """R-PER-7: a new period reaches every copy, priced parent × k (R-MK-11)."""
    _refuse_structure_of_delegated(plan)
    data.setdefault("published", True)
    clean = _normalise_period(data, None)
    position = db.session.scalar(select(func.coalesce(func.max(PlanPeriod.position), 0)).where(
        PlanPeriod.reseller_id == plan.reseller_id, PlanPeriod.plan_id == plan.id)) + 1
    period = PlanPeriod(reseller_id=plan.reseller_id, plan_id=plan.id, position=position, **clean)
    _check_period(plan, period)
    db.session.add(period)
    db.session.flush()
    db.session.expire(plan, ["periods"])
    if log:
        audit.log(plan, "catalog.plan.period_added", actor=actor,
                  data={"period_id": period.id, **audit.snapshot(period, PERIOD_FIELDS)})
        request_sync(plan)
    return period


def update_period(period: PlanPeriod, *, actor=None, **data) -> PlanPeriod:
    """R-PER-8/9: structure edits reach the copies; a price edit ends auto markup."""
    plan = period.plan
    clean = _normalise_period(data, period)
    changed = {k for k, v in clean.items() if getattr(period, k) != v}
    if plan.is_delegated and changed & set(PERIOD_STRUCTURE):
        raise CatalogError(_l("This field of a delegated plan's period is set by the provider "
                              "(05 R-PER-8)."), field=sorted(changed & set(PERIOD_STRUCTURE))[0])
    prices = changed & set(PRICE_FIELDS_PERIOD)
    if prices and plan.billing_type == BillingType.PAYG_EXTERNAL:
        changed -= prices  # R-MK-21: entered prices of pay-as-you-go (external) are ignored
        prices = set()
    before = audit.snapshot(period, PERIOD_FIELDS)
    for name in changed:
        setattr(period, name, clean[name])
    _check_period(plan, period)
    if prices:
        _after_price_change(plan, actor=actor)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(period, PERIOD_FIELDS))
    if changes:
        audit.log(plan, "catalog.plan.period_updated", actor=actor, changes=changes,
                  data={"period_id": period.id})
        request_sync(plan)
    return period


def delete_period(period: PlanPeriod, *, actor=None) -> None:
    """R-PER-10: not on a delegated plan, nor while subscriptions use the plan or a copy."""
    plan = period.plan
    _refuse_structure_of_delegated(plan)
    if has_live_subscriptions(plan):
        raise CatalogError(_l("The period cannot be deleted: there are subscriptions on this "
                              "plan or its copies (05 R-PER-10)."))
    period.deleted_at = clock.now()
    db.session.flush()
    db.session.expire(plan, ["periods"])
    audit.log(plan, "catalog.plan.period_deleted", actor=actor, data={"period_id": period.id})
    request_sync(plan)


# --- resources --------------------------------------------------------------------------

def _normalise_resource(data: dict, unit_type: ResourceUnit) -> dict:
    clean = {k: v for k, v in data.items() if k in RESOURCE_FIELDS}
    for flag in ("measurable", "unlimited", "public"):
        if flag in clean:
            clean[flag] = bool(clean[flag])
    for field in PRICE_FIELDS_RESOURCE:
        if field in clean:
            clean[field] = money_value(clean[field], field)
    for field in ("included", "minimum", "limit"):
        if field in clean:
            clean[field] = quantity_value(clean[field], field)
    if "priority" in clean:
        clean["priority"] = _int_value(clean["priority"], "priority", minimum=0)
    if "name" in clean:
        clean["name"] = (clean["name"] or "").strip()
        if not clean["name"]:
            raise CatalogError(_l("Enter the resource's name."), field="name")
    if unit_type == ResourceUnit.BOOLEAN:
        for field in ("included", "minimum"):
            if field in clean and clean[field] not in (0, 1):
                raise CatalogError(_l("A boolean resource is included or not."), field=field)
    return clean


def _check_resource(plan: Plan, resource: PlanResource) -> None:
    if resource.unit_type == ResourceUnit.BOOLEAN:
        if resource.included and not resource.minimum:
            raise CatalogError(_l("Configuration not allowed: a boolean resource included "
                                  "without minimum (05 R-RS-5)."), field="included")
        if resource.overuse_fee:
            raise CatalogError(_l("A boolean resource has no overuse fee (05 R-RS-4)."),
                               field="overuse_fee")
        if resource.unlimited or resource.measurable:
            raise CatalogError(_l("A boolean resource cannot be unlimited or measurable."),
                               field="unlimited")
    else:
        if resource.minimum < resource.included:
            raise CatalogError(_l("Minimum must be greater than or equal to Included "
                                  "(05 R-RS-1)."), field="minimum")
        if not resource.unlimited and resource.limit < resource.minimum:
            raise CatalogError(_l("The limit must be at least the minimum, or the resource "
                                  "unlimited (05 R-RS-2)."), field="limit")
    _check_resource_for_billing(plan, resource)


def _check_resource_for_billing(plan: Plan, resource: PlanResource) -> None:
    if plan.billing_type == BillingType.NON_RECURRING:
        if resource.included:
            raise CatalogError(_l("A Non-Recurring Subscription plan includes no resource "
                                  "quantity (05 R-PLN-7)."), field="included")
        for field in ("monthly_fee", "overuse_fee", "renewal_fee"):
            if getattr(resource, field):
                raise CatalogError(_l("A Non-Recurring Subscription plan has only a resource "
                                      "setup fee (05 R-PLN-7)."), field=field)


def add_resource(plan: Plan, *, actor=None, log: bool = True, service_resource_id=None,
                 unit_type=None, **data) -> PlanResource:
    """R-RS-8..10: a resource of one of the plan's services; it reaches every copy."""
    _refuse_structure_of_delegated(plan)
    source = None
    if service_resource_id not in (None, ""):
        source = db.session.scalar(select(ServiceResource).join(
            PlanService, PlanService.service_template_id == ServiceResource.service_template_id)
            .where(PlanService.reseller_id == plan.reseller_id, PlanService.plan_id == plan.id,
                   ServiceResource.id == service_resource_id))
        if source is None:
            raise CatalogError(_l("Choose a resource of one of the plan's services."),
                               field="service_resource_id")
        if not source.active:
            raise CatalogError(_l("The service resource is inactive."),
                               field="service_resource_id")
        taken = db.session.scalar(select(PlanResource.id).where(
            PlanResource.reseller_id == plan.reseller_id, PlanResource.plan_id == plan.id,
            PlanResource.service_resource_id == source.id, PlanResource.deleted_at.is_(None)))
        if taken:
            raise CatalogError(_l("The plan already has this resource."),
                               field="service_resource_id")
        data.setdefault("name", source.name)
        unit_type = source.unit_type
        if not source.measurable:
            data["measurable"] = False
    try:
        unit = ResourceUnit(unit_type or ResourceUnit.UNITS)
    except ValueError:
        raise CatalogError(_l("The unit is units or boolean."), field="unit_type") from None
    clean = _normalise_resource(data, unit)
    if "name" not in clean:
        raise CatalogError(_l("Enter the resource's name."), field="name")
    if has_live_subscriptions(plan):
        # R-RS-9: with subscriptions, a new resource adds nothing to what clients must take.
        clean["included"] = clean["minimum"] = Decimal(0)
    resource = PlanResource(reseller_id=plan.reseller_id, plan_id=plan.id,
                            service_resource_id=source.id if source else None, unit_type=unit,
                            **clean)
    for field in ("included", "minimum", "limit"):
        if getattr(resource, field) is None:
            setattr(resource, field, Decimal(0))
    for field in PRICE_FIELDS_RESOURCE:
        if getattr(resource, field) is None:
            setattr(resource, field, Decimal("0.00"))
    for flag, default in (("unlimited", False), ("measurable", False), ("public", True)):
        if getattr(resource, flag) is None:
            setattr(resource, flag, default)
    _check_resource(plan, resource)
    db.session.add(resource)
    db.session.flush()
    db.session.expire(plan, ["resources"])
    if log:
        audit.log(plan, "catalog.plan.resource_added", actor=actor,
                  data={"resource_id": resource.id, "name": resource.name})
        request_sync(plan)
    return resource


def update_resource(resource: PlanResource, *, actor=None, **data) -> PlanResource:
    """R-RS-12..14: limits locked by subscriptions or delegation; a price edit ends markup."""
    plan = resource.plan
    clean = _normalise_resource(data, resource.unit_type)
    changed = {k for k, v in clean.items() if getattr(resource, k) != v}
    structure = changed & {"name", "public", *RESOURCE_LIMITS, "measurable"}
    if plan.is_delegated and structure:
        raise CatalogError(_l("This field of a delegated plan's resource is set by the "
                              "provider (05 R-RS-12)."), field=sorted(structure)[0])
    if changed & set(RESOURCE_LIMITS) and has_live_subscriptions(plan):
        raise CatalogError(_l("Included, minimum, limit and unlimited cannot change while the "
                              "plan or its copies have subscriptions (05 R-RS-12)."),
                           field=sorted(changed & set(RESOURCE_LIMITS))[0])
    prices = changed & set(PRICE_FIELDS_RESOURCE)
    if prices and plan.billing_type == BillingType.PAYG_EXTERNAL:
        changed -= prices
        prices = set()
    fields = RESOURCE_FIELDS
    before = audit.snapshot(resource, fields)
    for name in changed:
        setattr(resource, name, clean[name])
    _check_resource(plan, resource)
    if prices:
        _after_price_change(plan, actor=actor)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(resource, fields))
    if changes:
        audit.log(plan, "catalog.plan.resource_updated", actor=actor, changes=changes,
                  data={"resource_id": resource.id})
        request_sync(plan)
    return resource


def delete_resource(resource: PlanResource, *, actor=None) -> None:
    """R-RS-15: not on a delegated plan, nor while subscriptions use the plan or a copy."""
    plan = resource.plan
    _refuse_structure_of_delegated(plan)
    if has_live_subscriptions(plan):
        raise CatalogError(_l("The resource cannot be deleted: there are subscriptions on this "
                              "plan or its copies (05 R-RS-15)."))
    resource.deleted_at = clock.now()
    db.session.flush()
    db.session.expire(plan, ["resources"])
    audit.log(plan, "catalog.plan.resource_deleted", actor=actor,
              data={"resource_id": resource.id, "name": resource.name})
    request_sync(plan)


# --- switch targets ---------------------------------------------------------------------

def add_switch_targets(plan: Plan, target_ids, *, actor=None) -> list[PlanSwitchTarget]:
    """R-SW-1/2: own plans of the same reseller; not for Non-Recurring plans."""
    if plan.billing_type == BillingType.NON_RECURRING:
        raise CatalogError(_l("A Non-Recurring Subscription plan cannot be switched "
                              "(05 R-SW-2)."))
    added = []
    existing = set(db.session.scalars(select(PlanSwitchTarget.target_plan_id).where(
        PlanSwitchTarget.reseller_id == plan.reseller_id, PlanSwitchTarget.plan_id == plan.id)))
    for target_id in target_ids:
        target = _own(Plan, plan.reseller_id, target_id, "target_plan_id", _l("Unknown plan."))
        if target.id == plan.id:
            raise CatalogError(_l("A plan cannot switch to itself."), field="target_plan_id")
        if target.id in existing:
            continue
        link = PlanSwitchTarget(reseller_id=plan.reseller_id, plan_id=plan.id,
                                target_plan_id=target.id)
        db.session.add(link)
        existing.add(target.id)
        added.append(link)
    db.session.flush()
    if added:
        audit.log(plan, "catalog.plan.switch_targets_added", actor=actor,
                  data={"targets": [link.target_plan_id for link in added]})
    return added


def remove_switch_targets(plan: Plan, target_ids, *, actor=None) -> int:
    result = db.session.execute(delete(PlanSwitchTarget).where(
        PlanSwitchTarget.reseller_id == plan.reseller_id, PlanSwitchTarget.plan_id == plan.id,
        PlanSwitchTarget.target_plan_id.in_(list(target_ids))))
    if result.rowcount:
        audit.log(plan, "catalog.plan.switch_targets_removed", actor=actor,
                  data={"targets": list(target_ids)})
    return result.rowcount


# --- copy -------------------------------------------------------------------------------

def copy_plan(plan: Plan, *, name: str | None = None, published: bool = True,
              reset_prices: bool = True, actor=None) -> Plan:
    """R-CP-1..5: a new own plan with the same settings, periods and resources."""
    if plan.is_delegated:
        raise CatalogError(_l("A delegated plan cannot be copied (05 R-CP-1)."))
    if plan.status == PlanStatus.DEACTIVATED_BY_PROVIDER:
        raise CatalogError(_l("Only an active or inactive plan can be copied (05 R-CP-1)."))
    # The manual's default name for a copy: "<name> Копия" (05 R-CP-3).
    name = (name or "").strip() or str(_l("%(name)s Copy", name=plan.name))
    default_k = plan.product.category.default_markup
    copy = Plan(reseller_id=plan.reseller_id, source=PlanSource.MANUAL, name=name,
                published=bool(published), status=PlanStatus.ACTIVE, own_status=PlanStatus.ACTIVE,
                **{f: getattr(plan, f) for f in PLAN_FIELDS if f not in ("name", "published")},
                icon=plan.icon, icon_type=plan.icon_type)
    db.session.add(copy)
    db.session.flush()
    any_price = False
    for period in plan.periods:
        values = {f: getattr(period, f) for f in (
            "is_unlimited", "duration", "duration_unit", "published", "is_trial", "description",
            "position", *PRICE_FIELDS_PERIOD)}
        any_price |= any(values[f] for f in PRICE_FIELDS_PERIOD)
        if reset_prices:
            values.update(dict.fromkeys(PRICE_FIELDS_PERIOD, Decimal("0.00")))
        db.session.add(PlanPeriod(reseller_id=copy.reseller_id, plan_id=copy.id, **values))
    for resource in plan.resources:
        values = {f: getattr(resource, f) for f in (
            "service_resource_id", "name", "unit_type", "measurable", "included", "minimum",
            "unlimited", "limit", "public", "priority", "additional_params",
            *PRICE_FIELDS_RESOURCE)}
        any_price |= any(values[f] for f in PRICE_FIELDS_RESOURCE)
        if reset_prices:
            values.update(dict.fromkeys(PRICE_FIELDS_RESOURCE, Decimal("0.00")))
        db.session.add(PlanResource(reseller_id=copy.reseller_id, plan_id=copy.id, **values))
    for service in plan.services:
        db.session.add(PlanService(reseller_id=copy.reseller_id, plan_id=copy.id,
                                   service_template_id=service.id))
    for target_id in db.session.scalars(select(PlanSwitchTarget.target_plan_id).where(
            PlanSwitchTarget.reseller_id == plan.reseller_id,
            PlanSwitchTarget.plan_id == plan.id)):
        db.session.add(PlanSwitchTarget(reseller_id=copy.reseller_id, plan_id=copy.id,
                                        target_plan_id=target_id))
    # R-CP-4/5: reset prices take the category's default markup; kept prices are manual
    # unless they were all zero.
    copy.markup_coefficient = default_k if reset_prices or not any_price else None
    db.session.flush()
    db.session.expire(copy, ["periods", "resources", "services"])
    audit.log(copy, "catalog.plan.created", actor=actor, data={"copied_from": plan.id})
    return copy
