"""Sweeps on a Dask cluster: connecting to a scheduler, and the worker settings marketsim wants.

Runs go to the cluster through ``Client.get_executor(pure=False)``, a
:class:`concurrent.futures.Executor` like any other (see :mod:`marketsim.evaluators`).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import sys
import threading
from typing import Any

from marketsim.errors import ScenarioError

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


def trim_setting() -> str | None:
    """This process's MALLOC_TRIM_THRESHOLD_ (run on Dask workers)."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def warn_allocator(client: Any) -> None:
    """Say so when Dask workers run with the nannies' MALLOC_TRIM_THRESHOLD_ (slow runs)."""
    try:
        values = {v for v in client.run(trim_setting).values() if v is not None}
    except Exception:  # noqa: BLE001 - a check only: never stop a sweep for it
        return
    if values:
        from tqdm.auto import tqdm

        given = ", ".join(sorted(values))
        tqdm.write(f"note: Dask workers run with MALLOC_TRIM_THRESHOLD_={given} "
                   "(a Dask nanny default): marketsim runs take up to ~1.8x the CPU time; see "
                   "docs/sweeps.md, 'Worker settings'", file=sys.stderr)


def warn_no_workers(client: Any, address: str) -> None:
    """Say so when the scheduler has no worker yet: the sweep waits for one to join."""
    try:
        workers = client.scheduler_info().get("workers", {})
    except Exception:  # noqa: BLE001 - a check only: never stop a sweep for it
        return
    if not workers:
        from tqdm.auto import tqdm

        tqdm.write(f"note: the Dask scheduler {address} has no workers yet; the runs start when "
                   f"one joins ('dask worker {address}'); Ctrl-C stops here, and the same "
                   "command resumes", file=sys.stderr)


def _check_port(address: str) -> None:
    """Refuse at once an address whose port cannot exist (1-65535), rather than time out."""
    host, _, port = address.rpartition(":")
    if host and port.isdigit() and not 0 < int(port) < 65536:
        raise ScenarioError("no such port", key="--scheduler", given=address,
                            allowed="tcp://HOST:PORT with a port from 1 to 65535")


#: Seconds to wait for a Dask scheduler to connect (the handshake gets 5 more).
CONNECT_SECONDS = 15


def connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address`` (one clear error if unreachable)."""
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise ScenarioError("dask.distributed is not installed", key="--scheduler",
                            given=address, allowed="pip install 'dask[distributed]'") from None
    _check_port(address)
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
