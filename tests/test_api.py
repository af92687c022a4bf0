"""The JSON API: tokens, every event, idempotent retries, and clear JSON errors for bad input."""
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shutterbell import api_tokens, customers, jobs
from shutterbell.extensions import db
from shutterbell.models import Contact, ContactAddress, Customer, Job, Order, utcnow

OPENAPI = json.loads((Path(__file__).resolve().parents[1] / "static" / "openapi.json").read_text())


class Api:
    def __init__(self, client, token):
        self.client, self.token = client, token

    def call(self, method, path, body=None, token=None, raw=None):
        headers = {"Authorization": f"Bearer {token or self.token}"}
        if raw is not None:
            return self.client.open(f"/api/v1{path}", method=method, data=raw, headers=headers,
                                    content_type="application/json")
        return self.client.open(f"/api/v1{path}", method=method, json=body, headers=headers)


@pytest.fixture
def job(olivia):
    return jobs.save_job(olivia.studio, None, jobs.JobInput(
        name="Kita Regenbogen", profile_id=olivia.studio.default_profile_id, archives_at=date(2026, 6, 1),
        gallery_url="https://fotos.lichtblick.example/kita"), None)


@pytest.fixture
def api(app, olivia):
    return Api(app.test_client(), api_tokens.create(olivia.studio, "Shop", utcnow())[1])


CUSTOMER = {"external_id": "c-1", "first_name": "Anna", "last_name": "Schmidt", "email": "anna@example.com",
            "phone": "+49 151 23456789", "email_consent": True, "sms_consent": True,
            "consent_wording": "Yes, send me news about my photos."}


def test_a_shop_reports_a_customer_and_a_retry_creates_nothing(api, job):
    first = api.call("POST", f"/jobs/{job.id}/customers", CUSTOMER)
    assert first.status_code == 201 and first.json["confirmed"] is True
    again = api.call("POST", f"/jobs/{job.id}/customers", {**CUSTOMER, "email": "other@example.com"})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    anna = db.session.get(Customer, first.json["id"])
    assert anna.phone == "+4915123456789" and [c.path for c in anna.consents] == ["api", "api"]
    assert anna.consents[0].wording == "Yes, send me news about my photos."


def test_orders_are_placed_paid_and_cancelled_by_external_id(api, job):
    api.call("POST", f"/jobs/{job.id}/customers", CUSTOMER)
    body = {"external_id": "o-1", "customer_external_id": "c-1", "total": "48.90",
            "placed_at": "2026-03-16T18:30:00+01:00"}
    placed = api.call("POST", f"/jobs/{job.id}/orders", body)
    assert placed.status_code == 201 and placed.json == {**placed.json, "total": "48.90", "state": "unpaid"}
    assert api.call("POST", f"/jobs/{job.id}/orders", body).status_code == 200  # a retry
    assert db.session.query(Order).count() == 1
    assert db.session.query(Order).one().placed_at == datetime(2026, 3, 16, 17, 30, tzinfo=timezone.utc)
    assert api.call("POST", "/orders/o-1/paid", {}).json["state"] == "paid"
    assert api.call("POST", "/orders/o-1/cancel").json["state"] == "cancelled"
    assert api.call("POST", "/orders/o-1/paid", {}).status_code == 409


def test_publishing_needs_a_gallery_and_says_so_and_a_job_published_before_can_still_move(api, olivia):
    bare = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Schule Łąka", profile_id=None,
                                                             archives_at=date(2026, 6, 1)), None)
    refused = api.call("POST", f"/jobs/{bare.id}/published", {"published_at": "2026-03-16T18:30:00+01:00"})
    assert refused.status_code == 422 and "gallery_url" in refused.json["error"]["fields"]
    assert "address before the photos are published" in refused.json["error"]["message"]
    published = api.call("POST", f"/jobs/{bare.id}/published", {"published_at": "2026-03-16T18:30:00+01:00",
                                                                 "gallery_url": "https://fotos.example/łąka"})
    assert published.status_code == 200
    db.session.execute(sa.update(Job).where(Job.id == bare.id).values(gallery_url=""))  # published before the rule
    db.session.commit()
    assert api.call("PUT", f"/jobs/{bare.id}/archive-date", {"archives_at": "2026-07-01"}).status_code == 200


