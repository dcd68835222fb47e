"""Notification categories, templates and handlers down the reseller tree (09 §3.1, §4.2–§4.6):
created at one level and copied below, updates through unchanged copies only, restore, compare,
deletion cascades with their retention rules, uniqueness, validation and tenant scoping.

The tree: the operator (root) with reseller A (and A1 below it) and reseller B beside it.
"""

from __future__ import annotations

import re

import time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.core import audit
from portal.core.models import AuditEvent
from portal.core.tenant_guard import across_tenants
from portal.extensions import db as database
from portal.notifications.models import (DelegationState, HandlerStatus, NotificationCategory,
                                         NotificationEvent, NotificationTemplate)
from portal.notifications.services import (NotificationError, RuleInvalid,
                                           TemplateContentInvalid, activate_handler,
                                           body_fragments, compare_template, create_category,
                                           create_handler, create_template, deactivate_handler,
                                           delete_category, delete_handler, delete_template,
                                           restore_category, restore_handler, restore_template,
                                           revert_fragment, update_category, update_handler,
                                           update_template)
from portal.notifications.services.delegation import family_map
from portal.tenancy.models import Reseller
from tests.factories import make_reseller, make_root

BODY_RU = "<p>Заказ {{ order.number }} создан.</p>\n<p>Итого: {{ order.total }}.</p>\n"
BODY_EN = "<p>Order {{ order.number }} created.</p>\n<p>Total: {{ order.total }}.</p>\n"


@pytest.fixture
def tree(db):
    root = make_root()
    a = make_reseller(root, name="A")
    a1 = make_reseller(a, name="A1")
    b = make_reseller(root, name="B")
    return SimpleNamespace(root=root, a=a, a1=a1, b=b)


def copy_at(row, reseller):
    """The row standing for `row` at `reseller` (row itself or one of its copies), or None."""
    found = family_map(type(row), row.id).get(reseller.id)
    with across_tenants():  # a test looking across the tree on purpose
        return database.session.get(type(row), found) if found else None


def make_category(reseller, name="Alerts", **kw):
    return create_category(reseller, name=name, **kw)


def make_template(reseller, category, *, name="Order mail", body_ru=BODY_RU, body_en=BODY_EN,
                  **kw):
    return create_template(
        reseller, type=kw.pop("type", "email"), name=name, category_id=category.id,
        sender=kw.pop("sender", "noreply@example.com"),
        recipient=kw.pop("recipient", "{{ owner.email }}"),
        contents={"ru": {"subject": "Заказ {{ order.number }}", "body": body_ru},
                  "en": {"subject": "Order {{ order.number }}", "body": body_en}}, **kw)


def make_handler(reseller, template, *, event_type="order_created", rule="", **kw):
    return create_handler(reseller, event_type=event_type, template_type=template.type,
                          template_id=template.id, rule=rule, **kw)


def actions_of(row) -> list[str]:
    return [event.action for event in audit.events_for(row)]


# -- create at one level, copied to every level below (D1, DEL-1, A-05) ----------------------


def test_a_category_created_at_the_operator_reaches_every_reseller_below(tree):
    category = make_category(tree.root, description="Service messages", published=True)

    copy_a, copy_a1, copy_b = (copy_at(category, r) for r in (tree.a, tree.a1, tree.b))
    assert copy_a.source_id == category.id and copy_b.source_id == category.id
    assert copy_a1.source_id == copy_a.id  # A1 inherits from A, not from the operator
    for copy in (copy_a, copy_a1, copy_b):
        assert (copy.name, copy.description, copy.published) == (
            "Alerts", "Service messages", True)
        assert copy.state == DelegationState.INHERITED_CLEAN
        assert "notifications.category.delegated" in actions_of(copy)
    assert category.state == DelegationState.OWN
    assert actions_of(category) == ["notifications.category.created"]


def test_a_row_created_below_the_operator_reaches_only_its_own_subtree(tree):
    category = make_category(tree.a, name="A only")

    assert copy_at(category, tree.a1) is not None
    assert copy_at(category, tree.b) is None and copy_at(category, tree.root) is None


