"""Market-structure measures and the regime label (mechanism 7, record, uses these).

Thresholds live in the scenario's ``[regime]`` section; docs/model.md states them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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


def revenue_structure(values: Values) -> tuple[float, float, float]:
    """HHI, CR1 and CR4 of the same values at once (the shares computed once)."""
    shares = _positive_shares(_floats(values))
    ranked = sorted(shares, reverse=True)
    return _hhi(shares), _top_share(ranked, 1), _top_share(ranked, 4)


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


def classify_regime(
    active_labs: int,
    hhi_revenue: float,
    bimodality: float,
    middle: float,
    thresholds: Any,
    leader_owned: float = 1.0,
    small_rented: float = 1.0,
) -> str:
    """Label a market state: consolidated, bifurcated, concentrated or competitive.

    - consolidated: at most ``consolidated_labs`` active labs and HHI above
      ``hhi_concentrated``, or no active lab at all (the market shrank to nothing);
    - bifurcated: at least ``min_labs_bifurcated`` labs, log sizes bimodal (Sarle above
      ``bimodality``), few in the middle band (share at most ``middle_share``), the
      revenue leader owning at least ``giant_owned_share`` of its compute and the small labs
      renting at least ``small_rented_share`` of theirs (giants own, the many rent);
    - concentrated: HHI above ``hhi_concentrated``;
    - competitive: otherwise.
    """
    t = thresholds
    if active_labs == 0 or (active_labs <= t.consolidated_labs
                            and hhi_revenue > t.hhi_concentrated):
        return "consolidated"
    if (
        active_labs >= t.min_labs_bifurcated
        and bimodality > t.bimodality
        and middle <= t.middle_share
        and leader_owned >= t.giant_owned_share
        and small_rented >= t.small_rented_share
    ):
        return "bifurcated"
    if hhi_revenue > t.hhi_concentrated:
        return "concentrated"
    return "competitive"
