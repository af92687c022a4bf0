"""The outbox page: every message with its status, filters, retry and cancel, approval per job,
and each message as the customer got it. Staff and owner alike."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required

from shutterbell import composer, customers, diagnostics, mailsettings, message_keys, messages, outbox, settings, templating
from shutterbell.models import Studio, utcnow

from .access import (current_studio, db_int, job_or_404, or_404, part_of_page_wanted, redirect_after_post,
                     render_form)
from .forms import OneOffForm, problems_shown_on

bp = Blueprint("outbox", __name__, url_prefix="/outbox")


@bp.get("/")
@login_required
def index():
    status, job_id = request.args.get("status", ""), request.args.get("job", type=db_int)
    result = messages.find(current_studio(), status, job_id, request.args.get("page", 1, type=db_int))
    context = {"result": result, "status": status, "job_id": job_id}
    if part_of_page_wanted():
        return render_template("outbox/_table.html", **context)
    return render_template("outbox/index.html", jobs=messages.jobs_with_messages(current_studio()), **context)


@bp.get("/<int:message_id>")
@login_required
def show(message_id: int):
    studio = current_studio()
    message = or_404(messages.get(studio, message_id))
    return render_template("outbox/show.html", message=message, source=_source_of(studio, message),
                           html=templating.text_to_html(message.body, composer.typed_by_others(message)),
                           hint=_hint_for(message))


def _hint_for(message) -> str:
    return diagnostics.hint_for(message.cause, "smtp" if message.channel == "email" else message.channel,
                                message.named_cause)


@bp.post("/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    message = or_404(messages.get(current_studio(), message_id))
    if messages.retry(message):
        outbox.dispatch_now([message.id])
        flash(_("The message will be sent again."), "success")
    return redirect_after_post(url_for(".show", message_id=message.id))


@bp.post("/<int:message_id>/cancel")
@login_required
def cancel(message_id: int):
    message = or_404(messages.get(current_studio(), message_id))
    if messages.cancel([message]):
        flash(_("The message was cancelled; it will not be sent."), "success")
    else:
        flash(_("Too late to cancel: the message is already on its way or done."), "warning")
    return redirect_after_post(url_for(".show", message_id=message.id))


@bp.post("/jobs/<int:job_id>/approve")
@login_required
def approve_job(job_id: int):
    """Approve (or with decision=cancel, cancel) every message of the job that awaits approval,
    from the outbox, the job page or the dashboard (``back``: where the button was)."""
    job = job_or_404(job_id)
    waiting = messages.awaiting_approval(current_studio(), job.id)
    if request.form.get("decision") == "cancel":
        count = messages.cancel(waiting)
        flash(ngettext("%(num)d message cancelled.", "%(num)d messages cancelled.", count), "success")
    else:
        count = messages.approve(waiting)
        flash(ngettext("%(num)d message approved: it goes out now.", "%(num)d messages approved: they go out now.",
                       count), "success")
        outbox.dispatch_now([m.id for m in waiting])
    back = {"job": url_for("jobs.edit", job_id=job.id), "dashboard": url_for("main.index")}
    return redirect_after_post(back.get(request.form.get("back", ""),
                                        url_for(".index", job=job.id, status="awaiting_approval")))


@bp.post("/jobs/<int:job_id>/cancel-ahead")
@login_required
def cancel_ahead(job_id: int):
    """Cancel one coming message before it is due, from a customer's row on the job page or from
    their page (which names them: back there afterwards)."""
    job = job_or_404(job_id)
    if outbox.cancel_ahead(job, request.form.get("key", ""), utcnow()):
        flash(_("That message will not be sent."), "success")
    else:
        flash(_("That message is no longer coming (it was sent, cancelled or changed)."), "warning")
    customer_id = request.form.get("customer_id", type=db_int)
    if customer_id is not None and customers.get_customer(current_studio(), job, customer_id):
        return redirect_after_post(url_for("customers.edit", job_id=job.id, customer_id=customer_id) + "#coming")
    return redirect_after_post(url_for("jobs.edit", job_id=job.id) + "#customers")


@bp.route("/jobs/<int:job_id>/new", methods=["GET", "POST"])
@login_required
def one_off(job_id: int):
    """A one-off message to a target group of the job's customers, now or later."""
    job = job_or_404(job_id)
    form = OneOffForm(zone=current_studio().time_zone)
    if form.validate_on_submit():
        with problems_shown_on(form):
            count = messages.send_one_off(job, form.to_input(), utcnow())
            flash(ngettext("The message goes to %(num)d customer.", "The message goes to %(num)d customers.", count),
                  "success")
            outbox.dispatch_now()
            return redirect_after_post(url_for(".index", job=job.id))
    return render_form("outbox/one_off.html", form, job=job)


def _source_of(studio: Studio, message) -> str:
    """The email as it goes (or went) out, headers included; a text message is its text."""
    if message.channel != "email" or (message.customer is None and not message_keys.reaches_no_customer(message.key)):
        return message.body
    account = mailsettings.account_of(studio)
    try:
        mime = composer.build_email(message, account, composer.unsubscribe_for(settings.current().base_url, message), studio.name, message.sent_at or message.due_at,
                                    untrusted=composer.typed_by_others(message))
    except composer.HeaderProblem as problem:
        return str(problem)
    return composer.wire_bytes(mime).decode("utf-8", "replace").replace("\r\n", "\n")
