"""API: service rules, client types and additional parameters (spec 08 §2.1, §2.2, §2.15;
API.md "service-rules").

Every object is the caller's reseller's own (a delegated client type is the reseller's copy);
anything else answers 404. The checks here guard JSON types (a float amount is refused, D4);
the manual's rules are the services' (ClientsError → 422, or 409 for a type or rule in use).
"""

from __future__ import annotations

from flask import g, jsonify, request

from portal.api.base import endpoint, iso, json_body, paginate
from portal.api.catalog import (amount, checked, column_text, deleted, flag, money, optional_id,
                                query_enum, query_flag, query_id, text, whole)
from portal.clients.models import (RULE_COLORS, AdditionalParameter, ClientType, LegalForm,
                                   ParameterTarget, ParameterType, PaymentModel, ServiceRule,
                                   StopMethod)
from portal.clients.services.client_types import (create_client_type, delete_client_type,
                                                  update_client_type)
from portal.clients.services.parameters import (create_parameter, delete_parameter,
                                                update_parameter)
from portal.clients.services.service_rules import (create_service_rule, delete_service_rule,
                                                   update_service_rule)
from portal.extensions import db
from portal.tenancy.scope import scoped_select, tenant_get_or_404


def choice(value, field):
    """An enum or colour code: a string; the service says whether it is one of them."""
    return text(64, nullable=False)(value, field)


# --- service rules (08 §2.2) --------------------------------------------------------------

RULE_KINDS = {
    "name": column_text(ServiceRule, "name"), "key": column_text(ServiceRule, "key"),
    "color": choice, "is_default": flag, "payment_model": choice, "stop_method": choice,
    "delete_method": choice, "block_threshold": money, "allow_negative_balance_payment": flag,
    "negative_balance_days": whole(), "cancel_unpaid_order_after_days": whole(),
    "credit_limit": money, "payment_grace_days": whole(), "promised_payment_limit": money,
    "promised_payment_days": whole(),
}
MONEY_SCHEMA = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "default": "0.00"}
RULE_SCHEMA = {"type": "object", "required": ["name", "key"], "properties": {
    "name": {"type": "string"}, "key": {"type": "string", "pattern": "^[a-z0-9_]+$"},
    "color": {"type": "string", "enum": list(RULE_COLORS), "default": "grey"},
    "is_default": {"type": "boolean", "default": False,
                   "description": "At most one per reseller: setting it clears the other."},
    "payment_model": {"type": "string", "enum": [m.value for m in PaymentModel],
                      "default": "prepay"},
    "stop_method": {"type": "string", "enum": [m.value for m in StopMethod], "default": "auto"},
    "delete_method": {"type": "string", "enum": [m.value for m in StopMethod],
                      "default": "auto"},
    "block_threshold": MONEY_SCHEMA,
    "allow_negative_balance_payment": {"type": "boolean", "default": False},
    "negative_balance_days": {"type": "integer", "minimum": -1, "default": 0,
                              "description": "-1 = unlimited"},
    "cancel_unpaid_order_after_days": {"type": "integer", "minimum": 1, "default": 1},
    "credit_limit": MONEY_SCHEMA,
    "payment_grace_days": {"type": "integer", "minimum": 0, "default": 0},
    "promised_payment_limit": MONEY_SCHEMA,
    "promised_payment_days": {"type": "integer", "minimum": 0, "default": 0}}}


def serialize_service_rule(rule: ServiceRule) -> dict:
    currency = g.acting_reseller.currency
    return {"id": rule.id, "name": rule.name, "key": rule.key, "color": rule.color,
            "is_default": rule.is_default, "payment_model": rule.payment_model.value,
            "stop_method": rule.stop_method.value, "delete_method": rule.delete_method.value,
            "block_threshold": amount(rule.block_threshold, currency),
            "allow_negative_balance_payment": rule.allow_negative_balance_payment,
            "negative_balance_days": rule.negative_balance_days,
            "cancel_unpaid_order_after_days": rule.cancel_unpaid_order_after_days,
            "credit_limit": amount(rule.credit_limit, currency),
            "payment_grace_days": rule.payment_grace_days,
            "promised_payment_limit": amount(rule.promised_payment_limit, currency),
            "promised_payment_days": rule.promised_payment_days,
            "currency": currency, "created_at": iso(rule.created_at)}


@endpoint("/service-rules", methods=("POST",), permission="service_rules.manage",
          summary="Create a service rule", body=RULE_SCHEMA, status=201)
def create_service_rule_api():
    fields = checked(json_body(), RULE_KINDS)
    rule = create_service_rule(g.acting_reseller, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_service_rule(rule)), 201


@endpoint("/service-rules", permission="service_rules.view",
          summary="List your service rules (filters: payment_model, key, is_default)")
def list_service_rules_api():
    query = scoped_select(ServiceRule)
    payment_model = query_enum("payment_model", PaymentModel)
    if payment_model is not None:
        query = query.where(ServiceRule.payment_model == payment_model)
    is_default = query_flag("is_default")
    if is_default is not None:
        query = query.where(ServiceRule.is_default == is_default)
    if request.args.get("key"):
        query = query.where(ServiceRule.key == request.args["key"])
    return paginate(query, serialize_service_rule, sort_fields={
        "id": ServiceRule.id, "name": ServiceRule.name, "key": ServiceRule.key})


