"""Replies stop the sequence: a customer's mail in the synced inbox skips the later messages of the
notifications marked "stop when the customer replies", with the reason on the outbox and a count
on the job's timeline, while the others go on; staff undo it per customer. Against a real Dovecot
and SMTP server; SQLite and PostgreSQL."""
from datetime import datetime, time, timedelta, timezone

from email.utils import format_datetime

import sqlalchemy as sa

from shutterbell import customers, inbox, jobs, outbox, scheduling
from shutterbell.extensions import db
from shutterbell.models import Customer, Message

from .conftest import text_of
from .test_correspondence import sending_too
from .test_inbox import STUDIO, mail
from .test_inbox import account as inbox_account  # noqa: F401 (a fixture)
from .test_inbox import mailbox  # noqa: F401 (a fixture)
from .test_outbox import POLICY, run_pass
from .test_scheduling import email, make_profile, use



def test_a_customer_who_replies_gets_no_more_of_what_stops_on_a_reply(
        olivia, inbox_account, mailbox, server, configure, certificate, as_sam):  # noqa: F811
    put, _ = mailbox
    sending_too(inbox_account, server, configure, certificate)
    configure(base_url=POLICY.base_url)
    now = datetime.now(timezone.utc).replace(microsecond=0)  # the job page reads the clock
    archives = (now + timedelta(days=20)).date()
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Hochzeit Weiß", profile_id=None,
                                                           archives_at=archives), None)
    use(job, make_profile(olivia.studio, email("days_before_archived", days=7, stop_on_reply=True),
                          email("days_before_archived", days=3)))
    agreed = {"email": "ok", "marketing": "offers ok"}  # the reminders are offers
    juergen, _ = customers.register(job, customers.CustomerInput("Jürgen", "Weiß", "juergen@example.com",
                                                                 email_consent=True, marketing_consent=True),
                                    "staff", agreed, now)
    zoe, _ = customers.register(job, customers.CustomerInput("Zoë", "Wójcik", "zoe@example.pl",
                                                             email_consent=True, marketing_consent=True),
                                "staff", agreed, now)
    written = now + timedelta(hours=1)
    put("INBOX", mail("<r1@example.com>", "Jürgen Weiß <juergen@example.com>", STUDIO, "Wir haben schon bestellt",
                      "Content-Type: text/plain; charset=utf-8\r\n\r\nDanke, alles erledigt – 120 € bezahlt.\r\n"
                      .encode()).replace(b"Mon, 02 Mar 2026 08:00:00 +0100", format_datetime(written).encode()))
    put("INBOX", mail("<a1@example.pl>", "zoe@example.pl", STUDIO, "Abwesend", b"\r\nUrlaub\r\n",
                      extra=b"Auto-Submitted: auto-replied\r\n"))  # automatic: no reply of hers
    inbox.sync(inbox_account, written)
    db.session.expire_all()
    assert db.session.get(Customer, juergen.id).replied_at == written and db.session.get(Customer, zoe.id).replied_at is None

    rows = scheduling.timeline(job, written)
    assert [(row.recipients, row.replied) for row in rows] == [(2, 1), (2, 0)]  # seven days before: one stops
    assert "(1 replied: skipped)" in text_of(as_sam.get(f"/jobs/{job.id}/timeline"))

    for days_before in (7, 3):
        moment = datetime.combine(archives - timedelta(days=days_before), time(20), timezone.utc)
        for batch in run_pass(moment):
            outbox.send_batch(batch, POLICY, clock=lambda: moment)
    db.session.expire_all()
    outcomes = sorted((m.recipient, m.status, m.last_error[:22]) for m in db.session.scalars(sa.select(Message)))
    assert outcomes == [("juergen@example.com", "sent", ""), ("juergen@example.com", "skipped", "The customer replied: "),
                        ("zoe@example.pl", "sent", ""), ("zoe@example.pl", "sent", "")]

    page = text_of(as_sam.get(f"/jobs/{job.id}/customers/{juergen.id}"))
    assert "Jürgen wrote to you on" in page
    assert as_sam.post(f"/jobs/{job.id}/customers/{juergen.id}/replied").status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, juergen.id).replied_at is None
    assert "wrote to you on" not in text_of(as_sam.get(f"/jobs/{job.id}/customers/{juergen.id}"))


def test_an_answer_to_a_customers_mail_from_another_address_stops_that_customer_of_that_job(
        olivia, inbox_account, mailbox, server, configure, certificate):  # noqa: F811
    """The thread headers say whose reply it is: Jürgen's wife answers the welcome he got for the
    wedding from her own address; his portraits job goes on."""
    put, _ = mailbox
    sending_too(inbox_account, server, configure, certificate)
    configure(base_url=POLICY.base_url)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    archives = (now + timedelta(days=20)).date()
    profile = make_profile(olivia.studio, email("customer_registered", "potential_buyers"),
                           email("days_before_archived", days=7, stop_on_reply=True))
    signed_up = {}
    for name in ("Hochzeit Weiß", "Porträts Jürgen"):
        job = jobs.save_job(olivia.studio, None, jobs.JobInput(name=name, profile_id=None, archives_at=archives), None)
        use(job, profile)
        signed_up[name], _ = customers.register(job, customers.CustomerInput(
            "Jürgen", "Weiß", "juergen@example.com", email_consent=True), "staff", {"email": "ok"}, now)
    for batch in run_pass(now + timedelta(minutes=1)):
        outbox.send_batch(batch, POLICY, clock=lambda: now + timedelta(minutes=1))
    welcome = db.session.scalar(sa.select(Message).where(Message.customer_id == signed_up["Hochzeit Weiß"].id))
    assert welcome.status == "sent" and welcome.message_id.startswith("<")

    written = now + timedelta(hours=1)
    put("INBOX", mail("<petra-1@example.de>", "Petra Weiß <petra.weiss@example.de>", STUDIO, "Re: Willkommen",
                      b"Content-Type: text/plain; charset=utf-8\r\n\r\nDanke! Wir melden uns \xc3\xa0 la fin.\r\n",
                      extra=f"In-Reply-To: {welcome.message_id}\r\nReferences: {welcome.message_id}\r\n".encode())
        .replace(b"Mon, 02 Mar 2026 08:00:00 +0100", format_datetime(written).encode()))
    put("INBOX", mail("<fremd@example.de>", "Łukasz <lukasz@example.pl>", STUDIO, "Re: irgendwas",
                      b"\r\nHallo\r\n", extra=b"In-Reply-To: <not-ours@example.com>\r\n"))  # answers nothing of ours
    inbox.sync(inbox_account, written)
    db.session.expire_all()
    assert db.session.get(Customer, signed_up["Hochzeit Weiß"].id).replied_at == written
    assert db.session.get(Customer, signed_up["Porträts Jürgen"].id).replied_at is None
