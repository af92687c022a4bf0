"""Photo jobs: staff and owner create, find, edit and archive them; profiles in use stay."""
import re
from datetime import date, datetime, timezone

import pytest

from shutterbell import jobs, profiles
from shutterbell.extensions import db
from shutterbell.models import Job

from .conftest import text_of


def job_form(**overrides):
    return {"name": "Kindergarten Sonnenschein 2026", "profile_id": "", "status": "active",
            "shoot_date": "2026-03-02", "published_at": "2026-03-16T18:30", "order_deadline": "2026-04-10",
            "archives_at": "2026-05-01", "gallery_url": "https://photos.example.com/g/SONNE26", **overrides}


def studio_jobs(user):
    db.session.expire_all()
    return jobs.find_jobs(user.studio, status="all").rows


def test_staff_create_a_job_with_the_studios_default_profile_preselected(as_sam, olivia):
    default = olivia.studio.default_profile_id
    assert default == profiles.list_profiles(olivia.studio)[1].id  # "Recommended: standard"
    page = text_of(as_sam.get("/jobs/new"))
    assert f'<option selected value="{default}">Recommended: standard</option>' in page
    response = as_sam.post("/jobs/new", job_form(profile_id=str(default)))
    assert response.status_code == 302
    job, = studio_jobs(olivia)
    assert (job.name, job.profile_id, job.shoot_date, job.archives_at) == \
        ("Kindergarten Sonnenschein 2026", default, date(2026, 3, 2), date(2026, 5, 1))
    # 18:30 in Berlin (winter time, UTC+1) is 17:30 UTC.
    assert job.published_at == datetime(2026, 3, 16, 17, 30, tzinfo=timezone.utc)
    assert len(job.access_code) == 8 and job.access_code.isalnum()
    # Shown back in the studio's time: on the job page, and in its form (opened on demand).
    summary = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert "Recommended: standard" in summary and 'name="shoot_date"' not in summary
    assert "3/16/26, 6:30\u202fPM" in summary, summary[summary.find("Gallery published"):][:200]
    details = text_of(as_sam.get(f"/jobs/{job.id}/details", headers={"HX-Request": "true"}))
    assert 'value="2026-03-16T18:30"' in details and "<html" not in details


def test_the_job_page_sums_up_its_details_and_opens_their_form_on_demand(as_sam, olivia):
    as_sam.post("/jobs/new", job_form(name="Abschlussball Gymnasium Süd", gallery_url="https://galerie.example/süd",
                                      **{"voucher_slots-0-code": "SÜD10", "voucher_slots-0-value": "10 €",
                                         "voucher_slots-0-expires_at": "2026-04-30"}))
    job, = studio_jobs(olivia)
    page = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert 'name="gallery_url"' not in page and 'href="https://galerie.example/süd"' in page
    assert "SÜD10" in page and "10 €" in page and "Apr 30, 2026" in page and job.access_code in page
    assert f'hx-get="/jobs/{job.id}/details"' in page and f'href="/jobs/{job.id}/details"' in page

    # Without script, the link opens the whole page with the form; Cancel goes back to the summary.
    opened = text_of(as_sam.get(f"/jobs/{job.id}/details"))
    assert 'value="Abschlussball Gymnasium Süd"' in opened and 'id="customers"' in opened
    assert f'<a class="button quiet" href="/jobs/{job.id}">Cancel</a>' in opened

    # A save with a mistake comes back with the form open, the rest of the page around it, nothing lost.
    response = as_sam.post(f"/jobs/{job.id}", job_form(name="Abschlussball Süd 2026", gallery_url="galerie.example"))
    again = text_of(response)
    assert response.status_code == 422 and "Enter the full address, starting with https://" in again
    assert 'value="Abschlussball Süd 2026"' in again and 'id="customers"' in again
    db.session.expire_all()
    assert job.name == "Abschlussball Gymnasium Süd"


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "Give the job a name."),
    ({"name": "x" * 300}, "At most 200 characters."),
    ({"archives_at": "2026-03-10"}, "The photos must be archived after they are published."),
    ({"published_at": "", "archives_at": "2026-03-01"}, "The photos must be archived after the shoot."),
    # "The photos are ready for you:" and then no link went to every customer.
    ({"gallery_url": ""}, "address before the photos are published: the emails that announce them link to it."),
    ({"order_deadline": "2026-06-01"}, "The order deadline must not be after the archive date."),
    ({"order_deadline": "2026-03-01"}, "The order deadline must not be before the photos are published."),
    ({"gallery_url": "javascript:alert(1)"}, "Enter the full address, starting with https://"),
    ({"shoot_date": "2026-02-30"}, "Not a valid date value."),
    ({"status": "deleted"}, "Not a valid choice."),
    ({"profile_id": "999999"}, "Not a valid choice."),
])
def test_bad_job_input_is_a_field_error(as_sam, olivia, fields, message):
    response = as_sam.post("/jobs/new", job_form(**fields))
    assert response.status_code == 422 and message in text_of(response)
    assert studio_jobs(olivia) == []


