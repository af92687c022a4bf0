"""How many messages a synced folder holds on the server (the first sync's progress bar), and
an index for a mail's conversation.

Revision ID: a4c6e8f0b2d3
Revises: df0c1054c195
Create Date: 2026-12-03 08:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a4c6e8f0b2d3'
down_revision = 'df0c1054c195'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_folder', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('on_server', sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_index('ix_mail_item_studio_id_thread_key', 'mail_item', ['studio_id', 'thread_key'], unique=False)


def downgrade():
    op.drop_index('ix_mail_item_studio_id_thread_key', table_name='mail_item')
    with op.batch_alter_table('mail_folder', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('on_server')
