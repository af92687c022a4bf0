"""A synced mail's text, HTML and attachment list, fetched when it is first opened and then kept.

Revision ID: d2b7e9a4c1f6
Revises: 9596b1ef26ff
Create Date: 2026-12-03 06:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd2b7e9a4c1f6'
down_revision = '9596b1ef26ff'
branch_labels = None
depends_on = None

KEEP_IDS = {'sqlite_autoincrement': True}  # see b5d1f0c3a9e2


def upgrade():
    with op.batch_alter_table('mail_item', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attachments', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('mail_item', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column('attachments')
        batch_op.drop_column('body_html')
        batch_op.drop_column('body_text')
