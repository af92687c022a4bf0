"""The automatic answer to a first mail from someone new: its template, how often one address may
get it, and since when it is on.

Revision ID: c2e4a6b8d0f1
Revises: a4c6e8f0b2d3
Create Date: 2026-12-03 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c2e4a6b8d0f1'
down_revision = 'a4c6e8f0b2d3'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('mail_account', sa.Column('autoreply_template_id', sa.Integer(), nullable=True))
    op.add_column('mail_account', sa.Column('autoreply_days', sa.Integer(), nullable=False,
                                            server_default=sa.text("14")))
    op.add_column('mail_account', sa.Column('autoreply_since', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('mail_account', schema=None) as batch_op:
        batch_op.drop_column('autoreply_since')
        batch_op.drop_column('autoreply_days')
        batch_op.drop_column('autoreply_template_id')
