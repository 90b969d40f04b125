"""The figures of ``marketsim report`` (Matplotlib's Agg backend; PNG, SVG or PDF).

The format follows the file's suffix. Parameter axes carry their unit from the scenario
schema; regime colours are fixed for the known labels, grey for any other; a cell or bin
whose top regimes tie is drawn hatched and labelled as a tie.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.report_data import SweepResults, axis_label
from marketsim.report_stats import driver_bins, regime_order

#: Plot formats by file suffix.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
REGIME_COLOURS: dict[str, str] = {
    "competitive": "#2ca02c", "concentrated": "#ff7f0e", "bifurcated": "#9467bd",
    "consolidated": "#d62728",
}
#: Tick series plotted in timeseries plots, with their panel titles (what and unit).
SERIES: dict[str, str] = {
    "hhi_revenue": "HHI of revenue (0–10,000)",
    "active_labs": "active labs",
    "bimodality": "bimodality of log lab size (Sarle)",
    "owned_compute_share": "owned share of compute (0–1)",
    "cr1_revenue": "leader's revenue share, CR1 (0–1)",
    "price_per_mtok": "price ($ per M tokens)",
}
_MAX_POINT_LINES = 6
_MAX_PLOTTED_RUNS = 2000


def regime_colour(regime: str) -> str:
    """The colour of a regime label (grey for a label the report does not know)."""
    return REGIME_COLOURS.get(regime, "#7f7f7f")


def pyplot() -> Any:
    """Matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> Path:
    """Write a figure in the format of its suffix (written to a temporary, then renamed)."""
    import os

    import matplotlib.pyplot as plt

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=110, format=fmt)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


def quiet_glyphs(plot: Any) -> Any:
    """A plot that draws characters the font lacks (CJK, emoji) as boxes, without warnings."""

    @functools.wraps(plot)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
            return plot(*args, **kwargs)

    return quiet


def _groups(res: SweepResults) -> tuple[pd.Series, list[tuple[Any, str, str | None]], str]:
    """Runs grouped by design point (few points) or by final regime."""
    from marketsim.report_stats import _fmt

    runs = res.runs.set_index("run_id")
    if len(res.points) <= _MAX_POINT_LINES:
        key = runs["point"]
        last = [k.split(".")[-1] for k in res.names]
        groups = [(p, ", ".join(
            f"{k if last.count(s) > 1 else s}={_fmt(res.points.loc[p, k])}"
            for k, s in zip(res.names, last, strict=True)), None)
            for p in sorted(key.unique())]
        return key, groups, "across replications, per design point"
    key = runs["regime"]
    groups = [(r, f"ending {r} ({int((key == r).sum())} runs)", regime_colour(r))
              for r in regime_order(key)]
    return key, groups, "across runs, grouped by the regime each run ends in"


