"""API: subscriptions and their operations (spec 02 §2.1, §4.10, §4.14–4.24; API.md
"subscriptions").

Each action answers `{"subscription": {...}, "order": {...} | null}`: the order it made, if any.
The rules are the services' (`portal.subscriptions.services.lifecycle`,
`portal.orders.services.ordering`); this module only turns JSON into their arguments.
"""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from portal.api.base import endpoint, iso, json_body, paginate, require
from portal.api.catalog import (amount, flag, invalid, object_id, query_enum, query_id, text,
                                whole)
from portal.api.orders import (date_value, quantities_value, quantity_text, serialize_order,
                               staff_id_value)
from portal.core.clock import clock
from portal.extensions import db
from portal.orders.models import Order
from portal.catalog.models import Plan
from portal.orders.services.ordering import place_change_order, place_renewal_order
from portal.orders.services.switching import place_switch_order
from portal.subscriptions.models import Subscription, SubscriptionResource, SubscriptionStatus
from portal.subscriptions.services import SubscriptionError
from portal.subscriptions.services.lifecycle import (activate_subscription, change_expiry_date,
                                                     close_charges_manually, delete_subscription,
                                                     stop_subscription, update_subscription)
from portal.tenancy.scope import scoped_select, tenant_get_or_404

# --- answers --------------------------------------------------------------------------------

def serialize_resource(resource: SubscriptionResource, currency: str) -> dict:
    unit = resource.plan_resource.unit_type
    return {"id": resource.id, "plan_resource_id": resource.plan_resource_id,
            "name": resource.name, "unit_type": unit.value,
            "included": quantity_text(resource.included, unit),
            "additional": quantity_text(resource.additional, unit),
            "total": quantity_text(resource.total, unit),
            "minimum": quantity_text(resource.minimum, unit), "unlimited": resource.unlimited,
            "limit": quantity_text(resource.limit, unit),
            "monthly_fee": amount(resource.monthly_fee, currency),
            "setup_fee": amount(resource.setup_fee, currency),
            "renewal_fee": amount(resource.renewal_fee, currency),
            "individual_monthly_fee": amount(resource.individual_monthly_fee, currency)
            if resource.individual_monthly_fee is not None else None, "currency": currency}


def serialize_subscription(subscription: Subscription) -> dict:
    """02 §2.1; no money of the client's (its balance is on GET /clients/{id})."""
    currency = subscription.currency
    plan = subscription.plan
    return {
        "id": subscription.id, "name": subscription.name,
        "client_id": subscription.client_id, "plan_id": subscription.plan_id,
        "product_id": plan.product_id, "period_id": subscription.plan_period_id,
        "billing_type": plan.billing_type.value,
        "provisioning_rule_id": plan.provisioning_rule_id,
        "status": subscription.status.value, "trial": subscription.is_trial,
        "payment_model": subscription.payment_model.value, "currency": currency,
        "start_date": iso(subscription.start_date),
        "expiry_date": iso(subscription.expiry_date),
        "prolonged_until": iso(subscription.prolonged_until),
        "unpaid_since": iso(subscription.unpaid_since),
        "auto_renew": subscription.auto_renew,
        "auto_renew_locked": subscription.auto_renew_locked,
        "auto_renew_point_days": subscription.auto_renew_point_days,
        "manual_renewal_point_days": subscription.manual_renewal_point_days,
        "manager_id": subscription.manager_id, "promo_code": subscription.promo_code or None,
        "charges_closed_manually": subscription.charges_closed_manually,
        "individual_prices": subscription.individual_prices,
        "renewal_price_mode": subscription.renewal_price_mode.value
        if subscription.renewal_price_mode else None,
        "individual_monthly_fee": amount(subscription.individual_monthly_fee, currency)
        if subscription.individual_monthly_fee is not None else None,
        "monthly_fee": amount(subscription.monthly_fee, currency),
        "setup_fee": amount(subscription.setup_fee, currency),
        "renewal_fee": amount(subscription.renewal_fee, currency),
        "stop_reason": subscription.stop_reason or None,
        "last_error": subscription.last_error or None,
        "created_at": iso(subscription.created_at), "updated_at": iso(subscription.updated_at),
        "deleted_at": iso(subscription.deleted_at),
        "resources": [serialize_resource(r, currency) for r in subscription.resources],
    }


