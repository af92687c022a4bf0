"""The README's promise: `./run` starts everything on embedded defaults, prints the set-up token,
stops cleanly on Ctrl-C, and keeps the data for the next run."""
import email
import email.policy
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ..conftest import PASSWORD
from ..mailservers import PASSWORD as SMTP_PASSWORD
from ..mailservers import SENDER, USERNAME
from .conftest import de

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    """`./run` in its own process group, as a terminal runs it; Ctrl-C goes to the whole group."""

    def __init__(self, instance: Path, port: int, **extra_env: str):
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "BASE_URL")}
        env.update(INSTANCE_PATH=str(instance), PORT=str(port), PYTHONUNBUFFERED="1", **extra_env)
        self.log = open(instance / f"run-{time.time_ns()}.log", "w+")
        self.process = subprocess.Popen(["./run"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def wait_until(self, pattern: str, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            assert self.process.poll() is None, self.output()
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} never appeared:\n{self.output()}")

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=30)


class Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        return self.opener.open(self.base + path, timeout=10).read().decode()

    def post(self, path: str, data: dict, form_page: str | None = None) -> tuple[int, str]:
        """Post ``data`` as the form on ``form_page`` (default: ``path`` itself) would."""
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.get(form_page or path)).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, **data}).encode()
        try:
            response = self.opener.open(self.base + path, body, timeout=10)
            return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def wait_for_http(url: str, run: Run, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/login", timeout=2)
            return
        except OSError:
            assert run.process.poll() is None, run.output()
            time.sleep(0.3)
    raise AssertionError(run.output())


def test_run_starts_everything_and_keeps_the_data(tmp_path):
    port = free_port()
    run = Run(tmp_path, port)
    try:
        token = run.wait_until(r"one-time token: (\S+)").group(1)
        assert f"http://127.0.0.1:{port}" in run.output()
        wait_for_http(run.url, run)
        run.wait_until(r"heartbeat\(\) job in")  # cron enqueued it, the worker ran it: Redis works
        client = Client(run.url)
        status, page = client.post("/setup", {
            "setup_token": token, "studio_name": "Studio Lichtblick", "time_zone": "Europe/Berlin",
            "locale": "de_DE", "owner_email": "olivia@lichtblick.example", "password": PASSWORD})
        assert status == 200 and de("Recommended: standard") in page  # a German studio, in German
        assert de("The background worker is running (last check-in %(num)d seconds ago).").split("(")[0] \
            in client.get("/")
    finally:
        code = run.stop()
    assert code in (0, 130, 1), run.output()  # honcho exits after stopping every process
    output = run.output()
    assert "redis.1 stopped" in output and "worker.1 stopped" in output
    assert "Traceback" not in output, output  # Redis stops last, after the worker and cron let go
    assert "process stopped" not in output  # Ctrl-C is a stop asked for: no process "died"
    assert output.index("worker.1 stopped") < output.index("redis.1 stopped")
    assert not (tmp_path / "redis.sock").exists()

    again = Run(tmp_path, port)
    try:
        again.wait_until(r"already has a studio")
        wait_for_http(again.url, again)
        status, page = Client(again.url).post("/login", {"email": "olivia@lichtblick.example", "password": PASSWORD})
        assert status == 200 and "Studio Lichtblick" in page
    finally:
        again.stop()


def test_when_a_process_dies_run_says_which_and_why_and_stops_the_rest(tmp_path):
    """Another program holds the port: the web process cannot start, and ./run says so in its own
    words rather than leaving the user to find gunicorn's among the others'."""
    port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        run = Run(tmp_path, port)
        try:
            code = run.process.wait(timeout=90)
        finally:
            if run.process.poll() is None:
                run.stop()
    output = run.output()
    assert code != 0
    assert "Shutterbell's web process stopped: it exited with code 1." in output, output
    assert 'marked "web.1"' in output and "Connection in use" in output
    assert output.count("process stopped:") == 1  # the others were stopped, not dead
    assert "worker.1 stopped" in output and "redis.1 stopped" in output


def test_links_in_an_email_sent_under_run_lead_back_to_the_address_it_printed(tmp_path, server, certificate):
    """honcho gives each process its own PORT; the links in the email must not follow it."""
    mailbox, smtp_port = server
    port = free_port()
    run = Run(tmp_path, port, MAIL_CA_FILE=str(certificate[0]))
    try:
        token = run.wait_until(r"one-time token: (\S+)").group(1)
        wait_for_http(run.url, run)
        owner = Client(run.url)
        owner.post("/setup", {"setup_token": token, "studio_name": "Fotostudio Jürgens", "time_zone": "Europe/Berlin",
                              "locale": "de_DE", "owner_email": "olivia@lichtblick.example", "password": PASSWORD})
        status, page = owner.post("/settings/email/smtp", {
            "preset": "", "host": "127.0.0.1", "port": str(smtp_port), "security": "starttls", "username": USERNAME,
            "password": SMTP_PASSWORD, "from_address": SENDER, "sender_name": "Fotostudio Jürgens", "reply_to": "",
            "limit_per_day": "500"}, form_page="/settings/email/")
        assert status == 200 and de("Sending settings saved.") in page, page
        status, page = owner.post("/jobs/new", {"name": "Kita Löwenzahn", "status": "active"})
        assert "Kita Löwenzahn" in page, page
        code = re.search(r'class="meta">\w+ ([A-Z0-9]+)<', page).group(1)
        status, page = Client(run.url).post(f"/j/{code}", {"first_name": "Jürgen", "last_name": "Groß",
                                                           "email": "juergen@example.de", "email_consent": "y"})
        assert status == 200, page
        deadline = time.monotonic() + 60
        while not mailbox.received:
            assert time.monotonic() < deadline, run.output()
            time.sleep(0.2)
        sent = email.message_from_bytes(mailbox.received[0], policy=email.policy.default)
        unsubscribe = sent["List-Unsubscribe"].strip("<>")
        confirm = re.search(r"https?://\S+/c/\S+", sent.get_body(("plain",)).get_content()).group(0)
        assert unsubscribe.startswith(f"{run.url}/u/") and confirm.startswith(f"{run.url}/c/")
        # The mail provider's one-click unsubscribe (RFC 8058): a POST with no form of ours.
        request = urllib.request.Request(unsubscribe, data=b"List-Unsubscribe=One-Click", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and de("You are unsubscribed") in response.read().decode()
        token = unsubscribe.rsplit("/", 1)[1]
        run.wait_until(r'"POST /u/\[token\] HTTP/1.1" 200')  # gunicorn's access log, without the token
        assert token not in run.output()
        # The instance folder and the database in it are the owner's alone.
        assert tmp_path.stat().st_mode & 0o777 == 0o700
        assert all((tmp_path / name).stat().st_mode & 0o077 == 0 for name in ("shutterbell.db", "secret_key"))
    finally:
        run.stop()
