"""The worker's one hand-built statement (outbox/outcomes.py: record) writes what the ORM would,
on SQLite and PostgreSQL: every kind of column, times in UTC, text in any script."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shutterbell.extensions import db
from shutterbell.models import Message
from shutterbell.outbox.outcomes import record

NOW = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone.utc)  # the night the clocks change in Berlin


def a_message(studio_id: int, status: str = "sending") -> Message:
    message = Message(studio_id=studio_id, key=f"test:{status}", channel="email", recipient="jörg@example.de",
                      subject="Ihre Fotos", body="Grüße", due_at=NOW - timedelta(hours=1), status=status,
                      attempts=1, lease_until=NOW + timedelta(minutes=10), created_at=NOW - timedelta(hours=1))
    db.session.add(message)
    db.session.commit()
    return message


def test_an_outcome_reads_back_exactly_as_written(olivia):
    message = a_message(olivia.studio_id)
    values = {"status": "scheduled", "lease_until": None, "enqueued_at": None, "attempts": 2,
              "next_attempt_at": NOW + timedelta(minutes=2), "sent_at": NOW,
              "last_error": "550 5.1.1 Postfach unbekannt – Łódź, €, 📷", "cause": "mailbox_unavailable"}
    record(message, **values)
    assert {name: getattr(message, name) for name in values} == values  # the object says so at once
    db.session.expire_all()
    stored = db.session.get(Message, message.id)
    assert {name: getattr(stored, name) for name in values} == values  # and so does the database
    assert stored.next_attempt_at.utcoffset() == timedelta(0)


def test_an_outcome_changes_only_a_row_still_in_the_expected_state(olivia):
    message = a_message(olivia.studio_id)
    db.session.execute(sa.update(Message).where(Message.id == message.id).values(status="cancelled"))
    db.session.commit()  # cancelled meanwhile, say from the job's timeline
    record(message, status="sent", sent_at=NOW)
    db.session.expire_all()
    stored = db.session.get(Message, message.id)
    assert (stored.status, stored.sent_at) == ("cancelled", None)
