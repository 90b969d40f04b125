"""A buyers-only market: the labs frozen, the buyers' rules each tick (shared by two versions).

The benchmark compares marketsim's vectorised buyers with the same rules written the
object-per-agent Mesa way (:mod:`bench.mesa_baseline`). Both versions face the same frozen
labs (:class:`LabSet`, taken from the scenario's tick-0 market) and the same per-tick,
per-lab quantities (:func:`tick_terms`): the Bass hazard from last month's adoption share,
the logit choice probabilities, and the tokens demanded per unit of buyer size at each lab.
Only the per-buyer work differs.

:class:`VectorBuyerMarket` runs the buyer rules over :class:`~marketsim.agents.BuyerArrays`
with the functions of :mod:`marketsim.mechanisms.demand`, the way
:func:`marketsim.mechanisms.demand.demand_month` does (adopters drawn as geometric gaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from marketsim.agents import BuyerArrays
from marketsim.mechanisms import demand
from marketsim.scenario import MarketScenario, load_scenario


@dataclass(frozen=True)
class LabSet:
    """Frozen labs seen by buyers.

    Attributes:
        quality: capability of each lab (log10 effective compute).
        price: $/M tokens of each lab.
        available: lab is active (can be chosen).
        open_weight_floor: capability anyone has from open weights (log10).
        reference_price: $/M tokens at which demand elasticity is measured.
    """

    quality: np.ndarray
    price: np.ndarray
    available: np.ndarray
    open_weight_floor: float
    reference_price: float

    @property
    def n(self) -> int:
        """Number of labs."""
        return int(self.quality.size)


@dataclass(frozen=True)
class TickTerms:
    """Per-lab (and market-wide) quantities of one tick, shared by every buyer.

    Attributes:
        hazard: monthly adoption probability of a buyer who has not adopted.
        probs: logit choice probabilities over labs.
        bonus: ``exp(switching_cost)``, the incumbent's weight multiplier.
        tokens_per_size: M tokens per unit of buyer size at each lab this month.
    """

    hazard: float
    probs: np.ndarray
    bonus: float
    tokens_per_size: np.ndarray


def buyers_config(scenario: MarketScenario | str | None = None) -> Any:
    """The scenario's ``[buyers]`` section (default scenario if None)."""
    sc = scenario if isinstance(scenario, MarketScenario) else load_scenario(scenario)
    return sc.buyers


def scenario_labs(scenario: MarketScenario | str | None = None, seed: int = 0) -> LabSet:
    """Labs of the scenario's tick-0 market (a model with a handful of buyers is built)."""
    from marketsim.model import AIMarketModel

    m = AIMarketModel(scenario, rng=seed, **{"buyers.count": 10})
    return LabSet(
        quality=np.array([lab.capability for lab in m.labs]),
        price=np.array([lab.price for lab in m.labs]),
        available=np.array([lab.active for lab in m.labs]),
        open_weight_floor=float(m.market.open_weight_floor),
        reference_price=float(m.market.reference_price),
    )


def tick_terms(labs: LabSet, cfg: Any, adopted_share: float, tick: int) -> TickTerms:
    """This tick's per-lab quantities, the same for both versions of the market."""
    probs = demand.logit_shares(labs.quality, labs.price, labs.available,
                                cfg.quality_weight, cfg.price_weight)
    rel = demand.demand_per_size(labs.price, labs.quality - labs.open_weight_floor,
                                 labs.reference_price, cfg.price_elasticity,
                                 cfg.quality_elasticity)
    trend = demand.usage_trend(tick, cfg.usage_growth, cfg.usage_growth_halflife)
    return TickTerms(
        hazard=demand.bass_hazard(adopted_share, cfg.bass_p, cfg.bass_q),
        probs=probs,
        bonus=float(np.exp(cfg.switching_cost)),
        tokens_per_size=rel * trend,
    )


class VectorBuyerMarket:
    """The buyers as arrays, one vectorised pass per rule per tick (marketsim's way).

    Args:
        n: number of buyers.
        labs: the frozen labs.
        cfg: the scenario's ``[buyers]`` section.
        rng: integer seed.
    """

    def __init__(self, n: int, labs: LabSet, cfg: Any, *, rng: int = 0) -> None:
        self.rng = np.random.default_rng(rng)
        self.labs = labs
        self.cfg = cfg
        self.tick = 0
        b = self.buyers = BuyerArrays(n)
        sigma = cfg.size_sigma
        b.size[:] = self.rng.lognormal(-0.5 * sigma**2, sigma, size=n)
        b.adopted[:] = self.rng.random(n) < cfg.initial_adoption
        b.contract_age[:] = self.rng.integers(0, cfg.contract_months, size=n)
        probs = tick_terms(labs, cfg, 0.0, 0).probs
        idx = np.flatnonzero(b.adopted)
        b.supplier[idx] = demand.choose_suppliers(
            b.supplier[idx], probs, 0.0, self.rng.random(idx.size), self.rng.random(idx.size))
        self.lab_demand = np.zeros(labs.n)

    @property
    def adoption(self) -> float:
        """Share of buyers adopted."""
        return np.count_nonzero(self.buyers.adopted) / len(self.buyers)

    def step(self) -> None:
        """One month: adoption, contract ageing, re-choice, tokens demanded per lab."""
        b, cfg, rng = self.buyers, self.cfg, self.rng
        terms = tick_terms(self.labs, cfg, self.adoption, self.tick)
        new = demand.sample_adopters(b.adopted, terms.hazard, rng)
        b.adopted[new] = True
        np.add(b.contract_age, 1, out=b.contract_age)
        np.minimum(b.contract_age, cfg.contract_months, out=b.contract_age)
        rechoose = b.contract_age >= cfg.contract_months
        rechoose |= b.supplier < 0
        rechoose &= b.adopted
        idx = np.flatnonzero(rechoose)
        b.supplier[idx] = demand.choose_suppliers(
            b.supplier[idx], terms.probs, cfg.switching_cost,
            rng.random(idx.size), rng.random(idx.size))
        b.contract_age[idx] = 0
        self.lab_demand = terms.tokens_per_size * demand.size_by_supplier(
            b.supplier, b.size, self.labs.n)
        self.tick += 1

    def supplier_counts(self) -> np.ndarray:
        """Buyers per lab (buyers without a supplier left out)."""
        s = self.buyers.supplier
        return np.bincount(s[s >= 0], minlength=self.labs.n)
