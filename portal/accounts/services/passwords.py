"""Password hashing (argon2) and the password policy (08 R-PWD-1)."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from portal.settings.models import PasswordComplexity

_hasher = PasswordHasher()

SPECIALS = set(string.punctuation)
MIN_LENGTH = 8

POLICY_HINTS = {
    PasswordComplexity.SIMPLE: _l("At least 8 characters, Latin letters and digits."),
    PasswordComplexity.GOOD: _l("At least 8 characters, Latin letters and digits, and either "
                                "upper- and lower-case letters or a special character."),
    PasswordComplexity.STRONG: _l("At least 8 characters, Latin letters and digits, upper- and "
                                  "lower-case letters and a special character."),
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, complexity: PasswordComplexity, *,
                      login: str = "", forbid_login: bool = True) -> list:
    """The policy rules the password breaks; empty when it is acceptable."""
    problems = []
    password = password or ""
    allowed = set(string.ascii_letters) | set(string.digits) | SPECIALS
    if any(ch not in allowed for ch in password):
        problems.append(_l("Only Latin letters, digits and special characters are allowed."))
    has_digit = any(ch.isdigit() for ch in password)
    has_letter = any(ch in string.ascii_letters for ch in password)
    has_upper = any(ch in string.ascii_uppercase for ch in password)
    has_lower = any(ch in string.ascii_lowercase for ch in password)
    has_special = any(ch in SPECIALS for ch in password)
    simple = len(password) >= MIN_LENGTH and has_digit and has_letter
    if complexity == PasswordComplexity.SIMPLE:
        ok = simple
    elif complexity == PasswordComplexity.GOOD:
        ok = simple and ((has_upper and has_lower) or has_special)
    else:
        ok = simple and has_upper and has_lower and has_special
    if not ok:
        problems.append(_l("The password does not meet the complexity requirements: %(hint)s",
                           hint=POLICY_HINTS[complexity]))
    if forbid_login and login:
        lowered = password.lower()
        local = login.split("@", 1)[0].lower()
        if login.lower() in lowered or (len(local) >= 3 and local in lowered):
            problems.append(_l("The password must not contain the login."))
    return problems


def generate_password(length: int = 14) -> str:
    """A password that satisfies the strongest policy."""
    alphabet = string.ascii_letters + string.digits + "!#$%*+-=?@_"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not password_problems(candidate, PasswordComplexity.STRONG):
            return candidate
