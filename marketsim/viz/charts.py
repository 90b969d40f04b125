"""Matplotlib charts of the visualiser, redrawn fast enough to watch a market month by month.

Each chart is a :class:`Chart` subclass with three parts:

- :meth:`Chart.layout` — the chart's static frame for a :class:`~marketsim.viz.data.Snapshot`
  (axis ranges, legend entries) as a hashable value; ranges are rounded so that it changes
  only now and then (time runs over the whole horizon, so a reader also sees how far the
  run has gone);
- :meth:`Chart.setup` — draws that frame: axes, ticks, labels, bands, legend;
- :meth:`Chart.update` — draws the data and the title for this month.

:func:`figure` draws a whole chart once (for files and tests). :func:`live_png` keeps one
chart object per model and chart, and while the frame stays the same it restores the frame's
pixels and draws only the data on top (Matplotlib's "blitting"), which is ~10 times faster
than drawing the whole figure: most of Matplotlib's time goes into ticks and labels.
Everything uses Matplotlib's object API (no pyplot, no global figure state).
"""

from __future__ import annotations

import io
import math
import weakref
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, ClassVar, override

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)
from PIL import Image

from marketsim.viz.data import (  # noqa: F401 - re-exported: charts.lab_rows etc.
    TABLE_COLUMNS,
    TABLE_CSS,
    Snapshot,
    gpus_text,
    lab_name,
    lab_rows,
    lab_table_html,
    month_name,
    snapshot,
    status,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

    from marketsim.model import AIMarketModel

#: Figure size (inches) and resolution (dots per inch) of every chart.
FIGSIZE: tuple[float, float] = (6.4, 4.4)
DPI = 80
#: Labs drawn one by one in the share chart; the rest are summed as "other labs".
TOP_LABS = 8

OWNED_COLOR, RENTED_COLOR, BAND_COLOR = "#1f5f99", "#9cc3e6", "#fff2cc"
PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                            "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_EMPTY: tuple[str] = ("empty",)


# ---------------------------------------------------------------------------- helpers
def nice_ceil(x: float, series: tuple[float, ...] = (1, 2, 5)) -> float:
    """Smallest number of ``series`` × a power of ten (1-2-5 by default) that is >= ``x`` > 0."""
    if not (x > 0 and math.isfinite(x)):
        return 1.0
    e = math.floor(math.log10(x))
    for m in (*series, 10):
        if m * 10.0 ** e >= x * (1 - 1e-12):
            return m * 10.0 ** e
    return 10.0 ** (e + 1)


#: Finer round numbers for the top of a linear axis (less empty space above the data).
AXIS_TOPS: tuple[float, ...] = (1, 1.5, 2, 3, 4, 5, 6, 8)


def stacked_areas(ax: Axes, x: np.ndarray, series: list[np.ndarray],
                  colors: list[str]) -> PolyCollection:
    """Stacked areas of ``series`` over ``x`` as one PolyCollection.

    Much faster to make than :meth:`~matplotlib.axes.Axes.stackplot`, which builds one
    collection per band.
    """
    tops = np.cumsum(np.vstack(series), axis=0)
    bottoms = np.vstack([np.zeros_like(tops[0]), tops[:-1]])
    verts = [np.column_stack([np.concatenate([x, x[::-1]]), np.concatenate([t, b[::-1]])])
             for t, b in zip(tops, bottoms, strict=True)]
    poly = PolyCollection(verts, facecolors=colors, linewidths=0)
    ax.add_collection(poly, autolim=False)
    return poly


def nice_floor(x: float) -> float:
    """Largest number of the 1-2-5 series that is <= ``x`` > 0."""
    if not (x > 0 and math.isfinite(x)):
        return 1.0
    e = math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * 10.0 ** e <= x * (1 + 1e-12):
            return m * 10.0 ** e
    return 10.0 ** (e - 1)


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Two to five round ticks in [lo, hi] for a log axis: decades, else finer round steps."""
    lo, hi = max(lo, 1e-9), max(hi, lo * 1.0001)
    decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    ticks: list[float] = []
    for subs in ((1,), (1, 3), (1, 2, 5), (1, 2, 3, 5), (1, 1.5, 2, 3, 4, 5, 6, 8)):
        finer = [m * 10.0 ** e for e in decades for m in subs if lo <= m * 10.0 ** e <= hi]
        if len(finer) > 5:
            break
        ticks = finer
        if len(ticks) >= 3:
            break
    if len(ticks) >= 2:
        return ticks
    return [float(t) for t in MaxNLocator(4).tick_values(lo, hi) if lo <= t <= hi]


def _time_axis(ax: Axes, x_range: tuple[float, float]) -> None:
    """Whole-horizon x axis with at most six whole-year ticks."""
    a, b = x_range
    first, last = int(np.ceil(a - 1e-9)), int(np.floor(b + 1e-9))
    span = last - first + 1
    every = next((e for e in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500) if span / e <= 6),
                 1000)  # round steps: 2030, 2040, ... rather than 2025, 2059, ...
    start = -(-first // every) * every
    ax.set_xlim(a, b)
    ax.xaxis.set_major_locator(FixedLocator(list(range(start, last + 1, every))))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)


def _percent(ax: Axes) -> None:
    ax.set_ylim(0, 1.04)  # headroom: a share of 100% is a line, not the top of the frame
    ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _widen(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """One month has no width: draw it as a half-month band so an area is visible."""
    if len(x) != 1:
        return (x, *ys)
    return (np.array([x[0], x[0] + 1 / 24]), *(np.repeat(y, 2) for y in ys))


def _gpus_tick(v: float, _: Any = None) -> str:
    """Tick label of log10 GPUs ``v``: ``100``, ``10k``, ``1M``."""
    g = 10.0 ** v
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if g >= div:
            return f"{g / div:g}{unit}"
    return f"{g:g}"


# ---------------------------------------------------------------------------- base class
class Chart:
    """One chart in its own Figure, drawable whole or redrawn on a cached frame.

    Subclasses set :attr:`key`, :attr:`title` and :attr:`margins` and implement
    :meth:`layout`, :meth:`setup` and :meth:`update`.
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    margins: ClassVar[dict[str, float]] = {}

    def __init__(self) -> None:
        self.fig = Figure(figsize=FIGSIZE, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax: Axes | None = None
        self._frame: Hashable | None = None
        self._background: Any = None
        self._data: list[Artist] = []  # this month's data artists (removed next month)
        self._legends: list[Artist] = []  # drawn after the data, so data never hides them

    # -------------------------------------------------------------- subclass hooks
    def layout(self, snap: Snapshot) -> Hashable:
        """The static frame for ``snap`` (hashable); :data:`_EMPTY` before any data."""
        raise NotImplementedError

    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        """Draw the static frame (axes ranges, ticks, labels, legend) into ``ax``."""
        raise NotImplementedError

    def update(self, ax: Axes, snap: Snapshot) -> tuple[list[Artist], str]:
        """Draw this month's data; return the new artists and the title text."""
        raise NotImplementedError

    def keeps(self, frame: Hashable, snap: Snapshot) -> bool:
        """True if the drawn ``frame`` still shows ``snap`` well (default: it is the same).

        Charts whose ranges follow the data accept a frame that holds the data without
        much empty space, so that the frame is not redrawn every time a range moves a bit.
        """
        return frame == self.layout(snap)

    # -------------------------------------------------------------- machinery
    def _build(self, snap: Snapshot, frame: Hashable) -> None:
        self.fig.clear()
        self.fig.subplots_adjust(**{"left": 0.12, "right": 0.88, "bottom": 0.09, "top": 0.91,
                                    **self.margins})
        ax = self.ax = self.fig.add_subplot()
        left = self.fig.subplotpars.left
        self.heading = self.fig.text(left, 0.985, "", fontsize=11, ha="left", va="top")
        self._data = []
        if frame == _EMPTY:
            ax.text(0.5, 0.5, "no data yet: press Step or \u25b6", ha="center", va="center",
                    transform=ax.transAxes, color="0.45")
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            self.setup(ax, snap, frame)
            for a in self.fig.axes:
                a.set_autoscale_on(False)  # data drawn later must not move the frame
        self._legends = [lg for a in self.fig.axes if (lg := a.get_legend()) is not None]
        self._frame = frame

    def _draw_data(self, snap: Snapshot) -> list[Artist]:
        for artist in self._data:
            artist.remove()
        self._data = []
        if self._frame == _EMPTY:
            text = self.title
        else:
            self._data, text = self.update(self.ax, snap)
        self.heading.set_text(text)
        return [*self._data, self.heading]

    def draw(self, snap: Snapshot) -> Figure:
        """Draw the whole chart for ``snap`` and return its Figure."""
        self._build(snap, self.layout(snap))
        for artist in self._draw_data(snap):
            artist.set_animated(False)
        return self.fig

    def png(self, snap: Snapshot) -> bytes:
        """PNG of the chart for ``snap``, redrawing only the data while the frame holds."""
        if self._background is None or not self.keeps(self._frame, snap):
            self._build(snap, self.layout(snap))
            for artist in self._draw_data(snap):
                artist.set_animated(True)
            for legend in self._legends:
                legend.set_animated(True)
            self.canvas.draw()  # the frame only: animated artists are left out
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            dynamic = [*self._data, self.heading, *self._legends]
        else:
            self.canvas.restore_region(self._background)
            dynamic = [*self._draw_data(snap), *self._legends]
        for artist in dynamic:
            artist.set_animated(True)
            self.fig.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        buf = io.BytesIO()
        Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA",
                         0, 1).save(buf, format="png", compress_level=1)
        return buf.getvalue()


# ---------------------------------------------------------------------------- the charts
class SharesChart(Chart):
    """Stacked area of each lab's share of inference revenue (largest labs, then the rest)."""

    key, title = "shares", "Revenue market shares"
    margins: ClassVar[dict[str, float]] = {"right": 0.76}

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        share = snap.shares
        if share.empty:
            return _EMPTY
        top = sorted(share.max().sort_values(ascending=False).index[:TOP_LABS])
        return (snap.x_range, tuple(top), share.shape[1] - len(top))

    def _series(self, frame: Any) -> tuple[list[Any], list[str], list[str]]:
        _, top, rest = frame
        names = [lab_name(a, self._classes.get(a, "AILab")) for a in top]
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(top))]
        if rest:
            names.append(f"{rest} other lab{'s' if rest > 1 else ''}")
            colors.append("0.8")
        return list(top), names, colors

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        self._classes = snap.lab_class
        _, names, colors = self._series(frame)
        _time_axis(ax, snap.x_range)
        _percent(ax)
        handles = [Patch(color=c, label=n) for n, c in zip(names, colors, strict=True)]
        ax.legend(handles=handles[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.02),
                  fontsize=7, frameon=False, handlelength=1.0)

    @override
    def update(self, ax: Axes, snap: Snapshot) -> tuple[list[Artist], str]:
        share = snap.shares
        top, names, colors = self._series(self._frame)
        series = [share[a].to_numpy() for a in top]
        rest = share.drop(columns=top)
        if rest.shape[1]:
            series.append(rest.sum(axis=1).to_numpy())
        x, *series = _widen(snap.years[np.asarray(share.index, dtype=int) - 1], *series)
        polys = [stacked_areas(ax, x, series, colors)]
        now = share.iloc[-1]
        leader = now.idxmax()
        name = lab_name(leader, snap.lab_class.get(leader, "AILab"))
        return polys, f"{self.title}: leader {name} {now.max():.0%}"


