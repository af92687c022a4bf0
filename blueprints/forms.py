"""Forms own input: parsing, field errors, and turning posted data into domain input."""
from __future__ import annotations

import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import timezone
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, EmailField, FieldList, Form, FormField,
                     HiddenField, IntegerField, PasswordField, RadioField, SelectField, StringField,
                     TextAreaField, TimeField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp, ValidationError

from shutterbell import (accounts, addresses, channels, composer, contacts, correspondence, customers, deliverability,
                         invoices, jobs, mail_templates, mailsettings, messages, money, profiles, scheduling, team,
                         templating, triggers)
from shutterbell.channels import sms
from shutterbell.profiles import NotificationInput, ProfileInput
from shutterbell.models import MAX_ID
from shutterbell.validation import Invalid

LOCALES = [
    ("en_US", "English (United States)"), ("en_GB", "English (United Kingdom)"),
    ("de_DE", "Deutsch (Deutschland)"), ("de_AT", "Deutsch (Österreich)"), ("de_CH", "Deutsch (Schweiz)"),
    ("fr_FR", "Français (France)"), ("nl_NL", "Nederlands"), ("es_ES", "Español"), ("it_IT", "Italiano"),
    ("da_DK", "Dansk"), ("sv_SE", "Svenska"), ("nb_NO", "Norsk bokmål"), ("pl_PL", "Polski"),
]


LOCALE_HINT = _l("How dates and money appear in your messages. The app's pages, and a new studio's recommended "
                 "texts, speak its language where there is a translation (English and German so far).")
PASSWORD_LENGTH = _l("Use at least %(num)d characters (at most 200).", num=accounts.MIN_PASSWORD)


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


@contextmanager
def problems_shown_on(form):
    """Around a domain call: input it refuses (``validation.Invalid``) puts its problems on the
    form's fields, and the view goes on to re-render the form (422, ``access.render_form``).

        with problems_shown_on(form):
            customers.update(customer, form.to_input(), ...)
            return redirect_after_post(...)
        return render_form("customers/edit.html", form)
    """
    try:
        yield
    except Invalid as invalid:
        if hasattr(form, "show_problems"):  # a form with rows places their rows' problems itself
            form.show_problems(invalid.problems)
        else:
            attach_errors(form, invalid.problems)


def attach_errors(form, problems: dict[str, str]) -> None:
    """Show the domain's problems on the fields they concern."""
    for name, message in problems.items():
        field = getattr(form, name)
        field.errors = [*field.errors, message]
    form._errors = None  # WTForms caches `form.errors` while validating; ours must show too


def refresh_errors(field_list) -> None:
    """After attaching errors to the rows of a FieldList, let the list and its rows see them."""
    for entry in field_list.entries:
        entry.form._errors = None
    field_list.errors = [entry.errors for entry in field_list.entries]


def _optional_int(value):
    """A chosen id; a number no id can be (one the driver would overflow on) reads as none chosen."""
    if value in (None, "", "None"):
        return None
    number = int(value)
    return number if 0 <= number <= MAX_ID else None


def profile_choices(studio) -> list[SelectChoice]:
    return choices([("", _l("No automatic messages"))] +
                   [(str(profile_id), name) for profile_id, name in profiles.names_of(studio)])


def _time_zones() -> list[SelectChoice]:
    """Each with the country it is in, which the set-up page preselects when the zone changes."""
    return [SelectChoice(tz, tz.replace("_", " "), {"data-country": accounts.zone_country(tz)})
            for tz in sorted(available_timezones()) if "/" in tz or tz == "UTC"]


def locale_for(languages: list[str]) -> str | None:
    """The first of LOCALES that the browser's languages (Accept-Language, best first) name:
    "de-AT" is de_AT; "de" or "de-LU" the first German one."""
    codes = [code for code, _ in LOCALES]
    for tag in languages:
        language, _, region = tag.replace("_", "-").lower().partition("-")
        exact = next((code for code in codes if code.lower() == f"{language}_{region}"), None)
        found = exact or next((code for code in codes if code.split("_")[0] == language), None)
        if found:
            return found
    return None


def _countries() -> list[SelectChoice]:
    """Every country a phone number can be read in, by its name in the page's language, in the
    order a reader expects (Åland Islands with the A's)."""
    names = get_locale().territories
    return choices(sorted(((code, names.get(code, code)) for code in phonenumbers.SUPPORTED_REGIONS),
                          key=lambda pair: _unaccented(pair[1])))


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def one_line(_form, field) -> None:
    """For names that become email headers (the sender, the studio): a line break in one would
    make every email fail, so it is refused when saved."""
    if field.data and composer.has_control_characters(field.data):
        raise ValidationError(_l("Keep this on one line, without line breaks."))


def sendable(_form, field) -> None:
    """For an address the studio sends from (or asks replies to): stored as every server takes it.
    (After another validator's error, that error alone: WTForms runs the rest of the chain.)"""
    if field.data and not field.errors:
        try:
            field.data = addresses.sendable_email(field.data)
        except ValueError:
            raise ValidationError(_l("Mail servers take letters such as ü or ß only after the @. Use an address "
                                     "without them before the @ (e.g. juergen@…).")) from None


