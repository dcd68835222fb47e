"""Clients: create, update, administrative block, delete (01 §3.1, §4.9–§4.15)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel import Locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import StaffMember, StaffStatus
from portal.clients import hooks
from portal.clients.funds import effective_block_threshold, effective_credit_limit
from portal.clients.models import (Client, ClientStatus, ClientType, ParameterTarget,
                                   PostpayPermission, ServiceRule, User)
from portal.clients.naming import render_client_name
from portal.clients.services.errors import ClientsError
from portal.clients.services.parameter_values import (clean_parameter_values,
                                                      store_parameter_values)
from portal.clients.services.users import (EMAIL_RE, attach_user, create_user, normalise_email,
                                           user_by_email)
from portal.core import audit
from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.events import emit

NAME_FIELDS = ("first_name", "middle_name", "last_name", "primary_name")
CONTACT_FIELDS = ("country", "region", "city", "street", "house", "premises", "postal_code",
                  "phone")
SIGNATORY_FIELDS = ("signatory_first_name", "signatory_last_name", "signatory_middle_name",
                    "signatory_email")
EDITABLE_FIELDS = (*NAME_FIELDS, *CONTACT_FIELDS, *SIGNATORY_FIELDS, "client_type_id",
                   "service_rule_id", "manager_id", "block_threshold", "credit_limit",
                   "technical_contact_id", "financial_contact_id", "terms_accepted")
LOGGED_FIELDS = ("name", "status", *EDITABLE_FIELDS)
LIMITS = {"primary_name": 255, "first_name": 128, "middle_name": 128, "last_name": 128,
          "region": 255, "city": 255, "street": 255, "house": 64, "premises": 64,
          "postal_code": 32, "phone": 64, "signatory_first_name": 128,
          "signatory_last_name": 128, "signatory_middle_name": 128, "signatory_email": 255}
# 01 R-CL-6, A-27: addresses in Crimea are refused; matched in the region and the city.
CRIMEA_WORDS = ("крым", "севастопол", "crimea", "krym", "sevastopol", "симферопол",
                "simferopol")
PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{5,32}$")
OPEN_STATUSES = (ClientStatus.ACTIVE, ClientStatus.FINANCIALLY_BLOCKED)


def country_names(locale: str = "en") -> dict[str, str]:
    """ISO 3166 two-letter codes and their names in the locale."""
    return {code: name for code, name in Locale.parse(locale).territories.items()
            if len(code) == 2 and code.isalpha()
            and code not in ("ZZ", "QO", "EU", "EZ", "UN", "XA", "XB")}


def _money_or_none(value, field: str) -> Decimal | None:
    """An override amount ≥ 0 with cents at most; None/"" means "use the rule's value"."""
    if value is None or value == "":
        return None
    if isinstance(value, float | bool):
        raise ClientsError(_l("Give the amount as a decimal string, for example \"100.00\"."),
                           field=field)
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ClientsError(_l("Enter an amount, for example 100.00."), field=field) from None
    if not amount.is_finite():
        raise ClientsError(_l("Enter an amount, for example 100.00."), field=field)
    if amount < 0:
        raise ClientsError(_l("The amount cannot be negative."), field=field)
    if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e12"):
        raise ClientsError(_l("Enter an amount with at most two decimal places."), field=field)
    return amount.quantize(Decimal("0.01"))


def _own(reseller, model, object_id, field: str, message):
    if object_id in (None, ""):
        raise ClientsError(message, field=field)
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        raise ClientsError(message, field=field) from None
    found = db.session.scalar(select(model).where(model.reseller_id == reseller.id,
                                                  model.id == object_id))
    if found is None:
        raise ClientsError(message, field=field)
    return found


def _manager(reseller, manager_id) -> int | None:
    if manager_id in (None, ""):
        return None
    member = _own(reseller, StaffMember, manager_id, "manager_id",
                  _l("Choose a staff member of this reseller as the manager."))
    if member.status != StaffStatus.ACTIVE:
        raise ClientsError(_l("The manager is deactivated."), field="manager_id")
    return member.id


def _clean_text(fields: dict) -> dict:
    cleaned = {}
    for name in (*NAME_FIELDS, *CONTACT_FIELDS, *SIGNATORY_FIELDS):
        if name not in fields:
            continue
        value = fields[name]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ClientsError(_l("Must be text."), field=name)
        value = value.strip()
        if name in LIMITS and len(value) > LIMITS[name]:
            raise ClientsError(_l("At most %(n)d characters.", n=LIMITS[name]), field=name)
        cleaned[name] = value
    if "country" in cleaned:
        code = cleaned["country"].upper()
        if code not in country_names():
            raise ClientsError(_l("Choose the country from the list."), field="country")
        cleaned["country"] = code
    if cleaned.get("phone") and not PHONE_RE.match(cleaned["phone"]):
        raise ClientsError(_l("A phone number has digits, spaces, brackets, dashes and may "
                              "start with +."), field="phone")
    if cleaned.get("signatory_email") and not EMAIL_RE.match(cleaned["signatory_email"]):
        raise ClientsError(_l("“%(email)s” is not a valid e-mail address.",
                              email=cleaned["signatory_email"]), field="signatory_email")
    for name in ("region", "city"):
        lowered = cleaned.get(name, "").lower()
        if any(word in lowered for word in CRIMEA_WORDS):
            raise ClientsError(_l("A client address in Crimea is not available."), field=name)
    return cleaned


def _check_names(client_type: ClientType, values: dict) -> str:
    """The names the type's template needs are given (08 R-CT-3); returns the display name."""
    if client_type.uses_primary_name and not values.get("primary_name"):
        label = client_type.primary_name_label or _l("Name")
        raise ClientsError(_l("Enter «%(label)s».", label=label), field="primary_name")
    if client_type.uses_person_name:
        if not values.get("first_name"):
            raise ClientsError(_l("Enter the first name."), field="first_name")
        if not values.get("last_name"):
            raise ClientsError(_l("Enter the last name."), field="last_name")
    name = render_client_name(client_type.name_template,
                              **{k: values.get(k, "") for k in NAME_FIELDS})
    if not name:
        raise ClientsError(_l("The client's name comes out empty: fill in the name fields."),
                           field="primary_name" if client_type.uses_primary_name
                           else "last_name")
    return name[:255]


