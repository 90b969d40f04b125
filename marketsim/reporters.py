"""Mechanism 7, record: the contract's model reporters and lab agent reporters.

``tick_stats`` computes every model-level figure once a tick from arrays gathered from the
labs and hyperscalers; the DataCollector's reporters read them by name.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from marketsim import metrics
from marketsim.units import HOURS_PER_MONTH

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

#: Model reporters of the contract (exact names), then extra columns.
CONTRACT_REPORTERS: tuple[str, ...] = (
    "active_labs", "entries", "exits_bankrupt", "exits_acquired", "hhi_revenue",
    "cr1_revenue", "cr4_revenue", "hhi_compute", "bimodality", "middle_share",
    "price_per_mtok", "rent_per_gpu_hour", "owned_compute_share", "vc_deployed",
    "offers_made", "offers_accepted", "offers_refused", "amount_refused", "top_valuation",
    "top_multiple", "leader_run_rate", "enterprise_spend", "unmet_share", "adoption",
    "leader_refused_valuation",
)
EXTRA_REPORTERS: tuple[str, ...] = (
    "tick", "date", "regime", "cr2_revenue", "frontier_capability", "open_weight_floor",
    "labs_above_floor",
    "price_per_capability", "strategic_deployed", "leader_owned_share", "small_rented_share",
    "total_gpus",
    "cash_active_labs", "peak_active_labs", "giant_labs", "renter_labs", "survivors_share",
    "crossover_deployed", "leader_refused_amount", "leader_owned_gpus",
    "leader_building_gpus", "owners_price",
    "renters_price", "owners_margin", "renters_margin",
)
MODEL_REPORTERS: tuple[str, ...] = CONTRACT_REPORTERS + EXTRA_REPORTERS

#: Most months of figures the model keeps for the regime label (``regime.window`` of them
#: are read; the scenario's bound on ``regime.window``).
REGIME_WINDOW = 120

#: Lab agent reporters (attribute names on AILab).
LAB_REPORTERS: dict[str, Any] = {
    "cash": "cash",
    "revenue": "revenue",
    "owned_gpus": "owned_gpus",
    "rented_gpus": "rented_total",
    "capability": "capability",
    "price": "price",
    "valuation": "valuation",
    "status": "status",
    "lab_class": attrgetter("__class__.__name__"),  # type(lab).__name__, without a lambda
}


def tick_stats(model: AIMarketModel, t: int) -> dict[str, Any]:
    """Every model-level figure for tick ``t`` (units in docs/model.md).

    One pass over the active labs gathers plain Python lists: a month has a few dozen labs,
    where Python arithmetic costs less than setting up NumPy calls.
    """
    c = model.counts
    labs = model.active_labs()
    revenue, gpus, owned, prices, vals, cash, founded = (
        [list(col) for col in zip(*[(lab.revenue, lab.total_gpus, lab.owned_gpus, lab.price,
                                     lab.valuation, lab.cash, lab.founded) for lab in labs],
                                  strict=True)]
        if labs else [[] for _ in range(7)])
    # Size structure of established labs: those of tick 0 and entrants at least
    # ``regime.min_age`` months old (a start-up has not yet reached its scale).
    born = t - model.scenario_config.regime.min_age
    est = [i for i, f in enumerate(founded) if f == 0 or f <= born]
    est_gpus = [gpus[i] for i in est]
    est_owned = [owned[i] for i in est]
    log_size = [math.log10(g) for g in est_gpus if g > 0]
    rents = (model.market.rent_per_gpu_month / HOURS_PER_MONTH).tolist()
    hs_rented = [hs.utilisation * hs.capacity for hs in model.hyperscalers]
    rented_total = math.fsum(hs_rented)
    rent = (_dot(hs_rented, rents) / rented_total if rented_total > 0
            else math.fsum(rents) / len(rents))
    total_revenue = math.fsum(revenue)
    if total_revenue > 0:
        ppm = _dot(revenue, prices) / total_revenue
    else:
        ppm = math.fsum(prices) / len(labs) if labs else math.nan
    total_gpus = math.fsum(gpus)
    if labs:
        top = vals.index(max(vals))  # the first of equals, as argmax
        top_val = vals[top]
        rr = labs[top].run_rate
        top_mult = top_val / rr if rr > 0 and top_val > 0 else math.nan
        lead = revenue.index(max(revenue))
        leader_rr = labs[lead].run_rate
        leader_owned = owned[lead] / gpus[lead] if gpus[lead] > 0 else 0.0
    else:
        top_val, top_mult, leader_rr, leader_owned = 0.0, math.nan, 0.0, 0.0
        lead = None
    hhi_rev, cr1, cr2, cr4 = metrics.revenue_structure(revenue)
    frontier = model.market.frontier
    n_buyers = len(model.buyers)
    demanded = c["demand_tokens"]
    stats: dict[str, Any] = {
        "tick": t,
        "date": model.date,
        "active_labs": len(labs),
        "entries": int(c["entries"]),
        "exits_bankrupt": int(c["exits_bankrupt"]),
        "exits_acquired": int(c["exits_acquired"]),
        "hhi_revenue": hhi_rev,
        "cr1_revenue": cr1,
        "cr4_revenue": cr4,
        "cr2_revenue": cr2,
        "hhi_compute": metrics.hhi(gpus),
        "bimodality": metrics.bimodality_coefficient(log_size),
        "middle_share": metrics.middle_share(est_gpus),
        "price_per_mtok": ppm,
        "rent_per_gpu_hour": rent,
        "owned_compute_share": math.fsum(owned) / total_gpus if total_gpus > 0 else 0.0,
        "vc_deployed": float(c["vc_deployed"]),
        "offers_made": int(c["offers_made"]),
        "offers_accepted": int(c["offers_accepted"]),
        "offers_refused": int(c["offers_refused"]),
        "amount_refused": float(c["amount_refused"]),
        "top_valuation": top_val,
        "top_multiple": top_mult,
        "leader_run_rate": leader_rr,
        "enterprise_spend": float(c["enterprise_spend"]),
        "unmet_share": float(c["unmet_tokens"] / demanded) if demanded > 0 else 0.0,
        "adoption": (int(np.count_nonzero(model.buyers.adopted)) / n_buyers
                     if n_buyers else 0.0),
        "frontier_capability": frontier,
        "open_weight_floor": model.market.open_weight_floor,
        "labs_above_floor": sum(1 for lab in labs
                                if lab.capability > model.market.open_weight_floor),
        "price_per_capability": ppm / 10.0 ** (frontier - model.frontier_history[0]),
        "strategic_deployed": float(c["strategic_deployed"]),
        "leader_owned_share": leader_owned,
        "small_rented_share": _small_rented_share(est_gpus, est_owned) if labs else 1.0,
        "total_gpus": total_gpus,
        "cash_active_labs": math.fsum(cash),
    }
    stats.update(seed_story_stats(model, labs, lead))
    rg = model.scenario_config.regime
    giants, renters, survivors = metrics.tier_figures(revenue, owned, gpus, rg)
    past = model.regime_window
    stats["peak_active_labs"] = max(len(labs), past[-1]["peak_active_labs"] if past else 0)
    stats["giant_labs"] = giants
    stats["renter_labs"] = renters
    stats["survivors_share"] = survivors
    window = [*past[len(past) - min(rg.window - 1, len(past)):], stats]
    stats["regime"] = metrics.classify(metrics.window_stats(window), rg)
    return stats


def seed_story_stats(model: AIMarketModel, labs: list[Any], lead: int | None
                     ) -> dict[str, float]:
    """The seed story's figures: the leader's refusals and build-out, owners' vs renters' prices.

    ``lead``: position in ``labs`` of this month's revenue leader (None without labs). Owners
    are labs owning or building at least this month's minimum efficient scale of data
    centre (GPUs), renters the others;
    prices are revenue-weighted ($/M tokens; plain mean without revenue), margins the plain
    mean of ``price ÷ cost_per_mtok − 1`` (NaN for an empty group).
    """
    c = model.counts
    out: dict[str, float] = {"crossover_deployed": float(c.get("crossover_deployed", 0.0))}
    leader = labs[lead] if lead is not None else None
    post, amount = (model.refused_offers.get(leader.unique_id, (0.0, 0.0))
                    if leader is not None else (0.0, 0.0))
    out["leader_refused_valuation"] = float(post)
    out["leader_refused_amount"] = float(amount)
    out["leader_owned_gpus"] = float(leader.owned_gpus) if leader is not None else 0.0
    out["leader_building_gpus"] = (math.fsum([p[0] for p in leader.projects])
                                   if leader is not None else 0.0)
    scale = max(model.market.min_efficient_scale, 1.0)
    groups: dict[str, list[Any]] = {"owners": [], "renters": []}
    for lab in labs:
        held = lab.owned_gpus + math.fsum([p[0] for p in lab.projects])
        groups["owners" if held >= scale else "renters"].append(lab)
    for name, group in groups.items():
        out[f"{name}_price"] = _mean_price(group)
        margins = [lab.price / cost - 1.0 for lab in group if (cost := lab.cost_per_mtok()) > 0]
        out[f"{name}_margin"] = math.fsum(margins) / len(margins) if margins else math.nan
    return out


def _mean_price(labs: list[Any]) -> float:
    """Revenue-weighted mean price of ``labs``, $/M tokens (plain mean without revenue; NaN)."""
    if not labs:
        return math.nan
    revenue = [lab.revenue for lab in labs]
    prices = [lab.price for lab in labs]
    total = math.fsum(revenue)
    return _dot(revenue, prices) / total if total > 0 else math.fsum(prices) / len(prices)


def regime_window(model: AIMarketModel) -> dict[str, float]:
    """The figures the last tick's label read (``metrics.window_stats``; {} before a tick).

    For a checklist beside the label: ``metrics.regime_checks(regime_window(model),
    model.scenario_config.regime)``.
    """
    rows = model.regime_window[-model.scenario_config.regime.window:]
    return metrics.window_stats(rows) if rows else {}


def _dot(a: list[float], b: list[float]) -> float:
    return math.fsum([x * y for x, y in zip(a, b, strict=True)])


def _small_rented_share(gpus: list[float], owned: list[float]) -> float:
    """Share of the small labs' compute that is rented (small: under 10% of the largest lab)."""
    if not gpus or max(gpus) <= 0:
        return 1.0
    cut = 0.1 * max(gpus)
    small = [i for i, g in enumerate(gpus) if g < cut]
    total = math.fsum([gpus[i] for i in small])
    return 1.0 - math.fsum([owned[i] for i in small]) / total if total > 0 else 1.0


