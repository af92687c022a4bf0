"""Inbox sync against a real Dovecot on loopback: new mail lands on the right contacts, strangers'
mail waits under Unmatched and moves to a contact made later, reading marks nothing as read, a
second sync adds only what is new, one Message-ID in two folders is one item, and a renumbered
folder (UIDVALIDITY) is read again without doubles. SQLite and PostgreSQL."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient

from shutterbell import contacts, customers, inbox, jobs, mailsettings
from shutterbell.extensions import db
from shutterbell.models import MailCopy, MailItem

from .mailservers import PASSWORD, USERNAME

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
STUDIO = "hallo@lichtblick.example"


def mail(message_id, sender, to, subject, body, extra=b""):
    return (f"Message-ID: {message_id}\r\nFrom: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 02 Mar 2026 08:00:00 +0100\r\n").encode() + extra + b"MIME-Version: 1.0\r\n" + body


QP = (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      b"Hallo, die Abz=C3=BCge f=C3=BCr J=C3=BCrgen kosten 20 =E2=82=AC. Gr=C3=BC=C3=9Fe\r\n")
ALTERNATIVE = (b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n--b1\r\n'
               b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>HTML <b>first</b></p>\r\n--b1\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + __import__("base64").encodebytes("Zoë fragt: wann sind die Bilder fertig? 📸".encode()) +
               b"--b1--\r\n")


@pytest.fixture
def mailbox(configure, imap_ports, certificate):
    """The Dovecot user's folders; what a test adds is removed afterwards."""
    configure(mail_ca_file=str(certificate[0]))
    client = IMAPClient("127.0.0.1", imap_ports[1], ssl=True, ssl_context=mailsettings.tls_context())
    client.login(USERNAME, PASSWORD)
    before = {}
    for folder in ("INBOX", "Sent"):
        client.select_folder(folder)
        before[folder] = set(client.search(["ALL"]))

    def put(folder: str, raw: bytes) -> None:
        client.append(folder, raw, msg_time=T0)

    yield put, client
    for folder in ("INBOX", "Sent"):
        client.select_folder(folder)
        added = [uid for uid in client.search(["ALL"]) if uid not in before[folder]]
        if added:
            client.delete_messages(added)
            client.expunge()
    if client.folder_exists("Archiv"):
        client.delete_folder("Archiv")
    client.logout()


@pytest.fixture
def account(olivia, imap_ports):
    account = mailsettings.account_of(olivia.studio)
    account.from_address = STUDIO
    db.session.add(account)
    mailsettings.save_imap(account, mailsettings.ImapInput("127.0.0.1", imap_ports[1], "ssl", USERNAME, PASSWORD,
                                                           ["INBOX", "Sent"]), True, T0)
    return account


def subjects(items):
    return [item.subject for item in items]


def test_new_mail_lands_on_its_contacts_and_a_stranger_s_waits_for_a_contact(olivia, account, mailbox):
    put, client = mailbox
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Sonnenschein", profile_id=None), None)
    juergen, _ = customers.register(job, customers.CustomerInput("Jürgen", "Weiß", "juergen@example.com",
                                                                 email_consent=True), "staff", {"email": "ok"}, T0)
    put("INBOX", mail("<q1@example.com>", '"=?utf-8?q?J=C3=BCrgen_Wei=C3=9F?=" <Juergen@Example.com>', STUDIO,
                      "=?utf-8?q?Fotos_f=C3=BCr_J=C3=BCrgen?=", QP))
    put("INBOX", mail("<z1@example.org>", "Zoë <zoe@example.org>", STUDIO, "Frage", ALTERNATIVE))
    reply = mail("<r1@lichtblick.example>", STUDIO, "juergen@example.com", "Re: Fotos für Jürgen",
                 b"Content-Type: text/plain; charset=utf-8\r\n\r\nSind unterwegs!\r\n",
                 extra=b"In-Reply-To: <q1@example.com>\r\nReferences: <q1@example.com>\r\n")
    put("Sent", reply)
    put("INBOX", reply)  # the studio copied itself: one email in two folders

    assert inbox.sync(account, T0) >= 3
    contact = db.session.get(contacts.Contact, juergen.contact_id)
    theirs = inbox.mail_of(olivia.studio.id, [a.address for a in contact.addresses])
    assert sorted(subjects(theirs)) == ["Fotos für Jürgen", "Re: Fotos für Jürgen"]
    question = next(item for item in theirs if item.message_id == "<q1@example.com>")
    assert question.from_name == "Jürgen Weiß" and question.from_address == "juergen@example.com"
    assert question.snippet == "Hallo, die Abzüge für Jürgen kosten 20 €. Grüße"
    assert {item.thread_key for item in theirs} == {"<q1@example.com>"}  # one thread
    answer = next(item for item in theirs if item.message_id == "<r1@lichtblick.example>")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailCopy).where(MailCopy.item_id == answer.id)) == 2

    strangers = inbox.unmatched(olivia.studio.id, STUDIO)
    zoe = next(item for item in strangers if item.from_address == "zoe@example.org")
    assert zoe.snippet == "Zoë fragt: wann sind die Bilder fertig? 📸"  # the plain part, not the HTML
    made = contacts.save(olivia.studio, None, contacts.ContactInput("Zoë", emails=["zoe@example.org"]))
    assert "zoe@example.org" not in {item.from_address for item in inbox.unmatched(olivia.studio.id, STUDIO)}
    assert subjects(inbox.mail_of(olivia.studio.id, ["zoe@example.org"])) == ["Frage"]  # no resync needed
    assert made.id

    client.select_folder("INBOX", readonly=True)  # reading marked nothing as read on the server
    flags = client.get_flags(client.search(["HEADER", "Message-ID", "<q1@example.com>"]))
    assert all(b"\\Seen" not in f for f in flags.values())


