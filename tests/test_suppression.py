"""One suppression list per studio: unsubscribing or erasure stops messages on every job."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine

from shutterbell import customers, jobs, outbox, profiles, scheduling, suppression
from shutterbell.extensions import db
from shutterbell.models import Customer, Message, Suppression
from shutterbell.outbox.studio_batch import StudioBatch

from .conftest import text_of
from .test_outbox import account, job, mailbox  # noqa: F401 (fixtures: a studio that sends through a real server)

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def two_jobs(olivia):
    standard = profiles.list_profiles(olivia.studio)[1]
    published = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)  # "photos online" goes out by email and SMS
    return [jobs.save_job(olivia.studio, None, jobs.JobInput(name=name, profile_id=standard.id, published_at=published,
                                                             archives_at=date(2026, 6, 1),
                                                             gallery_url="https://fotos.lichtblick.example/g"), None)
            for name in ("Kita Regenbogen", "Grundschule Nord")]


def anna_on(job):
    customer, _ = customers.register(job, customers.CustomerInput(
        "Anna", "Schmidt", "anna@example.com", "+49 151 23456789", email_consent=True, sms_consent=True),
        "staff", {"email": "ok", "sms": "ok"}, START)
    return customer


def sign_up_confirmed(job, first_name, address):
    customer, _ = customers.register(job, customers.CustomerInput(first_name, "Łukasiewicz", address,
                                                                  email_consent=True), "staff", {"email": "ok"},
                                     datetime.now(timezone.utc))
    return customer


def channels_for(job, customer):
    db.session.expire_all()
    return {m.notification.channel for m in scheduling.moments(job, job.profile, START) if m.customer.id == customer.id}


def test_one_click_unsubscribe_stops_emails_on_every_job_of_the_studio(browser, two_jobs):
    first, second = (anna_on(job) for job in two_jobs)
    assert channels_for(two_jobs[1], second) == {"email", "sms"}
    page = text_of(browser.get(f"/u/{first.unsubscribe_token}"))
    assert "Stop emails from Studio Lichtblick?" in page
    # RFC 8058: the mail provider posts without our CSRF token.
    response = browser._request("post", f"/u/{first.unsubscribe_token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "You are unsubscribed" in text_of(response)
    assert channels_for(two_jobs[1], second) == {"sms"}
    assert not db.session.get(Customer, first.id).has_consent("email")
    assert browser.get("/u/not-a-token").status_code == 404


def test_erasure_anonymises_and_suppresses_email_and_phone(as_sam, two_jobs):
    first, second = (anna_on(job) for job in two_jobs)
    confirm = text_of(as_sam.get(f"/jobs/{two_jobs[0].id}/customers/{first.id}/erase"))
    assert "This cannot be undone." in confirm
    assert as_sam.post(f"/jobs/{two_jobs[0].id}/customers/{first.id}/erase").status_code == 302
    db.session.expire_all()
    erased = db.session.get(Customer, first.id)
    assert (erased.first_name, erased.email, erased.phone) == ("Erased", f"erased-{first.id}@invalid", None)
    assert erased.erased_at is not None and len(customers.customers_of(two_jobs[0])) == 1  # the row stays
    assert {(s.channel, s.address, s.reason) for s in db.session.query(Suppression)} == \
        {("email", "anna@example.com", "erased"), ("sms", "+4915123456789", "erased")}
    assert channels_for(two_jobs[1], second) == set()


def test_the_list_is_per_studio(olivia, otto, two_jobs):
    anna = anna_on(two_jobs[0])
    suppression.unsubscribe(anna, START)
    other = jobs.save_job(otto.studio, None, jobs.JobInput(name="Otto's", profile_id=otto.studio.default_profile_id,
                                                           archives_at=date(2026, 6, 1)), None)
    assert "email" in channels_for(other, anna_on(other))


def test_erasure_covers_the_persons_rows_on_every_job_and_cannot_be_undone(as_sam, two_jobs):
    first, second = (anna_on(job) for job in two_jobs)
    as_sam.post(f"/jobs/{two_jobs[0].id}/customers/{first.id}/erase")
    db.session.expire_all()
    assert {db.session.get(Customer, c.id).first_name for c in (first, second)} == {"Erased"}
    response = as_sam.post(f"/jobs/{two_jobs[1].id}/customers/{second.id}", {
        "first_name": "Anna", "last_name": "Schmidt", "email": "anna@example.com", "phone": "", "email_consent": "y"})
    assert response.status_code == 422 and "was erased" in text_of(response)


def test_an_archived_job_sends_nothing(two_jobs):
    anna_on(two_jobs[0])
    jobs.archive_job(two_jobs[0])
    assert scheduling.moments(two_jobs[0], two_jobs[0].profile, START) == []


def test_an_unsubscribe_link_opened_again_offers_to_subscribe_again_after_a_confirmation(app, job, mailbox, browser):
    """Reopening the link says so, and offers the way back: only with a confirmation from the
    person's own inbox, at most one such email an hour, and the consent recorded anew."""
    import email
    import re

    from shutterbell.models import Consent, Message, Suppression

    from .test_outbox import deliver

    start = datetime.now(timezone.utc)
    zoe = sign_up_confirmed(job, "Zoë", "zoe@example.com")
    link = f"/u/{zoe.unsubscribe_token}"
    with time_machine.travel(start, tick=False):
        browser.post(link)
        again = text_of(browser.get(link))
        assert "You are unsubscribed" in again and "Subscribe again" in again
        assert "Check your inbox" in text_of(browser.post(f"{link}/again"))
        assert "Check your inbox" in text_of(browser.post(f"{link}/again"))  # the same answer, no second email
    deliver(start + timedelta(minutes=2))
    assert len(mailbox.received) == 1
    sent = email.message_from_bytes(mailbox.received[0])
    assert sent["To"] == "zoe@example.com" and "again" in sent["Subject"]
    text = sent.get_payload()[0].get_payload(decode=True).decode()
    confirm = re.search(r"https://\S+(/u/\S+/again/\S+)", text).group(1)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Suppression.reason)) == "unsubscribed"  # nothing changes until the click
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        assert "Yes, email me again" in text_of(browser.get(confirm))  # a mail scanner's GET changes nothing
        assert "You get emails again" in text_of(browser.post(confirm))
    db.session.expire_all()
    assert db.session.scalar(sa.select(Suppression)) is None
    newest = db.session.scalars(sa.select(Consent).where(Consent.customer_id == zoe.id, Consent.channel == "email")
                                .order_by(Consent.id.desc())).first()
    assert newest.withdrawn_at is None and "confirmed from the link sent to zoe@example.com" in newest.wording
    assert browser.get(confirm[:-4] + "xxxx").status_code == 404  # a forged proof
    assert [m.status for m in db.session.scalars(sa.select(Message))] == ["sent"]


