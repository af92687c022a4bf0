"""Inbox sync against a real Dovecot on loopback: new mail lands on the right contacts, strangers'
mail waits under Unmatched and moves to a contact made later, reading marks nothing as read, a
second sync adds only what is new, one Message-ID in two folders is one item, and a renumbered
folder (UIDVALIDITY) is read again without doubles. SQLite and PostgreSQL."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient

from shutterbell import contacts, customers, inbox, jobs, mail_bodies, mailsettings
from shutterbell.extensions import db
from shutterbell.models import MailCopy, MailItem

from .mailservers import PASSWORD, USERNAME

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
STUDIO = "hallo@lichtblick.example"
FOLDERS = ("INBOX", "Sent", "Gesendet", "Papierkorb")  # the last two flagged \\Sent and \\Trash


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
    for folder in FOLDERS:
        client.select_folder(folder)
        before[folder] = set(client.search(["ALL"]))

    def put(folder: str, raw: bytes) -> None:
        client.append(folder, raw, msg_time=T0)

    yield put, client
    for folder in FOLDERS:
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
    assert inbox.sync(account, T0) == 1, (account.imap_failure_cause, account.imap_failure_detail)
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


def uid_of(client, folder: str, message_id: str, readonly: bool = True) -> list[int]:
    client.select_folder(folder, readonly=readonly)
    return client.search(["HEADER", "Message-ID", message_id])


def item_of(message_id: str) -> MailItem | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(MailItem).where(MailItem.message_id == message_id))


@pytest.mark.parametrize("condstore", [True, False], ids=["condstore", "all-flags"])
def test_what_the_studio_does_in_its_own_mail_client_shows_after_the_next_sync(olivia, account, mailbox,
                                                                             monkeypatch, condstore):
    """Read in Thunderbird, moved to another synced folder, deleted: the app follows. The Sent
    folder is read though only INBOX is configured: the server flags it \\\\Sent (Dovecot's
    "Gesendet", as German providers name it). With CONDSTORE only changed flags are fetched;
    servers without it (Microsoft 365) have every stored UID's flags read again."""
    if not condstore:
        monkeypatch.setattr(inbox, "_enable_condstore", lambda client: False)
    put, client = mailbox
    account.imap_folders = "INBOX, Archiv"
    db.session.commit()
    client.create_folder("Archiv")
    text = "Content-Type: text/plain; charset=utf-8\r\n\r\nDie Abzüge kosten 12,50 €.\r\n".encode()
    for n in (1, 2, 3):
        put("INBOX", mail(f"<t{n}@example.de>", "Grzegorz Brzęczyszczykiewicz <grzegorz@example.pl>", STUDIO,
                          f"Zamówienie {n} – Abzüge", text))
    put("Gesendet", mail("<s1@lichtblick.example>", STUDIO, "grzegorz@example.pl", "Re: Zamówienie 1 – Abzüge",
                         "Content-Type: text/plain; charset=utf-8\r\n\r\nDziękujemy! 📸\r\n".encode(),
                         extra=b"In-Reply-To: <t1@example.de>\r\n"))
    inbox.sync(account, T0)
    assert sorted(subjects(inbox.mail_of(olivia.studio.id, ["grzegorz@example.pl"]))) == [
        "Re: Zamówienie 1 – Abzüge", "Zamówienie 1 – Abzüge", "Zamówienie 2 – Abzüge", "Zamówienie 3 – Abzüge"]
    moved = item_of("<t2@example.de>")
    moved_id, moved.body_text = moved.id, "kept text"
    db.session.commit()
    assert item_of("<t1@example.de>").seen is False

    client.add_flags(uid_of(client, "INBOX", "<t1@example.de>", False), [b"\\Seen"])  # read in the mail client
    client.move(uid_of(client, "INBOX", "<t2@example.de>", False), "Archiv")
    client.delete_messages(uid_of(client, "INBOX", "<t3@example.de>", False))
    client.expunge()
    assert inbox.sync(account, T0) == 0  # nothing new: the same mail, changed

    assert item_of("<t1@example.de>").seen is True
    assert item_of("<t3@example.de>") is None  # deleted on the server
    archived = item_of("<t2@example.de>")  # moved: the same item, its kept text, in its new folder
    assert (archived.id, archived.body_text) == (moved_id, "kept text")
    assert [copy.name for copy in mail_bodies.copies_of(archived)] == ["Archiv"]

    client.remove_flags(uid_of(client, "INBOX", "<t1@example.de>", False), [b"\\Seen"])  # and unread again
    inbox.sync(account, T0)
    assert item_of("<t1@example.de>").seen is False


