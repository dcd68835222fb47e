"""The catalogue: product and plan categories, products, service templates, plans with their
periods and resources, provisioning rules (spec 05, 06 §9.5, 07 §10.2).

A delegated object is a copy owned by the child reseller that points to its upstream copy
through `parent_id`; the sync keeps the synchronised fields of every copy equal to upstream.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.core.money import Money
from portal.extensions import db

Coefficient = Numeric(8, 2)
Quantity = Numeric(14, 2)


class BillingType(enum.StrEnum):
    """The ten billing types of spec 05 §2.7.1; their charge rules live in billing."""

    PREORDER = "preorder"
    CSP_MONTHLY = "csp_monthly"
    CSP_ANNUAL = "csp_annual"
    NO_REFUND = "no_refund"
    PAYG_INTERNAL = "payg_internal"
    PAYG_EXTERNAL = "payg_external"
    FULL_PAYMENT = "full_payment"
    GSUITE = "gsuite"
    ESET_ISP_MONTHLY = "eset_isp_monthly"
    NON_RECURRING = "non_recurring"


BILLING_TYPE_LABELS = {
    BillingType.PREORDER: _l("Pre-order"),
    BillingType.CSP_MONTHLY: _l("CSP monthly"),
    BillingType.CSP_ANNUAL: _l("CSP annual"),
    BillingType.NO_REFUND: _l("No refund"),
    BillingType.PAYG_INTERNAL: _l("Pay as you go (internal)"),
    BillingType.PAYG_EXTERNAL: _l("Pay as you go (external)"),
    BillingType.FULL_PAYMENT: _l("Full payment"),
    BillingType.GSUITE: _l("G Suite"),
    BillingType.ESET_ISP_MONTHLY: _l("ESET solutions for ISP (monthly)"),
    BillingType.NON_RECURRING: _l("Non-Recurring Subscription"),
}


class PlanStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DEACTIVATED_BY_PROVIDER = "deactivated_by_provider"


PLAN_STATUS_LABELS = {PlanStatus.ACTIVE: _l("Active"), PlanStatus.INACTIVE: _l("Inactive"),
                      PlanStatus.DEACTIVATED_BY_PROVIDER: _l("Deactivated by provider")}


class PlanSource(enum.StrEnum):
    MANUAL = "manual"
    DELEGATED = "delegated"
    VENDOR_PORTAL = "vendor_portal"


class DurationUnit(enum.StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class ResourceUnit(enum.StrEnum):
    UNITS = "units"
    BOOLEAN = "boolean"


class Connector(enum.StrEnum):
    """How a service template's instances are provisioned (06 S-1, MP-1)."""

    SIMULATED = "simulated"
    MANUAL = "manual"


CONNECTOR_LABELS = {Connector.SIMULATED: _l("Simulated vendor (asynchronous)"),
                    Connector.MANUAL: _l("Manual provisioning")}


class MarketingItemKind(enum.StrEnum):
    SCREENSHOT = "screenshot"
    VIDEO = "video"
    DOCUMENT = "document"
    ADVANTAGE = "advantage"


# The standard client types (01 §5, seeds 000); rules list the keys that may order.
CLIENT_TYPES = {
    "individual": _l("Individual"),
    "sole_proprietor": _l("Sole proprietor"),
    "legal_entity": _l("Legal entity"),
    "legal_entity_no_vat": _l("Legal entity without VAT"),
}


class CatalogSettings(db.Model):
    """A reseller's pricing defaults (05 §2.2)."""

    __tablename__ = "catalog_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             unique=True)
    # Markup of plans delegated into a product category created by that delegation (R-MK-12).
    default_markup_new_categories: Mapped[Decimal] = mapped_column(Coefficient,
                                                                   default=Decimal("1.00"))


class ProductCategory(db.Model):
    __tablename__ = "product_categories"
    __table_args__ = (UniqueConstraint("reseller_id", "key"),
                      UniqueConstraint("reseller_id", "parent_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_categories.id", ondelete="SET NULL"))
    is_delegated: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    # Markup given to plans delegated into this category (R-MK-12).
    default_markup: Mapped[Decimal] = mapped_column(Coefficient, default=Decimal("1.00"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("reseller_id", "parent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    is_delegated: Mapped[bool] = mapped_column(default=False)
    product_category_id: Mapped[int] = mapped_column(ForeignKey("product_categories.id"),
                                                     index=True)
    name: Mapped[str] = mapped_column(String(255))
    product_type: Mapped[str] = mapped_column(String(64), default="SaaS")
    published: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")  # internal, never shown to clients
    vendor_name: Mapped[str] = mapped_column(String(255), default="")
    license_agreement_url: Mapped[str] = mapped_column(String(500), default="")
    privacy_policy_url: Mapped[str] = mapped_column(String(500), default="")
    subscription_name_template: Mapped[str] = mapped_column(String(500), default="{{plan.name}}")
    # Marketing data the storefront shows (05 §2.3).
    marketing_name: Mapped[str] = mapped_column(String(255), default="")
    marketing_description: Mapped[str] = mapped_column(Text, default="")
    logo: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)
    logo_type: Mapped[str] = mapped_column(String(64), default="")
    support_url: Mapped[str] = mapped_column(String(500), default="")
    support_email: Mapped[str] = mapped_column(String(255), default="")
    support_phone: Mapped[str] = mapped_column(String(64), default="")
    support_extra: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    category: Mapped[ProductCategory] = relationship()
    marketing_items: Mapped[list[ProductMarketingItem]] = relationship(
        order_by="ProductMarketingItem.position, ProductMarketingItem.id",
        cascade="all, delete-orphan", back_populates="product")


class ProductMarketingItem(db.Model):
    """A screenshot, video, document link or advantage of a product (05 §2.3)."""

    __tablename__ = "product_marketing_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[MarketingItemKind] = mapped_column(StrEnumType(MarketingItemKind))
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)
    image_type: Mapped[str] = mapped_column(String(64), default="")
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="marketing_items")


