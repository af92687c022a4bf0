"""Database models. Every row belongs to a studio, and every query that serves a studio names it
(``Model.studio_id == studio.id``): a row of another studio is not found (404)."""
from __future__ import annotations

import secrets
import unicodedata
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from . import channels, message_keys
from .extensions import db


# Ids are INTEGER columns (32 bits on PostgreSQL): a larger number names no row.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps stored as UTC and always read back timezone-aware, on SQLite too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Money(sa.types.TypeDecorator):
    """An amount: ``Decimal`` in Python, NUMERIC(12, 2) on PostgreSQL. SQLite's NUMERIC is a
    float (33.33 + 33.33 + 33.34 > 100 there), so on SQLite it is whole cents in an INTEGER: sums
    and comparisons in SQL stay exact on both."""

    impl = sa.Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.BigInteger() if dialect.name == "sqlite" else sa.Numeric(12, 2))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return int((Decimal(value) * 100).to_integral_value(ROUND_HALF_UP))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(value) / 100 if dialect.name == "sqlite" else Decimal(value)).quantize(Decimal("0.01"))


class Studio(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Berlin")
    locale: Mapped[str] = mapped_column(sa.String(16), default="en_US")
    # Where the studio is: a phone number typed without +country code is read as one of its own.
    country: Mapped[str] = mapped_column(sa.String(2), default="DE")
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    default_send_time: Mapped[time] = mapped_column(sa.Time, default=time(9, 0))
    morning_time: Mapped[time] = mapped_column(sa.Time, default=time(8, 0))
    evening_time: Mapped[time] = mapped_column(sa.Time, default=time(18, 0))
    double_opt_in: Mapped[bool] = mapped_column(default=True)  # public sign-ups confirm by email first
    # The double opt-in email; empty means the built-in text. The link is always added below it.
    confirmation_subject: Mapped[str] = mapped_column(sa.String(200), default="")
    confirmation_body: Mapped[str] = mapped_column(sa.Text, default="")
    # Preselected when a job is created. use_alter: studio and profile point at each other.
    # Alerts the owner switched off, as "<kind>.app" and "<kind>.email" (alerts.KINDS).
    muted_alerts: Mapped[list | None] = mapped_column(sa.JSON, default=list)
    default_profile_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("profile.id", use_alter=True, name="fk_studio_default_profile_id_profile"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


NAME_ORDER_LENGTH = 250  # two names of 100, with room for what folding adds ("ß" -> "ss")
# Letters Unicode does not write as a base letter and a mark: Polish ł sorts among the l, not after z.
_UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE",
                               "œ": "oe", "Œ": "OE", "ı": "i", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH"})


def name_order(first_name: str | None, last_name: str | None) -> str:
    """How a person's name sorts: by last name, then first name, whatever the case or accents
    ("Öztürk" beside "Ozturk", not after "Zimmermann"). A tab between them puts "Meyer, Zoë"
    before "Meyerhof, Clara". Stored (``Customer.sort_name``): a change here needs a migration
    that works the stored ones out again, or old and new orders mix."""
    return f"{_folded(last_name)}\t{_folded(first_name)}"[:NAME_ORDER_LENGTH]


def _folded(text: str | None) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(c))
    return bare.translate(_UNDECOMPOSED).casefold()


def _name_order_on_insert(context) -> str:
    """For inserts that name no order (a bulk insert of rows): from the row's names."""
    row = context.get_current_parameters()
    return name_order(row.get("first_name"), row.get("last_name"))


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    ROLES = ("owner", "staff")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    # Stored lower-case. One signed-up user per address on the instance (the sign-in finds them
    # by it); an invitation waiting in a studio may name an address that has an account elsewhere,
    # so an invitation looks the same to the inviting studio whoever the address belongs to.
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))  # None until an invite is accepted
    role: Mapped[str] = mapped_column(sa.String(10), default="staff")
    invite_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the session and the remember cookie name the user by (Flask-Login's alternative id),
    # never the row id: a new one signs the user out everywhere (a new password, "sign out
    # everywhere"), and a removed user's cookies name nobody, whoever is created next.
    session_id: Mapped[str] = mapped_column(sa.String(64), unique=True, default=lambda: new_session_id())

    def get_id(self) -> str:
        return self.session_id

    studio: Mapped[Studio] = relationship()

    __table_args__ = (
        sa.CheckConstraint("role in ('owner', 'staff')", name="role"),
        sa.UniqueConstraint("studio_id", "email", name="uq_user_studio_id_email"),
        sa.Index("uq_user_email_signed_up", "email", unique=True, sqlite_where=sa.text("password_hash IS NOT NULL"),
                 postgresql_where=sa.text("password_hash IS NOT NULL")),
    )

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    @classmethod
    def first_owner_email(cls, studio_id) -> sa.Select:
        """The address internal alerts go to: the studio's first owner who signed up. ``studio_id``
        may be a column of an outer query (correlate it there)."""
        return (sa.select(cls.email).where(cls.studio_id == studio_id, cls.role == "owner",
                                           cls.password_hash.is_not(None)).order_by(cls.id).limit(1))

    @property
    def is_active(self) -> bool:  # Flask-Login: an invited user cannot sign in yet
        return self.password_hash is not None


class SetupToken(db.Model):
    """The one-time token that guards the first-run set-up page of an empty instance."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Profile(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    recommended: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Deleting keeps the row: sent messages and jobs still point at it.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notifications: Mapped[list[Notification]] = relationship(
        back_populates="profile",
        order_by="Notification.position",
        primaryjoin="and_(Profile.id == Notification.profile_id, Notification.retired_at.is_(None))",
        viewonly=True,
    )


class Notification(db.Model):
    """One message of a profile. Its id is part of the scheduler's idempotency key, so an edit
    updates the row in place and a removal retires it; rows are never deleted and re-inserted."""

    SEND_TIMES = ("default", "morning", "evening", "at")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("profile.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    trigger: Mapped[str] = mapped_column(sa.String(40))
    days: Mapped[int | None]
    audience: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(10))
    send_time: Mapped[str] = mapped_column(sa.String(10), default="default")
    send_at: Mapped[time | None] = mapped_column(sa.Time)  # when send_time == "at"
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    # Service (what the customer signed up for) or marketing (offers: needs consent to offers).
    category: Mapped[str] = mapped_column(sa.String(10), default="service", server_default="service")
    requires_approval: Mapped[bool] = mapped_column(default=False)
    stop_on_reply: Mapped[bool] = mapped_column(default=False)  # a reply from the customer skips the rest
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    profile: Mapped[Profile] = relationship()

    __table_args__ = (
        sa.CheckConstraint(channels.check_constraint(), name="channel"),
        sa.CheckConstraint("audience in ('all', 'potential_buyers', 'buyers', 'client', 'studio', 'staff', 'vendors')",
                           name="audience"),
        sa.CheckConstraint("days is null or (days >= 0 and days <= 365)", name="days_range"),
        sa.CheckConstraint("category in ('service', 'marketing')", name="category"),
    )


class Job(db.Model):
    """A photo job. Its dates are calendar dates in the studio's time zone; publishing is an event
    (a timestamp). Its profile decides what its customers are sent."""

    STATUSES = ("planned", "active", "archived")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    profile_id: Mapped[int | None] = mapped_column(sa.ForeignKey("profile.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(10), default="active")
    shoot_date: Mapped[date | None] = mapped_column(sa.Date)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_deadline: Mapped[date | None] = mapped_column(sa.Date)
    archives_at: Mapped[date | None] = mapped_column(sa.Date)
    gallery_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # Who booked it (a wedding couple, a company): "booking confirmed" goes out when it is set.
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Project updates: when the job moved to editing, and was delivered (``stage``).
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_code: Mapped[str] = mapped_column(sa.String(16), unique=True)  # the public sign-up code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    profile: Mapped[Profile | None] = relationship()
    client: Mapped[Contact | None] = relationship()
    vouchers: Mapped[list[Voucher]] = relationship(order_by="Voucher.slot", viewonly=True)

    __table_args__ = (
        sa.CheckConstraint("status in ('planned', 'active', 'archived')", name="status"),
        sa.Index("ix_job_studio_status_name", "studio_id", "status", "name"),
    )

    STAGES = ("", "editing", "delivered")  # "": not started yet (booked, shooting)

    @property
    def stage(self) -> str:
        return "delivered" if self.delivered_at else "editing" if self.edited_at else ""

    @property
    def voucher_slots(self) -> list[Voucher | None]:
        """The three voucher places of the job page, empty ones as None."""
        by_slot = {v.slot: v for v in self.vouchers}
        return [by_slot.get(slot) for slot in range(3)]


class Contact(db.Model):
    """Someone the studio corresponds with: a client, a vendor (a second shooter, a venue, a lab)
    or a staff contact. A job's customers link to the client with their address, so one person is
    one contact across jobs; their addresses are ``ContactAddress`` rows."""

    KINDS = ("client", "vendor", "staff")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="client")
    name: Mapped[str] = mapped_column(sa.String(200))
    company: Mapped[str] = mapped_column(sa.String(200), default="")
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # E.164
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    addresses: Mapped[list[ContactAddress]] = relationship(back_populates="contact", cascade="all, delete-orphan",
                                                           order_by="ContactAddress.id")

    __table_args__ = (
        sa.CheckConstraint("kind in ('client', 'vendor', 'staff')", name="kind"),
        sa.Index("ix_contact_studio_id_name", "studio_id", "name"),
    )

    @property
    def email(self) -> str:
        """The first address: where the studio writes to."""
        return self.addresses[0].address if self.addresses else ""


class ContactAddress(db.Model):
    """One email address of a contact, normalised (lower-case): finding the contact of an address
    is one indexed lookup, and an address belongs to one contact of a studio."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(254))

    contact: Mapped[Contact] = relationship(back_populates="addresses")

    __table_args__ = (sa.UniqueConstraint("studio_id", "address", name="uq_contact_address_studio_id_address"),)


class Customer(db.Model):
    """A person signed up to one job's messages. Stored data changes only through staff, never
    through a second sign-up (that would let anyone redirect someone else's messages)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("job.id"), index=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100), default="")
    # ``name_order`` of the two, kept as they change through the ORM (``_keep_name_order``; a
    # Core UPDATE of a name would have to set it too): a page of a job's 2,000 customers by name
    # reads 50 rows from an index instead of sorting the job (and folding every name) each time.
    # Compared as code points: a linguistic collation (de_DE) would skip the tab.
    sort_name: Mapped[str] = mapped_column(
        sa.String(NAME_ORDER_LENGTH).with_variant(sa.String(NAME_ORDER_LENGTH, collation="C"), "postgresql"),
        default=_name_order_on_insert, server_default="")
    email: Mapped[str] = mapped_column(sa.String(254))  # normalised: lower-case
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # E.164
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # double opt-in
    unsubscribe_token: Mapped[str] = mapped_column(sa.String(43), unique=True)
    confirm_token: Mapped[str | None] = mapped_column(sa.String(43), unique=True)  # double opt-in link
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data gone, row kept for counts
    # When they last wrote to the studio (the inbox sync): notifications that stop on a reply skip
    # their messages due from then on, until staff undo it.
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(sa.String(100))  # the shop's id, unique per studio
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)  # the person, across jobs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consents: Mapped[list[Consent]] = relationship(back_populates="customer", cascade="all, delete-orphan",
                                                   order_by="Consent.given_at")

    __table_args__ = (
        sa.UniqueConstraint("job_id", "email", name="uq_customer_job_id_email"),
        sa.UniqueConstraint("studio_id", "external_id", name="uq_customer_studio_id_external_id"),
        sa.Index("ix_customer_confirmed_at", "confirmed_at"),  # the scheduler reads sign-ups by time
        sa.Index("ix_customer_created_at", "created_at"),  # ... and by when they were written
        sa.Index("ix_customer_job_id_sort_name", "job_id", "sort_name", "id"),  # a page of the job by name
    )

    @validates("first_name", "last_name")
    def _keep_name_order(self, key: str, value: str) -> str:
        names = {"first_name": self.first_name, "last_name": self.last_name, key: value}
        self.sort_name = name_order(names["first_name"], names["last_name"])
        return value

    def has_consent(self, channel: str, purpose: str = "service") -> bool:
        return (channel, purpose) in self.agreed_to()

    def agreed_to(self) -> set[tuple[str, str]]:
        """The (channel, purpose) pairs they consented to and have not withdrawn."""
        return {(c.channel, c.purpose) for c in self.consents if c.withdrawn_at is None}


class Consent(db.Model):
    """Consent is a record: when, through which path, and the exact wording the person saw. Its
    purpose: service (the messages of the job they signed up to) or marketing (offers as well)."""

    PATHS = ("signup", "staff", "import", "api")
    PURPOSES = ("service", "marketing")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(10))
    purpose: Mapped[str] = mapped_column(sa.String(10), default="service", server_default="service")
    wording: Mapped[str] = mapped_column(sa.Text)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship(back_populates="consents")

    __table_args__ = (
        sa.CheckConstraint(channels.check_constraint(), name="channel"),
        sa.CheckConstraint("path in ('signup', 'staff', 'import', 'api')", name="path"),
        sa.CheckConstraint("purpose in ('service', 'marketing')", name="purpose"),
    )


class Order(db.Model):
    """An order makes its customer a buyer (unless cancelled). Shops report theirs with their own
    external id, unique per studio, so a retried call creates nothing twice."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("job.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(100))
    total_cents: Mapped[int] = mapped_column(default=0)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("studio_id", "external_id", name="uq_order_studio_id_external_id"),
        sa.Index("ix_order_placed_at", "placed_at"),
        sa.Index("ix_order_created_at", "created_at"),
        sa.CheckConstraint("total_cents >= 0", name="total_not_negative"),
    )

    @property
    def state(self) -> str:
        return "cancelled" if self.cancelled_at else "paid" if self.paid_at else "unpaid"


