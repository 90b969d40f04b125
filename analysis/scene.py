"""The findings page's 2026 scene, lab by lab: direct runs of the default scenario.

A sweep keeps the model reporters only; :mod:`analysis.story` runs the default scenario
directly, keeping each run's labs table, and measures the seed story per seed. Here those
rows become the page's placeholders: a table of each figure's mean with its 95 % interval
and n, and the counts the sentences of ``analysis/template.md`` quote.

The runs are made again each time the page is generated (16 seeds of 48 months take seconds
to tens of seconds), not cached: they always match the code that writes the page.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis import story
from analysis.text import num, pct

#: Base seed of the direct runs, distinct from the sweeps' (2024 and 2025).
BASE_SEED = 2026
#: Months of each direct run: 2025 to 2028, so the figures from 2027 have two years.
MONTHS = 48


def _count(x: float) -> str:
    return f"{x:,.1f}"


def _gpus(x: float) -> str:
    return f"{x:,.0f}"


def _rent(x: float) -> str:
    return f"{round(x, 2) + 0.0:+.2f}"  # round, then + 0.0: no "-0.00" for a float's noise


def _price(x: float) -> str:
    return f"{x:.2f}"


#: Table rows: figure of :func:`analysis.story.summarise`, what it is, unit, formatter.
ROWS: tuple[tuple[str, str, str, Callable[[float], str]], ...] = (
    ("refused_2026", "highest valuation the leader refused in 2026 (0 if none)", "$ bn", num),
    ("refused_hundreds_2026", "the leader refused an offer valuing it at "
     f"${story.HUNDREDS_BN:,.0f} bn or more in a 2026 month while owning and building data "
     "centres", "share of seeds", pct),
    ("leader_refusals_2026", "months of 2026 in which the leader refused an offer", "months",
     _count),
    ("first_refusal_tick", "the leader's first refusal (seeds with one)",
     "months after January 2025", _count),
    ("refusal_amount", "the round it refused in the month of its highest 2026 refusal "
     "(seeds with one)", "$ bn", num),
    ("refusal_run_rate", "the leader's run rate in the month of its highest 2026 refusal "
     "(seeds with one)", "$ bn a year", num),
    ("refusal_owned_gpus", "GPUs it owned that month", "GPUs", _gpus),
    ("refusal_building_gpus", "GPUs it had under construction that month", "GPUs", _gpus),
    ("leader_run_rate_jan_2026", "the leader's run rate, January 2026", "$ bn a year", num),
    ("leader_run_rate_jan_2027", "the leader's run rate, January 2027", "$ bn a year", num),
    ("leader_run_rate_jan_2028", "the leader's run rate, January 2028", "$ bn a year", num),
    ("rent_change_2026", "change in GPU rent over 2026 (December − January)", "$/GPU-hour",
     _rent),
    ("owners_below_share", "months from 2027 in which owners' price was below renters'",
     "share of months", pct),
    ("owners_price_gap", "price gap from 2027, (renters' − owners') ÷ renters'", "share",
     pct),
    ("owners_price_2027", "owners' price from 2027", "$/M tokens", _price),
    ("renters_price_2027", "renters' price from 2027", "$/M tokens", _price),
    ("owners_margin_2027", "owners' margin from 2027, price ÷ cost − 1", "share", pct),
    ("renters_margin_2027", "renters' margin from 2027, price ÷ cost − 1", "share", pct),
    ("exits_2027", "labs exiting from January 2027", "labs per run", _count),
    ("renter_exits_2027", "of which renters", "labs per run", _count),
    ("bankrupt_exits_2027", "of which bankrupt (the others acquired)", "labs per run", _count),
    ("renter_exit_share_pooled", "renters' share of all exits from 2027, pooled over seeds",
     "share of exits", pct),
)


def measure(seeds: int, buyers: int, workers: int | None) -> pd.DataFrame:
    """The direct runs' figures, one row per seed (``workers`` None: every core)."""
    return story.measure(seeds=seeds, buyers=buyers, horizon=MONTHS, base_seed=BASE_SEED,
                         workers=workers or os.cpu_count() or 1)


