"""The README's screenshots come from scripts/screenshots.py: it must keep working as pages change."""
import importlib.util
from pathlib import Path

import pytest

from ..conftest import REDIS_BASE_URL

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"


def test_the_screenshot_script_photographs_every_page_the_readme_shows(tmp_path, monkeypatch, chromium):
    monkeypatch.setenv("REDIS_URL", f"{REDIS_BASE_URL}/14")
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    made = script.main(tmp_path, chromium)  # (one Playwright per process: the session's browser)
    assert [path.name for path in made] == [f"{name}.png" for name, _ in script.PAGES]
    for path in made:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000, path
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    assert all(f"docs/screenshots/{path.name}" in readme for path in made)