def test_copies_point_at_their_own_resellers_category_and_template(tree):
    category = make_category(tree.root)
    template = make_template(tree.root, category)
    handler = make_handler(tree.root, template)

    for reseller in (tree.a, tree.a1, tree.b):
        template_copy = copy_at(template, reseller)
        handler_copy = copy_at(handler, reseller)
        assert template_copy.category_id == copy_at(category, reseller).id
        assert handler_copy.template_id == template_copy.id
        assert template_copy.reseller_id == handler_copy.reseller_id == reseller.id
        assert {c.language: c.body for c in template_copy.contents} == {
            "ru": BODY_RU, "en": BODY_EN}
        assert handler_copy.status == HandlerStatus.ACTIVE


def test_a_new_reseller_gets_copies_of_everything_its_parent_has(tree):
    category = make_category(tree.a)
    template = make_template(tree.a, category)
    handler = make_handler(tree.a, template, rule='order.status = "completed"')
    deactivate_handler(handler)

    a2 = make_reseller(tree.a, name="A2")

    assert copy_at(category, a2).state == DelegationState.INHERITED_CLEAN
    template_copy = copy_at(template, a2)
    assert template_copy.category_id == copy_at(category, a2).id
    handler_copy = copy_at(handler, a2)
    assert handler_copy.template_id == template_copy.id
    assert handler_copy.rule == 'order.status = "completed"'
    assert handler_copy.status == HandlerStatus.INACTIVE  # the parent's status then
    # The operator's installed set came down through A as well (D2 at every level).
    for model in (NotificationCategory, NotificationTemplate, NotificationEvent):
        assert count_at(model, a2) == count_at(model, tree.a) > 1


def count_at(model, reseller) -> int:
    return database.session.scalar(select(func.count()).select_from(model).where(
        model.reseller_id == reseller.id))


# -- updates reach unchanged copies only (D3, D4, D5, DEL-2, DEL-3, A-37) ---------------------


def test_an_update_reaches_unchanged_copies_at_every_depth_but_not_a_changed_one(tree):
    category = make_category(tree.root)
    copy_a, copy_a1, copy_b = (copy_at(category, r) for r in (tree.a, tree.a1, tree.b))

    update_category(copy_a, name="A's alerts")  # A's staff change their copy
    assert copy_a.modified and copy_a.state == DelegationState.INHERITED_MODIFIED
    assert copy_a1.name == "A's alerts" and not copy_a1.modified  # A's change goes down to A1

    update_category(category, description="New text", published=True)

    assert (copy_b.description, copy_b.published) == ("New text", True)
    assert (copy_a.name, copy_a.description, copy_a.published) == ("A's alerts", "", False)
    assert copy_a1.description == ""  # not through A's changed copy
    assert "notifications.category.updated_from_source" in actions_of(copy_b)
    assert "notifications.category.updated_from_source" not in actions_of(copy_a)


def test_restore_brings_the_parents_state_back_and_updates_flow_again(tree):
    category = make_category(tree.root)
    copy_a, copy_a1 = copy_at(category, tree.a), copy_at(category, tree.a1)
    update_category(copy_a, name="Mine", published=True)
    update_category(category, description="Operator's text")

    restore_category(copy_a)

    assert (copy_a.name, copy_a.description, copy_a.published) == (
        "Alerts", "Operator's text", False)
    assert not copy_a.modified and copy_a.source_id == category.id
    assert (copy_a1.name, copy_a1.description) == ("Alerts", "Operator's text")
    update_category(category, name="Alerts 2")
    assert copy_a.name == copy_a1.name == "Alerts 2"  # propagation resumed
    assert "notifications.category.restored" in actions_of(copy_a)


def test_saving_a_copy_equal_to_its_parent_leaves_it_unmodified(tree):
    category = make_category(tree.root)
    copy_b = copy_at(category, tree.b)
    update_category(copy_b, name="Other")
    assert copy_b.modified

    update_category(copy_b, name="Alerts")  # equal to the parent's again

    assert not copy_b.modified


