"""Every route, every foreign object: a member of one reseller gets 404 for objects of a
sibling and of its parent, in the panel and in the API (issue 2, "Done when")."""

from __future__ import annotations

import re

import pytest

from portal.accounts.models import Role
from portal.core.clock import clock
from portal.core.models import Operation, OperationStatus
from portal.extensions import db as database
from tests.factories import (Panel, make_plan, make_reseller, make_root, make_service,
                             make_staff, make_token)

# URL argument -> how to find "the other tenant's object" of that kind.
ARGUMENTS = {"reseller_id", "member_id", "token_id", "operation_id", "rule_id",
             "product_category_id", "plan_category_id", "category_id", "service_id",
             "product_id", "item_id", "plan_id", "period_id", "resource_id", "client_id",
             "user_id", "client_type_id", "parameter_id", "group_id", "comment_id",
             "order_id", "payment_id", "subscription_id", "task_id", "manual_operation_id",
             "charge_id", "transaction_id", "notification_id", "template_id", "handler_id",
             "gateway_id"}
# Routes whose arguments are not object ids.
NON_OBJECT_ARGUMENTS = {"filename", "code", "token", "kind", "list_key"}


@pytest.fixture
def tree(app, db):
    """root → A → A1, and root → B → B1: A is the tenant under test."""
    root = make_root()
    a = make_reseller(root, name="Alpha", slug="alpha")
    a1 = make_reseller(a, name="Alpha One", slug="alpha-one")
    b = make_reseller(root, name="Beta", slug="beta")
    b1 = make_reseller(b, name="Beta One", slug="beta-one")
    a_admin = make_staff(a, role=Role.SYSTEM_ADMIN)
    foreign = {}
    for owner in (root, b, b1):
        member = make_staff(owner)
        from portal.accounts.services import create_api_token

        token, _raw = create_api_token(member)
        operation = Operation(reseller_id=owner.id, kind="export", created_by_id=member.id,
                              status=OperationStatus.DONE, created_at=clock.now(),
                              file_name="x.csv", file_type="text/csv", file_data=b"x")
        database.session.add(operation)
        database.session.flush()
        foreign[owner.slug] = {"reseller_id": owner.id, "member_id": member.id,
                               "token_id": token.id, "operation_id": operation.id}
        foreign[owner.slug].update(_catalogue(owner))
        foreign[owner.slug].update(_clients(owner, member))
        foreign[owner.slug].update(_ordering(owner))
        foreign[owner.slug].update(_notifications(owner))
    return {"root": root, "a": a, "a1": a1, "b": b, "a_admin": a_admin, "foreign": foreign}


def _catalogue(owner) -> dict:
    """One of everything the catalogue routes name, owned by `owner`."""
    from portal.catalog.services import add_marketing_item

    service = make_service(owner)
    plan = make_plan(owner, services=[service], resources=[
        {"service_resource_id": service.resources[0].id, "minimum": 1, "limit": 5}])
    item = add_marketing_item(plan.product, kind="advantage", name="Fast")
    return {"rule_id": plan.provisioning_rule_id,
            "product_category_id": plan.product.product_category_id,
            "plan_category_id": plan.plan_category_id, "service_id": service.id,
            "service_resource_id": service.resources[0].id, "product_id": plan.product_id,
            "item_id": item.id, "plan_id": plan.id, "period_id": plan.periods[0].id,
            "plan_resource_id": plan.resources[0].id}


def _clients(owner, member) -> dict:
    """A client with its owner, a comment, a client type with a parameter, a service rule."""
    from portal.clients.services.parameters import create_parameter, ensure_default_group
    from portal.core.models import Comment
    from tests.factories import make_client, make_client_type, make_service_rule

    client_type = make_client_type(owner)
    parameter = create_parameter(owner, applies_to="client", client_type_id=client_type.id,
                                 name="Code", key="code", data_type="string", optional=True)
    rule = make_service_rule(owner)
    client = make_client(owner, client_type=client_type, service_rule=rule)
    comment = Comment(reseller_id=owner.id, subject_type="Client", subject_id=client.id,
                      text="note", author_id=member.id, created_at=clock.now())
    database.session.add(comment)
    database.session.flush()
    return {"client_id": client.id, "user_id": client.owner.id,
            "client_type_id": client_type.id, "parameter_id": parameter.id,
            "group_id": ensure_default_group(owner).id, "comment_id": comment.id,
            "service_rule_id": rule.id}


def _ordering(owner) -> dict:
    """A paid order with its subscription, payment, charge, transaction, provisioning task and
    a manual operation, owned by `owner`."""
    from portal.billing.models import Charge, Transaction
    from portal.orders.models import ManualOperation, ManualOperationType, Task
    from portal.orders.services.ordering import place_sales_order
    from portal.orders.services.payments import complete_payment
    from tests.factories import make_client, make_rule

    client = make_client(owner)
    plan = make_plan(owner, rule=make_rule(owner), services=[make_service(owner)])
    order = place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None,
                              on=clock.today())
    complete_payment(order.payment, from_balance=False, actor=None, on=clock.today())
    task = database.session.query(Task).filter_by(subscription_id=order.subscription_id).first()
    operation = ManualOperation(reseller_id=owner.id, client_id=client.id,
                                subscription_id=order.subscription_id,
                                operation_type=ManualOperationType.SUBSCRIPTION_STOP,
                                created_at=clock.now())
    database.session.add(operation)
    database.session.flush()
    charge = database.session.query(Charge).filter_by(order_id=order.id).first()
    transaction = database.session.query(Transaction).filter_by(client_id=client.id).first()
    notification = _panel_notification(client)
    return {"order_id": order.id, "payment_id": order.payment_id,
            "subscription_id": order.subscription_id, "task_id": task.id,
            "manual_operation_id": operation.id, "charge_id": charge.id,
            "transaction_id": transaction.id, "notification_id": notification.id}


