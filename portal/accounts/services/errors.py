from portal.core.errors import DomainError


class AccountsError(DomainError):
    code = "accounts_error"


class SignInError(AccountsError):
    code = "sign_in_refused"
    status = 401
