"""Evaluators: where a sweep's runs are run (this process, local processes, any executor).

As in EMA Workbench, the runner does not care where runs happen: an evaluator takes the runs
to do and hands back each outcome (a :class:`RunResult` or a :class:`RunFailure`) as it
arrives. Used as a context manager, it starts its workers on entry and stops them on exit.

- :class:`SerialEvaluator`: one run after the other in this process.
- :class:`ExecutorEvaluator`: any :class:`concurrent.futures.Executor` (Dask's
  ``Client(...).get_executor()`` among them), with a window of runs in flight.
- :class:`LocalPoolEvaluator`: a local process pool of its own (fork or forkserver) that
  replaces a pool whose worker died, and finds the run that killed it.
- :class:`DaskEvaluator`: a Dask scheduler's address; connects on entry.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from marketsim.errors import SweepError
from marketsim.scenario import MarketScenario

#: Times a run cancelled by the executor (not by the sweep) is submitted again; then it is a
#: failed run, retried on the next resume.
MAX_CANCELS = 2

#: Why a run failed whose local worker process died while it ran alone (twice).
WORKER_DIED = ("its worker process died during the run (killed, e.g. out of memory, or the "
               "run ended the process)")


@dataclass(frozen=True)
class RunTask:
    """One run to do: which, with what seed and scenario, keeping which reporters."""

    run_id: int
    point: int
    replication: int
    seed: int
    scenario: MarketScenario
    outputs: tuple[str, ...]


@dataclass
class RunResult:
    """What a run returns: final values (one row), tick table, wall and CPU time (s)."""

    run_id: int
    final: pd.DataFrame
    ticks: pd.DataFrame
    seconds: float
    cpu_seconds: float = float("nan")


@dataclass
class RunFailure:
    """A run that did not finish: its error in one line and, if it raised, the traceback."""

    run_id: int
    error: str
    traceback: str = ""


Outcome = RunResult | RunFailure


def describe(exc: BaseException) -> str:
    """An error in one line: ``Type: message``."""
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return " ".join(last.split())


def run_one(task: RunTask) -> Outcome:
    """Run one model to the scenario's horizon (runs in a worker process).

    A run's own error comes back as a :class:`RunFailure` with its traceback, as text:
    every error can be sent back from a worker, also a user's exception class that pickle
    cannot rebuild.
    """
    from marketsim.model import AIMarketModel

    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        model = AIMarketModel(task.scenario, rng=task.seed)
        model.run()
    except Exception as exc:  # noqa: BLE001 - a failed run, reported with its traceback
        return RunFailure(task.run_id, describe(exc), traceback.format_exc())
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    cols = [c for c in task.outputs if c in df.columns]
    final = df.iloc[[-1]][cols].reset_index(drop=True)
    final["regime"] = model.regime
    tick_cols = ["tick", *[c for c in cols if c != "tick"]]
    ticks = df[tick_cols].copy()
    ticks.insert(0, "run_id", np.int64(task.run_id))
    return RunResult(task.run_id, final, ticks, time.perf_counter() - t0,
                     time.thread_time() - c0)


OnDone = Callable[[Outcome], None]


class Evaluator:
    """Runs tasks and hands each outcome to a callback; a context manager for its workers.

    Attributes:
        where: where the runs happen, for the sweep's opening line.
    """

    where = "this process"

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def abort(self) -> None:
        """Stop at once (Ctrl-C): runs in flight are lost."""

    def evaluate(self, tasks: Iterable[RunTask], on_done: OnDone) -> None:
        """Run every task; call ``on_done`` with each outcome, in this thread."""
        raise NotImplementedError


class SerialEvaluator(Evaluator):
    """One run after the other, in this process."""

    def evaluate(self, tasks: Iterable[RunTask], on_done: OnDone) -> None:
        """Run every task here, in order."""
        for task in tasks:
            on_done(run_one(task))


class ExecutorEvaluator(Evaluator):
    """Runs on any :class:`concurrent.futures.Executor`, ``window`` of them in flight.

    A run the executor cancels (not the sweep; e.g. a restart) is submitted again, up to
    :data:`MAX_CANCELS` times. An executor that breaks (a worker process of a
    ``ProcessPoolExecutor`` died) cannot be used again: :class:`SweepError`.
    """

    def __init__(self, executor: cf.Executor | None, window: int = 1024) -> None:
        self.executor = executor
        self.window = max(1, window)
        self.where = type(executor).__name__
        self._pending: dict[cf.Future[Outcome], RunTask] = {}
        self._retry: list[RunTask] = []
        self._cancels: Counter[int] = Counter()
        self._tasks: Iterator[RunTask] = iter(())
        self._on_done: OnDone = lambda _: None

    # ------------------------------------------------------------------ the loop
    def evaluate(self, tasks: Iterable[RunTask], on_done: OnDone) -> None:
        """Keep ``window`` runs in flight; hand each outcome over as it arrives."""
        self._tasks, self._on_done = iter(tasks), on_done
        try:
            while True:
                ok = self._refill()
                if ok and not self._pending:
                    return
                if self._pending:
                    alone = len(self._pending) == 1
                    finished, _ = cf.wait(self._pending, return_when=cf.FIRST_COMPLETED)
                    ok = self._collect(finished, alone) and ok
                if not ok:
                    self._recover()
        finally:
            for fut in self._pending:
                fut.cancel()
            self._pending.clear()

    def _next(self) -> tuple[RunTask | None, bool]:
        """The next run to submit and whether it must run alone (None: none now)."""
        if len(self._pending) >= self.window:
            return None, False
        if self._retry:
            return self._retry.pop(), False
        return next(self._tasks, None), False

    def _put_back(self, task: RunTask, alone: bool) -> None:
        """A run that could not be submitted (the executor broke): for the next try."""
        self._retry.append(task)

    def _refill(self) -> bool:
        """Submit runs up to the window; False if the executor is broken."""
        while True:
            task, alone = self._next()
            if task is None:
                return True
            try:
                fut = self._submit(task)
            except cf.BrokenExecutor:
                self._put_back(task, alone)
                return False
            self._pending[fut] = task
            if alone:
                return True

    def _submit(self, task: RunTask) -> cf.Future[Outcome]:
        assert self.executor is not None
        return self.executor.submit(run_one, task)

    def _collect(self, finished: Iterable[cf.Future[Outcome]], alone: bool) -> bool:
        """Hand over each finished run's outcome; False if one found the executor broken."""
        ok = True
        for fut in finished:
            task = self._pending.pop(fut)
            try:
                outcome = fut.result()
            except cf.CancelledError:  # not by us (e.g. an executor's restart)
                self._cancelled(task)
            except cf.BrokenExecutor:
                ok = False
                self._lost(task, alone)
            except Exception as exc:  # noqa: BLE001 - e.g. the task could not be sent
                self._on_done(RunFailure(task.run_id, describe(exc),
                                         "".join(traceback.format_exception(exc))))
            else:
                self._on_done(outcome)
        return ok

    def _cancelled(self, task: RunTask) -> None:
        self._cancels[task.run_id] += 1
        if self._cancels[task.run_id] <= MAX_CANCELS:
            self._retry.append(task)
        else:
            self._on_done(RunFailure(task.run_id, f"the executor cancelled the run "
                                                  f"{self._cancels[task.run_id]} times"))

    def _lost(self, task: RunTask, alone: bool) -> None:
        """A run lost with a broken executor."""
        self._retry.append(task)

    def _recover(self) -> None:
        """Go on after the executor broke (here: it cannot)."""
        raise SweepError("a worker process of the executor died and the executor cannot be "
                         "used any more; finished runs are stored: run the same command "
                         "again to resume")


