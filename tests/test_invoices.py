"""Invoices: drafts typed as a German studio types amounts, tax rounded per line, gap-free numbers
(also when two are issued at once), payments that never exceed what is open, voiding, the print
view, and erasure that keeps what the law keeps. On SQLite and PostgreSQL."""
import threading
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from shutterbell import contacts, invoices
from shutterbell.extensions import db
from shutterbell.models import Contact, Invoice, InvoiceCounter, Payment, utcnow
from shutterbell.validation import Invalid

from .conftest import text_of
from .test_api import api  # noqa: F401 (a fixture)
from .test_contacts import job_named, sign_up

LINES = {  # what Olivia types: German numbers, a discount, two tax rates
    "lines-0-description": "Hochzeitsreportage – 8 Stunden", "lines-0-quantity": "1",
    "lines-0-unit_price": "1.890,00", "lines-0-tax_rate": "19",
    "lines-1-description": "Abzüge 13×18 cm", "lines-1-quantity": "3", "lines-1-unit_price": "4,99",
    "lines-1-tax_rate": "7",
    "lines-2-description": "Rabatt für Freunde 💛", "lines-2-quantity": "1", "lines-2-unit_price": "-50",
    "lines-2-tax_rate": "19",
    "lines-3-description": "", "lines-3-quantity": "1", "lines-3-unit_price": "", "lines-3-tax_rate": "",
}


@pytest.fixture
def client(olivia):
    return contacts.save(olivia.studio, None, contacts.ContactInput("Jürgen Weiß", emails=["juergen@example.com"],
                                                                    company="Weiß & Söhne"))


def draft(studio, contact, *lines, due_on=None):
    return invoices.save(studio, None, invoices.InvoiceInput(
        contact.id, currency="EUR", due_on=due_on,
        lines=[invoices.LineInput(*line) for line in lines] or [invoices.LineInput("Porträt", "1", "100,00", "0")]))


def test_a_draft_typed_in_german_adds_up_with_tax_rounded_per_line(olivia, client, as_sam):
    job = job_named(olivia.studio, "Hochzeit Weiß")
    page = text_of(as_sam.get(f"/invoices/new?contact={client.id}&job={job.id}"))
    assert "New invoice" in page
    response = as_sam.post("/invoices/new", {"contact_id": str(client.id), "job_id": str(job.id), "currency": "EUR",
                                             "issued_on": "", "due_on": "", "notes": "Danke! IBAN DE02 1203 0000 0000 2020 51",
                                             **LINES})
    assert response.status_code == 302
    invoice = db.session.scalar(sa.select(Invoice))
    assert (invoice.status, invoice.number, invoice.job_id) == ("draft", None, job.id)
    # 1,890.00 + 359.10 tax; 3 x 4.99 = 14.97 + 1.0479 -> 1.05 tax; -50.00 - 9.50 tax
    totals = invoices.totals(invoice.lines)
    assert (totals.net, totals.taxes, totals.total) == (
        Decimal("1854.97"), [(Decimal("7"), Decimal("1.05")), (Decimal("19"), Decimal("349.60"))], Decimal("2205.62"))
    assert invoice.total == Decimal("2205.62") and [line.description for line in invoice.lines][2] == "Rabatt für Freunde 💛"
    page = text_of(as_sam.get(f"/invoices/{invoice.id}"))
    assert "2.205,62\xa0€" in page and "Draft for Jürgen Weiß" in page and "1.890,00" in page  # typed as typed
    preview = text_of(as_sam.get(f"/invoices/{invoice.id}/print"))
    assert "Draft invoice" in preview and "349,60\xa0€" in preview and "-50,00\xa0€" in preview


