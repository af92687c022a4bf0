"""The two recommended profiles every new studio starts with (GotPhoto's advice: six or seven
notifications, texts short enough for one SMS segment). Studios edit or copy them freely."""
from __future__ import annotations

from dataclasses import dataclass

from .extensions import db
from .models import Notification, Profile, Studio
from .profiles import NotificationInput as N
from .profiles import apply_input

FOOTER = "\n\nNo more emails about these photos: {{ unsubscribe_url }}"
# A marketing message's link stops offers only (the page offers to stop everything too).
OFFERS_FOOTER = "\n\nNo more offers from {{ studio.name }}: {{ unsubscribe_url }}"


@dataclass(frozen=True)
class RecommendedProfile:
    name: str
    description: str
    notifications: tuple[N, ...]


WELCOME = N(
    trigger="customer_registered", audience="potential_buyers", channel="email",
    subject="Welcome! Your photos from {{ job.name }}",
    body=(
        "Hello {{ customer.first_name }},\n\n"
        "thank you for signing up for the photos from {{ job.name }}. "
        "{% if job.published_at %}They are online already:\n{{ job.gallery_url }}"
        "{% else %}We will let you know as soon as they are online.{% endif %}\n\n"
        "Your access code: {{ job.access_code }}\n\n"
        "Best wishes,\n{{ studio.name }}" + FOOTER
    ),
)
PHOTOS_ONLINE = N(
    trigger="job_published", audience="all", channel="email",
    subject="Your photos from {{ job.name }} are online",
    body=(
        "Hello {{ customer.first_name }},\n\n"
        "the photos from {{ job.name }} are ready for you:\n{{ job.gallery_url }}\n\n"
        "Your access code is {{ job.access_code }}. You can order until {{ job.order_deadline }}.\n\n"
        "Enjoy looking through them!\n{{ studio.name }}" + FOOTER
    ),
)
PHOTOS_ONLINE_SMS = N(
    trigger="job_published", audience="all", channel="sms",
    body="{{ studio.name }}: your photos from {{ job.name }} are online: {{ job.gallery_url }}",
)
REMINDER = N(
    trigger="days_after_published", days=7, audience="potential_buyers", channel="email",
    subject="Have you seen your photos yet?",
    body=(
        "Hello {{ customer.first_name }},\n\n"
        "your photos from {{ job.name }} have been online for a week. "
        "Take a look and pick your favourites:\n{{ job.gallery_url }}\n\n"
        "Access code: {{ job.access_code }}\n\n{{ studio.name }}" + OFFERS_FOOTER
    ),
)
VOUCHER = N(
    trigger="days_before_voucher_expires", days=3, audience="potential_buyers", channel="email",
    subject="Your voucher {{ voucher.code }} expires on {{ voucher.expires_at }}",
    body=(
        "Hello {{ customer.first_name }},\n\n"
        "your voucher {{ voucher.code }} worth {{ voucher.value }} is valid until {{ voucher.expires_at }}. "
        "Use it in the shop:\n{{ job.gallery_url }}\n\n{{ studio.name }}" + OFFERS_FOOTER
    ),
)
LAST_DAYS = N(
    trigger="days_before_archived", days=7, audience="all", channel="email",
    subject="Last week to order your photos from {{ job.name }}",
    body=(
        "Hello {{ customer.first_name }},\n\n"
        "on {{ job.archives_at }} the gallery of {{ job.name }} closes and the photos are archived. "
        "Until then you can still order here:\n{{ job.gallery_url }}\n\n{{ studio.name }}" + OFFERS_FOOTER
    ),
)
THANK_YOU = N(
    trigger="order_placed", audience="buyers", channel="email",
    subject="Thank you for your order",
    body=(
        "Hello {{ customer.first_name }},\n\n"
        "thank you for your order {{ order.number }} ({{ order.total }}) from {{ job.name }}. "
        "We are preparing it now and will let you know when it is on its way.\n\n"
        "Best wishes,\n{{ studio.name }}"
    ),
)

RECOMMENDED_PROFILES = (
    RecommendedProfile(
        "Recommended: standard",
        "A welcome, the gallery announcement, one reminder, the voucher and the last week before "
        "archiving, and a thank-you to buyers.",
        (WELCOME, PHOTOS_ONLINE, PHOTOS_ONLINE_SMS, REMINDER, VOUCHER, LAST_DAYS, THANK_YOU),
    ),
    RecommendedProfile(
        "Recommended: sales push",
        "An earlier reminder for customers who have not ordered yet, and text messages for the "
        "moments that sell: the gallery going online, the voucher and the order deadline.",
        (
            WELCOME,
            PHOTOS_ONLINE,
            PHOTOS_ONLINE_SMS,
            N(trigger="days_after_published", days=3, audience="potential_buyers", channel="email",
              subject="Your favourites from {{ job.name }}?",
              body=(
                  "Hello {{ customer.first_name }},\n\n"
                  "have you found your favourite photos from {{ job.name }} yet? "
                  "Prints, downloads and gifts are one click away:\n{{ job.gallery_url }}\n\n"
                  "{{ studio.name }}" + OFFERS_FOOTER
              )),
            N(trigger="days_before_voucher_expires", days=2, audience="potential_buyers", channel="sms",
              body="{{ studio.name }}: voucher {{ voucher.code }} ends {{ voucher.expires_at }}. "
                   "Order: {{ job.gallery_url }}"),
            N(trigger="days_before_order_deadline", days=3, audience="potential_buyers", channel="sms",
              body="{{ studio.name }}: 3 days left to order your photos: {{ job.gallery_url }}"),
            THANK_YOU,
        ),
    ),
)


def add_to(studio: Studio) -> None:
    """Give a new studio the recommended profiles, the first as its default for new jobs
    (no commit: part of creating the studio)."""
    created = []
    for spec in RECOMMENDED_PROFILES:
        profile = Profile(studio_id=studio.id, name=spec.name, description=spec.description, recommended=True)
        db.session.add(profile)
        created.append(profile)
        for position, item in enumerate(spec.notifications):
            notification = Notification(studio_id=studio.id, profile=profile)
            apply_input(notification, item, position)
            db.session.add(notification)
    db.session.flush()
    studio.default_profile_id = created[0].id
