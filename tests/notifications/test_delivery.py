"""Notification delivery (09 §4.1, §4.14, §6 J1–J5; 03 §7.5; 07 BR-27): events run the
owning reseller's active handlers, messages reach a real local SMTP server through the
reseller's (inherited) SMTP settings, retries back off, the log keeps every attempt.

The tree: the operator (root, with the SMTP server) → reseller R1 → R2 and its sibling R2b.
R2 overrides the installed "order created" e-mail; R2b changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core import jobs
from portal.extensions import db as database
from portal.notifications.delivery_models import (AttemptOutcome, Notification,
                                                  NotificationAttempt, NotificationPreference,
                                                  NotificationStatus)
from portal.notifications.dispatch import dispatch, rule_values
from portal.notifications.models import NotificationTemplate, TemplateType
from portal.notifications.sending import (BACKOFF_MINUTES, MAX_ATTEMPTS, DeliveryError,
                                          email_problem, release_due_notifications,
                                          resend_notification, send_pending)
from portal.notifications.services import update_template
from portal.notifications.services.delegation import family_map
from portal.orders.services.ordering import place_sales_order
from portal.settings.services import system_settings
from tests.factories import make_client, make_plan, make_reseller, make_root, make_staff
from tests.notifications.delivery_helpers import (MailServer, log_of, make_channel, quiet,
                                                  use_smtp)

TODAY = date(2026, 11, 22)  # the frozen clock: 09:00 UTC, 12:00 in Moscow


@pytest.fixture(autouse=True)
def in_process_jobs(app):
    """Run queued jobs in this process and transaction, even when REDIS_URL is set."""
    from portal.core.jobs import InProcessBackend

    original = app.extensions["portal_jobs"]
    app.extensions["portal_jobs"] = InProcessBackend()
    yield
    app.extensions["portal_jobs"] = original


@pytest.fixture
def mail():
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tree(db, mail):
    root = make_root()
    use_smtp(root, mail)
    r1 = make_reseller(root, name="Reseller One")
    r2 = make_reseller(r1, name="Reseller Two")
    r2b = make_reseller(r1, name="Reseller Two B")
    database.session.commit()
    run_jobs()
    mail.messages.clear()
    return SimpleNamespace(root=root, r1=r1, r2=r2, r2b=r2b)


def run_jobs():
    """Commit, then run what the commit queued, until nothing is left (send jobs included)."""
    database.session.commit()
    for _ in range(10):
        if not jobs.drain():
            return


def release(clock=None, **advance):
    """Move the clock, then let the periodic job queue what has come due, and run it."""
    if clock is not None and advance:
        clock.advance(**advance)
    release_due_notifications()
    run_jobs()


def order_for(client, plan):
    return place_sales_order(client, plan, plan.periods[0], quantities={}, actor=None, on=TODAY)


def template_at(reseller, key="order_created.email"):
    root_template = database.session.scalar(select(NotificationTemplate).where(
        NotificationTemplate.default_key == key))
    return database.session.get(NotificationTemplate,
                                family_map(NotificationTemplate, root_template.id)[reseller.id])


def fresh(notification: Notification) -> Notification:
    return database.session.get(Notification, notification.id)


# -- the done-when scenario: the overriding reseller's text, sender and logo -------------------


def test_an_order_at_a_reseller_that_overrode_the_template_sends_its_text_sender_and_logo(
        tree, mail):
    # R2 has its own logo and rewrites its copy of the installed "order created" e-mail.
    tree.r2.logo, tree.r2.logo_type = b"\x89PNG fake", "image/png"
    copy = template_at(tree.r2)
    update_template(copy, sender="sales@reseller-two.example", contents={"ru": {
        "subject": "R2: заказ {{ order.number }}",
        "body": '<img src="{{ vendor.logo }}"><p>Reseller Two благодарит за заказ '
                "{{ order.number }} на {{ order.total | format_as_currency }}.</p>"}})
    assert copy.modified
    client2 = make_client(tree.r2, owner_email="anna@client-two.example")
    client2b = make_client(tree.r2b, owner_email="boris@client-two-b.example")
    plan2, plan2b = make_plan(tree.r2), make_plan(tree.r2b)
    run_jobs()
    mail.messages.clear()

    order2 = order_for(client2, plan2)
    order2b = order_for(client2b, plan2b)
    run_jobs()

    [own] = mail.to("anna@client-two.example")
    assert own["From"] == "sales@reseller-two.example"
    assert own["Subject"] == f"R2: заказ {order2.number}"
    html = own.get_body(("html",)).get_content()
    assert f"Reseller Two благодарит за заказ {order2.number}" in html
    logo = html.split('src="')[1].split('"')[0]
    assert logo.startswith("http") and "logo" in logo and tree.r2.slug in logo
    # The sibling changed nothing: the operator's text, the operator's sender (inherited SMTP).
    [sibling] = mail.to("boris@client-two-b.example")
    assert sibling["From"] == "noreply@operator.example"
    assert sibling["Subject"] == f"Заказ {order2b.number} создан"
    assert "благодарит" not in sibling.get_body(("html",)).get_content()
    assert f"Создан заказ {order2b.number}" in sibling.get_body(("html",)).get_content()
    # Each message is in its own reseller's log, sent, with one attempt.
    [logged] = log_of(tree.r2, event_type="order_created")
    assert logged.status == NotificationStatus.SENT and logged.attempts == 1
    assert logged.handler.reseller_id == tree.r2.id and logged.template_id == copy.id
    assert logged.recipient == "anna@client-two.example" and logged.language == "ru"
    assert logged.info == str(_l("Recipient: %(recipient)s, Subject: %(subject)s",
                                 recipient="anna@client-two.example",
                                 subject=f"R2: заказ {order2.number}"))
    assert [log.recipient for log in log_of(tree.r2b, event_type="order_created")] == [
        "boris@client-two-b.example"]


def test_a_reseller_never_runs_another_resellers_handlers(tree, mail):
    client2 = make_client(tree.r2, owner_email="anna@client-two.example")
    quiet(tree.r2)
    quiet(tree.r2b)
    make_channel(tree.r2b, recipient="spy@example.com")  # R2b listens to account_changed
    make_channel(tree.r2, recipient="{{ owner.email }}")
    run_jobs()
    mail.messages.clear()

    dispatch("account_changed", {"client": client2.id})
    # An emitter that names another reseller beside the client is refused outright.
    assert dispatch("account_changed", {"client": client2.id, "reseller": tree.r2b.id}) == []
    run_jobs()

    assert [r for _s, r, _m in mail.messages] == [["anna@client-two.example"]]
    assert log_of(tree.r2b) == []
    assert database.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.recipient == "spy@example.com")) == 0


def test_updating_the_root_template_reaches_the_unchanged_copies_and_restore_brings_it_back(
        tree, mail):
    from portal.notifications.services import restore_template

    copy = template_at(tree.r2)
    update_template(copy, contents={"ru": {"subject": "R2 {{ order.number }}",
                                           "body": "<p>R2 text</p>"}})
    root_template = template_at(tree.root)
    update_template(root_template, contents={"ru": {"subject": "Новый {{ order.number }}",
                                                    "body": "<p>Новый текст оператора</p>"}})
    client2 = make_client(tree.r2, owner_email="anna@client-two.example")
    client2b = make_client(tree.r2b, owner_email="boris@client-two-b.example")
    order2, order2b = order_for(client2, make_plan(tree.r2)), order_for(client2b,
                                                                         make_plan(tree.r2b))
    run_jobs()
    assert mail.to("anna@client-two.example")[-1]["Subject"] == f"R2 {order2.number}"
    assert mail.to("boris@client-two-b.example")[-1]["Subject"] == f"Новый {order2b.number}"

    restore_template(copy)
    dispatch("order_created", {"order": order2.id})
    run_jobs()
    assert mail.to("anna@client-two.example")[-1]["Subject"] == f"Новый {order2.number}"


# -- handlers: status, rules, tenancy -----------------------------------------------------------


@pytest.fixture
def shop(tree, mail):
    """R2 with its installed handlers switched off and a client whose owner is Anna."""
    quiet(tree.r2)
    client = make_client(tree.r2, owner_email="anna@client-two.example", country="RU")
    run_jobs()
    mail.messages.clear()
    return SimpleNamespace(reseller=tree.r2, client=client, owner=client.owner, tree=tree)


def test_the_rule_decides_whether_a_handler_sends(shop, mail):
    make_channel(shop.reseller, rule='account.status.was = "active" and account.country = "RU"',
                 subject_ru="rule holds")
    make_channel(shop.reseller, rule='account.status.was = "financially_blocked"',
                 subject_ru="rule fails")
    dispatch("account_changed", {"client": shop.client.id}, was={"account.status": "active"})
    run_jobs()
    assert [m["Subject"] for _s, _r, m in mail.messages] == ["rule holds"]


def test_rule_values_come_from_the_context_the_emitter_and_the_order(shop):
    order = order_for(shop.client, make_plan(shop.reseller))
    from portal.notifications.placeholders import build_context

    context = build_context("order_created", reseller=shop.reseller, order=order, language="ru")
    values = rule_values({"order.type", "order.status", "order.total", "order.renewal_is_positive",
                          "account.regular_sending", "order.status.was", "current_date",
                          "account.name"},
                         context, objects={"order": order}, extra={"account.regular_sending":
                                                                   "true"},
                         was={"order.status": "new"})
    assert values["order.type"] == "SalesOrder"  # the manual's machine value (09 EX-15, EX-24)
    assert values["order.status"] == order.status.value
    assert values["order.total"] == order.total
    assert values["order.renewal_is_positive"] is False
    assert values["account.regular_sending"] == "true"
    assert values["order.status.was"] == "new"
    assert values["current_date"] == TODAY
    assert values["account.name"] == shop.client.name


def test_an_inactive_handler_sends_nothing(shop, mail):
    from portal.notifications.services import deactivate_handler

    _category, _template, handler = make_channel(shop.reseller)
    deactivate_handler(handler)
    assert dispatch("account_changed", {"client": shop.client.id}) == []
    run_jobs()
    assert mail.messages == []


def test_a_template_that_cannot_render_fails_its_message_and_not_the_others(shop, mail):
    make_channel(shop.reseller, body_ru="<p>{{ 1 | divided_by: 0 }}</p>", subject_ru="broken")
    make_channel(shop.reseller, subject_ru="fine")
    made = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    broken, fine = (fresh(n) for n in made)
    assert broken.status == NotificationStatus.FAILED and broken.last_error
    assert broken.attempts == 0 and broken.body == ""  # nothing half-rendered goes out
    assert fine.status == NotificationStatus.SENT
    assert [m["Subject"] for _s, _r, m in mail.messages] == ["fine"]


# -- recipients, preferences, language ---------------------------------------------------------


def add_user(client, email, **kw):
    from portal.clients.services.users import attach_user, create_user

    user = create_user(client.reseller, email=email, first_name="Petr", last_name="User",
                       password="Test-pass-2026")
    user.language = kw.get("language")
    attach_user(client, user, access_level="user")
    return user


def test_a_bad_address_fails_at_once_and_the_others_are_still_sent(shop, mail):
    # A placeholder can render what the template editor could not check: the owner's name.
    make_channel(shop.reseller, recipient="{{ owner.email }}; {{ owner.first_name }}, "
                                          "b@example.com",
                 cc="boss@example.com, {{ owner.last_name }}")
    made = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    by_recipient = {n.recipient: fresh(n) for n in made}
    first, last = shop.owner.first_name, shop.owner.last_name
    assert by_recipient[first].status == NotificationStatus.FAILED
    assert by_recipient[first].last_error == email_problem(first) and first in email_problem(first)
    assert by_recipient[first].attempts == 0  # never offered to the server
    assert by_recipient[last].status == NotificationStatus.FAILED  # a bad Cc, its own row
    assert by_recipient["anna@client-two.example"].status == NotificationStatus.SENT
    assert by_recipient["b@example.com"].status == NotificationStatus.SENT
    # The copy went once, with the first message.
    assert [r for _s, r, _m in mail.messages] == [
        ["anna@client-two.example", "boss@example.com"], ["b@example.com"]]
    assert mail.messages[0][2]["Cc"] == "boss@example.com"


def test_a_recipient_the_server_refuses_does_not_hold_up_the_batch(shop, mail):
    make_channel(shop.reseller, recipient="{{ owner.email }}, refused@example.com, c@example.com")
    mail.handler.refuse_for = {"refused@example.com"}
    made = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    statuses = {n.recipient: fresh(n).status for n in made}
    assert statuses == {"anna@client-two.example": NotificationStatus.SENT,
                        "refused@example.com": NotificationStatus.QUEUED,  # retried later
                        "c@example.com": NotificationStatus.SENT}
    refused = next(fresh(n) for n in made if n.recipient == "refused@example.com")
    assert refused.last_error.startswith("550") and refused.attempts == 1


def test_client_users_preferences_are_honoured_per_category_and_channel(shop, mail):
    petr = add_user(shop.client, "petr@client-two.example")
    category, _template, _handler = make_channel(
        shop.reseller, recipient="{{ owner.email }}, petr@client-two.example, boss@example.com")
    # Petr switched e-mails of this category off; Anna never chose (the default is on).
    database.session.add(NotificationPreference(reseller_id=shop.reseller.id, user_id=petr.id,
                                                category_id=category.id, email_enabled=False))
    dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    assert sorted(r[0] for _s, r, _m in mail.messages) == ["anna@client-two.example",
                                                          "boss@example.com"]


def test_a_category_off_by_default_reaches_only_those_who_switched_it_on(shop, mail):
    petr = add_user(shop.client, "petr@client-two.example")
    category, _template, _handler = make_channel(
        shop.reseller, enabled=False, recipient="{{ owner.email }}, petr@client-two.example")
    database.session.add(NotificationPreference(reseller_id=shop.reseller.id, user_id=petr.id,
                                                category_id=category.id, email_enabled=True,
                                                panel_enabled=False))
    dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    assert [r for _s, r, _m in mail.messages] == [["petr@client-two.example"]]


def test_an_unpublished_category_cannot_be_switched_off(shop, mail):
    category, _template, _handler = make_channel(shop.reseller, published=False, enabled=False)
    database.session.add(NotificationPreference(reseller_id=shop.reseller.id,
                                                user_id=shop.owner.id, category_id=category.id,
                                                email_enabled=False))
    dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    assert [r for _s, r, _m in mail.messages] == [["anna@client-two.example"]]


def test_the_language_is_the_recipients_else_the_resellers_default(shop, mail):
    petr = add_user(shop.client, "petr@client-two.example", language="en")
    olga = add_user(shop.client, "olga@client-two.example", language="de")  # no German text
    member = make_staff(shop.reseller, email="staff@reseller-two.example", language="en")
    make_channel(shop.reseller, recipient="{{ owner.email }}, petr@client-two.example, "
                                          "olga@client-two.example, staff@reseller-two.example")
    dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    subjects = {r[0]: m["Subject"] for _s, r, m in mail.messages}
    name = shop.client.name
    assert subjects == {"anna@client-two.example": f"Клиент {name}",
                        "petr@client-two.example": f"Client {name}",
                        "olga@client-two.example": f"Клиент {name}",
                        "staff@reseller-two.example": f"Client {name}"}
    rows = {n.recipient: n for n in log_of(shop.reseller)}
    assert rows["petr@client-two.example"].user_id == petr.id
    assert rows["olga@client-two.example"].user_id == olga.id
    assert rows["staff@reseller-two.example"].staff_member_id == member.id
    assert rows["olga@client-two.example"].language == "ru"

    # The reseller's default language for clients now English: Anna (no language) follows it.
    system_settings(shop.reseller).client_default_language = "en"
    mail.messages.clear()
    dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    subjects = {r[0]: m["Subject"] for _s, r, m in mail.messages}
    assert subjects["anna@client-two.example"] == f"Client {name}"
    assert subjects["olga@client-two.example"] == f"Client {name}"


def test_client_panel_messages_are_stored_at_once_for_the_clients_users_only(shop, mail):
    other = make_client(shop.reseller, owner_email="stranger@example.com")
    make_channel(shop.reseller, type="client_panel",
                 user_id=f"{{{{ owner.id }}}}, {other.owner.id}, abc",
                 subject_ru="Тема {{ account.name }}", body_ru="<b>{{ account.name }}</b>")
    run_jobs()
    mail.messages.clear()
    made = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    by_recipient = {n.recipient: fresh(n) for n in made}
    panel = by_recipient[str(shop.owner.id)]
    assert panel.status == NotificationStatus.SENT and panel.sent_at is not None
    assert panel.user_id == shop.owner.id and panel.read_at is None
    assert panel.subject == f"Тема {shop.client.name}"
    assert panel.body == f"<b>{shop.client.name}</b>"
    # Another client's user and something that is no id fail, visibly.
    assert by_recipient[str(other.owner.id)].status == NotificationStatus.FAILED
    assert by_recipient["abc"].status == NotificationStatus.FAILED
    assert mail.messages == []


# -- timing -------------------------------------------------------------------------------------


def test_a_handler_with_an_hour_defers_sending_until_that_hour(shop, mail, frozen_clock):
    make_channel(shop.reseller, send_hour=14, subject_ru="at 14")
    make_channel(shop.reseller, send_hour=10, subject_ru="at 10")  # 10:00 passed: tomorrow
    made = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    at14, at10 = (fresh(n) for n in made)
    assert at14.status == NotificationStatus.QUEUED and at14.send_hour == 14
    assert at14.next_attempt_at == datetime(2026, 11, 22, 11, 0, tzinfo=UTC)  # 14:00 Moscow
    assert at10.next_attempt_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    release(frozen_clock, hours=1, minutes=59)  # 13:59 in Moscow
    assert mail.messages == []
    release(frozen_clock, minutes=1)  # 14:00
    assert [m["Subject"] for _s, _r, m in mail.messages] == ["at 14"]
    release(frozen_clock, hours=20)  # 10:00 the next day
    assert [m["Subject"] for _s, _r, m in mail.messages] == ["at 14", "at 10"]
    release(frozen_clock, hours=1)  # idempotent: nothing is sent twice
    assert len(mail.messages) == 2


def test_an_event_during_the_handlers_hour_is_sent_at_once(shop, mail):
    make_channel(shop.reseller, send_hour=12)  # the clock says 12:00 in Moscow
    dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    assert len(mail.messages) == 1


# -- failures and retries -----------------------------------------------------------------------


def outcomes_of(notification):
    return [(a.cycle, a.outcome) for a in database.session.scalars(
        select(NotificationAttempt).where(NotificationAttempt.reseller_id
                                          == notification.reseller_id,
                                          NotificationAttempt.notification_id
                                          == notification.id)
        .order_by(NotificationAttempt.id))]


def test_a_refusing_server_is_retried_with_backoff_then_the_message_fails(shop, mail,
                                                                         frozen_clock):
    make_channel(shop.reseller)
    mail.handler.refuse = "550 5.7.1 Relaying denied"
    [made] = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    row = fresh(made)
    assert (row.status, row.attempts) == (NotificationStatus.QUEUED, 1)
    assert row.last_error == "550 5.7.1 Relaying denied"
    start = frozen_clock.now()
    waited = 0
    for attempt, minutes in enumerate(BACKOFF_MINUTES, start=1):
        assert fresh(made).next_attempt_at == start + timedelta(minutes=waited + minutes)
        release(frozen_clock, minutes=minutes - 1)  # not yet due
        assert fresh(made).attempts == attempt
        release(frozen_clock, minutes=1)
        waited += minutes
        assert fresh(made).attempts == attempt + 1
    row = fresh(made)
    assert row.status == NotificationStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert row.next_attempt_at is None and row.last_error.startswith("550")
    assert outcomes_of(row) == [(1, AttemptOutcome.RETRY)] * 4 + [(1, AttemptOutcome.FAILED)]
    release(frozen_clock, hours=5)
    assert fresh(made).attempts == MAX_ATTEMPTS  # failed for good: no more tries
    assert mail.messages == []


def test_an_unreachable_server_loses_nothing_and_delivers_once_it_is_back(shop, mail,
                                                                         frozen_clock):
    make_channel(shop.reseller, recipient="{{ owner.email }}, b@example.com")
    mail.stop()
    made = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    for row in map(fresh, made):
        assert row.status == NotificationStatus.QUEUED and row.attempts == 1
        assert "cannot connect" in row.last_error
    release(frozen_clock, minutes=1)  # still down: the second try fails too
    assert {fresh(n).attempts for n in made} == {2}
    mail.start()
    release(frozen_clock, minutes=5)
    assert {fresh(n).status for n in made} == {NotificationStatus.SENT}
    assert sorted(r[0] for _s, r, _m in mail.messages) == ["anna@client-two.example",
                                                          "b@example.com"]
    assert outcomes_of(fresh(made[0])) == [(1, AttemptOutcome.RETRY), (1, AttemptOutcome.RETRY),
                                           (1, AttemptOutcome.SENT)]


def test_a_batch_goes_over_one_smtp_connection(shop, mail):
    recipients = ", ".join(f"user{n}@example.com" for n in range(30))
    make_channel(shop.reseller, recipient=recipients)
    dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    assert len(mail.messages) == 30
    assert mail.handler.sessions == 1


def test_a_claim_of_a_worker_that_died_lapses_and_the_message_is_sent(shop, mail, frozen_clock):
    from portal.notifications.sending import CLAIM_MINUTES, claim_due

    make_channel(shop.reseller)
    [made] = dispatch("account_changed", {"client": shop.client.id})
    database.session.flush()
    assert claim_due(shop.reseller.id, now=frozen_clock.now()) == [made.id]
    database.session.commit()
    jobs.backend().pending.queue.clear()  # the worker died with the batch claimed
    release(frozen_clock, minutes=CLAIM_MINUTES - 1)
    assert fresh(made).status == NotificationStatus.SENDING and mail.messages == []
    release(frozen_clock, minutes=1)
    assert fresh(made).status == NotificationStatus.SENT and len(mail.messages) == 1


# -- resend, attachments, the platform's SMTP ---------------------------------------------------


def test_resend_starts_a_new_cycle_and_keeps_the_history(shop, mail):
    make_channel(shop.reseller)
    [made] = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    row = fresh(made)
    assert row.status == NotificationStatus.SENT
    member = make_staff(shop.reseller)
    resend_notification(row, actor=member)
    assert row.status == NotificationStatus.QUEUED and row.cycle == 2 and row.attempts == 0
    with pytest.raises(DeliveryError):
        resend_notification(row, actor=member)  # already waiting to go
    run_jobs()
    row = fresh(made)
    assert row.status == NotificationStatus.SENT and row.attempts == 1
    assert outcomes_of(row) == [(1, AttemptOutcome.SENT), (2, AttemptOutcome.RESEND),
                                (2, AttemptOutcome.SENT)]
    assert len(mail.messages) == 2


def test_a_failed_message_can_be_resent_once_the_cause_is_fixed(shop, mail):
    make_channel(shop.reseller, recipient="{{ owner.email }}", cc="")
    mail.handler.refuse_for = {"anna@client-two.example"}
    [made] = dispatch("account_changed", {"client": shop.client.id})
    run_jobs()
    row = fresh(made)
    row.status, row.next_attempt_at = NotificationStatus.FAILED, None  # as after the last try
    mail.handler.refuse_for = set()
    resend_notification(row)
    run_jobs()
    assert fresh(made).status == NotificationStatus.SENT
    assert len(mail.messages) == 1


def test_attachments_are_sent_with_the_email(shop, mail):
    import base64

    row = Notification(reseller_id=shop.reseller.id, client_id=shop.client.id,
                       event_type="order_created", channel=TemplateType.EMAIL,
                       recipient="anna@client-two.example", subject="Invoice",
                       body="<p>See the invoice.</p>", status=NotificationStatus.QUEUED,
                       next_attempt_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
                       attachments=[{"name": "invoice.pdf", "content_type": "application/pdf",
                                     "data": base64.b64encode(b"%PDF-1.4 fake").decode()}])
    database.session.add(row)
    database.session.commit()
    assert send_pending(shop.reseller.id) == 1
    [(_sender, _rcpts, message)] = mail.messages
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content() == b"%PDF-1.4 fake"
    assert "See the invoice." in message.get_body(("plain",)).get_content()


def test_without_any_reseller_smtp_the_platform_default_is_used(app, shop, mail):
    root = shop.tree.root
    root.smtp_host = ""
    make_channel(shop.reseller)
    app.config["NOTIFICATIONS_SMTP"] = {"host": "127.0.0.1", "port": mail.port,
                                        "sender": "platform@example.com"}
    try:
        dispatch("account_changed", {"client": shop.client.id})
        run_jobs()
    finally:
        app.config.pop("NOTIFICATIONS_SMTP")
    [(sender, _rcpts, message)] = mail.messages
    assert message["From"] == "robot@example.com"  # the template's own sender wins
    assert sender == "robot@example.com"


def test_a_server_that_never_answers_times_out_and_the_try_is_logged(app, shop, mail):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # takes the connection, never says hello
    root = shop.tree.root
    root.smtp_port = silent.getsockname()[1]
    make_channel(shop.reseller)
    app.config["NOTIFICATIONS_SMTP_TIMEOUT"] = 0.3
    try:
        [made] = dispatch("account_changed", {"client": shop.client.id})
        run_jobs()
    finally:
        app.config.pop("NOTIFICATIONS_SMTP_TIMEOUT")
        silent.close()
    row = fresh(made)
    assert (row.status, row.attempts) == (NotificationStatus.QUEUED, 1)
    assert "timed out" in row.last_error
    assert outcomes_of(row) == [(1, AttemptOutcome.RETRY)]
