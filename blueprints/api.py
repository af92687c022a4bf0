"""JSON API for shops and gallery systems: /api/v1, a studio's bearer token, JSON errors.

Every call goes through the same domain functions as the pages. External ids make retries safe.
The contract is static/openapi.json (served at /api/v1/openapi.json).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from shutterbell import addresses, api_tokens, contacts, customers, invoices, jobs, orders
from shutterbell.extensions import csrf, db
from shutterbell.models import MAX_ID, Invoice, Order, utcnow
from shutterbell.validation import Invalid

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies: there is no session to forge


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    body = {"error": {"code": error.code, "message": error.message}}
    if error.fields:
        body["error"]["fields"] = error.fields
    return jsonify(body), error.status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return jsonify({"error": {"code": error.name.lower().replace(" ", "_"), "message": error.description}}), error.code


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        studio = api_tokens.studio_for(token.strip(), utcnow()) if scheme.lower() == "bearer" and token else None
        if studio is None:
            raise ApiError(401, "unauthorized", "Send a valid API token: Authorization: Bearer sb_…")
        g.api_studio = studio
        g.studio_locale = studio.locale  # what it stores (consent wording, alerts) in the studio's language
        return view(*args, **kwargs)
    return wrapped


def _body(optional: bool = False) -> dict:
    data = request.get_json(silent=True)
    if data is None and optional and not request.get_data():
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object (Content-Type: application/json).")
    return data


_EXTERNAL_ID = re.compile(r"[A-Za-z0-9._:@-]{1,100}")


def _external_id(data: dict, name: str, required: bool = False) -> str | None:
    value = _string(data, name, required=required, limit=100).strip()
    if value and not _EXTERNAL_ID.fullmatch(value):
        raise ApiError(422, "invalid", f"{name} may contain letters, digits and . _ : @ - only.", {name: "id"})
    return value or None


def _job(job_id: int):
    job = jobs.get_job(g.api_studio, job_id)
    if job is None:
        raise ApiError(404, "not_found", f"No job {job_id} in this studio.")
    return job


def _string(data: dict, name: str, required: bool = False, limit: int = 254) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise ApiError(422, "invalid", f"{name} must be a text of at most {limit} characters.",
                       {name: "required text" if required else "text"})
    return value


def _bool(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(422, "invalid", f"{name} must be true or false.", {name: "boolean"})
    return value


def _moment(data: dict, name: str) -> datetime:
    value = data.get(name)
    if value is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is not None and moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        moment = None
    if moment is None or moment.tzinfo is None or not 2000 <= moment.year <= 2100:
        raise ApiError(422, "invalid", f"{name} must be an ISO 8601 time with its offset between the years "
                       "2000 and 2100, like 2026-03-16T18:30:00+01:00.", {name: "date-time"})
    return moment


def _day(data: dict, name: str) -> date:
    try:
        day = date.fromisoformat(data[name])
    except (KeyError, TypeError, ValueError):
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise ApiError(422, "invalid", f"{name} must be a date like 2026-05-01.", {name: "date"})
    return day


def _number(value) -> Decimal | None:
    """A JSON number or a plain "48.90": never read in a locale."""
    try:
        number = Decimal(str(value)) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() else None


def _cents(data: dict, name: str) -> int:
    amount = _number(data.get(name))
    if amount is None or not 0 <= amount <= orders.MAX_CENTS / 100:
        raise ApiError(422, "invalid", f"{name} must be an amount like 48.90.", {name: "amount"})
    return int((amount * 100).quantize(Decimal(1)))


def _decimal(value, name: str) -> Decimal:
    number = _number(value)
    if number is None:
        raise ApiError(422, "invalid", f"{name} must be a number like 48.90.", {name: "number"})
    return number


def _optional_day(data: dict, name: str) -> date | None:
    return _day(data, name) if data.get(name) is not None else None


def _invoice_json(invoice: Invoice):
    return {"id": invoice.id, "external_id": invoice.external_id, "number": invoice.number,
            "currency": invoice.currency, "issued_on": invoice.issued_on.isoformat(),
            "due_on": invoice.due_on.isoformat(), "total": f"{invoice.total:.2f}", "paid": f"{invoice.paid:.2f}",
            "open": f"{invoice.open:.2f}", "status": invoice.status}


def _customer_json(customer):
    return {"id": customer.id, "external_id": customer.external_id, "job_id": customer.job_id,
            "confirmed": customer.confirmed_at is not None}


def _order_json(order: Order):
    return {"id": order.id, "external_id": order.external_id, "customer_id": order.customer_id,
            "total": f"{order.total_cents / 100:.2f}", "state": order.state}


@bp.get("/openapi.json")
def openapi():
    return send_from_directory(current_app.static_folder, "openapi.json", mimetype="application/json")


@bp.post("/jobs/<int:job_id>/customers")
@token_required
def customer_registered(job_id: int):
    job, data = _job(job_id), _body()
    entry = customers.CustomerInput(
        first_name=_string(data, "first_name", required=True, limit=100), last_name=_string(data, "last_name", limit=100),
        email=_string(data, "email", required=True), phone=_string(data, "phone", limit=40),
        email_consent=_bool(data, "email_consent"), sms_consent=_bool(data, "sms_consent"),
        marketing_consent=_bool(data, "marketing_consent"))
    external_id = _external_id(data, "external_id")
    wording = customers.consent_wording(g.api_studio.name, job.name)
    if data.get("consent_wording") is not None:
        text = _string(data, "consent_wording", limit=2000)
        wording = {"email": text, "sms": text, "marketing": _string(data, "marketing_consent_wording", limit=2000)}
        if entry.marketing_consent and not wording["marketing"]:  # the shop's words for offers, not ours
            raise ApiError(422, "invalid", "Some fields are not valid.", {
                "marketing_consent_wording": "With your own consent_wording, send the sentence the person agreed "
                                             "to for offers as well."})
    try:
        customer, created = customers.register(job, entry, "api", wording, utcnow(), external_id=external_id)
    except Invalid as exc:
        raise ApiError(422, "invalid", "Some fields are not valid.", exc.problems) from None
    except customers.ExternalIdConflict:
        raise ApiError(409, "conflict", "This email is already on this job with another external_id.") from None
    if customer.job_id != job.id:
        raise ApiError(409, "conflict", "This external_id belongs to a customer of another job.")
    return jsonify(_customer_json(customer)), 201 if created else 200


@bp.post("/jobs/<int:job_id>/orders")
@token_required
def order_placed(job_id: int):
    job, data = _job(job_id), _body()
    external_id = _external_id(data, "external_id", required=True)
    customer = customers.by_external_id(g.api_studio.id, _external_id(data, "customer_external_id", required=True))
    if customer is None or customer.job_id != job.id:
        raise ApiError(404, "not_found", "No customer with this customer_external_id on this job.")
    order, created = orders.record(job, customer, _cents(data, "total"), _moment(data, "placed_at"),
                                   paid=_bool(data, "paid"), external_id=external_id)
    if order.job_id != job.id:
        raise ApiError(409, "conflict", "This external_id belongs to an order of another job.")
    return jsonify(_order_json(order)), 201 if created else 200


def _order(external_id: str) -> Order:
    order = orders.by_external_id(g.api_studio.id, external_id)
    if order is None:
        raise ApiError(404, "not_found", f"No order {external_id!r} in this studio.")
    return order


@bp.post("/orders/<external_id>/paid")
@token_required
def order_paid(external_id: str):
    order = _order(external_id)
    if order.cancelled_at is not None:
        raise ApiError(409, "conflict", "This order was cancelled.")
    paid_at = _moment(_body(optional=True), "paid_at")
    if paid_at < order.placed_at:
        raise ApiError(422, "invalid", "paid_at is before the order was placed.", {"paid_at": "date-time"})
    orders.mark_paid(order, paid_at)
    return jsonify(_order_json(order))


@bp.post("/orders/<external_id>/cancel")
@token_required
def order_cancelled(external_id: str):
    order = _order(external_id)
    orders.cancel(order, utcnow())
    return jsonify(_order_json(order))


@bp.post("/jobs/<int:job_id>/published")
@token_required
def job_published(job_id: int):
    job, body = _job(job_id), _body(optional=True)
    gallery = body.get("gallery_url")  # the announcement links to it: needed unless the job has one
    if gallery is not None and not isinstance(gallery, str):
        raise ApiError(422, "invalid", "gallery_url must be a string.", {"gallery_url": "Not a string."})
    return _change_dates(job, published_at=_moment(body, "published_at"),
                         **({"gallery_url": gallery} if gallery else {}))


@bp.put("/jobs/<int:job_id>/archive-date")
@token_required
def archive_date_changed(job_id: int):
    job = _job(job_id)
    return _change_dates(job, archives_at=_day(_body(), "archives_at"))


@bp.post("/invoices")
@token_required
def invoice_issued():
    """An invoice another system issued, for the client with this email address (made a contact
    the first time); its notifications then go out like those of the studio's own invoices."""
    data, studio = _body(), g.api_studio
    external_id = _external_id(data, "external_id", required=True)
    try:
        email = addresses.normalise_email(_string(data, "client_email", required=True))
    except ValueError:
        raise ApiError(422, "invalid", "client_email is not an email address.", {"client_email": "email"}) from None
    number = data.get("number")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
        raise ApiError(422, "invalid", "number must be a whole number.", {"number": "integer"})
    job_id = data.get("job_id")
    if job_id is not None and (not isinstance(job_id, int) or isinstance(job_id, bool) or not 0 < job_id <= MAX_ID
                               or not jobs.get_job(studio, job_id)):
        raise ApiError(422, "invalid", "job_id must be the id of one of your jobs.", {"job_id": "job"})
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not all(isinstance(line, dict) for line in raw_lines):
        raise ApiError(422, "invalid", "lines must be a list of objects.", {"lines": "list"})
    lines = [invoices.LineInput(_string(line, "description", required=True, limit=300),
                                _decimal(line.get("quantity", 1), "quantity"),
                                _decimal(line.get("unit_price"), "unit_price"),
                                _decimal(line.get("tax_rate", 0), "tax_rate")) for line in raw_lines]
    existing = invoices.by_external_id(studio.id, external_id)
    if existing is not None:  # a retry: the first answer again, without making a contact
        return jsonify(_invoice_json(existing)), 200
    contact = _client(studio.id, email, _string(data, "client_name", limit=200))
    entry = invoices.InvoiceInput(contact.id, job_id, (_string(data, "currency", limit=3) or studio.currency).upper(),
                                  _optional_day(data, "issued_on"), _optional_day(data, "due_on"),
                                  _string(data, "notes", limit=2000), lines)
    try:
        invoice, created = invoices.record_issued(studio, entry, external_id, number,
                                                  invoices.day_of(studio, utcnow()))
    except Invalid as exc:
        db.session.rollback()
        if "number" in exc.problems and len(exc.problems) == 1:
            raise ApiError(409, "conflict", exc.problems["number"], {"number": "taken"}) from None
        raise ApiError(422, "invalid", "Some fields are not valid.", _api_fields(exc.problems)) from None
    return jsonify(_invoice_json(invoice)), 201 if created else 200


