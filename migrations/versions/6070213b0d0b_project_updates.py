"""Project updates: when a job moved to editing and when it was delivered

Revision ID: 6070213b0d0b
Revises: 39e78fda5742
Create Date: 2026-12-03 13:47:17.523846

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6070213b0d0b'
down_revision = '39e78fda5742'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('job', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('edited_at')
