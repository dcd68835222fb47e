"""API: plans with their periods and resources, delegation to child resellers and the auto
markup of delegated copies (spec 05 §2.7–§2.10, §3.2, §4.9–§4.16; 07 §4.5).

A plan answers with its prices as strings in the plan's currency. Periods and resources are
created with the plan and changed afterwards through their own sub-resources.
"""

from __future__ import annotations

from flask import abort, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.base import endpoint, iso, json_body, paginate, require
from portal.api.catalog import (amount, checked, coefficient, column_text, default_plan_category,
                                default_product_category, deleted, flag, invalid, list_of,
                                mapping, money, nested_error, object_id, optional_id, quantity,
                                query_enum, query_flag, query_id, text, whole)
from portal.catalog.models import (PRICE_FIELDS_PERIOD, PRICE_FIELDS_RESOURCE, BillingType, Plan,
                                   PlanPeriod, PlanResource, PlanStatus, ResourceUnit)
from portal.catalog.services import (CatalogError, DelegationConflict, activate_plan,
                                     add_period, add_resource, clear_markup, copy_plan,
                                     create_plan, create_product, deactivate_plan, delete_period,
                                     delete_resource, markup_state, set_markup, set_plan_services,
                                     start_delegation, update_period, update_plan,
                                     update_resource)
from portal.catalog.services.markup import MarkupState
from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.scope import scoped_select, tenant_get_or_404
from portal.tenancy.tree import descendant_ids_select

# The API's names where a column's differs (API.md: "duration, unit, ...").
API_NAMES = {"duration_unit": "unit"}

PLAN_KINDS = {
    "name": column_text(Plan, "name"), "sku": column_text(Plan, "sku"), "description": text(),
    "plan_category_id": object_id, "product_id": object_id, "published": flag, "single": flag,
    "fixed_price": flag, "billing_type": text(nullable=False),
    "provisioning_rule_id": object_id, "lock_autorenew": flag, "autorenew": flag,
    "currency": text(nullable=False), "additional_params": mapping}
PERIOD_KINDS = {
    "duration": whole(1, nullable=True), "unit": text(), "duration_unit": text(),
    "is_unlimited": flag, "is_trial": flag, "published": flag, "description": text(),
    **dict.fromkeys(PRICE_FIELDS_PERIOD, money)}
RESOURCE_KINDS = {
    "service_resource_id": optional_id, "name": column_text(PlanResource, "name"),
    "unit_type": text(), "measurable": flag, "included": quantity, "minimum": quantity,
    "unlimited": flag, "limit": quantity, "public": flag, "priority": whole(0),
    "additional_params": mapping, **dict.fromkeys(PRICE_FIELDS_RESOURCE, money)}

MONEY = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$",
         "description": "An amount as a string (or a whole number); never a JSON fraction."}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}],
            "description": "A quantity; true/false for a boolean resource."}
PERIOD_SCHEMA = {"type": "object", "properties": {
    "duration": {"type": "integer", "minimum": 1},
    "unit": {"type": "string", "enum": ["day", "month", "year"]},
    "is_unlimited": {"type": "boolean", "default": False},
    "is_trial": {"type": "boolean", "default": False},
    "published": {"type": "boolean", "default": True}, "description": {"type": "string"},
    **dict.fromkeys(PRICE_FIELDS_PERIOD, MONEY)}}
RESOURCE_SCHEMA = {"type": "object", "properties": {
    "service_resource_id": {"type": "integer", "description": "A resource of one of the plan's "
                                                              "services; or give name and "
                                                              "unit_type."},
    "name": {"type": "string"},
    "unit_type": {"type": "string", "enum": [u.value for u in ResourceUnit], "default": "units"},
    "measurable": {"type": "boolean"}, "included": QUANTITY, "minimum": QUANTITY,
    "unlimited": {"type": "boolean"}, "limit": QUANTITY, "public": {"type": "boolean"},
    "priority": {"type": "integer", "minimum": 0}, "additional_params": {"type": "object"},
    **dict.fromkeys(PRICE_FIELDS_RESOURCE, MONEY)}}