class ConcentrationChart(Chart):
    """HHI of revenue on the merger-guideline bands (left) and CR1, CR4 shares (right)."""

    key, title = "concentration", "Concentration of revenue"
    margins: ClassVar[dict[str, float]] = {"top": 0.85}  # room for the legend above

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        return _EMPTY if snap.df.empty else (snap.x_range, snap.hhi_concentrated)

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        high = snap.hhi_concentrated
        ax.axhspan(high, 10_400, color="#f4cccc", alpha=0.45, linewidth=0)
        ax.axhspan(1000, high, color=BAND_COLOR, alpha=0.6, linewidth=0)
        ax.text(0.99, high, f" HHI > {high:,.0f}: highly concentrated",
                transform=ax.get_yaxis_transform(), fontsize=7, color="#990000", ha="right",
                va="bottom")
        _time_axis(ax, snap.x_range)
        ax.set_ylim(0, 10_400)  # the same headroom as the share axis: 10,000 ↔ 100%
        ax.yaxis.set_major_locator(FixedLocator([0, 2500, 5000, 7500, 10_000]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        self.ax2 = ax2 = ax.twinx()
        _percent(ax2)
        style = {"hhi": ("black", "-", 1.8), "cr4": ("#1f77b4", "--", 1.4),
                 "cr1": ("#ff7f0e", ":", 1.6)}
        self._style = style
        labels = {"hhi": "HHI (left)", "cr4": "CR4 (right)", "cr1": "CR1 (right)"}
        handles = [Line2D([], [], color=c, linestyle=s, linewidth=w, label=labels[k])
                   for k, (c, s, w) in style.items()]
        # Above the axes, where no line can run (HHI and CR4 often sit at the top).
        ax2.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7,
                   frameon=False, ncol=3, handlelength=1.6, borderaxespad=0.2)

    @override
    def update(self, ax: Axes, snap: Snapshot) -> tuple[list[Artist], str]:
        df, x = snap.df, snap.years
        mark = "o" if len(x) < 3 else None
        lines = []
        for key, col, axis in (("hhi", "hhi_revenue", ax), ("cr4", "cr4_revenue", self.ax2),
                               ("cr1", "cr1_revenue", self.ax2)):
            c, s, w = self._style[key]
            lines += axis.plot(x, df[col].to_numpy(dtype=float), color=c, linestyle=s,
                               linewidth=w, marker=mark, ms=3)
        last = df.iloc[-1]
        return lines, (f"{self.title}: HHI {last['hhi_revenue']:,.0f}, "
                       f"CR4 {last['cr4_revenue']:.0%}")


class PricesChart(Chart):
    """Inference price ($/M tokens, log scale, left) and GPU rent ($/GPU-hour, right)."""

    key, title = "prices", "Prices"

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        if snap.df.empty:
            return _EMPTY
        price = snap.df["price_per_mtok"].to_numpy(dtype=float)
        rent = snap.df["rent_per_gpu_hour"].to_numpy(dtype=float)
        ok = price[np.isfinite(price) & (price > 0)]
        lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (0.1, 10.0)
        top = float(np.nanmax(rent)) if np.isfinite(rent).any() else 1.0
        return (snap.x_range, nice_floor(lo / 1.2), nice_ceil(hi * 1.2),
                nice_ceil(max(top * 1.2, 0.5)))

    @override
    def keeps(self, frame: Hashable, snap: Snapshot) -> bool:
        new = self.layout(snap)
        if frame == _EMPTY or new == _EMPTY:
            return frame == new
        _, lo, hi, rent_top = frame
        _, new_lo, new_hi, new_top = new
        return (frame[0] == new[0] and lo <= new_lo and hi >= new_hi
                and hi / lo <= 4 * new_hi / new_lo and new_top <= rent_top <= 2.5 * new_top)

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        _, lo, hi, rent_top = frame
        _time_axis(ax, snap.x_range)
        ax.set_yscale("log")
        ax.set_ylim(lo, hi)
        ax.yaxis.set_major_locator(FixedLocator(_log_ticks(lo, hi)))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_ylabel("$ per M tokens", color="#d62728")
        self.ax2 = ax2 = ax.twinx()
        ax2.set_ylim(0, rent_top)
        ax2.yaxis.set_major_locator(MaxNLocator(4))
        ax2.set_ylabel("$ per GPU-hour", color="#2ca02c")
        handles = [Line2D([], [], color="#d62728", linewidth=1.8,
                          label="price $/M tokens (left, log)"),
                   Line2D([], [], color="#2ca02c", linewidth=1.6, linestyle="--",
                          label="rent $/GPU-hour (right)")]
        ax2.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85)

    @override
    def update(self, ax: Axes, snap: Snapshot) -> tuple[list[Artist], str]:
        x = snap.years
        price = snap.df["price_per_mtok"].to_numpy(dtype=float)
        rent = snap.df["rent_per_gpu_hour"].to_numpy(dtype=float)
        mark = "o" if len(x) < 3 else None
        lines = ax.plot(x, price, color="#d62728", linewidth=1.8, marker=mark, ms=3)
        lines += self.ax2.plot(x, rent, color="#2ca02c", linewidth=1.6, linestyle="--",
                               marker=mark, ms=3)
        return lines, (f"{self.title}: \\${price[-1]:.2f}/M tokens, "
                       f"\\${rent[-1]:.2f}/GPU-hour")


