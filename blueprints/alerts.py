"""Alerts (owner): what happened that the owner should know, newest first; opening the list marks
them read. Which kinds reach the app and the owner's email is switched here too."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _

from shutterbell import alerts
from shutterbell.models import utcnow

from .access import current_studio, db_int, owner_required, redirect_after_post

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.get("/")
@owner_required
def index():
    studio = current_studio()
    result = alerts.recent(studio.id, request.args.get("page", 1, type=db_int))
    page = render_template("alerts/index.html", result=result, kinds=alerts.KINDS, ways=alerts.WAYS,
                           wanted=lambda kind, way: alerts.wanted(studio, kind, way))
    alerts.mark_read(studio.id, result.rows, utcnow())  # after the page took them: highlighted once
    return page


@bp.post("/settings")
@owner_required
def switch():
    on = {value for value in request.form.getlist("on") if value.partition(".")[0] in alerts.KINDS}
    alerts.switch(current_studio(), on)
    flash(_("Alert settings saved."), "success")
    return redirect_after_post(url_for(".index"))
