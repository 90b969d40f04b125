"""This month's market-wide facts (:class:`MarketView`) that agents read when they decide.

The model opens each month with :func:`open_month`; the mechanisms update the rest (rents in
the compute market, the frontier in capability, market growth in the capital market).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marketsim.mechanisms import demand, inference


@dataclass
class MarketView:
    """This month's market-wide facts that agents read when they decide.

    Attributes:
        tick: months since the start.
        tokens_per_gpu_month: M tokens one GPU serves in a month.
        rent_per_gpu_month: each hyperscaler's posted rent, $ per GPU-month.
        cheapest_rent: the lowest of them, $ per GPU-month (read-only: it follows
            ``rent_per_gpu_month``).
        owned_cost_per_gpu_month: all-in cost of an owned GPU, $ per month.
        opex_per_gpu_month: power and upkeep of an owned GPU, $ per month.
        frontier: the best lab's own capability (log10 effective compute).
        open_weight_floor: capability anyone can have from open weights.
        peer_multiple: median post-money ÷ run rate of recent rounds (None before any).
        reference_price: $/M tokens that demand elasticity is measured from (tick-0 price).
        tokens_per_size: M tokens per unit of buyer size at the reference price, tick 0.
        usage_trend: growth of tokens per adopted buyer since tick 0 (multiplier).
        market_growth: yearly growth of all enterprise spend (1.0 = doubling).
        min_efficient_scale: smallest data centre that can be built this month, GPUs
            (``compute.min_efficient_scale`` growing by ``compute.scale_growth`` a year).
    """

    tick: int = 0
    tokens_per_gpu_month: float = 1.0
    rent_per_gpu_month: np.ndarray = field(default_factory=lambda: np.zeros(1))
    owned_cost_per_gpu_month: float = 0.0
    opex_per_gpu_month: float = 0.0
    frontier: float = 0.0
    open_weight_floor: float = 0.0
    peer_multiple: float | None = None
    reference_price: float = 1.0
    tokens_per_size: float = 1.0
    usage_trend: float = 1.0
    market_growth: float = 1.0
    min_efficient_scale: float = 0.0

    cheapest_rent: float = field(default=math.inf, init=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "cheapest_rent":
            raise AttributeError("cheapest_rent follows rent_per_gpu_month: assign that instead")
        if name == "rent_per_gpu_month":
            # Posted rents are read-only for the month (assign a new array to change them), so
            # the cheapest rent computed from them stays true.
            value = np.array(value, dtype=float)
            value.flags.writeable = False
            object.__setattr__(self, "cheapest_rent", float(value.min()) if value.size
                               else math.inf)
        object.__setattr__(self, name, value)


def open_month(market: MarketView, tick: int, cfg: Any, multiples: list[tuple[int, float]],
               ) -> None:
    """This month's throughput, usage trend, minimum efficient scale and peer multiple.

    Args:
        market: the market view to update.
        tick: this month.
        cfg: the scenario.
        multiples: (tick, post-money ÷ run rate) of recent rounds; the peer multiple is the
            median of the last six months' (None without any).
    """
    c = cfg.compute
    bc = cfg.buyers
    market.tick = tick
    market.tokens_per_gpu_month = inference.tokens_per_gpu_month(
        c.tokens_per_gpu_hour, c.throughput_growth, tick)
    market.usage_trend = demand.usage_trend(tick, bc.usage_growth, bc.usage_growth_halflife)
    market.min_efficient_scale = c.min_efficient_scale * c.scale_growth ** (tick / 12.0)
    recent = [x for (t, x) in multiples if t >= tick - 6]
    market.peer_multiple = float(statistics.median(recent)) if recent else None