def test_own_rows_are_never_modified_and_restore_needs_a_parent(tree):
    category = make_category(tree.a)
    update_category(category, name="Renamed")
    assert category.state == DelegationState.OWN
    with pytest.raises(NotificationError):
        restore_category(category)


def test_a_template_update_passes_contents_down_and_the_category_is_remapped(tree):
    category = make_category(tree.root)
    other = make_category(tree.root, name="Orders")
    template = make_template(tree.root, category)
    copy_a, copy_a1, copy_b = (copy_at(template, r) for r in (tree.a, tree.a1, tree.b))
    update_template(copy_b, contents={"en": {"body": "<p>B's own words</p>\n"}})
    assert copy_b.modified

    update_template(template, category_id=other.id,
                    contents={"ru": {"body": "<p>Новый текст {{ order.number }}</p>\n"},
                              "en": None})

    for copy, reseller in ((copy_a, tree.a), (copy_a1, tree.a1)):
        assert copy.category_id == copy_at(other, reseller).id
        assert {c.language: c.body for c in copy.contents} == {
            "ru": "<p>Новый текст {{ order.number }}</p>\n"}
    assert copy_b.category_id == copy_at(category, tree.b).id  # B changed its copy
    assert copy_b.content("en").body == "<p>B's own words</p>\n"


def test_a_handler_status_is_never_passed_on_and_survives_a_restore(tree):
    template = make_template(tree.root, make_category(tree.root))
    handler = make_handler(tree.root, template)
    copy_a = copy_at(handler, tree.a)

    deactivate_handler(handler)
    assert handler.status == HandlerStatus.INACTIVE
    assert copy_a.status == HandlerStatus.ACTIVE  # EVT-7
    deactivate_handler(copy_a)
    update_handler(copy_a, rule='order.status = "completed"')
    assert copy_a.modified and copy_a.state == DelegationState.INHERITED_MODIFIED

    update_handler(handler, send_immediately=False, send_hour=7)
    assert (copy_a.send_immediately, copy_a.send_hour) == (True, None)  # changed copy kept
    restore_handler(copy_a)

    assert (copy_a.rule, copy_a.send_immediately, copy_a.send_hour) == ("", False, 7)
    assert copy_a.status == HandlerStatus.INACTIVE  # D6: the status stays
    assert not copy_a.modified
    activate_handler(copy_a)
    assert copy_a.status == HandlerStatus.ACTIVE and handler.status == HandlerStatus.INACTIVE
    assert copy_at(handler, tree.a1).status == HandlerStatus.ACTIVE


def test_a_handler_update_passes_the_template_copy_down(tree):
    category = make_category(tree.root)
    first = make_template(tree.root, category)
    second = make_template(tree.root, category, name="Second")
    handler = make_handler(tree.root, first)

    update_handler(handler, template_id=second.id, rule="order.total > 100")

    for reseller in (tree.a, tree.a1, tree.b):
        copy = copy_at(handler, reseller)
        assert copy.template_id == copy_at(second, reseller).id
        assert copy.rule == "order.total > 100"


# -- compare and restore templates (TPL-6..9, D7, EX-10) --------------------------------------


def test_compare_shows_fragments_and_reverting_one_makes_the_copy_clean_again(tree):
    parent_body = ('Платёж "{{payment.document_number}}"\n'
                   "на сумму {{payment.total | format_as_currency}} получен.\n")
    category = make_category(tree.root)
    template = make_template(tree.root, category, body_ru=parent_body)
    copy_a = copy_at(template, tree.a)
    update_template(copy_a, contents={"ru": {"body": "Уважаемый {{owner.first_name}}!\n"
                                                     + parent_body}})
    assert copy_a.modified

    comparison = compare_template(copy_a, language="ru")

    assert comparison.reference_kind == "parent" and comparison.differs
    assert [(f.equal, f.current, f.reference) for f in comparison.fragments] == [
        (False, "Уважаемый {{owner.first_name}}!\n", ""), (True, parent_body, parent_body)]
    reverted = comparison.reverted(0)
    assert reverted == parent_body
    update_template(copy_a, contents={"ru": {"body": reverted}})  # "Обновить"
    assert not copy_a.modified  # EX-10, A-37
    assert not compare_template(copy_a, language="ru").differs


