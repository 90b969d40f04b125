"""The sweep runner: every (design point, replication) of an experiment, on any executor.

One run builds ``AIMarketModel(scenario_with_point_values, rng=seed)``, runs the experiment's
horizon and returns the final value of each kept reporter, the regime and the tick table. A
run's seed comes from the experiment's base seed and the run's (point, replication) through
:class:`numpy.random.SeedSequence`, never from scheduling, so serial, local processes and a
Dask cluster give the same rows.

Runs go to any :class:`concurrent.futures.Executor` (Dask: ``Client(...).get_executor()``);
by default a :class:`~concurrent.futures.ProcessPoolExecutor` with one process per core.
Results are stored by :class:`marketsim.store.ResultStore` as they arrive; running the same
experiment on the same directory again finishes the missing runs only.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import gc
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.errors import ScenarioError, SweepError
from marketsim.experiment import Experiment, load_experiment
from marketsim.scenario import MarketScenario

#: Seconds a new local pool may take to run its first task (a forkserver imports marketsim).
FRESH_POOL_SECONDS = 120

#: Times a run cancelled by the executor (not by the sweep) is submitted again; then it is a
#: failed run, retried on the next resume.
MAX_CANCELS = 2

#: Why a run failed whose local worker process died while it ran alone (twice).
WORKER_DIED = ("its worker process died during the run (killed, e.g. out of memory, or the "
               "run ended the process)")


def run_seed(base_seed: int, point: int, replication: int) -> int:
    """Seed of one run: from the base seed and (point, replication) only (63-bit int)."""
    ss = np.random.SeedSequence(base_seed, spawn_key=(point, replication))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


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


class RunFailed(RuntimeError):
    """A run's error as its one-line description.

    What a worker sends back when the error itself cannot be pickled (e.g. an exception
    class of a user's with its own ``__init__``).
    """


def run_one(task: RunTask) -> RunResult:
    """Run one model to the scenario's horizon (runs in a worker process).

    Raises:
        Exception: the run's own error, or :class:`RunFailed` with its description when
            that error could not be sent back from a worker process.
    """
    from marketsim.model import AIMarketModel

    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        model = AIMarketModel(task.scenario, rng=task.seed)
        model.run()
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))  # a worker's parent must be able to rebuild it
        except Exception:  # noqa: BLE001 - any pickling failure: send the text instead
            raise RunFailed(_describe(exc)) from None
        raise
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    cols = [c for c in task.outputs if c in df.columns]
    final = df.iloc[[-1]][cols].reset_index(drop=True)
    final["regime"] = model.regime
    tick_cols = ["tick", *[c for c in cols if c != "tick"]]
    ticks = df[tick_cols].copy()
    ticks.insert(0, "run_id", np.int64(task.run_id))
    return RunResult(task.run_id, final, ticks, time.perf_counter() - t0,
                     time.thread_time() - c0)


def plan(experiment: Experiment) -> pd.DataFrame:
    """Every run of the experiment: ``run_id``, ``point``, ``replication``, ``seed``.

    ``run_id = point × replications + replication``.
    """
    n, r = experiment.n_points, experiment.replications
    point = np.repeat(np.arange(n, dtype=np.int64), r)
    rep = np.tile(np.arange(r, dtype=np.int64), n)
    seeds = [run_seed(experiment.seed, int(p), int(k)) for p, k in zip(point, rep, strict=True)]
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
        failed: ``(run_id, error)`` of runs that raised (not stored; run again on resume).
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

    points = experiment.points
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
            "points": points.reset_index().to_dict(orient="records"),
        },
        outputs=list(experiment.outputs),
    )


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


def _point_values(points: pd.DataFrame, p: int) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in points.loc[p].items()}


def _row(result: RunResult, plan_row: Any, points: pd.DataFrame) -> pd.DataFrame:
    """The runs-table row: ids, seed, the point's parameter values, final reporters."""
    head = {"run_id": np.int64(plan_row.run_id), "point": np.int64(plan_row.point),
            "replication": np.int64(plan_row.replication), "seed": np.int64(plan_row.seed)}
    row = pd.DataFrame({k: [v] for k, v in head.items()})
    values = points.iloc[[int(plan_row.point)]].reset_index(drop=True)
    return pd.concat([row, values, result.final], axis=1)


def _check_points(experiment: Experiment) -> None:
    """Validate every design point's scenario up front: a bad combination fails now, not at 3am."""
    points = experiment.points
    for p in range(len(points)):
        experiment.scenario_for(_point_values(points, p))


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _watch_parent(pid: int) -> None:
    """Worker initializer: ignore Ctrl-C; exit when the sweep process is gone (e.g. SIGKILLed).

    Ctrl-C in a terminal reaches every process of the group: the sweep stops its workers
    itself (:func:`_stop_pool`), without a traceback from each. Pool workers would otherwise
    wait for work forever once the sweep is killed (those of a forkserver are not even the
    sweep's children).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while _alive(pid):
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="marketsim-parent-watch", daemon=True).start()


def _make_pool(workers: int, *, fork: bool = True) -> cf.ProcessPoolExecutor:
    """A local process pool of ``workers`` processes.

    Forked from this process where that is safe (Linux, ``fork`` allowed, and no other
    Python thread running here): the workers start at once, with marketsim and the
    scenario's agent classes already imported, and are all started before this returns, so
    later threads (the pool's own) cannot be forked with them. Otherwise (e.g. in a Jupyter
    kernel, which runs threads) they come from a forkserver that imports marketsim once
    (about a second), or are spawned where there is no forkserver.
    """
    methods = multiprocessing.get_all_start_methods()
    if (fork and sys.platform.startswith("linux") and "fork" in methods
            and threading.active_count() == 1):
        method = "fork"
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["marketsim.sweep", "marketsim.model"])
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=_watch_parent, initargs=(os.getpid(),))
    if method == "fork":
        try:
            with warnings.catch_warnings():
                # Python warns of any thread at a fork, also the native ones NumPy's BLAS and
                # pyarrow's allocator start at import; those install their own fork
                # handlers, and no Python thread runs here.
                warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead",
                                        category=DeprecationWarning)
                gc.freeze()  # the workers' garbage collector leaves this process's objects be
                try:
                    pool.submit(os.getpid)  # a fork pool starts every worker at its first task
                finally:
                    gc.unfreeze()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return pool


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ignore Ctrl-C for the duration (in the main thread; elsewhere Python cannot).

    The previous handler comes back afterwards: run from a notebook, the kernel's interrupt
    works again.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_pool(pool: cf.ProcessPoolExecutor, others: set[Any]) -> None:
    """Stop a local pool at once (on Ctrl-C): its runs in flight are lost either way.

    Terminates this process's worker processes that are not in ``others`` (the children it
    had before the pool), then shuts the pool down without waiting.
    """
    for proc in multiprocessing.active_children():
        if proc not in others:
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


@functools.cache
def _bar_class() -> type:
    """The progress bar's class: tqdm's, without the monitor thread.

    That thread would outlive the sweep, and a process running a second thread cannot fork
    the next sweep's workers (see :func:`_make_pool`).
    """
    from tqdm.auto import tqdm

    return type("SweepBar", (tqdm,), {"monitor_interval": 0})


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
) -> SweepResult:
    """Run every missing run of an experiment and store it in ``out``.

    Args:
        experiment: an :class:`~marketsim.experiment.Experiment` or an experiment file.
        out: results directory; a used one must hold the same experiment (then only the
            missing runs are run: resume).
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

    Returns:
        A :class:`SweepResult` (runs done, failures, timings).

    Raises:
        ScenarioError: bad experiment, a results directory of another experiment, or a
            scheduler that cannot be reached.
        SweepError: the sweep cannot go on: local worker processes die as they start (a
            script without ``if __name__ == "__main__":``), or a worker of a given executor
            died and it cannot run any more. The finished runs are stored.
    """
    from marketsim.store import ResultStore

    t_start = time.perf_counter()
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    if sum(x is not None for x in (executor, scheduler)) > 1:
        raise ScenarioError("give an executor or a scheduler, not both", key="scheduler",
                            given=scheduler)
    if workers is not None and workers < 1:
        raise ScenarioError("needs at least one worker", key="--workers", given=workers,
                            allowed="integer >= 1")
    _check_points(experiment)
    runs = plan(experiment)
    points = experiment.points
    # The scheduler first: a wrong address must not leave a results directory behind.
    client = _connect(scheduler) if scheduler is not None else None
    n = min(workers or os.cpu_count() or 1, max(len(runs), 1))  # no idle local workers
    pool: dict[str, cf.ProcessPoolExecutor] = {}  # our own local pool, if any
    others = set(multiprocessing.active_children())  # child processes that are not ours
    if executor is None and client is None and n > 1:
        # Before the store opens its lock and journal: forked workers must not hold them.
        pool["pool"] = _make_pool(n)
    try:
        store = ResultStore(out, batch_runs=batch_runs, flush_seconds=flush_seconds)
        store.open(build_manifest_for(experiment, argv))
    except BaseException:
        if client is not None:
            client.close()
        if pool:
            pool.pop("pool").shutdown(wait=False, cancel_futures=True)
        raise
    result = SweepResult(out=Path(out), total=len(runs))
    handling = [0.0]  # s spent turning results into rows (counted as storage)
    bar = None
    interrupted = False
    try:
        store.recover()
        done = store.done_ids()
        result.done_before = len(done)
        todo = runs[~runs["run_id"].isin(done)]
        if todo.empty:
            return result
        by_id = {int(r.run_id): r for r in todo.itertuples(index=False)}
        if progress:
            where = (f"Dask scheduler {scheduler}" if scheduler else
                     f"{type(executor).__name__}" if executor is not None else
                     "this process" if n == 1 else f"{n} local processes")
            print(f"{experiment.name}: {experiment.n_points} design points x "
                  f"{experiment.replications} replications = {len(runs)} runs of "
                  f"{experiment.months} months ({experiment.method}); {len(done)} stored, "
                  f"{len(todo)} to run on {where} -> {out}", file=sys.stderr)
        bar = _bar_class()(total=len(runs), initial=len(done), unit="run",
                           desc=experiment.name, disable=not progress, dynamic_ncols=True,
                           smoothing=0.05, miniters=1)

        def store_result(res: RunResult) -> None:
            t0 = time.perf_counter()
            row = _row(res, by_id[res.run_id], points)
            handling[0] += time.perf_counter() - t0
            store.add(row, res.ticks)
            result.done_now += 1
            result.run_seconds += res.seconds
            result.run_cpu_seconds += res.cpu_seconds
            bar.update(1)

        if executor is None and scheduler is None and n == 1:
            for task in _tasks(experiment, todo):
                try:
                    res = run_one(task)
                except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
                    result.failed.append((task.run_id, _describe(exc)))
                    continue
                store_result(res)
        else:
            if client is not None:
                if progress:
                    _warn_allocator(client)
                executor = client.get_executor(pure=False)
            window = max_pending or (2 * n + 2 if pool else 1024)
            _drive(executor, pool, _tasks(experiment, todo), window, store_result, result, n)
        return result
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        # After a Ctrl-C, a second one must not cut the clean-up short (workers left running,
        # finished runs not written).
        with _interrupts_held() if interrupted else contextlib.nullcontext():
            if pool and interrupted:
                _stop_pool(pool.pop("pool"), others)
            if bar is not None:
                bar.close()
            store.close()
            if pool:
                pool.pop("pool").shutdown(wait=True)
            if client is not None:
                client.close()
        result.store_seconds = store.seconds + handling[0]
        result.wall_seconds = time.perf_counter() - t_start


def _drive(executor: cf.Executor | None, pool: dict[str, cf.ProcessPoolExecutor],
           tasks: Iterator[RunTask], window: int, on_result: Any, result: SweepResult,
           n_workers: int) -> None:
    """Keep ``window`` runs in flight; store each as it finishes; replace a broken own pool.

    ``pool`` holds our own ProcessPoolExecutor under ``"pool"`` (empty: use ``executor``); a
    new pool replaces it there so the caller always shuts down the live one.

    When one of our worker processes dies, every run in flight fails with the pool, and which
    run killed it is unknown: those runs are run again one at a time on a new pool. A run
    whose worker dies while it runs alone, twice, is a failed run (out of memory, or a user's
    code that ends the process); the sweep goes on with the others.
    """
    pending: dict[cf.Future[RunResult], RunTask] = {}
    resubmit: list[RunTask] = []  # never started: submitting found the pool broken
    suspects: list[RunTask] = []  # in flight when a worker died: run alone, one at a time
    deaths: Counter[int] = Counter()  # run_id -> times its worker died while it ran alone
    cancels: Counter[int] = Counter()  # run_id -> times the executor cancelled it
    exhausted = False

    def again(counts: Counter[int], task: RunTask, most: int) -> bool:
        """Count one more lost try of ``task``; True while it may have another."""
        counts[task.run_id] += 1
        return counts[task.run_id] <= most

    def refill() -> bool:
        """Submit runs up to the window (a suspect only alone); False if the pool is broken."""
        nonlocal exhausted
        while True:
            alone = bool(suspects)
            if alone and pending:
                return True
            if alone:
                task = suspects.pop(0)
            elif len(pending) >= window:
                return True
            elif resubmit:
                task = resubmit.pop()
            else:
                task = None if exhausted else next(tasks, None)
                if task is None:
                    exhausted = True
                    return True
            ex = pool["pool"] if pool else executor
            assert ex is not None
            try:
                pending[ex.submit(run_one, task)] = task
            except BrokenProcessPool:  # back where it came from, for the next pool
                if alone:
                    suspects.insert(0, task)
                else:
                    resubmit.append(task)
                return False
            if alone:
                return True

    def collect(finished: set[cf.Future[RunResult]], alone: bool) -> bool:
        """Store or record each finished run; True if one of them found the pool broken."""
        broken = False
        for fut in finished:
            task = pending.pop(fut)
            try:
                res = fut.result()
            except cf.CancelledError:  # not by us (e.g. an executor's restart): run it again
                if again(cancels, task, MAX_CANCELS):
                    resubmit.append(task)
                else:
                    result.failed.append((task.run_id, f"the executor cancelled the run "
                                                       f"{cancels[task.run_id]} times"))
                continue
            except BrokenProcessPool:
                broken = True
                if not alone or again(deaths, task, 1):  # once more alone: it may have
                    suspects.append(task)                # been killed from outside
                else:
                    result.failed.append((task.run_id, WORKER_DIED))
                continue
            except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
                result.failed.append((task.run_id, _describe(exc)))
                continue
            on_result(res)
        return broken

    try:
        ok = refill()
        while pending or not ok:
            alone = len(pending) == 1
            broken = not ok
            if pending:
                finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                broken = collect(finished, alone) or broken
            if broken:
                if not pool:
                    raise SweepError("a worker process of the executor died and the executor "
                                     "cannot be used any more; finished runs are stored: run "
                                     "the same command again to resume")
                # Runs that finished before the break are kept; the others fail with the pool.
                done = {f for f in pending if f.done()}
                collect(done, alone=False)
                suspects.extend(pending.values())
                for fut in pending:
                    fut.cancel()
                pending.clear()
                pool.pop("pool").shutdown(wait=False, cancel_futures=True)
                pool["pool"] = _fresh_pool(n_workers)
            ok = refill()
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def _fresh_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool to replace a broken one, checked to run a task.

    Not forked: the results directory's lock and journal are open in this process now.

    Raises:
        SweepError: its workers die before they can run anything.
    """
    pool = _make_pool(workers, fork=False)
    try:
        pool.submit(os.getpid).result(timeout=FRESH_POOL_SECONDS)
    except (BrokenProcessPool, cf.TimeoutError):
        pool.shutdown(wait=False, cancel_futures=True)
        raise SweepError("local worker processes die as they start: a script that calls "
                         "run_sweep needs `if __name__ == \"__main__\":`; finished runs are "
                         "stored") from None
    return pool


