"""Settings → Email (owner only): the studio's own SMTP account for sending, IMAP account for the
inbox sync and SMS provider account for texts, each with a connection test that runs the real
protocol in the request (an unsaved password is never written anywhere)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from limits import parse

from shutterbell import accounts, audit, deliverability, diagnostics, mailcheck, mailsettings, oauth, settings
from shutterbell.channels import sms
from shutterbell.extensions import db, limiter
from shutterbell.models import utcnow

from .access import audited, current_studio, owner_required, page_glance, redirect_after_post, render_form
from .forms import DnsForm, ImapForm, OAuthForm, SmsForm, SmtpForm

bp = Blueprint("email_settings", __name__, url_prefix="/settings/email")

MAIL_TESTS = parse("20 per 10 minutes")  # per studio: tests, saves (which test first) and DNS checks
CHECK_TIMEOUT = 9.0  # seconds for the whole check: Test connection answers within 10 s, whatever the server does
FORMS = {"smtp": SmtpForm, "imap": ImapForm, "sms": SmsForm}  # the sections with an account to save
SERVICE = "<any(smtp, imap, sms):service>"
SAVED = {"smtp": (_l("Sending settings saved."),
                  _l("Sending settings saved, but the test failed: messages will wait until it passes.")),
         "imap": (_l("Inbox sync settings saved."), _l("Inbox sync settings saved, but the test failed.")),
         "sms": (_l("Text message settings saved."),
                 _l("Text message settings saved, but the test failed: texts will wait until it passes."))}


@bp.get("/")
@owner_required
def edit():
    return _page()


@bp.post(f"/{SERVICE}")
@owner_required
def save(service: str):
    """Save after a test; when the test fails, save only if the owner confirms ("Save anyway")."""
    account = _account(service)
    form = FORMS[service](account=account)
    if not form.validate_on_submit():
        return _page(service, form)
    if _too_many_tests(account.studio_id):
        return _page(service, form, too_many=True, status=429)
    result = _check(account, service, form.to_input())
    if not result.ok and form.save_anyway.data != "1":
        return _page(service, form, result=result, offer_save_anyway=True, status=422)
    save_settings = {"smtp": mailsettings.save_smtp, "imap": mailsettings.save_imap, "sms": sms.save}[service]
    given = form.to_input()
    save_settings(account, given, result.ok, utcnow())
    audited(f"{service}_saved", audit.sms_summary(given) if service == "sms" else audit.mail_summary(given))
    flash(str(SAVED[service][0 if result.ok else 1]), "success" if result.ok else "warning")
    return redirect_after_post(url_for(".edit"))


@bp.post(f"/{SERVICE}/test")
@owner_required
def test(service: str):
    account = _account(service)
    form = FORMS[service](account=account)
    if not form.validate_on_submit():
        return _page(service, form)
    if _too_many_tests(account.studio_id):
        return _page(service, form, too_many=True, status=429)
    given = form.to_input()
    send_to = current_user.email if service == "smtp" and request.form.get("send_test") else ""  # owner only
    result = _check(account, service, given, send_to)
    if result.ok and service == "sms" and sms.is_saved(account, given):
        sms.resume(account, utcnow())  # the saved settings work again: texts go on
    elif result.ok and service != "sms" and mailsettings.is_saved(account, service, given):
        mailsettings.resume(account, service, utcnow())  # the saved settings work again: sending goes on
    return _page(service, form, result=result)


@bp.post("/<any(smtp, imap):service>/oauth/<any(microsoft, google):provider>")
@owner_required
def oauth_start(service: str, provider: str):
    """Send the owner to the provider to sign in to the studio's mailbox, for sending or for the
    inbox. The state and the PKCE verifier stay in the owner's own session, for the way back."""
    if provider not in oauth.configured():
        abort(404)
    account = mailsettings.account_of(current_studio())
    form = OAuthForm(account=account, service=service)
    if not form.validate_on_submit():
        return _page(service, oauth_form=form, status=422)
    url, state, verifier = oauth.start(provider, _redirect_uri(provider))
    session["oauth"] = {"service": service, "provider": provider, "state": state, "verifier": verifier,
                        "user": current_user.id, "address": form.address.data}
    return redirect(url)


