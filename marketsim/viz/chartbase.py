"""The machinery of the visualiser's Matplotlib charts: axes helpers and the Chart base class.

Each chart (:mod:`marketsim.viz.charts`) is a :class:`Chart` subclass with three parts:

- :meth:`Chart.layout` — the chart's static frame for a :class:`~marketsim.viz.data.Snapshot`
  (axis ranges, legend entries) as a hashable value; ranges are rounded so that it changes
  only now and then (time runs over the whole horizon, so a reader also sees how far the
  run has gone);
- :meth:`Chart.setup` — draws that frame: axes, ticks, labels, bands, legend;
- :meth:`Chart.update` — draws the data and the title for this month.

:func:`figure` draws a whole chart once (for files and tests). :func:`live_png` keeps one
chart object per model and chart, and while the frame stays the same it restores the frame's
pixels and draws only the data on top (Matplotlib's "blitting"), pastes each legend's
pixels (drawn once) over it and writes the title with PIL: most of Matplotlib's time goes
into text (ticks, labels, legends, titles), which Matplotlib 3.11 draws glyph by glyph.
Everything uses Matplotlib's object API (no pyplot, no global figure state).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)
from matplotlib.transforms import Bbox
from PIL import Image, ImageDraw, ImageFont

from marketsim.viz.data import Snapshot
from marketsim.viz.regime import regime_color

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes


#: Figure size (inches) and resolution (dots per inch) of every chart: three side by side
#: fill the page's 1,100 pixels at 1440 wide, about the size they are drawn (no blurring).
FIGSIZE: tuple[float, float] = (4.8, 3.3)
DPI = 80
#: Font sizes (points; 10 pt is 11 pixels at :data:`DPI`): titles, axes, legends.
TITLE_FONT, LEGEND_FONT = 10.5, 8.5
#: Height of the regime band along the bottom of a time axis (share of the axes' height).
BAND_HEIGHT = 0.045
GHOST_COLOR = "#9e9e9e"
#: Legends kept as pixels per chart (one per set of names, for the share chart).
LEGENDS_KEPT = 8

OWNED_COLOR, RENTED_COLOR, BAND_COLOR = "#1f5f99", "#9cc3e6", "#fff2cc"
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


def regime_band(ax: Axes, years: np.ndarray, labels: np.ndarray) -> list[Artist]:
    """The trailing-window regime label of each month as a coloured strip along the x axis.

    One rectangle per run of months with the same label, at the bottom of the axes (in axes
    coordinates, so it sits there whatever the y range); months without a label are left out.
    """
    if len(years) == 0:
        return []
    step = 1 / 12
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(labels)]
    verts, colors = [], []
    for a, b in zip(starts, ends, strict=True):
        if not labels[a]:
            continue
        x0, x1 = years[a] - step / 2, years[b - 1] + step / 2
        verts.append([(x0, 0), (x1, 0), (x1, BAND_HEIGHT), (x0, BAND_HEIGHT)])
        colors.append(regime_color(str(labels[a])))
    if not verts:
        return []
    poly = PolyCollection(verts, facecolors=colors, linewidths=0, alpha=0.9,
                          transform=ax.get_xaxis_transform(), zorder=5)
    ax.add_collection(poly, autolim=False)
    return [poly]


def ghost_years(snap: Snapshot, n: int) -> np.ndarray:
    """Calendar years of the first ``n`` months of a run shown beside ``snap``'s."""
    return snap.x_range[0] + np.arange(n) / 12.0


def _ghosts(ax: Axes, snap: Snapshot, column: str, scale: float = 1.0) -> None:
    """Earlier runs' ``column`` (times ``scale``) as faint grey lines, part of the frame."""
    for _, df in snap.ghosts:
        if column in df.columns and len(df):
            ax.plot(ghost_years(snap, len(df)), df[column].to_numpy(dtype=float) * scale,
                    color=GHOST_COLOR, linewidth=1.0, alpha=0.6, zorder=1)


def _ghost_handle(snap: Snapshot) -> list[Line2D]:
    n = len(snap.ghosts)
    label = "earlier run" if n == 1 else f"{n} earlier runs"
    return [Line2D([], [], color=GHOST_COLOR, linewidth=1.0, label=label)] if n else []


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


@functools.cache
def _heading_font() -> ImageFont.FreeTypeFont:
    """Matplotlib's own sans-serif font at :data:`TITLE_FONT` points and :data:`DPI`, for PIL."""
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    return ImageFont.truetype(path, size=TITLE_FONT * DPI / 72)


def draw_heading(image: Image.Image, xy: tuple[float, float], text: str) -> None:
    """Write a chart's title line on ``image`` with PIL, its top left corner at ``xy`` (pixels).

    The same font and size as Matplotlib's title, at a fraction of the cost: Matplotlib 3.11
    draws text glyph by glyph in Python (~0.1 ms a glyph), PIL in one call.
    """
    ImageDraw.Draw(image).text(xy, text.replace("\\$", "$"), fill="black",
                               font=_heading_font(), anchor="la")


