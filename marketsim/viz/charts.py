"""Matplotlib charts and the lab table of the visualiser (no Solara here).

Each chart is drawn by a function ``draw_*(ax, snap)`` into a Matplotlib ``Axes`` from a
:class:`Snapshot` of the model (built once per tick and shared by every chart), and
:func:`figure` wraps one of them in its own :class:`~matplotlib.figure.Figure` (object API:
no pyplot, no global figure state, nothing to close). Time runs along the x axis in
calendar years over the whole horizon, so a reader sees how far the run has gone and the
axes stay still while it plays. Few ticks per axis: Matplotlib's drawing time grows with
every tick label, and the page redraws every chart each month.
"""

from __future__ import annotations

import calendar
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)

from marketsim.reporters import lab_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from marketsim.model import AIMarketModel

#: Figure size (inches) and resolution (dots per inch) of every chart.
FIGSIZE: tuple[float, float] = (6.4, 4.4)
DPI = 80
#: Labs drawn one by one in the share chart; the rest are summed as "other labs".
TOP_LABS = 8

OWNED_COLOR, RENTED_COLOR = "#1f5f99", "#9cc3e6"
PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                            "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_TITLE = {"fontsize": 11, "loc": "left"}


# ---------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Snapshot:
    """What the charts read, gathered once per tick.

    Attributes:
        steps: Mesa steps run (months).
        df: model reporters, one row per month, index = Mesa step (1 = first month).
        years: calendar year (decimal) of each row of ``df``.
        x_range: (first, last) calendar year of the whole horizon.
        shares: share of inference revenue, one column per lab ever (AgentID), one row per
            month (empty before the first step).
        lab_class: class name of each lab (AgentID → name).
        sizes: GPUs of each active lab now.
        owned: share of each active lab's GPUs it owns.
        bimodality: Sarle's coefficient of log lab size now (NaN before the first step).
        bimodality_limit: above it the size distribution counts as bimodal.
        middle_band: (low, high) log10 GPUs of the middle third of the size range, or None.
        hhi_concentrated: HHI above which the market is highly concentrated.
    """

    steps: int
    df: pd.DataFrame
    years: np.ndarray
    x_range: tuple[float, float]
    shares: pd.DataFrame
    lab_class: dict[Any, str]
    sizes: np.ndarray
    owned: np.ndarray
    bimodality: float
    bimodality_limit: float
    middle_band: tuple[float, float] | None
    hhi_concentrated: float


_CACHE: weakref.WeakKeyDictionary[Any, Snapshot] = weakref.WeakKeyDictionary()


def _years(model: AIMarketModel, steps: Any) -> np.ndarray:
    """Calendar year (decimal) of Mesa step ``s`` (1 = the first month, the start month)."""
    year, month = (int(x) for x in model.scenario_config.start.split("-"))
    return year + (month - 1 + np.asarray(steps, dtype=float) - 1.0) / 12.0


def snapshot(model: AIMarketModel) -> Snapshot:
    """The model's chart data now (cached per model until it steps again)."""
    hit = _CACHE.get(model)
    if hit is not None and hit.steps == model.steps:
        return hit
    df = model.datacollector.get_model_vars_dataframe()
    if len(df):
        df = df.reset_index(drop=True)
        df.index = pd.RangeIndex(1, len(df) + 1, name="step")
    labs = lab_table(model)
    if len(labs) and model.steps > 0:
        rev = labs.pivot_table(index="Step", columns="AgentID", values="revenue",
                               aggfunc="sum", fill_value=0.0)
        total = rev.sum(axis=1).replace(0.0, np.nan)
        shares = rev.div(total, axis=0).fillna(0.0)
        lab_class = labs.drop_duplicates("AgentID").set_index("AgentID")["lab_class"].to_dict()
    else:
        shares, lab_class = pd.DataFrame(), {}
    active = [lab for lab in model.active_labs() if lab.total_gpus > 0]
    sizes = np.array([lab.total_gpus for lab in active], dtype=float)
    owned = np.array([lab.owned_gpus for lab in active], dtype=float) / np.maximum(sizes, 1e-12)
    band = None
    if sizes.size >= 3:
        lo, hi = np.log10(sizes.min()), np.log10(sizes.max())
        if hi - lo > 1e-9:
            band = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0)
    cfg = model.scenario_config
    snap = Snapshot(
        steps=model.steps, df=df, years=_years(model, df.index),
        x_range=(float(_years(model, 1)), float(_years(model, max(cfg.horizon, 2)))),
        shares=shares, lab_class=lab_class, sizes=sizes, owned=owned,
        bimodality=float((model.stats or {}).get("bimodality", np.nan)),
        bimodality_limit=float(cfg.regime.bimodality), middle_band=band,
        hhi_concentrated=float(cfg.regime.hhi_concentrated),
    )
    _CACHE[model] = snap
    return snap


