"""Photo jobs: list (search, status filter, pages), create, edit, archive, their team. Staff and owner alike."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from shutterbell import customers, jobs, messages, orders, profiles, scheduling, team, triggers
from shutterbell.models import utcnow

from .access import (current_studio, db_int, job_or_404, or_404, part_of_page_wanted, redirect_after_post,
                     render_form)
from .forms import JOB_STAGES, JOB_STATUSES, JobForm, TeamForm, problems_shown_on

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("/")
@login_required
def index():
    """The list; a search or filter from htmx gets the results partial alone."""
    query, status = request.args.get("q", "")[:100], request.args.get("status", "")
    profile_id = request.args.get("profile", type=db_int)
    if part_of_page_wanted():  # the select offers only the studio's profiles; another's id finds nothing
        result = jobs.find_jobs(current_studio(), query, status, request.args.get("page", 1, type=db_int), profile_id)
        return render_template("jobs/_results.html", result=result, q=query, status=status, profile_id=profile_id)
    names = profiles.names_of(current_studio())
    if profile_id not in dict(names):  # a deleted profile: the list and its select say "any profile" alike
        profile_id = None
    result = jobs.find_jobs(current_studio(), query, status, request.args.get("page", 1, type=db_int), profile_id)
    return render_template("jobs/index.html", result=result, q=query, status=status, profile_id=profile_id,
                           profile_names=names)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    return _edit_page(None)


@bp.route("/<int:job_id>", methods=["GET", "POST"])
@login_required
def edit(job_id: int):
    return _edit_page(job_or_404(job_id))


def job_page(job, status: int = 200, **open_forms):
    """The job page as it is, or with one of its forms open (``customer_form``, ``team_form``):
    as a browser without script asks for it, or as a save with a mistake comes back to."""
    return render_template("jobs/form.html", form=None, job=job, **{**job_page_context(job), **open_forms}), status


def form_on_demand(job, part: str, **form):
    """A form the job page opens when asked: htmx swaps ``part`` in, the keyboard in its first
    field (the link that opened it is gone); without script, the page with it open."""
    if part_of_page_wanted():
        return render_template(part, job=job, focus=True, **form)
    return job_page(job, **form)


def job_page_context(job) -> dict:
    """What the job page shows below the job itself: what it sent, a page of its customers
    (``cq``, ``cpage``: the search and page a browser without script asked for) and its orders.
    What it will send comes after the page (``timeline``): that works out every customer's messages.
    The add-a-customer and team forms open on demand (``customers.new``, ``team_form``): most visits
    add nobody by hand, and drawing them was a tenth of the page."""
    search = request.args.get("cq", "")[:100]
    customer_page = customers.page_of(job, search, request.args.get("cpage", 1, type=db_int))
    order_list = orders.orders_of(job)  # the page lists them: what is coming and who bought read them too
    return {"customer_form": None, "team_form": None, "team": team.team_of(job),
            **customer_list(job, customer_page, search, order_list),
            "customer_count": customers.count_of(job) if search.strip() else customer_page.total,  # counted once
            "order_list": order_list, "catalogue": triggers.CATALOGUE,  # what it sent: profiles/_results_table.html
            "awaiting_approval": messages.count_awaiting_approval(current_studio(), job.id),
            "results": messages.job_results(job, order_list), "attribution_days": messages.ATTRIBUTION.days,
            "job_status_labels": dict(JOB_STATUSES), "stage_labels": dict(JOB_STAGES)}


def customer_list(job, customer_page, search: str, order_list=None) -> dict:
    """What a page of the job's customers shows (``jobs/_customers.html``), on the job page and
    when its search or pager swaps in another; ``order_list``: the job's orders, if read already.
    What is coming for each is drawn when their row opens it (``customers.coming``): working it
    out for fifty customers was a quarter of the page, for a list most visits never open."""
    return {"customer_page": customer_page, "cq": search,
            "agreed": customers.agreements([c.id for c in customer_page.rows]),
            "buyers": orders.buyer_ids(job) if order_list is None else orders.buyers_among(order_list)}


def _edit_page(job):
    """A new job's form; an existing job's page, its details summed up (the form opens on
    demand: it is the page's costliest part and seldom needed), or open when a save came back."""
    if job is not None and request.method != "POST":
        return job_page(job)
    form = JobForm(studio=current_studio(), job=job)
    if form.validate_on_submit():
        with problems_shown_on(form):  # checked by the form already; a race at most
            saved = jobs.save_job(current_studio(), job, form.to_input(), form.published_on())
            flash(_("Saved “%(name)s”.", name=saved.name), "success")
            return redirect_after_post(url_for(".edit", job_id=saved.id) if job else url_for(".index"))
    return render_form("jobs/form.html", form, job=job, **(job_page_context(job) if job else {}))


@bp.get("/<int:job_id>/details")
@login_required
def details(job_id: int):
    """The job's details as a form: htmx swaps it in for the summary; without script, the page with it."""
    job = job_or_404(job_id)
    form = JobForm(formdata=None, studio=current_studio(), job=job)
    if part_of_page_wanted():
        return render_template("jobs/_details_form.html", form=form, job=job, focus=True)
    return render_form("jobs/form.html", form, job=job, **job_page_context(job))


@bp.get("/<int:job_id>/timeline")
@login_required
def timeline(job_id: int):
    """What the job will send, per notification (htmx: the job page's section; without script a page)."""
    job = job_or_404(job_id)
    template = "jobs/_timeline.html" if part_of_page_wanted() else "jobs/timeline.html"
    return render_template(template, job=job, timeline=scheduling.timeline(job, utcnow()),
                           audience_labels=triggers.AUDIENCE_LABELS, catalogue=triggers.CATALOGUE)


@bp.post("/<int:job_id>/archive")
@login_required
def archive(job_id: int):
    job = job_or_404(job_id)
    jobs.archive_job(job)
    flash(_("Archived “%(name)s”.", name=job.name), "success")
    return redirect_after_post(url_for(".index"))


@bp.get("/<int:job_id>/team/new")
@login_required
def team_form(job_id: int):
    """The form that puts someone on the team."""
    job = job_or_404(job_id)
    return form_on_demand(job, "jobs/_team_form.html", team_form=TeamForm(formdata=None, studio_id=job.studio_id))


@bp.post("/<int:job_id>/team")
@login_required
def assign(job_id: int):
    job = job_or_404(job_id)
    form = TeamForm(studio_id=job.studio_id)
    if form.validate_on_submit():
        with problems_shown_on(form):
            assignment = team.assign(job, form.to_input(), utcnow())
            flash(_("%(name)s is on the team as %(role)s.", name=assignment.name, role=assignment.role), "success")
            return redirect_after_post(url_for(".edit", job_id=job.id) + "#team")
    return job_page(job, 422, team_form=form)


@bp.post("/<int:job_id>/team/<int:assignment_id>/remove")
@login_required
def unassign(job_id: int, assignment_id: int):
    job = job_or_404(job_id)
    name = or_404(team.unassign(job, assignment_id))
    flash(_("%(name)s is no longer on this job's team.", name=name), "success")
    return redirect_after_post(url_for(".edit", job_id=job.id) + "#team")


@bp.post("/<int:job_id>/dry-run")
@login_required
def dry_run(job_id: int):
    """What the profile chosen in the form would send (HTMX, as the select changes)."""
    job = job_or_404(job_id)
    profile_id = request.form.get("profile_id", type=db_int)
    profile = jobs.usable_profile(current_studio(), profile_id) if profile_id else None
    return render_template("jobs/_dry_run.html", run=scheduling.dry_run(job, profile, utcnow()),
                           changed=profile_id != job.profile_id)
