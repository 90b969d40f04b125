"""The findings page's 2026 scene and end regimes under the posterior: one run per particle.

The default scenario is a point estimate (the posterior medians of the fit in
``docs/fit/``). The scene's figures and the end regime depend on parameters the 2025 figures
leave uncertain, so here every particle of that posterior (every accepted draw with a
positive weight) runs once, with its own seed, to the scenario's horizon; the scene's
figures read its first :data:`~analysis.scene.MONTHS` months. An outcome's
posterior-predictive probability is its share over the runs weighted by the particles'
importance weights. The weights are uneven (an ABC-SMC population), so every interval uses
Kish's effective sample size ``(Σw)² / Σw²``, not the number of runs. Which fitted keys an
outcome turns on is read by splitting the particles at each key's posterior median.

Like :mod:`analysis.scene`, the runs are made again each time the page is generated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis import story
from analysis.scene import MONTHS
from analysis.text import num, pct
from marketsim.fit_predict import weighted_quantile
from marketsim.metrics import REGIMES
from marketsim.scenario import load_scenario

#: The posterior the default scenario's fitted values are the medians of (docs/calibration.md).
POSTERIOR = Path(__file__).resolve().parent.parent / "docs" / "fit" / "posterior.parquet"
#: Base seed of these runs, distinct from the other runs of the page.
BASE_SEED = 2027


def particles(posterior: Path = POSTERIOR, limit: int | None = None) -> pd.DataFrame:
    """The posterior's particles with a positive weight (the first ``limit``), weights kept."""
    post = pd.read_parquet(posterior)
    post = post[post["weight"] > 0].reset_index(drop=True)
    return post if limit is None else post.head(limit)


def measure(buyers: int, workers: int | None, horizon: int | None = None,
            posterior: Path = POSTERIOR, limit: int | None = None) -> pd.DataFrame:
    """One row per particle: its fitted keys, ``weight``, the story's figures, ``end_regime``.

    ``horizon``: months of each run (None: the default scenario's); ``limit``: run only the
    first particles (a quick check of the pipeline, not an estimate).
    """
    post = particles(posterior, limit)
    keys = [c for c in post.columns if c != "weight"]
    params = [{k: float(row[k]) for k in keys} for _, row in post.iterrows()]
    runs = story.measure(seeds=len(params), buyers=buyers,
                         horizon=horizon or load_scenario("default").horizon,
                         base_seed=BASE_SEED, overrides=params,
                         workers=workers or os.cpu_count() or 1, story_months=MONTHS,
                         moves=True)
    return pd.concat([post, runs], axis=1)


def effective_size(w: np.ndarray) -> float:
    """Kish's effective sample size of weights ``w``: ``(Σw)² / Σw²``."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum()) if w.sum() > 0 else 0.0


def weighted_share(hit: np.ndarray, w: np.ndarray, level: float = 0.95,
                   ) -> tuple[float, float, float]:
    """Weighted share of ``hit`` (0/1) and its Wilson interval at the effective sample size."""
    hit, w = np.asarray(hit, dtype=float), np.asarray(w, dtype=float)
    n = effective_size(w)
    if n <= 0:
        return math.nan, math.nan, math.nan
    p = float((w * hit).sum() / w.sum())
    z = float(stats.norm.ppf(0.5 + level / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, max(centre - half, 0.0), min(centre + half, 1.0)


def weighted_mean(x: np.ndarray, w: np.ndarray, level: float = 0.95,
                  ) -> tuple[float, float, float]:
    """Weighted mean of ``x`` (NaN left out) and its t interval at the effective sample size."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    ok = np.isfinite(x) & (w > 0)
    x, w = x[ok], w[ok]
    n = effective_size(w)
    if n < 2:
        return (float(np.average(x, weights=w)) if x.size else math.nan), math.nan, math.nan
    m = float(np.average(x, weights=w))
    se = math.sqrt(float(np.average((x - m) ** 2, weights=w)) / n)
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    return m, m - t * se, m + t * se


def posterior_medians(posterior: Path = POSTERIOR) -> dict[str, float]:
    """Each fitted key's weighted posterior median."""
    post = pd.read_parquet(posterior)
    return {key: float(weighted_quantile(post[key], post["weight"], (0.5,))[0])
            for key in post.columns if key != "weight"}


