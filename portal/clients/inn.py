"""The Russian taxpayer number (ИНН): 10 digits for organisations, 12 for individuals and sole
proprietors, each with its check digits."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.clients.models import LegalForm

_W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_W11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_W12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_is_valid(value: str) -> bool:
    """Whether the check digits of a 10- or 12-digit INN are right."""
    if not value.isdigit() or len(value) not in (10, 12):
        return False
    digits = [int(ch) for ch in value]
    if len(digits) == 10:
        return _check_digit(digits, _W10) == digits[9]
    return (_check_digit(digits, _W11) == digits[10]
            and _check_digit(digits, _W12) == digits[11])


def inn_problem(value: str, legal_form: LegalForm | str | None):
    """Why the INN is refused for this kind of client, or None when it is right."""
    value = (value or "").strip()
    expected = 10 if legal_form == LegalForm.ORGANIZATION else 12
    if not value.isdigit():
        return _l("The INN consists of digits only.")
    if legal_form is not None and len(value) != expected:
        if expected == 10:
            return _l("The INN of an organisation has 10 digits.")
        return _l("The INN of an individual or a sole proprietor has 12 digits.")
    if not inn_is_valid(value):
        return _l("The INN check digits are wrong: check the number.")
    return None
