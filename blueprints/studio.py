"""Settings → Studio: name, time zone, locale and the send times notifications use (owner only)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shutterbell import accounts, audit, composer

from .access import audited, current_studio, db_int, owner_required, render_form
from .forms import StudioForm

bp = Blueprint("studio", __name__, url_prefix="/settings/studio")


@bp.route("/", methods=["GET", "POST"])
@owner_required
def edit():
    studio = current_studio()
    form = StudioForm(obj=studio, studio=studio)
    if form.validate_on_submit():
        try:
            accounts.update_studio(studio, form.to_settings())
        except accounts.AccountError as exc:
            form.form_errors.append(str(exc))
        else:
            audited("studio_saved", studio.name)
            flash(_("Studio settings saved."), "success")
            return redirect(url_for(".edit"))
    return render_form("studio/edit.html", form, confirmation_defaults=(str(composer.CONFIRMATION_SUBJECT),
                                                                          str(composer.CONFIRMATION_BODY)))


@bp.get("/audit")
@owner_required
def audit_log():
    """Who changed which setting, newest first."""
    return render_template("studio/audit.html", result=audit.entries(current_studio(), request.args.get(
        "page", 1, type=db_int)), what=audit.WHAT)
