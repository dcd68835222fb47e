from portal.core.errors import DomainError


class BillingError(DomainError):
    code = "billing_error"
