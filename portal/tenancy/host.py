"""Host → tenant: the request's Host decides which reseller's panel is served (07 BR-18)."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from sqlalchemy import func, select

from portal.core.tenant_guard import across_tenants
from portal.extensions import db
from portal.tenancy.models import DomainKind, Reseller, ResellerDomain, ResellerStatus
from portal.tenancy.tree import ancestor_ids_select

LOCAL_SUFFIX = ".localhost"


def normalise_host(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.split(":", 1)[0]


def resolve_host(host: str) -> tuple[Reseller | None, DomainKind | None]:
    """The reseller a host serves and the kind of its domain (None for <slug>.localhost)."""
    host = normalise_host(host)
    if not host:
        return None, None
    with across_tenants():  # the host itself says whose it is
        row = db.session.execute(
            select(Reseller, ResellerDomain.kind).join(ResellerDomain)
            .where(func.lower(ResellerDomain.domain) == host)).first()
    if row is not None:
        return row[0], row[1]
    if host.endswith(LOCAL_SUFFIX):
        slug = host[: -len(LOCAL_SUFFIX)]
        return db.session.scalar(select(Reseller).where(Reseller.slug == slug)), None
    return None, None


def reseller_for_host(host: str) -> Reseller | None:
    """The reseller a host serves: a registered domain, or <slug>.localhost for local use."""
    return resolve_host(host)[0]


def is_suspended(reseller: Reseller) -> bool:
    """A reseller is suspended when it or any reseller above it is (one query per request)."""
    chain = ancestor_ids_select(reseller.id, include_self=True).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(Reseller).where(
        Reseller.id.in_(select(chain.c.id)), Reseller.status == ResellerStatus.SUSPENDED)) > 0


# Endpoints served whatever the host (health checks, static files, the API acting by token).
HOSTLESS_ENDPOINTS = {"static", "core.healthz"}
# What a reseller's own client-panel host serves besides the client panel (07 BR-18).
CLIENT_HOST_ENDPOINTS = {"static", "core.healthz", "core.set_language", "tenancy.branding_asset"}


def served_on_client_host(endpoint: str) -> bool:
    return endpoint in CLIENT_HOST_ENDPOINTS or endpoint.startswith("client_panel.")


def resolve_tenant():
    """before_request: set g.reseller from the Host, or answer a plain 404."""
    # Per-request state: tests share one app context (and so one g) between requests.
    vars(g).clear()
    g.reseller = None
    endpoint = request.endpoint or ""
    if endpoint in HOSTLESS_ENDPOINTS or endpoint.startswith("api."):
        return
    reseller, kind = resolve_host(request.host)
    if reseller is None:
        abort(404)
    g.reseller = reseller
    # A client-panel host serves the client panel alone: "/" leads there, the rest is a 404.
    g.client_host = kind == DomainKind.CLIENT
    if g.client_host and not served_on_client_host(endpoint):
        if request.path == "/":
            return redirect(url_for("client_panel.home"))
        abort(404)
    g.acting_reseller = reseller  # the panel acts in the host's reseller
    if is_suspended(reseller) and endpoint != "tenancy.branding_asset":
        abort(403, description="suspended")