class SetupForm(FlaskForm):
    setup_token = StringField(_l("Set-up token"), validators=[DataRequired()],
                              description=_l("Printed by ./run in the terminal (or run: flask --app app setup-token)."))
    studio_name = StringField(_l("Studio name"), validators=[DataRequired(), Length(max=120), one_line])
    time_zone = SelectField(_l("Time zone"), default="Europe/Berlin")
    country = SelectField(_l("Country"), default="DE", description=_l(
        "Phone numbers typed without +country code are read as numbers of this country."))
    locale = SelectField(_l("Locale"), choices=choices(LOCALES), default="en_US",
                         description=LOCALE_HINT)
    owner_email = EmailField(_l("Your email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=accounts.MIN_PASSWORD, max=200, message=PASSWORD_LENGTH)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = _time_zones()
        self.country.choices = _countries()

    def preselect(self, languages: list[str]) -> None:
        """A first visit: the locale the browser asks for (the page's script then picks the
        browser's time zone, and the country follows the zone)."""
        self.locale.data = locale_for(languages) or self.locale.data

    def to_new_studio(self) -> accounts.NewStudio:
        return accounts.NewStudio(self.studio_name.data, self.time_zone.data, self.locale.data,
                                  self.owner_email.data, self.password.data, country=self.country.data)


class StudioForm(FlaskForm):
    name = StringField(_l("Studio name"), validators=[DataRequired(), Length(max=120), one_line])
    time_zone = SelectField(_l("Time zone"), description=_l("Messages go out at these times in this time zone."))
    locale = SelectField(_l("Locale"), choices=choices(LOCALES),
                         description=LOCALE_HINT)
    country = SelectField(_l("Country"), description=_l("Phone numbers typed without +country code are read as "
                                                        "numbers of this country."))
    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in accounts.CURRENCIES))
    default_send_time = TimeField(_l("Default send time"), validators=[DataRequired()],
                                  description=_l("When date-based notifications go out unless they say otherwise."))
    morning_time = TimeField(_l("Morning"), validators=[DataRequired()])
    evening_time = TimeField(_l("Evening"), validators=[DataRequired()])
    default_profile_id = SelectField(_l("Default profile for new jobs"), coerce=_optional_int,
                                     description=_l("Preselected when you create a photo job."))
    double_opt_in = BooleanField(_l("Public sign-ups confirm their email address first (double opt-in)"))
    confirmation_subject = StringField(_l("Subject of the confirmation email"), validators=[Length(max=200)])
    confirmation_body = TextAreaField(_l("Text of the confirmation email"), validators=[Length(max=5000)],
                                      description=_l("Leave empty for the built-in text. Placeholders like "
                                                     "{{ customer.first_name }} and {{ job.name }} work; the "
                                                     "confirmation link is always added below your text."))

    def __init__(self, *args, studio, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = _time_zones()
        self.country.choices = _countries()
        self.default_profile_id.choices = profile_choices(studio)

    def to_settings(self) -> accounts.StudioSettings:
        return accounts.StudioSettings(
            name=self.name.data, time_zone=self.time_zone.data, locale=self.locale.data, country=self.country.data,
            currency=self.currency.data, default_send_time=self.default_send_time.data,
            morning_time=self.morning_time.data, evening_time=self.evening_time.data,
            default_profile_id=self.default_profile_id.data, double_opt_in=self.double_opt_in.data,
            confirmation_subject=self.confirmation_subject.data or "", confirmation_body=self.confirmation_body.data or "")


class VoucherForm(Form):
    code = StringField(_l("Voucher code"))
    value = StringField(_l("Value"))
    expires_at = DateField(_l("Expires on"), validators=[Optional()])

    def to_input(self) -> jobs.VoucherInput:
        return jobs.VoucherInput(self.code.data or "", self.value.data or "", self.expires_at.data)


JOB_STATUSES = [("planned", _l("Planned")), ("active", _l("Active")), ("archived", _l("Archived"))]
JOB_STAGES = [("", _l("Not started (booked, shooting)")), ("editing", _l("Editing")), ("delivered", _l("Delivered"))]


class JobForm(FlaskForm):
    """A photo job. Dates are calendar dates; "published" is a moment, entered in the studio's zone."""

    name = StringField(_l("Job name"), description=_l("For example “Kindergarten Sonnenschein 2026”."))
    profile_id = SelectField(_l("Communication profile"), coerce=_optional_int,
                             description=_l("What the customers of this job are sent, and when."))
    status = SelectField(_l("Status"), default="active", choices=choices(JOB_STATUSES))
    stage = SelectField(_l("Project stage"), default="", choices=choices(JOB_STAGES),
                        description=_l("Moving it on sends the profile’s project updates."))
    shoot_date = DateField(_l("Shoot date"), validators=[Optional()])
    published_at = DateTimeLocalField(_l("Gallery published at"), validators=[Optional()],
                                      format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    order_deadline = DateField(_l("Order deadline"), validators=[Optional()])
    archives_at = DateField(_l("Archives at"), validators=[Optional()],
                            description=_l("The day the pictures expire and the gallery closes."))
    gallery_url = StringField(_l("Gallery / shop link"), validators=[Optional()])
    client_id = SelectField(_l("Client"), coerce=_optional_int, validate_choice=False,
                            description=_l("Who booked the job. Setting one sends the profile’s “booking confirmed”."))
    voucher_slots = FieldList(FormField(VoucherForm), min_entries=3, max_entries=3)

    def __init__(self, *args, studio, job=None, **kwargs):
        super().__init__(*args, obj=job, **kwargs)
        self._studio = studio
        self._job = job
        self._zone = ZoneInfo(studio.time_zone)
        self.client_id.choices = choices([("", _l("No client"))] + [
            (str(c.id), c.name) for c in contacts.clients(studio, also=job.client_id if job else None)])
        self.profile_id.choices = profile_choices(studio)
        if job is not None and job.profile is not None and job.profile.deleted_at is not None:
            self.profile_id.choices.append(SelectChoice(str(job.profile_id), str(_l("%(name)s (deleted)",
                                                                                  name=job.profile.name))))
        fresh = kwargs.get("formdata", True) is None or not self.is_submitted()
        if job is None and fresh:
            self.profile_id.data = studio.default_profile_id
        if job is not None and job.published_at and fresh:
            self.published_at.data = job.published_at.astimezone(self._zone).replace(tzinfo=None)

    def to_input(self) -> jobs.JobInput:
        published = self.published_at.data
        return jobs.JobInput(
            name=self.name.data or "", profile_id=self.profile_id.data, status=self.status.data,
            shoot_date=self.shoot_date.data,
            published_at=published.replace(tzinfo=self._zone).astimezone(timezone.utc) if published else None,
            order_deadline=self.order_deadline.data, archives_at=self.archives_at.data,
            gallery_url=self.gallery_url.data or "", client_id=self.client_id.data, stage=self.stage.data or "",
            vouchers=[entry.form.to_input() for entry in self.voucher_slots])

    def published_on(self):
        return self.published_at.data.date() if self.published_at.data else None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        problems = jobs.job_problems(self._studio, self.to_input(), self.published_on(), self._job)
        self.show_problems(problems)
        return not problems

    def show_problems(self, problems: dict) -> None:
        for (_, slot, name), message in ((k, m) for k, m in problems.items() if isinstance(k, tuple)):
            attach_errors(self.voucher_slots[slot].form, {name: message})
        refresh_errors(self.voucher_slots)
        attach_errors(self, {k: m for k, m in problems.items() if not isinstance(k, tuple)})


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(), Length(min=accounts.MIN_PASSWORD, max=200, message=PASSWORD_LENGTH)])


class AcceptInviteForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    password = PasswordField(_l("Choose a password"),
                             validators=[DataRequired(), Length(min=accounts.MIN_PASSWORD, max=200, message=PASSWORD_LENGTH)])


SUMMARY_TEXT = 48  # characters of a closed row's subject or text
_WORDS = re.compile(r"\{\{.*?\}\}|\S+")  # a placeholder is one word: never cut inside it


def _shorten(text: str) -> str:
    kept: list[str] = []
    for word in _WORDS.findall(text):
        if len(" ".join(kept + [word])) > SUMMARY_TEXT - 1:
            return (" ".join(kept) or word[:SUMMARY_TEXT - 1]) + "…"
        kept.append(word)
    return " ".join(kept)


def row_summary(item: NotificationInput, studio) -> str:
    """A notification as one line, for the editor's rows: "7 days before the job is archived ·
    Potential buyers · 09:00 · “Last week to order…”" (the channel is a badge beside it)."""
    trigger = triggers.CATALOGUE.get(item.trigger)
    parts = [trigger.summary(item.days) if trigger else str(_l("No trigger chosen yet")),
             str(triggers.AUDIENCE_LABELS.get(item.audience, ""))]
    if trigger is None or trigger.has_send_time:
        if studio is not None:
            parts.append(scheduling.send_time(item, studio).strftime("%H:%M"))
    else:
        parts.append(str(_l("right away")))
    text = (item.subject if item.channel != "sms" else "") or item.body
    if text.strip():
        parts.append("“%s”" % _shorten(text))
    return " · ".join(part for part in parts if part)


@dataclass
class EditorRow:
    """A notification as the profile editor draws it: open with its fields (``form``), or closed
    to its one line (``form`` None), posting only its id and position."""

    index: int  # in the posted names (notifications-3-…): stays as rows move
    position: int
    item: NotificationInput
    summary: str
    form: NotificationForm | None = None

    @property
    def trigger(self) -> triggers.Trigger | None:
        return triggers.CATALOGUE.get(self.item.trigger)


_STORED = [f.name for f in fields(NotificationInput) if f.name != "id"]  # what a closed row does not post


def _an_id(value) -> bool:
    """A number that can be a row's id (a larger one would overflow the database driver)."""
    return str(value or "").isdigit() and int(value) <= MAX_ID


class NotificationForm(Form):
    """One notification row. Its prefix (``notifications-3``) names every field of the row."""

    id = HiddenField()
    position = HiddenField(default="0")
    remove = BooleanField(_l("Remove this notification"))
    trigger = SelectField(_l("Trigger"), choices=choices([("", _l("Choose a trigger…"))] + [
        (t.key, t.label) for t in triggers.CATALOGUE.values()
    ]))
    days = IntegerField(_l("Days"), validators=[Optional()])
    audience = SelectField(_l("Target group"),
                           choices=choices((a.value, a.label) for a in triggers.Audience), default="all")
    channel = RadioField(_l("Channel"), choices=choices((c.key, c.name) for c in channels.every()), default="email")
    # "" (a new row before its trigger is chosen, or without script): the trigger's kind
    category = SelectField(_l("Kind of message"), default="", choices=choices(
        [("", _l("As the trigger suggests"))] + [(c.value, c.label) for c in triggers.Category]))
    send_time = SelectField(_l("Send time"), default="default")
    send_at = TimeField(_l("Time of day"), validators=[Optional()])
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Message"))
    requires_approval = BooleanField(_l("Hold for approval before sending"))
    stop_on_reply = BooleanField(_l("Stop when the customer replies"))
    enabled = BooleanField(_l("Active"), default=True)

    opened = False  # drawn with its fields showing (without script, its "Edit" button asked)

    def __init__(self, formdata=None, *args, studio=None, **kwargs):
        super().__init__(formdata, *args, **kwargs)
        self.for_studio(studio)
        # Drawn closed, a saved row posts its id and position alone: its values are the stored ones (``fill``).
        self.closed = bool(formdata) and self.trigger.name not in formdata and _an_id(self.id.data)

    def for_studio(self, studio) -> None:
        """The studio's send times: the choices' labels and the summary's time of day."""
        self.studio = studio
        self.send_time.choices = send_time_choices(studio)

    def fill(self, item: NotificationInput) -> None:
        """A closed row's stored values, for saving it as it is or drawing it open."""
        for name in _STORED:
            getattr(self, name).data = getattr(item, name)

    def drawn(self, index: int, position: int, is_open: bool = True) -> EditorRow:
        """This row as the editor draws it: open with these fields, or closed to its line."""
        item = self.to_input()
        return EditorRow(index, position, item, row_summary(item, self.studio), self if is_open else None)

    @property
    def selected_trigger(self) -> triggers.Trigger | None:
        return triggers.CATALOGUE.get(self.trigger.data or "")

    @property
    def allowed_audiences(self) -> list[triggers.Audience]:
        trigger = self.selected_trigger
        return list(trigger.audiences) if trigger else list(triggers.Audience)

    def validate_id(self, field) -> None:
        if field.data and not _an_id(field.data):
            raise ValidationError(_l("This notification does not exist."))

    def convert_gotphoto(self) -> None:
        """Rewrite the GotPhoto placeholders we recognise ([[Customer.firstname]]) into ours."""
        self.subject.data = templating.convert_gotphoto(self.subject.data or "")
        self.body.data = templating.convert_gotphoto(self.body.data or "")

    @property
    def allowed_categories(self) -> list[triggers.Category]:
        trigger = self.selected_trigger
        return list(trigger.categories) if trigger else list(triggers.Category)

    def fit_to_trigger(self, trigger_changed: bool = False) -> None:
        """After a redraw: pick an allowed target group if the chosen one is not, and the trigger's
        kind of message (service, marketing) when the trigger itself changed."""
        allowed = [a.value for a in self.allowed_audiences]
        if self.audience.data not in allowed:
            self.audience.data = allowed[0]
        trigger = self.selected_trigger
        if trigger and (trigger_changed or self.category.data not in ["", *(c.value for c in trigger.categories)]):
            self.category.data = trigger.category.value

    def to_input(self) -> NotificationInput:
        return NotificationInput(
            id=int(self.id.data) if str(self.id.data or "").isdigit() else None,
            trigger=self.trigger.data or "",
            days=self.days.data,
            audience=self.audience.data or "",
            channel=self.channel.data or "",
            send_time=self.send_time.data or "default",
            send_at=self.send_at.data,
            subject=self.subject.data or "",
            body=self.body.data or "",
            requires_approval=self.requires_approval.data,
            stop_on_reply=self.stop_on_reply.data,
            enabled=self.enabled.data,
            category=self.category.data or "",
        )

    def attach(self, problems: dict[str, str]) -> None:
        attach_errors(self, problems)


