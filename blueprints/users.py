"""Settings → Users: the owner invites and removes staff."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from shutterbell import accounts, mailsettings

from .access import audited, current_studio, link_for_email, owner_required, render_form
from .forms import InviteForm

bp = Blueprint("users", __name__, url_prefix="/settings/users")


@bp.route("/", methods=["GET", "POST"])
@owner_required
def index():
    form = InviteForm()
    invite_url = None
    if form.validate_on_submit():
        try:
            user, token = accounts.invite_staff(current_studio(), form.email.data, form.name.data or "")
        except accounts.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            audited("user_invited", user.email)
            invite_url = link_for_email("auth.accept_invite", token=token)
            sent_by = accounts.send_invitation(user, invite_url)
            if sent_by:
                # Not shown: whoever holds the link learns whether the address signs in elsewhere.
                invite_url = None
                flash(_sent_message(sent_by, user.email), "success")
            else:
                flash(_("Invitation created, but no email could carry it: this Shutterbell has no mail server of its "
                        "own, and your studio’s email account is not set up or is paused. Pass the link below on."),
                      "warning")
            form = InviteForm(formdata=None)
    users = accounts.list_users(current_studio())
    if form.errors:
        return render_form("users/index.html", form, users=users)
    return render_template("users/index.html", form=form, users=users, invite_url=invite_url)


def _sent_message(sent_by: str, email: str) -> str:
    if sent_by == accounts.STUDIO:
        return _("Invitation sent to %(email)s from your studio’s address %(sender)s (this Shutterbell has no "
                 "mail server of its own).", email=email, sender=mailsettings.account_of(current_studio()).from_address)
    return _("Invitation sent to %(email)s from this Shutterbell’s own address.", email=email)


@bp.post("/<int:user_id>/remove")
@owner_required
def remove(user_id: int):
    try:
        removed = accounts.remove_user(current_studio(), user_id)
    except LookupError:
        abort(404)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
    else:
        audited("user_removed", removed)
    return redirect(url_for(".index"))
