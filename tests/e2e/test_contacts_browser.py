"""Contacts in Chromium, as staff on a tablet and the owner at a desk: the list's search keeps its
address, a contact's tabs, adding a vendor with a mistake, merging two records and erasing one."""
import re

import pytest
from playwright.sync_api import expect

from shutterbell import accounts, customers, jobs
from shutterbell.models import utcnow

from ..conftest import PASSWORD
from .conftest import DESKTOP, TABLET, screenshot
from .test_pages_tour import check_layout

pytestmark = pytest.mark.e2e


def signed_up(app, owner, people, job_name):
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job = jobs.save_job(studio, None, jobs.JobInput(name=job_name, profile_id=None), None)
        for first, last, email in people:
            customers.register(job, customers.CustomerInput(first, last, email, email_consent=True), "staff",
                               {"email": "ok"}, utcnow())


def mailbox_client(imap_ports, certificate):
    """The test Dovecot's user, signed in, as the studio's mail client would be."""
    import ssl

    from imapclient import IMAPClient

    from ..mailservers import PASSWORD as IMAP_PASSWORD
    from ..mailservers import USERNAME

    client = IMAPClient("127.0.0.1", imap_ports[1], ssl=True,
                        ssl_context=ssl.create_default_context(cafile=str(certificate[0])))
    client.login(USERNAME, IMAP_PASSWORD)
    return client


def synced(app, owner, imap_ports, monkeypatch, certificate) -> int:
    """The owner's studio reads the test Dovecot's INBOX; one sync now. Returns what it stored."""
    from shutterbell import inbox, mailsettings

    from ..conftest import configure_app
    from ..mailservers import PASSWORD as IMAP_PASSWORD
    from ..mailservers import USERNAME

    configure_app(app, monkeypatch, mail_ca_file=str(certificate[0]))
    with app.app_context():
        account = mailsettings.account_of(accounts.authenticate(owner, PASSWORD).studio)
        account.from_address = "hallo@lichtblick.example"
        mailsettings.save_imap(account, mailsettings.ImapInput("127.0.0.1", imap_ports[1], "ssl", USERNAME,
                                                               IMAP_PASSWORD, ["INBOX"]), True, utcnow())
        return inbox.sync(account, utcnow())


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_staff_find_a_client_see_their_jobs_and_add_a_vendor(page_for, live_server, owner, viewport, size):
    app, base_url = live_server
    signed_up(app, owner, [("Jürgen", "Weiß", "juergen@example.com"), ("Zoë", "Wójcik", "zoe@example.com")],
              "Kita Sonnenschein")
    signed_up(app, owner, [("Jürgen", "Weiß", "JUERGEN@example.com")], "Grundschule Süd")
    page = page_for(viewport)
    page.goto(f"{base_url}/")
    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_text("2 contacts")).to_be_visible()
    page.get_by_label("Search").press_sequentially("jürgen", delay=50)  # keys as typed: one missed is not all
    expect(page).to_have_url(re.compile(r"/contacts/\?q=j%C3%BCrgen"))
    expect(page.get_by_text("1 contact", exact=True)).to_be_visible()
    check_layout(page)
    screenshot(page, f"contacts-list-{size}")
    page.reload()  # the search is part of the address
    expect(page.get_by_label("Search")).to_have_value("jürgen")
    page.get_by_role("link", name="Jürgen Weiß").click()
    tabs = page.get_by_role("navigation", name="About this contact")
    tabs.get_by_role("link", name=re.compile("Jobs")).click()
    expect(page.get_by_role("link", name="Kita Sonnenschein")).to_be_visible()
    expect(page.get_by_role("link", name="Grundschule Süd")).to_be_visible()  # one person, two jobs
    check_layout(page)
    screenshot(page, f"contact-jobs-{size}")

    page.goto(f"{base_url}/contacts/new")
    page.get_by_label("Name").fill("Fotolabor Brühl & Söhne")
    page.get_by_label("Kind").select_option("vendor")
    page.get_by_label("Email addresses").fill("auftrag@labor-bruehl.example\nzoe@example.com")
    page.get_by_label("Phone").fill("0221 1234567")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_text("zoe@example.com belongs to Zoë Wójcik already.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Fotolabor Brühl & Söhne")  # nothing typed is lost
    page.get_by_label("Email addresses").fill("auftrag@labor-bruehl.example")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_role("heading", name="Fotolabor Brühl & Söhne")).to_be_visible()
    expect(page.get_by_text("+492211234567")).to_be_visible()
    check_layout(page)
    screenshot(page, f"contact-vendor-{size}")
    assert page.js_errors == []