def test_a_bounced_address_is_not_offered_to_subscribe_again(job, browser):
    zoe = sign_up_confirmed(job, "Zoë", "zoe@example.com")
    suppression.suppress(zoe.studio_id, "email", zoe.email, "bounced", datetime.now(timezone.utc))
    db.session.commit()
    page = text_of(browser.get(f"/u/{zoe.unsubscribe_token}"))
    assert "You are unsubscribed" in page and "Subscribe again" not in page


def test_a_job_reads_only_its_customers_entries_of_the_suppression_list_and_still_skips_them(two_jobs, olivia):
    """Years of bounces and unsubscribes stay out of a job page: what is coming reads the entries of
    the job's customers' addresses, on either channel, whichever job put them on the list."""
    kita, school = two_jobs
    anna = anna_on(kita)
    zoe = sign_up_confirmed(kita, "Zoë", "zoe.wojcik@example.pl")
    for n in range(300):  # other people, over the years
        suppression.suppress(olivia.studio.id, "email", f"ehemalig{n}@example.de", "bounced", START)
    suppression.suppress(olivia.studio.id, "email", "zoe.wojcik@example.pl", "unsubscribed", START)  # on another job
    suppression.suppress(olivia.studio.id, "sms", anna.phone, "stop", START)
    suppression.suppress(olivia.studio.id, "email", anna.email, "unsubscribed", START, marketing_only=True)
    db.session.commit()

    def theirs(job):
        return scheduling._Context(job).suppressed

    assert theirs(kita) == {
        "service": {("email", "zoe.wojcik@example.pl"), ("sms", "+4915123456789")},
        "marketing": {("email", "zoe.wojcik@example.pl"), ("sms", "+4915123456789"), ("email", "anna@example.com")}}
    assert theirs(school) == {"service": set(), "marketing": set()}
    assert channels_for(kita, anna) == {"email"} and channels_for(kita, zoe) == set()

    # The worker reads its batch's recipients' entries alone, and skips the suppressed one.
    made = [Message(studio_id=olivia.studio.id, job_id=kita.id, customer_id=person.id, key=f"oneoff:test:{person.id}",
                    channel="email", category="service", recipient=person.email, subject="Fotos", body="Hallo",
                    due_at=START, status="sending", created_at=START) for person in (anna, zoe)]
    db.session.add_all(made)
    db.session.commit()
    batch = StudioBatch(olivia.studio, outbox.Policy(base_url="https://fotos.example"))
    batch.read_customers(made)
    assert batch.suppressed == {"service": {("email", "zoe.wojcik@example.pl")},
                                "marketing": {("email", "zoe.wojcik@example.pl"), ("email", "anna@example.com")}}
    assert batch.why_not(made[0]) == "" and "unsubscribed" in batch.why_not(made[1]).lower()
