"""The findings page's knock-out, scenario-discovery and robustness placeholders.

Each value is a number or a Markdown table measured from the sweeps (see
:mod:`analysis.knockout_table` and :mod:`analysis.prim`); the sentences around them live in
``analysis/template.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.knockout_table import KO_MEASURES, SETTLED
from analysis.prim import MIN_COVERAGE, MIN_RUNS, limits_text
from analysis.regimes import LAST_MONTHS, MOVE, WINDOW_KEYS
from analysis.tables import interval_text
from analysis.text import pct, shares_text
from marketsim import metrics


def share_cell(row: Mapping[str, Any], reg: str) -> str:
    """``"50% [15%, 85%]"``: a regime's share with its Wilson interval."""
    return f"{pct(row[reg])} [{pct(row[f'{reg}_lo'])}, {pct(row[f'{reg}_hi'])}]"


def shares_line(row: Mapping[str, Any]) -> str:
    """The regimes a row's runs end in, with their shares and intervals."""
    return shares_text(row, list(metrics.REGIMES))


def _measure_cell(row: Mapping[str, Any], col: str) -> str:
    fmt = "{:,.0f}" if col == "hhi_revenue" else (
        "{:.2f}" if col == "owned_compute_share" else "{:.1f}")
    return interval_text(row[col], row[f"{col}_lo"], row[f"{col}_hi"], fmt)


