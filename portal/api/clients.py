"""API: clients with their money and status actions, their users, and the users of the client
panel (spec 01 §2.4–2.6, §3.1, §4.9–§4.17; API.md "clients").

The rules are the services' (`portal.clients.services`); this module only turns JSON into their
arguments, so that bad input is a 422 (or a 409 for a state conflict) and never a 500, and names
the refused field as the API calls it (`owner_email` → `email`, `parameters.inn` stays).
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from portal.api.base import endpoint, iso, json_body, paginate
from portal.api.catalog import amount, flag, invalid, mapping, money, object_id, optional_id
from portal.clients.funds import client_funds
from portal.clients.hooks import current_debt
from portal.clients.models import (AccessLevel, Client, ClientStatus, ClientType, ClientUser,
                                   ParameterTarget, ServiceRule, User, UserStatus)
from portal.clients.naming import render_client_name
from portal.clients.services.clients import (CONTACT_FIELDS, SIGNATORY_FIELDS, block_client,
                                             create_client, delete_client, unblock_client,
                                             update_client)
from portal.clients.services.errors import ClientsError
from portal.clients.services.parameter_values import parameters_for, values_by_key
from portal.clients.services.users import (attach_user, create_client_user, create_user,
                                           detach_user, membership_of, set_access_level,
                                           set_membership_status, set_user_password,
                                           set_user_status, update_user)
from portal.extensions import db
from portal.tenancy.scope import scoped_select, tenant_get_or_404

PERSON_FIELDS = ("first_name", "middle_name", "last_name")
NAME_LIMIT = 128  # users.first_name / last_name


# --- JSON checks --------------------------------------------------------------------------

def text_value(value, field: str, *, nullable: bool = True) -> str:
    """A JSON string (null is ""); NUL characters would make PostgreSQL fail (a 500)."""
    if value is None and nullable:
        return ""
    if not isinstance(value, str):
        raise invalid(field, _("Must be a string."))
    if "\x00" in value:
        raise invalid(field, _("Must not contain NUL characters."))
    return value


def amount_or_null(value, field: str):
    """An override amount as a string; null = back to the service rule's value."""
    return None if value is None else money(value, field)


def parameter_map(value, field: str = "parameters") -> dict:
    """{key: value} of additional parameters: strings, whole numbers, true/false or null."""
    mapping(value, field)
    values = {}
    for key, item in (value or {}).items():
        name = f"{field}.{key}"
        if "\x00" in key:
            raise invalid(field, _("Must not contain NUL characters."))
        if isinstance(item, float):
            raise invalid(name, _("Must be a string."))
        if item is not None and not isinstance(item, str | int | bool):
            raise invalid(name, _("Must be a string."))
        if isinstance(item, str):
            text_value(item, name)
        values[key] = item
    return values


def enum_value(value, field: str, enum_class):
    if not isinstance(value, str):
        raise invalid(field, _("Must be a string."))
    try:
        return enum_class(value)
    except ValueError:
        raise invalid(field, _("Unknown value; one of: %(values)s.",
                               values=", ".join(e.value for e in enum_class))) from None


def query_text(name: str) -> str | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if "\x00" in value:
        raise invalid(name, _("Must not contain NUL characters."))
    return value.strip()


def query_id(name: str) -> int | None:
    value = query_text(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, _("Must be a whole number.")) from None
    if not 0 < number <= 2**31 - 1:
        raise invalid(name, _("Must be a whole number."))
    return number


@contextmanager
def api_fields(names: dict):
    """Name a field a service refused as the request named it."""
    try:
        yield
    except ClientsError as error:
        if error.field in names:
            error.field = names[error.field]
        raise


def _nested(data: dict, key: str, subfields: dict, fields: dict, names: dict) -> None:
    """contacts {...} / signatory {...}: each part becomes the service's flat field."""
    if key not in data or data[key] is None:
        return
    mapping(data[key], key)
    unknown = sorted(set(data[key]) - set(subfields))
    if unknown:
        raise invalid(f"{key}.{unknown[0]}", _("Unknown field."))
    for part, service_name in subfields.items():
        if part in data[key]:
            fields[service_name] = text_value(data[key][part], f"{key}.{part}")
            names[service_name] = f"{key}.{part}"


