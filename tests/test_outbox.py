"""The outbox end to end, in-process: a scheduler pass makes each due message once, the
dispatcher hands out batches, the worker's send path delivers them through the studio's SMTP
account (aiosmtpd with STARTTLS and AUTH) and records each outcome on its own."""
import email
import email.policy
import re
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from rq import Queue

from shutterbell import (accounts, alerts, customers, diagnostics, jobs, mailsettings, materialise, messages, outbox,
                         queue, suppression, tasks)
from shutterbell.extensions import db
from shutterbell.models import Alert, Customer, MailAccount, MailProblem, Message, SchedulerPass
from shutterbell.channels.email import SmtpSession
from shutterbell.outbox.sending import RefusedInARow
from shutterbell.outbox.studio_batch import StudioBatch
from shutterbell.profiles import NotificationInput

from .conftest import text_of
from .mailservers import PASSWORD, SENDER, USERNAME, free_port
from .test_scheduling import email as email_notification
from .test_scheduling import make_profile, sign_up, use

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = outbox.Policy(base_url="https://photos.lichtblick.example", lease=timedelta(seconds=30),
                       reenqueue_after=timedelta(seconds=60))


@pytest.fixture
def mailbox(configure, server, app, certificate, monkeypatch):
    configure(mail_ca_file=str(certificate[0]))
    configure(base_url=POLICY.base_url)
    return server[0]


@pytest.fixture
def account(olivia, server, mailbox):
    given = mailsettings.SmtpInput("127.0.0.1", server[1], "starttls", USERNAME, PASSWORD, SENDER,
                                   "Studio Lichtblick", "hello@lichtblick.example")
    return mailsettings.save_smtp(mailsettings.account_of(olivia.studio), given, True, T0)


@pytest.fixture
def job(olivia, account):
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Sonnenschein", profile_id=None,
                                                           archives_at=date(2026, 4, 2)), None)
    use(job, make_profile(olivia.studio, email_notification("customer_registered", audience="potential_buyers"),
                          email_notification("days_before_archived", days=7)))
    return job


def run_pass(now):
    """One cron tick: make, sweep, hand out; returns the batches a worker would get."""
    batches = []
    outbox.schedule(now, POLICY)
    outbox.sweep(now, POLICY)
    outbox.dispatch(now, POLICY, lambda ids, at_front: batches.append(ids))
    return batches


def deliver(now):
    for batch in run_pass(now):
        outbox.send_batch(batch, POLICY, clock=lambda: now)


def statuses():
    db.session.rollback()  # only what was committed: a worker's job ends with its process
    return {(m.recipient, m.status) for m in db.session.scalars(sa.select(Message))}


def test_each_due_message_is_made_once_and_sent_once_with_its_headers(job, mailbox):
    anna, ben = sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    deliver(T0 + timedelta(minutes=1))
    deliver(T0 + timedelta(minutes=2))  # a second pass makes and sends nothing more
    assert statuses() == {("anna@example.com", "sent"), ("ben@example.com", "sent")}
    assert len(mailbox.received) == 2
    sent = email.message_from_bytes(mailbox.received[0])
    row = db.session.scalar(sa.select(Message).where(Message.recipient == sent["To"]))
    assert sent["Message-ID"] == row.message_id and sent["From"] == f"Studio Lichtblick <{SENDER}>"
    assert sent["Reply-To"] == "hello@lichtblick.example"
    token = anna.unsubscribe_token if sent["To"] == anna.email else ben.unsubscribe_token
    assert sent["List-Unsubscribe"] == f"<https://photos.lichtblick.example/u/{token}>"
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in sent.walk()][1:] == ["text/plain", "text/html"]
    assert sent.get_payload()[0].get_payload(decode=True).decode() == row.body == f"Hi {sent['To'][0].upper()}" \
        + sent["To"].split("@")[0][1:]


def test_a_date_trigger_is_sent_on_its_day_at_the_send_time(job, mailbox):
    sign_up(job, "Anna", at=T0)
    deliver(T0 + timedelta(minutes=1))
    due = datetime(2026, 3, 26, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, 7 days before archiving
    deliver(due - timedelta(minutes=1))
    assert len(mailbox.received) == 1
    deliver(due + timedelta(seconds=30))
    assert len(mailbox.received) == 2


def test_a_poison_batch_fails_its_two_bad_messages_alone_and_sends_the_rest_once(olivia, account, mailbox):
    """One recipient refused for good (554), one message that cannot be written (the subject
    grows past its limit with this customer's long name): each fails once with its reason, the
    others go out once, and later passes send nothing more."""
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=None), None)
    subject = "Fotos " + "{{ customer.first_name }} " * 7
    use(job, make_profile(olivia.studio, NotificationInput(trigger="customer_registered", days=None,
                                                           audience="potential_buyers", channel="email",
                                                           subject=subject, body="Hi {{ customer.first_name }}")))
    for name in ("Anna", "Ben", "Cleo"):
        sign_up(job, name, at=T0)
    long_names = customers.CustomerInput("Dora " + "Magdalena " * 5, "von " + "Hohenzollern" * 4, "dora@example.com",
                                         "", email_consent=True)
    customers.register(job, long_names, "staff", {"email": "ok"}, T0)
    mailbox.rcpt_replies["ben@example.com"] = ["554 5.7.1 <ben@example.com>: Recipient address rejected: Access denied"]
    for minutes in (1, 10, 120):
        deliver(T0 + timedelta(minutes=minutes))
    assert statuses() == {("anna@example.com", "sent"), ("ben@example.com", "failed"),
                          ("cleo@example.com", "sent"), ("dora@example.com", "failed")}
    assert sorted(email.message_from_bytes(m)["To"] for m in mailbox.received) == ["anna@example.com",
                                                                                  "cleo@example.com"]
    failed = {m.recipient: m for m in db.session.scalars(sa.select(Message).where(Message.status == "failed"))}
    assert failed["dora@example.com"].cause == "render_error" and "subject" in failed["dora@example.com"].last_error
    assert "Access denied" in failed["ben@example.com"].last_error
    assert [m.attempts for m in failed.values()] == [1, 1]


def test_a_batch_run_twice_sends_nothing_twice(job, mailbox):
    sign_up(job, "Anna", at=T0)
    batch, = run_pass(T0 + timedelta(minutes=1))
    assert outbox.send_batch(batch, POLICY, clock=lambda: T0) == {"sent": 1}
    assert outbox.send_batch(batch, POLICY, clock=lambda: T0) == {}  # the claim decides, not the job
    assert len(mailbox.received) == 1


def test_a_refused_recipient_fails_alone_with_its_hint(job, mailbox):
    sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    mailbox.rcpt_replies["ben@example.com"] = ["550 5.1.1 <ben@example.com>: Recipient address rejected: User unknown"]
    deliver(T0 + timedelta(minutes=1))
    assert statuses() == {("anna@example.com", "sent"), ("ben@example.com", "failed")}
    ben = db.session.scalar(sa.select(Message).where(Message.recipient == "ben@example.com"))
    assert ben.cause == "mailbox_unavailable" and "User unknown" in ben.last_error and ben.attempts == 1


def test_a_message_refused_for_its_size_at_mail_from_fails_alone_and_never_pauses_sending(job, mailbox, account,
                                                                                         as_olivia):
    """A server that advertises SIZE refuses a message too big for it at MAIL FROM, before any
    recipient: that message fails with its reason and what to do; the account is fine, so nothing
    pauses."""
    sign_up(job, "Zoë", at=T0).email = "zoe@example.com"  # (her name in the email, her address plain ASCII)
    mailbox.size_limit = 500  # the welcome email, with its HTML part, is larger
    deliver(T0 + timedelta(minutes=1))
    zoe = db.session.scalar(sa.select(Message))
    assert (zoe.status, zoe.cause, zoe.last_error) == ("failed", "message_refused", "552 5.3.4 Message size exceeds fixed limit")
    assert db.session.get(MailAccount, account.id).smtp_failing_since is None  # no pause, no banner
    assert "The server refused this one message for what it holds" in text_of(as_olivia.get("/outbox/?status=failed"))
    mailbox.size_limit = None
    sign_up(job, "Łukasz", at=T0 + timedelta(minutes=2)).email = "lukasz@example.com"
    deliver(T0 + timedelta(minutes=3))  # the next message goes out as ever
    assert statuses() == {("zoe@example.com", "failed"), ("lukasz@example.com", "sent")}


UNREAD_REFUSAL = "550 5.7.1 <{address}>: Zustellung abgelehnt (Richtlinie ÜX-17), Vorgang {queue_id}"
UNREAD_AT_DATA = "554 5.7.1 Nachricht nicht angenommen: Absenderprüfung für lichtblick.example fehlgeschlagen"


def refuse_everyone(mailbox, customers_, phase):
    """A provider that refuses every message in words we cannot read, at RCPT or after DATA."""
    if phase == "data":
        mailbox.data_reply = UNREAD_AT_DATA
    for number, customer in enumerate(customers_):
        mailbox.rcpt_replies[customer.email] = [UNREAD_REFUSAL.format(address=customer.email, queue_id=f"4F2A{number}C")]
    return lambda: (mailbox.rcpt_replies.clear(), setattr(mailbox, "data_reply", None))