def _describe(exc: BaseException) -> str:
    """A failed run's error in one line: ``Type: message`` (a :class:`RunFailed`'s own text)."""
    if isinstance(exc, RunFailed):
        return " ".join(str(exc).split())
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return " ".join(last.split())


#: Dask settings for workers that run marketsim (``dask.config.set(DASK_WORKER_CONFIG)``
#: before ``LocalCluster``, or the same keys in a worker's Dask config file). The nanny's
#: ``MALLOC_TRIM_THRESHOLD_`` makes glibc unmap every large NumPy array (~1.8x the CPU time
#: at 1M buyers); the statistical profiler and frequent monitors take the GIL from the run
#: (about 6 % of a 2-worker sweep's throughput, measured side by side).
DASK_WORKER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def _trim_setting() -> str | None:
    """This process's MALLOC_TRIM_THRESHOLD_ (run on Dask workers)."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def _warn_allocator(client: Any) -> None:
    """Say so when Dask workers run with the nannies' MALLOC_TRIM_THRESHOLD_ (slow runs)."""
    try:
        values = {v for v in client.run(_trim_setting).values() if v is not None}
    except Exception:  # noqa: BLE001 - a check only: never stop a sweep for it
        return
    if values:
        from tqdm.auto import tqdm

        given = ", ".join(sorted(values))
        tqdm.write(f"note: Dask workers run with MALLOC_TRIM_THRESHOLD_={given} "
                   "(a Dask nanny default): marketsim runs take up to ~1.8x the CPU time; see "
                   "docs/sweeps.md, 'Worker settings'", file=sys.stderr)