CONTACT_PARTS = {name: name for name in CONTACT_FIELDS}
SIGNATORY_PARTS = {name.removeprefix("signatory_"): name for name in SIGNATORY_FIELDS}


# --- clients: lookups and serialization ----------------------------------------------------

def _client_type(data: dict, reseller) -> tuple[ClientType | None, str]:
    """The type named by client_type_id or by its key (client_type); own types before copies."""
    if data.get("client_type_id") is not None:
        type_id = object_id(data["client_type_id"], "client_type_id")
        found = db.session.scalar(select(ClientType).where(ClientType.reseller_id == reseller.id,
                                                           ClientType.id == type_id))
        if found is None:
            raise invalid("client_type_id", _("Choose a client type of this reseller."))
        return found, "client_type_id"
    if data.get("client_type") is not None:
        key = text_value(data["client_type"], "client_type").strip()
        found = db.session.scalars(
            select(ClientType).where(ClientType.reseller_id == reseller.id,
                                     ClientType.key == key)
            .order_by(ClientType.is_delegated, ClientType.id)).first()
        if found is None:
            raise invalid("client_type", _("Unknown client type: “%(key)s”.", key=key))
        return found, "client_type"
    return None, ""


def _service_rule_id(data: dict, reseller) -> tuple[int | None, str]:
    if data.get("service_rule_id") is not None:
        return object_id(data["service_rule_id"], "service_rule_id"), "service_rule_id"
    if data.get("service_rule") is not None:
        key = text_value(data["service_rule"], "service_rule").strip()
        rule_id = db.session.scalar(select(ServiceRule.id).where(
            ServiceRule.reseller_id == reseller.id, ServiceRule.key == key))
        if rule_id is None:
            raise invalid("service_rule", _("Unknown service rule: “%(key)s”.", key=key))
        return rule_id, "service_rule"
    return None, ""


def serialize_client(client: Client) -> dict:
    currency = client.reseller.currency
    funds = client_funds(client, currency=currency)
    owner = client.owner
    client_type = client.client_type
    parameters = values_by_key(client, ParameterTarget.CLIENT,
                               parameters_for(client.reseller, ParameterTarget.CLIENT,
                                              client_type=client_type))
    return {
        "id": client.id, "name": client.name, "client_type": client_type.key,
        "client_type_id": client.client_type_id, "service_rule_id": client.service_rule_id,
        "service_rule": client.service_rule.key,
        "payment_model": client.service_rule.payment_model.value,
        "status": client.status.value, "postpay_permission": client.postpay_permission.value,
        "manager_id": client.manager_id, "is_trial": client.is_trial,
        "self_registered": client.self_registered, "primary_name": client.primary_name,
        "first_name": client.first_name, "middle_name": client.middle_name,
        "last_name": client.last_name,
        "contacts": {name: getattr(client, name) for name in CONTACT_FIELDS},
        "signatory": {part: getattr(client, name) for part, name in SIGNATORY_PARTS.items()},
        "owner": ({"user_id": owner.id, "email": owner.email, "name": owner.full_name}
                  if owner is not None else None),
        "technical_contact_id": client.technical_contact_id,
        "financial_contact_id": client.financial_contact_id,
        "terms_accepted": client.terms_accepted,
        "ms_tenant_id": client.ms_tenant_id, "ms_tenant_name": client.ms_tenant_name,
        "currency": currency,
        "balance": amount(funds.balance, currency),
        "blocked_amount": amount(funds.blocked, currency),
        "available": amount(funds.available, currency),
        "credit_limit": amount(funds.credit_limit, currency),
        "credit_limit_from_rule": client.credit_limit is None,
        "block_threshold": amount(funds.block_threshold, currency),
        "block_threshold_from_rule": client.block_threshold is None,
        "current_debt": amount(current_debt(client), currency),
        "parameters": parameters,
        "created_at": iso(client.created_at), "updated_at": iso(client.updated_at),
        "deleted_at": iso(client.deleted_at),
    }