@pytest.mark.parametrize("phase", ["rcpt", "data"])
def test_the_same_unread_refusal_for_a_second_customer_pauses_sending_and_loses_nothing(job, mailbox, account,
                                                                                      as_olivia, phase):
    """Words we cannot read fail one message (they may be about its customer); the same words for
    the next customer too are about the account (an SPF or DMARC check, a block): sending pauses
    after the second and the first goes back, its failure never told. The owner mends the cause,
    Test connection resumes sending, and all go out once. Once per wording: resumed, the same
    words fail one message at a time."""
    customers_ = [sign_up(job, name, at=T0) for name in ("Zoë", "Łukasz", "Jürgen")]
    for customer, address in zip(customers_, ("zoe@example.com", "lukasz@example.com", "juergen@example.com")):
        customer.email = address
    alerts.raise_alert(job.studio_id, "failed", "A message to françoise@example.fr failed for good: 550 5.1.1",
                       "/outbox/999", now=T0)  # an earlier failure, unread: it stays as it was
    db.session.commit()
    heal = refuse_everyone(mailbox, customers_, phase)
    batch, = run_pass(T0 + timedelta(minutes=1))
    assert outbox.send_batch(batch, POLICY, clock=lambda: T0 + timedelta(minutes=1)) == {"paused": 3}
    assert {status for _, status in statuses()} == {"scheduled"} and not mailbox.received
    assert {m.attempts for m in db.session.scalars(sa.select(Message))} == {0}
    paused = db.session.get(MailAccount, account.id)
    assert paused.smtp_failing_since == T0 + timedelta(minutes=1) and paused.smtp_failure_cause == "refused_in_a_row"
    assert "Zustellung abgelehnt" in paused.smtp_failure_detail or "Absenderprüfung" in paused.smtp_failure_detail
    assert sorted((a.kind, a.count, a.link) for a in db.session.scalars(sa.select(Alert))) == [
        ("failed", 1, "/outbox/999"), ("paused", 1, "/settings/email/")]
    page = text_of(as_olivia.get("/settings/email/"))
    assert "The server refused messages to two different people in a row with the same words" in page
    assert "Test connection sends no message, so it cannot see this refusal" in page
    deliver(T0 + timedelta(minutes=2))
    assert not mailbox.received  # paused: nothing is tried meanwhile

    heal()  # the owner fixed the domain's records, and Test connection succeeds
    mailsettings.resume(paused, "smtp", T0 + timedelta(minutes=3))
    deliver(T0 + timedelta(minutes=4))
    assert statuses() == {(c.email, "sent") for c in customers_} and len(mailbox.received) == 3
    assert {m.attempts for m in db.session.scalars(sa.select(Message))} == {1}

    later = [sign_up(job, name, at=T0 + timedelta(minutes=5)) for name in ("Françoise", "Małgorzata")]
    for customer, address in zip(later, ("francoise@example.com", "malgorzata@example.com")):
        customer.email = address
    db.session.commit()
    refuse_everyone(mailbox, later, phase)  # the same words again, after the owner resumed
    deliver(T0 + timedelta(minutes=6))
    assert {(c.email, "failed") for c in later} <= statuses()
    assert db.session.get(MailAccount, account.id).smtp_failing_since is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailProblem)) == 1


def test_our_own_refusal_of_non_ascii_addresses_in_a_row_never_pauses_sending(job, mailbox, account):
    """Not a server's words: two customers with addresses we cannot send to yet fail alone, each
    with a hint that says so (it said the mailbox did not exist); an address whose domain alone
    has umlauts goes out in its ASCII form."""
    for name, address in (("Jürgen", "jürgen@müller.example"), ("Łucja", "łucja@example.pl"),
                          ("Jörg", "joerg@müller.example")):
        sign_up(job, name, at=T0).email = address
    db.session.commit()
    deliver(T0 + timedelta(minutes=1))
    assert statuses() == {("jürgen@müller.example", "failed"), ("łucja@example.pl", "failed"),
                          ("joerg@müller.example", "sent")}
    assert {m.cause for m in db.session.scalars(sa.select(Message).where(Message.status == "failed"))} == \
        {"address_not_sendable"}
    assert db.session.get(MailAccount, account.id).smtp_failing_since is None
    received, = mailbox.received
    assert email.message_from_bytes(received)["To"] == "joerg@xn--mller-kva.example"


@pytest.mark.parametrize("replies", [
    ["550 5.1.1 <{address}>: Recipient address rejected: User unknown"] * 3,  # words we read: each customer's own
    [UNREAD_REFUSAL, "550 Postfach von {address} gesperrt ({queue_id})", UNREAD_REFUSAL],  # not the same words
    [UNREAD_REFUSAL, "250 OK", UNREAD_REFUSAL],  # not in a row: the customer between got hers
], ids=["user-unknown", "other-words", "not-in-a-row"])
def test_a_refusal_that_is_not_the_same_for_customers_in_a_row_fails_alone(job, mailbox, account, replies):
    for name in ("Zoë", "Łukasz", "Jürgen"):
        sign_up(job, name, at=T0)
    outbox.schedule(T0 + timedelta(minutes=1), POLICY)  # made: a batch sends them in the order of their ids
    for number, address in enumerate(db.session.scalars(sa.select(Message.recipient).order_by(Message.id))):
        if replies[number] != "250 OK":
            mailbox.rcpt_replies[address] = [replies[number].format(address=address, queue_id=f"4F2A{number}C")]
    deliver(T0 + timedelta(minutes=1))
    assert db.session.get(MailAccount, account.id).smtp_failing_since is None
    assert sorted(status for _, status in statuses()) == sorted("sent" if r == "250 OK" else "failed" for r in replies)
    told = sum(a.count for a in db.session.scalars(sa.select(Alert).where(Alert.kind == "failed")))
    assert told == sum(r != "250 OK" for r in replies)  # each failure told once, a held one too


def test_a_temporary_refusal_is_retried_later(job, mailbox):
    sign_up(job, "Anna", at=T0)
    mailbox.rcpt_replies["anna@example.com"] = ["451 4.7.1 Greylisted, please try again later", "250 OK"]
    deliver(T0 + timedelta(minutes=1))
    assert statuses() == {("anna@example.com", "scheduled")}
    deliver(T0 + timedelta(minutes=1, seconds=30))  # the backoff has not passed yet
    assert not mailbox.received
    mailbox.rcpt_replies.clear()
    deliver(T0 + timedelta(minutes=3))
    message = db.session.scalar(sa.select(Message))
    assert (message.status, message.attempts, len(mailbox.received)) == ("sent", 2, 1)
    assert message.sent_at == T0 + timedelta(minutes=3) and message.next_attempt_at == T0 + timedelta(minutes=2)


def test_a_temporary_reply_that_sounds_like_the_account_never_pauses_sending(job, mailbox, account):
    """Postfix answers 450 4.1.8 "Sender address rejected" while its own DNS lookup fails: a 4xx
    is retried whatever its words (RFC 5321); the studio's sending never pauses for it."""
    sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    mailbox.mail_reply = "450 4.1.8 <studio@lichtblick.example>: Sender address rejected: Domain not found"
    deliver(T0 + timedelta(minutes=1))
    assert statuses() == {("anna@example.com", "scheduled"), ("ben@example.com", "scheduled")}
    assert db.session.get(MailAccount, account.id).smtp_failing_since is None  # no pause, no banner
    assert {m.cause for m in db.session.scalars(sa.select(Message)) if m.attempts} == {"temporary_server_error"}
    mailbox.mail_reply = None  # the DNS answers again
    deliver(T0 + timedelta(minutes=10))
    assert statuses() == {("anna@example.com", "sent"), ("ben@example.com", "sent")} and len(mailbox.received) == 2


def test_a_deferral_that_names_its_reason_shows_the_fix_while_retried_and_after_it_failed(job, mailbox, as_olivia):
    """Gmail defers mail from a domain without SPF or DKIM (421 4.7.26) for days: the message is
    retried, nothing pauses, and the outbox says what to fix instead of "a temporary problem"."""
    anna = sign_up(job, "Anna", at=T0)
    mailbox.rcpt_replies[anna.email] = ["421 4.7.26 Mail from lichtblick.example has been rate limited because it is "
                                        "unauthenticated: it must pass SPF or DKIM (Grüße)"]
    deliver(T0 + timedelta(minutes=1))
    message = db.session.scalar(sa.select(Message))
    assert (message.status, message.cause, message.named_cause) == ("scheduled", "rate_limited", "sender_rejected")
    fix = "waiting may not help: The server will not send from this address"
    assert fix in text_of(as_olivia.get("/outbox/")) and "SPF and DKIM records" in text_of(
        as_olivia.get(f"/outbox/{message.id}"))
    deliver(message.due_at + POLICY.grace + timedelta(minutes=1))  # deferred past the grace period: failed
    message = db.session.scalar(sa.select(Message))
    assert (message.status, message.named_cause) == ("failed", "sender_rejected") and not mailbox.received
    assert fix in text_of(as_olivia.get("/outbox/?status=failed"))
    mailbox.rcpt_replies.clear()  # the studio added the DNS records and sends it again
    assert as_olivia.post(f"/outbox/{message.id}/retry").status_code == 302
    db.session.rollback()
    assert (message.status, message.cause, message.named_cause) == ("queued", "", "")  # on its way again


