"""Operator-panel pages of clients: the list (01 S9, R-CLL-1..4), the create form (S10,
R-CL-1..10), the client page with its event log and comments (S11, R-CLV-*), the
administrative block and deletion (§4.13, §4.15); and the home page's client searches (R-HOME-1).

Each page loads the client inside the tenant, calls one service, commits and renders; a refusal
re-renders the page with 422 and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from flask import (Response, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import contains_eager

from portal.accounts.auth import staff_required
from portal.accounts.models import StaffMember, StaffStatus
from portal.clients.forms import (ClientCreateForm, ClientUpdateForm, client_form,
                                  parameter_data, parameter_field_name)
from portal.clients.funds import client_funds, effective_block_threshold, effective_credit_limit
from portal.clients.hooks import current_debt
from portal.clients.models import (CLIENT_STATUS_LABELS, PAYMENT_MODEL_LABELS, RULE_COLORS,
                                   AccessLevel, Client, ClientStatus, ClientType, ClientUser,
                                   ParameterTarget, ParameterType, PaymentModel, ServiceRule,
                                   User)
from portal.clients.services.clients import (CONTACT_FIELDS, NAME_FIELDS, SIGNATORY_FIELDS,
                                             block_client,
                                             country_names, create_client, delete_client,
                                             unblock_client, update_client)
from portal.clients.services.errors import ClientsError
from portal.clients.services.parameter_values import (default_value, parameters_for,
                                                      values_by_key)
from portal.clients.views import bp
from portal.clients.views.service_rules import SWATCHES
from portal.core.audit import events_for
from portal.core.comments import Attachment, add_comment, comment_of, comments_for, delete_comment
from portal.core.errors import DomainError
from portal.core.formatting import money
from portal.core.forms import run_action, submit
from portal.core.htmx import is_htmx
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.operator.search import SearchHit, SearchProvider, id_in, register_search
from portal.settings.services import system_settings
from portal.tenancy.scope import scoped_select, tenant_get_or_404

STATUS_CLASSES = {ClientStatus.ACTIVE: "green", ClientStatus.FINANCIALLY_BLOCKED: "orange",
                  ClientStatus.ADMIN_BLOCKED: "red", ClientStatus.DELETED: "grey"}
OPEN_STATUSES = (ClientStatus.ACTIVE, ClientStatus.FINANCIALLY_BLOCKED)


# --- small helpers ---------------------------------------------------------------------------

def _swatched(css_class: str, data: str, colour: str, text) -> Markup:
    return Markup('<span class="{0}" {1}><span class="swatch" aria-hidden="true" '
                  'style="display:inline-block;width:.8em;height:.8em;border-radius:50%;'
                  'background:{2}"></span> {3}</span>').format(css_class, data, colour, text)


def status_badge(client: Client) -> Markup:
    """A client status with its colour; the financial block shows like the others."""
    colour = SWATCHES[STATUS_CLASSES[client.status]]
    return _swatched("badge", Markup('data-status="{}"').format(client.status.value), colour,
                     client.status_label)


def rule_badge(rule: ServiceRule) -> Markup:
    """A service rule's name with its colour label (01 R-CLL-1, 08 R-SR-5)."""
    color = rule.color if rule.color in RULE_COLORS else "grey"
    return _swatched("rule-color", Markup('data-color="{}"').format(color),
                     SWATCHES.get(color, SWATCHES["grey"]), rule.name)


@lru_cache(maxsize=8)
def _countries(locale: str) -> tuple[tuple[str, str], ...]:
    names = country_names(locale)
    return tuple(sorted(names.items(), key=lambda item: item[1]))


def countries() -> list[tuple[str, str]]:
    # XA/XB are Babel's pseudo-locales, not countries.
    return [(code, name) for code, name in _countries(str(get_locale() or "en"))
            if code not in ("XA", "XB")]


def country_name(code: str) -> str:
    return dict(_countries(str(get_locale() or "en"))).get(code or "", code or "")


def _partial_wanted() -> bool:
    """An htmx request for a component (not a boosted page load) gets the partial only."""
    return is_htmx() and request.headers.get("HX-Boosted") != "true"