def test_another_studios_profile_cannot_be_chosen(as_otto, otto, olivia):
    foreign = profiles.list_profiles(olivia.studio)[0].id
    response = as_otto.post("/jobs/new", job_form(profile_id=str(foreign)))
    assert response.status_code == 422
    assert studio_jobs(otto) == []


def test_search_filter_and_pages(as_sam, olivia):
    for number in range(30):
        jobs.save_job(olivia.studio, None, jobs.JobInput(name=f"School {number:02d}", profile_id=None,
                                                          shoot_date=date(2026, 1, 1 + number % 28)), None)
    jobs.save_job(olivia.studio, None, jobs.JobInput(name="Wedding Meier", profile_id=None, status="archived"), None)
    page = text_of(as_sam.get("/jobs/"))
    assert "30 jobs" in page and "Page 1 of 2" in page and "Wedding Meier" not in page
    second = as_sam.get("/jobs/?page=2", headers={"HX-Request": "true"})
    assert "<html" not in text_of(second) and "Page 2 of 2" in text_of(second)
    found = text_of(as_sam.get("/jobs/?q=meier&status=all", headers={"HX-Request": "true"}))
    assert "1 job" in found and "Wedding Meier" in found
    assert "Wedding Meier" in text_of(as_sam.get("/jobs/?status=archived"))


def test_archiving_a_job(as_sam, olivia):
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Old", profile_id=None), None)
    assert as_sam.post(f"/jobs/{job.id}/archive").status_code == 302
    db.session.expire_all()
    assert job.status == "archived"


def test_a_profile_used_by_a_job_cannot_be_deleted_and_says_which_jobs_use_it(as_olivia, olivia):
    profile = profiles.list_profiles(olivia.studio)[1]
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=profile.id), None)
    assert "Kita Regenbogen" in text_of(as_olivia.get(f"/settings/profiles/{profile.id}"))
    confirm = text_of(as_olivia.get(f"/settings/profiles/{profile.id}/delete"))
    assert "cannot be deleted: 1 job uses it" in confirm and "Delete profile</button>" not in confirm
    response = as_olivia.post(f"/settings/profiles/{profile.id}/delete")
    assert response.status_code == 409
    db.session.expire_all()
    assert profile.deleted_at is None
    jobs.archive_job(db.session.get(Job, job.id))
    assert as_olivia.post(f"/settings/profiles/{profile.id}/delete").status_code == 302
    db.session.expire_all()
    assert olivia.studio.default_profile_id is None  # it was the default


