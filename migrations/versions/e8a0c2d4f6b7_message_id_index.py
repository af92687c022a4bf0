"""The outbox is searched by Message-ID: delivery reports and customers' replies name a message by it.

Revision ID: e8a0c2d4f6b7
Revises: d6f8b0c2e4a5
Create Date: 2026-12-03 10:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e8a0c2d4f6b7'
down_revision = 'd6f8b0c2e4a5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_message_message_id', 'message', ['message_id'], unique=False)


def downgrade():
    op.drop_index('ix_message_message_id', table_name='message')
