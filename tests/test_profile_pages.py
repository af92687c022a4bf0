"""Settings → Communication profiles, through HTTP as the owner, her staff and an outsider."""
from datetime import time
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from shutterbell import profiles
from shutterbell.extensions import db

from .conftest import text_of


def row(index, position=None, **fields):
    values = {"trigger": "job_published", "audience": "all", "channel": "email", "send_time": "default",
              "subject": "Your photos", "body": "Hello {{ customer.first_name }}", "enabled": "y",
              "position": str(index if position is None else position), **fields}
    return {f"notifications-{index}-{name}": value for name, value in values.items() if value is not None}


def profile_form(name="School photos 2026", *rows):
    data = {"name": name, "description": ""}
    for r in rows:
        data.update(r)
    return data


def studio_profiles(user):
    db.session.expire_all()
    return profiles.list_profiles(user.studio)


def test_the_list_shows_the_recommended_profiles_and_the_create_button(as_olivia):
    page = text_of(as_olivia.get("/settings/profiles/"))
    assert "Recommended: standard" in page and "Recommended: sales push" in page
    assert 'class="button primary" href="/settings/profiles/new">Create profile' in page
    assert page.count(">Duplicate<") == 2


def test_the_owner_creates_a_profile_with_two_notifications(as_olivia, olivia):
    response = as_olivia.post("/settings/profiles/new", profile_form(
        "School photos 2026",
        row(0, trigger="customer_registered", audience="potential_buyers", subject="Welcome"),
        row(7, position=1, trigger="days_before_archived", days="7", channel="sms", subject=None,
            body="{{ job.name }}: last week to order {{ job.gallery_url }}", send_time="evening"),
    ))
    assert response.status_code == 302
    created = next(p for p in studio_profiles(olivia) if p.name == "School photos 2026")
    first, second = created.notifications
    assert (first.trigger, first.audience, first.channel, first.subject) == \
        ("customer_registered", "potential_buyers", "email", "Welcome")
    assert (second.trigger, second.days, second.channel, second.subject, second.send_time) == \
        ("days_before_archived", 7, "sms", "", "evening")


def test_editing_keeps_notification_ids_and_follows_the_new_order(as_olivia, olivia):
    profile = studio_profiles(olivia)[1]
    ids = [n.id for n in profile.notifications]
    data = {"name": "Standard, our way", "description": ""}
    for index, n in enumerate(profile.notifications):
        data.update(row(index, position=len(ids) - 1 - index, id=str(n.id), trigger=n.trigger,
                        days=None if n.days is None else str(n.days), audience=n.audience, channel=n.channel,
                        subject=n.subject, body=n.body))
    response = as_olivia.post(f"/settings/profiles/{profile.id}", data)
    assert response.status_code == 302, text_of(response)
    db.session.expire_all()
    assert profile.name == "Standard, our way"
    assert [n.id for n in profile.notifications] == list(reversed(ids))


@pytest.mark.parametrize("name, fields, message", [
    ("", {}, "Give the profile a name."),
    ("x" * 500, {}, "At most 120 characters."),
    ("Bad", {"trigger": "explode_the_server"}, "Not a valid choice."),
    ("Bad", {"trigger": "days_before_archived", "days": "-3"}, "Between 0 and 365 days."),
    ("Bad", {"trigger": "days_before_archived", "days": "99999999"}, "Between 0 and 365 days."),
    ("Bad", {"body": "Hello {{ customer.first_name "}, "Line 1:"),
    ("Bad", {"body": "{{ ''.__class__ }}"}, "Messages may only contain text and placeholders"),
    ("Bad", {"body": "{{ customer.password }}"}, "Unknown placeholder {{ customer.password }}."),
    ("Bad", {"subject": ""}, "An email needs a subject."),
    ("Bad", {"trigger": "customer_registered", "audience": "buyers"}, "This trigger can only go to: Potential buyers."),
])
def test_bad_input_comes_back_as_422_with_the_field_error_and_saves_nothing(as_olivia, olivia, name, fields, message):
    response = as_olivia.post("/settings/profiles/new", profile_form(name, row(0, **fields)))
    assert response.status_code == 422
    assert message.replace("'", "&#39;") in text_of(response)
    assert "Nothing was saved. Fix the fields marked in red" in text_of(response)
    assert len(studio_profiles(olivia)) == 2