@bp.get("/oauth/<any(microsoft, google):provider>/done")
@owner_required
def oauth_done(provider: str):
    """The provider sends the owner back (to one address for both services, the one registered):
    the code for the grant, sending or the inbox tested with it, the grant sealed when the test
    passes (and what was paused goes on)."""
    pending = session.pop("oauth", None)
    if not pending or pending["provider"] != provider or pending["user"] != current_user.id \
            or request.args.get("state") != pending["state"]:
        flash(_("That sign-in did not start on this page, or it was used already. Please sign in again."), "error")
        return redirect(url_for(".edit"))
    if "code" not in request.args:
        flash(_("%(provider)s did not sign you in (%(error)s).", provider=oauth.PROVIDERS[provider].label,
                error=request.args.get("error_description") or request.args.get("error", "?")), "error")
        return redirect(url_for(".edit"))
    try:
        grant = oauth.finish(provider, _redirect_uri(provider), request.args["code"], pending["verifier"])
    except oauth.GrantFailed as failure:
        flash(_("%(provider)s did not sign you in (%(error)s).", provider=oauth.PROVIDERS[provider].label,
                error=failure.diagnosis.detail), "error")
        return redirect(url_for(".edit"))
    service, label = pending.get("service", "smtp"), oauth.PROVIDERS[provider].label
    account = mailsettings.account_of(current_studio())
    tried = mailsettings.oauth_settings(account, service, provider, grant, pending["address"])
    result = (mailsettings.check if service == "smtp" else mailsettings.check_imap)(tried, CHECK_TIMEOUT)
    if not result.ok:  # the settings that worked before stay as they were
        flash(_("Signed in with %(provider)s, but sending with it failed: nothing was changed.", provider=label)
              if service == "smtp" else
              _("Signed in with %(provider)s, but the inbox could not be read with it: nothing was changed.",
                provider=label), "warning")
        return _page(service, result=result, status=200)
    mailsettings.save_oauth(account, service, provider, grant, pending["address"], utcnow())
    audited(f"{service}_oauth_connected", f"{label}: {pending['address']}")
    flash(_("Signed in with %(provider)s: sending works.", provider=label) if service == "smtp" else
          _("Signed in with %(provider)s: the inbox syncs.", provider=label), "success")
    return redirect(url_for(".edit", _anchor=service))


def _redirect_uri(provider: str) -> str:
    """Where the provider sends the owner back: registered with the provider exactly so."""
    return settings.current().base_url.rstrip("/") + url_for(".oauth_done", provider=provider)


@bp.post("/<any(imap, sms):service>/remove")
@owner_required
def remove(service: str):
    """Disconnect the inbox or the SMS account (sending itself has no off switch: it is the app)."""
    account = _account(service)
    mailsettings.remove_imap(account) if service == "imap" else sms.remove(account)
    audited(f"{service}_removed")
    flash(_("The inbox is disconnected.") if service == "imap" else _("The SMS account is removed."), "success")
    return redirect_after_post(url_for(".edit"))


@bp.post(f"/{SERVICE}/preset")
@owner_required
def apply_preset(service: str):
    """Fill the server settings for the chosen provider; the rest of the form is kept."""
    if service == "sms":
        abort(404)
    form = FORMS[service](account=_account(service))
    form.apply_preset()
    return _page(service, form, status=200)


@bp.post("/dns")
@owner_required
def check_dns():
    """Look up SPF, DKIM and DMARC for the saved from address's domain."""
    account = mailsettings.account_of(current_studio())
    form = DnsForm(account=account)
    if not form.validate_on_submit():
        return _page("dns", form)
    if _too_many_tests(account.studio_id):
        return _page("dns", form, too_many=True, status=429)
    domain = account.from_address.rpartition("@")[2]
    if not domain:
        return _page("dns", form, dns_problem=_("Save your sending settings first: the check looks at the domain "
                                                "of your from address."))
    try:
        findings = deliverability.check_domain(domain, account.smtp_host, form.selector.data or "")
    except deliverability.DnsProblem as problem:
        return _page("dns", form, dns_problem=str(problem))
    return _page("dns", form, findings=findings, domain=domain)


def _too_many_tests(studio_id: int) -> bool:
    """Tests, saves (which test first) and DNS checks share one limit per studio: each is a
    sign-in at the provider or a lookup, and a form that can be posted in a loop must not become
    a password-guessing or port-scanning tool. Counts this attempt unless refused."""
    return limiter.enabled and not limiter.limiter.hit(MAIL_TESTS, "LIMITER/shutterbell/mail-test", str(studio_id))


def _account(service: str):
    studio = current_studio()
    return sms.account_of(studio) if service == "sms" else mailsettings.account_of(studio)


def _check(account, service: str, given, send_to: str = "") -> mailcheck.CheckResult:
    """Run the connection test; a failure goes on the diagnostics list."""
    if service == "smtp":
        result = mailsettings.check(mailsettings.smtp_settings(account, given), CHECK_TIMEOUT, send_to)
    elif service == "imap":
        result = mailsettings.check_imap(mailsettings.imap_settings(account, given), CHECK_TIMEOUT)
    else:
        result = sms.check(given, sms.token_for(account, given), CHECK_TIMEOUT)
    if not result.ok:
        mailsettings.note_problem(account.studio_id, service, "test", result.diagnosis, utcnow())
        db.session.commit()
    return result


