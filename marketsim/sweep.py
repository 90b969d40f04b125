"""The sweep runner: every (design point, replication) of an experiment, on any evaluator.

:func:`run_sweep` reads as its steps: load the experiment, plan its runs, open the results
directory (:class:`marketsim.store.ResultStore`: it checks and heals what is there and says
which runs are stored), evaluate the missing runs (:mod:`marketsim.evaluators`: this process,
local processes, or any :class:`concurrent.futures.Executor` such as Dask's) and store each
outcome as it arrives (a failed run's traceback goes to ``DIR/failures/``).

One run builds ``AIMarketModel(scenario_with_point_values, rng=seed)``, runs the experiment's
horizon and returns the final value of each kept reporter, the regime and the tick table. A
run's seed comes from the experiment's base seed and the run's (point, replication) through
:class:`numpy.random.SeedSequence`, never from scheduling, so serial, local processes and a
Dask cluster give the same rows. Running the same experiment on the same directory again
finishes the missing runs only.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.dask_executor import DASK_WORKER_CONFIG
from marketsim.errors import ScenarioError
from marketsim.evaluators import (
    WORKER_DIED,
    Evaluator,
    Outcome,
    RunFailure,
    RunResult,
    RunTask,
    make_evaluator,
    run_one,
)
from marketsim.experiment import Experiment, load_experiment
from marketsim.failures import FailureLog, failure_record
from marketsim.local_pool import InterruptGuard
from marketsim.scenario import MarketScenario

__all__ = ["DASK_WORKER_CONFIG", "WORKER_DIED", "RunResult", "RunTask", "SweepResult",
           "build_manifest_for", "plan", "run_one", "run_seed", "run_sweep"]


def run_seed(base_seed: int, point: int, replication: int) -> int:
    """Seed of one run: from the base seed and (point, replication) only (63-bit int)."""
    ss = np.random.SeedSequence(base_seed, spawn_key=(point, replication))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def plan(experiment: Experiment) -> pd.DataFrame:
    """Every run of the experiment: ``run_id``, ``point``, ``replication``, ``seed``.

    ``run_id = point × replications + replication`` (:func:`plan_table`).
    """
    return plan_table(experiment.n_points, experiment.replications, experiment.seed)


def plan_table(n: int, r: int, base_seed: int) -> pd.DataFrame:
    """The runs of ``n`` design points × ``r`` replications from ``base_seed``.

    Also what a results directory's manifest (points, replications, seed) says its sweep
    planned: ``marketsim report`` checks part files against it.
    """
    point = np.repeat(np.arange(n, dtype=np.int64), r)
    rep = np.tile(np.arange(r, dtype=np.int64), n)
    seeds = [run_seed(base_seed, int(p), int(k)) for p, k in zip(point, rep, strict=True)]
    return pd.DataFrame({"run_id": np.arange(n * r, dtype=np.int64), "point": point,
                         "replication": rep, "seed": np.array(seeds, dtype=np.int64)})


@dataclass
class SweepResult:
    """Summary of one call of :func:`run_sweep`.

    Attributes:
        out: the results directory.
        total: runs in the experiment.
        done_before: runs already stored when the call began (resume).
        done_now: runs finished and stored by this call.
        failed: ``(run_id, error)`` of runs that raised (not stored; run again on resume;
            each with its traceback in ``out/failures/<run_id>.json``).
        set_aside: one line per file of ``out`` set aside on opening (damaged, duplicate or
            foreign part files; see :meth:`marketsim.store.ResultStore.recover`).
        wall_seconds: wall time of the call, s.
        run_seconds: summed run time of the runs done, s (wall time inside each run).
        run_cpu_seconds: summed CPU time of the runs done, s (of the thread running each).
        store_seconds: time this process spent storing results (rows, journal, Parquet), s.
    """

    out: Path
    total: int
    done_before: int = 0
    done_now: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    run_seconds: float = 0.0
    run_cpu_seconds: float = 0.0
    store_seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """Whether every run of the experiment is stored."""
        return self.done_before + self.done_now >= self.total

    @property
    def runs_per_second(self) -> float:
        """Runs finished per second of wall time in this call."""
        return self.done_now / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    @property
    def storage_overhead(self) -> float:
        """Time spent storing as a share of the summed run time (0.01 = 1%)."""
        return self.store_seconds / self.run_seconds if self.run_seconds > 0 else float("nan")


def build_manifest_for(experiment: Experiment, argv: Sequence[str] | None) -> dict[str, Any]:
    """The results directory's manifest: provenance, design and the experiment's identity."""
    from marketsim.manifest import absolute, build_manifest, file_hash

    several = {"scenario_files": {absolute(s.source): file_hash(s.source)
                                  for s in experiment.scenarios.values()}
               } if experiment.scenarios else {}
    return build_manifest(
        argv=argv,
        kind="sweep",
        experiment_id=experiment.identity(),
        experiment_name=experiment.name,
        experiment_file=absolute(experiment.source),
        experiment_file_hash=file_hash(experiment.source),
        scenario_file=absolute(experiment.scenario_path),
        scenario_file_hash=file_hash(experiment.scenario_path),
        scenario_hash=experiment.scenario.content_hash(),
        experiment=experiment.to_dict(),
        design={
            "method": experiment.method,
            "samples": experiment.samples,
            "second_order": experiment.second_order,
            "names": experiment.names,
            "types": experiment.types,
            "n_points": experiment.n_points,
            "replications": experiment.replications,
            "n_runs": experiment.n_runs,
            "seed": experiment.seed,
            "points": experiment.points.reset_index().to_dict(orient="records"),
        },
        outputs=list(experiment.outputs),
        **several,
    )


def _point_values(points: pd.DataFrame, p: int) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in points.loc[p].items()}


def _check_points(experiment: Experiment) -> None:
    """Validate every design point's scenario up front: a bad combination fails now, not at 3am."""
    points = experiment.points
    for p in range(len(points)):
        experiment.scenario_for(_point_values(points, p))