def test_fragments_rebuild_both_bodies_and_revert_only_the_chosen_one():
    current = "one\ntwo\nthree changed\nfour\nfive added\n"
    reference = "one\ntwo\nthree\nfour\n"
    fragments = body_fragments(current, reference)

    assert "".join(f.current for f in fragments) == current
    assert "".join(f.reference for f in fragments) == reference
    changed = [f.index for f in fragments if not f.equal]
    assert len(changed) == 2
    assert revert_fragment(current, reference, changed[0]) == "one\ntwo\nthree\nfour\nfive added\n"
    assert revert_fragment(current, reference, changed[1]) == "one\ntwo\nthree changed\nfour\n"
    with pytest.raises(NotificationError):
        revert_fragment(current, reference, 99)


def test_an_installed_template_compares_with_and_restores_to_its_default(tree):
    template = database.session.scalar(select(NotificationTemplate).where(
        NotificationTemplate.reseller_id == tree.root.id,
        NotificationTemplate.default_key == "order_created.email"))
    default_body = template.content("en").body
    copy_b = copy_at(template, tree.b)

    update_template(template, name="Order created (ours)",
                    contents={"en": {"body": default_body + "<p>P.S.</p>\n"}})

    assert template.state == DelegationState.INSTALLED_MODIFIED
    assert copy_b.content("en").body.endswith("<p>P.S.</p>\n")  # the copies follow
    comparison = compare_template(template, language="en")
    assert comparison.reference_kind == "default"
    assert [f.current for f in comparison.fragments if not f.equal] == ["<p>P.S.</p>\n"]
    restore_template(template)
    assert template.state == DelegationState.INSTALLED
    assert template.content("en").body == default_body
    assert copy_b.content("en").body == default_body and copy_b.name == template.name


def test_restoring_a_template_copy_takes_the_parents_current_state(tree):
    category = make_category(tree.root)
    other_a = make_category(tree.a, name="A's own")
    template = make_template(tree.root, category)
    copy_a = copy_at(template, tree.a)
    update_template(copy_a, category_id=other_a.id, recipient="boss@example.com",
                    contents={"ru": {"subject": "Своё"}})
    update_template(template, cc="{{ account.bill_user_email }}")

    restore_template(copy_a)

    assert copy_a.category_id == copy_at(category, tree.a).id
    assert (copy_a.recipient, copy_a.cc) == ("{{ owner.email }}", "{{ account.bill_user_email }}")
    assert copy_a.content("ru").subject == "Заказ {{ order.number }}"
    assert not copy_a.modified
    assert copy_at(template, tree.a1).cc == "{{ account.bill_user_email }}"


# -- deletion cascades and retention (DLT-1..7, A-05) -----------------------------------------


def test_only_own_rows_can_be_deleted(tree):
    category = make_category(tree.root)
    installed = database.session.scalar(select(NotificationCategory).where(
        NotificationCategory.reseller_id == tree.root.id, NotificationCategory.installed))
    with pytest.raises(NotificationError):
        delete_category(copy_at(category, tree.a))
    with pytest.raises(NotificationError):
        delete_category(installed)
    template = make_template(tree.root, category)
    with pytest.raises(NotificationError):
        delete_template(copy_at(template, tree.b))


