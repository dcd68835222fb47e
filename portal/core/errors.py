"""Domain errors: expected refusals with a message in the user's language."""


class DomainError(Exception):
    """An expected refusal; str(error) is the (lazily translated) message."""

    code = "domain_error"
    status = 422

    def __init__(self, message, *, field: str | None = None, code: str | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)


class ConflictError(DomainError):
    code = "conflict"
    status = 409


class BusyError(DomainError):
    code = "busy"
    status = 409