def _endpoint(name: str) -> bool:
    return name in current_app.view_functions


def user_url(user: User) -> str | None:
    """The user's page, once the users pages (built beside these) exist."""
    if user is None or not _endpoint("clients.user_detail"):
        return None
    rule = next(iter(current_app.url_map.iter_rules("clients.user_detail")), None)
    if rule is None or len(rule.arguments) != 1:
        return None
    return url_for("clients.user_detail", **{next(iter(rule.arguments)): user.id})


def _link(text_of):
    def render(client):
        return Markup('<a href="{}">{}</a>').format(
            url_for("clients.client_detail", client_id=client.id), text_of(client))
    return render


def _money_cell(value_of):
    def render(client):
        return escape(money(value_of(client), g.acting_reseller.currency))
    return render


# --- the list (R-CLL-1..4) ---------------------------------------------------------------------

def _owner_column(expression):
    """A correlated subquery on the owner user: sortable and searchable without loading rows."""
    return (select(expression).select_from(User)
            .join(ClientUser, ClientUser.user_id == User.id)
            .where(ClientUser.client_id == Client.id,
                   ClientUser.access_level == AccessLevel.OWNER)
            .correlate(Client).limit(1).scalar_subquery())


OWNER_NAME = _owner_column(User.first_name + " " + User.last_name)
OWNER_EMAIL = _owner_column(User.email)
# R-CLL-2: the threshold in force is the client's own, else its service rule's.
EFFECTIVE_THRESHOLD = func.coalesce(Client.block_threshold, ServiceRule.block_threshold)


def _clients_query(reseller):
    return (scoped_select(Client, reseller)
            .join(ServiceRule, ServiceRule.id == Client.service_rule_id)
            .join(ClientType, ClientType.id == Client.client_type_id)
            .outerjoin(StaffMember, StaffMember.id == Client.manager_id)
            .options(contains_eager(Client.service_rule), contains_eager(Client.client_type),
                     contains_eager(Client.manager)))


def listed_owner(client: Client) -> User | None:
    """The owner of a listed client. The first call loads the owners of every client the
    session holds (a list page, or one batch of an export) in one query, not one a row;
    selectinload would do it too, but the export's yield_per refuses it."""
    cache = g.setdefault("listed_client_owners", {})
    if client.id not in cache:
        wanted = {obj.id for obj in db.session.identity_map.values()
                  if isinstance(obj, Client) and obj.reseller_id == client.reseller_id
                  and obj.id not in cache} | {client.id}
        cache.update(dict.fromkeys(wanted))
        cache.update(db.session.execute(
            select(ClientUser.client_id, User).join(User, User.id == ClientUser.user_id)
            .where(ClientUser.reseller_id == client.reseller_id,
                   ClientUser.client_id.in_(wanted),
                   ClientUser.access_level == AccessLevel.OWNER)).tuples().all())
    return cache[client.id]


@dataclass
class StatusFilter(Filter):
    """R-CLL-3: deleted clients are hidden until the filter asks for them. The value is one
    status, several joined by commas, or "all"."""

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query.where(Client.status != ClientStatus.DELETED)
        if value == "all":
            return query
        try:
            statuses = [ClientStatus(part.strip()) for part in value.split(",") if part.strip()]
        except ValueError:
            return query.where(false())
        return query.where(Client.status.in_(statuses))


@dataclass
class YesNoFilter(Filter):
    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if value == "yes":
            return query.where(self.column.is_(True))
        if value == "no":
            return query.where(self.column.is_(False))
        return query.where(false()) if value else query


@dataclass
class AmountFilter(Filter):
    """One end of an amount range (R-CLL-2 threshold from–to), both ends included."""

    lower: bool = True

    def apply(self, query, raw: str):
        value = (raw or "").strip().replace(",", ".").replace(" ", "")
        if not value:
            return query
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return query.where(false())
        if not amount.is_finite():
            return query.where(false())
        return query.where(self.column >= amount if self.lower else self.column <= amount)


