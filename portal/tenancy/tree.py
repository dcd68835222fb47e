"""Ancestor and descendant queries over the reseller adjacency list, one recursive CTE each."""

from __future__ import annotations

from sqlalchemy import literal, select

from portal.extensions import db
from portal.tenancy.models import Reseller


def descendants_cte(reseller_id: int, *, include_self: bool = False):
    """A CTE of (id, depth) for the subtree below reseller_id."""
    base = select(Reseller.id.label("id"), literal(0).label("depth")).where(
        Reseller.id == reseller_id)
    cte = base.cte("subtree", recursive=True)
    cte = cte.union_all(
        select(Reseller.id, (cte.c.depth + 1).label("depth")).where(Reseller.parent_id == cte.c.id))
    return cte, (None if include_self else reseller_id)


def descendant_ids_select(reseller_id: int, *, include_self: bool = False):
    """SELECT id FROM the subtree, for use in IN (...) clauses."""
    cte, excluded = descendants_cte(reseller_id, include_self=include_self)
    query = select(cte.c.id)
    if excluded is not None:
        query = query.where(cte.c.id != excluded)
    return query


def ancestor_ids_select(reseller_id: int, *, include_self: bool = False):
    """SELECT id, depth FROM the chain from reseller_id up to the root (depth 0 = itself)."""
    base = select(Reseller.id.label("id"), Reseller.parent_id.label("parent_id"),
                  literal(0).label("depth")).where(Reseller.id == reseller_id)
    cte = base.cte("chain", recursive=True)
    cte = cte.union_all(
        select(Reseller.id, Reseller.parent_id, (cte.c.depth + 1).label("depth"))
        .where(Reseller.id == cte.c.parent_id))
    query = select(cte.c.id, cte.c.depth)
    if not include_self:
        query = query.where(cte.c.depth > 0)
    return query.order_by(cte.c.depth)


def ancestors(reseller: Reseller, *, include_self: bool = False) -> list[Reseller]:
    """The chain from the reseller (or its parent) up to the root, nearest first."""
    rows = db.session.execute(ancestor_ids_select(reseller.id, include_self=include_self)).all()
    order = {row.id: row.depth for row in rows}
    if not order:
        return []
    found = db.session.scalars(select(Reseller).where(Reseller.id.in_(order))).all()
    return sorted(found, key=lambda r: order[r.id])


def is_descendant(ancestor: Reseller | int, candidate_id: int, *, include_self: bool = False) -> bool:
    ancestor_id = ancestor if isinstance(ancestor, int) else ancestor.id
    if include_self and ancestor_id == candidate_id:
        return True
    query = descendant_ids_select(ancestor_id).subquery()
    return db.session.scalar(select(query.c.id).where(query.c.id == candidate_id)) is not None
