"""The bell of the client panel's frame and the "Notification settings" page (09 §5.5 C1, C2).

The routes join the "client_panel" blueprint (its sign-in check, frame and 404 page). Marking
read answers an htmx request with the bell itself, which replaces itself; without htmx it goes
back to the page it came from."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from portal.client_panel.auth import client_required, user_required
from portal.client_panel.notifications import (CHANNELS, count_unread, get_panel_message,
                                               list_unread, mark_all_read, mark_read,
                                               preference_rows, save_preferences)
from portal.client_panel.views import bp
from portal.core.htmx import is_htmx, render_partial
from portal.extensions import db
from portal.notifications.delivery_models import Notification
from portal.tenancy.scope import tenant_get_or_404


def _bell() -> dict | None:
    """The bell's count and newest unread messages, read only when the frame shows it."""
    if g.get("user") is None or g.get("client") is None:
        return None
    return {"count": count_unread(g.reseller, g.user, g.client),
            "items": list_unread(g.reseller, g.user, g.client)}


@bp.context_processor
def bell_context():
    return {"cp_bell": _bell}


def _bell_answer():
    if is_htmx():
        return render_partial("client_panel/notifications/_bell.html", bell_open=True)
    target = request.referrer or ""
    # Only back to a page of this host (no open redirect through the Referer header).
    if not target.startswith(request.host_url):
        target = url_for("client_panel.home")
    return redirect(target)


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id):
    # Looked up before the sign-in check: another reseller's message is a 404 for anyone.
    tenant_get_or_404(Notification, notification_id, reseller=g.reseller)
    return client_required(_read_one)(notification_id)


def _read_one(notification_id):
    notification = get_panel_message(g.reseller, g.user, g.client, notification_id)
    if notification is None:
        abort(404)  # another user's, or another client's
    mark_read(notification)
    db.session.commit()
    return _bell_answer()


@bp.post("/notifications/read-all")
@client_required
def read_all_notifications():
    mark_all_read(g.reseller, g.user, g.client)
    db.session.commit()
    return _bell_answer()


@bp.route("/notifications/settings", methods=["GET", "POST"])
@user_required
def notification_settings():
    """Per published category: e-mail, SMS (locked without an SMS template) and panel."""
    form = FlaskForm()  # the CSRF token; the switches are read from the request
    if request.method == "POST":
        switches = {}
        for key in request.form:
            channel, _sep, category_id = key.partition("-")
            if channel in CHANNELS and category_id.isdigit():
                switches.setdefault(int(category_id), {})[channel] = True
        save_preferences(g.reseller, g.user, switches)
        db.session.commit()
        flash(_("The notification settings are saved."), "success")
        return redirect(url_for("client_panel.notification_settings"))
    return render_template("client_panel/notifications/settings.html", form=form,
                           rows=preference_rows(g.reseller, g.user))