class TenantChoiceFilter:
    """A choice among the acting reseller's own rows (client types, rules, staff); "none"
    matches an empty reference."""

    def __init__(self, key, label, column, choices_of, *, none_label=None):
        self.key, self.label, self.column = key, label, column
        self._choices_of = choices_of
        self._none_label = none_label

    @property
    def choices(self):
        extra = [("none", self._none_label)] if self._none_label is not None else []
        return extra + self._choices_of(g.acting_reseller)

    def apply(self, query, raw: str):
        value = (raw or "").strip()
        if not value:
            return query
        if value == "none" and self._none_label is not None:
            return query.where(self.column.is_(None))
        try:
            return query.where(self.column == int(value))
        except ValueError:
            return query.where(false())


def client_types_of(reseller) -> list[ClientType]:
    return db.session.scalars(scoped_select(ClientType, reseller)
                              .order_by(ClientType.is_default.desc(), ClientType.id)).all()


def service_rules_of(reseller) -> list[ServiceRule]:
    return db.session.scalars(scoped_select(ServiceRule, reseller)
                              .order_by(ServiceRule.is_default.desc(), ServiceRule.name,
                                        ServiceRule.id)).all()


def active_staff_of(reseller) -> list[StaffMember]:
    return db.session.scalars(scoped_select(StaffMember, reseller)
                              .where(StaffMember.status == StaffStatus.ACTIVE)
                              .order_by(StaffMember.name, StaffMember.id)).all()


def users_of(reseller) -> list[User]:
    return db.session.scalars(scoped_select(User, reseller).order_by(User.email)).all()


YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]

CLIENTS = register_list(ListDefinition(
    key="clients", title=_l("Clients"), model=Client, permission="clients.view",
    query=_clients_query,
    columns=[
        Column("id", "ID", sort=Client.id, render=_link(lambda c: c.id)),
        Column("name", _l("Name"), sort=Client.name, search=Client.name,
               render=_link(lambda c: c.name)),
        Column("balance", _l("Balance"), sort=Client.balance,
               render=_money_cell(lambda c: c.balance)),
        Column("current_debt", _l("Current debt"), value=current_debt,
               render=_money_cell(current_debt)),
        Column("status", _l("Status"), sort=Client.status, render=status_badge),
        Column("service_rule", _l("Service rule"), sort=ServiceRule.name,
               search=ServiceRule.name, value=lambda c: c.service_rule.name,
               render=lambda c: rule_badge(c.service_rule)),
        Column("client_type", _l("Client type"), sort=ClientType.name, search=ClientType.name,
               value=lambda c: c.client_type.name),
        Column("created_at", _l("Created"), sort=Client.created_at),
        Column("country", _l("Country"), sort=Client.country, search=Client.country,
               value=lambda c: country_name(c.country), default=False),
        Column("city", _l("City"), sort=Client.city, search=Client.city, default=False),
        Column("phone", _l("Phone"), sort=Client.phone, search=Client.phone, default=False),
        Column("owner", _l("Owner"), sort=OWNER_NAME, search=OWNER_NAME,
               value=lambda c: getattr(listed_owner(c), "full_name", ""), default=False),
        Column("owner_email", _l("Owner e-mail"), sort=OWNER_EMAIL, search=OWNER_EMAIL,
               value=lambda c: getattr(listed_owner(c), "email", ""), default=False),
        Column("self_registered", _l("Self-registered"), sort=Client.self_registered,
               default=False),
        Column("manager", _l("Manager"), sort=StaffMember.name, search=StaffMember.name,
               value=lambda c: c.manager.name if c.manager else "", default=False),
        Column("block_threshold", _l("Financial block threshold"), sort=EFFECTIVE_THRESHOLD,
               value=effective_block_threshold,
               render=_money_cell(effective_block_threshold), default=False),
    ],
    filters=[
        StatusFilter("status", _l("Status"), Client.status,
                     [(s.value, CLIENT_STATUS_LABELS[s]) for s in ClientStatus]
                     + [("all", _l("All, deleted too"))]),
        TenantChoiceFilter("client_type", _l("Client type"), Client.client_type_id,
                           lambda r: [(str(t.id), t.name) for t in client_types_of(r)]),
        TenantChoiceFilter("service_rule", _l("Service rule"), Client.service_rule_id,
                           lambda r: [(str(s.id), s.name) for s in service_rules_of(r)]),
        TenantChoiceFilter("manager", _l("Manager"), Client.manager_id,
                           lambda r: [(str(m.id), m.name) for m in active_staff_of(r)],
                           none_label=_l("Not assigned")),
        AmountFilter("threshold_from", _l("Financial block threshold from"),
                     EFFECTIVE_THRESHOLD),
        AmountFilter("threshold_to", _l("Financial block threshold to"), EFFECTIVE_THRESHOLD,
                     lower=False),
        YesNoFilter("self_registered", _l("Self-registered"), Client.self_registered, YES_NO),
    ],
))