def test_a_forged_csrf_token_is_refused(as_olivia, olivia):
    response = as_olivia._request("post", "/settings/profiles/new",
                                  data={**profile_form("Forged", row(0)), "csrf_token": "forged"})
    assert response.status_code == 400
    assert "did not come from this site" in text_of(response)
    assert len(studio_profiles(olivia)) == 2


def test_without_javascript_add_another_notification_redraws_the_form_with_a_new_row(as_olivia, olivia):
    response = as_olivia.post("/settings/profiles/new", {**profile_form("Draft", row(0)), "add_notification": "1"})
    assert response.status_code == 200
    page = text_of(response)
    assert 'name="notifications-0-trigger"' in page and 'name="notifications-1-trigger"' in page
    assert len(studio_profiles(olivia)) == 2  # nothing saved yet


def test_without_javascript_move_up_swaps_two_rows(as_olivia):
    data = profile_form("Draft", row(0, subject="First"), row(1, subject="Second"))
    page = text_of(as_olivia.post("/settings/profiles/new", {**data, "move": "1:up"}))
    assert page.index('value="Second"') < page.index('value="First"')


def test_the_trigger_decides_which_target_groups_are_offered(as_olivia):
    page = text_of(as_olivia.post("/settings/profiles/row", {
        "index": "3", "notifications-3-trigger": "customer_registered", "notifications-3-audience": "all",
        "notifications-3-channel": "email"}, htmx=True))
    assert '<option value="potential_buyers" selected>' in page
    assert 'value="buyers"' not in page and 'value="all"' not in page
    page = text_of(as_olivia.post("/settings/profiles/row", {
        "index": "3", "notifications-3-trigger": "job_published", "notifications-3-channel": "sms"}, htmx=True))
    assert 'name="notifications-3-subject"' in page  # kept (hidden) so switching back keeps it
    assert all(f'value="{a}"' in page for a in ("all", "potential_buyers", "buyers"))


def test_the_preview_renders_sample_data_and_counts_sms_segments(as_olivia):
    response = as_olivia.post("/settings/profiles/preview", {
        "index": "0", **row(0, channel="sms", body="Hi {{ customer.first_name }}, photos: {{ job.gallery_url }}")},
        htmx=True)
    page = text_of(response)
    assert "Hi Anna, photos: https://photos.example.com/g/SONNE26" in page
    assert "1 SMS segment" in page


def test_the_preview_shows_the_problem_instead_of_crashing(as_olivia):
    response = as_olivia.post("/settings/profiles/preview", {"index": "0", **row(0, body="Hi {{ customer.nickname }}")}, htmx=True)
    assert response.status_code == 422  # htmx is configured to swap 422 (base.html)
    assert "Unknown placeholder {{ customer.nickname }}." in text_of(response)


def test_the_preview_of_a_channel_that_does_not_exist_is_a_problem_not_a_crash(as_olivia):
    response = as_olivia.post("/settings/profiles/preview", {"index": "0", **row(0, channel="fax", body="Hallo")},
                              htmx=True)
    assert response.status_code == 422 and "Choose how the message goes out." in text_of(response)


def test_duplicate_and_delete(as_olivia, olivia):
    original = studio_profiles(olivia)[1]
    response = as_olivia.post(f"/settings/profiles/{original.id}/duplicate")
    copy = next(p for p in studio_profiles(olivia) if p.name == "Copy of Recommended: standard")
    assert response.location.endswith(f"/settings/profiles/{copy.id}")
    confirm = text_of(as_olivia.get(f"/settings/profiles/{copy.id}/delete"))
    assert "Delete “Copy of Recommended: standard”?" in confirm
    assert as_olivia.post(f"/settings/profiles/{copy.id}/delete").status_code == 302
    assert [p.name for p in studio_profiles(olivia)] == ["Recommended: sales push", "Recommended: standard"]


def test_staff_can_view_profiles_but_not_change_or_delete_them(as_sam, olivia):
    profile = studio_profiles(olivia)[0]
    page = text_of(as_sam.get(f"/settings/profiles/{profile.id}"))
    assert "Only the studio owner can change profiles." in page and "disabled" in page
    # every row drawn in full: a closed row's opening post would be refused to staff (403)
    assert page.count('<details class="row-details" open>') == len(profile.notifications) > 1
    assert 'hx-trigger="toggle once"' not in page
    assert "Create profile" not in text_of(as_sam.get("/settings/profiles/"))
    assert as_sam.post(f"/settings/profiles/{profile.id}", profile_form("Mine now", row(0))).status_code == 403
    assert as_sam.post(f"/settings/profiles/{profile.id}/delete").status_code == 403
    assert as_sam.post(f"/settings/profiles/{profile.id}/duplicate").status_code == 403
    assert as_sam.post("/settings/profiles/new", profile_form("Mine", row(0))).status_code == 403
    assert studio_profiles(olivia)[0].name == profile.name