def lab_table(model: AIMarketModel) -> Any:
    """Lab agent reporters of every lab class, one row per lab and tick (a pandas DataFrame).

    Columns: Mesa's ``Step`` (1, 2, ...), ``tick`` and ``date`` (the month, as in the model
    reporters: join with them on ``tick``), ``AgentID``, then :data:`LAB_REPORTERS`.
    """
    import pandas as pd

    dc = model.datacollector
    frames = ([dc.get_agenttype_vars_dataframe(cls).reset_index()
               for cls in dc.agenttype_reporters] if model.steps else [])
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["Step", "tick", "date", "AgentID", *LAB_REPORTERS])
    out = pd.concat(frames, ignore_index=True)
    key = [c for c in ("Step", "Time", "AgentID") if c in out.columns]
    out = out.drop_duplicates(subset=key).sort_values(key).reset_index(drop=True)
    step = out[key[0]].astype("int64")
    out[key[0]] = step
    out.insert(1, "tick", step - 1)  # Mesa counts steps from 1; tick 0 is the first month
    start = model.scenario_config.start
    dates = {t: calendar_month(start, t) for t in out["tick"].unique().tolist()}
    out.insert(2, "date", out["tick"].map(dates))
    return out


def calendar_month(start: str, tick: int) -> str:
    """Calendar month ``'YYYY-MM'`` of ``tick`` (0 = the month ``start``, ``'YYYY-MM'``)."""
    year, month = start.split("-")
    k = int(month) - 1 + tick
    return f"{int(year) + k // 12:04d}-{k % 12 + 1:02d}"
