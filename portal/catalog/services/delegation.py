"""Delegating plans to child resellers as a tracked background operation (07 §4.5).

The child gets a linked copy of the plan with its own product (and product category), the plan
category matched by key, and its copy of the provisioning rule; prices follow the parent's times
the category's default markup (R-MK-12). A provisioning-rule key clash blocks the whole run.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.catalog.models import (CatalogSettings, Plan, PlanCategory, PlanService, PlanSource,
                                   PlanStatus, Product, ProductCategory, ProvisioningRule)
from portal.catalog.services.errors import CatalogError, DelegationConflict
from portal.catalog.services.sync import apply_to_copy
from portal.core import audit, jobs
from portal.core.clock import clock
from portal.core.models import Operation, OperationStatus
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.tenancy.models import Reseller


def delegation_clashes(plans: list[Plan], resellers: list[Reseller]) -> list[dict]:
    """07 BR-34: a child's own rule with the key of a plan's rule blocks the delegation."""
    keys = {}
    for plan in plans:
        keys[plan.provisioning_rule.key] = plan.provisioning_rule
    if not keys or not resellers:
        return []
    with across_tenants():
        own = db.session.scalars(select(ProvisioningRule).where(
            ProvisioningRule.reseller_id.in_([r.id for r in resellers]),
            ProvisioningRule.is_delegated.is_(False),
            ProvisioningRule.key.in_(list(keys)))).all()
    names = {r.id: r.name for r in resellers}
    return [{"reseller_id": rule.reseller_id, "reseller": names[rule.reseller_id],
             "rule_id": rule.id, "rule": rule.name, "key": rule.key} for rule in own]


def _check(reseller: Reseller, plans: list[Plan], resellers: list[Reseller]) -> None:
    if not plans:
        raise CatalogError(_l("Choose at least one plan."), field="plan_ids")
    if not resellers:
        raise CatalogError(_l("Choose at least one reseller."), field="reseller_ids")
    for plan in plans:
        if plan.reseller_id != reseller.id:
            raise CatalogError(_l("Unknown plan."), field="plan_ids")
        if plan.status != PlanStatus.ACTIVE:
            raise CatalogError(_l("Only active plans can be delegated (07 BR-33): “%(name)s”.",
                                  name=plan.name), field="plan_ids")
    for child in resellers:
        if child.parent_id != reseller.id:
            raise CatalogError(_l("Plans are delegated only to resellers one level below "
                                  "(07 BR-33)."), field="reseller_ids")
    clashes = delegation_clashes(plans, resellers)
    if clashes:
        listed = "; ".join(f"{c['reseller']}: {c['rule']} ({c['key']})" for c in clashes)
        raise DelegationConflict(
            _l("Delegation is impossible: these resellers have their own provisioning rules "
               "with the keys of the plans' rules; change the keys first: %(rules)s.",
               rules=listed), clashes=clashes)


def start_delegation(reseller: Reseller, plans: list[Plan], resellers: list[Reseller], *,
                     actor=None) -> Operation:
    """Check the whole delegation, then queue it as one tracked operation."""
    _check(reseller, plans, resellers)
    member = getattr(actor, "member", actor)
    operation = Operation(
        reseller_id=reseller.id, kind="delegation", status=OperationStatus.QUEUED,
        progress_total=len(plans) * len(resellers), created_at=clock.now(),
        created_by_id=member.id if member is not None else None,
        params={"plan_ids": [p.id for p in plans], "reseller_ids": [r.id for r in resellers]})
    db.session.add(operation)
    db.session.flush()
    for plan in plans:
        audit.log(plan, "catalog.plan.delegation_started", actor=actor,
                  data={"operation_id": operation.id, "reseller_ids": [r.id for r in resellers]})
    jobs.enqueue_after_commit(delegate_plans_job, operation.id, queue="default")
    return operation


def delegate_plans_job(operation_id: int) -> None:
    """Run a queued delegation: one commit per (plan, reseller) so the panel sees progress."""
    operation = db.session.get(Operation, operation_id)
    if operation is None or operation.status == OperationStatus.DONE:
        return
    reseller = db.session.get(Reseller, operation.reseller_id)
    params = operation.params or {}
    plans = [p for p in (db.session.get(Plan, i) for i in params.get("plan_ids", [])) if p]
    children = [r for r in (db.session.get(Reseller, i) for i in params.get("reseller_ids", []))
                if r]
    operation.status = OperationStatus.RUNNING
    db.session.commit()
    try:
        _check(reseller, plans, children)  # things may have changed since the request
        results = []
        for plan in plans:
            for child in children:
                copy, created = delegate_plan(plan, child, now=clock.now())
                results.append({"plan_id": plan.id, "reseller_id": child.id,
                                "child_plan_id": copy.id, "skipped": not created})
                operation.progress_done += 1
                operation.result = {"plans": list(results)}
                db.session.commit()
    except Exception as error:
        db.session.rollback()
        operation.status = OperationStatus.FAILED
        operation.error = str(error)
        operation.finished_at = clock.now()
        db.session.commit()
        if isinstance(error, CatalogError):
            return
        raise
    operation.status = OperationStatus.DONE
    operation.finished_at = clock.now()
    db.session.commit()


def delegate_plan(plan: Plan, child: Reseller, *, now) -> tuple[Plan, bool]:
    """Create the child's copy of plan (or return the existing one: 07 BR-41)."""
    existing = db.session.scalar(select(Plan).where(Plan.reseller_id == child.id,
                                                    Plan.parent_id == plan.id))
    if existing is not None:
        return existing, False
    product = _product_copy(plan.product, child)
    category = _plan_category_copy(plan.plan_category, child)
    copy = Plan(
        reseller_id=child.id, parent_id=plan.id, is_delegated=True, source=PlanSource.DELEGATED,
        name=plan.name, sku=plan.sku, description=plan.description, plan_category_id=category.id,
        product_id=product.id, published=plan.published, status=PlanStatus.ACTIVE,
        own_status=PlanStatus.ACTIVE, single=plan.single, fixed_price=plan.fixed_price,
        icon=plan.icon, icon_type=plan.icon_type, billing_type=plan.billing_type,
        provisioning_rule_id=plan.provisioning_rule_id, lock_autorenew=plan.lock_autorenew,
        autorenew=plan.autorenew, currency=plan.currency,
        additional_params=dict(plan.additional_params or {}),
        markup_coefficient=product.category.default_markup)
    db.session.add(copy)
    db.session.flush()
    for service in plan.services:
        db.session.add(PlanService(reseller_id=child.id, plan_id=copy.id,
                                   service_template_id=service.id))
    with across_tenants():
        rule_copies = {(r.parent_id, r.reseller_id): r.id for r in db.session.execute(
            select(ProvisioningRule.id, ProvisioningRule.parent_id, ProvisioningRule.reseller_id)
            .where(ProvisioningRule.parent_id == plan.provisioning_rule_id,
                   ProvisioningRule.reseller_id == child.id))}
    periods_of = {plan.id: list(plan.periods), copy.id: []}
    resources_of = {plan.id: list(plan.resources), copy.id: []}
    apply_to_copy(plan, copy, periods_of, resources_of, rule_copies, now=now)
    db.session.flush()
    audit.log(copy, "catalog.plan.delegated", data={"parent_plan_id": plan.id,
                                                    "from_reseller_id": plan.reseller_id})
    return copy, True


