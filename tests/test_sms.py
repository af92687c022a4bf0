"""Text messages: the SMS provider settings with their connection test, and the worker sending
texts through a Twilio-compatible API (a local stand-in that records requests: the one outside
service that cannot run here), with quiet hours, STOP replies and account failures."""
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from shutterbell import customers, jobs, outbox
from shutterbell.channels import sms
from shutterbell.extensions import db
from shutterbell.models import Message, SmsAccount, Suppression
from shutterbell.profiles import NotificationInput

from .conftest import mailbox_of, text_of
from .smsserver import ACCOUNT_SID, NUMBER, TOKEN
from .test_scheduling import make_profile, use

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 11:00 in Berlin


def sms_form(**overrides):
    values = {"account_sid": ACCOUNT_SID, "token": TOKEN, "from_number": NUMBER, "quiet_start": "21:00",
              "quiet_end": "08:00", **overrides}
    return {f"sms-{name}": value for name, value in values.items()}


def saved(olivia) -> SmsAccount | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(SmsAccount).where(SmsAccount.studio_id == olivia.studio_id))


# ---- settings -----------------------------------------------------------------------------------

def test_test_connection_signs_in_and_checks_the_sending_number(as_olivia, olivia, sms_provider):
    response = as_olivia.post("/settings/email/sms/test", sms_form(from_number="+1 501 712-2661"), htmx=True)
    page = text_of(response)
    assert response.status_code == 200 and "Connection works: nothing was sent." in page
    assert "Sign in" in page and "Sending number belongs to the account" in page and NUMBER in page
    assert '<section id="sms"' in page and saved(olivia) is None
    assert sms_provider[0].sent == []


@pytest.mark.parametrize("overrides, cause_words", [
    ({"token": "wrong"}, "account SID or the auth token"),
    ({"from_number": "+15005550006"}, "will not send from this number"),
])
def test_each_mistake_is_explained(as_olivia, sms_provider, overrides, cause_words):
    page = text_of(as_olivia.post("/settings/email/sms/test", sms_form(**overrides), htmx=True))
    assert "The test failed" in page and cause_words in page
    assert "wrong" not in page.split('id="sms-outcome"')[1].split("</form>")[0].replace("wrong number", "")


def test_an_unreachable_provider_is_a_connection_problem(configure, as_olivia, app, monkeypatch):
    from .mailservers import free_port
    configure(sms_gateway="twilio", sms_api_url=f"http://127.0.0.1:{free_port()}")
    page = text_of(as_olivia.post("/settings/email/sms/test", sms_form(), htmx=True))
    assert "The test failed" in page and "The SMS provider's server does not answer" in page.replace("&#39;", "'")
    assert "SMTP: 587" not in page  # the SMS section has no port to check


def test_a_provider_name_that_does_not_resolve_says_so_without_the_email_hints(as_olivia, configure):
    configure(sms_gateway="twilio", sms_api_url="http://sms-provider.invalid")
    page = text_of(as_olivia.post("/settings/email/sms/test", sms_form(), htmx=True))
    assert "The test failed" in page and "SMS_API_URL may be wrong" in page
    assert "pick your provider from the list" not in page  # the SMS section has no such list


def test_saving_seals_the_token_and_keeps_it_when_left_empty(as_olivia, olivia, sms_provider):
    assert as_olivia.post("/settings/email/sms", sms_form()).status_code == 302
    account = saved(olivia)
    assert TOKEN not in account.credentials and sms.kept_token(account, ACCOUNT_SID) == TOKEN
    assert (account.quiet_start, account.quiet_end, account.checked_at is not None) == (time(21), time(8), True)
    page = text_of(as_olivia.get("/settings/email/"))
    assert TOKEN not in page and "Saved. Leave empty to keep it." in page
    response = as_olivia.post("/settings/email/sms", sms_form(token="", quiet_start="22:00"))
    assert response.status_code == 302 and saved(olivia).quiet_start == time(22)
    assert sms.kept_token(saved(olivia), ACCOUNT_SID) == TOKEN
    other = as_olivia.post("/settings/email/sms", sms_form(account_sid="AC99", token=""))
    assert other.status_code == 422 and "Enter the auth token for this account." in text_of(other)