class Voucher(db.Model):
    """One of up to three voucher codes of a job. Its id is a trigger occurrence ("N days before a
    voucher expires"), so vouchers are updated in place, like notifications."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("job.id"), index=True)
    slot: Mapped[int] = mapped_column(default=0)  # 0, 1 or 2: its place on the job page
    code: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[str] = mapped_column(sa.String(40))  # as the studio writes it: "15 %", "10 €"
    expires_at: Mapped[date] = mapped_column(sa.Date)

    __table_args__ = (sa.UniqueConstraint("job_id", "slot", name="uq_voucher_job_id_slot"),)


class Suppression(db.Model):
    """Do not contact this address on this channel, on any job of the studio."""

    REASONS = ("unsubscribed", "erased", "bounced", "stop")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    address: Mapped[str] = mapped_column(sa.String(254))  # normalised email, or E.164 number
    reason: Mapped[str] = mapped_column(sa.String(20))
    # An unsubscribe from offers only: marketing stops, the messages the person signed up for go on.
    marketing_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("studio_id", "channel", "address", name="uq_suppression_studio_channel_address"),
        sa.CheckConstraint(channels.check_constraint(), name="channel"),
    )


class ApiToken(db.Model):
    """A studio's key for the JSON API. Only its SHA-256 is stored; the owner sees it once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))  # shown in the list to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Import(db.Model):
    """A CSV import: previewed first, then run (in the background when large) with progress."""

    STATUSES = ("previewed", "queued", "running", "done", "failed")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("job.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    rows: Mapped[str] = mapped_column(sa.Text)  # JSON: the valid new rows to create
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(10), default="previewed")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


