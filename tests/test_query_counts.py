"""No page runs a query per row: each page is loaded with a few rows and with three times as
many, and the number of SQL statements it runs must not grow (an N+1 shows as a difference)."""
import contextlib
from datetime import date

import pytest
import sqlalchemy as sa

from shutterbell import contacts, customers, invoices, jobs, orders, profiles, team
from shutterbell.extensions import db
from shutterbell.models import Message, utcnow
from shutterbell.profiles import NotificationInput, ProfileInput

from .conftest import text_of


@contextlib.contextmanager
def counted():
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def grow(studio, job, profile, start: int, stop: int) -> None:
    """Rows of every kind the pages list, numbered start..stop."""
    for n in range(start, stop):
        customer, _ = customers.register(job, customers.CustomerInput(f"Zoë{n}", "Łęcka", f"zoe{n}@example.pl",
                                                                      email_consent=True), "staff",
                                         {"email": "ok"}, utcnow())
        orders.record(job, customer, 1000 + n, utcnow(), paid=n % 2 == 0)
        vendor = contacts.save(studio, None, contacts.ContactInput(f"Café {n}", emails=[f"cafe{n}@example.de"],
                                                                   kind="vendor"))
        team.assign(job, team.AssignInput(f"c{vendor.id}", "Location"), utcnow())
        invoice = invoices.save(studio, None, invoices.InvoiceInput(
            customer.contact_id, job_id=job.id, currency="EUR", lines=[invoices.LineInput("Porträt", "1", "99,00", "19")]))
        invoices.issue(invoice, date(2026, 12, 3))
        db.session.add(Message(studio_id=studio.id, job_id=job.id, customer_id=customer.id, key=f"oneoff:q:{n}",
                               channel="email", recipient=customer.email, subject="Hallo", body="Hallo",
                               due_at=utcnow(), status="failed" if n % 3 else "sent"))
        profiles.save_profile(studio, None, ProfileInput(f"Profil {n}", "", [
            NotificationInput(trigger="job_published", days=None, audience="all", channel="email", subject="Hi",
                              body="Hallo {{ customer.first_name }}")]))
    db.session.commit()


PAGES = ["/", "/jobs/", "/jobs/?profile={profile}", "/jobs/{job}", "/contacts/", "/invoices/", "/invoices/{invoice}", "/outbox/",
         "/outbox/?status=failed", "/outbox/?job={job}", "/settings/profiles/", "/settings/profiles/{profile}",
         "/alerts/"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_runs_as_many_queries_for_three_times_the_rows(olivia, as_olivia, path):
    studio = olivia.studio
    profile = profiles.save_profile(studio, None, ProfileInput("Viele", "", [
        NotificationInput(trigger=trigger, days=3 if days else None, audience=audience, channel="email",
                          subject="Hi", body="Hi {{ studio.name }}")
        for trigger, days, audience in (("days_before_archived", True, "all"), ("customer_registered", False,
                                        "potential_buyers"), ("days_before_shoot_team", True, "vendors"),
                                        ("days_before_invoice_due", True, "client"))]))
    job = jobs.save_job(studio, None, jobs.JobInput(name="Kita", profile_id=profile.id, shoot_date=date(2027, 5, 1),
                                                    archives_at=date(2027, 6, 1)), None)
    grow(studio, job, profile, 0, 4)
    invoice = db.session.scalar(sa.select(invoices.Invoice).order_by(invoices.Invoice.id))
    url = path.format(job=job.id, invoice=invoice.id, profile=profile.id)
    text_of(as_olivia.get(url))  # warm: the first request of a session does work of its own
    with counted() as few:
        assert as_olivia.get(url).status_code == 200
    grow(studio, job, profile, 4, 12)
    with counted() as many:
        assert as_olivia.get(url).status_code == 200
    grown = {s[:120]: (few.count(s), many.count(s)) for s in set(many) if many.count(s) > few.count(s)}
    assert len(many) == len(few), f"{url}: {len(few)} queries, then {len(many)}; grew: {grown}"


def test_a_part_of_a_page_asks_nothing_for_the_banners_it_does_not_draw(olivia, as_olivia):
    """Typing in a search or a message asks for parts of a page many times a minute: the banners
    (a paused mail account, texts, unread alerts) are asked by the whole page only, in one query
    while nothing is paused."""
    jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Sonnenblume Görlitz", profile_id=None), None)
    with counted() as part:
        assert "Görlitz" in text_of(as_olivia.get("/jobs/?q=g%C3%B6rlitz", headers={"HX-Request": "true"}))
    with counted() as page:
        assert "Görlitz" in text_of(as_olivia.get("/jobs/?q=g%C3%B6rlitz"))
    for_banners = [s for s in page if "mail_account" in s or "sms_account" in s or "FROM alert" in s]
    assert len(for_banners) == 1 and not set(for_banners) & set(part)
