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
    busy = min(max((utilisation - 0.7) / 0.3, 0.0), 1.0)
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
    need = np.maximum(requests.astype(float), 0.0)
    left = np.maximum(free.astype(float), 0.0)
    if partner.any():
        # Partners first. A lab partnered with several hyperscalers asks each for an equal part.
        n_partners = partner.sum(axis=1)
        ask = np.where(partner, (need / np.maximum(n_partners, 1))[:, None], 0.0)
        col = ask.sum(axis=0)
        with np.errstate(over="ignore"):  # a tiny ask over ample capacity: scale is 1
            scale = np.where(col > 0, np.minimum(1.0, left / np.where(col > 0, col, 1.0)), 0.0)
        alloc += ask * scale[None, :]
        # Clamp: float rounding must never leave a negative need or capacity (negative grants).
        need = np.maximum(need - alloc.sum(axis=1), 0.0)
        left = np.maximum(left - alloc.sum(axis=0), 0.0)
    for h in np.argsort(price, kind="stable"):
        total = need.sum()
        if total <= 0:
            break
        give = need * (1.0 if left[h] >= total else left[h] / total)
        alloc[:, h] += give
        need = np.maximum(need - give, 0.0)
        left[h] = max(left[h] - give.sum(), 0.0)
    return alloc
