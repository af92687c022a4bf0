"""When messages fall due: the studio's time zone and send times, target groups, consent, and the
rule that a moment which passed before someone signed up is not theirs."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
import sqlalchemy as sa

from shutterbell import customers, jobs, orders, outbox, profiles, scheduling, triggers
from shutterbell.message_keys import MessageKey
from shutterbell.extensions import db
from shutterbell.profiles import NotificationInput, ProfileInput

from .conftest import Browser, mailbox_of, text_of

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GALLERY = "https://fotos.lichtblick.example/kita"
POLICY = outbox.Policy(base_url="https://photos.lichtblick.example")


def make_profile(studio, *items):
    return profiles.save_profile(studio, None, ProfileInput("Test", "", list(items)))


def email(trigger, audience="all", days=None, **extra):
    return NotificationInput(trigger=trigger, days=days, audience=audience, channel="email",
                             subject="Hi", body="Hi {{ customer.first_name }}", **extra)


def sign_up(job, name, at=START, sms=False, confirmed=True, offers=True):
    """A customer who agreed to the job's messages and (unless ``offers`` is False) to offers."""
    customer, _ = customers.register(
        job, customers.CustomerInput(name, "X", f"{mailbox_of(name)}@example.com", "+49 151 23456789" if sms else "",
                                     email_consent=True, sms_consent=sms, marketing_consent=offers),
        "staff" if confirmed else "signup", {"email": "ok", "sms": "ok", "marketing": "offers ok"}, at)
    return customer


@pytest.fixture
def job(olivia):
    return jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita", profile_id=None,
                                                           archives_at=date(2026, 4, 2)), None)


def use(job, profile):
    job.profile_id = profile.id
    db.session.commit()
    db.session.expire(job)


