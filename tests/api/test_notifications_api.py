"""/api/v1 notification-categories, notification-templates, notification-events,
notifications (the log) and sms-gateways (spec 09; 03 §7.5; API.md).

The tree of tests/api/conftest.py: root ─┬─ alpha ── alpha_one, └─ beta. What the root
creates is copied to alpha, alpha_one and beta; each copy is that reseller's own row.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import portal.api.notifications  # noqa: F401 - the API modules register their routes on import
import portal.api.orders  # noqa: F401
from portal.accounts.models import Role
from portal.core.clock import clock
from portal.extensions import db as database
from portal.notifications.connectors.simulated import SimulatedSmsGateway
from portal.notifications.delivery_models import (AttemptOutcome, Notification,
                                                  NotificationAttempt, NotificationStatus,
                                                  SmsGateway)
from portal.notifications.models import (NotificationCategory, NotificationEvent,
                                         NotificationTemplate, TemplateType)
from portal.settings.services import system_settings
from tests.api.conftest import assert_error
from tests.factories import make_client, make_plan, make_rule, make_staff, make_token
from tests.notifications.delivery_helpers import MailServer, use_smtp

EMAIL = {"type": "email", "name": "Order notice", "sender": "robot@example.com",
         "recipient": "{{ owner.email }}",
         "contents": {"ru": {"subject": "Заказ {{ order.number }}",
                             "body": "<p>Заказ {{ order.number }}</p>\n<p>Спасибо!</p>\n"},
                      "en": {"subject": "Order {{ order.number }}",
                             "body": "<p>Order {{ order.number }}</p>\n"}}}


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    """Run queued jobs in this process and transaction, even when REDIS_URL is set."""
    from portal.core.jobs import InProcessBackend

    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = InProcessBackend()
    yield
    app.extensions["portal_jobs"] = original


@pytest.fixture
def root(api, tree):
    return api.as_(tree.root_token)


@pytest.fixture
def alpha(api, tree):
    return api.as_(tree.alpha_token)


@pytest.fixture
def beta(api, tree):
    return api.as_(tree.beta_token)


def delete(api, path):
    return api.request("DELETE", path)


def made(response, status=201) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def new_category(api, name="Orders", **change) -> dict:
    return made(api.post("/notification-categories", json={"name": name, "published": True,
                                                           **change}))


def new_template(api, category_id, **change) -> dict:
    return made(api.post("/notification-templates",
                         json={**EMAIL, "category_id": category_id, **change}))


def copy_of(model, source_id: int, reseller) -> int:
    return database.session.scalar(select(model.id).where(model.reseller_id == reseller.id,
                                                          model.source_id == source_id))


# -- categories ---------------------------------------------------------------------------------


def test_categories_are_created_below_updated_restored_and_deleted(root, alpha, tree):
    category = new_category(root, description="Order mails")
    assert category["state"] == "own" and not category["inherited"]
    copy_id = copy_of(NotificationCategory, category["id"], tree.alpha)
    copy = made(alpha.get(f"/notification-categories/{copy_id}"), 200)
    assert (copy["name"], copy["inherited"], copy["modified"], copy["source_id"]) == (
        "Orders", True, False, category["id"])
    names = {c["name"] for c in made(alpha.get("/notification-categories?per_page=500"),
                                     200)["items"]}
    assert "Orders" in names

    # A name used here or below is refused (CAT-2).
    assert_error(root.post("/notification-categories", json={"name": " orders "}), 409,
                 code="conflict", fields=["name"])
    changed = made(alpha.patch(f"/notification-categories/{copy_id}",
                               json={"description": "Alpha's own words"}), 200)
    assert changed["modified"] and changed["state"] == "inherited_modified"
    restored = made(alpha.post(f"/notification-categories/{copy_id}/restore"), 200)
    assert (restored["description"], restored["modified"]) == ("Order mails", False)

    # Own rows cannot be restored; copies cannot be deleted (DLT-1): state conflicts.
    assert_error(root.post(f"/notification-categories/{category['id']}/restore"), 409,
                 code="conflict")
    assert_error(delete(alpha, f"/notification-categories/{copy_id}"), 409,
                 code="not_deletable")
    gone = made(delete(root, f"/notification-categories/{category['id']}"), 200)
    assert gone["deleted"] and gone["counts"]["categories"] >= 4  # root + 3 copies
    assert alpha.get(f"/notification-categories/{copy_id}").status_code == 404


def test_category_input_is_checked(root):
    assert_error(root.post("/notification-categories", json={}), 422, fields=["name"])
    assert_error(root.post("/notification-categories", json={"name": "X", "published": "yes"}),
                 422, fields=["published"])
    assert_error(root.post("/notification-categories", json={"name": "x" * 300}), 422,
                 fields=["name"])


# -- templates ----------------------------------------------------------------------------------


def test_a_template_is_created_listed_with_filters_and_copied_below(root, alpha, tree):
    category = new_category(root)
    template = new_template(root, category["id"])
    assert template["contents"]["en"]["subject"] == "Order {{ order.number }}"
    assert (template["type"], template["state"], template["comparable"]) == ("email", "own",
                                                                             False)
    listed = made(root.get(f"/notification-templates?category_id={category['id']}"), 200)
    assert [t["id"] for t in listed["items"]] == [template["id"]]
    text_message = new_template(root, category["id"], type="sms", sender="",
                                recipient="{{ account.phone }}", contents={"ru": {"body": "SMS"}})
    sms = made(root.get("/notification-templates?type=sms&per_page=500"), 200)["items"]
    assert text_message["id"] in {t["id"] for t in sms}
    assert all(t["type"] == "sms" for t in sms)
    assert_error(root.get("/notification-templates?type=fax"), 422, fields=["type"])

    copy_id = copy_of(NotificationTemplate, template["id"], tree.alpha)
    copy = made(alpha.get(f"/notification-templates/{copy_id}"), 200)
    # The copy belongs to alpha's copy of the category (09 A-05).
    assert copy["category_id"] == copy_of(NotificationCategory, category["id"], tree.alpha)
    assert copy["inherited"] and copy["comparable"] and not copy["modified"]


def test_template_problems_are_refused_with_their_lines(root):
    category = new_category(root)
    response = root.post("/notification-templates", json={
        **EMAIL, "category_id": category["id"],
        "contents": {"ru": {"subject": "S", "body": "<p>ok</p>\n{{ order.no_such_thing }}"}}})
    error = assert_error(response, 422, code="template_invalid", fields=["contents.ru.body"])
    [message] = error["fields"]["contents.ru.body"]
    assert "2" in message and "order.no_such_thing" in message
    # Confirmed unknown placeholders are saved; a syntax error never is.
    made(root.post("/notification-templates", json={
        **EMAIL, "category_id": category["id"], "allow_unknown_placeholders": True,
        "contents": {"ru": {"subject": "S", "body": "{{ order.no_such_thing }}"}}}))
    error = assert_error(root.post("/notification-templates", json={
        **EMAIL, "category_id": category["id"], "allow_unknown_placeholders": True,
        "contents": {"ru": {"subject": "{% if %}", "body": "x"}}}), 422,
        fields=["contents.ru.subject"])
    assert "1" in error["fields"]["contents.ru.subject"][0]


@pytest.mark.parametrize(("change", "field"), [
    ({"category_id": "one"}, "category_id"),
    ({"contents": "text"}, "contents"),
    ({"contents": {"de": {"subject": "S", "body": "B"}}}, "contents.de"),
    ({"contents": {"ru": {"subject": 5, "body": "B"}}}, "contents.ru.subject"),
    ({"type": "fax"}, "type"),
    ({"recipient": "not an address"}, "recipient"),
    ({"sender": ""}, "sender"),
    ({"allow_unknown_placeholders": "yes"}, "allow_unknown_placeholders"),
])
def test_template_fields_are_checked(root, change, field):
    category = new_category(root)
    response = root.post("/notification-templates",
                         json={**EMAIL, "category_id": category["id"], **change})
    assert_error(response, 422, fields=[field])


def test_another_resellers_category_cannot_be_used(root, beta, tree):
    category = new_category(root)
    response = beta.post("/notification-templates", json={**EMAIL,
                                                          "category_id": category["id"]})
    assert_error(response, 422, fields=["category_id"])


def test_editing_a_copy_marks_it_modified_compare_shows_fragments_and_restore_undoes(
        root, alpha, tree):
    category = new_category(root)
    template = new_template(root, category["id"])
    copy_id = copy_of(NotificationTemplate, template["id"], tree.alpha)

    assert_error(root.get(f"/notification-templates/{template['id']}/compare"), 409,
                 code="conflict")
    changed = made(alpha.patch(f"/notification-templates/{copy_id}", json={"contents": {
        "ru": {"body": "<p>Заказ {{ order.number }}</p>\n<p>Alpha благодарит!</p>\n"}}}), 200)
    assert changed["modified"] and changed["contents"]["en"] == EMAIL["contents"]["en"]

    compared = made(alpha.get(f"/notification-templates/{copy_id}/compare?language=ru"), 200)
    assert compared["reference_kind"] == "parent"
    [ru] = compared["languages"]
    assert ru["differs"]
    different = [f for f in ru["fragments"] if not f["equal"]]
    assert [(f["current"], f["reference"]) for f in different] == [
        ("<p>Alpha благодарит!</p>\n", "<p>Спасибо!</p>\n")]
    every = made(alpha.get(f"/notification-templates/{copy_id}/compare"), 200)
    assert {c["language"]: c["differs"] for c in every["languages"]} == {"ru": True,
                                                                         "en": False}
    assert_error(alpha.get(f"/notification-templates/{copy_id}/compare?language=de"), 422,
                 fields=["language"])

    # The parent's update no longer reaches the modified copy (D4); restore brings it (D6).
    made(root.patch(f"/notification-templates/{template['id']}",
                    json={"name": "Order notice v2"}), 200)
    assert made(alpha.get(f"/notification-templates/{copy_id}"), 200)["name"] == "Order notice"
    restored = made(alpha.post(f"/notification-templates/{copy_id}/restore"), 200)
    assert (restored["name"], restored["modified"]) == ("Order notice v2", False)
    assert restored["contents"]["ru"] == EMAIL["contents"]["ru"]
    assert_error(root.post(f"/notification-templates/{template['id']}/restore"), 409,
                 code="conflict")


def test_the_type_of_a_template_cannot_change(root):
    template = new_template(root, new_category(root)["id"])
    assert_error(root.patch(f"/notification-templates/{template['id']}", json={"type": "sms"}),
                 422, fields=["type"])


def test_preview_renders_sample_data_and_reports_render_errors(root, tree):
    category = new_category(root)
    template = new_template(root, category["id"], contents={"ru": {
        "subject": "Клиент {{ account.name }}",
        "body": "<p>{{ account.name }} & {{ order.number }}</p>"}})
    preview = made(root.post(f"/notification-templates/{template['id']}/preview",
                             json={"event_type": "order_created", "language": "ru"}), 200)
    assert (preview["event_type"], preview["language"]) == ("order_created", "ru")
    # No order exists yet: clearly fake values.
    assert preview["subject"] == "Клиент [account.name]"
    assert preview["body"] == "<p>[account.name] & [order.number]</p>"
    assert preview["sender"] == "robot@example.com"

    # Unsaved text can be tried; a runaway loop is stopped with a message, not a 500.
    error = assert_error(root.post(f"/notification-templates/{template['id']}/preview", json={
        "body": "{% for i in (1..100000000) %}x{% endfor %}"}), 422, fields=["body"])
    assert error["fields"]["body"][0]
    assert_error(root.post(f"/notification-templates/{template['id']}/preview",
                           json={"event_type": "no_such_event"}), 422, fields=["event_type"])


def test_templates_of_another_reseller_are_not_found(root, beta, tree):
    template = new_template(root, new_category(root)["id"])
    alpha_copy = copy_of(NotificationTemplate, template["id"], tree.alpha)
    for response in (beta.get(f"/notification-templates/{alpha_copy}"),
                     beta.patch(f"/notification-templates/{alpha_copy}", json={"name": "X"}),
                     beta.post(f"/notification-templates/{alpha_copy}/restore"),
                     beta.get(f"/notification-templates/{alpha_copy}/compare"),
                     beta.post(f"/notification-templates/{alpha_copy}/preview", json={}),
                     delete(beta, f"/notification-templates/{alpha_copy}"),
                     # A reseller does not reach its parent's rows either.
                     beta.get(f"/notification-templates/{template['id']}")):
        assert_error(response, 404, code="not_found")


# -- notification events (handlers) -----------------------------------------------------------


def test_handlers_are_created_filtered_activated_restored_and_deleted(root, alpha, tree):
    template = new_template(root, new_category(root)["id"])
    handler = made(root.post("/notification-events", json={
        "event_type": "order_created", "template_type": "email",
        "template_id": template["id"], "rule": 'order.type = "SalesOrder"'}))
    assert (handler["status"], handler["send_immediately"], handler["event_name"]) == (
        "active", True, "Заказ создан")
    assert_error(root.post("/notification-events", json={
        "event_type": "order_created", "template_type": "email",
        "template_id": template["id"], "rule": 'order.type  =  "SalesOrder"'}), 409,
        code="conflict")
    listed = made(root.get(f"/notification-events?template_id={template['id']}"), 200)
    assert [h["id"] for h in listed["items"]] == [handler["id"]]
    mine = made(root.get("/notification-events?event_type=order_created&status=active"
                         "&per_page=500"), 200)["items"]
    assert handler["id"] in {h["id"] for h in mine}
    assert all(h["event_type"] == "order_created" for h in mine)

    copy_id = copy_of(NotificationEvent, handler["id"], tree.alpha)
    # Status changes stay where they are made (EVT-7).
    assert made(alpha.post(f"/notification-events/{copy_id}/deactivate"), 200)["status"] == \
        "inactive"
    assert made(root.get(f"/notification-events/{handler['id']}"), 200)["status"] == "active"
    changed = made(alpha.patch(f"/notification-events/{copy_id}", json={
        "send_immediately": False, "send_hour": 9}), 200)
    assert (changed["send_hour"], changed["modified"]) == (9, True)
    restored = made(alpha.post(f"/notification-events/{copy_id}/restore"), 200)
    assert (restored["send_immediately"], restored["send_hour"], restored["status"],
            restored["modified"]) == (True, None, "inactive", False)
    assert made(alpha.post(f"/notification-events/{copy_id}/activate"), 200)["status"] == \
        "active"
    assert_error(alpha.patch(f"/notification-events/{copy_id}", json={"status": "inactive"}),
                 422, fields=["status"])

    assert_error(delete(alpha, f"/notification-events/{copy_id}"), 409, code="not_deletable")
    assert made(delete(root, f"/notification-events/{handler['id']}"), 200)["deleted"]
    assert alpha.get(f"/notification-events/{copy_id}").status_code == 404


def test_an_invalid_rule_is_refused_with_its_column(root):
    template = new_template(root, new_category(root)["id"])
    error = assert_error(root.post("/notification-events", json={
        "event_type": "order_created", "template_type": "email",
        "template_id": template["id"], "rule": 'order.type = "SalesOrder" and ('}), 422,
        code="rule_invalid", fields=["rule"])
    assert "32" in error["fields"]["rule"][0]  # the column, in the operator language
    error = assert_error(root.post("/notification-events", json={
        "event_type": "order_created", "template_type": "email",
        "template_id": template["id"], "rule": "order.total > 5 & 1"}), 422, fields=["rule"])
    assert "17" in error["fields"]["rule"][0]


@pytest.mark.parametrize(("change", "field"), [
    ({"event_type": "no_such_event"}, "event_type"),
    ({"template_type": "sms"}, "template_id"),
    ({"template_id": 0}, "template_id"),
    ({"send_immediately": False}, "send_hour"),
    ({"send_immediately": False, "send_hour": 24}, "send_hour"),
    ({"send_hour": "9"}, "send_hour"),
    ({"rule": 7}, "rule"),
])
def test_handler_fields_are_checked(root, change, field):
    template = new_template(root, new_category(root)["id"])
    body = {"event_type": "order_created", "template_type": "email",
            "template_id": template["id"], **change}
    assert_error(root.post("/notification-events", json=body), 422, fields=[field])


# -- permissions --------------------------------------------------------------------------------


def test_roles_reach_what_the_matrix_gives_them(api, tree, db):
    product_manager = make_token(make_staff(tree.root, role=Role.PRODUCT_MANAGER))
    db.session.commit()
    sales = api.as_(tree.sales_token)
    pm = api.as_(product_manager)
    # 09 §5.0: notification settings are for administrators and product managers ...
    for path in ("/notification-templates", "/notification-events",
                 "/notification-categories", "/sms-gateways"):
        assert_error(sales.get(path), 403, code="forbidden")
        assert pm.get(path).status_code == 200
    assert_error(sales.post("/notification-categories", json={"name": "Sales"}), 403)
    # ... the notification log for administrators, sales managers and marketing (03 §5.1).
    assert sales.get("/notifications").status_code == 200
    assert_error(pm.get("/notifications"), 403, code="forbidden")
    assert_error(api.as_(None).get("/notifications"), 401)


# -- the notification log ---------------------------------------------------------------------


def _log_entry(reseller, client=None, **values) -> Notification:
    values.setdefault("channel", TemplateType.EMAIL)
    values.setdefault("status", NotificationStatus.SENT)
    notification = Notification(reseller_id=reseller.id, client_id=client.id if client else None,
                                event_type=values.pop("event_type", "order_created"),
                                recipient=values.pop("recipient", "anna@example.com"),
                                subject="Заказ SO000001", body="<p>Заказ</p>",
                                created_at=clock.now(), **values)
    database.session.add(notification)
    database.session.flush()
    return notification


@pytest.fixture
def log(tree, db):
    anna = make_client(tree.alpha)
    boris = make_client(tree.alpha)
    sent = _log_entry(tree.alpha, anna, attempts=2)
    database.session.add_all([
        NotificationAttempt(reseller_id=tree.alpha.id, notification_id=sent.id, cycle=1,
                            attempted_at=clock.now() - timedelta(minutes=1),
                            outcome=AttemptOutcome.RETRY, error="451 try again later"),
        NotificationAttempt(reseller_id=tree.alpha.id, notification_id=sent.id, cycle=1,
                            attempted_at=clock.now(), outcome=AttemptOutcome.SENT)])
    failed = _log_entry(tree.alpha, boris, status=NotificationStatus.FAILED,
                        recipient="not-an-address", event_type="account_changed",
                        last_error="“not-an-address” is not an e-mail address.", attempts=1)
    queued = _log_entry(tree.alpha, anna, channel=TemplateType.SMS, recipient="+79991234567",
                        status=NotificationStatus.QUEUED, event_type="payment_received",
                        next_attempt_at=clock.now() + timedelta(hours=2), send_hour=14)
    theirs = _log_entry(tree.beta, make_client(tree.beta))
    db.session.commit()
    return {"anna": anna.id, "boris": boris.id, "sent": sent.id, "failed": failed.id,
            "queued": queued.id, "theirs": theirs.id}


def ids(response) -> list[int]:
    return [item["id"] for item in made(response, 200)["items"]]


def test_the_log_lists_what_was_sent_to_whom_and_filters(alpha, log):
    assert ids(alpha.get("/notifications")) == [log["queued"], log["failed"], log["sent"]]
    assert ids(alpha.get(f"/notifications?client_id={log['anna']}")) == [log["queued"],
                                                                         log["sent"]]
    assert ids(alpha.get("/notifications?status=failed")) == [log["failed"]]
    assert ids(alpha.get("/notifications?channel=sms")) == [log["queued"]]
    assert ids(alpha.get("/notifications?event_type=account_changed")) == [log["failed"]]
    assert ids(alpha.get("/notifications?recipient=ANNA@")) == [log["sent"]]
    assert ids(alpha.get("/notifications?sort=id")) == [log["sent"], log["failed"],
                                                        log["queued"]]
    first = made(alpha.get("/notifications?status=queued"), 200)["items"][0]
    assert (first["channel"], first["recipient"], first["send_hour"], first["status"],
            first["event_name"]) == ("sms", "+79991234567", 14, "queued",
                                     "Платеж получен")
    assert "body" not in first
    for bad in ("status=lost", "channel=fax", "client_id=x", "event_type=nope"):
        assert_error(alpha.get(f"/notifications?{bad}"), 422)


def test_one_notification_shows_its_body_and_every_attempt(alpha, log):
    entry = made(alpha.get(f"/notifications/{log['sent']}"), 200)
    assert entry["body"] == "<p>Заказ</p>" and entry["subject"] == "Заказ SO000001"
    assert [(a["outcome"], a["error"]) for a in entry["attempt_log"]] == [
        ("retry", "451 try again later"), ("sent", None)]
    failed = made(alpha.get(f"/notifications/{log['failed']}"), 200)
    assert failed["last_error"] == "“not-an-address” is not an e-mail address."


def test_resend_starts_a_new_cycle_and_keeps_the_attempts(alpha, log, tree):
    resent = made(alpha.post(f"/notifications/{log['failed']}/resend"), 200)
    assert (resent["status"], resent["cycle"], resent["attempts"]) == ("queued", 2, 0)
    assert [(a["outcome"], a["actor_id"]) for a in resent["attempt_log"]] == [
        ("resend", tree.alpha_admin.id)]
    # A message still waiting to go out is not sent twice.
    assert_error(alpha.post(f"/notifications/{log['queued']}/resend"), 409, code="conflict")


def test_the_log_of_another_reseller_is_not_found(alpha, beta, api, tree, log):
    assert_error(alpha.get(f"/notifications/{log['theirs']}"), 404)
    assert_error(alpha.post(f"/notifications/{log['theirs']}/resend"), 404)
    assert_error(beta.get(f"/notifications/{log['sent']}"), 404)
    assert ids(beta.get("/notifications")) == [log["theirs"]]
    # The parent sees only its own log, not its resellers' (03 §7.5 is per panel).
    assert ids(api.as_(tree.root_token).get("/notifications")) == []
    sales = api.as_(tree.sales_token)
    assert_error(sales.post(f"/notifications/{log['sent']}/resend"), 404)


# -- SMS gateways -------------------------------------------------------------------------------


def test_sms_gateways_keep_their_password_secret(alpha, beta, tree):
    assert_error(alpha.post("/sms-gateways", json={"name": "smsc", "module": "smscru",
                                                   "settings": {"login": "alpha"}}),
                 422, fields=["settings.password"])
    assert_error(alpha.post("/sms-gateways", json={"name": "smsc", "module": "smscru",
                                                   "settings": {"login": "a", "password": "p",
                                                                "sender": "Alpha",
                                                                "url": "ftp://x"}}),
                 422, fields=["settings.url"])
    assert_error(alpha.post("/sms-gateways", json={"name": "x", "module": "pigeon"}), 422,
                 fields=["module"])
    assert_error(alpha.post("/sms-gateways", json={"name": "x", "module": "simulated",
                                                   "settings": {"login": "a"}}), 422,
                 fields=["settings.login"])
    gateway = made(alpha.post("/sms-gateways", json={
        "name": "smsc.ru", "module": "smscru",
        "settings": {"login": "alpha", "password": "s3cret", "sender": "Alpha"}}))
    assert gateway["settings"] == {"login": "alpha", "password_set": True, "sender": "Alpha",
                                   "url": ""}
    assert "s3cret" not in str(alpha.get(f"/sms-gateways/{gateway['id']}").get_json())

    # An empty password keeps the stored one; the other settings change.
    changed = made(alpha.patch(f"/sms-gateways/{gateway['id']}", json={
        "settings": {"password": "", "sender": "AlphaSMS"}}), 200)
    assert changed["settings"]["sender"] == "AlphaSMS" and changed["settings"]["password_set"]
    stored = database.session.get(SmsGateway, gateway["id"])
    database.session.refresh(stored)
    assert stored.settings["password"] == "s3cret" and stored.settings["login"] == "alpha"

    assert_error(beta.get(f"/sms-gateways/{gateway['id']}"), 404)
    assert_error(beta.patch(f"/sms-gateways/{gateway['id']}", json={"name": "Mine"}), 404)
    assert_error(delete(beta, f"/sms-gateways/{gateway['id']}"), 404)
    assert [g["id"] for g in made(alpha.get("/sms-gateways"), 200)["items"]] == [gateway["id"]]


def test_the_chosen_gateway_cannot_be_deleted_and_children_may_choose_it(root, alpha, api,
                                                                         tree):
    gateway = made(root.post("/sms-gateways", json={"name": "Simulated", "module": "simulated"}))
    assert made(root.put("/sms-gateways/selected", json={"sms_gateway_id": gateway["id"]}),
                200) == {"sms_gateway_id": gateway["id"]}
    assert made(root.get("/sms-gateways"), 200)["items"][0]["selected"]
    # a reseller may choose its own gateway or one of a reseller above it ...
    made(alpha.put("/sms-gateways/selected", json={"sms_gateway_id": gateway["id"]}), 200)
    alpha_gateway = made(alpha.post("/sms-gateways", json={"name": "Alpha sim",
                                                           "module": "simulated"}))
    # ... but never one of a reseller beside or below it.
    assert_error(api.as_(tree.beta_token).put("/sms-gateways/selected", json={
        "sms_gateway_id": alpha_gateway["id"]}), 422, fields=["sms_gateway_id"])
    assert_error(root.put("/sms-gateways/selected", json={"sms_gateway_id": alpha_gateway["id"]}),
                 422, fields=["sms_gateway_id"])
    assert_error(root.put("/sms-gateways/selected", json={}), 422, fields=["sms_gateway_id"])

    # SMS-4, A-28: a gateway some settings select is not deleted.
    assert_error(delete(root, f"/sms-gateways/{gateway['id']}"), 409, code="conflict")
    made(root.put("/sms-gateways/selected", json={"sms_gateway_id": None}), 200)
    assert_error(delete(root, f"/sms-gateways/{gateway['id']}"), 409)  # alpha still uses it
    made(alpha.put("/sms-gateways/selected", json={"sms_gateway_id": None}), 200)
    assert made(delete(root, f"/sms-gateways/{gateway['id']}"), 200)["deleted"]
    assert root.get(f"/sms-gateways/{gateway['id']}").status_code == 404
    assert system_settings(tree.alpha).sms_gateway_id is None


# -- the story: the API sets up a mail, an order sends it, the log shows it -------------------


@pytest.fixture
def mail():
    server = MailServer()
    server.start()
    yield server
    server.stop()


def test_a_template_made_through_the_api_reaches_a_child_resellers_client(
        api, root, alpha, tree, mail, db):
    use_smtp(tree.root, mail)
    anna = make_client(tree.alpha, owner_email="anna@alpha-client.example")
    plan = make_plan(tree.alpha, rule=make_rule(tree.alpha), services=[])
    db.session.commit()

    # At the root: a category, an e-mail template and a handler; copies reach alpha.
    # Published and on by default: the client's users get it without choosing it (09 CAT-4).
    category = new_category(root, name="Story", enabled_on_client_creation=True)
    template = new_template(root, category["id"], sender="shop@operator.example", contents={
        "ru": {"subject": "История: заказ {{ order.number }}",
               "body": "<p>{{ account.name }}, ваш заказ {{ order.number }} принят.</p>"}})
    made(root.post("/notification-events", json={
        "event_type": "order_created", "template_type": "email",
        "template_id": template["id"]}))
    # And one deferred to 15:00 (Moscow), sent by the periodic release in run-due-jobs.
    later = new_template(root, category["id"], name="Later", contents={
        "ru": {"subject": "Позже: {{ order.number }}", "body": "<p>Позже</p>"}})
    made(root.post("/notification-events", json={
        "event_type": "order_created", "template_type": "email", "template_id": later["id"],
        "send_immediately": False, "send_hour": 15}))

    order = made(alpha.post("/orders", json={"client_id": anna.id, "plan_id": plan.id,
                                             "period_id": plan.periods[0].id}))
    summary = made(api.post("/test/run-due-jobs"), 200)
    assert summary["queued_jobs_run"] >= 2  # the dispatch and the send job

    subjects = {m["Subject"]: m for m in mail.to("anna@alpha-client.example")}
    message = subjects[f"История: заказ {order['number']}"]
    assert message["From"] == "shop@operator.example"
    assert f"ваш заказ {order['number']} принят" in message.get_body(("html",)).get_content()
    assert f"Позже: {order['number']}" not in subjects

    sent = made(alpha.get(f"/notifications?client_id={anna.id}&event_type=order_created"
                          "&per_page=500"), 200)["items"]
    story = next(n for n in sent if n["subject"] == f"История: заказ {order['number']}")
    assert (story["status"], story["channel"], story["recipient"], story["attempts"]) == (
        "sent", "email", "anna@alpha-client.example", 1)
    assert story["handler_id"] == copy_of(NotificationEvent,
                                          _handler_id(template["id"]), tree.alpha)
    waiting = next(n for n in sent if n["subject"] == f"Позже: {order['number']}")
    assert (waiting["status"], waiting["send_hour"]) == ("queued", 15)
    assert [a["outcome"] for a in made(alpha.get(f"/notifications/{story['id']}"),
                                       200)["attempt_log"]] == ["sent"]
    # Alpha's preview of its copy now takes its latest order as the sample.
    copy_id = copy_of(NotificationTemplate, template["id"], tree.alpha)
    preview = made(alpha.post(f"/notification-templates/{copy_id}/preview", json={}), 200)
    assert (preview["event_type"], preview["recipient"]) == ("order_created",
                                                             "anna@alpha-client.example")
    assert preview["subject"] == f"История: заказ {order['number']}"

    # The test clock reaches 15:00 in Moscow: run-due-jobs releases and sends the other one.
    made(api.put("/test/clock", json={"now": "2026-11-22T15:00:00+03:00"}), 200)
    made(api.post("/test/run-due-jobs"), 200)
    assert mail.to("anna@alpha-client.example")[-1]["Subject"] == f"Позже: {order['number']}"
    assert made(alpha.get(f"/notifications/{waiting['id']}"), 200)["status"] == "sent"


def _handler_id(template_id: int) -> int:
    return database.session.scalar(select(NotificationEvent.id).where(
        NotificationEvent.template_id == template_id))


def test_run_due_jobs_retries_an_sms_whose_gateway_failed(api, tree, db):
    """A refused send waits for its backoff; run-due-jobs after the clock moves retries it."""
    SimulatedSmsGateway.reset()
    gateway = SmsGateway(reseller_id=tree.alpha.id, name="Sim", module="simulated",
                         settings={})
    database.session.add(gateway)
    database.session.flush()
    system_settings(tree.alpha).sms_gateway_id = gateway.id
    entry = _log_entry(tree.alpha, channel=TemplateType.SMS, recipient="+79991234567",
                       status=NotificationStatus.QUEUED, next_attempt_at=clock.now())
    db.session.commit()
    SimulatedSmsGateway.fail_next("gateway busy")

    made(api.post("/test/run-due-jobs"), 200)
    alpha = api.as_(tree.alpha_token)
    first = made(alpha.get(f"/notifications/{entry.id}"), 200)
    assert (first["status"], first["last_error"]) == ("queued", "gateway busy")
    assert SimulatedSmsGateway.outbox == []

    made(api.put("/test/clock", json={"now": (clock.now() + timedelta(minutes=2)).isoformat()}),
         200)
    made(api.post("/test/run-due-jobs"), 200)
    second = made(alpha.get(f"/notifications/{entry.id}"), 200)
    assert second["status"] == "sent"
    assert [a["outcome"] for a in second["attempt_log"]] == ["retry", "sent"]
    assert [sms.phone for sms in SimulatedSmsGateway.outbox] == ["+79991234567"]
    SimulatedSmsGateway.reset()