PLAN_SCHEMA = {"type": "object", "required": ["name", "billing_type", "provisioning_rule_id"],
               "properties": {
    "name": {"type": "string"}, "sku": {"type": "string"}, "description": {"type": "string"},
    "billing_type": {"type": "string", "enum": [b.value for b in BillingType]},
    "currency": {"type": "string", "description": "Default: your reseller's currency."},
    "provisioning_rule_id": {"type": "integer"},
    "product_id": {"type": "integer", "description": "Default: a new product named after the "
                                                     "plan."},
    "plan_category_id": {"type": "integer", "description": "Default: your plan category with "
                                                           "key \"default\" (made if missing)."},
    "published": {"type": "boolean", "default": False}, "single": {"type": "boolean"},
    "fixed_price": {"type": "boolean"}, "lock_autorenew": {"type": "boolean"},
    "autorenew": {"type": "boolean"}, "additional_params": {"type": "object"},
    "services": {"type": "array", "items": {"type": "integer"},
                 "description": "Ids of the service templates the plan provisions."},
    "periods": {"type": "array", "items": PERIOD_SCHEMA,
                "description": "Only on create; later through /plans/{id}/periods."},
    "resources": {"type": "array", "items": RESOURCE_SCHEMA,
                  "description": "Only on create; later through /plans/{id}/resources."}}}


# --- answers ------------------------------------------------------------------------------

def _quantity(value, unit_type: ResourceUnit):
    if unit_type == ResourceUnit.BOOLEAN:
        return bool(value)
    return format(value.normalize(), "f")


def serialize_period(period: PlanPeriod, currency: str) -> dict:
    return {"id": period.id, "duration": period.duration,
            "unit": period.duration_unit.value if period.duration_unit else None,
            "is_unlimited": period.is_unlimited, "is_trial": period.is_trial,
            "published": period.published, "description": period.description,
            **{f: amount(getattr(period, f), currency) for f in PRICE_FIELDS_PERIOD},
            "currency": currency, "position": period.position, "parent_id": period.parent_id}


def serialize_resource(resource: PlanResource, currency: str) -> dict:
    unit = resource.unit_type
    return {"id": resource.id, "service_resource_id": resource.service_resource_id,
            "name": resource.name, "unit_type": unit.value, "measurable": resource.measurable,
            "included": _quantity(resource.included, unit),
            "minimum": _quantity(resource.minimum, unit), "unlimited": resource.unlimited,
            "limit": _quantity(resource.limit, unit),
            **{f: amount(getattr(resource, f), currency) for f in PRICE_FIELDS_RESOURCE},
            "currency": currency, "public": resource.public, "priority": resource.priority,
            "additional_params": resource.additional_params, "parent_id": resource.parent_id}


def serialize_plan(plan: Plan) -> dict:
    currency = plan.currency
    return {
        "id": plan.id, "name": plan.name, "sku": plan.sku, "description": plan.description,
        "status": plan.status.value, "published": plan.published,
        "billing_type": plan.billing_type.value, "currency": currency,
        "provisioning_rule_id": plan.provisioning_rule_id,
        "plan_category_id": plan.plan_category_id, "product_id": plan.product_id,
        "single": plan.single, "fixed_price": plan.fixed_price,
        "lock_autorenew": plan.lock_autorenew, "autorenew": plan.autorenew,
        "additional_params": plan.additional_params, "source": plan.source.value,
        "is_delegated": plan.is_delegated, "parent_plan_id": plan.parent_id,
        "markup_coefficient": (str(plan.markup_coefficient)
                               if plan.markup_coefficient is not None else None),
        "markup_state": markup_state(plan), "cost_changed_at": iso(plan.cost_changed_at),
        "created_at": iso(plan.created_at),
        "services": [{"id": s.id, "name": s.name, "connector": s.connector.value}
                     for s in plan.services],
        "periods": [serialize_period(p, currency) for p in plan.periods],
        "resources": [serialize_resource(r, currency) for r in plan.resources],
    }