def test_a_sender_must_be_a_number_or_a_short_name(as_olivia, sms_provider):
    response = as_olivia.post("/settings/email/sms", sms_form(from_number="Studio Lichtblick Berlin"))
    assert response.status_code == 422 and "international format" in text_of(response)


def test_staff_cannot_change_sms_settings(as_sam, sms_provider):
    assert as_sam.post("/settings/email/sms/test", sms_form()).status_code == 403


# ---- sending ------------------------------------------------------------------------------------

# The texts go to the stand-in provider: the sms_provider fixture points the instance settings at it.
POLICY = outbox.Policy(base_url="https://photos.lichtblick.example", lease=timedelta(seconds=30))


@pytest.fixture
def texting(olivia, sms_provider):
    """A saved, working SMS account and a job whose profile texts every customer on sign-up."""
    sms.save(sms.account_of(olivia.studio), sms.SmsInput(ACCOUNT_SID, TOKEN, NUMBER, time(21), time(8)), True, T0)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita", profile_id=None, archives_at=date(2026, 4, 2)),
                        None)
    use(job, make_profile(olivia.studio, NotificationInput(
        trigger="customer_registered", days=None, audience="potential_buyers", channel="sms", subject="",
        body="Hi {{ customer.first_name }}, your photos of {{ job.name }} are online.")))
    return job, sms_provider[0], POLICY


def sign_up(job, name, phone, at):
    customer, _ = customers.register(
        job, customers.CustomerInput(name, "X", f"{mailbox_of(name)}@example.com", phone, email_consent=True,
                                     sms_consent=True), "staff", {"email": "ok", "sms": "ok"}, at)
    return customer


def deliver(now, policy):
    batches = []
    outbox.schedule(now, policy)
    outbox.dispatch(now, policy, lambda ids, at_front: batches.append(ids))
    for batch in batches:
        outbox.send_batch(batch, policy, clock=lambda: now)
    return batches


def texts():
    db.session.rollback()  # only what was committed: a worker's job ends with its process
    return {m.recipient: m for m in db.session.scalars(sa.select(Message).where(Message.channel == "sms"))}


def test_a_text_goes_through_the_provider_once(texting):
    job, provider, rules = texting
    sign_up(job, "Anna", "+49 151 11111111", T0)
    deliver(T0 + timedelta(minutes=1), rules)
    deliver(T0 + timedelta(minutes=2), rules)
    assert provider.sent == [{"From": NUMBER, "To": "+4915111111111",
                              "Body": "Hi Anna, your photos of Kita are online."}]
    anna = texts()["+4915111111111"]
    assert anna.status == "sent" and anna.message_id == "SM" + "0" * 31 + "1"  # the provider's id


def test_the_log_gateway_sends_nothing_and_says_so(texting, configure, as_olivia, caplog):
    """SMS_BACKEND=log (development): the page says nothing is sent, the test passes without any
    provider, and a text is written to the worker's log and marked sent."""
    job, provider, rules = texting
    configure(sms_gateway="log", sms_api_url="http://127.0.0.1:9")  # nothing listens there
    page = text_of(as_olivia.get("/settings/email/"))
    assert "This instance only writes texts to its log (SMS_BACKEND=log): nothing is sent." in page
    result = text_of(as_olivia.post("/settings/email/sms/test", sms_form(from_number="+4930 1234567"), htmx=True))
    assert "Connection works: nothing was sent." in result
    sign_up(job, "Zoë", "+49 151 11111111", T0)
    with caplog.at_level("INFO", logger="shutterbell.channels.sms_log"):
        deliver(T0 + timedelta(minutes=1), rules)
    zoe = texts()["+4915111111111"]
    assert zoe.status == "sent" and zoe.message_id.startswith("LOG") and provider.sent == []
    assert "Hi Zoë, your photos of Kita are online." in caplog.text