def cell(row: pd.Series, fmt: Callable[[float], str]) -> str:
    """``"412 [120, 704]"``; the mean alone without an interval, n/a without one."""
    m, lo, hi = (float(row[k]) for k in ("mean", "low", "high"))
    if not np.isfinite(m):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt(m)
    return f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]"


def table(summary: pd.DataFrame) -> str:
    """The sub-section's table: figure, unit, mean [95 % interval], n."""
    s = summary.set_index("figure")
    lines = ["| figure | unit | mean [95 % interval] | n |", "|---|---|---|---|"]
    lines += [f"| {what} | {unit} | {cell(s.loc[key], fmt)} | {int(s.loc[key, 'n'])} |"
              for key, what, unit, fmt in ROWS]
    return "\n".join(lines)


def values(runs: pd.DataFrame, *, buyers: int) -> dict[str, str]:
    """The ``scene_*`` placeholders from :func:`measure`'s rows."""
    summary = story.summarise(runs)
    s = summary.set_index("figure")
    hit = runs["refused_hundreds_2026"]
    pooled = s.loc["renter_exit_share_pooled"]
    exits = int(runs["exits_2027"].sum())
    v = {
        "scene_table": table(summary),
        "scene_n": str(len(runs)), "scene_base_seed": str(BASE_SEED),
        "scene_months": str(MONTHS), "scene_buyers": f"{buyers:,}",
        "scene_threshold": f"{story.HUNDREDS_BN:,.0f}",
        "scene_renter_share": pct(story.RENTER_SHARE),
        "scene_hundreds": str(int(hit.sum())),
        "scene_hundreds_share": cell(s.loc["refused_hundreds_2026"], pct),
        "scene_refused_seeds": str(int((runs["leader_refusals_2026"] > 0).sum())),
        "scene_refused_max": num(float(runs["refused_2026"].max())),
        "scene_refusal_n": str(int(s.loc["refusal_run_rate", "n"])),
        "scene_amount_n": str(int(s.loc["refusal_amount", "n"])),
        "scene_refusal_amount": cell(s.loc["refusal_amount"], num),
        "scene_below": cell(s.loc["owners_below_share"], pct),
        "scene_price_n": str(int(s.loc["owners_below_share", "n"])),
        "scene_below_seeds": str(int((runs["owners_below_share"] > 0.5).sum())),
        "scene_exits": str(exits),
        "scene_renter_exits": str(int(runs["renter_exits_2027"].sum())),
        "scene_bankrupt_exits": str(int(runs["bankrupt_exits_2027"].sum())),
        "scene_renter_exit_share": cell(pooled, pct) if exits else "n/a (no exits)",
    }
    return v | {"scene_short": short(v)}


def _round_refused(v: dict[str, Any]) -> str:
    """The round refused at the highest valuation, $bn, or that no seed refused in 2026."""
    if v["scene_amount_n"] == "0":
        return "no seed with a 2026 refusal"
    return (f"the round refused at the highest valuation: ${v['scene_refusal_amount']} bn, "
            f"mean over the {v['scene_amount_n']} seeds with a 2026 refusal")


def short(v: dict[str, Any]) -> str:
    """The "In short" bullet's sentence from :func:`values`."""
    return (f"In {v['scene_n']} direct runs the leader refused an offer valuing it at "
            f"${v['scene_threshold']} bn or more while owning and building data centres in "
            f"{v['scene_hundreds']} of {v['scene_n']} seeds ({_round_refused(v)}); from 2027 "
            f"owners' price was below "
            f"renters' in {v['scene_below']} of months (mean over seeds); "
            f"{v['scene_renter_exits']} of {v['scene_exits']} exits from 2027 were renters.")
