"""Notification categories in the operator panel (09 §5.1 S1–S3): list, create, the category
page with its General and Event log tabs, restore to the parent's state, delete."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.auth import staff_required
from portal.core.audit import events_for
from portal.core.listkit import Column, ListDefinition, register_list
from portal.notifications.models import NotificationCategory
from portal.notifications.services import (create_category, delete_category, restore_category,
                                           update_category)
from portal.notifications.views import bp
from portal.notifications.views.common import (FlagFilter, delegation_columns,
                                               delegation_filters, delete_confirmation, link,
                                               run_action, run_service)
from portal.notifications.views.forms import CategoryForm
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404

VIEW, MANAGE = "notification_categories.view", "notification_categories.manage"
TABS = (("general", _l("General information")), ("events", _l("Event log")))
C = NotificationCategory

CATEGORIES = register_list(ListDefinition(
    key="notification_categories", title=_l("Notification categories"), model=C,
    permission=VIEW, query=lambda reseller: scoped_select(C, reseller),
    columns=[
        Column("id", "ID", sort=C.id, render=link("notifications.category_detail",
                                                  "category_id", lambda c: c.id)),
        Column("name", _l("Name"), sort=C.name, search=C.name,
               render=link("notifications.category_detail", "category_id", lambda c: c.name)),
        Column("description", _l("Description"), search=C.description, default=False),
        Column("published", _l("Published"), sort=C.published),
        Column("enabled_on_client_creation", _l("Enabled on client creation"),
               sort=C.enabled_on_client_creation),
        *delegation_columns(C),
    ],
    filters=[FlagFilter("published", _l("Published"), C.published.is_(True)),
             *delegation_filters(C)],
))


@bp.get("/categories")
@staff_required(VIEW)
def list_categories():
    return list_response(CATEGORIES, title=CATEGORIES.title,
                         create_url=url_for("notifications.create_category")
                         if current_user.can(MANAGE) else None)


def _fields(form: CategoryForm) -> dict:
    return {"name": form.name.data or "", "description": form.description.data or "",
            "published": form.published.data,
            "enabled_on_client_creation": form.enabled_on_client_creation.data}


@bp.route("/categories/new", methods=["GET", "POST"], endpoint="create_category")
@staff_required(MANAGE)
def create_category_page():
    """S2: creates the category here and at every reseller below (09 CAT-1, CAT-2)."""
    form = CategoryForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            done, result = run_service(lambda: create_category(
                g.acting_reseller, actor=current_user, **_fields(form)), form=form,
                success=_("The notification category is created."))
            if done:
                return redirect(url_for("notifications.category_detail",
                                        category_id=result.id))
            status = result
    return render_template("notifications/categories/create.html", form=form), status


def _context(category: NotificationCategory, tab: str = "general", *, form=None) -> dict:
    tab = tab if tab in dict(TABS) else "general"
    return {
        "category": category, "tab": tab, "tabs": TABS, "can_manage": current_user.can(MANAGE),
        "form": form or CategoryForm(obj=category, formdata=None),
        "templates": list(category.templates),
        "events": events_for(category) if tab == "events" else [],
    }


def _page(category: NotificationCategory, tab: str = "general", *, form=None, status=200):
    return render_template("notifications/categories/detail.html",
                           **_context(category, tab, form=form)), status


@bp.get("/categories/<int:category_id>")
@staff_required(VIEW)
def category_detail(category_id):
    category = tenant_get_or_404(NotificationCategory, category_id)
    return _page(category, request.args.get("tab", "general"))


@bp.post("/categories/<int:category_id>", endpoint="update_category")
@staff_required(MANAGE)
def update_category_page(category_id):
    """S3 Save: an inherited category becomes modified (09 D5, A-37)."""
    category = tenant_get_or_404(NotificationCategory, category_id)
    form = CategoryForm()
    if not form.validate():
        return _page(category, form=form, status=422)
    done, result = run_service(lambda: update_category(category, actor=current_user,
                                                       **_fields(form)),
                               form=form, success=_("The notification category is saved."))
    if not done:
        return _page(category, form=form, status=result)
    return redirect(url_for("notifications.category_detail", category_id=category.id))


@bp.post("/categories/<int:category_id>/restore", endpoint="restore_category")
@staff_required(MANAGE)
def restore_category_page(category_id):
    """S3 "Restore to the parent's current state" (09 D6)."""
    category = tenant_get_or_404(NotificationCategory, category_id)
    run_action(lambda: restore_category(category, actor=current_user),
               success=_("The category is restored to the upper reseller's state."))
    return redirect(url_for("notifications.category_detail", category_id=category.id))


@bp.get("/categories/<int:category_id>/delete")
@staff_required(MANAGE)
def confirm_delete_category(category_id):
    category = tenant_get_or_404(NotificationCategory, category_id)
    return delete_confirmation(
        category, title=_("Delete the category “%(name)s”?", name=category.name),
        action_url=url_for("notifications.delete_category", category_id=category.id),
        cancel_url=url_for("notifications.category_detail", category_id=category.id),
        page="notifications/categories/detail.html", page_context=_context(category))


@bp.post("/categories/<int:category_id>/delete", endpoint="delete_category")
@staff_required(MANAGE)
def delete_category_page(category_id):
    """09 D8, DLT-1..3: own categories only, with their templates and handlers."""
    category = tenant_get_or_404(NotificationCategory, category_id)
    if run_action(lambda: delete_category(category, actor=current_user),
                  success=_("The notification category is deleted.")):
        return redirect(url_for("notifications.list_categories"))
    return redirect(url_for("notifications.category_detail", category_id=category.id))
