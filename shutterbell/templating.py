"""Message templates: the placeholders a studio may use, checking them, and rendering messages.

Messages are plain text with ``{{ placeholder }}`` slots, rendered in Jinja's immutable sandbox
from plain dicts (never ORM objects: a lazy load could reach another studio's rows). The email's
HTML part is made from the rendered text, so no HTML a user typed ever reaches a customer.
"""
from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import format_date
from babel.numbers import format_currency
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from . import channels, triggers

MAX_SUBJECT = 200  # what a studio may write; a channel's body limit is its own (channels.Channel.max_body)

# Objects every message may use; a trigger adds its own (order, voucher) through its catalogue entry.
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "customer": {
        "first_name": _l("Customer's first name"),
        "last_name": _l("Customer's last name"),
        "email": _l("Customer's email address"),
    },
    "job": {
        "name": _l("Name of the photo job"),
        "gallery_url": _l("Link to the gallery / shop"),
        "access_code": _l("Access code of the gallery"),
        "shoot_date": _l("Date of the shoot"),
        "published_at": _l("Date the photos went online"),
        "order_deadline": _l("Order deadline"),
        "archives_at": _l("Date the photos are archived"),
    },
    "studio": {
        "name": _l("Your studio's name"),
    },
    "order": {
        "number": _l("Order number"),
        "total": _l("Order total"),
        "placed_at": _l("Date the order was placed"),
    },
    "voucher": {
        "code": _l("Voucher code"),
        "value": _l("Voucher value"),
        "expires_at": _l("Date the voucher expires"),
    },
    "client": {
        "name": _l("Client's name"),
        "company": _l("Client's company"),
        "email": _l("Client's email address"),
    },
    "invoice": {
        "number": _l("Invoice number"),
        "total": _l("Invoice total"),
        "open": _l("Amount still open"),
        "issued_on": _l("Date the invoice was issued"),
        "due_on": _l("Date the invoice is due"),
    },
    "payment": {
        "amount": _l("Amount paid"),
        "paid_on": _l("Date of the payment"),
        "method": _l("How it was paid"),
    },
    "member": {
        "name": _l("Team member's name"),
        "role": _l("Their role on the job"),
    },
}
TOP_LEVEL_VALUES = {"unsubscribe_url": _l("Link to stop these messages")}  # customers' messages only
# Only available where the trigger provides them (its ``context``).
TRIGGER_OBJECTS = {"order", "voucher", "client", "invoice", "payment", "member"}
CUSTOMER_OBJECTS = {"customer", "job"}  # every message to a job's customers
SAFE_FILTERS = {"upper", "lower", "title", "capitalize", "trim", "default"}

# Placeholders as studios paste them from GotPhoto texts, keyed by letters only, lower case.
GOTPHOTO_PLACEHOLDERS = {
    "customerfirstname": "customer.first_name",
    "customerlastname": "customer.last_name",
    "customeremail": "customer.email",
    "jobname": "job.name",
    "joburl": "job.gallery_url",
    "galleryurl": "job.gallery_url",
    "gallerylink": "job.gallery_url",
    "accesscode": "job.access_code",
    "jobaccesscode": "job.access_code",
    "jobarchivedate": "job.archives_at",
    "archivedate": "job.archives_at",
    "studioname": "studio.name",
    "vouchercode": "voucher.code",
    "unsubscribelink": "unsubscribe_url",
}
_GOTPHOTO_RE = re.compile(r"\[\[\s*([A-Za-z_.\s]+?)\s*\]\]")

MAX_RENDERED = 100_000  # a rendered message never grows past this, whatever its placeholders hold
MAX_RENDERED_SUBJECT = 300  # the outbox's column; mail clients cut far shorter subjects anyway
MAX_NESTING = 30

