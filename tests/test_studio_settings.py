"""Settings → Studio: the owner sets time zone, locale and the send times notifications use."""
from datetime import time

from shutterbell.extensions import db

from .conftest import text_of


def settings(**overrides):
    return {"name": "Studio Lichtblick", "time_zone": "Europe/Vienna", "locale": "de_AT", "currency": "EUR",
            "default_send_time": "10:30", "morning_time": "07:45", "evening_time": "19:00", **overrides}


def test_the_owner_changes_time_zone_and_send_times(as_olivia, olivia):
    assert as_olivia.post("/settings/studio/", settings()).status_code == 302
    db.session.expire_all()
    studio = olivia.studio
    assert (studio.time_zone, studio.locale, studio.default_send_time, studio.morning_time) == \
        ("Europe/Vienna", "de_AT", time(10, 30), time(7, 45))
    editor = text_of(as_olivia.get("/settings/profiles/new?x=1"))
    assert "Studio default (10:30)" not in editor  # no rows yet on a new profile
    page = text_of(as_olivia.post("/settings/profiles/new", {"name": "x", "add_notification": "1"}))
    assert "Studio default (10:30)" in page and "Morning (07:45)" in page and "Evening (19:00)" in page


def test_bad_settings_come_back_with_422(as_olivia, olivia):
    response = as_olivia.post("/settings/studio/", settings(morning_time="20:00"))
    assert response.status_code == 422 and "Morning must come before evening." in text_of(response)
    response = as_olivia.post("/settings/studio/", settings(time_zone="Atlantis/Capital", default_send_time="25:99"))
    assert response.status_code == 422
    db.session.expire_all()
    assert olivia.studio.time_zone == "Europe/Berlin"


def test_staff_cannot_change_studio_settings(as_sam, olivia):
    assert as_sam.get("/settings/studio/").status_code == 403
    assert as_sam.post("/settings/studio/", settings(name="Sam's studio")).status_code == 403