def test_bad_input_comes_back_with_the_field_named_and_nothing_saved(olivia, otto, client, as_sam):
    strangers = contacts.save(otto.studio, None, contacts.ContactInput("Fremd", emails=["fremd@example.com"]))
    bad = {**LINES, "lines-1-unit_price": "zwölf", "lines-2-tax_rate": "150"}
    response = as_sam.post("/invoices/new", {"contact_id": str(strangers.id), "currency": "EUR",
                                             "issued_on": "2026-12-10", "due_on": "2026-12-01", **bad},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    page = text_of(response)
    for message in ("Choose the client this invoice is for.", "The due date cannot be before the issue date.",
                    "Enter a price like 120.00", "Enter a tax rate in percent"):
        assert message in page
    assert "zwölf" in response.get_data(as_text=True)  # what was typed stays in the form
    no_lines = as_sam.post("/invoices/new", {"contact_id": str(client.id), "currency": "EURO"})
    assert no_lines.status_code == 422 and "Add at least one line." in text_of(no_lines)
    assert "Enter a currency code" in text_of(no_lines)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 0


def test_numbers_have_no_gaps_drafts_take_none_and_a_void_one_keeps_its_own(olivia, client, as_olivia, as_sam):
    first, dropped, second = (draft(olivia.studio, client) for _ in range(3))
    assert as_sam.post(f"/invoices/{first.id}/issue").status_code == 302
    assert as_sam.post(f"/invoices/{dropped.id}/delete").status_code == 302
    assert as_sam.post(f"/invoices/{second.id}/issue").status_code == 302
    db.session.expire_all()
    assert [(i.number, i.status) for i in db.session.scalars(sa.select(Invoice).order_by(Invoice.id))] == [
        (1, "issued"), (2, "issued")]
    assert db.session.get(Invoice, first.id).due_on == db.session.get(Invoice, first.id).issued_on + invoices.DEFAULT_TERM
    assert as_sam.post(f"/invoices/{first.id}/delete").status_code == 302  # refused, said so
    assert db.session.get(Invoice, first.id) is not None
    assert as_sam.post(f"/invoices/{first.id}/void").status_code == 403  # the owner's
    assert as_olivia.post(f"/invoices/{first.id}/void").status_code == 302
    third = draft(olivia.studio, client)
    invoices.issue(third, date(2026, 12, 3))
    assert (db.session.get(Invoice, first.id).status, third.number) == ("void", 3)
    with pytest.raises(Invalid):
        invoices.save(olivia.studio, third, invoices.InvoiceInput(client.id, currency="EUR"))  # issued: fixed


@pytest.mark.parametrize("same", [False, True], ids=["four drafts", "one draft four times"])
def test_invoices_issued_at_the_same_moment_get_a_number_each(app, olivia, client, same):
    """Staff press Issue at once (requests on their own connections): four drafts get 1 to 4,
    never one number twice; one draft pressed four times (tabs, a double click) gets 1, once,
    and the counter loses nothing."""
    ids, studio_id = [draft(olivia.studio, client).id for _ in range(1 if same else 4)], olivia.studio_id
    ids = ids * 4 if same else ids
    db.session.remove()
    barrier, failures = threading.Barrier(len(ids)), []

    def issue(invoice_id):
        with app.app_context():
            try:
                barrier.wait()
                invoices.issue(db.session.get(Invoice, invoice_id), date(2026, 12, 3))
            except Exception as exc:  # noqa: BLE001 (reported below)
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue, args=(invoice_id,)) for invoice_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    numbers = sorted(db.session.scalars(sa.select(Invoice.number)))
    if same:
        assert numbers == [1] and len(failures) == 3 and all(isinstance(f, Invalid) for f in failures), failures
    else:
        assert failures == [] and numbers == [1, 2, 3, 4]
    assert db.session.get(InvoiceCounter, studio_id).last_number == len(numbers)