MONEY = Money()  # amounts in the invoice's currency: Decimal, never float


class Assignment(db.Model):
    """Someone on a job's team with a role: a staff member (a user who signs in) or a vendor (a
    contact: a second shooter, the venue, the lab). Each person once per job."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("job.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(80))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # "assigned to a job"

    job: Mapped[Job] = relationship()
    user: Mapped[User | None] = relationship()
    contact: Mapped[Contact | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (contact_id IS NULL)", name="one_person"),
        sa.UniqueConstraint("job_id", "user_id", name="uq_assignment_job_id_user_id"),
        sa.UniqueConstraint("job_id", "contact_id", name="uq_assignment_job_id_contact_id"),
    )

    @property
    def name(self) -> str:
        return (self.user.name or self.user.email) if self.user is not None else self.contact.name

    @property
    def email(self) -> str:
        return self.user.email if self.user is not None else self.contact.email


class Invoice(db.Model):
    """A bill to a client (a contact), for a job or not. A draft has no number and can change or
    go; issuing gives it the studio's next number (``InvoiceCounter``: gap-free), and from then on
    it only takes payments or is voided. ``total`` and ``paid`` follow its lines and payments, so
    lists and the scheduler read what is open without adding up lines."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job.id"), index=True)
    number: Mapped[int | None] = mapped_column()
    external_id: Mapped[str | None] = mapped_column(sa.String(100))  # the issuing system's id (the API)
    currency: Mapped[str] = mapped_column(sa.String(3))
    issued_on: Mapped[date | None] = mapped_column(sa.Date)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it was issued here: "invoice issued"
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the payments reached the total
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship()
    job: Mapped[Job | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", cascade="all, delete-orphan",
                                                    order_by="InvoiceLine.position")
    payments: Mapped[list[Payment]] = relationship(back_populates="invoice", cascade="all, delete-orphan",
                                                   order_by="(Payment.paid_on, Payment.id)")

    __table_args__ = (
        sa.UniqueConstraint("studio_id", "number", name="uq_invoice_studio_id_number"),
        sa.UniqueConstraint("studio_id", "external_id", name="uq_invoice_studio_id_external_id"),
        sa.CheckConstraint("paid >= 0 AND paid <= total", name="paid_within_total"),
    )

    @property
    def open(self) -> Decimal:
        return self.total - self.paid

    @property
    def status(self) -> str:
        """draft, issued, partly_paid, paid or void."""
        if self.voided_at is not None:
            return "void"
        if self.number is None:
            return "draft"
        if self.paid_at is not None:
            return "paid"
        return "partly_paid" if self.paid > 0 else "issued"


