"""Values of additional parameters on clients and users: which apply, their checks, storage
(08 R-AP-3..13)."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.clients.inn import inn_problem
from portal.clients.models import (AdditionalParameter, AdditionalParameterGroup,
                                   AdditionalParameterValue, ClientType, ParameterTarget,
                                   ParameterType)
from portal.clients.services.errors import ClientsError
from portal.core.audit import MASK
from portal.extensions import db

TRUE_WORDS = {"true", "1", "on", "y", "yes"}
FALSE_WORDS = {"false", "0", "off", "n", "no", ""}
VALUE_LIMIT = 4000


def parameters_for(reseller, target: ParameterTarget | str, *,
                   client_type: ClientType | None = None) -> list[AdditionalParameter]:
    """The parameters a client of this type (or a user) of the reseller has, in display order:
    by group, then weight (larger is lower), then id (R-AP-13)."""
    target = ParameterTarget(target)
    query = (select(AdditionalParameter)
             .outerjoin(AdditionalParameterGroup,
                        AdditionalParameterGroup.id == AdditionalParameter.group_id)
             .where(AdditionalParameter.reseller_id == reseller.id,
                    AdditionalParameter.applies_to == target))
    if target == ParameterTarget.CLIENT:
        if client_type is None:
            return []
        query = query.where(AdditionalParameter.client_type_id == client_type.id)
    query = query.order_by(func.coalesce(AdditionalParameterGroup.weight, 0),
                           AdditionalParameterGroup.id, AdditionalParameter.weight,
                           AdditionalParameter.id)
    return list(db.session.scalars(query))


def default_value(parameter: AdditionalParameter) -> str:
    """What a create form starts with (R-AP-5, R-AP-7)."""
    if parameter.data_type == ParameterType.LIST:
        if parameter.first_option_is_default and parameter.options:
            return parameter.options[0]["key"]
        return ""
    if parameter.data_type == ParameterType.BOOLEAN:
        return "true" if (parameter.default_value or "").lower() in TRUE_WORDS else "false"
    return parameter.default_value or ""


def _field(parameter: AdditionalParameter) -> str:
    return f"parameters.{parameter.key}"


def _normalise(parameter: AdditionalParameter, raw, legal_form) -> str:
    """The stored text of one value, or a refusal naming the parameter."""
    kind = parameter.data_type
    if kind == ParameterType.BOOLEAN:
        if isinstance(raw, bool):
            return "true" if raw else "false"
        word = str(raw or "").strip().lower()
        if word in TRUE_WORDS:
            return "true"
        if word in FALSE_WORDS:
            return "false"
        raise ClientsError(_l("«%(name)s» is yes or no.", name=parameter.name),
                           field=_field(parameter))
    if raw is None:
        return ""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ClientsError(_l("«%(name)s» must be text.", name=parameter.name),
                           field=_field(parameter))
    value = str(raw)
    if kind != ParameterType.PASSWORD:
        value = value.strip()
    if len(value) > VALUE_LIMIT:
        raise ClientsError(_l("«%(name)s» is too long.", name=parameter.name),
                           field=_field(parameter))
    if not value:
        return ""
    if kind in (ParameterType.STRING, ParameterType.INN) and ("\n" in value or "\r" in value):
        raise ClientsError(_l("«%(name)s» is one line of text.", name=parameter.name),
                           field=_field(parameter))
    if kind == ParameterType.DATE:
        try:
            value = date.fromisoformat(value).isoformat()
        except ValueError:
            raise ClientsError(_l("«%(name)s» is a date (YYYY-MM-DD).", name=parameter.name),
                               field=_field(parameter)) from None
    if kind == ParameterType.LIST:
        keys = [option["key"] for option in parameter.options or []]
        if value not in keys:
            raise ClientsError(_l("Choose «%(name)s» from the list.", name=parameter.name),
                               field=_field(parameter))
    if kind == ParameterType.INN:
        problem = inn_problem(value, legal_form)
        if problem is not None:
            raise ClientsError(_l("%(name)s: %(problem)s", name=parameter.name,
                                  problem=problem), field=_field(parameter))
    if parameter.format and kind not in (ParameterType.LIST, ParameterType.BOOLEAN):
        try:
            matches = re.fullmatch(parameter.format, value) is not None
        except re.error:
            matches = True  # a broken pattern is refused when the parameter is saved
        if not matches:
            raise ClientsError(_l("The value of «%(name)s» does not match its format.",
                                  name=parameter.name), field=_field(parameter))
    return value


def _taken(parameter: AdditionalParameter, value: str, entity_id: int | None) -> bool:
    query = select(AdditionalParameterValue.id).where(
        AdditionalParameterValue.reseller_id == parameter.reseller_id,
        AdditionalParameterValue.parameter_id == parameter.id,
        AdditionalParameterValue.value == value)
    if entity_id is not None:
        query = query.where(AdditionalParameterValue.entity_id != entity_id)
    return db.session.scalar(query.limit(1)) is not None


def clean_parameter_values(reseller, target: ParameterTarget | str, raw: dict, *,
                           client_type: ClientType | None = None, entity_id: int | None = None,
                           creating: bool = False, panel: str = "operator") -> dict[int, str]:
    """Check the values given for an entity; return {parameter id: stored text}.

    raw maps parameter keys to values. On creation a missing value takes its default and a
    required one must be there (R-AP-8); on update a missing key keeps the stored value.
    Operator-read-only parameters are not set from the operator panel (R-AP-10).
    """
    target = ParameterTarget(target)
    raw = dict(raw or {})
    parameters = parameters_for(reseller, target, client_type=client_type)
    known = {p.key for p in parameters}
    unknown = sorted(k for k in raw if k not in known)
    if unknown:
        raise ClientsError(_l("Unknown additional parameter: %(keys)s.",
                              keys=", ".join(unknown)), field=f"parameters.{unknown[0]}")
    legal_form = client_type.legal_form if client_type is not None else None
    cleaned: dict[int, str] = {}
    for parameter in parameters:
        editable = not (panel == "operator" and parameter.readonly_for_operator)
        if parameter.key in raw and editable:
            value = _normalise(parameter, raw[parameter.key], legal_form)
        elif creating:
            value = default_value(parameter)
        else:
            continue
        if not editable:
            cleaned[parameter.id] = value
            continue
        if not parameter.optional and value == "":
            raise ClientsError(_l("«%(name)s» is required.", name=parameter.name),
                               field=_field(parameter))
        if parameter.data_type == ParameterType.PASSWORD and value == "" and not creating:
            continue  # an empty password field keeps the stored secret
        if (parameter.unique and value and parameter.data_type != ParameterType.BOOLEAN
                and _taken(parameter, value, entity_id)):
            raise ClientsError(_l("The value of «%(name)s» is already used.",
                                  name=parameter.name), field=_field(parameter),
                               status=409, code="conflict")
        cleaned[parameter.id] = value
    return cleaned


def store_parameter_values(entity, target: ParameterTarget | str,
                           values: dict[int, str] | None) -> dict:
    """Write checked values; returns {key: [old, new]} for the event log (passwords masked)."""
    target = ParameterTarget(target)
    if not values:
        return {}
    existing = {v.parameter_id: v for v in db.session.scalars(
        select(AdditionalParameterValue).where(
            AdditionalParameterValue.reseller_id == entity.reseller_id,
            AdditionalParameterValue.entity_type == target,
            AdditionalParameterValue.entity_id == entity.id))}
    parameters = {p.id: p for p in db.session.scalars(select(AdditionalParameter).where(
        AdditionalParameter.reseller_id == entity.reseller_id,
        AdditionalParameter.id.in_(list(values))))}
    changes = {}
    for parameter_id, value in values.items():
        row = existing.get(parameter_id)
        old = row.value if row is not None else ""
        if row is None:
            if value == "":
                continue
            db.session.add(AdditionalParameterValue(
                reseller_id=entity.reseller_id, parameter_id=parameter_id, entity_type=target,
                entity_id=entity.id, value=value))
        elif old == value:
            continue
        else:
            row.value = value
        parameter = parameters[parameter_id]
        secret = parameter.data_type == ParameterType.PASSWORD
        changes[f"parameters.{parameter.key}"] = [MASK if secret and old else old,
                                                  MASK if secret else value]
    db.session.flush()
    return changes


def parameter_values(entity, target: ParameterTarget | str) -> dict[int, str]:
    """{parameter id: stored text} of one client or user."""
    target = ParameterTarget(target)
    return {v.parameter_id: v.value for v in db.session.scalars(
        select(AdditionalParameterValue).where(
            AdditionalParameterValue.reseller_id == entity.reseller_id,
            AdditionalParameterValue.entity_type == target,
            AdditionalParameterValue.entity_id == entity.id))}


def values_by_key(entity, target: ParameterTarget | str, parameters) -> dict[str, str]:
    """{key: value} for the API and templates; passwords are never given back."""
    stored = parameter_values(entity, target)
    return {p.key: ("" if p.data_type == ParameterType.PASSWORD else stored.get(p.id, ""))
            for p in parameters}