# ---------------------------------------------------------------------------- base class
class Chart:
    """One chart in its own Figure, drawable whole or redrawn on a cached frame.

    Subclasses set :attr:`key`, :attr:`title` and :attr:`margins` and implement
    :meth:`layout`, :meth:`setup` and :meth:`update` (and :meth:`legend_key` and
    :meth:`make_legend` for a legend that changes with the data).

    Redrawing a month (:meth:`png`) pastes three layers that are kept as pixels: the frame
    (axes, ticks, labels; redrawn when :meth:`keeps` says so), the data drawn on it, and
    each legend on top (drawn once on the bare frame, then pasted: a legend covers the data
    under it, as an opaque box would). The title line is written by PIL (:func:`draw_heading`).
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    margins: ClassVar[dict[str, float]] = {}
    #: True for charts over time: they carry the regime band along their x axis.
    over_time: ClassVar[bool] = True

    def __init__(self) -> None:
        self.fig = Figure(figsize=FIGSIZE, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax: Axes | None = None
        self._frame: Hashable | None = None
        self._background: Any = None  # pixels of the frame alone
        self._data: list[Artist] = []  # this month's data artists (removed next month)
        self._legends: list[Artist] = []  # the frame's legends (setup) and make_legend's
        self._made: Artist | None = None  # the legend of make_legend, if any
        #: Pixels of each legend by legend key (this frame's), pasted over the data.
        self._legend_cache: dict[Hashable, list[Any]] = {}

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

    def legend_key(self, snap: Snapshot) -> Hashable:
        """What :meth:`make_legend` shows for ``snap``: a new value makes a new legend."""
        return None

    def make_legend(self, ax: Axes, snap: Snapshot) -> Artist | None:
        """A legend that changes with the data (None: the frame's legends are all)."""
        return None

    def make_axes(self) -> Axes:
        """The chart's axes in :attr:`fig` (default: one); the one returned is ``ax``."""
        return self.fig.add_subplot()

    def keeps(self, frame: Hashable, snap: Snapshot) -> bool:
        """True if the drawn ``frame`` still shows ``snap`` well (default: it is the same).

        Charts whose ranges follow the data accept a frame that holds the data without
        much empty space, so that the frame is not redrawn every time a range moves a bit.
        """
        return frame == self.layout(snap)

    # -------------------------------------------------------------- machinery
    def _build(self, snap: Snapshot, frame: Hashable) -> None:
        self.fig.clear()
        self.fig.subplots_adjust(**{"left": 0.15, "right": 0.86, "bottom": 0.1, "top": 0.88,
                                    **self.margins})
        ax = self.ax = self.make_axes()
        left = self.fig.subplotpars.left
        self.heading = self.fig.text(left, 0.985, "", fontsize=TITLE_FONT, ha="left",
                                     va="top")
        self._data, self._made, self._legend_cache = [], None, {}
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
        """This month's data artists (the old ones removed); the title text set."""
        for artist in self._data:
            artist.remove()
        self._data = []
        if self._frame == _EMPTY:
            text = self.title
        else:
            self._data, text = self.update(self.ax, snap)
            if self.over_time:
                self._data += regime_band(self.ax, snap.years, snap.regimes)
        self.heading.set_text(text)
        return self._data

    def _renew_legend(self, snap: Snapshot) -> None:
        """Replace :meth:`make_legend`'s legend with one for ``snap``."""
        if self._made is not None:
            self._made.remove()
            self._legends.remove(self._made)
        self._made = self.make_legend(self.ax, snap) if self._frame != _EMPTY else None
        if self._made is not None:
            self._legends.append(self._made)

    def _legend_layer(self, snap: Snapshot) -> list[Any]:
        """Pixels of each legend for ``snap``: drawn on the bare frame once per legend key.

        The last few keys' pixels are kept, so contenders that trade places back and forth
        do not draw their legend again.
        """
        key = self.legend_key(snap) if self._frame != _EMPTY else None
        if key not in self._legend_cache:
            self._renew_legend(snap)
            self.canvas.restore_region(self._background)
            pixels = []
            for legend in self._legends:
                legend.set_animated(True)
                self.fig.draw_artist(legend)
                box = legend.get_window_extent().expanded(1.0, 1.0).padded(1.0)
                pixels.append(self.canvas.copy_from_bbox(
                    Bbox.intersection(box, self.fig.bbox) or self.fig.bbox))
            if len(self._legend_cache) >= LEGENDS_KEPT:
                self._legend_cache.pop(next(iter(self._legend_cache)))
            self._legend_cache[key] = pixels
        return self._legend_cache[key]

    def draw(self, snap: Snapshot) -> Figure:
        """Draw the whole chart for ``snap`` and return its Figure."""
        self._build(snap, self.layout(snap))
        self._draw_data(snap)
        self._renew_legend(snap)
        for artist in [*self._data, *self._legends, self.heading]:
            artist.set_animated(False)
        self._background = None  # the next live frame is rebuilt
        return self.fig

    def png(self, snap: Snapshot) -> bytes:
        """PNG of the chart for ``snap``, redrawing only the data while the frame holds."""
        if self._background is None or not self.keeps(self._frame, snap):
            self._build(snap, self.layout(snap))
            self.heading.set_animated(True)
            for legend in self._legends:
                legend.set_animated(True)
            self.canvas.draw()  # the frame only: animated artists are left out
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        legends = self._legend_layer(snap)
        self.canvas.restore_region(self._background)
        for artist in self._draw_data(snap):
            artist.set_animated(True)
            self.fig.draw_artist(artist)
        for pixels in legends:
            self.canvas.restore_region(pixels)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw",
                                 "RGBA", 0, 1).convert("RGB")
        x, y = self.heading.get_position()
        draw_heading(image, (x * width, (1 - y) * height), self.heading.get_text())
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def save(self, snap: Snapshot, fmt: str) -> bytes:
        """The whole chart for ``snap`` as a ``"png"`` or ``"svg"`` file, drawn afresh."""
        self.draw(snap)
        buf = io.BytesIO()
        self.fig.savefig(buf, format=fmt, dpi=2 * DPI if fmt == "png" else DPI)
        return buf.getvalue()