def test_payments_add_up_exactly_and_never_exceed_what_is_open(olivia, client, as_sam):
    invoice = draft(olivia.studio, client, ("Porträtsitzung", "1", "100,00", "0"))
    refused = as_sam.post(f"/invoices/{invoice.id}/payments", {"amount": "10", "paid_on": "2026-12-03",
                                                               "method": "cash"})
    assert refused.status_code == 302
    assert "Payments are recorded for issued invoices" in text_of(as_sam.get(refused.headers["Location"]))
    invoices.issue(invoice, date(2026, 12, 3))
    for amount in ("33,33", "33,33"):
        assert as_sam.post(f"/invoices/{invoice.id}/payments", {"amount": amount, "paid_on": "2026-12-04",
                                                                "method": "bank_transfer"}).status_code == 302
    too_much = as_sam.post(f"/invoices/{invoice.id}/payments", {"amount": "33,35", "paid_on": "2026-12-05",
                                                                "method": "cash"})
    assert too_much.status_code == 422 and "Only 33,34\xa0€ is open on this invoice." in text_of(too_much)
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "partly_paid"
    assert as_sam.post(f"/invoices/{invoice.id}/payments", {"amount": "33,34", "paid_on": "2026-12-05",
                                                            "method": "cash"}).status_code == 302
    db.session.expire_all()
    paid = db.session.get(Invoice, invoice.id)
    assert (paid.status, paid.paid, paid.open) == ("paid", Decimal("100.00"), Decimal("0.00"))
    assert paid.paid_at is not None and len(paid.payments) == 3
    page = text_of(as_sam.get(f"/invoices/{invoice.id}"))
    assert "Paid" in page and "Record payment" not in page
    with pytest.raises(Invalid):
        invoices.void(paid, utcnow())  # money came in: no voiding


