"""Visualiser speed: model step, chart redraw, and Step and Play in Chromium.

The goals: a Step under 0.25 s from click to charts updated at 10,000 buyers (the default
scenario), and Play at 8 months per second or more. ``measure()`` times, on the default
scenario:

- one model step and the redraw of every chart (Matplotlib to PNG) and the lab table that
  follows it, as the page does after each step (means over two years of months, after a
  warm-up; a month whose chart frame changes, e.g. a new axis range, redraws that chart
  whole, the others redraw only the data);
- in Debian's Chromium (``/usr/bin/chromium``) against ``marketsim viz``: the time from a
  click on Step to every chart showing its new image (median), and the months per second
  Play shows (it runs at most ``app.PLAY_RATE`` months/s, redrawing every
  ``app.DRAW_INTERVAL`` s), then the Step click again with the lab table's first lab
  followed (a click on its row; its chart redraws too): a figure for information, beside
  the goal it would meet. Without Chromium these rows say so and fail.

Run it alone::

    python -c "import sys; sys.path.insert(0, '.'); from bench.viz_bench import measure; \
print(measure())"
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

#: Goals, seconds: step, redraw, and the whole Step click; Play, months per second.
GOAL_STEP, GOAL_RENDER, GOAL_CLICK = 0.05, 0.20, 0.25
GOAL_PLAY = 8.0


def _row(figure: str, value: float, goal: float, ok: bool | None = None) -> dict[str, Any]:
    return {"figure": figure, "value": round(float(value), 3), "goal": f"< {goal:g}",
            "ok": bool(value < goal if ok is None else ok)}


def _render_all(model: Any) -> None:
    from marketsim.viz import charts, data

    for key, _, _ in charts.CHARTS:
        charts.live_png(model, key)
    data.lab_table_html(model)


def _step_and_redraw(model: Any, months: int) -> tuple[float, float]:
    """Mean seconds per month of the model step and of the redraw that follows it."""
    step = redraw = 0.0
    for _ in range(months):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        _render_all(model)
        t2 = time.perf_counter()
        step, redraw = step + (t1 - t0), redraw + (t2 - t1)
    return step / months, redraw / months


#: JavaScript: click Step, resolve with the milliseconds until every chart (and the followed
#: lab's, if any) shows a new image.
_STEP_JS = """async () => {
  const imgs = () => Array.from(document.querySelectorAll(
    'img.marketsim-chart, img.marketsim-followed'));
  const before = imgs().map(i => i.src);
  const step = Array.from(document.querySelectorAll('button'))
    .find(b => b.innerText.trim().toUpperCase() === 'STEP');
  const t0 = performance.now();
  step.click();
  return await new Promise(done => {
    const poll = () => {
      const now = imgs();
      const ready = now.length === before.length && now.every(
        (im, k) => im.src !== before[k] && im.complete && im.naturalWidth > 0);
      if (ready || performance.now() - t0 > 20000) done(performance.now() - t0);
      else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  });
}"""


def _month(page: Any) -> int:
    import re

    text = page.locator(".marketsim-status").inner_text()
    return int(re.search(r"month (\d+) of", text)[1])


def _play_rate(page: Any, seconds: float) -> float:
    """Months per second Play shows over ``seconds`` (after a second to get going)."""
    page.get_by_role("button", name="\u25b6 Play", exact=True).click()
    page.wait_for_timeout(1000)  # Play under way
    m0, t0 = _month(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    rate = (_month(page) - m0) / (time.perf_counter() - t0)
    pause = page.get_by_role("button", name="\u275a\u275a Pause", exact=True)
    if pause.is_enabled():  # at the horizon Play has stopped by itself
        pause.click()
    page.get_by_role("button", name="\u25b6 Play", exact=True).wait_for()
    return rate


def _in_chromium(clicks: int, play_seconds: float) -> tuple[float, float, float] | None:
    """Step click to charts updated (median s), Play (months/s), Step with a lab followed.

    In Chromium against ``marketsim viz`` on the default scenario; the followed lab is the
    lab table's first (a click on its row). None without Debian's Chromium.
    """
    import sys
    from pathlib import Path

    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from browser_util import CHROMIUM, browser_page, viz_server, wait_loaded

    if not os.access(CHROMIUM, os.X_OK):
        return None
    with viz_server("default") as url, browser_page() as (page, _):
        page.goto(url)
        wait_loaded(page)
        for _ in range(3):  # warm-up: first frames of every chart
            page.evaluate(_STEP_JS)
        step = statistics.median(page.evaluate(_STEP_JS) / 1000 for _ in range(clicks))
        rate = _play_rate(page, play_seconds)
        page.locator(".marketsim-lab-table tr[data-lab]").first.click()
        page.locator("img.marketsim-followed").wait_for()
        page.evaluate(_STEP_JS)  # warm-up: the followed lab's first frame
        followed = statistics.median(page.evaluate(_STEP_JS) / 1000
                                     for _ in range(max(clicks // 2, 3)))
    return step, rate, followed


def measure(quick: bool = False) -> list[dict[str, Any]]:
    """Visualiser figures with their goals.

    Args:
        quick: fewer repetitions (a smoke test of the figures, not a measurement).

    Returns:
        Rows ``{"figure", "value", "goal", "ok"}``: model step (s), redraw of all charts and
        the lab table (s), Step click through the Solara page (median s), on the default
        scenario.
    """
    from marketsim.scenario import load_scenario
    from marketsim.viz.vizmodel import viz_model_class

    sc = load_scenario("default")
    buyers = sc.buyers.count
    model = viz_model_class(sc)(rng=0)
    model.run(6)
    _render_all(model)  # the first drawing of every chart's frame
    step, render = _step_and_redraw(model, 6 if quick else 24)
    rows = [_row(f"viz: model step, {buyers:,} buyers (s)", step, GOAL_STEP),
            _row("viz: redraw 5 charts + lab table (s)", render, GOAL_RENDER)]
    # 6 s of Play at ~12 months/s stays short of the default's 120-month horizon
    browser = _in_chromium(3 if quick else 12, 2.0 if quick else 6.0)
    if browser is None:
        return [*rows, {"figure": "viz: in Chromium (not installed: skipped)", "value": 0.0,
                        "goal": "-", "ok": False}]
    click, rate, followed = browser
    return [*rows,
            _row(f"viz: Step click to charts updated in Chromium, {buyers:,} buyers (s)",
                 click, GOAL_CLICK),
            {"figure": "viz: Play in Chromium (months/s)", "value": round(rate, 2),
             "goal": f">= {GOAL_PLAY:g}", "ok": bool(rate >= GOAL_PLAY)},
            {"figure": "viz: Step click with a lab followed, in Chromium (s)",
             "value": round(followed, 3), "goal": f"< {GOAL_CLICK:g} (not a goal)",
             "ok": None}]


if __name__ == "__main__":
    for r in measure():
        print(r)
