"""Structural rules: every tenant table carries reseller_id; models and migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db as database

# Tables that belong to no tenant: the tenant table itself and platform-wide bookkeeping.
NOT_TENANT_TABLES = {"resellers", "scheduled_days", "test_clock", "alembic_version",
                     "billing_chunks", "simulated_vendor_records"}


def test_every_tenant_table_has_reseller_id(app):
    for table in database.metadata.sorted_tables:
        if table.name in NOT_TENANT_TABLES:
            continue
        assert "reseller_id" in table.c, f"{table.name} has no reseller_id"
        assert not table.c.reseller_id.nullable, f"{table.name}.reseller_id is nullable"


def test_migrations_match_the_models(app, db):
    connection = db.session.connection()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diff = compare_metadata(context, database.metadata)
    assert diff == [], diff


def test_unscoped_tenant_select_inside_a_request_is_caught(app, db):
    import pytest
    from sqlalchemy import select

    from portal.accounts.models import StaffMember
    from portal.core.tenant_guard import UnscopedTenantQuery, across_tenants

    with app.test_request_context("/"):
        with pytest.raises(UnscopedTenantQuery):
            db.session.scalars(select(StaffMember).where(StaffMember.email == "x@y.z")).all()
        db.session.scalars(select(StaffMember).where(StaffMember.reseller_id == 1)).all()
        with across_tenants():
            db.session.scalars(select(StaffMember).where(StaffMember.email == "x@y.z")).all()
