"""Orders and their lines, payments, the provisioning task queue and manual operations
(spec 03 §2.1–2.3, §2.6)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import (JSON, CheckConstraint, Date, ForeignKey, Index, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.core.money import Money, PeriodMonths
from portal.extensions import db

Quantity = db.Numeric(14, 2)


class OrderType(enum.StrEnum):
    """03 ORD-1: the five order types."""

    SALES_ORDER = "sales_order"
    CHANGE_ORDER = "change_order"
    SWITCH_ORDER = "switch_order"
    RENEWAL_ORDER = "renewal_order"
    PROLONG_ORDER = "prolong_order"


ORDER_TYPE_LABELS = {
    OrderType.SALES_ORDER: _l("Sales order"),
    OrderType.CHANGE_ORDER: _l("Change order"),
    OrderType.SWITCH_ORDER: _l("Switch order"),
    OrderType.RENEWAL_ORDER: _l("Renewal order"),
    OrderType.PROLONG_ORDER: _l("Prolong order"),
}


class OrderStatus(enum.StrEnum):
    """03 §3.1: six statuses."""

    WAITING_FOR_PAYMENT = "waiting_for_payment"
    WAITING_FOR_PROVISIONING = "waiting_for_provisioning"
    PROVISIONING = "provisioning"
    ACTIVATION_ERROR = "activation_error"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


ORDER_STATUS_LABELS = {
    OrderStatus.WAITING_FOR_PAYMENT: lazy_pgettext("order status", "Waiting for payment"),
    OrderStatus.WAITING_FOR_PROVISIONING: lazy_pgettext("order status", "Waiting for provisioning"),
    OrderStatus.PROVISIONING: lazy_pgettext("order status", "Provisioning"),
    OrderStatus.ACTIVATION_ERROR: lazy_pgettext("order status", "Activation error"),
    OrderStatus.COMPLETED: lazy_pgettext("order status", "Completed"),
    OrderStatus.CANCELLED: lazy_pgettext("order status", "Cancelled"),
}

OPEN_ORDER_STATUSES = (OrderStatus.WAITING_FOR_PAYMENT, OrderStatus.WAITING_FOR_PROVISIONING,
                       OrderStatus.PROVISIONING, OrderStatus.ACTIVATION_ERROR)
_OPEN_SQL = "status IN ('waiting_for_payment', 'waiting_for_provisioning', 'provisioning', " \
            "'activation_error')"


_PER_TERM_SQL = "status <> 'cancelled' AND order_type IN ('renewal_order', 'prolong_order')"


class Order(db.Model):
    """A request to buy, change, switch, renew or prolong one subscription (03 §2.1)."""

    __tablename__ = "orders"
    __table_args__ = (
        # 03 ORD-2: one open order per subscription, enforced by the database too.
        Index("uq_orders_one_open_per_subscription", "subscription_id", unique=True,
              sqlite_where=text(_OPEN_SQL), postgresql_where=text(_OPEN_SQL)),
        # The nightly run creates one renewal / prolong order per term that is not cancelled
        # (idempotent reruns, backed by the database).
        Index("uq_orders_one_per_term", "subscription_id", "order_type", "covers_from",
              unique=True, sqlite_where=text(_PER_TERM_SQL), postgresql_where=text(_PER_TERM_SQL)),
        Index("ix_orders_reseller_status", "reseller_id", "status"),
        Index("ix_orders_expires_on", "status", "expires_on"),
        CheckConstraint("total >= 0 OR order_type = 'switch_order'", name="order_total_sign"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    number: Mapped[str] = mapped_column(String(32), index=True)
    order_type: Mapped[OrderType] = mapped_column(StrEnumType(OrderType))
    status: Mapped[OrderStatus] = mapped_column(StrEnumType(OrderStatus, 32))
    currency: Mapped[str] = mapped_column(String(3))
    gross_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    discount_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # The plan and period the order buys (switch: the target plan), and the first day of the
    # term it pays for (renewal / prolong: the day after the current one ends).
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    plan_period_id: Mapped[int] = mapped_column(ForeignKey("plan_periods.id"))
    covers_from: Mapped[date | None] = mapped_column(Date)
    covers_to: Mapped[date | None] = mapped_column(Date)
    # What the order asks for: {"resources": {plan_resource_id: total quantity}, ...}.
    request: Mapped[dict | None] = mapped_column(JSON)
    individual_prices: Mapped[bool] = mapped_column(default=False)
    promo_code: Mapped[str] = mapped_column(String(64), default="")
    is_deferred: Mapped[bool] = mapped_column(default=False)
    provision_date: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"))
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    customer_ip: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_on: Mapped[date] = mapped_column(Date)  # the platform day it was placed (D6)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client = relationship("Client")
    subscription = relationship("Subscription")
    plan = relationship("Plan")
    plan_period = relationship("PlanPeriod")
    payment: Mapped[Payment | None] = relationship(foreign_keys=[payment_id])
    created_by_staff = relationship("StaffMember", foreign_keys=[created_by_staff_id])
    created_by_user = relationship("User", foreign_keys=[created_by_user_id])
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.position, OrderLine.id",
                                                  back_populates="order")

    @property
    def type_label(self):
        return ORDER_TYPE_LABELS[self.order_type]

    @property
    def status_label(self):
        return ORDER_STATUS_LABELS[self.status]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES


class OrderLine(db.Model):
    """A priced line of an order ("Детализация", 03 §2.1.2)."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    subscription_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscription_resources.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0)
    line_key: Mapped[str] = mapped_column(String(64))
    fee_kind: Mapped[str] = mapped_column(String(16))  # recurring | setup | renewal | transfer | refund
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    period: Mapped[Decimal] = mapped_column(PeriodMonths)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    gross: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Money)

    order: Mapped[Order] = relationship(back_populates="lines")