def create_client(reseller, *, client_type_id, service_rule_id, owner: dict | None = None,
                  owner_user_id: int | None = None, manager_id=None, parameters=None,
                  block_threshold=None, credit_limit=None, terms_accepted: bool = True,
                  is_trial: bool = False, self_registered: bool = False, invitation_link=None,
                  actor=None, **fields) -> Client:
    """Create an active client with exactly one owner (01 R-CL-1..10).

    The owner is an existing user of the reseller (owner_user_id) or a new one
    (owner = {email, first_name, last_name, middle_name}); a new owner gets an e-mailed link
    to set the password when invitation_link(raw_token) -> URL is given.
    """
    unknown = set(fields) - set(NAME_FIELDS) - set(CONTACT_FIELDS) - set(SIGNATORY_FIELDS)
    if unknown:
        raise ClientsError(_l("Unknown field: %(name)s.", name=sorted(unknown)[0]),
                           field=sorted(unknown)[0])
    client_type = _own(reseller, ClientType, client_type_id, "client_type_id",
                       _l("Choose a client type of this reseller."))
    rule = _own(reseller, ServiceRule, service_rule_id, "service_rule_id",
                _l("Choose a service rule of this reseller."))
    values = _clean_text(fields)
    values.setdefault("country", (reseller.country_code or "RU").upper())
    name = _check_names(client_type, values)
    manager = _manager(reseller, manager_id)
    threshold = _money_or_none(block_threshold, "block_threshold")
    limit = _money_or_none(credit_limit, "credit_limit")
    cleaned_parameters = clean_parameter_values(reseller, ParameterTarget.CLIENT,
                                                parameters or {}, client_type=client_type,
                                                creating=True)
    owner_user, new_owner = _owner(reseller, owner, owner_user_id, actor=actor)
    now = clock.now()
    client = Client(reseller_id=reseller.id, client_type_id=client_type.id,
                    service_rule_id=rule.id, manager_id=manager, name=name,
                    status=ClientStatus.ACTIVE, postpay_permission=PostpayPermission.NOT_CHECKED,
                    block_threshold=threshold, credit_limit=limit,
                    terms_accepted=bool(terms_accepted), is_trial=bool(is_trial),
                    self_registered=bool(self_registered), balance=Decimal("0"),
                    created_at=now, updated_at=now, **values)
    db.session.add(client)
    db.session.flush()
    store_parameter_values(client, ParameterTarget.CLIENT, cleaned_parameters)
    attach_user(client, owner_user, access_level="owner", actor=actor, allow_owner=True)
    client.technical_contact_id = owner_user.id
    client.financial_contact_id = owner_user.id
    db.session.flush()
    audit.log(client, "clients.client.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(client, LOGGED_FIELDS)),
              data={"owner_user_id": owner_user.id})
    extra = None
    if new_owner and invitation_link is not None:
        from portal.clients.services.user_tokens import issue_invitation  # noqa: PLC0415

        # 09 §2.9.2: the "Клиент создан" mail carries the owner's one-time set-password link.
        _token, link = issue_invitation(owner_user, link_for=invitation_link)
        extra = {"account.owner_reset_password_url": link}
    emit("account_created", client=client, user=owner_user, extra=extra)
    emit("credit_hold_threshold_changed", client=client)  # 09 TRG-5: also on creation
    return client


