"""notifications: the notification log and its attempts, SMS gateways, client users'
channel preferences, the reseller's chosen SMS gateway (09 §2.6–§2.8, 03 §2.5)

Revision ID: b0e93f65714d
Revises: a6n0t1f1cat0
Create Date: 2026-11-22 06:32:50.506542

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b0e93f65714d'
down_revision = 'a6n0t1f1cat0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sms_gateways',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('module', sa.String(length=32), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("module IN ('simulated', 'smscru')", name=op.f('ck_sms_gateways_known_module')),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_sms_gateways_reseller_id_resellers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_gateways'))
    )
    with op.batch_alter_table('sms_gateways', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_gateways_reseller_id'), ['reseller_id'], unique=False)

    op.create_table('notification_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('email_enabled', sa.Boolean(), nullable=False),
    sa.Column('sms_enabled', sa.Boolean(), nullable=False),
    sa.Column('panel_enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['notification_categories.id'], name=op.f('fk_notification_preferences_category_id_notification_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_notification_preferences_reseller_id_resellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('user_id', 'category_id', name='uq_notification_preferences_user_category')
    )
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_preferences_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_preferences_reseller_id'), ['reseller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_preferences_user_id'), ['user_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.Text(), nullable=False),
    sa.Column('cc', sa.Text(), nullable=False),
    sa.Column('bcc', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=255), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('send_hour', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('email', 'sms', 'client_panel')", name=op.f('ck_notifications_known_channel')),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name=op.f('ck_notifications_known_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notifications_attempts_not_negative')),
    sa.ForeignKeyConstraint(['category_id'], ['notification_categories.id'], name=op.f('fk_notifications_category_id_notification_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_notifications_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handler_id'], ['notification_events.id'], name=op.f('fk_notifications_handler_id_notification_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_notifications_reseller_id_resellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_notifications_staff_member_id_staff_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['notification_templates.id'], name=op.f('fk_notifications_template_id_notification_templates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_notifications_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_handler_id'), ['handler_id'], unique=False)
        batch_op.create_index('ix_notifications_reseller_status', ['reseller_id', 'status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_staff_member_id'), ['staff_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_template_id'), ['template_id'], unique=False)
        batch_op.create_index('ix_notifications_user_channel', ['user_id', 'channel'], unique=False)

    op.create_table('notification_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_members.id'], name=op.f('fk_notification_attempts_actor_id_staff_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_attempts_notification_id_notifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_notification_attempts_reseller_id_resellers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempts'))
    )
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempts_notification_id'), ['notification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_attempts_reseller_id'), ['reseller_id'], unique=False)

    with op.batch_alter_table('system_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_gateway_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_system_settings_sms_gateway_id_sms_gateways'), 'sms_gateways', ['sms_gateway_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('system_settings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_system_settings_sms_gateway_id_sms_gateways'), type_='foreignkey')
        batch_op.drop_column('sms_gateway_id')

    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempts_reseller_id'))
        batch_op.drop_index(batch_op.f('ix_notification_attempts_notification_id'))

    op.drop_table('notification_attempts')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_channel')
        batch_op.drop_index(batch_op.f('ix_notifications_template_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_staff_member_id'))
        batch_op.drop_index('ix_notifications_reseller_status')
        batch_op.drop_index(batch_op.f('ix_notifications_handler_id'))
        batch_op.drop_index('ix_notifications_due')
        batch_op.drop_index(batch_op.f('ix_notifications_created_at'))
        batch_op.drop_index(batch_op.f('ix_notifications_client_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_category_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_preferences_user_id'))
        batch_op.drop_index(batch_op.f('ix_notification_preferences_reseller_id'))
        batch_op.drop_index(batch_op.f('ix_notification_preferences_category_id'))

    op.drop_table('notification_preferences')
    with op.batch_alter_table('sms_gateways', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_gateways_reseller_id'))

    op.drop_table('sms_gateways')