@bp.get("/clients")
@staff_required("clients.view")
def list_clients():
    """The client list; ?manager=me opens the member's own clients (R-HOME-1 «Мои клиенты»)."""
    if request.args.get("manager") == "me":
        args = {k: v for k, v in request.args.items() if k != "manager"}
        args["f_manager"] = str(current_user.member.id)
        return redirect(url_for("clients.list_clients", **args))
    return list_response(CLIENTS, title=CLIENTS.title,
                         create_url=url_for("clients.create_client_page")
                         if current_user.can("clients.manage") else None)


# --- form plumbing ----------------------------------------------------------------------------

def _chosen_type(types: list[ClientType], raw) -> ClientType | None:
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        return None
    return next((t for t in types if t.id == wanted), None)


def _fill_choices(form, reseller, types, rules, *, client: Client | None = None) -> None:
    form.client_type_id.choices = [(t.id, t.name) for t in types]
    form.service_rule_id.choices = [("", "—")] + [(str(r.id), r.name) for r in rules]
    staff = active_staff_of(reseller)
    if client is not None and client.manager is not None and client.manager not in staff:
        staff.append(client.manager)  # a deactivated manager stays visible until changed
    form.manager_id.choices = [("", _("Not assigned"))] + [(str(m.id), m.name) for m in staff]
    form.country.choices = countries()
    if isinstance(form, ClientCreateForm):
        form.owner_user_id.choices = [("", "—")] + [
            (str(u.id), f"{u.full_name} <{u.email}>" if u.full_name else u.email)
            for u in users_of(reseller)]
    if isinstance(form, ClientUpdateForm) and client is not None:
        members = [(str(m.user_id), f"{m.user.full_name} <{m.user.email}>"
                    if m.user.full_name else m.user.email) for m in client.memberships]
        form.technical_contact_id.choices = members
        form.financial_contact_id.choices = members


def _reset_parameters(form, stored: dict[str, str] | None = None) -> None:
    """After a change of client type: the new type's fields start from the stored value, else
    their default (A-26), not from whatever the old type's fields posted."""
    stored = stored or {}
    for parameter in form.parameters:
        field = form[parameter_field_name(parameter.key)]
        value = stored.get(parameter.key) or default_value(parameter)
        field.data = value == "true" if parameter.data_type == ParameterType.BOOLEAN else value
        field.errors = []


def _clear_errors(form) -> None:
    for field in form:
        field.errors = []


def _names_of(form, client_type: ClientType) -> dict:
    """Only the name fields the type's template uses are on the page; the others keep their
    stored values (A-26)."""
    names = {}
    if client_type.uses_primary_name:
        names["primary_name"] = form.primary_name.data or ""
    if client_type.uses_person_name:
        for name in ("first_name", "middle_name", "last_name"):
            names[name] = form[name].data or ""
    return names


def _override(form, name: str, switch: str):
    """None when the switch says "use the service rule's value", else the amount (R-CLV-3)."""
    if form[switch].data:
        return None
    value = (form[name].data or "").strip()
    if not value:
        raise ClientsError(_l("Enter an amount, or use the service rule's value."), field=name)
    return value


