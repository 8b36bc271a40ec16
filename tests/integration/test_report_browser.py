"""report.html in a real browser (headless Chromium): every picture decodes, nothing errors.

No websocket/CDP client is needed: a TEST copy of the page gets an inline script
(never the shipped report) that, on load, writes a verdict into the DOM —
image count, images whose naturalWidth is 0, and every error event, CSP
violation and console.error — and `chromium --dump-dom` prints it. Chromium's
own log (--enable-logging=stderr) is also searched for console messages from
the page. The shipped page's Content-Security-Policy (img-src data: only)
turns any reference to a file or URL outside the page into such an error.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fakes import CLOUD_RECORDS, RECORD_CPU, make_run  # the same inputs as the report tests

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian: apt-get install chromium)"),
]

CHECK_SCRIPT = """<script>
window.__kp = [];
window.addEventListener("error", function (e) {
  window.__kp.push("error: " + (e.message || (e.target && (e.target.src || e.target.href)) || e.type));
}, true);
document.addEventListener("securitypolicyviolation", function (e) {
  window.__kp.push("csp: " + e.violatedDirective + " " + e.blockedURI);
});
var __ce = console.error;
console.error = function () {
  window.__kp.push("console.error: " + Array.prototype.join.call(arguments, " "));
  return __ce.apply(console, arguments);
};
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                   .map(function (i) { return i.alt; });
  var pre = document.createElement("pre");
  pre.id = "kpbench-check"; pre.hidden = true;
  pre.textContent = JSON.stringify({images: imgs.length, broken: broken, errors: window.__kp});
  document.body.appendChild(pre);
});
</script>
"""


def chromium(*args: str, profile: Path, timeout_s: float = 90) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)


def checked_copy(html_path: Path, out: Path) -> Path:
    """The report with the check script, allowed by its CSP; the shipped file is left as it is."""
    html = html_path.read_text(encoding="utf-8")
    html, n = re.subn(r'(http-equiv="Content-Security-Policy" content=")([^"]*)"',
                      lambda m: f"{m.group(1)}{m.group(2)}; script-src 'unsafe-inline'\"", html)
    assert n == 1, "the report declares a Content-Security-Policy"
    html = html.replace('<meta name="viewport"', CHECK_SCRIPT + '<meta name="viewport"', 1)
    out.write_text(html, encoding="utf-8")
    return out


def browser_verdict(html_path: Path, tmp: Path) -> tuple[dict, list[str]]:
    copy = checked_copy(html_path, tmp / "checked.html")
    proc = chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom",
                    copy.as_uri(), profile=tmp / "profile-dom")
    m = re.search(r'<pre id="kpbench-check"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    assert m, f"no verdict in the DOM; chromium said: {proc.stderr[-2000:]}"
    verdict = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln and "file://" in ln]
    return verdict, console


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    from kpbench.report import write_report

    tmp = tmp_path_factory.mktemp("browser")
    run = make_run(tmp / "runs" / "default")
    return write_report([RECORD_CPU, *CLOUD_RECORDS], [run], tmp / "out").html


def test_every_image_decodes_and_the_page_has_no_errors(report_html, tmp_path):
    verdict, console = browser_verdict(report_html, tmp_path)
    assert verdict["images"] >= 4
    assert verdict["broken"] == []
    assert verdict["errors"] == []
    assert console == []


def test_an_outside_reference_would_be_caught(report_html, tmp_path):
    # The check itself works: a picture from outside the file is blocked and reported.
    bad = tmp_path / "bad.html"
    bad.write_text(report_html.read_text(encoding="utf-8").replace(
        "</body>", '<img src="https://example.com/x.png" alt="outside"></body>'), encoding="utf-8")
    verdict, console = browser_verdict(bad, tmp_path)
    assert verdict["broken"] == ["outside"]
    assert any("csp" in e for e in verdict["errors"]) or console


def test_screenshot_shows_the_page(report_html, tmp_path):
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,1600", report_html.as_uri(), profile=tmp_path / "profile")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a blank page compresses to a few kB
