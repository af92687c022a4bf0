"""Email in the languages our studios write, end to end: customers with German, French and
Polish names (and emoji) sign up, the real worker process (`python worker.py`, which imports
flask_mail like the app) builds and sends the profile's email into aiosmtpd, and what arrives is
decoded back and compared with what the studio wrote. Once into a server that offers 8BITMIME,
once into one that does not (it refuses any 8-bit byte)."""
import email
import sys
from email import policy

import pytest
import sqlalchemy as sa

from shutterbell import customers, jobs, mailsettings
from shutterbell.extensions import db
from shutterbell.models import Message, utcnow
from shutterbell.profiles import NotificationInput

from .mailservers import PASSWORD, SENDER, USERNAME
from .test_delivery_faults import Crew
from .test_scheduling import make_profile, use

SENDER_NAME = "Fotostudio Müller & Söhne 📸"
SUBJECT = "Eure Fotos sind da, {{ customer.first_name }} – 20 € Rabatt 🎉"
BODY = ("Hallo {{ customer.first_name }} {{ customer.last_name }},\n\n"
        "die Fotos von {{ job.name }} sind online. Grüße aus Köln, Straße der Spaß-Gesellschaft: 20 € Rabatt!\n"
        "Voilà, l'été est là : vos photos vous attendent, à bientôt.\n"
        "Dziękujemy! Zdjęcia z Łodzi czekają, żółć i gęślą jaźń.\n"
        "\n"
        "Abmelden: {{ unsubscribe_url }}")
PEOPLE = [("Jürgen", "Groß", "juergen@example.de"), ("Éloïse", "Lefèvre", "eloise@example.fr"),
          ("Łukasz", "Wąsowski", "lukasz@example.pl"), ("Zoë", "Ørsted 🌻", "zoe@example.com")]


@pytest.fixture(params=[True, False], ids=["8bitmime", "7bit-only"])
def studio_job(configure, request, app, olivia, server, certificate, monkeypatch):
    mailbox, port = server
    mailbox.offer_8bitmime = request.param
    configure(mail_ca_file=str(certificate[0]))
    given = mailsettings.SmtpInput("127.0.0.1", port, "starttls", USERNAME, PASSWORD, SENDER, SENDER_NAME, "")
    mailsettings.save_smtp(mailsettings.account_of(olivia.studio), given, True, utcnow())
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abschlussball Gymnasium Düsseldorf",
                                                           profile_id=None), None)
    use(job, make_profile(olivia.studio, NotificationInput(trigger="customer_registered", days=None,
                                                           audience="potential_buyers", channel="email",
                                                           subject=SUBJECT, body=BODY)))
    return app, mailbox, job


def test_umlauts_accents_and_emoji_arrive_as_written_through_the_real_worker(studio_job, certificate):
    app, mailbox, job = studio_job
    assert "flask_mail" in sys.modules  # the app imports it, and so does the worker process
    for first, last, address in PEOPLE:
        customers.add(job, customers.CustomerInput(first, last, address, email_consent=True), "staff",
                      {"email": "ok"}, utcnow())
    db.session.commit()

    Crew(app, str(certificate[0])).finish(len(PEOPLE), mailbox, timeout=60)

    rows = {m.recipient: m for m in db.session.scalars(sa.select(Message))}
    assert {m.status for m in rows.values()} == {"sent"}
    assert len(mailbox.received) == len(PEOPLE)
    for raw, options in zip(mailbox.received, mailbox.mail_options):
        if mailbox.offer_8bitmime:
            assert "BODY=8BITMIME" in options
        else:
            assert raw.isascii() and not any(o.startswith("BODY=8") for o in options)
        sent = email.message_from_bytes(raw, policy=policy.default)
        row = rows[sent["To"]]
        first, last, _address = next(p for p in PEOPLE if p[2] == row.recipient)
        assert sent["Subject"] == row.subject == f"Eure Fotos sind da, {first} – 20 € Rabatt 🎉"
        assert sent["From"].addresses[0].display_name == SENDER_NAME
        text, html = sent.get_body(("plain",)), sent.get_body(("html",))
        assert text.get_content().replace("\r\n", "\n").rstrip("\n") == row.body
        assert row.body.startswith(f"Hallo {first} {last},\n\ndie Fotos von Abschlussball Gymnasium Düsseldorf")
        assert "Dziękujemy! Zdjęcia z Łodzi" in row.body and "Voilà, l'été est là" in row.body
        assert "Grüße aus Köln" in html.get_content() and f"Hallo {first} {last}," in html.get_content()
        assert text["Content-Transfer-Encoding"] == ("8bit" if mailbox.offer_8bitmime else "quoted-printable")


def test_a_line_too_long_for_smtp_is_quoted_printable_even_where_8bit_is_offered(bare_ctx):
    from shutterbell.composer import text_part

    long_line = "Übermäßig große Grüße, 20 € " * 50  # 1,500 octets without a line break
    assert text_part(long_line, "plain", eight_bit=True)["Content-Transfer-Encoding"] == "quoted-printable"
    assert text_part("Grüße", "plain", eight_bit=True)["Content-Transfer-Encoding"] == "8bit"
    # U+2028 is no line break on the wire: the line is still too long for 8bit.
    assert text_part("\u2028".join(["Grüße"] * 400), "plain", eight_bit=True)["Content-Transfer-Encoding"] \
        == "quoted-printable"
    assert text_part("Hello", "plain", eight_bit=False)["Content-Transfer-Encoding"] == "7bit"
    part = text_part(long_line, "plain", eight_bit=False)
    assert part.as_bytes().isascii() and part.get_payload(decode=True).decode() == long_line
