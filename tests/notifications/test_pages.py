"""The operator-panel pages of notification categories, templates and handlers (09 §5.0–§5.3):
lists, create, edit of inherited rows (→ modified) and restore, the compare tab with its
highlighted fragments and fragment revert, the preview, refusals shown next to their field
with 422, the delete confirmation with its cascade, tenant isolation (404) and roles (403).

The tree: the operator (root, with the installed set) → Acme (where the panel is used) → Acme
Kid; Beta beside Acme. Acme holds clean copies of every installed row.
"""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.core.tenant_guard import across_tenants
from portal.extensions import db as database
from portal.notifications.event_types import EVENT_TYPES
from portal.notifications.models import (HandlerStatus, NotificationCategory,
                                         NotificationEvent, NotificationTemplate)
from portal.notifications.services import (create_category, create_handler, create_template,
                                           update_template)
from portal.notifications.services.delegation import family_map
from portal.notifications.services.pages_support import preview_template, text_digest
from tests.factories import Panel, make_reseller, make_root, make_staff

HX = {"HX-Request": "true"}
BODY_EN = "<p>Order {{ order.number }} created.</p>\n<p>Total: {{ order.total }}.</p>\n"
BODY_RU = "<p>Заказ {{ order.number }} создан.</p>\n<p>Итого: {{ order.total }}.</p>\n"


@pytest.fixture
def tree(app, db):
    root = make_root()
    acme = make_reseller(root, name="Acme")
    kid = make_reseller(acme, name="Acme Kid")
    beta = make_reseller(root, name="Beta")
    admin = make_staff(acme, name="Acme Admin", language="en")
    return {"root": root, "acme": acme, "kid": kid, "beta": beta, "admin": admin,
            "panel": Panel(app, acme, admin)}


def text_of(response) -> str:
    return response.get_data(as_text=True).strip()


