"""notifications: categories, templates with per-language contents, events (handlers),
delegated down the reseller tree (09 §2.1–§2.4)

Revision ID: a6n0t1f1cat0
Revises: 7d4e1f0a9c21
Create Date: 2026-11-22 06:11:58.242177

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6n0t1f1cat0'
down_revision = '7d4e1f0a9c21'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('enabled_on_client_creation', sa.Boolean(), nullable=False),
    sa.Column('installed', sa.Boolean(), nullable=False),
    sa.Column('modified', sa.Boolean(), nullable=False),
    sa.Column('default_key', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('NOT (installed AND source_id IS NOT NULL)', name=op.f('ck_notification_categories_installed_not_copy')),
    sa.CheckConstraint('NOT modified OR installed OR source_id IS NOT NULL', name=op.f('ck_notification_categories_own_never_modified')),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_notification_categories_reseller_id_resellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['notification_categories.id'], name=op.f('fk_notification_categories_source_id_notification_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_categories')),
    sa.UniqueConstraint('reseller_id', 'default_key', name='uq_notification_categories_default_key'),
    sa.UniqueConstraint('reseller_id', 'name', name='uq_notification_categories_name'),
    sa.UniqueConstraint('reseller_id', 'source_id', name='uq_notification_categories_copy')
    )
    with op.batch_alter_table('notification_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_categories_reseller_id'), ['reseller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_categories_source_id'), ['source_id'], unique=False)

    op.create_table('notification_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.Text(), nullable=False),
    sa.Column('recipient', sa.Text(), nullable=False),
    sa.Column('cc', sa.Text(), nullable=False),
    sa.Column('bcc', sa.Text(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('default_snapshot', sa.JSON(), nullable=True),
    sa.Column('installed', sa.Boolean(), nullable=False),
    sa.Column('modified', sa.Boolean(), nullable=False),
    sa.Column('default_key', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("type IN ('email', 'sms', 'client_panel')", name=op.f('ck_notification_templates_known_type')),
    sa.CheckConstraint('NOT (installed AND source_id IS NOT NULL)', name=op.f('ck_notification_templates_installed_not_copy')),
    sa.CheckConstraint('NOT modified OR installed OR source_id IS NOT NULL', name=op.f('ck_notification_templates_own_never_modified')),
    sa.ForeignKeyConstraint(['category_id'], ['notification_categories.id'], name=op.f('fk_notification_templates_category_id_notification_categories')),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_notification_templates_reseller_id_resellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['notification_templates.id'], name=op.f('fk_notification_templates_source_id_notification_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_templates')),
    sa.UniqueConstraint('reseller_id', 'default_key', name='uq_notification_templates_default_key'),
    sa.UniqueConstraint('reseller_id', 'source_id', name='uq_notification_templates_copy')
    )
    with op.batch_alter_table('notification_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_templates_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_templates_reseller_id'), ['reseller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_templates_source_id'), ['source_id'], unique=False)

    op.create_table('notification_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('template_type', sa.String(length=32), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('send_immediately', sa.Boolean(), nullable=False),
    sa.Column('send_hour', sa.Integer(), nullable=True),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('rule_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('installed', sa.Boolean(), nullable=False),
    sa.Column('modified', sa.Boolean(), nullable=False),
    sa.Column('default_key', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('NOT (installed AND source_id IS NOT NULL)', name=op.f('ck_notification_events_installed_not_copy')),
    sa.CheckConstraint('NOT modified OR installed OR source_id IS NOT NULL', name=op.f('ck_notification_events_own_never_modified')),
    sa.CheckConstraint('send_hour IS NULL OR (send_hour >= 0 AND send_hour <= 23)', name=op.f('ck_notification_events_send_hour_range')),
    sa.CheckConstraint('send_immediately OR send_hour IS NOT NULL', name=op.f('ck_notification_events_send_time_set')),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_notification_events_reseller_id_resellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['notification_events.id'], name=op.f('fk_notification_events_source_id_notification_events')),
    sa.ForeignKeyConstraint(['template_id'], ['notification_templates.id'], name=op.f('fk_notification_events_template_id_notification_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_events')),
    sa.UniqueConstraint('reseller_id', 'default_key', name='uq_notification_events_default_key'),
    sa.UniqueConstraint('reseller_id', 'event_type', 'template_type', 'template_id', 'rule_key', name='uq_notification_events_tuple'),
    sa.UniqueConstraint('reseller_id', 'source_id', name='uq_notification_events_copy')
    )
    with op.batch_alter_table('notification_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_events_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_events_reseller_id'), ['reseller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_events_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_events_template_id'), ['template_id'], unique=False)

    op.create_table('notification_template_contents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_notification_template_contents_reseller_id_resellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['notification_templates.id'], name=op.f('fk_notification_template_contents_template_id_notification_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_template_contents')),
    sa.UniqueConstraint('template_id', 'language', name='uq_notification_template_contents_language')
    )
    with op.batch_alter_table('notification_template_contents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_template_contents_reseller_id'), ['reseller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_template_contents_template_id'), ['template_id'], unique=False)



def downgrade():
    with op.batch_alter_table('notification_template_contents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_template_contents_template_id'))
        batch_op.drop_index(batch_op.f('ix_notification_template_contents_reseller_id'))

    op.drop_table('notification_template_contents')
    with op.batch_alter_table('notification_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_events_template_id'))
        batch_op.drop_index(batch_op.f('ix_notification_events_source_id'))
        batch_op.drop_index(batch_op.f('ix_notification_events_reseller_id'))
        batch_op.drop_index(batch_op.f('ix_notification_events_event_type'))

    op.drop_table('notification_events')
    with op.batch_alter_table('notification_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_templates_source_id'))
        batch_op.drop_index(batch_op.f('ix_notification_templates_reseller_id'))
        batch_op.drop_index(batch_op.f('ix_notification_templates_category_id'))

    op.drop_table('notification_templates')
    with op.batch_alter_table('notification_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_categories_source_id'))
        batch_op.drop_index(batch_op.f('ix_notification_categories_reseller_id'))

    op.drop_table('notification_categories')