class ComputeChart(Chart):
    """Owned and rented GPUs of all active labs over time (millions, stacked)."""

    key, title = "compute", "Compute of active labs"

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        if snap.df.empty:
            return _EMPTY
        top = float(np.nanmax(snap.df["total_gpus"].to_numpy(dtype=float))) / 1e6
        return (snap.x_range, nice_ceil(max(top * 1.1, 1e-3), AXIS_TOPS))

    @override
    def keeps(self, frame: Hashable, snap: Snapshot) -> bool:
        new = self.layout(snap)
        if frame == _EMPTY or new == _EMPTY:
            return frame == new
        return frame[0] == new[0] and new[1] <= frame[1] <= 2.5 * new[1]

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        _time_axis(ax, snap.x_range)
        ax.set_ylim(0, frame[1])
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.set_ylabel("million GPUs")
        ax.legend(handles=[Patch(color=RENTED_COLOR, label="rented"),
                           Patch(color=OWNED_COLOR, label="owned")],
                  loc="upper left", fontsize=8, framealpha=0.85)

    @override
    def update(self, ax: Axes, snap: Snapshot) -> tuple[list[Artist], str]:
        total = snap.df["total_gpus"].to_numpy(dtype=float) / 1e6
        share = snap.df["owned_compute_share"].to_numpy(dtype=float)
        owned = total * share
        x, owned, rented = _widen(snap.years, owned, total - owned)
        polys = [stacked_areas(ax, x, [owned, rented], [OWNED_COLOR, RENTED_COLOR])]
        return polys, (f"{self.title}: {total[-1]:.2f} M GPUs, "
                             f"{share[-1]:.0%} owned")


