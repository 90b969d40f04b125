"""Helpers for the browser tests: Debian Chromium, a `marketsim viz` server, Playwright.

Also a script: ``python tests/browser_util.py docs/visualiser.png [SCENARIO]`` serves the
visualiser, steps it a few months in headless Chromium and saves a screenshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from sweep_util import stop

from marketsim.viz.charts import CHARTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
REPO = Path(__file__).resolve().parent.parent


def ensure_chromium(timeout: float = 480.0) -> str | None:
    """Path of Debian's Chromium, installing it with apt-get if missing; None if impossible."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(cmd, env=env, check=True, timeout=timeout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (subprocess.SubprocessError, OSError):
        return None
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def viz_server(scenario: str | None = None, *, env: dict[str, str] | None = None,
               timeout: float = 120.0, log: Path | None = None,
               args: list[str] | None = None) -> Iterator[str]:
    """Run ``marketsim viz`` on a free 127.0.0.1 port; yield its URL; always stop it.

    ``args`` are more arguments of ``marketsim viz`` (e.g. ``--replay DIR --run 0``).

    The server runs in its own process group and is stopped by killing that group (its PID),
    also when the body raises.
    """
    port = free_port()
    script = Path(sys.executable).parent / "marketsim"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "marketsim.cli"]
    cmd += ["viz", *([scenario] if scenario else []), *(args or []), "--host", "127.0.0.1",
            "--port", str(port)]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not _answers(port):
            if proc.poll() is not None:
                raise RuntimeError(f"marketsim viz exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"marketsim viz did not answer on port {port}")
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc, group=True, timeout=15)  # the server and its children, by process group
        if log:
            out.close()


@contextlib.contextmanager
def browser_page(executable: str = CHROMIUM, width: int = 1440,
                 height: int = 900) -> Iterator[tuple[object, list[str]]]:
    """A Playwright page in headless Chromium and the list of every URL it requested.

    The list holds every HTTP request's URL and every websocket's URL, as they happen.
    """
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height},
                                    accept_downloads=True)
            page.on("request", lambda r: requests.append(r.url))
            page.on("websocket", lambda ws: requests.append(ws.url))
            yield page, requests
        finally:
            browser.close()


def foreign_hosts(urls: list[str]) -> set[str]:
    """Hosts other than 127.0.0.1 among ``urls`` (data: and blob: URLs have no host)."""
    hosts = {urlsplit(u).hostname for u in urls if urlsplit(u).scheme in ("http", "https",
                                                                         "ws", "wss")}
    return {h for h in hosts if h != "127.0.0.1"}


def click_button(page, label: str) -> None:  # noqa: ANN001 - Playwright Page
    """Click the button whose text is ``label`` exactly."""
    page.get_by_role("button", name=label, exact=True).click()


#: JavaScript expression: the sources of the chart images once all of them have loaded,
#: '' before (charts arrive one by one).
_CHART_SOURCES_JS = f"""(() => {{
  const imgs = Array.from(document.querySelectorAll('img.marketsim-chart'));
  return imgs.length === {len(CHARTS)} && imgs.every(e => e.complete && e.naturalWidth > 0)
    ? imgs.map(e => e.src).join(' ') : '';
}})()"""

#: JavaScript: ``{chart key: hash of its pixels}``, ``null`` for a chart not (yet) shown once.
#: Pixels, not ``src``: a re-mounted image gets a new blob URL for the same picture.
_CHART_PIXELS_JS = """() => {
  const out = {};
  for (const img of document.querySelectorAll('img.marketsim-chart')) {
    const key = Array.from(img.classList).find(c => c.startsWith('marketsim-chart-'));
    if (key in out || !img.complete || !img.naturalWidth) { out[key] = null; continue; }
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let h = 2166136261;
    for (let i = 0; i < data.length; i++) { h = Math.imul(h ^ data[i], 16777619); }
    out[key] = `${canvas.width}x${canvas.height}:${(h >>> 0).toString(16)}`;
  }
  return out;
}"""


def wait_still(page, value_js: str, quiet_ms: float = 1000,  # noqa: ANN001
               timeout_ms: float = 30_000) -> None:
    """Wait until the JavaScript expression ``value_js`` has kept one value for ``quiet_ms``.

    The value '' means "not there yet" and never counts as still. Times out (fails) if the
    value keeps changing.
    """
    page.wait_for_function(f"""quiet => {{
      const now = ({value_js});
      const all = window.__marketsimStill || (window.__marketsimStill = {{}});
      const seen = all[{json.dumps(value_js)}] || (all[{json.dumps(value_js)}] = {{since: 0}});
      if (now !== seen.value) {{ seen.value = now; seen.since = performance.now(); }}
      return now !== '' && performance.now() - seen.since > quiet;
    }}""", arg=quiet_ms, timeout=timeout_ms)


def wait_loaded(page, timeout_ms: float = 90_000) -> None:  # noqa: ANN001
    """Wait until the page shows its Step button and every chart, settled.

    Charts render one by one, slowly on a busy machine: wait for all of them, unchanged for a
    second.
    """
    page.get_by_role("button", name="Step", exact=True).wait_for(timeout=timeout_ms)
    wait_still(page, _CHART_SOURCES_JS, timeout_ms=timeout_ms)


def chart_pixels(page) -> dict[str, str | None]:  # noqa: ANN001
    """A hash of each chart's pixels by its CSS class (``None`` while not shown exactly once)."""
    return page.evaluate(_CHART_PIXELS_JS)


def wait_charts_changed(page, before: dict[str, str | None],  # noqa: ANN001
                        timeout_ms: float = 30_000) -> None:
    """Wait until every chart shows a picture other than in ``before`` (see chart_pixels)."""
    js = f"""before => {{
      const now = ({_CHART_PIXELS_JS})();
      const keys = Object.keys(now);
      return keys.length === {len(CHARTS)} && keys.every(k => now[k] && now[k] !== before[k]);
    }}"""
    try:
        page.wait_for_function(js, arg=before, timeout=timeout_ms, polling=100)
    except Exception as err:
        raise AssertionError(f"charts did not all change: before {before}, "
                             f"now {chart_pixels(page)}") from err


def status_text(page) -> str:  # noqa: ANN001
    """Text of the status line (date, month, regime)."""
    return page.locator(".marketsim-status").inner_text()


def step_months(page, months: int) -> None:  # noqa: ANN001
    """Click Step ``months`` times, each time waiting for the status line to move on."""
    for _ in range(months):
        before = status_text(page)
        click_button(page, "Step")
        page.wait_for_function(
            "b => document.querySelector('.marketsim-status').innerText !== b", arg=before)


def screenshot(path: Path, scenario: str | None = None, months: int = 40,
               follow: bool = False, full: bool = False) -> None:
    """Serve the visualiser, step it ``months`` times and save a 1440x900 screenshot.

    ``follow`` follows the lab of the lab table's first row (a click on it); ``full`` makes
    the window 1,700 pixels high, to show the whole page (it scrolls inside its own frame,
    which a full-page shot misses).
    """
    with viz_server(scenario) as url, browser_page(height=1700 if full else 900) as (page, _):
        page.goto(url)
        wait_loaded(page)
        step_months(page, months)
        if follow:  # the lab on the table's top row: the leader by revenue
            page.locator(".marketsim-lab-table tr[data-lab]").first.click()
            page.locator("img.marketsim-followed").wait_for()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(path))


if __name__ == "__main__":
    named = [a for a in sys.argv[2:] if not a.startswith("--")]
    screenshot(Path(sys.argv[1]), named[0] if named else None,
               follow="--follow" in sys.argv, full="--full" in sys.argv)
