"""A job's client (who booked it) and when it was booked: "booking confirmed" goes out then

Revision ID: 39e78fda5742
Revises: 7483b60fe76b
Create Date: 2026-12-03 13:33:07.531650

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '39e78fda5742'
down_revision = '7483b60fe76b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('booked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_job_client_id'), ['client_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_job_client_id_contact'), 'contact', ['client_id'], ['id'])



def downgrade():
    with op.batch_alter_table('job', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_job_client_id_contact'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_job_client_id'))
        batch_op.drop_column('booked_at')
        batch_op.drop_column('client_id')

