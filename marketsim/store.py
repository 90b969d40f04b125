"""Results directory of a sweep: Parquet datasets, a journal, a manifest and a lock.

Layout of ``DIR``::

    manifest.json            provenance and the experiment's identity (refuses other experiments)
    runs/part-*.parquet      one row per finished run   -> pandas.read_parquet(DIR / "runs")
    ticks/part-*.parquet     one row per run and tick   -> pandas.read_parquet(DIR / "ticks")
    .journal/*.journal       finished runs not yet in a part file (replayed on resume)
    .lock                    held by the sweep writing here (released when its process ends)

Crash safety. A finished run is appended to the journal (a length-prefixed pickle, flushed to
the OS) as soon as it arrives, so it survives the writer being killed; every ``batch_runs``
runs or ``flush_seconds`` seconds the buffered runs become one pair of part files. Each part
is written to a hidden temporary name and renamed into place (``os.replace``); the ticks part
is renamed before the runs part, so a runs row always has its ticks, and a run counts as
finished exactly when its runs row exists. On opening, :meth:`ResultStore.recover` deletes
temporary files and ticks parts whose runs part never arrived, then turns journal records not
yet in a runs part into part files. Readers (pandas, pyarrow) skip names that start with ``.``,
so they never see a half-written file, and no run is ever stored twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import secrets
import struct
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from marketsim.errors import ScenarioError
from marketsim.manifest import write_json_atomic

MANIFEST = "manifest.json"
RUNS = "runs"
TICKS = "ticks"
JOURNAL = ".journal"
LOCK = ".lock"
_HEADER = struct.Struct("<Q")


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


def _parts(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.name: p for p in folder.glob("part-*.parquet")}


def _damaged(parts: dict[str, Path], exc: Exception) -> ScenarioError:
    """The error for a part file that cannot be read: which one, and what to do."""
    for _, path in sorted(parts.items()):
        try:
            pq.read_schema(path).field("run_id")
        except (pa.ArrowException, OSError, KeyError) as bad:
            exc = bad
            culprit = path
            break
    else:
        culprit = next(iter(parts.values())).parent
    return ScenarioError(f"cannot read a part file ({type(exc).__name__}: {exc})",
                         file=str(culprit),
                         allowed="move it away or delete it: its runs are run again")


def has_parts(folder: str | Path) -> bool:
    """True if ``folder`` (``DIR/runs`` or ``DIR/ticks``) holds at least one part file."""
    return bool(_parts(Path(folder)))


def read_table(root: str | Path, which: str = RUNS, columns: list[str] | None = None
               ) -> pd.DataFrame:
    """Read ``DIR/runs`` or ``DIR/ticks`` as one DataFrame sorted by run (and tick).

    Equivalent to ``pandas.read_parquet(DIR / which)`` plus sorting; an empty frame if no
    part file has been written yet. Runs a sweep has finished but not yet written to Parquet
    (up to ``flush_seconds`` of them while it runs, all of them if it was killed) are still in
    its journal and not here: the next ``marketsim sweep`` on DIR writes them, and
    :class:`marketsim.report.SweepResults` (``marketsim report``) reads them too.
    """
    folder = Path(root) / which
    if not _parts(folder):
        return pd.DataFrame(columns=columns or [])
    df = pd.read_parquet(folder, columns=columns)
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
    def open(self, manifest: dict[str, Any], *, identity_keys: tuple[str, ...] = (
            "experiment_id", "marketsim_version")) -> dict[str, Any]:
        """Create the directory or check that it holds the same experiment; lock it.

        Args:
            manifest: the manifest of this sweep (written if the directory is new; else its
                ``identity_keys`` must equal the stored ones, and this session is appended to
                the stored manifest's ``sessions``).
            identity_keys: manifest fields that must match an existing directory's.

        Returns:
            The manifest now in the directory.

        Raises:
            ScenarioError: the directory holds another experiment, is not a results directory,
                or another sweep is writing to it.
        """
        root = self.root
        mpath = root / MANIFEST
        if root.exists() and not root.is_dir():
            raise ScenarioError("not a directory", file=str(root), key="--out",
                                allowed="a new or empty directory, or one this experiment "
                                "wrote")
        if root.is_dir() and not mpath.is_file() and any(root.iterdir()):
            raise ScenarioError("directory is not empty and holds no sweep manifest.json",
                                file=str(root), key="--out",
                                allowed="a new or empty directory, or one this experiment wrote")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(f"cannot create it ({exc.strerror or exc})", file=str(root),
                                key="--out", allowed="a directory you can write to") from None
        self._lock()
        session = {"command": manifest.get("command"), "created": manifest.get("created")}
        if mpath.is_file():
            try:
                old = json.loads(mpath.read_text())
            except (OSError, ValueError) as exc:
                self.close()
                raise ScenarioError(f"unreadable manifest ({exc})", file=str(mpath)) from None
            for key in identity_keys:
                if old.get(key) != manifest.get(key):
                    self.close()
                    what = ("another experiment" if key == "experiment_id"
                            else f"another {key.replace('_', ' ')}")
                    raise ScenarioError(
                        f"results directory holds {what} "
                        f"({old.get('experiment_file') or '?'}, {key} {old.get(key)})",
                        file=str(root), key=key, given=manifest.get(key),
                        allowed="the same experiment (resume) or a new --out directory")
            old.setdefault("sessions", []).append(session)
            write_json_atomic(mpath, old)
            return old
        manifest = {**manifest, "sessions": [session]}
        write_json_atomic(mpath, manifest)
        return manifest

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

    # ---------------------------------------------------------------- recovery
    def recover(self) -> int:
        """Clean up after a crash: drop temp files and orphans, replay journals.

        Returns:
            Runs recovered from journals into part files.
        """
        t0 = time.perf_counter()
        runs_dir, ticks_dir = self.root / RUNS, self.root / TICKS
        for folder in (runs_dir, ticks_dir):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
        runs, ticks = _parts(runs_dir), _parts(ticks_dir)
        for name, path in ticks.items():
            if name not in runs:  # killed between the two renames: its journal replays it
                path.unlink()
        for name, path in runs.items():
            if name not in ticks:  # ticks part removed by hand: run these again
                path.unlink()
        recovered = 0
        jdir = self.root / JOURNAL
        journals = sorted(jdir.glob("*.journal")) if jdir.is_dir() else []
        if journals:
            done = self.done_ids()
            for jpath in journals:
                for row, tick_df in _read_journal(jpath):
                    rid = int(row["run_id"].iloc[0])
                    if rid in done:
                        continue
                    done.add(rid)
                    self._rows.append(row)
                    self._ticks.append(tick_df)
                    recovered += 1
            self._write_parts()
            for jpath in journals:
                jpath.unlink()
        self.seconds += time.perf_counter() - t0
        self.written += recovered
        return recovered

    def done_ids(self) -> set[int]:
        """run_id of every run with a row in ``DIR/runs`` (finished and stored)."""
        runs_dir = self.root / RUNS
        parts = _parts(runs_dir)
        if not parts:
            return set()
        try:
            table = ds.dataset(runs_dir, format="parquet").to_table(columns=["run_id"])
        except (pa.ArrowException, OSError) as exc:
            raise _damaged(parts, exc) from None
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
        blob = pickle.dumps((row, ticks), protocol=pickle.HIGHEST_PROTOCOL)
        self._journal.write(_HEADER.pack(len(blob)) + blob)
        self._journal.flush()
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
            if self._lock_fh is not None:
                try:
                    fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
                finally:
                    self._lock_fh.close()
                    self._lock_fh = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_journal(path: Path) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Records of a journal file; a record cut short by a crash (the last one) is dropped."""
    out: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    data = path.read_bytes()
    pos = 0
    while pos + _HEADER.size <= len(data):
        (n,) = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        if pos + n > len(data):
            break
        try:
            out.append(pickle.loads(data[pos:pos + n]))
        except Exception:  # noqa: BLE001 - a damaged record: that run is simply run again
            break
        pos += n
    return out


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


def journal_runs(root: str | Path, exclude: set[int] | None = None,
                 ) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Finished runs still only in the journal (not yet in a part file), read without a lock.

    A sweep running now, or killed before its last flush, holds up to a minute of finished
    runs there. Each is ``(row, ticks)`` as :meth:`ResultStore.add` took it; run_ids in
    ``exclude`` (already in ``runs``) are left out, and each run appears once.
    """
    jdir = Path(root) / JOURNAL
    seen = set(exclude or ())
    out = []
    for jpath in sorted(jdir.glob("*.journal")) if jdir.is_dir() else []:
        try:
            records = _read_journal(jpath)
        except FileNotFoundError:  # flushed meanwhile: its runs are in a part now
            continue
        for row, ticks in records:
            run_id = int(row["run_id"].iloc[0])
            if run_id not in seen:
                seen.add(run_id)
                out.append((row, ticks))
    return out


def finished_runs(root: str | Path) -> int:
    """Runs finished in a results directory (what a resume would keep); cheap enough to poll.

    Rows in ``runs`` plus journal records not yet in a part file.
    """
    done = ResultStore(Path(root)).done_ids()
    return len(done) + len(journal_runs(root, exclude=done))
