"""Service rules: the payment model and financial-block conditions of a group of clients
(08 §2.2, §3.2, R-SR-1..18).

Money fields are Decimal ≥ 0 with at most two decimals, given as Decimal, string or whole
number; a float is refused (DECISIONS D4). Integers are the day counts of the manual.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.clients.models import (RULE_COLORS, Client, ClientStatus, PaymentModel, ServiceRule,
                                   StopMethod)
from portal.clients.services.defaults import make_only_default
from portal.clients.services.errors import ClientsError
from portal.core import audit
from portal.extensions import db
from portal.notifications.events import emit
from portal.tenancy.models import Reseller, SettingsMode

KEY_RE = re.compile(r"^[a-z0-9_]+$")
INT_MAX = 2**31 - 1
MONEY_MAX = Decimal("999999999999.99")  # Numeric(14, 2)
MONEY_FIELDS = ("block_threshold", "credit_limit", "promised_payment_limit")
# field -> smallest allowed value (R-SR-9, R-SR-10, R-SR-17)
DAY_FIELDS = {"negative_balance_days": -1, "cancel_unpaid_order_after_days": 1,
              "payment_grace_days": 0, "promised_payment_days": 0}
RULE_FIELDS = ("name", "key", "color", "is_default", "payment_model", "stop_method",
               "delete_method", "block_threshold", "allow_negative_balance_payment",
               "negative_balance_days", "cancel_unpaid_order_after_days", "credit_limit",
               "payment_grace_days", "promised_payment_limit", "promised_payment_days")
COPIED_FIELDS = tuple(name for name in RULE_FIELDS if name != "is_default")

MONEY_MESSAGES = {
    "block_threshold": _l("The financial block threshold is an amount of 0 or more, with at "
                          "most two decimals."),
    "credit_limit": _l("The credit limit is an amount of 0 or more, with at most two "
                       "decimals."),
    "promised_payment_limit": _l("The promised payment limit is an amount of 0 or more, with "
                                 "at most two decimals."),
}
DAY_MESSAGES = {
    "negative_balance_days": _l("The negative balance period is a whole number of days, −1 "
                                "(unlimited) or more."),
    "cancel_unpaid_order_after_days": _l("Unpaid orders are cancelled after a whole number of "
                                         "days, 1 or more."),
    "payment_grace_days": _l("The payment grace period is a whole number of days, 0 or more."),
    "promised_payment_days": _l("The promised payment period is a whole number of days, 0 or "
                                "more."),
}


def parse_money(value, field: str) -> Decimal:
    """A non-negative amount with at most two decimals, or a ClientsError naming field."""
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise ClientsError(MONEY_MESSAGES[field], field=field)
    try:
        amount = Decimal(value.strip().replace(",", ".")) if isinstance(value, str) \
            else Decimal(value)
    except InvalidOperation:
        raise ClientsError(MONEY_MESSAGES[field], field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MONEY_MAX \
            or amount != amount.quantize(Decimal("0.01")):
        raise ClientsError(MONEY_MESSAGES[field], field=field)
    return amount.quantize(Decimal("0.01"))


def _validate(fields: dict) -> None:
    """08 R-SR-17: name and key required, amounts ≥ 0, day counts within their ranges."""
    for name in ("name", "key"):
        if name in fields:
            value = fields[name] if fields[name] is not None else ""
            if not isinstance(value, str):
                raise ClientsError(_l("Must be text."), field=name)
            fields[name] = value.strip()
    if "name" in fields:
        if not fields["name"]:
            raise ClientsError(_l("Enter the rule's name."), field="name")
        if len(fields["name"]) > 255:
            raise ClientsError(_l("At most %(n)d characters.", n=255), field="name")
    if "key" in fields:
        if not fields["key"]:
            raise ClientsError(_l("Enter the key."), field="key")
        if len(fields["key"]) > 64 or not KEY_RE.match(fields["key"]):
            raise ClientsError(_l("The key may contain only lowercase Latin letters, digits and "
                                  "underscores (at most 64)."), field="key")
    if "color" in fields and fields["color"] not in RULE_COLORS:
        raise ClientsError(_l("Choose one of the colours."), field="color")
    for name, enum_class, message in (
            ("payment_model", PaymentModel, _l("The payment model is prepay or postpay.")),
            ("stop_method", StopMethod, _l("Choose automatic or manual.")),
            ("delete_method", StopMethod, _l("Choose automatic or manual."))):
        if name in fields:
            try:
                fields[name] = enum_class(fields[name])
            except ValueError:
                raise ClientsError(message, field=name) from None
    for name in ("is_default", "allow_negative_balance_payment"):
        if name in fields and not isinstance(fields[name], bool):
            raise ClientsError(_l("Must be true or false."), field=name)
    for name in MONEY_FIELDS:
        if name in fields:
            fields[name] = parse_money(fields[name], name)
    for name, minimum in DAY_FIELDS.items():
        if name in fields:
            value = fields[name]
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    minimum <= value <= INT_MAX):
                raise ClientsError(DAY_MESSAGES[name], field=name)


def _check_key(reseller_id: int, key: str, current: ServiceRule | None) -> None:
    query = select(ServiceRule.id).where(ServiceRule.reseller_id == reseller_id,
                                         ServiceRule.key == key)
    if current is not None:
        query = query.where(ServiceRule.id != current.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ClientsError(_l("A service rule with this key already exists."), field="key")


def _rules_of(reseller_id: int) -> list[ServiceRule]:
    return db.session.scalars(select(ServiceRule).where(ServiceRule.reseller_id == reseller_id)
                              .order_by(ServiceRule.id)).all()


def _make_default(rule: ServiceRule) -> None:
    """R-SR-2 / 08 §3.2: at most one default; the new one clears the former."""
    if rule.id is None:
        db.session.flush()
    make_only_default(rule)


def default_service_rule(reseller: Reseller) -> ServiceRule | None:
    """The rule given to clients who register themselves (R-SR-2); None when there is none."""
    return db.session.scalar(select(ServiceRule).where(
        ServiceRule.reseller_id == reseller.id, ServiceRule.is_default.is_(True))
        .order_by(ServiceRule.id).limit(1))


def create_service_rule(reseller: Reseller, *, actor=None, **fields) -> ServiceRule:
    """Create a service rule (08 S-5) with the manual's defaults for what is not given."""
    fields = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    fields.setdefault("name", "")
    fields.setdefault("key", "")
    for name in MONEY_FIELDS:
        fields.setdefault(name, Decimal("0.00"))
    _validate(fields)
    _check_key(reseller.id, fields["key"], None)
    is_default = fields.pop("is_default", False)
    rule = ServiceRule(reseller_id=reseller.id, is_default=False, **fields)
    db.session.add(rule)
    db.session.flush()
    if is_default:
        _make_default(rule)
        db.session.flush()
    audit.log(rule, "clients.service_rule.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(rule, RULE_FIELDS)))
    return rule


def update_service_rule(rule: ServiceRule, *, actor=None, **fields) -> ServiceRule:
    """Change a rule; unticking "default" leaves the reseller without a default (08 A-7)."""
    fields = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    _validate(fields)
    if "key" in fields:
        _check_key(rule.reseller_id, fields["key"], rule)
    before = audit.snapshot(rule, RULE_FIELDS)
    is_default = fields.pop("is_default", None)
    for name, value in fields.items():
        setattr(rule, name, value)
    if is_default is True:
        _make_default(rule)
    elif is_default is False:
        rule.is_default = False
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS))
    if changes:
        audit.log(rule, "clients.service_rule.updated", actor=actor, changes=changes)
    if "block_threshold" in changes:
        # 09 TRG-5: every client whose threshold is the rule's has a new one.
        for client in db.session.scalars(select(Client).where(
                Client.reseller_id == rule.reseller_id, Client.service_rule_id == rule.id,
                Client.block_threshold.is_(None), Client.status != ClientStatus.DELETED)):
            emit("credit_hold_threshold_changed", client=client)
    return rule


