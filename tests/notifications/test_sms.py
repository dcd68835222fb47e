"""SMS notifications (09 §2.6, §4.13, TPL-3, A-28; issue 6): the reseller's gateway (its own
choice or the nearest ancestor's), the simulated module, the smsc.ru module against a local
HTTP server, phone numbers in international format, retries, preferences."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import jobs
from portal.extensions import db as database
from portal.notifications.connectors import SimulatedSmsGateway, SmscRuGateway, SmsError
from portal.notifications.delivery_models import (AttemptOutcome, Notification,
                                                  NotificationPreference, NotificationStatus,
                                                  SmsGateway, SmsModule)
from portal.notifications.dispatch import dispatch
from portal.notifications.models import NotificationTemplate, TemplateType
from portal.notifications.sending import (phone_problem, release_due_notifications,
                                          sms_gateway_for)
from portal.settings.services import system_settings
from tests.factories import make_client, make_reseller, make_root
from tests.notifications.delivery_helpers import make_channel, quiet

PHONE = "+74951234567"


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    from portal.core.jobs import InProcessBackend

    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = InProcessBackend()
    SimulatedSmsGateway.reset()
    yield
    app.extensions["portal_jobs"] = original
    SimulatedSmsGateway.reset()


def run_jobs():
    database.session.commit()
    for _ in range(10):
        if not jobs.drain():
            return


def fresh(notification):
    return database.session.get(Notification, notification.id)


def gateway(reseller, module=SmsModule.SIMULATED, **settings):
    row = SmsGateway(reseller_id=reseller.id, name=f"{module} gateway", module=module,
                     settings={"sender": "Operator", **settings})
    database.session.add(row)
    database.session.flush()
    return row


@pytest.fixture
def shop(db):
    root = make_root()
    reseller = make_reseller(root, name="SMS reseller")
    quiet(reseller)
    client = make_client(reseller, owner_email="anna@example.com", phone="+7 (495) 123-45-67")
    run_jobs()
    make_channel(reseller, type="sms", recipient="{{ account.phone }}",
                 body_ru="Клиент {{ account.name }}: статус изменён", body_en=None)
    return root, reseller, client


def test_an_sms_goes_through_the_gateway_an_ancestor_chose(shop):
    root, reseller, client = shop
    chosen = gateway(root)
    system_settings(root).sms_gateway_id = chosen.id  # the child chose nothing: A-28
    assert sms_gateway_for(reseller) == chosen
    [made] = dispatch("account_changed", {"client": client.id})
    run_jobs()
    assert fresh(made).status == NotificationStatus.SENT
    assert fresh(made).recipient == PHONE  # spaces and brackets dropped
    [sms] = SimulatedSmsGateway.outbox
    assert (sms.phone, sms.text) == (PHONE, f"Клиент {client.name}: статус изменён")


def test_a_resellers_own_choice_wins_and_an_inactive_gateway_is_none(shop):
    root, reseller, _client = shop
    system_settings(root).sms_gateway_id = gateway(root).id
    own = gateway(reseller)
    system_settings(reseller).sms_gateway_id = own.id
    assert sms_gateway_for(reseller) == own
    own.active = False
    assert sms_gateway_for(reseller) is None


def test_without_a_gateway_the_sms_fails_with_a_clear_error(shop):
    _root, _reseller, client = shop
    [made] = dispatch("account_changed", {"client": client.id})
    run_jobs()
    row = fresh(made)
    assert row.status == NotificationStatus.FAILED
    assert row.last_error == str(_l("No SMS gateway is selected for this reseller or above it."))


def test_a_number_not_in_international_format_fails_and_the_others_go(shop):
    root, reseller, client = shop
    system_settings(root).sms_gateway_id = gateway(root).id
    make_channel(reseller, type="sms", recipient="{{ account.zip }}, +15550001111",
                 body_ru="второй", body_en=None)
    client.postal_code = "8 495 123"
    made = dispatch("account_changed", {"client": client.id})
    run_jobs()
    by_recipient = {n.recipient: fresh(n) for n in made}
    assert by_recipient["8495123"].status == NotificationStatus.FAILED
    assert by_recipient["8495123"].last_error == phone_problem("8495123")
    assert by_recipient[PHONE].status == NotificationStatus.SENT
    assert by_recipient["+15550001111"].status == NotificationStatus.SENT
    assert sorted(s.phone for s in SimulatedSmsGateway.outbox) == ["+15550001111", PHONE]


def test_a_gateway_refusal_is_retried_then_sent(shop, frozen_clock):
    root, _reseller, client = shop
    system_settings(root).sms_gateway_id = gateway(root).id
    SimulatedSmsGateway.fail_next("service busy")
    [made] = dispatch("account_changed", {"client": client.id})
    run_jobs()
    row = fresh(made)
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.QUEUED, 1,
                                                          "service busy")
    frozen_clock.advance(minutes=1)
    release_due_notifications()
    run_jobs()
    row = fresh(made)
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    assert [a.outcome for a in row.attempt_log] == [AttemptOutcome.RETRY, AttemptOutcome.SENT]


def test_a_permanent_refusal_fails_at_once(shop):
    root, _reseller, client = shop
    system_settings(root).sms_gateway_id = gateway(root, fail="blocked sender",
                                                   fail_permanently=True).id
    [made] = dispatch("account_changed", {"client": client.id})
    run_jobs()
    assert (fresh(made).status, fresh(made).attempts) == (NotificationStatus.FAILED, 1)


def test_the_owners_sms_switch_is_honoured(shop):
    root, reseller, client = shop
    system_settings(root).sms_gateway_id = gateway(root).id
    sms_template = database.session.scalar(select(NotificationTemplate).where(
        NotificationTemplate.reseller_id == reseller.id,
        NotificationTemplate.type == TemplateType.SMS))
    database.session.add(NotificationPreference(
        reseller_id=reseller.id, user_id=client.owner.id, category_id=sms_template.category_id,
        sms_enabled=False))
    assert dispatch("account_changed", {"client": client.id}) == []
    run_jobs()
    assert SimulatedSmsGateway.outbox == []


# -- the smsc.ru module against a local HTTP server ----------------------------------------------


class _SmscHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", 0))
        fields = urllib.parse.parse_qs(self.rfile.read(length).decode())
        self.server.requests.append({k: v[0] for k, v in fields.items()})
        status, answer = self.server.answers.pop(0) if self.server.answers else (
            200, {"id": 77, "cnt": 1})
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def smsc():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SmscHandler)
    server.requests, server.answers = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/sys/send.php"
    yield server
    server.shutdown()
    server.server_close()


def test_smscru_posts_the_message_and_reads_the_message_id(smsc):
    connector = SmscRuGateway({"login": "operator", "password": "s3cret", "sender": "Cloud",
                               "url": smsc.url})
    assert connector.send(PHONE, "Код 1234") == "77"
    assert smsc.requests == [{"login": "operator", "psw": "s3cret", "phones": PHONE,
                              "mes": "Код 1234", "sender": "Cloud", "charset": "utf-8",
                              "fmt": "3"}]


@pytest.mark.parametrize(("answer", "permanent", "text"), [
    ((200, {"error": "invalid number", "error_code": 7}), True, "smsc.ru error 7: invalid number"),
    ((200, {"error": "not enough money", "error_code": 3}), False, "smsc.ru error 3"),
    ((500, {"oops": True}), False, "smsc.ru: HTTP 500"),
])
def test_smscru_refusals_say_whether_a_retry_can_help(smsc, answer, permanent, text):
    smsc.answers.append(answer)
    connector = SmscRuGateway({"login": "operator", "password": "s3cret", "url": smsc.url})
    with pytest.raises(SmsError) as raised:
        connector.send(PHONE, "text")
    assert raised.value.permanent is permanent
    assert str(raised.value).startswith(text)


def test_smscru_without_credentials_or_reachable_endpoint(smsc):
    with pytest.raises(SmsError) as raised:
        SmscRuGateway({"url": smsc.url}).send(PHONE, "text")
    assert raised.value.permanent
    smsc.shutdown()
    smsc.server_close()
    with pytest.raises(SmsError) as raised:
        SmscRuGateway({"login": "a", "password": "b", "url": smsc.url}).send(PHONE, "text")
    assert not raised.value.permanent


def test_an_sms_event_through_smscru_end_to_end(shop, smsc):
    root, _reseller, client = shop
    system_settings(root).sms_gateway_id = gateway(
        root, SmsModule.SMSCRU, login="operator", password="s3cret", url=smsc.url).id
    [made] = dispatch("account_changed", {"client": client.id})
    run_jobs()
    assert fresh(made).status == NotificationStatus.SENT
    [request] = smsc.requests
    assert request["phones"] == PHONE and request["mes"].startswith("Клиент")
    assert request["sender"] == "Operator"
