"""What the visualiser shows, gathered from the model: chart data, the lab table, the status.

Nothing here draws: :mod:`marketsim.viz.charts` turns a :class:`Snapshot` into figures and
:mod:`marketsim.viz.components` puts the table and status into the page.
"""

from __future__ import annotations

import calendar
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from marketsim.reporters import calendar_month, lab_table, regime_window

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

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
        sizes: GPUs of each active lab with at least one GPU now.
        owned: share of each active lab's GPUs it owns.
        bimodality: Sarle's coefficient of log lab size now (NaN before the first step).
        bimodality_limit: above it the size distribution counts as bimodal.
        middle_band: (low, high) log10 GPUs of the middle size band (10%–50% of the largest
            lab, as in ``metrics.middle_share``), or None.
        hhi_concentrated: HHI above which the market is highly concentrated.
        regimes: the regime label of each row of ``df`` ('' where there is none).
        named: the labs the share chart names (AgentIDs, in founding order): the largest by
            revenue share over the trailing window.
        colors: the fixed colour of each lab named so far in this run (AgentID → colour).
        names: display name of each lab (AgentID → ``"Lab 3"``).
        ghosts: earlier runs to draw faintly: (label, model reporters), oldest first.
        labs: the lab reporters, one row per lab and month
            (:func:`marketsim.reporters.lab_table`).
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
    regimes: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    named: tuple[Any, ...] = ()
    colors: dict[Any, str] = field(default_factory=dict)
    names: dict[Any, str] = field(default_factory=dict)
    ghosts: tuple[tuple[str, pd.DataFrame], ...] = ()
    labs: pd.DataFrame = field(default_factory=pd.DataFrame)


#: Labs the share chart names one by one; the rest are summed as "other labs".
TOP_LABS = 8
#: Months of the trailing window from which the named labs are chosen (as the regime's).
RECENT = 12
#: Colours of labs; a lab keeps the one it gets when first named for the whole run.
PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                            "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79")
OTHER_COLOR = "#d9d9d9"

_CACHE: weakref.WeakKeyDictionary[Any, Snapshot] = weakref.WeakKeyDictionary()
_COLORS: weakref.WeakKeyDictionary[Any, dict[Any, str]] = weakref.WeakKeyDictionary()


def contenders(shares: pd.DataFrame, n: int = TOP_LABS, recent: int = RECENT,
               before: tuple = ()) -> tuple:
    """The ``n`` labs with the largest mean revenue share over the last ``recent`` months.

    Labs with no revenue in that window (exited long ago) are never named. Labs named
    ``before`` stay while they rank among the top ``n + 2`` and the top ``n`` are all named,
    so that two labs swapping 8th and 9th place do not change the chart's legend every month.
    """
    if shares.empty:
        return ()
    mean = shares.tail(recent).mean()
    ranking = list(mean[mean > 0].sort_values(ascending=False, kind="stable").index)
    top, near = ranking[:n], set(ranking[:n + 2])
    kept = [lab for lab in before if lab in near]
    if set(top) <= set(kept):
        return tuple(sorted(kept))
    return tuple(sorted(top))  # in founding order: a new order is no new frame


def lab_colors(model: AIMarketModel, named: tuple) -> dict[Any, str]:
    """The colour of every lab named so far in ``model``'s run, giving new ones a free colour.

    A lab keeps its colour for the whole run; a newly named lab takes the first palette colour
    that no lab named now uses (unused colours first).
    """
    book = _COLORS.setdefault(model, {})
    for lab in named:
        if lab in book:
            continue
        taken = {book[x] for x in named if x in book}
        used = set(book.values())
        free = [c for c in PALETTE if c not in taken]
        book[lab] = next((c for c in free if c not in used), free[0] if free else PALETTE[0])
    return book


def lab_names(model: AIMarketModel) -> dict[Any, str]:
    """Display name of each lab by AgentID: ``"Lab 1"`` for the first lab created, and so on."""
    return {lab.unique_id: f"Lab {lab.index + 1}" for lab in model.labs}


def regime_labels(df: pd.DataFrame) -> np.ndarray:
    """The regime label of each month of the model reporters ('' where there is none)."""
    if "regime" not in df.columns:
        return np.full(len(df), "", dtype=object)
    return df["regime"].fillna("").astype(str).to_numpy(dtype=object)


def _years(model: AIMarketModel, steps: Any) -> np.ndarray:
    """Calendar year (decimal) of Mesa step ``s`` (1 = the first month, the start month)."""
    year, month = (int(x) for x in model.scenario_config.start.split("-"))
    return year + (month - 1 + np.asarray(steps, dtype=float) - 1.0) / 12.0


def reading(model: AIMarketModel) -> AbstractContextManager[Any]:
    """Hold the model still while it is read: its lock, if it has one (the visualiser's)."""
    return getattr(model, "lock", None) or nullcontext()


def snapshot(model: AIMarketModel) -> Snapshot:
    """The model's chart data now (cached per model until it steps again)."""
    with reading(model):
        return _snapshot(model)


