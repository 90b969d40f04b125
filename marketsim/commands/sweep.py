"""``marketsim sweep``: run (or resume) an experiment's parameter sweep into a directory."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def sweep_command(
    experiment: str | Path,
    *,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    progress: bool = True,
    argv: Sequence[str] | None = None,
    restart: bool = False,
) -> int:
    """Run every missing run of ``experiment`` into ``out`` and print a one-paragraph summary.

    ``restart``: discard the results in ``out`` first and run every run.

    Returns:
        0 when every run is stored, 1 when some runs failed (they are retried by running the
        same command again). Bad input raises :class:`~marketsim.ScenarioError` (exit 2), a
        sweep that cannot go on :class:`~marketsim.errors.SweepError` (exit 1), Ctrl-C
        ``KeyboardInterrupt`` with the count of runs stored (exit 130).
    """
    from marketsim.experiment import load_experiment
    from marketsim.sweep import run_sweep

    exp = load_experiment(experiment)
    try:
        res = run_sweep(exp, out, workers=workers, scheduler=scheduler, progress=progress,
                        argv=argv, restart=restart)
    except KeyboardInterrupt:
        from marketsim.store import finished_runs

        try:
            stored = finished_runs(out) if (Path(out) / "manifest.json").is_file() else 0
        except Exception:  # noqa: BLE001 - a count for the message only
            raise KeyboardInterrupt("interrupted; run the same command again to resume"
                                    ) from None
        raise KeyboardInterrupt(
            f"interrupted; {stored}/{exp.n_runs} runs stored in {out}: run the same command "
            "again to resume") from None
    stored = res.done_before + res.done_now
    line = (f"{stored}/{res.total} runs stored in {out}/runs and {out}/ticks "
            f"({res.done_before} already there, {res.done_now} run now")
    if res.done_now:
        line += (f" in {res.wall_seconds:,.1f} s, {res.runs_per_second:,.2f} runs/s, "
                 f"storage {100 * res.storage_overhead:.1f}% of run time")
    print(line + ")")
    if res.failed:
        from marketsim.failures import failure_reasons

        n = len(res.failed)
        why = failure_reasons(res.failed)
        print(f"marketsim sweep: {n} run{'s' if n > 1 else ''} failed ({why}); "
              f"tracebacks and replay commands in {Path(out) / 'failures'}; run the same "
              "command again to retry them", file=sys.stderr)
        return 1
    print(f"next: marketsim report {out}")
    return 0


def add_arguments(s: argparse.ArgumentParser) -> None:
    """``marketsim sweep``'s arguments."""
    s.add_argument("experiment", help="experiment file (experiments/*.toml)")
    s.add_argument("--out", type=Path, required=True, help="results directory (resumable)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    g.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--restart", action="store_true",
                   help="discard the results in --out (runs, ticks, failures, report) and "
                   "start over")


def main(args: argparse.Namespace) -> int:
    """Entry of ``marketsim sweep`` from parsed arguments."""
    return sweep_command(args.experiment, out=args.out, workers=args.workers,
                         scheduler=args.scheduler, progress=not args.quiet, argv=args.argv,
                         restart=args.restart)
