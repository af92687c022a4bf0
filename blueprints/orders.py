"""Orders on the job page: staff record one, mark it paid or cancel it."""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from shutterbell import customers, orders
from shutterbell.models import utcnow
from shutterbell.validation import Invalid

from .access import current_studio, db_int, job_or_404, or_404, redirect_after_post

bp = Blueprint("orders", __name__, url_prefix="/jobs/<int:job_id>/orders")


def _back(job):
    return redirect_after_post(url_for("jobs.edit", job_id=job.id) + "#orders")


@bp.post("/")
@login_required
def record(job_id: int):
    job = job_or_404(job_id)
    customer = or_404(customers.get_customer(current_studio(), job, request.form.get("customer_id", type=db_int) or 0))
    try:
        cents = orders.parse_amount(request.form.get("total", ""), current_studio().locale)
        orders.record(job, customer, cents, utcnow(), paid=bool(request.form.get("paid")))
    except Invalid as exc:  # a form of the customer's page: said at its top
        flash(" ".join(exc.problems.values()), "error")
        return redirect_after_post(url_for("customers.edit", job_id=job.id, customer_id=customer.id) + "#record-order")
    flash(_("Recorded an order of %(name)s.", name=customer.first_name), "success")
    return _back(job)


@bp.post("/<int:order_id>/<any(paid, cancel):action>")
@login_required
def change(job_id: int, order_id: int, action: str):
    job = job_or_404(job_id)
    order = or_404(orders.get_order(current_studio(), job, order_id))
    (orders.mark_paid if action == "paid" else orders.cancel)(order, utcnow())
    return _back(job)