def _owner(reseller, owner: dict | None, owner_user_id, *, actor) -> tuple[User, bool]:
    if owner_user_id not in (None, ""):
        user = _own(reseller, User, owner_user_id, "owner_user_id",
                    _l("Choose the owner among the users of this reseller."))
        return user, False
    owner = owner or {}
    if not owner.get("email"):
        raise ClientsError(_l("Enter the owner's e-mail or choose an existing user."),
                           field="owner_email")
    email = normalise_email(owner["email"], field="owner_email")
    if user_by_email(reseller, email) is not None:
        # 01 A-17: the person exists; staff pick them with "choose owner" instead.
        raise ClientsError(_l("A user with the e-mail %(email)s already exists: choose them as "
                              "the owner.", email=email), field="owner_email", status=409,
                           code="conflict")
    try:
        user = create_user(reseller, email=email, first_name=owner.get("first_name", ""),
                           last_name=owner.get("last_name", ""),
                           middle_name=owner.get("middle_name", ""), actor=actor)
    except ClientsError as error:
        if error.field in ("first_name", "last_name", "middle_name", "email"):
            error.field = f"owner_{error.field}"
        raise
    return user, True


def _contact(client: Client, user_id, field: str) -> int | None:
    if user_id in (None, ""):
        return None
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise ClientsError(_l("Choose one of the client's users."), field=field) from None
    if not any(m.user_id == user_id for m in client.memberships):
        raise ClientsError(_l("Choose one of the client's users."), field=field)
    return user_id


