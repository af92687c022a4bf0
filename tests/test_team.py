"""A job's team: staff members and vendors with a role, their messages on the job's profile
(when they are assigned, N days before the shoot) made by the real scheduler pass and sent by
the real worker process into the test SMTP server on the day (time-machine); what the form
refuses; a staff member's coming jobs first on the dashboard. On SQLite and PostgreSQL."""
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
import time_machine

from shutterbell import contacts, jobs, materialise, outbox, scheduling, team
from shutterbell.extensions import db
from shutterbell.message_keys import MessageKey
from shutterbell.models import Message, utcnow
from shutterbell.profiles import NotificationInput

from .conftest import text_of
from .test_delivery_faults import Crew
from .test_invoice_messages import received, studio, to  # noqa: F401 (studio: a fixture, Olivia's with SMTP)
from .test_scheduling import make_profile, still_wanted, use

UTC = timezone.utc
ASSIGNED = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
SHOOT = date(2026, 12, 19)


PROFILE = [
    to("staff", "team_assigned", "Neuer Auftrag: {{ job.name }}",
       "Hallo {{ member.name }}, du bist bei {{ job.name }} als {{ member.role }} dabei. Shooting am {{ job.shoot_date }}."),
    to("vendors", "team_assigned", "Anfrage von {{ studio.name }}",
       "Guten Tag {{ member.name }}, wir planen {{ job.name }} am {{ job.shoot_date }} ({{ member.role }})."),
    to("staff", "days_before_shoot_team", "Übermorgen: {{ job.name }}", "Akkus laden! ({{ member.role }})", days=2),
    to("vendors", "days_before_shoot_team", "Erinnerung: {{ job.name }}", "Bis übermorgen, {{ member.name }} 🙂",
       days=2),
]


def wedding(studio, *notifications):
    job = jobs.save_job(studio, None, jobs.JobInput(name="Hochzeit Łukasz & Zoë", profile_id=None,
                                                    shoot_date=SHOOT), None)
    use(job, make_profile(studio, *notifications))
    return job


def venue(studio, emails=("events@cafe-wuerzburg.example",)):
    return contacts.save(studio, None, contacts.ContactInput("Café Würzburg", emails=list(emails), kind="vendor",
                                                             company="Würzburger Gastro GmbH"))


def test_staff_and_vendors_get_their_job_messages_through_the_real_worker(app, studio, sam, server, certificate):
    mailbox = server[0]
    job = wedding(studio, *PROFILE)
    with time_machine.travel(ASSIGNED, tick=True):
        team.assign(job, team.AssignInput(f"u{sam.id}", "Zweitfotografin"), utcnow())
        team.assign(job, team.AssignInput(f"c{venue(studio).id}", "Location"), utcnow())
        Crew(app, str(certificate[0])).finish(2, mailbox, timeout=60)
    by_address = {m["To"]: m for m in received(mailbox)}
    staff = by_address[sam.email]
    assert staff["Subject"] == "Neuer Auftrag: Hochzeit Łukasz & Zoë"
    assert "als Zweitfotografin dabei. Shooting am 19. Dezember 2026." in staff.get_body(("plain",)).get_content()
    cafe = by_address["events@cafe-wuerzburg.example"]
    assert "Guten Tag Café Würzburg, wir planen Hochzeit Łukasz & Zoë am 19. Dezember 2026 (Location)." in (
        cafe.get_body(("plain",)).get_content())
    assert "List-Unsubscribe" not in cafe  # service mail

    with time_machine.travel(datetime(2026, 12, 17, 8, 1, tzinfo=UTC), tick=True):  # 09:00 in Berlin, 2 days before
        Crew(app, str(certificate[0])).finish(4, mailbox, timeout=60)
    reminders = {m["To"]: m for m in received(mailbox)[2:]}
    assert reminders[sam.email]["Subject"] == "Übermorgen: Hochzeit Łukasz & Zoë"
    assert "Bis übermorgen, Café Würzburg 🙂" in reminders["events@cafe-wuerzburg.example"].get_body(
        ("plain",)).get_content()
    due = {m.due_at for m in db.session.scalars(sa.select(Message).where(Message.subject.like("%bermorgen%")))}
    assert due == {datetime(2026, 12, 17, 8, 0, tzinfo=UTC)}


