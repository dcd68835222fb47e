from portal.core.errors import ConflictError, DomainError


class CatalogError(DomainError):
    code = "catalog_error"


class DelegationConflict(ConflictError):
    """A provisioning-rule key clash blocks a delegation (07 BR-34)."""

    code = "delegation_conflict"

    def __init__(self, message, *, clashes: list[dict]):
        super().__init__(message)
        self.clashes = clashes
