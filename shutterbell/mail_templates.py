"""Templates for email staff write by hand (Pixifi's "email templates"): a booking confirmation, a
session reminder, a payment reminder and a feedback request to start with, each studio's to edit.
They take the placeholders profiles take, checked and previewed the same way; choosing one on a
contact's write page fills it in for that contact (their latest sign-up and its job), and what
staff then edit is what is sent.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from . import composer, settings, templating
from .i18n import N_, speaking
from .extensions import db
from .models import Contact, Customer, Job, MailAccount, MailTemplate, Studio
from .validation import Invalid

MAX_BODY = 20_000


@dataclass
class TemplateInput:
    name: str
    subject: str
    body: str


RECOMMENDED = (
    TemplateInput(
        N_("Booking confirmation"), N_("Your photo session with {{ studio.name }} is booked"),
        N_("Hello {{ customer.first_name }},\n\nthank you for booking {{ job.name }} with us. We have it in our "
           "calendar for {{ job.shoot_date }} and look forward to seeing you.\n\nIf anything changes, simply reply "
           "to this email.\n\nBest wishes,\n{{ studio.name }}")),
    TemplateInput(
        N_("Session reminder"), N_("See you soon: {{ job.name }}"),
        N_("Hello {{ customer.first_name }},\n\na short reminder of your photo session on {{ job.shoot_date }}. "
           "Please be there ten minutes early; bring the clothes you would like to be photographed in.\n\n"
           "See you soon,\n{{ studio.name }}")),
    TemplateInput(
        N_("Payment reminder"), N_("A friendly reminder about your order"),
        N_("Hello {{ customer.first_name }},\n\nwe have not received the payment for your photos from {{ job.name }} "
           "yet. If you have paid in the meantime, please ignore this email; otherwise we would be glad if you "
           "could settle it in the next few days.\n\nThank you,\n{{ studio.name }}")),
    TemplateInput(
        N_("Feedback request"), N_("How did you like your photos?"),
        N_("Hello {{ customer.first_name }},\n\nwe hope you enjoy your photos from {{ job.name }}. Would you tell "
           "us how you liked the session and the pictures? Simply reply to this email: every word helps us.\n\n"
           "Thank you,\n{{ studio.name }}")),
)


def add_recommended(studio: Studio) -> None:
    """The four every new studio starts with, in its language (no commit)."""
    with speaking(studio):
        db.session.add_all(MailTemplate(studio_id=studio.id, name=gettext(t.name), subject=gettext(t.subject),
                                        body=gettext(t.body)) for t in RECOMMENDED)


def of_studio(studio: Studio) -> list[MailTemplate]:
    return db.session.scalars(sa.select(MailTemplate).where(MailTemplate.studio_id == studio.id)
                              .order_by(MailTemplate.name)).all()


def get(studio: Studio, template_id: int) -> MailTemplate | None:
    return db.session.scalar(sa.select(MailTemplate).where(MailTemplate.id == template_id,
                                                           MailTemplate.studio_id == studio.id))


def save(studio: Studio, template: MailTemplate | None, data: TemplateInput) -> MailTemplate:
    problems = _problems(studio, template, data)
    if problems:
        raise Invalid(problems)
    if template is None:
        template = MailTemplate(studio_id=studio.id)
        db.session.add(template)
    template.name, template.subject, template.body = data.name.strip(), data.subject.strip(), data.body
    db.session.commit()
    return template


def delete(template: MailTemplate) -> None:
    """The automatic answer, if it used this template, is off then."""
    db.session.execute(sa.update(MailAccount).where(MailAccount.autoreply_template_id == template.id)
                       .values(autoreply_template_id=None))
    db.session.delete(template)
    db.session.commit()


def _problems(studio: Studio, template: MailTemplate | None, data: TemplateInput) -> dict[str, str]:
    found: dict[str, str] = {}
    name = data.name.strip()
    if not name or len(name) > 100:
        found["name"] = str(_l("Give the template a name of at most 100 characters."))
    elif db.session.scalar(sa.select(MailTemplate.id).where(
            MailTemplate.studio_id == studio.id, MailTemplate.name == name,
            MailTemplate.id != (template.id if template else 0))):
        found["name"] = str(_l("Another template has this name."))
    for field, source, limit in (("subject", data.subject, templating.MAX_SUBJECT), ("body", data.body, MAX_BODY)):
        try:
            if not source.strip():
                raise templating.TemplateProblem(_l("This field is required."))
            templating.check(source, None, limit)
        except templating.TemplateProblem as problem:
            found[field] = str(problem)
    return found


def preview(studio: Studio, data: TemplateInput) -> tuple[templating.Rendered | None, dict[str, str]]:
    """The template filled with sample values, as the profile editor shows them; or its problems."""
    found = {k: v for k, v in _problems(studio, None, data).items() if k != "name"}
    if found:
        return None, found
    return templating.render(data.subject, data.body, "email", templating.sample_context(
        studio.name, studio.locale, studio.currency)), {}


def filled_for(studio: Studio, contact: Contact, template: MailTemplate) -> templating.Rendered:
    """The template with this contact's values: their latest sign-up and its job where they have
    one; a contact on no job gets their name and empty job values."""
    latest = db.session.execute(sa.select(Customer, Job).join(Job, Customer.job_id == Job.id).where(
        Customer.contact_id == contact.id, Customer.erased_at.is_(None))
        .order_by(Customer.registered_at.desc()).limit(1)).first()
    if latest is None:
        return filled_for_person(studio, contact.name, contact.email, template)
    context = composer.context_for(studio, latest.Job, latest.Customer, settings.current().base_url)
    return templating.render(template.subject, template.body, "email", context)


def filled_for_person(studio: Studio, name: str, address: str, template: MailTemplate) -> templating.Rendered:
    """The template for someone on no job (a new contact, a stranger the automatic answer goes
    to): their name as the customer's, the job's values empty."""
    first, _, last = name.strip().partition(" ")
    context = templating.sample_context(studio.name, studio.locale, studio.currency)
    context["job"] = {key: "" for key in context["job"]}
    context["customer"] = {"first_name": first, "last_name": last, "email": address}
    context["unsubscribe_url"] = ""
    return templating.render(template.subject, template.body, "email", context)
