"""Mechanism 1, demand: Bass adoption, logit supplier choice, constant-elasticity tokens.

All functions work on whole arrays of buyers (no Python loop over buyers): a million buyers
cost a handful of array passes per tick.
"""

from __future__ import annotations

import numpy as np


def usage_trend(tick: int, growth_per_year: float, halflife_months: float) -> float:
    """Tokens per adopted buyer relative to tick 0 (unitless multiplier).

    The monthly growth rate starts at ``ln(growth_per_year) / 12`` and halves every
    ``halflife_months``, so usage grows fast early and levels off (total growth is finite).
    """
    g0 = np.log(growth_per_year) / 12.0
    tau = halflife_months / np.log(2.0)
    return float(np.exp(g0 * tau * (1.0 - np.exp(-tick / tau))))


def bass_hazard(adopted_share: float, p_per_year: float, q_per_year: float) -> float:
    """Monthly probability that a buyer who has not adopted adopts now (Bass diffusion)."""
    rate = max(p_per_year + q_per_year * adopted_share, 0.0) / 12.0
    return float(-np.expm1(-rate))


def bass_adopt(adopted: np.ndarray, hazard: float, uniforms: np.ndarray) -> np.ndarray:
    """Boolean mask of buyers adopting this month (only among those not yet adopted)."""
    return ~adopted & (uniforms < hazard)


def logit_shares(
    quality: np.ndarray,
    price: np.ndarray,
    available: np.ndarray,
    quality_weight: float,
    price_weight: float,
) -> np.ndarray:
    """Choice probabilities over labs for a buyer with no current supplier.

    Utility = ``quality_weight`` × quality (log10 effective compute) − ``price_weight`` ×
    ln(price in $/M tokens). Labs not ``available`` get probability 0.
    """
    u = quality_weight * quality - price_weight * np.log(np.maximum(price, 1e-12))
    u = np.where(available, u, -np.inf)
    if not np.isfinite(u).any():
        return np.zeros_like(u, dtype=float)
    e = np.exp(u - u[np.isfinite(u)].max())
    return e / e.sum()


def choose_suppliers(
    current: np.ndarray,
    probs: np.ndarray,
    switching_cost: float,
    u_stay: np.ndarray,
    u_pick: np.ndarray,
) -> np.ndarray:
    """New supplier index for each re-choosing buyer (logit with a bonus for the incumbent).

    With base probabilities ``probs`` (:func:`logit_shares`), a buyer whose current supplier is
    ``c`` faces ``P(j) ∝ probs[j] · exp(switching_cost · [j == c])``. We draw exactly from that
    without an N×L matrix: stay with probability ``e^s p_c / (1 − p_c + e^s p_c)``, otherwise
    draw from ``probs`` with ``c`` removed by shifting the uniform past ``c``'s interval.

    Args:
        current: current supplier per buyer (-1 for none), int.
        probs: base choice probabilities over labs (sum 1, or all 0 if no lab is available).
        switching_cost: logit utility bonus for the current supplier.
        u_stay: uniforms in [0, 1), one per buyer.
        u_pick: uniforms in [0, 1), one per buyer.

    Returns:
        Supplier index per buyer (-1 if no lab is available).
    """
    if probs.sum() <= 0:
        return np.full_like(current, -1)
    cum = np.cumsum(probs)
    cum[-1] = 1.0
    has = current >= 0
    p_c = np.where(has, probs[np.where(has, current, 0)], 0.0)
    bonus = np.exp(switching_cost)
    stay = has & (u_stay * (1.0 - p_c + bonus * p_c) < bonus * p_c)
    # Draw from probs excluding c: scale u into the mass outside c, then skip c's interval.
    target = u_pick * (1.0 - p_c)
    before_c = np.where(has, cum[np.where(has, current, 0)] - p_c, np.inf)
    target = np.where(target >= before_c, target + p_c, target)
    pick = np.searchsorted(cum, np.minimum(target, np.nextafter(1.0, 0.0)), side="right")
    pick = np.minimum(pick, len(probs) - 1)
    return np.where(stay, current, pick).astype(current.dtype)


def demand_per_size(
    price: np.ndarray,
    quality_above_floor: np.ndarray,
    reference_price: float,
    price_elasticity: float,
    quality_elasticity: float,
) -> np.ndarray:
    """Tokens demanded per unit of buyer size at each lab, relative to the reference.

    Constant elasticity in price (``(price / reference_price) ** -price_elasticity``) and
    rising with quality above the open-weight floor (``10 ** (quality_elasticity × gap)``).
    """
    rel = np.maximum(price, 1e-12) / reference_price
    return rel ** (-price_elasticity) * 10.0 ** (quality_elasticity * quality_above_floor)


def size_by_supplier(supplier: np.ndarray, size: np.ndarray, n_labs: int) -> np.ndarray:
    """Sum of buyer size per lab (buyers with supplier -1 are left out)."""
    ok = supplier >= 0
    return np.bincount(supplier[ok], weights=size[ok], minlength=n_labs)[:n_labs]