#: Seconds to wait for a Dask scheduler to connect (the handshake gets 5 more).
CONNECT_SECONDS = 15


def _connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address`` (one clear error if unreachable)."""
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise ScenarioError("dask.distributed is not installed", key="--scheduler",
                            given=address, allowed="pip install 'dask[distributed]'") from None
    allowed = "the address 'dask scheduler' printed, tcp://HOST:PORT"
    # Client's own timeout covers connecting, not the handshake: a port that accepts and
    # then says nothing (a web server, the scheduler's dashboard) would hang it for good.
    # So the client is made in a helper thread, and given up on after a deadline.
    future: cf.Future[Any] = cf.Future()

    def attempt() -> None:
        try:
            client = Client(address, timeout=f"{CONNECT_SECONDS}s")
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)
            return
        if future.set_running_or_notify_cancel():
            future.set_result(client)
        else:  # given up on already
            client.close()

    # A daemon thread: one stuck in a handshake must not keep the process from exiting.
    threading.Thread(target=attempt, name="marketsim-connect", daemon=True).start()
    try:
        return future.result(timeout=CONNECT_SECONDS + 5)
    except cf.TimeoutError:
        if not future.cancel():  # connected just now after all: close it, never leak it
            with contextlib.suppress(Exception):
                future.result(timeout=CONNECT_SECONDS).close()
        raise ScenarioError(f"no Dask scheduler answered within {CONNECT_SECONDS + 5} s (is "
                            "it the dashboard's port, or another service?)",
                            key="--scheduler", given=address, allowed=allowed) from None
    except Exception as exc:  # noqa: BLE001 - whatever the far end sent, it is not Dask
        raise ScenarioError(f"cannot reach the Dask scheduler ({type(exc).__name__}: {exc})",
                            key="--scheduler", given=address, allowed=allowed) from None