class PaymentKind(enum.StrEnum):
    """03 PAY-1."""

    POSTPAY_SERVICES = "postpay_services"
    ORDER_PAYMENT = "order_payment"
    BALANCE_TOPUP = "balance_topup"


PAYMENT_KIND_LABELS = {
    PaymentKind.POSTPAY_SERVICES: _l("Payment for provided services"),
    PaymentKind.ORDER_PAYMENT: _l("Order payment"),
    PaymentKind.BALANCE_TOPUP: _l("Balance top-up"),
}


class PaymentStatus(enum.StrEnum):
    WAITING_FOR_PAYMENT = "waiting_for_payment"
    OVERDUE = "overdue"
    INVOICE_PREPARING = "invoice_preparing"
    INVOICE_SENT = "invoice_sent"
    COMPLETED = "completed"
    PAID_FROM_BALANCE = "paid_from_balance"
    CANCELLED = "cancelled"


PAYMENT_STATUS_LABELS = {
    PaymentStatus.WAITING_FOR_PAYMENT: lazy_pgettext("payment status", "Waiting for payment"),
    PaymentStatus.OVERDUE: lazy_pgettext("payment status", "Overdue"),
    PaymentStatus.INVOICE_PREPARING: lazy_pgettext("payment status", "Invoice being prepared"),
    PaymentStatus.INVOICE_SENT: lazy_pgettext("payment status", "Invoice sent"),
    PaymentStatus.COMPLETED: lazy_pgettext("payment status", "Completed"),
    PaymentStatus.PAID_FROM_BALANCE: lazy_pgettext("payment status", "Paid from balance"),
    PaymentStatus.CANCELLED: lazy_pgettext("payment status", "Cancelled"),
}

FINAL_PAYMENT_STATUSES = (PaymentStatus.COMPLETED, PaymentStatus.PAID_FROM_BALANCE,
                          PaymentStatus.CANCELLED)


class Payment(db.Model):
    """A payment: an order's payment, a balance top-up, or a postpaid payment (03 §2.6)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("total >= 0", name="payment_total_not_negative"),
        Index("ix_payments_reseller_status", "reseller_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    number: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[PaymentKind] = mapped_column(StrEnumType(PaymentKind))
    status: Mapped[PaymentStatus] = mapped_column(StrEnumType(PaymentStatus, 32),
                                                  default=PaymentStatus.WAITING_FOR_PAYMENT)
    currency: Mapped[str] = mapped_column(String(3))
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money)
    # How it was completed: "balance", or the name of the method the money came through.
    payment_method: Mapped[str] = mapped_column(String(64), default="")
    balance_after: Mapped[Decimal | None] = mapped_column(Money)
    comment: Mapped[str] = mapped_column(Text, default="")
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"))
    payer_ip: Mapped[str] = mapped_column(String(64), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client = relationship("Client")
    manager = relationship("StaffMember")
    orders: Mapped[list[Order]] = relationship(foreign_keys="Order.payment_id", viewonly=True,
                                               order_by="Order.id")

    @property
    def kind_label(self):
        return PAYMENT_KIND_LABELS[self.kind]

    @property
    def status_label(self):
        return PAYMENT_STATUS_LABELS[self.status]


class TaskAction(enum.StrEnum):
    """What a provisioning task asks a connector to do (06 §3.3)."""

    INSTALL = "install"
    UPDATE = "update"
    RENEW = "renew"
    STOP = "stop"
    RESUME = "resume"
    REMOVE = "remove"


TASK_ACTION_LABELS = {
    TaskAction.INSTALL: _l("installation"),
    TaskAction.UPDATE: _l("update"),
    TaskAction.RENEW: _l("renewal"),
    TaskAction.STOP: _l("stop"),
    TaskAction.RESUME: _l("activation"),
    TaskAction.REMOVE: _l("removal"),
}


class TaskStatus(enum.StrEnum):
    """03 §2.2."""

    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TASK_STATUS_LABELS = {
    TaskStatus.QUEUED: lazy_pgettext("task status", "Queued"),
    TaskStatus.RUNNING: lazy_pgettext("task status", "Running"),
    TaskStatus.FAILED: lazy_pgettext("task status", "Failed"),
    TaskStatus.COMPLETED: lazy_pgettext("task status", "Completed"),
    TaskStatus.CANCELLED: lazy_pgettext("task status", "Cancelled"),
}


class Task(db.Model):
    """A provisioning call to a connector, retried with backoff (03 §2.2, §7.2)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    service_instance_id: Mapped[int | None] = mapped_column(ForeignKey("service_instances.id"))
    action: Mapped[TaskAction] = mapped_column(StrEnumType(TaskAction))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[TaskStatus] = mapped_column(StrEnumType(TaskStatus),
                                               default=TaskStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=4)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The connector's handle of a request it answers asynchronously.
    external_request_id: Mapped[str] = mapped_column(String(128), default="")
    payload: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    subscription = relationship("Subscription")
    order = relationship("Order")
    service_instance = relationship("ServiceInstance")
    log_entries: Mapped[list[TaskLogEntry]] = relationship(order_by="TaskLogEntry.id",
                                                           back_populates="task")

    @property
    def status_label(self):
        return TASK_STATUS_LABELS[self.status]