# Only the documented names exist: no Jinja globals (range, lipsum, dict, ...) and a few filters.
_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_env.globals.clear()
_env.filters = {name: f for name, f in _env.filters.items() if name in SAFE_FILTERS}
# Compiling is most of the cost of a render; a profile's few texts are rendered again and again.
_compiled = functools.lru_cache(maxsize=512)(_env.from_string)


class TemplateProblem(ValueError):
    """A message text that cannot be used, with a message for the studio.

    The message is made a plain string at once: a lazy string would reach a page unescaped
    (its ``__html__`` returns it raw), and these messages quote what the user typed.
    """

    def __init__(self, message):
        super().__init__(str(message))


@dataclass
class Rendered:
    subject: str
    text: str
    html: Markup | None
    segments: int | None = None
    encoding: str | None = None


@dataclass
class Placeholder:
    name: str
    description: str


@dataclass
class SmsLength:
    characters: int
    segments: int
    encoding: str  # "GSM-7" or "UCS-2"
    offenders: list[str] = field(default_factory=list)


def available_objects(trigger: triggers.Trigger | None) -> set[str]:
    """The placeholder objects (and top-level values) a message for this trigger may use."""
    if trigger is not None and not trigger.reaches_customers:
        return (set(PLACEHOLDERS) - TRIGGER_OBJECTS - CUSTOMER_OBJECTS) | set(trigger.context)
    extra = set(trigger.context) if trigger else set()
    return (set(PLACEHOLDERS) - TRIGGER_OBJECTS) | extra | set(TOP_LEVEL_VALUES)


def placeholders_for(trigger: triggers.Trigger | None) -> list[Placeholder]:
    """The documented placeholders a message for this trigger may use, for the editor's list."""
    found = [
        Placeholder(f"{obj}.{attr}", str(desc))
        for obj in PLACEHOLDERS
        if obj in available_objects(trigger)
        for attr, desc in PLACEHOLDERS[obj].items()
    ]
    found += [Placeholder(name, str(desc)) for name, desc in TOP_LEVEL_VALUES.items()
              if name in available_objects(trigger)]
    return found


def check(source: str, trigger: triggers.Trigger | None, limit: int) -> None:
    """Raise TemplateProblem unless ``source`` uses only documented placeholders correctly."""
    if len(source) > limit:
        raise TemplateProblem(_l("This is too long: at most %(limit)d characters.", limit=limit))
    _reject_gotphoto_placeholders(source)
    try:
        tree = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(
            _l("Line %(line)d: %(error)s. Placeholders look like {{ customer.first_name }}.",
               line=exc.lineno, error=exc.message)
        ) from None
    except RecursionError:
        raise TemplateProblem(_l("Placeholders are nested too deeply.")) from None
    allowed = available_objects(trigger)
    for node in tree.body:
        _check_node(node, allowed)
    render("", source, "email", sample_context())


def _reject_gotphoto_placeholders(source: str) -> None:
    for match in _GOTPHOTO_RE.finditer(source):
        key = re.sub(r"[^a-z]", "", match.group(1).lower())
        ours = GOTPHOTO_PLACEHOLDERS.get(key)
        if ours:
            raise TemplateProblem(
                _l("%(theirs)s is a GotPhoto placeholder: write {{ %(ours)s }} instead.",
                   theirs=match.group(0), ours=ours))


def has_gotphoto_placeholders(source: str) -> bool:
    return any(re.sub(r"[^a-z]", "", m.group(1).lower()) in GOTPHOTO_PLACEHOLDERS
               for m in _GOTPHOTO_RE.finditer(source))


def convert_gotphoto(source: str) -> str:
    """Replace the GotPhoto placeholders we recognise with ours; leave anything else alone."""
    def replace(match: re.Match) -> str:
        ours = GOTPHOTO_PLACEHOLDERS.get(re.sub(r"[^a-z]", "", match.group(1).lower()))
        return "{{ %s }}" % ours if ours else match.group(0)
    return _GOTPHOTO_RE.sub(replace, source)