def test_texts_wait_for_the_end_of_the_quiet_hours(texting):
    job, provider, rules = texting
    night = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    sign_up(job, "Anna", "+49 151 11111111", night)
    assert deliver(night + timedelta(minutes=1), rules) == []
    assert deliver(datetime(2026, 3, 3, 6, 59, tzinfo=UTC), rules) == []  # 07:59
    assert texts()["+4915111111111"].status == "scheduled"
    deliver(datetime(2026, 3, 3, 7, 0, tzinfo=UTC), rules)  # 08:00: not late, just waited
    assert texts()["+4915111111111"].status == "sent" and len(provider.sent) == 1


def test_a_stop_reply_fails_that_text_and_suppresses_the_number(texting, olivia):
    job, provider, rules = texting
    provider.failures["+4915122222222"] = (400, 21610, "Attempt to send to unsubscribed recipient")
    sign_up(job, "Anna", "+49 151 11111111", T0)
    sign_up(job, "Ben", "+49 151 22222222", T0)
    deliver(T0 + timedelta(minutes=1), rules)
    sent = texts()
    assert sent["+4915111111111"].status == "sent"
    ben = sent["+4915122222222"]
    assert (ben.status, ben.cause) == ("failed", "sms_recipient_unsubscribed") and "21610" in ben.last_error
    stop = db.session.scalar(sa.select(Suppression).where(Suppression.address == "+4915122222222"))
    assert (stop.channel, stop.reason, stop.studio_id) == ("sms", "stop", olivia.studio_id)


def test_a_revoked_token_pauses_texts_shows_the_banner_and_loses_nothing(texting, as_olivia, olivia):
    job, provider, rules = texting
    provider.token = "rotated-at-the-provider"
    sign_up(job, "Anna", "+49 151 11111111", T0)
    sign_up(job, "Ben", "+49 151 22222222", T0)
    deliver(T0 + timedelta(minutes=1), rules)
    assert {m.status for m in texts().values()} == {"scheduled"}
    assert all(m.attempts == 0 for m in texts().values())
    assert saved(olivia).failure_cause == "sms_auth_failed"
    page = text_of(as_olivia.get("/"))
    assert "Text messages:" in page and "texts are paused since" in page
    assert "Texts are paused since" in text_of(as_olivia.get("/settings/email/")).split('id="sms"')[1]
    assert deliver(T0 + timedelta(minutes=5), rules) == []  # paused: nothing handed out
    provider.token = TOKEN
    as_olivia.post("/settings/email/sms/test", sms_form(token=""), htmx=True)  # a passing test of the saved settings
    assert saved(olivia).failing_since is None and "Text messages:" not in text_of(as_olivia.get("/"))
    deliver(T0 + timedelta(minutes=6), rules)
    assert {m.status for m in texts().values()} == {"sent"} and len(provider.sent) == 2


def test_a_provider_outage_is_retried(texting):
    job, provider, rules = texting
    provider.down = True
    sign_up(job, "Anna", "+49 151 11111111", T0)
    deliver(T0 + timedelta(minutes=1), rules)
    anna = texts()["+4915111111111"]
    assert (anna.status, anna.cause) == ("scheduled", "temporary_server_error") and anna.next_attempt_at
    provider.down = False
    deliver(T0 + timedelta(minutes=10), rules)
    assert texts()["+4915111111111"].status == "sent"


def test_quiet_hours_may_run_over_midnight_or_not_at_all():
    berlin = "Europe/Berlin"
    at = lambda h, m=0: datetime(2026, 7, 1, h - 2, m, tzinfo=UTC)  # noqa: E731 (summer time: UTC+2)
    assert sms.in_quiet_hours(at(23), berlin, time(21), time(8))
    assert sms.in_quiet_hours(at(7, 59), berlin, time(21), time(8))
    assert not sms.in_quiet_hours(at(8), berlin, time(21), time(8))
    assert sms.in_quiet_hours(at(13), berlin, time(12), time(14))
    assert not sms.in_quiet_hours(at(23), berlin, time(8), time(8))