def test_someone_taken_off_the_team_before_the_send_is_skipped_and_a_late_joiner_gets_no_past_reminder(
        app, studio, sam, olivia):
    job = wedding(studio, PROFILE[2])
    policy = Crew(app, "").policy
    with time_machine.travel(ASSIGNED, tick=False):
        team.assign(job, team.AssignInput(f"u{sam.id}", "Zweitfotografin"), utcnow())
        outbox.schedule(utcnow(), policy)
    with time_machine.travel(datetime(2026, 12, 17, 8, 1, tzinfo=UTC), tick=False):
        assert outbox.schedule(utcnow(), policy) == 1
        made, = db.session.scalars(sa.select(Message))
        assert still_wanted([made]) == [""]
        team.unassign(job, team.team_of(job)[0].id)
        assert still_wanted([made]) == ["They are no longer on the job's team."]
        team.assign(job, team.AssignInput(f"u{olivia.id}", "Fotografin"), utcnow())  # after the moment
        assert outbox.schedule(utcnow() + timedelta(minutes=1), policy) == 0


def test_the_team_form_refuses_twice_the_same_person_a_vendor_without_an_address_and_anyone_unknown(
        studio, sam, otto, as_olivia):
    job = wedding(studio, PROFILE[1])
    url = f"/jobs/{job.id}/team"
    assert as_olivia.post(url, {"person": f"u{sam.id}", "role": "Zweitfotografin"}).status_code == 302
    response = as_olivia.post(url, {"person": f"u{sam.id}", "role": "Assistenz"})
    assert response.status_code == 422 and "is on this job&#39;s team already" in text_of(response)
    nameless = venue(studio, emails=())
    response = as_olivia.post(url, {"person": f"c{nameless.id}", "role": "Location"})
    assert response.status_code == 422
    assert "Café Würzburg has no email address, and this job&#39;s profile emails its vendors" in text_of(response)
    for stranger in (f"u{otto.id}", "c999999", "x1", "u99999999999999999999"):
        response = as_olivia.post(url, {"person": stranger, "role": "Gast"})
        assert response.status_code == 422 and "Choose someone from the list." in text_of(response)
    assert as_olivia.post(url, {"person": f"c{venue(studio, ('cafe@example.de',)).id}", "role": ""}).status_code == 422
    assert [(a.name, a.role) for a in team.team_of(job)] == [(sam.name or sam.email, "Zweitfotografin")]


def test_a_staff_member_sees_their_coming_jobs_first(studio, sam, as_sam):
    soon = wedding(studio)
    done = jobs.save_job(studio, None, jobs.JobInput(name="Taufe Weiß", profile_id=None,
                                                     shoot_date=date(2025, 5, 1)), None)
    for job in (soon, done):
        team.assign(job, team.AssignInput(f"u{sam.id}", "Zweitfotografin"), utcnow())
    page = text_of(as_sam.get("/"))
    mine = page[page.index("My coming jobs"):]
    assert page.index("My coming jobs") < page.index("Messages")
    assert "Hochzeit Łukasz &amp; Zoë" in mine and "Saturday, December 19, 2026" in mine and "Taufe" not in mine


def test_the_pass_makes_exactly_the_team_messages_the_job_page_shows(app, studio, sam, olivia, as_olivia):
    job = wedding(studio, *PROFILE)
    other = wedding(studio, PROFILE[2])  # no team: nothing
    with time_machine.travel(ASSIGNED, tick=False):
        for person, role in ((f"u{sam.id}", "Zweitfotografin"), (f"u{olivia.id}", "Fotografin"),
                             (f"c{venue(studio).id}", "Location")):
            team.assign(job, team.AssignInput(person, role), utcnow())
    page = text_of(as_olivia.get(f"/jobs/{job.id}"))
    timeline = text_of(as_olivia.get(f"/jobs/{job.id}/timeline", headers={"HX-Request": "true"}))
    staff_row = timeline[timeline.index("2 days before the shoot → Staff on the job"):]
    assert "Dec 17, 2026, 9:00:00\u202fAM" in staff_row.split("</tr>")[0] and "<td>2</td>" in staff_row.split("</tr>")[0]
    assert "When someone is assigned to a job → Vendors on the job" in timeline
    assert "Café Würzburg" in page[page.index("id=\"team\""):] and "Location" in page

    expected = {(m.notification.id, m.recipient, m.due_at) for j in (job, other)
                for m in scheduling.team_moments(j, ASSIGNED + timedelta(minutes=1))}
    assert len(expected) == 3
    window = materialise.Pass(ASSIGNED + timedelta(minutes=1), datetime(2026, 12, 17, 8, 0, tzinfo=UTC),
                              ASSIGNED - timedelta(days=1), "late")
    assert materialise.make_due(window) == 3
    db.session.commit()
    rows = db.session.scalars(sa.select(Message)).all()
    got = {(m.notification_id, MessageKey.parse(m.key).recipient, m.due_at) for m in rows}
    assert got == expected and still_wanted(rows) == [""] * 3
    assert scheduling.team_moments(job, ASSIGNED) == []  # made now: no longer coming


