"""Sending limits stretch a large group of messages over time: the replay of the dispatcher's rule
(per minute, per rolling 24 hours) and what the job page and the dry run say about it."""
from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from shutterbell import customers, jobs, mailsettings, profiles
from shutterbell.pacing import spread

from .conftest import Browser, text_of
from .test_scheduling import START, email, make_profile, use

UTC = timezone.utc
T = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_a_daily_limit_spreads_a_group_over_days():
    times = spread([T] * 1000, per_minute=20, per_day=450)
    assert times[:20] == [T] * 20 and times[20] == T + timedelta(minutes=1)
    assert times[449] == T + timedelta(minutes=22) and times[450] == T + timedelta(days=1)
    assert times[-1] == T + timedelta(days=2, minutes=4)


def test_what_already_waits_or_was_sent_goes_first():
    assert spread([T] * 5, per_minute=2, per_day=None, waiting=3, now=T)[-1] == T + timedelta(minutes=3)
    sent_yesterday = [T - timedelta(hours=12)] * 10
    assert spread([T], per_minute=None, per_day=10, sent=sent_yesterday) == [T + timedelta(hours=12)]


def test_no_limits_means_on_time():
    assert spread([T, T + timedelta(hours=1)], None, None) == [T, T + timedelta(hours=1)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=120), st.integers(1, 5), st.integers(1, 40))
def test_no_window_ever_holds_more_than_its_limit(offsets, per_minute, per_day):
    due = [T + timedelta(minutes=m) for m in offsets]
    times = spread(due, per_minute, per_day)
    assert all(at >= moment for at, moment in zip(times, sorted(due)))  # never early
    for at in times:
        assert sum(at - timedelta(minutes=1) < other <= at for other in times) <= per_minute
        assert sum(at - timedelta(days=1) < other <= at for other in times) <= per_day


@pytest.fixture
def job(olivia):
    return jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita", profile_id=None,
                                                           archives_at=date(2026, 4, 2)), None)


def test_the_job_page_and_the_dry_run_say_when_the_last_email_goes(app, sam, olivia, job):
    account = mailsettings.account_of(olivia.studio)
    mailsettings.save_smtp(account, mailsettings.SmtpInput("smtp.example.com", 587, "starttls", "", "", "a@b.example",
                                                           "", "", limit_per_minute=10, limit_per_day=50), True, START)
    use(job, make_profile(olivia.studio, email("days_before_archived", days=7)))
    for n in range(120):
        customers.register(job, customers.CustomerInput(f"C{n}", "X", f"c{n}@example.com", "", email_consent=True,
                                                        marketing_consent=True),
                           "staff", {"email": "ok", "marketing": "offers ok"}, START)
    standard = profiles.list_profiles(olivia.studio)[1]
    with time_machine.travel(START, tick=False):
        as_sam = Browser(app.test_client()).sign_in(sam)
        page = text_of(as_sam.get(f"/jobs/{job.id}/timeline", headers={"HX-Request": "true"}))  # loaded after the job page
        run = text_of(as_sam.post(f"/jobs/{job.id}/dry-run", {"profile_id": str(standard.id)}, htmx=True))
    # 120 emails due Mar 26, 09:00 (Berlin), 50 a day: the last go on Mar 28 at 09:01.
    assert "Sending limits: the last goes about Mar 28, 2026, 9:01:00" in page
    assert "with your sending limits, the last email goes about" in run
