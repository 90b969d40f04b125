"""Fill ``analysis/template.md`` (a :class:`string.Template`) with the page's numbers.

Each value is formatted here; the prose lives in the template. Tables are Markdown built
from the analysis tables, with whatever regime labels the runs carry.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.tables import MEASURES, driver_extremes, interval_text

TEMPLATE = Path(__file__).with_name("template.md")


def pct(x: float) -> str:
    """``"81%"``; ``"n/a"`` for NaN."""
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.0%}"


def num(x: float, digits: int = 3) -> str:
    """A number to ``digits`` significant digits, thousands with separators."""
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}g}"


def shares_text(row: pd.Series, regimes: list[str]) -> str:
    """``"bifurcated 81% [57%, 93%], concentrated 19% [...]"`` (labels with any runs)."""
    parts = [f"{r} {pct(row[r])} [{pct(row[f'{r}_lo'])}, {pct(row[f'{r}_hi'])}]"
             for r in regimes if row[r] > 0]
    return ", ".join(parts) or "no runs"


def variant_table(summ: pd.DataFrame) -> str:
    """Section 1's table: regime shares, then each measure's mean [95 % interval]."""
    regimes = list(summ.attrs["regimes"])
    fmt = {"hhi_end": "{:,.0f}", "hhi_year": "{:,.0f}", "active_labs_end": "{:.1f}"}
    head = ["variant", "runs", *regimes, *MEASURES.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v, r in summ.iterrows():
        cells = [str(v), str(int(r["runs"])), *(pct(r[g]) for g in regimes)]
        cells += [interval_text(r[c], r[f"{c}_lo"], r[f"{c}_hi"], fmt.get(c, "{:.2f}"))
                  for c in MEASURES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def driver_table(ext: pd.DataFrame) -> str:
    """Section 4's table: shares of each regime in each driver's lowest and highest fifth."""
    regimes = list(ext.attrs["regimes"])
    what = " / ".join(regimes)
    lines = [f"| driver | lowest fifth: {what} | highest fifth: {what} |", "|---|---|---|"]
    for r in ext.itertuples(index=False):
        d = r._asdict()
        lo = " / ".join(pct(getattr(r, f"low_{g}")) for g in regimes)
        hi = " / ".join(pct(getattr(r, f"high_{g}")) for g in regimes)
        lines.append(f"| `{d['parameter']}` | {d['low_bin']}: {lo} | {d['high_bin']}: {hi} |")
    return "\n".join(lines)


def sobol_section(atlas: Mapping[str, Any], fig: str) -> str:
    """Section 4's Sobol' table and figure (or why there are none)."""
    sob = atlas["sobol"]
    if sob is None:
        return f"*No Sobol' indices: {atlas['sobol_note']}.*"
    lines = ["Sobol' indices of the final HHI of revenue and the final bimodality (each design "
             "point's mean over its seeds; 95% intervals):\n",
             "| output (final) | parameter | S1 (first order) | ST (total) |",
             "|---|---|---|---|"]
    lines += [f"| {r.output} | `{r.parameter}` | {r.S1:.2f} ± {r.S1_conf:.2f} | "
              f"{r.ST:.2f} ± {r.ST_conf:.2f} |" for r in sob.itertuples()]
    sums = sob.groupby("output", sort=False)["S1"].sum()
    lines.append("\nSum of first-order indices: " + "; ".join(
        f"{k} {v:.2f}" for k, v in sums.items()) + " (1 if each driver acted alone and the "
        "seed did not matter; the gap is interactions and seed noise).\n")
    lines.append(f"![sobol]({fig})\n")
    if atlas["sobol_note"]:
        lines.append(f"*Note: {atlas['sobol_note']}.*\n")
    lines.append(sobol_ranking(sob))
    return "\n".join(lines)


def sobol_ranking(sob: pd.DataFrame) -> str:
    """Per output: whether the top driver's total index is clear of the second's (95 %)."""
    parts = []
    for out, g in sob.groupby("output", sort=False):
        g = g.sort_values("ST", ascending=False)
        if len(g) < 2:
            continue
        a, b = g.iloc[0], g.iloc[1]
        clear = a["ST"] - a["ST_conf"] > b["ST"] + b["ST_conf"]
        parts.append(f"{out}: `{a['parameter']}` ranks first (ST {a['ST']:.2f} ± "
                     f"{a['ST_conf']:.2f}), {'clear of' if clear else 'not clear of'} "
                     f"`{b['parameter']}` ({b['ST']:.2f} ± {b['ST_conf']:.2f})")
    return ("Ranking by total index, 95 % intervals: " + "; ".join(parts) + "."
            if parts else "")


def _share_of(share: float, runs: int) -> str:
    """``"9% [5%, 15%]"``: a share of ``runs`` runs with its Wilson interval."""
    from marketsim.report_stats import share_interval

    lo, hi = share_interval(round(share * runs), runs)
    return f"{pct(share)} [{pct(lo)}, {pct(hi)}]"


def atlas_values(atlas: Mapping[str, Any] | None, figures: Mapping[str, str]) -> dict[str, str]:
    """The atlas placeholders (all ``n/a`` when no sweep was run)."""
    if atlas is None:
        keys = ("atlas_short", "atlas_samples", "atlas_points", "atlas_replications",
                "atlas_totals", "driver_table", "map_axes", "ranking_method", "sobol_section",
                "atlas_driver_sentence")
        return {k: "n/a (no atlas sweep: `--no-atlas`)" for k in keys} | {"atlas_runs": "0"}
    ext = driver_extremes(atlas["by_driver"])
    top = ext.iloc[0]
    reg = top["regime_moved"]
    low = _share_of(top[f"low_{reg}"], top["low_runs"])
    high = _share_of(top[f"high_{reg}"], top["high_runs"])
    moved = (f"`{top['parameter']}` moves the {reg} share most: {low} of runs in its lowest "
             f"fifth (around {top['low_bin']}), {high} in its highest (around "
             f"{top['high_bin']}; 95 % Wilson intervals)")
    tot = atlas["totals"]
    rank = atlas["ranking"]
    res = atlas["res"]
    from marketsim.report import map_axes

    axes = map_axes(res, rank)
    return {
        "atlas_short": f"Over {atlas['runs']} atlas runs (one seed a point), {moved}.",
        "atlas_runs": str(atlas["runs"]), "atlas_samples": str(atlas["samples"]),
        "atlas_points": str(atlas["points"]), "atlas_replications": str(atlas["replications"]),
        "atlas_totals": ", ".join(f"{r} {pct(row['share'])} [{pct(row['lo'])}, "
                                  f"{pct(row['hi'])}]" for r, row in tot.iterrows()),
        "driver_table": driver_table(ext),
        "map_axes": " and ".join(f"`{k}`" for k in axes) if axes else "n/a",
        "ranking_method": str(rank["method"].iloc[0]),
        "sobol_section": sobol_section(atlas, figures["sobol"]),
        "atlas_driver_sentence": f"Over the atlas's ranges (one seed a point), {moved}.",
    }


def _variant_values(summ: pd.DataFrame) -> dict[str, str]:
    regimes = list(summ.attrs["regimes"])
    out: dict[str, str] = {}
    for key, name in (("default", "default"), ("null", "null"),
                      ("equal", "default, equal start"), ("nu", "null, unequal start")):
        r = summ.loc[name]
        out[f"{key}_shares"] = shares_text(r, regimes)
        out[f"{key}_hhi_end"] = f"{r['hhi_end']:,.0f}"
        out[f"{key}_hhi_year"] = f"{r['hhi_year']:,.0f}"
        out[f"{key}_bimodality"] = f"{r['bimodality_year']:.2f}"
        out[f"{key}_middle"] = f"{r['middle_share_year']:.2f}"
    return out


def leader_refusal(s: Mapping[str, Any]) -> str:
    """Who refused: this month's revenue leader (``leader_refused_valuation``), if recorded."""
    if not s["leader_refusals_known"]:
        return ("Which lab refused is not in the sweep's tables (no "
                "`leader_refused_valuation` reporter).")
    return (f"This month's revenue leader refused an offer in {s['seeds_leader_refused']} of "
            f"{s['runs']} seeds ({s['leader_refusal_months']} months in all); its first "
            f"refusal came after a median {num(s['leader_first_refusal_year'], 2)} years "
            f"(earliest {num(s['leader_first_refusal_year_min'], 2)}).")


