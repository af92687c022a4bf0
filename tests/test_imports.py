"""CSV import: a preview that says what will happen row by row, then the import, in the worker
with progress when the file is large."""

import pytest
from rq import Queue, SimpleWorker

from shutterbell import customers, imports, jobs, queue
from shutterbell.extensions import db
from shutterbell.models import Import, utcnow

from .conftest import text_of

GOOD = ("first_name;last_name;email;phone;email_consent;sms_consent\n"
        "Anna;Schmidt;anna@example.com;0151 23456789;ja;ja\n"
        "Ben;Meier;ben@example.com;;yes;no\n"
        "Carla;Nope;not-an-email;;yes;no\n"
        "Dora;Phone;dora@example.com;12;yes;yes\n"
        "Anna;Again;ANNA@example.com;;yes;no\n"
        "Emil;Known;emil@example.com;;yes;no\n")


@pytest.fixture
def job(olivia):
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=None), None)
    customers.register(job, customers.CustomerInput("Emil", "Known", "emil@example.com"), "staff",
                       {"email": "", "sms": ""}, utcnow())
    return job


def upload(browser, job, content: bytes, name="kids.csv"):
    import io
    return browser._request("post", f"/jobs/{job.id}/imports/", data={
        "csrf_token": browser.csrf(), "file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def names(job):
    db.session.expire_all()
    return sorted(c.first_name for c in customers.customers_of(job))


def test_the_preview_says_what_will_be_created_skipped_and_why_rows_are_invalid(as_sam, job):
    page = text_of(upload(as_sam, job, GOOD.encode()))
    assert "2 customers will be created" in page and "2 duplicates are skipped" in page and "2 rows are invalid" in page
    assert "Enter a valid email address" in page and "Enter a valid mobile number" in page
    assert names(job) == ["Emil"]  # nothing saved yet
    record = db.session.query(Import).one()
    response = as_sam.post(f"/jobs/{job.id}/imports/{record.id}/run")
    assert response.status_code == 302
    assert names(job) == ["Anna", "Ben", "Emil"]
    anna = next(c for c in customers.customers_of(job) if c.first_name == "Anna")
    assert anna.phone == "+4915123456789" and {c.path for c in anna.consents} == {"import"}
    finished = text_of(as_sam.get(f"/jobs/{job.id}/imports/{record.id}"))
    assert "Done: 2 customers created." in finished and "the import goes on" not in finished
    as_sam.post(f"/jobs/{job.id}/imports/{record.id}/run")  # a second click creates nothing
    assert names(job) == ["Anna", "Ben", "Emil"]


def test_excel_files_in_windows_1252_with_commas_and_a_bom(as_sam, job):
    content = "Vorname,Nachname,E-Mail,Telefon\nJürgen,Groß,juergen@example.com,\n".encode("cp1252")
    page = text_of(upload(as_sam, job, content))
    assert "1 customer will be created" in page and "Jürgen" in page and "cp1252" in page
    page = text_of(upload(as_sam, job, "\ufefffirst_name,email\nZoë,zoe@example.com\n".encode("utf-8")))
    assert "1 customer will be created" in page and "Zoë" in page


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty."),
    (b"name,address\nAnna,Berlin\n", "missing: first_name, email"),
    (b"\xff\xfe\x00\x00binary", "first line must name the columns"),
])
def test_a_file_that_cannot_be_read_is_one_clear_error(as_sam, job, content, message):
    response = upload(as_sam, job, content)
    assert response.status_code == 422 and message in text_of(response)
    assert db.session.query(Import).count() == 0


def test_too_many_rows_is_refused_before_anything_is_saved(job):
    content = "first_name,email\n" + "".join(f"K{i},k{i}@example.com\n" for i in range(imports.MAX_ROWS + 1))
    with pytest.raises(imports.ImportFileError, match="More than 50,000 rows"):
        imports.preview(job, content.encode())


def test_a_large_import_runs_in_the_worker_and_the_page_shows_progress(app, as_sam, job):
    rows = "".join(f"Kid{i},X,kid{i}@example.com,,yes,no\n" for i in range(imports.INLINE_ROWS + 5))
    upload(as_sam, job, ("first_name,last_name,email,phone,email_consent,sms_consent\n" + rows).encode())
    record = db.session.query(Import).one()
    as_sam.post(f"/jobs/{job.id}/imports/{record.id}/run")
    waiting = as_sam.get(f"/jobs/{job.id}/imports/{record.id}", headers={"HX-Request": "true"})
    assert "Waiting for the background worker" in text_of(waiting) and 'hx-trigger="every 1s"' in text_of(waiting)
    assert "the import goes on" in text_of(waiting)
    connection = queue.connect(app.config["REDIS_URL"])
    with app.app_context():
        SimpleWorker([Queue(app.config["QUEUE_NAME"], connection=connection)], connection=connection).work(burst=True)
    done = text_of(as_sam.get(f"/jobs/{job.id}/imports/{record.id}", headers={"HX-Request": "true"}))
    assert f"Done: {imports.INLINE_ROWS + 5} customers created." in done and "every 1s" not in done
    assert len(names(job)) == imports.INLINE_ROWS + 6
    db.session.expire_all()
    assert db.session.get(Import, record.id).rows == "[]"  # no personal data kept in the import


def test_a_field_too_large_for_csv_is_a_clear_error(as_sam, job):
    content = b"first_name,email\n\"" + b"x" * 200_000 + b"\",a@example.com\n"
    response = upload(as_sam, job, content)
    assert response.status_code == 422 and "cannot be read as CSV" in text_of(response)


def test_a_one_row_preview_offers_to_import_one_customer(as_sam, job):
    page = text_of(upload(as_sam, job, "first_name,last_name,email\nZoë,Łukasiewicz,zoe@example.com\n".encode()))
    assert "Import 1 customer" in page
    assert "Import 1 customers" not in page

