"""Who is signed in to the client panel: a cookie key of its own, apart from the staff login.

The key lives in the Flask session under SESSION_KEY (Flask-Login's keys belong to the operator
panel), so a staff member signed in on the same host is not a client-panel user, and the other
way round. The server-side UserSession is of one reseller: its key does nothing on another
reseller's host. Every request re-checks the effective access (01 §3.7).
"""

from __future__ import annotations

from functools import wraps

from flask import flash, g, make_response, redirect, request, session, url_for

from portal.clients.models import UserStatus
from portal.clients.services.user_sign_in import (USER_INACTIVE, access_refusal,
                                                  end_user_session, find_user_session,
                                                  membership_in, session_is_idle)
from portal.core.clock import clock
from portal.extensions import db

SESSION_KEY = "client_session"


def sign_in(key: str) -> None:
    session[SESSION_KEY] = key


def forget() -> None:
    session.pop(SESSION_KEY, None)


def _drop(user_session, message=None) -> None:
    end_user_session(user_session)
    db.session.commit()
    forget()
    if message is not None:
        flash(str(message), "error")


def load_client_session() -> None:
    """before_request of the client panel: set g.user, g.client, g.membership, g.user_session."""
    g.user = g.client = g.membership = g.user_session = None
    reseller = getattr(g, "reseller", None)
    key = session.get(SESSION_KEY)
    if reseller is None or not key:
        return
    user_session = find_user_session(reseller, key)
    if user_session is None:
        forget()
        return
    if session_is_idle(user_session, reseller):
        _drop(user_session)
        return
    user = user_session.user
    if user.status != UserStatus.ACTIVE:
        _drop(user_session, USER_INACTIVE)
        return
    impersonator = user_session.impersonator
    if user_session.impersonator_id is not None and (
            impersonator is None or not impersonator.is_active):
        _drop(user_session)
        return
    membership = None
    if user_session.client_id is not None:
        client = user_session.client
        membership = membership_in(user, client)
        refusal = access_refusal(user, membership)
        if refusal is not None:
            # The client was blocked or deleted, or the user lost access, meanwhile.
            if user_session.impersonator_id is not None:
                _drop(user_session, refusal)
                return
            user_session.client_id = None
            db.session.commit()
            flash(str(refusal), "error")
            membership = None
    now = clock.now()
    if (now - user_session.last_seen_at).total_seconds() > 60:
        user_session.last_seen_at = now
        db.session.commit()
    g.user_session = user_session
    g.user = user
    g.membership = membership
    g.client = membership.client if membership is not None else None


def login_redirect():
    target = url_for("client_panel.login")
    if request.headers.get("HX-Request") == "true":
        answer = make_response("", 401)
        answer.headers["HX-Redirect"] = target
        return answer
    return redirect(target)


def user_required(view):
    """A signed-in client-panel user of this host's reseller (else the login page)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            return login_redirect()
        return view(*args, **kwargs)

    return wrapper


def client_required(view):
    """A signed-in user acting for a client they may enter now (else the accounts page)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            return login_redirect()
        if g.get("client") is None:
            target = url_for("client_panel.accounts")
            if request.headers.get("HX-Request") == "true":
                answer = make_response("", 401)
                answer.headers["HX-Redirect"] = target
                return answer
            return redirect(target)
        return view(*args, **kwargs)

    return wrapper