def test_the_owner_merges_two_records_of_one_person_and_erases_another(page_for, live_server, owner):
    app, base_url = live_server
    signed_up(app, owner, [("Anna", "Schmidt", "anna@example.com"), ("Anna", "S.", "anna.s@work.example"),
                           ("Łukasz", "Nowak", "lukasz@example.com")], "Tanzschule Müller")
    page = page_for(TABLET)
    page.goto(f"{base_url}/contacts/?q=anna%40example")
    page.get_by_role("link", name="Anna Schmidt").click()
    page.get_by_role("navigation", name="About this contact").get_by_role("link", name="Details").click()
    page.get_by_label("The other record of this person").select_option(label="Anna S. · anna.s@work.example")
    page.get_by_role("button", name="Merge into Anna Schmidt").click()
    expect(page.get_by_text("Merged “Anna S.” into “Anna Schmidt”.")).to_be_visible()
    expect(page.get_by_label("Email addresses")).to_have_value("anna@example.com\nanna.s@work.example")
    screenshot(page, "contact-merged-tablet")

    page.goto(f"{base_url}/contacts/?q=nowak")
    page.get_by_role("link", name="Łukasz Nowak").click()
    page.get_by_role("navigation", name="About this contact").get_by_role("link", name="Details").click()
    page.get_by_role("link", name="Erase this person…").click()
    expect(page.get_by_role("heading", name="Erase Łukasz Nowak?")).to_be_visible()
    page.get_by_role("button", name="Erase").click()
    expect(page.get_by_text("Erased.")).to_be_visible()
    expect(page.get_by_text("Łukasz")).to_have_count(0)
    page.goto(f"{base_url}/settings/suppression-list/")
    expect(page.get_by_text("lukasz@example.com")).to_be_visible()
    assert page.js_errors == []


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_synced_mail_shows_on_the_contact_and_a_stranger_becomes_one(page_for, live_server, owner, imap_ports,
                                                                      certificate, monkeypatch, viewport, size):
    from ..test_inbox import mail

    app, base_url = live_server
    signed_up(app, owner, [("Jürgen", "Weiß", f"juergen-{size}@example.com")], f"Kita {size}")
    client = mailbox_client(imap_ports, certificate)
    client.append("INBOX", mail(f"<b-{size}@example.com>", f"Jürgen Weiß <juergen-{size}@example.com>",
                                "hallo@lichtblick.example", "Fotos für Jürgen?",
                                b"Content-Type: text/plain; charset=utf-8\r\n\r\nWann kommen die Bilder? \xe2\x82\xac 20\r\n"))
    client.append("INBOX", mail(f"<s-{size}@example.org>", f"Zoë Wójcik <zoe-{size}@example.org>",
                                "hallo@lichtblick.example", "Anfrage Hochzeit",
                                b"Content-Type: text/plain; charset=utf-8\r\n\r\nHabt ihr im Mai Zeit?\r\n"))
    assert synced(app, owner, imap_ports, monkeypatch, certificate) >= 2

    page = page_for(viewport)
    page.goto(f"{base_url}/contacts/?q=juergen-{size}")
    page.get_by_role("link", name="Jürgen Weiß").click()
    mailbox = page.get_by_role("region", name="From your mailbox")
    expect(mailbox).to_contain_text("Fotos für Jürgen?")
    expect(mailbox).to_contain_text("Wann kommen die Bilder? € 20")
    check_layout(page)
    screenshot(page, f"contact-mailbox-{size}")

    page.goto(f"{base_url}/contacts/")
    page.get_by_role("link", name="Unknown senders").click()
    stranger = page.locator(".mail-list li", has_text=f"zoe-{size}@example.org")
    expect(stranger).to_contain_text("Habt ihr im Mai Zeit?")
    check_layout(page)
    screenshot(page, f"contacts-unknown-senders-{size}")
    stranger.get_by_role("button", name="Make a client").click()
    expect(page.get_by_role("heading", name="Zoë Wójcik")).to_be_visible()
    expect(page.get_by_role("region", name="From your mailbox")).to_contain_text("Anfrage Hochzeit")
    assert page.js_errors == []
    client.select_folder("INBOX")  # the next test's mailbox is as the fixture made it
    client.delete_messages(client.search(["HEADER", "Message-ID", f"-{size}@example"]))
    client.expunge()
    client.logout()


