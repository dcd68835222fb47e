"""Additional parameters and their groups (08 §2.15–2.16, R-AP-1..17).

A parameter of a client type follows the type down the reseller tree: every delegated copy of
the type (08 CT1/CT2) carries a copy of the parameter (`source_id` = the parameter above it),
read-only at that reseller; creating, editing or deleting the parameter does the same to its
copies. Validating the values clients enter is `parameter_values.py`'s business.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from portal.clients.models import (AdditionalParameter, AdditionalParameterGroup,
                                   AdditionalParameterValue, ClientType, ParameterTarget,
                                   ParameterType)
from portal.clients.services.errors import ClientsError
from portal.core import audit
from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.tenancy.models import Reseller, SettingsMode

INT_MAX = 2**31 - 1
DEFAULT_GROUP_NAME = "Default"

# What a copy takes from the parameter above it (not its group: that is the reseller's own).
SYNCED_FIELDS = ("name", "key", "options", "first_option_is_default", "format",
                 "default_value", "optional", "readonly_for_client", "readonly_for_operator",
                 "public", "unique", "weight", "description")
PARAMETER_FIELDS = ("name", "key", "data_type", "applies_to", "client_type_id", "group_id",
                    *SYNCED_FIELDS[2:])
AUDITED_FIELDS = ("name", "key", "data_type", "applies_to", "client_type_id", "group_id",
                  *SYNCED_FIELDS[2:])
FLAGS = ("first_option_is_default", "optional", "readonly_for_client", "readonly_for_operator",
         "public", "unique")
# Fixed at creation: the stored values depend on them (08 S-19 interp.).
FIXED_FIELDS = ("data_type", "applies_to", "client_type_id")


# -- groups (R-AP-15) ---------------------------------------------------------------------

def ensure_default_group(reseller: Reseller) -> AdditionalParameterGroup:
    """The reseller's seeded "Default" group (08 A-19), made on first use."""
    group = db.session.scalar(select(AdditionalParameterGroup).where(
        AdditionalParameterGroup.reseller_id == reseller.id,
        AdditionalParameterGroup.is_default.is_(True)).order_by(AdditionalParameterGroup.id))
    if group is None:
        group = AdditionalParameterGroup(reseller_id=reseller.id, name=DEFAULT_GROUP_NAME,
                                         is_default=True)
        db.session.add(group)
        db.session.flush()
    return group


def _group_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not name:
        raise ClientsError(_l("Enter the group's name."), field="name")
    if len(name) > 255:
        raise ClientsError(_l("At most %(n)d characters.", n=255), field="name")
    return name


def create_parameter_group(reseller: Reseller, *, name, actor=None) -> AdditionalParameterGroup:
    """Create a group of additional parameters (08 S-20)."""
    ensure_default_group(reseller)
    group = AdditionalParameterGroup(reseller_id=reseller.id, name=_group_name(name),
                                     is_default=False)
    db.session.add(group)
    db.session.flush()
    audit.log(group, "clients.parameter_group.created", actor=actor,
              changes=audit.diff({}, {"name": group.name}))
    return group


def rename_parameter_group(group: AdditionalParameterGroup, *, name,
                           actor=None) -> AdditionalParameterGroup:
    """Give a group another name (the default group too: only its deletion is refused)."""
    before = {"name": group.name}
    group.name = _group_name(name)
    db.session.flush()
    changes = audit.diff(before, {"name": group.name})
    if changes:
        audit.log(group, "clients.parameter_group.updated", actor=actor, changes=changes)
    return group


def delete_parameter_group(group: AdditionalParameterGroup, *, actor=None) -> None:
    """R-AP-15: the group's parameters move to the default group, which cannot be deleted."""
    if group.is_default:
        raise ClientsError(_l("The default group cannot be deleted."), code="default_group")
    default = ensure_default_group(db.session.get(Reseller, group.reseller_id))
    db.session.execute(update(AdditionalParameter).where(
        AdditionalParameter.reseller_id == group.reseller_id,
        AdditionalParameter.group_id == group.id).values(group_id=default.id))
    audit.log(group, "clients.parameter_group.deleted", actor=actor, label=group.name)
    db.session.delete(group)
    db.session.flush()
    db.session.expire_all()