def test_two_payments_at_once_cannot_pay_more_than_the_total(app, olivia, client):
    invoice = draft(olivia.studio, client, ("Fotobuch", "1", "80,00", "0"))
    invoices.issue(invoice, date(2026, 12, 3))
    invoice_id = invoice.id
    db.session.remove()
    barrier, outcomes = threading.Barrier(2), []

    def pay():
        with app.app_context():
            try:
                barrier.wait()
                invoices.record_payment(db.session.get(Invoice, invoice_id),
                                        invoices.PaymentInput("60", date(2026, 12, 4), "card"), utcnow())
                outcomes.append("paid")
            except Invalid:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["paid", "refused"]
    assert db.session.get(Invoice, invoice_id).paid == Decimal("60.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1


def test_the_print_view_reads_like_an_invoice(olivia, client, as_sam):
    invoice = draft(olivia.studio, client, ("Bewerbungsfotos für Łukasz", "2", "45,50", "19"))
    invoices.issue(invoice, date(2026, 12, 3))
    page = text_of(as_sam.get(f"/invoices/{invoice.id}/print"))
    for expected in ("Studio Lichtblick", "Jürgen Weiß", "Weiß &amp; Söhne", "Invoice 1", "Bewerbungsfotos für Łukasz",
                     "91,00\xa0€", "17,29\xa0€", "108,29\xa0€", "3. Dezember 2026"):
        assert expected in page, expected
    listed = text_of(as_sam.get("/invoices/?status=open"))
    assert "Jürgen Weiß" in listed and "108,29\xa0€" in listed
    assert "Jürgen Weiß" not in text_of(as_sam.get("/invoices/?status=paid"))


def test_erasing_a_client_with_invoices_keeps_only_whom_the_invoices_are_for(olivia, as_sam):
    customer = sign_up(job_named(olivia.studio, "Kita"), "Zoë", "Wójcik", "zoe@example.pl", phone="0151 23456789")
    contact = db.session.get(Contact, customer.contact_id)
    invoices.issue(draft(olivia.studio, contact), date(2026, 12, 3))
    assert as_sam.post(f"/contacts/{contact.id}/erase").status_code == 302
    db.session.expire_all()
    kept = db.session.get(Contact, contact.id)
    assert (kept.name, kept.addresses, kept.phone) == ("Zoë Wójcik", [], None)
    assert db.session.scalar(sa.select(Invoice)).contact_id == contact.id


def test_today_is_the_studio_s_day():
    class Berlin:
        time_zone = "Europe/Berlin"
    assert invoices.day_of(Berlin, datetime(2026, 12, 2, 23, 30, tzinfo=timezone.utc)) == date(2026, 12, 3)


@pytest.mark.parametrize("typed, locale, read", [
    ("1.890,00", "de_DE", "1890.00"), ("48,90", "de_DE", "48.90"), ("48.90", "de_DE", "48.90"),  # not 4890
    ("1.890", "de_DE", "1890"), ("1 234,50", "fr_FR", "1234.50"), ("1 234,50", "pl_PL", "1234.50"),
    ("1,234.50", "en_US", "1234.50"), ("-50", "de_DE", "-50"), ("1,5", "en_US", None), ("zwölf", "de_DE", None)])
def test_amounts_are_read_as_each_country_types_them(typed, locale, read):
    from shutterbell import money
    assert money.parse(typed, locale) == (Decimal(read) if read else None)
    assert money.parse(Decimal("1890.00"), "de_DE") == Decimal("1890.00")  # the API's numbers: never re-read


INVOICE = {"external_id": "inv-2026-0815", "client_email": "Zoe@Example.pl", "client_name": "Zoë Wójcik",
           "issued_on": "2026-12-01", "notes": "Dziękujemy! 📸",
           "lines": [{"description": "Sesja rodzinna", "quantity": 1, "unit_price": "450.00", "tax_rate": 23},
                     {"description": "Odbitki 13×18", "quantity": "4", "unit_price": 3.5, "tax_rate": "8"}]}


def test_another_system_issues_an_invoice_and_reports_payments_by_external_id(olivia, api):
    first = api.call("POST", "/invoices", INVOICE)
    # 450.00 + 103.50 tax; 14.00 + 1.12 tax
    assert first.status_code == 201 and first.json == {**first.json, "number": 1, "total": "568.62",
                                                        "open": "568.62", "status": "issued", "due_on": "2026-12-15"}
    again = api.call("POST", "/invoices", {**INVOICE, "client_email": "someone@else.example"})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    zoe = contacts.of_address(olivia.studio_id, "zoe@example.pl")
    assert zoe.name == "Zoë Wójcik" and db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1
    payment = {"amount": "500.00", "paid_on": "2026-12-05", "method": "bank_transfer", "external_id": "tx-1"}
    paid = api.call("POST", "/invoices/inv-2026-0815/payments", payment)
    assert paid.status_code == 200 and (paid.json["open"], paid.json["status"]) == ("68.62", "partly_paid")
    assert api.call("POST", "/invoices/inv-2026-0815/payments", payment).json["open"] == "68.62"  # a retry
    too_much = api.call("POST", "/invoices/inv-2026-0815/payments", {"amount": 70})
    assert too_much.status_code == 422 and "amount" in too_much.json["error"]["fields"]
    assert api.call("POST", "/invoices/inv-2026-0815/payments", {"amount": 68.62}).json["status"] == "paid"
    assert api.call("POST", "/invoices/inv-2026-0815/payments", {"amount": 1}).status_code == 409
    assert api.call("POST", "/invoices/nope/payments", {"amount": 1}).status_code == 404


def test_the_api_names_what_is_wrong_and_keeps_numbers_unique(olivia, api):
    given = api.call("POST", "/invoices", {**INVOICE, "number": 2026001})
    assert given.status_code == 201 and given.json["number"] == 2026001
    taken = api.call("POST", "/invoices", {**INVOICE, "external_id": "inv-2", "number": 2026001})
    assert taken.status_code == 409 and taken.json["error"]["fields"] == {"number": "taken"}
    ours = api.call("POST", "/invoices", {**INVOICE, "external_id": "inv-3"})
    assert ours.json["number"] == 2026002  # the studio's own numbers go on after the one given
    bad = api.call("POST", "/invoices", {**INVOICE, "external_id": "inv-4", "due_on": "2026-11-01",
                                         "lines": [{"description": "Foto", "unit_price": "12,50"}]})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"unit_price"}  # "12,50" is no JSON amount
    worse = api.call("POST", "/invoices", {**INVOICE, "external_id": "inv-4", "due_on": "2026-11-01",
                                           "lines": [{"description": "Foto", "unit_price": 10, "tax_rate": 120}]})
    assert worse.status_code == 422 and set(worse.json["error"]["fields"]) == {"due_on", "lines[0].tax_rate"}
    assert api.call("POST", "/invoices", {**INVOICE, "external_id": "inv-5", "client_email": "kein"}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 2
