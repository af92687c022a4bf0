"""deploy/ tried from scratch without systemd (scripts/check_deploy.py): the units' own commands
start gunicorn, the worker and the cron process on a fresh PostgreSQL database, /healthz turns
200, the provider sign-in configured by the example file's variables leads to each provider as
the README says, an upgrade's migrations run again cleanly, and each process stops on SIGTERM in
time."""
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_the_deploy_units_start_and_stop_as_written():
    done = subprocess.run([sys.executable, "scripts/check_deploy.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "/healthz 200" in done.stdout and "deploy check passed" in done.stdout
    assert "sign in with Microsoft (smtp)" in done.stdout and "sign in with Google (imap)" in done.stdout
    for process in ("web", "worker", "cron"):
        assert f"{process}: stopped" in done.stdout
