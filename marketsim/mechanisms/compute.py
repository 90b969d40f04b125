"""Mechanism 3, the compute market: rental allocation and the cost of owned data centres.

Owned compute costs capital (spread over a GPU's life) plus power and upkeep; hyperscalers
rent at that cost plus a margin that rises with utilisation. The margin is the owned-vs-rented
cost gap; with the minimum efficient scale of a data centre it gives big labs increasing
returns.
"""

from __future__ import annotations

import numpy as np

HOURS_PER_MONTH = 730.0


def opex_per_gpu_month(power_kw: float, power_price: float, upkeep: float) -> float:
    """Power and upkeep of one owned GPU for a month, $."""
    return power_kw * HOURS_PER_MONTH * power_price + upkeep


def owned_cost_per_gpu_month(
    capex_per_gpu: float, gpu_life: int, power_kw: float, power_price: float, upkeep: float
) -> float:
    """All-in monthly cost of an owned GPU (capital over its life, power, upkeep), $."""
    return capex_per_gpu / gpu_life + opex_per_gpu_month(power_kw, power_price, upkeep)


def rental_price(
    cost_per_gpu_month: float, margin: float, utilisation_premium: float, utilisation: float
) -> float:
    """A hyperscaler's posted rent, $ per GPU-month: cost × (1 + margin + premium above 70%)."""
    busy = (utilisation - 0.7) / 0.3
    busy = 1.0 if busy > 1.0 else 0.0 if busy < 0.0 else busy  # clipped to 0-1
    return float(cost_per_gpu_month * (1.0 + margin + utilisation_premium * busy))


def allocate_rentals(
    requests: np.ndarray, free: np.ndarray, partner: np.ndarray, price: np.ndarray
) -> np.ndarray:
    """Allocate each hyperscaler's free GPUs to labs' requests.

    Strategic partners first (each hyperscaler shares its free capacity pro rata among its
    partners' requests), then the remaining requests go to hyperscalers in order of posted
    price, cheapest first, pro rata within each.

    Args:
        requests: GPUs each lab asks for, shape (L,).
        free: GPUs each hyperscaler can rent out, shape (H,).
        partner: True where lab l is a strategic partner of hyperscaler h, shape (L, H).
        price: posted rent of each hyperscaler, shape (H,).

    Returns:
        GPUs allocated, shape (L, H); row sums ≤ requests, column sums ≤ free.
    """
    L, H = partner.shape
    alloc = np.zeros((L, H))
    need = np.maximum(np.asarray(requests, dtype=float), 0.0)
    left = np.maximum(np.asarray(free, dtype=float), 0.0)
    if partner.any():
        # Partners first. A lab partnered with several hyperscalers asks each for an equal part.
        n_partners = partner.sum(axis=1)
        ask = np.where(partner, (need / np.maximum(n_partners, 1))[:, None], 0.0)
        col = ask.sum(axis=0)
        asked = col > 0
        # Share of each column's asks that its free capacity covers: left / col, at most 1
        # (also where a tiny ask over ample capacity would overflow), 0 where nobody asks;
        # NaN capacity stays NaN.
        scale = np.divide(left, col, out=asked.astype(float), where=asked & ~(left >= col))
        alloc += ask * scale[None, :]
        # Clamp: float rounding must never leave a negative need or capacity (negative grants).
        need = np.maximum(need - alloc.sum(axis=1), 0.0)
        left = np.maximum(left - alloc.sum(axis=0), 0.0)
    spare = left.tolist()  # Python floats: the loop below does scalar arithmetic on them
    for h in np.argsort(price, kind="stable").tolist():
        total = float(need.sum())
        if total <= 0:
            break
        give = need * (1.0 if spare[h] >= total else spare[h] / total)
        alloc[:, h] += give
        np.subtract(need, give, out=need)  # >= 0: give is need times at most 1
        rest = spare[h] - float(give.sum())
        spare[h] = 0.0 if rest < 0.0 else rest  # max(rest, 0.0)
    return alloc
