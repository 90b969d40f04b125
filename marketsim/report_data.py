"""A sweep's results directory read back for ``marketsim report``.

Reads the result layout of the contract: ``DIR/manifest.json``, the part files of
``DIR/runs`` and ``DIR/ticks`` (read with :func:`pandas.read_parquet`) and the failed runs'
``DIR/failures/<run_id>.json``; plus the runs a sweep has finished but not yet flushed to
Parquet, through the store's reader of its journal. The part files pass the checks a resumed
sweep applies (:func:`marketsim.store_check.usable`): one that is damaged, a copy, of another
experiment or without its ticks part is left out with one line saying so (the sweep sets it
aside), so no run counts twice and no other experiment's run counts. Every other file that
cannot be read becomes one :class:`~marketsim.ScenarioError` naming it (the command line:
exit 2, no traceback).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from marketsim.errors import ScenarioError
from marketsim.failures import FAILURES, failure_reasons

#: Reporters that count events of one month; the report adds their totals over each run,
#: from the tick table, as ``<name>_total`` (their final value is only the last month's).
MONTHLY_COUNTS: tuple[str, ...] = ("entries", "exits_bankrupt", "exits_acquired")
#: Outputs summarised per design point and over all runs (those kept by the sweep): final
#: values, and the run totals of :data:`MONTHLY_COUNTS`.
KEY_OUTPUTS: tuple[str, ...] = (
    "hhi_revenue", "cr1_revenue", "bimodality", "middle_share", "active_labs",
    "owned_compute_share", "leader_run_rate", "price_per_mtok", "entries_total",
    "exits_bankrupt_total", "exits_acquired_total",
)
_SWEEP_DIR = "a directory written by 'marketsim sweep --out DIR'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def read_json(path: Path, allowed: str) -> dict[str, Any]:
    """A JSON object from ``path``, or a one-line ScenarioError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"cannot read ({_first_line(exc)})", file=str(path),
                            allowed=allowed) from None
    if not isinstance(data, dict):
        raise ScenarioError("not a JSON object", file=str(path), allowed=allowed)
    return data