# --- input --------------------------------------------------------------------------------

def _api_field(error: CatalogError, prefix: str = "") -> CatalogError:
    """Name the refused field as the API does (unit, periods[0].monthly_fee)."""
    if error.field:
        error.field = API_NAMES.get(error.field, error.field)
    return nested_error(error, prefix) if prefix else error


def _period_fields(item: dict, prefix: str = "") -> dict:
    fields = checked(item, PERIOD_KINDS, prefix=prefix)
    if "unit" in fields:
        fields["duration_unit"] = fields.pop("unit")
    return fields


def _items(data: dict, name: str, read) -> list[dict]:
    if name not in data or data[name] is None:
        return []
    items = list_of(mapping)(data[name], name)
    return [read(item or {}, f"{name}[{i}].") for i, item in enumerate(items)]


def _service_ids(data: dict) -> list[int] | None:
    if "services" not in data:
        return None
    return list_of(object_id)(data["services"] or [], "services")


def _plan(plan_id: int) -> Plan:
    return tenant_get_or_404(Plan, plan_id)


# --- plans --------------------------------------------------------------------------------

@endpoint("/plans", methods=("POST",), permission="plans.manage",
          summary="Create a plan with its periods and resources", body=PLAN_SCHEMA, status=201)
def create_plan_api():
    reseller = g.acting_reseller
    data = json_body()
    fields = checked(data, PLAN_KINDS)
    if "currency" in fields:
        fields["currency"] = fields["currency"].strip().upper()
    services = _service_ids(data) or []
    periods = _items(data, "periods", _period_fields)
    resources = _items(data, "resources",
                       lambda item, prefix: checked(item, RESOURCE_KINDS, prefix=prefix))
    require(data, "name", "billing_type", "provisioning_rule_id")
    if not fields["name"].strip():
        raise invalid("name", _("Enter the plan's name."))
    if "plan_category_id" not in fields:
        fields["plan_category_id"] = default_plan_category(reseller).id
    if "product_id" not in fields:
        # API.md creates plans without naming a product: one of the same name is made.
        fields["product_id"] = create_product(
            reseller, name=fields["name"], published=fields.get("published", False),
            product_category_id=default_product_category(reseller).id, actor=g.principal).id
    plan = create_plan(reseller, actor=g.principal, services=services, **fields)
    for i, item in enumerate(periods):
        try:
            add_period(plan, log=False, **item)
        except CatalogError as error:
            raise _api_field(error, f"periods[{i}]") from None
    for i, item in enumerate(resources):
        try:
            add_resource(plan, log=False, **item)
        except CatalogError as error:
            raise _api_field(error, f"resources[{i}]") from None
    db.session.commit()
    return jsonify(serialize_plan(plan)), 201


SORTS = {"id": Plan.id, "name": Plan.name, "created_at": Plan.created_at}


@endpoint("/plans", permission="plans.view",
          summary="List your plans (filters: status, billing_type, product_id, "
                  "plan_category_id, delegated, published)")
def list_plans_api():
    query = scoped_select(Plan)
    for name, enum_class, column in (("status", PlanStatus, Plan.status),
                                     ("billing_type", BillingType, Plan.billing_type)):
        value = query_enum(name, enum_class)
        if value is not None:
            query = query.where(column == value)
    for name, column in (("product_id", Plan.product_id),
                         ("plan_category_id", Plan.plan_category_id)):
        value = query_id(name)
        if value is not None:
            query = query.where(column == value)
    for name, column in (("delegated", Plan.is_delegated), ("published", Plan.published)):
        value = query_flag(name)
        if value is not None:
            query = query.where(column == value)
    if request.args.get("q"):
        query = query.where(Plan.name.ilike(f"%{request.args['q']}%"))
    # serialize_plan reads each plan's periods, resources and services: load them per page.
    query = query.options(selectinload(Plan.periods), selectinload(Plan.resources),
                          selectinload(Plan.services))
    return paginate(query, serialize_plan, sort_fields=SORTS)


