"""The public sign-up page customers reach by a job's link or access code. No sign-in; CSRF and a
per-address rate limit; the answer is the same for a new and a repeated sign-up."""
from __future__ import annotations

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shutterbell import customers, outbox, profiles, suppression
from shutterbell.extensions import csrf, db, limiter
from shutterbell.models import Job, Studio, utcnow

from .access import form_email, link_for_email, or_404
from .forms import SignUpForm

bp = Blueprint("public", __name__)

# Each sign-up sends a confirmation from the studio's own account: a form that can be posted in a
# loop must not become a way to mail strangers. Per connection, per address, per job.
SIGNUPS_PER_CONNECTION = "20 per hour"
SIGNUPS_PER_ADDRESS = "5 per day"
SIGNUPS_PER_JOB = "300 per hour"


@bp.get("/join")
def enter_code():
    """A typed access code (the form on this page, or a flyer's QR code) leads to its job."""
    code = request.args.get("code", "").strip()
    if code and customers.job_by_code(code):
        return redirect(url_for(".signup", code=code.upper()))
    return render_template("public/code.html", code=code, unknown=bool(code)), 404 if code else 200


def _signup_page(code: str) -> dict:
    job = or_404(customers.job_by_code(code))
    studio = _studio_of(job)
    wording = customers.consent_wording(studio.name, job.name)
    form = SignUpForm(region=customers.region_of(studio))
    form.email_consent.label.text, form.sms_consent.label.text = wording["email"], wording["sms"]
    form.marketing_consent.label.text = wording["marketing"]
    now = utcnow()
    return {"job": job, "studio": studio, "plan": profiles.plan_of(job, now), "customer_form": form,
            "wording": wording, "online": job.published_at is not None and job.published_at <= now}


def _studio_of(row) -> Studio:
    """The studio a public page belongs to: the page speaks its language (app._page_language; set
    before the request's first translated word, which fixes the language)."""
    studio = db.session.get(Studio, row.studio_id)
    g.studio_locale = studio.locale
    return studio


def _signed_up(response) -> bool:
    """The thanks page: a sign-up was taken (a form with errors sends nothing, and counts nothing)."""
    return response.status_code == 200


def _too_many_signups(_limit):
    return make_response(render_template("public/signup.html", too_many=True,
                                         **_signup_page(request.view_args["code"])), 429)


@bp.route("/j/<code>", methods=["GET", "POST"])
@limiter.limit(SIGNUPS_PER_CONNECTION, methods=["POST"], on_breach=_too_many_signups)
@limiter.limit(SIGNUPS_PER_ADDRESS, key_func=form_email, methods=["POST"], deduct_when=_signed_up,
               on_breach=_too_many_signups)
@limiter.limit(SIGNUPS_PER_JOB, key_func=lambda: request.view_args["code"].strip().upper(), methods=["POST"],
               on_breach=_too_many_signups)
def signup(code: str):
    page = _signup_page(code)
    job, studio, form = page["job"], page["studio"], page["customer_form"]
    if request.method == "POST":
        if form.validate_on_submit():
            customer, _created = customers.register(job, form.to_input(), "signup", page["wording"], utcnow())
            # A repeat sign-up of an unconfirmed address sends the confirmation again (at most
            # hourly); the page says the same whatever happened, so it tells nobody who signed up.
            confirmation = outbox.queue_confirmation(customer, utcnow())
            if confirmation:
                outbox.dispatch_now([confirmation.id])
            elif _created and customer.confirmed_at is not None:  # no double opt-in: welcome them now
                db.session.commit()
                outbox.pass_soon()
            return render_template("public/thanks.html", confirm=studio.double_opt_in, **page)
        return render_template("public/signup.html", **page), 422
    return render_template("public/signup.html", **page)


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail provider posts without our form; the token is the key
def unsubscribe(token: str):
    """A service email's link: stops every email."""
    return _unsubscribe(token, offers=False)


@bp.route("/u/<token>/offers", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_from_offers(token: str):
    """A marketing email's link: stops offers only, and its page offers to stop the rest too."""
    return _unsubscribe(token, offers=True)


def _unsubscribe(token: str, offers: bool):
    customer = or_404(suppression.customer_by_token(token))
    page = {"studio": _studio_of(customer), "job": db.session.get(Job, customer.job_id),
            "token": token, "offers": offers}
    if request.method == "POST":
        suppression.unsubscribe(customer, utcnow(), offers_only=offers)
    entry = suppression.unsubscribed(customer)  # opened again later: say so, and offer the way back
    stopped_all = entry is not None and not entry.marketing_only
    return render_template("public/unsubscribed.html", done=stopped_all or (offers and entry is not None),
                           stopped_all=stopped_all, offers_stopped=entry is not None,
                           can_resubscribe=entry is not None and entry.reason == "unsubscribed", **page)


@bp.post("/u/<token>/again")
@limiter.limit("5 per hour")
def ask_to_resubscribe(token: str):
    """Emails again, after a confirmation from the person's own inbox (the page proves nothing)."""
    customer = or_404(suppression.customer_by_token(token))
    studio = _studio_of(customer)
    link = link_for_email(".resubscribe", token=token, proof=suppression.resubscribe_token(customer))
    message = outbox.request_resubscription(customer, link, utcnow())
    if message is not None:
        outbox.dispatch_now([message.id])
    return render_template("public/resubscribe.html", studio=studio, customer=customer, asked=True)


@bp.route("/u/<token>/again/<proof>", methods=["GET", "POST"])
def resubscribe(token: str, proof: str):
    """The link in that email. GET only shows a button: mail scanners open links on their own."""
    customer = or_404(suppression.customer_by_token(token))
    if not suppression.resubscribe_token_is_valid(customer, proof):
        abort(404)
    studio = _studio_of(customer)
    job = db.session.get(Job, customer.job_id)
    entry = suppression.unsubscribed(customer)
    done, offers = entry is None, entry is not None and entry.marketing_only
    if request.method == "POST" and not done:
        wording = (_("Subscribed again to offers from %(studio)s, confirmed from the link sent to %(email)s.",
                     studio=studio.name, email=customer.email) if offers else
                   _("Subscribed again to emails from %(studio)s about the photos of %(job)s, confirmed from the "
                     "link sent to %(email)s.", studio=studio.name, job=job.name, email=customer.email))
        done = suppression.resubscribe(customer, wording, utcnow())
    return render_template("public/resubscribe.html", studio=studio, customer=customer, done=done, token=token,
                           proof=proof, offers=offers)


@bp.route("/c/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The double opt-in link. GET only shows a button: mail scanners open links on their own."""
    customer = or_404(customers.by_confirm_token(token))
    job = db.session.get(Job, customer.job_id)
    studio = _studio_of(customer)
    done = customer.confirmed_at is not None
    if request.method == "POST" and not done:
        done = customers.confirm(customer, utcnow())
        outbox.pass_soon()  # the welcome in seconds, not at the next minute
    return render_template("public/confirm.html", studio=studio, job=job, done=done, token=token)