# --- clients: the body ---------------------------------------------------------------------

def _client_fields(data: dict, reseller, *, current: Client | None) -> tuple[dict, dict]:
    """The service's keyword arguments from a create or update body, and {service field: API
    field} for the fields the body named differently."""
    fields: dict = {}
    names: dict = {}
    for name in ("primary_name", *PERSON_FIELDS, *CONTACT_FIELDS, *SIGNATORY_FIELDS):
        if name in data:
            fields[name] = text_value(data[name], name)
    _nested(data, "contacts", CONTACT_PARTS, fields, names)
    _nested(data, "signatory", SIGNATORY_PARTS, fields, names)

    client_type, type_field = _client_type(data, reseller)
    if client_type is not None:
        fields["client_type_id"] = client_type.id
        names["client_type_id"] = type_field
    rule_id, rule_field = _service_rule_id(data, reseller)
    if rule_id is not None:
        fields["service_rule_id"] = rule_id
        names["service_rule_id"] = rule_field

    # "name" is the primary name of a type whose template uses it; a person's name comes in
    # parts (first_name, last_name, middle_name).
    effective_type = client_type or (current.client_type if current is not None else None)
    if data.get("name") is not None and effective_type is not None:
        name = text_value(data["name"], "name")
        if effective_type.uses_primary_name:
            if "primary_name" not in fields:
                fields["primary_name"] = name
                names["primary_name"] = "name"
        elif "first_name" not in fields and (current is None or name != current.name):
            raise invalid("first_name", _("A client of this type is named by first_name, "
                                          "last_name and middle_name."))

    if "primary_name" not in data:
        names.setdefault("primary_name", "name")
    if "manager_id" in data:
        fields["manager_id"] = optional_id(data["manager_id"], "manager_id")
    for name in ("block_threshold", "credit_limit"):
        if name in data:
            fields[name] = amount_or_null(data[name], name)
        # <name>_from_rule: true takes the rule's value whatever the amount says, so that a
        # client read back (which shows the effective amount) and sent again stays on the rule.
        if f"{name}_from_rule" in data and flag(data[f"{name}_from_rule"], f"{name}_from_rule"):
            fields[name] = None
    if "terms_accepted" in data:
        fields["terms_accepted"] = flag(data["terms_accepted"], "terms_accepted")
    if data.get("parameters") is not None:
        fields["parameters"] = parameter_map(data["parameters"])
    return fields, names


def _owner_defaults(fields: dict, client_type: ClientType | None) -> dict:
    """The new owner's names when the body gives none: the client's own person name, else the
    signatory's, else the client's name split in two."""
    candidates = [{part: fields.get(part, "") for part in PERSON_FIELDS},
                  {part: fields.get(f"signatory_{part}", "") for part in PERSON_FIELDS}]
    if client_type is not None:
        display = render_client_name(client_type.name_template,
                                     **{k: fields.get(k, "") or "" for k in
                                        ("primary_name", *PERSON_FIELDS)})
        words = display.split()
        if words:
            candidates.append({"first_name": words[0],
                               "last_name": " ".join(words[1:]) or words[0],
                               "middle_name": ""})
    for names in candidates:
        if (names["first_name"] or "").strip() and (names["last_name"] or "").strip():
            return {part: (names[part] or "").strip()[:NAME_LIMIT] for part in PERSON_FIELDS}
    return {}