class TaskLogEntry(db.Model):
    """One line of a task's log ("Журнал задач", 03 §7.2)."""

    __tablename__ = "task_log_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    level: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(Text)

    task: Mapped[Task] = relationship(back_populates="log_entries")


class ManualOperationType(enum.StrEnum):
    """03 §2.3 operation types (the ones this product creates)."""

    SUBSCRIPTION_STOP = "subscription_stop"
    SUBSCRIPTION_DELETE = "subscription_delete"
    APPLICATION_INSTALL = "manual_provisioning_plugin_application_install"
    APPLICATION_START = "manual_provisioning_plugin_application_start"
    APPLICATION_STOP = "manual_provisioning_plugin_application_stop"
    APPLICATION_UPDATE = "manual_provisioning_plugin_application_update"
    APPLICATION_RENEW = "manual_provisioning_plugin_application_renew"
    APPLICATION_DELETE = "manual_provisioning_plugin_application_delete"


MANUAL_OPERATION_TYPE_LABELS = {
    ManualOperationType.SUBSCRIPTION_STOP: _l("Subscription stop"),
    ManualOperationType.SUBSCRIPTION_DELETE: _l("Subscription deletion"),
    ManualOperationType.APPLICATION_INSTALL: _l("Application installation"),
    ManualOperationType.APPLICATION_START: _l("Application start"),
    ManualOperationType.APPLICATION_STOP: _l("Application stop"),
    ManualOperationType.APPLICATION_UPDATE: _l("Application update"),
    ManualOperationType.APPLICATION_RENEW: _l("Application renewal"),
    ManualOperationType.APPLICATION_DELETE: _l("Application deletion"),
}


class ManualOperationStatus(enum.StrEnum):
    APPROVAL_REQUIRED = "approval_required"
    APPROVED = "approved"
    DECLINED = "declined"


MANUAL_OPERATION_STATUS_LABELS = {
    ManualOperationStatus.APPROVAL_REQUIRED:
        lazy_pgettext("manual operation status", "Approval required"),
    ManualOperationStatus.APPROVED: lazy_pgettext("manual operation status", "Approved"),
    ManualOperationStatus.DECLINED: lazy_pgettext("manual operation status", "Declined"),
}


class ManualOperation(db.Model):
    """An operation that waits for a staff member's approval (03 §2.3, §7.3)."""

    __tablename__ = "manual_operations"
    __table_args__ = (Index("ix_manual_operations_reseller_status", "reseller_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"),
                                                        index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    service_rule_id: Mapped[int | None] = mapped_column(ForeignKey("service_rules.id"))
    operation_type: Mapped[ManualOperationType] = mapped_column(
        StrEnumType(ManualOperationType, 64))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ManualOperationStatus] = mapped_column(
        StrEnumType(ManualOperationStatus), default=ManualOperationStatus.APPROVAL_REQUIRED)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client = relationship("Client")
    subscription = relationship("Subscription")
    task = relationship("Task")
    service_rule = relationship("ServiceRule")
    approved_by = relationship("StaffMember")

    @property
    def type_label(self):
        return MANUAL_OPERATION_TYPE_LABELS[self.operation_type]

    @property
    def status_label(self):
        return MANUAL_OPERATION_STATUS_LABELS[self.status]


class SimulatedVendorRecord(db.Model):
    """The simulated vendor's own book of what it provisioned (its "remote" database).

    Not a tenant table: it stands for the vendor's side, which knows only its request ids and
    the accounts it keeps; tests compare it with the platform's view.
    """

    __tablename__ = "simulated_vendor_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # accepted | done | failed
    payload: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    ready_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
