"""Four custom agent classes, one per kind, each overriding documented decision methods.

Name them in a scenario (see ``examples/scenarios/*.toml``)::

    [[labs.mix]]
    class = "examples.custom_agents:BootstrappedLab"
    count = 1
    ranks = [0]          # the largest lab at tick 0

and run from the repository root with the repository on the import path::

    PYTHONPATH=. marketsim run examples/scenarios/bootstrapped_leader.toml

Each class changes as little as it can: it overrides one or two decisions and leaves every
other behaviour (and all bookkeeping: the ledger, contracts, the market clearing) to marketsim.
Parameters of a custom class are class attributes (a scenario cannot add keys of its own), so a
variant is a two-line subclass, e.g. ``class VeryAggressive(AggressiveHyperscaler): margin = 0.0``.
"""

from __future__ import annotations

import numpy as np

from marketsim import AILab, EnterpriseBuyer, Hyperscaler, Offer, VentureCapitalist
from marketsim.mechanisms import demand


class BootstrappedLab(AILab):
    """A lab that never takes outside money: it grows on revenue and its founders' cash.

    The stylised leader of the source material turned down a mega round because dilution was
    not worth it; this lab turns down every round, venture or strategic, whatever its runway.
    Everything else (pricing, renting, building data centres) is the default lab's.
    """

    def consider_offer(self, offer: Offer) -> bool:
        """Refuse every funding offer (the model counts it as refused).

        Args:
            offer: the offer (amount and pre-money in $bn); ignored.

        Returns:
            Always False.
        """
        return False


class HerdingVC(VentureCapitalist):
    """A VC that values a lab only by what its peers paid recently (pure herding).

    Pre-money = the median post-money ÷ run rate of the last six months' rounds
    (``model.market.peer_multiple``) × the lab's run rate. The lab's own growth and the VC's
    sentiment play no part. Before any round has been priced it falls back on the scenario's
    ``vcs.base_multiple``; a lab without revenue is valued as the default VC values it (on
    capability above the open-weight floor).
    """

    def value_lab(self, lab: AILab) -> float:
        """Pre-money valuation of ``lab`` in $bn: peer multiple × annual run rate.

        Args:
            lab: the lab being looked at.

        Returns:
            A valuation ≥ 0 in $bn (0 makes :meth:`make_offer` skip the lab).
        """
        cfg = self.model.scenario_config.vcs
        peer = self.model.market.peer_multiple
        multiple = peer if peer is not None and np.isfinite(peer) else cfg.base_multiple
        multiple = min(multiple, cfg.max_multiple)
        if lab.run_rate > 0:
            return float(multiple * lab.run_rate)
        return super().value_lab(lab)


class AggressiveHyperscaler(Hyperscaler):
    """A cloud that rents near cost to win share, and builds ahead of demand.

    Rent = owned cost per GPU-month × (1 + :attr:`margin`) whatever its utilisation (no
    scarcity premium), so renters pay less and the owned-vs-rented cost gap — one of the
    model's returns to scale — shrinks. It orders :attr:`order_share` of its capacity whenever
    utilisation is above :attr:`target_utilisation`.
    """

    #: Markup of rent over owned cost (share); the scenario's default is hyperscalers.margin.
    margin: float = 0.1
    #: Utilisation above which it orders more capacity (share).
    target_utilisation: float = 0.6
    #: Capacity ordered per month when above target (share of current capacity).
    order_share: float = 0.1

    def set_rent(self) -> float:
        """This month's rent, $ per GPU-month: owned cost × (1 + margin), no premium.

        Returns:
            A positive rent in $ per GPU-month.
        """
        return float(self.model.market.owned_cost_per_gpu_month * (1.0 + self.margin))

    def order_capacity(self) -> float:
        """GPUs to order now (online after ``hyperscalers.lead_time``).

        Returns:
            GPUs ≥ 0.
        """
        if self.utilisation > self.target_utilisation:
            return self.order_share * max(self.capacity, 1_000.0)
        return 0.0


class PriceSensitiveBuyers(EnterpriseBuyer):
    """Buyers who shop on price: 1.5 times as price-elastic, no loyalty to their supplier.

    Both decisions are vectorised over every buyer of the population (one call a month), as
    every buyer decision must be: a population may hold millions of buyers.
    """

    #: Extra weight on log price in supplier choice, on top of ``buyers.price_weight``.
    extra_price_weight: float = 2.0
    #: Multiplier on ``buyers.price_elasticity`` of tokens demanded.
    elasticity_factor: float = 1.5

    def choose_suppliers(
        self, current: np.ndarray, probs: np.ndarray, u_stay: np.ndarray, u_pick: np.ndarray
    ) -> np.ndarray:
        """Re-choose suppliers with an extra penalty on price and no switching cost.

        Args:
            current: current supplier lab index per re-choosing buyer (-1 none), shape (n,).
            probs: the market's logit probabilities over all labs ever made, shape (L,).
            u_stay: uniforms in [0, 1), shape (n,).
            u_pick: uniforms in [0, 1), shape (n,).

        Returns:
            New supplier index per re-choosing buyer (-1 when no lab is available), shape (n,).
        """
        price = np.array([lab.price for lab in self.model.labs])
        tilted = probs * np.maximum(price, 1e-12) ** (-self.extra_price_weight)
        total = tilted.sum()
        if total <= 0 or not np.isfinite(total):
            return super().choose_suppliers(current, probs, u_stay, u_pick)
        return demand.choose_suppliers(current, tilted / total, 0.0, u_stay, u_pick)

    def demand_per_size(self, price: np.ndarray, quality_gap: np.ndarray) -> np.ndarray:
        """M tokens per unit of buyer size from each lab: the default, more price-elastic.

        Args:
            price: each lab's price, $/M tokens, shape (L,).
            quality_gap: each lab's capability above the open-weight floor, log10, shape (L,).

        Returns:
            M tokens per unit of buyer size, shape (L,), all ≥ 0.
        """
        cfg = self.model.scenario_config.buyers
        m = self.model.market
        rel = demand.demand_per_size(price, quality_gap, m.reference_price,
                                     cfg.price_elasticity * self.elasticity_factor,
                                     cfg.quality_elasticity)
        return m.tokens_per_size * m.usage_trend * rel