def _naming_parameters(apply):
    """Run apply; a refusal about parameters.<key> lands on that parameter's field."""
    try:
        return apply()
    except DomainError as error:
        if error.field and error.field.startswith("parameters."):
            error.field = parameter_field_name(error.field.split(".", 1)[1])
        raise


def _invitation_link():
    """The new owner's set-password link (R-CL-7), once the client panel has the page."""
    if not _endpoint("client_panel.set_password"):
        return None
    from portal.client_panel.links import client_panel_url  # noqa: PLC0415

    reseller = g.acting_reseller
    return lambda raw: client_panel_url(reseller, "client_panel.set_password", token=raw)


# --- create (S10) -----------------------------------------------------------------------------

def _create_form(reseller, types, rules):
    posted = request.method == "POST"
    chosen = (_chosen_type(types, request.form.get("client_type_id")) if posted else None) \
        or _chosen_type(types, request.args.get("client_type_id")) \
        or next((t for t in types if t.is_default), types[0] if types else None)
    parameters = parameters_for(reseller, ParameterTarget.CLIENT, client_type=chosen) \
        if chosen else []
    if posted:
        form = client_form(ClientCreateForm, parameters, creating=True)
    else:
        form = client_form(ClientCreateForm, parameters, creating=True, formdata=None,
                           client_type_id=chosen.id if chosen else None,
                           country=(reseller.country_code or "RU").upper())
    _fill_choices(form, reseller, types, rules)
    return form, chosen


def _create(form, reseller, chosen: ClientType, settings) -> Client:
    fields = {name: form[name].data or "" for name in (*CONTACT_FIELDS, *SIGNATORY_FIELDS)}
    fields.update(_names_of(form, chosen))
    if form.owner_mode.data == "choose":
        owner = {"owner_user_id": form.owner_user_id.data}
    else:
        owner = {"owner": {"email": form.owner_email.data or "",
                           "first_name": form.owner_first_name.data or "",
                           "last_name": form.owner_last_name.data or "",
                           "middle_name": form.owner_middle_name.data or ""}}
    return create_client(
        reseller, client_type_id=chosen.id, service_rule_id=form.service_rule_id.data,
        manager_id=form.manager_id.data or None,
        block_threshold=_override(form, "block_threshold", "block_threshold_from_rule"),
        credit_limit=_override(form, "credit_limit", "credit_limit_from_rule"),
        # R-CL-8: without the consent setting there is nothing to accept.
        terms_accepted=form.terms_accepted.data if settings.require_terms_consent else True,
        parameters=parameter_data(form, creating=True), invitation_link=_invitation_link(),
        actor=current_user, **owner, **fields)


@bp.route("/clients/new", methods=["GET", "POST"])
@staff_required("clients.manage")
def create_client_page():
    """The create form; picking another client type re-renders its fields (htmx, _refresh)."""
    reseller = g.acting_reseller
    types, rules = client_types_of(reseller), service_rules_of(reseller)
    settings = system_settings(reseller)
    form, chosen = _create_form(reseller, types, rules)
    status = 200
    if request.method == "POST" and request.form.get("_refresh"):
        _clear_errors(form)
        if str(chosen.id if chosen else "") != request.form.get("_rendered_type", ""):
            _reset_parameters(form)
    elif request.method == "POST":
        created = []
        if chosen is not None and submit(form, lambda f: created.append(_naming_parameters(
                lambda: _create(f, reseller, chosen, settings))),
                success=_("The client is created.")):
            return redirect(url_for("clients.client_detail", client_id=created[0].id))
        if chosen is None:
            flash(_("Create a client type first."), "error")
        status = 422
    context = {"form": form, "client_type": chosen, "settings": settings,
               "ready": bool(types and rules), "acting_reseller": reseller}
    template = "clients/clients/_create_form.html" if _partial_wanted() and \
        request.method == "POST" else "clients/clients/create.html"
    return render_template(template, **context), status


# --- the client page (S11) --------------------------------------------------------------------

