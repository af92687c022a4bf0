"""Contacts: the list (search, kind, pages), a contact's page with its tabs, merge and erase.
Staff manage contacts as they manage customers (erasure included, after its confirmation page)."""
from __future__ import annotations

import io
from contextlib import contextmanager

from flask import (Blueprint, abort, flash, make_response, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from shutterbell import (contacts, correspondence, inbox, invoices, mail_actions, mail_bodies, mail_templates, mailsettings,
                         outbox, queue, templating)
from shutterbell.extensions import db, limiter
from shutterbell.models import utcnow
from shutterbell.validation import Invalid

from .access import current_studio, db_int, or_404, part_of_page_wanted, redirect_after_post, render_form
from .forms import ContactForm, MergeForm, WriteForm, problems_shown_on

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
TABS = ("mail", "jobs", "invoices", "details")


@bp.context_processor
def labels():
    return {"kind_labels": contacts.KIND_LABELS, "invoice_status_labels": invoices.STATUS_LABELS}


@bp.get("/")
@login_required
def index():
    """The list; a search or a kind from htmx gets the results partial alone."""
    query, kind = request.args.get("q", "")[:100], request.args.get("kind", "")
    result = contacts.find(current_studio(), query, kind, request.args.get("page", 1, type=db_int))
    template = "contacts/_results.html" if part_of_page_wanted() else "contacts/index.html"
    return render_template(template, result=result, q=query, kind=kind)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = ContactForm()
    if form.validate_on_submit():
        with problems_shown_on(form):
            contact = contacts.save(current_studio(), None, form.to_input())
            flash(_("Saved “%(name)s”.", name=contact.name), "success")
            return redirect_after_post(url_for(".show", contact_id=contact.id))
    return render_form("contacts/new.html", form)


@bp.route("/<int:contact_id>", methods=["GET", "POST"])
@login_required
def show(contact_id: int):
    """The contact's page: its correspondence, its jobs, and its details (the edit form)."""
    contact = or_404(contacts.get(current_studio(), contact_id))
    tab = request.args.get("tab", "mail") if request.method == "GET" else "details"
    form = ContactForm(contact=contact)
    if form.validate_on_submit():
        with problems_shown_on(form):
            contacts.save(current_studio(), contact, form.to_input())
            flash(_("Saved “%(name)s”.", name=contact.name), "success")
            return redirect_after_post(url_for(".show", contact_id=contact.id, tab="details"))
    merge_query = request.args.get("merge_q", contact.name.split()[0] if contact.name.split() else "")[:100]
    merge = MergeForm(formdata=None)
    merge.other.choices = _others(contact, merge_query)
    # (a test sign-up with the studio's own address would otherwise own all of the studio's mail)
    own = _own_address()
    mail = inbox.mail_of(contact.studio_id, [a.address for a in contact.addresses if a.address != own],
                         inbox.MAIL_SHOWN)
    return render_form("contacts/show.html", form, contact=contact, tab=tab if tab in TABS else "mail",
                       messages=contacts.messages_to(contact), jobs=contacts.jobs_of(contact), merge=merge,
                       invoices=invoices.of_contact(contact), today=invoices.day_of(current_studio(), utcnow()),
                       merge_query=merge_query, mail=mail, threads=inbox.threads(mail), mail_limit=inbox.MAIL_SHOWN,
                       own_address=own)


@bp.route("/<int:contact_id>/write", methods=["GET", "POST"])
@login_required
def write(contact_id: int):
    """An email to the contact, by hand; ``?reply=<mail>`` answers a synced mail, quoted below."""
    contact = or_404(contacts.get(current_studio(), contact_id))
    account = mailsettings.account_of(current_studio())
    answering = None
    if request.args.get("reply"):
        answering = or_404(inbox.get(current_studio().id, request.args.get("reply", type=db_int) or 0))
    draft = correspondence.reply_draft(contact, answering, account) if answering and request.method == "GET" else None
    template = mail_templates.get(current_studio(), request.args.get("template", 0, type=db_int) or 0)
    if template is not None and request.method == "GET":
        draft = _from_template(contact, template, draft)
    form = WriteForm(contact=contact, draft=draft)
    if form.validate_on_submit():
        with problems_shown_on(form):
            message = correspondence.send(current_studio(), contact, form.to_draft(), utcnow())
            outbox.dispatch_now([message.id])
            flash(_("Your email to %(name)s is on its way.", name=contact.name), "success")
            return redirect_after_post(url_for(".show", contact_id=contact.id))
    return render_form("contacts/write.html", form, contact=contact, answering=answering, account=account,
                       templates=mail_templates.of_studio(current_studio()), chosen=template)


def _from_template(contact, template, reply):
    """The template filled in for the contact; above the quoted mail when it answers one."""
    try:
        filled = mail_templates.filled_for(current_studio(), contact, template)
    except templating.TemplateProblem as problem:
        flash(str(problem), "error")
        return reply
    if reply is None:
        return correspondence.Draft(contact.email, filled.subject, filled.text)
    return correspondence.Draft(reply.to, reply.subject, filled.text + reply.body, reply.reply_to)


def _others(contact, query: str) -> list[tuple[int | None, str]]:
    """The contacts a merge offers: by default those sharing the first word of the name, the
    likeliest second records of one person; the search beside the list finds any other."""
    found = contacts.find(current_studio(), query).rows
    return [(None, _("Choose…"))] + [(c.id, f"{c.name} · {c.email}" if c.email else c.name)
                                     for c in found if c.id != contact.id]


@bp.get("/unmatched")
@login_required
def unmatched():
    """Mail from senders who are no contact yet: kept, and one click from becoming one."""
    account = mailsettings.account_of(current_studio())
    return render_template("contacts/unmatched.html", items=inbox.unmatched(current_studio().id, _own_address()),
                           syncing=bool(account.imap_host), last_synced=inbox.last_synced(current_studio().id),
                           progress=inbox.first_sync_progress(current_studio().id))


@bp.get("/sync-progress")
@login_required
def sync_progress():
    """The first sync's progress bar, polled by htmx until it is done."""
    return render_template("contacts/_sync_progress.html", progress=inbox.first_sync_progress(current_studio().id))


@bp.post("/sync")
@login_required
@limiter.limit("6 per 10 minutes", key_func=lambda: f"inbox-sync-{current_studio().id}")
def sync_now():
    """Read the inbox now rather than at the next two-minute round (a client says they just wrote)."""
    if mailsettings.account_of(current_studio()).imap_host:
        queue.current().sync_inbox_of(current_studio().id)
        flash(_("Reading your inbox now: new mail appears here in a moment."), "success")
    return redirect_after_post(url_for(".unmatched"))


@bp.post("/unmatched/<int:item_id>")
@login_required
def from_mail(item_id: int):
    """Make the sender of an unmatched mail a client or a vendor; their mail moves to them."""
    item = or_404(inbox.get(current_studio().id, item_id))
    try:
        contact = contacts.save(current_studio(), None, contacts.ContactInput(
            name=item.from_name or item.from_address, kind=request.form.get("kind", "client"),
            emails=[item.from_address]))
    except Invalid as invalid:  # made a contact meanwhile, from another tab
        flash(" ".join(invalid.problems.values()), "error")
        return redirect_after_post(url_for(".unmatched"))
    flash(_("“%(name)s” is a contact now, with their mail.", name=contact.name), "success")
    return redirect_after_post(url_for(".show", contact_id=contact.id))


@bp.get("/mail/<int:item_id>")
@login_required
def mail(item_id: int):
    """One synced mail: its text, or its HTML in a sandboxed frame; its attachments."""
    item = or_404(inbox.get(current_studio().id, item_id))
    problem = ""
    try:
        mail_bodies.open_item(item, mailsettings.account_of(current_studio()))
    except mail_bodies.Unavailable as unavailable:
        problem = str(unavailable)
    show_images = request.args.get("images") == "1"
    blocked = mail_bodies.cleaned_html(item.body_html, False)[1] if item.body_html else 0
    return render_template("contacts/mail.html", item=item, problem=problem, show_images=show_images,
                           blocked=blocked, attachments=mail_bodies.attachments_of(item),
                           parties=inbox.parties_of(item),
                           targets=mail_actions.move_targets(item, mailsettings.account_of(current_studio())),
                           folders=[copy.name for copy in mail_bodies.copies_of(item)],
                           thread=inbox.thread_of(item), own_address=_own_address(),
                           contact=_contact_of(item))


def _own_address() -> str:
    return mailsettings.account_of(current_studio()).from_address.lower()


def _contact_of(item):
    """The contact the mail is with (the first party who is one), for the way back; None: a stranger."""
    own = _own_address()
    addresses = [a for role in inbox.parties_of(item).values() for a in role if a != own]
    return contacts.first_of_addresses(item.studio_id, addresses)


@bp.post("/mail/<int:item_id>/seen")
@login_required
def mark_seen(item_id: int):
    """Read or unread here and on the server, as in the studio's own mail client."""
    item = or_404(inbox.get(current_studio().id, item_id))
    seen = request.form.get("seen") == "1"
    with _on_the_server():
        mail_actions.mark_seen(item, mailsettings.account_of(current_studio()), seen)
        flash(_("Marked as read.") if seen else _("Marked as unread."), "success")
    return redirect_after_post(url_for(".mail", item_id=item_id))


@bp.post("/mail/<int:item_id>/move")
@login_required
def move(item_id: int):
    """To another synced folder on the server; the sync started here shows it there in a moment."""
    item = or_404(inbox.get(current_studio().id, item_id))
    target = request.form.get("folder", "")
    with _on_the_server():
        mail_actions.move(item, mailsettings.account_of(current_studio()), target)
        queue.current().sync_inbox_of(current_studio().id)
        flash(_("Moved to “%(folder)s”.", folder=target), "success")
    return redirect_after_post(url_for(".mail", item_id=item_id))


@bp.post("/mail/<int:item_id>/delete")
@login_required
def delete_mail(item_id: int):
    """To the server's Trash, as the studio's mail client deletes: it can be restored from there."""
    item = or_404(inbox.get(current_studio().id, item_id))
    back = _contact_of(item)
    with _on_the_server():
        if mail_actions.delete(item, mailsettings.account_of(current_studio())):
            flash(_("Deleted: the mail is in your mailbox’s Trash."), "success")
        else:
            flash(_("Deleted for good: it was in the Trash already."), "success")
        return redirect_after_post(url_for(".show", contact_id=back.id) if back else url_for(".unmatched"))
    return redirect_after_post(url_for(".mail", item_id=item_id))


@contextmanager
def _on_the_server():
    """A change the server refused or could not take shows why; nothing changes here then."""
    try:
        yield
    except mail_bodies.Unavailable as unavailable:
        db.session.rollback()
        flash(_("Your mail server did not take the change: %(problem)s", problem=str(unavailable)), "error")


@bp.get("/mail/<int:item_id>/frame")
@login_required
def mail_frame(item_id: int):
    """The mail's HTML, cleaned, as a document of its own: the frame's policy lets nothing run
    and loads remote images only when asked (``?images=1``)."""
    item = or_404(inbox.get(current_studio().id, item_id))
    show_images = request.args.get("images") == "1"
    html, _blocked = mail_bodies.cleaned_html(item.body_html or "", show_images)
    response = make_response(render_template("contacts/mail_frame.html", html=Markup(html), subject=item.subject))
    response.headers["Content-Security-Policy"] = mail_bodies.frame_policy(show_images)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/mail/<int:item_id>/attachments/<int:index>")
@login_required
def attachment(item_id: int, index: int):
    """A file of the mail, fetched from the studio's server now; always a download, never shown."""
    item = or_404(inbox.get(current_studio().id, item_id))
    try:
        found, data = mail_bodies.attachment(item, mailsettings.account_of(current_studio()), index)
    except mail_bodies.Unavailable:
        abort(404)
    return send_file(io.BytesIO(data), mimetype="application/octet-stream", as_attachment=True,
                     download_name=found.name)


@bp.post("/<int:contact_id>/merge")
@login_required
def merge(contact_id: int):
    contact = or_404(contacts.get(current_studio(), contact_id))
    other = or_404(contacts.get(current_studio(), request.form.get("other", type=db_int) or 0))
    if other.id == contact.id:
        return redirect(url_for(".show", contact_id=contact.id, tab="details"))
    name = other.name
    contacts.merge(contact, other)
    flash(_("Merged “%(other)s” into “%(name)s”.", other=name, name=contact.name), "success")
    return redirect_after_post(url_for(".show", contact_id=contact.id, tab="details"))


@bp.route("/<int:contact_id>/erase", methods=["GET", "POST"])
@login_required
def erase(contact_id: int):
    """Erasure on request, after a confirmation page."""
    contact = or_404(contacts.get(current_studio(), contact_id))
    if request.method == "GET":
        return render_template("contacts/erase.html", contact=contact, jobs=contacts.jobs_of(contact))
    contacts.erase(contact, utcnow())
    flash(_("Erased. Their addresses and number are on the studio's do-not-contact list."), "success")
    return redirect_after_post(url_for(".index"))
