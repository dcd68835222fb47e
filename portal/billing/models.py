"""Billing tables. So far: dated exchange rates (04b §2.10, §4.14; DECISIONS D10)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models import UTCDateTime, now_utc
from portal.core.money import Rate
from portal.extensions import db
from portal.tenancy.services.resellers import OWNED_TABLES

__all__ = ["ExchangeRate"]


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