def _owner_arguments(data: dict, fields: dict, client_type) -> tuple[dict, dict]:
    """owner_user_id of an existing user, or owner = {email, names} of a new one."""
    names = {"owner_email": "email", "owner_first_name": "owner.first_name",
             "owner_last_name": "owner.last_name", "owner_middle_name": "owner.middle_name"}
    if data.get("owner_user_id") is not None:
        if data.get("email") not in (None, ""):
            raise invalid("email", _("Give either the new owner's email or owner_user_id."))
        return {"owner_user_id": object_id(data["owner_user_id"], "owner_user_id")}, names
    email = text_value(data.get("email"), "email")
    owner = mapping(data.get("owner"), "owner") or {}
    unknown = sorted(set(owner) - {*PERSON_FIELDS, "email"})
    if unknown:
        raise invalid(f"owner.{unknown[0]}", _("Unknown field."))
    given = {part: text_value(owner[part], f"owner.{part}") for part in PERSON_FIELDS
             if part in owner}
    if not email and owner.get("email") is not None:
        email = text_value(owner["email"], "owner.email")
        names["owner_email"] = "owner.email"
    defaults = _owner_defaults(fields, client_type)
    person = {part: given.get(part) or defaults.get(part, "") for part in PERSON_FIELDS}
    return {"owner": {"email": email, **person}}, names


CLIENT_SCHEMA = {"type": "object", "properties": {
    "client_type": {"type": "string", "description": "The key of one of your client types."},
    "client_type_id": {"type": "integer"},
    "service_rule_id": {"type": "integer"},
    "service_rule": {"type": "string", "description": "The key of one of your service rules."},
    "name": {"type": "string", "description": "The primary name (company name) of a type "
                                              "whose template uses %primary_name."},
    "primary_name": {"type": "string"}, "first_name": {"type": "string"},
    "middle_name": {"type": "string"}, "last_name": {"type": "string"},
    "email": {"type": "string", "description": "Create only: the new owner's e-mail."},
    "owner": {"type": "object", "description": "Create only: the new owner's first_name, "
                                               "last_name, middle_name."},
    "owner_user_id": {"type": "integer", "description": "Create only: an existing user."},
    "contacts": {"type": "object", "properties": {n: {"type": "string"}
                                                  for n in CONTACT_FIELDS}},
    "signatory": {"type": "object", "properties": {n: {"type": "string"}
                                                   for n in SIGNATORY_PARTS}},
    "manager_id": {"type": "integer", "nullable": True},
    "block_threshold": {"type": "string", "nullable": True,
                        "description": "Null: the rule's value."},
    "credit_limit": {"type": "string", "nullable": True,
                     "description": "Null: the rule's value."},
    "block_threshold_from_rule": {"type": "boolean",
                                  "description": "True: the rule's value (the amount is "
                                                 "ignored)."},
    "credit_limit_from_rule": {"type": "boolean",
                               "description": "True: the rule's value (the amount is ignored)."},
    "technical_contact_id": {"type": "integer", "nullable": True},
    "financial_contact_id": {"type": "integer", "nullable": True},
    "terms_accepted": {"type": "boolean"},
    "parameters": {"type": "object", "description": "Additional parameters {key: value}."}}}


def _invitation_link():
    """The new owner's set-password link, once the client panel has that page."""
    if "client_panel.set_password" not in current_app.view_functions:
        return None
    from portal.client_panel.links import client_panel_url  # noqa: PLC0415

    reseller = g.acting_reseller
    return lambda raw: client_panel_url(reseller, "client_panel.set_password", token=raw)


# --- clients: endpoints --------------------------------------------------------------------

@endpoint("/clients", methods=("POST",), permission="clients.manage",
          summary="Create a client with its owner (a new user by email, or owner_user_id)",
          body=CLIENT_SCHEMA, status=201)
def create_client_api():
    reseller = g.acting_reseller
    data = json_body()
    fields, names = _client_fields(data, reseller, current=None)
    if "client_type_id" not in fields:
        raise invalid("client_type", _("Choose the client type (client_type or "
                                       "client_type_id)."))
    if "service_rule_id" not in fields:
        raise invalid("service_rule_id", _("Choose the service rule (service_rule_id or "
                                           "service_rule)."))
    client_type = db.session.scalar(select(ClientType).where(
        ClientType.reseller_id == reseller.id, ClientType.id == fields["client_type_id"]))
    owner, owner_names = _owner_arguments(data, fields, client_type)
    with api_fields({**names, **owner_names}):
        client = create_client(reseller, actor=g.principal, invitation_link=_invitation_link(),
                               **owner, **fields)
    db.session.commit()
    return jsonify(serialize_client(client)), 201


