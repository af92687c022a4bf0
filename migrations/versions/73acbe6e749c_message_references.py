"""A message's References (a reply staff wrote to a contact keeps the thread).

Revision ID: 73acbe6e749c
Revises: 9f094b82f020
Create Date: 2026-12-03 08:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '73acbe6e749c'
down_revision = '9f094b82f020'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both databases: the outbox may hold hundreds of thousands of rows,
    # which a batch operation would copy on SQLite.
    op.add_column('message', sa.Column('references', sa.String(length=1000), nullable=False,
                                       server_default=sa.text("''")))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('references')
