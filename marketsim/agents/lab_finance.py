"""The lab's prices, valuation and answers to funding offers (mixed into AILab).

Each method is a decision a subclass of :class:`~marketsim.agents.AILab` may override; the
equations are in docs/model.md (7.4 prices, 7.6 capital market, 7.10 decisions).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from marketsim.mechanisms.capital import Offer, dilution_worth_it
from marketsim.mechanisms.datacentres import planned_project
from marketsim.units import BN_PER_USD

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel


class LabFinance:
    """Prices, valuation and funding decisions of an :class:`~marketsim.agents.AILab`.

    The state and cost helpers it reads (``cost_per_mtok``, ``runway``, ``can_build``,
    ``growth``, ``owned_gpu_value``, ``_spend``, ...) are the lab's own.
    """

    model: AIMarketModel

    def set_price(self) -> float:
        """This month's price, $/M tokens (positive, finite). Called once a tick, before demand.

        Default: move ``labs.price_adjust`` (k) of the way, geometrically, toward a target:
        the Lerner price for the cost per token ``c`` (:meth:`cost_per_mtok`) and the demand
        elasticity ``e`` (logit share elasticity plus token elasticity), or, for a lab whose
        cost is under a renter's, the :meth:`limit_price` when that is lower::

            e      = max(buyers.price_weight × (1 − revenue_share) + buyers.price_elasticity, 1.05)
            lerner = c × e / (e − 1) × min(demand / capacity, 1.5)   (× 1 if demand ≤ capacity)
            target = min(lerner, limit_price())
            price  = max(price_last^(1 − k) × target^k,  c × (1 + labs.min_margin),  10⁻⁶)

        Bigger labs mark up more; owners have the lower ``c``: they undercut renters, down to
        just under a renter's compute cost when their cost and capacity allow.
        """
        cfg = self.model.scenario_config
        cost = self.cost_per_mtok()
        share_elasticity = cfg.buyers.price_weight * (1.0 - self.revenue_share)
        elasticity = max(share_elasticity + cfg.buyers.price_elasticity, 1.05)
        target = cost * elasticity / (elasticity - 1.0)
        capacity = self.inference_gpus * self.model.market.tokens_per_gpu_month  # M tokens
        if capacity > 0 and self.demand_tokens > capacity:
            target *= min(self.demand_tokens / capacity, 1.5)
        target = min(target, self.limit_price())
        k = cfg.labs.price_adjust
        price = self.price ** (1.0 - k) * target**k
        return float(max(price, cost * (1.0 + cfg.labs.min_margin), 1e-6))

    def limit_price(self) -> float:
        """Price that leaves a renter no margin on compute, $/M tokens (∞: no squeeze).

        An owner spends its cost edge on share rather than margin: it prices just under the
        marginal renter's compute cost per token when its own cost ``c`` still earns
        ``labs.min_margin`` there and its GPUs could serve more than this month's demand
        (training GPUs can be moved to inference down to ``labs.min_train_share``)::

            renter_cost = cheapest rent / tokens_per_gpu_month                [$/M tokens]
            limit       = renter_cost × (1 − labs.undercut)
            squeeze    ⇔  c × (1 + labs.min_margin) ≤ limit  and  demand ≤ most
            most        = total_gpus × (1 − labs.min_train_share) × tokens_per_gpu_month
            limit_price = limit if squeeze else ∞
        """
        cfg = self.model.scenario_config.labs
        m = self.model.market
        limit = m.cheapest_rent / m.tokens_per_gpu_month * (1.0 - cfg.undercut)
        most = self.total_gpus * (1.0 - cfg.min_train_share) * m.tokens_per_gpu_month
        if self.cost_per_mtok() * (1.0 + cfg.min_margin) <= limit and self.demand_tokens <= most:
            return float(limit)
        return math.inf

    def internal_valuation(self) -> float:
        """What the lab's owners think it is worth, $bn.

        ``max(run_rate × labs.internal_multiple × (1 + vcs.growth_weight × growth),
        vcs.pre_revenue_value × max(capability − open_weight_floor, 0)) + owned_gpu_value``:
        revenue at the owners' multiple raised by their growth as investors raise theirs, or,
        before revenue, capability as VCs value it; plus the owned GPUs at half capex.
        """
        cfg = self.model.scenario_config
        growth = cfg.vcs.growth_weight * self.growth()
        rev_value = self.run_rate * cfg.labs.internal_multiple * (1.0 + growth)
        lead = self.capability - self.model.market.open_weight_floor
        cap_value = cfg.vcs.pre_revenue_value * max(lead, 0.0)
        return max(rev_value, cap_value) + self.owned_gpu_value()

    def consider_offer(self, offer: Offer) -> bool:
        """Accept (True) or refuse an offer ($bn amount, pre-money)? Called in the capital market.

        Default: the owners weigh the cash against dilution at their :meth:`internal_valuation`
        ``V`` (:func:`~marketsim.mechanisms.capital.dilution_worth_it`); only the part of the
        round the lab can put to use (:meth:`funding_need`) is worth more than its face::

            accept      ⇔  (V + c × amount) × pre_money / post_money ≥ V   (⇔ c × pre_money ≥ V)
            c           = 1 + (3 × urgency + build_value) × min(amount, need) / amount
            urgency     = max(labs.runway_comfort − runway, 0) / max(labs.runway_comfort, 1)
                          (0 for an infinite runway)
            build_value = (cheapest rent − owned cost) / cheapest rent   (0 unless can_build)

        A lab near the end of its runway accepts offers a comfortable lab refuses; cash that
        can become owned compute is worth the saving of owning over renting; a round larger
        than the lab can use is worth its face, so a lab valuing itself above the offer's
        pre-money refuses it.
        """
        m = self.model.market
        runway = self.runway()
        comfort = self.model.scenario_config.labs.runway_comfort
        urgency = max(comfort - runway, 0.0) / max(comfort, 1) if math.isfinite(runway) else 0.0
        rent = m.cheapest_rent
        build_value = (rent - m.owned_cost_per_gpu_month) / rent if self.can_build() else 0.0
        useful = min(offer.amount, self.funding_need()) / offer.amount if offer.amount > 0 else 0.0
        cash_value = 1.0 + (3.0 * urgency + build_value) * useful
        return dilution_worth_it(self.internal_valuation(), offer.pre_money, offer.amount,
                                 cash_value)

    def funding_need(self) -> float:
        """Money the lab could put to use now, $bn: data centres and a comfortable runway.

        ::

            build   = plan_data_centre() × compute.capex_per_gpu × 10⁻⁹ × (1 − ltv)
                      (the equity part of the project it would start now: lenders
                      finance at most ltv of it; 0 when it would start none, or one
                      below the minimum efficient scale)
            reserve = labs.runway_comfort × max(committed − revenue, 0)
                      (committed: rent kept, upkeep, instalments, fixed cost; not debt service)
            need    = max(build + reserve − max(cash, 0), 0)
        """
        cfg = self.model.scenario_config
        gpus = planned_project(self, self.model.market.min_efficient_scale)  # as built
        equity = 1.0 - self.model.credit.project_ltv(self)  # lenders finance at most the rest
        build = gpus * cfg.compute.capex_per_gpu * BN_PER_USD * equity
        keep = 1.0 - 1.0 / cfg.compute.rental_term
        burn = max(self._spend(keep, self._instalments) - self.revenue, 0.0)
        return max(build + cfg.labs.runway_comfort * burn - max(self.cash, 0.0), 0.0)
