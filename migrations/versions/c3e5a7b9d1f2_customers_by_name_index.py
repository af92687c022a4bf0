"""A page of a job's customers by name reads its 50 rows from an index on PostgreSQL, instead of
sorting the whole job (3.0 -> 0.5 ms for 2,000 customers). Not on SQLite: its lower() is the
app's own Unicode one only on the app's connections, and an index must not depend on that.

Revision ID: c3e5a7b9d1f2
Revises: b7d9f1a3c5e8
Create Date: 2026-12-04 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e5a7b9d1f2'
down_revision = 'b7d9f1a3c5e8'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_customer_job_id_name', 'customer',
                        ['job_id', sa.text('lower(last_name)'), sa.text('lower(first_name)'), 'id'], unique=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_customer_job_id_name', table_name='customer')
