"""A job's team: staff members and vendors assigned with a role, and notifications to them

Revision ID: 7483b60fe76b
Revises: 880e34a3e0a7
Create Date: 2026-12-03 13:23:26.400424

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7483b60fe76b'
down_revision = '880e34a3e0a7'
branch_labels = None
depends_on = None

OLD_AUDIENCES = "audience in ('all', 'potential_buyers', 'buyers', 'client', 'studio')"
NEW_AUDIENCES = "audience in ('all', 'potential_buyers', 'buyers', 'client', 'studio', 'staff', 'vendors')"


def upgrade():
    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=80), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (contact_id IS NULL)', name=op.f('ck_assignment_one_person')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_assignment_contact_id_contact')),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_assignment_job_id_job')),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_assignment_studio_id_studio')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_assignment_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment')),
    sa.UniqueConstraint('job_id', 'contact_id', name='uq_assignment_job_id_contact_id'),
    sa.UniqueConstraint('job_id', 'user_id', name='uq_assignment_job_id_user_id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_assigned_at'), ['assigned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('notification', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('audience', type_='check')
        batch_op.create_check_constraint('audience', NEW_AUDIENCES)



def downgrade():
    op.execute("UPDATE notification SET enabled = false, audience = 'all' WHERE audience IN ('staff', 'vendors')")
    with op.batch_alter_table('notification', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('audience', type_='check')
        batch_op.create_check_constraint('audience', OLD_AUDIENCES)

    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_job_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_contact_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_assigned_at'))

    op.drop_table('assignment')