def test_deleting_a_handler_takes_unchanged_copies_and_keeps_a_changed_one_as_own(tree):
    template = make_template(tree.root, make_category(tree.root))
    handler = make_handler(tree.root, template)
    copy_a, copy_a1, copy_b = (copy_at(handler, r) for r in (tree.a, tree.a1, tree.b))
    update_handler(copy_a, rule="order.total > 5")
    ids = {"a": copy_a.id, "a1": copy_a1.id, "b": copy_b.id, "root": handler.id}

    delete_handler(handler)

    assert database.session.get(NotificationEvent, ids["root"]) is None
    assert database.session.get(NotificationEvent, ids["b"]) is None
    kept = database.session.get(NotificationEvent, ids["a"])
    assert kept.state == DelegationState.OWN and kept.rule == "order.total > 5"
    assert database.session.get(NotificationEvent, ids["a1"]).source_id == kept.id
    assert "notifications.handler.detached" in actions_of(kept)


def test_deleting_a_template_takes_its_handlers_and_keeps_copies_that_were_changed(tree):
    category = make_category(tree.root)
    template = make_template(tree.root, category)
    handler = make_handler(tree.root, template)
    copy_b = copy_at(template, tree.b)
    b_own = make_handler(tree.b, copy_b, rule="order.total > 1")  # B's own, on the copy
    update_handler(copy_at(handler, tree.a), rule="order.total > 2")  # a changed handler at A
    extra = make_reseller(tree.root, name="C")
    update_template(copy_at(template, extra), name="C's version")  # a changed template at C
    ids = {"b_template": copy_b.id, "b_own": b_own.id, "a": copy_at(template, tree.a).id,
           "a1": copy_at(template, tree.a1).id, "c": copy_at(template, extra).id}

    delete_template(template)

    # B: unchanged, so gone with every handler on it, B's own one too (DLT-4).
    assert database.session.get(NotificationTemplate, ids["b_template"]) is None
    assert database.session.get(NotificationEvent, ids["b_own"]) is None
    # A: kept for its changed handler (DLT-4 (2)), now A's own; A1's copy still follows A's.
    kept_a = database.session.get(NotificationTemplate, ids["a"])
    assert kept_a.state == DelegationState.OWN
    assert [h.modified for h in kept_a.handlers] == [False]  # the kept handler is own now
    assert database.session.get(NotificationTemplate, ids["a1"]).source_id == kept_a.id
    # C: kept because the copy itself was changed (DLT-4 (1)).
    kept_c = database.session.get(NotificationTemplate, ids["c"])
    assert kept_c.state == DelegationState.OWN and kept_c.name == "C's version"


def test_deleting_a_category_applies_each_retention_rule(tree):
    category = make_category(tree.root)
    template = make_template(tree.root, category)
    handler = make_handler(tree.root, template)
    keep_changed, keep_template, keep_handler = (make_reseller(tree.root, name=n)
                                                 for n in ("K1", "K2", "K3"))
    update_category(copy_at(category, keep_changed), description="changed")       # DLT-3 (1)
    update_template(copy_at(template, keep_template), name="changed template")     # DLT-3 (2)
    update_handler(copy_at(handler, keep_handler), rule="order.total > 10")        # DLT-3 (3)
    b_category = copy_at(category, tree.b)
    b_template = make_template(tree.b, b_category, name="B's own template")
    b_handler = make_handler(tree.b, b_template)
    ids = {r.name: copy_at(category, r).id for r in (tree.a, tree.a1, tree.b, keep_changed,
                                                      keep_template, keep_handler)}
    gone = {"root": category.id, "b_template": b_template.id, "b_handler": b_handler.id,
            "root_template": template.id, "root_handler": handler.id}

    plan = delete_category(category)

    for model, key in ((NotificationCategory, "root"), (NotificationTemplate, "b_template"),
                       (NotificationEvent, "b_handler"), (NotificationTemplate, "root_template"),
                       (NotificationEvent, "root_handler")):
        assert database.session.get(model, gone[key]) is None
    for name in ("A", "A1", "B"):  # unchanged copies go, B's own template in it too (DLT-3)
        assert database.session.get(NotificationCategory, ids[name]) is None
    for reseller in (keep_changed, keep_template, keep_handler):
        kept = database.session.get(NotificationCategory, ids[reseller.name])
        assert kept is not None and kept.state == DelegationState.OWN
    kept_templates = database.session.get(NotificationCategory, ids["K2"]).templates
    assert [(t.name, t.state) for t in kept_templates] == [
        ("changed template", DelegationState.OWN)]
    # K1 kept the category but its unchanged template copy went with the operator's (DLT-7 a).
    assert database.session.get(NotificationCategory, ids["K1"]).templates == []
    assert plan.counts()["categories"] == 4  # root, A, A1, B


