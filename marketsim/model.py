"""AIMarketModel: wires agents, ledger and the seven mechanisms in one visible order."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario

from marketsim import decisions as check
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
from marketsim.errors import DecisionError
from marketsim.ledger import Ledger
from marketsim.mechanisms import capability as cap_mech
from marketsim.mechanisms import capital, compute, consolidation, demand, inference
from marketsim.mechanisms.capital import Offer
from marketsim.reporters import (
    LAB_REPORTERS,
    MODEL_REPORTERS,
    REGIME_WINDOW,
    calendar_month,
    tick_stats,
)
from marketsim.scenario import MarketScenario, load_class, load_scenario


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
            # the cheapest rent and the labs' rent bills computed from them stay true.
            value = np.array(value, dtype=float)
            value.flags.writeable = False
            object.__setattr__(self, "cheapest_rent", float(value.min()) if value.size
                               else math.inf)
        object.__setattr__(self, name, value)


def _construct(cls: type, model: AIMarketModel, **kwargs: Any) -> Any:
    """Build an agent: ``cls(model, **kwargs)``.

    A subclass whose ``__init__`` cannot take the keyword arguments the model passes gets a
    TypeError naming the class and those arguments (errors inside ``__init__`` pass as is).
    The signature is looked at only when the call fails: building agents costs nothing extra.
    """
    try:
        return cls(model, **kwargs)
    except TypeError:
        try:
            inspect.signature(cls).bind(model, **kwargs)
        except TypeError as exc:
            args = ", ".join(f"{k}=..." for k in kwargs)
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__}(model, {args}): {exc}. A subclass's "
                "__init__ must take these keyword arguments and pass them on, e.g. "
                "def __init__(self, model, **kwargs): super().__init__(model, **kwargs)"
            ) from None
        raise  # the signature fits: the error is from inside __init__


def _class_plan(section: Any, base: type, file: str | None, kind: str) -> list[type]:
    """Class of each agent of a kind, by initial rank (0 = largest).

    Mix entries take their explicit ranks first; the rest of each entry's count takes the
    free ranks of the smallest labs (highest rank numbers) first. Validation already
    rejected clashing ranks.
    """
    default = (load_class(section.class_, base, key=f"{kind}.class", file=file)
               if section.class_ else base)
    plan: list[type] = [default] * section.count
    classes = [load_class(mix.class_, base, key=f"{kind}.mix[{i}].class", file=file)
               for i, mix in enumerate(section.mix)]
    taken: set[int] = set()
    for cls, mix in zip(classes, section.mix, strict=True):
        for r in mix.ranks or []:
            plan[r] = cls
            taken.add(r)
    free = (r for r in range(section.count - 1, -1, -1) if r not in taken)
    for cls, mix in zip(classes, section.mix, strict=True):
        for _ in range(mix.count - len(mix.ranks or [])):
            r = next(free)
            plan[r] = cls
            taken.add(r)
    return plan


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
        labs: every lab ever created, in creation order (index = buyers' supplier index).
        buyers: the buyer arrays (:class:`~marketsim.agents.BuyerArrays`).
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
        self.market = MarketView()
        self.labs: list[AILab] = []
        self._trading: list[AILab] = []  # labs not yet closed, in creation order
        self._leaving: list[AILab] = []  # labs closed this month, deregistered next month
        self.frontier_history: list[float] = []
        self.recent_multiples: list[tuple[int, float]] = []
        self.counts: dict[str, float] = {}
        self._reset_counts()
        self._setup_costs()
        self._setup_hyperscalers()
        self._setup_vcs()
        self._setup_labs()
        self._setup_buyers()
        self.stats: dict[str, Any] = {}
        self.regime_window: list[dict[str, Any]] = []
        self.spend_history: list[float] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _reporter(name) for name in MODEL_REPORTERS},
            agenttype_reporters={cls: _lab_reporters() for cls in self._lab_classes()},
        )

    # ------------------------------------------------------------------ set-up
    def _setup_costs(self) -> None:
        c = self.scenario_config.compute
        m = self.market
        m.opex_per_gpu_month = compute.opex_per_gpu_month(c.power_kw, c.power_price, c.upkeep)
        m.owned_cost_per_gpu_month = compute.owned_cost_per_gpu_month(
            c.capex_per_gpu, c.gpu_life, c.power_kw, c.power_price, c.upkeep)
        m.tokens_per_gpu_month = inference.tokens_per_gpu_month(
            c.tokens_per_gpu_hour, c.throughput_growth, 0)
        m.reference_price = self.scenario_config.labs.initial_price
        m.min_efficient_scale = c.min_efficient_scale

    def _setup_hyperscalers(self) -> None:
        cfg = self.scenario_config
        classes = _class_plan(cfg.hyperscalers, Hyperscaler, cfg.source, "hyperscalers")
        weights = self.rng.dirichlet(np.full(len(classes), 5.0))
        self.hyperscalers: list[Hyperscaler] = []
        for i, cls in enumerate(classes):
            acct = self.ledger.open(f"hyperscaler_{i}")
            hs = _construct(cls, self, account=acct,
                            capacity=cfg.hyperscalers.initial_gpus * weights[i], index=i)
            self.hyperscalers.append(hs)
        self.market.rent_per_gpu_month = np.array(
            [check.positive(hs.set_rent(), hs, "set_rent") for hs in self.hyperscalers])
        for hs in self.hyperscalers:
            hs.rent = float(self.market.rent_per_gpu_month[hs.index])

    def _setup_vcs(self) -> None:
        cfg = self.scenario_config.vcs
        classes = _class_plan(cfg, VentureCapitalist, self.scenario_config.source, "vcs")
        weights = self.rng.dirichlet(np.full(len(classes), 2.0))
        self.vcs: list[VentureCapitalist] = []
        for i, cls in enumerate(classes):
            vc = _construct(cls, self, account=self.ledger.open(f"vc_{i}"))
            self.ledger.transfer(self.ledger["limited_partners"], vc.account,
                                 cfg.initial_dry_powder * cfg.capital_abundance * weights[i],
                                 "lp_commitment")
            self.vcs.append(vc)

    def _setup_labs(self) -> None:
        cfg = self.scenario_config
        lc = cfg.labs
        classes = _class_plan(lc, AILab, cfg.source, "labs")
        n = len(classes)
        ranks = np.arange(n)
        gpus = lc.leader_gpus * (ranks + 1.0) ** (-lc.size_exponent)
        gpus *= self.rng.lognormal(0.0, 0.15, size=n)
        owned_share = lc.owned_share_top * lc.owned_share_decay ** ranks
        capacity = np.array([hs.capacity for hs in self.hyperscalers])
        rented_total = gpus * (1.0 - owned_share)
        if rented_total.sum() > capacity.sum() > 0:  # never rent more than exists
            rented_total *= capacity.sum() / rented_total.sum()
        split = capacity / capacity.sum() if capacity.sum() > 0 else np.zeros_like(capacity)
        m = self.market
        cash_months = lc.cash_months * self.rng.lognormal(0.0, lc.cash_months_sigma, size=n)
        for i, cls in enumerate(classes):
            lab = self._new_lab(cls, price=lc.initial_price)
            lab.owned_gpus = float(gpus[i] * owned_share[i])
            lab.rented_gpus = rented_total[i] * split
            monthly = (lab.owned_gpus * m.owned_cost_per_gpu_month
                       + float(lab.rented_gpus @ m.rent_per_gpu_month)) * 1e-9
            self.ledger.transfer(self.ledger["founders"], lab.account,
                                 cash_months[i] * (monthly + lc.fixed_cost), "founding")
            lab.cap_table = {self.ledger["founders"]: 1.0}
            lab.train_share = 1.0 - lc.min_train_share
            lab.effective_compute = lab.total_gpus / (1.0 - cfg.capability.retention * 0.999)
        self._update_frontier()

    def _new_lab(self, cls: type[AILab], *, price: float) -> AILab:
        acct = self.ledger.open(f"lab_{len(self.labs)}")
        lab = _construct(cls, self, account=acct, price=price)
        lab.index = len(self.labs)
        self.labs.append(lab)
        self._trading.append(lab)
        return lab

    def _setup_buyers(self) -> None:
        cfg = self.scenario_config
        bc = cfg.buyers
        default = (load_class(bc.class_, EnterpriseBuyer, key="buyers.class", file=cfg.source)
                   if bc.class_ else EnterpriseBuyer)
        runs = [(default, bc.count - sum(mix.count for mix in bc.mix))]
        runs += [(load_class(mix.class_, EnterpriseBuyer, key=f"buyers.mix[{i}].class",
                             file=cfg.source), mix.count) for i, mix in enumerate(bc.mix)]
        self.buyers = BuyerArrays(bc.count)
        self.buyer_groups: list[EnterpriseBuyer] = []
        start = 0
        # Each class's buyers are one population: one contiguous slice of the arrays.
        for cls, run in runs:
            if run <= 0:
                continue
            sl = slice(start, start + run)
            pop = _construct(cls, self, sl=sl,
                             account=self.ledger.open(f"buyers_{len(self.buyer_groups)}"))
            self.buyer_groups.append(pop)
            self.buyers.size[sl] = check.amounts(pop.draw_sizes(self.rng), pop, "draw_sizes",
                                                 n=run)
            start += run
        b = self.buyers
        n = len(b)
        b.adopted[:] = self.rng.random(n) < bc.initial_adoption
        b.contract_age[:] = self.rng.integers(0, bc.contract_months, size=n)
        price, quality = self._prices(), self._quality()
        probs = self._choice_probs(quality, price)
        idx = np.flatnonzero(b.adopted)
        b.supplier[idx] = demand.choose_suppliers(
            b.supplier[idx], probs, 0.0, self.rng.random(idx.size), self.rng.random(idx.size))
        # Scale tokens per unit size so that tick-0 spend is the scenario's initial spend.
        self.market.tokens_per_size = 1.0
        lab_demand = self._lab_demand(price, quality)
        spend = float(lab_demand @ price) * 1e-9  # M tokens × $/M tokens = $
        if spend <= 0:  # no buyer adopted at tick 0: scale on the expected spend instead
            spend = self._expected_spend(price, quality, probs)
        self.market.tokens_per_size = bc.initial_spend / spend if spend > 0 else 0.0
        if not math.isfinite(self.market.tokens_per_size):
            raise ValueError(f"buyers.initial_spend = {bc.initial_spend} $bn cannot be matched: "
                             f"the buyers' tick-0 spend at one token per unit of size is "
                             f"{spend:.3g} $bn (check draw_sizes and demand_per_size)")
        lab_demand *= self.market.tokens_per_size
        for lab, d in zip(self.labs, lab_demand, strict=True):
            lab.demand_tokens = float(d)
            self._split_compute(lab)

    @staticmethod
    def _split_compute(lab: AILab) -> None:
        """Ask the lab how to split its GPUs (training share clipped to 0–1); set both parts."""
        share = check.number(lab.split_compute(), lab, "split_compute")
        lab.train_share = 1.0 if share > 1.0 else 0.0 if share < 0.0 else share  # clip to 0-1
        lab.inference_gpus = lab.total_gpus * (1.0 - lab.train_share)

    def _expected_spend(self, price: np.ndarray, quality: np.ndarray, probs: np.ndarray,
                        ) -> float:
        """Tick-0 spend in $bn at one token per unit of size, expected over who adopts.

        Used when no buyer happened to adopt at tick 0 (``buyers.initial_adoption`` of 0, or
        a handful of buyers): every buyer adopts with probability ``initial_adoption``, but
        at least one buyer's worth (1 / buyers), and picks a lab by the logit ``probs``. The
        floor keeps tokens per unit of size finite and continuous in ``initial_adoption``
        down to 0. 0 when the buyers cannot spend at all (e.g. a buyer class whose
        ``demand_per_size`` is 0): no demand then.
        """
        share = max(self.scenario_config.buyers.initial_adoption, 1.0 / len(self.buyers))
        gap = quality - self.market.open_weight_floor
        spend = 0.0
        for pop in self.buyer_groups:
            per_size = pop.demand_per_size(price, gap)
            spend += share * float(self.buyers.size[pop.sl].sum()) * float(
                (probs * per_size) @ price) * 1e-9
        return spend

    def _lab_classes(self) -> list[type]:
        cfg = self.scenario_config.labs
        section = load_class(cfg.class_, AILab) if cfg.class_ else AILab
        return list(dict.fromkeys([section, *(type(lab) for lab in self.labs)]))

    def _reset_counts(self) -> None:
        self.counts = dict.fromkeys(
            ("entries", "exits_bankrupt", "exits_acquired", "vc_deployed", "offers_made",
             "offers_accepted", "offers_refused", "amount_refused", "strategic_deployed",
             "enterprise_spend", "demand_tokens", "unmet_tokens"), 0.0)

    # ------------------------------------------------------------------ helpers
    @property
    def tick(self) -> int:
        """Months run so far (the tick the next step will be)."""
        return self.steps

    def active_labs(self) -> list[AILab]:
        """Labs still trading, in creation order (a new list each call)."""
        return [lab for lab in self._trading if lab.status == ACTIVE]

    def _prices(self) -> np.ndarray:
        return np.array([lab.price for lab in self.labs])

    def _quality(self) -> np.ndarray:
        return np.array([lab.capability for lab in self.labs])

    def _choice_probs(self, quality: np.ndarray, price: np.ndarray) -> np.ndarray:
        bc = self.scenario_config.buyers
        active = np.array([lab.active for lab in self.labs])
        return demand.logit_shares(quality, price, active, bc.quality_weight, bc.price_weight)

    def _lab_demand(self, price: np.ndarray, quality: np.ndarray) -> np.ndarray:
        """M tokens demanded from each lab this month, all buyer populations together."""
        n_labs = len(self.labs)
        gap = quality - self.market.open_weight_floor
        total = np.zeros(n_labs)
        self._pop_demand: list[np.ndarray] = []
        for pop in self.buyer_groups:
            sl = pop.sl
            sizes = demand.size_by_supplier(self.buyers.supplier[sl], self.buyers.size[sl],
                                            n_labs, work=self.buyers.scratch_index(sl))
            per_size = pop.demand_per_size(price, gap)
            if type(pop).demand_per_size is not EnterpriseBuyer.demand_per_size:
                per_size = check.amounts(per_size, pop, "demand_per_size", n=n_labs)
            d = per_size * sizes
            self._pop_demand.append(d)
            total += d
        return total

    def _update_frontier(self) -> None:
        """Frontier = best active lab's own capability; open weights trail the best ever made."""
        own = [math.log10(max(lab.effective_compute, 1.0)) for lab in self.active_labs()]
        best_ever = self.frontier_history[-1] if self.frontier_history else 0.0
        frontier = max(own) if own else best_ever
        self.frontier_history.append(max(frontier, best_ever))
        cc = self.scenario_config.capability
        self.market.frontier = frontier
        self.market.open_weight_floor = cap_mech.open_weight_floor(
            self.frontier_history, cc.open_weight_lag, cc.open_weight_gap)

    # ------------------------------------------------------------------ the tick
    def step(self) -> None:
        """One month, mechanisms in the design's order."""
        t = self.steps - 1  # Mesa counts steps from 1; tick 0 is the first month
        self.ledger.tick = t
        for lab in self._leaving:  # exited last month: its last agent-reporter row is recorded
            lab.remove()
        self._leaving.clear()
        self._reset_counts()
        self._market_view(t)
        self.demand_step(t)
        self.inference_step()
        self.compute_step()
        self.capability_step(t)
        self.capital_step(t)
        self.consolidation_step(t)
        self.record(t)

    def _market_view(self, t: int) -> None:
        c = self.scenario_config.compute
        bc = self.scenario_config.buyers
        m = self.market
        m.tick = t
        m.tokens_per_gpu_month = inference.tokens_per_gpu_month(
            c.tokens_per_gpu_hour, c.throughput_growth, t)
        m.usage_trend = demand.usage_trend(t, bc.usage_growth, bc.usage_growth_halflife)
        m.min_efficient_scale = c.min_efficient_scale * c.scale_growth ** (t / 12.0)
        recent = [x for (tick, x) in self.recent_multiples if tick >= t - 6]
        m.peer_multiple = _median(recent) if recent else None

    def demand_step(self, t: int) -> None:
        """Mechanism 1: prices, adoption, supplier re-choice, tokens demanded per lab."""
        for lab in self.active_labs():
            lab.price = check.positive(lab.set_price(), lab, "set_price")
        b = self.buyers
        bc = self.scenario_config.buyers
        share = np.count_nonzero(b.adopted) / len(b) if len(b) else 0.0
        for pop in self.buyer_groups:
            b.adopted[pop.sl][pop.adopters(share, self.rng)] = True
        np.add(b.contract_age, 1, out=b.contract_age)
        np.minimum(b.contract_age, bc.contract_months, out=b.contract_age)
        price, quality = self._prices(), self._quality()
        probs = self._choice_probs(quality, price)
        for pop in self.buyer_groups:
            sl = pop.sl
            sup = b.supplier[sl]
            age = b.contract_age[sl]
            rechoose, other = b.scratch_masks(sl)  # no fresh buyer-sized arrays each month
            np.greater_equal(age, bc.contract_months, out=rechoose)
            rechoose |= np.less(sup, 0, out=other)
            rechoose &= b.adopted[sl]
            idx = np.flatnonzero(rechoose)
            if idx.size == 0:
                continue
            new = np.asarray(pop.choose_suppliers(sup[idx], probs, self.rng.random(idx.size),
                                                  self.rng.random(idx.size)))
            if type(pop).choose_suppliers is not EnterpriseBuyer.choose_suppliers:
                # An override's answer is checked; the built-in one is valid by construction.
                allowed = f"one lab index from -1 (none) to {len(self.labs) - 1} per buyer"
                new = check.array(new, pop, "choose_suppliers", shape=idx.shape, kind="iu",
                                  allowed=allowed)
                if ((new < -1) | (new >= len(self.labs))).any():
                    raise DecisionError(pop, "choose_suppliers", check.Described(
                        f"indices from {new.min()} to {new.max()}"), allowed)
                new = np.where((new >= 0) & (probs[np.maximum(new, 0)] > 0), new, -1)
            sup[idx] = new
            age[idx] = 0
        self._demand = self._lab_demand(price, quality)
        for lab, d in zip(self.labs, self._demand.tolist(), strict=True):
            lab.demand_tokens = d if lab.active else 0.0

    def inference_step(self) -> None:
        """Mechanism 2: serve up to capacity, ration the rest; buyers pay labs."""
        m = self.market
        cap = np.array([lab.inference_gpus if lab.active else 0.0 for lab in self.labs])
        price = self._prices()
        served, unmet, revenue = inference.clear_inference(
            self._demand, cap * m.tokens_per_gpu_month, price)
        led = self.ledger
        frac_served = np.divide(served, self._demand, out=np.zeros_like(served),
                                where=self._demand > 0)
        economy = led["economy"]
        for pop, d in zip(self.buyer_groups, self._pop_demand, strict=True):
            pay = d * frac_served * price * 1e-9
            bills = [(pop.account, lab.account, amount, "inference")
                     for lab, amount in zip(self.labs, pay.tolist(), strict=True) if amount > 0]
            budget = float(pay.sum())
            while (short := _left_after(budget, bills)) < 0:
                # Paid one by one, the parts would overdraw their sum by rounding: fund a
                # little more (what is left goes back below).
                budget += max(-short, math.ulp(budget))
            led.transfer(economy, pop.account, budget, "enterprise_budget")
            led.post(bills)
            # The parts never add up to the sum to the last bit: settle the rounding with the
            # economy, so it cannot pile up month after month in the buyers' account.
            left = led.balance(pop.account)  # >= 0: the budget covered the parts
            if left > 0:
                led.transfer(pop.account, economy, left, "rounding")
        total_revenue = float(revenue.sum())
        for lab, rev, tokens in zip(self.labs, revenue.tolist(), served.tolist(), strict=True):
            lab.revenue_share = rev / total_revenue if total_revenue else 0.0
            if lab.active:
                lab.served_tokens = tokens
                lab.revenue_history.append(rev)
            else:
                lab.served_tokens = 0.0
        self.counts["enterprise_spend"] = total_revenue
        self.counts["demand_tokens"] = float(self._demand.sum())
        self.counts["unmet_tokens"] = float(unmet.sum())

    def compute_step(self) -> None:
        """Mechanism 3: rents posted, rentals allocated and paid, data centres built."""
        cfg = self.scenario_config
        m = self.market
        led = self.ledger
        retire = 1.0 - 1.0 / cfg.compute.gpu_life  # GPUs wear out over their life
        for hs in self.hyperscalers:
            arrived = sum([g for g, mo in hs.pipeline if mo <= 1])
            hs.pipeline = [[g, mo - 1] for g, mo in hs.pipeline if mo > 1]
            hs.capacity = hs.capacity * retire + arrived
            hs.rent = check.positive(hs.set_rent(), hs, "set_rent")
        m.rent_per_gpu_month = np.array([hs.rent for hs in self.hyperscalers])
        labs = self.active_labs()
        H = len(self.hyperscalers)
        keep = 1.0 - 1.0 / cfg.compute.rental_term  # contracts are staggered over the term
        requests = np.maximum([check.number(lab.request_compute(), lab, "request_compute")
                               for lab in labs], 0.0)
        committed = np.array([lab.rented_gpus for lab in labs]).reshape(len(labs), H) * keep
        free = np.array([hs.capacity for hs in self.hyperscalers]) - committed.sum(axis=0)
        free = np.maximum(free, 0.0)
        extra = np.maximum(requests - committed.sum(axis=1), 0.0)
        if any(hs.partners for hs in self.hyperscalers):
            partner = np.array([[lab.unique_id in hs.partners for hs in self.hyperscalers]
                                for lab in labs]).reshape(len(labs), H)
        else:
            partner = np.zeros((len(labs), H), dtype=bool)
        alloc = np.maximum(committed + compute.allocate_rentals(extra, free, partner,
                                                                m.rent_per_gpu_month), 0.0)
        suppliers = led["suppliers"]
        opex, fixed_cost = m.opex_per_gpu_month, cfg.labs.fixed_cost
        landlords = [hs.account for hs in self.hyperscalers]
        min_scale = m.min_efficient_scale
        alloc.flags.writeable = False  # each row becomes a lab's rented_gpus, uncopied
        dues = alloc * m.rent_per_gpu_month * 1e-9  # $bn of rent by lab and hyperscaler
        credits = np.array([lab.credits for lab in labs]).reshape(len(labs), H)
        if credits.any():  # compute credits from a strategic investor pay rent first
            used = np.minimum(credits, dues)
            dues -= used
            for i in np.flatnonzero(used.any(axis=1)).tolist():
                np.subtract(labs[i].credits, used[i], out=labs[i].credits, casting="unsafe")
        for lab, row, total, due_row in zip(labs, alloc, alloc.sum(axis=1).tolist(),
                                            dues.tolist(), strict=True):
            lab.set_rentals(row, total)
            acct = lab.account
            bills = [(acct, hs_acct, due, "rent")
                     for hs_acct, due in zip(landlords, due_row, strict=True)]
            bills.append((acct, suppliers, lab.owned_gpus * opex * 1e-9, "power_upkeep"))
            bills.append((acct, suppliers, fixed_cost, "fixed_cost"))
            projects = lab.projects
            if projects:  # this month's capex instalments of data centres under construction
                bills.extend([(acct, suppliers, per_month, "capex")
                              for _, _, per_month in projects])
            led.post(bills, allow_debt=True)
            lab.owned_gpus *= retire
            if projects:
                self._advance_projects(lab)
            size = check.number(lab.plan_data_centre(), lab, "plan_data_centre")
            if 0 < size < min_scale:
                size = 0.0  # no data centre below the minimum efficient scale
            if size > 0:
                lead = cfg.compute.lead_time
                capex = size * cfg.compute.capex_per_gpu * 1e-9
                if lead == 0:
                    led.transfer(lab.account, led["suppliers"], capex, "capex", allow_debt=True)
                    lab.owned_gpus += size
                else:
                    lab.projects.append([size, float(lead), capex / lead])
            self._split_compute(lab)
        rented = alloc.sum(axis=0) if len(labs) else np.zeros(H)
        for hs in self.hyperscalers:
            hs.utilisation = float(rented[hs.index] / hs.capacity) if hs.capacity > 0 else 1.0
            order = check.number(hs.order_capacity(), hs, "order_capacity")
            if order > 0:
                hs.pipeline.append([order, float(max(cfg.hyperscalers.lead_time, 1))])
                self._hyperscaler_pays(hs, suppliers, order * cfg.compute.capex_per_gpu * 1e-9,
                                       "capex")
            self._hyperscaler_pays(hs, suppliers, hs.capacity * m.opex_per_gpu_month * 1e-9,
                                   "power_upkeep")

    def _hyperscaler_pays(self, hs: Hyperscaler, to: int, amount: float, kind: str) -> None:
        """``hs`` pays ``amount`` $bn to account ``to``; its parent first funds what it lacks."""
        led = self.ledger
        short = amount - hs.cash
        pay = (hs.account, to, amount, kind)
        led.post([(led["parents"], hs.account, short, "parent_funding"), pay] if short > 0
                 else [pay])

    @staticmethod
    def _advance_projects(lab: AILab) -> None:
        """A month of construction: finished projects come online (instalments: already posted)."""
        still = []
        for gpus, months, per_month in lab.projects:
            if months <= 1:
                lab.owned_gpus += gpus
            else:
                still.append([gpus, months - 1, per_month])
        lab.projects = still

    def capability_step(self, t: int) -> None:
        """Mechanism 4: training compute becomes effective compute; the frontier moves."""
        cc = self.scenario_config.capability
        mult = cap_mech.algorithmic_multiplier(t, cc.algorithmic_progress)
        labs = self.active_labs()
        effective = cap_mech.update_effective_compute(
            np.array([lab.effective_compute for lab in labs]),
            np.array([lab.total_gpus * lab.train_share for lab in labs]), mult, cc.retention)
        logs = np.log10(np.maximum(effective, 1.0))  # the same floats as one call per lab
        for lab, value, log in zip(labs, effective.tolist(), logs.tolist(), strict=True):
            if type(lab).effective_compute is AILab.effective_compute:
                lab._set_effective_compute(value, log)
            else:  # a subclass's own property
                lab.effective_compute = value
        self._update_frontier()

    def capital_step(self, t: int) -> None:
        """Mechanism 5: LP inflow, venture and strategic offers, accept or refuse, dilution."""
        vcfg = self.scenario_config.vcs
        led = self.ledger
        lps = led["limited_partners"]
        led.post([(lps, vc.account,
                   vcfg.lp_inflow * vcfg.capital_abundance * vc.sentiment / len(self.vcs),
                   "lp_commitment") for vc in self.vcs])
        labs = self.active_labs()
        order = [self.vcs[i] for i in self.rng.permutation(len(self.vcs)).tolist()]
        screened = self._screen_built_in(order, labs)
        for vc in order:
            for lab in screened[id(vc)] if id(vc) in screened else check.among(
                    vc.screen(labs), vc, "screen", choices=labs,
                    allowed="a list of labs from the ones given (the active labs)"):
                offer = check.offer(vc.make_offer(lab), vc, "make_offer", credits=False)
                if offer is not None and 0 < offer.amount <= vc.dry_powder:
                    self._negotiate(offer)
        for hs in self.hyperscalers:
            offer = check.offer(hs.strategic_offer(labs), hs, "strategic_offer", credits=True)
            if offer is not None and offer.amount > 0:
                self._negotiate(offer)
        growth = self.market.market_growth = self._market_growth()
        losses = len([lab for lab in self.labs if lab.exit_tick is not None
                      and lab.exit_tick >= t - 12 and lab.status == BANKRUPT])
        loss_rate = losses / max(len(labs), 1)
        for vc in self.vcs:
            vc.sentiment = check.non_negative(vc.update_sentiment(growth, loss_rate), vc,
                                              "update_sentiment", most=check.MOST_SENTIMENT)

    def _screen_built_in(self, vcs: list[VentureCapitalist], labs: list[AILab],
                         ) -> dict[int, list[AILab]]:
        """The labs each VC with the built-in ``screen`` looks at this month, by ``id(vc)``.

        Those VCs are screened together, as :meth:`VentureCapitalist.screen` would one by one:
        one Gumbel draw of shape (VCs, labs) gives the numbers of one draw per VC in turn
        (nothing the built-in agents do between two screens draws random numbers), and the
        weights, last month's revenue, are computed once. A VC class that overrides
        ``screen`` is not here: its ``screen`` is called at its turn.
        """
        k = min(self.scenario_config.vcs.looks_per_month, len(labs))
        built_in = [vc for vc in vcs if type(vc).screen is VentureCapitalist.screen]
        if not built_in:
            return {}
        if k == 0:
            return {id(vc): [] for vc in built_in}
        rev = np.array([lab.revenue for lab in labs])
        keys = capital.screening_keys(rev, self.rng.gumbel(size=(len(built_in), len(labs))))
        return {id(vc): [labs[i] for i in row]
                for vc, row in zip(built_in, capital.top_k(keys, k).tolist(), strict=True)}

    def _market_growth(self) -> float:
        """Yearly growth of enterprise spend: this month against up to 12 months back."""
        rows = self.spend_history  # spend of ticks 0 .. t-1
        if not rows:
            return 1.0
        back = min(12, len(rows))
        past = rows[len(rows) - back]
        span = back
        now = self.counts["enterprise_spend"]
        if past <= 0 or now <= 0:
            return 0.0
        return float((now / past) ** (12.0 / span) - 1.0)

    def _negotiate(self, offer: Offer) -> None:
        lab = offer.lab
        led = self.ledger
        self.counts["offers_made"] += 1
        if not check.boolean(lab.consider_offer(offer), lab, "consider_offer"):
            self.counts["offers_refused"] += 1
            self.counts["amount_refused"] += offer.amount
            lab.refused += offer.amount
            return
        self.counts["offers_accepted"] += 1
        investor = offer.investor
        cash_part = offer.amount * (1.0 - offer.credit_share)
        if isinstance(investor, Hyperscaler):
            self._hyperscaler_pays(investor, lab.account, cash_part, "strategic")
            lab.credits[investor.index] += offer.amount - cash_part
            investor.partners.add(lab.unique_id)
            investor.stakes[lab.unique_id] = investor.stakes.get(lab.unique_id, 0.0) + offer.stake
            self.counts["strategic_deployed"] += offer.amount
        else:
            led.transfer(investor.account, lab.account, cash_part, "venture")
            investor.portfolio[lab.unique_id] = (investor.portfolio.get(lab.unique_id, 0.0)
                                                 + offer.amount)
            investor.deployed += offer.amount
            self.counts["vc_deployed"] += offer.amount
        post_money = offer.post_money
        lab.cap_table = capital.dilute(lab.cap_table, investor.account, offer.stake)
        lab.valuation = post_money
        lab.raised += offer.amount
        run_rate = lab.run_rate
        if run_rate > 0:
            self.recent_multiples.append((self.market.tick, post_money / run_rate))
            if len(self.recent_multiples) > 50:
                del self.recent_multiples[:-50]

    def consolidation_step(self, t: int) -> None:
        """Mechanism 6: debts resolved; distressed labs acquired or bankrupt; entrants funded.

        A lab with negative cash whose revenue covers its commitments gets a bridge loan from
        creditors (repaid from later cash) up to ``labs.credit_months`` of revenue; any other
        is acquired by the richest willing bidder or goes bankrupt.
        """
        led = self.ledger
        for lab in self.active_labs():
            if lab.debt > 0 and lab.cash > 0:  # repay bridge loans from spare cash
                paid = led.transfer(lab.account, led["creditors"], min(lab.debt, 0.5 * lab.cash),
                                    "loan_repayment")
                lab.debt -= paid
        distressed = sorted((lab for lab in self.active_labs() if lab.cash < 0),
                            key=lambda lab: lab.cash)
        for target in distressed:
            if not target.active or target.cash >= 0:
                continue
            limit = self.scenario_config.labs.credit_months * target.revenue
            if not math.isfinite(target.runway()) and target.debt - target.cash <= limit:
                # Revenue covers its commitments and the debt stays within the credit limit:
                # creditors bridge the gap, a recorded debt repaid from later cash.
                lent = led.transfer(led["creditors"], target.account, -target.cash,
                                    "bridge_loan")
                target.debt += lent
                continue
            bidders: list[Any] = [lab for lab in self.active_labs()
                                  if lab is not target and lab.cash > 0]
            bidders += self.hyperscalers
            bids = np.array([max(check.number(b.bid_for(target), b, "bid_for"), 0.0)
                             for b in bidders])
            cash = np.array([b.cash for b in bidders])
            k = consolidation.pick_acquirer(bids, cash, target.liabilities)
            if k >= 0:
                self._acquire(bidders[k], target, float(bids[k]), t)
            else:
                self._bankrupt(target, t)
        self._entry(t)

    def _pay_out(self, lab: AILab, kind: str) -> None:
        """Distribute a closing lab's cash to its shareholders; VCs record the return."""
        led = self.ledger
        vcs = {vc.account: vc for vc in self.vcs}
        for holder, amount in consolidation.pro_rata(lab.cash, lab.cap_table).items():
            led.transfer(lab.account, holder, amount, kind)
            if holder in vcs:
                vcs[holder].returns.append((self.market.tick, lab.unique_id, amount))

    def _close(self, lab: AILab, status: str, t: int) -> None:
        """The lab stops trading.

        It stays in ``self.labs`` (buyers' supplier indices point there) and in the Mesa agent
        set until the next month, so the DataCollector records its exit once; then it is
        removed.
        """
        lab.status = status
        lab.exit_tick = t
        self._trading.remove(lab)
        self._leaving.append(lab)
        lab.rented_gpus = np.zeros(len(self.hyperscalers))
        lab.owned_gpus = 0.0
        lab.projects = []
        lab.inference_gpus = 0.0
        lab.served_tokens = 0.0
        lab.demand_tokens = 0.0
        lab.credits[:] = 0.0

    def _acquire(self, buyer: AILab | Hyperscaler, target: AILab, price: float, t: int) -> None:
        led = self.ledger
        led.transfer(buyer.account, target.account, target.liabilities + price, "acquisition")
        self._repay(target)
        self._pay_out(target, "exit_proceeds")
        b = self.buyers
        if isinstance(buyer, AILab):
            buyer.owned_gpus += target.owned_gpus
            buyer.projects += target.projects
            buyer.effective_compute = max(buyer.effective_compute, target.effective_compute)
            b.supplier[b.supplier == target.index] = buyer.index
        else:
            buyer.capacity += target.owned_gpus
            self._release_customers(target)
        self._close(target, ACQUIRED, t)
        self.counts["exits_acquired"] += 1

    def _release_customers(self, lab: AILab) -> None:
        b = self.buyers
        b.supplier[b.supplier == lab.index] = -1

    def _repay(self, lab: AILab) -> None:
        """Repay a lab's bridge loans to creditors from its cash, as far as it goes."""
        led = self.ledger
        if lab.debt > 0 and lab.cash > 0:
            lab.debt -= led.transfer(lab.account, led["creditors"], min(lab.debt, lab.cash),
                                     "loan_repayment")

    def _bankrupt(self, lab: AILab, t: int) -> None:
        led = self.ledger
        c = self.scenario_config.compute
        owned = lab.owned_gpus + sum(p[0] * (1 - p[1] / max(c.lead_time, 1))
                                     for p in lab.projects)
        led.transfer(led["suppliers"], lab.account,
                     consolidation.fire_sale_value(owned, c.capex_per_gpu, c.fire_sale_discount),
                     "fire_sale")
        if lab.cash < 0:
            led.transfer(led["creditors"], lab.account, -lab.cash, "write_off")
        self._repay(lab)  # creditors before shareholders
        lab.debt = 0.0  # what was not repaid is written off
        self._pay_out(lab, "liquidation")
        self._release_customers(lab)
        self._close(lab, BANKRUPT, t)
        self.counts["exits_bankrupt"] += 1

    def _entry(self, t: int) -> None:
        """VCs found new labs: Poisson(rate) a month, at most ``vcs.max_entrants``."""
        vcfg = self.scenario_config.vcs
        dry = np.array([max(vc.dry_powder, 0.0) for vc in self.vcs])
        # Reference dry powder (not scaled by abundance, so abundance raises entry): the
        # initial dry powder, or a year of LP inflow if that is larger.
        ref = max(vcfg.initial_dry_powder, 12.0 * vcfg.lp_inflow, 1e-9)
        sentiment = float(np.array([vc.sentiment for vc in self.vcs]).sum()) / len(self.vcs)
        dry_total = float(dry.sum())
        lam = capital.entry_rate(vcfg.entry_rate, dry_total, ref, sentiment)
        # At most max_entrants (<= 1,000) are founded: a rate past 1e6 changes nothing, and
        # NumPy's Poisson refuses rates past ~1e19.
        n_new = min(int(self.rng.poisson(min(lam, 1e6))) if lam > 0 else 0, vcfg.max_entrants)
        if n_new == 0 or dry_total <= 0:
            return
        cls = (load_class(self.scenario_config.labs.class_, AILab)
               if self.scenario_config.labs.class_ else AILab)
        prices = [lab.price for lab in self.active_labs()] or [
            self.scenario_config.labs.initial_price]
        for _ in range(n_new):
            vc = self.vcs[int(self.rng.choice(len(self.vcs), p=dry / dry_total))]
            seed = max(check.number(vc.fund_entrant(), vc, "fund_entrant"), 0.0)
            if seed <= 0 or seed > vc.dry_powder:
                continue
            lab = self._new_lab(cls, price=_median(prices))
            self.ledger.transfer(vc.account, lab.account, seed, "venture")
            lab.cap_table = {self.ledger["founders"]: 0.75, vc.account: 0.25}
            lab.valuation = seed / 0.25
            lab.raised = seed
            lab.effective_compute = 10 ** self.market.open_weight_floor
            vc.portfolio[lab.unique_id] = seed
            vc.deployed += seed
            self.counts["vc_deployed"] += seed
            self.counts["entries"] += 1

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

        From the active labs now and HHI, bimodality, middle share and the revenue leader's
        owned share of compute averaged over the last 12 months (thresholds in the scenario's
        ``[regime]`` section; docs/model.md).
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


def _median(values: list[float]) -> float:
    """Median of a non-empty list, as ``statistics.median`` computes it (run every month)."""
    v = sorted(values)
    n = len(v)
    return float(v[n // 2]) if n % 2 else float((v[n // 2 - 1] + v[n // 2]) / 2)


def _left_after(balance: float, bills: list[tuple[int, int, float, str]]) -> float:
    """What is left of ``balance`` ($bn) after paying ``bills`` one by one, as the ledger does."""
    for bill in bills:
        balance -= bill[2]
    return balance


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