def _answer(subscription: Subscription, order: Order | None = None):
    return jsonify({"subscription": serialize_subscription(subscription),
                    "order": serialize_order(order) if order is not None else None})


def _subscription(subscription_id: int) -> Subscription:
    return tenant_get_or_404(Subscription, subscription_id)


# --- reading ----------------------------------------------------------------------------------

SUBSCRIPTION_SORT = {"id": Subscription.id, "name": Subscription.name,
                     "expiry_date": Subscription.expiry_date,
                     "created_at": Subscription.created_at}


@endpoint("/subscriptions", permission="subscriptions.view",
          summary="List subscriptions (filters: client_id, status, plan_id)")
def list_subscriptions_api():
    query = scoped_select(Subscription).options(
        selectinload(Subscription.plan),
        selectinload(Subscription.resources).selectinload(SubscriptionResource.plan_resource))
    for name, column in (("client_id", Subscription.client_id),
                         ("plan_id", Subscription.plan_id)):
        value = query_id(name)
        if value is not None:
            query = query.where(column == value)
    status = query_enum("status", SubscriptionStatus)
    if status is not None:
        query = query.where(Subscription.status == status)
    return paginate(query, serialize_subscription, sort_fields=SUBSCRIPTION_SORT)


@endpoint("/subscriptions/<int:subscription_id>", permission="subscriptions.view",
          summary="Get a subscription: status, dates, resources, renewal settings")
def get_subscription_api(subscription_id):
    return jsonify(serialize_subscription(_subscription(subscription_id)))


# --- the general tab --------------------------------------------------------------------------

# Renewal points count back from the expiry date; a century is far more than any term, and a
# larger number would overflow the date arithmetic of the nightly run.
POINT_DAYS_MAX = 36500
EDIT_KINDS = {"name": text(255, nullable=False), "auto_renew": flag, "auto_renew_locked": flag,
              "auto_renew_point_days": whole(maximum=POINT_DAYS_MAX),
              "manual_renewal_point_days": whole(maximum=POINT_DAYS_MAX),
              "promo_code": text(64)}
# Fields that change through an action, not PATCH (named in the refusal).
ACTION_FIELDS = {"expiry_date": "/expiry-date", "prolonged_until": "/expiry-date",
                 "resources": "/change-resources", "status": "/stop, /activate, /delete",
                 "plan_id": "/switch-plan", "period_id": "/switch-plan"}

SUBSCRIPTION_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "manager_id": {"type": "integer", "nullable": True},
    "auto_renew": {"type": "boolean"}, "auto_renew_locked": {"type": "boolean"},
    "auto_renew_point_days": {"type": "integer", "minimum": 0},
    "manual_renewal_point_days": {"type": "integer", "minimum": -1,
                                  "description": "−1 any time, 0 never, N days before "
                                                 "expiry."},
    "promo_code": {"type": "string"}}}


@endpoint("/subscriptions/<int:subscription_id>", methods=("PATCH",),
          permission="subscriptions.manage",
          summary="Edit a subscription's name, manager, auto-renewal and renewal points "
                  "(02 R-DET-11)", body=SUBSCRIPTION_SCHEMA)