def test_a_booking_confirms_to_the_client_alerts_the_studio_and_the_client_hears_before_the_shoot(
        app, studio, otto, as_olivia, server, certificate):
    from .test_jobs import job_form

    mailbox = server[0]
    profile = make_profile(studio, to("client", "booking_confirmed", "Buchungsbestätigung: {{ job.name }}",
                                      "Liebe {{ client.name }}, wir freuen uns auf den {{ job.shoot_date }}! 💍"),
                           to("studio", "booking_confirmed", "Neue Buchung: {{ client.name }}", "{{ job.name }}"),
                           to("client", "days_before_shoot_team", "Übermorgen ist es so weit",
                              "Bis bald, {{ member.name }} ({{ member.role }}).", days=2))
    couple = contacts.save(studio, None, contacts.ContactInput("Zoë & Łukasz Wąsowski", emails=["zoe@example.pl"]))
    strangers = contacts.save(otto.studio, None, contacts.ContactInput("Fremd", emails=["fremd@example.de"]))
    fields = job_form(profile_id=str(profile.id), shoot_date="2026-12-19", published_at="", order_deadline="",
                      archives_at="")
    response = as_olivia.post("/jobs/new", {**fields, "client_id": str(strangers.id)})
    assert response.status_code == 422 and "Choose one of your contacts." in text_of(response)
    assert as_olivia.post("/jobs/new", {**fields, "client_id": str(couple.id)}).status_code == 302
    Crew(app, str(certificate[0])).finish(2, mailbox, timeout=60)
    by_address = {m["To"]: m for m in received(mailbox)}
    assert "Liebe Zoë & Łukasz Wąsowski, wir freuen uns auf den 19. Dezember 2026! 💍" in (
        by_address["zoe@example.pl"].get_body(("plain",)).get_content())
    assert by_address["olivia@lichtblick.example"]["Subject"] == "Neue Buchung: Zoë & Łukasz Wąsowski"

    with time_machine.travel(datetime(2026, 12, 17, 8, 1, tzinfo=UTC), tick=True):
        Crew(app, str(certificate[0])).finish(3, mailbox, timeout=60)
    reminder = received(mailbox)[2]
    assert reminder["To"] == "zoe@example.pl"
    # The real worker speaks the German studio's language in the words it fills in (its catalogue)
    assert "Bis bald, Zoë & Łukasz Wąsowski (Auftraggeber)." in reminder.get_body(("plain",)).get_content()


def test_moving_a_job_on_sends_its_project_updates_once_each(app, studio, as_olivia):
    from .test_jobs import job_form

    profile = make_profile(studio, to("client", "job_editing", "Eure Fotos werden bearbeitet", "{{ job.name }} ✂️"),
                           to("client", "job_delivered", "Geliefert: {{ job.name }}", "Viel Freude, {{ client.name }}!"),
                           to("studio", "job_delivered", "Ausgeliefert", "{{ job.name }} an {{ client.name }}"))
    couple = contacts.save(studio, None, contacts.ContactInput("Zoë Ørsted", emails=["zoe@example.dk"]))
    job = wedding(studio)
    fields = job_form(name=job.name, profile_id=str(profile.id), shoot_date="2026-12-19", published_at="",
                      order_deadline="", archives_at="", client_id=str(couple.id))
    policy = Crew(app, "").policy
    made = []
    for stage in ("", "editing", "editing", "delivered", "delivered"):
        assert as_olivia.post(f"/jobs/{job.id}", {**fields, "stage": stage}).status_code == 302
        made.append(outbox.schedule(utcnow() + timedelta(seconds=1), policy))
    assert made == [0, 1, 0, 2, 0]  # staying in a stage sends nothing again
    subjects = sorted(m.notification.subject for m in db.session.scalars(sa.select(Message)))
    assert subjects == ["Ausgeliefert", "Eure Fotos werden bearbeitet", "Geliefert: {{ job.name }}"]
    assert as_olivia.post(f"/jobs/{job.id}", {**fields, "stage": "finished"}).status_code == 422


