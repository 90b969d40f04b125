"""AILab: a frontier lab that trains models, sells tokens, rents or builds compute, raises money."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from marketsim.mechanisms.capital import Offer, dilution_worth_it

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

ACTIVE, ACQUIRED, BANKRUPT = "active", "acquired", "bankrupt"


class AILab(mesa.Agent):
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

    Every decision is a method a subclass may override; each says when it is called and what
    it must return. The model reads ``self.model.market`` (a :class:`~marketsim.model.MarketView`)
    for this month's prices and costs.
    """

    model: AIMarketModel

    def __init__(self, model: AIMarketModel, *, account: int, price: float) -> None:
        super().__init__(model)
        self.account = account
        self.cap_table: dict[int, float] = {}
        self.effective_compute = 1.0
        self.owned_gpus = 0.0
        self.projects: list[list[float]] = []
        self.rented_gpus = np.zeros(model.n_hyperscalers)
        self._rent_bill_key: np.ndarray | None = None
        self._rent_bill = 0.0
        self.price = float(price)
        self.revenue_share = 0.0
        self.train_share = 0.5
        self.inference_gpus = 0.0
        self.demand_tokens = 0.0
        self.served_tokens = 0.0
        self.revenue_history: list[float] = []
        self._growth_key: tuple[int, int, float] | None = None
        self._growth = 0.0
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
        # log10 once per change: capability is read a few dozen times a month
        self._set_effective_compute(value, float(np.log10(max(value, 1.0))))

    def _set_effective_compute(self, value: float, log10: float) -> None:
        """Set effective compute (H100-months) with ``log10(max(value, 1))`` already known.

        The capability step computes every lab's log10 in one NumPy call.
        """
        self._effective_compute = value
        self._own_capability = log10

    @property
    def capability(self) -> float:
        """log10 of effective compute, floored by the open-weight model."""
        own, floor = self._own_capability, self.model.market.open_weight_floor
        return floor if floor > own else own  # max(own, floor), read dozens of times a month

    @property
    def rented_gpus(self) -> np.ndarray:
        """GPUs rented this month from each hyperscaler (read-only; assign a new array)."""
        return self._rented_gpus

    @rented_gpus.setter
    def rented_gpus(self, value: np.ndarray) -> None:
        gpus = np.array(value, dtype=float)
        gpus.flags.writeable = False  # the cached total below must stay true
        self.set_rentals(gpus, float(gpus.sum()))

    def set_rentals(self, gpus: np.ndarray, total: float) -> None:
        """Set this month's rentals: ``gpus`` by hyperscaler (read-only, kept as is) and their sum.

        The compute market hands each lab a read-only row of its allocation with the row sums
        computed at once; assigning :attr:`rented_gpus` copies and sums one array.
        """
        self._rented_gpus = gpus
        self._rented_total = total
        self._rent_bill_key = None

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
        projects = self.projects
        return sum([p[2] for p in projects]) if projects else 0.0

    def rent_bill(self) -> float:
        """This month's rent for the GPUs the lab rents, $ (posted rents × GPUs rented)."""
        rent = self.model.market.rent_per_gpu_month
        if self._rent_bill_key is not rent:  # rents and rentals change once a month
            self._rent_bill = float(self._rented_gpus @ rent)
            self._rent_bill_key = rent
        return self._rent_bill

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
        """Yearly revenue growth over the last ``months`` (1.0 = doubled), 0 if unknown."""
        h = self.revenue_history
        n = len(h)
        if n < 2 or h[-1] <= 0:
            return 0.0
        key = (months, n, h[-1])  # revenue is appended once a month; growth is read often
        if key == self._growth_key:
            return self._growth
        past = h[max(n - 1 - months, 0)]
        span = min(months, n - 1)
        if past <= 0:
            g = 3.0
        else:
            g = float(min(max((h[-1] / past) ** (12.0 / max(span, 6)) - 1.0, -0.9), 4.0))
        self._growth_key, self._growth = key, g
        return g

    def monthly_costs(self) -> float:
        """Committed spend this month, $bn: rent, owned opex, capex instalments, fixed cost."""
        m = self.model.market
        rent = self.rent_bill() * 1e-9
        opex = self.owned_gpus * m.opex_per_gpu_month * 1e-9
        return rent + opex + self._instalments + self.model.scenario_config.labs.fixed_cost

    @property
    def liabilities(self) -> float:
        """What an acquirer must pay off, $bn: negative cash plus bridge loans."""
        return max(-self.cash, 0.0) + self.debt

    def operating_costs(self) -> float:
        """Rent, power, upkeep and staff this month, $bn (capex instalments left out)."""
        m = self.model.market
        return (self.rent_bill() * 1e-9
                + self.owned_gpus * m.opex_per_gpu_month * 1e-9
                + self.model.scenario_config.labs.fixed_cost)

    def runway(self) -> float:
        """Months until cash runs out if the lab spent only what it is committed to, net of revenue.

        Commitments: fixed cost, owned compute's power and upkeep, data-centre instalments and
        the share of rentals still under contract (``1 − 1/compute.rental_term``). Discretionary
        spending (new rentals paid from cash) is left out: a lab whose revenue covers its
        commitments has infinite runway and needs no outside money.
        """
        cfg = self.model.scenario_config
        m = self.model.market
        keep = 1.0 - 1.0 / cfg.compute.rental_term
        committed = (self.rent_bill() * 1e-9 * keep
                     + self.owned_gpus * m.opex_per_gpu_month * 1e-9
                     + self._instalments + cfg.labs.fixed_cost)
        burn = committed - self.revenue
        if burn <= 0:
            return math.inf
        cash = self.cash
        return (0.0 if cash < 0.0 else cash) / burn  # max(cash, 0.0), NaN and -0.0 included

    def internal_valuation(self) -> float:
        """What the lab's owners think it is worth, $bn.

        Annualised revenue × the scenario's internal multiple, raised by the lab's own growth,
        plus the replacement value of its owned GPUs; a pre-revenue lab values itself as VCs
        value capability.
        """
        cfg = self.model.scenario_config
        m = self.model.market
        rev_value = self.run_rate * cfg.labs.internal_multiple * (1.0 + 0.1 * self.growth())
        gpu_value = self.owned_gpus * cfg.compute.capex_per_gpu * 1e-9 * 0.5
        lead = self.capability - m.open_weight_floor
        cap_value = cfg.vcs.pre_revenue_value * (0.0 if lead < 0.0 else lead)
        return (cap_value if cap_value > rev_value else rev_value) + gpu_value

    # ------------------------------------------------------------------ decisions
    def set_price(self) -> float:
        """This month's price, $/M tokens. Called once a tick, before demand.

        Default: move ``labs.price_adjust`` of the way toward the Lerner price for the lab's
        cost per token ``c`` and demand elasticity ``e``: ``c × e / (e − 1)``, where
        ``e = buyers.price_weight × (1 − share) + buyers.price_elasticity`` (logit share
        elasticity plus token elasticity). Bigger labs mark up more; owners of data centres
        have the lower ``c`` and so undercut renters. Never below ``c × (1 + labs.min_margin)``;
        raised when demand outran capacity last month.

        Returns:
            A positive, finite price in $/M tokens.
        """
        cfg = self.model.scenario_config
        unit = self.cost_per_mtok()
        e = cfg.buyers.price_weight * (1.0 - self.revenue_share) + cfg.buyers.price_elasticity
        e = 1.05 if 1.05 > e else e  # max(e, 1.05)
        target = unit * e / (e - 1.0)
        capacity = self.inference_gpus * self.model.market.tokens_per_gpu_month
        if capacity > 0 and self.demand_tokens > capacity:
            excess = self.demand_tokens / capacity
            target *= 1.5 if 1.5 < excess else excess  # min(excess, 1.5)
        k = cfg.labs.price_adjust
        price = self.price ** (1.0 - k) * target**k
        least = unit * (1.0 + cfg.labs.min_margin)
        price = least if least > price else price  # max(price, least, 1e-6), in two steps
        return float(1e-6 if 1e-6 > price else price)

    def cost_per_mtok(self) -> float:
        """Average compute cost of serving one M tokens on the lab's fleet, $/M tokens."""
        m = self.model.market
        total = self.total_gpus
        if total <= 1.0:
            per_gpu = m.cheapest_rent
        else:
            rent = self.rent_bill()
            per_gpu = (rent + self.owned_gpus * m.owned_cost_per_gpu_month) / total
        return per_gpu / m.tokens_per_gpu_month

    def split_compute(self) -> float:
        """Share of this month's GPUs used for training (the rest serve inference), 0–1.

        Called after the compute market. Default: serve expected demand with
        ``labs.inference_headroom`` but keep at least ``labs.min_train_share`` for training.
        """
        cfg = self.model.scenario_config.labs
        total = self.total_gpus
        if total <= 0:
            return cfg.min_train_share
        need = self.demand_tokens * cfg.inference_headroom / self.model.market.tokens_per_gpu_month
        most = total * (1.0 - cfg.min_train_share)
        return float(1.0 - (most if most < need else need) / total)  # min(need, most)

    def request_compute(self) -> float:
        """GPUs to rent this month (total across hyperscalers). Called in the compute market.

        Default: spend :meth:`compute_budget` on owned compute's power and upkeep, staff,
        data-centre instalments and, if the lab can build (:meth:`can_build`), a reserve of
        ``labs.capex_share`` of the budget for new data centres; the rest rents GPUs at the
        cheapest posted price. (The model keeps at least the share of last month's rentals
        that contracts still commit: ``1 − 1/compute.rental_term``.)

        Returns:
            GPUs wanted (≥ 0).
        """
        cfg = self.model.scenario_config.labs
        m = self.model.market
        budget = self.compute_budget()
        instalments = self._instalments
        reserve = cfg.capex_share * budget - instalments if self.can_build() else 0.0
        committed = self.owned_gpus * m.opex_per_gpu_month * 1e-9 + instalments + cfg.fixed_cost
        rent_budget = budget - committed - (0.0 if reserve < 0.0 else reserve)
        gpus = (0.0 if rent_budget < 0.0 else rent_budget) / (m.cheapest_rent * 1e-9)
        return float(0.0 if gpus < 0.0 else gpus)

    def compute_budget(self) -> float:
        """Money the lab means to spend on compute and staff this month, $bn.

        ``labs.reinvest_share`` of last month's revenue plus cash spread over
        ``labs.burn_months``.
        """
        cfg = self.model.scenario_config.labs
        revenue, cash = self.revenue, self.cash
        return cfg.reinvest_share * revenue + (0.0 if cash < 0.0 else cash) / cfg.burn_months

    def can_build(self) -> bool:
        """Can the lab build: is owning cheaper than renting, and is it big enough?

        Big enough: ``labs.capex_share`` of its compute budget over the lead time pays for a
        data centre of at least the minimum efficient scale.
        """
        m = self.model.market
        if m.owned_cost_per_gpu_month >= m.cheapest_rent:
            return False
        cfg = self.model.scenario_config
        c = cfg.compute
        lead = c.lead_time or 1  # max(lead_time, 1) for a lead time >= 0 months
        affordable = cfg.labs.capex_share * self.compute_budget() * lead / (c.capex_per_gpu * 1e-9)
        scale = m.min_efficient_scale
        return affordable >= (1.0 if scale < 1.0 else scale)

    def plan_data_centre(self) -> float:
        """GPUs of a new data-centre project to start now (0 for none). Called monthly.

        Default: build when :meth:`can_build`. Projects replace ``labs.build_share`` of the
        GPUs the lab rents (less what is already being built), and all capex instalments
        together (paid over ``compute.lead_time``) may take at most ``labs.capex_share`` of
        the compute budget (:meth:`request_compute` holds that back from renting). The model
        builds nothing below the minimum efficient scale (``market.min_efficient_scale``:
        ``compute.min_efficient_scale`` growing by ``compute.scale_growth`` a year): this is
        where size pays, as only big budgets can afford a data centre.

        Returns:
            GPUs to start building (0 for no project).
        """
        if not self.can_build():
            return 0.0
        cfg = self.model.scenario_config
        scale = self.model.market.min_efficient_scale
        per_gpu_month = cfg.compute.capex_per_gpu * 1e-9 / (cfg.compute.lead_time or 1)
        room = cfg.labs.capex_share * self.compute_budget() - self._instalments
        affordable = (0.0 if room < 0.0 else room) / per_gpu_month
        building = sum([p[0] for p in self.projects]) if self.projects else 0.0
        wanted = cfg.labs.build_share * self.rented_total - building
        size = affordable if affordable < wanted else wanted  # min(wanted, affordable)
        if size < (1.0 if scale < 1.0 else scale):
            return 0.0
        return float(size)

    def consider_offer(self, offer: Offer) -> bool:
        """Accept this funding offer? Called for each offer in the capital market.

        Default: the owners weigh the cash against dilution at their internal valuation
        (:func:`~marketsim.mechanisms.capital.dilution_worth_it`). Cash is worth more than face
        value when the runway is short (below ``labs.runway_comfort`` months), so a lab near
        the end of its runway accepts offers a comfortable lab refuses; and it is worth the
        saving of owning over renting to a lab big enough to build a data centre.

        Args:
            offer: the :class:`~marketsim.mechanisms.capital.Offer` (amount and pre-money in
                $bn).

        Returns:
            True to accept, False to refuse.
        """
        cfg = self.model.scenario_config
        m = self.model.market
        runway = self.runway()
        comfort = cfg.labs.runway_comfort
        if math.isfinite(runway):
            short = comfort - runway
            urgency = (0.0 if short < 0.0 else short) / (1 if 1 > comfort else comfort)
        else:
            urgency = 0.0
        # Cash that can become owned compute is worth the saving of owning over renting.
        rent = m.cheapest_rent
        build_value = (rent - m.owned_cost_per_gpu_month) / rent if self.can_build() else 0.0
        cash_value = 1.0 + 3.0 * urgency + build_value
        return dilution_worth_it(self.internal_valuation(), offer.pre_money, offer.amount,
                                 cash_value)

    def bid_for(self, target: AILab) -> float:
        """Price in $bn this lab offers for a distressed lab's equity (0: no bid).

        Called in consolidation for each distressed lab; among labs and hyperscalers that bid,
        the richest that can pay its bid plus the debt wins. The acquirer also pays the
        target's debt. Default: only for a target whose run rate is at least 5% of ours (a
        deal must matter) or whose capability is above ours; value its customers (3× run
        rate), its owned GPUs at half capex and any capability above ours; bid half of what
        exceeds the debt, if our runway is at least 12 months.

        Returns:
            $bn offered for the equity (0 for no bid).
        """
        cfg = self.model.scenario_config
        if target.run_rate < 0.05 * self.run_rate and target.capability <= self.capability:
            return 0.0
        value = 3.0 * target.run_rate + target.owned_gpus * cfg.compute.capex_per_gpu * 0.5e-9
        if target.capability > self.capability:
            value += cfg.vcs.pre_revenue_value * (target.capability - self.capability)
        debt = target.liabilities
        surplus = value - debt
        if surplus <= 0 or self.cash < debt + 0.5 * surplus or self.runway() < 12:
            return 0.0
        return float(0.5 * surplus)
