"""plan switch and individual prices

Revision ID: 5b2e9c7d1a01
Revises: 41a5f1cc32fe
Create Date: 2026-11-22 06:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5b2e9c7d1a01'
down_revision = '41a5f1cc32fe'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('term_anchor', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('individual_monthly_fee', sa.Numeric(precision=14, scale=2), nullable=True))
    with op.batch_alter_table('subscription_resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('individual_monthly_fee', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('subscription_resources', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
        batch_op.drop_column('individual_monthly_fee')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('individual_monthly_fee')
        batch_op.drop_column('term_anchor')
