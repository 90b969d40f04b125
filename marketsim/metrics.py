"""Market-structure measures and the regime label (mechanism 7, record, uses these).

Thresholds live in the scenario's ``[regime]`` section; docs/model.md states them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REGIMES: tuple[str, ...] = ("competitive", "concentrated", "bifurcated", "consolidated")


def shares(values: np.ndarray) -> np.ndarray:
    """Shares of a total (zeros if the total is 0)."""
    v = np.maximum(np.asarray(values, dtype=float), 0.0)
    total = v.sum()
    return v / total if total > 0 else np.zeros_like(v)


def hhi(values: np.ndarray) -> float:
    """Herfindahl–Hirschman index on the 0–10,000 scale (0 when nothing is sold)."""
    s = shares(values)
    return float(10_000.0 * np.sum(s * s))


def concentration_ratio(values: np.ndarray, k: int) -> float:
    """Share of the ``k`` largest (CR_k), 0–1."""
    s = np.sort(shares(values))[::-1]
    return float(s[:k].sum())


def bimodality_coefficient(x: np.ndarray) -> float:
    """Sarle's bimodality coefficient with small-sample correction (0 if fewer than 4 values).

    ``b = (g² + 1) / (k + 3(n−1)² / ((n−2)(n−3)))`` with g the sample skewness and k the sample
    excess kurtosis; above 5/9 ≈ 0.555 (the uniform's value) suggests bimodality.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 4 or np.ptp(x) == 0:
        return 0.0
    m = x.mean()
    d = x - m
    m2 = np.mean(d**2)
    m3 = np.mean(d**3)
    m4 = np.mean(d**4)
    g1 = m3 / m2**1.5
    g2 = m4 / m2**2 - 3.0
    G1 = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    G2 = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
    denom = G2 + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3))
    return float(np.clip((G1**2 + 1.0) / denom, 0.0, 1.0)) if denom > 0 else 0.0


def middle_share(sizes: np.ndarray, low: float = 0.1, high: float = 0.5) -> float:
    """Share of labs in the middle size band: from ``low`` to ``high`` of the largest lab.

    In a bifurcated market labs are either giants (at least half the largest) or small (under
    a tenth of it); challengers in between are what a bifurcated market lacks. 0 with fewer
    than 3 labs.
    """
    s = np.asarray(sizes, dtype=float)
    s = s[s > 0]
    if s.size < 3:
        return 0.0
    rel = s / s.max()
    return float(np.mean((rel >= low) & (rel < high)))


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
      ``hhi_concentrated``;
    - bifurcated: at least ``min_labs_bifurcated`` labs, log sizes bimodal (Sarle above
      ``bimodality``), few in the middle band (share at most ``middle_share``), the
      revenue leader owning at least ``giant_owned_share`` of its compute and the small labs
      renting at least ``small_rented_share`` of theirs (giants own, the many rent);
    - concentrated: HHI above ``hhi_concentrated``;
    - competitive: otherwise.
    """
    t = thresholds
    if active_labs <= t.consolidated_labs and hhi_revenue > t.hhi_concentrated:
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