def lab_name(lab_id: Any, lab_class: str) -> str:
    """Display name of a lab: ``"Lab 3"``, or ``"Lab 3 (MyLab)"`` for a user's own class."""
    name = f"Lab {lab_id}"
    return name if lab_class == "AILab" else f"{name} ({lab_class})"


# ---------------------------------------------------------------------------- helpers
def _empty(ax: Axes, title: str) -> None:
    ax.set_title(title, **_TITLE)
    ax.text(0.5, 0.5, "no data yet: press Step or \u25b6", ha="center", va="center",
            transform=ax.transAxes, color="0.45")
    ax.set_xticks([])
    ax.set_yticks([])


def _time_axis(ax: Axes, snap: Snapshot) -> None:
    """Whole-horizon x axis with at most six whole-year ticks."""
    a, b = snap.x_range
    first, last = int(np.ceil(a - 1e-9)), int(np.floor(b + 1e-9))
    every = max(1, int(np.ceil((last - first + 1) / 6)))
    ax.set_xlim(a, b)
    ax.xaxis.set_major_locator(FixedLocator(list(range(first, last + 1, every))))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)


def _widen(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """One month has no width: draw it as a half-month band so an area is visible."""
    if len(x) != 1:
        return (x, *ys)
    return (np.array([x[0], x[0] + 1 / 24]), *(np.repeat(y, 2) for y in ys))


def _percent(ax: Axes) -> None:
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


# ---------------------------------------------------------------------------- charts
def draw_shares(ax: Axes, snap: Snapshot) -> None:
    """Stacked area of each lab's share of inference revenue (largest labs, then the rest)."""
    title = "Revenue market shares"
    share = snap.shares
    if share.empty:
        _empty(ax, title)
        return
    order = share.max().sort_values(ascending=False).index
    top = sorted(order[:TOP_LABS], key=lambda a: -share[a].iloc[-1])
    series = [share[a].to_numpy() for a in top]
    names = [lab_name(a, snap.lab_class.get(a, "AILab")) for a in top]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(top))]
    rest = share.drop(columns=top)
    if rest.shape[1]:
        series.append(rest.sum(axis=1).to_numpy())
        names.append(f"{rest.shape[1]} other labs")
        colors.append("0.8")
    x, *series = _widen(snap.years[np.asarray(share.index, dtype=int) - 1], *series)
    ax.stackplot(x, *series, labels=names, colors=colors, linewidth=0)
    _time_axis(ax, snap)
    _percent(ax)
    ax.set_title(f"{title}: leader {names[0]} {series[0][-1]:.0%}", **_TITLE)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.02), fontsize=7, frameon=False,
              reverse=True, handlelength=1.0)


