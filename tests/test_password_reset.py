"""Password reset by email, through the instance's own mail server (aiosmtpd with STARTTLS and
AUTH), and from the shell for an instance without mail."""
import email
import email.policy
import re
from datetime import timedelta

import time_machine

from rq import Queue, SimpleWorker

from shutterbell import accounts, queue
from shutterbell.models import utcnow

from .conftest import PASSWORD, Browser, text_of
from .test_outbox import account, mailbox  # noqa: F401 (fixtures)

NEW_PASSWORD = "Größere Sicherheit für Jürgen €"


def run_worker(app) -> None:
    """The worker's urgent queue, in this process (the reset email is sent there)."""
    connection = queue.connect(app.config["REDIS_URL"])
    SimpleWorker([Queue(queue.urgent(app.config["QUEUE_NAME"]), connection=connection)],
                 connection=connection).work(burst=True, logging_level="WARNING")


def ask_for_reset(browser: Browser, address: str, host: str = "shutterbell.test") -> str:
    """The form as a browser at ``host`` posts it (an attacker's proxy can send any Host header)."""
    page = text_of(browser.get("/forgot", headers={"Host": host}))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = browser._request("post", "/forgot", data={"csrf_token": token, "email": address},
                                headers={"Host": host})
    assert response.status_code == 200
    return text_of(response)


def without_tokens(page: str) -> str:
    """A page without its CSRF tokens: signed with the second they were made, two pages a second
    apart differ there (seen in CI on a slow machine), and nothing else may differ."""
    return re.sub(r'(name="csrf_token" type="hidden" value="|"X-CSRFToken": ")[^"]+', r"\1…", page)


def link_in(raw: bytes) -> str:
    body = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/reset/\S+", body).group(0)


def test_a_reset_link_by_email_sets_a_new_password_once_and_signs_out_every_device(app, olivia, instance_mail):
    laptop = Browser(app.test_client()).sign_in(olivia)
    stranger = Browser(app.test_client())
    known = ask_for_reset(stranger, olivia.email, host="evil.example")  # a poisoned Host header
    unknown = ask_for_reset(stranger, "nobody@lichtblick.example", host="evil.example")
    assert without_tokens(known).replace(olivia.email, "X") == without_tokens(unknown).replace(
        "nobody@lichtblick.example", "X")
    run_worker(app)
    assert len(instance_mail.received) == 1  # to Olivia only
    link = link_in(instance_mail.received[0])
    assert link.startswith("https://photos.lichtblick.example/reset/")  # from BASE_URL, never the Host header
    path = link.removeprefix("https://photos.lichtblick.example")

    phone = Browser(app.test_client())
    assert phone.post(path, {"password": "short"}).status_code == 422
    assert phone.post(path, {"password": NEW_PASSWORD}).status_code == 302
    assert phone.get("/").status_code == 200  # signed in with the new password
    assert laptop.get("/").status_code == 302  # the old session ended
    assert "does not work any more" in text_of(Browser(app.test_client()).get(path))  # used once
    assert Browser(app.test_client()).post("/login", {"email": olivia.email, "password": PASSWORD}).status_code == 422
    Browser(app.test_client()).sign_in(olivia, password=NEW_PASSWORD)


def test_a_reset_link_expires_after_an_hour(app, olivia):
    token = accounts.reset_token(olivia)
    with time_machine.travel(utcnow() + timedelta(minutes=59)):
        assert accounts.user_for_reset(token) == olivia
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        assert accounts.user_for_reset(token) is None
    assert accounts.user_for_reset(token[:-2] + "xx") is None


def test_asking_for_resets_is_rate_limited_per_address(app, olivia, instance_mail):
    browser = Browser(app.test_client())
    for n in range(3):
        ask_for_reset(browser, olivia.email)
    assert browser.post("/forgot", {"email": olivia.email}).status_code == 429
    run_worker(app)
    assert len(instance_mail.received) == 3


def test_without_instance_mail_the_page_says_so_and_the_shell_prints_a_link(app, olivia):
    assert app.config["MAIL_SUPPRESS_SEND"]
    assert "flask --app app reset-password" in text_of(Browser(app.test_client()).get("/forgot"))
    result = app.test_cli_runner().invoke(args=["reset-password", olivia.email])
    assert result.exit_code == 0, result.output
    path = re.search(r"/reset/\S+", result.output).group(0)
    browser = Browser(app.test_client())
    assert browser.post(path, {"password": NEW_PASSWORD}).status_code == 302
    missing = app.test_cli_runner().invoke(args=["reset-password", "nobody@example.com"])
    assert missing.exit_code != 0 and "No user" in missing.output


def test_without_instance_mail_invitations_and_staff_resets_go_out_from_the_studio_s_account(
        app, olivia, sam, account, mailbox, as_olivia):
    """The instance has no MAIL_SERVER, the studio's own account works: the invitation and a staff
    member's reset link go out from the studio's address, and the page says so. The owner's own
    reset link never does (staff may read the Sent folder, and the link would make them owner)."""
    assert app.config["MAIL_SUPPRESS_SEND"]
    page = text_of(as_olivia.post("/settings/users/", {"email": "juergen.weiss@lichtblick.example",
                                                       "name": "Jürgen Weiß"}))
    assert f"Invitation sent to juergen.weiss@lichtblick.example from your studio’s address {account.from_address}" \
        in page.replace("&#8217;", "’")
    assert "/invite/" not in page  # the link went by email only
    invitation = email.message_from_bytes(mailbox.received[0], policy=email.policy.default)
    assert invitation["From"] == f"Studio Lichtblick <{account.from_address}>"
    assert invitation["Subject"] == "You are invited to Studio Lichtblick on Shutterbell"
    assert re.search(r"/invite/\S+", invitation.get_body(("plain",)).get_content())

    browser = Browser(app.test_client())
    # (the page's form section: the CSRF token elsewhere on the page is signed with the time)
    answers = {re.search(r'<section class="card narrow">.*?</section>', ask_for_reset(browser, who.email), re.S)
               .group(0).replace(who.email, "X") for who in (sam, olivia)}
    assert len(answers) == 1 and "no mail server of its own" in answers.pop()  # the same for both
    run_worker(app)
    assert len(mailbox.received) == 2  # Sam's, not Olivia's
    reset = email.message_from_bytes(mailbox.received[1], policy=email.policy.default)
    assert reset["To"] == sam.email and reset["From"] == f"Studio Lichtblick <{account.from_address}>"
    path = re.search(r"/reset/\S+", reset.get_body(("plain",)).get_content()).group(0)
    assert Browser(app.test_client()).post(path, {"password": NEW_PASSWORD}).status_code == 302


def test_a_paused_studio_account_carries_no_invitation_and_the_owner_gets_the_link(app, olivia, account, mailbox,
                                                                                   as_olivia):
    from shutterbell.extensions import db

    account.smtp_failing_since = utcnow()
    db.session.commit()
    page = text_of(as_olivia.post("/settings/users/", {"email": "sam@lichtblick.example", "name": "Sam"}))
    assert "your studio’s email account is not set up or is paused" in page.replace("&#8217;", "’")
    assert "/invite/" in page and mailbox.received == []