def test_a_message_that_killed_its_worker_every_time_says_so_not_a_servers_hint(job, mailbox, as_olivia):
    sign_up(job, "Anna", at=T0)
    mailbox.rcpt_replies["anna@example.com"] = ["421 4.7.26 Unauthenticated mail: it must pass SPF or DKIM (Grüße)"]
    deliver(T0 + timedelta(minutes=1))  # deferred, with a reason named
    message = db.session.scalar(sa.select(Message))
    message.status, message.attempts, message.lease_until = "sending", POLICY.max_attempts, T0
    db.session.commit()
    outbox.sweep(T0 + timedelta(minutes=5), POLICY)
    db.session.rollback()
    assert (message.status, message.cause, message.named_cause) == ("failed", "", "")
    row = text_of(as_olivia.get("/outbox/?status=failed"))
    assert "The worker stopped while sending this message" in row and "waiting may not help" not in row
    assert "What to do" not in text_of(as_olivia.get(f"/outbox/{message.id}"))


def test_a_deferral_sent_at_the_next_try_keeps_no_reason(job, mailbox):
    sign_up(job, "Anna", at=T0)
    mailbox.rcpt_replies["anna@example.com"] = ["452 4.2.2 The inbox of anna@example.com is out of storage space (Grüße)"]
    deliver(T0 + timedelta(minutes=1))
    assert db.session.scalar(sa.select(Message.named_cause)) == "mailbox_unavailable"
    mailbox.rcpt_replies.clear()  # Anna made room
    deliver(T0 + timedelta(minutes=3))
    message = db.session.scalar(sa.select(Message))
    assert (message.status, message.cause, message.named_cause, message.last_error) == ("sent", "", "", ""), message.last_error


def test_a_retry_is_handed_to_a_worker_at_its_moment_not_at_the_next_pass(app, job, mailbox):
    """A one-minute backoff is one minute: the retry waits in Redis for its moment and a worker
    with the scheduler (as worker.py runs it) sends it then, without a cron pass."""
    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    connection = queue.connect(app.config["REDIS_URL"])
    connection.flushdb()
    sign_up(job, "Anna", at=T0)
    mailbox.rcpt_replies["anna@example.com"] = ["451 4.7.1 Greylisted, please try again later", "250 OK"]
    deliver(T0 + timedelta(minutes=1))
    anna = db.session.scalar(sa.select(Message))
    assert (anna.status, anna.next_attempt_at) == ("scheduled", T0 + timedelta(minutes=2))
    urgent = Queue(queue.urgent(app.config["QUEUE_NAME"]), connection=connection)
    registry = ScheduledJobRegistry(queue=urgent)
    retry, = [urgent.fetch_job(job_id) for job_id in registry.get_job_ids()]
    assert (retry.func, retry.args) == (tasks.hand_over, ([anna.id],))
    assert registry.get_scheduled_time(retry) == T0 + timedelta(minutes=2)  # to the second
    mailbox.rcpt_replies.clear()  # the greylisting is over
    with time_machine.travel(T0 + timedelta(minutes=1, seconds=59), tick=False), app.app_context():
        SimpleWorker([urgent], connection=connection).work(burst=True, with_scheduler=True)
    assert db.session.get(Message, anna.id).status == "scheduled"  # a second early: still waiting
    with time_machine.travel(T0 + timedelta(minutes=2), tick=True), app.app_context():
        SimpleWorker([urgent], connection=connection).work(burst=True, with_scheduler=True)
    db.session.expire_all()
    sent = db.session.get(Message, anna.id)
    assert (sent.status, len(mailbox.received)) == ("sent", 1), (sent.last_error, sent.cause)


def test_the_rest_of_a_batch_does_not_wait_for_one_message_s_long_backoff(job, mailbox, account):
    """The server is unreachable at the fifth attempt of a batch's first message (a 16-minute backoff
    next): the others, not tried this time, go again at the next pass, not in 16 minutes."""
    for name in ("Anna", "Ben", "Cleo"):
        sign_up(job, name, at=T0)
    account.smtp_port = free_port()
    db.session.commit()
    run_pass(T0 + timedelta(minutes=1))  # made and handed over
    db.session.execute(sa.update(Message).values(attempts=4))
    db.session.commit()
    ids = db.session.scalars(sa.select(Message.id).order_by(Message.id)).all()
    outbox.send_batch(ids, POLICY, clock=lambda: T0 + timedelta(minutes=1))
    rows = db.session.scalars(sa.select(Message)).all()
    tried, = [m for m in rows if m.cause == "connection_refused"]
    assert (tried.next_attempt_at, tried.attempts) == (T0 + timedelta(minutes=1 + 16), 5)
    rest = [m for m in rows if m is not tried]
    assert [(m.next_attempt_at, m.attempts, m.status) for m in rest] == [(None, 4, "scheduled")] * 2
    assert sorted(run_pass(T0 + timedelta(minutes=2))[0]) == sorted(m.id for m in rest)  # a minute later


def test_a_changed_password_pauses_sending_and_loses_nothing(job, mailbox, account, as_olivia, olivia, server):
    for name in ("Anna", "Ben", "Cleo"):
        sign_up(job, name, at=T0)
    mailbox.password = "changed-at-the-provider"
    deliver(T0 + timedelta(minutes=1))
    assert statuses() == {(f"{n}@example.com", "scheduled") for n in ("anna", "ben", "cleo")}
    assert all(m.attempts == 0 for m in db.session.scalars(sa.select(Message)))  # nothing counted against them
    paused = db.session.get(MailAccount, account.id)
    assert paused.smtp_failing_since is not None and paused.smtp_failure_cause == "wrong_password"
    assert run_pass(T0 + timedelta(minutes=5)) == []  # nothing handed out while paused
    banner = text_of(as_olivia.get("/"))
    assert "SMTP settings" in banner and "username or password" in banner
    # The owner enters the new password; the test passes, and everything goes out once.
    fixed = mailsettings.SmtpInput("127.0.0.1", server[1], "starttls", USERNAME, "changed-at-the-provider", SENDER,
                                   "Studio Lichtblick", "")
    mailsettings.save_smtp(db.session.get(MailAccount, account.id), fixed, True, T0 + timedelta(minutes=6))
    deliver(T0 + timedelta(minutes=7))
    assert len(mailbox.received) == 3 and len({m for m in mailbox.received}) == 3
    assert "SMTP settings" not in text_of(as_olivia.get("/"))


def test_a_server_that_is_down_is_retried_and_the_outbox_and_dashboard_say_why(job, mailbox, account, server,
                                                                                as_olivia, as_sam):
    sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    account.smtp_port = free_port()
    db.session.commit()
    deliver(T0 + timedelta(minutes=1))
    rows = db.session.scalars(sa.select(Message).order_by(Message.id)).all()
    assert [(m.status, m.cause) for m in rows] == [("scheduled", "connection_refused")] + [("scheduled", "")]
    assert rows[0].attempts == 1 and rows[1].attempts == 0  # the second never reached the server
    assert db.session.get(MailAccount, account.id).smtp_failing_since is None  # a retry, not a pause
    # A retry pauses nothing, but the dashboard must not call sending "working" meanwhile.
    dashboard = text_of(as_olivia.get("/"))
    assert "1 message could not be sent yet; it is tried again automatically." in dashboard
    # Staff, who cannot open the email settings, are told whom to ask; the owner is not.
    ask = "Please tell the studio owner, who can fix this in Settings → Email:"
    assert ask in text_of(as_sam.get(f"/outbox/{rows[0].id}"))
    assert ask not in text_of(as_olivia.get(f"/outbox/{rows[0].id}"))
    assert ask in text_of(as_sam.get("/")) and ask not in dashboard
    # ... but not for what passes by itself (a deferral), unless its words named a setting.
    db.session.execute(sa.update(Message).where(Message.id == rows[0].id).values(cause="temporary_server_error"))
    db.session.commit()
    assert ask not in text_of(as_sam.get(f"/outbox/{rows[0].id}")) and ask not in text_of(as_sam.get("/"))
    db.session.execute(sa.update(Message).where(Message.id == rows[0].id).values(named_cause="sender_rejected"))
    db.session.commit()
    assert ask in text_of(as_sam.get(f"/outbox/{rows[0].id}")) and ask in text_of(as_sam.get("/"))
    assert str(diagnostics.hint_for("connection_refused", "smtp")) in dashboard and "Working." not in dashboard
    account.smtp_port = server[1]  # the server is back
    db.session.commit()
    deliver(T0 + timedelta(minutes=3))
    dashboard = text_of(as_olivia.get("/"))
    assert "Working." in dashboard and "could not be sent yet" not in dashboard and len(mailbox.received) == 2


def test_a_message_held_by_a_dead_worker_is_sent_again_after_its_lease(job, mailbox):
    sign_up(job, "Anna", at=T0)
    batch, = run_pass(T0 + timedelta(minutes=1))
    assert outbox.claim(batch, T0 + timedelta(minutes=1), POLICY) == batch  # ...and the worker dies here
    deliver(T0 + timedelta(minutes=1, seconds=20))  # the lease still holds
    assert not mailbox.received
    deliver(T0 + timedelta(minutes=3))  # that hand-over was lost: handed over again
    message = db.session.scalar(sa.select(Message))
    assert (message.status, message.attempts, len(mailbox.received)) == ("sent", 2, 1)