# -- validation -----------------------------------------------------------------------------

def _text(fields: dict, name: str, limit: int, *, required_message=None) -> None:
    if name not in fields:
        return
    value = fields[name]
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ClientsError(_l("Must be text."), field=name)
    value = value.strip() if name in ("name", "key") else value
    if required_message is not None and not value:
        raise ClientsError(required_message, field=name)
    if len(value) > limit:
        raise ClientsError(_l("At most %(n)d characters.", n=limit), field=name)
    fields[name] = value


def _enum(fields: dict, name: str, enum_class, message) -> None:
    if name not in fields:
        return
    try:
        fields[name] = enum_class(fields[name])
    except ValueError:
        raise ClientsError(message, field=name) from None


def _normalise_options(options) -> list[dict]:
    """08 R-AP-4: an ordered list of {"name", "key"}; keys unique within the parameter."""
    if options is None:
        options = []
    if not isinstance(options, list | tuple):
        raise ClientsError(_l("The options are a list of names and keys."), field="options")
    result, seen = [], set()
    for option in options:
        if isinstance(option, list | tuple) and len(option) == 2:
            option = {"name": option[0], "key": option[1]}
        if not isinstance(option, dict):
            raise ClientsError(_l("Each option has a name and a key."), field="options")
        name, key = option.get("name"), option.get("key")
        if not isinstance(name, str) or not isinstance(key, str):
            raise ClientsError(_l("Each option has a name and a key."), field="options")
        name, key = name.strip(), key.strip()
        if not name or not key:
            raise ClientsError(_l("Each option has a name and a key."), field="options")
        if len(name) > 255 or len(key) > 255:
            raise ClientsError(_l("An option's name and key are at most 255 characters."),
                               field="options")
        if key in seen:
            raise ClientsError(_l("The option key “%(key)s” is used twice.", key=key),
                               field="options")
        seen.add(key)
        result.append({"name": name, "key": key})
    return result


def _check_default_value(merged: dict) -> None:
    value = merged["default_value"]
    if not value:
        return
    data_type = merged["data_type"]
    if data_type == ParameterType.LIST:
        if value not in {o["key"] for o in merged["options"] or []}:
            raise ClientsError(_l("The default value of a list is the key of one of its "
                                  "options."), field="default_value")
        return
    if data_type == ParameterType.BOOLEAN and value not in ("true", "false"):
        raise ClientsError(_l("The default value of a boolean is “true” or “false”."),
                           field="default_value")
    if data_type == ParameterType.DATE:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ClientsError(_l("The default value of a date is written YYYY-MM-DD."),
                               field="default_value") from None
    if data_type in (ParameterType.STRING, ParameterType.PASSWORD, ParameterType.INN) and (
            "\n" in value or "\r" in value):
        raise ClientsError(_l("A one-line value cannot contain line breaks."),
                           field="default_value")
    if merged["format"] and re.fullmatch(merged["format"], value) is None:
        raise ClientsError(_l("The default value does not match the format."),
                           field="default_value")


