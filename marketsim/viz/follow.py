"""Follow one agent: a lab's history as a chart; the VCs and hyperscalers as small tables.

The lab's chart reads the lab reporters (:func:`marketsim.reporters.lab_table`); the VC and
hyperscaler tables read what :class:`marketsim.viz.vizmodel.AgentHistory` records each month.
"""

from __future__ import annotations

import io
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from marketsim.reporters import lab_table
from marketsim.viz.chartbase import (
    DPI,
    FIGSIZE,
    LEGEND_FONT,
    OWNED_COLOR,
    RENTED_COLOR,
    _time_axis,
    stacked_areas,
)
from marketsim.viz.data import _years, exit_text, reading

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel


def lab_by_id(model: AIMarketModel, lab_id: Any) -> Any:
    """The lab with AgentID ``lab_id`` (None if there is none)."""
    return next((lab for lab in model.labs if lab.unique_id == lab_id), None)


def lab_history(model: AIMarketModel, lab_id: Any) -> pd.DataFrame:
    """One row per month of lab ``lab_id``'s reporters (cash, revenue, valuation, price, GPUs)."""
    labs = lab_table(model)
    return labs[labs["AgentID"] == lab_id].reset_index(drop=True)


def lab_title(model: AIMarketModel, lab_id: Any) -> str:
    """``"Lab 3 (AILab), active"``, or with how and when it left and who bought it."""
    lab = lab_by_id(model, lab_id)
    if lab is None:
        return "no such lab"
    acquirer = getattr(getattr(model, "history", None), "acquirer", {})
    how = exit_text(lab, model.scenario_config.start, acquirer) or lab.status
    return f"Lab {lab.index + 1} ({type(lab).__name__}), {how}"


def lab_figure(model: AIMarketModel, lab_id: Any) -> Figure:
    """Lab ``lab_id`` over time: $bn (cash, valuation, revenue run-rate), GPUs, price.

    Untitled: the page names the lab above it (:func:`lab_title`).
    """
    fig = Figure(figsize=(FIGSIZE[0], FIGSIZE[1] * 1.25), dpi=DPI)
    FigureCanvasAgg(fig)
    with reading(model):
        hist = lab_history(model, lab_id)
        cfg = model.scenario_config
        x_range = (float(_years(model, 1)), float(_years(model, max(cfg.horizon, 2))))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [1.4, 1, 0.8]})
    fig.subplots_adjust(left=0.15, right=0.97, top=0.97, bottom=0.08, hspace=0.15)
    for ax in axes:
        _time_axis(ax, x_range)
    if hist.empty:
        return fig
    x = _years(model, hist["Step"].to_numpy())
    money, gpus, price = axes
    for col, label, color, scale in (("cash", "cash", "#2e7d32", 1.0),
                                     ("valuation", "valuation", "#6a1b9a", 1.0),
                                     ("revenue", "revenue $bn/yr", "#ef6c00", 12.0)):
        money.plot(x, hist[col].to_numpy(dtype=float) * scale, color=color, label=label)
    money.set_ylabel("$bn", fontsize=LEGEND_FONT)
    money.legend(fontsize=LEGEND_FONT, loc="upper left", ncol=3, frameon=False)
    owned = hist["owned_gpus"].to_numpy(dtype=float) / 1e3
    rented = hist["rented_gpus"].to_numpy(dtype=float) / 1e3
    stacked_areas(gpus, x, [owned, rented], [OWNED_COLOR, RENTED_COLOR])
    gpus.set_ylim(0, max(float(np.max(owned + rented)) * 1.15, 1.0))
    gpus.set_ylabel("k GPUs", fontsize=LEGEND_FONT)
    gpus.text(0.01, 0.95, "owned (dark) / rented (light)", transform=gpus.transAxes,
              fontsize=LEGEND_FONT, va="top")
    price.plot(x, hist["price"].to_numpy(dtype=float), color="#d62728")
    price.set_ylabel("$/M tok", fontsize=LEGEND_FONT)
    return fig


def lab_png(model: AIMarketModel, lab_id: Any) -> bytes:
    """PNG of :func:`lab_figure`."""
    buf = io.BytesIO()
    lab_figure(model, lab_id).savefig(buf, format="png")
    return buf.getvalue()


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