def update_subscription_api(subscription_id):
    subscription = _subscription(subscription_id)
    data = json_body()
    current = serialize_subscription(subscription)
    fields = {}
    for name, value in data.items():
        if name == "manager_id":
            fields[name] = staff_id_value(value)
        elif name in EDIT_KINDS:
            fields[name] = EDIT_KINDS[name](value, name)
        elif name in current and current[name] == value:
            continue  # a subscription read back and sent again: unchanged read-only fields
        elif name in ACTION_FIELDS:
            raise invalid(name, _("This field changes through %(action)s.",
                                  action=f"/subscriptions/{subscription.id}"
                                         f"{ACTION_FIELDS[name]}"))
        elif name in current:
            raise invalid(name, _("This field cannot be changed."))
        else:
            raise invalid(name, _("Unknown field."))
    update_subscription(subscription, actor=g.principal, **fields)
    db.session.commit()
    return jsonify(serialize_subscription(subscription))


# --- actions ----------------------------------------------------------------------------------

def _reason(data: dict) -> tuple[str, str]:
    return (text()(data.get("reason"), "reason").strip(),
            text()(data.get("comment"), "comment").strip())


@endpoint("/subscriptions/<int:subscription_id>/change-resources", methods=("POST",),
          permission="subscriptions.manage",
          summary="Change resource quantities (02 §4.10): an increase makes a change order "
                  "waiting for payment; a decrease splits the charges at once",
          body={"type": "object", "required": ["resources"], "properties": {
              "resources": {"type": "object",
                            "description": "{plan resource id: new total quantity}; "
                                           "resources not named keep theirs."}}})
def change_resources_api(subscription_id):
    subscription = _subscription(subscription_id)
    data = json_body()
    require(data, "resources")
    requested = quantities_value(data["resources"])
    # The service takes the whole configuration; a resource not named keeps its quantity.
    quantities = {r.plan_resource_id: r.total for r in subscription.resources}
    quantities.update(requested)
    order = place_change_order(subscription, quantities=quantities, actor=g.principal,
                               on=clock.today(), ip=request.remote_addr or "")
    db.session.commit()
    return _answer(subscription, order)


@endpoint("/subscriptions/<int:subscription_id>/renew", methods=("POST",),
          permission="subscriptions.manage",
          summary="Renew for the next term (02 §4.18): a renewal order waiting for payment; "
                  "only from the manual renewal point",
          body={"type": "object", "properties": {
              "period_id": {"type": "integer",
                            "description": "Another published period of the plan (SCR-12); "
                                           "default the subscription's."}}})
def renew_subscription_api(subscription_id):
    subscription = _subscription(subscription_id)
    data = json_body()
    period = None
    if data.get("period_id") is not None:
        period_id = object_id(data["period_id"], "period_id")
        period = next((p for p in subscription.plan.periods if p.id == period_id), None)
        if period is None:
            raise invalid("period_id", _("The period does not belong to the plan."))
    order = place_renewal_order(subscription, actor=g.principal, on=clock.today(),
                                ip=request.remote_addr or "", period=period)
    db.session.commit()
    return _answer(subscription, order)


REASON_SCHEMA = {"type": "object", "required": ["reason"], "properties": {
    "reason": {"type": "string"}, "comment": {"type": "string"}}}


@endpoint("/subscriptions/<int:subscription_id>/stop", methods=("POST",),
          permission="subscriptions.manage",
          summary="Stop an active subscription (02 R-STP-3): stopping, then stopped",
          body=REASON_SCHEMA)
def stop_subscription_api(subscription_id):
    subscription = _subscription(subscription_id)
    reason, comment = _reason(json_body())
    stop_subscription(subscription, reason=reason, comment=comment, actor=g.principal,
                      on=clock.today())
    db.session.commit()
    return _answer(subscription)


@endpoint("/subscriptions/<int:subscription_id>/activate", methods=("POST",),
          permission="subscriptions.manage",
          summary="Activate a stopped subscription (02 R-ACT-1..5): activating, then active",
          body=REASON_SCHEMA)
def activate_subscription_api(subscription_id):
    subscription = _subscription(subscription_id)
    reason, comment = _reason(json_body())
    activate_subscription(subscription, reason=reason, comment=comment, actor=g.principal,
                          on=clock.today())
    db.session.commit()
    return _answer(subscription)


