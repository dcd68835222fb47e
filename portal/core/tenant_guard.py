"""A safety net (STYLE §5): inside a request, a SELECT of tenant rows must name reseller_id.

Enabled in tests (config TENANT_GUARD). Code that crosses tenants on purpose (host lookup,
sign-in by e-mail, token lookup) says so with `with across_tenants():`. Relationship loads
follow a foreign key from a row already loaded inside the tenant and are not checked.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import False_
from sqlalchemy.sql.schema import Column

_crossing: ContextVar[bool] = ContextVar("portal_across_tenants", default=False)


class UnscopedTenantQuery(AssertionError):
    pass


@contextmanager
def across_tenants():
    """Mark a deliberate cross-tenant read."""
    token = _crossing.set(True)
    try:
        yield
    finally:
        _crossing.reset(token)


def _tenant_tables(statement) -> list:
    tables = []
    for description in statement.column_descriptions:
        entity = description.get("entity")
        table = getattr(entity, "__table__", None)
        if table is not None and "reseller_id" in table.c and table.name != "resellers":
            tables.append(table)
    return tables


def _names_reseller_id(statement) -> bool:
    where = statement.whereclause
    if where is None:
        return False
    if isinstance(getattr(where, "element", where), False_):
        return True  # "nothing matches" reads no tenant's rows
    return any(isinstance(element, Column) and element.name == "reseller_id"
               for element in visitors.iterate(where))


def _check(execute_state) -> None:
    if (not execute_state.is_select or execute_state.is_relationship_load
            or execute_state.is_column_load or _crossing.get() or not has_request_context()):
        return
    statement = execute_state.statement
    tables = _tenant_tables(statement)
    if tables and not _names_reseller_id(statement):
        raise UnscopedTenantQuery(
            f"SELECT of {', '.join(t.name for t in tables)} without a reseller_id criterion; "
            "scope it to the tenant or wrap it in across_tenants()")


def install_tenant_guard() -> None:
    if not event.contains(Session, "do_orm_execute", _check):
        event.listen(Session, "do_orm_execute", _check)
