"""Host → tenant: the request's Host decides which reseller's panel is served (07 BR-18)."""

from __future__ import annotations

from flask import abort, g, request
from sqlalchemy import func, select

from portal.extensions import db
from portal.tenancy.models import Reseller, ResellerDomain, ResellerStatus
from portal.tenancy.tree import ancestor_ids_select

LOCAL_SUFFIX = ".localhost"


def normalise_host(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.split(":", 1)[0]


def reseller_for_host(host: str) -> Reseller | None:
    """The reseller a host serves: a registered domain, or <slug>.localhost for local use."""
    host = normalise_host(host)
    if not host:
        return None
    reseller = db.session.scalar(
        select(Reseller).join(ResellerDomain).where(func.lower(ResellerDomain.domain) == host))
    if reseller is None and host.endswith(LOCAL_SUFFIX):
        slug = host[: -len(LOCAL_SUFFIX)]
        reseller = db.session.scalar(select(Reseller).where(Reseller.slug == slug))
    return reseller


def is_suspended(reseller: Reseller) -> bool:
    """A reseller is suspended when it or any reseller above it is (one query per request)."""
    chain = ancestor_ids_select(reseller.id, include_self=True).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(Reseller).where(
        Reseller.id.in_(select(chain.c.id)), Reseller.status == ResellerStatus.SUSPENDED)) > 0


# Endpoints served whatever the host (health checks, static files, the API acting by token).
HOSTLESS_ENDPOINTS = {"static", "core.healthz"}


def resolve_tenant() -> None:
    """before_request: set g.reseller from the Host, or answer a plain 404."""
    # Per-request state: tests share one app context (and so one g) between requests.
    vars(g).clear()
    g.reseller = None
    endpoint = request.endpoint or ""
    if endpoint in HOSTLESS_ENDPOINTS or endpoint.startswith("api."):
        return
    reseller = reseller_for_host(request.host)
    if reseller is None:
        abort(404)
    g.reseller = reseller
    g.acting_reseller = reseller  # the panel acts in the host's reseller
    if is_suspended(reseller) and endpoint != "tenancy.branding_asset":
        abort(403, description="suspended")
