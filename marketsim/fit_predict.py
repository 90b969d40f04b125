"""What a fit's posterior says: a summary per parameter, predictive bands, figures.

:func:`posterior_summary` gives each fitted key's weighted mean, median and 90 % interval
beside the scenario's own value. :func:`predictive_bands` runs posterior draws to the
horizon and returns quantile bands per tick of the main reporters: how wide the model's
2030 is, given what the 2025 figures leave uncertain. :func:`plot_bands` and
:func:`plot_pairs` draw them (matplotlib, no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.report_plots import save

#: Reporters shown with predictive bands (the market's size, prices, structure, funding).
MAIN_REPORTERS: tuple[str, ...] = (
    "leader_run_rate", "enterprise_spend", "price_per_mtok", "rent_per_gpu_hour",
    "hhi_revenue", "active_labs", "owned_compute_share", "top_valuation",
)
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Reporters drawn on a log axis (they grow or fall by orders of magnitude over a run).
LOG_REPORTERS = frozenset({"leader_run_rate", "enterprise_spend", "price_per_mtok",
                           "top_valuation"})


def weighted_quantile(values: np.ndarray, weights: np.ndarray,
                      qs: Sequence[float]) -> np.ndarray:
    """Quantiles ``qs`` of ``values`` under ``weights`` (midpoint rule on the sorted CDF).

    Draws of zero weight are left out: they carry no posterior mass.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    v, w = v[w > 0], w[w > 0]
    order = np.argsort(v)
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(qs, cdf, v)


def posterior_summary(post: pd.DataFrame, priors: Sequence[Any],
                      scenario: Any = None) -> pd.DataFrame:
    """Per fitted key: prior, weighted mean, median, 5 % and 95 % quantiles.

    With ``scenario``, also its own value and whether that lies in the 90 % interval.
    """
    w = post["weight"].to_numpy()
    rows = []
    for p in priors:
        v = post[p.key].to_numpy()
        q05, q50, q95 = weighted_quantile(v, w, (0.05, 0.5, 0.95))
        row = {"key": p.key, "prior": f"{p.scale} {p.low:g}-{p.high:g}",
               "mean": float(np.average(v, weights=w)), "median": q50, "q05": q05, "q95": q95}
        if scenario is not None:
            own = float(scenario.get(p.key))
            row |= {"scenario": own, "inside_90": bool(q05 <= own <= q95)}
        rows.append(row)
    return pd.DataFrame(rows).set_index("key")


def resample(post: pd.DataFrame, draws: int, rng: np.random.Generator) -> list[dict[str, float]]:
    """``draws`` parameter sets drawn from the posterior by weight (with replacement)."""
    keys = [c for c in post.columns if c != "weight"]
    w = post["weight"].to_numpy(dtype=float)
    rows = rng.choice(len(post), size=draws, p=w / w.sum())
    return [{k: float(post[k].iloc[i]) for k in keys} for i in rows]


def predictive_bands(post: pd.DataFrame, scenario: Any = None, *, draws: int = 50,
                     seed: int = 0, reporters: Sequence[str] = MAIN_REPORTERS,
                     quantiles: Sequence[float] = QUANTILES, horizon: int | None = None,
                     progress: bool = False) -> pd.DataFrame:
    """Quantile bands per tick of ``reporters`` over ``draws`` posterior draws.

    Each draw is a parameter set resampled by weight and run with its own seed (both from
    ``numpy.random.SeedSequence(seed)``) on the scenario (its own buyer count) to
    ``horizon`` (default: the scenario's). Returns one row per tick and reporter with
    ``tick``, ``date`` (YYYY-MM), ``reporter`` and a column per quantile (``q05``, ``q50``...).
    """
    from marketsim.model import AIMarketModel
    from marketsim.reporters import calendar_month
    from marketsim.scenario import MarketScenario, load_scenario, validate_scenario

    sc = scenario if isinstance(scenario, MarketScenario) else load_scenario(scenario)
    ticks = horizon or sc.horizon
    pick, run_seeds = np.random.SeedSequence(seed).spawn(2)
    params = resample(post, draws, np.random.default_rng(pick))
    seeds = run_seeds.generate_state(draws, np.uint32)
    iterator: Any = range(draws)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="posterior draws", unit="run", leave=False)
    runs = []
    for i in iterator:
        run_sc = validate_scenario(sc.to_toml_dict(), file=sc.source, overrides=params[i])
        m = AIMarketModel(run_sc, rng=int(seeds[i]))
        m.run(ticks=ticks)
        df = m.datacollector.get_model_vars_dataframe()
        runs.append(np.stack([df[r].to_numpy(dtype=float) for r in reporters]))
    cube = np.stack(runs)  # draw x reporter x tick
    qv = np.nanquantile(cube, quantiles, axis=0)  # quantile x reporter x tick
    rows = []
    for j, r in enumerate(reporters):
        for t in range(cube.shape[2]):
            rows.append({"tick": t, "date": calendar_month(sc.start, t), "reporter": r,
                         **{f"q{round(q * 100):02d}": qv[k, j, t]
                            for k, q in enumerate(quantiles)}})
    return pd.DataFrame(rows)


