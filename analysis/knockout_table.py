"""The knock-out table and the labels' robustness, from sweep tables (``runs``, ``ticks``).

The knock-out sweep (``experiments/knockouts.toml``) runs a list of scenarios: its runs
table has a ``scenario`` column. Per scenario: the share of runs ending in each regime (95 %
Wilson intervals), key final measures (95 % t intervals over seeds), the label's persistence
over the last 24 months and how many end labels flip when a window threshold moves by ±20 %
(:mod:`analysis.regimes`, relabelling from the ticks table alone).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import regimes
from marketsim import metrics
from marketsim.report_stats import mean_interval, share_interval

#: Final measures of the knock-out table: runs-table column → (label, bounds).
KO_MEASURES: dict[str, tuple[str, tuple[float, float]]] = {
    "hhi_revenue": ("HHI final", (0.0, 10_000.0)),
    "owned_compute_share": ("owned compute share", (0.0, 1.0)),
    "active_labs": ("active labs", (0.0, math.inf)),
    "giant_labs": ("giant labs", (0.0, math.inf)),
    "renter_labs": ("renter labs", (0.0, math.inf)),
}
#: A run's end label is settled when it holds over at least this share of the last 24 months.
SETTLED = 0.75
#: A shakeout that halved the market: active labs at the end at most this share of their peak.
HALVED = 0.5


def run_robustness(ticks: pd.DataFrame, thresholds: Any = None) -> dict[str, Any]:
    """One run: its relabelled end label, persistence, and end-label flips per moved key.

    Only :data:`regimes.WINDOW_KEYS` move (a sweep stores no labs table). ``flips`` maps each
    key to the number of its two moves (−20 %, +20 %) that change the end label.
    """
    t = ticks.reset_index(drop=True)
    labels = regimes.relabel(t, thresholds)
    moves = regimes.threshold_moves(t, thresholds, keys=regimes.WINDOW_KEYS)
    flips = moves.groupby("key", sort=False)["flipped"].sum().astype(int).to_dict()
    return {"relabel": labels.iloc[-1], "persistence": regimes.persistence(labels),
            "flips": flips, "moves_per_key": len(moves) // max(len(flips), 1)}


def robustness_runs(runs: pd.DataFrame, ticks: pd.DataFrame, thresholds: Any = None
                    ) -> pd.DataFrame:
    """:func:`run_robustness` for every run of a sweep, joined to its runs-table row.

    Adds ``persistence``, ``relabel`` and one ``flips_<key>`` column per window key.
    """
    rows = []
    for run_id, t in ticks.groupby("run_id", sort=True):
        r = run_robustness(t, thresholds)
        rows.append({"run_id": run_id, "relabel": r["relabel"],
                     "persistence": r["persistence"], "moves_per_key": r["moves_per_key"],
                     **{f"flips_{k}": v for k, v in r["flips"].items()}})
    return runs.merge(pd.DataFrame(rows), on="run_id", how="inner")


def plain_share_flips(ticks: pd.DataFrame, thresholds: Any = None) -> tuple[int, int]:
    """``consolidated_share`` moved by ±20 % of itself (0.72, and 1.0 capped): (flips, moves).

    The page's robustness lines move a share above one half by 20 % of its complement
    (:func:`regimes.moved_values`); this is the plain move, reported beside them.
    """
    moves = [regimes.threshold_moves(t.reset_index(drop=True), thresholds,
                                     keys=["consolidated_share"], plain=True)
             for _, t in ticks.groupby("run_id", sort=True)]
    return int(sum(m["flipped"].sum() for m in moves)), int(sum(len(m) for m in moves))


def robustness_summary(rob: pd.DataFrame) -> dict[str, Any]:
    """Over runs of :func:`robustness_runs`: flips per key (N of M), total, persistence."""
    per_key = {}
    for key in regimes.WINDOW_KEYS:
        col = f"flips_{key}"
        if col in rob:
            per_key[key] = (int(rob[col].sum()), int(rob["moves_per_key"].sum()))
    flips = sum(n for n, _ in per_key.values())
    moves = sum(m for _, m in per_key.values())
    return {"runs": len(rob), "per_key": per_key, "flips": flips, "moves": moves,
            "persistence": mean_interval(rob["persistence"], bounds=(0.0, 1.0)),
            "settled": int((rob["persistence"] >= SETTLED).sum()),
            "agree": int((rob["relabel"] == rob["regime"]).sum())}


def knockout_table(rob: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario (in run order, so the experiment file's first comes first).

    Columns: ``runs``; ``<regime>``, ``<regime>_lo``, ``<regime>_hi`` (share of runs ending
    in it, from the runs table's label) for every regime; ``<measure>``, ``_lo``, ``_hi``
    for :data:`KO_MEASURES`; ``halved`` with ``_lo``/``_hi`` (share of runs whose active labs
    at the end are at most :data:`HALVED` of their peak); ``persistence`` with ``_lo``/``_hi``;
    ``flips``, ``moves``.
    """
    rows = {}
    for name, g in rob.sort_values("run_id").groupby("scenario", sort=False):
        n = len(g)
        row: dict[str, Any] = {"runs": n}
        for reg in metrics.REGIMES:
            k = int((g["regime"] == reg).sum())
            row[reg] = k / n
            row[f"{reg}_lo"], row[f"{reg}_hi"] = share_interval(k, n)
        for col, (_, bounds) in KO_MEASURES.items():
            row[col], row[f"{col}_lo"], row[f"{col}_hi"] = mean_interval(g[col], bounds=bounds)
        k = int((g["active_labs"] <= HALVED * g["peak_active_labs"]).sum())
        row["halved"] = k / n
        row["halved_lo"], row["halved_hi"] = share_interval(k, n)
        s = robustness_summary(g)
        row["persistence"], row["persistence_lo"], row["persistence_hi"] = s["persistence"]
        row["flips"], row["moves"] = s["flips"], s["moves"]
        rows[str(name)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("scenario")


def regime_shift(table: pd.DataFrame, base: str = "default") -> pd.Series:
    """Per scenario, how far its regime shares are from ``base``'s (total variation, 0–1)."""
    cols = list(metrics.REGIMES)
    shares = table[cols].astype(float)
    return 0.5 * (shares - shares.loc[base]).abs().sum(axis=1)


def knockout_numbers(root: str | Path, thresholds: Any = None) -> dict[str, Any]:
    """The knock-out sweep's table, its robustness summary and the largest regime shift."""
    from analysis.tables import load_sweep

    runs, ticks = load_sweep(root)
    rob = robustness_runs(runs, ticks, thresholds)
    table = knockout_table(rob)
    base = str(table.index[0])
    shift = regime_shift(table, base).drop(base)
    return {"table": table, "robustness": robustness_summary(rob), "base": base,
            "shift": shift.sort_values(ascending=False, kind="stable"),
            "seeds": int(table["runs"].min()) if len(table) else 0}


def finite(x: float) -> bool:
    """True for a finite number (a t interval over one value is NaN)."""
    return x is not None and bool(np.isfinite(x))
