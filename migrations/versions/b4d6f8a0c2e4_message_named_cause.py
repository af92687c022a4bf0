"""A deferred message keeps the reason its server's words gave (a 4xx naming SPF or DKIM, a full
mailbox), so the outbox says what to fix while the message is retried; so does a problem on the
diagnostics list (a Test connection deferred).

Revision ID: b4d6f8a0c2e4
Revises: a3c5e7f9b1d2
Create Date: 2026-12-05 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4d6f8a0c2e4'
down_revision = 'a3c5e7f9b1d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('named_cause', sa.String(length=40), nullable=False, server_default=''))
    with op.batch_alter_table('mail_problem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('named_cause', sa.String(length=40), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('mail_problem', schema=None) as batch_op:
        batch_op.drop_column('named_cause')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('named_cause')
