"""Replay one stored sweep run: its scenario, overrides and seed from a results directory.

Reads only ``DIR/manifest.json`` (the experiment's base scenario, with its ``fixed`` values
and horizon applied, and the design's parameter names) and ``DIR/runs`` (the run's row: seed
and parameter values), so it keeps working however the store's code is organised.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from marketsim.errors import ScenarioError
from marketsim.scenario import MarketScenario, validate_scenario


def _plain(value: Any) -> Any:
    """A Parquet cell as a TOML value (NumPy scalars to Python; whole floats of ints kept)."""
    return value.item() if hasattr(value, "item") else value


def load_run(directory: str | Path, run_id: int) -> tuple[MarketScenario, int, str]:
    """The scenario (with the run's overrides), seed and a name of sweep run ``run_id``.

    Raises:
        ScenarioError: no manifest or runs in ``directory``, or no such run.
    """
    import pandas as pd

    root = Path(directory)
    mpath = root / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text())
        base = manifest["experiment"]["scenario"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ScenarioError("not a sweep results directory (no readable manifest.json with "
                            "the experiment)", file=str(mpath), key="--replay",
                            given=str(root), allowed="a directory written by marketsim sweep"
                            ) from None
    from marketsim.store import has_parts

    if not has_parts(root / "runs"):
        raise ScenarioError("no runs stored yet", file=str(root / "runs"), key="--replay",
                            given=str(root), allowed="a directory where 'marketsim sweep' "
                            "has finished runs (run it, or let it finish)")
    try:
        runs = pd.read_parquet(root / "runs")
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"cannot read the runs ({exc})", file=str(root / "runs"),
                            key="--replay", given=str(root),
                            allowed="the runs parts a sweep wrote ('marketsim sweep' on the "
                            "same directory sets damaged parts aside)") from None
    row = runs[runs["run_id"] == run_id]
    if row.empty:
        ids = sorted(runs["run_id"].tolist())
        allowed = f"{ids[0]} to {ids[-1]}" if ids else "none: no finished runs"
        raise ScenarioError("no such run", file=str(root / "runs"), key="--run",
                            given=run_id, allowed=allowed)
    rec = row.iloc[0]
    names = (manifest.get("design") or {}).get("names") or []
    types = (manifest.get("design") or {}).get("types") or {}
    overrides = {}
    for k in names:
        value = _plain(rec[k])
        if types.get(k) == "int" and isinstance(value, float) and math.isfinite(value):
            value = int(value)
        overrides[k] = value
    scenario = validate_scenario(base, file=manifest.get("scenario_file"), overrides=overrides)
    name = manifest.get("experiment_name") or root.name
    shown = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                      for k, v in overrides.items())
    label = f"sweep '{name}' run {run_id} (seed {int(rec['seed'])}{'; ' if shown else ''}{shown})"
    return scenario, int(rec["seed"]), label