class InvoiceLine(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(sa.String(300))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(10, 3))
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))  # percent

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoice.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(sa.Date)
    method: Mapped[str] = mapped_column(sa.String(20))
    external_id: Mapped[str | None] = mapped_column(sa.String(100))  # the reporting system's id (the API)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")

    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),
                      sa.UniqueConstraint("studio_id", "external_id", name="uq_payment_studio_id_external_id"))


class InvoiceCounter(db.Model):
    """The last invoice number a studio gave out: issuing raises it in the same transaction as it
    numbers the invoice, so numbers have no gaps and two at once never get the same one."""

    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Alert(db.Model):
    """Something the owner should know (``alerts.KINDS``): in the app's list until read, and in an
    email to the owner at the next minute's pass, each as the studio switched it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.String(500))
    link: Mapped[str] = mapped_column(sa.String(300), default="")  # a path in the app
    about: Mapped[str] = mapped_column(sa.String(40), default="")  # "customer:12", "contact:5": erasure deletes it
    count: Mapped[int] = mapped_column(default=1)  # the same kind again while unread (failures): one row
    in_app: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_due: Mapped[bool] = mapped_column(default=False)  # to go in the owner's next alert email

    __table_args__ = (
        sa.Index("ix_alert_studio_id_created_at", "studio_id", "created_at"),
        sa.Index("ix_alert_studio_id_read_at", "studio_id", "read_at"),  # the navigation's unread count
        sa.Index("ix_alert_mail_due", "mail_due"),
        sa.Index("ix_alert_about", "about"),
    )


class AuditEntry(db.Model):
    """A settings change: who (kept as their address too: a user removed later is still named),
    what (``audit.WHAT``), about which (a profile's name, a server), when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    user_id: Mapped[int | None] = mapped_column()  # no foreign key: users are removed, their entries stay
    user_email: Mapped[str] = mapped_column(sa.String(254), default="")
    what: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(500), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_audit_entry_studio_id_at", "studio_id", "at"),)


class MailTemplate(db.Model):
    """A text for email staff write by hand (Settings → Templates): filled in for the contact when
    chosen on the write page, then edited freely before it goes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("studio_id", "name", name="uq_mail_template_studio_id_name"),)


class MailFolder(db.Model):
    """A folder of a studio's inbox that the sync reads, and how far it got: the UIDs up to
    ``last_uid`` under ``uidvalidity`` are stored (the server renumbering resets it), and their
    flags as of ``highest_modseq``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    uidvalidity: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # CONDSTORE (RFC 7162): flags changed since this MODSEQ are read again; None: read them all.
    highest_modseq: Mapped[int | None] = mapped_column(sa.BigInteger)
    on_server: Mapped[int] = mapped_column(default=0)  # messages in it at the last look: a first sync's progress
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("studio_id", "name", name="uq_mail_folder_studio_id_name"),)