def test_read_move_and_delete_in_the_app_do_the_same_on_the_server(olivia, account, mailbox, as_sam):
    from .conftest import text_of

    put, client = mailbox
    account.imap_folders = "INBOX, Archiv"
    db.session.commit()
    client.create_folder("Archiv")
    juergen = contacts.save(olivia.studio, None, contacts.ContactInput("Jürgen Weiß", emails=["juergen@example.com"]))
    put("INBOX", mail("<m1@example.com>", "juergen@example.com", STUDIO, "Hochzeit in Köln",
                      "Content-Type: text/plain; charset=utf-8\r\n\r\nWir freuen uns sehr!\r\n".encode()))
    inbox.sync(account, T0)
    item = item_of("<m1@example.com>")
    page = text_of(as_sam.get(f"/contacts/mail/{item.id}"))
    assert "Mark as read" in page and "Archiv" in page and "Jürgen Weiß" in page  # the way back to him

    assert as_sam.post(f"/contacts/mail/{item.id}/seen", {"seen": "1"}).status_code == 302
    assert item_of("<m1@example.com>").seen is True
    assert all(b"\\Seen" in f for f in client.get_flags(uid_of(client, "INBOX", "<m1@example.com>")).values())
    as_sam.post(f"/contacts/mail/{item.id}/seen", {"seen": "0"})
    assert all(b"\\Seen" not in f for f in client.get_flags(uid_of(client, "INBOX", "<m1@example.com>")).values())
    assert "Mark as read" in text_of(as_sam.get(f"/contacts/mail/{item.id}"))

    refused = as_sam.post(f"/contacts/mail/{item.id}/move", {"folder": "Papierkorb"}, follow_redirects=True)
    assert "did not take the change" in text_of(refused)  # only synced folders: elsewhere it would vanish here
    assert uid_of(client, "INBOX", "<m1@example.com>")
    assert as_sam.post(f"/contacts/mail/{item.id}/move", {"folder": "Archiv"}).status_code == 302
    assert not uid_of(client, "INBOX", "<m1@example.com>") and uid_of(client, "Archiv", "<m1@example.com>")
    inbox.sync(account, T0)  # the one the move started, run here
    assert [copy.name for copy in mail_bodies.copies_of(item_of("<m1@example.com>"))] == ["Archiv"]
    assert item_of("<m1@example.com>").id == item.id

    item_id = item.id
    assert as_sam.post(f"/contacts/mail/{item.id}/delete").headers["Location"].endswith(f"/contacts/{juergen.id}")
    assert item_of("<m1@example.com>") is None
    assert not uid_of(client, "Archiv", "<m1@example.com>") and uid_of(client, "Papierkorb", "<m1@example.com>")
    inbox.sync(account, T0)
    assert item_of("<m1@example.com>") is None  # the Trash is not synced: it stays gone here
    assert as_sam.post(f"/contacts/mail/{item_id}/seen", {"seen": "1"}).status_code == 404


def test_a_connection_dropped_mid_sync_resumes_with_nothing_missing_or_doubled(olivia, account, mailbox, imap_ports,
                                                                              monkeypatch):
    """The server's process for the sync's connection is killed when the second batch is asked
    for (while the first is stored): what was committed stays, the banner says the inbox failed,
    and the next sync reads the rest once."""
    import os
    import signal

    import psutil

    put, _ = mailbox
    text = "Content-Type: text/plain; charset=utf-8\r\n\r\nÀ bientôt, Hélène\r\n".encode()
    for n in range(1, 8):
        put("INBOX", mail(f"<d{n}@example.fr>", "Hélène Dubois <helene@example.fr>", STUDIO, f"Séance photo n°{n}", text))
    monkeypatch.setattr(inbox, "BATCH", 2)
    ask = inbox._ask

    def ask_after_the_server_died(client, uids):
        if uids[0] > 2:  # the first batch is read: kill whatever serves this connection
            port = client.socket().getsockname()[1]
            for connection in psutil.net_connections("tcp"):
                if connection.raddr and connection.raddr.port == port and connection.laddr.port == imap_ports[1]:
                    os.kill(connection.pid, signal.SIGKILL)
        return ask(client, uids)

    monkeypatch.setattr(inbox, "_ask", ask_after_the_server_died)
    inbox.sync(account, T0)
    assert account.imap_failing_since is not None
    assert subjects(inbox.mail_of(olivia.studio.id, ["helene@example.fr"])) == ["Séance photo n°1"]  # batch 1 kept
    monkeypatch.setattr(inbox, "_ask", ask)
    assert inbox.sync(account, T0) == 6
    assert account.imap_failing_since is None
    theirs = inbox.mail_of(olivia.studio.id, ["helene@example.fr"])
    assert sorted(subjects(theirs)) == [f"Séance photo n°{n}" for n in range(1, 8)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailCopy).where(
        MailCopy.item_id.in_([item.id for item in theirs]))) == 7


