"""AIMarketModel: wires agents, ledger and the seven mechanisms in one visible order."""

from __future__ import annotations

import statistics
from operator import attrgetter
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario

from marketsim.agents import (
    ACQUIRED,
    ACTIVE,
    BANKRUPT,
    AILab,
    BuyerArrays,
    EnterpriseBuyer,
    Hyperscaler,
    VentureCapitalist,
)
from marketsim.ledger import Ledger
from marketsim.mechanisms import (
    capability,
    capacity,
    capital,
    compute,
    consolidation,
    credit,
    datacentres,
    demand,
    inference,
    market,
    sentiment,
    setup,
)
from marketsim.mechanisms.market import MarketView
from marketsim.reporters import (
    LAB_REPORTERS,
    MODEL_REPORTERS,
    REGIME_WINDOW,
    calendar_month,
    tick_stats,
)
from marketsim.scenario import MarketScenario, load_scenario


class AIMarketModel(mesa.Model):
    """The market for frontier AI, one tick per month.

    Args:
        scenario: a :class:`~marketsim.scenario.MarketScenario`, a path or shipped name
            (``"null"``), or None for ``scenarios/default.toml``.
        rng: integer seed (Mesa 3.5 convention); same seed, same run.
        **overrides: dotted scenario keys to values, e.g. ``**{"buyers.count": 20_000}``
            (this is how Mesa's SolaraViz passes its sliders).

    Attributes:
        scenario_config: the validated scenario in force.
        ledger: every account and transfer (:class:`~marketsim.ledger.Ledger`).
        credit: the creditors' book of labs' loans and defaults
            (:class:`~marketsim.mechanisms.credit.CreditBook`).
        labs: every lab ever created, in creation order (index = buyers' supplier index).
        buyers: the buyer arrays (:class:`~marketsim.agents.BuyerArrays`).
        buyer_groups: the buyer populations, one per class, each a slice of ``buyers``.
        vcs, hyperscalers: the VCs and hyperscalers, by initial rank.
        classes: the agent classes the scenario names, imported once at set-up.
        market: this month's :class:`MarketView`.
        datacollector: Mesa DataCollector with the contract's model reporters.
    """

    def __init__(
        self,
        scenario: MarketScenario | str | Path | MesaScenario | None = None,
        *,
        rng: int | None = None,
        **overrides: Any,
    ) -> None:
        if "seed" in overrides:
            raise TypeError("AIMarketModel takes rng= (an int seed), not seed= (deprecated "
                            "in Mesa 3.5)")
        if isinstance(scenario, MesaScenario):  # SolaraViz's Reset passes an empty one
            overrides = {**{k: v for k, v in scenario if k != "rng"}, **overrides}
            scenario = None
        if isinstance(scenario, MarketScenario):
            if overrides:
                from marketsim.scenario import validate_scenario

                scenario = validate_scenario(scenario.to_toml_dict(), file=scenario.source,
                                             overrides=overrides)
        else:
            scenario = load_scenario(scenario, overrides=overrides or None)
        if rng is not None:  # Mesa seeds Python's random too, which takes ints, not NumPy's
            rng = _whole_number(rng, "rng", "an integer seed")
        super().__init__(rng=rng)
        self.scenario_config: MarketScenario = scenario
        self.seed = rng
        cfg = scenario
        self.horizon = cfg.horizon
        self.n_hyperscalers = cfg.hyperscalers.count
        self.ledger = Ledger()
        self.credit = credit.CreditBook(cfg.credit, cfg.labs.credit_months)
        self.market = MarketView()
        self.labs: list[AILab] = []
        self._trading: list[AILab] = []  # labs not yet closed, in creation order
        self._leaving: list[AILab] = []  # labs closed this month, deregistered next month
        self.frontier_history: list[float] = []
        self.recent_multiples: list[tuple[int, float]] = []
        self.counts: dict[str, float] = {}
        self._reset_counts()
        self.classes = setup.resolve_classes(cfg)
        setup.set_costs(self.market, cfg)
        self.hyperscalers: list[Hyperscaler] = setup.build_hyperscalers(
            self, self.classes.hyperscalers)
        self.vcs: list[VentureCapitalist] = setup.build_vcs(self, self.classes.vcs)
        setup.build_labs(self, self.classes.labs)
        capability.move_frontier(self.active_labs(), self.frontier_history, self.market,
                               cfg.capability)
        self.buyers: BuyerArrays
        self.buyer_groups: list[EnterpriseBuyer]
        self.buyers, self.buyer_groups = setup.build_buyers(self, self.classes.buyers)
        setup.first_choices(self)
        self._demand = np.zeros(len(self.labs))  # M tokens demanded from each lab this month
        self._pop_demand: list[np.ndarray] = []  # each buyer population's part of it
        self.stats: dict[str, Any] = {}
        self.regime_window: list[dict[str, Any]] = []
        self.spend_history: list[float] = []
        #: lab id → (post-money, amount) of its highest-valued refused offer this month, $bn
        self.refused_offers: dict[int, tuple[float, float]] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _reporter(name) for name in MODEL_REPORTERS},
            agenttype_reporters={cls: _lab_reporters() for cls in dict.fromkeys(
                [self.classes.entrant, *(type(lab) for lab in self.labs)])},
        )

    # ------------------------------------------------------------------ the roster
    @property
    def tick(self) -> int:
        """Months run so far (the tick the next step will be)."""
        return self.steps

    def active_labs(self) -> list[AILab]:
        """Labs still trading, in creation order (a new list each call)."""
        return [lab for lab in self._trading if lab.status == ACTIVE]

    def found_lab(self, cls: type[AILab], *, price: float) -> AILab:
        """A new lab of ``cls`` with its own account, at ``price`` $/M tokens, now trading."""
        acct = self.ledger.open(f"lab_{len(self.labs)}")
        lab = setup.construct(cls, self, account=acct, price=price)
        lab.index = len(self.labs)
        self.labs.append(lab)
        self._trading.append(lab)
        return lab

    def close_lab(self, lab: AILab, status: str, t: int) -> None:
        """The lab stops trading (``status``: acquired or bankrupt) and is counted as an exit.

        It stays in ``self.labs`` (buyers' supplier indices point there) and in the Mesa agent
        set until the next month, so the DataCollector records its exit once; then it is
        removed.
        """
        consolidation.close(lab, status, t)
        self._trading.remove(lab)
        self._leaving.append(lab)
        self.counts["exits_acquired" if status == ACQUIRED else "exits_bankrupt"] += 1

    def _reset_counts(self) -> None:
        self.counts = dict.fromkeys(
            ("entries", "exits_bankrupt", "exits_acquired", "vc_deployed", "offers_made",
             "offers_accepted", "offers_refused", "amount_refused", "strategic_deployed",
             "enterprise_spend", "demand_tokens", "unmet_tokens"), 0.0)

    # ------------------------------------------------------------------ the tick
    def step(self) -> None:
        """One month, mechanisms in the design's order."""
        t = self.steps - 1  # Mesa counts steps from 1; tick 0 is the first month
        self.ledger.tick = t
        for lab in self._leaving:  # exited last month: its last agent-reporter row is recorded
            lab.remove()
        self._leaving.clear()
        self._reset_counts()
        market.open_month(self.market, t, self.scenario_config, self.recent_multiples)
        self.demand_step(t)
        self.inference_step()
        self.compute_step()
        self.capability_step(t)
        self.capital_step(t)
        self.consolidation_step(t)
        self.record(t)

    def demand_step(self, t: int) -> None:
        """Mechanism 1: prices, adoption, supplier re-choice, tokens demanded per lab."""
        self._demand, self._pop_demand = demand.demand_month(
            self.labs, self.buyer_groups, self.buyers, self.market.open_weight_floor,
            self.scenario_config.buyers, self.rng)

    def inference_step(self) -> None:
        """Mechanism 2: serve up to capacity, ration the rest; buyers pay labs."""
        spend, unmet = inference.inference_month(
            self.labs, self.buyer_groups, self._demand, self._pop_demand,
            self.market.tokens_per_gpu_month, self.ledger)
        self.counts["enterprise_spend"] = spend
        self.counts["demand_tokens"] = float(self._demand.sum())
        self.counts["unmet_tokens"] = unmet

    def compute_step(self) -> None:
        """Mechanism 3: rents posted, rentals allocated and paid, data centres, cloud capacity."""
        cfg = self.scenario_config
        m, led, hyperscalers = self.market, self.ledger, self.hyperscalers
        compute.post_rents(hyperscalers, m, cfg.compute.gpu_life)
        labs = self.active_labs()
        alloc = compute.rentals(labs, hyperscalers, m.rent_per_gpu_month, cfg.compute.rental_term)
        dues = compute.rent_dues(labs, alloc, m.rent_per_gpu_month)
        landlords = [hs.account for hs in hyperscalers]
        retire = compute.retention(cfg.compute.gpu_life)
        for lab, row, total, due_row in zip(labs, alloc, alloc.sum(axis=1).tolist(),
                                            dues.tolist(), strict=True):
            lab.set_rentals(row, total)
            compute.bill(lab, due_row, landlords, led, m.opex_per_gpu_month, cfg.labs.fixed_cost)
            credit.service(lab, led, self.credit, led.tick)
            datacentres.build_month(lab, led, m.min_efficient_scale, retire, cfg.compute,
                                    self.credit, led.tick)
            compute.split_gpus(lab)
        capacity.order_capacity(hyperscalers, compute.rented_by_hyperscaler(
            alloc, len(hyperscalers)), led, m.opex_per_gpu_month, cfg)

    def capability_step(self, t: int) -> None:
        """Mechanism 4: training compute becomes effective compute; the frontier moves."""
        cc = self.scenario_config.capability
        capability.train(self.active_labs(), t, cc)
        capability.move_frontier(self.active_labs(), self.frontier_history, self.market, cc)

    def capital_step(self, t: int) -> None:
        """Mechanism 5: LP inflow, venture and strategic offers, accept or refuse, dilution."""
        vcfg = self.scenario_config.vcs
        capital.lp_inflow(self.vcs, self.ledger, vcfg)
        self.counts.update(dict.fromkeys(capital.COUNTS, 0.0))
        labs = self.active_labs()
        order = [self.vcs[i] for i in self.rng.permutation(len(self.vcs)).tolist()]
        deals = capital.Deals(self.ledger, self.counts, self.recent_multiples, t, labs,
                              order, vcfg)
        for vc in order:
            deals.venture(vc)
        for hs in self.hyperscalers:
            deals.strategic(hs)
        self.refused_offers = deals.refused
        growth = sentiment.market_growth(self.spend_history, self.counts["enterprise_spend"])
        self.market.market_growth = growth
        sentiment.update_sentiment(self.vcs, growth,
                                   sentiment.loss_rate(self.labs, len(labs), t, BANKRUPT))

    def consolidation_step(self, t: int) -> None:
        """Mechanism 6: debts resolved; distressed labs acquired or bankrupt; entrants funded.

        Lenders set their appetite from borrowers' recent defaults; a lab with negative cash
        may get a bridge loan (:mod:`~marketsim.mechanisms.credit`); any other is acquired by
        the richest willing bidder or goes bankrupt.
        """
        cfg, led, book = self.scenario_config, self.ledger, self.credit
        supplier = self.buyers.supplier
        book.update_appetite(t)
        credit.repay_bridge_from_spare_cash(self.active_labs(), led, book, t)
        for target in consolidation.distressed(self.active_labs()):
            if not target.active or target.cash >= 0 or credit.bridge(target, led, book, t):
                continue
            bidders: list[Any] = [lab for lab in self.active_labs()
                                  if lab is not target and lab.cash > 0]
            winner, price = consolidation.highest_bid(target, bidders + self.hyperscalers)
            if winner is not None:
                consolidation.acquire(winner, target, price, led, self.vcs, supplier, t, book)
                self.close_lab(target, ACQUIRED, t)
            else:
                consolidation.bankrupt(target, led, self.vcs, supplier, t, cfg.compute, book)
                self.close_lab(target, BANKRUPT, t)
        self._entry()

    def _entry(self) -> None:
        """VCs found new labs of the ``[labs]`` class, at the median price of the active labs."""
        vcfg = self.scenario_config.vcs
        n = consolidation.entrants(self.vcs, vcfg, self.rng)
        if n == 0:
            return
        prices = [lab.price for lab in self.active_labs()] or [
            self.scenario_config.labs.initial_price]
        price = float(statistics.median(prices))
        consolidation.found_entrants(
            n, self.vcs, lambda: self.found_lab(self.classes.entrant, price=price), self.ledger,
            self.counts, self.market.open_weight_floor, self.rng)

    def record(self, t: int) -> None:
        """Mechanism 7: compute this tick's statistics and let the DataCollector record them."""
        self.stats = tick_stats(self, t)
        self.regime_window.append(self.stats)
        del self.regime_window[:-REGIME_WINDOW]
        self.spend_history.append(self.counts["enterprise_spend"])
        self.datacollector.collect(self)
        if self.steps >= self.horizon:
            self.running = False

    # ------------------------------------------------------------------ running
    def run(self, ticks: int | None = None, *, progress: bool = False) -> AIMarketModel:
        """Run to the scenario's horizon, or ``ticks`` more months.

        Args:
            ticks: months to run; None runs until ``horizon`` months have passed.
            progress: show a tqdm progress bar.

        Returns:
            The model itself, so ``AIMarketModel(sc, rng=1).run().regime`` reads well.
        """
        n = (max(self.horizon - self.steps, 0) if ticks is None
             else _whole_number(ticks, "ticks", "a whole number of months"))
        iterator = range(n)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="months", unit="tick", leave=False)
        for _ in iterator:
            self.running = True
            self.step()
        return self

    @property
    def regime(self) -> str:
        """Regime label: competitive, concentrated, bifurcated or consolidated.

        The label of the trailing window ending at the last tick: medians over the last
        ``regime.window`` months of the labs' tiers, HHI and survivors' share
        (:func:`marketsim.metrics.classify`; thresholds in the scenario's ``[regime]``
        section; docs/model.md).
        """
        if not self.stats:
            self.stats = tick_stats(self, self.steps)
        return self.stats["regime"]

    @property
    def date(self) -> str:
        """Calendar month of the last completed tick, 'YYYY-MM'."""
        return calendar_month(self.scenario_config.start, max(self.steps - 1, 0))


def _whole_number(value: Any, name: str, what: str) -> int:
    """``value`` as an int >= 0 (a Python or NumPy integer; never a bool or a float).

    Raises:
        TypeError: not an integer.
        ValueError: negative.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {what} >= 0, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be {what} >= 0, not {value!r}")
    return int(value)


def _lab_reporters() -> dict[str, Any]:
    """:data:`LAB_REPORTERS` for Mesa, attribute names as ``operator.attrgetter``.

    Mesa wraps an attribute name in a Python function; an ``attrgetter`` reads the same
    attribute without one (the DataCollector reads every lab's reporters every month).
    """
    return {name: attrgetter(rep) if isinstance(rep, str) else rep
            for name, rep in LAB_REPORTERS.items()}


def _reporter(name: str):
    def get(model: AIMarketModel) -> Any:
        return model.stats[name]

    get.__name__ = name
    return get
