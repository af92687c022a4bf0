"""Settings → Communication profiles. Staff may look; only the owner changes profiles."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from shutterbell import channels, jobs, messages, profiles, templating, triggers
from shutterbell.profiles import ProfileChanged, UnknownNotification

from .access import audited, current_studio, or_404, owner_required, redirect_after_post, render_form
from .forms import NotificationForm, ProfileForm

bp = Blueprint("profiles", __name__, url_prefix="/settings/profiles")


@bp.context_processor
def catalogue_names():
    return {"catalogue": triggers.CATALOGUE, "audience_labels": triggers.AUDIENCE_LABELS,
            "max_notifications": profiles.MAX_NOTIFICATIONS,
            "placeholders_for": templating.placeholders_for, "message_preview": message_preview}


def _profile_or_404(profile_id: int):
    return or_404(profiles.get_profile(current_studio(), profile_id))


@bp.get("/")
@login_required
def index():
    listed = profiles.list_profiles(current_studio())
    return render_template("profiles/index.html", profiles=listed, steps=_steps_worded(listed))


def _steps_worded(listed) -> dict[tuple, tuple[str, str]]:
    """Each kind of step in the list worded once, (channel, trigger, days, audience) -> ("Email",
    "7 days before the job is archived → Buyers"): fifty profiles share a few kinds, and each
    wording is a few translation lookups."""
    kinds = {(n.channel, n.trigger, n.days, n.audience) for profile in listed for n in profile.notifications}
    return {kind: _step_worded(*kind) for kind in kinds}


def _step_worded(channel: str, trigger: str, days: int | None, audience: str) -> tuple[str, str]:
    return (str(channels.get(channel).label),
            f"{triggers.CATALOGUE[trigger].summary(days)} → {triggers.AUDIENCE_LABELS[audience]}")


@bp.get("/<int:profile_id>/results")
@login_required
def results(profile_id: int):
    """Which messages sell: per notification, what went out and the orders within a week after."""
    profile = _profile_or_404(profile_id)
    return render_template("profiles/results.html", profile=profile, results=messages.results(profile),
                           days=messages.ATTRIBUTION.days)


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def new():
    return _edit_page(None)


@bp.route("/<int:profile_id>", methods=["GET", "POST"])
@login_required
def edit(profile_id: int):
    profile = _profile_or_404(profile_id)
    if request.method == "POST" and not current_user.is_owner:
        abort(403)
    return _edit_page(profile)


def _edit_page(profile):
    """Create or edit; without JavaScript the row buttons post here and the form comes back.
    An HTMX save gets the editor alone back (422 with errors) or an HX-Redirect. The owner's
    saved rows are drawn closed and post their id alone; staff see every row's fields."""
    readonly, studio = not current_user.is_owner, current_studio()
    if request.method == "POST":
        form = ProfileForm(studio=studio)  # its closed rows get their stored values below
    elif profile is not None and not readonly:
        form = ProfileForm.as_stored(profile, studio)
    else:  # a new profile; staff, who cannot open a row, see every row's fields
        form = ProfileForm(obj=profile, studio=studio)
    template = "profiles/_form.html" if request.htmx else "profiles/form.html"
    page = {"profile": profile, "readonly": readonly, "used_by": jobs.jobs_using(profile) if profile else None}
    try:
        if request.method == "POST":
            form.fill_closed_rows(profile)
            if form.rearrange(request.form):
                return render_form(template, form, **page)
        if form.validate_on_submit():
            saved = profiles.save_profile(studio, profile, form.to_input())
            audited("profile_saved", saved.name)
            flash(_("Saved “%(name)s”.", name=saved.name), "success")
            return redirect_after_post(url_for(".index"))
    except ProfileChanged:
        form.form_errors.append(_("Someone removed a notification of this profile while you were editing. "
                                  "Check the notifications below, then save again."))
        return render_form(template, form, status=409, **page)
    except UnknownNotification:
        abort(404)
    return render_form(template, form, **page)


@bp.post("/<int:profile_id>/duplicate")
@owner_required
def duplicate(profile_id: int):
    copy = profiles.duplicate_profile(_profile_or_404(profile_id))
    flash(_("Copied. You are now editing “%(name)s”.", name=copy.name), "success")
    return redirect(url_for(".edit", profile_id=copy.id))


@bp.route("/<int:profile_id>/delete", methods=["GET", "POST"])
@owner_required
def delete(profile_id: int):
    profile = _profile_or_404(profile_id)
    if request.method == "GET":
        return render_template("profiles/delete.html", profile=profile, used_by=jobs.jobs_using(profile))
    try:
        profiles.delete_profile(profile)
    except profiles.ProfileInUse as exc:
        return render_template("profiles/delete.html", profile=profile, used_by=exc.jobs), 409
    audited("profile_deleted", profile.name)
    flash(_("Deleted “%(name)s”.", name=profile.name), "success")
    return redirect(url_for(".index"))


@bp.route("/row", methods=["GET", "POST"])
@owner_required
def row():
    """One notification row (HTMX): GET draws a new one; POST opens a closed one (its id alone
    posted: drawn with its stored values) or redraws the posted one for a changed trigger or
    channel, offering only the target groups that trigger allows."""
    values = request.form if request.method == "POST" else request.args
    index = values.get("index", type=int)
    if index is None or not 0 <= index < 10_000:
        abort(400)
    prefix = f"notifications-{index}"
    form = NotificationForm(request.form if request.method == "POST" else None, prefix=prefix, studio=current_studio())
    if form.closed:  # a closed row opening: its stored values
        form.fill(or_404(profiles.stored_input(current_studio(), int(form.id.data))))
    form.fit_to_trigger(trigger_changed=request.headers.get("HX-Trigger") == form.trigger.id)
    if values.get("convert"):
        form.convert_gotphoto()
    position = values.get(f"{prefix}-position", type=int) or values.get("position", type=int, default=0)
    return render_template("profiles/_row.html", row=form.drawn(index, position))


@bp.post("/preview")
@login_required
def preview():
    """The message rendered with sample data as the owner types (HTMX, debounced)."""
    index = request.form.get("index", type=int, default=0)
    form = NotificationForm(request.form, prefix=f"notifications-{index}", studio=current_studio())
    preview = message_preview(form)
    return render_template("profiles/_preview.html", index=index, **preview), 422 if preview["problems"] else 200


def message_preview(row: NotificationForm) -> dict:
    """What the preview pane shows for one row: the rendered message, or what is wrong with it."""
    item = row.to_input()
    preview = {"rendered": None, "problems": {}, "channel": item.channel,
               "gotphoto": templating.has_gotphoto_placeholders(item.subject + item.body)}
    if not item.body.strip():
        return preview  # nothing typed yet: nothing to complain about
    preview["problems"] = {k: v for k, v in profiles.notification_problems(item).items()
                           if k in ("subject", "body", "channel")}
    if not preview["problems"]:
        studio = current_studio()
        today = datetime.now(ZoneInfo(studio.time_zone)).date()
        context = templating.sample_context(studio.name, studio.locale, studio.currency, today)
        try:
            preview["rendered"] = templating.render(item.subject, item.body, item.channel, context)
        except templating.TemplateProblem as exc:
            preview["problems"] = {"body": str(exc)}
    return preview