def plot_bands(bands: pd.DataFrame, path: str | Path, start: str = "2025-01") -> Path:
    """A panel per reporter: median, 50 % and 90 % bands; the fit's data ends at tick 12."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reporters = list(dict.fromkeys(bands["reporter"]))
    cols = 2
    fig, axes = plt.subplots((len(reporters) + cols - 1) // cols, cols,
                             figsize=(10, 2.6 * ((len(reporters) + 1) // cols)), squeeze=False)
    year0 = int(start[:4]) + (int(start[5:7]) - 1) / 12
    for ax, r in zip(axes.flat, reporters, strict=False):
        b = bands[bands["reporter"] == r]
        x = year0 + b["tick"].to_numpy() / 12
        ax.fill_between(x, b["q05"], b["q95"], alpha=0.25, color="C0", label="90 %")
        ax.fill_between(x, b["q25"], b["q75"], alpha=0.45, color="C0", label="50 %")
        ax.plot(x, b["q50"], color="C0", lw=1.5, label="median")
        ax.axvspan(year0, year0 + 1, color="0.9", zorder=0)  # the fitted year
        for year in (2030, 2034):
            ax.axvline(year, color="0.6", lw=0.8, ls=":")
        if r in LOG_REPORTERS and (b["q05"] > 0).all():
            ax.set_yscale("log")
        ax.set_title(r, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(reporters):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Posterior-predictive bands (grey: 2025, the fitted year)", fontsize=10)
    fig.tight_layout()
    return save(fig, Path(path))


def plot_pairs(post: pd.DataFrame, path: str | Path, log_keys: Sequence[str] = ()) -> Path:
    """Pair plot of the posterior: weighted histograms on the diagonal, draws off it.

    Keys in ``log_keys`` (those with log-uniform priors) get log axes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [c for c in post.columns if c != "weight"]
    w = post["weight"].to_numpy(dtype=float)
    n = len(keys)
    fig, axes = plt.subplots(n, n, figsize=(1.7 * n, 1.7 * n), squeeze=False)
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            ax = axes[i, j]
            _pair_cell(ax, post[b].to_numpy(), post[a].to_numpy(), w, i == j,
                       (b in log_keys, a in log_keys))
            ax.tick_params(labelsize=6)
            if i == n - 1:
                ax.set_xlabel(b.split(".")[-1], fontsize=7)
            if j == 0:
                ax.set_ylabel(a.split(".")[-1], fontsize=7)
    fig.suptitle("Posterior of the 2025 fit (last generation, weighted)", fontsize=10)
    fig.tight_layout()
    return save(fig, Path(path))


def _pair_cell(ax: Any, x: np.ndarray, y: np.ndarray, w: np.ndarray, diagonal: bool,
               log: tuple[bool, bool]) -> None:
    """One cell: a weighted histogram of x on the diagonal, else y against x."""
    if log[0] and x.min() > 0:
        ax.set_xscale("log")
    if diagonal:
        edges = np.geomspace(x.min(), x.max(), 21) if log[0] and x.min() > 0 else 20
        ax.hist(x, bins=edges, weights=w, color="C0")
        return
    if log[1] and y.min() > 0:
        ax.set_yscale("log")
    ax.scatter(x, y, s=4 + 200 * w / w.max() / np.sqrt(len(w)), alpha=0.5, color="C0",
               linewidths=0)
