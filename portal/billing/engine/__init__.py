"""The pure billing engine: periods, proration, rounding, schedules and splits (STYLE §2).

No database, no Flask, no clock: every date is an argument.
"""

from portal.billing.engine.periods import (
    financial_period,
    next_financial_day,
    split_by_financial_days,
    term_end,
    term_start,
)
from portal.billing.engine.proration import gross_amount, part_period, span_period
from portal.billing.engine.rounding import Reference, apply_correction, reference
from portal.billing.engine.schedule import (
    ChargePlan,
    LineInput,
    LinePlan,
    order_totals,
    plan_term,
)
from portal.billing.engine.splits import (
    ChargeView,
    NewCharge,
    SplitResult,
    split_on_decrease,
    split_on_delete,
)

__all__ = [
    "ChargePlan", "ChargeView", "LineInput", "LinePlan", "NewCharge", "Reference",
    "SplitResult", "apply_correction", "financial_period", "gross_amount",
    "next_financial_day", "order_totals", "part_period", "plan_term", "reference",
    "span_period", "split_by_financial_days", "split_on_decrease", "split_on_delete",
    "term_end", "term_start",
]
