"""Billing tables: charges, the balance ledger (transactions), the nightly run's chunks and dated
exchange rates (04a §2.1, 04b §2.8, §2.10)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_pgettext
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import StrEnumType, UTCDateTime, now_utc
from portal.core.money import Money, PeriodMonths, Rate
from portal.extensions import db
from portal.tenancy.services.resellers import OWNED_TABLES

__all__ = ["BillingChunk", "Charge", "ExchangeRate", "Transaction"]


class ExchangeRate(db.Model):
    """One dated row of a rates page: `units` of quote_currency cost `rate` of base_currency.

    A row applies from valid_from until the reseller's next row for the pair (D10). The root
    reseller's rows apply at every level; a lower reseller's row overrides them for itself only
    (04b CUR-7, CUR-10), and a row with inherit=True returns it to the root's rates from that
    date (CUR-11): such a marker has no units and no rate of its own.
    """

    __tablename__ = "exchange_rates"
    __table_args__ = (
        # Setting a pair twice on one day replaces the row (the services look it up first).
        UniqueConstraint("reseller_id", "base_currency", "quote_currency", "valid_from",
                         name="uq_exchange_rates_reseller_pair_day"),
        CheckConstraint("base_currency <> quote_currency", name="two_currencies"),
        CheckConstraint("units >= 1", name="units_positive"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("(inherit AND units IS NULL AND rate IS NULL) OR "
                        "(NOT inherit AND units IS NOT NULL AND rate IS NOT NULL)",
                        name="own_rate_or_inherit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"))
    base_currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    units: Mapped[int | None]
    rate: Mapped[Decimal | None] = mapped_column(Rate)
    valid_from: Mapped[date] = mapped_column(Date)
    inherit: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL"))

    created_by = relationship("StaffMember", foreign_keys=[created_by_id])

    def __str__(self) -> str:
        return f"{self.quote_currency}/{self.base_currency} {self.valid_from.isoformat()}"


# A reseller's own rates are its settings: they go with it when it is deleted (07 BR-59).
OWNED_TABLES.add(ExchangeRate.__tablename__)


Quantity = db.Numeric(14, 2)


class ChargeStatus(enum.StrEnum):
    """04a §3.1: the seven statuses."""

    NEW = "new"
    OPEN = "open"
    BLOCKED = "blocked"
    CLOSED = "closed"
    DELETED = "deleted"
    PENDING_REFUND = "pending_refund"
    REFUNDED = "refunded"


CHARGE_STATUS_LABELS = {
    ChargeStatus.NEW: lazy_pgettext("charge status", "new"),
    ChargeStatus.OPEN: lazy_pgettext("charge status", "open"),
    ChargeStatus.BLOCKED: lazy_pgettext("charge status", "blocked"),
    ChargeStatus.CLOSED: lazy_pgettext("charge status", "closed"),
    ChargeStatus.DELETED: lazy_pgettext("charge status", "deleted"),
    ChargeStatus.PENDING_REFUND: lazy_pgettext("charge status", "pending refund"),
    ChargeStatus.REFUNDED: lazy_pgettext("charge status", "refunded"),
}

FINAL_CHARGE_STATUSES = (ChargeStatus.CLOSED, ChargeStatus.DELETED, ChargeStatus.REFUNDED)


class ChargeType(enum.StrEnum):
    SETUP_FEE = "setup_fee"
    RENEWAL_FEE = "renewal_fee"
    TRANSFER_FEE = "transfer_fee"
    RECURRING_FEE = "recurring_fee"
    USAGE = "usage"


class RelatedOperation(enum.StrEnum):
    """04a §2.1: the operation a charge belongs to; with the type it names the charge."""

    SERVICE_PURCHASE = "service_purchase"
    RESOURCE_INCREASE = "resource_increase"
    SUBSCRIPTION_RENEWAL = "subscription_renewal"
    RESOURCE_RENEWAL = "resource_renewal"
    SERVICE_SWITCH = "service_switch"
    RESOURCE_SWITCH = "resource_switch"
    DOMAIN_TRANSFER = "domain_transfer"


class Charge(db.Model):
    """A charge (Списание): holds, debits or returns money for a part of a subscription (04a §2.1).

    `operate_to` is the last paid day, inclusive (D1). A closed charge, and a refunded charge
    whose money had been debited, carries the one transaction that moved the balance (D5).
    """

    __tablename__ = "charges"
    __table_args__ = (
        Index("ix_charges_client_status", "client_id", "status"),
        # The nightly run reads due charges by client range (chunks).
        Index("ix_charges_status_client_close_date", "status", "client_id", "close_date"),
        Index("ix_charges_subscription", "subscription_id", "status"),
        Index("ix_charges_reseller_created", "reseller_id", "id"),
        CheckConstraint("amount >= 0 AND gross >= 0 AND discount >= 0", name="charge_amounts"),
        CheckConstraint("operate_to >= operate_from", name="charge_period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    subscription_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscription_resources.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    source_charge_id: Mapped[int | None] = mapped_column(ForeignKey("charges.id"))
    # The order line (or split source) a charge prices: "service", "resource:<plan_resource_id>".
    line_key: Mapped[str] = mapped_column(String(64))
    charge_type: Mapped[ChargeType] = mapped_column(StrEnumType(ChargeType))
    related_operation: Mapped[RelatedOperation | None] = mapped_column(
        StrEnumType(RelatedOperation))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ChargeStatus] = mapped_column(StrEnumType(ChargeStatus),
                                                 default=ChargeStatus.NEW)
    operate_from: Mapped[date] = mapped_column(Date)
    operate_to: Mapped[date] = mapped_column(Date)  # inclusive (D1)
    period: Mapped[Decimal] = mapped_column(PeriodMonths)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    gross: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    close_date: Mapped[date] = mapped_column(Date)  # expected until final, then actual
    billed_at: Mapped[date | None] = mapped_column(Date)

    client = relationship("Client")
    subscription = relationship("Subscription")
    subscription_resource = relationship("SubscriptionResource")
    order = relationship("Order")
    transaction = relationship("Transaction", primaryjoin="Transaction.charge_id == Charge.id",
                               uselist=False, viewonly=True)

    @property
    def status_label(self):
        return CHARGE_STATUS_LABELS[self.status]


class TransactionKind(enum.StrEnum):
    PAYMENT = "payment"          # money received (a completed payment)
    CHARGE = "charge"            # a closed charge debited
    REFUND = "refund"            # debited money credited back (D5)
    ADJUSTMENT = "adjustment"


class Transaction(db.Model):
    """One movement of a client's balance, append-only, with the balance after it (04b §2.8).

    A charge or a payment moves the balance at most once: unique charge_id / payment_id.
    """

    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("charge_id", name="uq_transactions_charge"),
        UniqueConstraint("payment_id", name="uq_transactions_payment"),
        Index("ix_transactions_client", "client_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"),
                                             index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[TransactionKind] = mapped_column(StrEnumType(TransactionKind))
    change: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text)
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("charges.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    client = relationship("Client")
    charge = relationship("Charge", foreign_keys=[charge_id])
    payment = relationship("Payment")


class BillingChunk(db.Model):
    """One slice of clients of one nightly run day; workers claim slices (DECISIONS D6).

    A chunk's work and its `done_at` commit together, so an interrupted run resumes with the
    chunks not yet done and ends with the same ledger as an uninterrupted one.
    """

    __tablename__ = "billing_chunks"
    __table_args__ = (UniqueConstraint("run_on", "chunk_index", name="uq_billing_chunks_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_on: Mapped[date] = mapped_column(Date)
    chunk_index: Mapped[int]
    client_id_from: Mapped[int]
    client_id_to: Mapped[int]
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(Text, default="")
