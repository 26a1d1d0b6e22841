"""The report in a real browser: headless Chromium loads the HTML from a file:// URL with no
network, every <img> of the rendered DOM has a data: source, and a screenshot is a non-trivial
PNG. Skipped, saying why, only when no chromium binary is installed."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest

from dadao import cli

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
BROWSER = next((b for b in BROWSERS if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium binary on PATH "
                                "(apt-get install chromium): the browser check is skipped")

from test_report import CONFIG  # noqa: E402  (the same tiny runs)


def _chromium(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, "--headless", "--disable-gpu", "--no-sandbox",
                           "--no-first-run", "--disable-extensions", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    from dadao.runs import run_config

    top = tmp_path_factory.mktemp("browser")
    (top / "small.toml").write_text(CONFIG)
    for seed in (0, 1):
        assert run_config(str(top / "small.toml"), seed=seed, out=str(top / "runs" / f"s{seed}"),
                          checkpoint_every=0).code == 0
    html = top / "report.html"
    assert cli.main(["report", str(top / "runs"), "-o", str(html)]) == 0
    return html


def test_every_image_of_the_dom_is_embedded(report_html, tmp_path):
    done = _chromium(f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                     report_html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "Counts to reach an accuracy" in dom
    imgs = re.findall(r"<img\b[^>]*>", dom)
    assert len(imgs) >= 4
    for tag in imgs:
        assert re.search(r'\ssrc="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', tag), tag[:200]


def test_a_screenshot_is_a_real_picture(report_html, tmp_path):
    shot = tmp_path / "shot.png"
    done = _chromium(f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                     "--window-size=1200,2000", "--hide-scrollbars", report_html.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 2000)
    assert len(data) > 50_000  # figures and tables, not a blank page (a blank one is ~10 kB)
