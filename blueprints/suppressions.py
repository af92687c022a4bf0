"""Settings → Suppression list (owner): every address and number the studio does not contact,
why and since when; a bounce can be lifted, an unsubscribe only by the person (their new consent)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _

from shutterbell import suppression

from .access import current_studio, db_int, owner_required, part_of_page_wanted, redirect_after_post

bp = Blueprint("suppressions", __name__, url_prefix="/settings/suppression-list")


@bp.get("/")
@owner_required
def index():
    """The list; a search from htmx gets the results partial alone."""
    query = request.args.get("q", "")[:100]
    result = suppression.list_entries(current_studio().id, query, request.args.get("page", 1, type=db_int))
    template = "suppressions/_results.html" if part_of_page_wanted() else "suppressions/index.html"
    return render_template(template, result=result, q=query, liftable=suppression.LIFTABLE,
                           applies_to=suppression.applies_to)


@bp.post("/<int:entry_id>/lift")
@owner_required
def lift(entry_id: int):
    entry = suppression.lift(current_studio().id, entry_id)
    if entry is None:
        abort(404)
    flash(_("%(address)s gets messages again.", address=entry.address), "success")
    return redirect_after_post(url_for(".index", q=request.form.get("q", "")[:100]))
