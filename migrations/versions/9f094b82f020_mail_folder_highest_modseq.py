"""A synced folder's highest MODSEQ (CONDSTORE): the next sync reads only the flags changed since.

Revision ID: 9f094b82f020
Revises: d2b7e9a4c1f6
Create Date: 2026-12-03 07:43:32.941617

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '9f094b82f020'
down_revision = 'd2b7e9a4c1f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_folder', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('highest_modseq', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('mail_folder', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('highest_modseq')
