"""The smaller holes the attacker probe found on a default install: each test replays one."""
import email
import email.policy
import os
import re

import pytest

from shutterbell import access_log, accounts, api_tokens, config, mailsettings
from shutterbell.models import utcnow

from .conftest import Browser, text_of
from .test_api import Api, job  # noqa: F401 (fixture)
from .test_email_settings import form as smtp_form
from .test_email_settings import saved_account
from .test_studio_settings import settings


def test_a_huge_id_in_a_url_is_404_not_500(as_olivia, job):  # noqa: F811
    for url in ("/jobs/99999999999999999999999", f"/jobs/{job.id}/customers/99999999999999999999999",
                "/outbox/9223372036854775808", "/settings/profiles/99999999999999999999999",
                "/jobs/2147483648"):  # past PostgreSQL's INTEGER
        assert as_olivia.get(url).status_code == 404, url
    for url in ("/outbox/?job=99999999999999999999", "/outbox/?job=2147483648&page=99999999999999999999",
                "/jobs/?page=99999999999999999999"):
        assert as_olivia.get(url).status_code == 200, url  # an impossible filter is no filter


def test_a_deeply_nested_json_body_is_400_not_500(app, olivia, job):  # noqa: F811
    api = Api(app.test_client(), api_tokens.create(olivia.studio, "Shop", utcnow())[1])
    response = api.call("POST", f"/jobs/{job.id}/customers", raw="[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_tokens_in_urls_stay_out_of_the_access_log():
    line = access_log.redact('POST /u/AFLh8Y2WudM-Rpk HTTP/1.1 "https://photos.example/c/Zx9-abc?x=1"')
    assert line == 'POST /u/[token] HTTP/1.1 "https://photos.example/c/[token]?x=1"'
    assert access_log.redact("GET /invite/abc123/ HTTP/1.1") == "GET /invite/[token]/ HTTP/1.1"
    assert access_log.redact("GET /jobs/12/customers/3 HTTP/1.1") == "GET /jobs/12/customers/3 HTTP/1.1"
    # The real gunicorn log under ./run: tests/e2e/test_run.py follows an unsubscribe link and reads it.


def test_the_instance_folder_is_private(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir(mode=0o755)
    config.load(str(folder), {})
    assert folder.stat().st_mode & 0o777 == 0o700
    for key in ("secret_key", "encryption_key"):
        assert (folder / key).stat().st_mode & 0o077 == 0
    database = tmp_path / "shared.db"
    database.write_bytes(b"")
    database.chmod(0o644)
    config.make_private(database)
    assert database.stat().st_mode & 0o777 == 0o600
    assert os.geteuid() == folder.stat().st_uid


def test_a_sender_name_with_a_line_break_is_refused_on_save_with_the_field_named(as_olivia, olivia, smtp_port):
    for name in ("Studio Lichtblick\r\nBcc: everyone@example.com", "Studio\nLichtblick"):
        response = as_olivia.post("/settings/email/smtp", smtp_form(smtp_port, sender_name=name), htmx=True)
        assert response.status_code == 422
        assert re.search(r"Sender name.*Keep this on one line", text_of(response), re.DOTALL)
    assert saved_account(olivia) is None
    response = as_olivia.post("/settings/studio/", settings(name="Studio\r\nLichtblick"))
    assert response.status_code == 422 and "Keep this on one line" in text_of(response)
    assert mailsettings.account_of(olivia.studio).sender_name in ("", None)


def test_an_invitation_looks_alike_whether_or_not_the_address_has_an_account_elsewhere(app, as_otto, olivia,
                                                                                     instance_mail):
    def answer(address):
        page = text_of(as_otto.post("/settings/users/", {"email": address, "name": ""}))
        flash = re.search(r'class="flash[^"]*"[^>]*>(.*?)<', page, re.DOTALL).group(1)
        row = re.search(rf"<tr>\s*<td>\s*<span class=\"meta\">{re.escape(address)}</span></td>\s*<td>(.*?)</td>",
                        page, re.DOTALL).group(1)
        assert "/invite/" not in page  # sent by email: the link is the invitee's alone
        return flash.replace(address, "ADDRESS"), " ".join(row.split())

    assert answer(olivia.email) == answer("nobody-yet@example.com")  # Olivia signs in to another studio
    mails = {m["To"]: m for m in (email.message_from_bytes(raw, policy=email.policy.default)
                                  for raw in instance_mail.received)}
    told = mails[olivia.email].get_body(("plain",)).get_content()
    assert "already has an account" in told and "/invite/" not in told
    invited = mails["nobody-yet@example.com"].get_body(("plain",)).get_content()
    link = re.search(r"https://\S+(/invite/\S+)", invited).group(1)
    assert Browser(app.test_client()).get(link).status_code == 200


def test_the_invitee_with_an_account_elsewhere_is_told_and_keeps_their_account(app, otto, olivia):
    invitation, token = accounts.invite_staff(otto.studio, olivia.email)
    refused = Browser(app.test_client()).get(f"/invite/{token}")
    assert refused.status_code == 409 and "already has a Shutterbell account" in text_of(refused)
    with pytest.raises(accounts.AccountError):
        accounts.accept_invite(invitation, "Olivia", "another long password")
    Browser(app.test_client()).sign_in(olivia)  # her own account is untouched
