"""Local worker processes for sweeps: how they start, watch their parent and are stopped.

Workers are forked from the sweep's process where that is safe (they start at once, with
marketsim and the user's agent classes imported), else they come from a forkserver. A pool
that replaces a broken one never forks: the results directory's lock and journal are open.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from marketsim.errors import SweepError

#: Seconds a new local pool may take to run its first task (a forkserver imports marketsim).
FRESH_POOL_SECONDS = 120


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
    itself (:func:`stop_pool`), without a traceback from each. Pool workers would otherwise
    wait for work forever once the sweep is killed (those of a forkserver are not even the
    sweep's children).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while _alive(pid):
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="marketsim-parent-watch", daemon=True).start()


def _start_method(fork: bool) -> str:
    """``fork`` where it is safe (Linux, allowed, no other Python thread), else forkserver."""
    methods = multiprocessing.get_all_start_methods()
    if (fork and sys.platform.startswith("linux") and "fork" in methods
            and threading.active_count() == 1):
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _start_forked(pool: cf.ProcessPoolExecutor) -> None:
    """Start every worker of a fork pool now (it starts them all at its first task)."""
    try:
        with warnings.catch_warnings():
            # Python warns of any thread at a fork, also the native ones NumPy's BLAS and
            # pyarrow's allocator start at import; those install their own fork handlers,
            # and no Python thread runs here.
            warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead",
                                    category=DeprecationWarning)
            gc.freeze()  # the workers' garbage collector leaves this process's objects be
            try:
                pool.submit(os.getpid)
            finally:
                gc.unfreeze()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def make_pool(workers: int, *, fork: bool = True) -> cf.ProcessPoolExecutor:
    """A local process pool of ``workers`` processes.

    Forked from this process where that is safe (Linux, ``fork`` allowed, and no other
    Python thread running here): the workers start at once, with marketsim and the
    scenario's agent classes already imported, and are all started before this returns, so
    later threads (the pool's own) cannot be forked with them. Otherwise (e.g. in a Jupyter
    kernel, which runs threads) they come from a forkserver that imports marketsim once
    (about a second), or are spawned where there is no forkserver.
    """
    method = _start_method(fork)
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["marketsim.evaluators", "marketsim.model"])
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=_watch_parent, initargs=(os.getpid(),))
    if method == "fork":
        _start_forked(pool)
    return pool


def fresh_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool to replace a broken one, checked to run a task.

    Not forked: the results directory's lock and journal are open in this process now.

    Raises:
        SweepError: its workers die before they can run anything.
    """
    pool = make_pool(workers, fork=False)
    try:
        pool.submit(os.getpid).result(timeout=FRESH_POOL_SECONDS)
    except (BrokenProcessPool, cf.TimeoutError):
        pool.shutdown(wait=False, cancel_futures=True)
        raise SweepError("local worker processes die as they start: a script that calls "
                         "run_sweep needs `if __name__ == \"__main__\":`; finished runs are "
                         "stored") from None
    return pool


def stop_pool(pool: cf.ProcessPoolExecutor, others: set[Any]) -> None:
    """Stop a local pool at once (on Ctrl-C): its runs in flight are lost either way.

    Terminates this process's worker processes that are not in ``others`` (the children it
    had before the pool), then shuts the pool down without waiting.
    """
    for proc in multiprocessing.active_children():
        if proc not in others:
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


class InterruptGuard:
    """After a first Ctrl-C, ignore more until the clean-up is done.

    A second Ctrl-C must not cut the clean-up short (workers left running, finished runs not
    written). Python can only do this in the main thread; the previous handler comes back on
    exit (run from a notebook, the kernel's interrupt works again).
    """

    def __init__(self) -> None:
        self._previous: Any = None
        self._held = False

    def hold(self) -> None:
        """Ignore Ctrl-C from now until this guard's ``with`` block ends."""
        if not self._held and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            self._held = True

    def __enter__(self) -> InterruptGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._held:
            signal.signal(signal.SIGINT, self._previous)
            self._held = False

