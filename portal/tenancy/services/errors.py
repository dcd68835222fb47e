from portal.core.errors import DomainError


class TenancyError(DomainError):
    code = "tenancy_error"