def test_a_second_sync_reads_only_what_is_new_and_a_renumbered_folder_doubles_nothing(olivia, account, mailbox):
    put, client = mailbox
    account.imap_folders = "INBOX, Archiv"
    db.session.commit()
    client.create_folder("Archiv")
    put("Archiv", mail("<a1@example.com>", "archiv@example.com", STUDIO, "Eins", b"Content-Type: text/plain\r\n\r\n1\r\n"))
    first = inbox.sync(account, T0)
    assert inbox.sync(account, T0) == 0  # nothing new
    put("Archiv", mail("<a2@example.com>", "archiv@example.com", STUDIO, "Zwei", b"Content-Type: text/plain\r\n\r\n2\r\n"))
    assert inbox.sync(account, T0) == 1
    total = db.session.scalar(sa.select(sa.func.count()).select_from(MailItem))

    client.delete_folder("Archiv")  # recreated: a new UIDVALIDITY, the same mail
    client.create_folder("Archiv")
    for n, word in ((1, "Eins"), (2, "Zwei")):
        put("Archiv", mail(f"<a{n}@example.com>", "archiv@example.com", STUDIO, word,
                           b"Content-Type: text/plain\r\n\r\nx\r\n"))
    inbox.sync(account, T0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailItem)) == total
    assert first >= 1 and sorted(subjects(inbox.mail_of(olivia.studio.id, ["archiv@example.com"]))) == ["Eins", "Zwei"]


def test_an_inbox_that_cannot_be_reached_shows_the_banner_and_loses_nothing(olivia, account):
    from .mailservers import free_port

    account.imap_port = free_port()
    db.session.commit()
    assert inbox.sync(account, T0) == 0
    assert account.imap_failing_since == T0 and account.imap_failure_cause == "connection_refused"


def test_the_worker_syncs_each_studio_once_at_a_time(app, olivia, account, mailbox):
    """The cron job hands out one sync per studio; a second one while the first runs does nothing."""
    from rq import Queue, SimpleWorker

    from shutterbell import queue, tasks

    put, _ = mailbox
    put("INBOX", mail("<w1@example.com>", "worker@example.com", STUDIO, "Über den Worker",
                      b"Content-Type: text/plain; charset=utf-8\r\n\r\nok\r\n"))
    connection = queue.connect(app.config["REDIS_URL"])
    lock = connection.lock(queue.INBOX_SYNC_LOCK.format(olivia.studio_id), timeout=60)
    assert lock.acquire(blocking=False)  # a sync of this studio is running
    rq_queue = Queue(app.config["QUEUE_NAME"], connection=connection)
    job = rq_queue.enqueue(tasks.sync_inbox_of, olivia.studio_id)
    SimpleWorker([rq_queue], connection=connection).work(burst=True, logging_level="WARNING")
    assert job.return_value() == 0
    lock.release()
    queue.current().sync_inbox_of(olivia.studio_id)
    SimpleWorker([rq_queue], connection=connection).work(burst=True, logging_level="WARNING")
    db.session.expire_all()
    assert subjects(inbox.mail_of(olivia.studio.id, ["worker@example.com"])) == ["Über den Worker"]


