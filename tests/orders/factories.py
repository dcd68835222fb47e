"""Subscriptions and orders ready for provisioning, built directly as rows (flush, no commit)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from portal.core.clock import clock
from portal.extensions import db
from portal.orders.models import Order, OrderStatus, OrderType
from portal.subscriptions.models import Subscription, SubscriptionResource, SubscriptionStatus
from tests.factories import make_client, make_plan, make_reseller, make_service

_seq = itertools.count(1)


def make_service_template(reseller, *, connector: str = "simulated", settings: dict | None = None,
                          name: str | None = None, resources=(("Licences", "units"),)):
    """A service template whose connector behaves as `settings` say."""
    service = make_service(reseller, connector=connector, resources=resources,
                           **({"name": name} if name else {}))
    if settings is not None:
        service.settings = settings
    db.session.flush()
    return service


def make_provisioning_subscription(reseller=None, *, services=None, connector: str = "simulated",
                                   settings: dict | None = None, quantity: str = "5",
                                   client=None, status=SubscriptionStatus.INSTALLING,
                                   with_order: bool = True):
    """A subscription being installed and its sales order in provisioning.

    One service (with one resource, `quantity` units) unless `services` is given; an empty
    list makes a plan that provisions nothing.
    """
    reseller = reseller or make_reseller()
    if services is None:
        services = [make_service_template(reseller, connector=connector, settings=settings)]
    resources = [{"service_resource_id": service.resources[0].id, "minimum": 1, "limit": 100,
                  "monthly_fee": "10.00"} for service in services if service.resources]
    plan = make_plan(reseller, services=services, resources=resources)
    client = client or make_client(reseller)
    period = plan.periods[0]
    subscription = Subscription(
        reseller_id=reseller.id, client_id=client.id, plan_id=plan.id,
        plan_period_id=period.id, name=plan.name, status=status, currency=plan.currency,
        start_date=clock.today(), monthly_fee=period.monthly_fee)
    db.session.add(subscription)
    db.session.flush()
    for plan_resource in plan.resources:
        db.session.add(SubscriptionResource(
            reseller_id=reseller.id, subscription_id=subscription.id,
            plan_resource_id=plan_resource.id, name=plan_resource.name,
            included=plan_resource.included,
            additional=Decimal(quantity) - plan_resource.included,
            minimum=plan_resource.minimum, limit=plan_resource.limit,
            monthly_fee=plan_resource.monthly_fee))
    order = None
    if with_order:
        order = Order(
            reseller_id=reseller.id, client_id=client.id, subscription_id=subscription.id,
            number=f"SO{next(_seq):06d}", order_type=OrderType.SALES_ORDER,
            status=OrderStatus.PROVISIONING, currency=plan.currency, plan_id=plan.id,
            plan_period_id=period.id, provision_date=clock.today(), created_on=clock.today(),
            total=period.monthly_fee, gross_total=period.monthly_fee)
        db.session.add(order)
    db.session.flush()
    db.session.expire(subscription, ["resources", "service_instances"])
    return subscription, order


def ensure_provisioning_pages(app) -> None:
    """Register the provisioning blueprint on the test app when create_app does not yet."""
    if "provisioning" in app.blueprints:
        return
    from portal.orders.views.provisioning import bp

    handled = app._got_first_request
    app._got_first_request = False  # the suite's shared app has served requests already
    try:
        app.register_blueprint(bp)
    finally:
        app._got_first_request = handled
