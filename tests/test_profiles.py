"""Profiles in the domain: recommended ones for every studio, and edits that keep identities."""
import pytest
import sqlalchemy as sa

from shutterbell import profiles, templating, triggers
from shutterbell.extensions import db
from shutterbell.models import Notification
from shutterbell.profiles import NotificationInput, ProfileInput, UnknownNotification
from shutterbell.validation import Invalid


def inputs_of(profile):
    return [NotificationInput.of(n) for n in profile.notifications]


def test_a_new_studio_starts_with_two_recommended_profiles(olivia):
    found = profiles.list_profiles(olivia.studio)
    assert [p.name for p in found] == ["Recommended: sales push", "Recommended: standard"]
    for profile in found:
        assert profile.recommended
        assert 6 <= len(profile.notifications) <= 7  # GotPhoto's advice
        assert profiles.profile_problems(ProfileInput(profile.name, "", inputs_of(profile))) == {}
        assert {n.trigger for n in profile.notifications} >= {"customer_registered", "job_published",
                                                              "days_before_voucher_expires", "order_placed"}


def test_recommended_text_messages_fit_one_segment(olivia):
    context = templating.sample_context("Fotostudio Lichtblick", "de_DE")
    for profile in profiles.list_profiles(olivia.studio):
        for n in profile.notifications:
            if n.channel == "sms":
                rendered = templating.render("", n.body, "sms", context)
                assert rendered.segments == 1 and rendered.encoding == "GSM-7", n.body


def test_saving_updates_notifications_in_place_and_retires_removed_ones(olivia):
    profile = profiles.list_profiles(olivia.studio)[1]
    original_ids = [n.id for n in profile.notifications]
    items = inputs_of(profile)
    items[0].body = "Changed welcome text for {{ customer.first_name }}"
    items.reverse()  # reorder
    removed = items.pop(3)
    profiles.save_profile(olivia.studio, profile, ProfileInput(profile.name, "", items))

    db.session.expire_all()
    kept = profile.notifications
    assert [n.id for n in kept] == [i.id for i in items]
    assert set(n.id for n in kept) == set(original_ids) - {removed.id}
    retired = db.session.get(Notification, removed.id)
    assert retired.retired_at is not None and retired.body == removed.body
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.profile_id == profile.id))
    assert count == len(original_ids)  # nothing deleted, nothing re-inserted


def test_only_a_notification_to_customers_keeps_stop_when_they_reply(olivia):
    """The editor shows the box for customers' notifications only; a closed row is saved with
    what is stored, so a reminder to staff must not keep a "stops on a reply" it can never use."""
    def row(trigger, audience):
        return NotificationInput(trigger=trigger, days=None, audience=audience, channel="email", subject="Grüße",
                                 body="Hallo, schön dass ihr da seid", stop_on_reply=True)
    saved = profiles.save_profile(olivia.studio, None, ProfileInput("Hochzeit – Löwenzahn", "", [
        row("customer_registered", "potential_buyers"), row("team_assigned", "staff")]))
    db.session.expire_all()
    assert [(n.trigger, n.stop_on_reply) for n in saved.notifications] == [("customer_registered", True),
                                                                           ("team_assigned", False)]


def test_a_notification_of_another_profile_cannot_be_smuggled_in(olivia, otto):
    mine = profiles.list_profiles(olivia.studio)[0]
    theirs = profiles.list_profiles(otto.studio)[0]
    stolen = inputs_of(theirs)[0]
    with pytest.raises(UnknownNotification):
        profiles.save_profile(olivia.studio, mine, ProfileInput("Mine", "", [stolen]))
    db.session.rollback()
    assert db.session.get(Notification, stolen.id).profile_id == theirs.id
    assert mine.name.startswith("Recommended")


def test_invalid_input_saves_nothing(olivia):
    bad = NotificationInput(trigger="customer_registered", audience="buyers", channel="email",
                            subject="", body="Hi {{ customer.nope }}")
    with pytest.raises(Invalid) as info:
        profiles.save_profile(olivia.studio, None, ProfileInput("", "", [bad]))
    assert set(info.value.problems) == {"name", ("notifications", 0, "audience"),
                                        ("notifications", 0, "subject"), ("notifications", 0, "body")}
    assert len(profiles.list_profiles(olivia.studio)) == 2


@pytest.mark.parametrize("days, ok", [(None, False), (-1, False), (0, True), (365, True), (366, False), (10**9, False)])
def test_days_are_required_and_bounded(bare_ctx, days, ok):
    item = NotificationInput(trigger="days_before_archived", days=days, audience="all", channel="sms",
                             body="{{ job.name }} closes {{ job.archives_at }}")
    assert ("days" not in profiles.notification_problems(item)) is ok


def test_every_trigger_offers_only_its_target_groups(bare_ctx):
    for trigger in triggers.CATALOGUE.values():
        for audience in triggers.Audience:
            item = NotificationInput(trigger=trigger.key, days=1, audience=audience.value, channel="sms", body="Hi")
            assert ("audience" in profiles.notification_problems(item)) != trigger.allows(audience)


def test_duplicating_gives_the_copy_its_own_notifications(olivia):
    original = profiles.list_profiles(olivia.studio)[1]
    copy = profiles.duplicate_profile(original)
    assert copy.name == "Copy of Recommended: standard" and not copy.recommended
    assert [n.body for n in copy.notifications] == [n.body for n in original.notifications]
    assert not {n.id for n in copy.notifications} & {n.id for n in original.notifications}


def test_deleting_hides_the_profile_but_keeps_its_rows(olivia):
    profile = profiles.list_profiles(olivia.studio)[0]
    profiles.delete_profile(profile)
    assert profile not in profiles.list_profiles(olivia.studio)
    assert profiles.get_profile(olivia.studio, profile.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.profile_id == profile.id)) > 0
