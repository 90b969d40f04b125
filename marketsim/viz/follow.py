"""Follow one agent: a lab's history as a chart; the VCs and hyperscalers as small tables.

The lab's chart reads the lab reporters (:func:`marketsim.reporters.lab_table`, as the
page's :class:`~marketsim.viz.data.Snapshot` holds them); the VC and hyperscaler tables read
what :class:`marketsim.viz.vizmodel.AgentHistory` records each month.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any, ClassVar, override

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from marketsim.viz.chartbase import (
    _EMPTY,
    AXIS_TOPS,
    FIGSIZE,
    LEGEND_FONT,
    OWNED_COLOR,
    RENTED_COLOR,
    Chart,
    _log_ticks,
    _time_axis,
    _widen,
    nice_ceil,
    nice_floor,
    stacked_areas,
)
from marketsim.viz.data import _years, exit_text, reading, snapshot

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from marketsim.model import AIMarketModel


def lab_by_id(model: AIMarketModel, lab_id: Any) -> Any:
    """The lab with AgentID ``lab_id`` (None if there is none)."""
    return next((lab for lab in model.labs if lab.unique_id == lab_id), None)


def lab_history(model: AIMarketModel, lab_id: Any) -> pd.DataFrame:
    """One row per month of lab ``lab_id``'s reporters (cash, revenue, valuation, price, GPUs)."""
    labs = snapshot(model).labs  # the month's lab table, read once for the page
    return labs[labs["AgentID"] == lab_id].reset_index(drop=True)


def lab_title(model: AIMarketModel, lab_id: Any) -> str:
    """``"Lab 3 (AILab), active"``, or with how and when it left and who bought it."""
    lab = lab_by_id(model, lab_id)
    if lab is None:
        return "no such lab"
    acquirer = getattr(getattr(model, "history", None), "acquirer", {})
    how = exit_text(lab, model.scenario_config.start, acquirer) or lab.status
    return f"Lab {lab.index + 1} ({type(lab).__name__}), {how}"


@dataclass(frozen=True)
class LabSeries:
    """What the followed lab's chart reads: one value per month the lab was recorded.

    Attributes:
        years: calendar year of each month.
        x_range: (first, last) calendar year of the whole horizon.
        money: $bn: cash, valuation and revenue run-rate ($bn/yr), one row each.
        owned, rented: thousands of GPUs.
        price: $ per million tokens.
    """

    years: np.ndarray
    x_range: tuple[float, float]
    money: np.ndarray
    owned: np.ndarray
    rented: np.ndarray
    price: np.ndarray


#: The money lines: (label, colour), in the rows of :attr:`LabSeries.money`.
MONEY_LINES = (("cash", "#2e7d32"), ("valuation", "#6a1b9a"), ("revenue $bn/yr", "#ef6c00"))


def lab_series(model: AIMarketModel, lab_id: Any) -> LabSeries:
    """Lab ``lab_id``'s history as :class:`LabSeries`."""
    with reading(model):
        hist = lab_history(model, lab_id)
        cfg = model.scenario_config
        x_range = (float(_years(model, 1)), float(_years(model, max(cfg.horizon, 2))))
        years = _years(model, hist["Step"].to_numpy())
    money = np.vstack([hist["cash"].to_numpy(dtype=float),
                       hist["valuation"].to_numpy(dtype=float),
                       hist["revenue"].to_numpy(dtype=float) * 12.0])
    return LabSeries(years, x_range, money, hist["owned_gpus"].to_numpy(dtype=float) / 1e3,
                     hist["rented_gpus"].to_numpy(dtype=float) / 1e3,
                     hist["price"].to_numpy(dtype=float))


def _extents(h: LabSeries) -> tuple[float, float, float, float, float]:
    """Data extents: lowest and highest $bn, most k GPUs, lowest and highest price."""
    ok = h.price[np.isfinite(h.price) & (h.price > 0)]
    lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (1.0, 1.0)
    return (min(float(np.nanmin(h.money)), 0.0), float(np.nanmax(h.money)),
            float(np.nanmax(h.owned + h.rented)), lo, hi)


