"""Settings → Suppression list: the owner sees who gets no more messages and why, searches it,
and lifts a bounce; an unsubscribe, a STOP and an erasure stay."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shutterbell import suppression
from shutterbell.extensions import db
from shutterbell.models import Suppression

from .conftest import text_of

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def fill(studio_id):
    for minutes, (channel, address, reason) in enumerate([
            ("email", "jürgen.weiß@example.de", "unsubscribed"), ("email", "zoe@exmaple.com", "bounced"),
            ("sms", "+4915123456789", "stop"), ("email", "łucja@example.pl", "erased")]):
        suppression.suppress(studio_id, channel, address, reason, NOW + timedelta(minutes=minutes))
    db.session.commit()


def test_the_owner_sees_every_entry_with_its_reason_and_searches_it(as_olivia, olivia):
    fill(olivia.studio_id)
    page = text_of(as_olivia.get("/settings/suppression-list/"))
    assert "4 entries" in page
    for said in ("Unsubscribed", "Bounced", "Replied STOP", "Erased on request", "+4915123456789", "łucja@"):
        assert said in page
    found = text_of(as_olivia.get("/settings/suppression-list/?q=JÜRGEN", headers={"HX-Request": "true"}))
    assert "1 entry" in found and "jürgen.<wbr>weiß@" in found and "<html" not in found


def test_only_a_bounce_can_be_lifted(as_olivia, olivia):
    fill(olivia.studio_id)
    entries = {e.reason: e.id for e in db.session.scalars(sa.select(Suppression))}
    page = text_of(as_olivia.get("/settings/suppression-list/"))
    assert page.count(">Lift<") == 1
    for reason in ("unsubscribed", "stop", "erased"):
        assert as_olivia.post(f"/settings/suppression-list/{entries[reason]}/lift").status_code == 404
    assert as_olivia.post(f"/settings/suppression-list/{entries['bounced']}/lift").status_code == 302
    db.session.expire_all()
    assert sorted(e.reason for e in db.session.scalars(sa.select(Suppression))) == ["erased", "stop", "unsubscribed"]
    assert "zoe@exmaple.com gets messages again." in text_of(as_olivia.get("/settings/suppression-list/"))


def test_staff_cannot_see_the_list(as_sam):
    assert as_sam.get("/settings/suppression-list/").status_code == 403


def test_a_long_list_pages_and_the_pages_keep_the_search(as_olivia, olivia):
    for i in range(55):
        suppression.suppress(olivia.studio_id, "email", f"kind{i}-müller@example.de", "bounced", NOW)
    db.session.commit()
    page = text_of(as_olivia.get("/settings/suppression-list/?q=müller"))
    assert "55 entries" in page and "Page 1 of 2" in page
    assert 'hx-get="/settings/suppression-list/?page=2&amp;q=m%C3%BCller"' in page
    second = text_of(as_olivia.get("/settings/suppression-list/?q=müller&page=2", headers={"HX-Request": "true"}))
    assert "Page 2 of 2" in second and second.count(">Lift<") == 5
