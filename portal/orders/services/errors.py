from portal.core.errors import DomainError


class OrderError(DomainError):
    code = "order_error"