def draw_concentration(ax: Axes, snap: Snapshot) -> None:
    """HHI of revenue on the merger-guideline bands (left) and CR1, CR4 shares (right)."""
    title = "Concentration of revenue"
    df = snap.df
    if df.empty:
        _empty(ax, title)
        return
    x = snap.years
    high = snap.hhi_concentrated
    ax.axhspan(high, 10_000, color="#f4cccc", alpha=0.45, linewidth=0)
    ax.axhspan(1000, high, color="#fff2cc", alpha=0.6, linewidth=0)
    ax.text(0.99, 0.97, f"HHI > {high:,.0f}: highly concentrated", transform=ax.transAxes,
            fontsize=7, color="#990000", ha="right", va="top")
    mark = "o" if len(x) < 3 else None
    ax.plot(x, df["hhi_revenue"], color="black", linewidth=1.8, marker=mark, ms=3,
            label="HHI (left)")
    ax.set_ylim(0, 10_000)
    ax.yaxis.set_major_locator(FixedLocator([0, 2500, 5000, 7500, 10_000]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax2 = ax.twinx()
    ax2.plot(x, df["cr4_revenue"], color="#1f77b4", linestyle="--", linewidth=1.4,
             marker=mark, ms=3, label="CR4 (right)")
    ax2.plot(x, df["cr1_revenue"], color="#ff7f0e", linestyle=":", linewidth=1.6,
             marker=mark, ms=3, label="CR1 (right)")
    _percent(ax2)
    _time_axis(ax, snap)
    last = df.iloc[-1]
    ax.set_title(f"{title}: HHI {last['hhi_revenue']:,.0f}, CR4 {last['cr4_revenue']:.0%}",
                 **_TITLE)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left", fontsize=7,
              framealpha=0.85, ncol=3, handlelength=1.6)


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Two to five round ticks in [lo, hi] for a log axis (1-2-5 steps, or linear ones)."""
    lo, hi = max(lo, 1e-9), max(hi, lo * 1.0001)
    for subs in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(lo))),
                                              int(np.ceil(np.log10(hi))) + 1)
                 for m in subs if lo <= m * 10.0 ** e <= hi]
        if 2 <= len(ticks) <= 5:
            return ticks
        if len(ticks) > 5:
            return ticks[:: int(np.ceil(len(ticks) / 5))]
    ticks = MaxNLocator(4).tick_values(lo, hi)  # a narrow range: round linear steps
    return [float(t) for t in ticks if lo <= t <= hi]


def draw_prices(ax: Axes, snap: Snapshot) -> None:
    """Inference price ($/M tokens, log scale, left) and GPU rent ($/GPU-hour, right)."""
    title = "Prices"
    df = snap.df
    if df.empty:
        _empty(ax, title)
        return
    x = snap.years
    mark = "o" if len(x) < 3 else None
    price = df["price_per_mtok"].to_numpy(dtype=float)
    rent = df["rent_per_gpu_hour"].to_numpy(dtype=float)
    ax.plot(x, price, color="#d62728", linewidth=1.8, marker=mark, ms=3,
            label="price $/M tokens (left, log)")
    ax.set_yscale("log")
    ok = price[np.isfinite(price) & (price > 0)]
    lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (0.1, 10.0)
    lo, hi = lo / 1.5, hi * 1.5
    ax.set_ylim(lo, hi)
    ax.yaxis.set_major_locator(FixedLocator(_log_ticks(lo, hi)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylabel("$ per M tokens", color="#d62728")
    ax2 = ax.twinx()
    ax2.plot(x, rent, color="#2ca02c", linewidth=1.6, linestyle="--", marker=mark, ms=3,
             label="rent $/GPU-hour (right)")
    top = float(np.nanmax(rent)) if np.isfinite(rent).any() else 1.0
    ax2.set_ylim(0, max(top * 1.3, 0.5))
    ax2.yaxis.set_major_locator(MaxNLocator(4))
    ax2.set_ylabel("$ per GPU-hour", color="#2ca02c")
    _time_axis(ax, snap)
    ax.set_title(f"{title}: \\${price[-1]:.2f}/M tokens, \\${rent[-1]:.2f}/GPU-hour", **_TITLE)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="lower left", fontsize=7,
              framealpha=0.85)


def draw_compute(ax: Axes, snap: Snapshot) -> None:
    """Owned and rented GPUs of all active labs over time (millions, stacked)."""
    title = "Compute of active labs"
    df = snap.df
    if df.empty:
        _empty(ax, title)
        return
    total = df["total_gpus"].to_numpy(dtype=float) / 1e6
    share = df["owned_compute_share"].to_numpy(dtype=float)
    owned = total * share
    x, owned, rented = _widen(snap.years, owned, total - owned)
    ax.stackplot(x, owned, rented, labels=["owned", "rented"],
                 colors=[OWNED_COLOR, RENTED_COLOR], linewidth=0)
    ax.set_ylabel("million GPUs")
    ax.set_ylim(0, max(float(np.nanmax(total)) * 1.1, 1e-3))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    _time_axis(ax, snap)
    ax.set_title(f"{title}: {total[-1]:.2f} M GPUs, {share[-1]:.0%} owned", **_TITLE)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85, reverse=True)


def _gpus_label(v: float, _: Any = None) -> str:
    g = 10.0 ** v
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if g >= div:
            return f"{g / div:g}{unit}"
    return f"{g:g}"


def draw_sizes(ax: Axes, snap: Snapshot) -> None:
    """Active labs by size now (GPUs, log scale): owners and renters, the middle band."""
    title = "Lab sizes now"
    if snap.sizes.size == 0:
        _empty(ax, title)
        return
    size = np.log10(snap.sizes)
    lo, hi = float(size.min()), float(size.max())
    pad = max(0.3, 0.06 * (hi - lo))
    bins = np.linspace(lo - pad, hi + pad, 15)
    owners = snap.owned >= 0.5
    if snap.middle_band is not None:
        ax.axvspan(*snap.middle_band, color="#fff2cc", alpha=0.8, linewidth=0,
                   label="middle third of sizes")
    ax.hist([size[owners], size[~owners]], bins=bins, stacked=True,
            color=[OWNED_COLOR, RENTED_COLOR], edgecolor="white", linewidth=0.5,
            label=["owns most of its GPUs", "rents most of its GPUs"])
    ax.set_xlim(bins[0], bins[-1])
    ticks = np.arange(np.ceil(bins[0]), np.floor(bins[-1]) + 1)
    if ticks.size < 2:
        ticks = np.array([bins[0], bins[-1]])
    ax.xaxis.set_major_locator(FixedLocator(list(ticks[:: max(1, int(np.ceil(ticks.size / 6)))])))
    ax.xaxis.set_major_formatter(FuncFormatter(_gpus_label))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("GPUs (H100-equivalent), log scale")
    ax.set_ylabel("labs")
    ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    bc, limit = snap.bimodality, snap.bimodality_limit
    verdict = "bimodal" if bc > limit else "not bimodal"
    ax.set_title(f"{title}: bimodality {bc:.2f} ({verdict} above {limit:.3g})", **_TITLE)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.85)
    ax.grid(True, axis="y", color="0.9")
    ax.set_axisbelow(True)


#: The charts in display order: (key, short title, draw function).
CHARTS: tuple[tuple[str, str, Callable[[Axes, Snapshot], None]], ...] = (
    ("shares", "Revenue market shares", draw_shares),
    ("concentration", "Concentration (HHI, CR4)", draw_concentration),
    ("prices", "Prices", draw_prices),
    ("compute", "Owned vs rented compute", draw_compute),
    ("sizes", "Lab-size distribution", draw_sizes),
)
_MARGINS = {"shares": {"right": 0.76}, "sizes": {"bottom": 0.12}}


def figure(model: AIMarketModel, key: str) -> Figure:
    """One chart (``key`` from :data:`CHARTS`) of ``model`` now, in its own Figure."""
    draw = {k: f for k, _, f in CHARTS}[key]
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    ax = fig.add_subplot()
    fig.subplots_adjust(**{"left": 0.12, "right": 0.88, "bottom": 0.09, "top": 0.92,
                           **_MARGINS.get(key, {})})
    draw(ax, snapshot(model))
    return fig


# ---------------------------------------------------------------------------- table
def gpus_text(n: float) -> str:
    """GPU count in few characters: ``950``, ``181k``, ``2.35M``."""
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.0f}k"
    return f"{n:.0f}"


#: Lab table columns: (column, header, format).
TABLE_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("lab", "lab", str),
    ("class", "class", str),
    ("status", "status", str),
    ("cash", "cash $bn", "{:,.1f}".format),
    ("run_rate", "revenue $bn/yr", "{:,.2f}".format),
    ("valuation", "value $bn", "{:,.0f}".format),
    ("owned_gpus", "owned GPUs", gpus_text),
    ("rented_gpus", "rented GPUs", gpus_text),
    ("price", "$/M tok", "{:.2f}".format),
)


def lab_rows(model: AIMarketModel) -> pd.DataFrame:
    """One row per lab now: active labs by revenue, then exited labs, latest exit first.

    Columns: lab, class, status, cash ($bn), run_rate ($bn/yr: last month's revenue × 12),
    valuation ($bn, last post-money), owned_gpus, rented_gpus (GPUs), price ($/M tokens).
    """
    rows = [{
        "lab": f"Lab {lab.unique_id}",
        "class": type(lab).__name__,
        "status": lab.status,
        "cash": lab.cash,
        "run_rate": lab.run_rate if lab.active else 0.0,
        "valuation": lab.valuation,
        "owned_gpus": lab.owned_gpus,
        "rented_gpus": float(np.sum(lab.rented_gpus)),
        "price": lab.price,
        "_active": lab.active,
        "_exit": -1 if lab.exit_tick is None else lab.exit_tick,
    } for lab in model.labs]
    df = pd.DataFrame(rows, columns=[c for c, _, _ in TABLE_COLUMNS] + ["_active", "_exit"])
    df = df.sort_values(["_active", "run_rate", "_exit"], ascending=[False, False, False])
    return df.drop(columns=["_active", "_exit"]).reset_index(drop=True)


def lab_table_html(model: AIMarketModel, max_rows: int = 40) -> str:
    """The lab table as an HTML ``<table>`` (exited labs greyed), at most ``max_rows`` rows."""
    df = lab_rows(model)
    head = "".join(f"<th>{escape(h)}</th>" for _, h, _ in TABLE_COLUMNS)
    body = []
    for rec in df.head(max_rows).to_dict("records"):
        cls = "" if rec["status"] == "active" else ' class="exited"'
        cells = "".join(
            f"<td{' class=num' if i > 2 else ''}>{escape(fmt(rec[c]))}</td>"
            for i, (c, _, fmt) in enumerate(TABLE_COLUMNS))
        body.append(f"<tr{cls}>{cells}</tr>")
    if len(df) > max_rows:
        body.append(f'<tr><td colspan="{len(TABLE_COLUMNS)}">and {len(df) - max_rows} '
                    "more labs</td></tr>")
    return (f'<table class="marketsim-labs"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


TABLE_CSS = """
.marketsim-labs { border-collapse: collapse; font-size: 11px; width: 100%; }
.marketsim-labs th { text-align: right; border-bottom: 1px solid #999; padding: 2px 4px;
                     white-space: normal; vertical-align: bottom; }
.marketsim-labs th:nth-child(-n+3) { text-align: left; }
.marketsim-labs td { padding: 1px 4px; border-bottom: 1px solid #eee; white-space: nowrap; }
.marketsim-labs td.num { text-align: right; font-variant-numeric: tabular-nums; }
.marketsim-labs tr.exited td { color: #999; }
"""


# ---------------------------------------------------------------------------- status line
def month_name(date: str) -> str:
    """``"2027-12"`` → ``"December 2027"``."""
    year, month = (int(x) for x in date.split("-"))
    return f"{calendar.month_name[month]} {year}"


def status(model: AIMarketModel) -> dict[str, Any]:
    """Headline facts: scenario, date, month, tick, horizon, regime, active labs, HHI, leader."""
    stats = model.stats or {}
    return {
        "scenario": model.scenario_config.name,
        "date": model.date,
        "month": month_name(model.date),
        "tick": model.steps,
        "horizon": model.horizon,
        "regime": model.regime,
        "active_labs": len(model.active_labs()),
        "hhi": stats.get("hhi_revenue"),
        "leader_run_rate": stats.get("leader_run_rate"),
    }