def test_staff_make_a_stranger_a_vendor_from_the_unknown_senders_list(olivia, account, mailbox, as_sam):
    from .conftest import text_of

    put, _ = mailbox
    put("INBOX", mail("<l1@labor.example>", '"Fotolabor =?utf-8?q?Br=C3=BChl?=" <auftrag@labor.example>', STUDIO,
                      "Ihre Abzüge sind fertig", b"Content-Type: text/plain; charset=utf-8\r\n\r\nAbholbereit.\r\n"))
    inbox.sync(account, T0)
    page = text_of(as_sam.get("/contacts/unmatched"))
    assert "Fotolabor Brühl" in page and "Abholbereit." in page
    item = next(i for i in inbox.unmatched(olivia.studio.id, STUDIO) if i.from_address == "auftrag@labor.example")
    response = as_sam.post(f"/contacts/unmatched/{item.id}", {"kind": "vendor"})
    assert response.status_code == 302
    vendor = contacts.of_address(olivia.studio.id, "auftrag@labor.example")
    assert (vendor.name, vendor.kind) == ("Fotolabor Brühl", "vendor")
    assert "Ihre Abzüge sind fertig" in text_of(as_sam.get(f"/contacts/{vendor.id}"))
    assert "Fotolabor Brühl" not in text_of(as_sam.get("/contacts/unmatched"))


def test_erasing_a_contact_erases_the_mail_stored_with_them(olivia, account, mailbox):
    put, _ = mailbox
    put("INBOX", mail("<e1@example.com>", "Łukasz <lukasz@example.com>", STUDIO, "Prywatne",
                      "Content-Type: text/plain; charset=utf-8\r\n\r\nMój adres: ul. Długa 5\r\n".encode()))
    inbox.sync(account, T0)
    contact = contacts.save(olivia.studio, None, contacts.ContactInput("Łukasz", emails=["lukasz@example.com"]))
    assert subjects(inbox.mail_of(olivia.studio.id, ["lukasz@example.com"])) == ["Prywatne"]
    contacts.erase(contact, T0)
    assert inbox.mail_of(olivia.studio.id, ["lukasz@example.com"]) == []
    assert db.session.scalar(sa.select(MailItem.id).where(MailItem.message_id == "<e1@example.com>")) is None
    assert inbox.sync(account, T0) == 0  # and the next sync does not bring it back


def test_sync_now_hands_the_studio_s_sync_to_a_worker_and_is_limited(app, olivia, account, mailbox, as_sam):
    from rq import Queue

    from shutterbell import queue

    from .conftest import text_of

    rq_queue = Queue(app.config["QUEUE_NAME"], connection=queue.connect(app.config["REDIS_URL"]))
    assert "Not read yet" in text_of(as_sam.get("/contacts/unmatched"))
    inbox.sync(account, T0)
    assert "Last read:" in text_of(as_sam.get("/contacts/unmatched"))
    answers = [as_sam.post("/contacts/sync").status_code for _ in range(7)]
    assert answers == [302] * 6 + [429]  # a button, not a way to hammer the studio's mail server
    assert [job.func_name for job in rq_queue.jobs] == ["shutterbell.tasks.sync_inbox_of"] * 6


def test_without_an_inbox_the_page_says_how_to_get_one(olivia, as_olivia, as_sam):
    from .conftest import text_of

    assert "Set up inbox sync" in text_of(as_olivia.get("/contacts/unmatched"))
    assert "Ask the studio owner to set up inbox sync." in text_of(as_sam.get("/contacts/unmatched"))


TRACKER = "http://127.0.0.1:9/pixel.png?who=olivia"  # a "remote" image: a tracker
HOSTILE_HTML = ('<html><head><style>body { display: none } .x { background: url(http://127.0.0.1:9/css) }</style>'
                '<script>parent.document.body.innerHTML = "hacked"; alert(1)</script></head><body>'
                '<p onclick="alert(2)">Liebe Grüße aus Łódź</p><img src="' + TRACKER + '" onerror="alert(3)">'
                '<a href="javascript:alert(4)">klick</a><a href="https://galerie.example/abc">Galerie</a>'
                '<iframe src="https://evil.example/"></iframe><form action="https://evil.example/"><input></form>'
                '</body></html>')
PDF = "Preisliste für März: 20 €".encode() * 100