class LocalPoolEvaluator(ExecutorEvaluator):
    """A local process pool of ``workers`` processes, started on entry, stopped on exit.

    Enter it before the results directory is opened: forked workers must not hold its lock
    and journal. When one of its worker processes dies, every run in flight fails with the
    pool, and which run killed it is unknown: those runs are run again one at a time on a new
    pool. A run whose worker dies while it runs alone, twice, is a failed run
    (:data:`WORKER_DIED`: out of memory, or a user's code that ends the process); the sweep
    goes on with the others.
    """

    def __init__(self, workers: int, window: int | None = None) -> None:
        super().__init__(None, window or 2 * workers + 2)
        self.workers = workers
        self.where = f"{workers} local processes"
        self._suspects: list[RunTask] = []  # in flight when a worker died: run alone
        self._deaths: Counter[int] = Counter()  # run_id -> deaths while it ran alone
        self._others: set[Any] = set()  # child processes that are not the pool's
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalPoolEvaluator:
        from marketsim.local_pool import make_pool

        self._others = set(multiprocessing.active_children())
        self._pool = self.executor = make_pool(self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = self.executor = None

    def abort(self) -> None:
        """Terminate the pool's workers (Ctrl-C)."""
        from marketsim.local_pool import stop_pool

        if self._pool is not None:
            stop_pool(self._pool, self._others)
            self._pool = self.executor = None

    def _next(self) -> tuple[RunTask | None, bool]:
        if self._suspects:  # alone: when nothing else is in flight
            return (None, True) if self._pending else (self._suspects.pop(0), True)
        return super()._next()

    def _put_back(self, task: RunTask, alone: bool) -> None:
        if alone:
            self._suspects.insert(0, task)
        else:
            self._retry.append(task)

    def _lost(self, task: RunTask, alone: bool) -> None:
        if alone:  # it killed its worker, or was killed from outside: once more alone
            self._deaths[task.run_id] += 1
            if self._deaths[task.run_id] > 1:
                self._on_done(RunFailure(task.run_id, WORKER_DIED))
                return
        self._suspects.append(task)

    def _recover(self) -> None:
        """Keep the runs that finished before the break; the others are run again alone."""
        from marketsim.local_pool import fresh_pool

        self._collect([f for f in self._pending if f.done()], alone=False)
        self._suspects.extend(self._pending.values())
        for fut in self._pending:
            fut.cancel()
        self._pending.clear()
        assert self._pool is not None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self.executor = None
        self._pool = self.executor = fresh_pool(self.workers)


class DaskEvaluator(ExecutorEvaluator):
    """The workers of a Dask scheduler at ``address`` (``tcp://HOST:PORT``).

    Connects on entry, before the results directory is touched: a wrong address leaves
    nothing behind. ``warn``: say so when the workers run with a slow allocator setting.
    """

    def __init__(self, address: str, window: int | None = None, *, warn: bool = True) -> None:
        super().__init__(None, window or 1024)
        self.address = address
        self.warn = warn
        self.where = f"Dask scheduler {address}"
        self._client: Any = None

    def __enter__(self) -> DaskEvaluator:
        from marketsim.dask_executor import connect

        self._client = connect(self.address)
        self.executor = self._client.get_executor(pure=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = self.executor = None

    def evaluate(self, tasks: Iterable[RunTask], on_done: OnDone) -> None:
        """Run every task on the cluster (after the workers' and allocator's checks)."""
        from marketsim.dask_executor import warn_allocator, warn_no_workers

        if self.warn:
            warn_no_workers(self._client, self.address)
            warn_allocator(self._client)
        super().evaluate(tasks, on_done)


def make_evaluator(*, executor: cf.Executor | None, workers: int | None,
                   scheduler: str | None, n_runs: int, max_pending: int | None = None,
                   progress: bool = True) -> Evaluator:
    """The evaluator for ``run_sweep``'s arguments (at most one of executor and scheduler).

    ``workers``: local processes when neither is given (default: every core, no more than
    runs; 1: this process).
    """
    import os

    if executor is not None:
        return ExecutorEvaluator(executor, max_pending or 1024)
    if scheduler is not None:
        return DaskEvaluator(scheduler, max_pending, warn=progress)
    n = min(workers or os.cpu_count() or 1, max(n_runs, 1))  # no idle local workers
    if n == 1:
        return SerialEvaluator()
    return LocalPoolEvaluator(n, max_pending)