class MailItem(db.Model):
    """One email of the studio's mailbox, as the lists need it (the envelope, a snippet); the
    same Message-ID in two folders (INBOX and Sent) is one item with two copies. Its parties'
    addresses tie it to contacts when it is read, so a contact made later has its earlier mail."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    message_id: Mapped[str] = mapped_column(sa.String(255), default="")  # "" when the mail has none
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    from_address: Mapped[str] = mapped_column(sa.String(254), default="")
    from_name: Mapped[str] = mapped_column(sa.String(200), default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    snippet: Mapped[str] = mapped_column(sa.String(300), default="")
    seen: Mapped[bool] = mapped_column(default=False)
    thread_key: Mapped[str] = mapped_column(sa.String(255), default="")
    # Fetched when first opened (``mail_bodies``), then kept; None: not fetched yet.
    body_text: Mapped[str | None] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)  # as the sender wrote it: cleaned when shown
    attachments: Mapped[str] = mapped_column(sa.Text, default="")  # JSON: name, size, type, section
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parties: Mapped[list[MailParty]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        sa.Index("uq_mail_item_studio_id_message_id", "studio_id", "message_id", unique=True,
                 sqlite_where=sa.text("message_id != ''"), postgresql_where=sa.text("message_id != ''")),
        sa.Index("ix_mail_item_studio_id_sent_at", "studio_id", "sent_at"),
        sa.Index("ix_mail_item_studio_id_thread_key", "studio_id", "thread_key"),  # a mail's conversation
    )


class MailCopy(db.Model):
    """Where an item lies on the server: a folder and its UID there."""

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_item.id"), index=True)
    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_folder.id"))
    uid: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.UniqueConstraint("folder_id", "uid", name="uq_mail_copy_folder_id_uid"),)


class MailParty(db.Model):
    """An address on an item (from, to, cc), normalised: contacts are found by an indexed lookup."""

    ROLES = ("from", "to", "cc")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("mail_item.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(4))
    address: Mapped[str] = mapped_column(sa.String(254))

    __table_args__ = (sa.Index("ix_mail_party_studio_id_address", "studio_id", "address"),)


class MailAccount(db.Model):
    """A studio's own mail account: SMTP to send as the studio, IMAP to sync its inbox. The
    credentials are sealed (``crypto``): a dict that holds a password now and OAuth2 tokens later."""

    SECURITY = ("ssl", "starttls", "none")
    SENT_COPY = ("auto", "always", "never")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), unique=True)
    smtp_host: Mapped[str] = mapped_column(sa.String(253), default="")
    smtp_port: Mapped[int] = mapped_column(default=587)
    smtp_security: Mapped[str] = mapped_column(sa.String(10), default="starttls")
    smtp_username: Mapped[str] = mapped_column(sa.String(254), default="")
    smtp_credentials: Mapped[str | None] = mapped_column(sa.Text)  # sealed
    from_address: Mapped[str] = mapped_column(sa.String(254), default="")
    sender_name: Mapped[str] = mapped_column(sa.String(120), default="")
    reply_to: Mapped[str] = mapped_column(sa.String(254), default="")
    # The provider's sending limits (messages per minute, per rolling 24 hours); None: no limit.
    limit_per_minute: Mapped[int | None]
    limit_per_day: Mapped[int | None]
    smtp_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last successful test
    # Set when real sends fail on the account (password, quota, TLS): sending pauses and the
    # owner sees the banner until a test or a send succeeds.
    smtp_failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    smtp_failure_cause: Mapped[str] = mapped_column(sa.String(40), default="")
    smtp_failure_detail: Mapped[str] = mapped_column(sa.String(500), default="")
    imap_host: Mapped[str] = mapped_column(sa.String(253), default="")
    imap_port: Mapped[int] = mapped_column(default=993)
    imap_security: Mapped[str] = mapped_column(sa.String(10), default="ssl")
    imap_username: Mapped[str] = mapped_column(sa.String(254), default="")
    imap_credentials: Mapped[str | None] = mapped_column(sa.Text)  # sealed; None: the sending password
    imap_folders: Mapped[str] = mapped_column(sa.String(1000), default="INBOX")  # comma-separated
    # A copy of what the app sends into the Sent folder: "auto" (where the provider keeps none),
    # "always" or "never" (``mailsettings.files_sent_copies``).
    sent_copy: Mapped[str] = mapped_column(sa.String(10), default="auto")
    # The automatic answer to a first mail from someone new: the template (None: off), how often
    # one address may get it, and since when it is on (older mail a sync finds gets none).
    autoreply_template_id: Mapped[int | None]
    autoreply_days: Mapped[int] = mapped_column(default=14)
    autoreply_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imap_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the inbox sync fails on the account; the owner sees the "Inbox sync" banner.
    imap_failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imap_failure_cause: Mapped[str] = mapped_column(sa.String(40), default="")
    imap_failure_detail: Mapped[str] = mapped_column(sa.String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("smtp_security in ('ssl', 'starttls', 'none')", name="smtp_security"),
        sa.CheckConstraint("limit_per_minute is null or limit_per_minute > 0", name="limit_per_minute"),
        sa.CheckConstraint("limit_per_day is null or limit_per_day > 0", name="limit_per_day"),
        sa.CheckConstraint("imap_security in ('ssl', 'starttls', 'none')", name="imap_security"),
    )

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host and self.from_address)

    @property
    def imap_configured(self) -> bool:
        return bool(self.imap_host)


class SmsAccount(db.Model):
    """A studio's account at the SMS provider (Twilio-compatible; the provider's address is instance
    configuration). Texts wait through the quiet hours in the studio's time zone."""

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"), unique=True)
    account_sid: Mapped[str] = mapped_column(sa.String(64), default="")
    credentials: Mapped[str | None] = mapped_column(sa.Text)  # sealed: {"token": ...}
    from_number: Mapped[str] = mapped_column(sa.String(32), default="")  # E.164 or a sender id
    quiet_start: Mapped[time] = mapped_column(sa.Time, default=time(21))
    quiet_end: Mapped[time] = mapped_column(sa.Time, default=time(8))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_cause: Mapped[str] = mapped_column(sa.String(40), default="")
    failure_detail: Mapped[str] = mapped_column(sa.String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.credentials and self.from_number)