def _check_node(node: nodes.Node, allowed: set[str], depth: int = 0) -> None:
    """Walk the template tree allowing text, documented placeholders, ``if`` and a few filters."""
    if depth > MAX_NESTING:
        raise TemplateProblem(_l("Placeholders are nested too deeply."))
    if isinstance(node, nodes.Getattr):
        _check_placeholder(node, allowed)
        return
    if isinstance(node, nodes.Name):
        if node.name in TOP_LEVEL_VALUES:
            if node.name in allowed:
                return
            raise TemplateProblem(_l("{{ %(name)s }} is only available in messages to customers (an invoice's "
                                     "messages are service mail, without an unsubscribe link).", name=node.name))
        if node.name in PLACEHOLDERS:
            first = next(iter(PLACEHOLDERS[node.name]))
            raise TemplateProblem(_l("Write {{ %(name)s.%(attr)s }}, not {{ %(name)s }}.", name=node.name, attr=first))
        raise TemplateProblem(_l("Unknown placeholder {{ %(name)s }}.", name=node.name))
    if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
        raise TemplateProblem(_l("The filter “%(name)s” is not available in messages.", name=node.name))
    if not isinstance(node, _ALLOWED_NODES):
        raise TemplateProblem(_l("Messages may only contain text and placeholders like {{ customer.first_name }}."))
    for child in node.iter_child_nodes():
        _check_node(child, allowed, depth + 1)


_ALLOWED_NODES = (
    nodes.Output, nodes.TemplateData, nodes.Const, nodes.If, nodes.Filter,
    nodes.Not, nodes.And, nodes.Or, nodes.CondExpr,
)


def _check_placeholder(node: nodes.Getattr, allowed: set[str]) -> None:
    if not isinstance(node.node, nodes.Name):
        raise TemplateProblem(_l("Messages may only contain text and placeholders like {{ customer.first_name }}."))
    obj, attr = node.node.name, node.attr
    name = f"{obj}.{attr}"
    if obj not in PLACEHOLDERS or attr not in PLACEHOLDERS[obj]:
        raise TemplateProblem(_l("Unknown placeholder {{ %(name)s }}.", name=name))
    if obj not in allowed:
        raise TemplateProblem(_l("{{ %(name)s }} is only available for %(obj)s triggers.", name=name, obj=obj))


def render(subject: str, body: str, channel: str, context: dict) -> Rendered:
    """Render a message from plain-dict ``context``. Raises TemplateProblem on a bad template.

    Callers render only texts that passed ``check``; the errors caught here are the last line.
    """
    text_format = channels.get(channel).text_format
    try:
        text = _compiled(body).render(context)
        rendered_subject = _compiled(subject).render(context) if text_format == "email" else ""
    except (TemplateSyntaxError, UndefinedError, SecurityError, TypeError, ValueError) as exc:
        raise TemplateProblem(_l("This message cannot be rendered: %(error)s", error=str(exc))) from None
    except RecursionError:
        raise TemplateProblem(_l("Placeholders are nested too deeply.")) from None
    if len(text) + len(rendered_subject) > MAX_RENDERED:
        raise TemplateProblem(_l("This message is too long once its placeholders are filled in."))
    if len(rendered_subject) > MAX_RENDERED_SUBJECT:
        raise TemplateProblem(_l("The subject is longer than %(limit)d characters once its placeholders are "
                                 "filled in.", limit=MAX_RENDERED_SUBJECT))
    if text_format == "text":
        text = clean_sms(text)
        length = sms_length(text)
        return Rendered("", text, None, length.segments, length.encoding)
    return Rendered(" ".join(rendered_subject.split()), text, text_to_html(text))


_URL_RE = re.compile(r"(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)])")


