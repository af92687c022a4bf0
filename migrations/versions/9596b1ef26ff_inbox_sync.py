"""The inbox sync's store: the folders it reads and how far it got, one item per email (one per
Message-ID, with a copy per folder it lies in), and each item's addresses for contact lookups.

Revision ID: 9596b1ef26ff
Revises: c4e8a2f6b9d3
Create Date: 2026-12-03 06:13:08.021357

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '9596b1ef26ff'
down_revision = 'c4e8a2f6b9d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_folder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_mail_folder_studio_id_studio')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_folder')),
    sa.UniqueConstraint('studio_id', 'name', name='uq_mail_folder_studio_id_name'),
    sqlite_autoincrement=True
    )
    op.create_table('mail_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('from_address', sa.String(length=254), nullable=False),
    sa.Column('from_name', sa.String(length=200), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snippet', sa.String(length=300), nullable=False),
    sa.Column('seen', sa.Boolean(), nullable=False),
    sa.Column('thread_key', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_mail_item_studio_id_studio')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_item')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mail_item', schema=None) as batch_op:
        batch_op.create_index('ix_mail_item_studio_id_sent_at', ['studio_id', 'sent_at'], unique=False)
        batch_op.create_index('uq_mail_item_studio_id_message_id', ['studio_id', 'message_id'], unique=True, sqlite_where=sa.text("message_id != ''"), postgresql_where=sa.text("message_id != ''"))

    op.create_table('mail_copy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('folder_id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['mail_folder.id'], name=op.f('fk_mail_copy_folder_id_mail_folder')),
    sa.ForeignKeyConstraint(['item_id'], ['mail_item.id'], name=op.f('fk_mail_copy_item_id_mail_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_copy')),
    sa.UniqueConstraint('folder_id', 'uid', name='uq_mail_copy_folder_id_uid'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mail_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_copy_item_id'), ['item_id'], unique=False)

    op.create_table('mail_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('studio_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=4), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['mail_item.id'], name=op.f('fk_mail_party_item_id_mail_item')),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_mail_party_studio_id_studio')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_party')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mail_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_party_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_mail_party_studio_id_address', ['studio_id', 'address'], unique=False)



def downgrade():
    with op.batch_alter_table('mail_party', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_party_studio_id_address')
        batch_op.drop_index(batch_op.f('ix_mail_party_item_id'))

    op.drop_table('mail_party')
    with op.batch_alter_table('mail_copy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_copy_item_id'))

    op.drop_table('mail_copy')
    with op.batch_alter_table('mail_item', schema=None) as batch_op:
        batch_op.drop_index('uq_mail_item_studio_id_message_id', sqlite_where=sa.text("message_id != ''"), postgresql_where=sa.text("message_id != ''"))
        batch_op.drop_index('ix_mail_item_studio_id_sent_at')

    op.drop_table('mail_item')
    op.drop_table('mail_folder')