def test_a_profile_that_drives_many_jobs_names_a_few_and_links_the_list_of_all(as_olivia, olivia, otto, monkeypatch):
    profile, other = profiles.list_profiles(olivia.studio)[:2]
    for n in range(12):
        jobs.save_job(olivia.studio, None, jobs.JobInput(name=f"Grundschule Süd {n:02d} – Łódź", profile_id=profile.id), None)
    jobs.save_job(olivia.studio, None, jobs.JobInput(name="Hochzeit Müller", profile_id=other.id), None)
    editor = text_of(as_olivia.get(f"/settings/profiles/{profile.id}"))
    assert "Grundschule Süd 09 – Łódź</a>" in editor and "Grundschule Süd 10" not in editor
    assert f'<a href="/jobs/?profile={profile.id}">and 2 more</a>' in editor
    assert "12 jobs use it" in text_of(as_olivia.get(f"/settings/profiles/{profile.id}/delete"))
    listed = text_of(as_olivia.get(f"/jobs/?profile={profile.id}"))
    assert "12 jobs" in listed and "Hochzeit Müller" not in listed
    assert f'<option value="{profile.id}" selected>' in listed
    assert 'change from:#status, change from:#profile' in listed  # the select filters as it changes
    searched = text_of(as_olivia.get(f"/jobs/?profile={other.id}&q=m%C3%BCller", headers={"HX-Request": "true"}))
    assert "1 job" in searched and "Hochzeit Müller" in searched and "<html" not in searched
    assert "No jobs match." in text_of(as_olivia.get(f"/jobs/?profile={other.id}&q=s%C3%BCd"))
    monkeypatch.setattr(jobs, "PAGE_SIZE", 5)  # the pager keeps the filter
    second = text_of(as_olivia.get(f"/jobs/?profile={profile.id}&page=2", headers={"HX-Request": "true"}))
    next_page = re.search(r'href="([^"]*page=3[^"]*)"', second).group(1)
    assert "Page 2 of 3" in second and f"profile={profile.id}" in next_page
    assert "Hochzeit Müller" not in second
    # Another studio's profile: nothing of it shows, and the list is not filtered by it
    foreign = profiles.list_profiles(otto.studio)[0]
    page = text_of(as_olivia.get(f"/jobs/?profile={foreign.id}"))
    assert "13 jobs" in page and f'value="{foreign.id}"' not in page and '<option value="">Any profile</option>' in page
    part = text_of(as_olivia.get(f"/jobs/?profile={foreign.id}", headers={"HX-Request": "true"}))
    assert "0 jobs" in part


def test_the_owner_sets_the_default_profile(as_olivia, olivia):
    sales = profiles.list_profiles(olivia.studio)[0]
    data = {"name": "Studio Lichtblick", "time_zone": "Europe/Berlin", "locale": "de_DE", "country": "DE", "currency": "EUR",
            "default_send_time": "09:00", "morning_time": "08:00", "evening_time": "18:00",
            "default_profile_id": str(sales.id)}
    assert as_olivia.post("/settings/studio/", data).status_code == 302
    db.session.expire_all()
    assert olivia.studio.default_profile_id == sales.id


def test_an_archived_job_keeps_its_deleted_profile_when_saved_again(as_sam, olivia):
    profile = profiles.list_profiles(olivia.studio)[0]
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Old", profile_id=profile.id, status="archived"), None)
    profiles.delete_profile(profile)
    page = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert "(deleted)" in page
    response = as_sam.post(f"/jobs/{job.id}", job_form(name="Old, renamed", profile_id=str(profile.id), status="archived"))
    assert response.status_code == 302


def test_a_list_answers_htmx_with_its_results_and_a_history_restore_with_the_whole_page(as_olivia, olivia):
    """htmx's Back, when its cache missed, asks the address again as a history restore: it must
    get the whole page (the table alone would replace the page). Caches keep the two apart."""
    jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Schäfchenwolke", profile_id=None), None)
    for path in ("/jobs/?q=Sch%C3%A4fchen", "/outbox/?status=failed", "/settings/suppression-list/?q=x"):
        part = as_olivia.get(path, headers={"HX-Request": "true"})
        restore = as_olivia.get(path, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
        assert "<html" not in text_of(part) and "<html" in text_of(restore), path
        assert "HX-Request" in part.headers["Vary"] and "HX-Request" in restore.headers["Vary"]