def send_time_choices(studio) -> list[SelectChoice]:
    def at(value):
        return value.strftime("%H:%M") if value else "…"
    return choices([
        ("default", _l("Studio default (%(time)s)", time=at(studio and studio.default_send_time))),
        ("morning", _l("Morning (%(time)s)", time=at(studio and studio.morning_time))),
        ("evening", _l("Evening (%(time)s)", time=at(studio and studio.evening_time))),
        ("at", _l("At a time of day")),
    ])


class ProfileForm(FlaskForm):
    # Lengths and the required name are the domain's rules (profiles.profile_problems).
    name = StringField(_l("Profile name"))
    description = TextAreaField(_l("Description"))
    notifications = FieldList(FormField(NotificationForm))

    def __init__(self, *args, studio=None, **kwargs):
        self._studio = studio
        self._closed: list[NotificationInput] | None = None
        super().__init__(*args, **kwargs)
        # A row removed in the browser is gone: not checked, drawn or saved (saving retires it).
        self._keep(lambda row: not row.remove.data)
        for entry in self.notifications:
            entry.form.for_studio(studio)

    def _keep(self, wanted) -> None:
        self.notifications.entries = [entry for entry in self.notifications if wanted(entry.form)]

    @classmethod
    def as_stored(cls, profile, studio) -> ProfileForm:
        """A saved profile as stored, its rows drawn closed: no form is built for them (thirty
        rows of fields were a third of the editor's time)."""
        form = cls(studio=studio, name=profile.name, description=profile.description)
        form._closed = [NotificationInput.of(n) for n in profile.notifications]
        return form

    def fill_closed_rows(self, profile) -> None:
        """Closed rows posted their id alone: they get their stored values as they are now (what
        someone else changed meanwhile stays). One that someone removed meanwhile is dropped, and
        ``profiles.ProfileChanged`` raised, as saving would."""
        ids = [int(entry.form.id.data) for entry in self.notifications if entry.form.closed]
        live = {n.id: n for n in profile.notifications} if profile else {}
        self._keep(lambda row: not row.closed or int(row.id.data) in live)  # not drawn again: saving again keeps the rest
        for entry in self.notifications:
            if entry.form.closed:
                entry.form.fill(NotificationInput.of(live[int(entry.form.id.data)]))
        profiles.live_by_id(profile, ids)

    def drawn(self, readonly: bool) -> list[EditorRow]:
        """The rows in their order, as the editor draws them: open where the user opened them (they
        came with their fields), where they need a fix, new ones, and for staff (who cannot open
        one); else closed to one line."""
        if self._closed is not None:
            return [EditorRow(position, position, item, row_summary(item, self._studio))
                    for position, item in enumerate(self._closed)]
        return [entry.form.drawn(int(entry.name.rsplit("-", 1)[1]), position, is_open=bool(
                    readonly or not entry.form.closed or entry.form.opened or entry.form.errors))
                for position, entry in enumerate(self.rows())]

    def rows(self) -> list:
        """The rows in the order the user arranged them (``position``)."""
        return sorted(self.notifications, key=lambda row: _int(row.form.position.data))

    def to_input(self) -> ProfileInput:
        return ProfileInput(
            name=self.name.data or "",
            description=self.description.data or "",
            notifications=[row.form.to_input() for row in self.rows()],
        )

    def validate(self, extra_validators=None) -> bool:
        """WTForms' own checks, then the domain's rules, shown on the fields they concern."""
        valid = super().validate(extra_validators)
        if not valid:
            return False
        problems = profiles.profile_problems(self.to_input())
        self.show_problems(problems)
        return not problems

    def show_problems(self, problems: dict) -> None:
        rows = self.rows()
        for key, message in problems.items():
            if isinstance(key, tuple):  # ("notifications", index in the order shown, field)
                _, index, name = key
                rows[index].form.attach({name: message})
            elif key == "notifications":
                self.form_errors.append(message)
        refresh_errors(self.notifications)
        attach_errors(self, {k: m for k, m in problems.items() if isinstance(k, str) and k != "notifications"})

    def rearrange(self, formdata) -> bool:
        """Apply the row buttons of a post without JavaScript ("Add another notification",
        "Move up/down", "Convert GotPhoto placeholders", a closed row's "Edit"); True when the post was one of those
        rather than a save."""
        if "add_notification" in formdata:
            if len(self.rows()) >= profiles.MAX_NOTIFICATIONS:
                self.form_errors.append(str(_l("At most %(num)d notifications per profile.", num=profiles.MAX_NOTIFICATIONS)))
                return True
            self.notifications.append_entry({"position": len(self.notifications)})
            self.notifications[-1].form.for_studio(self._studio)
            return True
        if "convert" in formdata or "open" in formdata:
            wanted = _renumbered(formdata, formdata.get("convert", formdata.get("open")))
            for entry in self.notifications:
                if entry.name == wanted:
                    entry.form.opened = True
                    if "convert" in formdata:
                        entry.form.convert_gotphoto()
            return True
        move = formdata.get("move", "")
        position, _, direction = move.partition(":")
        if not position.isdigit() or direction not in ("up", "down"):
            return False
        rows = self.rows()
        here = int(position)
        there = here - 1 if direction == "up" else here + 1
        if 0 <= here < len(rows) and 0 <= there < len(rows):
            rows[here], rows[there] = rows[there], rows[here]
        for number, row in enumerate(rows):
            row.form.position.data = str(number)
        return True


