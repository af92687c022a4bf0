"""Settings → Email (owner only): the studio's own SMTP account, with a connection test that
runs the real protocol in the request (an unsaved password is never written anywhere)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shutterbell import diagnostics, mailcheck, mailsettings, queue
from shutterbell.models import utcnow
from shutterbell.throttle import Throttle

from .access import current_studio, owner_required, redirect_after_post, render_form
from .forms import SmtpForm

bp = Blueprint("email_settings", __name__, url_prefix="/settings/email")

TESTS_PER_10_MINUTES = 20
CHECK_TIMEOUT = 12.0  # seconds per network step; the check caps itself at 15


@bp.get("/")
@owner_required
def edit():
    account = mailsettings.account_of(current_studio())
    return _page(SmtpForm(account=account), account)


@bp.post("/smtp")
@owner_required
def save_smtp():
    """Save after a test; when the test fails, save only if the owner confirms ("Save anyway")."""
    account = mailsettings.account_of(current_studio())
    form = SmtpForm(account=account)
    if not form.validate_on_submit():
        return _page(form, account)
    result = mailsettings.check(mailsettings.smtp_settings(account, form.to_input()), CHECK_TIMEOUT)
    if not result.ok and form.save_anyway.data != "1":
        return _page(form, account, result=result, offer_save_anyway=True, status=422)
    mailsettings.save_smtp(account, form.to_input(), result.ok, utcnow())
    flash(_("Sending settings saved.") if result.ok else
          _("Sending settings saved, but the test failed: messages will wait until it passes."),
          "success" if result.ok else "warning")
    return redirect_after_post(url_for(".edit"))


@bp.post("/smtp/test")
@owner_required
def test_smtp():
    account = mailsettings.account_of(current_studio())
    form = SmtpForm(account=account)
    if not form.validate_on_submit():
        return _page(form, account)
    throttle = Throttle(queue.connect(current_app.config["REDIS_URL"]), "mail-test", TESTS_PER_10_MINUTES, 600)
    key = str(account.studio_id)
    if throttle.blocked(key):
        return _page(form, account, too_many=True, status=429)
    throttle.failed(key)  # every test counts: each one is a sign-in at the provider
    given = form.to_input()
    send_to = current_user.email if request.form.get("send_test") else ""  # only ever to the owner
    result = mailsettings.check(mailsettings.smtp_settings(account, given), CHECK_TIMEOUT, send_to)
    if result.ok and mailsettings.is_saved(account, given):
        mailsettings.resume(account, utcnow())  # the saved settings work again: sending goes on
    return _page(form, account, result=result)


@bp.post("/smtp/preset")
@owner_required
def apply_preset():
    """Fill host, port and security for the chosen provider; the rest of the form is kept."""
    account = mailsettings.account_of(current_studio())
    form = SmtpForm(account=account)
    form.apply_preset()
    return _page(form, account, status=200)


def _page(form: SmtpForm, account, status: int | None = None, **context):
    """The whole page, or for htmx only the SMTP section (form, result, and provider note)."""
    context.update(account=account, step_names=mailcheck.STEP_LABELS, preset=mailsettings.PRESETS.get(form.preset.data or ""),
                   has_password=mailsettings.has_smtp_password(account))
    if not request.htmx:
        return render_form("email_settings/edit.html", form, status, **context)
    response = make_response(render_template("email_settings/_smtp.html", form=form, **context),
                             status or (422 if form.errors else 200))
    if form.errors:  # field errors: the whole section, not just the part the request asked for
        response.headers.update({"HX-Retarget": "#smtp", "HX-Reselect": "#smtp", "HX-Reswap": "outerHTML"})
    return response


@bp.app_context_processor
def mail_alert() -> dict:
    """The "SMTP settings" banner on every page for the owner while the studio's sending is paused;
    it goes away by itself after the next successful test or send."""
    if not (current_user and current_user.is_authenticated and current_user.is_owner):
        return {}
    account = mailsettings.paused_account(current_studio())
    if account is None:
        return {}
    return {"mail_alert": {"since": account.smtp_failing_since, "detail": account.smtp_failure_detail,
                           "hint": diagnostics.CAUSES.get(account.smtp_failure_cause, diagnostics.CAUSES["other"]).hint}}
