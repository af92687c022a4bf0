"""Whether the app files a copy of what it sends in the studio's Sent folder: "auto" (where the
provider keeps none), "always" or "never".

Revision ID: b8d4f2a6c0e1
Revises: 73acbe6e749c
Create Date: 2026-12-03 08:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b8d4f2a6c0e1'
down_revision = '73acbe6e749c'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('mail_account', sa.Column('sent_copy', sa.String(length=10), nullable=False,
                                            server_default=sa.text("'auto'")))


def downgrade():
    with op.batch_alter_table('mail_account', schema=None) as batch_op:
        batch_op.drop_column('sent_copy')
