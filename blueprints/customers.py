"""Customers on the job page: staff add, correct and remove them (tablet-friendly)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import login_required

from shutterbell import channels, contacts, customers, outbox, replies, scheduling, triggers
from shutterbell.i18n import format_datetime
from shutterbell.models import utcnow

from .access import (current_studio, db_int, job_or_404, or_404, part_of_page_wanted, redirect_after_post,
                     render_form)
from .forms import CustomerForm, problems_shown_on
from .jobs import customer_list, form_on_demand, job_page

bp = Blueprint("customers", __name__, url_prefix="/jobs/<int:job_id>/customers")


def _wording(job) -> dict[str, str]:
    return customers.consent_wording(current_studio().name, job.name)


@bp.get("/")
@login_required
def index(job_id: int):
    """A page of the job's customers (htmx: the list alone, with what is coming for each); a
    browser without script gets the job page at that page."""
    job = job_or_404(job_id)
    search, page = request.args.get("q", "")[:100], request.args.get("page", 1, type=db_int)
    if not part_of_page_wanted():
        return redirect(url_for("jobs.edit", job_id=job.id, cq=search or None, cpage=page) + "#customers")
    return render_template("jobs/_customers.html", job=job,
                           **customer_list(job, customers.page_of(job, search, page), search))


@bp.post("/")
@login_required
def add(job_id: int):
    job = job_or_404(job_id)
    form = CustomerForm(region=customers.region_of(current_studio()))
    if form.validate_on_submit():
        customer, created = customers.register(job, form.to_input(), "staff", _wording(job), utcnow())
        if created:
            flash(_("Added %(name)s.", name=customer.first_name), "success")
        else:
            flash(_("%(email)s is already signed up to this job.", email=customer.email), "warning")
        return redirect_after_post(url_for("jobs.edit", job_id=job.id) + "#customers")
    return job_page(job, 422, customer_form=form)


@bp.route("/<int:customer_id>", methods=["GET", "POST"])
@login_required
def edit(job_id: int, customer_id: int):
    job = job_or_404(job_id)
    customer = or_404(customers.get_customer(current_studio(), job, customer_id))
    form = CustomerForm(region=customers.region_of(current_studio()), customer=customer)
    if form.validate_on_submit():
        with problems_shown_on(form):
            customers.update(customer, form.to_input(), _wording(job), utcnow())
            flash(_("Saved %(name)s.", name=customer.first_name), "success")
            return redirect_after_post(url_for("jobs.edit", job_id=job.id) + "#customers")
    return render_form("customers/edit.html", form, job=job, customer=customer, coming=_coming_for(job, customer))


@bp.get("/<int:customer_id>/coming")
@login_required
def coming(job_id: int, customer_id: int):
    """What is coming for a customer, drawn into their row of the job page when it is opened; a
    browser without script goes to the customer's page, which lists it too."""
    job = job_or_404(job_id)
    customer = or_404(customers.get_customer(current_studio(), job, customer_id))
    if not part_of_page_wanted():
        return redirect(url_for(".edit", job_id=job.id, customer_id=customer.id) + "#coming")
    return render_template("customers/_coming.html", coming=_coming_for(job, customer))


def _coming_for(job, customer) -> list[tuple[str, str, str]]:
    """Their coming messages as the lists show them: (when, what, the key that cancels it)."""
    return [(format_datetime(m.due_at, "short"),
             f"{channels.get(m.notification.channel).label} · {triggers.CATALOGUE[m.notification.trigger].summary(m.notification.days)}",
             key) for key, m in scheduling.coming_for(job, utcnow(), customer)]


@bp.get("/new")
@login_required
def new(job_id: int):
    """The form that adds a customer by hand."""
    job = job_or_404(job_id)
    return form_on_demand(job, "jobs/_add_customer.html",
                          customer_form=CustomerForm(formdata=None, region=customers.region_of(current_studio())))


def _posted_customer(job):
    """The customer a row's button on the job page names (its list posts one form per action)."""
    customer_id = or_404(request.form.get("customer_id", type=db_int))
    return or_404(customers.get_customer(current_studio(), job, customer_id))


@bp.post("/remove")
@login_required
def remove(job_id: int):
    job = job_or_404(job_id)
    customer = _posted_customer(job)
    try:
        customers.remove(customer)
    except customers.CustomerHasHistory:
        flash(_("%(name)s has orders or messages, so they stay on the job. To delete their personal data, erase them.",
                name=customer.first_name), "error")
    else:
        flash(_("Removed %(name)s from this job.", name=customer.first_name), "success")
    return redirect_after_post(url_for("jobs.edit", job_id=job.id) + "#customers")


@bp.post("/confirmation")
@login_required
def resend_confirmation(job_id: int):
    """Send the sign-up confirmation email again: at most once an hour (outbox.RESEND_AFTER)."""
    job = job_or_404(job_id)
    customer = _posted_customer(job)
    message = outbox.queue_confirmation(customer, utcnow())
    if message is not None:
        outbox.dispatch_now([message.id])
        flash(_("The confirmation email goes to %(email)s again.", email=customer.email), "success")
    elif customer.confirmed_at is not None:
        flash(_("%(name)s has confirmed already.", name=customer.first_name), "info")
    else:
        flash(_("A confirmation email went to %(email)s less than an hour ago. You can send it again after %(time)s.",
                email=customer.email, time=format_time(outbox.confirmation_resend_at(customer), "short")), "warning")
    return redirect_after_post(url_for("jobs.edit", job_id=job.id) + "#customers")


@bp.post("/<int:customer_id>/replied")
@login_required
def undo_reply(job_id: int, customer_id: int):
    """Their reply no longer stops the notifications that stop on one: what is coming goes again."""
    job = job_or_404(job_id)
    customer = or_404(customers.get_customer(current_studio(), job, customer_id))
    replies.undo(customer)
    flash(_("%(name)s gets the coming messages again.", name=customer.first_name), "success")
    return redirect_after_post(url_for(".edit", job_id=job.id, customer_id=customer.id))


@bp.route("/<int:customer_id>/erase", methods=["GET", "POST"])
@login_required
def erase(job_id: int, customer_id: int):
    """Erasure on request, after a confirmation page."""
    job = job_or_404(job_id)
    customer = or_404(customers.get_customer(current_studio(), job, customer_id))
    if request.method == "GET":
        return render_template("customers/erase.html", job=job, customer=customer)
    contacts.erase_person(customer, utcnow())
    flash(_("Erased. Their address and number are on the studio's do-not-contact list."), "success")
    return redirect_after_post(url_for("jobs.edit", job_id=job.id) + "#customers")
