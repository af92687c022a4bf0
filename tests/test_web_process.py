"""The web process as `./run` (Procfile) and the systemd unit start it: gunicorn with the app's
settings module, which tunes the garbage collector once a worker has loaded the app (bench/gc_pauses.py
measures what that saves)."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def web_commands() -> list[str]:
    procfile = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")]
    unit = [line for line in (ROOT / "deploy/shutterbell-web.service").read_text().splitlines()
            if line.startswith("ExecStart=")]
    return procfile + unit


def test_run_and_the_deploy_unit_start_gunicorn_with_the_apps_settings():
    """Each command as gunicorn itself reads it: its worker hook is the app's."""
    commands = web_commands()
    assert len(commands) == 2
    for command in commands:
        arguments = shlex.split(re.split(r"\bgunicorn\s", command, maxsplit=1)[1])
        read = subprocess.run([sys.executable, "-c", (
            "import sys; sys.argv = ['gunicorn'] + sys.argv[1:]; "
            "from gunicorn.app.wsgiapp import WSGIApplication; from shutterbell import gunicorn_hooks; "
            "settings = WSGIApplication('%(prog)s [OPTIONS] [APP_MODULE]').cfg; "
            "print(settings.post_worker_init is gunicorn_hooks.post_worker_init)"), *arguments],
            cwd=ROOT, capture_output=True, text=True)
        assert read.stdout.split() == ["True"], (command, read.stdout, read.stderr[-2000:])


def test_a_worker_that_loaded_the_app_freezes_it_and_collects_young_objects_less_often():
    checked = subprocess.run([sys.executable, "-c", (
        "import gc; from shutterbell import gunicorn_hooks as hooks; before = gc.get_threshold(); "
        "hooks.post_worker_init(None); "
        "print(before, gc.get_threshold() == (hooks.YOUNG, hooks.MIDDLE, hooks.OLD), gc.get_freeze_count() > 1000)")],
        cwd=ROOT, capture_output=True, text=True, check=True)
    assert checked.stdout.split(")", 1)[1].split() == ["True", "True"], checked.stdout
