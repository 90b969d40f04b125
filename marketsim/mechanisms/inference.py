"""Mechanism 2, the inference market: labs serve tokens up to capacity; the rest is unmet."""

from __future__ import annotations

import numpy as np


def tokens_per_gpu_month(tokens_per_gpu_hour: float, growth_per_year: float, tick: int) -> float:
    """Served M tokens per GPU-month at ``tick`` (730 hours a month, throughput growing)."""
    return tokens_per_gpu_hour * 730.0 * growth_per_year ** (tick / 12.0)


def clear_inference(
    demand: np.ndarray, capacity: np.ndarray, price: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Serve each lab's demand up to its capacity, rationing the excess.

    Args:
        demand: M tokens demanded from each lab this month.
        capacity: M tokens each lab can serve (inference GPUs × tokens per GPU-month).
        price: $/M tokens at each lab.

    Returns:
        ``(served, unmet, revenue)``: M tokens served, M tokens not served, revenue in $bn.
    """
    served = np.minimum(demand, np.maximum(capacity, 0.0))
    unmet = demand - served
    revenue = served * price * 1e-9  # M tokens × $/M tokens = $; 1e-9 → $bn
    return served, unmet, revenue
