"""Regime labels recomputed from stored tables, and how robust they are (issue 19).

A run's ``ticks`` table (model reporters, one row per month) holds the monthly figures the
label reads (:data:`marketsim.metrics.WINDOW_FIGURES`), so :func:`relabel` recomputes the
label of every month under other thresholds without running the model again. Thresholds
applied lab by lab (:data:`LAB_KEYS`) shape those monthly figures: moving them needs the
run's ``labs`` table (``marketsim.reporters.lab_table``, or ``labs.parquet`` of
``marketsim run --out``).

Robustness, as docs/results.md cites it: :func:`threshold_moves` moves each threshold by
±20 % alone and relabels; :func:`persistence` is the share of the last 24 months whose label
is the run's end label.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from marketsim import metrics
from marketsim.report_stats import mean_interval, share_interval
from marketsim.scenario import RegimeConfig

#: Thresholds applied to each lab: moving them recomputes the monthly figures from ``labs``.
LAB_KEYS: tuple[str, ...] = (
    "giant_share", "giant_owned_share", "small_rented_share", "tier_gap", "consolidated_labs",
)
#: Thresholds applied to the window's figures: a ticks table is enough.
WINDOW_KEYS: tuple[str, ...] = (
    "window", "hhi_concentrated", "min_giants", "min_renters", "consolidated_share", "shakeout",
)
#: Relative move of a threshold in the robustness check (±20 %).
MOVE = 0.2
#: Months at the end of a run whose labels :func:`persistence` compares with the end label.
LAST_MONTHS = 24


def thresholds_of(thresholds: Any = None, **changes: float) -> SimpleNamespace:
    """The label's thresholds as a plain namespace, with ``changes`` applied.

    Plain (not a validated ``RegimeConfig``) so a count such as ``min_giants`` may take a
    moved value like 2.4 (then at least 3 giants pass). ``None``: the defaults; a dict: the
    defaults with its values.
    """
    if thresholds is None:
        thresholds = RegimeConfig()
    if isinstance(thresholds, SimpleNamespace):
        base = vars(thresholds)
    elif isinstance(thresholds, dict):
        base = RegimeConfig().model_dump() | thresholds
    else:
        base = thresholds.model_dump()
    unknown = sorted(set(changes) - set(base))
    if unknown:
        raise ValueError(f"unknown regime threshold(s) {unknown}; allowed: {sorted(base)}")
    return SimpleNamespace(**{**base, **changes})


def lab_figures(labs: pd.DataFrame, thresholds: Any, ticks: Iterable[int]) -> pd.DataFrame:
    """The label's monthly figures from a labs table, one row per tick of ``ticks``.

    ``labs`` has one row per lab and month with ``tick``, ``status``, ``revenue`` ($bn),
    ``owned_gpus`` and ``rented_gpus``; only active labs count. The same figures as the model
    reporters of the same names (:func:`marketsim.metrics.tier_figures`).
    """
    act = labs[labs["status"] == "active"]
    rows = {}
    for tick, g in act.groupby("tick", sort=True):
        owned = g["owned_gpus"].to_numpy(float)
        gpus = owned + g["rented_gpus"].to_numpy(float)
        revenue = g["revenue"].to_numpy(float)
        giants, renters, survivors = metrics.tier_figures(revenue, owned, gpus, thresholds)
        rows[int(tick)] = (len(g), metrics.hhi(revenue), giants, renters, survivors)
    empty = (0, 0.0, 0, 0, 0.0)
    index = [int(t) for t in ticks]
    return pd.DataFrame([rows.get(t, empty) for t in index], index=pd.Index(index, name="tick"),
                        columns=list(metrics.WINDOW_FIGURES))


def relabel(ticks: pd.DataFrame, thresholds: Any = None,
            labs: pd.DataFrame | None = None) -> pd.Series:
    """The label of every month of one run under ``thresholds`` (a Series indexed by tick).

    Args:
        ticks: the run's model reporters (``tick`` and :data:`metrics.WINDOW_FIGURES`).
        thresholds: a ``RegimeConfig``, a namespace from :func:`thresholds_of`, or None.
        labs: the run's labs table; needed when a key of :data:`LAB_KEYS` differs from the
            thresholds the run was recorded with (the caller knows which).
    """
    t = thresholds_of(thresholds)
    if labs is not None:
        fig = lab_figures(labs, t, ticks["tick"])
    else:
        fig = ticks.set_index("tick")[list(metrics.WINDOW_FIGURES)].astype(float)
    peak = fig["active_labs"].cummax()
    window = max(int(round(t.window)), 1)
    med = fig.rolling(window, min_periods=1).median()
    months = np.minimum(np.arange(1, len(fig) + 1), window)
    labels = [metrics.classify({**row, "peak_active_labs": p, "months": float(n)}, t)
              for row, p, n in zip(med.to_dict("records"), peak.tolist(), months, strict=True)]
    return pd.Series(labels, index=fig.index, name="regime")


def persistence(labels: Sequence[str] | pd.Series, months: int = LAST_MONTHS) -> float:
    """Share of the last ``months`` labels equal to the last one (1.0: a settled label)."""
    last = list(labels)[-months:]
    return sum(1 for x in last if x == last[-1]) / len(last) if last else math.nan


def moved_values(key: str, thresholds: Any = None, move: float = MOVE,
                 plain: bool = False) -> list[float]:
    """``key``'s value moved down and up by ``move`` (relative), kept inside its bounds.

    A share threshold above one half (a share in 0-1 that means "nearly all", such as
    ``consolidated_share`` 0.9) moves by ``move`` of what it leaves out, ``1 − value``: 0.9
    moves to 0.88 and 0.92. Moved by 20 % of itself it would reach the bound 1 (the largest
    labs holding every dollar, no fringe at all): another definition, not a small move. With
    ``plain`` every key moves by ``move`` of itself (0.72 and, capped, 1.0), for comparison.
    """
    t = thresholds_of(thresholds)
    lo, hi = _bounds(key)
    value = getattr(t, key)
    out = []
    for factor in (1.0 - move, 1.0 + move):
        if (lo, hi) == (0.0, 1.0) and value > 0.5 and not plain:
            v = 1.0 - (1.0 - value) * (2.0 - factor)  # the part left out moves by ∓move
        else:
            v = min(max(value * factor, lo), hi)
        out.append(float(max(round(v), 1)) if key == "window" else v)
    return out


def _bounds(key: str) -> tuple[float, float]:
    """``RegimeConfig`` bounds of ``key`` (ge, le)."""
    lo, hi = -math.inf, math.inf
    for m in RegimeConfig.model_fields[key].metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    return lo, hi


def threshold_moves(ticks: pd.DataFrame, thresholds: Any = None,
                    labs: pd.DataFrame | None = None, move: float = MOVE,
                    keys: Sequence[str] | None = None, plain: bool = False) -> pd.DataFrame:
    """End label of one run with each threshold moved by ±``move``, one at a time.

    Returns one row per (key, moved value): ``key``, ``value``, ``base`` (the threshold's
    value), ``label``, ``base_label`` and ``flipped``. ``keys`` defaults to every key of
    :data:`LAB_KEYS` and :data:`WINDOW_KEYS` if ``labs`` is given, else to
    :data:`WINDOW_KEYS` (asking for a lab key without ``labs`` is an error). ``plain``: the
    moves of :func:`moved_values` with ``plain`` (every key by ``move`` of itself).
    """
    t = thresholds_of(thresholds)
    if keys is None:
        keys = (*WINDOW_KEYS, *LAB_KEYS) if labs is not None else WINDOW_KEYS
    need = sorted(set(keys) & set(LAB_KEYS))
    if need and labs is None:
        raise ValueError(f"moving {need} needs the run's labs table (labs=...)")
    base_label = relabel(ticks, t, labs).iloc[-1]
    rows = []
    for key in keys:
        for value in moved_values(key, t, move, plain=plain):
            label = relabel(ticks, thresholds_of(t, **{key: value}), labs).iloc[-1]
            rows.append({"key": key, "value": value, "base": getattr(t, key), "label": label,
                         "base_label": base_label, "flipped": label != base_label})
    return pd.DataFrame(rows)


def run_summary(ticks: pd.DataFrame, thresholds: Any = None,
                labs: pd.DataFrame | None = None, move: float = MOVE) -> dict[str, Any]:
    """One run's end label, its persistence and its flips under ±``move`` threshold moves."""
    labels = relabel(ticks, thresholds, labs)
    moves = threshold_moves(ticks, thresholds, labs, move)
    return {"regime": labels.iloc[-1], "persistence": persistence(labels),
            "flips": int(moves["flipped"].sum()), "moves": len(moves),
            "flipped_keys": sorted(set(moves.loc[moves["flipped"], "key"]))}


def summarise(runs: Sequence[dict[str, Any]], level: float = 0.95) -> dict[str, Any]:
    """Seeds of one scenario (each a :func:`run_summary`): label shares, persistence, flips.

    Shares of each label with Wilson intervals, mean persistence with a t interval, and the
    flips: labels changed over all (run, moved threshold) pairs, and runs with any flip.
    """
    n = len(runs)
    out: dict[str, Any] = {"runs": n}
    for reg in metrics.REGIMES:
        k = sum(1 for r in runs if r["regime"] == reg)
        lo, hi = share_interval(k, n, level)
        out[reg] = (k / n if n else math.nan, lo, hi)
    out["persistence"] = mean_interval([r["persistence"] for r in runs], level, (0.0, 1.0))
    out["flips"] = sum(r["flips"] for r in runs)
    out["moves"] = sum(r["moves"] for r in runs)
    out["runs_flipped"] = sum(1 for r in runs if r["flips"])
    keys: dict[str, int] = {}
    for r in runs:
        for key in r["flipped_keys"]:
            keys[key] = keys.get(key, 0) + 1
    out["flipped_keys"] = dict(sorted(keys.items(), key=lambda kv: -kv[1]))
    return out
