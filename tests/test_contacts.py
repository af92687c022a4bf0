"""Contacts: one record per person across jobs, made on the fly from every intake path and never
twice; the list, a contact's page, merge and erasure, on SQLite and PostgreSQL."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from shutterbell import contacts, customers, inbox, jobs, mailsettings, suppression
from shutterbell.extensions import db
from shutterbell.models import Contact, ContactAddress, Customer, Suppression, utcnow

from .conftest import text_of

WORDING = {"email": "ok", "sms": "ok"}


def job_named(studio, name):
    return jobs.save_job(studio, None, jobs.JobInput(name=name, profile_id=None), None)


def sign_up(job, first, last, email, path="staff", phone=""):
    return customers.register(job, customers.CustomerInput(first, last, email, phone, email_consent=True),
                              path, WORDING, utcnow())[0]


def contact_form(**overrides):
    return {"name": "Druckerei Łódź", "kind": "vendor", "emails": "druck@lodz.example\nrechnung@lodz.example",
            "phone": "0170 7654321", "company": "Druckerei Łódź Sp. z o.o.", "notes": "Prints 20×30 on Fridays.",
            **overrides}


def test_a_person_on_two_jobs_is_one_contact_whatever_the_case_of_their_address(olivia):
    kita, schule = job_named(olivia.studio, "Kita Sonnenschein"), job_named(olivia.studio, "Grundschule Süd")
    first = sign_up(kita, "Jürgen", "Weiß", "juergen.weiss@example.com", path="signup")
    second = sign_up(schule, "Jürgen", "Weiß", "Juergen.Weiss@Example.COM")
    assert first.contact_id == second.contact_id is not None
    contact = db.session.get(Contact, first.contact_id)
    assert (contact.name, contact.kind, contact.email) == ("Jürgen Weiß", "client", "juergen.weiss@example.com")
    assert [job.name for _, job in contacts.jobs_of(contact)] == ["Grundschule Süd", "Kita Sonnenschein"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1


def test_a_contact_made_by_hand_first_gets_the_later_sign_ups_and_the_earlier_customers(olivia, as_sam):
    kita = job_named(olivia.studio, "Kita Sonnenschein")
    earlier = sign_up(kita, "Zoë", "Wójcik", "zoe@example.com")
    db.session.execute(sa.update(Customer).values(contact_id=None))  # as if made before contacts existed
    db.session.execute(sa.delete(ContactAddress))
    db.session.execute(sa.delete(Contact))
    db.session.commit()
    response = as_sam.post("/contacts/new", contact_form(name="Zoë Wójcik", kind="client",
                                                         emails="zoe@example.com\nzoe@work.example"))
    assert response.status_code == 302, text_of(response)
    contact = contacts.of_address(olivia.studio.id, "zoe@work.example")
    db.session.refresh(earlier)
    assert earlier.contact_id == contact.id  # picked up without a resync
    later = sign_up(job_named(olivia.studio, "Hort"), "Zoë", "W.", "ZOE@work.example")
    assert later.contact_id == contact.id


def test_staff_add_a_vendor_and_bad_input_comes_back_with_field_errors(olivia, as_sam):
    taken = sign_up(job_named(olivia.studio, "Kita"), "Anna", "Schmidt", "anna@example.com")
    bad = as_sam.post("/contacts/new", contact_form(emails="druck@lodz.example\nnot-an-address", phone="12"),
                      htmx=True)
    page = text_of(bad)
    assert bad.status_code == 422 and "“not-an-address” is not an email address." in page.replace("&#8220;", "“")
    assert "Enter a phone number" in page and "Druckerei Łódź Sp. z o.o." in page  # nothing typed is lost
    clash = text_of(as_sam.post("/contacts/new", contact_form(emails="Anna@Example.com")))
    assert "anna@example.com belongs to Anna Schmidt already." in clash
    account = mailsettings.account_of(olivia.studio)
    account.from_address = "hallo@lichtblick.example"
    db.session.add(account)
    db.session.commit()
    own = text_of(as_sam.post("/contacts/new", contact_form(emails="Hallo@Lichtblick.example")))
    assert "hallo@lichtblick.example is your studio’s own address." in own.replace("&#8217;", "’")
    assert as_sam.post("/contacts/new", contact_form()).status_code == 302
    vendor = contacts.of_address(olivia.studio.id, "rechnung@lodz.example")
    assert (vendor.kind, vendor.phone, [a.address for a in vendor.addresses]) == (
        "vendor", "+491707654321", ["druck@lodz.example", "rechnung@lodz.example"])
    assert taken.contact_id != vendor.id


def test_the_list_searches_names_companies_and_addresses_and_filters_by_kind(olivia, as_sam):
    kita = job_named(olivia.studio, "Kita")
    for n in range(60):
        sign_up(kita, f"Kind{n:02d}", "Müller", f"eltern{n:02d}@example.com")
    as_sam.post("/contacts/new", contact_form())
    page = text_of(as_sam.get("/contacts/"))
    assert "61 contacts" in page and "Page 1 of 2" in page
    assert "Druckerei Łódź" in text_of(as_sam.get("/contacts/?q=RECHNUNG@lodz"))  # by a second address
    assert "Druckerei Łódź" in text_of(as_sam.get("/contacts/?q=sp.%20z%20o.o"))  # by company
    vendors = text_of(as_sam.get("/contacts/?kind=vendor", headers={"HX-Request": "true"}))
    assert "1 contact" in vendors and "<html" not in vendors and "Kind00" not in vendors


def test_merging_two_records_of_one_person_keeps_everything_on_one(olivia, as_sam):
    customer = sign_up(job_named(olivia.studio, "Kita"), "Anna", "Schmidt", "anna@example.com")
    as_sam.post("/contacts/new", contact_form(name="Anna S.", kind="client", emails="anna@büro.example",
                                              phone="+49 151 23456789", company="", notes="Prefers mornings."))
    other = contacts.of_address(olivia.studio.id, "anna@büro.example")
    keep_id, other_id = customer.contact_id, other.id
    response = as_sam.post(f"/contacts/{keep_id}/merge", {"other": str(other_id)})
    assert response.status_code == 302
    db.session.expire_all()
    keep = db.session.get(Contact, keep_id)
    assert db.session.get(Contact, other_id) is None
    assert sorted(a.address for a in keep.addresses) == ["anna@büro.example", "anna@example.com"]
    assert (keep.phone, keep.notes) == ("+4915123456789", "Prefers mornings.")
    assert as_sam.get(f"/contacts/{other_id}").status_code == 404


def test_erasing_a_contact_erases_the_person_on_every_job_and_suppresses_them(olivia, as_sam):
    first = sign_up(job_named(olivia.studio, "Kita"), "Łukasz", "Nowak", "lukasz@example.com", phone="0151 23456789")
    sign_up(job_named(olivia.studio, "Hort"), "Łukasz", "Nowak", "lukasz@example.com")
    contact_id = first.contact_id
    assert "Erase Łukasz Nowak?" in text_of(as_sam.get(f"/contacts/{contact_id}/erase"))
    assert as_sam.post(f"/contacts/{contact_id}/erase").status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact_id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactAddress)) == 0
    rows = db.session.scalars(sa.select(Customer)).all()
    assert {(c.first_name, c.contact_id) for c in rows} == {("Erased", None)} and all(c.erased_at for c in rows)
    assert {(s.channel, s.address, s.reason) for s in db.session.scalars(sa.select(Suppression))} == {
        ("email", "lukasz@example.com", "erased"), ("sms", "+4915123456789", "erased")}


def test_erasing_a_customer_from_a_job_erases_their_contact_too(olivia, as_sam):
    customer = sign_up(job_named(olivia.studio, "Kita"), "Émile", "Roux", "emile@example.com")
    assert as_sam.post(f"/jobs/{customer.job_id}/customers/{customer.id}/erase").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 0
    assert suppression.suppressed(olivia.studio.id) == {("email", "emile@example.com")}


def test_another_studio_neither_finds_nor_reaches_the_contacts(olivia, otto, as_otto):
    customer = sign_up(job_named(olivia.studio, "Kita"), "Anna", "Schmidt", "anna@example.com")
    assert "Anna" not in text_of(as_otto.get("/contacts/?q=anna"))
    assert as_otto.get(f"/contacts/{customer.contact_id}").status_code == 404
    otto_job = job_named(otto.studio, "Nebenan")
    own = sign_up(otto_job, "Anna", "Schmidt", "anna@example.com")  # the same person, another studio
    assert own.contact_id != customer.contact_id
    assert as_otto.post(f"/contacts/{own.contact_id}/merge", {"other": str(customer.contact_id)}).status_code == 404


def test_an_erasure_that_fails_halfway_erases_nothing(olivia, monkeypatch):
    """All or nothing: a person half erased (anonymised on one job, still mailed on the other)
    would be worse than an error the owner can retry."""
    first = sign_up(job_named(olivia.studio, "Kita"), "Zoë", "Wójcik", "zoe@example.pl")
    sign_up(job_named(olivia.studio, "Hort"), "Zoë", "Wójcik", "zoe@example.pl")

    def fails(studio_id, addresses):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inbox, "forget", fails)
    with pytest.raises(RuntimeError):
        contacts.erase(db.session.get(Contact, first.contact_id), datetime.now(timezone.utc))
    db.session.rollback()
    assert {c.first_name for c in db.session.scalars(sa.select(Customer))} == {"Zoë"}
    assert db.session.get(Contact, first.contact_id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0