@quiet_glyphs
def plot_timeseries(res: SweepResults, path: Path) -> Path | None:
    """Median and 10–90 % band across runs of the key tick series, by point or by regime."""
    plt = pyplot()
    key, groups, title = _groups(res)
    ids = None
    if len(key) > _MAX_PLOTTED_RUNS:
        per = max(1, _MAX_PLOTTED_RUNS // len(groups))
        ids = [int(i) for _, g in key.groupby(key)
               for i in g.sample(min(per, len(g)), random_state=0).index]
        title += f" (sample of {len(ids)} runs)"
    ticks = res.ticks(list(SERIES), run_ids=ids)
    series = [c for c in SERIES if c in ticks.columns]
    if ticks.empty or not series:
        return None
    ticks = ticks.assign(group=ticks["run_id"].map(key))
    ncol = 3 if len(series) > 4 else 2
    nrow = int(np.ceil(len(series) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.4 * nrow), squeeze=False)
    for ax, col in zip(axes.flat, series, strict=False):
        for g, label, colour in groups:
            sub = ticks.loc[ticks["group"] == g, ["tick", col]].astype(float)
            q = sub.groupby("tick")[col].quantile([0.1, 0.5, 0.9]).unstack()
            line = ax.plot(q.index, q[0.5], label=label, color=colour, lw=1.6)
            ax.fill_between(q.index, q[0.1], q[0.9], color=line[0].get_color(), alpha=0.2,
                            lw=0)
        ax.set_title(SERIES[col], fontsize=10)
        ax.set_xlabel("month")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=8,
               frameon=False)
    fig.suptitle(f"{res.name}: median and 10–90% band {title}", fontsize=11)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * ((len(labels) - 1) // 3), 1, 0.95))
    return save(fig, path)


def _cells(res: SweepResults, xk: str, yk: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Regime shares per (y bin, x bin) cell, with the cells' run counts and dominant label."""
    xb, xs = driver_bins(res.runs[xk])
    yb, ys = driver_bins(res.runs[yk])
    regimes = regime_order(res.runs["regime"])
    share = pd.crosstab([yb, xb], res.runs["regime"], normalize="index").reindex(
        columns=regimes, fill_value=0.0)
    share["runs"] = pd.crosstab([yb, xb], res.runs["regime"]).sum(axis=1)
    from marketsim.report_stats import dominant

    share["dominant"] = dominant(share[regimes])
    return share, xs, ys


@quiet_glyphs
def plot_regime_map(res: SweepResults, path: Path, xk: str, yk: str) -> Path:
    """Regime map over two drivers: each cell's dominant regime (ties hatched) and shares.

    Cells are the grid's values or quintile bins of sampled drivers; the other drivers are
    pooled. Cell colour: the dominant regime, paler when it holds fewer of the cell's runs;
    label: its share and the number of runs.
    """
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    plt = pyplot()
    share, xs, ys = _cells(res, xk, yk)
    regimes = [c for c in share.columns if c not in ("runs", "dominant")]
    fig, ax = plt.subplots(figsize=(8.6, 5.8), layout="constrained")
    for (yv, xv), row in share.iterrows():
        i, j = ys.index(yv), xs.index(xv)
        dom = str(row["dominant"])
        top = float(row[regimes].max())
        tie = dom.startswith("tie: ")
        ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=to_rgba(
            "#bbbbbb" if tie else regime_colour(dom), 0.3 + 0.7 * top),
            hatch="//" if tie else None, edgecolor="white"))
        what = dom.replace(" / ", "/\n") if tie else f"{dom} {top:.0%}"
        ax.text(j + 0.5, i + 0.5, f"{what}\nn={int(row['runs'])}", ha="center", va="center",
                fontsize=7)
    ax.set_xlim(0, len(xs))
    ax.set_ylim(0, len(ys))
    ax.set_xticks(np.arange(len(xs)) + 0.5, xs, fontsize=8)
    ax.set_yticks(np.arange(len(ys)) + 0.5, ys, fontsize=8)
    ax.set_xlabel(axis_label(xk))
    ax.set_ylabel(axis_label(yk))
    handles = [Patch(color=regime_colour(r), label=r) for r in regimes]
    handles.append(Patch(facecolor="#bbbbbb", hatch="//", label="tie"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    ax.set_title(f"{res.name}: dominant regime over {xk} and {yk}\n({len(res.runs)} runs, "
                 f"{res.method} design; other parameters pooled)", fontsize=10)
    return save(fig, path)


@quiet_glyphs
def plot_regime_by_driver(table: pd.DataFrame, name: str, path: Path) -> Path:
    """Stacked regime shares per bin of each driver (``regime_by_driver``'s table)."""
    plt = pyplot()
    params = list(dict.fromkeys(table["parameter"]))
    regimes = [c for c in table.columns if c not in ("parameter", "bin", "runs", "dominant")]
    fig, axes = plt.subplots(1, len(params), figsize=(3.4 * len(params) + 1.6, 3.8),
                             sharey=True, squeeze=False, layout="constrained")
    for ax, key in zip(axes.flat, params, strict=True):
        t = table[table["parameter"] == key]
        x = np.arange(len(t))
        bottom = np.zeros(len(t))
        for r in regimes:
            ax.bar(x, t[r], bottom=bottom, color=regime_colour(r), label=r, width=0.8)
            bottom += t[r].to_numpy(float)
        for xi, dom in zip(x, t["dominant"], strict=True):
            if str(dom).startswith("tie: "):
                ax.text(xi, 1.01, "tie", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, t["bin"], fontsize=7, rotation=30)
        ax.set_xlabel(axis_label(key), fontsize=8)
    axes.flat[0].set_ylabel("share of runs")
    axes.flat[0].set_ylim(0, 1.08)
    axes.flat[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                         frameon=False)
    fig.suptitle(f"{name}: regime shares by bin of each driver (other drivers pooled)",
                 fontsize=10)
    return save(fig, path)


@quiet_glyphs
def plot_sobol(table: pd.DataFrame, name: str, path: Path) -> Path:
    """Bars of first-order (S1) and total (ST) Sobol' indices with 95 % intervals."""
    plt = pyplot()
    outs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(1, len(outs), figsize=(6 * len(outs), 4.2), squeeze=False)
    for ax, out in zip(axes.flat, outs, strict=True):
        t = table[table["output"] == out]
        x = np.arange(len(t))
        ax.bar(x - 0.2, t["S1"], 0.4, yerr=t["S1_conf"], label="first order (S1)",
               color="#1f77b4", capsize=3)
        ax.bar(x + 0.2, t["ST"], 0.4, yerr=t["ST_conf"], label="total (ST)", color="#aec7e8",
               capsize=3)
        ax.set_xticks(x, list(t["parameter"]), rotation=30, ha="right", fontsize=8)
        ax.set_ylim(-0.25, 1.25)  # indices lie in [0, 1]; wide intervals run off the plot
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"{out} (final)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{name}: Sobol' sensitivity indices (mean over replications per point; "
                 "95% intervals)", fontsize=11)
    fig.tight_layout()
    return save(fig, path)


@quiet_glyphs
def plot_compare(table: pd.DataFrame, path: Path) -> Path:
    """Folders side by side: regime shares with 95 % intervals, one group of bars each."""
    plt = pyplot()
    regimes = list(table.attrs.get("regimes", []))
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(table) * max(1, len(regimes)) / 2, 4.2),
                           layout="constrained")
    width = 0.8 / max(1, len(regimes))
    x = np.arange(len(table))
    for k, r in enumerate(regimes):
        y = table[r].to_numpy(float)
        err = np.vstack([y - table[f"{r}_lo"].to_numpy(float),
                         table[f"{r}_hi"].to_numpy(float) - y])
        ax.bar(x + (k - (len(regimes) - 1) / 2) * width, y, width, yerr=err, capsize=3,
               color=regime_colour(r), label=r)
    ax.set_xticks(x, [f"{Path(f).name}\n({int(n)} runs)" for f, n in
                      zip(table.index, table["runs"], strict=True)], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of runs (95% interval)")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Regime shares per results folder", fontsize=10)
    return save(fig, path)

