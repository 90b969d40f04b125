"""Sweep throughput and storage overhead: serial, local processes, a local Dask cluster.

``measure()`` runs one small experiment (the default market with many buyers, so one run
takes about a second and process start-up is amortised) serially, on 2 and on all local
worker processes, and on a local Dask cluster of 2 worker processes, each into a fresh results
directory, and reports runs/s as ratios to serial plus the time spent storing results as a
share of run time. Local pools are timed from a cold start, as ``marketsim sweep`` starts
them (their workers are forked with marketsim imported); the Dask workers are started and
warmed up (marketsim imported) before timing, as a cluster's are.

Run it alone::

    python -c "import sys; sys.path.insert(0, '.'); from bench.sweep_bench import measure; \
print(measure())"
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

#: Buyers per run (full, quick): about 1 s (0.4 s quick) per 10-year run on this machine.
BUYERS = (1_000_000, 300_000)
#: Grid values x replications: 6 x 2 = 12 runs (full), 2 x 2 = 4 runs (quick).
MARGINS = ([0.3, 0.6, 0.9, 1.2, 1.5, 1.8], [0.4, 1.2])


_EXPERIMENT = """
name = "sweep_bench"
scenario = "default"
horizon = 120
replications = 2
seed = 11

[design]
method = "grid"

[parameters]
"hyperscalers.margin" = {margins}

[fixed]
"buyers.count" = {buyers}
"""


def _experiment(folder: Path, quick: bool) -> Path:
    path = folder / "bench.toml"
    path.write_text(_EXPERIMENT.format(margins=MARGINS[quick], buyers=BUYERS[quick]))
    return path


def _short_experiment(folder: Path, quick: bool) -> Path:
    """The default market (10,000 buyers): runs of ~0.15 s, where start-up costs show."""
    path = folder / "short.toml"
    text = _EXPERIMENT.format(margins=MARGINS[quick], buyers=10_000)
    path.write_text(text.replace("replications = 2", f"replications = {2 if quick else 4}"))
    return path


def _row(figure: str, value: float, unit: str, goal: str, ok: bool | None) -> dict[str, Any]:
    return {"figure": figure, "value": round(float(value), 3), "unit": unit, "goal": goal,
            "ok": None if ok is None else bool(ok)}


def measure(quick: bool = False) -> list[dict[str, Any]]:
    """Sweep figures with their goals.

    Args:
        quick: fewer and shorter runs (a smoke test of the figures, not a measurement).

    Returns:
        Rows ``{"figure", "value", "unit", "goal", "ok"}`` (ok None: information): serial
        runs/s; runs/s on 2 and all local workers (also for short runs, pool start-up
        included, with their run time vs serial and the wall time beyond the runs as
        information) and on a local Dask cluster (2 workers) as multiples of serial; CPU
        time per run on 2 workers as a multiple of serial (overhead check, independent of
        other load on the machine); storage time as % of run time.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    from marketsim.sweep import DASK_WORKER_CONFIG, run_sweep

    cores = os.cpu_count() or 1
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="marketsim-sweep-bench-") as tmp:
        folder = Path(tmp)
        exp = _experiment(folder, quick)
        load = os.getloadavg()[0]
        serial = run_sweep(exp, folder / "serial", workers=1, progress=False)
        base = serial.runs_per_second
        per_run = serial.run_seconds / max(1, serial.done_now)
        rows.append(_row(f"sweep: serial throughput ({serial.done_now} runs of {per_run:.2f} s; "
                         f"load average {load:.1f} on {cores} cores at start)", base, "runs/s",
                         "baseline", None))
        rates: dict[int, float] = {}
        cpu: dict[int, float] = {}
        for n in sorted({2, cores}):
            res = run_sweep(exp, folder / f"pool{n}", workers=n, progress=False)
            rates[n] = res.runs_per_second / base
            cpu[n] = res.run_cpu_seconds / serial.run_cpu_seconds
        rows.append(_row("sweep: 2 local workers, runs/s vs serial", rates[2], "x", ">= 1.8",
                         rates[2] >= 1.8))
        # Short runs from a cold start: what a quick `marketsim sweep` sees, start-up included.
        short = _short_experiment(folder, quick)
        short_serial = run_sweep(short, folder / "short1", workers=1, progress=False)
        short_pool = run_sweep(short, folder / "short2", workers=2, progress=False)
        short_ratio = short_pool.runs_per_second / short_serial.runs_per_second
        per_short = short_serial.run_seconds / max(1, short_serial.done_now)
        rows.append(_row(f"sweep: {short_serial.done_now} short runs ({per_short:.2f} s each), "
                         "2 local workers started cold, runs/s vs serial", short_ratio, "x",
                         ">= 1.8", short_ratio >= 1.8))
        # Why the ratio is what it is: the runs themselves slower side by side (other load on
        # the machine, the two workers sharing it), or time beyond the runs (pool start and
        # stop, the last run's tail, the sweep's own work, storing)
        slower = (short_pool.run_seconds / max(1, short_pool.done_now)) / per_short
        rows.append(_row("sweep: short runs, run time on 2 local workers vs serial", slower, "x",
                         "", None))
        beyond = short_pool.wall_seconds - short_pool.run_seconds / 2
        rows.append(_row("sweep: short runs, 2 local workers' wall time beyond run time / 2",
                         beyond, "s", "", None))
        goal_all = 0.9 * cores
        rows.append(_row(f"sweep: all {cores} local workers, runs/s vs serial", rates[cores], "x",
                         f">= {goal_all:.1f}", rates[cores] >= goal_all))
        # The worker settings docs/sweeps.md gives cluster users: the nannies' allocator
        # setting unset (~1.8x the CPU time per run otherwise), no statistical profiler.
        with dask.config.set(DASK_WORKER_CONFIG), LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True,
                dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
            client.run(__import__, "marketsim.model")  # warm: import on every worker
            with client.get_executor(pure=False) as ex:
                res = run_sweep(exp, folder / "dask", executor=ex, progress=False)
            dask_ratio = res.runs_per_second / base
        rows.append(_row("sweep: local Dask cluster (2 workers), runs/s vs serial", dask_ratio,
                         "x", ">= 1.8", dask_ratio >= 1.8))
        # CPU time per run on workers vs serial: ~1 means no per-run cost of parallelism (a low
        # speed-up with it ~1 means the cores were busy with other work, not overhead)
        rows.append(_row("sweep: CPU time per run, 2 local workers vs serial", cpu[2], "x",
                         "<= 1.25", cpu[2] <= 1.25))
        overhead = 100.0 * serial.storage_overhead
        rows.append(_row("sweep: storage time vs run time", overhead, "%", "< 5",
                         overhead < 5.0))
    return rows


if __name__ == "__main__":
    for r in measure():
        print(r)
