"""The findings page's numbers, computed from sweep results (``DIR/runs``, ``DIR/ticks``).

Every function reads tables a sweep writes (the contract's result layout), so any results
folder of the same experiments gives the same page. Regime labels are whatever the runs
carry (the ``regime`` column), listed in :func:`marketsim.report_stats.regime_order`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.report_stats import mean_interval, regime_order, share_interval

#: Months at the end over which the regime label averages its measures.
YEAR = 12
#: Measures per run: column of :func:`run_finals` and what it is.
MEASURES: dict[str, str] = {
    "hhi_end": "HHI final", "hhi_year": "HHI last year",
    "bimodality_year": "bimodality (last year)", "middle_share_year": "middle share (last year)",
    "active_labs_end": "active labs", "cr1_end": "CR1 final",
    "leader_owned_year": "leader's owned share (last year)",
}

#: Range each measure can take: intervals are cut to it (a t interval over few seeds can
#: reach past it).
BOUNDS: dict[str, tuple[float, float]] = {
    "hhi_end": (0.0, 10_000.0), "hhi_year": (0.0, 10_000.0), "active_labs_end": (0.0, math.inf),
    **{k: (0.0, 1.0) for k in ("bimodality_year", "middle_share_year", "cr1_end",
                               "leader_owned_year")},
}


def load_sweep(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, ticks)`` of a results directory, sorted by run (and tick)."""
    root = Path(root)
    runs = pd.read_parquet(root / "runs").sort_values("run_id").reset_index(drop=True)
    ticks = pd.read_parquet(root / "ticks").sort_values(["run_id", "tick"])
    return runs, ticks.reset_index(drop=True)


def run_finals(runs: pd.DataFrame, ticks: pd.DataFrame) -> pd.DataFrame:
    """One row per run: final regime, final and last-year figures, totals over the run.

    ``*_year`` columns are means over the last 12 months (the window the regime label
    uses); ``*_end`` are values at the last tick; totals are sums of monthly counts and $bn.
    """
    g = ticks.groupby("run_id")
    ly = g.tail(YEAR).groupby("run_id")
    end = g.last()
    out = pd.DataFrame({
        "hhi_end": end["hhi_revenue"], "hhi_year": ly["hhi_revenue"].mean(),
        "bimodality_year": ly["bimodality"].mean(),
        "middle_share_year": ly["middle_share"].mean(),
        "active_labs_end": end["active_labs"], "cr1_end": end["cr1_revenue"],
        "leader_owned_year": ly["leader_owned_share"].mean(),
        "leader_owned_end": end["leader_owned_share"],
        "owned_compute_share_end": end["owned_compute_share"],
    })
    for col in ("entries", "exits_acquired", "exits_bankrupt", "amount_refused",
                "offers_refused", "vc_deployed"):
        out[col] = g[col].sum()
    if "leader_refused_valuation" in ticks:  # this month's revenue leader refused an offer
        refused = ticks["leader_refused_valuation"] > 0
        out["leader_refusal_months"] = refused.groupby(ticks["run_id"]).sum()
        first = ticks[refused].groupby("run_id")["tick"].min()
        out["leader_first_refusal"] = first.reindex(out.index)
    else:
        out["leader_refusal_months"] = math.nan
        out["leader_first_refusal"] = math.nan
    fin = runs.set_index("run_id")[["seed", "regime"]].join(out, how="inner")
    return fin.reset_index()


