"""Market-structure measures and the regime label (mechanism 7, record, uses these).

Thresholds live in the scenario's ``[regime]`` section; docs/model.md states them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

REGIMES: tuple[str, ...] = ("competitive", "concentrated", "bifurcated", "consolidated")


#: Values: a NumPy array or any sequence of numbers (the model passes one value per lab).
Values = np.ndarray | Sequence[float]


def _floats(values: Values) -> list[float]:
    """The values as a list of Python floats.

    The measures below are computed in plain Python: they run every month on one value per
    lab (a few dozen), where a Python loop costs less than the set-up of a NumPy call.
    """
    if isinstance(values, np.ndarray):
        return values.astype(float, copy=False).ravel().tolist()
    return [float(v) for v in values]


def _positive_shares(v: list[float]) -> list[float]:
    """Shares of the total of the positive values (negative ones count as 0)."""
    v = [x if x > 0.0 else 0.0 for x in v]
    total = math.fsum(v)
    return [x / total for x in v] if total > 0 else [0.0] * len(v)


def hhi(values: Values) -> float:
    """Herfindahl–Hirschman index on the 0–10,000 scale (0 when nothing is sold)."""
    return _hhi(_positive_shares(_floats(values)))


def concentration_ratio(values: Values, k: int) -> float:
    """Share of the ``k`` largest (CR_k), 0–1."""
    return _top_share(sorted(_positive_shares(_floats(values)), reverse=True), k)


def revenue_structure(values: Values) -> tuple[float, float, float, float]:
    """HHI, CR1, CR2 and CR4 of the same values at once (the shares computed once)."""
    shares = _positive_shares(_floats(values))
    ranked = sorted(shares, reverse=True)
    return _hhi(shares), _top_share(ranked, 1), _top_share(ranked, 2), _top_share(ranked, 4)


def _hhi(shares: list[float]) -> float:
    return 10_000.0 * math.fsum([x * x for x in shares])


def _top_share(ranked: list[float], k: int) -> float:
    return math.fsum(ranked[:k])


def bimodality_coefficient(x: Values) -> float:
    """Sarle's bimodality coefficient with small-sample correction (0 if fewer than 4 values).

    ``b = (g² + 1) / (k + 3(n−1)² / ((n−2)(n−3)))`` with g the sample skewness and k the sample
    excess kurtosis; above 5/9 ≈ 0.555 (the uniform's value) suggests bimodality.
    """
    v = _floats(x)
    n = len(v)
    if n < 4 or max(v) == min(v):
        return 0.0
    mean = math.fsum(v) / n
    d = [xi - mean for xi in v]
    d2 = [di * di for di in d]
    m2 = math.fsum(d2) / n
    m3 = math.fsum([di * d2i for di, d2i in zip(d, d2, strict=True)]) / n
    m4 = math.fsum([d2i * d2i for d2i in d2]) / n
    g1 = m3 / m2**1.5
    g2 = m4 / m2**2 - 3.0
    G1 = g1 * math.sqrt(n * (n - 1)) / (n - 2)
    G2 = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
    denom = G2 + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3))
    return min(max((G1**2 + 1.0) / denom, 0.0), 1.0) if denom > 0 else 0.0


def middle_share(sizes: Values, low: float = 0.1, high: float = 0.5) -> float:
    """Share of labs in the middle size band: from ``low`` to ``high`` of the largest lab.

    In a bifurcated market labs are either giants (at least half the largest) or small (under
    a tenth of it); challengers in between are what a bifurcated market lacks. 0 with fewer
    than 3 labs.
    """
    s = [x for x in _floats(sizes) if x > 0]
    if len(s) < 3:
        return 0.0
    top = max(s)
    return len([x for x in s if low <= x / top < high]) / len(s)


#: Monthly figures the label reads over its trailing window (model reporters of the same names).
WINDOW_FIGURES: tuple[str, ...] = (
    "active_labs", "hhi_revenue", "giant_labs", "renter_labs", "survivors_share",
)


class Check(NamedTuple):
    """One test of the regime label: its name, the window's value, the threshold, the outcome."""

    test: str
    value: float
    threshold: float
    passed: bool


def tier_figures(
    revenue: Values, owned: Values, gpus: Values, thresholds: Any
) -> tuple[int, int, float]:
    """One month's giants, small renters and survivors' revenue share (the label's inputs).

    Args:
        revenue: each active lab's revenue this month, $bn.
        owned: each lab's owned compute, GPUs.
        gpus: each lab's total compute (owned + rented), GPUs.
        thresholds: the scenario's ``[regime]`` section (or any object with its fields).

    Returns:
        ``(giant_labs, renter_labs, survivors_share)``: labs with at least ``giant_share``
        of revenue owning at least ``giant_owned_share`` of their compute; other labs renting
        at least ``small_rented_share`` of theirs with at most ``tier_gap`` times the smallest
        giant's compute (the largest lab's if there is no giant); the revenue share of the
        ``consolidated_labs`` largest labs (whole labs: the threshold rounded down).
    """
    t = thresholds
    shares = _positive_shares(_floats(revenue))
    size = _floats(gpus)
    own = [o / g if g > 0 else 0.0 for o, g in zip(_floats(owned), size, strict=True)]
    giant = [s >= t.giant_share and s > 0 and o >= t.giant_owned_share
             for s, o in zip(shares, own, strict=True)]
    tops = [g for g, is_giant in zip(size, giant, strict=True) if is_giant]
    cap = t.tier_gap * (min(tops) if tops else max(size, default=0.0))
    renters = sum(1 for g, o, is_giant in zip(size, own, giant, strict=True)
                  if not is_giant and 0 < g <= cap and 1.0 - o >= t.small_rented_share)
    k = max(int(math.floor(t.consolidated_labs)), 1)
    survivors = _top_share(sorted(shares, reverse=True), k)
    return sum(giant), renters, survivors


def window_stats(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The label's figures over a trailing window: medians of :data:`WINDOW_FIGURES`.

    ``rows`` are the window's months, oldest first, each holding the figures and
    ``peak_active_labs`` (the most active labs in any month so far); the window's peak is the
    last row's. Medians, so one odd month does not move the label.
    """
    out = {k: float(statistics.median([r[k] for r in rows])) for k in WINDOW_FIGURES}
    out["peak_active_labs"] = float(rows[-1]["peak_active_labs"])
    out["months"] = float(len(rows))
    return out


def regime_checks(window: dict[str, float], thresholds: Any) -> list[Check]:
    """Every test of the label with its value and threshold (for a checklist display).

    ``window`` is :func:`window_stats`' output; names start with the label they serve.
    """
    t = thresholds
    peak = window["peak_active_labs"]
    fall = 1.0 - window["active_labs"] / peak if peak > 0 else 0.0
    return [
        Check("consolidated: fall of active labs from their peak", fall, t.shakeout,
              fall >= t.shakeout),
        Check("consolidated: revenue share of the largest consolidated_labs",
              window["survivors_share"], t.consolidated_share,
              window["survivors_share"] >= t.consolidated_share),
        Check("bifurcated: giants (revenue share and owned compute)", window["giant_labs"],
              t.min_giants, window["giant_labs"] >= t.min_giants),
        Check("bifurcated: small labs renting most of their compute", window["renter_labs"],
              t.min_renters, window["renter_labs"] >= t.min_renters),
        Check("concentrated: HHI of revenue", window["hhi_revenue"], t.hhi_concentrated,
              window["hhi_revenue"] > t.hhi_concentrated),
    ]


def classify(window: dict[str, float], thresholds: Any) -> str:
    """Label a trailing window: consolidated, bifurcated, concentrated or competitive.

    The first that holds wins: consolidated (a shakeout, and a handful hold nearly all
    revenue; or no active lab left), bifurcated (at least ``min_giants`` giants and
    ``min_renters`` small renters), concentrated (HHI above ``hhi_concentrated``),
    competitive. Pure: a stored ticks table relabels under other thresholds.
    """
    if window["active_labs"] <= 0:
        return "consolidated"
    shakeout, survivors, giants, renters, hhi_high = (c.passed for c in
                                                      regime_checks(window, thresholds))
    if shakeout and survivors:
        return "consolidated"
    if giants and renters:
        return "bifurcated"
    return "concentrated" if hhi_high else "competitive"