def _update_form(client: Client, reseller, types, rules, *, posted: bool):
    chosen = (_chosen_type(types, request.form.get("client_type_id")) if posted else None) \
        or client.client_type
    parameters = parameters_for(reseller, ParameterTarget.CLIENT, client_type=chosen)
    creating = chosen.id != client.client_type_id
    if posted:
        form = client_form(ClientUpdateForm, parameters, creating=creating)
    else:
        stored = values_by_key(client, ParameterTarget.CLIENT, parameters)
        values = {parameter_field_name(p.key): (stored[p.key] == "true"
                                                if p.data_type == ParameterType.BOOLEAN
                                                else stored[p.key]) for p in parameters}
        plain = {name: getattr(client, name) or "" for name in (*NAME_FIELDS, *CONTACT_FIELDS,
                                                               *SIGNATORY_FIELDS)}
        form = client_form(
            ClientUpdateForm, parameters, creating=False, formdata=None, **plain,
            terms_accepted=client.terms_accepted,
            client_type_id=client.client_type_id, service_rule_id=str(client.service_rule_id),
            manager_id=str(client.manager_id or ""),
            technical_contact_id=str(client.technical_contact_id or ""),
            financial_contact_id=str(client.financial_contact_id or ""),
            block_threshold_from_rule=client.block_threshold is None,
            block_threshold=str(effective_block_threshold(client)),
            credit_limit_from_rule=client.credit_limit is None,
            credit_limit=str(effective_credit_limit(client)), **values)
    _fill_choices(form, reseller, types, rules, client=client)
    return form, chosen


def _update(form, client: Client, chosen: ClientType, settings) -> Client:
    fields = {name: form[name].data or "" for name in (*CONTACT_FIELDS, *SIGNATORY_FIELDS)}
    fields.update(_names_of(form, chosen))
    fields.update(client_type_id=chosen.id, service_rule_id=form.service_rule_id.data,
                  manager_id=form.manager_id.data or None,
                  technical_contact_id=form.technical_contact_id.data or None,
                  financial_contact_id=form.financial_contact_id.data or None)
    # Only the block of the rule's payment model is on the page (R-CLV-3).
    if client.service_rule.payment_model == PaymentModel.POSTPAY:
        fields["credit_limit"] = _override(form, "credit_limit", "credit_limit_from_rule")
    else:
        fields["block_threshold"] = _override(form, "block_threshold",
                                              "block_threshold_from_rule")
    if settings.require_terms_consent:
        fields["terms_accepted"] = form.terms_accepted.data
    return update_client(client, actor=current_user,
                         parameters=parameter_data(form, creating=chosen.id !=
                                                   client.client_type_id), **fields)


def _read_only(client: Client) -> bool:
    return client.status == ClientStatus.DELETED or not current_user.can("clients.manage")


def _tabs(client: Client, active: str) -> dict:
    return {"active_tab": active,
            "users_tab": _endpoint("clients.client_users")}


def _comment_urls(client: Client) -> dict:
    return {"add": url_for("clients.add_client_comment", client_id=client.id),
            "delete": lambda c: url_for("clients.delete_client_comment", client_id=client.id,
                                        comment_id=c.id),
            "file": lambda c: url_for("clients.client_comment_file", client_id=client.id,
                                      comment_id=c.id)}


def _comments_context(client: Client, **extra) -> dict:
    return {"comments": comments_for(client), "comment_urls": _comment_urls(client),
            "comments_editable": not _read_only(client), **extra}