def test_a_date_trigger_falls_at_the_send_time_in_the_studio_zone_across_the_clock_change(olivia, job):
    use(job, make_profile(olivia.studio, email("days_before_archived", days=7)))
    sign_up(job, "Anna")
    moment, = scheduling.moments(job, job.profile, START)
    assert moment.due_at == datetime(2026, 3, 26, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert moment.occurrence == "date:job.archives_at:2026-04-02"
    job.archives_at = date(2026, 4, 6)  # 7 days before is after the switch to summer time
    db.session.commit()
    moment, = scheduling.moments(job, job.profile, START)
    assert moment.due_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert moment.due_at.astimezone(BERLIN).time() == time(9, 0)


def test_send_times_morning_evening_and_a_time_of_day(olivia, job):
    use(job, make_profile(olivia.studio, email("days_before_archived", days=1, send_time="evening"),
                          email("days_before_archived", days=2, send_time="at", send_at=time(12, 15))))
    sign_up(job, "Anna")
    local = sorted(m.due_at.astimezone(BERLIN) for m in scheduling.moments(job, job.profile, START))
    assert local == [datetime(2026, 3, 31, 12, 15, tzinfo=BERLIN), datetime(2026, 4, 1, 18, 0, tzinfo=BERLIN)]


def test_a_time_the_clocks_skip_moves_forward():
    assert scheduling.at_local_time(date(2026, 3, 29), time(2, 30), BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_target_groups_consent_and_confirmation_decide_who_gets_what(olivia, job):
    use(job, make_profile(olivia.studio, email("days_before_archived", "potential_buyers", days=3),
                          email("days_before_archived", "buyers", days=3)))
    sign_up(job, "Anna")
    ben = sign_up(job, "Ben")
    sign_up(job, "Carla", confirmed=False)  # public sign-up, not confirmed yet
    orders.record(job, ben, 1000, START, paid=True)
    got = {(m.customer.first_name, m.notification.audience) for m in scheduling.moments(job, job.profile, START)}
    assert got == {("Anna", "potential_buyers"), ("Ben", "buyers")}


def test_what_is_coming_for_one_customer_is_what_the_whole_job_says_for_them(olivia, job):
    """A customer's row on the job page, opened, and their page work out what is coming for them
    alone (their orders, consents and suppression entries): it must agree with the job-wide reckoning."""
    from shutterbell import suppression
    use(job, make_profile(olivia.studio, email("days_before_archived", "potential_buyers", days=3, category="service"),
                          email("days_before_archived", "buyers", days=3, category="service"),
                          email("days_before_archived", "potential_buyers", days=5, category="marketing"),
                          NotificationInput(trigger="days_before_archived", days=2, audience="all", channel="sms",
                                            category="service", body="Noch 2 Tage, {{ customer.first_name }} 📸")))
    people = [sign_up(job, name, sms=name.startswith("S")) for name in
              ("Anna", "Ben", "Sören", "Łucja", "Émile", "Grüße", "Sandrine")]
    sign_up(job, "Zoë", confirmed=False)
    orders.record(job, people[1], 1250, START, paid=True)  # Ben buys: the buyers' message only
    suppression.unsubscribe(people[3], START, offers_only=True)  # Łucja: no offers
    suppression.unsubscribe(people[4], START)  # Émile: nothing at all
    for consent in people[6].consents:  # Sandrine: no more texts (the staff unticked them)
        consent.withdrawn_at = START if consent.channel == "sms" else None
    db.session.commit()
    whole = {(m.customer.id, m.notification.id, m.due_at) for m in scheduling.coming(job, START)}
    for person in customers.customers_of(job):
        theirs = scheduling.coming_for(job, START, person)
        assert {(m.customer.id, m.notification.id, m.due_at) for _, m in theirs} == {
            entry for entry in whole if entry[0] == person.id}
        assert all(key == scheduling.key_of(job, m) for key, m in theirs)
    assert len(scheduling.coming_for(job, START, people[1])) == 1  # Ben: the buyers' message only
    kinds = {(m.customer.first_name, m.notification.channel, m.notification.audience, m.notification.category)
             for m in scheduling.coming(job, START)}
    assert ("Ben", "email", "buyers", "service") in kinds and ("Ben", "email", "potential_buyers", "marketing") not in kinds
    assert ("Łucja", "email", "potential_buyers", "service") in kinds
    assert ("Łucja", "email", "potential_buyers", "marketing") not in kinds
    assert not {k for k in kinds if k[0] in ("Émile", "Zoë")} and ("Sören", "sms", "all", "service") in kinds
    assert ("Sandrine", "sms", "all", "service") not in kinds and ("Sandrine", "email", "potential_buyers", "service") in kinds


def test_a_moment_that_passed_before_someone_signed_up_is_not_theirs(olivia, job):
    use(job, make_profile(olivia.studio, email("days_before_archived", days=10), email("customer_registered",
                                                                                       "potential_buyers")))
    late = sign_up(job, "Late", at=datetime(2026, 3, 25, tzinfo=UTC))  # after 23 March, 09:00
    got = [(m.notification.trigger, m.customer.id) for m in scheduling.moments(job, job.profile, START)]
    assert got == [("customer_registered", late.id)]


def test_news_that_stays_true_reaches_a_late_sign_up_when_they_confirm(olivia, job):
    """"The photos are online" went out on 12 March; Jürgen confirms on the 20th and gets it then,
    once, while the reminder "3 days after the photos went online" (15 March) is not his."""
    published = datetime(2026, 3, 12, 15, 30, tzinfo=UTC)
    use(job, make_profile(olivia.studio, email("job_published"), email("days_after_published", days=3)))
    sign_up(job, "Anna", at=START)
    jobs.save_job(olivia.studio, job, jobs.JobInput(name="Kita", profile_id=job.profile_id, archives_at=job.archives_at,
                                                    published_at=published, gallery_url=GALLERY), None)
    confirmed = datetime(2026, 3, 20, 18, 5, tzinfo=UTC)
    sign_up(job, "Jürgen", at=confirmed)
    got = [(m.notification.trigger, m.customer.first_name, m.due_at, m.occurrence)
           for m in scheduling.moments(job, job.profile, START)]
    photos_online = f"date:job.published_at:{published.isoformat()}"
    assert got[:2] == [("job_published", "Anna", published, photos_online),
                       ("days_after_published", "Anna", datetime(2026, 3, 15, 8, 0, tzinfo=UTC), got[1][3])]
    assert got[2:] == [("job_published", "Jürgen", confirmed, photos_online)]  # one key: sent once
    assert [n.trigger for n in scheduling.catching_up(job, job.profile, confirmed)] == ["job_published"]
    assert scheduling.catching_up(job, job.profile, published - timedelta(seconds=1)) == []


def test_the_unpaid_reminder_stops_once_the_order_is_paid(olivia, job):
    use(job, make_profile(olivia.studio, email("days_after_order_unpaid", "buyers", days=3)))
    anna = sign_up(job, "Anna")
    order, _ = orders.record(job, anna, 4890, START, paid=False)
    moment, = scheduling.moments(job, job.profile, START)
    assert moment.occurrence == f"order:{order.id}" and moment.due_at == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    orders.mark_paid(order, START + timedelta(days=1))
    assert scheduling.moments(job, job.profile, START) == []


def test_each_voucher_is_its_own_occurrence(olivia, job):
    use(job, make_profile(olivia.studio, email("days_before_voucher_expires", "potential_buyers", days=2)))
    jobs.save_job(olivia.studio, job, jobs.JobInput(name="Kita", profile_id=job.profile_id, archives_at=job.archives_at,
                                                    vouchers=[jobs.VoucherInput("A", "5 €", date(2026, 3, 20)),
                                                              jobs.VoucherInput("B", "10 €", date(2026, 3, 27))]), None)
    sign_up(job, "Anna")
    due = [m.due_at.astimezone(BERLIN).date() for m in scheduling.moments(job, job.profile, START)]
    assert due == [date(2026, 3, 18), date(2026, 3, 25)]


def test_the_job_page_shows_the_timeline_and_the_dry_run(app, sam, olivia, job):
    standard = profiles.list_profiles(olivia.studio)[1]
    use(job, make_profile(olivia.studio, email("days_before_archived", days=7)))
    anna = sign_up(job, "Anna")
    with time_machine.travel(START, tick=False):
        as_sam = Browser(app.test_client()).sign_in(sam)  # sessions signed "in the future" are refused
        page = text_of(as_sam.get(f"/jobs/{job.id}"))
        assert "What this job will send" in page and f'hx-get="/jobs/{job.id}/timeline" hx-trigger="load"' in page
        timeline = text_of(as_sam.get(f"/jobs/{job.id}/timeline", headers={"HX-Request": "true"}))  # loaded after the page
        assert timeline.lstrip().startswith('<div id="timeline-table">') and "7 days before the job is archived" in timeline
        assert "Mar 26, 2026, 9:00:00" in timeline  # shown in the studio's time zone
        without_script = text_of(as_sam.get(f"/jobs/{job.id}/timeline"))
        assert "<html" in without_script and "Mar 26, 2026, 9:00:00" in without_script
        theirs = f"/jobs/{job.id}/customers/{anna.id}"
        assert f'<details hx-get="{theirs}/coming" hx-trigger="toggle once"' in page  # drawn when her row opens
        assert "7 days before the job is archived" not in page.split('id="customers"')[1]
        coming = text_of(as_sam.get(f"{theirs}/coming", headers={"HX-Request": "true"}))
        assert coming.lstrip().startswith('<ul class="coming">')
        assert "Email · 7 days before the job is archived" in coming  # each customer's list names the message
        assert as_sam.get(f"{theirs}/coming").headers["Location"] == f"{theirs}#coming"  # without script: her page
        her_page = text_of(as_sam.get(theirs))
        assert "Coming messages" in her_page and "Email · 7 days before the job is archived" in her_page
        run = text_of(as_sam.post(f"/jobs/{job.id}/dry-run", {"profile_id": str(standard.id)}, htmx=True))
    assert "Dry run:" in run and "to 1 customer" in run and "Nothing changes until you save." in run
    db.session.expire_all()
    assert job.profile_id != standard.id


# ---- the three readers of the catalogue agree: the timeline, the pass and the send-time check ------

def still_wanted(rows) -> list[str]:
    """The worker's check at send time, for each row: "" where it would send it."""
    from shutterbell.outbox.studio_batch import StudioBatch
    from shutterbell.models import Studio

    reasons = []
    for row in rows:
        batch = StudioBatch(db.session.get(Studio, row.studio_id), POLICY)
        batch.read_customers([row])
        reasons.append(batch.why_not(row))
    return reasons


def test_the_scheduler_pass_makes_exactly_the_moments_the_timeline_shows(olivia, otto):
    """One rich job (every trigger of the catalogue, both channels, each audience, orders paid,
    unpaid and cancelled, a voucher, a late sign-up, an unconfirmed one, an unsubscribed one) and
    a second studio's job; over several windows, the rows a pass makes are exactly ``moments``'s
    (windows share their edges, as passes overlap: the unique key makes an edge moment once),
    and the worker's check at send time would send each of them."""
    from shutterbell import materialise, suppression
    from shutterbell.models import Customer, Message, Notification

    studio = olivia.studio
    job = jobs.save_job(studio, None, jobs.JobInput(
        name="Kita", profile_id=None, shoot_date=date(2026, 3, 10), order_deadline=date(2026, 3, 28),
        archives_at=date(2026, 4, 2), published_at=datetime(2026, 3, 12, 15, 30, tzinfo=UTC), gallery_url=GALLERY,
        vouchers=[jobs.VoucherInput("SPRING", "15 %", date(2026, 3, 31))]), None)
    sms = dict(channel="sms", subject="")
    use(job, make_profile(studio,
                          email("customer_registered", audience="potential_buyers"),
                          email("days_after_shoot", days=1),
                          email("days_before_archived", days=7, send_time="morning"),
                          NotificationInput(trigger="days_before_archived", days=2, audience="all", body="Bald weg",
                                            **sms),
                          email("job_published"), email("days_after_published", days=3, audience="potential_buyers"),
                          email("order_placed", audience="buyers"), email("days_after_order", days=5, audience="buyers"),
                          email("days_after_order_unpaid", days=3, audience="buyers"),
                          email("days_before_voucher_expires", days=2),
                          email("days_before_order_deadline", days=2, audience="potential_buyers"),
                          email("days_before_shoot", days=1)))
    assert {n.trigger for n in job.profile.notifications} == {
        key for key, trigger in triggers.CATALOGUE.items() if trigger.reaches_customers}  # invoices: their own test
    people = [sign_up(job, name, at=START + timedelta(days=i, hours=i), sms=i % 2 == 0)
              for i, name in enumerate(["Anna", "Ben", "Cleo", "Dora", "Emil"])]
    sign_up(job, "Late", at=datetime(2026, 3, 29, 10, 0, tzinfo=UTC))  # after the archive reminder
    sign_up(job, "Pending", at=START, confirmed=False)
    suppression.unsubscribe(people[4], START)
    orders.record(job, people[0], 4890, datetime(2026, 3, 13, 9, 0, tzinfo=UTC), paid=True)
    orders.record(job, people[1], 1200, datetime(2026, 3, 14, 22, 30, tzinfo=UTC), paid=False)
    cancelled, _ = orders.record(job, people[2], 900, datetime(2026, 3, 15, 8, 0, tzinfo=UTC), paid=False)
    orders.cancel(cancelled, datetime(2026, 3, 16, 8, 0, tzinfo=UTC))
    other = jobs.save_job(otto.studio, None, jobs.JobInput(name="Nebenan", profile_id=None,
                                                           archives_at=date(2026, 4, 2)), None)
    use(other, make_profile(otto.studio, email("days_before_archived", days=7)))
    sign_up(other, "Otto", at=START)

    edges = [START - timedelta(days=1), datetime(2026, 3, 12, 0, 0, tzinfo=UTC),
             datetime(2026, 3, 20, 0, 0, tzinfo=UTC), datetime(2026, 3, 26, 7, 0, tzinfo=UTC),
             datetime(2026, 4, 10, 0, 0, tzinfo=UTC)]
    expected_total = 0
    for since, until in zip(edges, edges[1:]):
        before = {row.key for row in db.session.scalars(sa.select(Message))}
        expected = {(m.notification.id, m.customer.id, job_.id, m.occurrence, m.due_at)
                    for job_ in (job, other) for m in scheduling.moments(job_, job_.profile, since)
                    if m.due_at <= until and scheduling.key_of(job_, m) not in before}
        made = materialise.make_due(materialise.Pass(since, until, since - timedelta(days=365), "late"))
        db.session.commit()
        rows = [row for row in db.session.scalars(sa.select(Message)) if row.key not in before]
        got = {(r.notification_id, r.customer_id, r.job_id, MessageKey.parse(r.key).occurrence, r.due_at) for r in rows}
        assert got == expected, (since, got ^ expected)
        assert made == len(rows)
        sendable = [row for row in rows if row.status == "scheduled"]
        assert still_wanted(sendable) == [""] * len(sendable)
        expected_total += len(expected)
    assert expected_total >= 25  # the scenario does exercise the rules
    late = db.session.scalar(sa.select(Message).join(Message.customer).join(Message.notification).where(
        Customer.first_name == "Late", Notification.trigger == "job_published"))
    assert late.due_at == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)  # the photos' news, on confirming
    # The whole span again: the unique key drops every row, and none is counted as made.
    assert materialise.make_due(materialise.Pass(edges[0], edges[-1], edges[0] - timedelta(days=365), "late")) == 0


STOPS = [(trigger, stop) for trigger in triggers.CATALOGUE.values() for stop in trigger.stops
         if trigger.reaches_customers]  # an invoice's: tests/test_invoice_messages.py


@pytest.mark.parametrize("trigger, stop", STOPS, ids=[f"{t.key}-{s.attribute}" for t, s in STOPS])
def test_what_stops_a_trigger_stops_it_in_all_three_readers(olivia, job, trigger, stop):
    """Once its subject is (say) paid, a message of the trigger leaves the timeline, the pass makes
    none, and one made before is skipped at send time with the catalogue's reason."""
    from shutterbell import materialise
    from shutterbell.models import Message

    assert trigger.occurrence is triggers.Occurrence.ORDER, "a stop on a new kind of subject: make one here"
    use(job, make_profile(olivia.studio, email(trigger.key, "buyers", days=2 if trigger.takes_days else None)))
    anna = sign_up(job, "Anna")
    orders.record(job, anna, 1500, START - timedelta(days=30), paid=True)  # a buyer still, whatever happens below
    subject, _ = orders.record(job, anna, 4890, START + timedelta(hours=1), paid=False)
    moment, = scheduling.moments(job, job.profile, START)
    window = materialise.Pass(START, moment.due_at, START - timedelta(days=365), "late")
    assert materialise.make_due(window) == 1
    db.session.commit()
    made = db.session.scalar(sa.select(Message))
    assert still_wanted([made]) == [""]

    setattr(subject, stop.attribute, START + timedelta(hours=2))
    db.session.commit()
    assert scheduling.moments(job, job.profile, START) == []
    assert still_wanted([made]) == [str(stop.reason)]
    db.session.delete(made)
    db.session.commit()
    assert materialise.make_due(window) == 0

