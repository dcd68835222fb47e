"""Operator-panel pages of client types (08 S-1..S-3, S-21): the list with the key-conflict
modal (R-CT-12), create, the type page with its additional parameters, delete.

A delegated copy is read-only at this reseller except its default flag (R-CT-8).
"""

from __future__ import annotations

from flask import g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from portal.accounts.auth import staff_required
from portal.clients.forms_config import ClientTypeForm, DelegatedClientTypeForm, ParameterForm
from portal.clients.models import LEGAL_FORM_LABELS, ClientType, LegalForm, ParameterTarget
from portal.clients.services.client_types import (create_client_type, delete_client_type,
                                                  key_conflicts, update_client_type)
from portal.clients.services.parameters import create_parameter, list_parameters
from portal.clients.views import bp
from portal.clients.views.parameters import group_choices
from portal.core.audit import events_for
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404


class YesNoFilter(Filter):
    """A boolean column filtered by a Yes/No choice."""

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if value == "yes":
            return query.where(self.column.is_(True))
        if value == "no":
            return query.where(self.column.is_(False))
        return query if not value else query.where(self.column.is_(None))


YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


def _link(text_of):
    def render(client_type):
        return Markup('<a href="{}">{}</a>').format(
            url_for("clients.client_type_detail", client_type_id=client_type.id),
            text_of(client_type))
    return render


CLIENT_TYPE_LIST = register_list(ListDefinition(
    key="client_types", title=_l("Client types"), model=ClientType,
    permission="client_types.view",
    query=lambda reseller: scoped_select(ClientType, reseller),
    columns=[
        Column("id", "ID", sort=ClientType.id, render=_link(lambda t: t.id)),
        Column("name", _l("Name"), sort=ClientType.name, search=ClientType.name,
               render=_link(lambda t: t.name)),
        Column("name_template", _l("Name template"), sort=ClientType.name_template,
               search=ClientType.name_template),
        Column("is_delegated", _l("Delegated"), sort=ClientType.is_delegated),
        Column("is_default", _l("Default"), sort=ClientType.is_default),
        Column("key", _l("Key"), sort=ClientType.key, search=ClientType.key, default=False),
        Column("primary_name_label", _l("Primary name"), sort=ClientType.primary_name_label,
               default=False),
        Column("legal_form", _l("Legal form"), sort=ClientType.legal_form, default=False,
               value=lambda t: str(LEGAL_FORM_LABELS[t.legal_form])),
    ],
    filters=[
        YesNoFilter("delegated", _l("Delegated"), ClientType.is_delegated, YES_NO),
        YesNoFilter("default", _l("Default"), ClientType.is_default, YES_NO),
        Filter("legal_form", _l("Legal form"), ClientType.legal_form,
               choices=[(f.value, LEGAL_FORM_LABELS[f]) for f in LegalForm]),
    ],
))


@bp.get("/client-types")
@staff_required("client_types.view")
def list_client_types():
    """S-1, with the R-CT-12 modal while own keys clash with delegated ones."""
    return list_response(CLIENT_TYPE_LIST, page_template="clients/client_types/list.html",
                         title=CLIENT_TYPE_LIST.title, conflicts=key_conflicts(g.acting_reseller),
                         create_url=url_for("clients.create_client_type_page")
                         if current_user.can("client_types.manage") else None)


def _fields(form) -> dict:
    return {name: getattr(form, name).data or "" for name in ClientTypeForm.FIELDS}


@bp.route("/client-types/new", methods=["GET", "POST"])
@staff_required("client_types.manage")
def create_client_type_page():
    form = ClientTypeForm()
    if submit(form, lambda f: create_client_type(
            g.acting_reseller, actor=current_user, is_default=bool(f.is_default.data),
            **_fields(f)), success=_("The client type is created.")):
        return redirect(url_for("clients.list_client_types"))
    return render_template("clients/client_types/create.html", form=form), \
        422 if form.is_submitted() else 200


def _context(client_type, **extra) -> dict:
    ctx = {"client_type": client_type, "events": events_for(client_type),
           "parameters": list_parameters(g.acting_reseller, applies_to=ParameterTarget.CLIENT,
                                         client_type_id=client_type.id),
           "legal_forms": LEGAL_FORM_LABELS}
    if "form" not in extra:
        form_class = DelegatedClientTypeForm if client_type.is_delegated else ClientTypeForm
        ctx["form"] = form_class(obj=client_type, formdata=None)
    ctx.update(extra)
    return ctx


@bp.get("/client-types/<int:client_type_id>")
@staff_required("client_types.view")
def client_type_detail(client_type_id):
    client_type = tenant_get_or_404(ClientType, client_type_id)
    return render_template("clients/client_types/detail.html", **_context(client_type))


@bp.post("/client-types/<int:client_type_id>")
@staff_required("client_types.manage")
def update_client_type_page(client_type_id):
    client_type = tenant_get_or_404(ClientType, client_type_id)
    # R-CT-5: the default flag is read-only while on; the unticked box sends nothing.
    keep_default = client_type.is_default
    if client_type.is_delegated:
        form = DelegatedClientTypeForm()
        ok = submit(form, lambda f: update_client_type(
            client_type, actor=current_user,
            **({} if keep_default else {"is_default": bool(f.is_default.data)})))
    else:
        form = ClientTypeForm()
        ok = submit(form, lambda f: update_client_type(
            client_type, actor=current_user, **_fields(f),
            **({} if keep_default else {"is_default": bool(f.is_default.data)})))
    if ok:
        return redirect(url_for("clients.client_type_detail", client_type_id=client_type.id))
    return render_template("clients/client_types/detail.html",
                           **_context(client_type, form=form)), 422


@bp.post("/client-types/<int:client_type_id>/delete")
@staff_required("client_types.manage")
def delete_client_type_page(client_type_id):
    client_type = tenant_get_or_404(ClientType, client_type_id)
    if run_action(lambda: delete_client_type(client_type, actor=current_user),
                  success=_("The client type is deleted.")):
        return redirect(url_for("clients.list_client_types"))
    return render_template("clients/client_types/detail.html", **_context(client_type)), 422


# -- S-21: a parameter created from the type's "Additional information" tab -------------------

@bp.route("/client-types/<int:client_type_id>/parameters/new", methods=["GET", "POST"])
@staff_required("additional_parameters.manage")
def create_type_parameter_page(client_type_id):
    """S-21: "Apply to" = Client and "Client type" = this type, both locked (R-CT-13)."""
    client_type = tenant_get_or_404(ClientType, client_type_id)
    form = ParameterForm()
    form.set_choices(client_types=[client_type], groups=group_choices(g.acting_reseller))
    # The locked fields are shown disabled; whatever is posted, they stay fixed.
    form.applies_to.data = ParameterTarget.CLIENT.value
    form.client_type_id.data = client_type.id
    if submit(form, lambda f: create_parameter(
            g.acting_reseller, actor=current_user,
            **{**f.service_fields(), "applies_to": ParameterTarget.CLIENT,
               "client_type_id": client_type.id}),
            success=_("The additional parameter is created.")):
        return redirect(url_for("clients.client_type_detail",
                                client_type_id=client_type.id) + "#parameters")
    return render_template("clients/parameters/create.html", form=form,
                           client_type=client_type), 422 if form.is_submitted() else 200
