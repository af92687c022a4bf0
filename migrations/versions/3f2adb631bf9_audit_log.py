"""An audit log of settings changes: who changed which mail setting, profile, user, template or
token, and when; read by the owner.

Revision ID: 3f2adb631bf9
Revises: f1a3c5e7b9d0
Create Date: 2026-12-03 11:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f2adb631bf9'
down_revision = 'f1a3c5e7b9d0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_email', sa.String(length=254), nullable=False),
    sa.Column('what', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_audit_entry_studio_id_studio')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_studio_id_at', ['studio_id', 'at'], unique=False)



def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_studio_id_at')

    op.drop_table('audit_entry')
