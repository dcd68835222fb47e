"""Notification templates in the operator panel (09 §5.2 S4–S7): list, create (type first, then
the type's fields; subject and body per language), the template page with its General, Compare
and update, Preview and Event log tabs, restore, delete."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from portal.accounts.auth import staff_required
from portal.core.audit import events_for
from portal.core.htmx import is_htmx
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.notifications.models import (CONTENT_LANGUAGES, TEMPLATE_TYPE_LABELS,
                                         NotificationCategory, NotificationTemplate,
                                         TemplateType)
from portal.notifications.services import (NotificationError, TemplateContentInvalid,
                                           create_template, delete_template, restore_template,
                                           update_template)
from portal.notifications.services.pages_support import (comparable, compare_text,
                                                         preview_event_types, preview_template,
                                                         text_digest)
from portal.notifications.services.validation import CHANNEL_FIELDS
from portal.notifications.views import bp
from portal.notifications.views.common import (delegation_columns, delegation_filters,
                                               delete_confirmation, link, run_action,
                                               run_service)
from portal.notifications.views.forms import LANGUAGE_LABELS, TemplateForm
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404

VIEW, MANAGE = "notification_templates.view", "notification_templates.manage"
T = NotificationTemplate
TABS = (("general", _l("General information")), ("compare", _l("Compare and update")),
        ("preview", _l("Preview")), ("events", _l("Event log")))


def panel_language() -> str:
    language = str(get_locale() or "")
    return language if language in CONTENT_LANGUAGES else CONTENT_LANGUAGES[0]


def info(template: NotificationTemplate) -> str:
    """09 §2.3 Информация: the sender and the raw subject, as the list shows them."""
    content = template.content_for(panel_language())
    subject = content.subject if content is not None else ""
    if template.type == TemplateType.EMAIL:
        return _("From: %(sender)s, Subject: %(subject)s", sender=template.sender,
                 subject=subject)
    if template.type == TemplateType.CLIENT_PANEL:
        return _("Subject: %(subject)s", subject=subject)
    return _("To: %(recipient)s", recipient=template.recipient)


def _compare_link(template: NotificationTemplate) -> Markup:
    if not comparable(template):
        return Markup("")
    return Markup('<a href="{}" class="compare-link">{}</a>').format(
        url_for("notifications.template_detail", template_id=template.id, tab="compare"),
        _("Compare and update"))


TEMPLATES = register_list(ListDefinition(
    key="notification_templates", title=_l("Notification templates"), model=T,
    permission=VIEW,
    query=lambda reseller: (scoped_select(T, reseller)
                            .join(NotificationCategory, NotificationCategory.id == T.category_id)
                            .options(contains_eager(T.category), selectinload(T.contents))),
    columns=[
        Column("id", "ID", sort=T.id,
               render=link("notifications.template_detail", "template_id", lambda t: t.id)),
        Column("type", _l("Type"), sort=T.type, value=lambda t: t.type_label),
        Column("name", _l("Name"), sort=T.name, search=T.name,
               render=link("notifications.template_detail", "template_id", lambda t: t.name)),
        Column("category", _l("Category"), sort=NotificationCategory.name,
               search=NotificationCategory.name, value=lambda t: t.category.name,
               render=lambda t: Markup('<a href="{}">{}</a>').format(
                   url_for("notifications.category_detail", category_id=t.category_id),
                   t.category.name)),
        Column("info", _l("Information"), search=T.sender, value=info),
        *delegation_columns(T)[:2],
        Column("compare", _l("Compare and update"), value=lambda t: "",
               render=_compare_link),
        *delegation_columns(T)[2:],
    ],
    filters=[Filter("type", _l("Type"), T.type,
                    choices=[(t.value, TEMPLATE_TYPE_LABELS[t]) for t in TemplateType]),
             *delegation_filters(T)],
))


@bp.get("/templates")
@staff_required(VIEW)
def list_templates():
    return list_response(TEMPLATES, title=TEMPLATES.title,
                         create_url=url_for("notifications.create_template")
                         if current_user.can(MANAGE) else None)


# --- the form --------------------------------------------------------------------------------


def _category_choices(reseller_id: int) -> list[tuple[str, str]]:
    categories = db.session.execute(select(NotificationCategory.id, NotificationCategory.name)
                                    .where(NotificationCategory.reseller_id == reseller_id)
                                    .order_by(NotificationCategory.name,
                                              NotificationCategory.id)).all()
    return [("", "—")] + [(str(cid), name) for cid, name in categories]


def _type_of(value) -> TemplateType:
    try:
        return TemplateType(value)
    except ValueError:
        return TemplateType.EMAIL


def _as_id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _service_fields(form: TemplateForm, template_type: TemplateType) -> dict:
    """What the form gives the service: only the type's channel fields (09 S5)."""
    channel = form.channel_values()
    return {"name": form.name.data or "", "category_id": _as_id(form.category_id.data),
            "contents": form.contents(),
            "allow_unknown_placeholders": bool(form.allow_unknown_placeholders.data),
            **{name: channel[name] for name in CHANNEL_FIELDS[template_type]}}