def test_a_bug_with_one_message_leaves_the_batch_s_other_texts_intact(job, mailbox, monkeypatch):
    sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0), sign_up(job, "Cleo", at=T0)
    why_not = StudioBatch.why_not

    def buggy(batch, message):
        if message.recipient == "ben@example.com":
            raise RuntimeError("a bug")  # after Anna's text was written, before Cleo's
        return why_not(batch, message)

    monkeypatch.setattr(StudioBatch, "why_not", buggy)
    deliver(T0 + timedelta(minutes=1))
    assert statuses() == {("anna@example.com", "sent"), ("ben@example.com", "scheduled"),
                          ("cleo@example.com", "sent")}
    bodies = sorted(email.message_from_bytes(raw).get_payload()[0].get_payload(decode=True).decode()
                    for raw in mailbox.received)
    assert bodies == ["Hi Anna", "Hi Cleo"]
    ben = db.session.scalar(sa.select(Message).where(Message.recipient == "ben@example.com"))
    assert (ben.cause, ben.attempts, ben.body, ben.last_error) == ("other", 1, "", "RuntimeError: a bug")
    for minutes in (3, 10, 30):  # the bug stays: after three attempts Ben's message fails, with its words
        deliver(T0 + timedelta(minutes=minutes))
    db.session.refresh(ben)
    assert (ben.status, ben.attempts, ben.last_error) == ("failed", 3, "RuntimeError: a bug")


def test_a_worker_that_dies_mid_send_leaves_the_text_for_an_identical_resend(job, mailbox, monkeypatch):
    sign_up(job, "Anna", at=T0)
    batch, = run_pass(T0 + timedelta(minutes=1))

    def killed(*args):
        raise KeyboardInterrupt  # what a SIGTERM or kill looks like to the batch: nothing is recorded

    with monkeypatch.context() as patch:
        patch.setattr(SmtpSession, "send", killed)
        with pytest.raises(KeyboardInterrupt):
            outbox.send_batch(batch, POLICY, clock=lambda: T0 + timedelta(minutes=1))
    db.session.rollback()
    stored = db.session.scalar(sa.select(Message))
    assert (stored.status, stored.subject, stored.body) == ("sending", "Hi", "Hi Anna")
    deliver(T0 + timedelta(minutes=2))  # the lease is over: sent again, as written the first time
    sent = email.message_from_bytes(mailbox.received[0])
    db.session.expire_all()
    assert (sent["Message-ID"], sent["Subject"]) == (stored.message_id, "Hi")
    assert (stored.status, stored.attempts, stored.sent_at) == ("sent", 2, T0 + timedelta(minutes=2))


def test_a_lost_queue_is_refilled_from_the_database(job, mailbox):
    sign_up(job, "Anna", at=T0)
    assert run_pass(T0 + timedelta(minutes=1))  # handed to Redis, which then loses it (FLUSHALL)
    assert run_pass(T0 + timedelta(minutes=1, seconds=30)) == []  # not yet: a worker may be on it
    deliver(T0 + timedelta(minutes=2, seconds=30))
    assert len(mailbox.received) == 1


def test_who_unsubscribed_or_left_the_profile_after_scheduling_is_skipped(job, mailbox, olivia):
    anna = sign_up(job, "Anna", at=T0)
    sign_up(job, "Ben", at=T0)
    batches = run_pass(T0 + timedelta(minutes=1))
    suppression.unsubscribe(anna, T0 + timedelta(minutes=1))
    for batch in batches:
        outbox.send_batch(batch, POLICY, clock=lambda: T0 + timedelta(minutes=2))
    assert statuses() == {("anna@example.com", "skipped"), ("ben@example.com", "sent")}
    skipped = db.session.scalar(sa.select(Message).where(Message.status == "skipped"))
    assert "unsubscribed" in skipped.last_error
    # A new profile for the job: what the old one made and did not send yet is skipped.
    sign_up(job, "Cleo", at=T0 + timedelta(minutes=3))
    batches = run_pass(T0 + timedelta(minutes=4))
    use(job, make_profile(olivia.studio, email_notification("days_before_archived", days=3)))
    for batch in batches:
        outbox.send_batch(batch, POLICY, clock=lambda: T0 + timedelta(minutes=5))
    assert ("cleo@example.com", "skipped") in statuses() and len(mailbox.received) == 1


def test_a_customer_with_a_message_stays_on_the_job_with_their_consent(job, mailbox):
    anna = sign_up(job, "Anna", at=T0)
    outbox.schedule(T0 + timedelta(minutes=1), POLICY)
    with pytest.raises(customers.CustomerHasHistory):
        customers.remove(anna)
    db.session.expire_all()
    assert db.session.get(Customer, anna.id).has_consent("email")


def test_a_customer_removed_while_the_pass_made_their_message_is_skipped(job, mailbox, as_olivia):
    anna = sign_up(job, "Anna", at=T0)
    outbox.schedule(T0 + timedelta(minutes=1), POLICY)
    db.session.delete(anna)  # customers.remove looked just before the pass made the message
    db.session.commit()
    deliver(T0 + timedelta(minutes=1))
    assert statuses() == {("anna@example.com", "skipped")} and not mailbox.received
    assert "removed from the job" in text_of(as_olivia.get("/outbox/?status=skipped"))


def test_after_downtime_what_fell_due_is_sent_once_and_what_is_too_late_is_skipped(job, mailbox):
    run_pass(T0)  # the last pass before the app went down
    sign_up(job, "Anna", at=T0 + timedelta(minutes=10))
    deliver(T0 + timedelta(hours=2))  # back two hours later: still sent
    assert statuses() == {("anna@example.com", "sent")}
    sign_up(job, "Ben", at=T0 + timedelta(hours=3))
    deliver(T0 + timedelta(hours=3) + POLICY.grace + timedelta(minutes=1))  # down longer than the grace period
    ben = db.session.scalar(sa.select(Message).where(Message.recipient == "ben@example.com"))
    assert ben.status == "skipped" and "hours" in ben.last_error and len(mailbox.received) == 1


def twice_at_once(app, work) -> list:
    """Run ``work`` in two threads, each with its own app context and session, released together;
    returns both results (an exception in either fails the test)."""
    barrier = threading.Barrier(2)
    results, errors = [], []

    def one():
        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return results


def test_two_passes_at_once_make_no_duplicates(app, job):
    for name in ("Anna", "Ben", "Cleo", "Dora"):
        sign_up(job, name, at=T0)
    made = twice_at_once(app, lambda: outbox.schedule(T0 + timedelta(minutes=1), POLICY))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 4
    assert sum(made) == 4  # each row counted by the pass that made it


def test_a_pass_colliding_with_a_row_made_meanwhile_keeps_it_and_counts_only_its_own(app, job):
    """Another transaction (a pass elsewhere, a timeline cancellation) holds Anna's row, not yet
    committed, when this pass inserts: the pass waits for it, then makes Ben's row alone."""
    sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    outbox.schedule(T0 + timedelta(minutes=1), POLICY)
    anna = db.session.execute(sa.select(Message.__table__).where(Message.recipient == "anna@example.com")).one()
    db.session.execute(sa.delete(Message))
    db.session.execute(sa.delete(SchedulerPass))
    db.session.commit()
    made = []

    def run_pass_meanwhile():
        with app.app_context():
            made.append(outbox.schedule(T0 + timedelta(minutes=1), POLICY))
            db.session.remove()

    with db.engine.connect() as other:
        other.execute(sa.insert(Message.__table__), dict(anna._mapping))
        meanwhile = threading.Thread(target=run_pass_meanwhile)
        meanwhile.start()
        meanwhile.join(timeout=1)
        assert meanwhile.is_alive()  # waiting for the other transaction
        other.commit()
    meanwhile.join()
    assert made == [1]
    assert statuses() == {("anna@example.com", "scheduled"), ("ben@example.com", "scheduled")}


def test_two_workers_claiming_the_same_batch_at_once_share_it_without_overlap(app, job):
    for n in range(60):
        sign_up(job, f"Kid{n}", at=T0)
    batch, = run_pass(T0 + timedelta(minutes=1))
    first, second = twice_at_once(app, lambda: outbox.claim(batch, T0 + timedelta(minutes=1), POLICY))
    assert sorted(first + second) == sorted(batch) and not set(first) & set(second)
    db.session.expire_all()
    assert {m.attempts for m in db.session.scalars(sa.select(Message))} == {1}


def studio_with_welcome(owner, server, name: str):
    """Another studio sending through the test server, with a job whose profile welcomes sign-ups."""
    mailsettings.save_smtp(mailsettings.account_of(owner.studio), mailsettings.SmtpInput(
        "127.0.0.1", server[1], "starttls", USERNAME, PASSWORD, owner.email, name, ""), True, T0)
    job = jobs.save_job(owner.studio, None, jobs.JobInput(name=f"{name} job", profile_id=None), None)
    use(job, make_profile(owner.studio, email_notification("customer_registered", audience="potential_buyers")))
    return job


