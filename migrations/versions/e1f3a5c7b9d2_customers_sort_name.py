"""Customers sort by a stored key of their names (last, then first; case and accents folded):
a page of a job's 2,000 customers read all of them and folded each name per view (SQLite calls
the app's Unicode lower() for every row, 4,000 times a page), and umlauts sorted after Z.

Revision ID: e1f3a5c7b9d2
Revises: b7d9f1a3c5e8
Create Date: 2026-12-04 22:00:00.000000

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1f3a5c7b9d2'
down_revision = 'b7d9f1a3c5e8'
branch_labels = None
depends_on = None

customer = sa.table('customer', sa.column('id', sa.Integer), sa.column('first_name', sa.String),
                    sa.column('last_name', sa.String), sa.column('sort_name', sa.String))


_UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE",
                               "œ": "oe", "Œ": "OE", "ı": "i", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH"})


def _folded(text):  # as the app folds names today (copied: a migration must not change with it)
    bare = "".join(c for c in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(c))
    return bare.translate(_UNDECOMPOSED).casefold()


def upgrade():
    # Compared as code points on PostgreSQL: a linguistic collation (de_DE) would skip the tab.
    kind = sa.String(length=250).with_variant(sa.String(length=250, collation='C'), 'postgresql')
    op.add_column('customer', sa.Column('sort_name', kind, server_default='', nullable=False))
    connection, last_id = op.get_bind(), 0
    while True:  # in batches: a studio's database may hold hundreds of thousands of sign-ups
        rows = connection.execute(sa.select(customer.c.id, customer.c.first_name, customer.c.last_name)
                                  .where(customer.c.id > last_id).order_by(customer.c.id).limit(5000)).all()
        if not rows:
            break
        connection.execute(customer.update().where(customer.c.id == sa.bindparam('row_id')).values(
            sort_name=sa.bindparam('sort_key')), [
            {'row_id': row.id, 'sort_key': f"{_folded(row.last_name)}\t{_folded(row.first_name)}"[:250]}
            for row in rows])
        last_id = rows[-1].id
    op.create_index('ix_customer_job_id_sort_name', 'customer', ['job_id', 'sort_name', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_customer_job_id_sort_name', table_name='customer')
    with op.batch_alter_table('customer', table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('sort_name')
