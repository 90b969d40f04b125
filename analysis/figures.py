"""The findings page's figures, drawn from sweep tables (PNG, 256 colours, 90 dpi).

The atlas figures are the library's own report plots (:mod:`marketsim.report_plots`); the
variant figures are drawn here from each variant's runs and ticks.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.tables import band, yearly_fall
from marketsim.report_plots import pyplot, regime_colour

VARIANT_COLOURS: dict[str, str] = {
    "default": "#6a3d9a", "null": "#2ca02c", "default, equal start": "#1f77b4",
    "null, unequal start": "#8c8c8c",
}
DPI = 90


def _plt() -> Any:
    plt = pyplot()
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.grid": True,
                         "grid.alpha": 0.3, "legend.fontsize": 8, "legend.frameon": False})
    return plt


def save_png(fig: Any, path: Path) -> Path:
    """Save at :data:`DPI` as a 256-colour PNG (a third of the size, text still sharp)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, format="png")
    plt.close(fig)
    buf.seek(0)
    img = Image.open(buf).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    img.save(path, optimize=True)
    return Path(path)


def quantise(path: Path) -> Path:
    """Re-save a PNG written by the library's plots with 256 colours."""
    from PIL import Image

    with Image.open(path) as im:
        img = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    img.save(path, optimize=True)
    return path


def _plot_band(ax: Any, b: pd.DataFrame, colour: str, label: str, ls: str = "-") -> None:
    x = b.index.to_numpy() / 12.0
    ax.plot(x, b["median"], color=colour, ls=ls, lw=1.6, label=label)
    ax.fill_between(x, b["q25"], b["q75"], color=colour, alpha=0.18, lw=0)


def plot_regimes(finals: Mapping[str, pd.DataFrame], regimes: Sequence[str], path: Path,
                 thresholds: Mapping[str, float]) -> Path:
    """Regime shares per variant (stacked bars) and the measures behind the label (boxes)."""
    plt = _plt()
    order = list(finals)
    fig = plt.figure(figsize=(12, 6.4), layout="constrained")
    sub = fig.subfigures(1, 2, width_ratios=[1, 2.1])
    ax = sub[0].subplots()
    y = np.arange(len(order))[::-1]
    left = np.zeros(len(order))
    for reg in regimes:
        share = np.array([(finals[v]["regime"] == reg).mean() for v in order])
        ax.barh(y, share, left=left, color=regime_colour(reg), label=reg, height=0.6)
        for yi, li, si in zip(y, left, share, strict=True):
            if si >= 0.08:
                ax.text(li + si / 2, yi, f"{si:.0%}", ha="center", va="center", fontsize=8,
                        color="white")
        left += share
    ax.set_yticks(y, [v.replace(", ", ",\n") for v in order])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of seeds ending in the regime")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    ax.set_title(f"final regime ({min(len(f) for f in finals.values())} seeds each)")
    ax.grid(False)
    panels = [("hhi_end", "HHI of revenue, final", thresholds.get("hhi_concentrated")),
              ("bimodality_year", "bimodality of log lab size\n(mean of last year)",
               thresholds.get("bimodality")),
              ("middle_share_year", "share of labs in the middle size band\n(last year)",
               thresholds.get("middle_share")),
              ("active_labs_end", "active labs, final", None),
              ("leader_owned_year", "revenue leader's owned share\nof its GPUs (last year)",
               thresholds.get("giant_owned_share")),
              ("cr1_end", "leader's revenue share (CR1), final", None)]
    axes = sub[1].subplots(2, 3)
    jitter = np.random.default_rng(0)
    for a, (col, title, line) in zip(axes.flat, panels, strict=True):
        data = [finals[v][col].to_numpy(float) for v in order]
        bp = a.boxplot(data, widths=0.55, patch_artist=True, showfliers=False)
        for patch, v in zip(bp["boxes"], order, strict=True):
            patch.set_facecolor(VARIANT_COLOURS.get(v, "grey"))
            patch.set_alpha(0.35)
        for i, d in enumerate(data):
            a.scatter(i + 1 + jitter.uniform(-0.15, 0.15, d.size), d, s=7,
                      color=VARIANT_COLOURS.get(order[i], "grey"), zorder=3)
        if line is not None:
            a.axhline(line, color="black", lw=0.8, ls=":")
        a.set_xticks(range(1, len(order) + 1),
                     [v.replace(", ", "\n").replace(" start", "") for v in order], fontsize=7)
        a.set_title(title, fontsize=9)
    fig.suptitle("Default vs null: which regime each seed ends in, and the measures behind "
                 "the label (dotted: label thresholds)", fontsize=11)
    return save_png(fig, path)


