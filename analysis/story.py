"""The seed story of early 2026, measured over seeds: the leader's refusals, owners' prices, exits.

From each run's model reporters (``leader_refused_valuation``, ``leader_owned_gpus``,
``leader_building_gpus``, ``owners_price``, ``renters_price``, ``owners_margin``,
``renters_margin``, ``leader_run_rate``, ``rent_per_gpu_hour``) and its labs table
(:func:`marketsim.reporters.lab_table`), which a sweep does not store::

    from analysis import story
    runs = story.measure(seeds=16, buyers=2000)
    story.summarise(runs)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd

from analysis.regimes import mean_interval, share_interval, threshold_moves
from marketsim.sweep import run_seed

#: Ticks of 2026 (the default scenario starts in January 2025).
YEAR_2026 = range(12, 24)
#: First tick of 2027.
FROM_2027 = 24
#: A refused valuation "in the hundreds of $bn".
HUNDREDS_BN = 100.0
#: A lab renting at least this share of its GPUs at its last active month is a renter.
RENTER_SHARE = 0.5
#: What a figure can be, where it is bounded: its interval is clipped to this range.
BOUNDS: dict[str, tuple[float, float]] = {
    **dict.fromkeys(("owners_below_share", "renter_exit_share"), (0.0, 1.0)),
    **dict.fromkeys((
        "refused_2026", "first_refusal_tick", "leader_refusals_2026", "refusal_run_rate",
        "refusal_amount",
        "refusal_owned_gpus", "refusal_building_gpus", "leader_run_rate_jan_2026",
        "leader_run_rate_jan_2027", "leader_run_rate_jan_2028", "exits_2027",
        "renter_exits_2027", "bankrupt_exits_2027", "owners_price_2027", "renters_price_2027",
    ), (0.0, math.inf)),
    # (renters' − owners') ÷ renters' with prices ≥ 0; price ÷ cost − 1 with both ≥ 0.
    "owners_price_gap": (-math.inf, 1.0),
    **dict.fromkeys(("owners_margin_2027", "renters_margin_2027"), (-1.0, math.inf)),
}
#: Price and margin reporters averaged from 2027 by :func:`price_figures`.
PRICE_REPORTERS = ("owners_price", "renters_price", "owners_margin", "renters_margin")


def run(seed: int, buyers: int = 2000, horizon: int = 48,
        overrides: dict[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run of the default scenario: (model reporters by tick, labs table)."""
    from marketsim.model import AIMarketModel
    from marketsim.reporters import lab_table

    model = AIMarketModel("default", rng=seed, horizon=horizon,
                          **{"buyers.count": buyers, **(overrides or {})}).run()
    ticks = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return ticks, lab_table(model)


def exits(labs: pd.DataFrame, since: int = FROM_2027) -> pd.DataFrame:
    """Labs that exited at tick ≥ ``since``: tick, status and rented share at the month before.

    One row per exit: ``AgentID``, ``exit_tick``, ``status`` ("acquired" or "bankrupt"),
    ``rented_share`` (rented ÷ total GPUs in its last active month), ``renter``
    (``rented_share ≥ RENTER_SHARE``).
    """
    labs = labs.sort_values(["AgentID", "tick"])
    gone = labs[labs["status"] != "active"].groupby("AgentID", as_index=False).first()
    gone = gone[gone["tick"] >= since]
    active = labs[labs["status"] == "active"].groupby("AgentID").last()
    rows = []
    for _, row in gone.iterrows():
        last = active.loc[row["AgentID"]] if row["AgentID"] in active.index else row
        total = last["owned_gpus"] + last["rented_gpus"]
        share = last["rented_gpus"] / total if total > 0 else 1.0
        rows.append({"AgentID": row["AgentID"], "exit_tick": int(row["tick"]),
                     "status": row["status"], "rented_share": float(share),
                     "renter": bool(share >= RENTER_SHARE)})
    return pd.DataFrame(rows, columns=["AgentID", "exit_tick", "status", "rented_share",
                                       "renter"])


