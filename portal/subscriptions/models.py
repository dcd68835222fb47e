"""Subscriptions, their resources and service instances (spec 02 §2.1–2.4)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.core.money import Money
from portal.extensions import db

Quantity = db.Numeric(14, 2)


class SubscriptionStatus(enum.StrEnum):
    """02 E-1."""

    NEW_ORDER = "new_order"
    INSTALLING = "installing"
    INSTALL_ERROR = "install_error"
    ACTIVATING = "activating"
    ACTIVATION_ERROR = "activation_error"
    ACTIVE = "active"
    DELIVERED = "delivered"
    UPDATING = "updating"
    UPDATE_ERROR = "update_error"
    RENEWING = "renewing"
    RENEWAL_ERROR = "renewal_error"
    AWAITING_MANUAL_APPROVAL = "awaiting_manual_approval"
    PAYMENT_OVERDUE = "payment_overdue"
    STOPPING = "stopping"
    STOP_FAILED = "stop_failed"
    STOPPED = "stopped"
    BLOCKED = "blocked"
    DELETING = "deleting"
    DELETE_ERROR = "delete_error"
    DELETED = "deleted"


# Status words take their object's gender in Russian (подписка «Активная», клиент «Активен»),
# so each object's statuses have their own message context.
SUBSCRIPTION_STATUS_LABELS = {
    SubscriptionStatus.NEW_ORDER: lazy_pgettext("subscription status", "New order"),
    SubscriptionStatus.INSTALLING: lazy_pgettext("subscription status", "Installing"),
    SubscriptionStatus.INSTALL_ERROR: lazy_pgettext("subscription status", "Installation error"),
    SubscriptionStatus.ACTIVATING: lazy_pgettext("subscription status", "Activating"),
    SubscriptionStatus.ACTIVATION_ERROR: lazy_pgettext("subscription status", "Activation error"),
    SubscriptionStatus.ACTIVE: lazy_pgettext("subscription status", "Active"),
    SubscriptionStatus.DELIVERED: lazy_pgettext("subscription status", "Delivered"),
    SubscriptionStatus.UPDATING: lazy_pgettext("subscription status", "Updating"),
    SubscriptionStatus.UPDATE_ERROR: lazy_pgettext("subscription status", "Update error"),
    SubscriptionStatus.RENEWING: lazy_pgettext("subscription status", "Renewing"),
    SubscriptionStatus.RENEWAL_ERROR: lazy_pgettext("subscription status", "Renewal error"),
    SubscriptionStatus.AWAITING_MANUAL_APPROVAL:
        lazy_pgettext("subscription status", "Awaiting manual approval"),
    SubscriptionStatus.PAYMENT_OVERDUE: lazy_pgettext("subscription status", "Payment overdue"),
    SubscriptionStatus.STOPPING: lazy_pgettext("subscription status", "Stopping"),
    SubscriptionStatus.STOP_FAILED:
        lazy_pgettext("subscription status", "Stop cannot be completed"),
    SubscriptionStatus.STOPPED: lazy_pgettext("subscription status", "Stopped"),
    SubscriptionStatus.BLOCKED: lazy_pgettext("subscription status", "Blocked"),
    SubscriptionStatus.DELETING: lazy_pgettext("subscription status", "Deleting"),
    SubscriptionStatus.DELETE_ERROR: lazy_pgettext("subscription status", "Deletion error"),
    SubscriptionStatus.DELETED: lazy_pgettext("subscription status", "Deleted"),
}

# Statuses an operation is under way in; a block waits for the stable status (01 §3.2, A-7).
TRANSITIONAL_STATUSES = frozenset({
    SubscriptionStatus.NEW_ORDER, SubscriptionStatus.INSTALLING, SubscriptionStatus.ACTIVATING,
    SubscriptionStatus.UPDATING, SubscriptionStatus.RENEWING, SubscriptionStatus.STOPPING,
    SubscriptionStatus.DELETING})
# Statuses in which the subscription works for the client.
WORKING_STATUSES = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAYMENT_OVERDUE,
                              SubscriptionStatus.DELIVERED})


class PaymentModel(enum.StrEnum):
    PREPAY = "prepay"
    POSTPAY = "postpay"


PAYMENT_MODEL_LABELS = {PaymentModel.PREPAY: _l("Prepaid"), PaymentModel.POSTPAY: _l("Postpaid")}


class RenewalPriceMode(enum.StrEnum):
    """02 E-5: the prices a renewal of an individually priced subscription takes."""

    INDIVIDUAL = "individual"
    PLAN = "plan"
    HIGHEST = "highest"


RENEWAL_PRICE_MODE_LABELS = {
    RenewalPriceMode.HIGHEST: _l("Use the highest prices"),
    RenewalPriceMode.INDIVIDUAL: _l("Use individual prices"),
    RenewalPriceMode.PLAN: _l("Use plan prices"),
}


class Subscription(db.Model):
    """A client's subscription to a plan (02 §2.1). Prices are snapshotted at ordering (A-47)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_reseller_status", "reseller_id", "status"),
        Index("ix_subscriptions_expiry", "expiry_date"),
        CheckConstraint("auto_renew_point_days >= 0", name="auto_renew_point_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    plan_period_id: Mapped[int] = mapped_column(ForeignKey("plan_periods.id"))
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[SubscriptionStatus] = mapped_column(StrEnumType(SubscriptionStatus),
                                                       default=SubscriptionStatus.NEW_ORDER)
    # Restored when an administrative or financial block is lifted (01 §3.2–3.4).
    status_before_block: Mapped[SubscriptionStatus | None] = mapped_column(
        StrEnumType(SubscriptionStatus))
    # Set while a block stop waits for the subscription to reach a stable status (01 §3.2).
    pending_block: Mapped[str | None] = mapped_column(String(16))
    is_trial: Mapped[bool] = mapped_column(default=False)
    payment_model: Mapped[PaymentModel] = mapped_column(StrEnumType(PaymentModel),
                                                        default=PaymentModel.PREPAY)
    currency: Mapped[str] = mapped_column(String(3))
    # The term: start_date is the first day (S0 of D1), expiry_date the last day of the current
    # term, NULL for an unlimited period.
    start_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    # Terms completed so far (k of D1): the current term is A(term_index)..A(term_index+1)-1.
    term_index: Mapped[int] = mapped_column(default=0)
    # The anchor A(0) of the terms when it is not the start date: a plan switch keeps the
    # expiry date, and the new period's terms run from the day after it (02 A-35, D1).
    term_anchor: Mapped[date | None] = mapped_column(Date)
    prolonged_until: Mapped[date | None] = mapped_column(Date)
    # Day after expiry since which a renewal is unpaid (unpaid-stop and block periods count
    # from here, 02 R-DET-1, S10, JOB-7).
    unpaid_since: Mapped[date | None] = mapped_column(Date)
    auto_renew: Mapped[bool] = mapped_column(default=True)
    auto_renew_locked: Mapped[bool] = mapped_column(default=False)
    auto_renew_point_days: Mapped[int] = mapped_column(default=0)
    manual_renewal_point_days: Mapped[int] = mapped_column(default=-1)
    individual_prices: Mapped[bool] = mapped_column(default=False)
    renewal_price_mode: Mapped[RenewalPriceMode | None] = mapped_column(
        StrEnumType(RenewalPriceMode))
    charges_closed_manually: Mapped[bool] = mapped_column(default=False)
    # The individual monthly price set in the order (02 R-IP-5); the fees below are the prices
    # in force, which a renewal at plan prices replaces.
    individual_monthly_fee: Mapped[Decimal | None] = mapped_column(Money)
    # Snapshot of the period prices (plan currency), per 02 §2.3.
    monthly_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    setup_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    renewal_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    transfer_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    promo_code: Mapped[str] = mapped_column(String(64), default="")
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client = relationship("Client")
    plan = relationship("Plan")
    plan_period = relationship("PlanPeriod")
    manager = relationship("StaffMember")
    # A plan switch retires the old plan's resources; their rows stay for the charges that
    # name them.
    resources: Mapped[list[SubscriptionResource]] = relationship(
        primaryjoin="and_(Subscription.id == SubscriptionResource.subscription_id, "
                    "SubscriptionResource.removed_at.is_(None))",
        order_by="SubscriptionResource.id", viewonly=True)
    service_instances: Mapped[list[ServiceInstance]] = relationship(
        order_by="ServiceInstance.id", back_populates="subscription")

    @property
    def status_label(self):
        return SUBSCRIPTION_STATUS_LABELS[self.status]

    @property
    def payment_model_label(self):
        return PAYMENT_MODEL_LABELS[self.payment_model]

    @property
    def is_unlimited(self) -> bool:
        return self.expiry_date is None and not self.is_trial and self.plan_period.is_unlimited


class SubscriptionResource(db.Model):
    """A resource of a subscription: included + additional, with its snapshotted prices (02 §2.2)."""

    __tablename__ = "subscription_resources"
    __table_args__ = (CheckConstraint("additional >= 0", name="additional_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    plan_resource_id: Mapped[int] = mapped_column(ForeignKey("plan_resources.id"))
    name: Mapped[str] = mapped_column(String(255))
    included: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    additional: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    minimum: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    unlimited: Mapped[bool] = mapped_column(default=False)
    limit: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    used: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    # Prices per unit in the subscription currency: the monthly fee and the one-off fees (02 §2.3).
    monthly_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    setup_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    renewal_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    individual_monthly_fee: Mapped[Decimal | None] = mapped_column(Money)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    subscription: Mapped[Subscription] = relationship()
    plan_resource = relationship("PlanResource")

    @property
    def total(self) -> Decimal:
        return self.included + self.additional


class ServiceInstanceStatus(enum.StrEnum):
    """06 §3.3."""

    PROVISIONING = "provisioning"
    AWAITING_MANUAL = "awaiting_manual"
    ACTIVE = "active"
    STOPPED = "stopped"
    DELETED = "deleted"
    PROVISIONING_ERROR = "provisioning_error"
    UPDATE_ERROR = "update_error"
    RENEW_ERROR = "renew_error"
    STOP_ERROR = "stop_error"
    ACTIVATION_ERROR = "activation_error"
    DELETE_ERROR = "delete_error"


SERVICE_INSTANCE_STATUS_LABELS = {
    ServiceInstanceStatus.PROVISIONING: lazy_pgettext("service instance status", "Provisioning"),
    ServiceInstanceStatus.AWAITING_MANUAL:
        lazy_pgettext("service instance status", "Awaiting manual approval"),
    ServiceInstanceStatus.ACTIVE: lazy_pgettext("service instance status", "Active"),
    ServiceInstanceStatus.STOPPED: lazy_pgettext("service instance status", "Stopped"),
    ServiceInstanceStatus.DELETED: lazy_pgettext("service instance status", "Deleted"),
    ServiceInstanceStatus.PROVISIONING_ERROR:
        lazy_pgettext("service instance status", "Provisioning error"),
    ServiceInstanceStatus.UPDATE_ERROR: lazy_pgettext("service instance status", "Update error"),
    ServiceInstanceStatus.RENEW_ERROR: lazy_pgettext("service instance status", "Renewal error"),
    ServiceInstanceStatus.STOP_ERROR: lazy_pgettext("service instance status", "Stop error"),
    ServiceInstanceStatus.ACTIVATION_ERROR:
        lazy_pgettext("service instance status", "Activation error"),
    ServiceInstanceStatus.DELETE_ERROR: lazy_pgettext("service instance status", "Deletion error"),
}


class ServiceInstance(db.Model):
    """The instance of a service template that a subscription is provisioned as (06 §2.11)."""

    __tablename__ = "service_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    service_template_id: Mapped[int] = mapped_column(ForeignKey("service_templates.id"),
                                                     index=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[ServiceInstanceStatus] = mapped_column(
        StrEnumType(ServiceInstanceStatus), default=ServiceInstanceStatus.PROVISIONING)
    # The vendor's id of what it provisioned, and what the vendor last reported.
    external_id: Mapped[str] = mapped_column(String(128), default="")
    data: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    subscription: Mapped[Subscription] = relationship(back_populates="service_instances")
    service_template = relationship("ServiceTemplate")

    @property
    def status_label(self):
        return SERVICE_INSTANCE_STATUS_LABELS[self.status]
