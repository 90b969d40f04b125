"""AILab: a frontier lab that trains models, sells tokens, rents or builds compute, raises money."""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from marketsim import decisions as check
from marketsim.agents.borrowing import Borrower
from marketsim.agents.lab_finance import LabFinance
from marketsim.units import BN_PER_USD

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

ACTIVE, ACQUIRED, BANKRUPT = "active", "acquired", "bankrupt"


class AILab(LabFinance, Borrower, mesa.Agent):
    """A frontier AI lab.

    State (units in brackets): ``cash`` [$bn, read from the ledger], ``cap_table`` (ledger
    account → share), ``effective_compute`` [H100-months, algorithm-adjusted],
    ``capability`` [log10 effective compute], ``owned_gpus`` [GPUs online], ``projects``
    (data centres under construction: GPUs, months left, capex per month in $bn),
    ``rented_gpus`` [GPUs, by hyperscaler], ``price`` [$/M tokens],
    ``train_share`` [share of GPUs training],
    ``revenue_history`` [$bn per month], ``valuation`` [$bn, last post-money], ``status``
    ("active", "acquired", "bankrupt"), ``credits`` [$bn of compute credits by hyperscaler],
    ``debt`` [$bn of bridge loans owed to creditors].

    Its prices, valuation and answers to funding offers are in
    :class:`~marketsim.agents.lab_finance.LabFinance`. Every decision is a method a subclass
    may override; each says when it is called, what it must return and the equation of the
    default (docs/model.md, section 7). The model reads
    ``self.model.market`` (a :class:`~marketsim.model.MarketView`) for this month's prices and
    costs.
    """

    model: AIMarketModel

    #: Helpers the decisions read, with the check a subclass's override of one passes
    #: (:func:`marketsim.decisions.guard_helpers`; docs/extending.md).
    HELPER_CHECKS: ClassVar[dict[str, Any]] = {
        "growth": check.number, "compute_budget": check.number,
        "capital_room": check.number, "internal_valuation": check.number,
        "can_build": check.boolean, "build_cost_per_gpu_month": check.positive,
        "gpus_wanted": check.non_negative, "owned_gpu_value": check.non_negative,
        "cost_per_mtok": check.non_negative, "funding_need": check.non_negative,
        "rent_bill": partial(check.non_negative, most=check.MOST_FINITE),  # $, not $bn
        "limit_price": check.non_negative_or_inf, "runway": check.non_negative_or_inf,
    }

    def __init__(self, model: AIMarketModel, *, account: int, price: float) -> None:
        super().__init__(model)
        self.account = account
        self.cap_table: dict[int, float] = {}
        self.effective_compute = 1.0
        self.follower_floor = 0.0  # log10; set monthly when capability.follow_lag > 0
        self.owned_gpus = 0.0
        self.projects: list[list[float]] = []
        self.rented_gpus = np.zeros(model.n_hyperscalers)
        self.price = float(price)
        self.revenue_share = 0.0
        self.train_share = 0.5
        self.inference_gpus = 0.0
        self.demand_tokens = 0.0
        self.served_tokens = 0.0
        self.revenue_history: list[float] = []
        self.valuation = 0.0
        self.status = ACTIVE
        self.credits = np.zeros(model.n_hyperscalers)
        self.founded = model.steps
        self.exit_tick: int | None = None
        self.raised = 0.0
        self.refused = 0.0
        self.debt = 0.0

    # ------------------------------------------------------------------ derived state
    @property
    def cash(self) -> float:
        """Cash, $bn (the lab's ledger balance; negative only as unpaid debt)."""
        return self.model.ledger.balance(self.account)

    @property
    def active(self) -> bool:
        """True while the lab trades (not acquired, not bankrupt)."""
        return self.status == ACTIVE

    @property
    def effective_compute(self) -> float:
        """Effective training compute, H100-months (algorithm-adjusted)."""
        return self._effective_compute

    @effective_compute.setter
    def effective_compute(self, value: float) -> None:
        # The lab's own capability, log10(max(value, 1)), is kept beside it: read every month.
        self._effective_compute = value
        self._own_capability = float(np.log10(max(value, 1.0)))

    @property
    def capability(self) -> float:
        """``max(own, open_weight_floor, follower_floor)`` [log10 H100-months].

        ``own = log10(max(effective_compute, 1))``; ``follower_floor`` is 0 unless
        ``capability.follow_lag`` > 0 (:func:`marketsim.mechanisms.capability.move_frontier`).
        """
        return max(self._own_capability, self.model.market.open_weight_floor,
                   self.follower_floor)

    @property
    def rented_gpus(self) -> np.ndarray:
        """GPUs rented this month from each hyperscaler (read-only; assign a new array)."""
        return self._rented_gpus

    @rented_gpus.setter
    def rented_gpus(self, value: np.ndarray) -> None:
        gpus = np.array(value, dtype=float)
        gpus.flags.writeable = False  # rented_total below must stay its sum
        self.set_rentals(gpus, float(gpus.sum()))

    def set_rentals(self, gpus: np.ndarray, total: float) -> None:
        """Set this month's rentals: ``gpus`` by hyperscaler (read-only, kept as is), sum ``total``.

        The compute market hands each lab a read-only row of its allocation and the row's sum.
        """
        self._rented_gpus = gpus
        self._rented_total = total

    @property
    def rented_total(self) -> float:
        """GPUs rented this month, all hyperscalers together."""
        return self._rented_total

    @property
    def total_gpus(self) -> float:
        """GPUs at the lab's disposal this month (owned online + rented)."""
        return self.owned_gpus + self._rented_total

    @property
    def _instalments(self) -> float:
        """Capex instalments of data centres under construction due this month, $bn."""
        return sum([p[2] for p in self.projects], 0.0)

    def rent_bill(self) -> float:
        """This month's rent, $: ``Σ_h rented_gpus_h × rent_per_gpu_month_h``."""
        return float(self.rented_gpus @ self.model.market.rent_per_gpu_month)

    def _upkeep(self) -> float:
        """Power and upkeep of the owned GPUs this month, $bn: ``owned_gpus × opex × 10⁻⁹``."""
        return self.owned_gpus * self.model.market.opex_per_gpu_month * BN_PER_USD

    def _spend(self, rent_share: float, instalments: float) -> float:
        """``rent_share × rent × 10⁻⁹ + upkeep + instalments + labs.fixed_cost``, $bn this month."""
        return (self.rent_bill() * BN_PER_USD * rent_share + self._upkeep() + instalments
                + self.model.scenario_config.labs.fixed_cost)

    def owned_gpu_value(self) -> float:
        """Owned GPUs at half their capex, $bn: ``owned_gpus × capex_per_gpu × 10⁻⁹ × 0.5``."""
        capex = self.model.scenario_config.compute.capex_per_gpu
        return self.owned_gpus * capex * BN_PER_USD * 0.5

    @property
    def revenue(self) -> float:
        """Revenue in the last month, $bn (0 once the lab has exited)."""
        h = self.revenue_history
        return h[-1] if h and self.status == ACTIVE else 0.0

    @property
    def run_rate(self) -> float:
        """Annualised revenue, $bn/yr: last month × 12."""
        return 12.0 * self.revenue

    def growth(self, months: int = 12) -> float:
        """Yearly revenue growth over the last ``months`` (1.0 = doubled), 0 if unknown.

        ``clip((revenue_now / revenue_span_ago)^(12 / max(span, 6)) − 1, −0.9, 4)`` with
        ``span = min(months, months of history − 1)``; 3.0 (fast growth) when the revenue
        ``span`` months ago was 0, and 0 with under two months of history or no revenue now.
        """
        h = self.revenue_history
        if len(h) < 2 or h[-1] <= 0:
            return 0.0
        span = min(months, len(h) - 1)
        past = h[-1 - span]
        if past <= 0:
            return 3.0
        yearly = (h[-1] / past) ** (12.0 / max(span, 6)) - 1.0
        return float(min(max(yearly, -0.9), 4.0))

    def monthly_costs(self) -> float:
        """Committed spend this month, $bn: rent, owned opex, capex instalments, fixed cost."""
        return self._spend(1.0, self._instalments)

    @property
    def liabilities(self) -> float:
        """What an acquirer must pay off, $bn: ``max(−cash, 0) + debt`` (bridge loans)."""
        return max(-self.cash, 0.0) + self.debt

    def operating_costs(self) -> float:
        """Rent, power, upkeep and staff this month, $bn (capex instalments left out)."""
        return self._spend(1.0, 0.0)

    def runway(self) -> float:
        """Months until cash runs out if the lab spent only what it is committed to, net of revenue.

        ``max(cash, 0) / (committed − revenue)`` [months; ∞ when revenue covers commitments],
        ``committed = keep × rent + upkeep + instalments + debt service + labs.fixed_cost``
        [$bn a month],
        ``keep = 1 − 1/compute.rental_term`` (the share of rentals still under contract). New
        rentals paid from cash are left out: revenue covering commitments needs no outside money.
        """
        keep = 1.0 - 1.0 / self.model.scenario_config.compute.rental_term
        committed = self._spend(keep, self._instalments) + self.model.credit.service_due(self)
        burn = committed - self.revenue
        if burn <= 0:
            return math.inf
        return max(self.cash, 0.0) / burn

    # ------------------------------------------------------------------ decisions
    def cost_per_mtok(self) -> float:
        """Average compute cost of serving one M tokens on the lab's fleet, $/M tokens.

        ``(rent + owned_gpus × owned_cost_per_gpu_month) / total_gpus / tokens_per_gpu_month``;
        the cheapest rent per GPU for a lab with at most one GPU.
        """
        m = self.model.market
        total = self.total_gpus
        if total <= 1.0:
            per_gpu = m.cheapest_rent
        else:
            per_gpu = (self.rent_bill() + self.owned_gpus * m.owned_cost_per_gpu_month) / total
        return per_gpu / m.tokens_per_gpu_month

    def split_compute(self) -> float:
        """Share of this month's GPUs used for training (the rest serve inference), 0–1.

        Called after the compute market. Default: serve this month's demand with headroom,
        keeping at least ``labs.min_train_share`` for training::

            inference GPUs = min(demand_tokens × labs.inference_headroom / tokens_per_gpu_month,
                                 total_gpus × (1 − labs.min_train_share))
            train share    = 1 − inference GPUs / total_gpus
        """
        cfg = self.model.scenario_config.labs
        total = self.total_gpus
        if total <= 0:
            return cfg.min_train_share
        need = self.demand_tokens * cfg.inference_headroom / self.model.market.tokens_per_gpu_month
        most = total * (1.0 - cfg.min_train_share)
        return float(1.0 - min(need, most) / total)

    def request_compute(self) -> float:
        """GPUs to rent this month (≥ 0, all hyperscalers). Called in the compute market.

        Default: spend the :meth:`compute_budget` on the owned GPUs' upkeep, staff, data-centre
        instalments, debt service and, if the lab :meth:`can_build`, a reserve for new data
        centres; rent with the rest at the cheapest posted rent (all $bn except the rent)::

            reserve = capital_room()                                (0 unless can_build)
            rent    = max(budget − (upkeep + instalments + debt service + labs.fixed_cost)
                          − reserve, 0)
            GPUs    = rent / (cheapest rent [$ per GPU-month] × 10⁻⁹)

        (The model keeps at least the share of last month's rentals still under contract,
        ``1 − 1/compute.rental_term``.)
        """
        cfg = self.model.scenario_config.labs
        reserve = self.capital_room() if self.can_build() else 0.0
        committed = (self._upkeep() + self._instalments + self.model.credit.service_due(self)
                     + cfg.fixed_cost)
        rent_budget = max(self.compute_budget() - committed - reserve, 0.0)
        return float(rent_budget / (self.model.market.cheapest_rent * BN_PER_USD))

    def compute_budget(self) -> float:
        """Money the lab means to spend on compute and staff this month, $bn.

        ``labs.reinvest_share × revenue + max(cash, 0) / labs.burn_months``, last month's revenue.
        """
        cfg = self.model.scenario_config.labs
        return cfg.reinvest_share * self.revenue + max(self.cash, 0.0) / cfg.burn_months

    def can_build(self) -> bool:
        """Can the lab build: is owning cheaper than renting, and is it big enough?

        ``owned_cost_per_gpu_month < cheapest rent`` and ``labs.capex_share × compute_budget
        / build_cost_per_gpu_month ≥ max(min_efficient_scale, 1)`` GPUs: the budget's capex
        share, with the financing offered (:meth:`build_cost_per_gpu_month`), pays for a data
        centre of at least the minimum efficient scale.
        """
        m = self.model.market
        if m.owned_cost_per_gpu_month >= m.cheapest_rent:
            return False
        share = self.model.scenario_config.labs.capex_share
        affordable = share * self.compute_budget() / self.build_cost_per_gpu_month()  # GPUs
        return affordable >= max(m.min_efficient_scale, 1.0)

    def gpus_wanted(self) -> float:
        """GPUs of new data centres the lab would start now if money were no object (≥ 0).

        It builds for the compute it expects to need when a project is online: its GPUs grown
        at its revenue growth over the lead time, of which it means to own
        ``labs.build_share``, less what it owns and is building::

            needed = total GPUs × (1 + max(growth(), 0))^(compute.lead_time / 12)     [GPUs]
            wanted = max(labs.build_share × needed − owned GPUs − GPUs under construction, 0)
        """
        cfg = self.model.scenario_config
        building = sum([p[0] for p in self.projects], 0.0)
        needed = self.total_gpus * (1.0 + max(self.growth(), 0.0)) ** (cfg.compute.lead_time / 12)
        return max(cfg.labs.build_share * needed - self.owned_gpus - building, 0.0)

    def plan_data_centre(self) -> float:
        """GPUs of a new data-centre project to start now (0 for none). Called monthly.

        Default: 0 unless :meth:`can_build`; the GPUs it wants (:meth:`gpus_wanted`, sized
        for its expected compute when the project is online) as far as the capital costs fit
        :meth:`capital_room`::

            size = min(gpus_wanted(), capital_room() / build_cost_per_gpu_month())

        and 0 if ``size < max(market.min_efficient_scale, 1)``: only big budgets (or big
        budgets with credit) can build.
        """
        if not self.can_build():
            return 0.0
        size = min(self.gpus_wanted(), self.capital_room() / self.build_cost_per_gpu_month())
        if size < max(self.model.market.min_efficient_scale, 1.0):
            return 0.0
        return float(size)

    def bid_for(self, target: AILab) -> float:
        """Price in $bn this lab offers for a distressed lab's equity (0: no bid).

        Called in consolidation for each distressed lab; among labs and hyperscalers that bid,
        the richest that can pay its bid plus the debt wins. Default, for a material target
        only (run rate ≥ 5% of ours, or capability above ours)::

            value = 3 × run_rate_target + target.owned_gpu_value()
                    + vcs.pre_revenue_value × max(capability_target − capability_self, 0)
            bid   = 0.5 × (value − target.liabilities)

        if that is positive, our cash covers the liabilities plus the bid and our runway is
        at least 12 months; else 0.
        """
        if target.run_rate < 0.05 * self.run_rate and target.capability <= self.capability:
            return 0.0
        lead = target.capability - self.capability
        value = (3.0 * target.run_rate + target.owned_gpu_value()
                 + self.model.scenario_config.vcs.pre_revenue_value * max(lead, 0.0))
        debt = target.liabilities
        surplus = value - debt
        bid = 0.5 * surplus
        if surplus <= 0 or self.cash < debt + bid or self.runway() < 12:
            return 0.0
        return float(bid)