def _tasks(experiment: Experiment, todo: pd.DataFrame) -> Iterator[RunTask]:
    points = experiment.points
    scenarios: dict[int, MarketScenario] = {}
    for row in todo.itertuples(index=False):
        p = int(row.point)
        if p not in scenarios:
            scenarios.clear()  # runs of a point are consecutive: keep one scenario at a time
            scenarios[p] = experiment.scenario_for(_point_values(points, p))
        yield RunTask(int(row.run_id), p, int(row.replication), int(row.seed), scenarios[p],
                      experiment.outputs)


@functools.cache
def _bar_class() -> type:
    """The progress bar's class: tqdm's, without the monitor thread.

    That thread would outlive the sweep, and a process running a second thread cannot fork
    the next sweep's workers (see :func:`marketsim.local_pool.make_pool`).
    """
    from tqdm.auto import tqdm

    return type("SweepBar", (tqdm,), {"monitor_interval": 0})


class _Collector:
    """The store step: each outcome becomes a runs row and ticks (or a failure file).

    A context manager for the progress bar. Time spent making rows counts as storing.
    """

    def __init__(self, experiment: Experiment, todo: pd.DataFrame, store: Any,
                 result: SweepResult, progress: bool) -> None:
        self.experiment = experiment
        self.points = experiment.points
        self.by_id = {int(r.run_id): r for r in todo.itertuples(index=False)}
        self.store = store
        self.failures = FailureLog(store.root)
        self.result = result
        self.bar = _bar_class()(total=result.total, initial=result.done_before, unit="run",
                                desc=experiment.name, disable=not progress,
                                dynamic_ncols=True, smoothing=0.05, miniters=1)

    def __enter__(self) -> _Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def __call__(self, outcome: Outcome) -> None:
        if isinstance(outcome, RunFailure):
            self._failed(outcome)
            return
        t0 = time.perf_counter()
        row = self._row(outcome)
        res = self.result
        res.store_seconds += time.perf_counter() - t0
        self.store.add(row, outcome.ticks)
        self.failures.clear(outcome.run_id)
        res.done_now += 1
        res.run_seconds += outcome.seconds
        res.run_cpu_seconds += outcome.cpu_seconds
        self.bar.update(1)

    def _row(self, result: RunResult) -> pd.DataFrame:
        """The runs-table row: ids, seed, the point's parameter values, final reporters."""
        plan_row = self.by_id[result.run_id]
        head = {"run_id": np.int64(plan_row.run_id), "point": np.int64(plan_row.point),
                "replication": np.int64(plan_row.replication), "seed": np.int64(plan_row.seed)}
        row = pd.DataFrame({k: [v] for k, v in head.items()})
        values = self.points.iloc[[int(plan_row.point)]].reset_index(drop=True)
        return pd.concat([row, values, result.final], axis=1)

    def _failed(self, failure: RunFailure) -> None:
        """Count the failure and write its file, with the command that replays the run."""
        self.result.failed.append((failure.run_id, failure.error))
        plan_row = self.by_id[failure.run_id]
        exp = self.experiment
        values = _point_values(self.points, int(plan_row.point))
        scenario = exp.scenario_for(values)
        self.failures.record(failure_record(
            run_id=failure.run_id, seed=int(plan_row.seed),
            overrides=exp.overrides_for(values), scenario=str(scenario.source),
            horizon=int(scenario.horizon), error=failure.error,
            traceback=failure.traceback))


