"""Contacts: clients, vendors and staff contacts with their email addresses; a job's customers
link to the client of their address. Existing customers get their contacts: one per address
and studio, named after the latest sign-up with that address.

Revision ID: c4e8a2f6b9d3
Revises: f8b2d6e0c4a1
Create Date: 2026-12-03 06:00:00.000000

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4e8a2f6b9d3'
down_revision = 'f8b2d6e0c4a1'
branch_labels = None
depends_on = None

KEEP_IDS = {'sqlite_autoincrement': True}  # see b5d1f0c3a9e2


def upgrade():
    op.create_table(
        'contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('studio_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('company', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('client', 'vendor', 'staff')", name=op.f('ck_contact_kind')),
        sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_contact_studio_id_studio')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_contact_studio_id'), 'contact', ['studio_id'], unique=False)
    op.create_index('ix_contact_studio_id_name', 'contact', ['studio_id', 'name'], unique=False)
    op.create_table(
        'contact_address',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('studio_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_address_contact_id_contact')),
        sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_contact_address_studio_id_studio')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_address')),
        sa.UniqueConstraint('studio_id', 'address', name='uq_contact_address_studio_id_address'),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_contact_address_contact_id'), 'contact_address', ['contact_id'], unique=False)
    with op.batch_alter_table('customer', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_contact_id'), ['contact_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_customer_contact_id_contact'), 'contact', ['contact_id'], ['id'])
    _link_existing_customers()


def _link_existing_customers():
    connection = op.get_bind()
    customer = sa.table('customer', sa.column('id', sa.Integer), sa.column('studio_id', sa.Integer),
                        sa.column('email', sa.String), sa.column('first_name', sa.String),
                        sa.column('last_name', sa.String), sa.column('phone', sa.String),
                        sa.column('erased_at', sa.String), sa.column('contact_id', sa.Integer))
    contact = sa.Table('contact', sa.MetaData(), sa.Column('id', sa.Integer, primary_key=True),  # (its new id back)
                       sa.Column('studio_id', sa.Integer), sa.Column('kind', sa.String), sa.Column('name', sa.String),
                       sa.Column('company', sa.String), sa.Column('phone', sa.String), sa.Column('notes', sa.Text),
                       sa.Column('created_at', sa.DateTime(timezone=True)),
                       sa.Column('updated_at', sa.DateTime(timezone=True)))
    address = sa.table('contact_address', sa.column('studio_id', sa.Integer), sa.column('contact_id', sa.Integer),
                       sa.column('address', sa.String))
    now = datetime.now(timezone.utc)
    people = {}  # (studio, address) -> the latest sign-up's row, and every customer id
    for row in connection.execute(sa.select(customer).where(customer.c.erased_at.is_(None))
                                  .order_by(customer.c.id)):
        ids = people.get((row.studio_id, row.email), (None, []))[1]
        people[(row.studio_id, row.email)] = (row, ids + [row.id])
    for (studio_id, email), (row, ids) in people.items():
        name = f'{row.first_name} {row.last_name}'.strip() or email
        contact_id = connection.execute(contact.insert().values(
            studio_id=studio_id, kind='client', name=name[:200], company='', phone=row.phone, notes='',
            created_at=now, updated_at=now)).inserted_primary_key[0]
        connection.execute(address.insert().values(studio_id=studio_id, contact_id=contact_id, address=email))
        connection.execute(customer.update().where(customer.c.id.in_(ids)).values(contact_id=contact_id))


def downgrade():
    with op.batch_alter_table('customer', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_contact_id_contact'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_customer_contact_id'))
        batch_op.drop_column('contact_id')
    op.drop_index(op.f('ix_contact_address_contact_id'), table_name='contact_address')
    op.drop_table('contact_address')
    op.drop_index('ix_contact_studio_id_name', table_name='contact')
    op.drop_index(op.f('ix_contact_studio_id'), table_name='contact')
    op.drop_table('contact')