class MailProblem(db.Model):
    """What went wrong with a studio's mail account, and when: failed tests, and real sends or
    syncs that paused. The diagnostics list on Settings → Email shows the latest."""

    SERVICES = ("smtp", "imap", "sms")

    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column(sa.ForeignKey("studio.id"))
    service: Mapped[str] = mapped_column(sa.String(10))
    source: Mapped[str] = mapped_column(sa.String(10))  # "test", "send" or "sync"
    cause: Mapped[str] = mapped_column(sa.String(40))
    named_cause: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")  # as Message's
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_mail_problem_studio_at", "studio_id", "at"),
        sa.CheckConstraint("service in ('smtp', 'imap', 'sms')", name="service"),
    )


class Message(db.Model):
    """The outbox, the source of truth for delivery. A row exists once a message is due (what lies
    ahead is computed by ``scheduling``), is rendered once when made, and ``key`` (notification,
    recipient, job, occurrence) makes making it idempotent: a second scheduler pass inserts nothing."""

    # scheduled: due, waiting for its slot (sending limits, quiet hours, a paused account, a retry's
    # backoff); queued: handed to a worker; sending: claimed by one.
    STATUSES = ("scheduled", "awaiting_approval", "queued", "sending", "sent", "failed", "bounced",
                "skipped", "cancelled")
    IN_FLIGHT = ("scheduled", "queued", "sending")
    NOT_DONE = (*IN_FLIGHT, "awaiting_approval")  # still to be sent

    # No foreign-key constraints: a scheduler pass inserts up to 100,000 rows, and checking four
    # keys per row took longer than the insert (PostgreSQL, bench/scheduler.py). Studios, jobs and
    # notifications are never deleted; a customer only while no message names them
    # (customers.remove); a message whose customer is gone anyway is skipped, never sent.
    id: Mapped[int] = mapped_column(primary_key=True)
    studio_id: Mapped[int] = mapped_column()
    job_id: Mapped[int | None] = mapped_column()
    customer_id: Mapped[int | None] = mapped_column(index=True)
    contact_id: Mapped[int | None] = mapped_column(index=True)  # an invoice's client (the customer is None)
    notification_id: Mapped[int | None]
    # "<notification>:<customer>:<job>:<occurrence>" and the others of message_keys, which alone makes and reads them.
    # Compared byte by byte on PostgreSQL: the scheduler's first pass took 6 % less than with C.UTF-8.
    key: Mapped[str] = mapped_column(sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql"),
                                     unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")  # plain text; the HTML part is made from it
    message_id: Mapped[str] = mapped_column(sa.String(255), default="")  # the same on every retry
    # A reply's References (RFC 5322), the mail it answers last: its In-Reply-To. "" for the rest.
    references: Mapped[str] = mapped_column(sa.String(1000), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), default="scheduled")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # backoff after a failure
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # while sending
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last handed to RQ
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    cause: Mapped[str] = mapped_column(sa.String(40), default="")  # diagnostics cause, for the hint
    # A deferral's reason in the server's words (diagnostics.Diagnosis.named): the hint's subject.
    named_cause: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    # Service or marketing (its notification's, or what staff chose for a one-off): which consent
    # and which unsubscribe it takes.
    category: Mapped[str] = mapped_column(sa.String(10), default="service", server_default="service")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_confirmation(self) -> bool:
        return message_keys.is_confirmation(self.key)

    @classmethod
    def sent_since(cls, moment: datetime) -> sa.ColumnElement[bool]:
        """Sent at or after ``moment``, whatever the status now (a bounced message sent again keeps
        its first send's time until then). Naming every status lets the status index read it."""
        return sa.and_(cls.status.in_(cls.STATUSES), cls.sent_at >= moment)

    job: Mapped[Job | None] = relationship(primaryjoin="foreign(Message.job_id) == Job.id")
    customer: Mapped[Customer | None] = relationship(primaryjoin="foreign(Message.customer_id) == Customer.id")
    contact: Mapped[Contact | None] = relationship(primaryjoin="foreign(Message.contact_id) == Contact.id")
    notification: Mapped[Notification | None] = relationship(
        primaryjoin="foreign(Message.notification_id) == Notification.id")

    __table_args__ = (
        sa.CheckConstraint("status in ('scheduled', 'awaiting_approval', 'queued', 'sending', 'sent', 'failed', "
                           "'bounced', 'skipped', 'cancelled')", name="status"),
        sa.CheckConstraint(channels.check_constraint(), name="channel"),
        # A send changes status and sent_at. On SQLite it moves the message's entry in each index
        # holding either: one index holds both (for the dispatcher, the sweeper, the studio's pages
        # and its sending limits), so a send moves one entry, 25 µs less than two. The outbox page
        # reads the studio's messages, or a job's, or those of one status, newest moment first
        # (the last costs a send no time bench/delivery.py could tell from its noise).
        sa.Index("ix_message_status_studio_sent_at", "status", "studio_id", "sent_at"),
        sa.Index("ix_message_studio_due_at", "studio_id", "due_at"),
        sa.Index("ix_message_studio_status_due_at", "studio_id", "status", "due_at"),
        sa.Index("ix_message_job_due_at", "job_id", "due_at"),
        # What a profile's steps sent, and which of a job page's customers' coming messages are made
        # (of a job's steps, for fifty customers: led by the job, SQLite would pick it for the page's
        # other counts of the job's messages and read them all).
        sa.Index("ix_message_notification_job_customer", "notification_id", "job_id", "customer_id"),
        # What a job's steps sent, counted by step and status from the index (the job page: 1.4 ->
        # 0.3 ms). A send moves an entry here too; a status update and commit took 250–440 µs with
        # or without it here, too noisy to tell (/tmp script, 2,000 updates x 3).
        sa.Index("ix_message_job_notification_status", "job_id", "notification_id", "status"),
        # A delivery report and a reply name the message they answer by its Message-ID.
        sa.Index("ix_message_message_id", "message_id"),
    )


class SchedulerPass(db.Model):
    """A completed scheduler pass: the next one looks at what fell due since the last one's start."""

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    made: Mapped[int] = mapped_column(default=0)


# Ids are never handed out twice: they reach URLs, cookies and tokens. SQLite's plain INTEGER
# PRIMARY KEY gives the id of the last row deleted to the next row; AUTOINCREMENT never reuses one
# (PostgreSQL's sequences never do).
for _table in db.metadata.tables.values():
    _table.dialect_kwargs["sqlite_autoincrement"] = True
