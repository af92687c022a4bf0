"""A job page asks which of its fifty customers' coming messages were made already: by the job
and its steps (notifications), SQLite read every message of the job (3,000 in bench/pages.py,
0.7 ms) to look at their notification and customer. The index of messages by notification grows
into one by notification, job and customer, which answers it from the index.

Revision ID: f2a4c6e8b0d1
Revises: e1f3a5c7b9d2
Create Date: 2026-12-05 08:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f2a4c6e8b0d1'
down_revision = 'e1f3a5c7b9d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_notification_job_customer', ['notification_id', 'job_id', 'customer_id'],
                              unique=False)
        batch_op.drop_index('ix_message_notification_id')


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_notification_id', ['notification_id'], unique=False)
        batch_op.drop_index('ix_message_notification_job_customer')
