"""Staff accounts: sign-in, passwords, tokens."""

from portal.accounts.services.api_tokens import (
    create_api_token, member_for_api_token, regenerate_api_token, revoke_api_token)
from portal.accounts.services.errors import AccountsError, SignInError
from portal.accounts.services.password_reset import (
    complete_password_reset, find_reset_token, request_password_reset)
from portal.accounts.services.sign_in import (
    authenticate, end_session, start_session)
from portal.accounts.services.staff import (
    create_staff_member, set_staff_password, set_staff_status, update_staff_member)

__all__ = [
    "AccountsError", "SignInError", "authenticate", "complete_password_reset",
    "create_api_token", "create_staff_member", "end_session", "find_reset_token",
    "member_for_api_token", "regenerate_api_token", "request_password_reset",
    "revoke_api_token", "set_staff_password", "set_staff_status", "start_session",
    "update_staff_member",
]