def delete_service_rule(rule: ServiceRule, *, actor=None) -> None:
    """R-SR-16: only a rule no client was ever created on (any status counts)."""
    used = db.session.scalar(select(func.count(Client.id)).where(
        Client.reseller_id == rule.reseller_id, Client.service_rule_id == rule.id))
    if used:
        raise ClientsError(_l("The service rule cannot be deleted: there are clients served "
                              "under it."), code="in_use", status=409)
    audit.log(rule, "clients.service_rule.deleted", actor=actor, label=rule.name)
    db.session.delete(rule)
    db.session.flush()


def copy_service_rules_to_new_reseller(parent: Reseller, child: Reseller, mode) -> None:
    """R-SR-18: "copy the provider's settings" copies the parent's rules, independent and never
    the default (R-SR-2); "standard settings" installs the one standard rule instead."""
    if SettingsMode(mode) == SettingsMode.COPY_STANDARD:
        from portal.clients.services.setup import install_standard_service_rule  # noqa: PLC0415

        install_standard_service_rule(child)
        return
    for rule in _rules_of(parent.id):
        db.session.add(ServiceRule(reseller_id=child.id, is_default=False,
                                   **{name: getattr(rule, name) for name in COPIED_FIELDS}))
    db.session.flush()


def _register() -> None:
    from portal.tenancy.services.resellers import INHERITANCE_STEPS  # noqa: PLC0415

    if copy_service_rules_to_new_reseller not in INHERITANCE_STEPS:
        INHERITANCE_STEPS.append(copy_service_rules_to_new_reseller)


_register()