def drivers(runs: pd.DataFrame, medians: dict[str, float],
            outcome: str = "refused_hundreds_2026") -> pd.DataFrame:
    """Weighted share of ``outcome`` (0/1) among particles below and above each key's median.

    ``medians``: fitted key → posterior median (:func:`posterior_medians`). Columns ``key``,
    ``median``, ``below``, ``below_low``, ``below_high``, ``above``, ... (Wilson 95 %
    intervals at each side's effective sample size), ``gap`` (above − below); largest
    ``|gap|`` first.
    """
    rows = []
    for key, median in medians.items():
        row: dict[str, float | str] = {"key": key, "median": median}
        for side, mask in (("below", runs[key] <= median), ("above", runs[key] > median)):
            part = runs[mask]
            p, lo, hi = weighted_share(part[outcome], part["weight"])
            row |= {side: p, f"{side}_low": lo, f"{side}_high": hi}
        rows.append(row | {"gap": float(row["above"]) - float(row["below"])})
    table = pd.DataFrame(rows)
    return table.reindex(table["gap"].abs().sort_values(ascending=False).index)


def _share(share: float, lo: float, hi: float) -> str:
    return f"{pct(share)} [{pct(lo)}, {pct(hi)}]" if np.isfinite(share) else "n/a"


def _mean(x: tuple[float, float, float], fmt: Callable[[float], str]) -> str:
    m, lo, hi = x
    if not np.isfinite(m):
        return "n/a"
    return f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" if np.isfinite(lo) else fmt(m)


def _dollars(text: str) -> str:
    """``"$43.1 [14.2, 72] bn"`` from ``"43.1 [14.2, 72]"``; n/a stays n/a."""
    return text if text == "n/a" else f"${text} bn"


def driver_table(table: pd.DataFrame) -> str:
    """Markdown: key, posterior median, share with the scene below and above it."""
    lines = ["| fitted key | posterior median | scene, particles at or below it | "
             "scene, particles above it |", "|---|---|---|---|"]
    lines += [f"| `{r.key}` | {r.median:,.3g} | "
              f"{_share(r.below, r.below_low, r.below_high)} | "
              f"{_share(r.above, r.above_low, r.above_high)} |"
              for r in table.itertuples()]
    return "\n".join(lines)


def regime_shares(runs: pd.DataFrame) -> str:
    """``"competitive 12% [6%, 20%], ..."``: the weighted share ending in each regime."""
    return ", ".join(f"{regime} {_share(*weighted_share(runs['end_regime'] == regime,
                                                          runs['weight']))}"
                     for regime in REGIMES)


def values(runs: pd.DataFrame, *, buyers: int, months: int) -> dict[str, str]:
    """The ``post_*`` placeholders of the page from :func:`measure`'s rows."""
    w = runs["weight"]
    medians = posterior_medians()
    table = drivers(runs, medians)
    top = table.iloc[0]
    split = runs.assign(split=runs["end_regime"].isin(("bifurcated", "consolidated"))
                        .astype(float))
    regime_top = drivers(split, medians, outcome="split").iloc[0]
    refused = runs["refusal_amount"].notna()
    return {
        "post_n": str(len(runs)), "post_ess": f"{effective_size(w):.0f}",
        "post_buyers": f"{buyers:,}", "post_months": str(months),
        "post_base_seed": str(BASE_SEED),
        "post_regimes": regime_shares(runs),
        "post_split": _share(*weighted_share(split["split"], w)),
        "post_flips": f"{int(runs['end_flips'].sum()):,} of {int(runs['end_moves'].sum()):,}",
        "post_unflipped": str(int((runs["end_flips"] == 0).sum())),
        "post_split_key": str(regime_top.key),
        "post_split_below": _share(regime_top.below, regime_top.below_low,
                                   regime_top.below_high),
        "post_split_above": _share(regime_top.above, regime_top.above_low,
                                   regime_top.above_high),
        "post_hundreds": str(int(runs["refused_hundreds_2026"].sum())),
        "post_hundreds_share": _share(*weighted_share(runs["refused_hundreds_2026"], w)),
        "post_refusal_amount": _dollars(_mean(weighted_mean(runs.loc[refused, "refusal_amount"],
                                                            w[refused]), num)),
        "post_refusal_n": str(int(refused.sum())),
        "post_below": _mean(weighted_mean(runs["owners_below_share"], w), pct),
        "post_renter_exit_share": _mean(weighted_mean(runs["renter_exit_share"], w), pct),
        "post_driver_table": driver_table(table),
        "post_top_key": str(top.key),
        "post_top_below": _share(top.below, top.below_low, top.below_high),
        "post_top_above": _share(top.above, top.above_low, top.above_high),
    }