def _form_context(form: TemplateForm, template_type: TemplateType) -> dict:
    return {"form": form, "template_type": template_type, "T": TemplateType,
            "channel_fields": CHANNEL_FIELDS[template_type], "languages": CONTENT_LANGUAGES,
            "language_labels": LANGUAGE_LABELS}


@bp.route("/templates/new", methods=["GET", "POST"], endpoint="create_template")
@staff_required(MANAGE)
def create_template_page():
    """S5: the type first; switching it redraws the type's fields (htmx), keeping what was
    typed. Creating adds the template here and at every reseller below (09 TPL-1)."""
    reseller = g.acting_reseller
    status = 200
    if request.method == "POST":
        form = TemplateForm()
        template_type = _type_of(form.type.data)
        form.category_id.choices = _category_choices(reseller.id)
        if form.validate():
            done, result = run_service(lambda: create_template(
                reseller, type=template_type.value, actor=current_user,
                **_service_fields(form, template_type)), form=form,
                success=_("The notification template is created."))
            if done:
                return redirect(url_for("notifications.template_detail",
                                        template_id=result.id))
            status = result
        else:
            status = 422
    else:
        switching = is_htmx() and request.headers.get("HX-Boosted") != "true"
        form = TemplateForm(formdata=request.args if switching else None)
        template_type = _type_of(request.args.get("type"))
        form.type.data = template_type.value
        form.category_id.choices = _category_choices(reseller.id)
        if switching:
            return render_template("notifications/templates/_create_form.html",
                                   **_form_context(form, template_type))
    return render_template("notifications/templates/create.html",
                           **_form_context(form, template_type)), status


# --- the template page (S6) ------------------------------------------------------------------


def _edit_form(template: NotificationTemplate, *, posted: bool = False) -> TemplateForm:
    if posted:
        form = TemplateForm()
    else:
        values = {f"{field}_{content.language}": getattr(content, field)
                  for content in template.contents for field in ("subject", "body")}
        form = TemplateForm(formdata=None, obj=template, category_id=str(template.category_id),
                            **values)
    form.type.data = template.type.value  # 09 A-34: read-only after creation
    form.category_id.choices = _category_choices(template.reseller_id)
    return form


def _tabs(template: NotificationTemplate):
    return tuple((key, label) for key, label in TABS
                 if key != "compare" or comparable(template))


def _preview_choice(template: NotificationTemplate, args) -> tuple[list, str, str]:
    """The events offered (those of the handlers using the template, else all available),
    the chosen one and the chosen language."""
    events = preview_event_types(template)
    keys = [event.key for event in events]
    event_type = args.get("event_type") if args.get("event_type") in keys else keys[0]
    language = args.get("language")
    if language not in CONTENT_LANGUAGES:
        content = template.content_for(panel_language())
        language = content.language if content is not None else panel_language()
    return events, event_type, language


