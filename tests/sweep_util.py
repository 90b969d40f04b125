"""Helpers for the sweep tests: tiny experiments, a real local Dask cluster, a custom lab."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from marketsim import AILab

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


class SweepTestLab(AILab):
    """A user's lab class (prices 10% above the built-in rule): must reach every worker."""

    def set_price(self) -> float:
        return 1.1 * super().set_price()


class FailingLab(AILab):
    """Raises when the scenario's fixed cost is 0.031 (a run that fails on every attempt)."""

    def set_price(self) -> float:
        if self.model.scenario_config.labs.fixed_cost == 0.031:
            raise RuntimeError("this lab fails on purpose")
        return super().set_price()


class CrashOnceLab(AILab):
    """Kills its worker process once: when the file named in the scenario's description exists
    (``description = "crash-once:/path"``), it deletes it and exits without a word."""

    def set_price(self) -> float:
        desc = self.model.scenario_config.description
        if desc.startswith("crash-once:"):
            flag = Path(desc.partition(":")[2])
            try:
                flag.unlink()
            except FileNotFoundError:
                pass
            else:
                os._exit(1)
        return super().set_price()


class DyingLab(AILab):
    """Ends its process (``os._exit``) when the scenario's margin is 0.8, as an OOM kill would."""

    def set_price(self) -> float:
        if self.model.scenario_config.hyperscalers.margin == 0.8:
            os._exit(3)
        return super().set_price()


class NaNSplitLab(AILab):
    """Returns NaN from a decision when the scenario's margin is 0.8 (a DecisionError)."""

    def split_compute(self) -> float:
        if self.model.scenario_config.hyperscalers.margin == 0.8:
            return math.nan
        return super().split_compute()


class TwoPartError(Exception):
    """A user's exception whose ``__init__`` pickle cannot call again (two arguments)."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


class OddErrorLab(AILab):
    """Raises :class:`TwoPartError` when the scenario's switching cost is 2.0."""

    def set_price(self) -> float:
        if self.model.scenario_config.buyers.switching_cost == 2.0:
            raise TwoPartError("price", "cannot be set")
        return super().set_price()


class SlowLab(AILab):
    """Takes 50 ms to set a price: a run lasts seconds (for interrupting sweeps)."""

    def set_price(self) -> float:
        time.sleep(0.05)
        return super().set_price()


def experiment_text(*, method: str = "grid", parameters: str | None = None,
                    samples: int | None = None, replications: int = 2, seed: int = 5,
                    horizon: int = 12, buyers: int = 500, scenario: str = "small",
                    extra: str = "") -> str:
    """TOML of a tiny experiment on the shipped small scenario (500 buyers, 12 months).

    ``scenario``: a file or name, or TOML text as is when it starts with ``[`` or ``"`` (a
    list of scenarios).
    """
    if not scenario.startswith(("[", '"')):
        scenario = f'"{scenario}"'
    if parameters is None:
        parameters = ('"hyperscalers.margin" = [0.0, 0.8]\n'
                      '"buyers.switching_cost" = [0.0, 2.0]\n') if method == "grid" else (
                      '"hyperscalers.margin" = { low = 0.0, high = 1.5 }\n'
                      '"capability.open_weight_lag" = { low = 0, high = 24 }\n')
    design = f'method = "{method}"\n' + (f"samples = {samples}\n" if samples else "")
    return (f"scenario = {scenario}\nhorizon = {horizon}\nreplications = {replications}\n"
            f"seed = {seed}\n{extra}\n[design]\n{design}\n[parameters]\n{parameters}\n"
            f'[fixed]\n"buyers.count" = {buyers}\n')


def write_experiment(folder: Path, name: str = "exp.toml", **kwargs: Any) -> Path:
    """Write :func:`experiment_text` to ``folder/name``; return the path."""
    path = folder / name
    path.write_text(experiment_text(**kwargs), encoding="utf-8")
    return path


def read_sorted(root: Path, which: str = "runs") -> pd.DataFrame:
    """``pandas.read_parquet(root / which)`` (the contract's way) sorted by run and tick."""
    df = pd.read_parquet(root / which)
    keys = ["run_id", "tick"] if which == "ticks" else ["run_id"]
    return df.sort_values(keys).reset_index(drop=True)


def same_results(a: Path, b: Path) -> None:
    """Assert that two results directories hold the same runs and ticks tables."""
    pd.testing.assert_frame_equal(read_sorted(a), read_sorted(b))
    pd.testing.assert_frame_equal(read_sorted(a, "ticks"), read_sorted(b, "ticks"))


def reference_sweep(folder: Path) -> tuple[Path, Path, Any]:
    """A finished serial sweep in ``folder/serial``: 4 grid points x 2 seeds, 500 buyers,
    12 months; returns the experiment file, the results directory and the SweepResult."""
    from marketsim import run_sweep

    exp = write_experiment(folder)
    res = run_sweep(exp, folder / "serial", workers=1, progress=False)
    assert res.complete and not res.failed
    return exp, folder / "serial", res


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[Any], *, group: bool = False, timeout: float = 10) -> None:
    """Stop a process we started, by its PID (or its process group): SIGTERM, then SIGKILL."""
    kill = os.killpg if group else os.kill
    if group or proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)


class DaskCluster:
    """A real Dask cluster: ``dask scheduler`` and worker processes on 127.0.0.1.

    Workers import this tests folder (PYTHONPATH), like a user's installed agent classes.
    """

    def __init__(self, n_workers: int = 2, log_dir: Path | None = None) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.n_workers = n_workers
        self.log_dir = log_dir
        self.scheduler: subprocess.Popen[Any] | None = None
        self.workers: list[subprocess.Popen[Any]] = []

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[Any]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(TESTS), str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        log = open(self.log_dir / f"{name}.log", "wb") if self.log_dir else subprocess.DEVNULL  # noqa: SIM115
        return subprocess.Popen([str(BIN / "dask"), *args], env=env, cwd=str(REPO),
                                stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> DaskCluster:
        self.scheduler = self._spawn(["scheduler", "--host", "127.0.0.1", "--port",
                                      str(self.port), "--dashboard-address", "127.0.0.1:0"],
                                     "scheduler")
        for i in range(self.n_workers):
            self.workers.append(self._spawn(
                ["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-nanny", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}",
                 "--memory-limit", "0"], f"worker{i}"))
        from dask.distributed import Client

        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(self.address, timeout="5s") as c:
                    c.wait_for_workers(self.n_workers, timeout=90)
                break
            except OSError:
                if time.monotonic() > deadline or self.scheduler.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.5)
        return self

    def stop(self) -> None:
        for p in self.workers:
            stop(p)
        if self.scheduler is not None:
            stop(self.scheduler)

    def __enter__(self) -> DaskCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def dask_cluster(n_workers: int = 2, log_dir: Path | None = None) -> Iterator[DaskCluster]:
    """Start a :class:`DaskCluster`, always stop it."""
    cluster = DaskCluster(n_workers, log_dir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def wait_for(predicate: Any, timeout: float = 60.0, every: float = 0.05) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` s; return whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