def test_another_studio_gets_404_for_every_profile_url(as_otto, olivia):
    profile = studio_profiles(olivia)[0]
    for method, url in [("get", f"/settings/profiles/{profile.id}"), ("post", f"/settings/profiles/{profile.id}"),
                        ("get", f"/settings/profiles/{profile.id}/delete"),
                        ("post", f"/settings/profiles/{profile.id}/delete"),
                        ("post", f"/settings/profiles/{profile.id}/duplicate")]:
        response = getattr(as_otto, method)(url, **({"data": profile_form("Hijack", row(0))} if method == "post" else {}))
        assert response.status_code == 404, url
    assert "Recommended: standard" in text_of(as_otto.get("/settings/profiles/"))  # Otto's own
    assert studio_profiles(olivia)[0].deleted_at is None


def test_another_studios_notification_id_in_a_post_is_404_and_changes_nothing(as_otto, otto, olivia):
    mine = studio_profiles(otto)[0]
    foreign = studio_profiles(olivia)[0].notifications[0]
    response = as_otto.post(f"/settings/profiles/{mine.id}", profile_form("Mine", row(0, id=str(foreign.id))))
    assert response.status_code == 404
    db.session.expire_all()
    assert foreign.profile_id != mine.id and foreign.retired_at is None


def test_signed_out_visitors_are_sent_to_sign_in(browser, olivia):
    response = browser.get("/settings/profiles/")
    assert response.status_code == 302 and "/login" in response.location


def test_a_save_after_someone_else_removed_a_notification_is_409_and_saves_nothing(as_olivia, olivia):
    profile = studio_profiles(olivia)[1]
    first, second = profile.notifications[:2]
    stale = profile_form("Stale", row(0, id=str(first.id), subject="Mine"), row(1, id=str(second.id)))
    items = [profiles.NotificationInput.of(n) for n in profile.notifications[1:]]
    profiles.save_profile(olivia.studio, profile, profiles.ProfileInput(profile.name, "", items))  # removes the first
    response = as_olivia.post(f"/settings/profiles/{profile.id}", stale)
    assert response.status_code == 409 and "while you were editing" in text_of(response)
    assert studio_profiles(olivia)[1].name == "Recommended: standard"


def test_a_hand_made_id_that_is_not_a_number_is_refused(as_olivia, olivia):
    profile = studio_profiles(olivia)[1]
    ids = [n.id for n in profile.notifications]
    response = as_olivia.post(f"/settings/profiles/{profile.id}", profile_form("X", row(0, id="x1")))
    assert response.status_code == 422 and "This notification does not exist." in text_of(response)
    assert [n.id for n in studio_profiles(olivia)[1].notifications] == ids


def test_a_message_without_a_trigger_is_still_checked_and_never_crashes(as_olivia, olivia):
    for body in ("{{ x }}", "{{ 'a' * 20000000 }}", "{{ " + "(" * 700 + "customer.first_name" + ")" * 700 + " }}",
                 "{{ " + "not " * 700 + "customer.first_name }}", "{% for i in range(10) %}{% endfor %}"):
        preview = as_olivia.post("/settings/profiles/preview", {"index": "0", **row(0, trigger="", body=body)}, htmx=True)
        assert preview.status_code == 422, body[:40]
        saved = as_olivia.post("/settings/profiles/new", profile_form("X", row(0, trigger="", body=body)))
        assert saved.status_code == 422 and "Choose a trigger from the list." in text_of(saved), body[:40]
    assert len(studio_profiles(olivia)) == 2


def test_errors_quoting_what_was_typed_are_escaped(as_olivia):
    page = text_of(as_olivia.post("/settings/profiles/new", profile_form("X", row(0, body="{{ <script>alert(1)</script> }}"))))
    assert "<script>alert(1)" not in page


def test_at_most_thirty_notifications(as_olivia, olivia):
    many = [row(i) for i in range(31)]
    response = as_olivia.post("/settings/profiles/new", profile_form("Many", *many))
    assert response.status_code == 422 and "At most 30 notifications per profile." in text_of(response)
    response = as_olivia.post("/settings/profiles/new", {**profile_form("Many", *many[:30]), "add_notification": "1"})
    assert response.status_code == 422 and 'name="add_notification"' not in text_of(response)
    assert len(studio_profiles(olivia)) == 2


