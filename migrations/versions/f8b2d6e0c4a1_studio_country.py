"""Studios have a country: phone numbers typed without +country code are read as its own, not
as numbers of the locale's country (a German studio writing English must accept "0170 7654321").
Existing studios get the country of their time zone, else of their locale.

Revision ID: f8b2d6e0c4a1
Revises: e3a7c5d91b20
Create Date: 2026-12-03 05:30:00.000000

"""
import phonenumbers
import sqlalchemy as sa
from alembic import op
from babel.core import get_global


# revision identifiers, used by Alembic.
revision = 'f8b2d6e0c4a1'
down_revision = 'e3a7c5d91b20'
branch_labels = None
depends_on = None

KEEP_IDS = {'sqlite_autoincrement': True}  # see b5d1f0c3a9e2

studio = sa.table('studio', sa.column('id', sa.Integer), sa.column('time_zone', sa.String),
                  sa.column('locale', sa.String), sa.column('country', sa.String))


def _country(time_zone, locale):
    # As accounts.country_of at the time of writing, kept here: a migration must not change later.
    zones, aliases = get_global('zone_territories'), get_global('zone_aliases')
    found = zones.get(time_zone) or zones.get(aliases.get(time_zone, ''), '')
    if found in phonenumbers.SUPPORTED_REGIONS:  # (UTC is "ZZ")
        return found
    territory = locale.split('_')[-1].upper() if '_' in locale else ''
    return territory if territory in phonenumbers.SUPPORTED_REGIONS else 'DE'



def upgrade():
    with op.batch_alter_table('studio', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(studio.c.id, studio.c.time_zone, studio.c.locale)).all():
        connection.execute(studio.update().where(studio.c.id == row.id)
                           .values(country=_country(row.time_zone, row.locale)))
    with op.batch_alter_table('studio', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.alter_column('country', existing_type=sa.String(length=2), nullable=False)


def downgrade():
    with op.batch_alter_table('studio', schema=None, table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column('country')