@endpoint("/service-rules/<int:rule_id>", permission="service_rules.view",
          summary="Get a service rule")
def get_service_rule_api(rule_id):
    return jsonify(serialize_service_rule(tenant_get_or_404(ServiceRule, rule_id)))


@endpoint("/service-rules/<int:rule_id>", methods=("PATCH", "PUT"),
          permission="service_rules.manage", summary="Update a service rule", body=RULE_SCHEMA)
def update_service_rule_api(rule_id):
    rule = tenant_get_or_404(ServiceRule, rule_id)
    update_service_rule(rule, actor=g.principal, **checked(json_body(), RULE_KINDS))
    db.session.commit()
    return jsonify(serialize_service_rule(rule))


@endpoint("/service-rules/<int:rule_id>", methods=("DELETE",),
          permission="service_rules.manage",
          summary="Delete a service rule no client was created on (08 R-SR-16)")
def delete_service_rule_api(rule_id):
    rule = tenant_get_or_404(ServiceRule, rule_id)
    delete_service_rule(rule, actor=g.principal)
    db.session.commit()
    return deleted(rule_id)


# --- client types (08 §2.1) ---------------------------------------------------------------

TYPE_KINDS = {
    "name": column_text(ClientType, "name"), "key": column_text(ClientType, "key"),
    "name_template": column_text(ClientType, "name_template"),
    "primary_name_label": column_text(ClientType, "primary_name_label"),
    "legal_form": choice, "is_default": flag,
}
TYPE_SCHEMA = {"type": "object", "required": ["name", "key", "name_template"], "properties": {
    "name": {"type": "string"}, "key": {"type": "string", "pattern": "^[a-z0-9_]+$"},
    "name_template": {"type": "string", "description": "Free text with at least one of "
                      "%first_name %middle_name %last_name %primary_name"},
    "primary_name_label": {"type": "string"},
    "legal_form": {"type": "string", "enum": [f.value for f in LegalForm],
                   "default": "organization"},
    "is_default": {"type": "boolean", "description": "Exactly one per reseller; set it on "
                   "another type to move it. The only field of a delegated type you may set."}}}


def serialize_client_type(client_type: ClientType) -> dict:
    return {"id": client_type.id, "name": client_type.name, "key": client_type.key,
            "name_template": client_type.name_template,
            "primary_name_label": client_type.primary_name_label,
            "legal_form": client_type.legal_form.value, "is_default": client_type.is_default,
            "is_delegated": client_type.is_delegated, "source_id": client_type.source_id,
            "created_at": iso(client_type.created_at)}


@endpoint("/client-types", methods=("POST",), permission="client_types.manage",
          summary="Create a client type (copied, delegated, to every reseller below)",
          body=TYPE_SCHEMA, status=201)
def create_client_type_api():
    fields = checked(json_body(), TYPE_KINDS)
    for name in ("name", "key", "name_template"):
        fields.setdefault(name, "")
    client_type = create_client_type(g.acting_reseller, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_client_type(client_type)), 201


@endpoint("/client-types", permission="client_types.view",
          summary="List your client types, own and delegated (filters: key, delegated)")
def list_client_types_api():
    query = scoped_select(ClientType)
    delegated = query_flag("delegated")
    if delegated is not None:
        query = query.where(ClientType.is_delegated == delegated)
    if request.args.get("key"):
        query = query.where(ClientType.key == request.args["key"])
    return paginate(query, serialize_client_type, sort_fields={
        "id": ClientType.id, "name": ClientType.name, "key": ClientType.key})


@endpoint("/client-types/<int:client_type_id>", permission="client_types.view",
          summary="Get a client type")
def get_client_type_api(client_type_id):
    return jsonify(serialize_client_type(tenant_get_or_404(ClientType, client_type_id)))


@endpoint("/client-types/<int:client_type_id>", methods=("PATCH", "PUT"),
          permission="client_types.manage",
          summary="Update a client type and its copies below (a delegated type: is_default)",
          body=TYPE_SCHEMA)
def update_client_type_api(client_type_id):
    client_type = tenant_get_or_404(ClientType, client_type_id)
    update_client_type(client_type, actor=g.principal, **checked(json_body(), TYPE_KINDS))
    db.session.commit()
    return jsonify(serialize_client_type(client_type))


@endpoint("/client-types/<int:client_type_id>", methods=("DELETE",),
          permission="client_types.manage",
          summary="Delete an own client type no client has (08 R-CT-10, R-CT-11)")
def delete_client_type_api(client_type_id):
    client_type = tenant_get_or_404(ClientType, client_type_id)
    delete_client_type(client_type, actor=g.principal)
    db.session.commit()
    return deleted(client_type_id)


# --- additional parameters (08 §2.15) -------------------------------------------------------

def passthrough(value, field):
    """Checked by the service (shape of list options)."""
    return value


