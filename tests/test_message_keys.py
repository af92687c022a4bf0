"""Every key the outbox stores is made and read by message_keys: what Python writes, the
database's SQL writes byte for byte, and parsing gives back what was made."""
from datetime import date

import sqlalchemy as sa

from shutterbell import message_keys
from shutterbell.extensions import db
from shutterbell.message_keys import MessageKey, date_subject, key_sql, occurrence, occurrence_sql
from shutterbell.triggers import Occurrence


def test_a_key_reads_back_as_it_was_made():
    for kind, subject in ((Occurrence.REGISTRATION, 12), (Occurrence.ORDER, 17), (Occurrence.VOUCHER, 3),
                          (Occurrence.DATE_VALUE, date_subject("job.archives_at", date(2026, 4, 2))),
                          (Occurrence.INVOICE, 41), (Occurrence.PAYMENT, 8)):
        for recipient in (message_keys.customer(12), message_keys.contact(12), message_keys.user(12), message_keys.STUDIO):
            key = MessageKey(5, recipient, 9, occurrence(kind, subject))
            parsed = MessageKey.parse(str(key))
            assert parsed == key and parsed.kind is kind
            assert parsed.subject_id == (None if kind is Occurrence.DATE_VALUE else subject)
    assert str(MessageKey(5, "12", 9, "date:job.archives_at:2026-04-02")) == "5:12:9:date:job.archives_at:2026-04-02"
    assert str(MessageKey(5, message_keys.contact(3), 0, "invoice:41")) == "5:c3:0:invoice:41"
    assert message_keys.reaches_no_customer("5:studio:0:payment:8") and message_keys.reaches_no_customer("5:u3:9:assignment:2")
    assert not message_keys.reaches_no_customer("5:12:9:order:1")
    assert (MessageKey.parse("5:u3:9:assignment:2").user_id, MessageKey.parse("5:c3:0:invoice:1").contact_id,
            MessageKey.parse("5:12:9:order:1").customer_id) == (3, 3, 12)
    for foreign in ("5:x3:0:invoice:41", "5:c:0:invoice:41", "5:studios:0:invoice:41"):
        assert MessageKey.parse(foreign) is None


def test_keys_of_no_notification_are_told_apart():
    assert message_keys.is_confirmation(message_keys.confirmation(12))
    assert MessageKey.parse(message_keys.confirmation(12)) is None
    assert MessageKey.parse(message_keys.one_off("a1b2c3", 12)) is None
    assert not message_keys.is_confirmation(str(MessageKey(5, "12", 9, occurrence(Occurrence.ORDER, 17))))


def test_the_database_builds_the_same_key(ctx):
    customer, job = sa.literal(12, sa.Integer), sa.literal(9, sa.Integer)
    built = [db.session.scalar(sa.select(key_sql(5, customer, job, occurrence_sql(Occurrence.ORDER, sa.literal(17))))),
             db.session.scalar(sa.select(key_sql(5, customer, 9, "voucher:3"))),
             db.session.scalar(sa.select(key_sql(5, customer, job, sa.bindparam("o", type_=sa.String))),
                               {"o": "registration:12"})]
    assert built == ["5:12:9:order:17", "5:12:9:voucher:3", "5:12:9:registration:12"]
    contact = message_keys.contact_sql(sa.literal(3, sa.Integer))
    assert db.session.scalar(sa.select(key_sql(5, contact, sa.func.coalesce(sa.null(), 0),
                                               occurrence_sql(Occurrence.INVOICE, sa.literal(41))))) == str(
        MessageKey(5, message_keys.contact(3), 0, occurrence(Occurrence.INVOICE, 41)))
    assert db.session.scalar(sa.select(key_sql(5, message_keys.STUDIO, 9, "payment:8"))) == "5:studio:9:payment:8"