@endpoint("/plans/<int:plan_id>", permission="plans.view",
          summary="Get a plan with its periods, resources and services")
def get_plan_api(plan_id):
    return jsonify(serialize_plan(_plan(plan_id)))


@endpoint("/plans/<int:plan_id>", methods=("PATCH", "PUT"), permission="plans.manage",
          summary="Update a plan's general and billing fields (periods and resources have "
                  "their own endpoints)", body=PLAN_SCHEMA)
def update_plan_api(plan_id):
    plan = _plan(plan_id)
    data = json_body()
    for name in ("periods", "resources"):
        if name in data:
            raise invalid(name, _("Change %(items)s through /plans/%(id)d/%(items)s.",
                                  items=name, id=plan.id))
    fields = checked(data, PLAN_KINDS)
    if "currency" in fields:
        fields["currency"] = fields["currency"].strip().upper()
    services = _service_ids(data)
    if services is not None:
        if plan.is_delegated and set(services) != {s.id for s in plan.services}:
            raise invalid("services", _("The services of a delegated plan are set by the "
                                        "provider."))
        set_plan_services(plan, services, actor=g.principal)
    update_plan(plan, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_plan(plan))


@endpoint("/plans/<int:plan_id>/deactivate", methods=("POST",), permission="plans.manage",
          summary="Deactivate a plan (its copies below become deactivated by provider)")
def deactivate_plan_api(plan_id):
    plan = deactivate_plan(_plan(plan_id), actor=g.principal)
    db.session.commit()
    return jsonify(serialize_plan(plan))


@endpoint("/plans/<int:plan_id>/activate", methods=("POST",), permission="plans.manage",
          summary="Activate an inactive plan")
def activate_plan_api(plan_id):
    plan = activate_plan(_plan(plan_id), actor=g.principal)
    db.session.commit()
    return jsonify(serialize_plan(plan))


@endpoint("/plans/<int:plan_id>/copy", methods=("POST",), permission="plans.manage",
          summary="Copy an own plan (prices reset to zero unless reset_prices is false)",
          body={"type": "object", "properties": {
              "name": {"type": "string"}, "published": {"type": "boolean", "default": True},
              "reset_prices": {"type": "boolean", "default": True}}}, status=201)
def copy_plan_api(plan_id):
    plan = _plan(plan_id)
    options = checked(json_body(), {"name": column_text(Plan, "name"), "published": flag,
                                    "reset_prices": flag})
    copy = copy_plan(plan, actor=g.principal, **options)
    db.session.commit()
    return jsonify(serialize_plan(copy)), 201


# --- periods ------------------------------------------------------------------------------

def _period(plan: Plan, period_id: int) -> PlanPeriod:
    period = db.session.scalar(select(PlanPeriod).where(
        PlanPeriod.reseller_id == plan.reseller_id, PlanPeriod.plan_id == plan.id,
        PlanPeriod.id == period_id, PlanPeriod.deleted_at.is_(None)))
    if period is None:
        abort(404)
    return period


@endpoint("/plans/<int:plan_id>/periods", methods=("POST",), permission="plans.manage",
          summary="Add a period to a plan (it reaches every delegated copy)",
          body=PERIOD_SCHEMA, status=201)
def add_period_api(plan_id):
    plan = _plan(plan_id)
    try:
        period = add_period(plan, actor=g.principal, **_period_fields(json_body()))
    except CatalogError as error:
        raise _api_field(error) from None
    db.session.commit()
    return jsonify(serialize_period(period, plan.currency)), 201


