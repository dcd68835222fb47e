"""Operator-panel pages of additional parameters and their groups (08 S-17..S-20).

A parameter that arrived with a delegated client type is read-only here (its provider edits
it); "Data type", "Apply to" and "Client type" are fixed once a parameter exists (S-19).
"""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.clients.forms_config import ParameterForm, ParameterGroupForm, format_options
from portal.clients.models import (PARAMETER_TARGET_LABELS, PARAMETER_TYPE_LABELS,
                                   AdditionalParameter, AdditionalParameterGroup, ClientType,
                                   ParameterTarget, ParameterType)
from portal.clients.services.parameters import (create_parameter, create_parameter_group,
                                                delete_parameter, delete_parameter_group,
                                                ensure_default_group, rename_parameter_group,
                                                update_parameter)
from portal.clients.views import bp
from portal.core.audit import events_for
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.tenancy.scope import scoped_select, tenant_get_or_404


def group_label(group: AdditionalParameterGroup | None) -> str:
    """08 A-19: the seeded group shows translated."""
    if group is None:
        return ""
    return _("Default") if group.is_default and group.name == "Default" else group.name


def group_choices(reseller) -> list[tuple[int, str]]:
    groups = db.session.scalars(scoped_select(AdditionalParameterGroup, reseller).order_by(
        AdditionalParameterGroup.is_default.desc(), AdditionalParameterGroup.name,
        AdditionalParameterGroup.id)).all()
    if not groups:
        groups = [ensure_default_group(reseller)]
    return [(group.id, group_label(group)) for group in groups]


def applies_to_label(parameter: AdditionalParameter) -> str:
    """EX-31: "Client - Legal entity" for a client parameter, else the target's name."""
    label = str(PARAMETER_TARGET_LABELS[parameter.applies_to])
    if parameter.client_type is not None:
        return f"{label} - {parameter.client_type.name}"
    return label


def _link(text_of):
    def render(parameter):
        return Markup('<a href="{}">{}</a>').format(
            url_for("clients.parameter_detail", parameter_id=parameter.id), text_of(parameter))
    return render


def _parameters_query(reseller):
    return (scoped_select(AdditionalParameter, reseller)
            .outerjoin(ClientType, ClientType.id == AdditionalParameter.client_type_id)
            .outerjoin(AdditionalParameterGroup,
                       AdditionalParameterGroup.id == AdditionalParameter.group_id)
            .options(contains_eager(AdditionalParameter.client_type),
                     contains_eager(AdditionalParameter.group)))


PARAMETERS = register_list(ListDefinition(
    key="additional_parameters", title=_l("Additional parameters"), model=AdditionalParameter,
    permission="additional_parameters.view", query=_parameters_query,
    columns=[
        Column("id", "ID", sort=AdditionalParameter.id, render=_link(lambda p: p.id)),
        Column("name", _l("Name"), sort=AdditionalParameter.name,
               search=AdditionalParameter.name, render=_link(lambda p: p.name)),
        Column("optional", _l("Optional"), sort=AdditionalParameter.optional),
        Column("readonly_for_client", _l("Read-only for the client"),
               sort=AdditionalParameter.readonly_for_client),
        Column("readonly_for_operator", _l("Read-only for the operator"),
               sort=AdditionalParameter.readonly_for_operator),
        Column("key", _l("Key"), sort=AdditionalParameter.key, search=AdditionalParameter.key),
        Column("applies_to", _l("Applies to"), sort=AdditionalParameter.applies_to,
               search=ClientType.name, value=applies_to_label),
        Column("weight", _l("Weight"), sort=AdditionalParameter.weight),
        Column("data_type", _l("Data type"), sort=AdditionalParameter.data_type, default=False,
               value=lambda p: str(PARAMETER_TYPE_LABELS[p.data_type])),
        Column("group", _l("Group"), sort=AdditionalParameterGroup.name, default=False,
               search=AdditionalParameterGroup.name, value=lambda p: group_label(p.group)),
        Column("public", _l("Public"), sort=AdditionalParameter.public, default=False),
        Column("unique", _l("Unique"), sort=AdditionalParameter.unique, default=False),
    ],
    filters=[
        Filter("applies_to", _l("Applies to"), AdditionalParameter.applies_to,
               choices=[(t.value, PARAMETER_TARGET_LABELS[t]) for t in ParameterTarget]),
        Filter("client_type", _l("Client type"), ClientType.name),
        Filter("group", _l("Group"), AdditionalParameterGroup.name),
    ],
))