def _detail_context(client: Client, *, form=None, chosen=None, **extra) -> dict:
    reseller = g.acting_reseller
    settings = system_settings(reseller)
    if form is None:
        form, chosen = _update_form(client, reseller, client_types_of(reseller),
                                    service_rules_of(reseller), posted=False)
    parameters = parameters_for(reseller, ParameterTarget.CLIENT, client_type=chosen)
    stored = values_by_key(client, ParameterTarget.CLIENT, parameters)
    return {
        "client": client, "form": form, "client_type": chosen, "rule": client.service_rule,
        "funds": client_funds(client, currency=reseller.currency),
        "current_debt": current_debt(client), "currency": reseller.currency,
        "settings": settings, "read_only": _read_only(client),
        "can_manage": current_user.can("clients.manage"),
        "owner": client.owner, "owner_url": user_url(client.owner),
        "enter_url": url_for("clients.enter_client_panel", client_id=client.id)
        if _endpoint("clients.enter_client_panel") and client.status != ClientStatus.DELETED
        else None,
        "readonly_parameters": [(p, stored.get(p.key, "")) for p in parameters
                                if p.readonly_for_operator],
        "payment_model_labels": PAYMENT_MODEL_LABELS, "PaymentModel": PaymentModel,
        "status_badge": status_badge, "rule_badge": rule_badge, "country_name": country_name,
        "open_statuses": OPEN_STATUSES, "ClientStatus": ClientStatus,
        **_tabs(client, "general"), **_comments_context(client), **extra}


@bp.get("/clients/<int:client_id>")
@staff_required("clients.view")
def client_detail(client_id):
    client = tenant_get_or_404(Client, client_id)
    return render_template("clients/clients/detail.html", **_detail_context(client))


@bp.post("/clients/<int:client_id>")
@staff_required("clients.manage")
def update_client_page(client_id):
    """Save the general tab (R-CLV-2); another client type re-renders its fields (_refresh)."""
    client = tenant_get_or_404(Client, client_id)
    reseller = g.acting_reseller
    form, chosen = _update_form(client, reseller, client_types_of(reseller),
                                service_rules_of(reseller), posted=True)
    if request.form.get("_refresh"):
        _clear_errors(form)
        if str(chosen.id) != request.form.get("_rendered_type", ""):
            _reset_parameters(form, values_by_key(client, ParameterTarget.CLIENT,
                                                  form.parameters))
        context = _detail_context(client, form=form, chosen=chosen)
        template = "clients/clients/_general_form.html" if _partial_wanted() \
            else "clients/clients/detail.html"
        return render_template(template, **context)
    settings = system_settings(reseller)
    if submit(form, lambda f: _naming_parameters(lambda: _update(f, client, chosen, settings)),
              success=_("The client is saved.")):
        return redirect(url_for("clients.client_detail", client_id=client.id))
    db.session.refresh(client)
    return render_template("clients/clients/detail.html",
                           **_detail_context(client, form=form, chosen=chosen)), 422


@bp.get("/clients/<int:client_id>/events")
@staff_required("clients.view")
def client_events(client_id):
    """The client's event log tab (R-LOG-1)."""
    client = tenant_get_or_404(Client, client_id)
    return render_template("clients/clients/events.html", client=client,
                           events=events_for(client), status_badge=status_badge,
                           **_tabs(client, "events"))


# --- status (§4.13, §4.15) ------------------------------------------------------------------

def _status_action(client_id, action, success):
    client = tenant_get_or_404(Client, client_id)
    if run_action(lambda: action(client, actor=current_user), success=success):
        return redirect(url_for("clients.client_detail", client_id=client.id))
    db.session.refresh(client)
    return render_template("clients/clients/detail.html", **_detail_context(client)), 422


@bp.post("/clients/<int:client_id>/block")
@staff_required("clients.manage")
def block_client_page(client_id):
    """Administrative block, after the confirmation (C4, R-ST-7)."""
    return _status_action(client_id, block_client, _("The client is blocked."))


@bp.post("/clients/<int:client_id>/activate")
@staff_required("clients.manage")
def unblock_client_page(client_id):
    """Lift the administrative block (C5); the financial block is evaluated at once."""
    return _status_action(client_id, unblock_client, _("The client is activated."))


@bp.post("/clients/<int:client_id>/delete")
@staff_required("clients.manage")
def delete_client_page(client_id):
    """Delete (C6): refused, with the reason, while a subscription is not deleted (R-CLD-1)."""
    client = tenant_get_or_404(Client, client_id)
    if run_action(lambda: delete_client(client, actor=current_user),
                  success=_("The client is deleted.")):
        return redirect(url_for("clients.list_clients"))
    db.session.refresh(client)
    return render_template("clients/clients/detail.html", **_detail_context(client)), 422


