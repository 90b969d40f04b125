"""Results directory of a sweep: Parquet datasets, a journal, a manifest and a lock.

Layout of ``DIR``::

    manifest.json            provenance and the experiment's identity (refuses other experiments)
    runs/part-*.parquet      one row per finished run   -> pandas.read_parquet(DIR / "runs")
    ticks/part-*.parquet     one row per run and tick   -> pandas.read_parquet(DIR / "ticks")
    .journal/*.journal       finished runs not yet in a part file (replayed on resume)
    failures/<run_id>.json   a failed run: error, traceback, replay command (marketsim.failures)
    set_aside/               part files found damaged, duplicated or foreign on opening
    .lock                    held by the sweep writing here (released when its process ends)

Crash safety. A finished run is appended to the journal (a length-prefixed pickle, flushed to
the OS) as soon as it arrives, so it survives the writer being killed; every ``batch_runs``
runs or ``flush_seconds`` seconds the buffered runs become one pair of part files. Each part
is written to a hidden temporary name and renamed into place (``os.replace``); the ticks part
is renamed before the runs part, so a runs row always has its ticks, and a run counts as
finished exactly when its runs row exists. On opening, :meth:`ResultStore.recover` deletes
temporary files and ticks parts whose runs part never arrived, then turns journal records not
yet in a runs part into part files. Readers (pandas, pyarrow) skip names that start with ``.``,
so they never see a half-written file, and no run is ever stored twice. Before that, every
part file is checked (:func:`marketsim.store_check.heal`): one that is damaged, a copy, or not
of this sweep is set aside into ``set_aside/`` and its runs are run again.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from marketsim.errors import ScenarioError
from marketsim.journal import append_record, journal_runs, read_journal
from marketsim.manifest import write_json_atomic
from marketsim.store_check import JOURNAL, RUNS, TICKS, damaged, discard, heal, refusal
from marketsim.store_check import parts as _parts

MANIFEST = "manifest.json"
LOCK = ".lock"
_NOT_OURS = "a new or empty directory, or one this experiment wrote"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` via a hidden temporary file, fsync and rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table = pa.Table.from_pandas(df, preserve_index=False)
    with open(tmp, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def has_parts(folder: str | Path) -> bool:
    """True if ``folder`` (``DIR/runs`` or ``DIR/ticks``) holds at least one part file."""
    return bool(_parts(Path(folder)))


def read_table(root: str | Path, which: str = RUNS, columns: list[str] | None = None
               ) -> pd.DataFrame:
    """Read ``DIR/runs`` or ``DIR/ticks`` as one DataFrame sorted by run (and tick).

    Equivalent to ``pandas.read_parquet(DIR / which)`` plus sorting; an empty frame if no
    part file has been written yet; a part file that cannot be read is named in one
    :class:`~marketsim.ScenarioError` line. Runs a sweep has finished but not yet written to Parquet
    (up to ``flush_seconds`` of them while it runs, all of them if it was killed) are still in
    its journal and not here: the next ``marketsim sweep`` on DIR writes them, and
    :class:`marketsim.report.SweepResults` (``marketsim report``) reads them too.
    """
    folder = Path(root) / which
    parts = _parts(folder)
    if not parts:
        return pd.DataFrame(columns=columns or [])
    try:
        df = pd.read_parquet(folder, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise damaged(parts, exc) from None
    keys = [k for k in ("run_id", "tick") if k in df.columns]
    return df.sort_values(keys).reset_index(drop=True) if keys else df


class ResultStore:
    """Writes finished runs into a results directory, crash-safely and in batches.

    Args:
        root: the results directory.
        batch_runs: runs per part file (at most).
        flush_seconds: write a part file at least this often while runs arrive.

    Attributes:
        seconds: wall time spent storing (journal and part files), s.
        written: runs stored by this object (journal replays included).
    """

    def __init__(self, root: str | Path, *, batch_runs: int = 1000,
                 flush_seconds: float = 60.0) -> None:
        self.root = Path(root)
        self.batch_runs = max(1, int(batch_runs))
        self.flush_seconds = float(flush_seconds)
        self.seconds = 0.0
        self.written = 0
        self._session = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
        self._seq = 0
        self._rows: list[pd.DataFrame] = []
        self._ticks: list[pd.DataFrame] = []
        self._first_at: float | None = None
        self._journal: Any = None
        self._journal_path: Path | None = None
        self._lock_fh: Any = None

    # ----------------------------------------------------------------- opening
    def open(self, manifest: dict[str, Any], *, restart: bool = False) -> dict[str, Any]:
        """Create the directory or check that it holds the same experiment; lock it.

        Every check comes before anything is written: a refused sweep leaves no file behind
        (no ``.lock`` either, which would keep ``marketsim run --out`` from the folder).

        Args:
            manifest: the manifest of this sweep (written if the directory is new; else the
                stored one must be of the same experiment and marketsim version, and this
                session is appended to its ``sessions``).
            restart: discard the directory's results and start over (the directory must
                still be a sweep's, or new, or empty).

        Returns:
            The manifest now in the directory.

        Raises:
            ScenarioError: the directory holds another experiment (naming a file whose
                content changed), is not a sweep's results directory, or another sweep is
                writing to it.
        """
        self._check(manifest, restart)  # nothing written yet
        root = self.root
        made_root = not root.exists()
        made_lock = not (root / LOCK).exists()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(f"cannot create it ({exc.strerror or exc})", file=str(root),
                                key="--out", allowed="a directory you can write to") from None
        try:
            self._lock()
            old = self._check(manifest, restart)  # again: written meanwhile, before the lock?
        except BaseException:
            self._forget(made_root, made_lock)
            raise
        session = {"command": manifest.get("command"), "created": manifest.get("created")}
        if restart:
            discard(root)
        if old is None or restart:
            old = {**manifest, "sessions": []}
        old.setdefault("sessions", []).append(session)
        write_json_atomic(root / MANIFEST, old)
        return old

    def _check(self, manifest: dict[str, Any], restart: bool) -> dict[str, Any] | None:
        """The stored manifest (None: a new or empty directory), if it may take this sweep."""
        root, mpath = self.root, self.root / MANIFEST
        if root.exists() and not root.is_dir():
            raise ScenarioError("not a directory", file=str(root), key="--out",
                                allowed=_NOT_OURS)
        if not mpath.is_file():
            if root.is_dir() and any(p.name != LOCK for p in root.iterdir()):
                raise ScenarioError("directory is not empty and holds no sweep manifest.json",
                                    file=str(root), key="--out", allowed=_NOT_OURS)
            return None
        try:
            old = json.loads(mpath.read_text())
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"unreadable manifest ({exc})", file=str(mpath)) from None
        why = refusal(old if isinstance(old, dict) else {}, manifest, root, restart=restart)
        if why is not None:
            raise why
        return old

    def _forget(self, made_root: bool, made_lock: bool) -> None:
        """After a refusal: release the lock and remove what this object created."""
        held = self._lock_fh is not None
        self._unlock()
        if held and made_lock:
            (self.root / LOCK).unlink(missing_ok=True)
        if made_root and not any(self.root.iterdir()):
            self.root.rmdir()

    def _lock(self) -> None:
        fh = open(self.root / LOCK, "a+")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            who = fh.read().strip() or "?"
            fh.close()
            raise ScenarioError(f"another sweep is writing to this directory (pid {who})",
                                file=str(self.root), key="--out",
                                allowed="wait for it to finish, or another directory") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock_fh = fh

    def _unlock(self) -> None:
        if self._lock_fh is not None:
            try:
                fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            finally:
                self._lock_fh.close()
                self._lock_fh = None

    # ---------------------------------------------------------------- recovery
    def recover(self, expected: dict[int, int] | None = None) -> list[str]:
        """Clean up after a crash and check the part files; replay journals.

        Deletes temporary files, sets aside part files that are damaged, copies or not of
        this sweep (:func:`marketsim.store_check.heal`), then writes journal records not yet
        in a runs part into part files.

        Args:
            expected: run_id -> seed of the sweep's plan (None: runs are not checked
                against a plan).

        Returns:
            One line per file set aside.
        """
        t0 = time.perf_counter()
        for folder in (self.root / RUNS, self.root / TICKS):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
        notes = heal(self.root, expected)
        self._replay_journals()
        self.seconds += time.perf_counter() - t0
        return notes

    def _replay_journals(self) -> None:
        """Write journal records of runs not in a runs part into part files; drop journals."""
        jdir = self.root / JOURNAL
        journals = sorted(jdir.glob("*.journal")) if jdir.is_dir() else []
        if not journals:
            return
        done = self.done_ids()
        for jpath in journals:
            for row, tick_df in read_journal(jpath):
                rid = int(row["run_id"].iloc[0])
                if rid not in done:
                    done.add(rid)
                    self._rows.append(row)
                    self._ticks.append(tick_df)
                    self.written += 1
        self._write_parts()
        for jpath in journals:
            jpath.unlink()

    def done_ids(self) -> set[int]:
        """run_id of every run with a row in ``DIR/runs`` (finished and stored)."""
        runs_dir = self.root / RUNS
        parts = _parts(runs_dir)
        if not parts:
            return set()
        try:
            table = ds.dataset(runs_dir, format="parquet").to_table(columns=["run_id"])
        except (pa.ArrowException, OSError) as exc:
            raise damaged(parts, exc) from None
        return set(table.column("run_id").to_pylist())

    # ----------------------------------------------------------------- writing
    def add(self, row: pd.DataFrame, ticks: pd.DataFrame) -> None:
        """Store one finished run: ``row`` (one row, with ``run_id``) and its tick table.

        The run is in the journal when this returns; it reaches the Parquet datasets with the
        next batch.
        """
        t0 = time.perf_counter()
        if self._journal is None:
            jdir = self.root / JOURNAL
            jdir.mkdir(exist_ok=True)
            self._journal_path = jdir / f"{self._session}-{self._seq:05d}.journal"
            self._journal = open(self._journal_path, "ab")  # noqa: SIM115 - closed in flush
        append_record(self._journal, row, ticks)
        self._rows.append(row)
        self._ticks.append(ticks)
        if self._first_at is None:
            self._first_at = time.monotonic()
        self.written += 1
        due = (len(self._rows) >= self.batch_runs
               or time.monotonic() - self._first_at >= self.flush_seconds)
        self.seconds += time.perf_counter() - t0
        if due:
            self.flush()

    def flush(self) -> None:
        """Write buffered runs as one pair of part files and drop their journal."""
        t0 = time.perf_counter()
        self._write_parts()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
            assert self._journal_path is not None
            self._journal_path.unlink(missing_ok=True)
            self._journal_path = None
        self.seconds += time.perf_counter() - t0

    def _write_parts(self) -> None:
        if not self._rows:
            return
        name = f"part-{self._session}-{self._seq:05d}.parquet"
        self._seq += 1
        runs_dir, ticks_dir = self.root / RUNS, self.root / TICKS
        runs_dir.mkdir(exist_ok=True)
        ticks_dir.mkdir(exist_ok=True)
        rows = pd.concat(self._rows, ignore_index=True)
        ticks = pd.concat(self._ticks, ignore_index=True)
        write_parquet_atomic(ticks, ticks_dir / name)  # ticks first: see module docstring
        write_parquet_atomic(rows, runs_dir / name)
        _fsync_dir(ticks_dir)
        _fsync_dir(runs_dir)
        self._rows.clear()
        self._ticks.clear()
        self._first_at = None

    def close(self) -> None:
        """Flush what is buffered and release the directory's lock."""
        try:
            if self._rows or self._journal is not None:
                self.flush()
            jdir = self.root / JOURNAL
            if jdir.is_dir() and not any(jdir.iterdir()):
                jdir.rmdir()
        finally:
            self._unlock()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of a results directory.

    Raises:
        ScenarioError: no such directory, or it holds no readable manifest.json.
    """
    root = Path(root)
    if not root.is_dir():
        raise ScenarioError("results directory not found", file=str(root),
                            allowed="a directory written by 'marketsim sweep --out DIR'")
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise ScenarioError("no manifest.json: not a sweep's results directory", file=str(root),
                            allowed="a directory written by 'marketsim sweep --out DIR'")
    try:
        return json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"unreadable manifest ({exc})", file=str(mpath)) from None


def finished_runs(root: str | Path) -> int:
    """Runs finished in a results directory (what a resume would keep); cheap enough to poll.

    Rows in ``runs`` plus journal records not yet in a part file.
    """
    done = ResultStore(Path(root)).done_ids()
    return len(done) + len(journal_runs(root, exclude=done))
