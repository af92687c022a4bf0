"""An invitation waiting in a studio may name an address that has an account in another studio:
one signed-up user per address (a partial unique index), one row per address in each studio.

Revision ID: b5d1f0c3a9e2
Revises: 7c2e9a41d0b5
Create Date: 2026-12-02 23:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5d1f0c3a9e2'
down_revision = '7c2e9a41d0b5'
branch_labels = None
depends_on = None

SIGNED_UP = sa.text("password_hash IS NOT NULL")
# SQLite rebuilds the table, and reflection does not see AUTOINCREMENT: say it again, or ids
# could be reused (test_migrations checks every table).
KEEP_IDS = {'sqlite_autoincrement': True}


def upgrade():
    with op.batch_alter_table('user', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_constraint('uq_user_email', type_='unique')
        batch_op.create_unique_constraint('uq_user_studio_id_email', ['studio_id', 'email'])
        batch_op.create_index('uq_user_email_signed_up', ['email'], unique=True, sqlite_where=SIGNED_UP,
                              postgresql_where=SIGNED_UP)


def downgrade():
    # Fails while an invitation names an address that has an account elsewhere: remove it first.
    with op.batch_alter_table('user', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_index('uq_user_email_signed_up')
        batch_op.drop_constraint('uq_user_studio_id_email', type_='unique')
        batch_op.create_unique_constraint('uq_user_email', ['email'])
