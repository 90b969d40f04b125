"""The findings page's 2026 scene and end regimes under the posterior: one run per draw.

The default scenario is a point estimate (the posterior medians of the fit in
``docs/fit/``). The scene's figures and the end regime depend on parameters the 2025 figures
leave uncertain, so here each run takes its own parameter set, drawn from that posterior by
weight (:func:`marketsim.fit_predict.resample`), and its own seed, and runs the scenario's
horizon: the share of runs telling the scene (read over its first :data:`MONTHS` months) or
ending in a regime is its posterior-predictive probability. Which fitted keys an outcome
turns on is read by splitting the draws at each key's posterior median.

Like :mod:`analysis.scene`, the runs are made again each time the page is generated.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import story
from analysis.regimes import share_interval
from analysis.scene import MONTHS, cell
from analysis.text import num, pct
from marketsim.fit_predict import resample, weighted_quantile
from marketsim.metrics import REGIMES
from marketsim.scenario import load_scenario

#: The posterior the default scenario's fitted values are the medians of (docs/calibration.md).
POSTERIOR = Path(__file__).resolve().parent.parent / "docs" / "fit" / "posterior.parquet"
#: Base seed of these runs (the draws and the runs' seeds), distinct from the others'.
BASE_SEED = 2027
#: Posterior draws (runs) on the page: a share near one half is then known to ±6 points.
DRAWS = 256


def measure(draws: int, buyers: int, workers: int | None, horizon: int | None = None,
            posterior: Path = POSTERIOR) -> pd.DataFrame:
    """One row per draw: its fitted keys, :func:`analysis.story.figures` and ``end_regime``.

    ``horizon``: months of each run (None: the default scenario's), of which the scene's
    figures read the first :data:`~analysis.scene.MONTHS`.
    """
    post = pd.read_parquet(posterior)
    params = resample(post, draws, np.random.default_rng(np.random.SeedSequence(BASE_SEED)))
    runs = story.measure(seeds=draws, buyers=buyers,
                         horizon=horizon or load_scenario("default").horizon,
                         base_seed=BASE_SEED, overrides=params,
                         workers=workers or os.cpu_count() or 1, story_months=MONTHS,
                         moves=True)
    return pd.concat([pd.DataFrame(params), runs], axis=1)


def drivers(runs: pd.DataFrame, posterior: Path = POSTERIOR,
            outcome: str = "refused_hundreds_2026") -> pd.DataFrame:
    """Share of draws with ``outcome`` (a 0/1 column) below and above each key's median.

    Columns ``key``, ``median``, ``below``, ``below_low``, ``below_high``, ``above``, ...
    (shares with Wilson 95 % intervals), ``gap`` (above − below); largest ``|gap|`` first.
    """
    post = pd.read_parquet(posterior)
    hit = runs[outcome].to_numpy(dtype=float)
    rows = []
    for key in [c for c in post.columns if c != "weight"]:
        median = float(weighted_quantile(post[key], post["weight"], (0.5,))[0])
        row: dict[str, float | str] = {"key": key, "median": median}
        for side, mask in (("below", runs[key] <= median), ("above", runs[key] > median)):
            k, n = int(hit[mask.to_numpy()].sum()), int(mask.sum())
            lo, hi = share_interval(k, n)
            row |= {side: k / n if n else np.nan, f"{side}_low": lo, f"{side}_high": hi}
        rows.append(row | {"gap": float(row["above"]) - float(row["below"])})
    table = pd.DataFrame(rows)
    return table.reindex(table["gap"].abs().sort_values(ascending=False).index)


def _share(share: float, lo: float, hi: float) -> str:
    return f"{pct(share)} [{pct(lo)}, {pct(hi)}]" if np.isfinite(share) else "n/a"


def driver_table(table: pd.DataFrame) -> str:
    """Markdown: key, posterior median, share with the scene below and above it."""
    lines = ["| fitted key | posterior median | scene, draws at or below it | "
             "scene, draws above it |", "|---|---|---|---|"]
    lines += [f"| `{r.key}` | {r.median:,.3g} | "
              f"{_share(r.below, r.below_low, r.below_high)} | "
              f"{_share(r.above, r.above_low, r.above_high)} |"
              for r in table.itertuples()]
    return "\n".join(lines)


def regime_shares(runs: pd.DataFrame) -> str:
    """``"competitive 12% [6%, 20%], ..."``: the share of runs ending in each regime."""
    n = len(runs)
    parts = []
    for regime in REGIMES:
        k = int((runs["end_regime"] == regime).sum())
        lo, hi = share_interval(k, n)
        parts.append(f"{regime} {_share(k / n, lo, hi)}")
    return ", ".join(parts)


def values(runs: pd.DataFrame, *, buyers: int, months: int) -> dict[str, str]:
    """The ``post_*`` placeholders of the page from :func:`measure`'s rows."""
    s = story.summarise(runs.drop(columns=[c for c in runs.columns
                                           if "." in c])).set_index("figure")
    hit = runs["refused_hundreds_2026"]
    table = drivers(runs)
    top = table.iloc[0]
    split = runs.assign(split=runs["end_regime"].isin(("bifurcated", "consolidated"))
                        .astype(float))
    regime_top = drivers(split, outcome="split").iloc[0]
    return {
        "post_regimes": regime_shares(runs),
        "post_flips": f"{int(runs['end_flips'].sum()):,} of {int(runs['end_moves'].sum()):,}",
        "post_unflipped": str(int((runs["end_flips"] == 0).sum())),
        "post_split_key": str(regime_top.key),
        "post_split_below": _share(regime_top.below, regime_top.below_low,
                                   regime_top.below_high),
        "post_split_above": _share(regime_top.above, regime_top.above_low,
                                   regime_top.above_high),
        "post_n": str(len(runs)), "post_buyers": f"{buyers:,}", "post_months": str(months),
        "post_base_seed": str(BASE_SEED),
        "post_hundreds": str(int(hit.sum())),
        "post_hundreds_share": cell(s.loc["refused_hundreds_2026"], pct),
        "post_refusal_amount": cell(s.loc["refusal_amount"], num),
        "post_refusal_n": str(int(s.loc["refusal_amount", "n"])),
        "post_below": cell(s.loc["owners_below_share"], pct),
        "post_renter_exit_share": cell(s.loc["renter_exit_share_pooled"], pct),
        "post_driver_table": driver_table(table),
        "post_top_key": str(top.key),
        "post_top_below": _share(top.below, top.below_low, top.below_high),
        "post_top_above": _share(top.above, top.above_low, top.above_high),
    }
