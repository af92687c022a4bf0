"""Try deploy/ without systemd: the three units' commands, as they are written, against a fresh
PostgreSQL database and a Redis of their own. Passes when the web unit's ExecStartPre (the
migrations) succeeds, gunicorn, the worker and the cron process start, /healthz answers 200
(the worker ran the cron's heartbeat, the cron made a scheduler pass), the owner set up with
`flask setup-token` finds Sign in with Microsoft and Google (the example file's OAUTH_ variables
filled in) and each button leads to its provider with the redirect URL and scopes the README
says to register, an upgrade's `flask db upgrade` runs again cleanly, and every process stops
on SIGTERM within the unit's TimeoutStopSec.

    .venv/bin/python scripts/check_deploy.py      # prints what it did; exit status 0 when it passed

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and redis-server on the PATH.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("shutterbell-web.service", "shutterbell-worker@.service", "shutterbell-cron.service")
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
HEALTHY_WITHIN = 150  # seconds: the cron runs its jobs every minute


def unit(name: str) -> dict[str, list[str]]:
    """The [Service] settings of a unit file: name -> its values, in order."""
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def command(line: str, port: int) -> list[str]:
    """A unit's command, here instead of /opt/shutterbell, on a free port instead of 8000."""
    line = line.replace("/opt/shutterbell", str(ROOT)).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return shlex.split(line)


def environment(database_url: str, redis_url: str, base_url: str) -> dict[str, str]:
    """The example environment file, filled in as step 2 of deploy/README.md says (no instance mail:
    nothing here may reach a real mail server; the provider sign-in's variables uncommented)."""
    values = {}
    for line in (DEPLOY / "shutterbell.env.example").read_text().splitlines():
        if line.startswith("#OAUTH_"):
            key, _, value = line[1:].partition("=")
            values[key] = value or f"{key.lower()}-from-the-provider"
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    from cryptography.fernet import Fernet

    values.update(DATABASE_URL=database_url, REDIS_URL=redis_url, BASE_URL=base_url,
                  SECRET_KEY=secrets.token_urlsafe(48), ENCRYPTION_KEYS=Fernet.generate_key().decode(),
                  SESSION_COOKIE_SECURE="0", TRUSTED_PROXIES="0")
    for key in [k for k in values if k.startswith("MAIL_")]:
        del values[key]
    return {**{k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME")}, **values,
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="shutterbell-deploy-")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(sql: str) -> None:
    subprocess.run(["psql", POSTGRES + "/postgres", "-q", "-c", sql], check=True, capture_output=True)


def healthz(base_url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base_url + "/healthz", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError:
        return 0, {}


def _csrf(page: requests.Response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def check_sign_in_offered(base_url: str, env: dict[str, str]) -> None:
    """Set the studio up as its owner would, then press each provider's button: it must lead to
    the provider with the redirect URL the README says to register, PKCE and the scopes."""
    token = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "app", "setup-token"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    browser = requests.Session()
    browser.post(f"{base_url}/setup", data={
        "csrf_token": _csrf(browser.get(f"{base_url}/setup")), "setup_token": token,
        "studio_name": "Fotostudio Lichtblick", "time_zone": "Europe/Berlin", "country": "DE", "locale": "en_GB",
        "owner_email": "olivia@lichtblick.example", "password": "Lichtblick-2026!"}, timeout=10)
    page = browser.get(f"{base_url}/settings/email/", timeout=10)
    assert page.status_code == 200 and page.url.endswith("/settings/email/"), f"not signed in: {page.url}"
    for service, provider, host, scopes in (
            ("smtp", "microsoft", "login.microsoftonline.com",
             {"https://outlook.office.com/SMTP.Send", "https://outlook.office.com/IMAP.AccessAsUser.All",
              "offline_access"}),
            ("imap", "google", "accounts.google.com", {"https://mail.google.com/"})):
        label = provider.capitalize()
        assert page.text.count(f"Sign in with {label}") == 2, f"no Sign in with {label} for sending and the inbox"
        leave = browser.post(f"{base_url}/settings/email/{service}/oauth/{provider}", allow_redirects=False,
                             data={"csrf_token": _csrf(page), f"{service}-oauth-address": "info@lichtblick.example"},
                             timeout=10)
        to = urlsplit(leave.headers.get("Location", ""))
        query = {key: values[0] for key, values in parse_qs(to.query).items()}
        assert leave.status_code == 302 and to.hostname == host, f"{label}: {leave.status_code} {to.geturl()}"
        assert query["redirect_uri"] == f"{base_url}/settings/email/oauth/{provider}/done", query
        assert set(query["scope"].split()) == scopes and query["code_challenge_method"] == "S256", query
        assert query["client_id"] == env[f"OAUTH_{provider.upper()}_CLIENT_ID"], query
        print(f"sign in with {label} ({service}): to {host}, back to {query['redirect_uri']}")


def main() -> int:
    web, worker, cron = (unit(name) for name in UNITS)
    database = f"shutterbell_deploy_{secrets.token_hex(4)}"
    redis_port, web_port = free_port(), free_port()
    psql(f"CREATE DATABASE {database}")
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{web_port}"
    env = environment(f"{POSTGRES}/{database}", f"redis://127.0.0.1:{redis_port}/0", base_url)
    processes: dict[str, subprocess.Popen] = {}
    try:
        for line in web["ExecStartPre"]:
            done = subprocess.run(command(line, web_port), cwd=ROOT, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"ExecStartPre failed: {line}\n{done.stderr[-2000:]}"
            print(f"web ExecStartPre: {line.split('/')[-1]}: ok")
        started = time.monotonic()
        for name, settings in (("web", web), ("worker", worker), ("cron", cron)):
            processes[name] = subprocess.Popen(command(settings["ExecStart"][0], web_port), cwd=ROOT, env=env,
                                               start_new_session=True, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.PIPE, text=True)
        status, report = 0, {}
        while time.monotonic() - started < HEALTHY_WITHIN:
            for name, process in processes.items():
                assert process.poll() is None, f"{name} exited: {process.stderr.read()[-2000:]}"
            status, report = healthz(base_url)
            if status == 200:
                break
            time.sleep(2)
        assert status == 200, f"/healthz answered {status} after {HEALTHY_WITHIN} s: {report}"
        print(f"gunicorn, worker and cron started; /healthz 200 after {time.monotonic() - started:.0f} s: {report}")
        check_sign_in_offered(base_url, env)

        upgrade = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
        current = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "app", "db", "current"], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
        assert upgrade.returncode == 0 and "(head)" in current.stdout, upgrade.stderr[-2000:] + current.stdout
        print("upgrade: flask db upgrade runs again cleanly; the database is at head")

        for name, process in processes.items():
            settings = {"web": web, "worker": worker, "cron": cron}[name]
            limit = int(re.sub(r"\D", "", settings.get("TimeoutStopSec", ["90"])[0]) or 90)
            stopping = time.monotonic()
            os.killpg(process.pid, signal.SIGTERM)  # as systemd does: every process of the unit
            process.wait(timeout=limit)
            print(f"{name}: stopped {time.monotonic() - stopping:.1f} s after SIGTERM (limit {limit} s)")
        print("deploy check passed")
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        redis.terminate()
        redis.wait()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