def test_a_text_whose_answer_never_came_is_failed_not_sent_twice(texting, monkeypatch):
    job, provider, rules = texting
    monkeypatch.setattr(sms, "SEND_TIMEOUT", 0.5)
    provider.slow.add("+4915111111111")
    sign_up(job, "Anna", "+49 151 11111111", T0)
    deliver(T0 + timedelta(minutes=1), rules)
    anna = texts()["+4915111111111"]
    assert (anna.status, anna.cause) == ("failed", "sms_outcome_unknown")
    deliver(T0 + timedelta(minutes=30), rules)
    assert len(provider.sent) == 1  # taken once by the provider, and never resent by the app


def test_texts_handed_over_before_the_quiet_hours_wait_if_sent_after_they_began(texting):
    job, provider, rules = texting
    evening = datetime(2026, 3, 2, 19, 59, tzinfo=UTC)  # 20:59 in Berlin
    sign_up(job, "Anna", "+49 151 11111111", evening - timedelta(minutes=1))
    outbox.schedule(evening, rules)
    batches = []
    outbox.dispatch(evening, rules, lambda ids, at_front: batches.append(ids))
    assert len(batches) == 1
    late = evening + timedelta(minutes=2)  # the worker claims it at 21:01
    outbox.send_batch(batches[0], rules, clock=lambda: late)
    anna = texts()["+4915111111111"]
    assert (anna.status, anna.attempts) == ("scheduled", 0) and provider.sent == []


def test_texts_due_without_an_sms_account_are_skipped_not_saved_up(olivia, sms_provider, as_sam):
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita", profile_id=None, archives_at=date(2026, 4, 2)),
                        None)
    use(job, make_profile(olivia.studio, NotificationInput(
        trigger="customer_registered", days=None, audience="potential_buyers", channel="sms", subject="",
        body="Hi {{ customer.first_name }}")))
    sign_up(job, "Anna", "+49 151 11111111", T0)
    deliver(T0 + timedelta(minutes=1), POLICY)
    anna = texts()["+4915111111111"]
    assert anna.status == "skipped" and "No text message account" in anna.last_error
    # The outbox does not present it as a text still to be written and sent.
    listed = text_of(as_sam.get("/outbox/"))
    assert "(not written)" in listed and "(written when it is sent)" not in listed
    shown = text_of(as_sam.get(f"/outbox/{anna.id}"))
    assert "Nothing: this message was not written, as it was not sent." in shown and "sms-bubble" not in shown
    # Setting up an account later does not send months-old texts.
    sms.save(sms.account_of(olivia.studio), sms.SmsInput(ACCOUNT_SID, TOKEN, NUMBER, time(21), time(8)), True, T0)
    deliver(T0 + timedelta(minutes=2), POLICY)
    assert sms_provider[0].sent == []


def test_the_owner_disconnects_the_sms_account(as_olivia, olivia, sms_provider):
    as_olivia.post("/settings/email/sms", sms_form())
    assert "Disconnect" in text_of(as_olivia.get("/settings/email/"))
    assert as_olivia.post("/settings/email/sms/remove").status_code == 302
    assert saved(olivia) is None
    page = text_of(as_olivia.get("/settings/email/"))
    assert "The SMS account is removed." in page and "Disconnect" not in page


def test_an_unknown_sms_gateway_stops_the_app_from_starting(app):
    from app import create_app
    from shutterbell.config import ConfigError

    with pytest.raises(ConfigError, match="SMS_BACKEND must be one of twilio, log"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SMS_BACKEND": "carrier-pigeon"})


def test_another_sms_account_saved_untested_has_no_successful_test_yet(olivia):
    account = sms.save(sms.account_of(olivia.studio), sms.SmsInput(ACCOUNT_SID, TOKEN, NUMBER, time(21), time(8)),
                       True, T0)
    assert account.checked_at == T0
    sms.save(account, sms.SmsInput(ACCOUNT_SID, "", NUMBER, time(22), time(7)), False, T0)  # quiet hours only
    assert account.checked_at == T0
    sms.save(account, sms.SmsInput("AC" + "b" * 32, "other-token-ł", NUMBER, time(22), time(7)), False, T0)
    assert account.checked_at is None