def _page(service: str | None = None, form=None, status: int | None = None, **context):
    """The whole page, or for htmx only the section that was posted (its form, result and
    provider note). The other sections show their saved settings."""
    studio = current_studio()
    saved = {"smtp": mailsettings.account_of(studio), "sms": sms.account_of(studio)}
    saved["imap"] = saved["smtp"]
    forms = {name: form if name == service and form is not None else cls(account=saved[name], formdata=None)
             for name, cls in FORMS.items()}
    sections = {name: _section(name, forms[name], saved[name]) for name in FORMS}
    sections["dns"] = {"form": form if service == "dns" else DnsForm(account=saved["smtp"], formdata=None)}
    context.update(account=saved["smtp"], sms_account=saved["sms"], step_names=mailcheck.STEP_LABELS,
                   sms_gateway=sms.configured_gateway(), posted=service, oauth_providers=oauth.configured())
    oauth_form = context.pop("oauth_form", None)
    for name in ("smtp", "imap"):
        given = oauth_form if name == service else None
        sections[name]["oauth_form"] = given or OAuthForm(account=saved["smtp"], service=name, formdata=None)
        sections[name]["signed_in"] = mailsettings.signed_in_with(saved["smtp"], name)
    if service is None or not request.htmx or form is None:
        return render_form("email_settings/edit.html", form or oauth_form or sections["smtp"]["oauth_form"], status,
                           sections=sections, problems=mailsettings.recent_problems(studio.id), **context)
    response = make_response(render_template(f"email_settings/_{service}.html", **sections[service], **context),
                             status or (422 if form.errors else 200))
    if form.errors:  # field errors: the whole section, not just the part the request asked for
        response.headers.update({"HX-Retarget": f"#{service}", "HX-Reselect": f"#{service}",
                                 "HX-Reswap": "outerHTML"})
    return response


def _section(service: str, form, account) -> dict:
    preset = mailsettings.PRESETS.get(form.preset.data or "") if service != "sms" else None
    saved = bool(account.credentials) if service == "sms" else mailsettings.has_password(account, service)
    return {"form": form, "preset": preset, "has_password": saved}


@bp.app_template_global()
def mail_alerts() -> dict:
    """The "SMTP settings", "Inbox sync" and "Text messages" banners on every page while sending
    is paused or the sync fails; each goes away by itself after the next successful test, send or
    sync. Staff see them too, read-only: they are the ones answering customers, and only the
    owner can fix the settings. Asked by the page that draws them (base.html): a part of a page
    that htmx asks for (a preview as one types, a search) asks nothing."""
    if not (current_user and current_user.is_authenticated):
        return {"alerts": [], "owners": ""}
    studio, alerts, glance = current_studio(), [], page_glance()
    account = mailsettings.failing(studio) if glance.mail_failing else None
    for service, title in (("smtp", _("SMTP settings")), ("imap", _("Inbox sync"))):
        if account is not None and getattr(account, f"{service}_failing_since") is not None:
            alerts.append(_alert(service, title, getattr(account, f"{service}_failing_since"),
                                 getattr(account, f"{service}_failure_cause"),
                                 getattr(account, f"{service}_failure_detail"), _sign_in_again(account, service)))
    texts = sms.failing(studio) if glance.texts_failing else None
    if texts is not None:
        alerts.append(_alert("sms", _("Text messages"), texts.failing_since, texts.failure_cause,
                             texts.failure_detail))
    owners = accounts.owners(studio) if alerts and not current_user.is_owner else []
    return {"alerts": alerts, "owners": ", ".join(owner.email for owner in owners)}


def _alert(service: str, title: str, since, cause: str, detail: str, sign_in: tuple | None = None) -> dict:
    hint = diagnostics.hint_for(cause, service, unknown="other")
    return {"service": service, "title": title, "since": since, "detail": detail, "hint": hint,
            "sign_in": sign_in if cause == "oauth_grant_revoked" else None}


def _sign_in_again(account, service: str) -> dict | None:
    """What the banner's button signs in again for (the service the grant was saved for: the inbox
    may share sending's), where the account signed in with a provider this instance still offers."""
    signed_in = mailsettings.signed_in_with(account, service)
    if signed_in is None or signed_in[1]["provider"] not in oauth.configured():
        return None
    owner, grant = signed_in
    return {"service": owner, "provider": grant["provider"], "label": oauth.PROVIDERS[grant["provider"]].label,
            "address": getattr(account, f"{owner}_username")}
