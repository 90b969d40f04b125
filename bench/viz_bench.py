"""Visualiser speed: model step, chart redraw, and a Step click through SolaraViz.

The goal is a market one can watch: under 0.25 s per month at 10,000 buyers (the default
scenario), redraw included. ``measure()`` times, on the default scenario:

- one model step and the redraw of every chart (Matplotlib to PNG) and the lab table that
  follows it, as the page does after each step (means over two years of months, after a
  warm-up; a month whose chart frame changes, e.g. a new axis range, redraws that chart
  whole, the others redraw only the data);
- a click on Mesa's Step button in the app's Solara page rendered in this process (no
  browser): step, every component re-rendered, widgets updated. A browser adds the
  websocket transfer and painting of the PNGs on top.

Run it alone::

    python -c "import sys; sys.path.insert(0, '.'); from bench.viz_bench import measure; \
print(measure())"
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import time
from typing import Any

#: Goals, seconds: step, redraw, and the whole Step click.
GOAL_STEP, GOAL_RENDER, GOAL_CLICK = 0.05, 0.20, 0.25


def _row(figure: str, value: float, goal: float, ok: bool | None = None) -> dict[str, Any]:
    return {"figure": figure, "value": round(float(value), 3), "goal": f"< {goal:g}",
            "ok": bool(value < goal if ok is None else ok)}


def _median_time(fn: Any, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _render_all(model: Any) -> None:
    from marketsim.viz import charts

    for key, _, _ in charts.CHARTS:
        charts.live_png(model, key)
    charts.lab_table_html(model)


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


def _click_step(months: int) -> float:
    """Median seconds of a Step click in the app's page (default scenario)."""
    import ipyvuetify as v
    import solara

    from marketsim.viz import SCENARIO_ENV, app

    old = os.environ.get(SCENARIO_ENV)
    os.environ[SCENARIO_ENV] = "default"
    app.model_class.cache_clear()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # AppLayout prints its bar outside a kernel
            _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
        try:
            step = rc.find(v.Btn, children=["Step"]).widget
            step.click()  # warm-up
            return _median_time(step.click, months)
        finally:
            rc.close()
    finally:
        app.model_class.cache_clear()
        if old is None:
            os.environ.pop(SCENARIO_ENV, None)
        else:
            os.environ[SCENARIO_ENV] = old


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
    click = _click_step(3 if quick else 10)
    return [
        _row(f"viz: model step, {buyers:,} buyers (s)", step, GOAL_STEP),
        _row("viz: redraw 5 charts + lab table (s)", render, GOAL_RENDER),
        _row(f"viz: Step click in SolaraViz, step + redraw, {buyers:,} buyers (s)", click,
             GOAL_CLICK),
    ]


if __name__ == "__main__":
    for r in measure():
        print(r)
