"""Who may do what, and the studio every query is scoped to."""
from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import abort, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_url
from htmx_flask import make_response as htmx_response

from shutterbell import audit, glance, settings
from shutterbell.accounts import normalise_email
from shutterbell.extensions import db, login_manager
from shutterbell.models import MAX_ID, Studio, User


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The session and the remember cookie carry ``User.session_id``, never the row id. The studio
    comes along: every signed-in page reads it (one query, not two)."""
    return db.session.scalar(sa.select(User).where(User.session_id == session_id).options(joinedload(User.studio)))


login_manager.login_view = "auth.login"
login_manager.login_message = None  # the sign-in page says enough


@login_manager.unauthorized_handler
def sign_in_first():
    """To the sign-in page, and back here after it. A part of a page that htmx asks for once the
    session has ended (a tablet left open overnight) would get the sign-in page drawn inside that
    part: the whole page goes to sign in instead, and comes back to the page it was on."""
    if request.htmx:
        return htmx_response(redirect=login_url(login_manager.login_view, request.htmx.current_url or request.url))
    return redirect(login_url(login_manager.login_view, request.url))


def current_studio() -> Studio:
    return current_user.studio


def page_glance() -> glance.Glance:
    """The navigation's unread count and the banners' cue, read once, as the page is drawn (after
    the view's own changes)."""
    if "glance" not in g:
        g.glance = glance.at_a_glance(current_user.studio_id)
    return g.glance


def owner_required(view):
    """Sign-in required, and the owner role: staff get 403."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def or_404(row):
    if row is None:
        abort(404)
    return row


def job_or_404(job_id: int):
    """The current studio's job, or 404 (for the job page and everything hanging off it)."""
    from shutterbell import jobs

    return or_404(jobs.get_job(current_studio(), job_id))


def render_form(template: str, form, status: int | None = None, **context):
    """Render a form page: 200 when fresh, 422 when it came back with errors."""
    return render_template(template, form=form, **context), status or (422 if form.errors else 200)


def part_of_page_wanted() -> bool:
    """An htmx swap asks for a part of the page (a list's results). A history restore, htmx's
    Back after its cache missed, asks for the whole page, as a reload does."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def redirect_after_post(url: str):
    """Redirect after a successful post; htmx follows an HX-Redirect instead of a 302."""
    return htmx_response(redirect=url) if request.htmx else redirect(url)


def link_for_email(endpoint: str, **values) -> str:
    """An address for an email, from BASE_URL: never from the request's Host header, which a
    stranger asking for a password reset chooses."""
    return settings.current().base_url + url_for(endpoint, **values)


def db_int(value: str) -> int:
    """For ``request.args.get(name, type=db_int)``: a number a database id or page can be, or
    the default (a larger one would overflow in the driver)."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(value)
    return number


def form_email() -> str:
    """The normalised address a posted form names (rate-limit keys), "" if none."""
    return normalise_email(request.form.get("email", ""))


def audited(what: str, subject: str = "") -> None:
    """Put a settings change the signed-in user just made in the studio's audit log."""
    from shutterbell.models import utcnow

    audit.record(current_studio().id, current_user, what, subject, utcnow())
