"""Mechanism 6, consolidation: distressed labs are acquired or go bankrupt.

A lab whose cash is negative after the capital market (its debt unpaid and no money raised) is
acquired by the richest bidder willing to pay more than its debts, or else goes bankrupt: its
owned GPUs are sold at a discount and its customers choose again.
"""

from __future__ import annotations

import numpy as np


def pick_acquirer(bids: np.ndarray, cash: np.ndarray, debt: float) -> int:
    """Index of the richest bidder whose bid is positive and who can pay bid plus debt, or -1."""
    able = (bids > 0) & (cash >= bids + debt)
    if not able.any():
        return -1
    return int(np.argmax(np.where(able, cash, -np.inf)))


def fire_sale_value(
    owned_gpus: float, capex_per_gpu: float, discount: float, life_left: float = 0.5
) -> float:
    """$bn raised by selling a bankrupt lab's GPUs: capex × remaining life × (1 − discount)."""
    return owned_gpus * capex_per_gpu * 1e-9 * life_left * (1.0 - discount)


def pro_rata(amount: float, cap_table: dict[int, float]) -> dict[int, float]:
    """Split ``amount`` $bn among holders by share (shares need not sum to one)."""
    total = sum(cap_table.values())
    if total <= 0 or amount <= 0:
        return {}
    return {k: amount * v / total for k, v in cap_table.items() if v > 0}
