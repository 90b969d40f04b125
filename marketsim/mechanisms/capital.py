"""Mechanism 5, the capital market: valuations, offers, dilution.

Valuation multiples rise with growth and are pulled toward recent peer multiples (herding, fear
of missing out). A lab weighs the cash against the dilution at its own internal valuation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Offer:
    """A funding offer: ``amount`` $bn for new shares at a pre-money valuation of ``pre_money``.

    Attributes:
        investor: the offering agent (a VentureCapitalist or a Hyperscaler).
        lab: the lab offered to.
        amount: $bn of new money.
        pre_money: $bn, the valuation before the money.
        credit_share: share of ``amount`` paid as compute credits on the investor's cloud
            (strategic offers by hyperscalers; 0 for venture offers).
        kind: "venture" or "strategic".
    """

    investor: Any
    lab: Any
    amount: float
    pre_money: float
    credit_share: float = 0.0
    kind: str = "venture"
    meta: dict = field(default_factory=dict)

    @property
    def post_money(self) -> float:
        """Valuation after the money, $bn."""
        return self.pre_money + self.amount

    @property
    def stake(self) -> float:
        """Share of the lab the investor gets."""
        return self.amount / self.post_money if self.post_money > 0 else 0.0


def revenue_multiple(
    growth: float,
    peer_multiple: float | None,
    base: float,
    growth_weight: float,
    herding: float,
    cap: float,
) -> float:
    """Valuation ÷ annualised revenue a VC pays.

    ``base × (1 + growth_weight × growth)`` (growth: yearly, 1.0 = doubling), blended with the
    recent peer multiple by ``herding`` ∈ [0, 1], capped at ``cap``.
    """
    own = base * (1.0 + growth_weight * (-0.9 if growth < -0.9 else growth))
    if peer_multiple is not None and math.isfinite(peer_multiple):
        own = (1.0 - herding) * own + herding * peer_multiple
    own = 1.0 if own < 1.0 else own  # min(max(own, 1.0), cap), without two calls
    return float(cap if cap < own else own)


def screening_keys(revenue: np.ndarray, gumbel: np.ndarray) -> np.ndarray:
    """Keys of weighted sampling without replacement (the Gumbel-top-k trick).

    Weight of each lab: its revenue plus 5% of the mean revenue (every lab has some chance:
    VCs chase what is visible). The ``k`` largest keys of a row are a draw of ``k`` labs
    without replacement with probabilities proportional to the weights.

    Args:
        revenue: each lab's revenue last month, $bn, shape (L,).
        gumbel: standard Gumbel draws, shape (L,) or (n, L) for n draws at once.

    Returns:
        Keys with the shape of ``gumbel``.
    """
    w = revenue + 0.05 * max(revenue.sum() / revenue.size, 1e-6)
    return np.log(w) + gumbel


def top_k(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest keys along the last axis, largest first (first of equals)."""
    if k == 1:
        return keys.argmax(axis=-1)[..., None]
    return np.argsort(-keys, axis=-1, kind="stable")[..., :k]


def dilute(cap_table: dict[int, float], investor: int, stake: float) -> dict[int, float]:
    """Cap table after selling ``stake`` of the lab to ``investor`` (all others diluted).

    Raises:
        ValueError: ``stake`` is not in [0, 1] (e.g. an offer with a pre-money valuation that
            is not positive), which would give holders negative or NaN shares.
    """
    if not 0.0 <= stake <= 1.0:
        raise ValueError(f"stake must be a share in [0, 1], got {stake!r} (an offer needs a "
                         "positive amount and pre-money valuation)")
    out = {k: v * (1.0 - stake) for k, v in cap_table.items()}
    out[investor] = out.get(investor, 0.0) + stake
    return out


def dilution_worth_it(
    internal_value: float, offer_pre_money: float, amount: float, cash_value: float
) -> bool:
    """Do the owners gain from the offer at their own valuation of the lab?

    Owners keep ``pre / post`` of a lab they then value at ``internal_value + cash_value ×
    amount``; they accept when that beats ``internal_value`` without the deal. ``cash_value``
    > 1 when the cash is needed (short runway), ≈ 1 when it is not.
    """
    post = offer_pre_money + amount
    if post <= 0:
        return False
    return (internal_value + cash_value * amount) * offer_pre_money / post >= internal_value


#: Most that abundant dry powder can multiply the base entry rate by (keeps entry finite when
#: the reference dry powder is near zero, e.g. ``vcs.initial_dry_powder = 0``).
MAX_ENTRY_BOOST = 20.0


def entry_rate(
    base_rate: float, dry_powder: float, reference_dry_powder: float, sentiment: float
) -> float:
    """Expected new labs funded per month: rises with dry powder and sentiment.

    ``base_rate × min(dry_powder / reference_dry_powder, MAX_ENTRY_BOOST) × sentiment``
    (entrants per month; dry powder in $bn; 0 when the reference is not positive).
    """
    if reference_dry_powder <= 0:
        return 0.0
    boost = min(max(dry_powder, 0.0) / reference_dry_powder, MAX_ENTRY_BOOST)
    return float(base_rate * boost * max(sentiment, 0.0))
