"""Matplotlib charts of the visualiser, redrawn fast enough to watch a market month by month.

Each chart is a :class:`~marketsim.viz.chartbase.Chart` (layout, setup, update; see there).
Charts over time carry the regime band along their x axis and draw earlier runs of the
session faintly (grey) under this run. :func:`figure` draws a whole chart once (for files and
tests), :func:`live_png` redraws one per model and chart as the model steps, and
:func:`chart_file` gives a chart as a PNG or SVG download. Everything uses Matplotlib's object
API (no pyplot, no global figure state).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, ClassVar, override

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from marketsim.viz.chartbase import (
    _EMPTY,
    AXIS_TOPS,
    BAND_COLOR,
    LEGEND_FONT,
    OWNED_COLOR,
    RENTED_COLOR,
    Chart,
    _ghost_handle,
    _ghosts,
    _gpus_tick,
    _log_ticks,
    _percent,
    _time_axis,
    _widen,
    nice_ceil,
    nice_floor,
    stacked_areas,
)
from marketsim.viz.data import (  # noqa: F401 - re-exported: charts.lab_rows etc.
    OTHER_COLOR,
    Snapshot,
    lab_name,
    lab_rows,
    lab_table_html,
    snapshot,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from marketsim.model import AIMarketModel



# ---------------------------------------------------------------------------- the charts
class SharesChart(Chart):
    """Stacked area of each contender's share of inference revenue, then the rest in grey.

    The contenders are the labs with the largest revenue share over the trailing window
    (:func:`~marketsim.viz.data.contenders`), each in the colour it keeps for the whole run.
    """

    key, title = "shares", "Revenue market shares"
    margins: ClassVar[dict[str, float]] = {"right": 0.7}

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        # The legend changes with the contenders: it is drawn with the data, not the frame.
        return _EMPTY if snap.shares.empty else (snap.x_range,)

    def _series(self, snap: Snapshot) -> tuple[list[Any], list[str], list[str]]:
        top = list(snap.named)
        names = [lab_name(snap.names.get(a, f"Lab {a}"), snap.lab_class.get(a, "AILab"))
                 for a in top]
        colors = [snap.colors[a] for a in top]
        rest = snap.shares.shape[1] - len(top)
        if rest:
            names.append(f"{rest} other lab{'s' if rest > 1 else ''}")
            colors.append(OTHER_COLOR)
        return top, names, colors

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        _time_axis(ax, snap.x_range)
        _percent(ax)

    @override
    def legend_key(self, snap: Snapshot) -> Hashable:
        _, names, colors = self._series(snap)
        return tuple(names), tuple(colors)

    @override
    def make_legend(self, ax: Axes, snap: Snapshot) -> Artist:
        _, names, colors = self._series(snap)
        handles = [Patch(color=c, label=n) for n, c in zip(names, colors, strict=True)]
        return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.02),
                         fontsize=LEGEND_FONT, frameon=False, handlelength=1.0,
                         title="top, last 12 months", title_fontsize=LEGEND_FONT)

    @override
    def update(self, ax: Axes, snap: Snapshot) -> tuple[list[Artist], str]:
        share = snap.shares
        top, _, colors = self._series(snap)
        values = share.to_numpy(dtype=float)
        named = share.columns.get_indexer(top)
        series = list(values[:, named].T)
        if len(top) < values.shape[1]:
            series.append(values.sum(axis=1) - values[:, named].sum(axis=1))
        x, *series = _widen(snap.years[np.asarray(share.index, dtype=int) - 1], *series)
        now = values[-1]
        leader = share.columns[int(np.argmax(now))]
        name = snap.names.get(leader, f"Lab {leader}")
        return ([stacked_areas(ax, x, series, colors)],
                f"Revenue shares: leader {name} {now.max():.0%}")


class ConcentrationChart(Chart):
    """HHI of revenue on the merger-guideline bands (left) and CR1, CR4 shares (right)."""

    key, title = "concentration", "Concentration of revenue"
    margins: ClassVar[dict[str, float]] = {"top": 0.82}  # room for the legend above

    @staticmethod
    def _top(snap: Snapshot, headroom: float) -> float:
        """Top of the HHI axis: ``headroom`` × the highest HHI, past the threshold line."""
        hhi = float(np.nanmax(snap.df["hhi_revenue"].to_numpy(dtype=float), initial=0.0))
        return min(nice_ceil(max(hhi * headroom, snap.hhi_concentrated * 1.25), AXIS_TOPS),
                   10_400)

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        if snap.df.empty:
            return _EMPTY
        # The HHI axis reaches past the data and the threshold line, not to 10,000; a new
        # frame leaves room for the HHI to double, so a rising HHI redraws it seldom.
        return (snap.x_range, snap.hhi_concentrated, self._top(snap, 2.0))

    @override
    def keeps(self, frame: Hashable, snap: Snapshot) -> bool:
        new = self.layout(snap)
        if frame == _EMPTY or new == _EMPTY:
            return frame == new
        return (frame[:2] == new[:2]
                and self._top(snap, 1.1) <= frame[2] <= 2.5 * self._top(snap, 1.4))

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        high, top = snap.hhi_concentrated, frame[2]
        ax.axhspan(high, top, color="#f4cccc", alpha=0.35, linewidth=0)
        ax.axhline(high, color="#990000", linewidth=0.8)
        ax.text(0.99, high, f"HHI {high:,.0f}: highly concentrated",
                transform=ax.get_yaxis_transform(), fontsize=LEGEND_FONT, color="#990000",
                ha="right", va="bottom")
        _time_axis(ax, snap.x_range)
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        _ghosts(ax, snap, "hhi_revenue")
        self.ax2 = ax2 = ax.twinx()
        _percent(ax2)
        style = {"hhi": ("black", "-", 1.8), "cr4": ("#1f77b4", "--", 1.4),
                 "cr1": ("#ff7f0e", ":", 1.6)}
        self._style = style
        labels = {"hhi": "HHI (left)", "cr4": "CR4 (right)", "cr1": "CR1 (right)"}
        handles = [Line2D([], [], color=c, linestyle=s, linewidth=w, label=labels[k])
                   for k, (c, s, w) in style.items()] + _ghost_handle(snap)
        # Above the axes, where no line can run (HHI and CR4 often sit at the top).
        ax2.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                   fontsize=LEGEND_FONT, frameon=False, ncol=4, handlelength=1.4,
                   borderaxespad=0.2, columnspacing=0.8)

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
        _ghosts(ax, snap, "price_per_mtok")
        self.ax2 = ax2 = ax.twinx()
        ax2.set_ylim(0, rent_top)
        ax2.yaxis.set_major_locator(MaxNLocator(4))
        ax2.set_ylabel("$ per GPU-hour", color="#2ca02c")
        handles = [Line2D([], [], color="#d62728", linewidth=1.8,
                          label="price $/M tokens (left, log)"),
                   Line2D([], [], color="#2ca02c", linewidth=1.6, linestyle="--",
                          label="rent $/GPU-hour (right)"), *_ghost_handle(snap)]
        ax2.legend(handles=handles, loc="lower left", fontsize=LEGEND_FONT, framealpha=0.85)

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

    key, title = "compute", "Owned vs rented compute"

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        if snap.df.empty:
            return _EMPTY
        top = float(np.nanmax(snap.df["total_gpus"].to_numpy(dtype=float))) / 1e6
        return (snap.x_range, nice_ceil(max(top * 1.5, 1e-3), AXIS_TOPS))

    @override
    def keeps(self, frame: Hashable, snap: Snapshot) -> bool:
        new = self.layout(snap)
        if frame == _EMPTY or new == _EMPTY:
            return frame == new
        top = float(np.nanmax(snap.df["total_gpus"].to_numpy(dtype=float))) / 1e6
        return frame[0] == new[0] and top * 1.05 <= frame[1] <= 4 * top

    @override
    def setup(self, ax: Axes, snap: Snapshot, frame: Any) -> None:
        _time_axis(ax, snap.x_range)
        ax.set_ylim(0, frame[1])
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.set_ylabel("million GPUs")
        _ghosts(ax, snap, "total_gpus", 1e-6)
        ax.legend(handles=[Patch(color=RENTED_COLOR, label="rented"),
                           Patch(color=OWNED_COLOR, label="owned"), *_ghost_handle(snap)],
                  loc="upper left", fontsize=LEGEND_FONT, framealpha=0.85)

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
    margins: ClassVar[dict[str, float]] = {"bottom": 0.15}
    over_time: ClassVar[bool] = False
    #: Histogram bin width, log10 GPUs (a quarter of a decade).
    BIN = 0.25

    @override
    def layout(self, snap: Snapshot) -> Hashable:
        if snap.sizes.size == 0:
            return _EMPTY
        size = np.log10(snap.sizes)
        # A third of a decade of room each side: labs grow for months before the axis must.
        lo, hi = math.floor(size.min() - 0.3), math.ceil(size.max() + 0.3)
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
                and counts.max() <= top <= max(4 * counts.max(), 10)
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
        ax.set_xlabel("GPUs (H100-equivalent), log scale", fontsize=LEGEND_FONT)
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.set_ylabel("labs")
        ax.grid(True, axis="y", color="0.9")
        ax.set_axisbelow(True)
        handles = [Patch(color=OWNED_COLOR, label="owns most of its GPUs"),
                   Patch(color=RENTED_COLOR, label="rents most of its GPUs")]
        if band:  # drawn only with 3 labs or more, as metrics.middle_share counts it
            handles.insert(0, Patch(color=BAND_COLOR, label="middle (10-50% of largest)"))
        ax.legend(handles=handles, loc="upper right", fontsize=LEGEND_FONT, framealpha=0.85)

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
        return artists, f"Lab sizes: bimodality {bc:.2f} ({verdict} > {limit:.3g})"


#: The charts in display order: (key, short title, class).
CHARTS: tuple[tuple[str, str, type[Chart]], ...] = tuple(
    (cls.key, cls.title, cls)
    for cls in (SharesChart, ComputeChart, SizesChart, ConcentrationChart, PricesChart))
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


def chart_file(model: AIMarketModel, key: str, fmt: str) -> bytes:
    """Chart ``key`` of ``model`` now as a ``"png"`` (2x screen resolution) or ``"svg"``."""
    return _CLASSES[key]().save(snapshot(model), fmt)

