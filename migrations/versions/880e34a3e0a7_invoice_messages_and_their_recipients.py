"""invoice messages and their recipients: a message to an invoice's client (a contact), when an
invoice was issued, and notifications to the client or the studio itself

Revision ID: 880e34a3e0a7
Revises: 3f2adb631bf9
Create Date: 2026-12-03 13:03:30.505330

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '880e34a3e0a7'
down_revision = '3f2adb631bf9'
branch_labels = None
depends_on = None

OLD_AUDIENCES = "audience in ('all', 'potential_buyers', 'buyers')"
NEW_AUDIENCES = "audience in ('all', 'potential_buyers', 'buyers', 'client', 'studio')"


def upgrade():
    with op.batch_alter_table('invoice', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True))
    # An invoice issued before: when it was written, the closest known (no message is made for
    # it now: the scheduler reads the last few minutes' events only).
    op.execute("UPDATE invoice SET issued_at = created_at WHERE number IS NOT NULL")

    with op.batch_alter_table('message', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_message_contact_id'), ['contact_id'], unique=False)

    with op.batch_alter_table('notification', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('audience', type_='check')
        batch_op.create_check_constraint('audience', NEW_AUDIENCES)


def downgrade():
    op.execute("UPDATE notification SET enabled = false, audience = 'all' WHERE audience IN ('client', 'studio')")
    with op.batch_alter_table('notification', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('audience', type_='check')
        batch_op.create_check_constraint('audience', OLD_AUDIENCES)

    with op.batch_alter_table('message', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_contact_id'))
        batch_op.drop_column('contact_id')

    with op.batch_alter_table('invoice', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('issued_at')