def hostile_mail(message_id: str) -> bytes:
    import base64

    body = ('Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n'
            'Content-Type: multipart/alternative; boundary="a"\r\n\r\n--a\r\n'
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            "Liebe Gr=C3=BC=C3=9Fe aus =C5=81=C3=B3d=C5=BA\r\n--a\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n" + HOSTILE_HTML + "\r\n--a--\r\n--m\r\n"
            'Content-Type: application/pdf; name="=?utf-8?q?Preisliste_M=C3=A4rz.pdf?="\r\n'
            'Content-Disposition: attachment; filename="=?utf-8?q?Preisliste_M=C3=A4rz.pdf?="\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(PDF) + b"--m--\r\n"
    return mail(message_id, "Łucja <lucja@example.pl>", STUDIO, "Angebot", body)


def test_an_opened_mail_is_fetched_once_made_harmless_and_its_file_comes_from_the_server(olivia, account, mailbox,
                                                                                          as_sam):
    from .conftest import text_of

    put, client = mailbox
    put("INBOX", hostile_mail("<h1@example.pl>"))
    inbox.sync(account, T0)
    item = db.session.scalar(sa.select(MailItem).where(MailItem.message_id == "<h1@example.pl>"))
    assert item.body_text is None  # nothing but the envelope until someone opens it
    page = text_of(as_sam.get(f"/contacts/mail/{item.id}"))
    assert "Preisliste März.pdf" in page and "1 remote image was left out" in page
    db.session.refresh(item)
    assert item.body_text.strip() == "Liebe Grüße aus Łódź" and "<script" in item.body_html  # kept as sent

    frame = as_sam.get(f"/contacts/mail/{item.id}/frame")
    shown = text_of(frame)
    assert "Liebe Grüße aus Łódź" in shown
    for harmful in ("<script", "alert(", "onclick", "onerror", "javascript:", "<iframe", "<form", "<style",
                    "pixel.png", "display: none"):
        assert harmful not in shown, harmful
    assert 'href="https://galerie.example/abc"' in shown and 'target="_blank"' in shown
    policy = frame.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src 'none';" in policy and "sandbox" in policy
    with_images = as_sam.get(f"/contacts/mail/{item.id}/frame?images=1")
    assert "pixel.png" in text_of(with_images) and "http:" in with_images.headers["Content-Security-Policy"]

    download = as_sam.get(f"/contacts/mail/{item.id}/attachments/0")
    assert download.data == PDF and download.headers["Content-Type"] == "application/octet-stream"
    assert "attachment;" in download.headers["Content-Disposition"] and "Preisliste" in download.headers[
        "Content-Disposition"]
    assert as_sam.get(f"/contacts/mail/{item.id}/attachments/1").status_code == 404
    client.select_folder("INBOX", readonly=True)  # opening marked nothing as read on the server
    flags = client.get_flags(client.search(["HEADER", "Message-ID", "<h1@example.pl>"]))
    assert flags and all(b"\\Seen" not in f for f in flags.values())


def test_odd_mail_a_batch_read_twice_the_app_s_own_account_mail_and_an_erased_person_stop_nothing(
        olivia, account, mailbox):
    """A charset no decoder takes and base64 with stray characters are stored, not fatal; a batch
    read again (a crash before its watermark) doubles nothing; an invitation or reset link the
    app sent through the studio's account is never stored (staff read this mail); and an erased
    person's mail does not come back when the folder is read again."""
    from shutterbell import composer
    from shutterbell.models import MailFolder

    put, _ = mailbox
    put("INBOX", mail("<odd@example.com>", "odd@example.com", STUDIO, "Seltsam",
                      b"Content-Type: text/plain; charset=idna\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                      b"R3L8!w59lIGF1cyBL9mxu\r\n"))
    put("INBOX", mail("<reset@lichtblick.example>", STUDIO, "sam@lichtblick.example", "Reset your password",
                      b"Content-Type: text/plain\r\n\r\nhttps://photos.example/reset/SECRET\r\n",
                      extra=f"{composer.SERVICE_HEADER}: account\r\n".encode()))
    put("INBOX", mail("<gdpr@example.com>", "Erika <erika@example.com>", STUDIO, "Bitte löschen",
                      b"Content-Type: text/plain\r\n\r\nx\r\n"))
    inbox.sync(account, T0)
    assert account.imap_failing_since is None
    assert subjects(inbox.mail_of(olivia.studio.id, ["odd@example.com"])) == ["Seltsam"]
    assert db.session.scalar(sa.select(MailItem.id).where(MailItem.message_id == "<reset@lichtblick.example>")) is None
    erika = contacts.save(olivia.studio, None, contacts.ContactInput("Erika", emails=["erika@example.com"]))
    contacts.erase(erika, T0)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(MailItem))

    db.session.execute(sa.update(MailFolder).values(last_uid=0))  # read everything again
    db.session.commit()
    inbox.sync(account, T0)
    assert account.imap_failing_since is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailItem)) == total  # nothing doubled
    assert inbox.mail_of(olivia.studio.id, ["erika@example.com"]) == []  # and Erika stays erased