def _preview_context(template: NotificationTemplate, args) -> dict:
    events, event_type, language = _preview_choice(template, args)
    return {"preview_events": events, "preview_event": event_type,
            "preview_language": language,
            "preview": preview_template(template, event_type=event_type, language=language,
                                        reseller=g.acting_reseller)}


def _comparisons(template: NotificationTemplate, working: dict | None = None) -> list:
    """The compare tab's languages: those with a body here or at the parent (TPL-7)."""
    working = working or {}
    found = []
    for language in CONTENT_LANGUAGES:
        if language in working:
            found.append(working[language])
            continue
        comparison = compare_text(template, language=language)
        if comparison.current or comparison.reference:
            found.append(comparison)
    return found


def _context(template: NotificationTemplate, tab: str = "general", *, form=None,
             working: dict | None = None, **extra) -> dict:
    tabs = _tabs(template)
    tab = tab if tab in dict(tabs) else "general"
    context = {
        "template": template, "tab": tab, "tabs": tabs, "can_manage": current_user.can(MANAGE),
        "comparable": comparable(template), "handlers": list(template.handlers),
        "language_labels": LANGUAGE_LABELS, "compare_notes": {}, "compare_errors": {},
        "compare_offer_unknown": {},
        **_form_context(form or _edit_form(template), template.type),
    }
    if tab == "compare":
        context["comparisons"] = _comparisons(template, working)
        context["digest"] = text_digest
    elif tab == "preview":
        context.update(_preview_context(template, request.args))
    elif tab == "events":
        context["events"] = events_for(template)
    context.update(extra)
    return context


def _page(template: NotificationTemplate, tab: str = "general", *, status: int = 200,
          **kw):
    return render_template("notifications/templates/detail.html",
                           **_context(template, tab, **kw)), status


@bp.get("/templates/<int:template_id>")
@staff_required(VIEW)
def template_detail(template_id):
    template = tenant_get_or_404(NotificationTemplate, template_id)
    return _page(template, request.args.get("tab", "general"))


@bp.post("/templates/<int:template_id>", endpoint="update_template")
@staff_required(MANAGE)
def update_template_page(template_id):
    """S6 Save: checked as Liquid against the events of its handlers (09 A-27); an inherited
    or installed template becomes modified while it differs (D5, A-37)."""
    template = tenant_get_or_404(NotificationTemplate, template_id)
    form = _edit_form(template, posted=True)
    if not form.validate():
        return _page(template, form=form, status=422)
    fields = _service_fields(form, template.type)
    done, result = run_service(lambda: update_template(template, actor=current_user, **fields),
                               form=form, success=_("The notification template is saved."))
    if not done:
        return _page(template, form=form, status=result)
    return redirect(url_for("notifications.template_detail", template_id=template.id))


@bp.post("/templates/<int:template_id>/restore", endpoint="restore_template")
@staff_required(MANAGE)
def restore_template_page(template_id):
    """S6 "Restore": the parent's current state, or the default at the Operator (09 D6, D7)."""
    template = tenant_get_or_404(NotificationTemplate, template_id)
    run_action(lambda: restore_template(template, actor=current_user),
               success=_("The template is restored."))
    return redirect(url_for("notifications.template_detail", template_id=template.id))


# --- Compare and update (S7) -----------------------------------------------------------------


