"""CSV import on the job page: upload, preview, confirm, progress."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from shutterbell import imports
from shutterbell.models import utcnow

from .access import current_studio, job_or_404, or_404

bp = Blueprint("imports", __name__, url_prefix="/jobs/<int:job_id>/imports")


@bp.post("/")
@login_required
def upload(job_id: int):
    job = job_or_404(job_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV file to import."), "error")
        return redirect(url_for("jobs.edit", job_id=job.id) + "#import")
    try:
        result = imports.preview(job, upload.read(imports.MAX_BYTES + 1))
    except imports.ImportFileError as exc:
        return render_template("imports/show.html", job=job, record=None, result=None, error=str(exc)), 422
    record = imports.save_preview(job, upload.filename, result)
    return render_template("imports/show.html", job=job, record=record, result=result, error=None)


@bp.post("/<int:import_id>/run")
@login_required
def run(job_id: int, import_id: int):
    job = job_or_404(job_id)
    record = or_404(imports.get_import(current_studio(), job, import_id))
    if record.status == "previewed":
        imports.start(record, utcnow())
    return redirect(url_for(".show", job_id=job.id, import_id=record.id))


@bp.get("/<int:import_id>")
@login_required
def show(job_id: int, import_id: int):
    """The import's progress; htmx polls the progress partial while it runs."""
    job = job_or_404(job_id)
    record = or_404(imports.get_import(current_studio(), job, import_id))
    template = "imports/_progress.html" if request.htmx else "imports/show.html"
    return render_template(template, job=job, record=record, result=None, error=None)