CLIENT_SORT = {"id": Client.id, "name": Client.name, "created_at": Client.created_at}


@endpoint("/clients", permission="clients.view",
          summary="List clients (filters: status (comma list; deleted only when asked), "
                  "client_type, client_type_id, service_rule_id, manager_id, q, email)")
def list_clients_api():
    reseller = g.acting_reseller
    query = scoped_select(Client)
    statuses = query_text("status")
    if statuses:
        wanted = [enum_value(s.strip(), "status", ClientStatus)
                  for s in statuses.split(",") if s.strip()]
        query = query.where(Client.status.in_(wanted))
    else:
        query = query.where(Client.status != ClientStatus.DELETED)  # 01 R-CLL-3
    type_key = query_text("client_type")
    if type_key is not None:
        query = query.where(Client.client_type_id.in_(select(ClientType.id).where(
            ClientType.reseller_id == reseller.id, ClientType.key == type_key)))
    for name, column in (("client_type_id", Client.client_type_id),
                         ("service_rule_id", Client.service_rule_id),
                         ("manager_id", Client.manager_id)):
        value = query_id(name)
        if value is not None:
            query = query.where(column == value)
    needle = query_text("q")
    if needle:
        query = query.where(func.lower(Client.name).contains(needle.lower(), autoescape=True))
    email = query_text("email")
    if email:
        query = query.where(Client.id.in_(
            select(ClientUser.client_id).join(User, User.id == ClientUser.user_id)
            .where(ClientUser.reseller_id == reseller.id,
                   ClientUser.access_level == AccessLevel.OWNER,
                   User.email == email.lower())))
    return paginate(query, serialize_client, sort_fields=CLIENT_SORT)


@endpoint("/clients/<int:client_id>", permission="clients.view",
          summary="Get a client with its balance, blocked amount, available money and limits")
def get_client_api(client_id):
    return jsonify(serialize_client(tenant_get_or_404(Client, client_id)))


@endpoint("/clients/<int:client_id>", methods=("PATCH", "PUT"), permission="clients.manage",
          summary="Update a client (block_threshold/credit_limit null: back to the rule's)",
          body=CLIENT_SCHEMA)
def update_client_api(client_id):
    client = tenant_get_or_404(Client, client_id)
    data = json_body()
    if data.get("status") not in (None, client.status.value):
        raise invalid("status", _("The status changes through /block, /unblock and DELETE."))
    fields, names = _client_fields(data, g.acting_reseller, current=client)
    for name in ("technical_contact_id", "financial_contact_id"):
        if name in data:
            fields[name] = optional_id(data[name], name)
    with api_fields(names):
        update_client(client, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_client(client))


@endpoint("/clients/<int:client_id>/block", methods=("POST",), permission="clients.manage",
          summary="Block a client administratively (01 C4); 409 unless active or "
                  "financially blocked")
def block_client_api(client_id):
    client = tenant_get_or_404(Client, client_id)
    block_client(client, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_client(client))


@endpoint("/clients/<int:client_id>/unblock", methods=("POST",), permission="clients.manage",
          summary="Lift the administrative block (01 C5); 409 unless administratively blocked")
def unblock_client_api(client_id):
    client = tenant_get_or_404(Client, client_id)
    unblock_client(client, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_client(client))


@endpoint("/clients/<int:client_id>", methods=("DELETE",), permission="clients.manage",
          summary="Delete a client (kept with status deleted); 409 while it has subscriptions")
def delete_client_api(client_id):
    client = tenant_get_or_404(Client, client_id)
    delete_client(client, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_client(client))


# --- a client's users ----------------------------------------------------------------------

def serialize_membership(membership: ClientUser) -> dict:
    user = membership.user
    return {"client_id": membership.client_id, "user_id": user.id, "email": user.email,
            "first_name": user.first_name, "middle_name": user.middle_name,
            "last_name": user.last_name, "name": user.full_name,
            "access_level": membership.access_level.value, "status": membership.status.value,
            "global_status": user.status.value, "created_at": iso(membership.created_at)}