PARAMETER_KINDS = {
    "name": column_text(AdditionalParameter, "name"),
    "key": column_text(AdditionalParameter, "key"), "data_type": choice, "applies_to": choice,
    "client_type_id": optional_id, "group_id": optional_id, "options": passthrough,
    "first_option_is_default": flag, "format": column_text(AdditionalParameter, "format"),
    "default_value": column_text(AdditionalParameter, "default_value"), "optional": flag,
    "readonly_for_client": flag, "readonly_for_operator": flag, "public": flag, "unique": flag,
    "weight": whole(), "description": text(10000),
}
PARAMETER_SCHEMA = {"type": "object", "required": ["name", "key", "data_type", "applies_to"],
                    "properties": {
    "name": {"type": "string"}, "key": {"type": "string", "maxLength": 64},
    "data_type": {"type": "string", "enum": [t.value for t in ParameterType]},
    "applies_to": {"type": "string", "enum": [t.value for t in ParameterTarget]},
    "client_type_id": {"type": "integer", "description": "Required when applies_to = client"},
    "group_id": {"type": "integer", "description": "Default: the default group"},
    "options": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "key": {"type": "string"}}},
        "description": "Only for data_type = list, at least one; keys unique"},
    "first_option_is_default": {"type": "boolean"},
    "format": {"type": "string", "description": "A regular expression (not for lists)"},
    "default_value": {"type": "string"}, "optional": {"type": "boolean"},
    "readonly_for_client": {"type": "boolean"}, "readonly_for_operator": {"type": "boolean"},
    "public": {"type": "boolean"}, "unique": {"type": "boolean"},
    "weight": {"type": "integer"}, "description": {"type": "string"}}}


def serialize_parameter(parameter: AdditionalParameter) -> dict:
    return {"id": parameter.id, "name": parameter.name, "key": parameter.key,
            "data_type": parameter.data_type.value, "applies_to": parameter.applies_to.value,
            "client_type_id": parameter.client_type_id, "group_id": parameter.group_id,
            "options": list(parameter.options) if parameter.options else [],
            "first_option_is_default": parameter.first_option_is_default,
            "format": parameter.format, "default_value": parameter.default_value,
            "optional": parameter.optional,
            "readonly_for_client": parameter.readonly_for_client,
            "readonly_for_operator": parameter.readonly_for_operator,
            "public": parameter.public, "unique": parameter.unique, "weight": parameter.weight,
            "description": parameter.description, "is_delegated": parameter.is_delegated,
            "source_id": parameter.source_id, "created_at": iso(parameter.created_at)}


@endpoint("/additional-parameters", methods=("POST",),
          permission="additional_parameters.manage",
          summary="Create an additional parameter (one of a client type reaches its copies)",
          body=PARAMETER_SCHEMA, status=201)
def create_parameter_api():
    fields = checked(json_body(), PARAMETER_KINDS)
    parameter = create_parameter(g.acting_reseller, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_parameter(parameter)), 201


@endpoint("/additional-parameters", permission="additional_parameters.view",
          summary="List your additional parameters (filters: applies_to, client_type_id, key)")
def list_parameters_api():
    query = scoped_select(AdditionalParameter)
    applies_to = query_enum("applies_to", ParameterTarget)
    if applies_to is not None:
        query = query.where(AdditionalParameter.applies_to == applies_to)
    client_type_id = query_id("client_type_id")
    if client_type_id is not None:
        query = query.where(AdditionalParameter.client_type_id == client_type_id)
    if request.args.get("key"):
        query = query.where(AdditionalParameter.key == request.args["key"])
    return paginate(query, serialize_parameter, sort_fields={
        "id": AdditionalParameter.id, "name": AdditionalParameter.name,
        "weight": AdditionalParameter.weight})


@endpoint("/additional-parameters/<int:parameter_id>",
          permission="additional_parameters.view", summary="Get an additional parameter")
def get_parameter_api(parameter_id):
    return jsonify(serialize_parameter(tenant_get_or_404(AdditionalParameter, parameter_id)))


@endpoint("/additional-parameters/<int:parameter_id>", methods=("PATCH", "PUT"),
          permission="additional_parameters.manage",
          summary="Update an additional parameter and its copies (data_type, applies_to and "
                  "client_type_id are fixed)", body=PARAMETER_SCHEMA)
def update_parameter_api(parameter_id):
    parameter = tenant_get_or_404(AdditionalParameter, parameter_id)
    update_parameter(parameter, actor=g.principal, **checked(json_body(), PARAMETER_KINDS))
    db.session.commit()
    return jsonify(serialize_parameter(parameter))


@endpoint("/additional-parameters/<int:parameter_id>", methods=("DELETE",),
          permission="additional_parameters.manage",
          summary="Delete an additional parameter with its values and copies (08 R-AP-14)")
def delete_parameter_api(parameter_id):
    parameter = tenant_get_or_404(AdditionalParameter, parameter_id)
    delete_parameter(parameter, actor=g.principal)
    db.session.commit()
    return deleted(parameter_id)