def text_to_html(text: str, untrusted: tuple[str, ...] = ()) -> Markup:
    """Paragraphs on blank lines, line breaks within them, and links for the http(s) URLs of the
    studio's own text. ``untrusted`` are values a customer typed (their name, their address):
    they are escaped like everything else and never become links, whatever they contain."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    # Only a value that could hold a link is guarded (names cannot any more; an old import's
    # might): a short name must not unlink the studio's gallery URL that happens to contain it.
    guarded = [str(escape(value)) for value in untrusted if value and "http" in value.lower()]
    html = []
    for paragraph in paragraphs:
        lines = [_linkify(str(escape(line)), guarded) for line in paragraph.strip().splitlines()]
        html.append("<p>" + "<br>\n".join(lines) + "</p>")
    return Markup("\n".join(html))


def _linkify(escaped_line: str, guarded: list[str]) -> str:
    if "http" not in escaped_line:
        return escaped_line
    spans = [(m.start(), m.start() + len(value)) for value in guarded
             for m in re.finditer(re.escape(value), escaped_line)]

    def link(match: re.Match) -> str:
        if any(start < match.end() and match.start() < end for start, end in spans):
            return match.group(0)
        return f'<a href="{match.group(1)}">{match.group(1)}</a>'
    return _URL_RE.sub(link, escaped_line)


# GSM 03.38: texts made only of these go out 160 characters a segment; anything else is UCS-2 (70).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")  # cost two characters each
# Look-alikes that silently switch a text to UCS-2 and double its cost.
_SMS_REPLACEMENTS = {
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2018": "'", "\u2019": "'", "\u201a": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2013": "-", "\u2014": "-", "\u2026": "...",
}


def clean_sms(text: str) -> str:
    return "".join(_SMS_REPLACEMENTS.get(ch, ch) for ch in text).strip()


def sms_length(text: str) -> SmsLength:
    offenders = sorted({ch for ch in text if ch not in _GSM_BASIC and ch not in _GSM_EXTENDED})
    if not offenders:
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsLength(units, segments, encoding, offenders)


def sample_context(studio_name: str = "Studio Lichtblick", locale: str = "en_US",
                   currency: str = "EUR", today: date | None = None) -> dict:
    """Plausible values for every placeholder, for the live preview and for checking templates.

    Dates and money are formatted in the studio's locale, as real messages are. A copy: the
    editor checks and previews every notification with it, and formatting is most of the cost.
    """
    return copy.deepcopy(_sample_context(studio_name, locale, currency, today or date.today(),
                                         str(_l("Bank transfer")), str(_l("Second shooter"))))


@functools.lru_cache(maxsize=64)
def _sample_context(studio_name: str, locale: str, currency: str, today: date, transfer: str, role: str) -> dict:
    def long_date(days: int) -> str:
        return format_date(today + timedelta(days=days), format="long", locale=locale)

    return {
        "customer": {"first_name": "Anna", "last_name": "Schmidt", "email": "anna.schmidt@example.com"},
        "job": {
            "name": "Kindergarten Sonnenschein 2026",
            "gallery_url": "https://photos.example.com/g/SONNE26",
            "access_code": "SONNE26",
            "shoot_date": long_date(-14),
            "published_at": long_date(-3),
            "order_deadline": long_date(14),
            "archives_at": long_date(60),
        },
        "studio": {"name": studio_name},
        "order": {"number": "10482", "total": format_currency(48.90, currency, locale=locale),
                  "placed_at": long_date(0)},
        "voucher": {"code": "SPRING15", "value": format_currency(15, currency, locale=locale),
                    "expires_at": long_date(7)},
        "unsubscribe_url": "https://shutterbell.example.com/u/sample",
        "client": {"name": "Jürgen Weiß", "company": "Hochzeitsmanufaktur Weiß", "email": "juergen@example.com"},
        "invoice": {"number": "2026-0042", "total": format_currency(1890, currency, locale=locale),
                    "open": format_currency(890, currency, locale=locale), "issued_on": long_date(-10),
                    "due_on": long_date(4)},
        "payment": {"amount": format_currency(1000, currency, locale=locale), "paid_on": long_date(0),
                    "method": transfer},
        "member": {"name": "Zofia Łęcka", "role": role},
    }
