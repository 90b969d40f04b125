"""Where a fit keeps its results: the output folder, its manifest and its posterior table.

``DIR/fit.db`` is pyabc's history (SQLite: every generation, with its particles, weights,
distances and summary statistics); ``DIR/posterior.parquet`` the last finished generation
(one row per accepted draw, one column per fitted key, plus ``weight``); ``DIR/fit.json``
the manifest. The table and the manifest are rewritten (temp file, then rename) after each
generation, so an interrupted fit leaves the last finished generation whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.errors import ScenarioError
from marketsim.manifest import make_folder
from marketsim.store import write_parquet_atomic

#: Manifest fields that identify a fit's set-up: a folder whose manifest differs in any of
#: them holds another fit, which is never continued with this one's draws.
SETUP_FIELDS = ("scenario_hash", "priors", "targets", "seed", "fit_buyers", "population_size")


@dataclass(frozen=True)
class FitFolder:
    """Paths of one fit's results."""

    root: Path

    @property
    def db(self) -> Path:
        """The pyabc history database."""
        return self.root / "fit.db"

    @property
    def db_url(self) -> str:
        """The history as an SQLAlchemy URL (what pyabc takes)."""
        return "sqlite:///" + str(self.db.resolve())

    @property
    def manifest(self) -> Path:
        """The JSON manifest."""
        return self.root / "fit.json"

    @property
    def posterior(self) -> Path:
        """The last finished generation's draws."""
        return self.root / "posterior.parquet"


def check_out(out: str | Path) -> Path:
    """``out`` as a path, if it can be a fit's folder (a file there is bad input)."""
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ScenarioError("is a file, not a folder", key="--out", given=str(out),
                            allowed="a folder (made if missing)")
    return root


def open_folder(out: str | Path) -> FitFolder:
    """The fit folder at ``out``, made if missing (a file there is bad input)."""
    return FitFolder(make_folder(check_out(out)))


def read_manifest(folder: FitFolder) -> dict[str, Any] | None:
    """The folder's manifest, or None if it has none (or it cannot be read)."""
    import json

    try:
        return json.loads(folder.manifest.read_text())
    except (OSError, ValueError):
        return None


def same_setup(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Set-up fields in which two manifests differ (empty: the same fit)."""
    import json

    def norm(x: Any) -> str:
        return json.dumps(x, sort_keys=True, default=str)

    return [k for k in SETUP_FIELDS if norm(old.get(k)) != norm(new.get(k))]


def previous_run(folder: FitFolder, setup: dict[str, Any]) -> tuple[int | None, str]:
    """The pyabc run id to continue in ``folder`` (None: start a new fit) and why, in words.

    Raises:
        ScenarioError: the folder holds a fit of another set-up (scenario, priors, targets,
            seed, buyer count or population size): its draws must not be mixed with these.
    """
    old = read_manifest(folder)
    if not folder.db.is_file():
        return None, f"new fit in {folder.root}"
    if old is None or old.get("run_id") is None:
        return None, f"{folder.db} has no readable manifest beside it: starting over"
    differ = same_setup(old, setup)
    if differ:
        raise ScenarioError(
            "the folder holds a fit of another set-up (differs in " + ", ".join(differ) + ")",
            key="--out", given=str(folder.root), allowed="a new folder, or the same scenario, "
            "priors, targets, --seed and --buyers as that fit")
    if not old.get("generations"):
        return None, f"{folder.root} has no finished generation: starting over"
    done = len(old["generations"])
    return int(old["run_id"]), (f"continuing the fit in {folder.root}: {done} generation"
                                f"{'s' if done != 1 else ''} kept")


def write_posterior(folder: FitFolder, draws: pd.DataFrame, weights: np.ndarray,
                    keys: list[str]) -> pd.DataFrame:
    """Write the last generation: one row per draw, one column per key, plus ``weight``."""
    table = draws[keys].astype(float).reset_index(drop=True)
    table["weight"] = np.asarray(weights, dtype=float)
    write_parquet_atomic(table, folder.posterior)
    return table
