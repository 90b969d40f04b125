"""The numbers of ``marketsim report``: regime shares, outputs with 95 % intervals, drivers.

Every function takes a :class:`~marketsim.report_data.SweepResults` and returns a table.
Intervals are 95 % intervals over the runs (seeds): Student's t for means, Wilson's score
interval for shares. Regime labels are taken from the data (whatever labels exist), in the
order of :data:`marketsim.metrics.REGIMES` first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from marketsim.metrics import REGIMES
from marketsim.report_data import SweepResults

#: Outputs whose Sobol' indices are computed for sobol designs.
SOBOL_OUTPUTS: tuple[str, ...] = ("hhi_revenue", "bimodality")
#: Of those, the outputs the regime label reads (bimodality is a reference line only): the
#: drivers of the regime map are ranked by their total indices.
LABEL_OUTPUTS: tuple[str, ...] = ("hhi_revenue",)
#: Below this base sample size N the report warns that Sobol' indices are mostly noise.
SOBOL_FEW_SAMPLES = 32
#: Number of bins of a continuous driver (quintiles of its sampled values).
DRIVER_BINS = 5
#: Shares within this of the largest count as a tie.
TIE = 1e-9


#: Every key output is a count, a share, an HHI, a price or a run rate: never negative.
OUTPUT_BOUNDS: tuple[float, float] = (0.0, math.inf)


def regime_order(labels: Iterable[Any]) -> list[str]:
    """The labels present: those of REGIMES in their order, then any others sorted."""
    seen = {str(x) for x in labels}
    return [r for r in REGIMES if r in seen] + sorted(seen - set(REGIMES))


def dominant(share: pd.DataFrame) -> pd.Series:
    """Each row's largest share's label; ``"tie: a / b"`` when several share the top."""
    def pick(row: pd.Series) -> str:
        top = row[row >= row.max() - TIE].index.tolist()
        return str(top[0]) if len(top) == 1 else "tie: " + " / ".join(map(str, top))

    return share.apply(pick, axis=1)


def mean_interval(x: Any, level: float = 0.95,
                  bounds: tuple[float, float] = (-math.inf, math.inf)
                  ) -> tuple[float, float, float]:
    """Mean and its Student-t interval over seeds, clipped to the measure's ``bounds``.

    NaN bounds with fewer than two values; the mean itself when all values agree. Clipping
    keeps a few seeds' wide interval inside what the measure can be (an HHI or a count is
    never negative, a share never above 1).
    """
    from scipy import stats

    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return np.nan, np.nan, np.nan
    m = float(a.mean())
    if a.size < 2:
        return m, np.nan, np.nan
    sem = float(stats.sem(a))
    if sem == 0:
        return m, m, m
    lo, hi = stats.t.interval(level, a.size - 1, loc=m, scale=sem)
    return m, max(float(lo), bounds[0]), min(float(hi), bounds[1])


def share_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a share of ``k`` in ``n`` runs."""
    from scipy.stats import binomtest

    if n <= 0:
        return np.nan, np.nan
    ci = binomtest(int(k), int(n)).proportion_ci(level, method="wilson")
    return float(ci.low), float(ci.high)


def regime_share(res: SweepResults) -> pd.DataFrame:
    """Per design point: parameter values, runs, share ending in each regime, dominant."""
    counts = pd.crosstab(res.runs["point"], res.runs["regime"])
    counts = counts.reindex(columns=regime_order(counts.columns), fill_value=0)
    n = counts.sum(axis=1)
    share = counts.div(n, axis=0)
    out = res.points.loc[share.index].copy()
    out["runs"] = n
    for r in share.columns:
        out[r] = share[r]
    out["dominant"] = dominant(share)
    out.index.name = "point"
    return out


def outputs_by_point(res: SweepResults) -> pd.DataFrame:
    """Per design point: mean of each key output and its 95 % interval over replications."""
    out = res.points.loc[sorted(res.runs["point"].unique())].copy()
    for c in res.outputs:
        stats = res.runs.groupby("point")[c].apply(lambda s: pd.Series(
            mean_interval(s, bounds=OUTPUT_BOUNDS), index=["mean", "lo", "hi"])).unstack()
        for k in ("mean", "lo", "hi"):
            out[f"{c}_{k}"] = stats[k]
    out.index.name = "point"
    return out


