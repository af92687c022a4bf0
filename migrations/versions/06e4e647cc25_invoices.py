"""Invoices: a client's bill with its lines and payments, and each studio's invoice number counter.
Amounts are NUMERIC(12, 2) on PostgreSQL and whole cents on SQLite (whose NUMERIC is a float).

Revision ID: 06e4e647cc25
Revises: e8a0c2d4f6b7
Create Date: 2026-12-03 10:49:20.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '06e4e647cc25'
down_revision = 'e8a0c2d4f6b7'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")


def upgrade():
    op.create_table('invoice_counter',
    sa.Column('studio_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_invoice_counter_studio_id_studio')),
    sa.PrimaryKeyConstraint('studio_id', name=op.f('pk_invoice_counter')),
    sqlite_autoincrement=True
    )
    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('total', MONEY, nullable=False),
    sa.Column('paid', MONEY, nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('paid >= 0 AND paid <= total', name=op.f('ck_invoice_paid_within_total')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_invoice_contact_id_contact')),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_invoice_job_id_job')),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_invoice_studio_id_studio')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('studio_id', 'number', name='uq_invoice_studio_id_number'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_studio_id'), ['studio_id'], unique=False)

    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=10, scale=3), nullable=False),
    sa.Column('unit_price', MONEY, nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', MONEY, nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_amount_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_payment_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_payment_studio_id_studio')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_studio_id'), ['studio_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_studio_id'))
        batch_op.drop_index(batch_op.f('ix_payment_invoice_id'))

    op.drop_table('payment')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_studio_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_job_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_contact_id'))

    op.drop_table('invoice')
    op.drop_table('invoice_counter')
