"""Orders make customers buyers; vouchers live on the job, updated in place."""
from datetime import date

import pytest

from shutterbell import customers, jobs, orders
from shutterbell.extensions import db
from shutterbell.models import Order, Voucher, utcnow

from .conftest import text_of
from .test_jobs import job_form


@pytest.fixture
def job(olivia):
    return jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=None), None)


@pytest.fixture
def anna(job):
    customer, _ = customers.register(job, customers.CustomerInput("Anna", "Schmidt", "anna@example.com"),
                                     "staff", {"email": "", "sms": ""}, utcnow())
    return customer


def test_staff_record_an_order_mark_it_paid_and_cancel_it(as_sam, job, anna):
    customer_page = text_of(as_sam.get(f"/jobs/{job.id}/customers/{anna.id}"))
    assert f'action="/jobs/{job.id}/orders/"' in customer_page and f'name="customer_id" value="{anna.id}"' in customer_page
    response = as_sam.post(f"/jobs/{job.id}/orders/", {"customer_id": str(anna.id), "total": "48,90"})
    assert response.status_code == 302 and response.location.endswith(f"/jobs/{job.id}#orders")
    order, = orders.orders_of(job)
    assert (order.total_cents, order.state) == (4890, "unpaid")  # de_DE reads 48,90
    assert anna.id in orders.buyer_ids(job)
    page = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert "Buyer" in page and "Unpaid" in page
    as_sam.post(f"/jobs/{job.id}/orders/{order.id}/paid")
    db.session.expire_all()
    assert order.state == "paid"
    as_sam.post(f"/jobs/{job.id}/orders/{order.id}/cancel")
    db.session.expire_all()
    assert order.state == "cancelled" and anna.id not in orders.buyer_ids(job)


@pytest.mark.parametrize("total", ["", "abc", "-5", "99999999999"])
def test_a_bad_amount_records_nothing_and_says_why(as_sam, job, anna, total):
    response = as_sam.post(f"/jobs/{job.id}/orders/", {"customer_id": str(anna.id), "total": total})
    assert response.status_code == 302 and response.location.endswith(f"/customers/{anna.id}#record-order")
    assert orders.orders_of(job) == []
    assert "Enter an amount" in text_of(as_sam.get(response.location))


def test_an_external_id_makes_a_repeated_report_harmless(job, anna):
    first, created = orders.record(job, anna, 1000, utcnow(), paid=False, external_id="shop-17")
    again, created_again = orders.record(job, anna, 9999, utcnow(), paid=True, external_id="shop-17")
    assert created and not created_again and again.id == first.id and again.total_cents == 1000


def test_a_customer_of_another_job_cannot_be_given_an_order(as_sam, olivia, job, anna):
    other = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Other", profile_id=None), None)
    response = as_sam.post(f"/jobs/{other.id}/orders/", {"customer_id": str(anna.id), "total": "10"})
    assert response.status_code == 404
    assert db.session.query(Order).count() == 0


def empty_slots():
    """The browser posts every voucher field, filled or not."""
    return {f"voucher_slots-{slot}-{name}": "" for slot in range(3) for name in ("code", "value", "expires_at")}


def test_vouchers_are_saved_in_their_slots_and_keep_their_ids(as_sam, olivia):
    data = job_form(**{**empty_slots(), "voucher_slots-0-code": "SPRING15", "voucher_slots-0-value": "15 %",
                       "voucher_slots-0-expires_at": "2026-04-01", "voucher_slots-2-code": "FAMILY",
                       "voucher_slots-2-value": "10 €", "voucher_slots-2-expires_at": "2026-04-20"})
    assert as_sam.post("/jobs/new", data).status_code == 302
    job = jobs.find_jobs(olivia.studio, status="all").rows[0]
    first, empty, third = job.voucher_slots
    assert (first.code, first.value, first.expires_at, empty, third.code) == \
        ("SPRING15", "15 %", date(2026, 4, 1), None, "FAMILY")
    ids = (first.id, third.id)
    data.update({"voucher_slots-0-value": "20 %", "voucher_slots-2-code": "", "voucher_slots-2-value": "",
                 "voucher_slots-2-expires_at": ""})
    assert as_sam.post(f"/jobs/{job.id}", data).status_code == 302
    db.session.expire_all()
    first, _, third = job.voucher_slots
    assert (first.id, first.value, third) == (ids[0], "20 %", None)


def test_a_half_filled_voucher_is_a_field_error(as_sam, olivia):
    response = as_sam.post("/jobs/new", job_form(**{**empty_slots(), "voucher_slots-1-code": "SUMMER"}))
    assert response.status_code == 422
    assert "Enter what it is worth" in text_of(response) and "Enter the day it expires." in text_of(response)
    assert db.session.query(Voucher).count() == 0


def test_a_customer_with_orders_is_not_removed_but_can_be_erased(as_sam, job, anna):
    orders.record(job, anna, 1000, utcnow(), paid=True)
    response = as_sam.post(f"/jobs/{job.id}/customers/remove", {"customer_id": anna.id})
    assert response.status_code == 302
    assert "has orders or messages, so they stay on the job" in text_of(as_sam.get(f"/jobs/{job.id}"))
    assert db.session.get(customers.Customer, anna.id) is not None
