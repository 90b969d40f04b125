"""Hyperscaler: a cloud that rents GPUs, orders capacity and invests strategically in labs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from marketsim.mechanisms.capital import Offer
from marketsim.mechanisms.compute import rental_price
from marketsim.units import HOURS_PER_MONTH

if TYPE_CHECKING:
    from marketsim.agents.lab import AILab
    from marketsim.model import AIMarketModel


class Hyperscaler(mesa.Agent):
    """A cloud provider.

    State: ``capacity`` [GPUs online], ``pipeline`` (orders: [GPUs, months left]),
    ``rent`` [$ per GPU-month posted], ``utilisation`` [share of capacity rented],
    ``stakes`` (lab unique_id → share), ``partners`` (unique_ids of strategic partners).
    """

    model: AIMarketModel

    def __init__(self, model: AIMarketModel, *, account: int, capacity: float, index: int) -> None:
        super().__init__(model)
        self.account = account
        self.index = index
        self.capacity = float(capacity)
        self.pipeline: list[list[float]] = []
        self.rent = 0.0
        self.utilisation = 0.0
        self.stakes: dict[int, float] = {}
        self.partners: set[int] = set()

    @property
    def cash(self) -> float:
        """Cash, $bn (the ledger balance; its parent tops it up)."""
        return self.model.ledger.balance(self.account)

    @property
    def rent_per_gpu_hour(self) -> float:
        """Posted rent, $ per GPU-hour: ``rent / HOURS_PER_MONTH``."""
        return self.rent / HOURS_PER_MONTH

    def set_rent(self) -> float:
        """This month's rent, $ per GPU-month. Called at the start of the compute market.

        Default (:func:`~marketsim.mechanisms.compute.rental_price`), with ``U`` last month's
        utilisation::

            rent = owned_cost_per_gpu_month × (1 + hyperscalers.margin
                   + hyperscalers.utilisation_premium × clip((U − 0.7) / 0.3, 0, 1))
        """
        cfg = self.model.scenario_config.hyperscalers
        return rental_price(self.model.market.owned_cost_per_gpu_month, cfg.margin,
                            cfg.utilisation_premium, self.utilisation)

    def order_capacity(self) -> float:
        """GPUs to order now (online after ``hyperscalers.lead_time``). Called monthly.

        Default: ``hyperscalers.order_share × max(capacity, 1,000)`` GPUs when utilisation is
        above ``hyperscalers.target_utilisation``, else 0.
        """
        cfg = self.model.scenario_config.hyperscalers
        if self.utilisation > cfg.target_utilisation:
            return cfg.order_share * max(self.capacity, 1_000.0)
        return 0.0

    def strategic_offer(self, labs: list[AILab]) -> Offer | None:
        """A strategic investment, part paid in compute credits, or None. Called monthly.

        Default: with probability ``hyperscalers.strategic_rate``, an offer to the most capable
        lab that is not yet a partner, at a pre-money of ``max(lab.internal_valuation(), 0.1)``
        $bn, sized to the lab's build-out (:meth:`AILab.funding_need`) within the range of
        public strategic deals; ``hyperscalers.credit_share`` of it is credits::

            amount = clip(lab.funding_need(), hyperscalers.strategic_size,
                          hyperscalers.strategic_max)                              [$bn]
        """
        cfg = self.model.scenario_config.hyperscalers
        if cfg.strategic_size <= 0 or self.model.rng.random() >= cfg.strategic_rate:
            return None
        candidates = [lab for lab in labs if lab.unique_id not in self.partners]
        if not candidates:
            return None
        lab = max(candidates, key=lambda x: x.capability)
        pre = max(lab.internal_valuation(), 0.1)
        top = max(cfg.strategic_max, cfg.strategic_size)
        amount = min(max(lab.funding_need(), cfg.strategic_size), top)
        return Offer(investor=self, lab=lab, amount=float(amount), pre_money=pre,
                     credit_share=cfg.credit_share, kind="strategic")

    def bid_for(self, target: AILab) -> float:
        """Price in $bn offered for a distressed lab's equity (0: no bid).

        Called in consolidation ("licence and hire" deals). Default, only for a lab within 0.5
        log10 of the frontier::

            value = vcs.pre_revenue_value × max(capability − open_weight_floor, 0)
                    + target.owned_gpu_value()                       (GPUs at half capex)
            bid   = 0.25 × (value − target.liabilities)              if positive, else 0
        """
        m = self.model.market
        if target.capability < m.frontier - 0.5:
            return 0.0
        lead = target.capability - m.open_weight_floor
        value = (self.model.scenario_config.vcs.pre_revenue_value * max(lead, 0.0)
                 + target.owned_gpu_value())
        surplus = value - target.liabilities
        return float(0.25 * surplus) if surplus > 0 else 0.0