def _product_copy(product: Product, child: Reseller) -> Product:
    """07 BR-36: one product (and product category) per child, made unpublished."""
    copy = db.session.scalar(select(Product).where(Product.reseller_id == child.id,
                                                   Product.parent_id == product.id))
    if copy is not None:
        return copy
    category = _product_category_copy(product.category, child)
    copy = Product(
        reseller_id=child.id, parent_id=product.id, is_delegated=True,
        product_category_id=category.id, published=False,
        **{f: getattr(product, f) for f in (
            "name", "product_type", "description", "vendor_name", "license_agreement_url",
            "privacy_policy_url", "subscription_name_template", "marketing_name",
            "marketing_description", "logo", "logo_type", "support_url", "support_email",
            "support_phone", "support_extra")})
    db.session.add(copy)
    db.session.flush()
    from portal.catalog.models import ProductMarketingItem  # noqa: PLC0415

    for item in product.marketing_items:
        db.session.add(ProductMarketingItem(
            reseller_id=child.id, product_id=copy.id, kind=item.kind, name=item.name,
            url=item.url, description=item.description, image=item.image,
            image_type=item.image_type, position=item.position))
    return copy


def _product_category_copy(category: ProductCategory, child: Reseller) -> ProductCategory:
    copy = db.session.scalar(select(ProductCategory).where(
        ProductCategory.reseller_id == child.id,
        (ProductCategory.parent_id == category.id) | (ProductCategory.key == category.key)))
    if copy is not None:
        return copy
    settings = db.session.scalar(select(CatalogSettings).where(
        CatalogSettings.reseller_id == child.id))
    default = settings.default_markup_new_categories if settings else None
    copy = ProductCategory(
        reseller_id=child.id, parent_id=category.id, is_delegated=True, name=category.name,
        key=category.key, priority=category.priority, description=category.description,
        default_markup=default if default is not None else Decimal("1.00"))
    db.session.add(copy)
    db.session.flush()
    return copy


def _plan_category_copy(category: PlanCategory, child: Reseller) -> PlanCategory:
    """07 BR-35: matched by key, else created with the same name and key, no description."""
    copy = db.session.scalar(select(PlanCategory).where(PlanCategory.reseller_id == child.id,
                                                        PlanCategory.key == category.key))
    if copy is None:
        copy = PlanCategory(reseller_id=child.id, is_delegated=True, name=category.name,
                            key=category.key, description="")
        db.session.add(copy)
        db.session.flush()
    return copy