@endpoint("/plans/<int:plan_id>/periods/<int:period_id>", methods=("PATCH", "PUT"),
          permission="plans.manage",
          summary="Change a period (a price edit ends the plan's auto markup)",
          body=PERIOD_SCHEMA)
def update_period_api(plan_id, period_id):
    plan = _plan(plan_id)
    period = _period(plan, period_id)
    try:
        update_period(period, actor=g.principal, **_period_fields(json_body()))
    except CatalogError as error:
        raise _api_field(error) from None
    db.session.commit()
    return jsonify(serialize_period(period, plan.currency))


@endpoint("/plans/<int:plan_id>/periods/<int:period_id>", methods=("DELETE",),
          permission="plans.manage", summary="Delete a period of a plan")
def delete_period_api(plan_id, period_id):
    delete_period(_period(_plan(plan_id), period_id), actor=g.principal)
    db.session.commit()
    return deleted(period_id)


# --- resources ----------------------------------------------------------------------------

def _resource(plan: Plan, resource_id: int) -> PlanResource:
    resource = db.session.scalar(select(PlanResource).where(
        PlanResource.reseller_id == plan.reseller_id, PlanResource.plan_id == plan.id,
        PlanResource.id == resource_id, PlanResource.deleted_at.is_(None)))
    if resource is None:
        abort(404)
    return resource


@endpoint("/plans/<int:plan_id>/resources", methods=("POST",), permission="plans.manage",
          summary="Add a resource to a plan (it reaches every delegated copy)",
          body=RESOURCE_SCHEMA, status=201)
def add_resource_api(plan_id):
    plan = _plan(plan_id)
    resource = add_resource(plan, actor=g.principal, **checked(json_body(), RESOURCE_KINDS))
    db.session.commit()
    return jsonify(serialize_resource(resource, plan.currency)), 201


@endpoint("/plans/<int:plan_id>/resources/<int:resource_id>", methods=("PATCH", "PUT"),
          permission="plans.manage",
          summary="Change a resource (a price edit ends the plan's auto markup)",
          body=RESOURCE_SCHEMA)
def update_resource_api(plan_id, resource_id):
    plan = _plan(plan_id)
    resource = _resource(plan, resource_id)
    fields = checked(json_body(), RESOURCE_KINDS)
    if (fields.pop("unit_type", "") or resource.unit_type.value) != resource.unit_type.value:
        raise invalid("unit_type", _("The unit of a resource cannot change."))
    if "service_resource_id" in fields and \
            fields.pop("service_resource_id") != resource.service_resource_id:
        raise invalid("service_resource_id", _("A resource cannot move to another service "
                                               "resource; add a new one instead."))
    update_resource(resource, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_resource(resource, plan.currency))


@endpoint("/plans/<int:plan_id>/resources/<int:resource_id>", methods=("DELETE",),
          permission="plans.manage", summary="Delete a resource of a plan")
def delete_resource_api(plan_id, resource_id):
    delete_resource(_resource(_plan(plan_id), resource_id), actor=g.principal)
    db.session.commit()
    return deleted(resource_id)


# --- delegation (07 §4.5) -----------------------------------------------------------------

def _clash_fields(error: DelegationConflict) -> dict:
    return {"reseller_ids": [
        _("%(reseller)s (reseller %(reseller_id)d) has its own provisioning rule “%(rule)s” "
          "(id %(rule_id)d) with the key “%(key)s”.", **clash) for clash in error.clashes]}


@endpoint("/plans/<int:plan_id>/delegations", methods=("POST",), permission="plans.manage",
          summary="Delegate the plan to child resellers: answers 202 with the operation to "
                  "follow at /operations/{id}",
          body={"type": "object", "required": ["reseller_ids"], "properties": {
              "reseller_ids": {"type": "array", "items": {"type": "integer"},
                               "description": "Resellers one level below yours."}}},
          status=202)
