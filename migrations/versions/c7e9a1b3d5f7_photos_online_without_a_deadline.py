"""The recommended "photos are online" email said "You can order until ." (in German "Sie können
bis zum  bestellen.") for a job without an order deadline. Studios that never edited it get the
text that names the deadline only when the job has one; an edited text is the studio's own and
stays as it is. Both languages a recommended profile is created in; texts copied (a migration
must not change when the app's texts do).

Revision ID: c7e9a1b3d5f7
Revises: b4d6f8a0c2e4
Create Date: 2026-12-06 00:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c7e9a1b3d5f7'
down_revision = 'b4d6f8a0c2e4'
branch_labels = None
depends_on = None


def _texts(start, code, deadline, end):
    return start + code + deadline + end, start + code + "{% if job.order_deadline %}" + deadline + "{% endif %}" + end


ENGLISH = _texts("Hello {{ customer.first_name }},\n\nthe photos from {{ job.name }} are ready for you:\n"
                 "{{ job.gallery_url }}\n\n", "Your access code is {{ job.access_code }}.",
                 " You can order until {{ job.order_deadline }}.",
                 "\n\nEnjoy looking through them!\n{{ studio.name }}\n\n"
                 "No more emails about these photos: {{ unsubscribe_url }}")
GERMAN = _texts("Hallo {{ customer.first_name }},\n\ndie Fotos von {{ job.name }} sind für Sie bereit:\n"
                "{{ job.gallery_url }}\n\n", "Ihr Zugangscode lautet {{ job.access_code }}.",
                " Sie können bis zum {{ job.order_deadline }} bestellen.",
                "\n\nViel Freude beim Anschauen!\n{{ studio.name }}\n\n"
                "Keine E-Mails mehr zu diesen Fotos: {{ unsubscribe_url }}")

notification = sa.table('notification', sa.column('trigger', sa.String), sa.column('channel', sa.String),
                        sa.column('body', sa.Text))


def _replace(old, new):
    op.execute(notification.update()
               .where(notification.c.trigger == 'job_published', notification.c.channel == 'email',
                      notification.c.body == old)
               .values(body=new))


def upgrade():
    for before, after in (ENGLISH, GERMAN):
        _replace(before, after)


def downgrade():
    for before, after in (ENGLISH, GERMAN):
        _replace(after, before)
