"""Mechanism 2, the inference market: labs serve tokens up to capacity; the rest is unmet.

Buyers pay the labs for the tokens served: one ledger post a month, each buyer population's
account straight to each lab's (kind ``inference``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marketsim.units import BN_PER_USD, HOURS_PER_MONTH

if TYPE_CHECKING:
    from marketsim.agents import AILab, EnterpriseBuyer
    from marketsim.ledger import Ledger


def tokens_per_gpu_month(tokens_per_gpu_hour: float, growth_per_year: float, tick: int) -> float:
    """Served M tokens per GPU-month at ``tick`` (730 hours a month, throughput growing)."""
    return tokens_per_gpu_hour * HOURS_PER_MONTH * growth_per_year ** (tick / 12.0)


def clear_inference(demand: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Serve each lab's demand up to its capacity, rationing the excess.

    Args:
        demand: M tokens demanded from each lab this month.
        capacity: M tokens each lab can serve (inference GPUs × tokens per GPU-month).

    Returns:
        ``(served, unmet)``: M tokens served and M tokens not served, per lab.
    """
    served = np.minimum(demand, np.maximum(capacity, 0.0))
    return served, demand - served


def bills(parts: list[np.ndarray], demand: np.ndarray, served: np.ndarray, price: np.ndarray,
          ) -> list[np.ndarray]:
    """What each buyer population pays each lab, $bn: its tokens served × the lab's price.

    Rationing is shared in proportion: every population gets the same served share of what
    it demanded from a lab.

    Args:
        parts: M tokens each population demanded from each lab, shape (L,) each.
        demand: M tokens demanded from each lab, all populations.
        served: M tokens each lab served.
        price: $/M tokens at each lab.
    """
    frac_served = np.divide(served, demand, out=np.zeros_like(served), where=demand > 0)
    return [d * frac_served * price * BN_PER_USD for d in parts]


def inference_month(labs: list[AILab], pops: list[EnterpriseBuyer], demand: np.ndarray,
                    parts: list[np.ndarray], tokens_per_gpu: float, ledger: Ledger,
                    ) -> tuple[float, float]:
    """Labs serve, buyers pay, labs book the revenue.

    Each active lab serves up to its inference GPUs × ``tokens_per_gpu`` M tokens; each
    population pays each lab for its tokens served in one ledger post; each active lab
    appends its revenue ($bn, the sum of what its buyers paid it) to its history and every
    lab's revenue share is set.

    Args:
        labs: every lab ever (index = supplier index).
        pops: the buyer populations.
        demand: M tokens demanded from each lab.
        parts: each population's part of ``demand``.
        tokens_per_gpu: M tokens a GPU serves this month.
        ledger: the ledger.

    Returns:
        ``(revenue, unmet)``: all labs' revenue ($bn) and M tokens not served.
    """
    cap = np.array([lab.inference_gpus if lab.active else 0.0 for lab in labs])
    price = np.array([lab.price for lab in labs])
    served, unmet = clear_inference(demand, cap * tokens_per_gpu)
    paid = bills(parts, demand, served, price)
    # A lab's revenue is what its buyers paid it: computed once, booked and reported alike.
    revenue = np.sum(paid, axis=0) if paid else np.zeros(len(labs))
    ledger.post([(pop.account, lab.account, amount, "inference")
                 for pop, pay in zip(pops, paid, strict=True)
                 for lab, amount in zip(labs, pay.tolist(), strict=True) if amount > 0])
    total = float(revenue.sum())
    for lab, rev, tokens in zip(labs, revenue.tolist(), served.tolist(), strict=True):
        lab.revenue_share = rev / total if total else 0.0
        if lab.active:
            lab.served_tokens = tokens
            lab.revenue_history.append(rev)
        else:
            lab.served_tokens = 0.0
    return total, float(unmet.sum())