def test_gotphoto_placeholders_are_offered_for_conversion(as_olivia):
    body = "Hallo [[Customer.firstname]], Ihre Fotos: [[Gallery.link]]"
    preview = text_of(as_olivia.post("/settings/profiles/preview", {"index": "0", **row(0, body=body)}, htmx=True))
    assert "Convert GotPhoto placeholders" in preview
    redrawn = text_of(as_olivia.post("/settings/profiles/row", {"index": "0", "convert": "1", **row(0, body=body)}, htmx=True))
    assert "Hallo {{ customer.first_name }}, Ihre Fotos: {{ job.gallery_url }}" in redrawn
    assert "<p>Hallo Anna, Ihre Fotos: <a href=\"https://photos.example.com/g/SONNE26\">" in redrawn  # the preview too
    # Without JavaScript the same button posts the form and it comes back converted, unsaved.
    page = text_of(as_olivia.post("/settings/profiles/new", {**profile_form("X", row(0, body=body)), "convert": "0"}))
    assert "Hallo {{ customer.first_name }}, Ihre Fotos: {{ job.gallery_url }}" in page


def test_an_htmx_save_gets_the_editor_back_with_422_or_an_hx_redirect(as_olivia, olivia):
    bad = as_olivia.post("/settings/profiles/new", profile_form("", row(0)), htmx=True)
    assert bad.status_code == 422
    assert "<html" not in text_of(bad)  # the editor alone, not the page
    assert 'id="profile-editor"' in text_of(bad) and "Give the profile a name." in text_of(bad)
    good = as_olivia.post("/settings/profiles/new", profile_form("Via htmx", row(0)), htmx=True)
    assert good.status_code == 200 and good.headers["HX-Redirect"] == "/settings/profiles/"
    assert "Via htmx" in [p.name for p in studio_profiles(olivia)]


