"""The client panel's frame (blueprint "client_panel", /client): sign-in, password recovery and
the invitation link, the accounts page and the client switcher, the user's settings, and the
hand-off of a staff member's "log in as client" (01 §5.2, R-ST-3/4, R-LAC-1; 07 BR-18)."""

from __future__ import annotations

from flask import (Blueprint, abort, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _

from portal.accounts.auth import security_settings_for
from portal.accounts.services.passwords import POLICY_HINTS
from portal.client_panel.auth import (client_required, forget, load_client_session,
                                      login_redirect, sign_in, user_required)
from portal.client_panel.forms import (UserForgotForm, UserLoginForm, UserNewPasswordForm,
                                       UserPasswordChangeForm, UserSettingsForm)
from portal.client_panel.links import client_panel_url
from portal.clients.models import Client
from portal.clients.services.errors import ClientsError
from portal.clients.services.user_sign_in import (USER_INACTIVE, ClientAccess,
                                                  accessible_clients, authenticate_user,
                                                  change_user_password, claim_client_handoff,
                                                  end_user_session, landing_client,
                                                  record_user_sign_in, start_user_session,
                                                  switch_client)
from portal.clients.services.user_tokens import (INVITATION, RESET, complete_user_token,
                                                 find_user_token, request_user_password_reset)
from portal.clients.services.users import update_user
from portal.core.forms import submit
from portal.extensions import db
from portal.tenancy.scope import tenant_get_or_404

bp = Blueprint("client_panel", __name__, url_prefix="/client")
bp.before_request(load_client_session)


def _accesses() -> list[ClientAccess]:
    """The clients the signed-in user may see on the accounts page and in the switcher.

    A staff member signed in as the owner acts for the one client they entered (01 R-LAC-1).
    """
    if g.user is None:
        return []
    if g.user_session.impersonator_id is not None:
        return [ClientAccess(g.membership, g.client, None)] if g.client is not None else []
    return accessible_clients(g.user)


@bp.context_processor
def frame_context():
    user = g.get("user")
    return {"cp_user": user, "cp_client": g.get("client"), "cp_membership": g.get("membership"),
            "cp_session": g.get("user_session"),
            "cp_impersonator": g.user_session.impersonator if user is not None else None,
            "cp_switch": [a for a in _accesses() if a.can_enter] if user is not None else []}


@bp.errorhandler(404)
def not_found(_error):
    return render_template("client_panel/error.html", status=404), 404


def _open_session(user):
    """Start the user's session in their only client, else on the accounts page."""
    client = landing_client(user)
    _user_session, key = start_user_session(user, client, ip=request.remote_addr)
    db.session.commit()
    sign_in(key)
    if user.language in ("ru", "en"):
        session["lang"] = user.language
    return redirect(url_for("client_panel.home" if client else "client_panel.accounts"))


# -- signing in and out --------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.user is not None:
        return redirect(url_for("client_panel.home"))
    form = UserLoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate_user(g.reseller, email=form.email.data,
                                     password=form.password.data, ip=request.remote_addr,
                                     user_agent=request.user_agent.string)
        except ClientsError as refusal:
            db.session.commit()  # the failed attempt and the lockout count are kept
            error = str(refusal)
        else:
            return _open_session(user)
    status = 401 if error else (422 if form.is_submitted() else 200)
    return render_template("client_panel/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    if g.user_session is not None:
        end_user_session(g.user_session)
        db.session.commit()
    forget()
    return redirect(url_for("client_panel.login"))


@bp.get("/enter/<token>")
def enter(token):
    """Claim a staff member's "log in as client" hand-off on this host (01 R-LAC-1)."""
    claimed = claim_client_handoff(g.reseller, token)
    if claimed is None:
        db.session.rollback()
        abort(404)
    _user_session, real_key = claimed
    db.session.commit()
    sign_in(real_key)
    return redirect(url_for("client_panel.home"))


# -- password recovery and the invitation link ---------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = UserForgotForm()
    if form.validate_on_submit():
        reseller = g.reseller
        request_user_password_reset(reseller, email=form.email.data, link_for=lambda raw:
                                    client_panel_url(reseller, "client_panel.reset_password",
                                                     token=raw))
        db.session.commit()
        # Never say whether the address exists.
        return render_template("client_panel/forgot_sent.html")
    return render_template("client_panel/forgot.html", form=form), \
        422 if form.is_submitted() else 200


def _token_form(token: str, purpose: str):
    """The new-password form behind an e-mailed link; returns (user, None) once it is used."""
    try:
        find_user_token(g.reseller, token, purpose)
    except ClientsError as error:
        return None, (render_template("client_panel/link_invalid.html", message=str(error)), 404)
    form = UserNewPasswordForm()
    done = []
    success = (_("The password is set.") if purpose == INVITATION
               else _("The password is changed. Sign in with the new password."))
    if submit(form, lambda f: done.append(complete_user_token(
            g.reseller, raw_token=token, password=f.password.data, purpose=purpose)),
            success=success):
        return done[0], None
    hint = POLICY_HINTS[security_settings_for(g.reseller).password_complexity]
    return None, (render_template("client_panel/new_password.html", form=form, hint=hint,
                                  purpose=purpose), 422 if form.is_submitted() else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    user, page = _token_form(token, RESET)
    if user is None:
        return page
    if g.user_session is not None and g.user_session.user_id == user.id:
        forget()  # the reset ended every session of the user
    return redirect(url_for("client_panel.login"))


@bp.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token):
    """The new owner's invitation (01 R-CL-7): set the first password, then go in."""
    user, page = _token_form(token, INVITATION)
    if user is None:
        return page
    forget()
    if not user.is_active:
        flash(str(USER_INACTIVE), "error")
        return redirect(url_for("client_panel.login"))
    accesses = accessible_clients(user)
    if len(accesses) == 1 and not accesses[0].can_enter:
        flash(str(accesses[0].refusal), "error")  # 01 R-ST-3 / R-ST-4
        return redirect(url_for("client_panel.login"))
    record_user_sign_in(user, ip=request.remote_addr, user_agent=request.user_agent.string,
                        reason="invitation")
    return _open_session(user)


# -- the frame: accounts, switching, home, settings ----------------------------------------

@bp.get("/accounts")
@user_required
def accounts():
    return render_template("client_panel/accounts.html", accesses=_accesses())


@bp.post("/accounts/<int:client_id>")
def switch(client_id):
    """Act for another client of the user; not a client of theirs is a 404."""
    # Looked up before the sign-in check: another reseller's client is a 404 for anyone.
    client = tenant_get_or_404(Client, client_id, reseller=g.reseller)
    if g.user is None:
        return login_redirect()
    try:
        switch_client(g.user_session, client)
        db.session.commit()
    except ClientsError as error:
        db.session.rollback()
        if error.status == 404:
            abort(404)
        flash(str(error), "error")
        return redirect(url_for("client_panel.accounts"))
    return redirect(url_for("client_panel.home"))


@bp.get("/")
@client_required
def home():
    return render_template("client_panel/home.html")


def _settings_page(*, form=None, password_form=None, status=200):
    user = g.user
    if form is None:
        form = UserSettingsForm(obj=user, formdata=None)
        form.language.data = user.language or ""
    return render_template(
        "client_panel/settings.html", form=form,
        password_form=password_form or UserPasswordChangeForm(formdata=None),
        hint=POLICY_HINTS[security_settings_for(g.reseller).password_complexity]), status


@bp.get("/settings")
@user_required
def settings():
    return _settings_page()


@bp.post("/settings")
@user_required
def update_settings():
    form = UserSettingsForm()
    user = g.user
    if submit(form, lambda f: update_user(
            user, first_name=f.first_name.data, middle_name=f.middle_name.data or "",
            last_name=f.last_name.data, language=f.language.data or None)):
        if user.language in ("ru", "en") and g.user_session.impersonator_id is None:
            session["lang"] = user.language
        return redirect(url_for("client_panel.settings"))
    return _settings_page(form=form, status=422)


@bp.post("/settings/password")
@user_required
def change_password():
    if g.user_session.impersonator_id is not None:
        # A staff member signed in as the owner does not learn or set the owner's password.
        abort(403)
    form = UserPasswordChangeForm()
    if submit(form, lambda f: change_user_password(
            g.user, current_password=f.current_password.data, password=f.password.data,
            keep=g.user_session), success=_("The password is changed.")):
        return redirect(url_for("client_panel.settings"))
    return _settings_page(password_form=form, status=422)


# The bell's and the notification settings' routes join this blueprint.
from portal.client_panel import notification_views as _bell  # noqa: E402, F401
