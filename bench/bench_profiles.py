"""How fast the profile editor answers: template checks, the live preview and saving a profile.

Run: .venv/bin/python bench/bench_profiles.py   (SQLite in a temp folder; prints its figures)
The live preview fires on every pause in typing, so its latency is what a user feels.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from shutterbell import accounts, channels, profiles, templating, triggers  # noqa: E402
from shutterbell.profiles import NotificationInput, ProfileInput  # noqa: E402
from shutterbell.recommended import RECOMMENDED_PROFILES  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{name:<52} median {statistics.median(samples):7.3f} ms   p95 {p95:7.3f} ms   (n={len(samples)})")


def main() -> None:
    folder = Path(os.environ["INSTANCE_PATH"])
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        owner = accounts.create_studio(accounts.NewStudio("Bench", "Europe/Berlin", "de_DE", "b@example.com",
                                                          "benchmark-password"))
        texts = [n for spec in RECOMMENDED_PROFILES for n in spec.notifications]
        context = templating.sample_context("Bench", "de_DE")

        def check_all():
            for n in texts:
                templating.check(n.body, triggers.get(n.trigger), channels.get("email").max_body)

        def render_all():
            for n in texts:
                templating.render(n.subject, n.body, n.channel, context)

        report(f"check {len(texts)} recommended bodies", timed(check_all, 200))
        report(f"render {len(texts)} recommended messages", timed(render_all, 200))

        items = [NotificationInput(trigger="days_before_archived", days=i % 30, audience="all", channel="email",
                                   subject="Last days {{ job.name }}", body=texts[1].body) for i in range(30)]
        profile = profiles.save_profile(owner.studio, None, ProfileInput("Thirty", "", items))
        saved = [NotificationInput.of(n) for n in profile.notifications]

        def save_thirty():
            saved.reverse()
            profiles.save_profile(owner.studio, profile, ProfileInput("Thirty", "", saved))

        report("save a profile of 30 notifications (reordered)", timed(save_thirty, 50))
        thirty_id = profile.id

    client = app.test_client()
    client.post("/login", data={"email": "b@example.com", "password": "benchmark-password"})
    form = {"index": "0", "notifications-0-trigger": "job_published", "notifications-0-audience": "all",
            "notifications-0-channel": "email", "notifications-0-subject": texts[1].subject,
            "notifications-0-body": texts[1].body}
    report("POST /settings/profiles/preview (test client)",
           timed(lambda: client.post("/settings/profiles/preview", data=form, headers={"HX-Request": "true"}), 300))
    report("GET the edit page of a 30-notification profile",
           timed(lambda: client.get(f"/settings/profiles/{thirty_id}"), 50))


if __name__ == "__main__":
    main()
