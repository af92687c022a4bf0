"""Templates for email staff write by hand (Settings → Templates), and the four recommended ones
for every existing studio, as this version ships them (texts copied: a migration must not change
when the app's texts do).

Revision ID: df0c1054c195
Revises: b8d4f2a6c0e1
Create Date: 2026-12-03 08:34:13.305271

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'df0c1054c195'
down_revision = 'b8d4f2a6c0e1'
branch_labels = None
depends_on = None

RECOMMENDED = (
    (
        "Booking confirmation", "Your photo session with {{ studio.name }} is booked",
        "Hello {{ customer.first_name }},\n\nthank you for booking {{ job.name }} with us. We have it in our "
        "calendar for {{ job.shoot_date }} and look forward to seeing you.\n\nIf anything changes, simply reply "
        "to this email.\n\nBest wishes,\n{{ studio.name }}"),
    (
        "Session reminder", "See you soon: {{ job.name }}",
        "Hello {{ customer.first_name }},\n\na short reminder of your photo session on {{ job.shoot_date }}. "
        "Please be there ten minutes early; bring the clothes you would like to be photographed in.\n\n"
        "See you soon,\n{{ studio.name }}"),
    (
        "Payment reminder", "A friendly reminder about your order",
        "Hello {{ customer.first_name }},\n\nwe have not received the payment for your photos from {{ job.name }} "
        "yet. If you have paid in the meantime, please ignore this email; otherwise we would be glad if you "
        "could settle it in the next few days.\n\nThank you,\n{{ studio.name }}"),
    (
        "Feedback request", "How did you like your photos?",
        "Hello {{ customer.first_name }},\n\nwe hope you enjoy your photos from {{ job.name }}. Would you tell "
        "us how you liked the session and the pictures? Simply reply to this email: every word helps us.\n\n"
        "Thank you,\n{{ studio.name }}"),
)


def upgrade():
    template = op.create_table(
        'mail_template',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('studio_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], name=op.f('fk_mail_template_studio_id_studio')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_template')),
        sa.UniqueConstraint('studio_id', 'name', name='uq_mail_template_studio_id_name'),
        sqlite_autoincrement=True
    )
    studios = op.get_bind().execute(sa.text("SELECT id FROM studio")).scalars().all()
    now = datetime.now(timezone.utc)
    op.bulk_insert(template, [{"studio_id": studio, "name": name, "subject": subject, "body": body,
                               "created_at": now} for studio in studios for name, subject, body in RECOMMENDED])


def downgrade():
    op.drop_table('mail_template')
