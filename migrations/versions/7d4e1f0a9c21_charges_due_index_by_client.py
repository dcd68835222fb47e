"""charges: the nightly run's due-charge index leads with the client range

The nightly run closes due charges chunk by chunk of clients. (status, close_date) made every
chunk walk the whole day's due charges (SQLite picks it without statistics);
(status, client_id, close_date) reads only the chunk's blocked charges, and still serves
"blocked and due by D" for all clients from the index alone.

Revision ID: 7d4e1f0a9c21
Revises: 5b2e9c7d1a01
Create Date: 2026-11-22 06:15:00

"""
from alembic import op


revision = '7d4e1f0a9c21'
down_revision = '5b2e9c7d1a01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_charges_status_client_close_date', 'charges',
                    ['status', 'client_id', 'close_date'], unique=False)
    op.drop_index('ix_charges_status_close_date', table_name='charges')


def downgrade():
    op.create_index('ix_charges_status_close_date', 'charges', ['status', 'close_date'],
                    unique=False)
    op.drop_index('ix_charges_status_client_close_date', table_name='charges')