def _snapshot(model: AIMarketModel) -> Snapshot:
    hit = _CACHE.get(model)
    if hit is not None and hit.steps == model.steps:
        return hit
    df = model.datacollector.get_model_vars_dataframe()
    if len(df):
        df = df.reset_index(drop=True)
        df.index = pd.RangeIndex(1, len(df) + 1, name="step")
    labs = lab_table(model)
    if len(labs) and model.steps > 0:
        rev = labs.pivot(index="Step", columns="AgentID", values="revenue").fillna(0.0)
        total = rev.sum(axis=1).replace(0.0, np.nan)
        shares = rev.div(total, axis=0).fillna(0.0)
        lab_class = labs.drop_duplicates("AgentID").set_index("AgentID")["lab_class"].to_dict()
    else:
        shares, lab_class = pd.DataFrame(), {}
    active = [lab for lab in model.active_labs() if lab.total_gpus >= 1.0]
    sizes = np.array([lab.total_gpus for lab in active], dtype=float)
    owned = np.array([lab.owned_gpus for lab in active], dtype=float) / np.maximum(sizes, 1e-12)
    band = None
    if sizes.size >= 3:  # the middle size band of metrics.middle_share: 10%-50% of the largest
        top = float(np.log10(sizes.max()))
        band = (top + np.log10(0.1), top + np.log10(0.5))
    cfg = model.scenario_config
    named = contenders(shares, before=hit.named if hit is not None else ())
    snap = Snapshot(
        steps=model.steps, df=df, years=_years(model, df.index),
        x_range=(float(_years(model, 1)), float(_years(model, max(cfg.horizon, 2)))),
        shares=shares, lab_class=lab_class, sizes=sizes, owned=owned,
        bimodality=float((model.stats or {}).get("bimodality", np.nan)),
        bimodality_limit=float(cfg.regime.bimodality), middle_band=band,
        hhi_concentrated=float(cfg.regime.hhi_concentrated),
        regimes=regime_labels(df), named=named, colors=dict(lab_colors(model, named)),
        names=lab_names(model), ghosts=tuple(getattr(model, "ghosts", ())), labs=labs,
    )
    _CACHE[model] = snap
    return snap


#: Longest class name shown in a lab's name; longer ones are shortened with "…" (the share
#: chart's legend has room for about this many).
CLASS_NAME_CHARS = 12


def lab_name(name: str, lab_class: str) -> str:
    """Legend name of a lab: ``"Lab 3"``, or ``"Lab 3 (MyLab)"`` for a user's own class."""
    if lab_class == "AILab":
        return name
    if len(lab_class) > CLASS_NAME_CHARS:
        lab_class = lab_class[:CLASS_NAME_CHARS - 1] + "\u2026"
    return f"{name} ({lab_class})"


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
    ("cash", "cash $bn", lambda x: f"{round(x, 1) + 0.0:,.1f}"),  # + 0.0: never "-0.0"
    ("run_rate", "revenue $bn/yr", "{:,.2f}".format),
    ("valuation", "value $bn", lambda x: f"{x:,.0f}" if x > 0 else "\u2013"),  # never raised
    ("owned_gpus", "owned GPUs", gpus_text),
    ("rented_gpus", "rented GPUs", gpus_text),
    ("price", "$/M tok", "{:.2f}".format),
)


def exit_text(lab: Any, start: str, acquirer: dict[int, str]) -> str:
    """How and when a lab left: ``"bankrupt 2031-04"``, ``"acquired 2030-01 by Lab 2"``."""
    if lab.active or lab.exit_tick is None:
        return ""
    by = acquirer.get(lab.account)
    return f"{lab.status} {calendar_month(start, lab.exit_tick)}" + (f" by {by}" if by else "")


def _lab_records(model: AIMarketModel) -> list[dict[str, Any]]:
    """:func:`lab_rows` as a list of dicts, in its order (plain Python: a few dozen labs)."""
    colors = _COLORS.get(model, {})
    acquirer = getattr(getattr(model, "history", None), "acquirer", {})
    start = model.scenario_config.start
    rows = [{
        "lab": f"Lab {lab.index + 1}",
        "class": type(lab).__name__,
        "status": exit_text(lab, start, acquirer) or lab.status,
        "cash": lab.cash,
        "run_rate": lab.run_rate if lab.active else 0.0,
        "valuation": lab.valuation if lab.active else 0.0,
        "owned_gpus": lab.owned_gpus,
        "rented_gpus": float(np.sum(lab.rented_gpus)),
        "price": lab.price,
        "id": lab.unique_id,
        "color": colors.get(lab.unique_id, ""),
        "_order": (not lab.active, -(lab.run_rate if lab.active else 0.0),
                   -(-1 if lab.exit_tick is None else lab.exit_tick)),
    } for lab in model.labs]
    rows.sort(key=lambda r: r.pop("_order"))  # stable, as pandas' sort was
    return rows