def figures(ticks: pd.DataFrame, labs: pd.DataFrame) -> dict[str, float]:
    """The seed story's figures of one run.

    ``refused_2026`` ($bn): highest valuation the leader refused in 2026;
    ``refused_hundreds_2026`` (0/1): it refused ≥ $100bn in a 2026 month while owning and
    building data centres; ``leader_refusals_2026`` (months with a refusal);
    ``first_refusal_tick``; ``leader_run_rate_jan_2026``, ``_2027``, ``_2028`` ($bn/yr);
    ``rent_change_2026`` ($ per GPU-hour, Dec 2026 − Jan 2026);
    ``owners_below_share``: share of months from 2027 with both prices whose owners' price is
    below renters'; ``owners_price_gap``: mean (renters − owners) ÷ renters price then;
    ``exits_2027``, ``renter_exits_2027``, ``bankrupt_exits_2027`` and
    ``renter_exit_share`` (NaN without exits); the leader's state in the 2026 month of its
    highest refusal (:func:`at_refusal`).
    """
    y26 = ticks[ticks["tick"].isin(YEAR_2026)]
    refused = y26["leader_refused_valuation"]
    owning = (y26["leader_owned_gpus"] > 0) & (y26["leader_building_gpus"] > 0)
    hit = (refused >= HUNDREDS_BN) & owning
    any_refusal = ticks.loc[ticks["leader_refused_valuation"] > 0, "tick"]
    later = ticks[(ticks["tick"] >= FROM_2027) & ticks["owners_price"].notna()
                  & ticks["renters_price"].notna()]
    gap = (later["renters_price"] - later["owners_price"]) / later["renters_price"]
    out = exits(labs)
    rr = ticks.set_index("tick")["leader_run_rate"]
    rent = ticks.set_index("tick")["rent_per_gpu_hour"]
    return {
        "refused_2026": float(refused.max()) if len(refused) else 0.0,
        "refused_hundreds_2026": float(hit.any()),
        "first_refusal_tick": float(any_refusal.min()) if len(any_refusal) else math.nan,
        "leader_run_rate_jan_2026": float(rr.get(YEAR_2026.start, math.nan)),
        "leader_run_rate_jan_2027": float(rr.get(FROM_2027, math.nan)),
        "leader_run_rate_jan_2028": float(rr.get(FROM_2027 + 12, math.nan)),
        "rent_change_2026": float(rent.get(YEAR_2026.stop - 1, math.nan)
                                  - rent.get(YEAR_2026.start, math.nan)),
        "leader_refusals_2026": float((refused > 0).sum()),
        "owners_below_share": float((gap > 0).mean()) if len(gap) else math.nan,
        "owners_price_gap": float(gap.mean()) if len(gap) else math.nan,
        "exits_2027": float(len(out)),
        "renter_exits_2027": float(out["renter"].sum()) if len(out) else 0.0,
        "bankrupt_exits_2027": float((out["status"] == "bankrupt").sum()),
        "renter_exit_share": float(out["renter"].mean()) if len(out) else math.nan,
        **at_refusal(y26),
    }


def at_refusal(y26: pd.DataFrame) -> dict[str, float]:
    """The leader's state in the month of its highest refusal of ``y26`` (NaN without one).

    ``refusal_run_rate`` ($bn/yr), ``refusal_owned_gpus`` and ``refusal_building_gpus``
    (GPUs online and under construction) of the lab that was the revenue leader that month,
    and ``refusal_amount`` ($bn: the round it refused; NaN if the ticks lack the
    ``leader_refused_amount`` reporter).
    """
    refused = y26["leader_refused_valuation"]
    if not len(refused) or not refused.max() > 0:
        return dict.fromkeys(("refusal_run_rate", "refusal_owned_gpus",
                              "refusal_building_gpus", "refusal_amount"), math.nan)
    row = y26.loc[refused.idxmax()]
    return {"refusal_run_rate": float(row["leader_run_rate"]),
            "refusal_owned_gpus": float(row["leader_owned_gpus"]),
            "refusal_building_gpus": float(row["leader_building_gpus"]),
            "refusal_amount": float(row.get("leader_refused_amount", math.nan))}