MEMBERSHIP_SCHEMA = {"type": "object", "required": ["access_level"], "properties": {
    "access_level": {"type": "string", "enum": [a.value for a in AccessLevel]},
    "user_id": {"type": "integer", "description": "Attach an existing user (admin or user)."},
    "email": {"type": "string", "description": "Or create a new user: email, names, password."},
    "first_name": {"type": "string"}, "last_name": {"type": "string"},
    "middle_name": {"type": "string"}, "password": {"type": "string"},
    "status": {"type": "string", "enum": [s.value for s in UserStatus],
               "description": "PATCH: the user's status in this client."}}}


@endpoint("/clients/<int:client_id>/users", permission="client_users.view",
          summary="List a client's users with their access levels")
def list_client_users_api(client_id):
    client = tenant_get_or_404(Client, client_id)
    query = select(ClientUser).where(ClientUser.reseller_id == client.reseller_id,
                                     ClientUser.client_id == client.id)
    return paginate(query, serialize_membership,
                    sort_fields={"id": ClientUser.id, "user_id": ClientUser.user_id})


@endpoint("/clients/<int:client_id>/users", methods=("POST",),
          permission="client_users.manage",
          summary="Attach an existing user (user_id) or create one (email, names) for a client; "
                  "access_level owner makes the former owner an admin", body=MEMBERSHIP_SCHEMA,
          status=201)
def add_client_user_api(client_id):
    client = tenant_get_or_404(Client, client_id)
    data = json_body()
    if data.get("access_level") is None:
        raise invalid("access_level", _("This field is required."))
    level = enum_value(data["access_level"], "access_level", AccessLevel)
    if data.get("user_id") is not None:
        user_id = object_id(data["user_id"], "user_id")
        user = db.session.scalar(scoped_select(User).where(User.id == user_id))
        if user is None:
            raise invalid("user_id", _("Choose a user of this reseller."))
        membership = attach_user(client, user, access_level=level, actor=g.principal)
    else:
        values = {name: text_value(data.get(name), name)
                  for name in ("email", *PERSON_FIELDS)}
        password = data.get("password")
        if password is not None:
            password = text_value(password, "password")
        membership = create_client_user(client, access_level=level, password=password or None,
                                        actor=g.principal, **values)
    db.session.commit()
    return jsonify(serialize_membership(membership)), 201


@endpoint("/clients/<int:client_id>/users/<int:user_id>", methods=("PATCH", "PUT"),
          permission="client_users.manage",
          summary="Change a user's access level or status in a client", body=MEMBERSHIP_SCHEMA)
def update_client_user_api(client_id, user_id):
    client = tenant_get_or_404(Client, client_id)
    membership = membership_of(client, user_id)
    data = json_body()
    level = status = None
    if data.get("access_level") is not None:
        level = enum_value(data["access_level"], "access_level", AccessLevel)
    if data.get("status") is not None:
        status = enum_value(data["status"], "status", UserStatus)
    if level is not None:
        set_access_level(membership, level, actor=g.principal)
    if status is not None:
        set_membership_status(membership, status, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_membership(membership))


@endpoint("/clients/<int:client_id>/users/<int:user_id>", methods=("DELETE",),
          permission="client_users.manage",
          summary="Detach a user from a client (never the owner); the user record stays")
def detach_client_user_api(client_id, user_id):
    client = tenant_get_or_404(Client, client_id)
    detach_user(membership_of(client, user_id), actor=g.principal)
    db.session.commit()
    return jsonify({"client_id": client.id, "user_id": user_id, "detached": True})


# --- users of the client panel ------------------------------------------------------------

