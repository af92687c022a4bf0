"""The two recommended profiles every new studio starts with (GotPhoto's advice: six or seven
notifications, texts short enough for one SMS segment). Studios edit or copy them freely."""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import gettext

from .extensions import db
from .i18n import N_, speaking
from .models import Notification, Profile, Studio
from .profiles import NotificationInput as N
from .profiles import apply_input


@dataclass(frozen=True)
class RecommendedProfile:
    name: str
    description: str
    notifications: tuple[N, ...]


WELCOME = N(
    trigger="customer_registered", audience="potential_buyers", channel="email",
    subject=N_("Welcome! Your photos from {{ job.name }}"),
    body=N_(
        "Hello {{ customer.first_name }},\n\n"
        "thank you for signing up for the photos from {{ job.name }}. "
        "{% if job.published_at %}They are online already:\n{{ job.gallery_url }}"
        "{% else %}We will let you know as soon as they are online.{% endif %}\n\n"
        "Your access code: {{ job.access_code }}\n\n"
        "Best wishes,\n{{ studio.name }}\n\n"
        "No more emails about these photos: {{ unsubscribe_url }}"
    ),
)
PHOTOS_ONLINE = N(
    trigger="job_published", audience="all", channel="email",
    subject=N_("Your photos from {{ job.name }} are online"),
    body=N_(
        "Hello {{ customer.first_name }},\n\n"
        "the photos from {{ job.name }} are ready for you:\n{{ job.gallery_url }}\n\n"
        "Your access code is {{ job.access_code }}."
        "{% if job.order_deadline %} You can order until {{ job.order_deadline }}.{% endif %}\n\n"
        "Enjoy looking through them!\n{{ studio.name }}\n\n"
        "No more emails about these photos: {{ unsubscribe_url }}"
    ),
)
PHOTOS_ONLINE_SMS = N(
    trigger="job_published", audience="all", channel="sms",
    body=N_("{{ studio.name }}: your photos from {{ job.name }} are online: {{ job.gallery_url }}"),
)
REMINDER = N(
    trigger="days_after_published", days=7, audience="potential_buyers", channel="email",
    subject=N_("Have you seen your photos yet?"),
    body=N_(
        "Hello {{ customer.first_name }},\n\n"
        "your photos from {{ job.name }} have been online for a week. "
        "Take a look and pick your favourites:\n{{ job.gallery_url }}\n\n"
        "Access code: {{ job.access_code }}\n\n{{ studio.name }}\n\n"
        "No more offers from {{ studio.name }}: {{ unsubscribe_url }}"
    ),
)
VOUCHER = N(
    trigger="days_before_voucher_expires", days=3, audience="potential_buyers", channel="email",
    subject=N_("Your voucher {{ voucher.code }} expires on {{ voucher.expires_at }}"),
    body=N_(
        "Hello {{ customer.first_name }},\n\n"
        "your voucher {{ voucher.code }} worth {{ voucher.value }} is valid until {{ voucher.expires_at }}. "
        "Use it in the shop:\n{{ job.gallery_url }}\n\n{{ studio.name }}\n\n"
        "No more offers from {{ studio.name }}: {{ unsubscribe_url }}"
    ),
)
LAST_DAYS = N(
    trigger="days_before_archived", days=7, audience="all", channel="email",
    subject=N_("Last week to order your photos from {{ job.name }}"),
    body=N_(
        "Hello {{ customer.first_name }},\n\n"
        "on {{ job.archives_at }} the gallery of {{ job.name }} closes and the photos are archived. "
        "Until then you can still order here:\n{{ job.gallery_url }}\n\n{{ studio.name }}\n\n"
        "No more offers from {{ studio.name }}: {{ unsubscribe_url }}"
    ),
)
THANK_YOU = N(
    trigger="order_placed", audience="buyers", channel="email",
    subject=N_("Thank you for your order"),
    body=N_(
        "Hello {{ customer.first_name }},\n\n"
        "thank you for your order {{ order.number }} ({{ order.total }}) from {{ job.name }}. "
        "We are preparing it now and will let you know when it is on its way.\n\n"
        "Best wishes,\n{{ studio.name }}"
    ),
)

RECOMMENDED_PROFILES = (
    RecommendedProfile(
        N_("Recommended: standard"),
        N_("A welcome, the gallery announcement, one reminder, the voucher and the last week before "
           "archiving, and a thank-you to buyers."),
        (WELCOME, PHOTOS_ONLINE, PHOTOS_ONLINE_SMS, REMINDER, VOUCHER, LAST_DAYS, THANK_YOU),
    ),
    RecommendedProfile(
        N_("Recommended: sales push"),
        N_("An earlier reminder for customers who have not ordered yet, and text messages for the "
           "moments that sell: the gallery going online, the voucher and the order deadline."),
        (
            WELCOME,
            PHOTOS_ONLINE,
            PHOTOS_ONLINE_SMS,
            N(trigger="days_after_published", days=3, audience="potential_buyers", channel="email",
              subject=N_("Your favourites from {{ job.name }}?"),
              body=N_(
                  "Hello {{ customer.first_name }},\n\n"
                  "have you found your favourite photos from {{ job.name }} yet? "
                  "Prints, downloads and gifts are one click away:\n{{ job.gallery_url }}\n\n"
                  "{{ studio.name }}\n\n"
        "No more offers from {{ studio.name }}: {{ unsubscribe_url }}"
              )),
            N(trigger="days_before_voucher_expires", days=2, audience="potential_buyers", channel="sms",
              body=N_("{{ studio.name }}: voucher {{ voucher.code }} ends {{ voucher.expires_at }}. "
                      "Order: {{ job.gallery_url }}")),
            N(trigger="days_before_order_deadline", days=3, audience="potential_buyers", channel="sms",
              body=N_("{{ studio.name }}: 3 days left to order your photos: {{ job.gallery_url }}")),
            THANK_YOU,
        ),
    ),
)


def add_to(studio: Studio) -> None:
    """Give a new studio the recommended profiles in its own language, the first as its default
    for new jobs (no commit: part of creating the studio)."""
    created = []
    with speaking(studio):
        for spec in RECOMMENDED_PROFILES:
            profile = Profile(studio_id=studio.id, name=gettext(spec.name), description=gettext(spec.description),
                              recommended=True)
            db.session.add(profile)
            created.append(profile)
            for position, item in enumerate(spec.notifications):
                notification = Notification(studio_id=studio.id, profile=profile)
                apply_input(notification, _translated(item), position)
                db.session.add(notification)
    db.session.flush()
    studio.default_profile_id = created[0].id


def _translated(item: N) -> N:
    return replace(item, subject=gettext(item.subject) if item.subject else item.subject, body=gettext(item.body))