def price_figures(ticks: pd.DataFrame, since: int = FROM_2027) -> dict[str, float]:
    """Owners' and renters' mean price ($/M tokens) and margin (price ÷ cost − 1) from ``since``.

    Means over the months from ``since`` in which both groups had a price, the months
    :func:`figures` compares (``owners_price_2027``, ``renters_price_2027``,
    ``owners_margin_2027``, ``renters_margin_2027``; NaN without such a month).
    """
    later = ticks[(ticks["tick"] >= since) & ticks["owners_price"].notna()
                  & ticks["renters_price"].notna()]
    return {f"{c}_2027": float(later[c].mean()) if later[c].notna().any() else math.nan
            for c in PRICE_REPORTERS}


def _one(seed: int, buyers: int, horizon: int, overrides: dict[str, Any],
         story_months: int, moves: bool) -> dict[str, Any]:
    ticks, labs = run(seed, buyers, horizon, overrides)
    end = {"end_regime": str(ticks["regime"].iloc[-1])}
    if moves:
        moved = threshold_moves(ticks, labs=labs)
        end |= {"end_flips": int(moved["flipped"].sum()), "end_moves": len(moved)}
    ticks, labs = ticks[ticks["tick"] < story_months], labs[labs["tick"] < story_months]
    return {"seed": seed, **figures(ticks, labs), **price_figures(ticks), **end}


def measure(seeds: int = 16, buyers: int = 2000, horizon: int = 48, base_seed: int = 2025,
            overrides: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
            workers: int = 1, story_months: int | None = None,
            moves: bool = False) -> pd.DataFrame:
    """:func:`figures` and :func:`price_figures` of the default scenario, one row per seed.

    Seed ``k`` is :func:`marketsim.sweep.run_seed` ``(base_seed, 0, k)``; ``overrides`` are
    scenario keys for every run, or one dict per seed (e.g. posterior draws); ``workers`` > 1
    runs the seeds in that many processes (the rows are the same either way). The figures
    read the first ``story_months`` months (default: all ``horizon``); ``end_regime`` is the
    run's label at its last month; with ``moves``, ``end_flips`` of ``end_moves`` are the
    end labels that change when one threshold moves ±20 %
    (:func:`analysis.regimes.threshold_moves`, window and lab-level thresholds).
    """
    if overrides is None or isinstance(overrides, dict):
        per_seed = [dict(overrides or {}) for _ in range(seeds)]
    else:
        per_seed = [dict(o) for o in overrides]
    if len(per_seed) != seeds:
        raise ValueError(f"{len(per_seed)} sets of overrides for {seeds} seeds")
    jobs = [(run_seed(base_seed, 0, k), buyers, horizon, per_seed[k], story_months or horizon,
             moves) for k in range(seeds)]
    if workers <= 1:
        return pd.DataFrame([_one(*job) for job in jobs])
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return pd.DataFrame(list(pool.map(_one, *zip(*jobs, strict=True))))


def summarise(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean and interval of each figure over the runs (Wilson for 0/1 figures, else t).

    Columns ``figure``, ``n`` (runs with a value), ``mean``, ``low``, ``high``.
    """
    rows = []
    for name in [c for c in runs.columns if c != "seed" and runs[c].dtype.kind in "biuf"]:
        x = runs[name].dropna().to_numpy(dtype=float)
        if name == "refused_hundreds_2026":
            lo, hi = share_interval(int(x.sum()), x.size, level)
            m = float(x.mean()) if x.size else math.nan
        else:
            bounds = BOUNDS.get(name, (-math.inf, math.inf))
            m, lo, hi = mean_interval(x, level, bounds) if x.size else (math.nan,) * 3
        rows.append({"figure": name, "n": int(x.size), "mean": m, "low": lo, "high": hi})
    k, n = int(runs["renter_exits_2027"].sum()), int(runs["exits_2027"].sum())
    lo, hi = share_interval(k, n, level)
    rows.append({"figure": "renter_exit_share_pooled", "n": n,
                 "mean": k / n if n else math.nan, "low": lo, "high": hi})
    return pd.DataFrame(rows)

