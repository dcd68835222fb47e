"""exchange rates: dated rows per reseller (04b §2.10, §4.14; DECISIONS D10)

Revision ID: e1c0rates0001
Revises: 6c3d36184f7f
Create Date: 2026-11-22 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1c0rates0001'
down_revision = '6c3d36184f7f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('quote_currency', sa.String(length=3), nullable=False),
    sa.Column('units', sa.Integer(), nullable=True),
    sa.Column('rate', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('inherit', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('base_currency <> quote_currency', name=op.f('ck_exchange_rates_two_currencies')),
    sa.CheckConstraint('units >= 1', name=op.f('ck_exchange_rates_units_positive')),
    sa.CheckConstraint('rate > 0', name=op.f('ck_exchange_rates_rate_positive')),
    sa.CheckConstraint('(inherit AND units IS NULL AND rate IS NULL) OR (NOT inherit AND units IS NOT NULL AND rate IS NOT NULL)', name=op.f('ck_exchange_rates_own_rate_or_inherit')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_members.id'], name=op.f('fk_exchange_rates_created_by_id_staff_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_exchange_rates_reseller_id_resellers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates')),
    sa.UniqueConstraint('reseller_id', 'base_currency', 'quote_currency', 'valid_from', name='uq_exchange_rates_reseller_pair_day')
    )


def downgrade():
    op.drop_table('exchange_rates')