def variant_summary(finals: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per variant: runs, share ending in each regime (95 % interval), measures' means.

    Columns ``<regime>``, ``<regime>_lo``, ``<regime>_hi`` for every label present in any
    variant, and ``<measure>``, ``<measure>_lo``, ``<measure>_hi`` for :data:`MEASURES`
    (the interval cut to the measure's :data:`BOUNDS`).
    """
    regimes = regime_order(pd.concat([f["regime"] for f in finals.values()]))
    rows = {}
    for name, f in finals.items():
        n = len(f)
        row: dict[str, Any] = {"runs": n}
        for reg in regimes:
            k = int((f["regime"] == reg).sum())
            row[reg] = k / n if n else math.nan
            row[f"{reg}_lo"], row[f"{reg}_hi"] = share_interval(k, n)
        for col in MEASURES:
            m, lo, hi = mean_interval(f[col])
            low, high = BOUNDS[col]
            row[col], row[f"{col}_lo"], row[f"{col}_hi"] = m, max(lo, low), min(hi, high)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant")
    table.attrs["regimes"] = regimes
    return table


def band(ticks: pd.DataFrame, series: Any) -> pd.DataFrame:
    """Median, quartiles and mean across runs, by tick, of a column or ``f(run ticks)``."""
    if isinstance(series, str):
        m = ticks.pivot(index="tick", columns="run_id", values=series)
    else:
        m = pd.concat({r: series(d.set_index("tick")) for r, d in ticks.groupby("run_id")},
                      axis=1)
    return pd.DataFrame({"median": m.median(axis=1), "q25": m.quantile(0.25, axis=1),
                         "q75": m.quantile(0.75, axis=1), "mean": m.mean(axis=1)})


def yearly_fall(series: pd.Series, a: int = 0, b: int = 12) -> float:
    """Factor by which a series falls per year between ticks ``a`` and ``b`` (>1: falling)."""
    if len(series) <= max(a, b) or b <= a:
        return math.nan
    x, y = float(series.iloc[a]), float(series.iloc[b])
    if not (x > 0 and y > 0):
        return math.nan
    return (x / y) ** (12.0 / (b - a))


def _median_at(b: pd.DataFrame, t: int) -> float:
    return float(b["median"].iloc[min(t, len(b) - 1)]) if len(b) else math.nan


def story_numbers(fin: pd.DataFrame, ticks: pd.DataFrame) -> dict[str, Any]:
    """The seed story's figures that a sweep's tables hold, over one variant's seeds."""
    n = len(fin)
    owned = band(ticks, "leader_owned_share")
    cr1 = band(ticks, "cr1_revenue")
    horizon = int(ticks["tick"].max())
    first = fin["leader_first_refusal"].dropna()
    return {
        "runs": n, "horizon": horizon,
        "seeds_market_refused": int((fin["amount_refused"] > 0).sum()),
        "market_refused_mean": float(fin["amount_refused"].mean()),
        "vc_deployed_median": float(fin["vc_deployed"].median()),
        "leader_refusals_known": bool(fin["leader_refusal_months"].notna().any()),
        "seeds_leader_refused": int((fin["leader_refusal_months"] > 0).sum()),
        "leader_refusal_months": int(fin["leader_refusal_months"].fillna(0).sum()),
        "leader_first_refusal_year": float(first.median() / 12) if len(first) else math.nan,
        "leader_first_refusal_year_min": float(first.min() / 12) if len(first) else math.nan,
        "leader_owned_start": _median_at(owned, 0),
        "leader_owned_y2": _median_at(owned, 24),
        "leader_owned_year_mean": float(fin["leader_owned_year"].mean()),
        "seeds_leader_owns_most_year": int((fin["leader_owned_year"] > 0.5).sum()),
        "seeds_leader_owns_most_end": int((fin["leader_owned_end"] > 0.5).sum()),
        "cr1_y1": _median_at(cr1, 12), "cr1_y3": _median_at(cr1, 36),
        "cr1_end": _median_at(cr1, horizon),
        "acquired_mean": float(fin["exits_acquired"].mean()),
        "bankrupt_mean": float(fin["exits_bankrupt"].mean()),
        "entries_mean": float(fin["entries"].mean()),
        "owned_compute_end_median": float(fin["owned_compute_share_end"].median()),
        **second_tier_numbers(fin, ticks),
    }


def second_tier_numbers(fin: pd.DataFrame, ticks: pd.DataFrame) -> dict[str, float]:
    """Is there a second tier? Labs above the open-weight floor, and the top two's 2025 share.

    ``floor_one_share``: share of the months from tick 12 (pooled over runs) in which at most
    one lab's own capability is above the open-weight floor; ``above_2025`` and
    ``above_2025_two``: the median of that count at tick 12 and the runs with two or more;
    ``above_end_<regime>``: its median at the last tick over the runs ending in that regime;
    ``second_share_2025`` and ``top_two_2025``: medians over runs of the second lab's and the
    top two's revenue share, means of ticks 6-12 (the calibration's 2025 share figures).
    """
    later = ticks[ticks["tick"] >= 12]
    at_12 = ticks[ticks["tick"] == 12]["labs_above_floor"]
    in_2025 = ticks[ticks["tick"].between(6, 12)].groupby("run_id")
    top_two = in_2025["cr2_revenue"].mean()
    second = top_two - in_2025["cr1_revenue"].mean()
    end = ticks.groupby("run_id")["labs_above_floor"].last()
    by_regime = fin.set_index("run_id")["regime"]
    out = {"floor_one_share": float((later["labs_above_floor"] <= 1).mean()),
           "above_2025": float(at_12.median()), "above_2025_two": int((at_12 >= 2).sum()),
           "second_share_2025": float(second.median()),
           "top_two_2025": float(top_two.median())}
    for regime in ("competitive", "concentrated", "bifurcated", "consolidated"):
        runs = by_regime.index[by_regime == regime]
        out[f"above_end_{regime}"] = float(end.reindex(runs).median()) if len(runs) else math.nan
    return out


def fact_numbers(ticks: Mapping[str, pd.DataFrame], finals: Mapping[str, pd.DataFrame],
                 ) -> dict[str, dict[str, float]]:
    """Stylised facts per variant: price falls, HHI by year, entry and exit per year."""
    out: dict[str, dict[str, float]] = {}
    for name, t in ticks.items():
        horizon = int(t["tick"].max())
        years = (horizon + 1) / 12
        f = finals[name]
        row: dict[str, float] = {}
        for col in ("price_per_mtok", "price_per_capability"):
            med = band(t, col)["median"]
            row[f"{col}_fall_y1"] = yearly_fall(med, 0, 12)
            row[f"{col}_fall_all"] = yearly_fall(med, 0, horizon)
            row[f"{col}_start"] = float(med.iloc[0])
            row[f"{col}_end"] = float(med.iloc[-1])
        hhi = band(t, "hhi_revenue")["median"]
        for y in (1, 3, 5):
            row[f"hhi_y{y}"] = float(hhi.iloc[min(12 * y, horizon)])
        row["hhi_end"] = float(hhi.iloc[-1])
        row["hhi_peak"] = float(hhi.max())
        row["hhi_peak_year"] = float(hhi.idxmax() / 12)
        row["entries_per_year"] = float(f["entries"].mean() / years)
        row["exits_per_year"] = float((f["exits_acquired"] + f["exits_bankrupt"]).mean()
                                      / years)
        out[name] = row
    return out


def atlas_numbers(root: str | Path) -> dict[str, Any]:
    """The regime atlas from a sweep folder, with the library's report functions.

    Keys: ``res`` (SweepResults), ``totals`` (regime shares with intervals), ``sobol`` and
    ``sobol_note``, ``ranking`` (drivers, most influential first), ``by_driver`` (regime
    shares per bin of each driver), ``runs``, ``points``, ``replications``, ``samples``.
    """
    from marketsim.report_data import SweepResults
    from marketsim.report_stats import (
        driver_ranking,
        regime_by_driver,
        regime_totals,
        sobol_indices,
    )

    res = SweepResults(root)
    sob, note = sobol_indices(res)
    return {"res": res, "totals": regime_totals(res), "sobol": sob, "sobol_note": note,
            "ranking": driver_ranking(res, sob), "by_driver": regime_by_driver(res),
            "runs": len(res.runs), "points": len(res.points),
            "replications": res.design.get("replications"),
            "samples": res.manifest.get("experiment", {}).get("design", {}).get("samples")}


def driver_extremes(by_driver: pd.DataFrame) -> pd.DataFrame:
    """Per driver: its lowest and highest bin and the regime shares in each.

    Also the runs in each (``low_runs``, ``high_runs``) and ``moves``: the largest change of
    any regime's share between the two bins (the drivers sorted by it, largest first).
    """
    regimes = [c for c in by_driver.columns if c not in ("parameter", "bin", "runs",
                                                         "dominant")]
    rows = []
    for key, t in by_driver.groupby("parameter", sort=False):
        lo, hi = t.iloc[0], t.iloc[-1]
        diff = (hi[regimes].astype(float) - lo[regimes].astype(float)).abs()
        rows.append({"parameter": key, "low_bin": lo["bin"], "high_bin": hi["bin"],
                     "low_runs": int(lo["runs"]), "high_runs": int(hi["runs"]),
                     **{f"low_{r}": float(lo[r]) for r in regimes},
                     **{f"high_{r}": float(hi[r]) for r in regimes},
                     "moves": float(diff.max()), "regime_moved": str(diff.idxmax())})
    table = pd.DataFrame(rows).sort_values("moves", ascending=False, kind="stable")
    table.attrs["regimes"] = regimes
    return table.reset_index(drop=True)


def interval_text(m: float, lo: float, hi: float, fmt: str = "{:.2f}") -> str:
    """``"0.70 [0.65, 0.75]"``; just the mean when the interval is undefined."""
    if not np.isfinite(m):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt.format(m)
    return f"{fmt.format(m)} [{fmt.format(lo)}, {fmt.format(hi)}]"