def test_the_list_line_of_each_mail_comes_from_its_first_text_wherever_it_sits(olivia, account, mailbox):
    """The sync reads headers and the first 2 KB of the body, never the whole mail: the snippet
    is found in nested parts, past a photo attached first, in HTML without its cut-off styles;
    a mail without a Date is placed when the server received it, and one without a Message-ID is
    kept too."""
    put, _ = mailbox
    nested = (b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\nThis is a MIME message.\r\n--outer\r\n'
              b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n--inner\r\n'
              b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
              b"Gr=FC=DFe aus M=FCnchen\r\n--inner\r\nContent-Type: text/html\r\n\r\n<p>HTML</p>\r\n--inner--\r\n"
              b"--outer\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
              b"JVBERi0=\r\n--outer--\r\n")
    photo_first = (b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\nContent-Type: image/jpeg\r\n'
                   b"Content-Disposition: attachment; filename=bild.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   b"/9j/4AAQ\r\n--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                   + "Anbei das Foto – Łukasz".encode() + b"\r\n--m--\r\n")
    styled = (b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p { color: red; }"
              + b" .x { margin: 0 }" * 150 + b"</style></head><body><p>Unreachable</p></body></html>\r\n")
    undated = (b"Message-ID: <undated@example.com>\r\nFrom: ohne-datum@example.com\r\nTo: " + STUDIO.encode()
               + b"\r\nSubject: Ohne Datum\r\nContent-Type: text/plain\r\n\r\nHallo\r\n")
    no_id = (b"From: keine-id@example.com\r\nTo: " + STUDIO.encode() + b"\r\nSubject: Ohne ID\r\n"
             b"Date: Tue, 03 Mar 2026 10:00:00 +0100\r\n\r\nHallo\r\n")
    put("INBOX", mail("<nested@example.de>", "nested@example.de", STUDIO, "Verschachtelt", nested))
    put("INBOX", mail("<photo@example.pl>", "photo@example.pl", STUDIO, "Foto", photo_first))
    put("INBOX", mail("<styled@example.fr>", "styled@example.fr", STUDIO, "Stil", styled))
    put("INBOX", undated)
    put("INBOX", no_id)
    inbox.sync(account, T0)
    assert item_of("<nested@example.de>").snippet == "Grüße aus München"
    assert item_of("<photo@example.pl>").snippet == "Anbei das Foto – Łukasz"
    assert item_of("<styled@example.fr>").snippet == ""  # the styles, cut off, are no text to show
    assert item_of("<undated@example.com>").sent_at == T0  # when the server received it
    kept = inbox.mail_of(olivia.studio.id, ["keine-id@example.com"])
    assert [(m.subject, m.sent_at) for m in kept] == [("Ohne ID", datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc))]
    assert inbox.sync(account, T0) == 0  # and it is not read again


def test_a_first_sync_shows_how_far_it_got(olivia, account, mailbox, monkeypatch, as_sam):
    from shutterbell.models import MailFolder

    from .conftest import text_of

    put, _ = mailbox
    for n in range(1, 6):
        put("INBOX", mail(f"<p{n}@example.de>", "Grüße <gruesse@example.de>", STUDIO, f"Nr. {n} – Abzüge 12 €",
                          b"Content-Type: text/plain\r\n\r\nx\r\n"))
    monkeypatch.setattr(inbox, "BATCH", 2)
    seen = []
    store = inbox._store

    def store_and_look(folder, fetched):
        stored = store(folder, fetched)
        db.session.commit()
        seen.append(inbox.first_sync_progress(olivia.studio_id))
        return stored

    monkeypatch.setattr(inbox, "_store", store_and_look)
    assert inbox.first_sync_progress(olivia.studio_id) is None  # not started: the page says when it will
    inbox.sync(account, T0)
    assert seen[:3] == [(2, 6), (4, 6), (6, 6)]  # the fixture's first mail and these five, in batches of two
    assert inbox.first_sync_progress(olivia.studio_id) is None  # read to the end
    assert "Your mailbox has been read" in text_of(as_sam.get("/contacts/sync-progress"))
    db.session.execute(sa.update(MailFolder).values(synced_at=None))  # as if still reading
    db.session.commit()
    page = text_of(as_sam.get("/contacts/unmatched"))
    assert "Reading your mailbox for the first time: 6 of 6 emails" in page and 'hx-trigger="every 3s"' in page


