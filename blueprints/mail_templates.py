"""Settings → Templates: the owner's texts for email staff write by hand, with the placeholders
and the preview the profile editor has. Staff choose them on a contact's write page."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _

from shutterbell import autoreply, mail_templates, mailsettings, templating
from shutterbell.models import utcnow

from .access import audited, current_studio, or_404, owner_required, redirect_after_post, render_form
from .forms import AutoReplyForm, TemplateForm, problems_shown_on

bp = Blueprint("mail_templates", __name__, url_prefix="/settings/templates")


@bp.get("/")
@owner_required
def index():
    return _index(_autoreply_form())


def _index(form, status: int = 200):
    return render_template("mail_templates/index.html", templates=mail_templates.of_studio(current_studio()),
                           form=form, inbox=bool(mailsettings.account_of(current_studio()).imap_host)), status


def _autoreply_form() -> AutoReplyForm:
    return AutoReplyForm(account=mailsettings.account_of(current_studio()),
                         templates=mail_templates.of_studio(current_studio()))


@bp.post("/autoreply")
@owner_required
def autoreply_settings():
    """Switch the automatic answer on (with a template) or off."""
    form = _autoreply_form()
    if form.validate_on_submit():
        with problems_shown_on(form):
            chosen = mail_templates.get(current_studio(), form.template.data) if form.template.data else None
            autoreply.configure(mailsettings.account_of(current_studio()), chosen, form.days.data, utcnow())
            audited("autoreply_changed", f"{chosen.name}, {form.days.data} days" if chosen else "off")
            flash(_("The automatic answer uses “%(name)s” now.", name=chosen.name) if chosen
                  else _("No automatic answers are sent."), "success")
            return redirect_after_post(url_for(".index"))
    return _index(form, 422)


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def new():
    return _edit(None)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@owner_required
def edit(template_id: int):
    return _edit(or_404(mail_templates.get(current_studio(), template_id)))


def _edit(template):
    form = TemplateForm(obj=template)
    if form.validate_on_submit():
        with problems_shown_on(form):
            saved = mail_templates.save(current_studio(), template, form.to_input())
            audited("template_saved", saved.name)
            flash(_("Saved “%(name)s”.", name=saved.name), "success")
            return redirect_after_post(url_for(".index"))
    return render_form("mail_templates/edit.html", form, mail_template=template,
                       placeholders=templating.placeholders_for(None), **_preview_of(form))


@bp.post("/preview")
@owner_required
def preview():
    """The live preview beside the editor (htmx, as the text is typed)."""
    form = TemplateForm()
    shown = _preview_of(form)
    return render_template("profiles/_preview.html", **shown), 422 if shown["problems"] else 200


def _preview_of(form) -> dict:
    if not (form.subject.data or form.body.data):  # a new template: nothing to show or fault yet
        return {"rendered": None, "problems": {}}
    rendered, problems = mail_templates.preview(current_studio(), form.to_input())
    return {"rendered": rendered, "problems": problems}


@bp.route("/<int:template_id>/delete", methods=["GET", "POST"])
@owner_required
def delete(template_id: int):
    """After a confirmation page: a template is the owner's own writing."""
    template = or_404(mail_templates.get(current_studio(), template_id))
    if request.method == "GET":
        return render_template("mail_templates/delete.html", mail_template=template)
    name = template.name
    mail_templates.delete(template)
    audited("template_deleted", name)
    flash(_("Deleted “%(name)s”.", name=name), "success")
    return redirect_after_post(url_for(".index"))

