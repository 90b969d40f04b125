"""Solara components of the visualiser: charts as PNG images, the lab table, the status line.

SolaraViz calls each entry of its ``components`` list with the model and re-renders it after
every step; the chart components here show :mod:`marketsim.viz.charts` as PNG images,
redrawn only when the model or its step count changes.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

import solara

from marketsim.viz import charts
from marketsim.viz.params import LABELS, SLIDER_KEYS

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

#: Colour of each regime label in the status line.
REGIME_COLORS: dict[str, str] = {
    "competitive": "#2e7d32",
    "concentrated": "#ef6c00",
    "bifurcated": "#6a1b9a",
    "consolidated": "#c62828",
}
REGIME_MEANING: dict[str, str] = {
    "none yet": "press Step: the label needs months of revenue",
    "competitive": "many labs, revenue spread out",
    "concentrated": "revenue HHI above the 'highly concentrated' line",
    "bifurcated": "a few giants and many small labs, few in between",
    "consolidated": "a handful of survivors hold the market",
}


def chart_png(model: AIMarketModel, key: str) -> bytes:
    """PNG bytes of chart ``key`` (see :data:`marketsim.viz.charts.CHARTS`) for ``model`` now."""
    return charts.live_png(model, key)


@solara.component
def Chart(model: AIMarketModel, key: str, steps: int) -> None:
    """One Matplotlib chart as an image.

    Args:
        model: the model shown (it changes in place as it steps).
        key: which chart, from :data:`marketsim.viz.charts.CHARTS`.
        steps: the model's step count; a new value (or a new model) redraws the chart.
    """
    png = solara.use_memo(lambda: chart_png(model, key), dependencies=[model, steps, key])
    solara.Image(png, width="100%", classes=["marketsim-chart", f"marketsim-chart-{key}"])


@solara.component
def LabTable(model: AIMarketModel, steps: int) -> None:
    """Every lab now: class, status, cash, revenue, valuation, GPUs owned and rented, price.

    ``steps`` is the model's step count; a new value redraws the table.
    """
    html = solara.use_memo(lambda: charts.lab_table_html(model), dependencies=[model, steps])
    solara.Style(charts.TABLE_CSS)
    with solara.Column(gap="4px", style="width: 100%; height: 100%"):
        solara.HTML(tag="div", unsafe_innerHTML="<b>Labs now</b> (exited labs in grey)")
        solara.HTML(tag="div", unsafe_innerHTML=html, classes=["marketsim-lab-table"],
                    style="overflow: auto; max-height: 330px; width: 100%")


def _value(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}" if isinstance(v, float) else str(v)


@solara.component
def StatusLine(model: AIMarketModel, steps: int) -> None:
    """Date (month and year), tick, regime, headline figures and the run's slider settings.

    ``steps`` is the model's step count; a new value redraws the line.
    """
    s = charts.status(model, SLIDER_KEYS)
    color = REGIME_COLORS.get(s["regime"], "#444")
    regime = s["regime"] or "none yet"  # a label needs months of data
    n = s["active_labs"]
    figures = [f"{n} active lab{'' if n == 1 else 's'}"]
    if s["hhi"] is not None:
        figures.append(f"revenue HHI {s['hhi']:,.0f}")
    if s["leader_run_rate"] is not None:
        figures.append(f"leader ${s['leader_run_rate']:,.1f}bn/yr")
    settings = [f"{LABELS.get(k, 'seed' if k == 'rng' else k)} {_value(v)}"
                for k, v in s["params"].items()]
    html = (
        f'<span class="marketsim-date" style="font-size:20px;font-weight:600">'
        f"{s['month']}</span>"
        f'&nbsp;&nbsp;<span class="marketsim-tick">month {s["tick"]} of {s["horizon"]}</span>'
        f'&nbsp;&nbsp;regime: <span class="marketsim-regime" style="font-weight:600;'
        f'color:{color}">{regime}</span>'
        f' <span style="color:#666">({REGIME_MEANING.get(regime, "")})</span>'
        f'<br><span style="color:#444">{" · ".join(figures)} · scenario '
        f"<i>{escape(s['scenario'])}</i></span>"
        f'<br><span class="marketsim-settings" style="color:#777;font-size:12px">'
        f"this run: {escape(' · '.join(settings))} (sliders apply on Reset)</span>"
    )
    if s.get("slider_error"):
        html += (f'<br><span class="marketsim-slider-error" style="color:#b45309;'
                 f'font-weight:600">sliders not applied, showing the scenario as loaded: '
                 f"{escape(s['slider_error'])}</span>")
    if s["error"]:
        html += (f'<br><span class="marketsim-error" style="color:#c62828;font-weight:600">'
                 f"stopped: {escape(s['error'])} (traceback in the server's log; Reset to "
                 "start again)</span>")
    # Its own light background: readable under Solara's dark theme too.
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["marketsim-status"],
                style="padding: 8px 16px; background: #ffffff; color: #222222")


def chart_component(key: str) -> Callable[[AIMarketModel], Any]:
    """A SolaraViz component (a function of the model) showing chart ``key``."""

    def component(model: AIMarketModel) -> Any:
        return Chart(model, key, model.steps)

    component.__name__ = f"{key}_chart"
    return component


def lab_table_component(model: AIMarketModel) -> Any:
    """SolaraViz component showing :func:`LabTable`."""
    return LabTable(model, model.steps)


def status_component(model: AIMarketModel) -> Any:
    """SolaraViz component showing :func:`StatusLine`."""
    return StatusLine(model, model.steps)


def components() -> list[tuple[Callable[[AIMarketModel], Any], int]]:
    """SolaraViz ``components``: the lab table and every chart, all on page 0."""
    return [(lab_table_component, 0), *((chart_component(k), 0) for k, _, _ in charts.CHARTS)]