@bp.get("/additional-parameters")
@staff_required("additional_parameters.view")
def list_parameters():
    return list_response(PARAMETERS, page_template="clients/parameters/list.html",
                         title=PARAMETERS.title,
                         create_url=url_for("clients.create_parameter_page")
                         if current_user.can("additional_parameters.manage") else None)


def _client_types(reseller):
    return db.session.scalars(scoped_select(ClientType, reseller).order_by(
        ClientType.name, ClientType.id)).all()


def _form(obj=None, formdata=None):
    kwargs = {"obj": obj, "formdata": formdata} if obj is not None else {}
    form = ParameterForm(**kwargs)
    form.set_choices(client_types=_client_types(g.acting_reseller),
                     groups=group_choices(g.acting_reseller))
    if obj is not None and formdata is None:
        form.options.data = format_options(obj.options)
    return form


@bp.route("/additional-parameters/new", methods=["GET", "POST"])
@staff_required("additional_parameters.manage")
def create_parameter_page():
    form = _form()
    if not form.is_submitted():
        form.applies_to.data = request.args.get("applies_to") or ParameterTarget.CLIENT.value
        form.data_type.data = ParameterType.STRING.value
    created = []
    if submit(form, lambda f: created.append(create_parameter(
            g.acting_reseller, actor=current_user, **f.service_fields())),
            success=_("The additional parameter is created.")):
        return redirect(url_for("clients.parameter_detail", parameter_id=created[0].id))
    return render_template("clients/parameters/create.html", form=form, client_type=None), \
        422 if form.is_submitted() else 200


def _context(parameter, **extra) -> dict:
    ctx = {"parameter": parameter, "events": events_for(parameter),
           "applies_to": applies_to_label(parameter), "group": group_label(parameter.group),
           "type_labels": PARAMETER_TYPE_LABELS}
    if "form" not in extra:
        ctx["form"] = _form(parameter, formdata=None) if not parameter.is_delegated else None
    ctx.update(extra)
    return ctx


@bp.get("/additional-parameters/<int:parameter_id>")
@staff_required("additional_parameters.view")
def parameter_detail(parameter_id):
    parameter = tenant_get_or_404(AdditionalParameter, parameter_id)
    return render_template("clients/parameters/detail.html", **_context(parameter))


@bp.post("/additional-parameters/<int:parameter_id>")
@staff_required("additional_parameters.manage")
def update_parameter_page(parameter_id):
    parameter = tenant_get_or_404(AdditionalParameter, parameter_id)
    if parameter.is_delegated:
        return render_template("clients/parameters/detail.html", **_context(parameter)), 422
    form = _form()
    # Fixed after creation (S-19): the form shows them disabled; keep the stored values.
    for name in ("data_type", "applies_to"):
        getattr(form, name).data = getattr(parameter, name).value
    form.client_type_id.data = parameter.client_type_id
    ok = submit(form, lambda f: update_parameter(
        parameter, actor=current_user,
        **{k: v for k, v in f.service_fields().items()
           if k not in ("data_type", "applies_to", "client_type_id")}))
    if ok:
        return redirect(url_for("clients.parameter_detail", parameter_id=parameter.id))
    return render_template("clients/parameters/detail.html",
                           **_context(parameter, form=form)), 422