def _validate(reseller_id: int, fields: dict, current: AdditionalParameter | None) -> dict:
    """The field rules of 08 §2.15 on fields; returns the parameter's values after the change."""
    _text(fields, "name", 255, required_message=_l("Enter the parameter's name."))
    _text(fields, "key", 64, required_message=_l("Enter the key."))
    _text(fields, "format", 500)
    _text(fields, "default_value", 500)
    _text(fields, "description", 10000)
    _enum(fields, "data_type", ParameterType, _l("Choose the data type."))
    _enum(fields, "applies_to", ParameterTarget, _l("Choose what the parameter applies to."))
    for name in FLAGS:
        if name in fields and not isinstance(fields[name], bool):
            raise ClientsError(_l("Must be true or false."), field=name)
    if "weight" in fields:
        weight = fields["weight"]
        if weight is None:
            weight = fields["weight"] = 0
        if isinstance(weight, bool) or not isinstance(weight, int) or abs(weight) > INT_MAX:
            raise ClientsError(_l("The weight is a whole number."), field="weight")

    merged = {name: fields.get(name, getattr(current, name) if current is not None else None)
              for name in PARAMETER_FIELDS}
    if current is None:
        for name, default in (("format", ""), ("default_value", ""), ("description", ""),
                              ("weight", 0)):
            if merged[name] is None:
                merged[name] = default
        for name in FLAGS:
            merged[name] = bool(merged[name])
    for name, message in (("name", _l("Enter the parameter's name.")),
                          ("key", _l("Enter the key.")),
                          ("data_type", _l("Choose the data type.")),
                          ("applies_to", _l("Choose what the parameter applies to."))):
        if merged[name] in (None, ""):
            raise ClientsError(message, field=name)

    # R-AP-2: a client parameter belongs to one client type of this reseller.
    if merged["applies_to"] == ParameterTarget.CLIENT:
        type_id = merged["client_type_id"]
        if type_id in (None, ""):
            raise ClientsError(_l("Choose the client type."), field="client_type_id")
        if isinstance(type_id, bool) or not isinstance(type_id, int) or db.session.scalar(
                select(ClientType.id).where(ClientType.reseller_id == reseller_id,
                                            ClientType.id == type_id)) is None:
            raise ClientsError(_l("Choose one of your client types."), field="client_type_id")
    else:
        merged["client_type_id"] = None
        if current is None or "client_type_id" in fields:
            fields["client_type_id"] = None

    if merged["data_type"] == ParameterType.LIST:
        merged["options"] = _normalise_options(merged["options"])
        if not merged["options"]:
            raise ClientsError(_l("Add at least one option to the list."), field="options")
        if merged["format"]:
            raise ClientsError(_l("A list has no format."), field="format")
        # R-AP-5: a default option only for an optional parameter.
        if merged["first_option_is_default"] and not merged["optional"]:
            raise ClientsError(_l("Only an optional parameter may take its first option as "
                                  "the default."), field="first_option_is_default")
    else:
        merged["options"] = None
        merged["first_option_is_default"] = False
        if merged["format"]:
            try:
                re.compile(merged["format"])
            except re.error:
                raise ClientsError(_l("The format is not a valid regular expression."),
                                   field="format") from None
    _check_default_value(merged)

    if merged["group_id"] is not None and (
            isinstance(merged["group_id"], bool) or not isinstance(merged["group_id"], int)
            or db.session.scalar(select(AdditionalParameterGroup.id).where(
                AdditionalParameterGroup.reseller_id == reseller_id,
                AdditionalParameterGroup.id == merged["group_id"])) is None):
        raise ClientsError(_l("Choose one of your parameter groups."), field="group_id")

    # 08 §2.15 interp.: the key is unique per (reseller, applies_to, client type).
    query = select(AdditionalParameter.id).where(
        AdditionalParameter.reseller_id == reseller_id,
        AdditionalParameter.applies_to == merged["applies_to"],
        AdditionalParameter.key == merged["key"])
    if merged["client_type_id"] is None:
        query = query.where(AdditionalParameter.client_type_id.is_(None))
    else:
        query = query.where(AdditionalParameter.client_type_id == merged["client_type_id"])
    if current is not None:
        query = query.where(AdditionalParameter.id != current.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ClientsError(_l("A parameter with the key “%(key)s” already exists here.",
                              key=merged["key"]), field="key")
    return merged


# -- copies along the client types' delegation tree ---------------------------------------

def _type_copies(client_type_id: int) -> list[ClientType]:
    """Every delegated copy of the type, at any depth, nearest levels first."""
    found, level = [], [client_type_id]
    with across_tenants():
        while level:
            rows = db.session.scalars(select(ClientType).where(
                ClientType.source_id.in_(level), ClientType.is_delegated.is_(True))
                .order_by(ClientType.id)).all()
            found.extend(rows)
            level = [row.id for row in rows]
    return found


def parameter_copies(parameter: AdditionalParameter) -> list[AdditionalParameter]:
    """Every copy of the parameter at the resellers below, nearest levels first."""
    found, level = [], [parameter.id]
    with across_tenants():
        while level:
            rows = db.session.scalars(select(AdditionalParameter).where(
                AdditionalParameter.source_id.in_(level)).order_by(AdditionalParameter.id)).all()
            found.extend(rows)
            level = [row.id for row in rows]
    return found


def _group_for_copy(reseller_id: int, source: AdditionalParameter) -> int:
    """The copy's group: the reseller's group of the same name, else its default group."""
    if source.group is not None and not source.group.is_default:
        same = db.session.scalar(select(AdditionalParameterGroup.id).where(
            AdditionalParameterGroup.reseller_id == reseller_id,
            AdditionalParameterGroup.name == source.group.name)
            .order_by(AdditionalParameterGroup.id).limit(1))
        if same is not None:
            return same
    return ensure_default_group(db.session.get(Reseller, reseller_id)).id


def _copy_parameter(source: AdditionalParameter, copy_type: ClientType) -> AdditionalParameter:
    copy = AdditionalParameter(
        reseller_id=copy_type.reseller_id, source_id=source.id, applies_to=source.applies_to,
        client_type_id=copy_type.id, data_type=source.data_type,
        group_id=_group_for_copy(copy_type.reseller_id, source),
        **{name: getattr(source, name) for name in SYNCED_FIELDS})
    db.session.add(copy)
    db.session.flush()
    return copy


def copy_type_parameters(source_type: ClientType, copy_type: ClientType) -> int:
    """Give a new copy of a client type a copy of each of the source type's parameters."""
    parameters = db.session.scalars(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == source_type.reseller_id,
        AdditionalParameter.client_type_id == source_type.id)
        .order_by(AdditionalParameter.id)).all()
    for parameter in parameters:
        _copy_parameter(parameter, copy_type)
    return len(parameters)