def serialize_user(user: User) -> dict:
    reseller = g.acting_reseller
    parameters = values_by_key(user, ParameterTarget.USER,
                               parameters_for(reseller, ParameterTarget.USER))
    return {"id": user.id, "email": user.email, "first_name": user.first_name,
            "middle_name": user.middle_name, "last_name": user.last_name,
            "name": user.full_name, "status": user.status.value,
            "privacy_accepted": user.privacy_accepted, "created_via": user.created_via,
            "language": user.language, "has_password": bool(user.password_hash),
            "clients": [{"client_id": m.client_id, "name": m.client.name,
                         "client_status": m.client.status.value,
                         "access_level": m.access_level.value, "status": m.status.value}
                        for m in user.memberships],
            "parameters": parameters, "created_at": iso(user.created_at),
            "last_sign_in_at": iso(user.last_sign_in_at)}


USER_SCHEMA = {"type": "object", "properties": {
    "email": {"type": "string", "description": "The login; fixed after creation."},
    "first_name": {"type": "string"}, "last_name": {"type": "string"},
    "middle_name": {"type": "string"},
    "password": {"type": "string", "description": "Create: required. Update: a staff reset."},
    "status": {"type": "string", "enum": [s.value for s in UserStatus],
               "description": "Update: global (de)activation."},
    "privacy_accepted": {"type": "boolean"}, "language": {"type": "string", "nullable": True},
    "parameters": {"type": "object", "description": "Additional parameters {key: value}."}}}


def _user_fields(data: dict) -> dict:
    fields = {}
    for name in ("email", *PERSON_FIELDS):
        if name in data:
            fields[name] = text_value(data[name], name)
    if "privacy_accepted" in data:
        fields["privacy_accepted"] = flag(data["privacy_accepted"], "privacy_accepted")
    if data.get("parameters") is not None:
        fields["parameters"] = parameter_map(data["parameters"])
    return fields


@endpoint("/users", permission="client_users.view",
          summary="List the users of the client panel (filters: email, q, status)")
def list_users_api():
    query = scoped_select(User)
    email = query_text("email")
    if email:
        query = query.where(User.email == email.lower())
    needle = query_text("q")
    if needle:
        needle = needle.lower()
        query = query.where(or_(*[func.lower(column).contains(needle, autoescape=True)
                                  for column in (User.email, User.first_name, User.last_name,
                                                 User.middle_name)]))
    status = query_text("status")
    if status:
        query = query.where(User.status == enum_value(status, "status", UserStatus))
    return paginate(query, serialize_user, sort_fields={
        "id": User.id, "email": User.email, "last_name": User.last_name,
        "created_at": User.created_at})


@endpoint("/users", methods=("POST",), permission="client_users.manage",
          summary="Create a user of the client panel (link it to a client afterwards)",
          body=USER_SCHEMA, status=201)
def create_user_api():
    data = json_body()
    fields = _user_fields(data)
    if data.get("password") in (None, ""):
        raise invalid("password", _("This field is required."))
    password = text_value(data["password"], "password")
    user = create_user(g.acting_reseller, actor=g.principal, password=password,
                       **{"email": "", "first_name": "", "last_name": "", **fields})
    db.session.commit()
    return jsonify(serialize_user(user)), 201


@endpoint("/users/<int:user_id>", permission="client_users.view", summary="Get a user")
def get_user_api(user_id):
    return jsonify(serialize_user(tenant_get_or_404(User, user_id)))


@endpoint("/users/<int:user_id>", methods=("PATCH", "PUT"), permission="client_users.manage",
          summary="Update a user's names; status = global (de)activation; password = reset",
          body=USER_SCHEMA)
def update_user_api(user_id):
    user = tenant_get_or_404(User, user_id)
    data = json_body()
    fields = _user_fields(data)
    if "language" in data:
        fields["language"] = text_value(data["language"], "language") or None
    status = None
    if data.get("status") is not None:
        status = enum_value(data["status"], "status", UserStatus)
    password = None
    if data.get("password") is not None:
        password = text_value(data["password"], "password")
    update_user(user, actor=g.principal, **fields)
    if status is not None:
        set_user_status(user, status, actor=g.principal)
    if password is not None:
        set_user_password(user, password, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_user(user))
