"""Service mail and marketing mail apart: a notification's category, a consent's purpose, an
unsubscribe from offers only

Email consents given on the sign-up page, by staff or through the API were recorded with wording
that named offers ("when they are online, reminders and offers"), so each of those is copied as a
marketing consent too. Text-message consents ("Text me about the photos …") and imported ones
("Consent recorded by the studio before importing …") named none: they stay service only.
Notifications of the triggers that are sales pushes by default become marketing.

Revision ID: 14c88c272697
Revises: 2c709f7aef90
Create Date: 2026-12-03 15:50:59.694924

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '14c88c272697'
down_revision = '2c709f7aef90'
branch_labels = None
depends_on = None

# The catalogue's marketing triggers as of this revision (a migration never imports the app).
MARKETING_TRIGGERS = ("days_after_published", "days_before_archived", "days_before_order_deadline",
                      "days_after_order", "days_before_voucher_expires", "days_after_shoot")


def upgrade():
    with op.batch_alter_table('consent', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=10), server_default='service', nullable=False))
        batch_op.create_check_constraint('purpose', "purpose in ('service', 'marketing')")

    with op.batch_alter_table('notification', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=10), server_default='service', nullable=False))
        batch_op.create_check_constraint('category', "category in ('service', 'marketing')")

    with op.batch_alter_table('suppression', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('marketing_only', sa.Boolean(), server_default=sa.false(), nullable=False))

    # No check constraint: on SQLite it would copy the outbox, the largest table, to add one.
    with op.batch_alter_table('message', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=10), server_default='service', nullable=False))

    op.execute(sa.text(
        "INSERT INTO consent (studio_id, customer_id, channel, path, purpose, wording, given_at, withdrawn_at) "
        "SELECT studio_id, customer_id, channel, path, 'marketing', wording, given_at, withdrawn_at "
        "FROM consent WHERE purpose = 'service' AND channel = 'email' AND path IN ('signup', 'staff', 'api') "
        "AND wording LIKE '%offers%'"))
    notification = sa.table('notification', sa.column('trigger', sa.String), sa.column('category', sa.String))
    op.execute(notification.update().where(notification.c.trigger.in_(MARKETING_TRIGGERS))
               .values(category='marketing'))
    op.execute(sa.text("UPDATE message SET category = 'marketing' WHERE notification_id IN "
                       "(SELECT id FROM notification WHERE category = 'marketing')"))


def downgrade():
    op.execute(sa.text("DELETE FROM consent WHERE purpose = 'marketing'"))
    with op.batch_alter_table('message', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('category')
    with op.batch_alter_table('suppression', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('marketing_only')

    with op.batch_alter_table('notification', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('category', type_='check')
        batch_op.drop_column('category')

    with op.batch_alter_table('consent', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('purpose', type_='check')
        batch_op.drop_column('purpose')