class FollowChart(Chart):
    """One lab over time: $bn (cash, valuation, revenue run-rate), GPUs, price.

    Redrawn on a kept frame like the page's charts; untitled (the page names the lab).
    """

    key, title = "follow", ""
    margins: ClassVar[dict[str, float]] = {"left": 0.15, "right": 0.97, "top": 0.97,
                                           "bottom": 0.08, "hspace": 0.15}
    over_time: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.fig.set_size_inches(FIGSIZE[0], FIGSIZE[1] * 1.25)

    @override
    def make_axes(self) -> Axes:
        self.axes = self.fig.subplots(3, 1, sharex=True,
                                      gridspec_kw={"height_ratios": [1.4, 1, 0.8]})
        return self.axes[0]

    @staticmethod
    def _ranges(snap: LabSeries, headroom: float) -> tuple:
        """Axis ranges with ``headroom`` × the data's highest $bn and GPUs above it."""
        low, high, gpus, p_lo, p_hi = _extents(snap)
        money_lo = -nice_ceil(-low * headroom, AXIS_TOPS) if low < 0 else 0.0
        return (snap.x_range, money_lo, nice_ceil(max(high, 1e-3) * headroom, AXIS_TOPS),
                nice_ceil(max(gpus * headroom, 1.0), AXIS_TOPS), nice_floor(p_lo / 1.2),
                nice_ceil(p_hi * 1.2))

    @override
    def layout(self, snap: Any) -> Hashable:
        # Room for the money and GPUs to double: a growing lab redraws the frame seldom.
        return _EMPTY if len(snap.years) == 0 else self._ranges(snap, 2.0)

    @override
    def keeps(self, frame: Hashable, snap: Any) -> bool:
        if frame == _EMPTY or len(snap.years) == 0:
            return frame == self.layout(snap)
        low, high, gpus, p_lo, p_hi = _extents(snap)
        x, m_lo, m_top, g_top, f_lo, f_hi = frame
        snug = self._ranges(snap, 1.3)
        return (x == snug[0] and m_lo <= low and high <= m_top <= 3 * snug[2]
                and gpus <= g_top <= 3 * snug[3]
                and f_lo <= p_lo and p_hi <= f_hi and f_hi / f_lo <= 4 * snug[5] / snug[4])

    @override
    def setup(self, ax: Axes, snap: Any, frame: Any) -> None:
        x_range, m_lo, m_top, g_top, p_lo, p_hi = frame
        money, gpus, price = self.axes
        for a in self.axes:
            _time_axis(a, x_range)
        money.set_ylim(m_lo, m_top)
        money.set_ylabel("$bn", fontsize=LEGEND_FONT)
        money.legend(handles=[Line2D([], [], color=c, label=n) for n, c in MONEY_LINES],
                     fontsize=LEGEND_FONT, loc="upper left", ncol=3, frameon=False)
        gpus.set_ylim(0, g_top)
        gpus.set_ylabel("k GPUs", fontsize=LEGEND_FONT)
        gpus.text(0.01, 0.95, "owned (dark) / rented (light)", transform=gpus.transAxes,
                  fontsize=LEGEND_FONT, va="top")
        price.set_yscale("log")
        price.set_ylim(p_lo, p_hi)
        price.yaxis.set_major_locator(FixedLocator(_log_ticks(p_lo, p_hi)))
        price.yaxis.set_minor_locator(NullLocator())
        price.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        price.set_ylabel("$/M tok", fontsize=LEGEND_FONT)

    @override
    def update(self, ax: Axes, snap: Any) -> tuple[list[Artist], str]:
        money, gpus, price = self.axes
        x, owned, rented, *lines = _widen(snap.years, snap.owned, snap.rented, *snap.money)
        artists: list[Artist] = []
        for y, (_, color) in zip(lines, MONEY_LINES, strict=True):
            artists += money.plot(x, y, color=color)
        artists.append(stacked_areas(gpus, x, [owned, rented], [OWNED_COLOR, RENTED_COLOR]))
        artists += price.plot(snap.years, snap.price, color="#d62728",
                              marker="o" if len(snap.years) < 3 else None, ms=3)
        return artists, ""


def lab_figure(model: AIMarketModel, lab_id: Any) -> Figure:
    """Lab ``lab_id`` over time (:class:`FollowChart`), drawn whole."""
    return FollowChart().draw(lab_series(model, lab_id))


_LIVE: weakref.WeakKeyDictionary[Any, dict[Any, FollowChart]] = weakref.WeakKeyDictionary()


def lab_png(model: AIMarketModel, lab_id: Any) -> bytes:
    """PNG of lab ``lab_id``'s chart now, kept between calls so a step redraws only data."""
    charts = _LIVE.setdefault(model, {})
    if lab_id not in charts:
        charts.clear()  # one followed lab at a time
        charts[lab_id] = FollowChart()
    return charts[lab_id].png(lab_series(model, lab_id))


def _table(rows: list[dict[str, str]], css: str) -> str:
    if not rows:
        return '<div style="color:#777">no data yet: press Step</div>'
    head = "".join(f"<th>{escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r.values()) + "</tr>"
                   for r in rows)
    return f'<table class="marketsim-labs {css}"><thead><tr>{head}</tr></thead>' \
           f"<tbody>{body}</tbody></table>"


def _latest(rows: list[dict[str, float]]) -> list[dict[str, float]]:
    if not rows:
        return []
    last = rows[-1]["month"]
    return [r for r in rows if r["month"] == last]


def _start(rows: list[dict[str, float]], agent: int, key: str) -> float:
    return next((r[key] for r in rows if r["agent"] == agent), np.nan)


def agents_html(model: AIMarketModel) -> tuple[str, str]:
    """HTML tables of the VCs and hyperscalers this month, with the first month's beside.

    VCs: dry powder and deployed ($bn); hyperscalers: capacity (GPUs), utilisation, rent.
    """
    hist = getattr(model, "history", None)
    vcs = hist.vcs if hist else []
    hss = hist.hyperscalers if hist else []
    vc_rows = [{"VC": str(int(r["agent"])), "dry powder $bn": f"{r['dry_powder']:,.1f}",
                "at start": f"{_start(vcs, r['agent'], 'dry_powder'):,.1f}",
                "deployed $bn": f"{r['deployed']:,.1f}"} for r in _latest(vcs)]
    hs_rows = [{"hyperscaler": str(int(r["agent"])),
                "capacity GPUs": f"{r['capacity'] / 1e6:,.2f}M",
                "at start": f"{_start(hss, r['agent'], 'capacity') / 1e6:,.2f}M",
                "utilisation": f"{r['utilisation']:.0%}",
                "rent $/GPU-h": f"{r['rent']:.2f}"} for r in _latest(hss)]
    return _table(vc_rows, "marketsim-vcs"), _table(hs_rows, "marketsim-hyperscalers")