def test_a_studio_s_reminder_jumps_another_studio_s_backlog_in_the_queue(app, job, otto, server):
    """Olivia's backlog was handed over a minute earlier and still waits in Redis: the reminders
    of two studios with nothing on their way go to the front, in turn, and her batches keep
    their order behind them; a studio already waiting for its first batch queues at the back."""
    rq_queue = Queue("fairness", connection=queue.connect(app.config["REDIS_URL"]))
    small = replace(POLICY, batch_size=2, reenqueue_after=timedelta(minutes=10))  # none presumed lost

    def tick(minutes):
        outbox.schedule(T0 + timedelta(minutes=minutes), small)
        return outbox.dispatch(T0 + timedelta(minutes=minutes), small, lambda ids, at_front: rq_queue.enqueue(
            tasks.send_messages, ids, at_front=at_front))

    def queued() -> list[list[int]]:
        return [rq_job.args[0] for rq_job in rq_queue.jobs]

    def ids_of(*names) -> list[int]:
        return [db.session.scalar(sa.select(Message.id).where(Message.recipient == f"{n.lower()}@example.com"))
                for n in names]

    for second, name in enumerate(("Anna", "Ben", "Cleo", "Dora", "Emil", "Fritz")):
        sign_up(job, name, at=T0 + timedelta(seconds=second))
    assert tick(1) == 6
    olivias = [ids_of("Anna", "Ben"), ids_of("Cleo", "Dora"), ids_of("Emil", "Fritz")]  # in due order
    assert queued() == olivias
    drei = accounts.create_studio(accounts.NewStudio("Studio Drei", "Europe/Berlin", "de_DE", "drei@example.com",
                                                     "a long enough password"))
    ottos_job, dreis_job = studio_with_welcome(otto, server, "Nebenan"), studio_with_welcome(drei, server, "Drei")
    sign_up(ottos_job, "Greta", at=T0 + timedelta(seconds=50))
    sign_up(dreis_job, "Hanna", at=T0 + timedelta(seconds=55))
    assert tick(2) == 2
    assert queued() == [ids_of("Greta"), ids_of("Hanna"), *olivias]
    sign_up(ottos_job, "Ida", at=T0 + timedelta(minutes=2))
    assert tick(3) == 1
    assert queued() == [ids_of("Greta"), ids_of("Hanna"), *olivias, ids_of("Ida")]


def test_the_minute_tick_puts_an_idle_studio_s_batch_before_older_jobs(app, job, mailbox):
    rq_queue = Queue(app.config["QUEUE_NAME"], connection=queue.connect(app.config["REDIS_URL"]))
    rq_queue.enqueue(tasks.heartbeat)  # stands for another studio's backlog
    sign_up(job, "Anna", at=T0)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert tasks.tick()["dispatched"] == 1
    anna = db.session.scalar(sa.select(Message.id))
    assert [(j.func_name, j.args) for j in rq_queue.jobs] == [("shutterbell.tasks.send_messages", ([anna],)),
                                                             ("shutterbell.tasks.heartbeat", ())]


def test_a_header_with_a_line_break_is_never_sent(job, mailbox, account):
    sign_up(job, "Anna", at=T0)
    account.sender_name = "Lichtblick\r\nBcc: everyone@example.com"
    db.session.commit()
    deliver(T0 + timedelta(minutes=1))
    message = db.session.scalar(sa.select(Message))
    assert (message.status, message.cause) == ("failed", "bad_header") and not mailbox.received


# ---- the outbox page ----------------------------------------------------------------------------

def test_the_outbox_lists_messages_with_their_hint_and_polls_while_any_is_on_its_way(job, mailbox, as_olivia):
    sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    mailbox.rcpt_replies["ben@example.com"] = ["550 5.1.1 <ben@example.com>: Recipient address rejected: User unknown"]
    run_pass(T0 + timedelta(minutes=1))
    polling = text_of(as_olivia.get("/outbox/", headers={"HX-Request": "true"}))
    assert 'hx-trigger="every 5s"' in polling and "Queued" in polling
    deliver(T0 + timedelta(minutes=3))  # the first hand-over was lost: handed over again
    page = text_of(as_olivia.get("/outbox/"))
    assert "Sent" in page and "Failed" in page and "mailbox does not exist or takes no mail" in page
    assert 'hx-trigger="every 5s"' not in page  # nothing left in flight: no more polling
    failed = text_of(as_olivia.get("/outbox/?status=failed"))
    assert "ben@<wbr>example.<wbr>com" in failed and "anna@" not in failed  # wraps after @ and dots, not mid-word


def test_an_outbox_longer_than_its_count_says_more_than_and_still_pages_to_its_end(olivia, as_olivia,
                                                                                     monkeypatch):
    monkeypatch.setattr(messages, "COUNTED_UP_TO", 100)  # 10,000 in use: the same with fewer rows
    db.session.execute(sa.insert(Message), [
        {"studio_id": olivia.studio.id, "key": f"oneoff:many:{n}", "channel": "email", "recipient": f"kind{n}@example.de",
         "subject": f"Eure Fotos Nr. {n} – schön geworden", "body": "Grüße", "due_at": T0 + timedelta(minutes=n),
         "status": "sent", "created_at": T0} for n in range(130)])
    db.session.commit()
    first = text_of(as_olivia.get("/outbox/"))
    assert "More than 100 messages" in first and "Page 1 of more than 2" in first and "page=2" in first
    assert "Nr. 129 – schön" in first  # newest first
    last = text_of(as_olivia.get("/outbox/?page=3"))  # counted as far as the page asked for: exact again
    assert "130 messages" in last and "Page 3 of 3" in last and "Nr. 0 – schön" in last and "page=4" not in last
    assert "Page 3 of 3" in text_of(as_olivia.get("/outbox/?page=9"))  # past the end: the last page


def test_a_message_opens_as_the_customer_got_it(job, mailbox, as_olivia):
    anna = sign_up(job, "Anna", at=T0)
    run_pass(T0 + timedelta(minutes=1))  # handed over, not written yet: an email still, not a text
    waiting = text_of(as_olivia.get(f"/outbox/{db.session.scalar(sa.select(Message.id))}"))
    assert "<h1>(written when it is sent)</h1>" in waiting and "Text message" not in waiting
    deliver(T0 + timedelta(minutes=3))  # that hand-over was lost: handed over again
    message = db.session.scalar(sa.select(Message))
    page = text_of(as_olivia.get(f"/outbox/{message.id}"))
    assert "Hi Anna" in page and message.message_id.replace("<", "&lt;").replace(">", "&gt;") in page
    assert f"List-Unsubscribe: &lt;https://photos.lichtblick.example/u/{anna.unsubscribe_token}&gt;" in page


def test_a_failed_message_is_sent_again_and_a_queued_one_cancelled(job, mailbox, as_olivia):
    now = datetime.now(UTC)  # the page acts at the real time
    sign_up(job, "Anna", at=now), sign_up(job, "Ben", at=now)
    mailbox.rcpt_replies["ben@example.com"] = ["552 5.2.2 Mailbox full"]
    deliver(now + timedelta(minutes=1))
    ben = db.session.scalar(sa.select(Message).where(Message.recipient == "ben@example.com"))
    assert ben.status == "failed"
    mailbox.rcpt_replies.clear()
    assert as_olivia.post(f"/outbox/{ben.id}/retry").status_code == 302
    deliver(now + timedelta(minutes=3))
    assert ("ben@example.com", "sent") in statuses() and len(mailbox.received) == 2
    sign_up(job, "Cleo", at=now + timedelta(minutes=5))
    run_pass(now + timedelta(minutes=6))
    cleo = db.session.scalar(sa.select(Message).where(Message.recipient == "cleo@example.com"))
    as_olivia.post(f"/outbox/{cleo.id}/cancel")
    deliver(now + timedelta(minutes=10))
    assert ("cleo@example.com", "cancelled") in statuses() and len(mailbox.received) == 2
    assert "<h1>Email</h1>" in text_of(as_olivia.get(f"/outbox/{cleo.id}"))  # never written, never to be


def test_messages_that_need_approval_wait_until_staff_approve_them(olivia, account, mailbox, as_sam):
    now = datetime.now(UTC)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abiball", profile_id=None), None)
    use(job, make_profile(olivia.studio, email_notification("customer_registered", audience="potential_buyers",
                                                            requires_approval=True)))
    sign_up(job, "Anna", at=now), sign_up(job, "Ben", at=now)
    deliver(now + timedelta(minutes=1))
    assert statuses() == {("anna@example.com", "awaiting_approval"), ("ben@example.com", "awaiting_approval")}
    page = text_of(as_sam.get(f"/outbox/?job={job.id}&status=awaiting_approval"))
    assert "Approve all 2" in page
    as_sam.post(f"/outbox/jobs/{job.id}/approve", {"decision": "approve"})
    deliver(now + timedelta(minutes=3))
    assert statuses() == {("anna@example.com", "sent"), ("ben@example.com", "sent")}