def update_client(client: Client, *, actor=None, parameters: dict | None = None,
                  **fields) -> Client:
    """Save the client page (01 R-CLV-2): type, names, manager, rule, overrides, contacts."""
    if client.status == ClientStatus.DELETED:
        raise ClientsError(_l("A deleted client cannot be changed."), status=409,
                           code="conflict")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ClientsError(_l("Unknown field: %(name)s.", name=sorted(unknown)[0]),
                           field=sorted(unknown)[0])
    reseller = client.reseller
    changes = _clean_text(fields)
    client_type = client.client_type
    if "client_type_id" in fields and fields["client_type_id"] != client.client_type_id:
        client_type = _own(reseller, ClientType, fields["client_type_id"], "client_type_id",
                           _l("Choose a client type of this reseller."))
        changes["client_type_id"] = client_type.id
    if "service_rule_id" in fields:
        changes["service_rule_id"] = _own(reseller, ServiceRule, fields["service_rule_id"],
                                          "service_rule_id",
                                          _l("Choose a service rule of this reseller.")).id
    if "manager_id" in fields:
        changes["manager_id"] = _manager(reseller, fields["manager_id"])
    for name in ("block_threshold", "credit_limit"):
        if name in fields:
            changes[name] = _money_or_none(fields[name], name)
    for name in ("technical_contact_id", "financial_contact_id"):
        if name in fields:
            changes[name] = _contact(client, fields[name], name) or (
                client.owner.id if client.owner else None)
    if "terms_accepted" in fields:
        changes["terms_accepted"] = bool(fields["terms_accepted"])
    names = {k: changes.get(k, getattr(client, k)) for k in NAME_FIELDS}
    name = _check_names(client_type, names)
    cleaned_parameters = None
    if parameters is not None or client_type.id != client.client_type_id:
        # a new type brings its own parameters; required ones must be filled now.
        cleaned_parameters = clean_parameter_values(
            reseller, ParameterTarget.CLIENT, parameters or {}, client_type=client_type,
            entity_id=client.id, creating=client_type.id != client.client_type_id)
    threshold_before = effective_block_threshold(client)
    limit_before = effective_credit_limit(client)
    manager_before = client.manager_id
    before = audit.snapshot(client, LOGGED_FIELDS)
    for key, value in changes.items():
        setattr(client, key, value)
    client.name = name
    client.updated_at = clock.now()
    db.session.flush()
    db.session.expire(client, ["client_type", "service_rule"])
    parameter_changes = store_parameter_values(client, ParameterTarget.CLIENT,
                                               cleaned_parameters)
    diff = {**audit.diff(before, audit.snapshot(client, LOGGED_FIELDS)), **parameter_changes}
    if diff:
        audit.log(client, "clients.client.updated", actor=actor, changes=diff)
    if client.manager_id is not None and client.manager_id != manager_before:
        emit("account_manager_changed", client=client)  # 09 TRG-6: changed or assigned
    if effective_block_threshold(client) != threshold_before:
        audit.log(client, "clients.client.block_threshold_changed", actor=actor,
                  changes={"block_threshold": [str(threshold_before),
                                               str(effective_block_threshold(client))]})
        emit("credit_hold_threshold_changed", client=client)  # 09 TRG-5
        for evaluate in hooks.FINANCIAL_BLOCK_EVALUATORS:
            evaluate(client, actor=actor)
    if effective_credit_limit(client) != limit_before:
        audit.log(client, "clients.client.credit_limit_changed", actor=actor,
                  changes={"credit_limit": [str(limit_before),
                                            str(effective_credit_limit(client))]})
    return client


def _set_status(client: Client, status: ClientStatus, *, actor, action: str) -> None:
    before = audit.snapshot(client, ("status",))
    client.status = status
    client.updated_at = clock.now()
    db.session.flush()
    audit.log(client, action, actor=actor,
              changes=audit.diff(before, audit.snapshot(client, ("status",))))


def block_client(client: Client, *, actor=None) -> Client:
    """Administrative block (01 C4): users lose access, every subscription is stopped (§3.2)."""
    if client.status not in OPEN_STATUSES:
        raise ClientsError(_l("Only an active or financially blocked client can be blocked."),
                           status=409, code="conflict")
    was = client.status
    _set_status(client, ClientStatus.ADMIN_BLOCKED, actor=actor,
                action="clients.client.admin_blocked")
    emit("account_changed", client=client, was={"account.status": was.value})  # 09 TRG-3
    for step in hooks.ADMIN_BLOCK_STEPS:
        step(client, blocked=True, actor=actor)
    return client


def unblock_client(client: Client, *, actor=None) -> Client:
    """Lift the administrative block (01 C5): subscriptions return to their saved status, then
    the financial block is evaluated at once."""
    if client.status != ClientStatus.ADMIN_BLOCKED:
        raise ClientsError(_l("The client is not administratively blocked."), status=409,
                           code="conflict")
    _set_status(client, ClientStatus.ACTIVE, actor=actor, action="clients.client.unblocked")
    emit("account_changed", client=client,
         was={"account.status": ClientStatus.ADMIN_BLOCKED.value})  # 09 TRG-3
    for step in hooks.ADMIN_BLOCK_STEPS:
        step(client, blocked=False, actor=actor)
    for evaluate in hooks.FINANCIAL_BLOCK_EVALUATORS:
        evaluate(client, actor=actor)
    return client


def delete_client(client: Client, *, actor=None) -> Client:
    """Delete (01 C6, R-CLD-1..4): only with no subscription left that is not deleted; the
    record and its history stay, its users lose access."""
    if client.status == ClientStatus.DELETED:
        raise ClientsError(_l("The client is already deleted."), status=409, code="conflict")
    live = hooks.live_subscription_count(client)
    if live:
        raise ClientsError(_l("The client has %(n)d subscription(s) that are not deleted; "
                              "delete them first.", n=live), status=409, code="conflict")
    client.deleted_at = clock.now()
    _set_status(client, ClientStatus.DELETED, actor=actor, action="clients.client.deleted")
    return client

