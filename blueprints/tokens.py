"""Settings → API tokens (owner): create one (shown once), see when each was used, revoke."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shutterbell import api_tokens
from shutterbell.models import utcnow

from .access import audited, current_studio, owner_required

bp = Blueprint("tokens", __name__, url_prefix="/settings/api-tokens")


@bp.route("/", methods=["GET", "POST"])
@owner_required
def index():
    new_token = None
    if request.method == "POST":
        row, new_token = api_tokens.create(current_studio(), request.form.get("name", ""), utcnow())
        audited("token_created", row.name)
    return render_template("tokens/index.html", tokens=api_tokens.list_tokens(current_studio()), new_token=new_token)


@bp.post("/<int:token_id>/revoke")
@owner_required
def revoke(token_id: int):
    if not api_tokens.revoke(current_studio(), token_id, utcnow()):
        abort(404)
    audited("token_revoked", str(token_id))
    flash(_("Revoked. Calls with this token now get 401."), "success")
    return redirect(url_for(".index"))
