"""The profile editor in a real browser, at desktop and tablet size, with and without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, SCREENSHOTS, TABLET, screenshot

pytestmark = pytest.mark.e2e


def redrawn(page, action, url_part="/settings/profiles/row"):
    """Do what makes htmx fetch a part of the page (a row), and wait until it is swapped in and
    initialised (Playwright types faster than any person: into a row that is about to be replaced)."""
    with page.expect_response(lambda response: url_part in response.url):
        action()
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def audience_options(row):
    return row.get_by_label("Target group").locator("option").all_inner_texts()


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_the_owner_creates_and_edits_a_profile_with_two_notifications(page_for, live_server, viewport, size):
    _, base_url = live_server
    page = page_for(viewport)
    page.goto(f"{base_url}/settings/profiles/")
    expect(page.get_by_text("Recommended: standard")).to_be_visible()
    screenshot(page, f"profiles-list-{size}")
    create = page.get_by_role("link", name="Create profile")
    assert create.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(31, 99, 214)"  # the blue button
    create.click()

    page.get_by_label("Profile name").fill("School photos 2026")
    redrawn(page, lambda: page.get_by_role("button", name="Add a notification").click())
    first = page.locator(".notification-row").nth(0)
    expect(first).to_be_visible()

    # The trigger decides the target groups (an HTMX redraw of the row).
    redrawn(page, lambda: first.get_by_label("Trigger").select_option(label="After a customer registered"))
    expect(first.get_by_label("Target group").locator("option")).to_have_count(1)
    assert audience_options(first) == ["Potential buyers"]
    expect(first.get_by_label("Days", exact=True)).to_be_hidden()
    redrawn(page, lambda: first.get_by_label("Trigger").select_option(label="Days before the job is archived"))
    expect(first.get_by_label("Target group").locator("option")).to_have_count(3)
    expect(first.get_by_label("Days", exact=True)).to_be_visible()
    first.get_by_label("Days", exact=True).fill("7")
    first.get_by_label("Target group").select_option(label="Potential buyers")
    first.get_by_label("Subject").fill("Last week for {{ job.name }}")
    first.get_by_label("Message", exact=True).fill("Hello {{ customer.first_name }},\nthe gallery closes on {{ job.archives_at }}.")
    expect(first.locator(".preview-body")).to_contain_text("Hello Anna,")

    redrawn(page, lambda: page.get_by_role("button", name="Add another notification").click())
    second = page.locator(".notification-row").nth(1)
    redrawn(page, lambda: second.get_by_label("Trigger").select_option(label="When the photos are online"))
    redrawn(page, lambda: second.get_by_text("Text message").click())
    expect(second.get_by_label("Subject")).to_be_hidden()
    second.get_by_label("Message", exact=True).fill("{{ studio.name }}: photos online {{ job.gallery_url }}")
    expect(second.locator(".preview-body")).to_contain_text("1 SMS segment")
    screenshot(page, f"profile-editor-{size}")

    page.get_by_role("button", name="Save profile").click()
    page.wait_for_url(f"{base_url}/settings/profiles/")
    card = page.locator(".profile", has_text="School photos 2026")
    expect(card).to_contain_text("1 email · 1 text message")
    expect(card.locator(".steps li").nth(0)).to_contain_text("7 days before the job is archived → Potential buyers")

    # Edit: rename and move the text message to the top.
    card.get_by_role("link", name="Edit").click()
    page.get_by_label("Profile name").fill("School photos, autumn")
    page.locator(".notification-row").nth(1).get_by_role("button", name="Move up").click()
    page.get_by_role("button", name="Save profile").click()
    card = page.locator(".profile", has_text="School photos, autumn")
    expect(card.locator(".steps li").nth(0)).to_contain_text("When the photos are online")
    assert page.js_errors == []


def test_a_bad_message_is_a_field_error_and_the_form_keeps_what_was_typed(page_for, live_server):
    _, base_url = live_server
    page = page_for(TABLET)
    page.goto(f"{base_url}/settings/profiles/new")
    page.get_by_label("Profile name").fill("Broken")
    redrawn(page, lambda: page.get_by_role("button", name="Add a notification").click())
    row = page.locator(".notification-row").first
    redrawn(page, lambda: row.get_by_label("Trigger").select_option(label="When the photos are online"))
    row.get_by_label("Subject").fill("Hi")
    row.get_by_label("Message", exact=True).fill("Hi {{ customer.shoe_size }}")
    expect(row.locator(".preview-body")).to_contain_text("Unknown placeholder {{ customer.shoe_size }}.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".notification-row .has-error .error")).to_contain_text("Unknown placeholder")
    expect(page.get_by_label("Profile name")).to_have_value("Broken")
    screenshot(page, "profile-editor-error-tablet")

    # A text pasted from GotPhoto: the preview offers to convert its placeholders.
    row = page.locator(".notification-row").first
    row.get_by_label("Message", exact=True).fill("Hallo [[Customer.firstname]]!")
    convert = row.get_by_role("button", name="Convert GotPhoto placeholders")
    redrawn(page, lambda: convert.click())
    expect(row.get_by_label("Message", exact=True)).to_have_value("Hallo {{ customer.first_name }}!")
    expect(row.locator(".preview-body")).to_contain_text("Hallo Anna!")


def test_without_javascript_the_main_path_still_works(page_for, live_server):
    _, base_url = live_server
    page = page_for(DESKTOP, javascript=False)
    page.goto(f"{base_url}/settings/profiles/new")
    page.get_by_label("Profile name").fill("No script")
    page.get_by_role("button", name="Add a notification").click()  # a plain form post
    row = page.locator(".notification-row").first
    row.get_by_label("Trigger").select_option("order_placed")
    row.get_by_label("Target group").select_option("buyers")
    row.get_by_label("Subject").fill("Thank you")
    row.get_by_label("Message", exact=True).fill("Thanks for order {{ order.number }}")
    row.get_by_label("Subject").press("Enter")  # Enter saves (not "Move up", the first row button)
    expect(page.locator(".profile", has_text="No script")).to_contain_text("1 email")
    delete = page.locator(".profile", has_text="No script").get_by_role("link", name="Delete")
    delete.click()
    page.get_by_role("button", name="Delete profile").click()
    expect(page.locator(".profile", has_text="No script")).to_have_count(0)
    screenshot(page, "profiles-list-nojs-desktop")


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_a_long_profile_reads_as_one_line_per_notification_and_opens_where_needed(page_for, live_server, viewport,
                                                                                   size):
    _, base_url = live_server
    page = page_for(viewport)
    page.goto(f"{base_url}/settings/profiles/")
    page.locator(".profile", has_text="Recommended: standard").get_by_role("link", name="Edit").click()
    rows = page.locator(".notification-row")
    expect(rows).to_have_count(7)
    expect(page.locator(".row-details[open]")).to_have_count(0)  # seven lines, not seven forms
    last_week = rows.filter(has=page.locator(".row-summary", has_text="7 days before the job is archived"))
    expect(last_week.locator(".row-summary")).to_have_text(re.compile(
        r"Email\s+7 days before the job is archived · All customers · 09:00 · “Last week to order your photos from…”"))
    expect(rows.nth(6).locator(".row-summary")).to_have_text(re.compile(r"After an order was placed · Buyers · right away"))
    assert page.evaluate("document.documentElement.scrollHeight") < 1600  # 6,160 px (11,705 on a tablet) before
    screenshot(page, f"profile-editor-closed-{size}")  # leaves style="" on inputs, as password managers do

    redrawn(page, lambda: last_week.locator(".row-summary").click())  # opens to edit: its fields are drawn now
    redrawn(page, lambda: last_week.get_by_label("Trigger").select_option(label="Days before the order deadline"))
    last_week = rows.nth(5)
    expect(last_week.locator(".row-details")).to_have_attribute("open", "")  # a redrawn row stays open
    expect(last_week.locator(".row-summary")).to_contain_text("7 days before the order deadline · All customers")
    last_week.get_by_label("Subject").fill("Nur noch {{ job.bestelltag }} für Müllers Fotos")
    last_week.locator(".row-summary").click()  # closed again before saving
    page.get_by_role("button", name="Save profile").click()
    wrong = page.locator(".notification-row:has(.row-details[open])")
    expect(wrong).to_have_count(1)  # the row with the error opens, the others stay closed
    expect(wrong.locator(".row-summary")).to_contain_text("Needs a fix")
    expect(wrong.locator(".has-error .error")).to_contain_text("Unknown placeholder {{ job.bestelltag }}.")
    screenshot(page, f"profile-editor-error-row-{size}")
    assert page.js_errors == []  # no CSP refusals: htmx carries no style attribute over a swap


def test_a_notification_that_cannot_be_opened_says_so_and_offers_its_edit_button(page_for, live_server):
    """The server or the connection fails while a closed row opens: no "Opening…" for ever; the
    button that works without script opens it (the form posted back) and keeps it in view."""
    _, base_url = live_server
    page = page_for(TABLET)
    page.goto(f"{base_url}/settings/profiles/")
    page.locator(".profile", has_text="Recommended: standard").get_by_role("link", name="Edit").click()
    page.wait_for_url(re.compile(r"/settings/profiles/\d+$"))  # loaded, htmx set up: the row asks when opened
    page.route("**/settings/profiles/row", lambda route: route.abort("connectionreset"))
    last = page.locator(".notification-row").last
    with page.expect_event("requestfailed", lambda request: "/settings/profiles/row" in request.url):
        last.locator(".row-summary").click()
    expect(last.get_by_role("alert")).to_have_text("This part of the page could not be loaded.")
    expect(last.get_by_text("Opening…")).to_be_hidden()
    last.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "profile-editor-row-failed-tablet.png"))  # the failed row in view
    page.unroute("**/settings/profiles/row")
    last.get_by_role("button", name="Edit this notification").click()
    last = page.locator(".notification-row").last
    expect(last.locator(".row-details")).to_have_attribute("open", "")
    expect(last.get_by_label("Trigger")).to_be_in_viewport()
    expect(page.locator(".row-details[open]")).to_have_count(1)


def test_without_javascript_a_notification_opens_where_it_is_on_the_page(page_for, live_server):
    _, base_url = live_server
    page = page_for(TABLET, javascript=False)
    page.goto(f"{base_url}/settings/profiles/")
    page.locator(".profile", has_text="Recommended: standard").get_by_role("link", name="Edit").click()
    page.locator(".notification-row").last.locator(".row-summary").click()  # a native <details>: opens without script
    page.locator(".notification-row").last.get_by_role("button", name="Edit this notification").click()
    last = page.locator(".notification-row").last  # the page came back: found again
    expect(last.locator(".row-details")).to_have_attribute("open", "")
    expect(last.get_by_label("Trigger")).to_be_in_viewport()  # not the top of a long page
    assert page.url.endswith("#row-6")