_ROW_FIELD = re.compile(r"notifications-\d+-\w+")


def _renumbered(formdata, number: str) -> str:
    """The name WTForms gave the row the page drew as ``notifications-<number>``: it numbers the
    posted rows 0, 1, 2… afresh, and a page drawn after a row was removed skips that row's number."""
    posted = sorted({int(key.split("-")[1]) for key in formdata if _ROW_FIELD.fullmatch(key)})
    return f"notifications-{posted.index(int(number))}" if number.isdigit() and int(number) in posted else ""


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0



class TeamForm(FlaskForm):
    """Someone of the studio on a job's team, with their role (``team.assign`` checks both)."""

    person = SelectField(_l("Who"), validate_choice=False)
    role = StringField(_l("Role"), description=_l("Second shooter, venue, lab, assistant…"))

    def __init__(self, *args, studio_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.person.choices = choices([("", _l("Choose someone…"))] + team.choices(studio_id))

    def to_input(self) -> team.AssignInput:
        return team.AssignInput(self.person.data or "", self.role.data or "")


class CustomerForm(FlaskForm):
    """A customer, as staff add or correct one, and as a person signs up on the public page."""

    first_name = StringField(_l("First name"))
    last_name = StringField(_l("Last name"))
    email = EmailField(_l("Email"))
    phone = StringField(_l("Mobile number (optional)"))
    email_consent = BooleanField(_l("Emails"))
    sms_consent = BooleanField(_l("Text messages"))
    marketing_consent = BooleanField(_l("Offers too (marketing), by the ways ticked above"))

    def __init__(self, *args, region: str, customer=None, **kwargs):
        super().__init__(*args, obj=customer, **kwargs)
        self._region = region
        if customer is not None and not self.is_submitted():
            self.email_consent.data = customer.has_consent("email")
            self.sms_consent.data = customer.has_consent("sms")
            self.marketing_consent.data = customer.has_consent("email", "marketing") or customer.has_consent(
                "sms", "marketing")

    def to_input(self) -> customers.CustomerInput:
        return customers.CustomerInput(
            first_name=self.first_name.data or "", last_name=self.last_name.data or "",
            email=self.email.data or "", phone=self.phone.data or "",
            email_consent=self.email_consent.data, sms_consent=self.sms_consent.data,
            marketing_consent=self.marketing_consent.data)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.attach(customers.customer_problems(self.to_input(), self._region))
        return not self.errors

    def attach(self, problems: dict[str, str]) -> None:
        attach_errors(self, problems)


class SignUpForm(CustomerForm):
    """The public sign-up: a person signs up to hear about the photos, so by one way at least
    (staff may add a customer without consent, to record them), and at an address a confirmation
    can reach (a customer stored before keeps theirs: staff and the API may still edit them)."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not self.email.data.partition("@")[0].isascii():  # no confirmation could reach it
            self.email.errors = [*self.email.errors, _l(
                "Emails cannot reach letters such as ü or ß before the @ yet: please enter another address.")]
            valid = False
        if not (self.email_consent.data or self.sms_consent.data):
            self.email_consent.errors = [*self.email_consent.errors, _l(
                "Tick how you want to hear about the photos: by email, by text message or both.")]
            valid = False
        return valid


class ContactForm(FlaskForm):
    """A client, vendor or staff contact. Lengths, addresses and the phone are the domain's rules
    (``contacts.problems``), shown on these fields."""

    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=choices(contacts.KIND_LABELS.items()), default="client")
    emails = TextAreaField(_l("Email addresses"), description=_l("One per line. Mail from and to each of them "
                                                                  "belongs to this contact."))
    phone = StringField(_l("Phone"))
    company = StringField(_l("Company"))
    notes = TextAreaField(_l("Notes"))

    def __init__(self, *args, contact=None, **kwargs):
        super().__init__(*args, obj=contact, **kwargs)
        if contact is not None and not self.is_submitted():
            self.emails.data = "\n".join(a.address for a in contact.addresses)

    def to_input(self) -> contacts.ContactInput:
        return contacts.ContactInput(
            name=self.name.data or "", kind=self.kind.data or "", emails=(self.emails.data or "").split(),
            phone=self.phone.data or "", company=self.company.data or "", notes=self.notes.data or "")


class WriteForm(FlaskForm):
    """An email to a contact, by hand; the domain checks the address and lengths (``correspondence``)."""

    to = SelectField(_l("To"))
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Message"), description=_l("Sent as you write it, from your studio’s address, "
                                                       "without an unsubscribe link: a personal email."))
    reply_to = HiddenField(filters=[lambda v: int(v) if v and re.fullmatch(r"[0-9]{1,9}", str(v)) else None])

    def __init__(self, *args, contact, draft=None, **kwargs):
        super().__init__(*args, obj=draft, **kwargs)
        self.to.choices = [(a.address, a.address) for a in contact.addresses]

    def to_draft(self) -> correspondence.Draft:
        return correspondence.Draft(self.to.data or "", self.subject.data or "", self.body.data or "",
                                    self.reply_to.data)


class TemplateForm(FlaskForm):
    """A template for email written by hand (Settings → Templates)."""

    name = StringField(_l("Name"), description=_l("What staff choose it by, e.g. “Session reminder”."))
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Message"))

    def to_input(self) -> mail_templates.TemplateInput:
        return mail_templates.TemplateInput(self.name.data or "", self.subject.data or "", self.body.data or "")


class AutoReplyForm(FlaskForm):
    """Settings → Templates: the automatic answer to a first mail from someone new."""

    template = SelectField(_l("Answer a first mail from someone new with"), coerce=_optional_int)
    days = IntegerField(_l("At most once per address every … days"), default=14,
                        validators=[DataRequired(), NumberRange(1, 365)])

    def __init__(self, *args, account, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.template.choices = [(None, _l("No automatic answer"))] + [(t.id, t.name) for t in templates]
        if not self.is_submitted():
            self.template.data, self.days.data = account.autoreply_template_id, account.autoreply_days or 14


class MergeForm(FlaskForm):
    other = SelectField(_l("The other record of this person"), coerce=_optional_int)


SECURITY_CHOICES = [("starttls", _l("STARTTLS (587)")), ("ssl", _l("SSL/TLS (465)")), ("none", _l("None"))]
IMAP_SECURITY_CHOICES = [("ssl", _l("SSL/TLS (993)")), ("starttls", _l("STARTTLS (143)")), ("none", _l("None"))]


class SmtpForm(FlaskForm):
    """Settings → Email, sending: the studio's own SMTP account."""

    preset = SelectField(_l("Provider"), choices=choices([("", _l("Other / my own server"))] +
                                                         [(k, p.label) for k, p in mailsettings.PRESETS.items()]))
    host = StringField(_l("SMTP server"), validators=[DataRequired(), Length(max=253)],
                       filters=[lambda v: v.strip().rstrip(".").lower() if v else v])
    port = IntegerField(_l("Port"), validators=[DataRequired(), NumberRange(1, 65535)], default=587)
    security = SelectField(_l("Security"), choices=choices(SECURITY_CHOICES), default="starttls",
                           description=_l("Port 587 uses STARTTLS, 465 SSL/TLS."))
    username = StringField(_l("Username"), validators=[Length(max=254)], filters=[lambda v: v.strip() if v else v],
                           description=_l("Usually your full email address. Leave empty if the server needs no sign-in."))
    password = PasswordField(_l("Password"), validators=[Length(max=500)])
    from_address = EmailField(_l("From address"), validators=[DataRequired(), Email(), Length(max=254), sendable],
                              description=_l("Must belong to this account, or the server rejects it."))
    sender_name = StringField(_l("Sender name"), validators=[Length(max=120), one_line],
                              description=_l("What customers see as the sender, e.g. your studio's name."))
    reply_to = EmailField(_l("Reply-to address (optional)"),
                          validators=[Optional(), Email(), Length(max=254), sendable])
    limit_per_minute = IntegerField(_l("Most messages a minute"), validators=[Optional(), NumberRange(1, 10000)])
    limit_per_day = IntegerField(_l("Most messages a day"), validators=[Optional(), NumberRange(1, 1000000)],
                                 description=_l("Your provider's limit, with a margin; messages beyond it wait for "
                                                "the next free slot instead of getting the account blocked. "
                                                "Empty: no limit."))
    save_anyway = HiddenField()

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, obj=account, **kwargs)
        self._account = account
        if not self.is_submitted() or kwargs.get("formdata", True) is None:
            self.host.data, self.port.data = account.smtp_host, account.smtp_port
            self.security.data, self.username.data = account.smtp_security, account.smtp_username
        if mailsettings.has_password(account, "smtp"):
            self.password.description = _l("Saved. Leave empty to keep it.")

    def apply_preset(self) -> mailsettings.Preset | None:
        preset = mailsettings.PRESETS.get(self.preset.data or "")
        if preset is not None:
            self.host.data, self.port.data, self.security.data = preset.smtp
            self.limit_per_minute.data, self.limit_per_day.data = mailsettings.SENDING_LIMITS.get(
                self.preset.data, (None, None))
            for name in ("host", "port", "limit_per_minute", "limit_per_day"):
                getattr(self, name).raw_data = None  # show the new values, not what was posted
        return preset

    def to_input(self) -> mailsettings.SmtpInput:
        return mailsettings.SmtpInput(
            host=self.host.data, port=self.port.data, security=self.security.data, username=self.username.data or "",
            password=self.password.data or "", from_address=(self.from_address.data or "").strip(),
            sender_name=(self.sender_name.data or "").strip(), reply_to=(self.reply_to.data or "").strip(),
            limit_per_minute=self.limit_per_minute.data, limit_per_day=self.limit_per_day.data)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        return _password_given(self, self._account, "smtp")


