"""Invoices and payments another system reports (the API) carry its id, unique per studio: a
retried call records nothing twice.

Revision ID: f1a3c5e7b9d0
Revises: 06e4e647cc25
Create Date: 2026-12-03 11:20:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f1a3c5e7b9d0'
down_revision = '06e4e647cc25'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('invoice', 'payment'):
        with op.batch_alter_table(table, schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
            batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
            batch_op.create_unique_constraint(f'uq_{table}_studio_id_external_id', ['studio_id', 'external_id'])


def downgrade():
    for table in ('payment', 'invoice'):
        with op.batch_alter_table(table, schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_studio_id_external_id', type_='unique')
            batch_op.drop_column('external_id')