def _notifications(owner) -> dict:
    """The owner's notification category, template and handler (its copies of the installed
    set) and an SMS gateway of its own."""
    from portal.notifications.models import (NotificationCategory, NotificationEvent,
                                             NotificationTemplate)
    from portal.notifications.services.sms_gateways import create_sms_gateway

    def first(model):
        return database.session.query(model).filter_by(reseller_id=owner.id).order_by(
            model.id).first().id

    gateway = create_sms_gateway(owner, name="Gateway", module="simulated")
    return {"notification_category_id": first(NotificationCategory),
            "template_id": first(NotificationTemplate), "handler_id": first(NotificationEvent),
            "gateway_id": gateway.id}


def _panel_notification(client):
    """A client-panel message for the client's owner (the client panel's bell)."""
    from portal.notifications.delivery_models import Notification, NotificationStatus
    from portal.notifications.models import TemplateType

    notification = Notification(
        reseller_id=client.reseller_id, client_id=client.id, user_id=client.owner.id,
        event_type="subscription_changed", channel=TemplateType.CLIENT_PANEL,
        recipient=str(client.owner.id), subject="Hello", status=NotificationStatus.SENT,
        created_at=clock.now())
    database.session.add(notification)
    database.session.flush()
    return notification


def object_rules(app, prefix_filter):
    rules = []
    for rule in app.url_map.iter_rules():
        args = set(rule.arguments)
        if not args or not prefix_filter(rule.rule):
            continue
        unknown = args - ARGUMENTS - NON_OBJECT_ARGUMENTS
        assert not unknown, f"{rule.rule}: teach this test which objects {unknown} name"
        if args & ARGUMENTS:
            rules.append(rule)
    return rules


def fill(rule, values) -> str:
    def value(match):
        name = match.group(1)
        # Two kinds of object share these argument names; the path says which one it is.
        if name == "category_id":
            name = ("notification_category_id" if "notification" in rule.rule
                    else "plan_category_id" if "plan-categories" in rule.rule
                    else "product_category_id")
        elif name == "rule_id" and "service-rules" in rule.rule:
            name = "service_rule_id"
        elif name == "resource_id":
            name = "service_resource_id" if "/services/" in rule.rule else "plan_resource_id"
        if name == "kind":
            return "advantage"
        return str(values[name])

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", value, rule.rule)


def test_every_panel_route_hides_other_tenants_objects(app, tree):
    panel = Panel(app, tree["a"], tree["a_admin"])
    token = panel.csrf()
    rules = object_rules(app, lambda path: not path.startswith("/api/"))
    assert len(rules) >= 12
    checked = 0
    for owner, values in tree["foreign"].items():
        for rule in rules:
            url = fill(rule, values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    response = panel.get(url)
                else:
                    response = panel.client.open(url, method=method, base_url=panel.base,
                                                 data={"csrf_token": token})
                assert response.status_code == 404, (owner, method, url, response.status_code)
                checked += 1
    assert checked >= 36
    # Nothing of theirs was touched.
    database.session.expire_all()
    assert tree["b"].name == "Beta" and tree["root"].status.value == "active"


def test_every_api_route_hides_other_tenants_objects(app, client, tree):
    token = make_token(tree["a_admin"])
    headers = {"Authorization": f"Bearer {token}"}
    rules = object_rules(app, lambda path: path.startswith("/api/"))
    assert rules
    for owner, values in tree["foreign"].items():
        for rule in rules:
            values_for = dict(values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(fill(rule, values_for), method=method, headers=headers,
                                       json={})
                assert response.status_code == 404, (owner, method, rule.rule)
                assert response.get_json()["error"]["code"] == "not_found"


def test_own_descendant_is_inside_the_reach(app, tree):
    panel = Panel(app, tree["a"], tree["a_admin"])
    assert panel.get(f"/resellers/{tree['a1'].id}").status_code == 200
    # ...but a reseller is not its own subordinate.
    assert panel.get(f"/resellers/{tree['a'].id}").status_code == 404


def test_unknown_host_is_a_plain_404(app, client, tree):
    response = client.get("/login", base_url="http://nobody.example.com")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Root Operator" not in html and "csrf_token" not in html


def test_session_of_one_panel_does_not_open_another(app, tree):
    panel = Panel(app, tree["a"], tree["a_admin"])
    # The same browser (cookie jar) visiting the sibling's host is not signed in there.
    response = panel.client.get("/", base_url="http://beta.localhost")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