def _password_given(form, account, service: str) -> bool:
    """A username needs a password: typed, or the saved one that goes with it."""
    given = form.to_input()
    if given.username and not given.password and not mailsettings.can_sign_in(
            account, service, mailsettings.endpoint_of(given)):
        attach_errors(form, {"password": _l("Enter the password for this account and server.")})
    return not form.errors


def _folder_list(value: str | None) -> str | None:
    return ", ".join(name.strip() for name in value.split(",") if name.strip()) if value else value


class ImapForm(FlaskForm):
    """Settings → Email, inbox sync: the studio's IMAP account (fields prefixed "imap-")."""

    preset = SelectField(_l("Provider"), choices=SmtpForm.preset.kwargs["choices"])
    host = StringField(_l("IMAP server"), validators=[DataRequired(), Length(max=253)],
                       filters=[lambda v: v.strip().rstrip(".").lower() if v else v])
    port = IntegerField(_l("Port"), validators=[DataRequired(), NumberRange(1, 65535)], default=993)
    security = SelectField(_l("Security"), choices=choices(IMAP_SECURITY_CHOICES), default="ssl",
                           description=_l("Port 993 uses SSL/TLS, 143 STARTTLS."))
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=254)],
                           filters=[lambda v: v.strip() if v else v])
    password = PasswordField(_l("Password"), validators=[Length(max=500)])
    folders = StringField(_l("Folders to sync"), validators=[DataRequired(), Length(max=1000)], default="INBOX",
                          filters=[_folder_list],
                          description=_l("Separate with commas. Your Sent folder is read too (found by your "
                                         "server's folder flags or its usual name; Test connection names it): "
                                         "your own replies show on each contact."))
    sent_copy = SelectField(_l("Copies of sent mail in my Sent folder"), default="auto", choices=choices([
        ("auto", _l("Automatic")), ("always", _l("Always")), ("never", _l("Never"))]),
        description=_l("Automatic: where your provider keeps no copy itself (Gmail and Microsoft 365 do), so "
                       "each email Shutterbell sends is there once."))
    save_anyway = HiddenField()

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, prefix="imap", **kwargs)
        self._account = account
        if not self.is_submitted() or kwargs.get("formdata", True) is None:
            self._fill_from(account)
        if mailsettings.has_password(account, "imap"):
            self.password.description = _l("Saved. Leave empty to keep it.")
        elif mailsettings.signed_in_with(account, "imap"):
            self.password.description = _l("Leave empty to keep signing in with the provider.")
        elif mailsettings.has_password(account, "smtp"):
            self.password.description = _l("Leave empty to use the sending password (same user at the same provider).")

    def _fill_from(self, account) -> None:
        """The saved settings; before the first save, a guess from the sending account."""
        if account.imap_host:
            self.host.data, self.port.data, self.security.data = account.imap_host, account.imap_port, account.imap_security
            self.username.data, self.folders.data = account.imap_username, account.imap_folders
            self.sent_copy.data = account.sent_copy
            return
        preset = next((p for p in mailsettings.PRESETS.values() if p.smtp[0] == account.smtp_host), None)
        if preset is not None:
            self.host.data, self.port.data, self.security.data = preset.imap
        self.username.data = account.smtp_username

    def apply_preset(self) -> mailsettings.Preset | None:
        preset = mailsettings.PRESETS.get(self.preset.data or "")
        if preset is not None:
            self.host.data, self.port.data, self.security.data = preset.imap
            for name in ("host", "port"):
                getattr(self, name).raw_data = None  # show the new values, not what was posted
        return preset

    def to_input(self) -> mailsettings.ImapInput:
        return mailsettings.ImapInput(host=self.host.data, port=self.port.data, security=self.security.data,
                                      username=self.username.data or "", password=self.password.data or "",
                                      folders=[f.strip() for f in (self.folders.data or "").split(",") if f.strip()],
                                      sent_copy=self.sent_copy.data or "auto")

    def validate(self, extra_validators=None) -> bool:
        return super().validate(extra_validators) and _password_given(self, self._account, "imap")