def test_an_unwritten_message_awaiting_approval_whose_customer_was_removed_stops_nothing(olivia, account,
                                                                                          mailbox):
    now = datetime.now(UTC)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abiball", profile_id=None), None)
    use(job, make_profile(olivia.studio, email_notification("customer_registered", audience="potential_buyers",
                                                            requires_approval=True)))
    anna, ben = sign_up(job, "Anna", at=now), sign_up(job, "Ben", at=now)
    materialise.make_due(materialise.Pass(now - timedelta(minutes=5), now + timedelta(minutes=1),
                                          now - timedelta(days=1), "late"))
    db.session.delete(anna)  # the pass made the rows, then Anna was removed, before it wrote the texts
    db.session.commit()
    deliver(now + timedelta(minutes=2))  # the pass goes on: Ben's text is written, Anna's skipped
    assert statuses() == {("anna@example.com", "skipped"), ("ben@example.com", "awaiting_approval")}
    assert db.session.scalar(sa.select(Message.body).where(Message.customer_id == ben.id)) == "Hi Ben"


# ---- double opt-in ------------------------------------------------------------------------------

def test_a_public_sign_up_gets_the_confirmation_email_and_only_then_its_messages(app, job, mailbox, browser):
    now = datetime.now(UTC)
    page = text_of(browser.get(f"/j/{job.access_code}"))
    assert "csrf_token" in page
    response = browser.post(f"/j/{job.access_code}", {"first_name": "Anna", "last_name": "S",
                                                      "email": "anna@example.com", "email_consent": "y"})
    assert "confirm your sign-up" in text_of(response)
    confirmation = db.session.scalar(sa.select(Message))
    assert confirmation.key.startswith("confirm:") and confirmation.status == "queued"  # handed over at once
    deliver(now + timedelta(minutes=2))  # (the page handed it to Redis at once; this test's worker is here)
    assert len(mailbox.received) == 1  # the confirmation only: the welcome waits for the click
    mail = email.message_from_bytes(mailbox.received[0])
    link = re.search(r"https://\S+/c/\S+", mail.get_payload()[0].get_payload(decode=True).decode()).group(0)
    assert link.startswith("https://photos.lichtblick.example/c/") and "Please confirm" in mail["Subject"]
    path = link.removeprefix("https://photos.lichtblick.example")
    assert "Yes, confirm my sign-up" in text_of(browser.get(path))  # a mail scanner's GET confirms nothing
    deliver(now + timedelta(minutes=3))
    assert len(mailbox.received) == 1
    with time_machine.travel(now + timedelta(minutes=3, seconds=30), tick=False):  # after those passes
        assert "Confirmed. Thank you!" in text_of(browser.post(path))
    deliver(now + timedelta(minutes=4))
    assert len(mailbox.received) == 2 and "Hi Anna" in mailbox.received[1].decode()


def test_a_late_sign_up_gets_the_photos_online_news_once_and_a_welcome_that_reads_right(olivia, account, mailbox,
                                                                                           browser):
    """The photos went online three days ago; Jürgen signs up on the public page now. With the
    recommended profile he gets a welcome that says they are online already (not "we will let
    you know") and, right after confirming, the "photos are online" email: once."""
    now = datetime.now(UTC)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(
        name="Grundschule Süd", profile_id=olivia.studio.default_profile_id, published_at=now - timedelta(days=3),
        gallery_url="https://galerie.lichtblick.example/sued"), None)
    signed_up = browser.post(f"/j/{job.access_code}", {"first_name": "Jürgen", "last_name": "Weiß",
                                                       "email": "juergen@example.com", "email_consent": "y"})
    assert "confirm your sign-up" in text_of(signed_up), text_of(signed_up)
    deliver(now + timedelta(minutes=2))  # (the page handed it to Redis at once; this test's worker is here)
    confirmation = email.message_from_bytes(mailbox.received[0], policy=email.policy.default)
    path = re.search(r"/c/\S+", confirmation.get_body(("plain",)).get_content()).group(0)
    with time_machine.travel(now + timedelta(minutes=2, seconds=30), tick=False):
        assert "Confirmed. Thank you!" in text_of(browser.post(path))
    deliver(now + timedelta(minutes=3))
    deliver(now + timedelta(minutes=4))  # a second pass makes nothing more
    got = {m["Subject"]: m.get_body(("plain",)).get_content().replace("\r\n", "\n")
           for m in (email.message_from_bytes(raw, policy=email.policy.default) for raw in mailbox.received[1:])}
    assert sorted(got) == ["Welcome! Your photos from Grundschule Süd",
                           "Your photos from Grundschule Süd are online"]
    welcome = got["Welcome! Your photos from Grundschule Süd"]
    assert "They are online already:\nhttps://galerie.lichtblick.example/sued" in welcome
    assert "We will let you know" not in welcome
    assert "https://galerie.lichtblick.example/sued" in got["Your photos from Grundschule Süd are online"]


def test_signing_up_again_unconfirmed_resends_the_confirmation_at_most_hourly(app, job, mailbox, browser, as_sam):
    """Lost the email? Sign up again, or ask the studio: the same link comes again, but never more
    than once an hour, whoever asks (the public form must not flood an inbox)."""
    start = datetime.now(UTC)
    zoe = {"first_name": "Zoë", "last_name": "Łukasiewicz", "email": "zoe@example.com", "email_consent": "y"}
    with time_machine.travel(start, tick=False):
        browser.post(f"/j/{job.access_code}", zoe)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):  # (a session signed later is refused earlier)
        assert "confirm your sign-up" in text_of(browser.post(f"/j/{job.access_code}", zoe))  # the same answer
        customer = db.session.scalar(sa.select(Customer))
        as_sam.post(f"/jobs/{job.id}/customers/confirmation", {"customer_id": customer.id})
        assert "less than an hour ago. You can send it again after" in text_of(as_sam.get(f"/jobs/{job.id}"))
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        browser.post(f"/j/{job.access_code}", zoe)  # an hour later: sent again
        as_sam.post(f"/jobs/{job.id}/customers/confirmation", {"customer_id": customer.id})  # and not twice in that hour
    keys = sorted(db.session.scalars(sa.select(Message.key)))
    assert keys == [f"confirm:{customer.id}", f"confirm:{customer.id}:2"]
    deliver(start + timedelta(minutes=63))  # (handed to Redis at once; this test's worker is here)
    links = {re.search(r"/c/\S+", email.message_from_bytes(raw).get_payload()[0].get_payload(decode=True).decode())
             .group(0) for raw in mailbox.received}
    assert len(mailbox.received) == 2 and len(links) == 1  # both carry the one link
    with time_machine.travel(start + timedelta(minutes=64), tick=False):
        browser.post(links.pop())
        as_sam.post(f"/jobs/{job.id}/customers/confirmation", {"customer_id": customer.id})
        assert "has confirmed already" in text_of(as_sam.get(f"/jobs/{job.id}"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.key.like("confirm:%"))) == 2


def test_a_stranger_cannot_put_words_or_links_into_the_confirmation_the_studio_sends(app, job, mailbox, browser):
    """The probe's attack: "URGENT: reset your password at https://…" as a name, to anyone's address."""
    for name in ("URGENT: reset your password at https://evil.example/reset", "Reset at evil.example now",
                 "<b>Bank</b>", "www.evil.example", "x" * 61):
        response = browser.post(f"/j/{job.access_code}", {"first_name": name, "last_name": "S",
                                                          "email": "victim@example.com", "email_consent": "y"})
        assert response.status_code == 422 and "Enter just the name" in text_of(response) or "At most 60" in \
            text_of(response), name
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    browser.post(f"/j/{job.access_code}", {"first_name": "Jürgen", "last_name": "Groß", "email": "juergen@example.de",
                                           "email_consent": "y"})
    deliver(datetime.now(UTC) + timedelta(minutes=2))
    mail = email.message_from_bytes(mailbox.received[0], policy=email.policy.default)
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert "Jürgen" not in text and "someone asked on the sign-up page of Studio Lichtblick" in text
    assert text.rstrip().endswith("without a click on the link, you will get nothing else from us.")
    assert re.search(r'<a href="https://photos\.lichtblick\.example/c/[^"]+">', html)  # the studio's link works


def test_a_customer_s_own_values_never_become_links_only_the_studio_s_text_does(bare_ctx):
    from shutterbell.templating import text_to_html
    # A name stored before names were checked (an old import), in a studio text with its own link:
    html = str(text_to_html("Hallo https://evil.example/reset,\n\nIhre Galerie: https://photos.example/g/1",
                            untrusted=("https://evil.example/reset", "Groß")))
    assert '<a href="https://photos.example/g/1">' in html and 'href="https://evil.example' not in html
    assert "Hallo https://evil.example/reset," in html
    # A short name inside the studio's own link leaves the link alone.
    html = str(text_to_html("Hallo Anna, hier: https://fotos.example.de/anna-2024", untrusted=("Anna", "s")))
    assert '<a href="https://fotos.example.de/anna-2024">' in html


def test_the_studio_writes_its_own_confirmation_text(as_olivia, olivia):
    from .test_studio_settings import settings
    response = as_olivia.post("/settings/studio/", settings(confirmation_body="Hallo {{ customer.vorname }}"))
    assert response.status_code == 422 and "Unknown placeholder" in text_of(response)
    as_olivia.post("/settings/studio/", settings(confirmation_subject="Bitte bestätigen",
                                                  confirmation_body="Hallo {{ customer.first_name }}!"))
    db.session.expire_all()
    assert olivia.studio.confirmation_body == "Hallo {{ customer.first_name }}!"


