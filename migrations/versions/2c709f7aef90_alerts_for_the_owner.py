"""Alerts for the owner (in the app and by email), and which kinds each studio switched off

Revision ID: 2c709f7aef90
Revises: 6070213b0d0b
Create Date: 2026-12-03 13:50:08.566568

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2c709f7aef90'
down_revision = '6070213b0d0b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('about', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('in_app', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mail_due', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_alert_studio_id_studio')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index('ix_alert_mail_due', ['mail_due'], unique=False)
        batch_op.create_index('ix_alert_studio_id_created_at', ['studio_id', 'created_at'], unique=False)
        batch_op.create_index('ix_alert_studio_id_read_at', ['studio_id', 'read_at'], unique=False)
        batch_op.create_index('ix_alert_about', ['about'], unique=False)

    with op.batch_alter_table('studio', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('muted_alerts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('studio', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('muted_alerts')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_about')
        batch_op.drop_index('ix_alert_studio_id_read_at')
        batch_op.drop_index('ix_alert_studio_id_created_at')
        batch_op.drop_index('ix_alert_mail_due')

    op.drop_table('alert')
