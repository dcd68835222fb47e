"""Billing use cases."""

from portal.billing.services.errors import BillingError
from portal.billing.services.exchange_rates import (
    EffectiveRate, RateSource, apply_rate, convert_amount, effective_rate, inherit_exchange_rate,
    list_effective_rates, parse_rate, parse_units, set_exchange_rate)

__all__ = [
    "BillingError", "EffectiveRate", "RateSource", "apply_rate", "convert_amount",
    "effective_rate", "inherit_exchange_rate", "list_effective_rates", "parse_rate",
    "parse_units", "set_exchange_rate",
]