def delegate_plan_api(plan_id):
    reseller = g.acting_reseller
    plan = _plan(plan_id)
    data = json_body()
    require(data, "reseller_ids")
    ids = list(dict.fromkeys(list_of(object_id)(data["reseller_ids"], "reseller_ids")))
    children = db.session.scalars(select(Reseller).where(
        Reseller.id.in_(ids), Reseller.parent_id == reseller.id).order_by(Reseller.id)).all()
    unknown = sorted(set(ids) - {child.id for child in children})
    if unknown:
        raise invalid("reseller_ids", _(
            "Plans are delegated only to resellers one level below yours; not: %(ids)s.",
            ids=", ".join(map(str, unknown))))
    try:
        operation = start_delegation(reseller, [plan], list(children), actor=g.principal)
    except DelegationConflict as error:
        error.fields = _clash_fields(error)  # the error handler answers them as `fields`
        raise
    except CatalogError as error:
        if error.field == "plan_ids":
            error.field = None  # the plan is in the path, not in the body
        raise
    db.session.commit()
    response = jsonify({"operation_id": operation.id, "status": operation.status.value,
                        "plan_id": plan.id, "reseller_ids": [c.id for c in children]})
    response.headers["Location"] = f"/api/v1/operations/{operation.id}"
    return response, 202


def serialize_copy(copy: Plan) -> dict:
    reseller = db.session.get(Reseller, copy.reseller_id)
    return {"id": copy.id, "reseller_id": copy.reseller_id, "reseller_name": reseller.name,
            "parent_plan_id": copy.parent_id, "status": copy.status.value,
            "published": copy.published,
            "markup_coefficient": (str(copy.markup_coefficient)
                                   if copy.markup_coefficient is not None else None),
            "created_at": iso(copy.created_at)}


@endpoint("/plans/<int:plan_id>/delegations", permission="plans.view",
          summary="The plan's copies at your child resellers")
def list_delegations_api(plan_id):
    plan = _plan(plan_id)
    query = select(Plan).where(Plan.parent_id == plan.id, Plan.reseller_id.in_(
        descendant_ids_select(g.acting_reseller.id)))
    return paginate(query, serialize_copy, sort_fields={"id": Plan.id,
                                                        "reseller_id": Plan.reseller_id})


# --- auto markup (05 §3.2, R-MK) ----------------------------------------------------------

@endpoint("/plans/<int:plan_id>/markup", methods=("PUT",), permission="plans.manage",
          summary="Set the auto-markup coefficient of a plan with a cost source: every price "
                  "becomes the upstream price × k",
          body={"type": "object", "required": ["coefficient"], "properties": {
              "coefficient": {"type": "string", "example": "1.50"}}})
def set_markup_api(plan_id):
    plan = _plan(plan_id)
    data = json_body()
    require(data, "coefficient")
    value = coefficient(data["coefficient"], "coefficient")
    if markup_state(plan) == MarkupState.UNAVAILABLE:
        raise invalid("coefficient", _("This plan has no cost source (it was not delegated to "
                                       "you), so it cannot have an automatic markup "
                                       "(05 R-MK-1)."))
    set_markup([plan], value, actor=g.principal)
    db.session.commit()
    return jsonify(serialize_plan(plan))


@endpoint("/plans/<int:plan_id>/markup", methods=("DELETE",), permission="plans.manage",
          summary="Clear the auto markup: prices stay as last computed and stop following "
                  "the cost")
def clear_markup_api(plan_id):
    plan = _plan(plan_id)
    if markup_state(plan) == MarkupState.UNAVAILABLE:
        raise invalid("coefficient", _("This plan has no cost source, so it has no automatic "
                                       "markup to clear (05 R-MK-1)."))
    if plan.billing_type == BillingType.PAYG_EXTERNAL:
        raise invalid("coefficient", _("The markup of a pay-as-you-go (external) plan cannot "
                                       "be cleared (05 R-MK-22)."))
    clear_markup([plan], actor=g.principal)
    db.session.commit()
    return jsonify(serialize_plan(plan))