def test_erasure_drops_what_was_said_and_keeps_the_counts(job, mailbox, as_olivia):
    anna, ben = sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    deliver(T0 + timedelta(minutes=1))
    assert as_olivia.post(f"/jobs/{job.id}/customers/remove", {"customer_id": anna.id}).status_code == 302  # has a message: stays
    db.session.expire_all()
    assert db.session.get(type(anna), anna.id) is not None
    suppression.erase(db.session.get(type(anna), anna.id), T0 + timedelta(minutes=2))
    rows = {m.customer_id: m for m in db.session.scalars(sa.select(Message))}
    assert (rows[anna.id].status, rows[anna.id].body, rows[anna.id].subject) == ("sent", "", "")
    assert "anna" not in rows[anna.id].recipient and rows[ben.id].body == "Hi Ben"


def test_across_the_clock_change_reminders_go_out_at_nine_local_on_both_sides(olivia, account, mailbox):
    from zoneinfo import ZoneInfo
    berlin = ZoneInfo("Europe/Berlin")
    profile = make_profile(olivia.studio, email_notification("days_before_archived", days=7))
    for name, archives in (("Winter", date(2026, 4, 4)), ("Summer", date(2026, 4, 6))):  # reminders 28th / 30th March
        job = jobs.save_job(olivia.studio, None, jobs.JobInput(name=name, profile_id=None, archives_at=archives), None)
        use(job, profile)
        sign_up(job, name, at=T0)
    deliver(T0)
    for day in (28, 30):  # the clocks go forward on 29 March
        nine = datetime(2026, 3, day, 9, 0, tzinfo=berlin)
        with time_machine.travel(nine - timedelta(minutes=1), tick=False):
            deliver(nine - timedelta(minutes=1))
        count = len(mailbox.received)
        with time_machine.travel(nine + timedelta(seconds=20), tick=False):
            deliver(nine + timedelta(seconds=20))
        assert len(mailbox.received) == count + 1
    local_times = {m.due_at.astimezone(berlin).strftime("%d %H:%M") for m in db.session.scalars(sa.select(Message))}
    assert local_times == {"28 09:00", "30 09:00"}
    assert {m.due_at.strftime("%H:%M") for m in db.session.scalars(sa.select(Message))} == {"08:00", "07:00"}  # UTC


def test_the_dashboard_counts_today_and_charts_thirty_days(job, mailbox, as_olivia):
    now = datetime.now(UTC)
    sign_up(job, "Anna", at=now), sign_up(job, "Ben", at=now)
    mailbox.rcpt_replies["ben@example.com"] = ["550 5.1.1 User unknown"]
    deliver(now + timedelta(seconds=5))
    page = text_of(as_olivia.get("/"))
    assert "<strong>1</strong> sent today" in page and "<strong>1</strong> failed today" in page
    assert "Messages per day, last 30 days: 1 sent, 1 failed, 0 skipped" in page
    assert page.count('class="sent"') == 30


def test_the_chart_counts_each_message_on_its_local_day_across_the_clock_change(olivia):
    """Berlin leaves summer time on 25 October 2026: a day of 25 hours, counted whole."""
    berlin = ZoneInfo("Europe/Berlin")
    sent = [datetime(2026, 10, 24, 23, 30, tzinfo=berlin), datetime(2026, 10, 25, 0, 30, tzinfo=berlin),
            datetime(2026, 10, 25, 23, 30, tzinfo=berlin), datetime(2026, 10, 26, 0, 10, tzinfo=berlin),
            datetime(2026, 9, 1, 12, 0, tzinfo=berlin)]  # before the 30 days
    rows = [{"status": "sent", "sent_at": moment, "due_at": moment} for moment in sent]
    rows += [{"status": "skipped", "sent_at": None, "due_at": datetime(2026, 10, 25, 23, 59, tzinfo=berlin)},
             {"status": "failed", "sent_at": datetime(2026, 10, 26, 9, 0, tzinfo=berlin),
              "due_at": datetime(2026, 10, 26, 9, 0, tzinfo=berlin)}]
    db.session.execute(sa.insert(Message), [
        {"studio_id": olivia.studio_id, "key": f"oneoff:chart:{n}", "channel": "email", "recipient": "zoe@example.pl",
         "subject": "Grüße", "body": "…", "created_at": row["due_at"], **row} for n, row in enumerate(rows)])
    db.session.commit()
    days = {day.day: (day.sent, day.failed, day.skipped) for day in
            messages.daily_counts(olivia.studio, datetime(2026, 10, 27, 11, 0, tzinfo=UTC))}
    assert len(days) == 30 and max(days) == date(2026, 10, 27)
    assert days[date(2026, 10, 24)] == (1, 0, 0)
    assert days[date(2026, 10, 25)] == (2, 0, 1)
    assert days[date(2026, 10, 26)] == (1, 1, 0)
    assert sum(sent for sent, _, _ in days.values()) == 4


def test_the_chart_counts_what_is_sent_at_once_and_what_is_past_again_after_a_while(olivia):
    """A finished day's count, and today's until a minute before it was counted, are kept for
    FINISHED_DAY_KEPT (a busy month was 50 ms a visit to count, a busy today 5 ms): a bounce among
    them shows that much later. What is sent from then on counts at once."""
    berlin, now = ZoneInfo("Europe/Berlin"), datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

    def sent_at(*moments):
        db.session.execute(sa.insert(Message), [
            {"studio_id": olivia.studio_id, "key": f"oneoff:chart:{moment.isoformat()}", "channel": "email",
             "recipient": "łucja@example.pl", "subject": "Grüße 🎉", "body": "…", "status": "sent",
             "sent_at": moment, "due_at": moment, "created_at": moment} for moment in moments])
        db.session.commit()

    def counts(at):
        days = {day.day: day.sent for day in messages.daily_counts(olivia.studio, at)}
        return days[date(2026, 11, 19)], days[date(2026, 11, 20)]

    sent_at(datetime(2026, 11, 19, 9, 0, tzinfo=berlin), datetime(2026, 11, 20, 9, 0, tzinfo=berlin))
    assert counts(now) == (1, 1)
    # Rows with a past sent_at appearing later stand for a change among what is past (a bounce).
    sent_at(datetime(2026, 11, 19, 10, 0, tzinfo=berlin), datetime(2026, 11, 20, 10, 0, tzinfo=berlin))
    sent_at(now - timedelta(seconds=30), now + timedelta(seconds=40))  # committed late, and sent since
    assert counts(now + timedelta(minutes=1)) == (1, 3)  # those two at once; the rest as counted a minute ago
    assert counts(now + timedelta(minutes=2)) == (1, 3)
    assert counts(now + messages.FINISHED_DAY_KEPT + timedelta(seconds=1)) == (2, 4)
    assert counts(datetime(2026, 11, 20, 23, 0, 30, tzinfo=UTC)) == (2, 4)  # 30 s into the next day in Berlin
    assert counts(datetime(2026, 11, 20, 23, 0, 30, tzinfo=UTC) + timedelta(seconds=40)) == (2, 4)


def test_the_dashboard_says_when_no_email_account_is_set_up(as_olivia):
    assert "No email account is set up yet" in text_of(as_olivia.get("/"))


def test_sending_limits_spread_messages_instead_of_getting_the_account_blocked(job, mailbox, account):
    account.limit_per_minute, account.limit_per_day = 2, 3
    db.session.commit()
    for name in ("Anna", "Ben", "Cleo", "Dora", "Emil"):
        sign_up(job, name, at=T0)
    sent_after = []
    for offset in (timedelta(minutes=1), timedelta(minutes=1, seconds=30), timedelta(minutes=2, seconds=5),
                   timedelta(minutes=4), timedelta(days=1, minutes=2), timedelta(days=1, minutes=4)):
        deliver(T0 + offset)
        sent_after.append(len(mailbox.received))
    assert sent_after == [2, 2, 3, 3, 5, 5]  # 2 a minute, 3 in any 24 hours; nobody skipped as late
    assert statuses() == {(f"{n}@example.com", "sent") for n in ("anna", "ben", "cleo", "dora", "emil")}


def test_a_preset_fills_the_providers_sending_limits(as_olivia):
    page = text_of(as_olivia.post("/settings/email/smtp/preset", {"preset": "gmail", "host": "", "port": ""}, htmx=True))
    assert 'name="limit_per_minute" type="number" value="20"' in page or 'value="20"' in page
    assert 'value="450"' in page


def test_an_event_written_after_its_own_time_still_gets_its_message(olivia, account, mailbox):
    """A shop reports an order ten minutes late, an import commits its rows in chunks: the pass
    that runs after the row is written makes the message, however old the event's own time."""
    from shutterbell import orders
    now = datetime.now(UTC)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abiball", profile_id=None), None)
    use(job, make_profile(olivia.studio, email_notification("customer_registered", audience="potential_buyers"),
                          email_notification("order_placed", audience="buyers")))
    deliver(now - timedelta(minutes=2))  # the pass before the rows below are written
    sign_up(job, "Anna", at=now - timedelta(minutes=10))
    ben = sign_up(job, "Ben", at=now - timedelta(minutes=30))
    orders.record(job, ben, 4890, now - timedelta(minutes=15), paid=False)
    deliver(now + timedelta(seconds=30))
    made = {(m.recipient, m.key.split(":", 3)[3].split(":")[0]) for m in db.session.scalars(sa.select(Message))}
    assert made == {("anna@example.com", "registration"), ("ben@example.com", "order")}
    assert len(mailbox.received) == 2  # Ben bought before the pass: a buyer gets no welcome for potential buyers