def summary(res: SweepResults) -> pd.DataFrame:
    """Key outputs over all runs: mean with its 95 % interval, 10 %, median, 90 %."""
    df = res.runs[res.outputs].astype(float)
    rows = {}
    for c in df.columns:
        m, lo, hi = mean_interval(df[c], bounds=OUTPUT_BOUNDS)
        rows[c] = {"mean": m, "lo": lo, "hi": hi, "p10": df[c].quantile(0.1),
                   "median": df[c].median(), "p90": df[c].quantile(0.9)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("output")


def regime_totals(res: SweepResults) -> pd.DataFrame:
    """Share of all runs ending in each regime, with its 95 % interval."""
    counts = res.runs["regime"].value_counts()
    counts = counts.reindex(regime_order(counts.index))
    n = int(counts.sum())
    ci = [share_interval(int(k), n) for k in counts]
    return pd.DataFrame({"runs": counts, "share": counts / n, "lo": [c[0] for c in ci],
                         "hi": [c[1] for c in ci]}).rename_axis("regime")


def driver_bins(values: pd.Series, bins: int = DRIVER_BINS) -> tuple[pd.Series, list[str]]:
    """Each run's bin of a driver and the bins' labels.

    A driver with at most ``bins`` distinct values (a grid) keeps its values; a continuous
    one is cut into quantile bins labelled by their middle.
    """
    uniq = sorted(values.dropna().unique())
    if len(uniq) <= bins:
        labels = [_fmt(v) for v in uniq]
        return values.map(dict(zip(uniq, labels, strict=True))), labels
    cut = pd.qcut(values, q=bins, duplicates="drop")
    labels = [f"{iv.mid:.3g}" for iv in cut.cat.categories]
    return cut.cat.rename_categories(labels).astype(str), labels


def regime_by_driver(res: SweepResults, bins: int = DRIVER_BINS) -> pd.DataFrame:
    """Regime shares of the runs in each bin of each driver (the other drivers pooled).

    Columns: ``parameter``, ``bin`` (value, or middle of a quantile bin), ``runs``, one
    share per regime and ``dominant``.
    """
    regimes = regime_order(res.runs["regime"])
    frames = []
    for key in res.names:
        b, labels = driver_bins(res.runs[key], bins)
        share = pd.crosstab(b, res.runs["regime"], normalize="index").reindex(
            index=labels, columns=regimes, fill_value=0.0)
        share.insert(0, "runs", b.value_counts().reindex(labels, fill_value=0))
        share["dominant"] = dominant(share[regimes])
        share.insert(0, "parameter", key)
        frames.append(share.rename_axis("bin").reset_index())
    return pd.concat(frames, ignore_index=True)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer() and abs(v) < 1e9:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def sobol_indices(res: SweepResults, *, second_order: bool = False,
                  ) -> tuple[pd.DataFrame | None, str]:
    """First-order and total Sobol' indices of SOBOL_OUTPUTS (sobol designs only).

    Each design point's output is the mean over its replications. Returns the table (None if
    not computable) and a note saying why or what was done to NaN values.

    Args:
        res: the sweep's results.
        second_order: instead, the second-order index S2 of each pair of parameters (columns
            ``output, parameter, other, S2, S2_conf``); needs a design drawn with
            ``second_order = true``.
    """
    if res.method != "sobol":
        return None, "not a sobol design"
    if second_order and not res.design.get("second_order"):
        return None, "second-order indices need a design with second_order = true"
    kept = [c for c in SOBOL_OUTPUTS if c in res.runs.columns]
    if not kept:
        return None, (f"the sweep kept none of {', '.join(SOBOL_OUTPUTS)} (its outputs list), "
                      "so there are no indices to compute")
    n_points = int(res.design["n_points"])
    means = res.runs.groupby("point")[kept].mean()
    if len(means) < n_points:
        return None, (f"Sobol' indices need every design point: {len(means)} of {n_points} "
                      "have runs (finish the sweep)")
    notes = []
    n_base = int(res.design.get("samples") or 0)
    if n_base < SOBOL_FEW_SAMPLES:
        notes.append(f"base sample N = {n_base} is too small for Sobol' indices to mean much "
                     f"(their intervals too; use N >= {SOBOL_FEW_SAMPLES})")
    rows: list[dict[str, Any]] = []
    for out in means.columns:
        y = means[out].reindex(range(n_points)).to_numpy(dtype=float)
        bad = ~np.isfinite(y)
        if bad.all() or np.nanstd(y) == 0:
            notes.append(f"{out}: no variation, skipped")
            continue
        if bad.any():
            y = np.where(bad, np.nanmean(y), y)
            notes.append(f"{out}: {int(bad.sum())} undefined values set to the mean")
        rows += _sobol_rows(res, out, y, second_order)
    return (pd.DataFrame(rows) if rows else None), "; ".join(notes)


def _sobol_rows(res: SweepResults, out: str, y: np.ndarray, second_order: bool,
                ) -> list[dict[str, Any]]:
    from SALib.analyze import sobol

    from marketsim.design import salib_bounds

    names = res.names
    problem = {"num_vars": len(names), "names": names, "bounds": salib_bounds(
        res.manifest["experiment"]["parameters"], res.design["types"], names)}
    si = sobol.analyze(problem, y, calc_second_order=bool(res.design.get("second_order")),
                       print_to_console=False, seed=int(res.design.get("seed", 0)))
    if second_order:
        return [{"output": out, "parameter": names[i], "other": names[j],
                 "S2": si["S2"][i, j], "S2_conf": si["S2_conf"][i, j]}
                for i, j in itertools.combinations(range(len(names)), 2)]
    return [{"output": out, "parameter": name, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
             "ST": si["ST"][i], "ST_conf": si["ST_conf"][i]} for i, name in enumerate(names)]


def driver_ranking(res: SweepResults, sobol: pd.DataFrame | None = None) -> pd.DataFrame:
    """The drivers ranked by influence on the outcome, most influential first.

    A sobol design with indices: each parameter's largest total index ST over the outputs
    the regime label reads (:data:`LABEL_OUTPUTS`; over every output if none is there).
    Otherwise the importance of each parameter in predicting the final regime with
    scikit-learn's extra-trees (mean decrease in impurity; 0 when only one regime occurs).

    Returns:
        Columns ``parameter``, ``score``, ``method``.
    """
    if sobol is not None and len(sobol):
        read = sobol[sobol["output"].isin(LABEL_OUTPUTS)]
        used = read if len(read) else sobol
        st = used.groupby("parameter")["ST"].max().reindex(res.names).fillna(0.0)
        outputs = ", ".join(dict.fromkeys(used["output"]))
        table = pd.DataFrame({"parameter": st.index, "score": st.to_numpy(),
                              "method": f"largest total Sobol' index ST of {outputs}"})
    else:
        table = pd.DataFrame({"parameter": res.names, "score": _tree_importance(res),
                              "method": "extra-trees importance for the regime"})
    return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def _as_numbers(values: pd.Series) -> np.ndarray:
    """A parameter's values as floats: numbers as they are, text as sorted category codes."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float).to_numpy()
    return pd.factorize(values, sort=True)[0].astype(float)


def _tree_importance(res: SweepResults) -> np.ndarray:
    from sklearn.ensemble import ExtraTreesClassifier

    # A text parameter (a scenario list's ``scenario``) enters the trees as category codes.
    x = np.column_stack([_as_numbers(res.runs[k]) for k in res.names])
    y = res.runs["regime"].astype(str).to_numpy()
    if len(set(y)) < 2 or len(x) < 2:
        return np.zeros(len(res.names))
    seed = int(res.manifest.get("experiment", {}).get("seed", 0) or 0)
    trees = ExtraTreesClassifier(n_estimators=200, random_state=seed, n_jobs=1).fit(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Trees that never split (no parameter separates the regimes) have no importance.
        return np.nan_to_num(trees.feature_importances_)


def compare_table(results: list[SweepResults]) -> pd.DataFrame:
    """Folders side by side: runs, regime shares and key outputs' means with 95 % intervals.

    One row per folder (index: its path); ``<regime>``, ``<regime>_lo``, ``<regime>_hi`` and
    ``<output>``, ``<output>_lo``, ``<output>_hi``; ``attrs["regimes"]`` and
    ``attrs["outputs"]`` name them.
    """
    regimes = regime_order(itertools.chain.from_iterable(r.runs["regime"] for r in results))
    outputs = [c for c in dict.fromkeys(itertools.chain.from_iterable(
        r.outputs for r in results))]
    rows = {}
    for res in results:
        n = len(res.runs)
        row: dict[str, Any] = {"experiment": res.name, "runs": n}
        for reg in regimes:
            k = int((res.runs["regime"] == reg).sum())
            row[reg] = k / n
            row[f"{reg}_lo"], row[f"{reg}_hi"] = share_interval(k, n)
        for c in outputs:
            vals = res.runs[c] if c in res.runs else pd.Series(dtype=float)
            row[c], row[f"{c}_lo"], row[f"{c}_hi"] = mean_interval(vals, bounds=OUTPUT_BOUNDS)
        rows[str(res.root)] = row
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("folder")
    table.attrs["regimes"] = regimes
    table.attrs["outputs"] = outputs
    return table
