"""The recommended welcome email said "we will let you know as soon as they are online" even to
someone who signed up after the photos went online. Studios that never edited it get the text
that reads right in both orders; an edited welcome is the studio's own and stays as it is.

Revision ID: e3a7c5d91b20
Revises: b5d1f0c3a9e2
Create Date: 2026-12-03 05:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e3a7c5d91b20'
down_revision = 'b5d1f0c3a9e2'
branch_labels = None
depends_on = None

_START = ("Hello {{ customer.first_name }},\n\n"
          "thank you for signing up for the photos from {{ job.name }}. ")
_END = ("\n\nYour access code: {{ job.access_code }}\n\n"
        "Best wishes,\n{{ studio.name }}\n\nNo more emails about these photos: {{ unsubscribe_url }}")
BEFORE = _START + "We will let you know as soon as they are online." + _END
AFTER = (_START + "{% if job.published_at %}They are online already:\n{{ job.gallery_url }}"
         "{% else %}We will let you know as soon as they are online.{% endif %}" + _END)

notification = sa.table('notification', sa.column('trigger', sa.String), sa.column('body', sa.Text))


def _replace(old, new):
    op.execute(notification.update()
               .where(notification.c.trigger == 'customer_registered', notification.c.body == old)
               .values(body=new))


def upgrade():
    _replace(BEFORE, AFTER)


def downgrade():
    _replace(AFTER, BEFORE)