def test_a_waiting_message_whose_order_was_paid_meanwhile_is_skipped(olivia, account, mailbox, as_sam):
    """A payment reminder waits for approval; the customer pays; approving it sends nothing."""
    from shutterbell import orders
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abiball", profile_id=None), None)
    use(job, make_profile(olivia.studio, email_notification("days_after_order_unpaid", audience="buyers", days=3,
                                                            requires_approval=True)))
    anna = sign_up(job, "Anna", at=T0)
    order, _ = orders.record(job, anna, 4890, T0, paid=False)
    deliver(datetime(2026, 3, 4, 8, 1, tzinfo=UTC))  # 09:01 in Berlin, 3 days later
    assert statuses() == {("anna@example.com", "awaiting_approval")}
    orders.mark_paid(db.session.get(type(order), order.id), datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    waiting = db.session.scalars(sa.select(Message)).all()
    from shutterbell import messages
    messages.approve(waiting)
    deliver(datetime(2026, 3, 4, 10, 5, tzinfo=UTC))
    message = db.session.scalar(sa.select(Message))
    assert (message.status, message.last_error) == ("skipped", "The order was paid.") and not mailbox.received


def result_cells(page: str, notification: str) -> list[str]:
    """The numbers of a results table's row, as the page shows them (links and all)."""
    table = page[page.index('<table class="table results">'):]
    row = table[table.index(notification):].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_results_show_what_each_notification_delivered_and_what_it_sold(job, mailbox, as_sam, olivia):
    """Four sign-ups get the welcome: Zoë's server refuses it (failed), Łukasz's bounces later, Anna
    and Chloé get it. Anna orders within the week: 1 order per 2 delivered, 50 %. The job page
    shows its own results; another job of the profile counts on the profile's page only."""
    from shutterbell import bounces, orders

    def register(name, address, to=job):
        return customers.register(to, customers.CustomerInput(name, "Wójcik", address, email_consent=True),
                                  "staff", {"email": "ok"}, T0)[0]

    anna = register("Anna", "anna@example.com")
    register("Chloé", "chloe@example.com")
    register("Łukasz", "lukasz@example.com")
    register("Zoë", "zoe@example.com")
    mailbox.rcpt_replies["zoe@example.com"] = ["550 5.1.1 User unknown"]
    deliver(T0 + timedelta(minutes=1))
    welcome_to_lukasz = db.session.scalar(sa.select(Message).where(Message.recipient == "lukasz@example.com"))
    assert bounces.apply(job.studio_id, [bounces.Bounce("lukasz@example.com", "5.1.1", "550 5.1.1 unknown",
                                                        welcome_to_lukasz.message_id)], T0 + timedelta(hours=1)) == 1
    orders.record(job, anna, 4890, T0 + timedelta(days=2), paid=True)  # within a week of the welcome
    orders.record(job, anna, 1000, T0 + timedelta(days=9), paid=True)  # too late to count
    other = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Hort Sternschnuppe", profile_id=job.profile_id), None)
    register("Émile", "emile@example.com", other)
    deliver(T0 + timedelta(minutes=3))  # that hand-over was lost: handed over again

    welcome = "After a customer registered"
    on_profile = result_cells(text_of(as_sam.get(f"/settings/profiles/{job.profile_id}/results")), welcome)
    sent, delivered, bounced, failed, skipped, ordered, rate, revenue = on_profile
    assert (sent, delivered, bounced, failed, skipped, ordered, rate) == ("4", "3", "1", "1", "0", "1", "33%")
    assert "48.90" in revenue
    page = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert result_cells(page, welcome)[:7] == ["3", "2", "1", "1", "0", "1", "50%"]
    assert f'href="/outbox/?status=bounced&amp;job={job.id}"' in page
    quiet = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Leer", profile_id=None), None)
    assert "What it sent, and what sold" not in text_of(as_sam.get(f"/jobs/{quiet.id}"))


def test_a_one_off_message_goes_to_the_chosen_group_now_or_later(job, mailbox, as_sam, olivia):
    from shutterbell import orders
    now = datetime.now(UTC)
    sign_up(job, "Anna", at=now)
    ben = sign_up(job, "Ben", at=now)
    orders.record(job, ben, 1000, now, paid=True)
    form_page = text_of(as_sam.get(f"/outbox/jobs/{job.id}/new"))
    assert "Message to the customers of Kita Sonnenschein" in form_page
    response = as_sam.post(f"/outbox/jobs/{job.id}/new", {"audience": "buyers", "when": "now", "subject": "",
                                                          "body": "Hi {{ customer.vorname }}", "category": "service"})
    assert response.status_code == 422 and "Unknown placeholder" in text_of(response)
    response = as_sam.post(f"/outbox/jobs/{job.id}/new", {"audience": "buyers", "when": "now",
                                                          "subject": "Thank you", "body": "Hi {{ customer.first_name }}",
                                                          "category": "service"})
    assert response.status_code == 302
    later = (now + timedelta(hours=2)).astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%dT%H:%M")
    as_sam.post(f"/outbox/jobs/{job.id}/new", {"audience": "all", "when": "later", "send_at": later,
                                               "subject": "Reminder", "body": "Hello {{ customer.first_name }}",
                                               "category": "marketing"})
    deliver(now + timedelta(minutes=2))  # the buyers' message now; the later one waits

    def sent(subject):
        return {m.recipient for m in db.session.scalars(sa.select(Message).where(
            Message.subject == subject, Message.status == "sent"))}
    assert sent("Thank you") == {"ben@example.com"} and sent("Reminder") == set()
    deliver(now + timedelta(hours=2, minutes=2))
    assert sent("Reminder") == {"anna@example.com", "ben@example.com"}


def test_a_coming_message_cancelled_from_the_timeline_is_never_made(job, mailbox, as_sam):
    now = datetime.now(UTC)
    job.archives_at = (now + timedelta(days=20)).date()
    db.session.commit()
    anna = sign_up(job, "Anna", at=now)
    theirs = f"/jobs/{job.id}/customers/{anna.id}"
    page = text_of(as_sam.get(f"{theirs}/coming", headers={"HX-Request": "true"}))  # her row, opened
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    assert key.endswith(f":{anna.id}:{job.id}:date:job.archives_at:{job.archives_at.isoformat()}")
    assert as_sam.post(f"/outbox/jobs/{job.id}/cancel-ahead", {"key": key}).headers["Location"] == f"/jobs/{job.id}#customers"
    assert 'name="key"' not in text_of(as_sam.get(theirs))  # no longer coming, on her page either
    assert "No message is coming." in text_of(as_sam.get(f"{theirs}/coming", headers={"HX-Request": "true"}))
    again = {"key": key, "customer_id": str(anna.id)}  # from her page, which names her: back there
    assert as_sam.post(f"/outbox/jobs/{job.id}/cancel-ahead", again).headers["Location"] == f"{theirs}#coming"
    elsewhere = {"key": key, "customer_id": str(anna.id + 1000)}  # no customer of this job: the job page
    assert as_sam.post(f"/outbox/jobs/{job.id}/cancel-ahead", elsewhere).headers["Location"] == f"/jobs/{job.id}#customers"
    for forged in ("1:2:3:forged", f"1:{anna.id}:{job.id}:forged", "1:99999999999999999999:3:x", "oneoff:x:1"):
        assert as_sam.post(f"/outbox/jobs/{job.id}/cancel-ahead", {"key": forged}).status_code == 302
    deliver(now + timedelta(minutes=1))
    deliver(now + timedelta(days=14))  # 7 days before archiving has come
    rows = {m.key: m.status for m in db.session.scalars(sa.select(Message))}
    assert rows[key] == "cancelled" and len(rows) == 2  # the welcome, and the cancelled reminder
    assert len(mailbox.received) == 1


def test_a_held_failure_retried_by_hand_meanwhile_is_not_told_as_failed_for_good(job, mailbox, account):
    """The alert of a failure held for the next outcome is told only while the message is still
    failed (the owner may have sent it again, or erased its customer, in the moment between)."""
    zoe = sign_up(job, "Zoë", at=T0)
    zoe.email = "zoe@example.com"
    db.session.commit()
    mailbox.rcpt_replies[zoe.email] = [UNREAD_REFUSAL.format(address=zoe.email, queue_id="4F2A0C")]
    deliver(T0 + timedelta(minutes=1))
    message = db.session.scalar(sa.select(Message))
    assert message.status == "failed" and db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 1
    db.session.execute(sa.delete(Alert))
    in_a_row = RefusedInARow()
    in_a_row.hold(message, diagnostics.classify("smtp", "rcpt", message.last_error), T0 + timedelta(minutes=1))
    assert messages.retry(message)  # the owner's "send again"
    in_a_row.settle()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
