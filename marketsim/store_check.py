"""Checks of a results directory on opening: is it ours, and are its part files sound?

- :func:`refusal`: why a directory cannot take this sweep (another experiment, a file whose
  content changed, another marketsim version, a ``marketsim run`` folder), as one line with
  the ways forward.
- :func:`heal`: every runs part must be readable, hold runs of this sweep's plan not stored
  in another part, and have a readable ticks part of the same runs. A part that fails is set
  aside into ``DIR/set_aside/`` (readers of ``runs/`` and ``ticks/`` no longer see it) with
  one line saying so; the runs it held are then missing and run again. So
  ``pandas.read_parquet(DIR / "runs")`` has one row per run.
- :func:`usable`: the same checks for a reader, moving nothing: the parts to read.
- :func:`discard`: ``--restart`` empties the directory of results.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from marketsim.errors import ScenarioError

RUNS = "runs"
TICKS = "ticks"
JOURNAL = ".journal"
SET_ASIDE = "set_aside"
FAILURES = "failures"
REPORT = "report"

#: The names :class:`marketsim.store.ResultStore` gives its part files (session, sequence).
OUR_PART = re.compile(r"part-\d{8}T\d{6}-\d+-[0-9a-f]{6}-\d{5}\.parquet")

_RESTART = ("a new --out folder, or --restart (marketsim sweep EXPERIMENT --out DIR "
            "--restart) to discard these results and start over")


def parts(folder: Path) -> dict[str, Path]:
    """The part files of ``DIR/runs`` or ``DIR/ticks`` by name."""
    if not folder.is_dir():
        return {}
    return {p.name: p for p in folder.glob("part-*.parquet")}


# ------------------------------------------------------------------------------ damage
def damaged(parts: dict[str, Path], exc: Exception) -> ScenarioError:
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
                         allowed="run the same 'marketsim sweep' command again: it sets the "
                         "file aside and runs its runs again")



# ------------------------------------------------------------------------------ provenance
def _files(manifest: dict[str, Any]) -> dict[str, str | None]:
    """Input file -> content hash, as a manifest records them."""
    files = {manifest.get("experiment_file"): manifest.get("experiment_file_hash"),
             manifest.get("scenario_file"): manifest.get("scenario_file_hash"),
             **(manifest.get("scenario_files") or {})}
    return {k: v for k, v in files.items() if k}


def refusal(old: dict[str, Any], new: dict[str, Any], root: Path, *,
            restart: bool = False) -> ScenarioError | None:
    """Why the directory whose manifest is ``old`` cannot take the sweep of ``new`` (or None).

    With ``restart`` only a directory that is not a sweep's is refused.
    """
    kind = old.get("kind")
    if kind is not None and kind != "sweep":
        return ScenarioError(f"the folder holds the results of 'marketsim {kind}', not of a "
                             "sweep", file=str(root), key="--out",
                             allowed="a new or empty folder, or one this sweep wrote")
    if restart:
        return None
    if old.get("marketsim_version") != new.get("marketsim_version"):
        return ScenarioError(f"results written by marketsim {old.get('marketsim_version')}; "
                             f"this is marketsim {new.get('marketsim_version')}",
                             file=str(root), key="marketsim_version", allowed=_RESTART)
    if old.get("experiment_id") == new.get("experiment_id"):
        return None
    before, now = _files(old), _files(new)
    changed = [f"{path} (sha256 {before[path]} then, {now[path]} now)"
               for path in now if path in before and before[path] != now[path]]
    if changed:
        return ScenarioError("the content of " + " and of ".join(changed) + " changed since "
                             "these results were written", file=str(root), key="--out",
                             allowed=_RESTART)
    return ScenarioError(f"results directory holds another experiment "
                         f"({old.get('experiment_file') or '?'}, experiment_id "
                         f"{old.get('experiment_id')})", file=str(root), key="experiment_id",
                         given=new.get("experiment_id"),
                         allowed="the same experiment (resume), " + _RESTART)


# ------------------------------------------------------------------------------ setting aside
def set_aside(root: Path, paths: list[Path], why: str) -> str:
    """Move ``paths`` (in ``runs/`` or ``ticks/``) to ``root/set_aside/``; the line saying so."""
    moved = []
    for path in paths:
        folder = root / SET_ASIDE / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        dest, n = folder / path.name, 1
        while dest.exists():
            dest, n = folder / f"{path.stem}.{n}{path.suffix}", n + 1
        os.replace(path, dest)
        moved.append(f"{path.parent.name}/{path.name} -> {dest.relative_to(root)}")
    return f"{root}: set aside {' and '.join(moved)}: {why}"


def _strays(folder: Path) -> list[Path]:
    """Files a reader of the folder would read that are not part files (hidden ones are not)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith((".", "_")) and not re.fullmatch(
                      r"part-.*\.parquet", p.name))


