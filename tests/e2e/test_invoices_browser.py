"""Invoices in Chromium at a desk and on a tablet: from a client's page to a draft typed in German
numbers (a mistake first), one more line, issuing, a part payment, and the print view."""
import pytest
from playwright.sync_api import expect

from shutterbell import accounts, contacts

from ..conftest import PASSWORD
from .conftest import DESKTOP, TABLET, screenshot
from .test_pages_tour import check_layout

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_an_invoice_from_a_client_s_page_to_paper(page_for, live_server, owner, viewport, size):
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        client = contacts.save(studio, None, contacts.ContactInput("Jürgen Weiß", emails=["juergen@example.com"]))
        client_id = client.id
    page = page_for(viewport)
    page.goto(f"{base_url}/contacts/{client_id}?tab=invoices")
    page.get_by_role("link", name="New invoice").click()
    page.wait_for_url(f"{base_url}/invoices/new?contact={client_id}")
    expect(page.get_by_label("Client")).to_have_value(str(client_id))
    page.locator("#lines-0-description").fill("Hochzeitsreportage – 8 Stunden")
    page.locator("#lines-0-unit_price").fill("1.890,00")
    page.locator("#lines-0-tax_rate").fill("19")
    page.get_by_role("button", name="Add a line").click()
    page.locator("#lines-1-description").fill("Abzüge 13×18 cm")
    page.locator("#lines-1-quantity").fill("3")
    page.locator("#lines-1-unit_price").fill("vier Euro")  # a mistake
    page.locator("#lines-1-tax_rate").fill("7")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Enter a price like 120.00")).to_be_visible()
    expect(page.locator("#lines-0-description")).to_have_value("Hochzeitsreportage – 8 Stunden")  # nothing lost
    check_layout(page)
    screenshot(page, f"invoice-draft-error-{size}")
    page.locator("#lines-1-unit_price").fill("4,99")
    page.locator("#lines-1-unit_price").press("Enter")  # Enter saves (it does not add a line)
    expect(page.locator("p.lead")).to_contain_text("Total 2.265,12")  # 1,890 + 359.10 + 14.97 + 1.05
    check_layout(page)
    screenshot(page, f"invoice-draft-{size}")

    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("heading", name="Invoice 1")).to_be_visible()
    page.get_by_label("Amount").fill("500")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("p.lead")).to_contain_text("Open: 1.765,12")
    expect(page.locator(".pagehead .badge")).to_have_text("Partly paid")
    check_layout(page)
    screenshot(page, f"invoice-issued-{size}")

    page.get_by_role("link", name="Print or save as PDF").click()
    expect(page.get_by_role("heading", name="Rechnung 1").or_(page.get_by_role("heading", name="Invoice 1"))).to_be_visible()
    expect(page.locator("tr.grand")).to_contain_text("2.265,12")
    screenshot(page, f"invoice-print-{size}")
    page.goto(f"{base_url}/invoices/")
    check_layout(page)
    screenshot(page, f"invoices-{size}")
    assert page.js_errors == []
