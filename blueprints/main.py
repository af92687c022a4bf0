from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from shutterbell import accounts, health, invoices, mailsettings, messages, profiles, queue, team
from shutterbell.models import utcnow

from .access import current_studio

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:  # a studio exists then: no need to ask
        return dashboard()
    return redirect(url_for("auth.setup" if accounts.instance_is_empty() else "auth.login"))


@bp.get("/healthz")
def healthz():
    """For a monitor (no sign-in): 200 when everything runs, 503 when something is down."""
    report = health.check(queue.current(), utcnow())
    response = jsonify(report.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if report.ok else 503


@login_required
def dashboard():
    last_run = queue.current().last_heartbeat()
    studio = current_studio()
    account = mailsettings.account_of(studio)
    days = messages.daily_counts(studio, utcnow())
    return render_template(
        "main/dashboard.html",
        profiles=profiles.names_of(studio),
        worker_seconds_ago=int((utcnow() - last_run).total_seconds()) if last_run else None,
        days=days, today=days[-1], waiting=messages.waiting(studio), approvals=messages.approvals_by_job(studio),
        chart_top=max(d.sent + d.failed + d.skipped for d in days),  # 0: nothing to chart yet
        mail_ready=account.smtp_configured, mail_accounts=mailsettings.account_health(account),
        has_staff=len(accounts.list_users(studio)) > 1,  # invited or signed up: no more "invite your staff"
        my_jobs=team.upcoming_for(current_user, invoices.day_of(studio, utcnow())),  # first, on a tablet too
    )
