"""Invoices: the list, a draft's editor, an issued invoice with its payments, and its print view.
Staff write invoices and record payments as they take them at the desk; voiding one is the owner's."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_required

from shutterbell import invoices, money, scheduling, triggers
from shutterbell.models import utcnow
from shutterbell.validation import Invalid

from .access import (current_studio, db_int, or_404, owner_required, part_of_page_wanted, redirect_after_post,
                     render_form)
from .forms import InvoiceForm, PaymentForm, problems_shown_on

bp = Blueprint("invoices", __name__, url_prefix="/invoices")
FILTERS = ("", "draft", "open", "paid", "void")


@bp.context_processor
def labels():
    return {"status_labels": invoices.STATUS_LABELS, "method_labels": invoices.METHODS}


@bp.get("/")
@login_required
def index():
    status = request.args.get("status", "")
    status = status if status in FILTERS else ""
    result = invoices.find(current_studio(), status, request.args.get("page", 1, type=db_int))
    template = "invoices/_results.html" if part_of_page_wanted() else "invoices/index.html"
    return render_template(template, result=result, status=status, today=_today())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """A draft; from a contact's or a job's page the client or the job is chosen already."""
    form = InvoiceForm(studio=current_studio(), contact_id=request.args.get("contact", type=db_int),
                       job_id=request.args.get("job", type=db_int))
    if not form.add_line(request.form) and form.validate_on_submit():
        with problems_shown_on(form):
            invoice = invoices.save(current_studio(), None, form.to_input())
            flash(_("Draft saved. Issue it when it is ready to go to the client."), "success")
            return redirect_after_post(url_for(".show", invoice_id=invoice.id))
    return render_form("invoices/new.html", form)


@bp.route("/<int:invoice_id>", methods=["GET", "POST"])
@login_required
def show(invoice_id: int):
    """A draft is edited here; an issued invoice shows what is open and takes payments."""
    invoice = or_404(invoices.get(current_studio(), invoice_id))
    if invoice.status != "draft":
        return _issued_page(invoice, PaymentForm(formdata=None, paid_on=_today()))
    form = InvoiceForm(studio=current_studio(), invoice=invoice)
    if not form.add_line(request.form) and form.validate_on_submit():
        with problems_shown_on(form):
            invoices.save(current_studio(), invoice, form.to_input())
            flash(_("Draft saved."), "success")
            return redirect_after_post(url_for(".show", invoice_id=invoice.id))
    return render_form("invoices/draft.html", form, invoice=invoice, totals=invoices.totals(invoice.lines))


def _issued_page(invoice, payment_form, status=None):
    studio = current_studio()
    return render_form("invoices/show.html", payment_form, status, invoice=invoice,
                       totals=invoices.totals(invoice.lines), today=_today(),
                       reminders=scheduling.invoice_reminders(invoice, studio, utcnow()),
                       sent=scheduling.invoice_messages(invoice), audience_labels=triggers.AUDIENCE_LABELS,
                       open_typed=money.typed(invoice.open, current_studio().locale, cents=True))


@bp.post("/<int:invoice_id>/issue")
@login_required
def issue(invoice_id: int):
    invoice = or_404(invoices.get(current_studio(), invoice_id))
    return _acted(invoice, lambda: invoices.issue(invoice, _today()),
                  lambda: _("Invoice %(number)s issued.", number=invoice.number))


@bp.post("/<int:invoice_id>/payments")
@login_required
def pay(invoice_id: int):
    invoice = or_404(invoices.get(current_studio(), invoice_id))
    if not invoices.payable(invoice):  # a draft, paid or void: no form to show the problem on
        flash(str(invoices.NOT_PAYABLE), "error")
        return redirect_after_post(url_for(".show", invoice_id=invoice.id))
    form = PaymentForm()
    if form.validate_on_submit():
        with problems_shown_on(form):
            payment = invoices.record_payment(invoice, form.to_input(), utcnow())
            amount = money.shown(payment.amount, invoice.currency, current_studio().locale)
            flash(_("Payment of %(amount)s recorded.", amount=amount), "success")
            return redirect_after_post(url_for(".show", invoice_id=invoice.id))
    return _issued_page(invoice, form, 422)


@bp.post("/<int:invoice_id>/void")
@owner_required
def void(invoice_id: int):
    invoice = or_404(invoices.get(current_studio(), invoice_id))
    return _acted(invoice, lambda: invoices.void(invoice, utcnow()),
                  lambda: _("Invoice %(number)s is void. Its number stays taken.", number=invoice.number))


def _acted(invoice, action, done):
    """Back to the invoice after ``action``, saying ``done()``, or the domain's refusal."""
    try:
        action()
        flash(done(), "success")
    except Invalid as invalid:
        flash(" ".join(invalid.problems.values()), "error")
    return redirect_after_post(url_for(".show", invoice_id=invoice.id))


@bp.post("/<int:invoice_id>/delete")
@login_required
def delete(invoice_id: int):
    invoice = or_404(invoices.get(current_studio(), invoice_id))
    try:
        invoices.delete_draft(invoice)
    except Invalid as invalid:
        flash(" ".join(invalid.problems.values()), "error")
        return redirect_after_post(url_for(".show", invoice_id=invoice.id))
    flash(_("Draft deleted."), "success")
    return redirect_after_post(url_for(".index"))


@bp.get("/<int:invoice_id>/print")
@login_required
def print_view(invoice_id: int):
    """The invoice as a page to print or save as PDF from the browser."""
    invoice = or_404(invoices.get(current_studio(), invoice_id))
    with force_locale(current_studio().locale):  # the client's paper: the studio's language and dates
        return render_template("invoices/print.html", invoice=invoice, totals=invoices.totals(invoice.lines),
                               studio=current_studio())


def _today():
    return invoices.day_of(current_studio(), utcnow())