# -- uniqueness (CAT-2, EVT-2, A-35) ---------------------------------------------------------


def test_a_category_name_must_be_free_at_the_reseller_and_every_reseller_below(tree):
    make_category(tree.a1, name="Reminders")
    make_category(tree.b, name="Promo")

    with pytest.raises(NotificationError) as refused:
        make_category(tree.root, name="  reminders ")
    assert refused.value.field == "name"
    make_category(tree.a, name="Promo")  # B is not below A
    with pytest.raises(NotificationError):
        make_category(tree.a, name="REMINDERS")
    own = make_category(tree.a, name="Mine")
    with pytest.raises(NotificationError):
        update_category(own, name="Reminders")  # a name A1 uses


def test_renaming_keeps_to_the_own_copies_of_the_category(tree):
    category = make_category(tree.root)
    update_category(category, name="ALERTS")  # its copies carry the old name: not a clash
    assert copy_at(category, tree.a1).name == "ALERTS"


def test_a_restore_that_would_clash_with_a_name_is_refused(tree):
    category = make_category(tree.root)
    copy_a = copy_at(category, tree.a)
    update_category(copy_a, name="Renamed at A")
    make_category(tree.a, name="Alerts")  # A's own category takes the parent's name

    with pytest.raises(NotificationError):
        restore_category(copy_a)


def test_a_handler_tuple_must_be_unique_across_the_reseller_and_below(tree):
    template = make_template(tree.root, make_category(tree.root))
    make_handler(tree.a, copy_at(template, tree.a), rule='order.status = "completed"')

    with pytest.raises(NotificationError):
        make_handler(tree.root, template, rule='  order.status   =  "completed" ')
    make_handler(tree.root, template, rule='order.status = "cancelled"')  # another rule
    make_handler(tree.root, template, event_type="order_changed",
                 rule='order.status = "completed"')  # another event
    other = make_handler(tree.b, copy_at(template, tree.b), rule="order.total > 1")
    with pytest.raises(NotificationError):
        update_handler(other, rule='order.status = "cancelled"')  # B has that copy already


# -- validation on save ----------------------------------------------------------------------


def test_an_unknown_placeholder_is_refused_by_name_unless_confirmed(tree):
    category = make_category(tree.root)
    with pytest.raises(TemplateContentInvalid) as refused:
        make_template(tree.root, category, body_en="<p>{{ subscription.foo }}</p>")
    assert refused.value.field == "body_en"
    assert "subscription.foo" in str(refused.value)
    assert refused.value.only_unknown_placeholders

    template = make_template(tree.root, category, body_en="<p>{{ subscription.foo }}</p>",
                             allow_unknown_placeholders=True)  # renders empty
    assert template.content("en").body == "<p>{{ subscription.foo }}</p>"


def test_syntax_errors_and_unknown_filters_are_refused_even_when_confirmed(tree):
    category = make_category(tree.root)
    with pytest.raises(TemplateContentInvalid) as syntax:
        make_template(tree.root, category, body_ru="{% if order.id %}open",
                      allow_unknown_placeholders=True)
    assert syntax.value.field == "body_ru" and not syntax.value.only_unknown_placeholders
    with pytest.raises(TemplateContentInvalid) as unknown_filter:
        make_template(tree.root, category, body_ru="{{ order.total | money_please }}",
                      allow_unknown_placeholders=True)
    assert "money_please" in str(unknown_filter.value)


