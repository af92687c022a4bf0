"""Settings → Studio: the owner sets time zone, locale and the send times notifications use."""
from datetime import time

from shutterbell.extensions import db

from .conftest import text_of


def settings(**overrides):
    return {"name": "Studio Lichtblick", "time_zone": "Europe/Vienna", "locale": "de_AT", "country": "AT", "currency": "EUR",
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


def test_phone_numbers_follow_the_studio_s_country_not_its_locale(as_olivia, olivia, app):
    """A German studio that writes English: "0170 7654321" is a German mobile number, not an
    American one; moving the studio to Austria reads "0664 1234567" as Austrian."""
    from shutterbell import jobs

    assert as_olivia.post("/settings/studio/", settings(time_zone="Europe/Berlin", locale="en_US",
                                                        country="DE")).status_code == 302
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Löwenzahn", profile_id=None), None)
    added = as_olivia.post(f"/jobs/{job.id}/customers/", {"first_name": "Jürgen", "last_name": "Weiß",
                                                          "email": "juergen@example.com", "phone": "0170 7654321",
                                                          "sms_consent": "y"})
    assert added.status_code == 302, text_of(added)
    assert "+491707654321" in text_of(as_olivia.get(f"/jobs/{job.id}"))
    page = text_of(as_olivia.get("/settings/studio/"))
    assert '<option selected value="DE">Germany</option>' in page
    assert as_olivia.post("/settings/studio/", settings(country="AT")).status_code == 302
    added = as_olivia.post(f"/jobs/{job.id}/customers/", {"first_name": "Zoë", "last_name": "Maier",
                                                          "email": "zoe@example.com", "phone": "0664 1234567",
                                                          "sms_consent": "y"})
    assert added.status_code == 302 and "+436641234567" in text_of(as_olivia.get(f"/jobs/{job.id}"))
    refused = as_olivia.post("/settings/studio/", settings(country="ZZ"))
    assert refused.status_code == 422 and "Not a valid choice" in text_of(refused)
