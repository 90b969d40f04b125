"""``python -m analysis.second_lab``: the leader's, the top two's and the second lab's 2025 share.

The table of docs/calibration.md's "The second lab and the follower floor": each particle
of a shipped posterior (``docs/fit``, the default's: nine 2025 figures, the follower floor
on; ``docs/fit_no_floor``, eight figures without the top two's share and without the floor;
``docs/fit_top_two``, nine figures without the floor) run once on the default scenario with
the rules it was fitted under, 13 months at 10,000 buyers, seed
``marketsim.sweep.run_seed(777, 0, i)`` for particle ``i``; the shares are means of ticks
6-12 (the calibration's 2025 share figures), weighted by the particles' weights. About 30 s
on 2 cores.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from marketsim.fit_predict import weighted_quantile
from marketsim.report import to_markdown

REPO = Path(__file__).resolve().parent.parent
NO_FLOOR = {"capability.follow_lag": 0}
#: Each shipped posterior: the default's keys it was fitted under, and its draws.
POSTERIORS: dict[str, tuple[dict[str, float], Path]] = {
    "docs/fit": ({}, REPO / "docs/fit/posterior.parquet"),
    "docs/fit_no_floor": (NO_FLOOR, REPO / "docs/fit_no_floor/posterior.parquet"),
    "docs/fit_top_two": (NO_FLOOR, REPO / "docs/fit_top_two/posterior.parquet"),
}


def shares_2025(scenario: str, overrides: dict[str, float], seed: int, buyers: int,
                ) -> tuple[float, float]:
    """Leader's and top two's revenue share of one run, means of ticks 6-12."""
    from marketsim.model import AIMarketModel

    m = AIMarketModel(scenario, rng=seed, horizon=13, **{"buyers.count": buyers, **overrides})
    df = m.run().datacollector.get_model_vars_dataframe().iloc[6:13]
    return float(df["cr1_revenue"].mean()), float(df["cr2_revenue"].mean())


def _particle(args: tuple[str, dict[str, float], int, int]) -> tuple[float, float]:
    return shares_2025(*args)


def measure(post: pd.DataFrame, fixed: dict[str, float] | None = None, buyers: int = 10_000,
            workers: int = 2) -> dict[str, float]:
    """Weighted means of the three shares, and the second lab's 90 % interval.

    ``fixed``: default-scenario keys every particle runs with (the rules of its fit).
    """
    from marketsim.sweep import run_seed

    keys = [c for c in post.columns if c != "weight"]
    jobs = [("default", {**(fixed or {}), **{k: float(row[k]) for k in keys}},
             run_seed(777, 0, i), buyers)
            for i, (_, row) in enumerate(post.iterrows())]
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            shares = np.array(list(ex.map(_particle, jobs)))
    else:
        shares = np.array([_particle(job) for job in jobs])
    w = post["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    leader, top_two = shares[:, 0], shares[:, 1]
    second = top_two - leader
    lo, hi = weighted_quantile(second, w, [0.05, 0.95])
    return {"leader": float(w @ leader), "top_two": float(w @ top_two),
            "second": float(w @ second), "second_5%": float(lo), "second_95%": float(hi)}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table for the shipped posteriors."""
    del argv
    rows = {name: measure(pd.read_parquet(path), fixed)
            for name, (fixed, path) in POSTERIORS.items()}
    print(to_markdown(pd.DataFrame(rows).T.round(3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