class OneOffForm(FlaskForm):
    """A one-off message to a target group of a job's customers."""

    audience = RadioField(_l("To"), choices=choices((a.value, a.label) for a in triggers.CUSTOMER_GROUPS), default="all")
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Message"), description=_l("Placeholders like {{ customer.first_name }} and "
                                                       "{{ job.gallery_url }} work. Mail programs offer a one-click "
                                                       "unsubscribe with every email; {{ unsubscribe_url }} puts the "
                                                       "link in the text too."))
    # No default: staff say which (the domain names a missing choice).
    category = RadioField(_l("Kind of message"), choices=choices((c.value, c.label) for c in triggers.Category),
                          validate_choice=False)
    when = RadioField(_l("When"), choices=choices([("now", _l("Now")), ("later", _l("At a time I choose"))]),
                      default="now")
    send_at = DateTimeLocalField(_l("Send at"), validators=[Optional()])

    def __init__(self, *args, zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._zone = zone

    def to_input(self) -> messages.OneOffInput:
        send_at = None
        if self.when.data == "later" and self.send_at.data:
            send_at = self.send_at.data.replace(tzinfo=ZoneInfo(self._zone)).astimezone(timezone.utc)
        return messages.OneOffInput(self.audience.data, self.subject.data or "", self.body.data or "", send_at,
                                    self.category.data or "")

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.when.data == "later" and not self.send_at.data:
            attach_errors(self, {"send_at": _l("Choose when to send it.")})
        return not self.errors


def _sender_number(value: str | None) -> str | None:
    """"+49 151 2345-6789" → "+4915123456789"; an alphanumeric sender id stays as typed."""
    if value and value.strip().startswith("+"):
        return "+" + "".join(ch for ch in value if ch.isdigit())
    return value.strip() if value else value


class SmsForm(FlaskForm):
    """Settings → Email, text messages: the studio's account at a Twilio-compatible SMS provider
    (fields prefixed "sms-")."""

    account_sid = StringField(_l("Account SID"), validators=[DataRequired(), Length(max=64)],
                              filters=[lambda v: v.strip() if v else v],
                              description=_l("From your SMS provider's console, e.g. AC0123…"))
    token = PasswordField(_l("Auth token"), validators=[Length(max=200)])
    from_number = StringField(_l("Send from"), validators=[DataRequired(), Length(max=32)], filters=[_sender_number],
                              description=_l("A number of this account in international format (+4915…), or "
                                             "a sender name of up to 11 letters where the country allows it."))
    quiet_start = TimeField(_l("Quiet from"), validators=[DataRequired()])
    quiet_end = TimeField(_l("Quiet until"), validators=[DataRequired()],
                          description=_l("No texts between these times in the studio's time zone; they go out "
                                         "when the quiet hours end."))
    save_anyway = HiddenField()

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, obj=account, prefix="sms", **kwargs)
        self._account = account
        if account.credentials:
            self.token.description = _l("Saved. Leave empty to keep it.")

    def validate_from_number(self, field) -> None:
        if not re.fullmatch(r"\+[1-9]\d{6,14}|[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*", field.data or "") \
                or (not field.data.startswith("+") and len(field.data) > 11):
            raise ValidationError(_l("Enter a number in international format (+4915…) or a sender name of "
                                     "up to 11 letters and digits."))

    def to_input(self) -> sms.SmsInput:
        return sms.SmsInput(account_sid=self.account_sid.data or "", token=self.token.data or "",
                            from_number=self.from_number.data or "", quiet_start=self.quiet_start.data,
                            quiet_end=self.quiet_end.data)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        given = self.to_input()
        if not given.token and not sms.kept_token(self._account, given.account_sid):
            attach_errors(self, {"token": _l("Enter the auth token for this account.")})
        return not self.errors


