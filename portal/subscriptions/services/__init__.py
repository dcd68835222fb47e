"""Subscription use cases (spec 02). Services flush; the edges commit."""

from portal.core.errors import DomainError


class SubscriptionError(DomainError):
    code = "subscription_error"
