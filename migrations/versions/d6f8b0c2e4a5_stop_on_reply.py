"""A notification can stop when the customer replies; when each customer last wrote.

Revision ID: d6f8b0c2e4a5
Revises: c2e4a6b8d0f1
Create Date: 2026-12-03 09:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd6f8b0c2e4a5'
down_revision = 'c2e4a6b8d0f1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('notification', sa.Column('stop_on_reply', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column('customer', sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('customer', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('replied_at')
    with op.batch_alter_table('notification', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('stop_on_reply')
