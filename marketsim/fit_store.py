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
#: How a refusal names each set-up field, in the user's words.
SETUP_WORDS = {"scenario_hash": "the scenario (its keys other than the fitted ones)",
               "priors": "the priors", "targets": "the targets", "seed": "--seed",
               "fit_buyers": "--buyers", "population_size": "the population size"}


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


def is_fit_folder(root: Path) -> bool:
    """Whether ``root`` holds a fit: a ``fit.db``, or a readable ``fit.json`` naming priors."""
    folder = FitFolder(root)
    return folder.db.is_file() or "priors" in (read_manifest(folder) or {})


def check_out(out: str | Path) -> Path:
    """``out`` as a path, if it can be a fit's folder: new, empty, or holding a fit.

    Raises:
        ScenarioError: it is a file, or a folder holding files of anything but a fit (a
            sweep's results, say), which a fit must not write among; nothing is made.
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ScenarioError("is a file, not a folder", key="--out", given=str(out),
                            allowed="a folder (made if missing)")
    if root.is_dir() and not is_fit_folder(root):
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5
                                            else "")
            raise ScenarioError(f"the folder holds {shown} but no fit (no fit.json or fit.db)",
                                key="--out", given=str(out),
                                allowed="a new or empty folder, or a fit's folder")
    return root


def open_folder(out: str | Path) -> FitFolder:
    """The fit folder at ``out``, made if missing (see :func:`check_out` for what is refused)."""
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
            "the folder holds a fit of another set-up (differs in "
            + ", ".join(SETUP_WORDS[k] for k in differ) + ")",
            key="--out", given=str(folder.root), allowed="a new folder, or the same scenario, "
            "priors, targets, --seed and --buyers as that fit")
    if not old.get("generations"):
        return None, f"{folder.root} has no finished generation: starting over"
    done = len(old["generations"])
    return int(old["run_id"]), (f"continuing the fit in {folder.root}: {done} generation"
                                f"{'s' if done != 1 else ''} kept")


#: Manifest fields that say where one call of the command came from (one ``calls`` entry).
CALL_FIELDS = ("command", "git_commit", "git_dirty", "marketsim_version",
               "simulations_budget", "sampler")


def with_calls(new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest of a call: ``new`` with the fit's provenance kept and this call added.

    ``old`` is the manifest of the fit the call continues (None: a new fit). The first
    call's ``created``, ``command``, ``git_commit`` and ``git_dirty`` stay; ``updated`` is
    this call's time; ``calls`` gains one entry for this call (its ``generations_added``
    counts up as generations finish). A manifest written before ``calls`` was kept gives
    one entry standing for all its calls, from its own fields.
    """
    call = {"started": new.get("created"), **{k: new.get(k) for k in CALL_FIELDS},
            "generations_added": 0}
    if old is None:
        return {**new, "updated": new.get("created"), "calls": [call]}
    calls = old.get("calls") or [{"started": old.get("created"),
                                  **{k: old.get(k) for k in CALL_FIELDS},
                                  "generations_added": len(old.get("generations") or [])}]
    first = {k: old.get(k) for k in ("created", "command", "git_commit", "git_dirty")}
    return {**new, **first, "updated": new.get("created"), "calls": [*calls, call]}


def generations(history: Any) -> list[dict[str, Any]]:
    """One dict per finished generation: t, epsilon, runs, accepted, acceptance, seconds."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return [{"t": int(r.t), "epsilon": float(r.epsilon), "simulations": int(r.samples),
             "accepted": int(r.particles), "acceptance_rate": float(r.particles / r.samples),
             "seconds": float(r.wall_time or 0.0)} for r in pops.itertuples()]


def write_posterior(folder: FitFolder, draws: pd.DataFrame, weights: np.ndarray,
                    keys: list[str]) -> pd.DataFrame:
    """Write the last generation: one row per draw, one column per key, plus ``weight``."""
    table = draws[keys].astype(float).reset_index(drop=True)
    table["weight"] = np.asarray(weights, dtype=float)
    write_parquet_atomic(table, folder.posterior)
    return table