def test_a_template_is_checked_against_the_events_of_its_handlers(tree):
    category = make_category(tree.root)
    template = make_template(tree.root, category)
    update_template(template, contents={"en": {"body": "{{ invite_url }}"}})  # fine: no handler
    update_template(template, contents={"en": {"body": BODY_EN}})
    make_handler(tree.root, template)

    with pytest.raises(TemplateContentInvalid) as refused:
        update_template(template, contents={"en": {"body": "{{ invite_url }}"}})
    assert "invite_url" in str(refused.value)  # not a placeholder of "Order created"


def test_channel_fields_are_required_and_checked(tree):
    category = make_category(tree.root)
    with pytest.raises(NotificationError) as no_sender:
        make_template(tree.root, category, sender="")
    assert no_sender.value.field == "sender"
    with pytest.raises(NotificationError) as bad_address:
        make_template(tree.root, category, recipient="{{ owner.email }}, not-an-address")
    assert bad_address.value.field == "recipient"
    with pytest.raises(TemplateContentInvalid) as bad_placeholder:
        make_template(tree.root, category, recipient="{{ owner.mail }}")
    assert bad_placeholder.value.field == "recipient"
    sms = create_template(tree.root, type="sms", name="SMS", category_id=category.id,
                          recipient="+79991234567, {{ account.phone }}",
                          contents={"ru": {"body": "Заказ {{ order.number }}"}})
    assert sms.content("ru").subject == ""
    with pytest.raises(NotificationError):
        create_template(tree.root, type="sms", name="SMS 2", category_id=category.id,
                        recipient="8 999 123", contents={"ru": {"body": "x"}})
    with pytest.raises(NotificationError) as no_user:
        create_template(tree.root, type="client_panel", name="Panel", category_id=category.id,
                        contents={"ru": {"subject": "s", "body": "b"}})
    assert no_user.value.field == "user_id"
    with pytest.raises(NotificationError):
        create_template(tree.root, type="email", name="Empty", category_id=category.id,
                        sender="a@example.com", recipient="b@example.com", contents={})
    with pytest.raises(NotificationError):
        update_template(sms, type="email")  # the type stays


def test_an_invalid_rule_is_refused_with_its_position(tree):
    template = make_template(tree.root, make_category(tree.root))

    with pytest.raises(RuleInvalid) as dangling:
        make_handler(tree.root, template, rule="order.total >")
    assert dangling.value.field == "rule" and dangling.value.column == 14
    assert re.search(r"\b14\b", str(dangling.value))  # the column, in the reader's language
    with pytest.raises(RuleInvalid) as unknown:
        make_handler(tree.root, template, rule="order.total > 1 and invite_url = 2")
    assert unknown.value.position == 20 and "invite_url" in str(unknown.value)
    with pytest.raises(NotificationError):  # event 37 takes no rule
        make_handler(tree.root, template, event_type="net_cost_changed", rule="1 = 1")


def test_a_handler_needs_a_template_of_its_type_and_an_hour_when_not_sent_at_once(tree):
    category = make_category(tree.root)
    template = make_template(tree.root, category)
    with pytest.raises(NotificationError) as wrong_type:
        create_handler(tree.root, event_type="order_created", template_type="sms",
                       template_id=template.id)
    assert wrong_type.value.field == "template_id"
    with pytest.raises(NotificationError) as no_hour:
        make_handler(tree.root, template, send_immediately=False)
    assert no_hour.value.field == "send_hour"
    with pytest.raises(NotificationError):
        make_handler(tree.root, template, send_immediately=False, send_hour=24)
    with pytest.raises(NotificationError):
        make_handler(tree.root, template, event_type="no_such_event")
    handler = make_handler(tree.root, template, send_immediately=False, send_hour="6")
    assert handler.send_hour == 6
    update_handler(handler, send_immediately=True)
    assert handler.send_hour is None


# -- tenant scoping --------------------------------------------------------------------------