def test_publishing_and_moving_the_archive_date(api, job):
    published = api.call("POST", f"/jobs/{job.id}/published", {"published_at": "2026-03-16T18:30:00+01:00"})
    assert published.status_code == 200 and published.json["published_at"] == "2026-03-16T17:30:00+00:00"
    moved = api.call("PUT", f"/jobs/{job.id}/archive-date", {"archives_at": "2026-07-01"})
    assert moved.status_code == 200 and moved.json["archives_at"] == "2026-07-01"
    wrong_order = api.call("PUT", f"/jobs/{job.id}/archive-date", {"archives_at": "2026-03-01"})
    assert wrong_order.status_code == 422 and "archives_at" in wrong_order.json["error"]["fields"]
    db.session.expire_all()
    assert job.archives_at == date(2026, 7, 1)


@pytest.mark.parametrize("token", ["", "sb_wrong", None])
def test_without_a_valid_token_it_is_401(app, job, token):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = app.test_client().post(f"/api/v1/jobs/{job.id}/customers", json=CUSTOMER, headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_a_revoked_token_and_another_studios_token(app, api, olivia, otto, job):
    row = api_tokens.list_tokens(olivia.studio)[0]
    _, ottos = api_tokens.create(otto.studio, "Otto's shop", utcnow())
    assert api.call("POST", f"/jobs/{job.id}/customers", CUSTOMER, token=ottos).status_code == 404
    api_tokens.revoke(olivia.studio, row.id, utcnow())
    assert api.call("POST", f"/jobs/{job.id}/customers", CUSTOMER).status_code == 401


@pytest.mark.parametrize("raw, status", [
    ("[1, 2]", 400), ('"text"', 400), ("{not json", 400), ("null", 400),
    ('{"first_name": "Anna"}', 422), ('{"first_name": "Anna", "email": "nope"}', 422),
    ('{"first_name": 5, "email": "a@example.com"}', 422),
    ('{"first_name": "A", "email": "a@example.com", "sms_consent": "yes"}', 422),
])
def test_bad_bodies_get_json_errors_that_say_what_is_wrong(api, job, raw, status):
    response = api.call("POST", f"/jobs/{job.id}/customers", raw=raw)
    assert response.status_code == status and response.is_json and response.json["error"]["message"]


def test_unknown_urls_and_methods_answer_json(api):
    assert api.call("GET", "/nowhere").json["error"]["code"] == "not_found"
    assert api.call("GET", "/jobs/1/customers").status_code == 405


def test_the_openapi_file_is_served_and_lists_every_api_route(app, api):
    served = app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json == OPENAPI
    documented = {(path, method.upper()) for path, item in OPENAPI["paths"].items() for method in item}
    routes = {(rule.rule.removeprefix("/api/v1").replace("<int:job_id>", "{job_id}").replace("<external_id>", "{external_id}"),
               method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              and rule.endpoint != "api.openapi" for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
                           lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
                           max_leaves=12)
customer_like = st.fixed_dictionaries({}, optional={name: json_values | st.just("anna@example.com")
                                                     for name in OPENAPI["components"]["schemas"]["CustomerIn"]["properties"]})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=customer_like | json_values)
def test_no_body_ever_crashes_the_customer_endpoint(api, job, body):
    response = api.call("POST", f"/jobs/{job.id}/customers", raw=json.dumps(body))
    assert response.status_code in (200, 201, 400, 409, 422), response.data
    assert response.is_json


def test_review_fixes_bad_bodies_dates_and_ids_are_clear_errors(api, job):
    api.call("POST", f"/jobs/{job.id}/customers", CUSTOMER)
    api.call("POST", f"/jobs/{job.id}/orders", {"external_id": "o-1", "customer_external_id": "c-1", "total": 10,
                                                 "placed_at": "2026-03-16T18:30:00+01:00"})
    assert api.call("POST", "/orders/o-1/paid", raw="[1]").status_code == 400
    assert api.call("POST", f"/jobs/{job.id}/published", raw='"x"').status_code == 400
    assert api.call("POST", f"/jobs/{job.id}/published", {"published_at": "0001-01-01T00:30:00+01:00"}).status_code == 422
    assert api.call("POST", "/orders/o-1/paid", {"paid_at": "2026-03-01T10:00:00+01:00"}).status_code == 422
    slash = {"external_id": "o/2", "customer_external_id": "c-1", "total": 10}
    assert api.call("POST", f"/jobs/{job.id}/orders", slash).status_code == 422


def test_a_customer_staff_added_first_gets_the_shops_external_id(api, job):
    customers.register(job, customers.CustomerInput("Anna", "Schmidt", "anna@example.com"), "staff",
                       {"email": "", "sms": ""}, utcnow())
    response = api.call("POST", f"/jobs/{job.id}/customers", CUSTOMER)
    assert response.status_code == 200 and response.json["external_id"] == "c-1"
    order = api.call("POST", f"/jobs/{job.id}/orders", {"external_id": "o-1", "customer_external_id": "c-1", "total": 5})
    assert order.status_code == 201
    other = api.call("POST", f"/jobs/{job.id}/customers", {**CUSTOMER, "external_id": "c-2"})
    assert other.status_code == 409


def register_while_another_request_commits_first(job, name: str, email: str, with_customer: bool):
    """``customers.register`` with another request committing the same person's contact (and,
    ``with_customer``, their customer on this job) after our checks, before our first insert.
    Returns (customer, created, raced)."""
    import sqlalchemy as sa
    from sqlalchemy import event

    raced = []

    def other_request_commits_first(session, flush_context, instances):
        if raced or not any(isinstance(row, (Contact, Customer)) for row in session.new):
            return
        raced.append(True)
        with db.engine.begin() as other:
            contact = other.execute(sa.insert(Contact).values(
                studio_id=job.studio_id, kind="client", name=name, company="", notes="", created_at=utcnow(),
                updated_at=utcnow())).inserted_primary_key[0]
            other.execute(sa.insert(ContactAddress).values(studio_id=job.studio_id, contact_id=contact, address=email))
            if with_customer:
                other.execute(sa.insert(Customer).values(
                    studio_id=job.studio_id, job_id=job.id, first_name=name, last_name="", email=email,
                    registered_at=utcnow(), confirmed_at=utcnow(), unsubscribe_token="other-request",
                    created_at=utcnow(), contact_id=contact))

    session = db.session()
    event.listen(session, "before_flush", other_request_commits_first)
    try:
        customer, created = customers.register(job, customers.CustomerInput(name, "Wójcik", email, email_consent=True),
                                               "api", {"email": "ok"}, utcnow())
    finally:
        event.remove(session, "before_flush", other_request_commits_first)
    return customer, created, bool(raced)


def test_the_same_call_arriving_twice_at_once_creates_one_customer_and_no_error(app, olivia):
    """Two identical calls race: the second one's insert meets the first one's row. It answers
    as a repeat (the existing customer), not with a 500."""
    import sqlalchemy as sa

    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abiball", profile_id=None), None)
    customer, created, raced = register_while_another_request_commits_first(job, "Anna", "anna@example.com", True)
    assert raced and created is False and customer.unsubscribe_token == "other-request"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1  # one person, one contact


def test_a_new_address_signing_up_to_two_jobs_at_once_makes_one_contact_and_both_customers(app, olivia):
    """The other request made only the contact (its customer is on another job): this one's
    contact insert meets it, tries again, and its customer is stored, not lost."""
    import sqlalchemy as sa

    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita", profile_id=None), None)
    _, created, raced = register_while_another_request_commits_first(job, "Zoë", "zoe@example.com", False)
    db.session.rollback()  # only what was committed counts
    assert raced and created is True
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1
    assert db.session.scalar(sa.select(Customer.contact_id)) == db.session.scalar(sa.select(Contact.id))