def plot_story(ticks: Mapping[str, pd.DataFrame], path: Path, owner: float) -> Path:
    """The default's story from the model reporters: money, ownership, share, exits."""
    plt = _plt()
    d = ticks["default"]
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 7.6), layout="constrained")
    a = axes[0, 0]
    for col, colour, label in (("vc_deployed", "#1f77b4", "VC money deployed"),
                               ("amount_refused", "#d62728", "offers refused")):
        _plot_band(a, band(d, lambda r, c=col: r[c].cumsum()), colour, label)
    a.set_yscale("symlog", linthresh=1.0)
    a.set_ylabel("$bn, cumulative (whole market)")
    a.set_title("(a) money deployed and refused")
    a.legend(loc="upper left")
    a = axes[0, 1]
    _plot_band(a, band(d, "leader_owned_share"), VARIANT_COLOURS["default"],
               "this month's revenue leader")
    _plot_band(a, band(d, "owned_compute_share"), "#7f7f7f", "all labs together")
    a.axhline(owner, color="black", lw=0.8, ls=":")
    a.set_ylim(0, 1)
    a.set_ylabel("owned share of GPUs")
    a.set_title("(b) who owns its compute")
    a.legend(loc="upper left")
    a = axes[1, 0]
    for v in ("default", "default, equal start", "null"):
        if v in ticks:
            _plot_band(a, band(ticks[v], "cr1_revenue"), VARIANT_COLOURS[v], v)
    a.set_ylim(0, 1)
    a.set_ylabel("leader's share of inference revenue (CR1)")
    a.set_title("(c) the leader's revenue share")
    a.legend(loc="upper right")
    a = axes[1, 1]
    for v, ls in (("default", "-"), ("null", "--")):
        for col, colour, label in (("entries", "#17becf", "entries"),
                                   ("exits_acquired", "#ff7f0e", "acquired"),
                                   ("exits_bankrupt", "#d62728", "bankrupt")):
            b = band(ticks[v], lambda r, c=col: r[c].cumsum())
            a.plot(b.index / 12.0, b["mean"], color=colour, ls=ls, lw=1.6,
                   label=f"{label} ({v})")
    a.set_ylabel("labs, cumulative (mean over seeds)")
    a.set_title("(d) entry and exit: default (solid), null (dashed)")
    a.legend(loc="upper left", ncol=2)
    for a in axes.flat:
        a.set_xlabel("years from Jan 2025")
    fig.suptitle("The seed story in the default scenario (median and inter-quartile band "
                 "over seeds)", fontsize=11)
    return save_png(fig, path)


