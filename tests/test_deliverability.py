"""The deliverability check: SPF, DKIM and DMARC of the from-address's domain, looked up in a real
DNS server on loopback (dnslib), each finding with plain advice."""
import pytest

from shutterbell import deliverability, mailsettings
from shutterbell.deliverability import DnsProblem, check_domain
from shutterbell.models import utcnow

from .conftest import text_of
from .dnsserver import dns_server, silent_dns

DOMAIN = "lichtblick.example"
KEY = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC1TaNgLlSyQMNWVLNLvyY"


@pytest.fixture
def dns():
    with dns_server() as running:
        yield running


def findings(dns, selector="google", smtp_host="smtp.gmail.com"):
    zone, resolver = dns
    return {f.name: f for f in check_domain(DOMAIN, smtp_host, selector, timeout=2, resolver=resolver)}


def test_a_well_set_up_domain_passes(dns):
    zone, _ = dns
    zone.txt(DOMAIN, "google-site-verification=abc", "v=spf1 include:_spf.google.com ~all")
    zone.txt(f"google._domainkey.{DOMAIN}", KEY)
    zone.txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=quarantine; rua=mailto:dmarc@lichtblick.example")
    found = findings(dns)
    assert {name: f.level for name, f in found.items()} == {"spf": "ok", "dkim": "ok", "dmarc": "ok"}
    assert found["spf"].record == "v=spf1 include:_spf.google.com ~all"
    assert "quarantine" in found["dmarc"].advice


def test_missing_records_say_what_to_publish(dns):
    zone, _ = dns
    zone.txt(DOMAIN, "google-site-verification=abc")  # the domain exists, without SPF
    found = findings(dns)
    assert {name: f.level for name, f in found.items()} == {"spf": "missing", "dkim": "missing", "dmarc": "missing"}
    assert "v=spf1 include:_spf.google.com ~all" in found["spf"].advice
    assert "google._domainkey.lichtblick.example" in found["dkim"].advice
    assert "Gmail and Yahoo" in found["dmarc"].advice and "_dmarc.lichtblick.example" in found["dmarc"].advice


@pytest.mark.parametrize("records, level, words", [
    (["v=spf1 include:spf.protection.outlook.com -all"], "missing", "include:_spf.google.com"),
    (["v=spf1 include:_spf.google.com ~all", "v=spf1 mx -all"], "missing", "2 SPF records"),
    (["v=spf1 include:_spf.google.com +all"], "warning", "every server in the world"),
])
def test_an_spf_record_that_does_not_do_its_job(dns, records, level, words):
    zone, _ = dns
    zone.txt(DOMAIN, *records)
    spf = findings(dns)["spf"]
    assert spf.level == level and words in spf.advice


def test_a_provider_we_do_not_know_gets_general_advice(dns):
    zone, _ = dns
    zone.txt(DOMAIN, "v=spf1 mx include:mail.example.net -all")
    spf = findings(dns, smtp_host="mail.example.net")["spf"]
    assert spf.level == "ok" and "includes your mail provider" in spf.advice


def test_dkim_needs_a_selector_and_a_key_that_is_not_revoked(dns):
    zone, _ = dns
    zone.txt(DOMAIN, "v=spf1 include:_spf.google.com ~all")
    assert findings(dns, selector="")["dkim"].level == "warning"
    zone.txt(f"google._domainkey.{DOMAIN}", "v=DKIM1; p=")
    dkim = findings(dns)["dkim"]
    assert dkim.level == "missing" and "revoked" in dkim.advice


def test_dns_that_cannot_answer_is_a_clear_error(dns):
    with pytest.raises(DnsProblem, match="does not exist"):
        findings(dns)  # nothing at all for the domain
    with silent_dns() as resolver, pytest.raises(DnsProblem, match="in time"):
        check_domain(DOMAIN, "smtp.gmail.com", "google", timeout=1, resolver=resolver)


def test_the_settings_page_checks_the_saved_from_address(as_olivia, olivia, dns, monkeypatch):
    zone, resolver = dns
    monkeypatch.setattr(deliverability, "new_resolver", lambda: resolver)
    page = text_of(as_olivia.post("/settings/email/dns", {"dns-selector": ""}, htmx=True))
    assert "Save your sending settings first" in page
    account = mailsettings.account_of(olivia.studio)
    mailsettings.save_smtp(account, mailsettings.SmtpInput("smtp.gmail.com", 587, "starttls", "studio@lichtblick.example",
                                                           "x", "studio@lichtblick.example", "", ""), False, utcnow())
    assert 'value="google"' in text_of(as_olivia.get("/settings/email/"))  # Google's selector, filled in
    zone.txt(DOMAIN, "v=spf1 include:_spf.google.com ~all")
    response = as_olivia.post("/settings/email/dns", {"dns-selector": "google"}, htmx=True)
    page = text_of(response)
    assert response.status_code == 200 and '<section id="dns"' in page
    assert "SPF allows your mail provider to send for lichtblick.example." in page
    assert "No DMARC record" in page and "No DKIM key at google._domainkey.lichtblick.example" in page


def test_nested_includes_and_redirects_count(dns):
    zone, _ = dns
    zone.txt(DOMAIN, "v=spf1 include:_spf.lichtblick.example -all")
    zone.txt("_spf.lichtblick.example", "v=spf1 redirect=_spf.google.com")
    zone.txt("_spf.google.com", "v=spf1 include:_netblocks.google.com ~all")
    assert findings(dns)["spf"].level == "ok"


def test_an_address_at_a_mailbox_provider_needs_nothing(dns):
    zone, resolver = dns
    found = check_domain("gmail.com", "smtp.gmail.com", "", timeout=2, resolver=resolver)
    assert [f.level for f in found] == ["ok", "ok", "ok"] and "Nothing to do" in found[0].advice
