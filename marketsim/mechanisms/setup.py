"""Tick 0: the agents' classes, the agents, their money and the buyers' first choices.

Every user class a scenario names is imported once, here (:func:`resolve_classes`); the
monthly mechanisms use the classes found then. Each ``build_*`` function creates one kind of
agent with its ledger account and its starting money.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from marketsim import decisions as check
from marketsim.agents import AILab, BuyerArrays, EnterpriseBuyer, Hyperscaler, VentureCapitalist
from marketsim.mechanisms import compute, demand, inference
from marketsim.scenario import MarketScenario, load_class
from marketsim.units import BN_PER_USD

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel, MarketView


@dataclass(frozen=True)
class Classes:
    """The agent classes of a scenario, imported once.

    Attributes:
        hyperscalers: class of each hyperscaler, by initial rank (0 = largest).
        vcs: class of each VC, by initial rank.
        labs: class of each initial lab, by initial rank.
        entrant: class of the labs VCs found later (the ``[labs]`` section's class).
        buyers: (class, number of buyers) of each buyer population, in slice order.
    """

    hyperscalers: list[type]
    vcs: list[type]
    labs: list[type]
    entrant: type
    buyers: list[tuple[type, int]]


def _section_class(section: Any, base: type, file: str | None, kind: str) -> type:
    """The class a section names (``[kind] class = ...``), or ``base``."""
    return (load_class(section.class_, base, key=f"{kind}.class", file=file)
            if section.class_ else base)


def _class_plan(section: Any, base: type, file: str | None, kind: str) -> list[type]:
    """Class of each agent of a kind, by initial rank (0 = largest).

    Mix entries take their explicit ranks first; the rest of each entry's count takes the
    free ranks of the smallest labs (highest rank numbers) first. Validation already
    rejected clashing ranks.
    """
    plan: list[type] = [_section_class(section, base, file, kind)] * section.count
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


def resolve_classes(cfg: MarketScenario) -> Classes:
    """Import every class the scenario names (ScenarioError naming the key if one fails)."""
    bc, file = cfg.buyers, cfg.source
    buyers = [(_section_class(bc, EnterpriseBuyer, file, "buyers"),
               bc.count - sum(mix.count for mix in bc.mix))]
    buyers += [(load_class(mix.class_, EnterpriseBuyer, key=f"buyers.mix[{i}].class",
                           file=file), mix.count) for i, mix in enumerate(bc.mix)]
    return Classes(
        hyperscalers=_class_plan(cfg.hyperscalers, Hyperscaler, file, "hyperscalers"),
        vcs=_class_plan(cfg.vcs, VentureCapitalist, file, "vcs"),
        labs=_class_plan(cfg.labs, AILab, file, "labs"),
        entrant=_section_class(cfg.labs, AILab, file, "labs"),
        buyers=buyers,
    )


def construct(cls: type, model: AIMarketModel, **kwargs: Any) -> Any:
    """Build an agent: ``cls(model, **kwargs)``.

    A subclass whose ``__init__`` cannot take the keyword arguments the model passes gets a
    TypeError naming the class and those arguments (errors inside ``__init__`` pass as is).
    The signature is looked at only when the call fails: building agents costs nothing extra.
    Helpers the class overrides are checked wherever they are read
    (:func:`marketsim.decisions.guard_helpers`).
    """
    try:
        agent = cls(model, **kwargs)
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
    check.guard_helpers(agent)
    return agent


def set_costs(market: MarketView, cfg: MarketScenario) -> None:
    """Costs of owned GPUs ($ per GPU-month), tick-0 throughput and the reference price."""
    c = cfg.compute
    market.opex_per_gpu_month = compute.opex_per_gpu_month(c.power_kw, c.power_price, c.upkeep)
    market.owned_cost_per_gpu_month = compute.owned_cost_per_gpu_month(
        c.capex_per_gpu, c.gpu_life, c.power_kw, c.power_price, c.upkeep)
    market.tokens_per_gpu_month = inference.tokens_per_gpu_month(
        c.tokens_per_gpu_hour, c.throughput_growth, 0)
    market.reference_price = cfg.labs.initial_price
    market.min_efficient_scale = c.min_efficient_scale


def build_hyperscalers(model: AIMarketModel, classes: list[type]) -> list[Hyperscaler]:
    """Hyperscalers with a Dirichlet share of ``hyperscalers.initial_gpus``; first rents posted."""
    cfg = model.scenario_config.hyperscalers
    weights = model.rng.dirichlet(np.full(len(classes), 5.0))
    out = [construct(cls, model, account=model.ledger.open(f"hyperscaler_{i}"),
                     capacity=cfg.initial_gpus * weights[i], index=i)
           for i, cls in enumerate(classes)]
    model.market.rent_per_gpu_month = np.array(
        [check.positive(hs.set_rent(), hs, "set_rent") for hs in out])
    for hs in out:
        hs.rent = float(model.market.rent_per_gpu_month[hs.index])
    return out


def build_vcs(model: AIMarketModel, classes: list[type]) -> list[VentureCapitalist]:
    """VCs with a Dirichlet share of the initial dry powder, paid in by limited partners."""
    cfg = model.scenario_config.vcs
    led = model.ledger
    weights = model.rng.dirichlet(np.full(len(classes), 2.0))
    out = []
    for i, cls in enumerate(classes):
        vc = construct(cls, model, account=led.open(f"vc_{i}"))
        led.transfer(led["limited_partners"], vc.account,
                     cfg.initial_dry_powder * cfg.capital_abundance * weights[i],
                     "lp_commitment")
        out.append(vc)
    return out


def build_labs(model: AIMarketModel, classes: list[type]) -> None:
    """The initial labs: power-law GPUs by rank, owned and rented, and founders' cash.

    Each lab is founded through ``model.found_lab`` with ``labs.cash_months`` (log-normal
    spread) of its monthly costs in cash.
    """
    cfg = model.scenario_config
    lc = cfg.labs
    led = model.ledger
    n = len(classes)
    ranks = np.arange(n)
    gpus = lc.leader_gpus * (ranks + 1.0) ** (-lc.size_exponent)
    gpus *= model.rng.lognormal(0.0, 0.15, size=n)
    owned_share = lc.owned_share_top * lc.owned_share_decay ** ranks
    capacity = np.array([hs.capacity for hs in model.hyperscalers])
    rented_total = gpus * (1.0 - owned_share)
    if rented_total.sum() > capacity.sum() > 0:  # never rent more than exists
        rented_total *= capacity.sum() / rented_total.sum()
    split = capacity / capacity.sum() if capacity.sum() > 0 else np.zeros_like(capacity)
    m = model.market
    cash_months = lc.cash_months * model.rng.lognormal(0.0, lc.cash_months_sigma, size=n)
    for i, cls in enumerate(classes):
        lab = model.found_lab(cls, price=lc.initial_price)
        lab.owned_gpus = float(gpus[i] * owned_share[i])
        lab.rented_gpus = rented_total[i] * split
        monthly = (lab.owned_gpus * m.owned_cost_per_gpu_month
                   + float(lab.rented_gpus @ m.rent_per_gpu_month)) * BN_PER_USD
        led.transfer(led["founders"], lab.account, cash_months[i] * (monthly + lc.fixed_cost),
                     "founding")
        lab.cap_table = {led["founders"]: 1.0}
        lab.train_share = 1.0 - lc.min_train_share
        lab.effective_compute = lab.total_gpus / (1.0 - cfg.capability.retention * 0.999)


def build_buyers(model: AIMarketModel, runs: list[tuple[type, int]],
                 ) -> tuple[BuyerArrays, list[EnterpriseBuyer]]:
    """The buyer arrays and one population per class, each a contiguous slice of them.

    Each population's account is an outside account: the buyers' budgets come from outside
    the market and are paid straight to the labs.
    """
    n = model.scenario_config.buyers.count
    buyers = BuyerArrays(n)
    groups: list[EnterpriseBuyer] = []
    start = 0
    for cls, run in runs:
        if run <= 0:
            continue
        sl = slice(start, start + run)
        pop = construct(cls, model, sl=sl,
                        account=model.ledger.open(f"buyers_{len(groups)}", outside=True))
        groups.append(pop)
        buyers.size[sl] = check.sizes(pop.draw_sizes(model.rng), pop, "draw_sizes", n=run)
        start += run
    return buyers, groups


def first_choices(model: AIMarketModel) -> None:
    """Tick-0 adopters choose labs; tokens per unit size are scaled to the initial spend.

    Raises:
        ValueError: the buyers cannot spend ``buyers.initial_spend`` at any scale.
    """
    bc = model.scenario_config.buyers
    b, rng, labs, m = model.buyers, model.rng, model.labs, model.market
    b.adopted[:] = rng.random(len(b)) < bc.initial_adoption
    b.contract_age[:] = rng.integers(0, bc.contract_months, size=len(b))
    price, quality = demand.lab_prices(labs), demand.lab_quality(labs)
    probs = demand.choice_probs(labs, quality, price, bc)
    idx = np.flatnonzero(b.adopted)
    b.supplier[idx] = demand.choose_suppliers(
        b.supplier[idx], probs, 0.0, rng.random(idx.size), rng.random(idx.size))
    m.tokens_per_size = 1.0
    lab_demand, _ = demand.lab_demand(model.buyer_groups, b, price, quality, m.open_weight_floor)
    spend = float(lab_demand @ price) * BN_PER_USD  # M tokens × $/M tokens = $
    if spend <= 0:  # no buyer adopted at tick 0: scale on the expected spend instead
        spend = _expected_spend(model, price, quality, probs)
    m.tokens_per_size = bc.initial_spend / spend if spend > 0 else 0.0
    if not math.isfinite(m.tokens_per_size):
        raise ValueError(f"buyers.initial_spend = {bc.initial_spend} $bn cannot be matched: "
                         f"the buyers' tick-0 spend at one token per unit of size is "
                         f"{spend:.3g} $bn (check draw_sizes and demand_per_size)")
    lab_demand *= m.tokens_per_size
    for lab, d in zip(labs, lab_demand, strict=True):
        lab.demand_tokens = float(d)
        compute.split_gpus(lab)


def _expected_spend(model: AIMarketModel, price: np.ndarray, quality: np.ndarray,
                    probs: np.ndarray) -> float:
    """Tick-0 spend in $bn at one token per unit of size, expected over who adopts.

    Used when no buyer happened to adopt at tick 0 (``buyers.initial_adoption`` of 0, or
    a handful of buyers): every buyer adopts with probability ``initial_adoption``, but
    at least one buyer's worth (1 / buyers), and picks a lab by the logit ``probs``. The
    floor keeps tokens per unit of size finite and continuous in ``initial_adoption``
    down to 0. 0 when the buyers cannot spend at all (e.g. a buyer class whose
    ``demand_per_size`` is 0): no demand then.
    """
    share = max(model.scenario_config.buyers.initial_adoption, 1.0 / len(model.buyers))
    gap = quality - model.market.open_weight_floor
    spend = 0.0
    for pop in model.buyer_groups:
        per_size = check.amounts(pop.demand_per_size(price, gap), pop, "demand_per_size",
                                 n=price.size, most=check.MOST_FINITE)
        spend += share * float(model.buyers.size[pop.sl].sum()) * float(
            (probs * per_size) @ price) * BN_PER_USD
    return spend