def test_a_hostile_mail_runs_nothing_and_loads_no_tracker_until_asked(page_for, live_server, owner, imap_ports,
                                                                       certificate, monkeypatch):
    """Script, event handlers, javascript: links, remote images: in Chromium nothing runs, the page
    around it stays as it was, and the tracker hears nothing until "Show images"."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ..test_inbox import hostile_mail

    heard = []

    class Tracker(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            heard.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    tracker = ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
    threading.Thread(target=tracker.serve_forever, daemon=True).start()
    raw = hostile_mail("<browser@example.pl>").replace(b"127.0.0.1:9", f"127.0.0.1:{tracker.server_port}".encode())
    app, base_url = live_server
    client = mailbox_client(imap_ports, certificate)
    client.append("INBOX", raw)
    try:
        synced(app, owner, imap_ports, monkeypatch, certificate)
        page = page_for(TABLET)
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{base_url}/contacts/unmatched")
        page.get_by_role("link", name="Angebot").click()
        frame = page.frame_locator("iframe.mail-frame")
        expect(frame.get_by_text("Liebe Grüße aus Łódź")).to_be_visible()
        frame.get_by_text("klick").click()  # a javascript: link, cleaned away
        expect(page.get_by_role("heading", name="Angebot")).to_be_visible()  # the page around it is untouched
        expect(page.get_by_text("Preisliste März.pdf")).to_be_visible()
        check_layout(page)
        screenshot(page, "contact-mail-hostile-tablet")
        assert dialogs == [] and heard == []  # nothing ran, the tracker heard nothing
        page.get_by_role("link", name="Show images").click()
        expect(page.frame_locator("iframe.mail-frame").get_by_text("Galerie")).to_be_visible()
        page.wait_for_timeout(300)
        assert heard and heard[0].startswith("/pixel.png") and dialogs == []
        assert page.js_errors == [], page.js_errors
    finally:
        tracker.shutdown()
        client.select_folder("INBOX")
        client.delete_messages(client.search(["HEADER", "Message-ID", "<browser@example.pl>"]))
        client.expunge()
        client.logout()


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_a_conversation_reads_as_one_and_a_mail_is_filed_and_deleted_on_the_server(
        page_for, live_server, owner, imap_ports, certificate, monkeypatch, viewport, size):
    """Her question, the studio's answer (in the server's \\Sent folder, "Gesendet") and her thanks
    are one conversation on her page; staff mark the thanks read, then delete it to the Trash."""
    from ..test_inbox import mail

    app, base_url = live_server
    who, studio = f"Hélène Dubois <helene-{size}@example.fr>", "hallo@lichtblick.example"
    signed_up(app, owner, [("Hélène", "Dubois", f"helene-{size}@example.fr")], f"Mariage {size}")
    text = "Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n"
    first, answer, thanks = (f"<{n}-{size}@example.fr>" for n in ("q", "a", "t"))
    client = mailbox_client(imap_ports, certificate)
    client.append("INBOX", mail(first, who, studio, "Photos du mariage ?", text.format("Quand ? 📸").encode()))
    client.append("Gesendet", mail(answer, studio, f"helene-{size}@example.fr", "Re: Photos du mariage ?",
                                   text.format("Vendredi, versprochen!").encode(),
                                   extra=f"In-Reply-To: {first}\r\nReferences: {first}\r\n".encode()
                                   ).replace(b"08:00:00", b"08:30:00"))
    client.append("INBOX", mail(thanks, who, studio, "Re: Photos du mariage ?", text.format("Merci beaucoup, à vendredi").encode(),
                                extra=f"In-Reply-To: {answer}\r\nReferences: {first} {answer}\r\n".encode()
                                ).replace(b"08:00:00", b"09:15:00"))
    try:
        assert synced(app, owner, imap_ports, monkeypatch, certificate) >= 3
        page = page_for(viewport)
        page.goto(f"{base_url}/contacts/?q=helene-{size}")
        page.get_by_role("link", name="Hélène Dubois").click()
        conversation = page.get_by_role("region", name="From your mailbox").locator(".threads > li")
        expect(conversation).to_have_count(1)  # three mails, one conversation, the latest on top
        expect(conversation.first).to_contain_text("Merci beaucoup, à vendredi")
        conversation.first.get_by_text("2 earlier messages in this conversation").click()
        expect(conversation.first.get_by_role("group").get_by_role("link", name="Photos du mariage ?",
                                                                     exact=True)).to_be_visible()
        check_layout(page)
        screenshot(page, f"contact-conversation-{size}")

        conversation.first.get_by_role("link", name="Re: Photos du mariage ?").first.click()
        expect(page.get_by_role("region", name="This conversation").locator("li")).to_have_count(3)
        page.get_by_role("button", name="Mark as read").click()
        expect(page.get_by_text("Marked as read.")).to_be_visible()
        expect(page.get_by_role("button", name="Mark as unread")).to_be_visible()
        check_layout(page)
        screenshot(page, f"contact-mail-actions-{size}")
        client.select_folder("INBOX", readonly=True)
        assert all(b"\\Seen" in f for f in client.get_flags(client.search(["HEADER", "Message-ID", thanks])).values())
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_text("Deleted: the mail is in your mailbox’s Trash.")).to_be_visible()
        expect(page.get_by_role("heading", name="Hélène Dubois")).to_be_visible()  # back on her page
        client.select_folder("Papierkorb", readonly=True)
        assert client.search(["HEADER", "Message-ID", thanks])
        assert page.js_errors == []
    finally:
        for folder in ("INBOX", "Gesendet", "Papierkorb"):
            client.select_folder(folder)
            client.delete_messages(client.search(["HEADER", "Message-ID", f"-{size}@example.fr"]))
            client.expunge()
        client.logout()


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_staff_reply_to_a_client_from_her_mail(page_for, live_server, owner, imap_ports, certificate, monkeypatch,
                                               viewport, size):
    """Reply opens the form with "Re:" and her words quoted; a mistake keeps what was typed; the
    sent reply waits in the outbox and shows on her page."""
    from ..test_inbox import mail

    app, base_url = live_server
    address = f"zofia-{size}@example.pl"
    signed_up(app, owner, [("Zofia", "Łukasiewicz", address)], f"Komunia {size}")
    client = mailbox_client(imap_ports, certificate)
    client.append("INBOX", mail(f"<z-{size}@example.pl>", f"Zofia Łukasiewicz <{address}>", "hallo@lichtblick.example",
                                "Zdjęcia z komunii", "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                                "Dzień dobry, kiedy będą zdjęcia?\r\n".encode()))
    try:
        synced(app, owner, imap_ports, monkeypatch, certificate)
        page = page_for(viewport)
        page.goto(f"{base_url}/contacts/?q=zofia-{size}")
        page.get_by_role("link", name="Zofia Łukasiewicz").click()
        page.get_by_role("link", name="Zdjęcia z komunii").click()
        page.get_by_role("link", name="Reply").click()
        expect(page.get_by_label("Subject")).to_have_value("Re: Zdjęcia z komunii")
        expect(page.get_by_label("Message")).to_have_value(re.compile("> Dzień dobry, kiedy będą zdjęcia\\?"))
        page.get_by_label("Message").press("Control+Home")
        page.get_by_label("Message").type("W piątek! Odbitki 12,50 € 📸")
        page.get_by_label("Subject").fill("")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("This field is required.")).to_be_visible()
        expect(page.get_by_label("Message")).to_have_value(re.compile("^W piątek! Odbitki 12,50 € 📸"))  # kept
        check_layout(page)
        screenshot(page, f"contact-write-{size}")
        page.get_by_label("Subject").fill("Re: Zdjęcia z komunii")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("Your email to Zofia Łukasiewicz is on its way.")).to_be_visible()
        sent = page.get_by_role("region", name="Sent by Shutterbell")
        expect(sent.get_by_role("link", name="Re: Zdjęcia z komunii")).to_be_visible()
        assert page.js_errors == []
    finally:
        client.select_folder("INBOX")
        client.delete_messages(client.search(["HEADER", "Message-ID", f"<z-{size}@example.pl>"]))
        client.expunge()
        client.logout()


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_the_owner_words_a_template_and_uses_it_for_a_client(page_for, live_server, owner, viewport, size):
    """The editor previews as it is typed, with the profile editor's placeholders; the write page
    fills the template in for the client."""
    app, base_url = live_server
    signed_up(app, owner, [("Łucja", "Nowak", f"lucja-{size}@example.pl")], f"Sesja {size}")
    page = page_for(viewport)
    page.goto(f"{base_url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Email").click()
    page.get_by_role("link", name="Templates for your own emails").click()
    page.get_by_role("link", name="Session reminder", exact=True).click()
    page.wait_for_url(re.compile(r"/settings/templates/\d+$"))  # loaded: htmx wired the live preview
    # (typed before that, the first input goes unheard)
    page.get_by_label("Message").fill("Dzień dobry {{ customer.first_name }}, do zobaczenia! Odbitki 12,50 € 📸")
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("Dzień dobry Anna, do zobaczenia! Odbitki 12,50 €")  # sample values
    page.get_by_label("Subject").fill("Przypomnienie: {{ job.name }")
    expect(preview).to_contain_text("unexpected")  # a broken placeholder, said at once
    page.get_by_label("Subject").fill("Przypomnienie: {{ job.name }}")
    check_layout(page)
    screenshot(page, f"template-editor-{size}")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Saved “Session reminder”.")).to_be_visible()
    screenshot(page, f"templates-{size}")

    page.goto(f"{base_url}/contacts/?q=lucja-{size}")
    page.get_by_role("link", name="Łucja Nowak").click()
    page.get_by_role("link", name="Write an email").click()
    page.get_by_label("Start from a template").select_option(label="Session reminder")
    page.get_by_role("button", name="Use template").click()
    expect(page.get_by_label("Subject")).to_have_value(f"Przypomnienie: Sesja {size}")
    expect(page.get_by_label("Message")).to_have_value("Dzień dobry Łucja, do zobaczenia! Odbitki 12,50 € 📸")
    check_layout(page)
    screenshot(page, f"contact-write-template-{size}")
    assert page.js_errors == []