def knockout_markdown(table: pd.DataFrame) -> str:
    """The knock-out table: one row per scenario, the first (the default) on top."""
    head = ["scenario", "runs", *metrics.REGIMES, *(v[0] for v in KO_MEASURES.values()),
            "active labs halved from peak", f"persistence (last {LAST_MONTHS} months)",
            "flips / moves"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in table.iterrows():
        cells = [f"`{name}`", str(int(r["runs"])), *(share_cell(r, g) for g in metrics.REGIMES)]
        cells += [_measure_cell(r, c) for c in KO_MEASURES]
        cells.append(share_cell(r, "halved"))
        cells.append(interval_text(r["persistence"], r["persistence_lo"], r["persistence_hi"],
                                   "{:.0%}"))
        cells.append(f"{int(r['flips'])} / {int(r['moves'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def robustness_line(s: Mapping[str, Any]) -> str:
    """``"window 1 of 64, hhi_concentrated 9 of 64, ...; 10 of 384 in all; persistence ..."``."""
    keys = ", ".join(f"`{k}` {n} of {m}" for k, (n, m) in s["per_key"].items())
    m, lo, hi = s["persistence"]
    return (f"end labels flipped — {keys}; {s['flips']} of {s['moves']} in all, over "
            f"{s['runs']} runs. Share of the last {LAST_MONTHS} months carrying the end label: "
            f"mean {interval_text(m, lo, hi, '{:.0%}')}; the end label holds over at least "
            f"{SETTLED:.0%} of them in {s['settled']} of {s['runs']} runs")


def clear_moves(row: Mapping[str, Any], base: Mapping[str, Any]) -> str:
    """The regimes whose share in ``row`` is clear of ``base``'s: Wilson intervals apart.

    ``"consolidated 81% vs 19%, concentrated 6% vs 50%"``; empty when every interval overlaps.
    """
    moved = [f"{g} {pct(row[g])} vs {pct(base[g])}" for g in metrics.REGIMES
             if row[f"{g}_lo"] > base[f"{g}_hi"] or row[f"{g}_hi"] < base[f"{g}_lo"]]
    return ", ".join(moved)


def knockout_values(ko: Mapping[str, Any] | None) -> dict[str, str]:
    """The knock-out placeholders (``n/a`` without the knock-out sweep)."""
    keys = ("knockout_table", "ko_seeds", "ko_scenarios", "ko_base", "ko_base_shares",
            "top_knockout", "top_knockout_ties", "top_knockout_shift", "top_knockout_shares",
            "ko_modal_changed",
            "ko_lowest_hhi", "ko_robustness", "ko_agree")
    if ko is None:
        return dict.fromkeys(keys, "n/a (no knock-out sweep)") | {"top_knockout_ties": ""}
    table, base = ko["table"], ko["base"]
    b = table.loc[base]
    shift = ko["shift"]
    top = str(shift.index[0]) if len(shift) else base
    ties = [f"`{n}`" for n, v in shift.items()
            if n != top and math.isclose(float(v), float(shift.iloc[0]), abs_tol=1e-9)]
    changed = [f"`{n}` ({moves})" for n, r in table.iterrows()
               if n != base and (moves := clear_moves(r, b))]
    low = table["hhi_revenue"].astype(float).idxmin()
    rob = ko["robustness"]
    return {
        "knockout_table": knockout_markdown(table), "ko_seeds": str(ko["seeds"]),
        "ko_scenarios": str(len(table)), "ko_base": f"`{base}`",
        "ko_base_shares": shares_line(b), "top_knockout": f"`{top}`",
        "top_knockout_ties": f" (tied with {', '.join(ties)})" if ties else "",
        "top_knockout_shift": pct(float(shift.iloc[0])) if len(shift) else "n/a",
        "top_knockout_shares": shares_line(table.loc[top]),
        "ko_modal_changed": ", ".join(changed) or "none",
        "ko_lowest_hhi": (f"`{low}` ({_measure_cell(table.loc[low], 'hhi_revenue')}; "
                          f"`{base}`: {_measure_cell(b, 'hhi_revenue')})"),
        "ko_robustness": robustness_line(rob),
        "ko_agree": f"{rob['agree']} of {rob['runs']}",
    }


def prim_markdown(boxes: pd.DataFrame) -> str:
    """The scenario-discovery table: per regime, its box's limits, coverage and density."""
    lines = ["| regime | runs in it | share of all runs | box (restricted parameters) | "
             "coverage | density | share of runs in box |", "|---|---|---|---|---|---|---|"]
    for r in boxes.itertuples(index=False):
        lines.append(f"| {r.regime} | {r.runs} | {pct(r.base_density)} | "
                     f"{limits_text(r.limits)} | {pct(r.coverage)} | {pct(r.density)} | "
                     f"{pct(r.mass)} |")
    return "\n".join(lines)


def prim_values(boxes: pd.DataFrame | None, atlas_regimes: list[str]) -> dict[str, str]:
    """The scenario-discovery placeholders (``n/a`` without an atlas)."""
    common = {"prim_min_coverage": pct(MIN_COVERAGE), "prim_min_runs": str(MIN_RUNS)}
    if boxes is None:
        return common | {"prim_table": "n/a (no atlas sweep: `--no-atlas`)",
                         "prim_missing": "n/a"}
    missing = [r for r in metrics.REGIMES if r not in set(boxes["regime"])]
    absent = [r for r in missing if r not in atlas_regimes]
    few = [r for r in missing if r in atlas_regimes]
    note = "; ".join(x for x in (
        f"absent from the atlas: {', '.join(absent)}" if absent else "",
        f"too few runs (or every run) for a box: {', '.join(few)}" if few else "") if x)
    table = prim_markdown(boxes) if len(boxes) else "*No regime has enough runs for a box.*"
    return common | {"prim_table": table, "prim_missing": note or "none"}


def robustness_values(default: Mapping[str, Any], atlas: Mapping[str, Any] | None
                      ) -> dict[str, str]:
    """The robustness lines for the default variant and the atlas."""
    return {"robust_keys": ", ".join(f"`{k}`" for k in WINDOW_KEYS),
            "robust_move": f"{MOVE:.0%}",
            "robust_persistence_months": str(LAST_MONTHS),
            "robust_default": robustness_line(default),
            "robust_atlas": robustness_line(atlas) if atlas is not None else
            "n/a (no atlas sweep)"}


def tiers_line(runs: pd.DataFrame, thresholds: Any) -> str:
    """How many runs labelled bifurcated have the tiers in their last month as well.

    The label tests the medians of the monthly giant and renter counts over its window;
    ``runs`` holds each run's last month (its ``giant_labs`` and ``renter_labs``), so this
    says how often the last month alone would pass the same two tests.
    """
    t = thresholds
    b = runs[runs["regime"].astype(str) == "bifurcated"]
    if b.empty:
        return "no run ends bifurcated"
    giants = int((b["giant_labs"] >= t.min_giants).sum())
    renters = int((b["renter_labs"] >= t.min_renters).sum())
    both = int(((b["giant_labs"] >= t.min_giants) & (b["renter_labs"] >= t.min_renters)).sum())
    return (f"{len(b)} of {len(runs)} runs end bifurcated: each has at least {t.min_giants} "
            f"owning giants and {t.min_renters} small renters as medians over its last "
            f"{t.window} months (the label's test); in the last month alone {both} of them "
            f"have both ({giants} at least {t.min_giants} giants, {renters} at least "
            f"{t.min_renters} renters)")


def every_threshold_line(s: Mapping[str, Any], base_seed: int) -> str:
    """The default's direct runs with every threshold moved: flips, runs, keys, persistence.

    ``s`` is :func:`analysis.regimes.summarise` over the runs, each relabelled under ±20 %
    moves of all eleven thresholds, the lab-level ones too (the runs keep their labs table).
    """
    keys = ", ".join(f"`{k}` {n}" for k, n in s["flipped_keys"].items()) or "none"
    persistence = interval_text(*s["persistence"], "{:.0%}")
    return (f"{s['runs']} direct runs of the default (seeds from base {base_seed}, each with "
            f"its labs table): {s['flips']} of {s['moves']} end labels flipped when one "
            f"threshold moves by ±{MOVE:.0%}; {s['runs_flipped']} of {s['runs']} runs flip "
            f"under at least one move (runs per key: {keys}); share of the last "
            f"{LAST_MONTHS} months carrying the end label: mean {persistence}")
