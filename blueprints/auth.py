"""First-run set-up, sign in / out, and accepting a staff invitation."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from shutterbell import accounts, settings
from shutterbell.extensions import limiter

from .access import form_email, link_for_email, or_404, render_form
from .forms import AcceptInviteForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, SetupForm

bp = Blueprint("auth", __name__)


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first studio; guarded by the one-time token ./run prints."""
    if not accounts.instance_is_empty():
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if not form.is_submitted():
        form.preselect([language for language, _quality in request.accept_languages])
    if form.validate_on_submit():
        if not accounts.setup_token_valid(form.setup_token.data.strip()):
            form.setup_token.errors.append(_("This is not the token ./run printed. Copy it from the terminal."))
        else:
            try:
                owner = accounts.create_studio(form.to_new_studio())
            except accounts.AccountError as exc:
                form.owner_email.errors.append(str(exc))
            else:
                login_user(owner)
                flash(_("Welcome! Your studio is ready, with two recommended communication profiles."), "success")
                return redirect(url_for("profiles.index"))
    return render_form("auth/setup.html", form)


def _address_and_ip() -> str:
    return f"{request.remote_addr}|{form_email()}"


def _sign_in_failed(response) -> bool:
    """The form came back with an error (a wrong password, an expired form): not a success, nor
    a refusal because the limiter is down (503)."""
    return response.status_code in (400, 422)


def _too_many_sign_ins(_limit):
    form = LoginForm()
    form.password.errors = [_("Too many wrong passwords. Wait 15 minutes and try again.")]
    return make_response(render_template("auth/login.html", form=form), 429)


# Slows password guessing: 10 wrong passwords for one address from one IP, or 50 from one IP, in
# 15 minutes pause sign-in there. Keyed on address *and* IP, so a stranger cannot lock the owner
# out by failing on purpose from elsewhere. Only failures count.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_address_and_ip, methods=["POST"], deduct_when=_sign_in_failed,
               on_breach=_too_many_sign_ins)
@limiter.limit("50 per 15 minutes", methods=["POST"], deduct_when=_sign_in_failed, on_breach=_too_many_sign_ins)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("Wrong email or password."))
    return render_form("auth/login.html", form)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a link send users elsewhere after
    sign-in. Browsers drop tabs and newlines and read a backslash as a slash, so refuse those."""
    if target and target.startswith("/") and not any(ch.isspace() or ch == "\\" or ord(ch) < 32 for ch in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("main.index")


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    """A lost tablet, a shared computer: every session and remember cookie of this user ends."""
    accounts.end_sessions(current_user)
    logout_user()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("3 per hour", key_func=form_email, methods=["POST"])  # an empty key counts nothing
def forgot_password():
    """The same answer whether or not the address has an account: nobody learns who does."""
    form = ForgotPasswordForm()
    mail_configured = settings.current().instance_mail
    if form.validate_on_submit():
        user = accounts.user_by_email(form.email.data)
        if user is not None:
            token = accounts.reset_token(user)
            accounts.request_password_reset(user, link_for_email("auth.reset_password", token=token))
        return render_template("auth/forgot.html", form=form, sent=True, mail_configured=mail_configured)
    return render_form("auth/forgot.html", form, mail_configured=mail_configured)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = accounts.user_for_reset(token)
    if user is None:
        return render_template("auth/reset.html", form=None), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data)  # every other session of the user ends
        login_user(user)
        flash(_("Your new password is set. Other devices were signed out."), "success")
        return redirect(url_for("main.index"))
    return render_form("auth/reset.html", form, user=user)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    user = or_404(accounts.find_invited(token))
    form = AcceptInviteForm(name=user.name)
    if accounts.has_account_elsewhere(user):  # only the address's owner holds this link
        return render_template("auth/accept_invite.html", form=None, user=user), 409
    if form.validate_on_submit():
        try:
            accounts.accept_invite(user, form.name.data, form.password.data)
        except accounts.AccountError:
            return render_template("auth/accept_invite.html", form=None, user=user), 409
        login_user(user)
        flash(_("Welcome to %(studio)s!", studio=user.studio.name), "success")
        return redirect(url_for("main.index"))
    return render_form("auth/accept_invite.html", form, user=user)