@bp.post("/templates/<int:template_id>/compare", endpoint="compare_template")
@staff_required(MANAGE)
def compare_template_page(template_id):
    """S7 (09 TPL-7, TPL-8) on the body being edited in one language: revert one fragment
    (`revert` = its index), restore the whole body from the parent (`action=restore`),
    compare again after typing (`action=compare`), or save it (`action=update`). Only Update
    writes."""
    template = tenant_get_or_404(NotificationTemplate, template_id)
    if not comparable(template):
        abort(404)  # 09 TPL-6: own templates have nothing to compare with
    language = request.form.get("language")
    if language not in CONTENT_LANGUAGES:
        return _page(template, "compare", status=422)
    action = request.form.get("action", "compare")
    note, errors, status, offer_unknown = None, [], 200, False
    comparison = compare_text(template, language=language, text=request.form.get("body", ""))
    if request.form.get("revert") is not None:
        index = _as_id(request.form.get("revert"))
        if request.form.get("basis") != text_digest(comparison.current) or index is None:
            # The text was edited after the fragments were shown: their numbers are stale.
            note = _("The text changed since the comparison; compare again.")
        else:
            try:
                comparison = compare_text(template, language=language,
                                          text=comparison.reverted(index))
                note = _("The fragment is reverted. Click Update to save.")
            except NotificationError as error:
                note = str(error)
    elif action == "restore":
        comparison = compare_text(template, language=language, text=comparison.reference)
        note = (_("The whole body is replaced with the parent's. Click Update to save.")
                if comparison.reference_kind == "parent" else
                _("The whole body is replaced with the default. Click Update to save."))
    elif action == "update":
        text = comparison.current
        try:
            update_template(template, actor=current_user, contents={language: {"body": text}},
                            allow_unknown_placeholders=bool(
                                request.form.get("allow_unknown_placeholders")))
            db.session.commit()
        except NotificationError as error:
            db.session.rollback()
            errors, status = _problems(error), 422
            offer_unknown = isinstance(error, TemplateContentInvalid) \
                and error.only_unknown_placeholders
        else:
            comparison = compare_text(template, language=language)
            note = _("The template is updated.")
    return _compare_response(template, language, comparison, note=note, errors=errors,
                             status=status, offer_unknown=offer_unknown)


def _problems(error: NotificationError) -> list[str]:
    """A refusal line by line: each problem of an invalid template (line, name) on its own."""
    if isinstance(error, TemplateContentInvalid):
        return [str(problem) for problem in error.problems]
    return [str(error)]


def _compare_response(template, language, comparison, *, note=None, errors=(), status=200,
                      offer_unknown=False):
    state = {"compare_notes": {language: note} if note else {},
             "compare_errors": {language: list(errors)},
             "compare_offer_unknown": {language: offer_unknown}}
    if is_htmx():
        return render_template("notifications/templates/_compare_language.html",
                               template=template, c=comparison, digest=text_digest,
                               language_labels=LANGUAGE_LABELS, can_manage=True,
                               **state), status
    return _page(template, "compare", status=status, working={language: comparison}, **state)


# --- Preview ---------------------------------------------------------------------------------


@bp.get("/templates/<int:template_id>/preview", endpoint="preview_template")
@staff_required(VIEW)
def preview_template_page(template_id):
    """The saved texts rendered against a sample of a chosen event, in a chosen language; the
    body in a sandboxed frame. A render error is a message, never a failed page."""
    template = tenant_get_or_404(NotificationTemplate, template_id)
    if not is_htmx():
        return redirect(url_for("notifications.template_detail", template_id=template.id,
                                tab="preview", **{k: v for k, v in request.args.items()
                                                  if k in ("event_type", "language")}))
    return render_template("notifications/templates/_preview.html", template=template,
                           language_labels=LANGUAGE_LABELS,
                           **_preview_context(template, request.args))


# --- delete ----------------------------------------------------------------------------------


@bp.get("/templates/<int:template_id>/delete")
@staff_required(MANAGE)
def confirm_delete_template(template_id):
    template = tenant_get_or_404(NotificationTemplate, template_id)
    return delete_confirmation(
        template, title=_("Delete the template “%(name)s”?", name=template.name),
        action_url=url_for("notifications.delete_template", template_id=template.id),
        cancel_url=url_for("notifications.template_detail", template_id=template.id),
        page="notifications/templates/detail.html", page_context=_context(template))


@bp.post("/templates/<int:template_id>/delete", endpoint="delete_template")
@staff_required(MANAGE)
def delete_template_page(template_id):
    """09 D8, DLT-1, DLT-4: own templates only, with their handlers."""
    template = tenant_get_or_404(NotificationTemplate, template_id)
    if run_action(lambda: delete_template(template, actor=current_user),
                  success=_("The notification template is deleted.")):
        return redirect(url_for("notifications.list_templates"))
    return redirect(url_for("notifications.template_detail", template_id=template.id))
