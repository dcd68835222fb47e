"""Lookups that start from the tenant (STYLE §5): anything outside the reach is a 404."""

from __future__ import annotations

from flask import abort, g
from sqlalchemy import select

from portal.extensions import db
from portal.tenancy.models import Reseller
from portal.tenancy.tree import descendant_ids_select


def acting_reseller() -> Reseller:
    return g.acting_reseller


def scoped_select(model, reseller: Reseller | None = None, *, subtree: bool = False):
    """SELECT model rows of the reseller (and, with subtree, of every reseller below it)."""
    reseller = reseller or acting_reseller()
    column = model.id if model is Reseller else model.reseller_id
    if model is Reseller:
        # A reseller reaches the resellers below it, never itself nor those above (07 BR-48).
        return select(model).where(column.in_(descendant_ids_select(reseller.id)))
    if subtree:
        return select(model).where(
            column.in_(descendant_ids_select(reseller.id, include_self=True)))
    return select(model).where(column == reseller.id)


def tenant_get_or_404(model, object_id, *, subtree: bool = False, reseller=None):
    """Load one object inside the acting reseller's reach, or 404."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        abort(404)
    obj = db.session.scalar(
        scoped_select(model, reseller, subtree=subtree).where(model.id == object_id))
    if obj is None:
        abort(404)
    return obj