def test_services_never_reach_into_another_tenants_rows(tree):
    a_category = make_category(tree.a, name="A's")
    root_template = make_template(tree.root, make_category(tree.root))
    b_category = make_category(tree.b, name="B's")
    a_template = make_template(tree.a, a_category)

    with pytest.raises(NotificationError) as foreign_category:
        make_template(tree.b, a_category)
    assert foreign_category.value.field == "category_id"
    with pytest.raises(NotificationError) as foreign_template:
        make_handler(tree.a, root_template)  # the operator's row, not A's copy
    assert foreign_template.value.field == "template_id"
    with pytest.raises(NotificationError):
        update_template(a_template, category_id=b_category.id)
    handler = make_handler(tree.a, a_template)
    with pytest.raises(NotificationError):
        update_handler(handler, template_id=root_template.id)
    assert copy_at(a_template, tree.b) is None  # a sibling's tree is left alone


def test_a_change_is_audited_once_per_row_in_its_own_tenants_log(tree):
    category = make_category(tree.root)
    update_category(category, description="x")

    per_tenant = dict(database.session.execute(
        select(AuditEvent.reseller_id, func.count()).where(
            AuditEvent.subject_type == "NotificationCategory",
            AuditEvent.action == "notifications.category.updated_from_source",
            AuditEvent.subject_id.in_([copy_at(category, r).id
                                       for r in (tree.a, tree.a1, tree.b)]))
        .group_by(AuditEvent.reseller_id)).all())
    assert per_tenant == {tree.a.id: 1, tree.a1.id: 1, tree.b.id: 1}


# -- a large tree ----------------------------------------------------------------------------


def bare_resellers(parent, count: int, prefix: str) -> list[Reseller]:
    """Resellers inserted directly: the notification work is measured, not reseller setup."""
    rows = [Reseller(parent_id=parent.id, name=f"{prefix}{n}", slug=f"{prefix}-{n}".lower(),
                     currency="RUB") for n in range(count)]
    database.session.add_all(rows)
    database.session.flush()
    return rows


def test_five_hundred_resellers_are_served_set_based(db):
    root = make_root()
    level_one = bare_resellers(root, 20, "L")
    for parent in level_one:  # 20 + 20 × 24 = 500 resellers below the operator
        bare_resellers(parent, 24, f"{parent.name}.")
    started = time.perf_counter()
    category = make_category(root, name="Wide")
    template = make_template(root, category)
    handler = make_handler(root, template)
    created = time.perf_counter()
    update_template(template, contents={"en": {"body": "<p>{{ order.number }}</p>"}})
    update_handler(handler, rule="order.total > 1")
    updated = time.perf_counter()
    copies = database.session.scalar(select(func.count()).select_from(NotificationEvent).where(
        NotificationEvent.rule == "order.total > 1"))
    delete_category(category)
    deleted = time.perf_counter()

    assert copies == 501
    assert database.session.scalar(select(func.count()).select_from(NotificationEvent).where(
        NotificationEvent.rule == "order.total > 1")) == 0
    timings = (created - started, updated - created, deleted - updated)
    print(f"500 resellers: create {timings[0]:.2f}s, update {timings[1]:.2f}s, "
          f"delete {timings[2]:.2f}s")
    assert sum(timings) < 30, timings  # a gross regression (row-by-row work) fails


def test_the_services_pass_the_tenant_guard_inside_a_request(app, tree):
    """Views will call these in a request, where an unscoped tenant SELECT fails the test."""
    with app.test_request_context("/"):
        category = make_category(tree.root)
        template = make_template(tree.root, category)
        handler = make_handler(tree.root, template)
        copy_a = copy_at(template, tree.a)
        update_template(copy_a, contents={"ru": {"body": "<p>{{ order.id }}</p>"}})
        assert compare_template(copy_a, language="ru").differs
        restore_template(copy_a)
        update_handler(copy_at(handler, tree.a), rule="order.total > 3")
        restore_handler(copy_at(handler, tree.a))
        update_category(copy_at(category, tree.b), name="B")
        restore_category(copy_at(category, tree.b))
        make_reseller(tree.a, name="A3")
        delete_category(category)
