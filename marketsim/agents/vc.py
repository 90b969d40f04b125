"""VentureCapitalist: raises money from limited partners, values labs, offers rounds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from marketsim import decisions as check
from marketsim.mechanisms.capital import Offer, revenue_multiple, screening_keys, top_k

if TYPE_CHECKING:
    from marketsim.agents.lab import AILab
    from marketsim.model import AIMarketModel


class VentureCapitalist(mesa.Agent):
    """A venture investor.

    State: ``dry_powder`` [$bn, its ledger balance], ``portfolio`` (lab unique_id → $bn
    invested), ``returns`` ((tick, lab unique_id, $bn) received from exits), ``sentiment`` [≥ 0, 1 =
    neutral], ``deployed`` [$bn invested in all].
    """

    model: AIMarketModel

    #: Helpers the decisions read, with the check a subclass's override of one passes
    #: (:func:`marketsim.decisions.guard_helpers`; docs/extending.md).
    HELPER_CHECKS: ClassVar[dict[str, Any]] = {"value_lab": check.non_negative}

    def __init__(self, model: AIMarketModel, *, account: int) -> None:
        super().__init__(model)
        self.account = account
        self.portfolio: dict[int, float] = {}
        self.returns: list[tuple[int, int, float]] = []
        self.sentiment = 1.0
        self.deployed = 0.0

    @property
    def dry_powder(self) -> float:
        """Money ready to invest, $bn (the VC's ledger balance)."""
        return self.model.ledger.balance(self.account)

    def screen(self, labs: list[AILab]) -> list[AILab]:
        """Labs to look at this month (called in the capital market).

        Default: ``min(vcs.looks_per_month, len(labs))`` labs drawn without replacement with
        weights ``s × revenue + (1 − s) × mean revenue + 0.05 × max(mean revenue, 10⁻⁶)``
        [$bn], ``s = vcs.revenue_screening`` (Gumbel-top-k keys,
        :func:`~marketsim.mechanisms.capital.screening_keys`): with ``s`` 1, VCs chase what
        is visible; with 0, capital does not follow revenue.
        """
        cfg = self.model.scenario_config.vcs
        k = min(cfg.looks_per_month, len(labs))
        if k == 0:
            return []
        rev = np.array([lab.revenue for lab in labs])
        keys = screening_keys(rev, self.model.rng.gumbel(size=len(labs)), cfg.revenue_screening)
        return [labs[i] for i in top_k(keys, k).tolist()]

    def value_lab(self, lab: AILab) -> float:
        """Pre-money valuation of ``lab`` in $bn.

        ::

            pre_money = max(multiple × run_rate × (0.75 + 0.25 × sentiment),
                            vcs.pre_revenue_value × max(capability − open_weight_floor + 0.3, 0))

        ``multiple`` [× run rate] rises with the lab's growth and is herded toward recent peer
        multiples (:func:`~marketsim.mechanisms.capital.revenue_multiple`); a pre-revenue lab is
        valued on capability above the open-weight floor (``vcs.pre_revenue_value`` $bn per
        log10).
        """
        cfg = self.model.scenario_config.vcs
        m = self.model.market
        multiple = revenue_multiple(lab.growth(), m.peer_multiple, cfg.base_multiple,
                                    cfg.growth_weight, cfg.herding, cfg.max_multiple)
        rev_value = multiple * lab.run_rate * (0.75 + 0.25 * self.sentiment)
        lead = lab.capability - m.open_weight_floor + 0.3
        cap_value = cfg.pre_revenue_value * max(lead, 0.0)
        return float(max(rev_value, cap_value))

    def make_offer(self, lab: AILab) -> Offer | None:
        """An offer to lead a round in ``lab``, or None. Called for each screened lab.

        Default: a round buying ``vcs.round_share`` of the lab at :meth:`value_lab`, sized by
        the lab's valuation rather than this VC's wallet (the capital market fills what the
        lead does not pay from followers and crossover funds, :meth:`join_round`)::

            amount = pre_money × vcs.round_share / (1 − vcs.round_share)        [$bn]

        No offer under $0.01bn, nor to labs valued at nothing, nor to labs losing ground:
        growing at less than half the market's rate while more than 0.3 log10 behind the
        frontier, nor when this VC's own cheque (``vcs.max_check_share × dry_powder``) is
        under $0.01bn.
        """
        cfg = self.model.scenario_config.vcs
        m = self.model.market
        if lab.growth() < 0.5 * m.market_growth and lab.capability < m.frontier - 0.3:
            return None
        pre = self.value_lab(lab)
        if pre <= 0 or self.dry_powder * cfg.max_check_share < 0.01:
            return None
        amount = pre * cfg.round_share / (1.0 - cfg.round_share)
        if amount < 0.01:
            return None
        return Offer(investor=self, lab=lab, amount=float(amount), pre_money=float(pre))

    def join_round(self, offer: Offer, left: float) -> float:
        """$bn this VC puts into a round another investor leads, ``left`` $bn still unraised.

        Called in the capital market for each other VC, in random order, while money is
        missing. Default: follow the lead (herding) with at most its usual cheque::

            part = min(left, vcs.max_check_share × dry_powder)
        """
        return float(min(left, self.model.scenario_config.vcs.max_check_share
                         * max(self.dry_powder, 0.0)))

    def fund_entrant(self) -> float:
        """Seed money in $bn for a new lab the model asks this VC to found (0 to decline).

        Default: ``vcs.seed_round`` if dry powder covers it, else 0.
        """
        seed = self.model.scenario_config.vcs.seed_round
        return seed if self.dry_powder >= seed else 0.0

    def update_sentiment(self, market_growth: float, loss_rate: float) -> float:
        """New sentiment (≥ 0, 1 = neutral) from the market's yearly growth and recent failures.

        Called once a tick with ``market_growth`` (per year, 1.0 = doubling) and
        ``loss_rate`` (labs bankrupt in the last 12 months ÷ active labs). Default: an
        exponential average of growth and losses relative to a doubling a year::

            signal    = clip((1 + clip(market_growth, −0.9, 10)) / 2 × (1 − loss_rate), 0.25, 2)
            sentiment = clip(0.9 × sentiment + 0.1 × signal, 0.2, 2)
        """
        growth = min(max(market_growth, -0.9), 10.0)
        signal = min(max((1.0 + growth) / 2.0 * (1.0 - loss_rate), 0.25), 2.0)
        return float(min(max(0.9 * self.sentiment + 0.1 * signal, 0.2), 2.0))
