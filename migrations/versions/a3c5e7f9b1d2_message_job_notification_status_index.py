"""A job page sums up what its profile's steps sent: the job's messages counted by step and
status. SQLite read each of them from the table (3,000 in bench/pages.py, 1.4 ms of the page's
queries' 1.9) and sorted them to group; an index by job, step and status counts them in order
from the index alone (0.3 ms).

Revision ID: a3c5e7f9b1d2
Revises: f2a4c6e8b0d1
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b1d2'
down_revision = 'f2a4c6e8b0d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_job_notification_status', ['job_id', 'notification_id', 'status'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_job_notification_status')