def plain(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def element(markup: str, element_id: str) -> str:
    """The inner HTML of the element with this id (no nesting of the same tag inside)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', markup, re.S)
    assert match, f"no element #{element_id}"
    return match.group(2)


def field_errors(markup: str, name: str) -> str:
    """The errors shown in the field block of `name` (up to the next field or the form's end)."""
    opening = f'<div class="field has-error" id="field-{name}">'
    start = markup.find(opening)
    assert start >= 0, f"no error on {name}"
    start += len(opening)
    end = min(i for i in (markup.find('id="field-', start), markup.find("</form>", start),
                          len(markup)) if i >= 0)
    return plain(" ".join(re.findall(r'<div class="error" role="alert"[^>]*>(.*?)</div>',
                                     markup[start:end], re.S)))


def copy_at(row, reseller):
    found = family_map(type(row), row.id).get(reseller.id)
    with across_tenants():
        return database.session.get(type(row), found) if found else None


def installed(model, key: str):
    """The operator's installed row of this default key."""
    with across_tenants():
        return database.session.scalar(select(model).where(model.default_key == key,
                                                           model.installed.is_(True)))


def count(model, **where) -> int:
    query = select(func.count(model.id))
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    with across_tenants():
        return database.session.scalar(query)


def own_set(reseller, *, name="Promo"):
    """An own category with an e-mail template and a handler on it (copied below)."""
    category = create_category(reseller, name=name, published=True)
    template = create_template(
        reseller, type="email", name=f"{name} mail", category_id=category.id,
        sender="noreply@example.com", recipient="{{ owner.email }}",
        contents={"en": {"subject": "Order {{ order.number }}", "body": BODY_EN},
                  "ru": {"subject": "Заказ {{ order.number }}", "body": BODY_RU}})
    handler = create_handler(reseller, event_type="order_created", template_type="email",
                             template_id=template.id, rule="order.total > 100")
    database.session.commit()  # a refused request rolls its session back
    return category, template, handler


def own_category(reseller, name="Own"):
    category = create_category(reseller, name=name)
    database.session.commit()
    return category


# -- lists --------------------------------------------------------------------------------------


def test_the_three_lists_show_the_inherited_set_with_its_flags(tree):
    panel = tree["panel"]
    order_mail = copy_at(installed(NotificationTemplate, "order_created.email"), tree["acme"])

    categories = text_of(panel.get("/notifications/categories"))
    category = order_mail.category
    row = plain(element(categories, f"notification_categories-{category.id}"))
    # Published, enabled on creation, installed, inherited, modified: a clean copy.
    assert row.startswith(f"{category.id} {category.name} Yes Yes No Yes No 22.11.2026 12:00")

    templates = text_of(panel.get("/notifications/templates?q=" + order_mail.name[:6]))
    row = element(templates, f"notification_templates-{order_mail.id}")
    assert "From: {{ reseller.custom_attributes.vendor_email }}, Subject:" in plain(row)
    assert f"/notifications/templates/{order_mail.id}?tab=compare" in row

    handlers = text_of(panel.get("/notifications/events?f_event_type=order_created"))
    handler = order_mail.handlers[0]
    row = plain(element(handlers, f"notification_events-{handler.id}"))
    assert "Order created" in row and "active" in row and order_mail.name in row


def test_lists_answer_htmx_with_the_list_only(tree):
    response = tree["panel"].get("/notifications/templates?f_type=sms", headers=HX)
    assert response.status_code == 200
    assert text_of(response).startswith('<div id="list-notification_templates"')


def test_the_menu_has_the_notifications_block(tree, app):
    page = text_of(tree["panel"].get("/"))
    for key in ("notification_categories", "notification_events", "notification_templates"):
        assert f'data-menu="{key}"' in page
    # The log and SMS gateway slots appear once their pages exist.
    assert ('data-menu="notification_log"' in page) == (
        "notifications.log_list" in app.view_functions)


# -- categories ---------------------------------------------------------------------------------


def test_create_a_category_here_and_below(tree):
    panel = tree["panel"]
    response = panel.post("/notifications/categories/new", data={
        "name": "Marketing", "description": "News", "published": "y"})
    assert response.status_code == 302
    category = database.session.scalar(select(NotificationCategory).where(
        NotificationCategory.reseller_id == tree["acme"].id,
        NotificationCategory.name == "Marketing"))
    assert category.published and not category.enabled_on_client_creation
    assert copy_at(category, tree["kid"]).name == "Marketing"
    page = text_of(panel.get(response.headers["Location"]))
    assert plain(element(page, "flag-inherited")) == "No"


def test_a_category_name_taken_below_is_refused_next_to_the_name(tree):
    own_category(tree["kid"], name="Kid's own")
    response = tree["panel"].post("/notifications/categories/new", data={"name": "kid's OWN"})
    assert response.status_code == 409
    assert "already exists" in field_errors(text_of(response), "name")
    assert count(NotificationCategory, reseller_id=tree["acme"].id, name="kid's OWN") == 0


def test_edit_an_inherited_category_then_restore_it(tree):
    panel = tree["panel"]
    category = copy_at(installed(NotificationCategory, "orders"), tree["acme"])
    original = category.name
    page = text_of(panel.get(f"/notifications/categories/{category.id}"))
    assert 'id="restore-button"' not in page and 'id="delete-button"' not in page

    response = panel.post(f"/notifications/categories/{category.id}", data={
        "name": "Acme orders", "description": "", "published": "y"})
    assert response.status_code == 302
    page = text_of(panel.get(f"/notifications/categories/{category.id}"))
    assert plain(element(page, "flag-modified")) == "Yes"
    assert 'id="restore-button"' in page

    response = panel.post(f"/notifications/categories/{category.id}/restore")
    assert response.status_code == 302
    database.session.expire_all()
    assert (category.name, category.modified) == (original, False)
    page = text_of(panel.get(f"/notifications/categories/{category.id}?tab=events"))
    assert "notifications.category.restored" in page


def test_category_page_lists_its_templates(tree):
    category, template, _handler = own_set(tree["acme"])
    page = text_of(tree["panel"].get(f"/notifications/categories/{category.id}"))
    assert f"/notifications/templates/{template.id}" in element(page, "category-templates")


# -- templates: create, edit, restore -------------------------------------------------------


def test_switching_the_type_redraws_the_form_with_that_types_fields(tree):
    response = tree["panel"].get("/notifications/templates/new?type=sms&name=Kept", headers=HX)
    form = text_of(response)
    assert form.startswith("<form") and 'id="template-form"' in form
    assert 'name="recipient"' in form and 'name="sender"' not in form
    assert 'name="subject_en"' not in form  # 09 S5: an SMS has no subject
    assert 'value="Kept"' in form  # what was typed stays
    full = text_of(tree["panel"].get("/notifications/templates/new"))
    assert 'name="sender"' in full and 'name="user_id"' not in full


def test_create_an_email_template_with_both_languages(tree):
    panel = tree["panel"]
    category = own_category(tree["acme"])
    response = panel.post("/notifications/templates/new", data={
        "type": "email", "name": "Welcome", "category_id": str(category.id),
        "sender": "noreply@acme.example.com", "recipient": "{{ owner.email }}",
        "subject_en": "Hello {{ owner.first_name }}", "body_en": "<p>Hi</p>",
        "subject_ru": "Привет", "body_ru": "<p>Привет</p>"})
    assert response.status_code == 302, field_errors(text_of(response), "name")
    template = database.session.scalar(select(NotificationTemplate).where(
        NotificationTemplate.reseller_id == tree["acme"].id,
        NotificationTemplate.name == "Welcome"))
    assert {c.language: c.subject for c in template.contents} == {
        "en": "Hello {{ owner.first_name }}", "ru": "Привет"}
    assert copy_at(template, tree["kid"]).category.source_id == category.id


def test_an_invalid_liquid_body_is_refused_with_its_problems_next_to_the_body(tree):
    category = own_category(tree["acme"])
    before = count(NotificationTemplate)
    response = tree["panel"].post("/notifications/templates/new", data={
        "type": "client_panel", "name": "Broken", "category_id": str(category.id),
        "user_id": "{{ owner.id }}", "subject_en": "Hi",
        "body_en": "<p>Line one</p>\n{% if %}oops{% endif %}"})
    assert response.status_code == 422
    assert field_errors(text_of(response), "body_en").startswith("Line 2: syntax error")
    assert count(NotificationTemplate) == before


def test_unknown_placeholders_can_be_saved_once_confirmed(tree):
    category = own_category(tree["acme"])
    data = {"type": "email", "name": "Typo", "category_id": str(category.id),
            "sender": "a@example.com", "recipient": "{{ owner.email }}", "subject_en": "Hi",
            "body_en": "<p>{{ order.numbr }}</p>"}
    response = tree["panel"].post("/notifications/templates/new", data=data)
    assert response.status_code == 422
    page = text_of(response)
    assert field_errors(page, "body_en") == "Line 1: unknown placeholder order.numbr"
    assert 'name="allow_unknown_placeholders"' in page
    response = tree["panel"].post("/notifications/templates/new",
                                  data={**data, "allow_unknown_placeholders": "y"})
    assert response.status_code == 302


def test_edit_an_inherited_template_then_restore_it(tree):
    panel = tree["panel"]
    template = copy_at(installed(NotificationTemplate, "order_created.email"), tree["acme"])
    kid_copy = copy_at(template, tree["kid"])
    en = template.content("en")
    page = text_of(panel.get(f"/notifications/templates/{template.id}"))
    assert "Order created" in plain(element(page, "template-handlers"))
    data = {"name": template.name, "category_id": str(template.category_id),
            "sender": template.sender, "recipient": template.recipient, "cc": "", "bcc": "",
            "subject_en": en.subject, "body_en": en.body + "<p>Thanks from Acme!</p>",
            "subject_ru": template.content("ru").subject,
            "body_ru": template.content("ru").body}
    response = panel.post(f"/notifications/templates/{template.id}", data=data)
    assert response.status_code == 302
    database.session.expire_all()
    assert template.modified and "Thanks from Acme!" in template.content("en").body
    assert "Thanks from Acme!" in kid_copy.content("en").body  # D3: the clean copy below

    page = text_of(panel.get(f"/notifications/templates/{template.id}"))
    assert plain(element(page, "flag-modified")) == "Yes"
    response = panel.post(f"/notifications/templates/{template.id}/restore")
    assert response.status_code == 302
    database.session.expire_all()
    assert not template.modified and "Thanks from Acme!" not in template.content("en").body


def test_saving_an_inherited_template_unchanged_from_a_browser_keeps_it_clean(tree):
    """Browsers post textareas with CRLF line ends; the stored bodies use LF (A-37)."""
    template = copy_at(installed(NotificationTemplate, "order_created.email"), tree["acme"])
    data = {"name": template.name, "category_id": str(template.category_id),
            "sender": template.sender, "recipient": template.recipient}
    for content in template.contents:
        data[f"subject_{content.language}"] = content.subject
        data[f"body_{content.language}"] = content.body.replace("\n", "\r\n")
    response = tree["panel"].post(f"/notifications/templates/{template.id}", data=data)
    assert response.status_code == 302
    database.session.expire_all()
    assert not template.modified and "\r" not in template.content("en").body


# -- compare and update (TPL-7, TPL-8) -------------------------------------------------------


@pytest.fixture
def changed_copy(tree):
    """Acme's copy of the order mail with its total line changed in English."""
    template = copy_at(installed(NotificationTemplate, "order_created.email"), tree["acme"])
    body = template.content("en").body
    assert "<p>Total:" in body
    changed = body.replace("<p>Total:", "<p>Grand total:")
    update_template(template, contents={"en": {"body": changed}})
    database.session.commit()
    return template, body, changed


def test_compare_highlights_the_changed_fragment(tree, changed_copy):
    template, _parent_body, _changed = changed_copy
    page = text_of(tree["panel"].get(f"/notifications/templates/{template.id}?tab=compare"))
    section = page[page.index('id="compare-en"'):]
    changed_rows = re.findall(r'<tr class="fragment changed" id="fragment-en-(\d+)"', section)
    assert len(changed_rows) == 1
    row = element(section, f"fragment-en-{changed_rows[0]}")
    assert "Grand total:" in row and "revert-fragment" in row
    assert 'data-differs="no"' in page[page.index('id="compare-ru"'):]  # ru untouched


def test_reverting_one_fragment_changes_the_text_not_the_template(tree, changed_copy):
    template, parent_body, changed = changed_copy
    page = text_of(tree["panel"].get(f"/notifications/templates/{template.id}?tab=compare"))
    index = re.search(r'<tr class="fragment changed" id="fragment-en-(\d+)"', page).group(1)
    response = tree["panel"].post(f"/notifications/templates/{template.id}/compare", headers=HX,
                                  data={"language": "en", "body": changed,
                                        "basis": text_digest(changed), "revert": index})
    assert response.status_code == 200
    partial = text_of(response)
    assert partial.startswith('<section class="card compare" id="compare-en"')
    assert 'data-differs="no"' in partial
    assert html.unescape(element(partial, "compare-body-en")).lstrip("\n") == parent_body
    database.session.expire_all()
    assert template.content("en").body == changed and template.modified  # nothing saved yet

    response = tree["panel"].post(f"/notifications/templates/{template.id}/compare", headers=HX,
                                  data={"language": "en", "body": parent_body,
                                        "basis": text_digest(parent_body), "action": "update"})
    assert response.status_code == 200 and "The template is updated." in text_of(response)
    database.session.expire_all()
    assert template.content("en").body == parent_body and not template.modified


def test_a_revert_on_a_text_edited_since_the_comparison_is_not_applied(tree, changed_copy):
    template, _parent_body, changed = changed_copy
    edited = changed + "<p>typed later</p>\n"
    response = tree["panel"].post(f"/notifications/templates/{template.id}/compare", headers=HX,
                                  data={"language": "en", "body": edited,
                                        "basis": text_digest(changed), "revert": "0"})
    partial = text_of(response)
    assert "compare again" in plain(element(partial, "compare-note-en"))
    assert "typed later" in element(partial, "compare-body-en")


def test_restore_in_compare_takes_the_whole_parent_body_and_update_checks_liquid(tree,
                                                                                 changed_copy):
    template, parent_body, _changed = changed_copy
    url = f"/notifications/templates/{template.id}/compare"
    partial = text_of(tree["panel"].post(url, headers=HX, data={
        "language": "en", "body": "anything", "action": "restore"}))
    assert html.unescape(element(partial, "compare-body-en")).lstrip("\n") == parent_body
    response = tree["panel"].post(url, headers=HX, data={
        "language": "en", "body": "{% for %}", "action": "update"})
    assert response.status_code == 422
    assert "Line 1: syntax error" in plain(text_of(response))
    database.session.expire_all()
    assert "Grand total:" in template.content("en").body


def test_own_templates_have_no_compare_tab(tree):
    _category, template, _handler = own_set(tree["acme"])
    page = text_of(tree["panel"].get(f"/notifications/templates/{template.id}?tab=compare"))
    assert 'data-tab="compare"' not in page and 'id="tab-general"' in page
    response = tree["panel"].post(f"/notifications/templates/{template.id}/compare",
                                  data={"language": "en", "body": "x", "action": "update"})
    assert response.status_code == 404


# -- preview ------------------------------------------------------------------------------------


def test_preview_renders_the_template_against_a_sample_in_a_sandboxed_frame(tree):
    _category, template, _handler = own_set(tree["acme"])
    page = text_of(tree["panel"].get(
        f"/notifications/templates/{template.id}?tab=preview&language=ru"))
    frame = re.search(r'<iframe class="preview-frame" id="preview-frame"[^>]*>', page).group(0)
    assert 'sandbox=""' in frame
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert "Заказ" in srcdoc and "{{" not in srcdoc  # rendered, in Russian
    # The only event offered is the one of its handler; htmx gets the result alone.
    assert re.findall(r'<option value="([a-z_]+)"', element(page, "preview-event")) == [
        "order_created"]
    partial = text_of(tree["panel"].get(
        f"/notifications/templates/{template.id}/preview?event_type=order_created&language=en",
        headers=HX))
    assert partial.startswith('<div id="preview-result"') and "Order" in partial


def test_a_render_error_in_the_preview_is_a_message_not_a_failure(tree):
    category = own_category(tree["acme"])
    template = create_template(
        tree["acme"], type="sms", name="Maths", category_id=category.id,
        recipient="+79991234567",
        contents={"en": {"subject": "", "body": "{{ 10 | divided_by: 0 }}"}})
    response = tree["panel"].get(f"/notifications/templates/{template.id}?tab=preview&language=en")
    assert response.status_code == 200
    assert "can't divide by 0" in plain(element(text_of(response), "preview-errors"))


def test_the_preview_never_fails_whatever_the_event(tree):
    """Every event's sample (here the fake one: Acme has no objects yet) renders or says why."""
    template = copy_at(installed(NotificationTemplate, "order_created.email"), tree["acme"])
    for event in EVENT_TYPES:
        for language in ("ru", "en"):
            preview = preview_template(template, event_type=event.key, language=language,
                                       reseller=tree["acme"])
            assert preview.body or preview.errors, (event.key, language)


# -- handlers -----------------------------------------------------------------------------------


def test_the_template_select_follows_the_template_type(tree):
    own_set(tree["acme"])
    sms = text_of(tree["panel"].get("/notifications/events/template-options?template_type=sms",
                                    headers=HX))
    email = text_of(tree["panel"].get(
        "/notifications/events/template-options?template_type=email", headers=HX))
    assert 'id="field-template_id"' in sms
    assert "Promo mail" in email and "Promo mail" not in sms


def test_the_rule_help_lists_the_events_placeholders(tree):
    partial = text_of(tree["panel"].get("/notifications/events/rule-help?event_type=order_created",
                                        headers=HX))
    placeholders = re.findall(r"<li><code>([a-z_.]+)</code></li>", partial)
    assert "order.total" in placeholders and "order.renewal_is_positive" in placeholders
    assert "payment.days_left" not in placeholders


def test_create_a_handler_here_and_below(tree):
    _category, template, _handler = own_set(tree["acme"])
    response = tree["panel"].post("/notifications/events/new", data={
        "event_type": "order_changed", "template_type": "email", "template_id": str(template.id),
        "send_hour": "9", "rule": 'order.status = "completed"'})
    assert response.status_code == 302
    handler = database.session.scalar(select(NotificationEvent).where(
        NotificationEvent.reseller_id == tree["acme"].id,
        NotificationEvent.event_type == "order_changed",
        NotificationEvent.template_id == template.id))
    assert (handler.send_immediately, handler.send_hour) == (False, 9)
    assert copy_at(handler, tree["kid"]).template_id == copy_at(template, tree["kid"]).id


def test_an_invalid_rule_is_refused_with_its_column_next_to_the_rule(tree):
    _category, template, _handler = own_set(tree["acme"])
    before = count(NotificationEvent)
    response = tree["panel"].post("/notifications/events/new", data={
        "event_type": "order_created", "template_type": "email",
        "template_id": str(template.id), "send_immediately": "y",
        "rule": "order.total > 100 and"})
    assert response.status_code == 422
    page = text_of(response)
    assert re.search(r"\b22\b", field_errors(page, "rule"))
    assert re.search(r'data-column="22"', page)
    assert plain(element(page, "rule-error-position")).endswith("and ^")
    assert count(NotificationEvent) == before


def test_an_hour_out_of_range_is_refused(tree):
    _category, template, _handler = own_set(tree["acme"])
    response = tree["panel"].post("/notifications/events/new", data={
        "event_type": "order_changed", "template_type": "email",
        "template_id": str(template.id), "send_hour": "24"})
    assert response.status_code == 422
    assert "0 to 23" in field_errors(text_of(response), "send_hour")


def test_edit_an_inherited_handler_then_restore_deactivate_and_activate(tree):
    panel = tree["panel"]
    handler = copy_at(installed(NotificationEvent, "order_created.email"), tree["acme"])
    page = text_of(panel.get(f"/notifications/events/{handler.id}"))
    assert 'id="delete-button"' not in page and 'id="deactivate-button"' in page
    response = panel.post(f"/notifications/events/{handler.id}", data={
        "event_type": handler.event_type, "template_type": "email",
        "template_id": str(handler.template_id), "send_immediately": "y", "rule": ""})
    assert response.status_code == 302
    database.session.expire_all()
    assert handler.modified and handler.rule == ""

    assert panel.post(f"/notifications/events/{handler.id}/restore").status_code == 302
    database.session.expire_all()
    assert not handler.modified and handler.rule

    assert panel.post(f"/notifications/events/{handler.id}/deactivate").status_code == 302
    database.session.expire_all()
    assert handler.status == HandlerStatus.INACTIVE
    assert copy_at(handler, tree["kid"]).status == HandlerStatus.ACTIVE  # EVT-7
    page = text_of(panel.get(f"/notifications/events/{handler.id}"))
    assert 'id="activate-button"' in page
    assert panel.post(f"/notifications/events/{handler.id}/activate").status_code == 302
    database.session.expire_all()
    assert handler.status == HandlerStatus.ACTIVE


# -- delete (DLT-1..DLT-6) ----------------------------------------------------------------------


def test_deleting_an_own_category_confirms_the_cascade_then_deletes_it_everywhere(tree):
    category, template, handler = own_set(tree["acme"])
    ids = {NotificationCategory: category.id, NotificationTemplate: template.id,
           NotificationEvent: handler.id}
    panel = tree["panel"]
    dialog = text_of(panel.get(f"/notifications/categories/{category.id}/delete", headers=HX))
    cascade = {m.group(1): plain(m.group(2)) for m in re.finditer(
        r'<li data-where="(\w+)">(.*?)</li>', dialog, re.S)}
    assert cascade == {
        "here": "at this reseller: 1 template, 1 notification event",
        "below": "at the resellers below: 1 category, 1 template, 1 notification event"}
    full = text_of(panel.get(f"/notifications/categories/{category.id}/delete"))
    assert 'id="delete-dialog"' in full and 'id="tab-general"' in full  # without htmx

    response = panel.post(f"/notifications/categories/{category.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/notifications/categories")
    for model, row_id in ids.items():
        assert count(model, id=row_id) == 0
        assert count(model, source_id=row_id) == 0


def test_deleting_a_handler_names_only_its_copies(tree):
    _category, _template, handler = own_set(tree["acme"])
    handler_id = handler.id
    dialog = text_of(tree["panel"].get(f"/notifications/events/{handler_id}/delete",
                                       headers=HX))
    assert plain(element(dialog, "delete-cascade")) == (
        "at the resellers below: 1 notification event")
    assert tree["panel"].post(f"/notifications/events/{handler_id}/delete").status_code == 302
    assert count(NotificationEvent, id=handler_id) == 0


def test_inherited_rows_are_not_deleted(tree):
    template = copy_at(installed(NotificationTemplate, "order_created.email"), tree["acme"])
    page = text_of(tree["panel"].get(f"/notifications/templates/{template.id}"))
    assert 'id="delete-button"' not in page
    response = tree["panel"].post(f"/notifications/templates/{template.id}/delete")
    assert response.status_code == 302
    page = text_of(tree["panel"].get(response.headers["Location"]))
    assert "Only a template created by this reseller" in page
    assert count(NotificationTemplate, id=template.id) == 1


# -- tenants and roles --------------------------------------------------------------------------


def test_another_resellers_rows_are_not_found(tree):
    category, template, handler = own_set(tree["beta"], name="Beta's")
    panel = tree["panel"]
    for path in (f"/notifications/categories/{category.id}",
                 f"/notifications/templates/{template.id}",
                 f"/notifications/templates/{template.id}?tab=compare",
                 f"/notifications/templates/{template.id}/preview",
                 f"/notifications/templates/{template.id}/delete",
                 f"/notifications/events/{handler.id}"):
        assert panel.get(path).status_code == 404, path
    for path in (f"/notifications/categories/{category.id}",
                 f"/notifications/categories/{category.id}/delete",
                 f"/notifications/templates/{template.id}/restore",
                 f"/notifications/templates/{template.id}/compare",
                 f"/notifications/events/{handler.id}/deactivate"):
        assert panel.post(path, data={"name": "x"}).status_code == 404, path
    # Nor can its template be chosen for a handler here.
    mine = own_set(tree["acme"])[1]
    response = panel.post("/notifications/events/new", data={
        "event_type": "order_changed", "template_type": "email",
        "template_id": str(template.id), "send_immediately": "y"})
    assert response.status_code == 422
    assert "template of this reseller" in field_errors(text_of(response), "template_id")
    assert count(NotificationEvent, template_id=mine.id) == 1
    assert count(NotificationCategory, id=category.id, name="Beta's") == 1


def test_a_role_without_the_notification_sections_gets_403(app, tree):
    sales = make_staff(tree["acme"], role=Role.SALES_MANAGER, language="en")
    panel = Panel(app, tree["acme"], sales)
    for path in ("/notifications/categories", "/notifications/templates",
                 "/notifications/events", "/notifications/templates/new"):
        assert panel.get(path).status_code == 403, path
    assert 'data-menu="notification_templates"' not in text_of(panel.get("/"))


def test_a_product_manager_manages_them(app, tree):
    manager = make_staff(tree["acme"], role=Role.PRODUCT_MANAGER, language="en")
    panel = Panel(app, tree["acme"], manager)
    assert panel.get("/notifications/templates").status_code == 200
    assert panel.post("/notifications/categories/new",
                      data={"name": "By the product manager"}).status_code == 302
