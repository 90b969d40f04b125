"""Scenario discovery over the regime atlas: PRIM boxes naming where each regime lives.

For each regime, PRIM (the Patient Rule Induction Method, EMA Workbench's ``prim``) peels the
space of the varied parameters towards the runs ending in that regime. Each step of its
peeling trajectory is a box with a *coverage* (share of the regime's runs inside the box)
and a *density* (share of the box's runs in the regime). The box reported is the densest on
the trajectory whose coverage is at least :data:`MIN_COVERAGE`.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.text import num

#: A box must hold at least this share of the regime's runs to be reported.
MIN_COVERAGE = 0.5
#: Regimes with fewer runs than this in the atlas get no box (too few to peel towards).
MIN_RUNS = 5


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the workbench's progress logging and pandas/numpy warnings while peeling."""
    logger = logging.getLogger("EMA")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate


def _restricted(lims: pd.DataFrame, init: pd.DataFrame, params: Sequence[str]
                ) -> dict[str, tuple[float, float]]:
    """Parameters whose box limits are narrower than the full range: ``{key: (low, high)}``."""
    out = {}
    for p in params:
        lo, hi = float(lims[p].iloc[0]), float(lims[p].iloc[1])
        if lo > float(init[p].iloc[0]) or hi < float(init[p].iloc[1]):
            out[p] = (lo, hi)
    return out


def best_step(trajectory: pd.DataFrame, min_coverage: float = MIN_COVERAGE) -> int:
    """Index of the densest box on a peeling trajectory with coverage ≥ ``min_coverage``.

    Ties go to the higher coverage; the first box (the whole space) when none qualifies.
    """
    ok = trajectory[trajectory["coverage"] >= min_coverage]
    if ok.empty:
        return 0
    best = ok.sort_values(["density", "coverage"], ascending=False, kind="stable")
    return int(best.index[0])


def regime_box(x: pd.DataFrame, hit: np.ndarray, min_coverage: float = MIN_COVERAGE
               ) -> dict[str, Any]:
    """PRIM's box for one binary outcome ``hit`` (a regime) over the parameters ``x``.

    Returns ``coverage``, ``density``, ``mass`` (share of all runs in the box), ``limits``
    (restricted parameters only: ``{key: (low, high)}``) and ``base_density`` (the regime's
    share of all runs: a box is informative when its density is well above it).
    """
    x = x.reset_index(drop=True).astype(float)
    y = np.asarray(hit, dtype=bool)
    with _quiet():
        from ema_workbench.analysis import prim  # warns about optional extras on import

        p = prim.Prim(x, y, mass_min=0.05)
        box = p.find_box()
        traj = box.peeling_trajectory.reset_index(drop=True)
        i = best_step(traj, min_coverage)
        lims = box.box_lims[i]
    row = traj.iloc[i]
    return {"coverage": float(row["coverage"]), "density": float(row["density"]),
            "mass": float(row["mass"]), "base_density": float(y.mean()),
            "limits": _restricted(lims, p.box_init, list(x.columns))}


def regime_boxes(runs: pd.DataFrame, params: Sequence[str], *, regime: str = "regime",
                 min_runs: int = MIN_RUNS, min_coverage: float = MIN_COVERAGE
                 ) -> pd.DataFrame:
    """One PRIM box per regime with at least ``min_runs`` runs (and not every run).

    ``runs`` holds one row per run with the varied ``params`` and the ``regime`` label.
    Columns: ``regime``, ``runs`` (runs in that regime), ``coverage``, ``density``,
    ``mass``, ``base_density``, ``limits``; sorted by how many runs the regime has.
    """
    x = runs[list(params)]
    labels = runs[regime].astype(str)
    rows = []
    for reg, k in labels.value_counts().items():
        if k < min_runs or k == len(runs):
            continue
        box = regime_box(x, (labels == reg).to_numpy(), min_coverage)
        rows.append({"regime": reg, "runs": int(k), **box})
    cols = ["regime", "runs", "coverage", "density", "mass", "base_density", "limits"]
    return pd.DataFrame(rows, columns=cols)


def limits_text(limits: dict[str, tuple[float, float]]) -> str:
    """``"`a` 0.5–1.5; `b` ≤ 3"``: each restricted parameter's range (or "no restriction")."""
    if not limits:
        return "no restriction"
    parts = []
    for key, (lo, hi) in limits.items():
        parts.append(f"`{key}` {num(lo)}–{num(hi)}")
    return "; ".join(parts)