def read_parquet(source: Path | list[Path], where: Path | None = None, **kwargs: Any
                 ) -> pd.DataFrame:
    """``pandas.read_parquet(source)``, or a one-line ScenarioError naming ``where``.

    ``source``: a folder or a list of part files; ``where`` defaults to it.
    """
    files = [str(p) for p in source] if isinstance(source, list) else source
    try:
        return pd.read_parquet(files, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any damaged or foreign file: one clear line
        raise ScenarioError(f"cannot read ({_first_line(exc)})", file=str(where or source),
                            allowed="Parquet part files written by 'marketsim sweep'"
                            ) from None


def _plan(design: dict[str, Any]) -> dict[int, int] | None:
    """run_id -> seed of every run of the sweep's plan, from its manifest (None: unknown).

    The sweep's own plan (:func:`marketsim.sweep.plan_table`) of the manifest's points,
    replications and base seed.
    """
    from marketsim.sweep import plan_table

    try:
        n, r, seed = int(design["n_points"]), int(design["replications"]), int(design["seed"])
    except (KeyError, TypeError, ValueError):
        return None
    runs = plan_table(n, r, seed)
    return dict(zip(runs["run_id"].tolist(), runs["seed"].tolist(), strict=True))


class SweepResults:
    """A results directory read back: manifest, design points, runs and (lazily) ticks.

    Args:
        root: the results directory.
        warn: called with each line of :attr:`left_out` as the parts are checked (before
            an error for a directory with no run left).

    Attributes:
        left_out: one line per part file (or runs and ticks pair) left out: damaged, a copy,
            or not of this sweep; the same files a resumed sweep sets aside.

    Raises:
        ScenarioError: not a sweep's results directory, no run stored yet (saying how many
            failed, and where their records are), or a file in it cannot be read (named).
    """

    def __init__(self, root: str | Path, warn: Callable[[str], Any] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ScenarioError("results directory not found", file=str(self.root),
                                allowed=_SWEEP_DIR)
        mpath = self.root / "manifest.json"
        if not mpath.is_file():
            raise ScenarioError("no manifest.json: not a sweep's results directory",
                                file=str(self.root), allowed=_SWEEP_DIR)
        self.manifest = read_json(mpath, _SWEEP_DIR)
        design = self.manifest.get("design") or {}
        if self.manifest.get("kind") != "sweep" or "names" not in design:
            raise ScenarioError("manifest.json is not a sweep's", file=str(self.root),
                                allowed=_SWEEP_DIR)
        self.design: dict[str, Any] = design
        self.names: list[str] = list(design["names"])
        self.method: str = str(design.get("method", "grid"))
        self.points = pd.DataFrame(design["points"]).set_index("point")[self.names]
        self.left_out: list[str] = []
        self._runs_files, self._ticks_files = self._usable_parts()
        for line in self.left_out if warn is not None else ():
            warn(line)
        runs = (read_parquet(self._runs_files, where=self.root / "runs") if self._runs_files
                else pd.DataFrame(columns=["run_id"]))
        pending = _journal(self.root, set(runs["run_id"]))
        self._pending_ticks = (pd.concat([t for _, t in pending], ignore_index=True)
                               if pending else None)
        if pending:
            runs = pd.concat([runs, *(r for r, _ in pending)], ignore_index=True)
        self.runs = runs.sort_values("run_id").reset_index(drop=True)
        if self.runs.empty:
            raise self._no_runs()
        self.n_runs_planned = int(design.get("n_runs", len(self.runs)))
        self._add_run_totals()

    def _usable_parts(self) -> tuple[list[Path], list[Path]]:
        """The runs and ticks part files to read: those a resumed sweep would keep.

        The others (damaged, a copy, runs not of this sweep's plan, a runs part without its
        ticks part) are left out, each group with one line in :attr:`left_out`; nothing is
        moved (a sweep may be writing here). Without any ticks part (``DIR/ticks`` deleted)
        runs parts are read without their ticks.
        """
        from marketsim.store_check import parts, usable

        with_ticks = bool(parts(self.root / "ticks"))
        kept, left = usable(self.root, _plan(self.design), with_ticks=with_ticks)
        for files, why in left:
            names = " and ".join(str(f.relative_to(self.root)) for f in files)
            why = why.removesuffix("; its runs are run again")
            self.left_out.append(
                f"{self.root}: left out {names} ({why}); the next '{self.sweep_command}' "
                f"sets {'them' if len(files) > 1 else 'it'} aside into "
                f"{self.root / 'set_aside'}")
        ticks = [self.root / "ticks" / n for n in kept] if with_ticks else []
        return [self.root / "runs" / n for n in kept], ticks

    @property
    def sweep_command(self) -> str:
        """The command that resumes this sweep (and sets aside the parts left out)."""
        exp = self.manifest.get("experiment_file") or "EXPERIMENT"
        return shlex.join(["marketsim", "sweep", str(exp), "--out", str(self.root)])

    def _no_runs(self) -> ScenarioError:
        """The error for a directory with no run to report: why, and what to do."""
        failed = read_failures(self.root)
        if self.left_out:
            return ScenarioError(
                f"no runs to report: every runs part was left out ({len(self.left_out)} "
                "noted above)", file=str(self.root),
                allowed=f"run '{self.sweep_command}': it sets them aside and runs their runs "
                "again")
        if not failed.empty:
            reasons = failure_reasons(list(zip(failed["run_id"], failed["error"], strict=True)))
            return ScenarioError(
                f"no finished runs: {len(failed)} run{'s' if len(failed) > 1 else ''} failed "
                f"({reasons}); tracebacks and replay commands in {self.root / FAILURES}",
                file=str(self.root),
                allowed=f"fix the cause, then '{self.sweep_command}' runs them again")
        return ScenarioError("no finished runs yet", file=str(self.root),
                             allowed="a directory with runs: run 'marketsim sweep' first")

    def _add_run_totals(self) -> None:
        """Add ``<name>_total`` to :attr:`runs`: each monthly count summed over the run."""
        ticks = self.ticks(list(MONTHLY_COUNTS))
        kept = [c for c in MONTHLY_COUNTS if c in ticks.columns]
        if kept:
            totals = ticks.groupby("run_id")[kept].sum().add_suffix("_total")
            self.runs = self.runs.join(totals, on="run_id")

    @property
    def name(self) -> str:
        """The experiment's name."""
        return str(self.manifest.get("experiment_name") or self.root.name)

    @property
    def outputs(self) -> list[str]:
        """Key outputs that the sweep kept."""
        return [c for c in KEY_OUTPUTS if c in self.runs.columns]

    @property
    def horizons(self) -> str:
        """Months per run: ``"120"``, or ``"12-60"`` when the horizon is varied."""
        if "horizon" in self.points:
            lo, hi = int(self.points["horizon"].min()), int(self.points["horizon"].max())
            return str(lo) if lo == hi else f"{lo}-{hi}"
        return str(self.manifest.get("experiment", {}).get("horizon", "?"))

    def ticks(self, columns: list[str], run_ids: list[int] | None = None) -> pd.DataFrame:
        """Tick table with ``run_id``, ``tick`` and the given columns (those kept).

        Args:
            columns: reporter columns wanted (missing ones are left out).
            run_ids: only these runs (None: all).
        """
        import pyarrow.dataset as ds

        files, pending = self._ticks_files, self._pending_ticks
        try:
            have = (set(ds.dataset([str(f) for f in files], format="parquet").schema.names)
                    if files else set())
        except Exception as exc:  # noqa: BLE001 - a damaged part file: one clear line
            raise ScenarioError(f"cannot read ({_first_line(exc)})",
                                file=str(self.root / "ticks"),
                                allowed="Parquet part files written by 'marketsim sweep'"
                                ) from None
        if pending is not None and not files:
            have = set(pending.columns)
        cols = ["run_id", "tick", *[c for c in dict.fromkeys(columns) if c in have]]
        if not {"run_id", "tick"} <= have:
            return pd.DataFrame(columns=cols)
        ids = None if run_ids is None else [int(i) for i in run_ids]
        stored = (read_parquet(files, where=self.root / "ticks", columns=cols,
                               filters=None if ids is None else [("run_id", "in", ids)])
                  if files else pd.DataFrame(columns=cols))
        if pending is not None:
            extra = pending[[c for c in cols if c in pending.columns]]
            if ids is not None:
                extra = extra[extra["run_id"].isin(ids)]
            # A run whose ticks part was written just before a kill is in both: stored wins.
            extra = extra[~extra["run_id"].isin(stored["run_id"].unique())]
            stored = pd.concat([stored, extra], ignore_index=True) if len(stored) else extra
        return stored.sort_values(["run_id", "tick"]).reset_index(drop=True)


def _journal(root: Path, done: set[Any]) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Runs a sweep has finished but not yet written to Parquet (a sweep under way or killed)."""
    from marketsim.journal import journal_runs

    try:
        return list(journal_runs(root, exclude={int(i) for i in done}))
    except Exception as exc:  # noqa: BLE001 - a damaged journal: one clear line
        raise ScenarioError(f"cannot read the journal ({_first_line(exc)})",
                            file=str(root / ".journal")) from None


def read_failures(root: str | Path) -> pd.DataFrame:
    """Failed runs of ``DIR/failures/<run_id>.json``, one row each (empty if none).

    Columns: ``run_id``, ``seed``, ``error`` (its first line) and ``command`` (the exact
    command that replays the run).

    Raises:
        ScenarioError: a failure file cannot be read (named).
    """
    from marketsim import failures

    rows = []
    for rec in failures.read_failures(root):
        error = str(rec.get("error", "")).strip().splitlines()
        rows.append({"run_id": rec.get("run_id"), "seed": rec.get("seed"),
                     "error": error[0] if error else "", "command": rec.get("command", "")})
    return pd.DataFrame(rows, columns=["run_id", "seed", "error", "command"])


def axis_label(key: str) -> str:
    """``key [unit]`` from the scenario schema (the key alone if it has no unit)."""
    unit = parameter_info(key).get("unit", "")
    return f"{key} [{unit}]" if unit and unit != "-" else key


def parameter_info(key: str) -> dict[str, Any]:
    """Unit and description of a scenario key (empty for names that are not one)."""
    from marketsim.scenario import field_spec

    try:
        spec = field_spec(key)
    except (ScenarioError, KeyError, AttributeError, TypeError):
        return {}
    return {"unit": spec.get("unit", ""), "description": spec.get("description", "")}