def _client(studio_id: int, email: str, name: str):
    """The contact of the address, made now if none; a second call making it at the same moment
    finds the first one's (``contacts.for_address``)."""
    try:
        return contacts.for_address(studio_id, email, name)
    except sa.exc.IntegrityError:
        db.session.rollback()
        return contacts.of_address(studio_id, email)


def _api_fields(problems: dict) -> dict:
    """A line's problem ("lines", 2, "unit_price") named as JSON names it: lines[2].unit_price."""
    return {(f"lines[{key[1]}].{key[2]}" if isinstance(key, tuple) else key): message for key, message in problems.items()}


@bp.post("/invoices/<external_id>/payments")
@token_required
def payment_received(external_id: str):
    invoice = invoices.by_external_id(g.api_studio.id, external_id)
    if invoice is None:
        raise ApiError(404, "not_found", f"No invoice {external_id!r} in this studio.")
    data = _body()
    entry = invoices.PaymentInput(_decimal(data.get("amount"), "amount"),
                                  _optional_day(data, "paid_on") or invoices.day_of(g.api_studio, utcnow()),
                                  _string(data, "method", limit=20) or "bank_transfer",
                                  _external_id(data, "external_id"))
    try:
        invoices.record_payment(invoice, entry, utcnow())
    except Invalid as exc:  # a draft, void or paid invoice takes none (409); too much, a bad method (422)
        db.session.rollback()
        status, code = (409, "conflict") if not invoices.payable(invoice) else (422, "invalid")
        raise ApiError(status, code, " ".join(exc.problems.values()), exc.problems) from None
    return jsonify(_invoice_json(invoice))


def _change_dates(job, **changes):
    try:
        jobs.change_dates(job, **changes)
    except Invalid as exc:
        db.session.rollback()
        raise ApiError(422, "invalid", " ".join(exc.problems.values()), exc.problems) from None
    return jsonify({"id": job.id, "published_at": job.published_at.isoformat() if job.published_at else None,
                    "archives_at": job.archives_at.isoformat() if job.archives_at else None})
