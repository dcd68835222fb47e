from portal.core.errors import DomainError


class ClientsError(DomainError):
    code = "clients_error"
