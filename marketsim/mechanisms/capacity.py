"""Hyperscalers' capacity: utilisation measured, GPUs ordered, capex and upkeep paid.

A hyperscaler's parent company funds what its cash does not cover
(:meth:`~marketsim.ledger.Ledger.pay_funded`, kind ``parent_funding``): clouds never go into
debt. Orders come online after ``hyperscalers.lead_time`` months (at least one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marketsim import decisions as check
from marketsim.units import BN_PER_USD

if TYPE_CHECKING:
    from marketsim.agents import Hyperscaler
    from marketsim.ledger import Ledger
    from marketsim.scenario import MarketScenario


def hyperscaler_pays(ledger: Ledger, hs: Hyperscaler, to: int, amount: float, kind: str,
                     ) -> None:
    """``hs`` pays ``amount`` $bn to account ``to``; its parent first funds what it lacks."""
    ledger.pay_funded(hs.account, to, amount, kind, funder=ledger["parents"],
                      funding="parent_funding")


def order_capacity(hyperscalers: list[Hyperscaler], rented: np.ndarray, ledger: Ledger,
                   opex_per_gpu_month: float, cfg: MarketScenario) -> None:
    """Each hyperscaler's month after the rentals, in order.

    Utilisation = GPUs ``rented`` ÷ capacity (1 without capacity); ``order_capacity()``
    GPUs join the pipeline and their capex is paid to suppliers; the power and upkeep of
    the whole capacity is paid ($ per GPU-month ``opex_per_gpu_month``).
    """
    suppliers = ledger["suppliers"]
    capex_per_gpu = cfg.compute.capex_per_gpu
    lead = float(max(cfg.hyperscalers.lead_time, 1))
    for hs in hyperscalers:
        hs.utilisation = float(rented[hs.index] / hs.capacity) if hs.capacity > 0 else 1.0
        order = check.number(hs.order_capacity(), hs, "order_capacity")
        if order > 0:
            hs.pipeline.append([order, lead])
            hyperscaler_pays(ledger, hs, suppliers, order * capex_per_gpu * BN_PER_USD, "capex")
        hyperscaler_pays(ledger, hs, suppliers, hs.capacity * opex_per_gpu_month * BN_PER_USD,
                         "power_upkeep")