class PlanCategory(db.Model):
    __tablename__ = "plan_categories"
    __table_args__ = (UniqueConstraint("reseller_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    is_delegated: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class ServiceTemplate(db.Model):
    """The service a plan provisions and the connector that provisions it (06 §2.9)."""

    __tablename__ = "service_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(255))
    connector: Mapped[Connector] = mapped_column(StrEnumType(Connector))
    description: Mapped[str] = mapped_column(Text, default="")
    # Connector settings, e.g. the manual-provisioning mode of each action (06 §2.9.2).
    settings: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    resources: Mapped[list[ServiceResource]] = relationship(
        order_by="ServiceResource.id", back_populates="service_template",
        cascade="all, delete-orphan")


class ServiceResource(db.Model):
    """A resource a plan on this service may price (06 §2.10)."""

    __tablename__ = "service_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    service_template_id: Mapped[int] = mapped_column(
        ForeignKey("service_templates.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    unit_type: Mapped[ResourceUnit] = mapped_column(StrEnumType(ResourceUnit),
                                                    default=ResourceUnit.UNITS)
    measurable: Mapped[bool] = mapped_column(default=False)  # the service can meter usage
    active: Mapped[bool] = mapped_column(default=True)

    service_template: Mapped[ServiceTemplate] = relationship(back_populates="resources")


class ProvisioningRule(db.Model):
    """Financial day, renewal points, unpaid-stop and block periods of plans (05 §2.12)."""

    __tablename__ = "provisioning_rules"
    __table_args__ = (
        UniqueConstraint("reseller_id", "key"),
        UniqueConstraint("reseller_id", "parent_id"),
        CheckConstraint("financial_day BETWEEN 1 AND 28", name="financial_day_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("provisioning_rules.id", ondelete="CASCADE"), index=True)
    is_delegated: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    financial_day: Mapped[int] = mapped_column(default=1)
    promised_payment_allowed: Mapped[bool] = mapped_column(default=False)
    manual_renewal_point_days: Mapped[int] = mapped_column(default=-1)
    auto_renewal_point_days: Mapped[int] = mapped_column(default=0)
    unpaid_stop_after_days: Mapped[int] = mapped_column(default=0)
    block_period_days: Mapped[int] = mapped_column(default=0)
    # Client-type keys allowed to order; a delegated copy adds its own to the upstream's.
    client_types: Mapped[list] = mapped_column(JSON, default=list)
    added_client_types: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    parent: Mapped[ProvisioningRule | None] = relationship(remote_side=[id])

    @property
    def effective_client_types(self) -> list[str]:
        extra = [key for key in (self.added_client_types or []) if key not in self.client_types]
        return list(self.client_types or []) + extra


class Plan(db.Model):
    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("reseller_id", "parent_id"),
        CheckConstraint("markup_coefficient IS NULL OR markup_coefficient > 0",
                        name="markup_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    is_delegated: Mapped[bool] = mapped_column(default=False)
    source: Mapped[PlanSource] = mapped_column(StrEnumType(PlanSource), default=PlanSource.MANUAL)
    name: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    plan_category_id: Mapped[int] = mapped_column(ForeignKey("plan_categories.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    published: Mapped[bool] = mapped_column(default=False)
    # `status` is what applies; `own_status` is this level's own choice, restored when the
    # provider activates again (05 §8.25).
    status: Mapped[PlanStatus] = mapped_column(StrEnumType(PlanStatus, 32),
                                               default=PlanStatus.ACTIVE, index=True)
    own_status: Mapped[PlanStatus] = mapped_column(StrEnumType(PlanStatus, 32),
                                                   default=PlanStatus.ACTIVE)
    single: Mapped[bool] = mapped_column(default=False)
    fixed_price: Mapped[bool] = mapped_column(default=False)
    icon: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)
    icon_type: Mapped[str] = mapped_column(String(64), default="")
    billing_type: Mapped[BillingType] = mapped_column(StrEnumType(BillingType))
    provisioning_rule_id: Mapped[int] = mapped_column(ForeignKey("provisioning_rules.id"),
                                                      index=True)
    lock_autorenew: Mapped[bool] = mapped_column(default=False)
    autorenew: Mapped[bool] = mapped_column(default=False)
    currency: Mapped[str] = mapped_column(String(3))
    additional_params: Mapped[dict | None] = mapped_column(JSON)
    # Auto markup (05 §3.2): a coefficient means every price = upstream price × k, rounded
    # and stored (D9); NULL means "not set": prices are this level's own.
    markup_coefficient: Mapped[Decimal | None] = mapped_column(Coefficient)
    cost_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    parent: Mapped[Plan | None] = relationship(remote_side=[id])
    product: Mapped[Product] = relationship()
    plan_category: Mapped[PlanCategory] = relationship()
    provisioning_rule: Mapped[ProvisioningRule] = relationship()
    periods: Mapped[list[PlanPeriod]] = relationship(
        primaryjoin="and_(PlanPeriod.plan_id == Plan.id, PlanPeriod.deleted_at.is_(None))",
        order_by="PlanPeriod.position, PlanPeriod.id", viewonly=True)
    resources: Mapped[list[PlanResource]] = relationship(
        primaryjoin="and_(PlanResource.plan_id == Plan.id, PlanResource.deleted_at.is_(None))",
        order_by="PlanResource.priority.desc(), PlanResource.name, PlanResource.id",
        viewonly=True)
    services: Mapped[list[ServiceTemplate]] = relationship(
        secondary="plan_services", order_by="ServiceTemplate.id", viewonly=True)

    @property
    def status_label(self):
        return PLAN_STATUS_LABELS[self.status]

    @property
    def billing_type_label(self):
        return BILLING_TYPE_LABELS[self.billing_type]


class PlanService(db.Model):
    """A service template a plan provisions (05 §2.8); not synchronised to copies."""

    __tablename__ = "plan_services"
    __table_args__ = (UniqueConstraint("plan_id", "service_template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    service_template_id: Mapped[int] = mapped_column(ForeignKey("service_templates.id"),
                                                     index=True)


PRICE_FIELDS_PERIOD = ("setup_fee", "monthly_fee", "renewal_fee", "transfer_fee")
PRICE_FIELDS_RESOURCE = ("setup_fee", "monthly_fee", "overuse_fee", "renewal_fee")


class PlanPeriod(db.Model):
    __tablename__ = "plan_periods"
    __table_args__ = (
        UniqueConstraint("plan_id", "parent_id"),
        CheckConstraint("setup_fee >= 0 AND monthly_fee >= 0 AND renewal_fee >= 0 "
                        "AND transfer_fee >= 0", name="fees_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plan_periods.id"), index=True)
    is_unlimited: Mapped[bool] = mapped_column(default=False)
    duration: Mapped[int | None]
    duration_unit: Mapped[DurationUnit | None] = mapped_column(StrEnumType(DurationUnit))
    published: Mapped[bool] = mapped_column(default=True)
    is_trial: Mapped[bool] = mapped_column(default=False)
    setup_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    monthly_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    renewal_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    transfer_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 05 §8.12

    plan: Mapped[Plan] = relationship()

    @property
    def months(self) -> Decimal:
        """The period's length in months for price formulas (R-PL-6); 0 when unlimited."""
        from portal.catalog.pricing import period_months  # noqa: PLC0415

        return period_months(self)


class PlanResource(db.Model):
    __tablename__ = "plan_resources"
    __table_args__ = (
        UniqueConstraint("plan_id", "parent_id"),
        CheckConstraint("setup_fee >= 0 AND monthly_fee >= 0 AND overuse_fee >= 0 "
                        "AND renewal_fee >= 0", name="fees_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plan_resources.id"), index=True)
    # The service-template resource it prices; API-made plans may name their own resources.
    service_resource_id: Mapped[int | None] = mapped_column(ForeignKey("service_resources.id"),
                                                            index=True)
    name: Mapped[str] = mapped_column(String(255))
    unit_type: Mapped[ResourceUnit] = mapped_column(StrEnumType(ResourceUnit),
                                                    default=ResourceUnit.UNITS)
    measurable: Mapped[bool] = mapped_column(default=False)
    # For boolean resources included/minimum are 0 or 1 (the 05 §2.10 matrix).
    included: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    minimum: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    unlimited: Mapped[bool] = mapped_column(default=False)
    limit: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    setup_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    monthly_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    overuse_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    renewal_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    public: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=0)
    additional_params: Mapped[dict | None] = mapped_column(JSON)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[Plan] = relationship()
    service_resource: Mapped[ServiceResource] = relationship()


class PlanSwitchTarget(db.Model):
    """A plan a subscription may switch to (05 §2.11); not delegated."""

    __tablename__ = "plan_switch_targets"
    __table_args__ = (UniqueConstraint("plan_id", "target_plan_id"),
                      CheckConstraint("plan_id <> target_plan_id", name="not_itself"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    target_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))

    target: Mapped[Plan] = relationship(foreign_keys=[target_plan_id])
