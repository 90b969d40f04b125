"""A sweep's results directory read back for ``marketsim report``.

Reads the result layout of the contract: ``DIR/manifest.json``, ``DIR/runs`` and
``DIR/ticks`` (Parquet folders, read with :func:`pandas.read_parquet`) and the failed runs'
``DIR/failures/<run_id>.json``; plus the runs a sweep has finished but not yet flushed to
Parquet, through the store's reader of its journal. Every file that cannot be read becomes one
:class:`~marketsim.ScenarioError` naming it (the command line: exit 2, no traceback).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from marketsim.errors import ScenarioError

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


def read_parquet(folder: Path, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_parquet(folder)``, or a one-line ScenarioError naming the folder."""
    try:
        return pd.read_parquet(folder, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any damaged or foreign file: one clear line
        raise ScenarioError(f"cannot read ({_first_line(exc)})", file=str(folder),
                            allowed="Parquet part files written by 'marketsim sweep'"
                            ) from None


def _has_parquet(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix == ".parquet" and not p.name.startswith((".", "_"))
                                   for p in folder.iterdir())


class SweepResults:
    """A results directory read back: manifest, design points, runs and (lazily) ticks.

    Args:
        root: the results directory.

    Raises:
        ScenarioError: not a sweep's results directory, no run stored yet, or a file in it
            cannot be read (named).
    """

    def __init__(self, root: str | Path) -> None:
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
        runs_dir = self.root / "runs"
        runs = read_parquet(runs_dir) if _has_parquet(runs_dir) else pd.DataFrame(
            columns=["run_id"])
        pending = _journal(self.root, set(runs["run_id"]))
        self._pending_ticks = (pd.concat([t for _, t in pending], ignore_index=True)
                               if pending else None)
        if pending:
            runs = pd.concat([runs, *(r for r, _ in pending)], ignore_index=True)
        self.runs = runs.sort_values("run_id").reset_index(drop=True)
        if self.runs.empty:
            raise ScenarioError("no finished runs yet", file=str(self.root),
                                allowed="a directory with runs: run 'marketsim sweep' first")
        self.n_runs_planned = int(design.get("n_runs", len(self.runs)))
        self._add_run_totals()

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

        folder = self.root / "ticks"
        pending = self._pending_ticks
        parts = _has_parquet(folder)
        try:
            have = set(ds.dataset(folder, format="parquet").schema.names) if parts else set()
        except Exception as exc:  # noqa: BLE001 - a damaged part file: one clear line
            raise ScenarioError(f"cannot read ({_first_line(exc)})", file=str(folder),
                                allowed="Parquet part files written by 'marketsim sweep'"
                                ) from None
        if pending is not None and not parts:
            have = set(pending.columns)
        cols = ["run_id", "tick", *[c for c in dict.fromkeys(columns) if c in have]]
        if not {"run_id", "tick"} <= have:
            return pd.DataFrame(columns=cols)
        ids = None if run_ids is None else [int(i) for i in run_ids]
        stored = (read_parquet(folder, columns=cols, filters=None if ids is None else
                               [("run_id", "in", ids)]) if parts else pd.DataFrame(columns=cols))
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