def _propagate_new(parameter: AdditionalParameter) -> int:
    if parameter.client_type_id is None:
        return 0
    by_type = {parameter.client_type_id: parameter}
    for copy_type in _type_copies(parameter.client_type_id):
        source = by_type.get(copy_type.source_id)
        if source is not None:
            by_type[copy_type.id] = _copy_parameter(source, copy_type)
    return len(by_type) - 1


# -- parameters -----------------------------------------------------------------------------

def create_parameter(reseller: Reseller, *, actor=None, **fields) -> AdditionalParameter:
    """Create an additional parameter (08 S-18); one of a client type reaches its copies."""
    fields = {k: v for k, v in fields.items() if k in PARAMETER_FIELDS}
    merged = _validate(reseller.id, fields, None)
    if merged["group_id"] is None:
        merged["group_id"] = ensure_default_group(reseller).id
    parameter = AdditionalParameter(reseller_id=reseller.id, **merged)
    db.session.add(parameter)
    db.session.flush()
    copies = _propagate_new(parameter)
    audit.log(parameter, "clients.parameter.created", actor=actor,
              changes=audit.diff({}, audit.snapshot(parameter, AUDITED_FIELDS)),
              data={"copies": copies} if copies else None)
    return parameter


def update_parameter(parameter: AdditionalParameter, *, actor=None,
                     **fields) -> AdditionalParameter:
    """Edit a parameter and its copies below; a copy is read-only where it arrived."""
    fields = {k: v for k, v in fields.items() if k in PARAMETER_FIELDS}
    if parameter.is_delegated:
        changed = sorted(k for k, v in fields.items() if v != getattr(parameter, k))
        if changed:
            raise ClientsError(_l("The parameter belongs to a client type delegated by your "
                                  "provider and is read-only."), field=changed[0])
        return parameter
    for name in FIXED_FIELDS:
        if name in fields and fields[name] not in (None, "") and str(fields[name]) != str(
                getattr(parameter, name)):
            raise ClientsError(_l("This field cannot be changed after the parameter is "
                                  "created."), field=name)
        fields.pop(name, None)
    merged = _validate(parameter.reseller_id, fields, parameter)
    if merged["group_id"] is None:
        merged["group_id"] = ensure_default_group(
            db.session.get(Reseller, parameter.reseller_id)).id
    before = audit.snapshot(parameter, AUDITED_FIELDS)
    for name in (*SYNCED_FIELDS, "group_id"):
        setattr(parameter, name, merged[name])
    for copy in parameter_copies(parameter):
        for name in SYNCED_FIELDS:
            setattr(copy, name, merged[name])
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(parameter, AUDITED_FIELDS))
    if changes:
        audit.log(parameter, "clients.parameter.updated", actor=actor, changes=changes)
    return parameter


