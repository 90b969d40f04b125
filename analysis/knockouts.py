"""Regime labels of several scenarios side by side: the default, the null, the knock-outs.

Two ways in:

- :func:`measure` runs each scenario over seeds here (with each run's labs table, so every
  threshold can be moved in the robustness check);
- :func:`from_folders` reads sweep result folders (``marketsim sweep``; one per scenario, or
  one whose ticks carry a ``scenario`` column) and relabels their ticks tables (window
  thresholds only: a sweep keeps no labs table).

Command line (2,000 buyers and 16 seeds keep it to minutes on one core)::

    python analysis/knockouts.py scenarios/default.toml scenarios/null.toml --seeds 16
    python analysis/knockouts.py scenarios/knockouts/*.toml --buyers 2000 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import regimes  # noqa: E402
from marketsim import metrics  # noqa: E402
from marketsim.scenario import load_scenario  # noqa: E402
from marketsim.sweep import run_seed  # noqa: E402


def run_one(scenario: str, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """One run of ``scenario`` summarised by :func:`regimes.run_summary` (with its labs)."""
    from marketsim.model import AIMarketModel
    from marketsim.reporters import lab_table

    sc = load_scenario(scenario, overrides=overrides)
    model = AIMarketModel(sc, rng=seed).run()
    ticks = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    out = regimes.run_summary(ticks, sc.regime, lab_table(model))
    if out["regime"] != model.regime:  # the relabelling must reproduce the model's label
        raise RuntimeError(f"{scenario} seed {seed}: relabelled {out['regime']!r}, "
                           f"model {model.regime!r}")
    return {"scenario": sc.name, "seed": seed, **out}


def measure(scenarios: Sequence[str], seeds: int = 16, base_seed: int = 2025,
            overrides: dict[str, Any] | None = None, workers: int = 1) -> pd.DataFrame:
    """Run every scenario over ``seeds`` seeds; one row per run (:func:`run_one`).

    The same seeds for every scenario (``marketsim.sweep.run_seed(base_seed, 0, k)``), so
    scenarios differ by their parameters, not their draws.
    """
    jobs = [(str(s), run_seed(base_seed, 0, k), dict(overrides or {}))
            for s in scenarios for k in range(seeds)]
    if workers <= 1:
        rows = [run_one(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(run_one, *zip(*jobs, strict=True)))
    return pd.DataFrame(rows)


def from_folders(folders: Sequence[str | Path], thresholds: Any = None) -> pd.DataFrame:
    """Runs of sweep result folders, relabelled from their ticks tables: one row per run.

    A folder's ticks with a ``scenario`` column split by it; otherwise the folder's name is
    the scenario. Threshold moves cover :data:`regimes.WINDOW_KEYS` only.
    """
    from marketsim.store import TICKS, read_table

    rows = []
    for folder in folders:
        ticks = read_table(folder, TICKS)
        if "scenario" not in ticks.columns:
            ticks = ticks.assign(scenario=Path(folder).name)
        for (name, run_id), t in ticks.groupby(["scenario", "run_id"], sort=True):
            out = regimes.run_summary(t.reset_index(drop=True), thresholds)
            rows.append({"scenario": name, "run_id": run_id, **out})
    return pd.DataFrame(rows)


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario: label shares (95 % Wilson intervals), persistence, flips."""
    rows = []
    for name, g in runs.groupby("scenario", sort=False):
        s = regimes.summarise(g.to_dict("records"))
        row: dict[str, Any] = {"scenario": name, "runs": s["runs"]}
        for reg in metrics.REGIMES:
            share, lo, hi = s[reg]
            row[reg] = f"{share:.0%} [{lo:.0%}, {hi:.0%}]"
        m, lo, hi = s["persistence"]
        row["last 24 months with end label"] = f"{m:.0%} [{lo:.0%}, {hi:.0%}]"
        row["flips under ±20 %"] = f"{s['flips']} of {s['moves']}"
        row["runs with a flip"] = f"{s['runs_flipped']} of {s['runs']}"
        row["keys that flip (runs)"] = ", ".join(f"{k} ({n})"
                                                 for k, n in s["flipped_keys"].items())
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    """``df`` as a markdown table (pandas' ``to_markdown`` needs the tabulate package)."""
    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the scenarios named on the command line and print the table (markdown)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help="scenario files or shipped names")
    p.add_argument("--folders", nargs="*", default=[], help="sweep result folders instead")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--seed", type=int, default=2025, help="base seed")
    p.add_argument("--buyers", type=int, default=2000, help="buyers.count of every run")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--runs-csv", help="also write one row per run here")
    args = p.parse_args(argv)
    frames = []
    if args.scenarios:
        frames.append(measure(args.scenarios, args.seeds, args.seed,
                              {"buyers.count": args.buyers}, args.workers))
    if args.folders:
        frames.append(from_folders(args.folders))
    if not frames:
        p.error("name scenarios or --folders")
    runs = pd.concat(frames, ignore_index=True)
    if args.runs_csv:
        runs.to_csv(args.runs_csv, index=False)
    print(markdown(table(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
