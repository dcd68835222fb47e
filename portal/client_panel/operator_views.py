"""Operator side of "log in as client" (01 R-LAC-1/3): the client page's "to the client panel"
button opens the client panel as the client's owner on the reseller's client-panel host."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.accounts.auth import staff_required
from portal.client_panel.links import client_panel_url
from portal.clients.models import Client
from portal.clients.services.errors import ClientsError
from portal.clients.services.user_sign_in import enter_client_panel
from portal.clients.views import bp
from portal.extensions import db
from portal.tenancy.scope import tenant_get_or_404


def _back():
    target = request.referrer or ""
    parsed = urlparse(target)
    if target and parsed.netloc == request.host:
        return redirect(target)
    return redirect(url_for("operator.home"))


@bp.post("/clients/<int:client_id>/client-panel", endpoint="enter_client_panel")
@staff_required("clients.view")
def enter_client_panel_view(client_id):
    """Hand the staff member over to the client panel as the owner (audited on the client)."""
    client = tenant_get_or_404(Client, client_id)
    try:
        key = enter_client_panel(client, actor=current_user)
        db.session.commit()
    except ClientsError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back()
    reseller = client.reseller
    return redirect(client_panel_url(reseller, "client_panel.enter", token=key))