def test_mail_crafted_to_stop_the_sync_is_stored_and_the_sync_goes_on(olivia, account, mailbox):
    """Anyone can send these: a Date in the year 9999 west of UTC, no address in To or From, a NUL
    in an encoded subject and body. Each is stored, none stops the studio's sync (PostgreSQL
    refuses NUL in text). Automated mail sent from the studio's own address before the app marked
    its own stays out; a client's auto-reply is kept."""
    put, _ = mailbox
    text = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nA=00B\r\n"
    put("INBOX", mail("<far@example.com>", "zukunft@example.com", STUDIO, "Ferne Zukunft", text)
        .replace(b"Mon, 02 Mar 2026 08:00:00 +0100", b"Fri, 31 Dec 9999 23:00:00 -0500"))
    put("INBOX", b"Message-ID: <nobody@example.com>\r\nFrom: Nobody\r\nTo: undisclosed-recipients:;\r\n"
                 b"Subject: =?utf-8?q?Null=00Byte_=C3=BC?=\r\n\r\n" + b"x" * 10)
    put("Gesendet", mail("<old-auto@lichtblick.example>", STUDIO, "kunde@example.com", "Ihre Fotos sind online",
                         b"Content-Type: text/plain\r\n\r\nLink\r\n", extra=b"Auto-Submitted: auto-generated\r\n"))
    put("INBOX", mail("<away@example.fr>", "Hélène <helene@example.fr>", STUDIO, "Absence", text,
                      extra=b"Auto-Submitted: auto-replied\r\n"))
    put("INBOX", mail("<after@example.com>", "danach@example.com", STUDIO, "Danach", b"\r\nok\r\n"))
    inbox.sync(account, T0)
    assert account.imap_failing_since is None, account.imap_failure_detail
    assert item_of("<far@example.com>").snippet == "A B" and item_of("<far@example.com>").sent_at == T0
    assert item_of("<nobody@example.com>").subject == "Null Byte ü"
    assert item_of("<old-auto@lichtblick.example>") is None  # the app's own, from before it said so
    assert item_of("<away@example.fr>") is not None and item_of("<after@example.com>") is not None


def test_fetch_answers_are_read_from_their_lines_and_literals_or_left_to_imapclient():
    """The shapes servers send: UID after the literals, an empty body as "" or NIL, an unsolicited
    flag change without UID among them; a section sent as a quoted string is IMAPClient's to read."""
    header = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n"
    rows = inbox._rows([
        (b'7 (FLAGS (\\Seen $Forwarded) BODY[HEADER.FIELDS (SUBJECT)] {%d}' % len(header), header),
        (b" BODY[TEXT]<0> {12}", "Grüße €\r\n".encode()[:12]), b" UID 41)",
        b"8 (FLAGS (\\Deleted))",
        (b'9 (UID 43 FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {%d}' % len(header), header), b' BODY[TEXT]<0> "")',
        (b'10 (UID 44 BODY[HEADER.FIELDS (SUBJECT)] {%d}' % len(header), header), b" BODY[TEXT]<0> NIL)",
        b"10 (UID 44 FLAGS (\\Seen))",  # read meanwhile, told unasked: the mail is kept, with the new flag
        None])
    assert rows == {
        41: {b"FLAGS": (b"\\Seen", b"$Forwarded"), b"BODY[HEADER.FIELDS (SUBJECT)]": header,
             b"BODY[TEXT]<0>": "Grüße €\r\n".encode()[:12], b"UID": 41},
        43: {b"UID": 43, b"FLAGS": (), b"BODY[HEADER.FIELDS (SUBJECT)]": header, b"BODY[TEXT]<0>": b""},
        44: {b"UID": 44, b"BODY[HEADER.FIELDS (SUBJECT)]": header, b"BODY[TEXT]<0>": b"", b"FLAGS": (b"\\Seen",)}}
    assert inbox._rows([b'5 (UID 45 BODY[TEXT]<0> "Hallo")']) is None
    assert inbox._rows([b" UID 46)"]) is None
