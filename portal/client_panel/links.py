"""Absolute links into a reseller's client panel, for e-mails sent from any request or job."""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for


def client_panel_host(reseller) -> str:
    """The client panel's own host when the reseller set one, else its panel host (07 BR-18)."""
    return reseller.client_domain or reseller.panel_domain or reseller.local_host


def client_panel_url(reseller, endpoint: str, **values) -> str:
    """An absolute URL of a client-panel page on the reseller's host."""
    path = url_for(endpoint, _external=False, **values)
    scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
    port = ""
    if has_request_context():
        scheme = request.scheme
        host = request.host
        # Keep a development port (localhost:5000) when linking from the same machine.
        if ":" in host and not host.startswith("["):
            port = ":" + host.rsplit(":", 1)[1]
    return f"{scheme}://{client_panel_host(reseller)}{port}{path}"