def _check_arguments(executor: cf.Executor | None, workers: int | None,
                     scheduler: str | None) -> None:
    if executor is not None and scheduler is not None:
        raise ScenarioError("give an executor or a scheduler, not both", key="scheduler",
                            given=scheduler)
    if workers is not None and workers < 1:
        raise ScenarioError("needs at least one worker", key="--workers", given=workers,
                            allowed="integer >= 1")


def _announce(experiment: Experiment, result: SweepResult, todo: int, where: str) -> None:
    """The sweep's opening line on stderr: the design, what is stored, where runs go."""
    print(f"{experiment.name}: {experiment.n_points} design points x "
          f"{experiment.replications} replications = {result.total} runs of "
          f"{experiment.months} months ({experiment.method}); {result.done_before} stored, "
          f"{todo} to run on {where} -> {result.out}", file=sys.stderr)


def _evaluate(experiment: Experiment, runs: pd.DataFrame, store: Any, evaluator: Evaluator,
              result: SweepResult, progress: bool) -> None:
    """Run the runs the store lacks on ``evaluator`` and store each as it arrives."""
    result.set_aside = store.recover(expected=dict(zip(runs["run_id"].tolist(),
                                                       runs["seed"].tolist(), strict=True)))
    for line in result.set_aside:
        print(f"marketsim sweep: {line}", file=sys.stderr)
    done = store.done_ids()
    result.done_before = len(done)
    todo = runs[~runs["run_id"].isin(done)]
    if todo.empty:
        return
    if progress:
        _announce(experiment, result, len(todo), evaluator.where)
    with _Collector(experiment, todo, store, result, progress) as collect:
        evaluator.evaluate(_tasks(experiment, todo), collect)


def run_sweep(
    experiment: Experiment | str | Path,
    out: str | Path,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    *,
    argv: Sequence[str] | None = None,
    batch_runs: int = 1000,
    flush_seconds: float = 60.0,
    max_pending: int | None = None,
    restart: bool = False,
) -> SweepResult:
    """Run every missing run of an experiment and store it in ``out``.

    Args:
        experiment: an :class:`~marketsim.experiment.Experiment` or an experiment file.
        out: results directory; a used one must hold the same experiment (then only the
            missing runs are run: resume), unless ``restart``.
        executor: any :class:`concurrent.futures.Executor` (e.g. Dask's
            ``Client(...).get_executor()``); left running when this returns.
        workers: local processes when no executor or scheduler is given (default: every
            core; 1: in this process, serially).
        scheduler: a Dask scheduler address ``tcp://HOST:PORT``; its workers must be able to
            import marketsim and any agent classes the scenario names.
        progress: show a progress bar (runs done, runs/s, time left) on stderr.
        argv: the command line, for the manifest.
        batch_runs: runs per Parquet part file (at most).
        flush_seconds: write a part file at least this often while runs arrive, s.
        max_pending: runs submitted ahead of results (default: 2 per local worker + 2, 1024
            for other executors).
        restart: discard the results in ``out`` (runs, ticks, failures, report) and start
            over, also when they are of another experiment; ``out`` must still be a sweep's
            results directory (or new, or empty) that no other sweep is writing to.

    Returns:
        A :class:`SweepResult` (runs done, failures, timings).

    Raises:
        ScenarioError: bad experiment, a results directory of another experiment (the
            message names a file whose content changed), or a scheduler that cannot be
            reached. Nothing is written then.
        SweepError: the sweep cannot go on: local worker processes die as they start (a
            script without ``if __name__ == "__main__":``), or a worker of a given executor
            died and it cannot run any more. The finished runs are stored.
    """
    from marketsim.store import ResultStore

    t_start = time.perf_counter()
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    _check_arguments(executor, workers, scheduler)
    _check_points(experiment)
    runs = plan(experiment)
    evaluator = make_evaluator(executor=executor, workers=workers, scheduler=scheduler,
                               n_runs=len(runs), max_pending=max_pending, progress=progress)
    result = SweepResult(out=Path(out), total=len(runs))
    store = ResultStore(out, batch_runs=batch_runs, flush_seconds=flush_seconds)
    try:
        # Workers start before the store opens its lock and journal (forked ones must not
        # hold them); on Ctrl-C they stop before the store writes what has finished.
        with InterruptGuard() as guard, evaluator, store:
            store.open(build_manifest_for(experiment, argv), restart=restart)
            try:
                _evaluate(experiment, runs, store, evaluator, result, progress)
            except KeyboardInterrupt:
                guard.hold()
                evaluator.abort()
                raise
    finally:
        result.store_seconds += store.seconds
        result.wall_seconds = time.perf_counter() - t_start
    return result