def _story_values(s: Mapping[str, Any]) -> dict[str, str]:
    return {
        "n": str(s["runs"]), "leader_refusal": leader_refusal(s),
        "seeds_market_refused": str(s["seeds_market_refused"]),
        "market_refused_mean": num(s["market_refused_mean"]),
        "vc_deployed_median": num(s["vc_deployed_median"]),
        "leader_owned_start": pct(s["leader_owned_start"]),
        "leader_owned_y2": pct(s["leader_owned_y2"]),
        "leader_owned_year_mean": pct(s["leader_owned_year_mean"]),
        "seeds_leader_owns_most_year": str(s["seeds_leader_owns_most_year"]),
        "seeds_leader_owns_most_end": str(s["seeds_leader_owns_most_end"]),
        "owned_compute_end": pct(s["owned_compute_end_median"]),
        "cr1_y1": pct(s["cr1_y1"]), "cr1_y3": pct(s["cr1_y3"]), "cr1_end": pct(s["cr1_end"]),
        "acquired_mean": f"{s['acquired_mean']:.1f}", "bankrupt_mean": f"{s['bankrupt_mean']:.1f}",
        "entries_mean": f"{s['entries_mean']:.1f}",
        "exits_per_run": f"{s['acquired_mean'] + s['bankrupt_mean']:.1f}",
        "floor_one_share": pct(s["floor_one_share"]),
        "above_2025": num(s["above_2025"], 2), "above_2025_two": str(s["above_2025_two"]),
        **{f"above_end_{r}": num(s[f"above_end_{r}"], 2)
           for r in ("concentrated", "bifurcated", "consolidated")},
        "second_share_2025": pct(s["second_share_2025"]),
        "top_two_2025": pct(s["top_two_2025"]),
    }