# --- comments (R-CMT-1, R-CMT-2) -------------------------------------------------------------

def _comments_response(client: Client, status: int = 200, *, errors=None, text: str = ""):
    """htmx swaps the comments area; a plain form post goes back to the page."""
    if _partial_wanted():
        return render_template("operator/_comments.html", **_comments_context(
            client, comment_errors=errors or {}, comment_text=text)), status
    for message in (errors or {}).values():
        flash(message, "error")
    return redirect(url_for("clients.client_detail", client_id=client.id) + "#comments")


@bp.post("/clients/<int:client_id>/comments")
@staff_required("clients.manage")
def add_client_comment(client_id):
    client = tenant_get_or_404(Client, client_id)
    if client.status == ClientStatus.DELETED:
        abort(409)
    upload = request.files.get("attachment")
    attachment = Attachment(upload.filename or "", upload.mimetype or "", upload.read()) \
        if upload is not None else None
    text = request.form.get("text", "")
    try:
        add_comment(client, text=text, actor=current_user, attachment=attachment)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        field = error.field if error.field in ("text", "attachment") else "text"
        return _comments_response(client, 422, errors={field: str(error)}, text=text)
    return _comments_response(client)


@bp.post("/clients/<int:client_id>/comments/<int:comment_id>/delete")
@staff_required("clients.manage")
def delete_client_comment(client_id, comment_id):
    client = tenant_get_or_404(Client, client_id)
    if client.status == ClientStatus.DELETED:
        abort(409)
    comment = comment_of(client, comment_id)
    if comment is None:
        abort(404)
    delete_comment(comment, actor=current_user, subject=client)
    db.session.commit()
    return _comments_response(client)


@bp.get("/clients/<int:client_id>/comments/<int:comment_id>/file")
@staff_required("clients.view")
def client_comment_file(client_id, comment_id):
    client = tenant_get_or_404(Client, client_id)
    comment = comment_of(client, comment_id)
    if comment is None or comment.attachment_data is None:
        abort(404)
    name = comment.attachment_name or "file"
    ascii_name = name.encode("ascii", "ignore").decode() or "file"
    from urllib.parse import quote  # noqa: PLC0415

    return Response(comment.attachment_data, content_type=comment.attachment_type
                    or "application/octet-stream", headers={
                        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                               f"filename*=UTF-8''{quote(name)}",
                        "X-Content-Type-Options": "nosniff"})


# --- home-page searches (R-HOME-1) -----------------------------------------------------------

def _contains(expression, query: str):
    return func.lower(expression).contains(query.lower(), autoescape=True)


def find_clients(reseller, query: str, limit: int) -> list[SearchHit]:
    """Clients by ID (exact) or by name (a part, any case)."""
    wanted = id_in(query)
    condition = _contains(Client.name, query)
    if wanted is not None:
        condition = or_(Client.id == wanted, condition)
    found = db.session.scalars(scoped_select(Client, reseller).where(condition)
                               .order_by((Client.id == (wanted or 0)).desc(), Client.id.desc())
                               .limit(limit)).all()
    return [SearchHit(c.label, url_for("clients.client_detail", client_id=c.id),
                      c.status_label) for c in found]


def find_users(reseller, query: str, limit: int) -> list[SearchHit]:
    """Client users by ID, e-mail or name."""
    wanted = id_in(query)
    condition = or_(_contains(User.email, query),
                    _contains(User.first_name + " " + User.last_name, query),
                    _contains(User.last_name + " " + User.first_name, query))
    if wanted is not None:
        condition = or_(User.id == wanted, condition)
    found = db.session.scalars(scoped_select(User, reseller).where(condition)
                               .order_by(User.id.desc()).limit(limit)).all()
    return [SearchHit(f"ID{u.id} - {u.full_name or u.email}", user_url(u), u.email)
            for u in found]


register_search(SearchProvider("clients", _l("Clients"), "clients.view", find_clients, 10))
register_search(SearchProvider("client_users", _l("Client users"), "client_users.view",
                               find_users, 20))
