"""The regime label as the page shows it: its tests with this month's values, its colours.

The label (``model.regime``) is decided on medians over the trailing window
(``regime.window`` months): :func:`regime_checks` lists each test of the label with that
windowed value and its threshold, so the page shows *why* the market carries its label.
The band along every time axis (:func:`regime_color`) works for whatever label strings the
model gives.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from marketsim import metrics
from marketsim.reporters import regime_window

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
    "bifurcated": "a few giants owning their compute, several small labs renting theirs",
    "consolidated": "after a shakeout, a handful of survivors hold nearly all revenue",
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
    """One test of the regime label, as the checklist shows it.

    Attributes:
        name: what is tested, with its window ("HHI of revenue, 24-month median").
        value: the window's value of the tested figure.
        op: the comparison, ``">"`` or ``">="``.
        threshold: the scenario's ``[regime]`` threshold.
        passed: the comparison holds.
        feeds: the label this test decides.
    """

    name: str
    value: float
    op: str
    threshold: float
    passed: bool
    feeds: str


#: How the page writes each comparison.
OP_TEXT = {">": ">", ">=": "\u2265"}


def regime_checks(model: AIMarketModel) -> list[Check]:
    """Each test of the regime label with the window's value and its threshold.

    The tests and their values are :func:`marketsim.metrics.regime_checks` over the same
    trailing-window medians the label reads (:func:`marketsim.reporters.regime_window`), so
    the checklist cannot disagree with the label. Empty before the first month.
    """
    window = regime_window(model)
    if not window:
        return []
    months = int(window["months"])
    t = model.scenario_config.regime
    rows = []
    for c in metrics.regime_checks(window, t):
        feeds, _, test = c.test.partition(": ")
        op = ">" if "HHI" in test else ">="
        rows.append(Check(f"{_short(test, t)}, {months}-month median", float(c.value), op,
                          float(c.threshold), bool(c.passed), feeds))
    return rows


def _short(test: str, thresholds: Any) -> str:
    """The page's shorter name of one of :func:`marketsim.metrics.regime_checks`' tests."""
    short = {
        "fall of active labs from their peak": "fall of active labs from peak",
        "revenue share of the largest consolidated_labs":
            f"revenue share of the largest {thresholds.consolidated_labs} labs",
        "giants (revenue share and owned compute)": "giant labs that own",
        "small labs renting most of their compute": "small labs that rent",
    }
    return short.get(test, test)


def check_text(value: float, name: str) -> str:
    """A check's value as the page writes it: counts whole, HHI with commas, shares in %."""
    if not math.isfinite(value):
        return "n/a"
    if "HHI" in name:
        return f"{value:,.0f}"
    if name.startswith(("giant labs", "small labs")):
        return f"{value:g}"  # a median of monthly counts (may end in .5)
    if "share" in name or "fall" in name:
        return f"{value:.1%}"
    return f"{value:.3g}"


def checklist_rows(model: AIMarketModel) -> list[dict[str, Any]]:
    """:func:`regime_checks` as display rows: test, value, rule, passed, label it decides."""
    return [{"test": c.name, "value": check_text(c.value, c.name),
             "rule": f"{OP_TEXT[c.op]} {check_text(c.threshold, c.name)}", "passed": c.passed,
             "feeds": c.feeds} for c in regime_checks(model)]
