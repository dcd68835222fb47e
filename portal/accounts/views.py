"""Sign-in, sign-out, password recovery, staff members, roles and API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup
from sqlalchemy import select

from portal.accounts.auth import Principal, must_change_password, staff_required
from portal.accounts.forms import (ForgotPasswordForm, LoginForm, NewPasswordForm, StaffCreateForm,
                                   StaffEditForm, TokenForm)
from portal.accounts.models import (ROLE_LABELS, STAFF_STATUS_LABELS, ApiToken, Role,
                                    SignInEvent, StaffMember, StaffStatus)
from portal.accounts.permissions import ROLE_PERMISSIONS, SECTION_ROLES
from portal.accounts.services import (
    AccountsError, SignInError, authenticate, complete_password_reset, create_api_token,
    create_staff_member, end_session, find_reset_token, regenerate_api_token,
    request_password_reset, revoke_api_token, set_staff_password, set_staff_status,
    start_session, update_staff_member)
from portal.accounts.services.passwords import POLICY_HINTS
from portal.core.audit import events_for
from portal.core.errors import DomainError
from portal.core.forms import run_action, submit
from portal.core.listkit import Column, Filter, ListDefinition, register_list
from portal.extensions import db
from portal.operator.lists import list_response
from portal.operator.menu import all_menu_items
from portal.settings.services import security_settings
from portal.tenancy.scope import scoped_select, tenant_get_or_404

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("operator.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("operator.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            member = authenticate(g.reseller, email=form.email.data, password=form.password.data,
                                  ip=request.remote_addr, user_agent=request.user_agent.string)
            staff_session, key = start_session(member, ip=request.remote_addr)
            db.session.commit()
        except SignInError as refusal:
            db.session.commit()  # the failed attempt and the lockout count are kept
            error = str(refusal)
        else:
            session.permanent = bool(form.remember.data)
            session.pop("lang", None)
            principal = Principal(member, g.reseller, session=staff_session, session_key=key)
            login_user(principal)
            if must_change_password(principal):
                flash(_("Your password has expired. Choose a new one."), "warning")
                return redirect(url_for("accounts.profile"))
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else (422 if form.is_submitted() else 200)
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
@staff_required()
def logout():
    if current_user.session is not None:
        end_session(current_user.session)
        db.session.commit()
    logout_user()
    client_key = session.get("client_session")  # the client panel's sign-in is its own
    session.clear()
    if client_key:
        session["client_session"] = client_key
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(
            g.reseller, email=form.email.data,
            link_for=lambda raw: url_for("accounts.reset_password", token=raw, _external=True))
        db.session.commit()
        # Never say whether the address exists (01 S2).
        return render_template("accounts/forgot_sent.html")
    return render_template("accounts/forgot.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        find_reset_token(g.reseller, token)
    except AccountsError as error:
        return render_template("accounts/reset_invalid.html", message=str(error)), 404
    form = NewPasswordForm()
    hint = POLICY_HINTS[security_settings(g.reseller).password_complexity]
    if submit(form, lambda f: complete_password_reset(g.reseller, raw_token=token,
                                                      password=f.password.data),
              success=_("The password is changed. Sign in with the new password.")):
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, hint=hint), \
        422 if form.is_submitted() else 200


# -- staff ---------------------------------------------------------------------------------

def _staff_link(member: StaffMember) -> Markup:
    return Markup('<a href="{}" hx-boost="true">{}</a>').format(
        url_for("accounts.staff_detail", member_id=member.id), member.name)


STAFF = register_list(ListDefinition(
    key="staff", title=_l("Staff and access rights"), model=StaffMember, permission="staff.view",
    query=lambda reseller: scoped_select(StaffMember, reseller),
    columns=[
        Column("id", "ID", sort=StaffMember.id),
        Column("name", _l("Name"), sort=StaffMember.name, search=StaffMember.name,
               render=_staff_link),
        Column("email", _l("E-mail"), sort=StaffMember.email, search=StaffMember.email),
        Column("status", _l("Status"), sort=StaffMember.status,
               value=lambda m: str(STAFF_STATUS_LABELS[m.status])),
        Column("role", _l("Role"), sort=StaffMember.role, value=lambda m: str(ROLE_LABELS[m.role])),
        Column("last_sign_in_at", _l("Last sign-in"), sort=StaffMember.last_sign_in_at,
               default=False),
        Column("created_at", _l("Created"), sort=StaffMember.created_at, default=False),
    ],
    filters=[
        Filter("status", _l("Status"), StaffMember.status,
               choices=[(s.value, STAFF_STATUS_LABELS[s]) for s in StaffStatus]),
        Filter("role", _l("Role"), StaffMember.role,
               choices=[(r.value, ROLE_LABELS[r]) for r in Role]),
        Filter("email", _l("E-mail"), StaffMember.email),
    ],
))


@bp.get("/staff")
@staff_required("staff.view")
def list_staff():
    return list_response(STAFF, title=STAFF.title,
                         create_url=url_for("accounts.create_staff")
                         if current_user.can("staff.manage") else None)


@bp.route("/staff/new", methods=["GET", "POST"])
@staff_required("staff.manage")
def create_staff():
    form = StaffCreateForm()
    created = []
    if submit(form, lambda f: created.append(create_staff_member(
            g.acting_reseller, email=f.email.data, name=f.name.data, role=f.role.data,
            password=f.password.data, actor=current_user)),
            success=_("Staff member %(name)s is created.", name=form.name.data)):
        return redirect(url_for("accounts.staff_detail", member_id=created[0].id))
    hint = POLICY_HINTS[security_settings(g.acting_reseller).password_complexity]
    return render_template("accounts/staff_create.html", form=form, hint=hint), \
        422 if form.is_submitted() else 200


def _sign_ins(member):
    return db.session.scalars(select(SignInEvent).where(
        SignInEvent.reseller_id == member.reseller_id, SignInEvent.staff_member_id == member.id)
        .order_by(SignInEvent.id.desc()).limit(50)).all()


def _staff_page(member, *, form=None, password_form=None, status=200):
    return render_template(
        "accounts/staff_detail.html", target=member,
        form=form or StaffEditForm(obj=member, formdata=None),
        password_form=password_form or NewPasswordForm(formdata=None),
        events=events_for(member), sign_ins=_sign_ins(member)), status


@bp.get("/staff/<int:member_id>")
@staff_required("staff.view")
def staff_detail(member_id):
    return _staff_page(tenant_get_or_404(StaffMember, member_id))


@bp.post("/staff/<int:member_id>")
@staff_required("staff.manage")
def update_staff(member_id):
    member = tenant_get_or_404(StaffMember, member_id)
    form = StaffEditForm()
    if submit(form, lambda f: update_staff_member(member, actor=current_user, name=f.name.data,
                                                  email=f.email.data, role=f.role.data)):
        return redirect(url_for("accounts.staff_detail", member_id=member.id))
    return _staff_page(member, form=form, status=422)


@bp.post("/staff/<int:member_id>/status")
@staff_required("staff.manage")
def change_staff_status(member_id):
    member = tenant_get_or_404(StaffMember, member_id)
    run_action(lambda: set_staff_status(member, request.form.get("status", ""),
                                        actor=current_user))
    return redirect(url_for("accounts.staff_detail", member_id=member.id))


@bp.post("/staff/<int:member_id>/password")
@staff_required("staff.manage")
def reset_staff_password(member_id):
    member = tenant_get_or_404(StaffMember, member_id)
    form = NewPasswordForm()
    if submit(form, lambda f: set_staff_password(member, f.password.data, actor=current_user),
              success=_("The password is changed.")):
        return redirect(url_for("accounts.staff_detail", member_id=member.id))
    return _staff_page(member, password_form=form, status=422)


@bp.get("/staff/roles")
@staff_required("staff_roles.view")
def roles():
    """The read-only role matrix (08 "Роли сотрудников")."""
    return render_template("accounts/roles.html", roles=list(Role), role_labels=ROLE_LABELS,
                           sections=all_menu_items(), section_roles=SECTION_ROLES,
                           matrix=ROLE_PERMISSIONS)


# -- the member's own profile: password and API tokens --------------------------------------

def _own_tokens():
    member = current_user.member
    return db.session.scalars(select(ApiToken).where(
        ApiToken.reseller_id == member.reseller_id, ApiToken.staff_member_id == member.id)
        .order_by(ApiToken.id.desc())).all()


def _profile(*, password_form=None, new_token=None, status=200):
    member = current_user.member
    return render_template(
        "accounts/profile.html", member=member, tokens=_own_tokens(),
        password_form=password_form or NewPasswordForm(formdata=None), token_form=TokenForm(),
        new_token=new_token, sign_ins=_sign_ins(member),
        hint=POLICY_HINTS[security_settings(member.reseller).password_complexity]), status


@bp.get("/profile")
@staff_required()
def profile():
    return _profile()


@bp.post("/profile/password")
@staff_required()
def change_own_password():
    form = NewPasswordForm()
    if submit(form, lambda f: set_staff_password(current_user.member, f.password.data,
                                                 actor=current_user),
              success=_("The password is changed.")):
        return redirect(url_for("accounts.profile"))
    return _profile(password_form=form, status=422)


def _own_token_or_404(token_id: int) -> ApiToken:
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.reseller_id == current_user.member.reseller_id,
        ApiToken.staff_member_id == current_user.member.id))
    if token is None:
        from flask import abort  # noqa: PLC0415

        abort(404)
    return token


@bp.post("/profile/tokens")
@staff_required()
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _profile(status=422)
    _token, raw = create_api_token(current_user.member, name=form.name.data or "",
                                   actor=current_user)
    db.session.commit()
    return _profile(new_token=raw)


@bp.post("/profile/tokens/<int:token_id>/regenerate")
@staff_required()
def regenerate_token(token_id):
    try:
        _token, raw = regenerate_api_token(_own_token_or_404(token_id), actor=current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("accounts.profile"))
    return _profile(new_token=raw)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@staff_required()
def revoke_token(token_id):
    revoke_api_token(_own_token_or_404(token_id), actor=current_user)
    db.session.commit()
    flash(_("The token is revoked."), "success")
    return redirect(url_for("accounts.profile"))