def lab_rows(model: AIMarketModel) -> pd.DataFrame:
    """One row per lab now: active labs by revenue, then exited labs, latest exit first.

    Columns: lab (``"Lab 3"``, numbered in order of founding), class, status (with the exit
    month and the acquirer of a lab that left), cash ($bn), run_rate ($bn/yr: last month's
    revenue × 12), valuation ($bn, last post-money; 0 once exited), owned_gpus, rented_gpus
    (GPUs), price ($/M tokens), then ``id`` (AgentID) and ``color`` (its chart colour, ''
    for a lab never named in the share chart).
    """
    return pd.DataFrame(_lab_records(model),
                        columns=[c for c, _, _ in TABLE_COLUMNS] + ["id", "color"])


def lab_table_html(model: AIMarketModel, max_rows: int = 40, followed: Any = None) -> str:
    """The lab table as an HTML ``<table>`` (exited labs greyed), at most ``max_rows`` rows.

    Each row starts with the lab's colour in the charts (a swatch) and carries its AgentID in
    ``data-lab``, so a click can follow it; the row of lab ``followed`` (an AgentID) has the
    class ``followed``.
    """
    with reading(model):
        records = _lab_records(model)
    head = "<th></th>" + "".join(f"<th>{escape(h)}</th>" for _, h, _ in TABLE_COLUMNS)
    body = []
    for rec in records[:max_rows]:
        classes = " ".join(c for c, on in (("exited", rec["status"] != "active"),
                                            ("followed", rec["id"] == followed)) if on)
        cls = f' class="{classes}"' if classes else ""
        swatch = (f'<span class="swatch" style="background:{rec["color"]}"></span>'
                  if rec["color"] else "")
        cells = "".join(
            f"<td{' class=num' if i > 2 else ''}>{escape(fmt(rec[c]))}</td>"
            for i, (c, _, fmt) in enumerate(TABLE_COLUMNS))
        body.append(f'<tr{cls} data-lab="{rec["id"]}" title="click to follow '
                    f'{escape(rec["lab"])}"><td>{swatch}</td>{cells}</tr>')
    if len(records) > max_rows:
        body.append(f'<tr><td colspan="{len(TABLE_COLUMNS) + 1}">and {len(records) - max_rows} '
                    "more labs</td></tr>")
    return (f'<table class="marketsim-labs"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


TABLE_CSS = """
.marketsim-labs { border-collapse: collapse; font-size: 12px; width: 100%; }
.marketsim-labs th { text-align: right; border-bottom: 1px solid #999; padding: 2px 4px;
                     white-space: normal; vertical-align: bottom; }
.marketsim-labs td { padding: 1px 4px; border-bottom: 1px solid #eee; white-space: nowrap; }
.marketsim-labs td.num { text-align: right; font-variant-numeric: tabular-nums; }
.marketsim-labs tr.exited td { color: #999; }
.marketsim-labs .swatch { display: inline-block; width: 10px; height: 10px; }
.marketsim-labs th:first-child, .marketsim-labs td:first-child { padding: 0 2px; }
.marketsim-labs th:nth-child(-n+4) { text-align: left; }
.marketsim-labs tr[data-lab] { cursor: pointer; }
.marketsim-labs tr[data-lab]:hover td { background: #f1f5fb; }
.marketsim-labs tr.followed td { background: #dbe8f7; font-weight: 600; }
"""


# ---------------------------------------------------------------------------- status line
def month_name(date: str) -> str:
    """``"2027-12"`` → ``"December 2027"``."""
    year, month = (int(x) for x in date.split("-"))
    return f"{calendar.month_name[month]} {year}"


def status(model: AIMarketModel, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Headline facts now: scenario, date, month, tick, horizon, regime, labs, HHI, leader.

    ``regime`` is None before the first month (the label needs data); ``error`` says why a
    visualiser run stopped, ``slider_error`` why the sliders' values could not be applied
    (None if not).

    Args:
        model: the model shown.
        keys: dotted scenario keys whose values in force go into ``"params"`` (with the
            seed under ``"rng"``): the run's settings, which the sliders change only on Reset.
    """
    with reading(model):
        stats = model.stats or {}
        params: dict[str, Any] = {"rng": getattr(model, "seed", None)}
        params.update({k: model.scenario_config.get(k) for k in keys})
        error = getattr(model, "error", None)
        done = max(model.steps - 1, 0) if error else model.steps  # Mesa counted the failure
        date = calendar_month(model.scenario_config.start, max(done - 1, 0))
        window = regime_window(model)  # the figures the label read
        return {
            "params": params,
            # the file shown (its name survives the slider overrides of each Reset)
            "scenario": (getattr(model, "base_scenario", None) or model.scenario_config).label,
            "date": date,
            # the month last run; before the first, the month the run starts with
            "month": month_name(date) if done else f"Before {month_name(date)}",
            "tick": done,
            "horizon": model.horizon,
            "regime": model.regime if done else None,  # no label before a month
            "active_labs": len(model.active_labs()),
            "hhi": stats.get("hhi_revenue"),
            "hhi_window": window.get("hhi_revenue"),
            "window": int(window.get("months", 0)),
            "origin": getattr(model, "origin", None),
            "finished": bool(done >= model.horizon and not error),
            "leader_run_rate": stats.get("leader_run_rate"),
            "error": error,
            "slider_error": getattr(model, "slider_error", None),
        }