def _read_runs(path: Path) -> tuple[list[int], list[int], list[str]] | str:
    """run_id, seed and column names of a runs part, or why it cannot be used."""
    try:
        table = pq.read_table(path)
        return (table.column("run_id").to_pylist(), table.column("seed").to_pylist(),
                table.schema.names)
    except (pa.ArrowException, OSError, KeyError) as exc:
        return f"cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())})"


def _ticks_problem(path: Path | None, ids: set[int]) -> str | None:
    """Why the ticks part of the runs ``ids`` cannot be used (None: it can)."""
    if path is None:
        return "a runs part without its ticks part"
    try:
        got = set(pq.read_table(path, columns=["run_id"]).column("run_id").to_pylist())
    except (pa.ArrowException, OSError, KeyError) as exc:
        return (f"its ticks part cannot be read ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())})")
    return None if got == ids else "its ticks part holds other runs than its runs part"


class _Checker:
    """Checks runs parts one by one against the plan and the parts accepted before."""

    def __init__(self, expected: dict[int, int] | None, *, with_ticks: bool = True) -> None:
        self.expected = expected
        self.with_ticks = with_ticks
        self.seen: set[int] = set()
        self.columns: list[str] | None = None

    def problem(self, runs_path: Path, ticks_path: Path | None) -> str | None:
        read = _read_runs(runs_path)
        if isinstance(read, str):
            return f"{read}; its runs are run again"
        ids, seeds, columns = read
        if self.expected is not None and any(
                self.expected.get(i) != s for i, s in zip(ids, seeds, strict=True)):
            return "holds runs that are not this sweep's (run_id or seed not in its plan)"
        if len(set(ids)) != len(ids) or self.seen.intersection(ids):
            return "holds runs already stored in another part (a copy?)"
        if self.columns is not None and columns != self.columns:
            return "its columns differ from the other parts'; its runs are run again"
        why = _ticks_problem(ticks_path, set(ids)) if self.with_ticks else None
        if why is None:
            self.seen.update(ids)
            self.columns = columns
            return None
        return f"{why}; its runs are run again"


def heal(root: Path, expected: dict[int, int] | None = None) -> list[str]:
    """Set aside every part file that cannot be used (see the module's docstring).

    A ticks part with a part name of ours and no runs part is the trace of a sweep killed
    between the two renames of a flush: it is deleted (its runs are in the journal).

    Args:
        root: the results directory.
        expected: run_id -> seed of this sweep's plan (None: not checked).

    Returns:
        One line per file, or pair of files, set aside.
    """
    _, left = usable(root, expected)
    runs = parts(root / RUNS)
    for name, path in parts(root / TICKS).items():
        if name not in runs and OUR_PART.fullmatch(name):
            path.unlink()
    return [set_aside(root, files, why) for files, why in left]


def usable(root: Path, expected: dict[int, int] | None = None, *, with_ticks: bool = True
           ) -> tuple[list[str], list[tuple[list[Path], str]]]:
    """What :func:`heal` would keep and set aside, found without moving or deleting anything.

    For readers of a directory a sweep may be writing to (``marketsim report``): the same
    checks, in the same order, so a reader counts the runs a resumed sweep would keep.

    Args:
        root: the results directory.
        expected: run_id -> seed of the sweep's plan (None: not checked).
        with_ticks: False when the directory keeps no tick tables: runs parts are then not
            checked against ticks parts.

    Returns:
        The names of the runs parts to read (their ticks parts have the same names), and the
        files :func:`heal` would set aside, each group with why.
    """
    runs = parts(root / RUNS)  # listed before ticks: a sweep renames ticks parts in first
    ticks = parts(root / TICKS)
    left = [([p], "not a part file of this sweep")
            for p in _strays(root / RUNS) + _strays(root / TICKS)]
    left += [([path], "a ticks part without its runs part") for name, path in
             sorted(ticks.items()) if name not in runs and not OUR_PART.fullmatch(name)]
    checker, kept = _Checker(expected, with_ticks=with_ticks), []
    for name in sorted(runs, key=lambda n: (OUR_PART.fullmatch(n) is None, n)):
        why = checker.problem(runs[name], ticks.get(name))
        if why is None:
            kept.append(name)
        else:
            left.append(([p for p in (runs[name], ticks.get(name)) if p is not None], why))
    return kept, left


def discard(root: Path) -> None:
    """Remove the results of a directory (``--restart``): runs, ticks, journal, failures, ...

    Each is first renamed into one hidden folder, so that a failure half-way leaves either
    the results or nothing of them in their places.
    """
    trash = root / f".discarded-{os.getpid()}"
    trash.mkdir(exist_ok=True)
    for name in (RUNS, TICKS, JOURNAL, FAILURES, SET_ASIDE, REPORT):
        if (root / name).exists():
            os.replace(root / name, trash / name.lstrip("."))
    shutil.rmtree(trash, ignore_errors=True)