class _FormValues(HTMLParser):
    """What a browser posts for the page's first form with a given class: inputs, checked boxes,
    selected options and text areas, as they are drawn."""

    def __init__(self, form_class: str):
        super().__init__(convert_charrefs=True)
        self.form_class, self.inside, self.values = form_class, False, []
        self._select = self._textarea = None
        self._first_option = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.form_class in (a.get("class") or "").split():
            self.inside = True
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.values.append((self._select, a.get("value", "")))
                self._select = None
        elif tag == "textarea":
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            self.values.append((self._select, self._first_option or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.values.append((name, text[1:] if text.startswith(("\r\n", "\n")) else text))
            self._textarea = None


def posted_by_browser(page: str) -> MultiDict:
    parser = _FormValues("profile-form")
    parser.feed(page)
    return MultiDict(parser.values)


def stored(profile) -> list[tuple]:
    db.session.expire_all()
    return [(n.id, n.position, n.trigger, n.days, n.audience, n.channel, n.category, n.send_time, n.send_at,
             n.subject, n.body, n.requires_approval, n.stop_on_reply, n.enabled) for n in profile.notifications]


def kita_profile(olivia):
    return profiles.save_profile(olivia.studio, None, profiles.ProfileInput("Kita Löwenzahn – Herbst", "", [
        profiles.NotificationInput(trigger="days_before_archived", days=7, audience="potential_buyers",
                                   channel="email", subject="Nur noch 7 Tage: {{ job.name }} 📸",
                                   body="Liebe Familie Łęcka,\n\nGrüße aus dem Studio – Abzüge ab 4,90 € „jetzt“.\n",
                                   send_time="at", send_at=time(18, 30), requires_approval=True, enabled=False,
                                   category="service"),  # its trigger's own kind is marketing
        profiles.NotificationInput(trigger="customer_registered", days=None, audience="potential_buyers", channel="sms",
                                   body="Merci Zoë ! {{ job.gallery_url }}", stop_on_reply=True)]))


def test_closed_rows_post_their_id_alone_and_open_to_their_stored_fields(as_olivia, olivia):
    """A saved profile's rows are drawn closed (a line each) and post only their id and position:
    saving the page as it is changes nothing; a row opens to its stored fields (htmx), or without
    script by its button."""
    profile = kita_profile(olivia)
    before = stored(profile)
    page = text_of(as_olivia.get(f"/settings/profiles/{profile.id}"))
    assert page.count('<details class="row-details" hx-post="/settings/profiles/row"') == 2
    assert "Nur noch 7 Tage: {{ job.name }} 📸" in page  # the summary line
    posted = posted_by_browser(page)
    assert sorted(k for k in posted if k.startswith("notifications-")) == [
        "notifications-0-id", "notifications-0-position", "notifications-1-id", "notifications-1-position"]
    assert as_olivia.post(f"/settings/profiles/{profile.id}", posted).status_code == 302
    assert stored(profile) == before

    opened = text_of(as_olivia.post("/settings/profiles/row", {**posted, "index": "0"}, htmx=True))
    assert '<details class="row-details" open>' in opened
    assert "Liebe Familie Łęcka,\n\nGrüße aus dem Studio – Abzüge ab 4,90 € „jetzt“." in opened
    assert '<option selected value="days_before_archived">' in opened and 'value="18:30"' in opened
    without_script = text_of(as_olivia.post(f"/settings/profiles/{profile.id}", {**posted, "open": "1"}))
    assert without_script.count('<details class="row-details" open>') == 1
    assert 'id="notifications-1-body"' in without_script and 'id="notifications-0-body"' not in without_script
    assert "Merci Zoë ! {{ job.gallery_url }}" in without_script


def test_a_row_edited_then_a_failed_save_comes_back_open_with_what_was_typed(as_olivia, olivia):
    profile = kita_profile(olivia)
    before = stored(profile)
    posted = posted_by_browser(text_of(as_olivia.get(f"/settings/profiles/{profile.id}")))
    opened = text_of(as_olivia.post("/settings/profiles/row", {**posted, "index": "1"}, htmx=True))
    edited = MultiDict([(k, v) for k, v in posted.items(multi=True) if not k.startswith("notifications-1-")])
    edited.update(posted_by_browser(f'<form class="profile-form">{opened}</form>'))
    edited["notifications-1-body"] = "Danke, Zoë! Eure Galerie: {{ job.gallery_url }} 🎉"
    edited["name"] = ""  # the mistake that stops the save
    failed = as_olivia.post(f"/settings/profiles/{profile.id}", edited)
    assert failed.status_code == 422 and "Give the profile a name." in text_of(failed)
    assert stored(profile) == before
    page = text_of(failed)
    assert page.count('<details class="row-details" open>') == 1  # the edited row, with the edit
    assert "Danke, Zoë! Eure Galerie: {{ job.gallery_url }} 🎉</textarea>" in page
    assert 'id="notifications-0-body"' not in page  # the untouched row stays closed, as stored
    again = posted_by_browser(page)
    again["name"] = "Kita Löwenzahn – Herbst"
    assert as_olivia.post(f"/settings/profiles/{profile.id}", again).status_code == 302
    after = stored(profile)
    assert after[0] == before[0] and after[1][10] == "Danke, Zoë! Eure Galerie: {{ job.gallery_url }} 🎉"


def test_a_row_nobody_opened_keeps_what_someone_else_saved_meanwhile(as_olivia, olivia):
    """Two owners in two tabs: the rows one did not open post no values, so her save cannot put
    back what the other changed in them since she loaded the page."""
    profile = kita_profile(olivia)
    posted = posted_by_browser(text_of(as_olivia.get(f"/settings/profiles/{profile.id}")))
    items = [profiles.NotificationInput.of(n) for n in profile.notifications]
    items[0].subject = "Letzte Chance: {{ job.name }} – bis Sonntag!"
    profiles.save_profile(olivia.studio, profile, profiles.ProfileInput(profile.name, "", items))
    posted["name"] = "Kita Löwenzahn – Herbst 2026"
    assert as_olivia.post(f"/settings/profiles/{profile.id}", posted).status_code == 302
    assert stored(profile)[0][9] == "Letzte Chance: {{ job.name }} – bis Sonntag!"
    assert profile.name == "Kita Löwenzahn – Herbst 2026"


def test_a_closed_row_someone_removed_meanwhile_is_409_and_a_second_save_keeps_the_rest(as_olivia, olivia):
    profile = kita_profile(olivia)
    posted = posted_by_browser(text_of(as_olivia.get(f"/settings/profiles/{profile.id}")))
    first = profile.notifications[0]
    profiles.save_profile(olivia.studio, profile, profiles.ProfileInput(
        profile.name, "", [profiles.NotificationInput.of(profile.notifications[1])]))
    posted["name"] = "Kita Löwenzahn – Winter"
    response = as_olivia.post(f"/settings/profiles/{profile.id}", posted)
    assert response.status_code == 409 and "while you were editing. Check the notifications below, then save again." in (
        text_of(response))
    assert 'value="Kita Löwenzahn – Winter"' in text_of(response)  # what she typed stays
    assert f'value="{first.id}"' not in text_of(response)  # not drawn again
    assert as_olivia.post(f"/settings/profiles/{profile.id}", posted_by_browser(text_of(response))).status_code == 302
    kept = next(p for p in studio_profiles(olivia) if p.id == profile.id)
    assert (kept.name, [n.body for n in kept.notifications]) == (
        "Kita Löwenzahn – Winter", ["Merci Zoë ! {{ job.gallery_url }}"])


def test_a_closed_row_of_another_studio_opens_nothing_and_saves_nothing(as_otto, otto, olivia):
    theirs = kita_profile(olivia).notifications[0]
    mine = profiles.list_profiles(otto.studio)[0]
    closed = {"notifications-0-id": str(theirs.id), "notifications-0-position": "0"}
    assert as_otto.post("/settings/profiles/row", {**closed, "index": "0"}, htmx=True).status_code == 404
    assert as_otto.post(f"/settings/profiles/{mine.id}", {**profile_form("Geklaut"), **closed}).status_code == 404
    assert "Geklaut" not in [p.name for p in studio_profiles(otto)]


def test_without_script_rows_move_open_and_go_as_drawn_after_one_was_removed(as_olivia, olivia):
    """A page drawn after a row was removed skips that row's number: the buttons still find their
    rows, a removed closed row is retired without a word about its fields, and the others keep
    what is stored."""
    profile = kita_profile(olivia)
    before = stored(profile)
    page = text_of(as_olivia.get(f"/settings/profiles/{profile.id}"))
    removed = {**posted_by_browser(page), "notifications-0-remove": "y", "move": "1:up"}  # ticked, then a button
    redrawn = text_of(as_olivia.post(f"/settings/profiles/{profile.id}", removed))
    assert 'name="notifications-0-id"' not in redrawn and 'name="notifications-1-id"' in redrawn
    opened = text_of(as_olivia.post(f"/settings/profiles/{profile.id}", {**posted_by_browser(redrawn), "open": "1"}))
    assert opened.count('<details class="row-details" open>') == 1 and "Merci Zoë ! {{ job.gallery_url }}" in opened
    assert as_olivia.post(f"/settings/profiles/{profile.id}", posted_by_browser(opened)).status_code == 302
    assert stored(profile) == [(*before[1][:1], 0, *before[1][2:])]  # the other, now first, as it was


def test_without_script_moving_closed_rows_keeps_their_stored_values(as_olivia, olivia):
    profile = kita_profile(olivia)
    first, second = stored(profile)
    posted = posted_by_browser(text_of(as_olivia.get(f"/settings/profiles/{profile.id}")))
    moved = text_of(as_olivia.post(f"/settings/profiles/{profile.id}", {**posted, "move": "1:up"}))
    assert moved.count('<details class="row-details" hx-post=') == 2  # still closed
    assert as_olivia.post(f"/settings/profiles/{profile.id}", posted_by_browser(moved)).status_code == 302
    assert stored(profile) == [(second[0], 0, *second[2:]), (first[0], 1, *first[2:])]


def test_a_closed_row_that_is_not_this_profiles_or_no_longer_live_is_refused(as_olivia, olivia):
    profile = kita_profile(olivia)
    other = studio_profiles(olivia)[0]
    assert other.id != profile.id
    elsewhere = {"notifications-0-id": str(other.notifications[0].id), "notifications-0-position": "0"}
    assert as_olivia.post(f"/settings/profiles/{profile.id}", {**profile_form("Kita"), **elsewhere}).status_code == 404
    retired = profile.notifications[0].id
    profiles.save_profile(olivia.studio, profile, profiles.ProfileInput(
        profile.name, "", [profiles.NotificationInput.of(profile.notifications[1])]))
    opening = {"notifications-0-id": str(retired), "notifications-0-position": "0", "index": "0"}
    assert as_olivia.post("/settings/profiles/row", opening, htmx=True).status_code == 404
    huge = {"notifications-0-id": "9" * 30, "notifications-0-position": "0"}
    response = as_olivia.post(f"/settings/profiles/{profile.id}", {**profile_form("Kita"), **huge})
    assert response.status_code == 422 and "This notification does not exist." in text_of(response)
    assert as_olivia.post("/settings/profiles/row", {**huge, "index": "0"}, htmx=True).status_code == 200