@bp.post("/additional-parameters/<int:parameter_id>/delete")
@staff_required("additional_parameters.manage")
def delete_parameter_page(parameter_id):
    parameter = tenant_get_or_404(AdditionalParameter, parameter_id)
    if run_action(lambda: delete_parameter(parameter, actor=current_user),
                  success=_("The additional parameter is deleted.")):
        return redirect(url_for("clients.list_parameters"))
    return render_template("clients/parameters/detail.html", **_context(parameter)), 422


# -- groups (S-20) ------------------------------------------------------------------------------

def _group_link(text_of):
    def render(group):
        return Markup('<a href="{}">{}</a>').format(
            url_for("clients.parameter_group_detail", group_id=group.id), text_of(group))
    return render


GROUPS = register_list(ListDefinition(
    key="additional_parameter_groups", title=_l("Additional parameter groups"),
    model=AdditionalParameterGroup, permission="additional_parameters.view",
    query=lambda reseller: scoped_select(AdditionalParameterGroup, reseller),
    columns=[
        Column("id", "ID", sort=AdditionalParameterGroup.id, render=_group_link(lambda g: g.id)),
        Column("name", _l("Name"), sort=AdditionalParameterGroup.name,
               search=AdditionalParameterGroup.name, value=group_label,
               render=_group_link(group_label)),
    ],
))


@bp.get("/additional-parameter-groups")
@staff_required("additional_parameters.view")
def list_parameter_groups():
    return list_response(GROUPS, page_template="clients/parameters/groups.html",
                         title=GROUPS.title,
                         create_url=url_for("clients.create_parameter_group_page")
                         if current_user.can("additional_parameters.manage") else None)


@bp.route("/additional-parameter-groups/new", methods=["GET", "POST"])
@staff_required("additional_parameters.manage")
def create_parameter_group_page():
    form = ParameterGroupForm()
    if submit(form, lambda f: create_parameter_group(g.acting_reseller, name=f.name.data,
                                                     actor=current_user),
              success=_("The group is created.")):
        return redirect(url_for("clients.list_parameter_groups"))
    return render_template("clients/parameters/group_create.html", form=form), \
        422 if form.is_submitted() else 200


def _group_context(group, **extra) -> dict:
    count = len(db.session.scalars(select(AdditionalParameter.id).where(
        AdditionalParameter.reseller_id == group.reseller_id,
        AdditionalParameter.group_id == group.id)).all())
    ctx = {"group": group, "label": group_label(group), "events": events_for(group),
           "parameters_count": count,
           "form": ParameterGroupForm(obj=group, formdata=None)}
    ctx.update(extra)
    return ctx


@bp.get("/additional-parameter-groups/<int:group_id>")
@staff_required("additional_parameters.view")
def parameter_group_detail(group_id):
    group = tenant_get_or_404(AdditionalParameterGroup, group_id)
    return render_template("clients/parameters/group_detail.html", **_group_context(group))


@bp.post("/additional-parameter-groups/<int:group_id>")
@staff_required("additional_parameters.manage")
def update_parameter_group_page(group_id):
    group = tenant_get_or_404(AdditionalParameterGroup, group_id)
    form = ParameterGroupForm()
    if submit(form, lambda f: rename_parameter_group(group, name=f.name.data,
                                                     actor=current_user)):
        return redirect(url_for("clients.parameter_group_detail", group_id=group.id))
    return render_template("clients/parameters/group_detail.html",
                           **_group_context(group, form=form)), 422


@bp.post("/additional-parameter-groups/<int:group_id>/delete")
@staff_required("additional_parameters.manage")
def delete_parameter_group_page(group_id):
    group = tenant_get_or_404(AdditionalParameterGroup, group_id)
    if run_action(lambda: delete_parameter_group(group, actor=current_user),
                  success=_("The group is deleted; its parameters moved to the default "
                            "group.")):
        return redirect(url_for("clients.list_parameter_groups"))
    return render_template("clients/parameters/group_detail.html",
                           **_group_context(group)), 422
