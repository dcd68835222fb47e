"""Operator-panel pages of client-panel users (01 S12–S16, R-USR-1..14, R-PWD-1..5).

Two entrances share the services of `portal/clients/services/users.py`: the «Пользователи
клиентов» section (list, create, user page, password reset) under `client_users.*`, and a
client's «Пользователи» tab (create for the client, attach, inline level, detach, per-client
(de)activation) under `clients.*`. The services keep the rules (one owner, A-18, A-17); these
views show their refusals next to the field with 422 and leave nothing changed.
"""

from __future__ import annotations

from flask import (abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import TemplateNotFound
from markupsafe import Markup
from sqlalchemy import Integer, String, cast, func, or_, select

from portal.accounts.auth import staff_required
from portal.accounts.services.passwords import (POLICY_HINTS, generate_password,
                                                password_problems)
from portal.client_panel.links import client_panel_url
from portal.clients.forms_users import (AccessLevelForm, AttachUserForm, ClientUserCreateForm,
                                        UserCreateForm, UserEditForm, UserPasswordForm)
from portal.clients.models import (ACCESS_LEVEL_LABELS, USER_STATUS_LABELS, AccessLevel, Client,
                                   ClientUser, ParameterTarget, ParameterType, User, UserSignIn,
                                   UserStatus)
from portal.clients.services.errors import ClientsError
from portal.clients.services.parameter_values import (default_value, parameter_values,
                                                      parameters_for)
from portal.clients.services.user_tokens import request_user_password_reset
from portal.clients.services.users import (attach_user, create_client_user, create_user,
                                           detach_user, membership_of, set_access_level,
                                           set_membership_status, set_user_password,
                                           set_user_status, update_user)
from portal.clients.views import bp
from portal.core.audit import events_for
from portal.core.errors import DomainError
from portal.core.forms import attach_error, run_action
from portal.core.htmx import is_htmx, render_page_or_partial
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.settings.models import SystemSettings
from portal.settings.services import security_settings
from portal.tenancy.scope import scoped_select, tenant_get_or_404

RESET_ENDPOINT = "client_panel.reset_password"
ATTACH_PAGE_SIZE = 50
LOGIN_HISTORY_LIMIT = 200
# 01 R-USR-9: the confirmation must say what detaching destroys.
DETACH_CONFIRM = _l("Detach the selected users from the client? All services and credentials of "
                    "these users tied to this client, including mailboxes created through those "
                    "services and their contents, will be deleted irrecoverably. The users "
                    "themselves stay in the operator panel.")


# -- the users section list (01 S13, E17) ---------------------------------------------------

def _user_link(text_of):
    def render(user):
        return Markup('<a href="{}">{}</a>').format(
            url_for("clients.user_detail", user_id=user.id), text_of(user))
    return render


def _spaced(*parts):
    expr = parts[0]
    for part in parts[1:]:
        expr = expr.concat(" ").concat(part)
    return expr


# Full-text search finds "Иван Иванов" as well as "Иванов Иван" (01 R-LIST-1).
NAME_SEARCH = _spaced(User.first_name, User.middle_name, User.last_name, User.first_name,
                      User.last_name)
NAME_SORT = _spaced(User.last_name, User.first_name, User.middle_name)
STATUS_CHOICES = [(status.value, label) for status, label in USER_STATUS_LABELS.items()]

USERS = register_list(ListDefinition(
    key="client_users", title=_l("Users"), model=User, permission="client_users.view",
    query=lambda reseller: scoped_select(User, reseller),
    columns=[
        Column("id", "ID", sort=User.id, search=cast(User.id, String),
               render=_user_link(lambda u: u.id)),
        Column("full_name", _l("Name"), sort=NAME_SORT, search=NAME_SEARCH,
               render=_user_link(lambda u: u.full_name or "—")),
        Column("email", "E-mail", sort=User.email, search=User.email),
        Column("status", _l("Global status"), sort=User.status,
               value=lambda u: u.status_label),
        Column("created_at", _l("Created"), sort=User.created_at, default=False),
        Column("last_sign_in_at", _l("Last sign-in"), sort=User.last_sign_in_at, default=False),
    ],
    filters=[Filter("status", _l("Global status"), User.status, STATUS_CHOICES)],
))


@bp.get("/users")
@staff_required("client_users.view")
def list_users():
    """«Пользователи клиентов»: every user of this reseller, from either panel (R-USR-13)."""
    return list_response(USERS, title=USERS.title,
                         create_url=url_for("clients.create_user_page")
                         if current_user.can("client_users.manage") else None)


# -- helpers ----------------------------------------------------------------------------------

def _reseller():
    return g.acting_reseller


def _privacy_asked(reseller) -> bool:
    """Whether the system setting «Запрашивать согласие…» is on (01 R-USR-12)."""
    return bool(db.session.scalar(select(SystemSettings.require_privacy_consent).where(
        SystemSettings.reseller_id == reseller.id)))


def _policy_hint(reseller):
    return POLICY_HINTS[security_settings(reseller).password_complexity]


def _user_parameters(reseller):
    return parameters_for(reseller, ParameterTarget.USER)


def _posted_parameters(parameters) -> dict:
    """{key: raw value} of the additional parameters in the posted form."""
    raw = {}
    for parameter in parameters:
        if parameter.readonly_for_operator:
            continue
        name = f"parameters.{parameter.key}"
        if parameter.data_type == ParameterType.BOOLEAN:
            raw[parameter.key] = "true" if request.form.get(name) else "false"
        elif name in request.form:
            raw[parameter.key] = request.form.get(name)
    return raw


def _shown_parameters(parameters, stored: dict[int, str] | None = None) -> dict[str, str]:
    """{key: value} to fill the inputs: posted values, else stored, else defaults."""
    values = {}
    for parameter in parameters:
        if parameter.data_type == ParameterType.PASSWORD:
            values[parameter.key] = ""
        elif request.method == "POST" and not parameter.readonly_for_operator:
            posted = request.form.get(f"parameters.{parameter.key}")
            if parameter.data_type == ParameterType.BOOLEAN:
                values[parameter.key] = "true" if posted else "false"
            else:
                values[parameter.key] = posted or ""
        elif stored is not None:
            values[parameter.key] = stored.get(parameter.id, "")
        else:
            values[parameter.key] = default_value(parameter)
    return values


def _save(form, apply, *, success, param_errors: dict | None = None) -> bool:
    """Validate, call one service, commit; a refusal goes next to its field (STYLE §3)."""
    if not form.validate_on_submit():
        db.session.rollback()
        return False
    try:
        apply(form)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        field = error.field or ""
        if param_errors is not None and field.startswith("parameters."):
            param_errors[field.split(".", 1)[1]] = str(error)
        else:
            attach_error(form, error)
        return False
    flash(success, "success")
    return True


def _password_context(reseller, form=None, *, confirm=False, login="", generated=""):
    return {"password_form": form, "with_confirm": confirm, "password_login": login,
            "generated_password": generated, "policy_hint": _policy_hint(reseller)}


def _reset_link_available() -> bool:
    return RESET_ENDPOINT in current_app.view_functions


# -- password generator (01 R-PWD-4) -----------------------------------------------------------

def generated_password_for(reseller, login: str = "") -> str:
    """A password the reseller's policy accepts, the login rule included."""
    settings = security_settings(reseller)
    while True:
        candidate = generate_password()
        if not password_problems(candidate, settings.password_complexity, login=login,
                                 forbid_login=settings.forbid_login_in_password):
            return candidate


@bp.get("/users/generate-password")
@staff_required("client_users.manage")  # the same roles as clients.manage (08 §4.9)
def generate_user_password():
    """«Сгенерировать»: the password fields again, filled with a valid password (htmx)."""
    reseller = _reseller()
    login = (request.args.get("email") or "").strip().lower()
    confirm = request.args.get("confirm") == "1"
    return render_template("clients/users/_password_fields.html", **_password_context(
        reseller, confirm=confirm, login=login, generated=generated_password_for(reseller, login)))


# -- create a user in the users section (01 S14, R-USR-12) --------------------------------------

@bp.route("/users/new", methods=["GET", "POST"])
@staff_required("client_users.manage")
def create_user_page():
    reseller = _reseller()
    form = UserCreateForm()
    parameters = _user_parameters(reseller)
    privacy = _privacy_asked(reseller)
    param_errors: dict[str, str] = {}
    created = []

    def apply(f):
        created.append(create_user(
            reseller, email=f.email.data, password=f.password.data,
            first_name=f.first_name.data, middle_name=f.middle_name.data or "",
            last_name=f.last_name.data,
            privacy_accepted=f.privacy_accepted.data if privacy else True,
            parameters=_posted_parameters(parameters), actor=current_user))

    if _save(form, apply, param_errors=param_errors,
             success=_("The user is created. Link the user to a client: until then the user "
                       "has no services.")):
        return redirect(url_for("clients.user_detail", user_id=created[0].id))
    return render_template(
        "clients/users/create.html", form=form, parameters=parameters,
        param_values=_shown_parameters(parameters), param_errors=param_errors, privacy=privacy,
        **_password_context(reseller, form)), \
        422 if form.is_submitted() else 200


# -- the user page (01 S15, R-USR-14, E18) ------------------------------------------------------

def _user_context(user, *, form=None, param_errors=None, **extra):
    reseller = _reseller()
    parameters = _user_parameters(reseller)
    ctx = {
        "user": user,
        "form": form or UserEditForm(obj=user, formdata=None),
        "parameters": parameters,
        "param_values": _shown_parameters(parameters,
                                          parameter_values(user, ParameterTarget.USER)),
        "param_errors": param_errors or {},
        "privacy": _privacy_asked(reseller),
        "memberships": list(user.memberships),
        "sign_ins": db.session.scalars(
            scoped_select(UserSignIn, reseller).where(UserSignIn.user_id == user.id)
            .order_by(UserSignIn.at.desc(), UserSignIn.id.desc())
            .limit(LOGIN_HISTORY_LIMIT)).all(),
        "events": events_for(user),
        "reset_link_available": _reset_link_available(),
        "can_manage": current_user.can("client_users.manage"),
        "client_page": _client_page_endpoint(),
    }
    ctx.update(extra)
    return ctx


@bp.get("/users/<int:user_id>")
@staff_required("client_users.view")
def user_detail(user_id):
    user = tenant_get_or_404(User, user_id)
    return render_template("clients/users/detail.html", **_user_context(user))


@bp.post("/users/<int:user_id>")
@staff_required("client_users.manage")
def update_user_page(user_id):
    """«Сохранить»: names, consent and additional information; the e-mail stays (A-17)."""
    user = tenant_get_or_404(User, user_id)
    reseller = _reseller()
    form = UserEditForm()
    parameters = _user_parameters(reseller)
    privacy = _privacy_asked(reseller)
    param_errors: dict[str, str] = {}

    def apply(f):
        fields = {"first_name": f.first_name.data, "middle_name": f.middle_name.data or "",
                  "last_name": f.last_name.data}
        if privacy:
            fields["privacy_accepted"] = f.privacy_accepted.data
        update_user(user, actor=current_user, parameters=_posted_parameters(parameters),
                    **fields)

    if _save(form, apply, param_errors=param_errors, success=_("Saved.")):
        return redirect(url_for("clients.user_detail", user_id=user.id))
    return render_template("clients/users/detail.html",
                           **_user_context(user, form=form, param_errors=param_errors)), 422


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@staff_required("client_users.manage")
def reset_user_password_page(user_id):
    """«Сбросить пароль» by staff (01 R-PWD-5, S16, E19): password twice, under the policy."""
    user = tenant_get_or_404(User, user_id)
    reseller = _reseller()
    form = UserPasswordForm()
    if _save(form, lambda f: set_user_password(user, f.password.data, actor=current_user),
             success=_("The password is changed.")):
        return redirect(url_for("clients.user_detail", user_id=user.id))
    return render_page_or_partial(
        "clients/users/password.html", "clients/users/_password_form.html", user=user,
        form=form, **_password_context(reseller, form, confirm=True, login=user.email)), \
        422 if form.is_submitted() else 200


@bp.post("/users/<int:user_id>/send-reset-link")
@staff_required("client_users.manage")
def send_user_reset_link(user_id):
    """Mail the user a password-reset link to the client panel (01 §3.8)."""
    user = tenant_get_or_404(User, user_id)
    if not _reset_link_available():
        abort(404)
    reseller = _reseller()
    sent = []

    def apply():
        sent.append(request_user_password_reset(
            reseller, email=user.email,
            link_for=lambda raw: client_panel_url(reseller, RESET_ENDPOINT, token=raw),
            by_staff=True))
        if sent[0] is None:
            raise ClientsError(_l("The user is deactivated; no link is sent."),
                               status=409, code="conflict")

    run_action(apply, success=_("A password-reset link is sent to %(email)s.", email=user.email))
    return redirect(url_for("clients.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/deactivate")
@staff_required("client_users.manage")
def deactivate_user_page(user_id):
    """Global deactivation: access to every client stops (01 R-USR-11)."""
    user = tenant_get_or_404(User, user_id)
    run_action(lambda: set_user_status(user, UserStatus.INACTIVE, actor=current_user),
               success=_("The user is deactivated."))
    return redirect(url_for("clients.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/activate")
@staff_required("client_users.manage")
def activate_user_page(user_id):
    user = tenant_get_or_404(User, user_id)
    run_action(lambda: set_user_status(user, UserStatus.ACTIVE, actor=current_user),
               success=_("The user is activated."))
    return redirect(url_for("clients.user_detail", user_id=user.id))


# -- a client's Users tab (01 S12, R-USR-6..10, E16) --------------------------------------------

def _client_page_endpoint() -> str | None:
    """The client page is another screen group's; link to it once it exists."""
    return "clients.client_detail" if "clients.client_detail" in current_app.view_functions \
        else None


def _has_client_tabs() -> bool:
    try:
        current_app.jinja_env.get_template("clients/clients/_tabs.html")
    except TemplateNotFound:
        return False
    return True


def _search_memberships(client: Client, q: str) -> list[ClientUser]:
    memberships = list(client.memberships)
    needle = (q or "").strip().lower()
    if not needle:
        return memberships

    def matches(m: ClientUser) -> bool:
        user = m.user
        haystack = " ".join([str(user.id), user.first_name, user.middle_name, user.last_name,
                             user.first_name, user.last_name, user.email,
                             m.access_level_label, m.status_label, user.status_label])
        return needle in haystack.lower()

    return [m for m in memberships if matches(m)]


def _tab_context(client: Client, **extra):
    q = (request.values.get("q") or "").strip()
    ctx = {"client": client, "q": q, "memberships": _search_memberships(client, q),
           "level_choices": list(ACCESS_LEVEL_LABELS.items()),
           "can_manage": current_user.can("clients.manage"), "active_tab": "users",
           "users_tab": True,
           "has_client_tabs": _has_client_tabs(), "client_page": _client_page_endpoint(),
           "detach_confirm": DETACH_CONFIRM, "error": None, "message": None,
           "row_errors": {}}
    ctx.update(extra)
    return ctx


def _tab_response(client: Client, status: int = 200, **extra):
    return render_page_or_partial("clients/users/client_users.html",
                                  "clients/users/_client_users.html",
                                  **_tab_context(client, **extra)), status


def _tab_done(client: Client, message: str):
    """After a change on the tab: the fresh table for htmx, else back to the tab."""
    if is_htmx():
        return _tab_response(client, message=message)
    flash(message, "success")
    return redirect(url_for("clients.client_users", client_id=client.id,
                            **({"q": request.values["q"]} if request.values.get("q") else {})))


def _reload_client(client_id: int) -> Client:
    db.session.expire_all()
    return tenant_get_or_404(Client, client_id)


@bp.get("/clients/<int:client_id>/users")
@staff_required("clients.view")
def client_users(client_id):
    client = tenant_get_or_404(Client, client_id)
    return _tab_response(client)


@bp.route("/clients/<int:client_id>/users/new", methods=["GET", "POST"])
@staff_required("clients.manage")
def create_client_user_page(client_id):
    """«Создать пользователя» for the client; Owner demotes the old owner (R-USR-6, D7)."""
    client = tenant_get_or_404(Client, client_id)
    reseller = _reseller()
    form = ClientUserCreateForm()

    def apply(f):
        create_client_user(client, access_level=f.access_level.data, email=f.email.data,
                           first_name=f.first_name.data, last_name=f.last_name.data,
                           middle_name=f.middle_name.data or "", password=f.password.data,
                           actor=current_user)

    if _save(form, apply, success=_("The user is created and linked to the client.")):
        return redirect(url_for("clients.client_users", client_id=client.id))
    if form.is_submitted():
        client = _reload_client(client_id)
    return render_template(
        "clients/users/create_for_client.html", client=client, form=form,
        client_page=_client_page_endpoint(),
        **_password_context(reseller, form)), \
        422 if form.is_submitted() else 200


def _attach_candidates(client: Client, q: str, page: int):
    """Users of this reseller not linked to the client yet (01 A-19), by ID or text."""
    linked = select(ClientUser.user_id).where(ClientUser.reseller_id == client.reseller_id,
                                              ClientUser.client_id == client.id)
    query = scoped_select(User, _reseller()).where(User.id.not_in(linked))
    needle = (q or "").strip().lower()
    if needle:
        conditions = [func.lower(NAME_SEARCH).contains(needle, autoescape=True),
                      func.lower(User.email).contains(needle, autoescape=True)]
        if needle.isdigit():
            conditions.append(User.id == cast(needle, Integer))
        query = query.where(or_(*conditions))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // ATTACH_PAGE_SIZE))
    page = min(max(1, page), pages)
    users = db.session.scalars(query.order_by(User.id.desc()).limit(ATTACH_PAGE_SIZE)
                               .offset((page - 1) * ATTACH_PAGE_SIZE)).all()
    return users, total, page, pages


@bp.get("/clients/<int:client_id>/users/attach")
@staff_required("clients.manage")
def attach_users_page(client_id):
    """«Добавление пользователя»: pick a level per row and «Присоединить» (R-USR-7)."""
    client = tenant_get_or_404(Client, client_id)
    q = (request.args.get("q") or "").strip()
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        page = 1
    users, total, page, pages = _attach_candidates(client, q, page)
    return render_page_or_partial(
        "clients/users/attach.html", "clients/users/_attach_table.html", client=client,
        users=users, total=total, page_number=page, pages=pages, q=q,
        page_size=ATTACH_PAGE_SIZE,
        level_choices=_attach_levels(),
        client_page=_client_page_endpoint(), attached=None, row_error=None)


@bp.post("/clients/<int:client_id>/users/attach")
@staff_required("clients.manage")
def attach_user_page(client_id):
    """«Присоединить» one row: htmx swaps the row, a plain post returns to the list."""
    client = tenant_get_or_404(Client, client_id)
    user = tenant_get_or_404(User, request.form.get("user_id"))  # another reseller's: 404
    form = AttachUserForm()
    error = None
    if not form.validate_on_submit():
        db.session.rollback()
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        try:
            attach_user(client, user, access_level=form.access_level.data, actor=current_user)
            db.session.commit()
        except DomainError as refusal:
            db.session.rollback()
            error = str(refusal)
    if not is_htmx():
        if error:
            flash(error, "error")
        else:
            flash(_("%(email)s is attached to the client.", email=user.email), "success")
        return redirect(url_for("clients.attach_users_page", client_id=client.id,
                                **({"q": request.form["q"]} if request.form.get("q") else {})))
    db.session.expire_all()
    user = tenant_get_or_404(User, user.id)
    attached = next((m for m in user.memberships if m.client_id == client.id), None)
    return render_template("clients/users/_attach_row.html", client=client, user=user,
                           attached=None if error else attached, row_error=error,
                           level_choices=_attach_levels(), q=request.form.get("q", "")), \
        422 if error else 200


def _attach_levels():
    return [(lvl, label) for lvl, label in ACCESS_LEVEL_LABELS.items() if lvl != AccessLevel.OWNER]


@bp.post("/clients/<int:client_id>/users/<int:user_id>/level")
@staff_required("clients.manage")
def set_client_user_level(client_id, user_id):
    """The inline level select applies at once; Owner demotes the old owner (R-USR-8, D7)."""
    client = tenant_get_or_404(Client, client_id)
    tenant_get_or_404(User, user_id)
    form = AccessLevelForm()
    try:
        membership = membership_of(client, user_id)
    except ClientsError:
        abort(404)
    if not form.validate_on_submit():
        db.session.rollback()
        client = _reload_client(client_id)
        return _tab_response(client, 422, row_errors={user_id: " ".join(
            str(e) for errors in form.errors.values() for e in errors)})
    try:
        set_access_level(membership, form.access_level.data, actor=current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        client = _reload_client(client_id)
        return _tab_response(client, 422, row_errors={user_id: str(error)})
    label = ACCESS_LEVEL_LABELS[AccessLevel(form.access_level.data)]
    return _tab_done(_reload_client(client_id),
                     _("The access level is changed to %(level)s.", level=label))


def _ticked(client: Client) -> list[ClientUser]:
    """The memberships of the ticked rows; an id outside the client (or tenant) is a 404."""
    memberships = []
    for raw in request.form.getlist("user_ids"):
        try:
            user_id = int(raw)
        except ValueError:
            abort(404)
        try:
            memberships.append(membership_of(client, user_id))
        except ClientsError:
            abort(404)
    return memberships


def _bulk(client_id: int, action, *, success: str):
    client = tenant_get_or_404(Client, client_id)
    memberships = _ticked(client)
    if not memberships:
        return _tab_response(client, 422, error=_("Tick at least one user."))
    try:
        for membership in memberships:
            action(membership)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _tab_response(_reload_client(client_id), 422, error=str(error))
    return _tab_done(_reload_client(client_id), success)


@bp.post("/clients/<int:client_id>/users/detach")
@staff_required("clients.manage")
def detach_client_users(client_id):
    """«Отсоединить от клиента»: never the owner; the user records stay (R-USR-9, A-18)."""
    return _bulk(client_id, lambda m: detach_user(m, actor=current_user),
                 success=_("The users are detached from the client."))


@bp.post("/clients/<int:client_id>/users/status")
@staff_required("clients.manage")
def set_client_users_status(client_id):
    """«Действия → Деактивировать / Активировать для клиента» (R-USR-10)."""
    status = request.form.get("status")
    if status not in (UserStatus.ACTIVE.value, UserStatus.INACTIVE.value):
        client = tenant_get_or_404(Client, client_id)
        return _tab_response(client, 422, error=_("Choose an action."))
    return _bulk(client_id,
                 lambda m: set_membership_status(m, status, actor=current_user),
                 success=_("The users are deactivated for the client.")
                 if status == UserStatus.INACTIVE.value
                 else _("The users are activated for the client."))
