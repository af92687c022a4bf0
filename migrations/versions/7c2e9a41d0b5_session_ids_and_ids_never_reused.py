"""Users are named in sessions and cookies by a random session id, never by their row id; on
SQLite every table's ids are never handed out again (AUTOINCREMENT).

Everyone signed in is signed out once by this upgrade (their cookies name a row id). On SQLite
each table is rebuilt; stop the web, worker and cron processes while upgrading.

Revision ID: 7c2e9a41d0b5
Revises: 0586ef1cb1e0
Create Date: 2026-12-02 22:50:00.000000

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c2e9a41d0b5'
down_revision = '0586ef1cb1e0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_id', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('session_id', sa.String))
    for (user_id,) in connection.execute(sa.select(user.c.id)).all():
        connection.execute(user.update().where(user.c.id == user_id).values(session_id=secrets.token_urlsafe(32)))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('session_id', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_session_id'), ['session_id'])
    if connection.dialect.name == 'sqlite':
        _rebuild_with_autoincrement(connection, True)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == 'sqlite':
        _rebuild_with_autoincrement(connection, False)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_session_id'), type_='unique')
        batch_op.drop_column('session_id')


def _rebuild_with_autoincrement(connection, on: bool):
    """Every table with an integer id, rebuilt with (or without) AUTOINCREMENT: SQLite cannot
    change that in place. Ids keep their values; the next ones start after the highest."""
    for (name,) in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '\\_alembic%' ESCAPE '\\' AND name != 'alembic_version' ORDER BY name").all():
        columns = connection.exec_driver_sql(f'PRAGMA table_info("{name}")').all()
        keys = [c for c in columns if c[5]]  # (cid, name, type, notnull, default, pk)
        if len(keys) == 1 and keys[0][2].upper() == 'INTEGER':
            with op.batch_alter_table(name, recreate='always', table_kwargs={'sqlite_autoincrement': on}):
                pass
