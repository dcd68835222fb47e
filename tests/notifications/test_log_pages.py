"""Operator-panel pages of the notification log (03 §5.1 S6, §2.5; issue 6 item 5) and of SMS
gateways (09 §5.4 S11–S13, SMS-1..4, A-28): lists with filters, a message with its attempts
and Resend, gateway create / edit / delete with confirmation, the gateway the reseller sends
through; another reseller's rows are 404, a role without the section 403."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.core.clock import clock
from portal.notifications.delivery_models import (AttemptOutcome, Notification,
                                                  NotificationAttempt, NotificationStatus,
                                                  SmsGateway, SmsModule)
from portal.notifications.models import TemplateType
from portal.settings.services import system_settings
from tests.factories import Panel, make_client, make_reseller, make_root, make_staff


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    """A resend queues a send job: keep it in this process (REDIS_URL may be set)."""
    from portal.core.jobs import InProcessBackend

    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = InProcessBackend()
    yield
    app.extensions["portal_jobs"] = original


def entry(db, reseller, client=None, **values) -> Notification:
    values.setdefault("channel", TemplateType.EMAIL)
    values.setdefault("status", NotificationStatus.SENT)
    notification = Notification(
        reseller_id=reseller.id, client_id=client.id if client else None,
        event_type=values.pop("event_type", "order_created"),
        recipient=values.pop("recipient", "anna@example.com"),
        subject=values.pop("subject", "Заказ SO000001 создан"),
        body=values.pop("body", "<p>Заказ создан</p>"), created_at=clock.now(), **values)
    db.session.add(notification)
    db.session.flush()
    return notification


def row_ids(html_text: str, key: str) -> list[int]:
    return [int(i) for i in re.findall(rf'<tr id="{key}-(\d+)">', html_text)]


def row_text(html_text: str, key: str, row_id: int) -> str:
    match = re.search(rf'<tr id="{key}-{row_id}">(.*?)</tr>', html_text, re.S)
    assert match, f"no row {key}-{row_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def field_error(html_text: str, name: str) -> str | None:
    match = re.search(rf'id="field-{name}">.*?class="error" role="alert">([^<]*)<', html_text,
                      re.S)
    return html.unescape(match.group(1)) if match else None


@pytest.fixture
def tree(app, db):
    root = make_root()
    reseller = make_reseller(root, name="Distributor")
    sibling = make_reseller(root, name="Sibling")
    admin = make_staff(reseller)
    anna, boris = make_client(reseller), make_client(reseller)
    anna.name, boris.name = "Anna Trading", "Boris Logistics"
    sent = entry(db, reseller, anna, attempts=2, subject="Заказ SO000001 создан",
                 body='<p>Заказ</p><script>alert("x")</script>')
    db.session.add_all([
        NotificationAttempt(reseller_id=reseller.id, notification_id=sent.id, cycle=1,
                            attempted_at=clock.now() - timedelta(minutes=1),
                            outcome=AttemptOutcome.RETRY, error="451 4.3.0 try again later"),
        NotificationAttempt(reseller_id=reseller.id, notification_id=sent.id, cycle=1,
                            attempted_at=clock.now(), outcome=AttemptOutcome.SENT)])
    failed = entry(db, reseller, boris, status=NotificationStatus.FAILED,
                   recipient="not-an-address", event_type="account_changed",
                   subject="Клиент изменён", attempts=1,
                   last_error="“not-an-address” is not an e-mail address.")
    queued = entry(db, reseller, anna, channel=TemplateType.SMS, recipient="+79991234567",
                   status=NotificationStatus.SENDING, event_type="payment_received",
                   subject="", body="Платёж получен", send_hour=14,
                   next_attempt_at=clock.now() + timedelta(hours=2))
    theirs = entry(db, sibling, make_client(sibling))
    db.session.commit()
    panel = Panel(app, reseller, admin)
    # English: the labels are the message ids, whatever the catalogue holds.
    panel.post("/language/en", data={"next": "/"})
    return {"root": root, "reseller": reseller, "sibling": sibling, "admin": admin,
            "panel": panel, "anna": anna.id, "boris": boris.id,
            "sent": sent.id, "failed": failed.id, "queued": queued.id, "theirs": theirs.id}


# -- the log --------------------------------------------------------------------------------------


def test_the_log_lists_every_message_with_its_event_handler_channel_and_status(tree):
    page = tree["panel"].get("/notifications/log")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert row_ids(text, "notification_log") == [tree["queued"], tree["failed"], tree["sent"]]
    assert row_text(text, "notification_log", tree["sent"]) == (
        f"{tree['sent']} 22.11.2026 12:00 Order created — Email Anna Trading anna@example.com "
        "Заказ SO000001 создан completed 2")
    # A message a send job holds is still "queued" for the operator (03 §2.5).
    assert "SMS" in row_text(text, "notification_log", tree["queued"])
    assert "queued" in row_text(text, "notification_log", tree["queued"])
    assert tree["theirs"] not in row_ids(text, "notification_log")


@pytest.mark.parametrize(("query", "expected"), [
    ("f_status=failed", ["failed"]),
    ("f_status=queued", ["queued"]),
    ("f_status=sent", ["sent"]),
    ("f_channel=sms", ["queued"]),
    ("f_event_type=account_changed", ["failed"]),
    ("f_client=Boris", ["failed"]),
    ("f_client=ANNA", ["queued", "sent"]),
    ("q=not-an", ["failed"]),
    ("q=%2B7999", ["queued"]),
    ("f_status=lost", []),
])
def test_the_log_filters_by_status_channel_event_client_and_recipient(tree, query, expected):
    response = tree["panel"].get(f"/notifications/log?{query}", headers={"HX-Request": "true"})
    text = response.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="list-notification_log"')  # the list partial
    assert row_ids(text, "notification_log") == [tree[name] for name in expected]


def test_the_log_filters_by_client_id(tree):
    text = tree["panel"].get(f"/notifications/log?f_client={tree['boris']}").get_data(
        as_text=True)
    assert row_ids(text, "notification_log") == [tree["failed"]]


def test_a_message_shows_its_rendered_body_sandboxed_and_every_attempt(tree):
    response = tree["panel"].get(f"/notifications/log/{tree['sent']}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'id="notification-subject">Заказ SO000001 создан<' in text
    frame = re.search(r'<iframe[^>]*id="notification-body"[^>]*>', text).group(0)
    assert 'sandbox=""' in frame
    # The body is inert text inside srcdoc: its script cannot close the attribute or run here.
    assert "<script>" not in text.split('id="notification-body"')[1].split("</iframe>")[0]
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert srcdoc == '<p>Заказ</p><script>alert("x")</script>'
    attempts = re.findall(r'<tr id="attempt-\d+" data-outcome="(\w+)">(.*?)</tr>', text, re.S)
    assert [outcome for outcome, _cells in attempts] == ["retry", "sent"]
    assert "451 4.3.0 try again later" in attempts[0][1]
    assert 'id="resend-button"' in text

    sms = tree["panel"].get(f"/notifications/log/{tree['queued']}").get_data(as_text=True)
    assert '<pre class="code" id="notification-body">Платёж получен</pre>' in sms
    assert 'id="notification-send-hour">14:00<' in sms
    assert 'id="resend-button"' not in sms  # still waiting to go out
    failed = tree["panel"].get(f"/notifications/log/{tree['failed']}").get_data(as_text=True)
    assert "is not an e-mail address" in failed and 'id="notification-error"' in failed


def test_resend_queues_the_message_again_and_keeps_the_old_attempts(db, tree):
    panel = tree["panel"]
    response = panel.post(f"/notifications/log/{tree['failed']}/resend")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/notifications/log/{tree['failed']}")
    notification = db.session.get(Notification, tree["failed"])
    db.session.refresh(notification)
    assert (notification.status, notification.cycle, notification.attempts) == (
        NotificationStatus.QUEUED, 2, 0)
    outcomes = [a.outcome for a in db.session.scalars(select(NotificationAttempt).where(
        NotificationAttempt.reseller_id == tree["reseller"].id,
        NotificationAttempt.notification_id == tree["failed"]))]
    assert outcomes == [AttemptOutcome.RESEND]
    page = panel.get(f"/notifications/log/{tree['failed']}").get_data(as_text=True)
    assert 'data-outcome="resend"' in page and tree["admin"].name in page


def test_a_queued_message_is_not_resent(db, tree):
    response = tree["panel"].post(f"/notifications/log/{tree['queued']}/resend")
    assert response.status_code == 302
    notification = db.session.get(Notification, tree["queued"])
    db.session.refresh(notification)
    assert (notification.status, notification.cycle) == (NotificationStatus.SENDING, 1)
    page = tree["panel"].get(f"/notifications/log/{tree['queued']}").get_data(as_text=True)
    assert "flash-error" in page


def test_another_resellers_messages_are_not_found(tree):
    panel = tree["panel"]
    assert panel.get(f"/notifications/log/{tree['theirs']}").status_code == 404
    assert panel.post(f"/notifications/log/{tree['theirs']}/resend").status_code == 404


def test_the_log_is_for_the_roles_the_matrix_gives_it(app, db, tree):
    product_manager = make_staff(tree["reseller"], role=Role.PRODUCT_MANAGER)
    sales = make_staff(tree["reseller"], role=Role.SALES_MANAGER)
    db.session.commit()
    pm = Panel(app, tree["reseller"], product_manager)
    assert pm.get("/notifications/log").status_code == 403
    assert pm.get(f"/notifications/log/{tree['sent']}").status_code == 403
    seller = Panel(app, tree["reseller"], sales)
    assert seller.get("/notifications/log").status_code == 200
    page = seller.get(f"/notifications/log/{tree['sent']}").get_data(as_text=True)
    assert 'id="resend-button"' in page  # 03 §5.1: sales managers have the whole section
    # SMS gateways are configuration: administrators and product managers (09 §5.0).
    assert seller.get("/notifications/sms-gateways").status_code == 403
    assert pm.get("/notifications/sms-gateways").status_code == 200


# -- SMS gateways -----------------------------------------------------------------------------


def gateways_of(db, reseller) -> list[SmsGateway]:
    return list(db.session.scalars(select(SmsGateway).where(
        SmsGateway.reseller_id == reseller.id).order_by(SmsGateway.id)))


SMSC = {"name": "smsc.ru", "module": "smscru", "settings-login": "distributor",
        "settings-password": "s3cret", "settings-sender": "Distrib", "settings-url": ""}


def test_the_module_decides_the_settings_the_form_asks_for(tree):
    panel = tree["panel"]
    page = panel.get("/notifications/sms-gateways/new").get_data(as_text=True)
    for key in ("login", "password", "sender", "url"):
        assert f'name="settings-{key}"' in page
    partial = panel.get("/notifications/sms-gateways/module-settings?module=simulated",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="module-no-settings"' in partial and "settings-login" not in partial
    partial = panel.get("/notifications/sms-gateways/module-settings?module=smscru",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'type="password" name="settings-password"' in partial


def test_a_gateway_is_created_edited_with_its_password_kept_and_deleted(db, tree):
    panel = tree["panel"]
    response = panel.post("/notifications/sms-gateways/new",
                          data={**SMSC, "settings-password": ""})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "settings-password")
    assert gateways_of(db, tree["reseller"]) == []

    response = panel.post("/notifications/sms-gateways/new", data=SMSC)
    assert response.status_code == 302
    [gateway] = gateways_of(db, tree["reseller"])
    assert gateway.settings == {"login": "distributor", "password": "s3cret",
                                "sender": "Distrib"}
    page = panel.get(f"/notifications/sms-gateways/{gateway.id}").get_data(as_text=True)
    assert 'value="distributor"' in page and "s3cret" not in page
    assert 'id="settings-password-kept"' in page

    listed = panel.get("/notifications/sms-gateways").get_data(as_text=True)
    assert row_text(listed, "sms_gateways", gateway.id) == (
        f"{gateway.id} smsc.ru smsc.ru Distributor No")

    # Saved with the password left empty: the stored one stays.
    response = panel.post(f"/notifications/sms-gateways/{gateway.id}", data={
        **SMSC, "name": "smsc.ru main", "settings-password": "",
        "settings-url": "https://smsc.ru/sys/send.php"})
    assert response.status_code == 302
    db.session.refresh(gateway)
    assert gateway.name == "smsc.ru main"
    assert gateway.settings["password"] == "s3cret"
    assert gateway.settings["url"] == "https://smsc.ru/sys/send.php"
    response = panel.post(f"/notifications/sms-gateways/{gateway.id}",
                          data={**SMSC, "settings-url": "ftp://smsc.ru"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "settings-url")

    # 09 SMS-4: deleting asks for confirmation first.
    confirm = panel.get(f"/notifications/sms-gateways/{gateway.id}/delete",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="delete-dialog"' in confirm and 'id="delete-confirm">Confirm<' in confirm
    assert 'id="delete-dialog"' in panel.get(
        f"/notifications/sms-gateways/{gateway.id}/delete").get_data(as_text=True)
    assert gateways_of(db, tree["reseller"]) == [gateway]
    response = panel.post(f"/notifications/sms-gateways/{gateway.id}/delete")
    assert response.status_code == 302
    assert gateways_of(db, tree["reseller"]) == []


def test_the_reseller_chooses_its_gateway_and_a_chosen_gateway_is_not_deleted(app, db, tree):
    panel = tree["panel"]
    above = SmsGateway(reseller_id=tree["root"].id, name="Operator SMS",
                       module=SmsModule.SIMULATED, settings={})
    beside = SmsGateway(reseller_id=tree["sibling"].id, name="Sibling SMS",
                        module=SmsModule.SIMULATED, settings={})
    own = SmsGateway(reseller_id=tree["reseller"].id, name="Own SMS",
                     module=SmsModule.SIMULATED, settings={})
    db.session.add_all([above, beside, own])
    db.session.commit()

    page = panel.get("/notifications/sms-gateways").get_data(as_text=True)
    options = re.findall(r'<option value="(\d+)"', page.split('id="sms_gateway_id"')[1]
                         .split("</select>")[0])
    assert sorted(int(o) for o in options) == sorted([own.id, above.id])

    panel.post("/notifications/sms-gateways/selection", data={"sms_gateway_id": str(above.id)})
    assert system_settings(tree["reseller"]).sms_gateway_id == above.id
    panel.post("/notifications/sms-gateways/selection", data={"sms_gateway_id": str(beside.id)})
    assert system_settings(tree["reseller"]).sms_gateway_id == above.id  # refused
    panel.post("/notifications/sms-gateways/selection", data={"sms_gateway_id": str(own.id)})
    assert system_settings(tree["reseller"]).sms_gateway_id == own.id
    listed = panel.get("/notifications/sms-gateways").get_data(as_text=True)
    assert row_text(listed, "sms_gateways", own.id).endswith("Yes")

    response = panel.post(f"/notifications/sms-gateways/{own.id}/delete")
    assert response.status_code == 409
    assert "selected in system settings" in response.get_data(as_text=True)
    assert gateways_of(db, tree["reseller"]) == [own]
    panel.post("/notifications/sms-gateways/selection", data={"sms_gateway_id": ""})
    assert system_settings(tree["reseller"]).sms_gateway_id is None
    assert panel.post(f"/notifications/sms-gateways/{own.id}/delete").status_code == 302


def test_another_resellers_gateways_are_not_found(db, tree):
    beside = SmsGateway(reseller_id=tree["sibling"].id, name="Sibling SMS",
                        module=SmsModule.SIMULATED, settings={})
    db.session.add(beside)
    db.session.commit()
    panel = tree["panel"]
    assert panel.get(f"/notifications/sms-gateways/{beside.id}").status_code == 404
    assert panel.post(f"/notifications/sms-gateways/{beside.id}",
                      data={"name": "Mine", "module": "simulated"}).status_code == 404
    assert panel.get(f"/notifications/sms-gateways/{beside.id}/delete").status_code == 404
    assert panel.post(f"/notifications/sms-gateways/{beside.id}/delete").status_code == 404
    assert panel.get("/notifications/sms-gateways/module-settings?module=simulated"
                     f"&gateway_id={beside.id}").status_code == 404
    assert db.session.get(SmsGateway, beside.id).name == "Sibling SMS"
    listed = panel.get("/notifications/sms-gateways").get_data(as_text=True)
    assert row_ids(listed, "sms_gateways") == []


def test_a_product_manager_sees_gateways_but_a_reader_cannot_change_them(app, db, tree):
    own = SmsGateway(reseller_id=tree["reseller"].id, name="Own SMS",
                     module=SmsModule.SMSCRU, settings={"login": "l", "password": "p",
                                                        "sender": "S"})
    db.session.add(own)
    sales = make_staff(tree["reseller"], role=Role.SALES_MANAGER)
    db.session.commit()
    seller = Panel(app, tree["reseller"], sales)
    assert seller.post(f"/notifications/sms-gateways/{own.id}/delete").status_code == 403
    assert seller.post("/notifications/sms-gateways/new", data=SMSC).status_code == 403
    assert seller.post("/notifications/sms-gateways/selection",
                       data={"sms_gateway_id": str(own.id)}).status_code == 403


def test_the_log_exports_the_selection(tree):
    response = tree["panel"].get("/notifications/log?export=csv&f_client=Anna")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].split(",")[:3] == ["ID", "Created", "Event"]
    assert [line.split(",")[0] for line in lines[1:]] == [str(tree["queued"]),
                                                          str(tree["sent"])]
    assert "Anna Trading" in lines[2] and "anna@example.com" in lines[2]