def _fact_values(f: Mapping[str, Mapping[str, float]]) -> dict[str, str]:
    d, nl = f["default"], f["null"]
    eq = f.get("default, equal start", {})
    years = [f"year {y}: " + " / ".join(f"{x.get(f'hhi_y{y}', math.nan):,.0f}"
                                          for x in (d, eq, nl)) for y in (1, 3, 5)]
    years.append("end: " + " / ".join(f"{x.get('hhi_end', math.nan):,.0f}" for x in (d, eq, nl)))
    return {
        "price_fall_y1": num(d["price_per_mtok_fall_y1"], 2),
        "price_fall_all": num(d["price_per_mtok_fall_all"], 2),
        "price_start": num(d["price_per_mtok_start"], 2),
        "price_end": num(d["price_per_mtok_end"], 2),
        "cap_fall_y1": num(d["price_per_capability_fall_y1"]),
        "cap_fall_all": num(d["price_per_capability_fall_all"]),
        "null_price_fall_all": num(nl["price_per_mtok_fall_all"], 2),
        "default_entries_per_year": f"{d['entries_per_year']:.2f}",
        "default_exits_per_year": f"{d['exits_per_year']:.2f}",
        "null_entries_per_year": f"{nl['entries_per_year']:.2f}",
        "null_exits_per_year": f"{nl['exits_per_year']:.2f}",
        "hhi_by_year": "; ".join(years),
        "null_hhi_peak": f"{nl['hhi_peak']:,.0f}",
        "null_hhi_peak_year": f"{nl['hhi_peak_year']:.1f}",
    }


def render(*, meta: Mapping[str, Any], summ: pd.DataFrame, story: Mapping[str, Any],
           facts: Mapping[str, Mapping[str, float]], atlas: Mapping[str, Any] | None,
           figures: Mapping[str, str], null_story: Mapping[str, Any],
           discovery: Mapping[str, Any], scene: Mapping[str, str]) -> str:
    """The page: the template with every placeholder filled (a missing one raises).

    ``discovery``: :func:`analysis.results.discovery`'s knock-outs, PRIM boxes, robustness;
    ``scene``: the direct runs' placeholders (:func:`analysis.scene.values`).
    """
    from analysis import sections

    rg = meta["regime"]
    n = max(int(story["runs"]), 1)
    values: dict[str, str] = {
        **{k: str(v) for k, v in meta.items() if k != "regime"},
        **_variant_values(summ), **_story_values(story), **_fact_values(facts),
        **atlas_values(atlas, figures),
        **sections.knockout_values(discovery["knockouts"]),
        **sections.prim_values(discovery["boxes"], discovery["atlas_regimes"]),
        **sections.robustness_values(discovery["robust_default"], discovery["robust_atlas"]),
        "tiers_line": discovery["tiers"],
        "robust_plain": "{} of {}".format(*discovery["robust_plain"]),
        "every_threshold_line": discovery["every_threshold"],
        **scene,
        "variant_table": variant_table(summ),
        "nu_hhi_year": f"{summ.loc['null, unequal start', 'hhi_year']:,.0f}",
        "null_hhi_year": f"{summ.loc['null', 'hhi_year']:,.0f}",
        "null_owned_end": pct(null_story["owned_compute_end_median"]),
        "th_hhi": f"{rg['hhi_concentrated']:,.0f}", "th_bimodality": f"{rg['bimodality']:.3g}",
        "th_middle": f"{rg['middle_share']:.3g}", "th_owned": f"{rg['giant_owned_share']:.3g}",
        "th_consolidated_labs": str(rg["consolidated_labs"]),
        "th_window": str(rg["window"]), "th_min_giants": str(rg["min_giants"]),
        "th_min_renters": str(rg["min_renters"]),
        "th_consolidated_share": pct(rg["consolidated_share"]),
        "th_shakeout": pct(rg["shakeout"]), "th_giant_share": pct(rg["giant_share"]),
        "share_halfwidth": f"{100 * 1.96 * 0.5 / n ** 0.5:.0f}",
        **{f"fig_{k}": v for k, v in figures.items()},
    }
    return string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values)
