"""The HTML trial report opens in headless Chromium: every figure and the summary table are in
the rendered DOM, and a screenshot of the page is not blank."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from oncotwin.report._demo import synthetic_trial_tables
from oncotwin.report.html import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found on PATH (install it, e.g. `apt-get install chromium`, to render "
    "the HTML report headless)",
)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars")


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run Chromium headless with a throw-away profile under ``cwd`` (60 s timeout)."""
    profile = cwd / "chromium-profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    t = synthetic_trial_tables(n_per_arm=25, arms=("Control", "Experimental"), seed=5)
    out = tmp_path_factory.mktemp("chromium_report")
    return write_report(
        out,
        title="Synthetic trial rendered in Chromium",
        summary=t.summary,
        outcomes=t.outcomes,
        visits=t.visits,
        events=t.events,
        manifest=t.manifest,
        notes=["SYNTHETIC tables (oncotwin.report._demo)."],
    )


def test_dom_has_every_figure_and_the_summary_table(report):
    res = _chromium("--dump-dom", report.as_uri(), cwd=report.parent)
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    images = re.findall(r'<img[^>]*src="data:image/png;base64,([^"]*)"', dom)
    # KM PFS + KM OS + (waterfall, spider, swimmer) x 2 arms + forest
    assert len(images) == 9
    assert all(len(b64) > 1000 for b64 in images)
    summary = dom[dom.index('<section id="summary">') :]
    assert "<table>" in summary[: summary.index("</section>")]
    assert "Objective response rate (ORR)" in dom
    assert "Research simulation (oncotwin): not medical advice." in dom
    assert "<script" not in dom.lower()


def test_screenshot_is_not_blank(report, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "report.png"
    res = _chromium(
        f"--screenshot={shot}", "--window-size=1280,4000", report.as_uri(), cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 10_000
    pixels = imread(shot)
    assert pixels.shape[:2] == (4000, 1280)
    assert float(np.std(pixels[..., :3])) > 0.05
    # the header band (dark navy) is at the top: the CSS was applied
    assert float(pixels[20, 640, :3].mean()) < 0.3