class OAuthForm(FlaskForm):
    """Settings → Email: sign in with the provider for sending or for the inbox (fields prefixed
    "smtp-oauth-" or "imap-oauth-")."""

    address = EmailField(_l("Your mailbox"), validators=[DataRequired(), Email(), Length(max=254)],
                         filters=[lambda v: v.strip() if v else v])

    def __init__(self, *args, account, service: str, **kwargs):
        super().__init__(*args, prefix=f"{service}-oauth", **kwargs)
        self.address.description = (_l("The address you send from; you sign in to it at the provider.")
                                     if service == "smtp" else
                                     _l("The mailbox whose inbox to sync; you sign in to it at the provider."))
        if not self.address.data:
            self.address.data = account.imap_username if service == "imap" and account.imap_username \
                else account.from_address

    def validate_address(self, field):
        if not field.data.isascii():  # XOAUTH2 carries the user in ASCII
            raise ValidationError(_l("Addresses with non-ASCII characters cannot sign in yet."))


class DnsForm(FlaskForm):
    """Settings → Email, deliverability: the DKIM selector to look up (fields prefixed "dns-")."""

    selector = StringField(_l("DKIM selector"), validators=[Optional(), Length(max=63), Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$", message=_l("Letters, digits, dots and dashes only."))],
        filters=[lambda v: v.strip() if v else v],
        description=_l("The name your provider signs with (its admin console shows it; “google” for Google "
                       "Workspace, “selector1” for Microsoft 365)."))

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, prefix="dns", **kwargs)
        if not self.is_submitted() or kwargs.get("formdata", True) is None:
            self.selector.data = deliverability.default_selector(account.smtp_host)


class InvoiceLineForm(Form):
    description = StringField(_l("Description"))
    quantity = StringField(_l("Quantity"), default="1")
    unit_price = StringField(_l("Unit price"))
    tax_rate = StringField(_l("Tax %"))

    def blank(self) -> bool:
        """Nothing typed but the quantity's default: no line (a tax rate alone is a line to finish)."""
        return not any((field.data or "").strip() for field in (self.description, self.unit_price, self.tax_rate))

    def to_input(self) -> invoices.LineInput:
        return invoices.LineInput(self.description.data or "", self.quantity.data or "", self.unit_price.data or "",
                                  self.tax_rate.data or "")


class InvoiceForm(FlaskForm):
    """A draft invoice. Amounts are typed as the studio writes them ("1.234,50" in German); the
    domain reads and checks them (``invoices.problems``). A line left empty is no line."""

    # The domain checks the choice (the client must be the studio's), with a clearer message.
    contact_id = SelectField(_l("Client"), coerce=_optional_int, validate_choice=False)
    job_id = SelectField(_l("Job"), coerce=_optional_int, validate_choice=False)
    currency = StringField(_l("Currency"))
    issued_on = DateField(_l("Issue date"), validators=[Optional()],
                          description=_l("Left empty: the day you issue it."))
    due_on = DateField(_l("Due date"), validators=[Optional()],
                       description=_l("Left empty: 14 days after the issue date."))
    notes = TextAreaField(_l("Note on the invoice"), description=_l("Payment details, a thank-you: printed below the lines."))
    lines = FieldList(FormField(InvoiceLineForm), min_entries=1, max_entries=invoices.MAX_LINES + 1)

    def __init__(self, *args, studio, invoice=None, contact_id=None, job_id=None, **kwargs):
        super().__init__(*args, obj=invoice, **kwargs)
        self._studio = studio
        chosen = invoice.contact_id if invoice else contact_id
        self.contact_id.choices = [(None, _l("Choose…"))] + [(c.id, c.name) for c in contacts.clients(studio, chosen)]
        self.job_id.choices = [(None, _l("No job"))] + [(j.id, j.name) for j in jobs.open_jobs(
            studio, invoice.job_id if invoice else job_id)]
        if not self.is_submitted():
            self.currency.data = self.currency.data or studio.currency
            if invoice is None:
                self.contact_id.data, self.job_id.data = contact_id, job_id
            for entry, line in zip(self.lines, invoice.lines if invoice else []):  # as the studio types them
                entry.form.quantity.data = money.typed(line.quantity, studio.locale)
                entry.form.unit_price.data = money.typed(line.unit_price, studio.locale, cents=True)
                entry.form.tax_rate.data = money.typed(line.tax_rate, studio.locale)
            if not self.lines[-1].form.blank():
                self.lines.append_entry()

    def kept(self) -> list:
        return [entry for entry in self.lines if not entry.form.blank()]

    def to_input(self) -> invoices.InvoiceInput:
        return invoices.InvoiceInput(
            contact_id=self.contact_id.data, job_id=self.job_id.data, currency=(self.currency.data or "").strip().upper(),
            issued_on=self.issued_on.data, due_on=self.due_on.data, notes=self.notes.data or "",
            lines=[entry.form.to_input() for entry in self.kept()])

    def add_line(self, formdata) -> bool:
        """The "Add a line" button (no JavaScript needed): one more empty row; True if it was pressed."""
        if "add_line" not in formdata:
            return False
        if len(self.lines) <= invoices.MAX_LINES:
            self.lines.append_entry()
        return True

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        problems, _lines = invoices.problems(self._studio, self.to_input())
        self.show_problems(problems)
        return not problems

    def show_problems(self, problems: dict) -> None:
        kept = self.kept()
        for (_, index, name), message in ((k, m) for k, m in problems.items() if isinstance(k, tuple)):
            attach_errors(kept[index].form, {name: message})
        refresh_errors(self.lines)
        if "lines" in problems:
            self.form_errors.append(problems["lines"])
        attach_errors(self, {k: m for k, m in problems.items() if isinstance(k, str) and k != "lines"})


class PaymentForm(FlaskForm):
    amount = StringField(_l("Amount"))
    paid_on = DateField(_l("Paid on"), validators=[Optional()])
    method = SelectField(_l("Method"), choices=choices(invoices.METHODS.items()), default="bank_transfer")

    def to_input(self) -> invoices.PaymentInput:
        return invoices.PaymentInput(self.amount.data or "", self.paid_on.data, self.method.data or "")
