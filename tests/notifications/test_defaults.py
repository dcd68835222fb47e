"""The operator's installed notification set (09 §2.1 Установлен, DEL-5; issue 6 item 1): one
e-mail template in Russian and English and one active handler per available event type, valid
by the same checks staff edits go through, copied to every reseller."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from portal.extensions import db as database
from portal.notifications.defaults import (DEFAULT_TEMPLATES, SENDER,
                                           install_default_notifications)
from portal.notifications.event_types import (DEFAULT_CATEGORIES, EVENT_TYPES,
                                              available_event_types, event_type)
from portal.notifications.liquid_env import render_template
from portal.notifications.models import (DelegationState, HandlerStatus, NotificationCategory,
                                         NotificationEvent, NotificationTemplate,
                                         NotificationTemplateContent, TemplateType)
from portal.notifications.placeholders import fake_context
from portal.notifications.services import NotificationError, update_template
from portal.notifications.services.templates import default_snapshot
from portal.notifications.services.validation import (check_rule, check_template,
                                                      clean_contents, template_schema)
from tests.factories import make_reseller, make_root

# 09 EVT-RULE-REQ: these need a rule to work as intended.
RULE_REQUIRED = {"account_credit_hold_coming", "before_subscription_expiration",
                 "after_subscription_expiration", "days_left_to_pay", "csp_price_update",
                 "billing_day_coming"}


def rows(model, reseller):
    return database.session.scalars(select(model).where(model.reseller_id == reseller.id)
                                    .order_by(model.id)).all()


def installed(model, root):
    return {row.default_key: row for row in rows(model, root) if row.installed}


def test_every_available_event_has_a_bilingual_email_template_and_an_active_handler(db):
    root = make_root()
    templates = installed(NotificationTemplate, root)
    handlers = installed(NotificationEvent, root)

    for event in available_event_types():
        key = next(d.key for d in DEFAULT_TEMPLATES if d.event == event.key)
        template = templates[key]
        assert template.type in (TemplateType.EMAIL, TemplateType.SMS)
        assert {c.language for c in template.contents} == {"ru", "en"}
        assert all(c.body for c in template.contents)
        assert template.recipient
        handler = handlers[key]
        assert (handler.event_type, handler.template_id) == (event.key, template.id)
        assert handler.status == HandlerStatus.ACTIVE
        assert template.category.default_key == event.category
    panel = {key for key, t in templates.items() if t.type == TemplateType.CLIENT_PANEL}
    assert {"payment_received.client_panel", "subscription_changed.client_panel"} <= panel
    assert set(handlers) == set(templates)
    unavailable = {e.key for e in EVENT_TYPES if not e.available}
    assert not any(t.default_key.split(".")[0] in unavailable for t in templates.values())


def test_every_event_type_of_the_catalogue_has_a_default(db):
    """Events without a source yet get theirs installed when event_types marks them available."""
    assert {d.event for d in DEFAULT_TEMPLATES} == {e.key for e in EVENT_TYPES}
    assert len({d.key for d in DEFAULT_TEMPLATES}) == len(DEFAULT_TEMPLATES)


@pytest.mark.parametrize("default", DEFAULT_TEMPLATES, ids=lambda d: d.key)
def test_every_default_template_passes_the_save_checks_against_its_own_event(db, default):
    values = {"name": default.key, "sender": SENDER if default.type == TemplateType.EMAIL else "",
              "recipient": default.recipient, "cc": default.cc, "bcc": "",
              "user_id": default.user_id}
    contents = clean_contents({language: {"subject": default.subject[language],
                                          "body": default.body[language]}
                               for language in ("ru", "en")})
    assert set(contents) == {"ru", "en"}
    # Strict: no unknown placeholder even though an author could confirm one.
    check_template(default.type, values, contents, template_schema([default.event]))
    check_rule(default.event, default.rule)
    if default.event in RULE_REQUIRED:
        assert default.rule


@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_default_template_renders_with_its_events_placeholders(db, language):
    for default in DEFAULT_TEMPLATES:
        context = fake_context(default.event)
        subject = render_template(default.subject[language], context, language=language,
                                  currency="RUB", html=False)
        body = render_template(default.body[language], context, language=language,
                               currency="RUB", html=default.type != TemplateType.SMS)
        assert body.strip(), default.key
        assert subject.strip() or default.type == TemplateType.SMS, default.key


def test_every_default_rule_parses_and_rule_events_have_one(db):
    root = make_root()
    for handler in installed(NotificationEvent, root).values():
        check_rule(handler.event_type, handler.rule)
        if handler.event_type in RULE_REQUIRED:
            assert handler.rule, handler.event_type
        if not handler.send_immediately:
            assert 0 <= handler.send_hour <= 23
    order_rule = installed(NotificationEvent, root)["order_created.email"].rule
    assert order_rule == 'order.type != "ProlongOrder" or order.renewal_is_positive = true'


def test_mails_earlier_issues_sent_directly_are_events_with_templates(db):
    """Password resets and the invitation become handled events with the link placeholders."""
    root = make_root()
    templates = installed(NotificationTemplate, root)
    for key, link in (("password_reset_request.email", "{{ reset_password_url }}"),
                      ("manager_password_reset_request.email", "{{ reset_password_url }}"),
                      ("user_created_password_reset.email", "{{ reset_password_url }}"),
                      ("user_invitation.email", "{{ invite_url }}"),
                      ("account_created.email", "{{ account.owner_reset_password_url }}")):
        assert all(link in c.body for c in templates[key].contents), key
    assert templates["manager_password_reset_request.email"].recipient == "{{ manager.email }}"
    assert templates["user_invitation.email"].recipient == "{{ user_invite.email }}"


def test_installed_rows_are_flagged_and_templates_keep_their_default(db):
    root = make_root()
    categories = installed(NotificationCategory, root)
    assert set(categories) == {c.key for c in DEFAULT_CATEGORIES}
    assert categories["orders"].name == "Заказы"  # the operator's language
    assert not categories["registration"].published  # always delivered
    for row in [*categories.values(), *installed(NotificationTemplate, root).values(),
                *installed(NotificationEvent, root).values()]:
        assert row.state == DelegationState.INSTALLED
        assert not row.deletable
    for template in installed(NotificationTemplate, root).values():
        assert template.default_snapshot == default_snapshot(template)
    name = installed(NotificationTemplate, root)["order_created.email"].name
    assert name == event_type("order_created").ru_name


def test_installing_again_adds_nothing_and_keeps_the_operators_edits(db):
    root = make_root()
    template = installed(NotificationTemplate, root)["low_balance.email"]
    update_template(template, name="Мало денег")

    assert install_default_notifications(root) == {"categories": 0, "templates": 0,
                                                   "handlers": 0}
    assert template.name == "Мало денег" and template.modified


def test_resellers_below_receive_copies_of_the_installed_set(db):
    root = make_root()
    child = make_reseller(root)
    grandchild = make_reseller(child)

    for model in (NotificationCategory, NotificationTemplate, NotificationEvent):
        assert len(rows(model, grandchild)) == len(rows(model, root))
        for row in rows(model, grandchild):
            assert row.state == DelegationState.INHERITED_CLEAN and row.default_key is None
    copy = next(t for t in rows(NotificationTemplate, grandchild) if t.name == next(
        r.name for r in rows(NotificationTemplate, root) if r.default_key == "order_created.email"))
    assert copy.category.reseller_id == grandchild.id


def test_an_install_after_resellers_exist_copies_the_set_down(db):
    root = make_root()
    child = make_reseller(root)
    # As if the set came with an upgrade: the operator and its reseller have only categories.
    for model in (NotificationEvent, NotificationTemplateContent, NotificationTemplate):
        for reseller in (child, root):  # copies before the rows they came from
            database.session.execute(delete(model).where(model.reseller_id == reseller.id))
    database.session.expire_all()
    assert database.session.scalar(select(func.count()).select_from(NotificationEvent)
                                   .where(NotificationEvent.reseller_id == child.id)) == 0

    added = install_default_notifications(root)

    available = {e.key for e in available_event_types()}
    assert added["templates"] == len([d for d in DEFAULT_TEMPLATES if d.event in available])
    assert added["categories"] == 0
    assert len(rows(NotificationEvent, child)) == len(rows(NotificationEvent, root))
    assert all(h.template.reseller_id == child.id for h in rows(NotificationEvent, child))


def test_only_the_operator_has_an_installed_set(db):
    reseller = make_reseller(make_root())
    with pytest.raises(NotificationError):
        install_default_notifications(reseller)


def test_the_recipients_language_picks_the_content_falling_back_to_the_resellers(db):
    template = installed(NotificationTemplate, make_root())["payment_received.email"]

    assert template.content_for("en").language == "en"
    assert template.content_for(None, default_language="ru").language == "ru"
    assert template.content_for("de", default_language="en").language == "en"
    update_template(template, contents={"en": None})
    assert template.content_for("en", default_language="en").language == "ru"  # what is left