def _delete_rows(ids: list[int]) -> None:
    if not ids:
        return
    with across_tenants():
        db.session.execute(delete(AdditionalParameterValue).where(
            AdditionalParameterValue.parameter_id.in_(ids)))
        for parameter_id in reversed(ids):  # deepest copies first
            db.session.execute(delete(AdditionalParameter).where(
                AdditionalParameter.id == parameter_id))


def delete_parameter(parameter: AdditionalParameter, *, actor=None) -> None:
    """R-AP-14: delete the parameter with every stored value, and its copies below."""
    if parameter.is_delegated:
        raise ClientsError(_l("The parameter belongs to a client type delegated by your "
                              "provider; only the provider can delete it."))
    ids = [parameter.id, *[copy.id for copy in parameter_copies(parameter)]]
    audit.log(parameter, "clients.parameter.deleted", actor=actor, label=parameter.name)
    _delete_rows(ids)
    db.session.expire_all()


def delete_type_parameters(client_type: ClientType) -> None:
    """Remove the parameters of a client type that is being deleted, with their values."""
    ids = list(db.session.scalars(select(AdditionalParameter.id).where(
        AdditionalParameter.reseller_id == client_type.reseller_id,
        AdditionalParameter.client_type_id == client_type.id)))
    if not ids:
        return
    # Copies below that survive (a detached type copy) become their reseller's own.
    with across_tenants():
        db.session.execute(update(AdditionalParameter).where(
            AdditionalParameter.source_id.in_(ids)).values(source_id=None))
    _delete_rows(ids)


def detach_type_parameters(client_type: ClientType) -> None:
    """A client type copy that became its reseller's own (08 CT5) owns its parameters too."""
    db.session.execute(update(AdditionalParameter).where(
        AdditionalParameter.reseller_id == client_type.reseller_id,
        AdditionalParameter.client_type_id == client_type.id).values(source_id=None))


def list_parameters(reseller: Reseller, *, applies_to=None, client_type_id=None):
    """The reseller's parameters in display order (R-AP-13: weight, then ID)."""
    query = select(AdditionalParameter).where(AdditionalParameter.reseller_id == reseller.id)
    if applies_to is not None:
        query = query.where(AdditionalParameter.applies_to == ParameterTarget(applies_to))
    if client_type_id is not None:
        query = query.where(AdditionalParameter.client_type_id == client_type_id)
    return db.session.scalars(query.order_by(AdditionalParameter.weight,
                                             AdditionalParameter.id)).all()


# -- a new reseller (R-AP-17) ---------------------------------------------------------------

def copy_parameters_to_new_reseller(parent: Reseller, child: Reseller, mode) -> None:
    """Every reseller has a default group; with "copy the provider's settings" the parent's
    other groups and its user parameters are copied too, independent from then on (R-AP-17).
    Client-type parameters travel with the client types (see client_types)."""
    default = ensure_default_group(child)
    if SettingsMode(mode) != SettingsMode.COPY_PROVIDER:
        return
    groups = {}
    for group in db.session.scalars(select(AdditionalParameterGroup).where(
            AdditionalParameterGroup.reseller_id == parent.id,
            AdditionalParameterGroup.is_default.is_(False))
            .order_by(AdditionalParameterGroup.id)):
        copy = AdditionalParameterGroup(reseller_id=child.id, name=group.name,
                                        weight=group.weight, is_default=False)
        db.session.add(copy)
        groups[group.id] = copy
    db.session.flush()
    for parameter in db.session.scalars(select(AdditionalParameter).where(
            AdditionalParameter.reseller_id == parent.id,
            AdditionalParameter.applies_to == ParameterTarget.USER)
            .order_by(AdditionalParameter.id)):
        group = groups.get(parameter.group_id)
        db.session.add(AdditionalParameter(
            reseller_id=child.id, applies_to=parameter.applies_to, data_type=parameter.data_type,
            group_id=group.id if group is not None else default.id,
            **{name: getattr(parameter, name) for name in SYNCED_FIELDS}))
    db.session.flush()


def _register() -> None:
    from portal.tenancy.services.resellers import INHERITANCE_STEPS  # noqa: PLC0415

    if copy_parameters_to_new_reseller not in INHERITANCE_STEPS:
        INHERITANCE_STEPS.append(copy_parameters_to_new_reseller)


_register()