def plot_facts(ticks: Mapping[str, pd.DataFrame], path: Path, hhi_line: float) -> Path:
    """Stylised facts: prices falling, entry and exit per year, concentration over time."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), layout="constrained")
    a = axes[0]
    for v in ("default", "null"):
        for col, ls, what in (("price_per_mtok", "-", "$ per M tokens"),
                              ("price_per_capability", "--", "per unit of capability")):
            b = band(ticks[v], col)
            fall = yearly_fall(b["median"], 0, len(b) - 1)
            _plot_band(a, b, VARIANT_COLOURS[v], f"{what} ({v}): ÷{fall:.3g}/yr", ls=ls)
    a.set_yscale("log")
    a.set_ylabel("$ (log scale)")
    a.set_title("(a) price per M tokens and per unit of capability")
    a.legend(loc="lower left")
    a = axes[1]
    width = 0.38
    for k, v in enumerate(("default", "null")):
        t = ticks[v].assign(year=ticks[v]["tick"] // 12, exits=ticks[v]["exits_acquired"]
                            + ticks[v]["exits_bankrupt"])
        per = t.groupby(["run_id", "year"])[["entries", "exits"]].sum().groupby("year").mean()
        x = per.index.to_numpy() + 0.5 + (k - 0.5) * width
        a.bar(x, per["entries"], width=width, color=VARIANT_COLOURS[v], alpha=0.85,
              label=f"entries ({v})")
        a.bar(x, -per["exits"], width=width, color=VARIANT_COLOURS[v], alpha=0.45,
              hatch="//", label=f"exits ({v})")
    a.axhline(0, color="black", lw=0.8)
    a.set_ylabel("labs per year, mean over seeds (exits below 0)")
    a.set_title("(b) entry (up) and exit (down) per year")
    a.legend(loc="upper right", ncol=2)
    a = axes[2]
    for v in ("default", "default, equal start", "null"):
        if v in ticks:
            _plot_band(a, band(ticks[v], "hhi_revenue"), VARIANT_COLOURS[v], v)
    a.axhline(hhi_line, color="black", lw=0.8, ls=":",
              label=f"{hhi_line:,.0f}: highly concentrated")
    a.set_ylabel("HHI of inference revenue")
    a.set_title("(c) concentration over time")
    a.legend(loc="upper right")
    for a in axes.flat:
        a.set_xlabel("years from Jan 2025")
    fig.suptitle("Stylised facts (median and inter-quartile band over seeds)", fontsize=11)
    return save_png(fig, path)


def plot_atlas(atlas: Mapping[str, Any], out: Path, figures: Mapping[str, str]) -> None:
    """The atlas figures with the library's report plots: map, shares per driver, Sobol'."""
    from marketsim.report import map_axes
    from marketsim.report_plots import plot_regime_by_driver, plot_regime_map, plot_sobol

    res = atlas["res"]
    quantise(plot_regime_by_driver(atlas["by_driver"], res.name, out / figures["drivers"]))
    axes = map_axes(res, atlas["ranking"])
    if axes is not None:
        quantise(plot_regime_map(res, out / figures["map"], *axes))
    if atlas["sobol"] is not None:
        quantise(plot_sobol(atlas["sobol"], res.name, out / figures["sobol"]))


def plot_knockouts(table: pd.DataFrame, regimes: Sequence[str], path: Path) -> Path:
    """Regime shares per knock-out scenario (stacked bars) with 95 % Wilson whiskers.

    Each regime's whisker sits at its segment's right end and spans its share's interval,
    shifted by the segments to its left.
    """
    plt = _plt()
    names = list(table.index)
    fig, ax = plt.subplots(figsize=(8, 0.34 * len(names) + 1.4), layout="constrained")
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    offsets = np.linspace(-0.22, 0.22, max(len(regimes), 1))
    for reg, dy in zip(regimes, offsets, strict=True):
        share = table[reg].to_numpy(float)
        lo, hi = table[f"{reg}_lo"].to_numpy(float), table[f"{reg}_hi"].to_numpy(float)
        colour = regime_colour(reg)
        ax.barh(y, share, left=left, color=colour, label=reg, height=0.7)
        shown = share > 0
        ax.errorbar((left + share)[shown], (y + dy)[shown],
                    xerr=[(share - lo)[shown], (hi - share)[shown]], fmt="none",
                    ecolor="black", elinewidth=0.8, capsize=2, alpha=0.7)
        left += share
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of seeds ending in the regime (whiskers: 95 % Wilson interval)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / len(names)), ncol=4)
    return save_png(fig, path)
