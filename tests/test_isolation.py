"""Tenant isolation, for every route at once: Otto, signed in to his own studio, tries each URL
that takes an id with the ids of Olivia's rows, by GET and by POST. Each must answer 404 (or 405
where the method does not exist) and change nothing. A new route with an id is covered automatically."""
import re

import sqlalchemy as sa

from shutterbell import (api_tokens, customers, imports, invoices, jobs, mail_templates, orders, profiles, suppression,
                         team)
from shutterbell.extensions import db
from shutterbell.models import (ApiToken, Assignment, Consent, Contact, ContactAddress, Customer, Import, Invoice, Job, MailItem,
                                MailTemplate, Message, Payment,
                                Notification, Order, Profile, Studio, Suppression, User, Voucher, utcnow)

ID_SOURCES = {"profile_id": Profile, "job_id": Job, "user_id": User, "customer_id": Customer, "order_id": Order,
              "token_id": ApiToken, "import_id": Import, "message_id": Message, "entry_id": Suppression,
              "contact_id": Contact, "item_id": MailItem, "template_id": MailTemplate, "invoice_id": Invoice,
              "assignment_id": Assignment}
FIXED_ARGUMENTS = {"action": "paid", "index": 0}  # a choice or a position in the URL, not an id
# Static files, invitation and unsubscribe tokens (and the signed proof of a re-subscription), sign-up
# codes, and the API's own (token-scoped) ids.
PUBLIC_ARGUMENTS = {"filename", "token", "proof", "code", "external_id"}
# A section of the signed-in owner's own settings ("smtp", "imap", "sms"): no other studio's row to reach.
OWN_CHOICES = {"service", "provider"}  # a section or a mail provider by name, no row


def snapshot():
    db.session.expire_all()
    return {model.__name__: sorted(tuple(sorted((k, repr(v)) for k, v in vars(row).items()
                                                if not k.startswith("_") and k != "last_used_at"))
                                   for row in db.session.query(model).all())
            for model in (Studio, User, Profile, Notification, Job, Customer, Consent, Order, Voucher, ApiToken,
                          Import, Message, Suppression, Contact, ContactAddress, MailItem, MailTemplate, Invoice,
                          Payment, Assignment)}


def _failed_message(job, customer):
    """A failed outbox row of Olivia's: retry, cancel and show must not reach it from Otto's studio."""
    message = Message(studio_id=job.studio_id, job_id=job.id, customer_id=customer.id, key="x:1", channel="email",
                      recipient=customer.email, subject="Hi", body="Hi", due_at=utcnow(), status="failed")
    db.session.add(message)
    db.session.commit()
    return message


def _bounced(studio_id: int) -> Suppression:
    """A bounce on Olivia's list, which her owner could lift: Otto must not."""
    suppression.suppress(studio_id, "email", "typo@exmaple.com", "bounced", utcnow())
    db.session.commit()
    return db.session.scalar(sa.select(Suppression).where(Suppression.studio_id == studio_id))


def _mail_from_a_stranger(studio_id):
    """Unmatched mail of Olivia's: Otto must not make its sender his contact."""
    item = MailItem(studio_id=studio_id, subject="Hallo", from_address="fremd@example.com", sent_at=utcnow())
    db.session.add(item)
    db.session.commit()
    return item


def _issued_invoice(studio, contact_id):
    """An open invoice of Olivia's: Otto must neither pay, void, print nor see it."""
    invoice = invoices.save(studio, None, invoices.InvoiceInput(
        contact_id, currency="EUR", lines=[invoices.LineInput("Porträt", "1", "120,00", "19")]))
    invoices.issue(invoice, utcnow().date())
    return invoice


def test_every_route_with_an_id_answers_404_to_another_studio(app, as_otto, otto, olivia, sam):
    _, otto_token = api_tokens.create(otto.studio, "Otto's shop", utcnow())
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Olivia's job", profile_id=None), None)
    customer, _ = customers.register(job, customers.CustomerInput("Anna", "Schmidt", "anna@example.com",
                                                                  email_consent=True), "staff", {"email": "ok"}, utcnow())
    order, _ = orders.record(job, customer, 4890, utcnow(), paid=False)
    ids = {"profile_id": profiles.list_profiles(olivia.studio)[0].id, "job_id": job.id, "user_id": sam.id,
           "customer_id": customer.id, "order_id": order.id, "contact_id": customer.contact_id,
           "item_id": _mail_from_a_stranger(olivia.studio_id).id,
           "template_id": mail_templates.of_studio(olivia.studio)[0].id,
           "token_id": api_tokens.create(olivia.studio, "Shop", utcnow())[0].id,
           "import_id": imports.save_preview(job, "kids.csv", imports.preview(job, b"first_name,email\nB,b@x.de\n")).id,
           "message_id": _failed_message(job, customer).id, "entry_id": _bounced(olivia.studio_id).id,
           "invoice_id": _issued_invoice(olivia.studio, customer.contact_id).id,
           "assignment_id": team.assign(job, team.AssignInput(f"u{sam.id}", "Zweitfotografin"), utcnow()).id}
    before = snapshot()
    checked = 0
    for rule in app.url_map.iter_rules():
        arguments = set(rule.arguments)
        if not arguments:
            continue
        known = set(ID_SOURCES) | set(FIXED_ARGUMENTS)
        assert arguments <= known | PUBLIC_ARGUMENTS | OWN_CHOICES, f"add {rule.arguments} to ID_SOURCES"
        if not arguments <= known:
            continue
        url = rule.rule
        for name in arguments:
            value = ids[name] if name in ids else FIXED_ARGUMENTS[name]
            url = re.sub(rf"<[^>]*:{name}>", str(value), url)
        for method in ("GET", "POST", "PUT"):
            if url.startswith("/api/"):  # the API knows Otto by his studio's token, not a session
                response = as_otto._request(method.lower(), url, json={"archives_at": "2027-01-01"},
                                            headers={"Authorization": f"Bearer {otto_token}"})
            elif method == "PUT":
                continue
            else:
                response = as_otto.get(url) if method == "GET" else as_otto.post(url, {"name": "Hijacked"})
            # 405 where no route takes this method at this address (another may: GET and POST /customers/)
            served = any(r.rule == rule.rule and method in r.methods for r in app.url_map.iter_rules())
            allowed = 404 if served else 405
            assert response.status_code == allowed, f"{method} {url}: {response.status_code}"
            checked += 1
    assert checked >= 10
    assert snapshot() == before


def test_the_outbox_filtered_by_another_studios_job_lists_nothing_of_it(as_otto, olivia):
    """The outbox reads a job's messages by the job's index alone once the job is the studio's."""
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Löwenzahn", profile_id=None), None)
    customer, _ = customers.register(job, customers.CustomerInput("Zoë", "Łęcka", "zoe@example.com", email_consent=True),
                                     "staff", {"email": "Ja, per E-Mail", "sms": ""}, utcnow())
    _failed_message(job, customer)
    for url in (f"/outbox/?job={job.id}", f"/outbox/?job={job.id}&status=failed"):
        page = as_otto.get(url).get_data(as_text=True)
        assert "0 messages" in page and "zoe@example.com" not in page