def test_the_api_changing_a_job_s_dates_keeps_its_client_and_stage_and_going_straight_to_delivered_sends_one_update(
        app, studio):
    profile = make_profile(studio, to("client", "job_editing", "In Bearbeitung", "{{ job.name }}"),
                           to("client", "job_delivered", "Geliefert", "{{ job.name }}"))
    couple = contacts.save(studio, None, contacts.ContactInput("Zoë Ørsted", emails=["zoe@example.dk"]))
    job = wedding(studio)
    jobs.save_job(studio, job, jobs.JobInput(**{**vars(jobs.as_input(job)), "profile_id": profile.id,
                                                "client_id": couple.id, "stage": "delivered"}), None)
    assert (job.stage, job.edited_at) == ("delivered", None)  # skipped editing: no "in editing" with it
    policy = Crew(app, "").policy
    assert outbox.schedule(utcnow() + timedelta(seconds=1), policy) == 1
    jobs.change_dates(job, archives_at=date(2027, 6, 30))  # what the API's "archive date changed" does
    assert (job.client_id, job.stage, job.archives_at) == (couple.id, "delivered", date(2027, 6, 30))
    assert outbox.schedule(utcnow() + timedelta(seconds=2), policy) == 0


def test_a_notification_edited_to_reach_someone_else_skips_what_was_made_for_the_former_recipient(app, studio, sam):
    from shutterbell import profiles
    from shutterbell.profiles import ProfileInput

    job = wedding(studio)
    profile = make_profile(studio, PROFILE[0])
    use(job, profile)
    team.assign(job, team.AssignInput(f"u{sam.id}", "Zweitfotografin"), utcnow())
    outbox.schedule(utcnow() + timedelta(seconds=1), Crew(app, "").policy)
    made, = db.session.scalars(sa.select(Message))
    edited = to("vendors", "team_assigned", "Anfrage", "{{ member.name }}")
    edited.id = profile.notifications[0].id  # the same notification, now to the vendors
    profiles.save_profile(studio, profile, ProfileInput("Test", "", [edited]))
    assert still_wanted([made]) == ["The notification changed (whom it reaches, or its trigger); this message is no "
                                    "longer part of it."]


def test_staff_are_emailed_and_an_invoice_s_messages_are_never_held_for_approval(studio):
    from shutterbell import profiles
    from shutterbell.profiles import ProfileInput
    from shutterbell.validation import Invalid

    by_text = NotificationInput(trigger="team_assigned", days=None, audience="staff", channel="sms", subject="",
                                body="Neuer Auftrag: {{ job.name }}")
    held = NotificationInput(trigger="invoice_issued", days=None, audience="client", channel="email",
                             subject="Rechnung", body="{{ invoice.total }}", requires_approval=True)
    for item, field in ((by_text, "channel"), (held, "requires_approval")):
        try:
            profiles.save_profile(studio, None, ProfileInput("Test", "", [item]))
        except Invalid as invalid:
            assert field in str(invalid.problems), invalid.problems
        else:
            raise AssertionError(f"{item.trigger} saved")


def test_taking_someone_off_the_team_on_the_job_page(studio, sam, as_olivia):
    job = wedding(studio)
    assignment = team.assign(job, team.AssignInput(f"u{sam.id}", "Zweitfotografin"), utcnow())
    response = as_olivia.post(f"/jobs/{job.id}/team/{assignment.id}/remove")
    assert response.status_code == 302
    assert "is no longer on this job&#39;s team" in text_of(as_olivia.get(f"/jobs/{job.id}"))
    assert team.team_of(job) == []
    assert as_olivia.post(f"/jobs/{job.id}/team/{assignment.id}/remove").status_code == 404