@endpoint("/subscriptions/<int:subscription_id>/delete", methods=("POST",),
          permission="subscriptions.manage",
          summary="Delete a subscription (02 R-DEL-1): its unpaid orders are cancelled and its "
                  "charges split on the day (04a CH-43)")
def delete_subscription_api(subscription_id):
    subscription = _subscription(subscription_id)
    delete_subscription(subscription, actor=g.principal, on=clock.today())
    db.session.commit()
    return _answer(subscription)


@endpoint("/subscriptions/<int:subscription_id>/close-charges", methods=("POST",),
          permission="subscriptions.manage",
          summary="Close all open and held charges at once (04a CH-49, 02 R-CLS-3)")
def close_charges_api(subscription_id):
    subscription = _subscription(subscription_id)
    close_charges_manually(subscription, actor=g.principal, on=clock.today())
    db.session.commit()
    return _answer(subscription)


@endpoint("/subscriptions/<int:subscription_id>/expiry-date", methods=("POST",),
          permission="subscriptions.manage",
          summary="Change the expiry date, a service operation without charges (02 R-EXD-1..4)",
          body={"type": "object", "required": ["expiry_date"], "properties": {
              "expiry_date": {"type": "string", "format": "date"},
              "comment": {"type": "string"}}})
def change_expiry_date_api(subscription_id):
    subscription = _subscription(subscription_id)
    data = json_body()
    require(data, "expiry_date")
    expiry_date = date_value(data["expiry_date"], "expiry_date")
    comment = text()(data.get("comment"), "comment").strip()
    change_expiry_date(subscription, expiry_date=expiry_date, comment=comment,
                       actor=g.principal)
    db.session.commit()
    return _answer(subscription)


NOT_AVAILABLE = {
    "prolong": _l("Prolongation is not available for the %(type)s billing type."),
}


def _not_available(subscription: Subscription, operation: str) -> SubscriptionError:
    # 02 R-PRL-2: only CSP monthly subscriptions are prolonged; the others are paid to their
    # expiry date.
    return SubscriptionError(NOT_AVAILABLE[operation] % {
        "type": subscription.plan.billing_type_label}, code="not_available")


@endpoint("/subscriptions/<int:subscription_id>/switch-plan", methods=("POST",),
          permission="subscriptions.manage",
          summary="Switch to another plan (02 §4.12): a switch order refunding the unused rest "
                  "of the old plan and charging the new one for the same days; waits for its "
                  "payment when it costs something, is carried out at once otherwise",
          body={"type": "object", "required": ["plan_id", "period_id"], "properties": {
              "plan_id": {"type": "integer"}, "period_id": {"type": "integer"},
              "resources": {"type": "object",
                            "description": "{new plan resource id: total quantity}; shared "
                                           "resources default to their current total."}}})
def switch_plan_api(subscription_id):
    subscription = _subscription(subscription_id)
    data = json_body()
    require(data, "plan_id", "period_id")
    plan = db.session.scalar(scoped_select(Plan).where(
        Plan.id == object_id(data["plan_id"], "plan_id")))
    if plan is None:
        raise invalid("plan_id", _("Choose a plan of this reseller."))
    period_id = object_id(data["period_id"], "period_id")
    period = next((p for p in plan.periods if p.id == period_id), None)
    if period is None:
        raise invalid("period_id", _("The period does not belong to the plan."))
    quantities = quantities_value(data.get("resources")) if data.get("resources") else None
    order = place_switch_order(subscription, plan, period, quantities=quantities,
                               actor=g.principal, on=clock.today(), ip=request.remote_addr or "")
    db.session.commit()
    return _answer(subscription, order)


@endpoint("/subscriptions/<int:subscription_id>/prolong", methods=("POST",),
          permission="subscriptions.manage",
          summary="Prolong: not available for the pre-order billing type (422)")
def prolong_subscription_api(subscription_id):
    raise _not_available(_subscription(subscription_id), "prolong")
