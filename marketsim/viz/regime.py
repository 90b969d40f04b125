"""The regime label as the page shows it: its tests with this month's values, its colours.

The label (``model.regime``) is decided on figures averaged over the trailing window
(``model.regime_window``, the last 12 months' statistics): :func:`regime_checks` lists each
test of the label with that windowed value and its threshold, so the page shows *why* the
market carries its label. It is the one place that knows the label's rules; the band along
every time axis (:func:`regime_color`) works for whatever label strings the model gives.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

#: Colour of each known regime label; any other label gets a stable colour of its own.
REGIME_COLORS: dict[str, str] = {
    "competitive": "#2e7d32",
    "concentrated": "#ef6c00",
    "bifurcated": "#6a1b9a",
    "consolidated": "#c62828",
}
#: One line on what each known label means.
REGIME_MEANING: dict[str, str] = {
    "competitive": "many labs, revenue spread out",
    "concentrated": "revenue HHI above the 'highly concentrated' line",
    "bifurcated": "a few giants owning compute, many small labs renting, few in between",
    "consolidated": "a handful of survivors hold the market",
}
_SPARE = ("#00838f", "#5d4037", "#ad1457", "#455a64", "#9e9d24")


def regime_color(label: str | None) -> str:
    """Colour of regime ``label`` (grey for none; an unknown label gets a fixed spare colour)."""
    if not label:
        return "#bdbdbd"
    if label in REGIME_COLORS:
        return REGIME_COLORS[label]
    digest = hashlib.sha1(label.encode()).digest()
    return _SPARE[digest[0] % len(_SPARE)]


class Check(NamedTuple):
    """One test of the regime label.

    Attributes:
        name: what is tested, with its window ("revenue HHI, 12-month avg").
        value: this month's value of the tested figure.
        op: the comparison, ``">"``, ``">="``, ``"<="``.
        threshold: the scenario's ``[regime]`` threshold.
        passed: the comparison holds.
        feeds: the labels this test decides.
    """

    name: str
    value: float
    op: str
    threshold: float
    passed: bool
    feeds: str


_OPS = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}
#: How the page writes each comparison.
OP_TEXT = {">": ">", ">=": "\u2265", "<=": "\u2264"}

#: Windowed figures of the label: (stats key, name on the page).
WINDOWED: tuple[tuple[str, str], ...] = (
    ("hhi_revenue", "revenue HHI"),
    ("bimodality", "size bimodality"),
    ("middle_share", "middle-band share"),
    ("leader_owned_share", "leader's owned share"),
    ("small_rented_share", "small labs' rented share"),
)


def window_means(model: AIMarketModel) -> dict[str, float]:
    """Mean of each :data:`WINDOWED` figure over ``model.regime_window`` (NaN when empty)."""
    window = model.regime_window
    return {k: (math.fsum(w[k] for w in window) / len(window) if window else math.nan)
            for k, _ in WINDOWED}


def regime_checks(model: AIMarketModel) -> list[Check]:
    """Each test of the regime label with this month's (windowed) value and its threshold.

    Active labs count now; the other figures are averaged over the trailing window, exactly as
    the label reads them. Empty before the first month.
    """
    if not model.regime_window:
        return []
    t = model.scenario_config.regime
    n = len(model.regime_window)
    avg = window_means(model)
    active = float(model.regime_window[-1]["active_labs"])
    names = dict(WINDOWED)

    def windowed(key: str) -> str:
        return f"{names[key]}, {n}-month avg"

    rows: list[tuple[str, float, str, float, str]] = [
        ("active labs now", active, "<=", t.consolidated_labs, "consolidated"),
        (windowed("hhi_revenue"), avg["hhi_revenue"], ">", t.hhi_concentrated,
         "consolidated, concentrated"),
        ("active labs now", active, ">=", t.min_labs_bifurcated, "bifurcated"),
        (windowed("bimodality"), avg["bimodality"], ">", t.bimodality, "bifurcated"),
        (windowed("middle_share"), avg["middle_share"], "<=", t.middle_share, "bifurcated"),
        (windowed("leader_owned_share"), avg["leader_owned_share"], ">=",
         t.giant_owned_share, "bifurcated"),
        (windowed("small_rented_share"), avg["small_rented_share"], ">=",
         t.small_rented_share, "bifurcated"),
    ]
    return [Check(name, float(v), op, float(th), bool(_OPS[op](v, th)), feeds)
            for name, v, op, th, feeds in rows]


def check_text(value: float, name: str) -> str:
    """A check's value as the page writes it: counts whole, HHI with commas, shares in %."""
    if not math.isfinite(value):
        return "n/a"
    if "HHI" in name:
        return f"{value:,.0f}"
    if "labs now" in name:
        return f"{value:.0f}"
    if "share" in name:
        return f"{value:.1%}"
    return f"{value:.3g}"


def checklist_rows(model: AIMarketModel) -> list[dict[str, Any]]:
    """:func:`regime_checks` as display rows: test, value, rule, passed, label it decides."""
    return [{"test": c.name, "value": check_text(c.value, c.name),
             "rule": f"{OP_TEXT[c.op]} {check_text(c.threshold, c.name)}", "passed": c.passed,
             "feeds": c.feeds} for c in regime_checks(model)]