class SizesChart(Chart):
    """Active labs by size now (GPUs, log scale): owners and renters, the middle band."""

    key, title = "sizes", "Lab sizes now"
    margins: ClassVar[dict[str, float]] = {"bottom": 0.12}
    #: Histogram bin width, log10 GPUs (a quarter of a decade).
    BIN = 0.25

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        if snap.sizes.size == 0:
            return _EMPTY
        size = np.log10(snap.sizes)
        lo, hi = math.floor(size.min() - 0.1), math.ceil(size.max() + 0.1)
        counts, _ = np.histogram(size, bins=np.arange(lo, hi + 1e-9, self.BIN))
        return (lo, hi, max(5 * math.ceil(counts.max() * 1.2 / 5), 5), snap.bimodality_limit,
                snap.middle_band is not None)

    @override
    def keeps(self, frame: Hashable, snap: Snapshot) -> bool:
        if frame == _EMPTY or snap.sizes.size == 0:
            return frame == self.layout(snap)
        lo, hi, top, limit, band = frame
        size = np.log10(snap.sizes)
        counts, _ = np.histogram(size, bins=np.arange(lo, hi + 1e-9, self.BIN))
        return (lo <= size.min() - 0.05 and hi >= size.max() + 0.05
                and hi - lo <= size.max() - size.min() + 3
                and counts.max() <= top <= max(2.5 * counts.max(), 5)
                and limit == snap.bimodality_limit
                and band == (snap.middle_band is not None))

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        lo, hi, top, _, band = frame
        ax.set_xlim(lo, hi)
        ticks = list(range(lo, hi + 1))
        ax.xaxis.set_major_locator(FixedLocator(ticks[:: max(1, math.ceil(len(ticks) / 6))]))
        ax.xaxis.set_major_formatter(FuncFormatter(_gpus_tick))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("GPUs (H100-equivalent), log scale")
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.set_ylabel("labs")
        ax.grid(True, axis="y", color="0.9")
        ax.set_axisbelow(True)
        handles = [Patch(color=OWNED_COLOR, label="owns most of its GPUs"),
                   Patch(color=RENTED_COLOR, label="rents most of its GPUs")]
        if band:  # drawn only with 3 labs or more, as metrics.middle_share counts it
            handles.insert(0, Patch(color=BAND_COLOR, label="middle band (10-50% of largest)"))
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.85)

    @override
    def update(self, ax: Axes, snap: Snapshot) -> tuple[list[Artist], str]:
        lo, hi, _, limit, _ = self._frame
        edges = np.arange(lo, hi + 1e-9, self.BIN)
        size = np.log10(snap.sizes)
        owners = snap.owned >= 0.5
        n_own, _ = np.histogram(size[owners], bins=edges)
        n_rent, _ = np.histogram(size[~owners], bins=edges)
        artists: list[Artist] = []
        if snap.middle_band is not None:
            artists.append(ax.axvspan(*snap.middle_band, color=BAND_COLOR, alpha=0.8,
                                      linewidth=0))
        artists.append(ax.stairs(n_own, edges, fill=True, color=OWNED_COLOR))
        artists.append(ax.stairs(n_own + n_rent, edges, baseline=n_own, fill=True,
                                 color=RENTED_COLOR))
        bc = snap.bimodality
        if not math.isfinite(bc):  # before the first month: no statistics yet
            return artists, f"{self.title} (bimodal above {limit:.3g}; figure after a month)"
        verdict = "bimodal" if bc > limit else "not bimodal"
        return artists, f"{self.title}: bimodality {bc:.2f} ({verdict} above {limit:.3g})"


#: The charts in display order: (key, short title, class).
CHARTS: tuple[tuple[str, str, type[Chart]], ...] = tuple(
    (cls.key, cls.title, cls)
    for cls in (SharesChart, ConcentrationChart, PricesChart, ComputeChart, SizesChart))
_CLASSES: dict[str, type[Chart]] = {key: cls for key, _, cls in CHARTS}


def figure(model: AIMarketModel, key: str) -> Figure:
    """One chart (``key`` from :data:`CHARTS`) of ``model`` now, drawn whole in its Figure."""
    return _CLASSES[key]().draw(snapshot(model))


_LIVE: weakref.WeakKeyDictionary[Any, dict[str, Chart]] = weakref.WeakKeyDictionary()


def live_png(model: AIMarketModel, key: str) -> bytes:
    """PNG of chart ``key`` for ``model`` now, kept between calls so a step redraws only data.

    One chart object per model and key; a model that is gone takes its charts with it.
    """
    charts = _LIVE.setdefault(model, {})
    chart = charts.get(key)
    if chart is None:
        chart = charts[key] = _CLASSES[key]()
    return chart.png(snapshot(model))
