"""The "default for new clients" flag that client types and service rules share (08 R-CT-5,
R-SR-2): setting it on one row clears it on the reseller's other rows."""

from __future__ import annotations

from sqlalchemy import update

from portal.extensions import db


def make_only_default(row) -> None:
    """Mark row the reseller's default and clear the flag on its siblings, in one statement."""
    model = type(row)
    db.session.execute(update(model).where(model.reseller_id == row.reseller_id,
                                           model.id != row.id, model.is_default.is_(True))
                       .values(is_default=False).execution_options(synchronize_session="fetch"))
    row.is_default = True
