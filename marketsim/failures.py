"""Failed runs of a sweep, kept in its results directory: ``DIR/failures/<run_id>.json``.

Each file says what failed and how to see it again on its own. Keys:

- ``run_id``, ``seed``: the run;
- ``overrides``: dotted scenario key -> value (the experiment's fixed values and the design
  point's values);
- ``scenario``: the scenario file (absolute path); ``horizon``: months run;
- ``error``: the error in one line; ``traceback``: its traceback as text ("" when the run's
  worker process died rather than raised);
- ``command``: the ``marketsim run SCENARIO --seed N --ticks H --set KEY=VALUE ...`` that
  runs the same model alone (shell-quoted).

A failed run is run again when the sweep resumes; when it then finishes, its file goes.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import Any

from marketsim.manifest import write_json_atomic

FAILURES = "failures"


def toml_value(value: Any) -> str:
    """``value`` as the TOML text ``--set`` parses back to the same value.

    Floats by ``repr`` (the shortest text that reads back to the same float); strings
    quoted, so that ``"true"`` or ``"12"`` stay strings.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def replay_command(scenario: str, seed: int, horizon: int, overrides: dict[str, Any]) -> str:
    """The ``marketsim run`` command line of one run, ready to paste into a shell."""
    argv = ["marketsim", "run", scenario, "--seed", str(seed), "--ticks", str(horizon)]
    for key, value in overrides.items():
        argv += ["--set", f"{key}={toml_value(value)}"]
    return shlex.join(argv)


def failure_record(*, run_id: int, seed: int, overrides: dict[str, Any], scenario: str,
                   horizon: int, error: str, traceback: str) -> dict[str, Any]:
    """The content of a failure file (see the module's docstring)."""
    return {"run_id": run_id, "seed": seed, "overrides": overrides, "scenario": scenario,
            "horizon": horizon, "error": error, "traceback": traceback,
            "command": replay_command(scenario, seed, horizon, overrides)}


def read_failures(root: str | Path) -> list[dict[str, Any]]:
    """Every failure file of a results directory, by run_id.

    Raises:
        ScenarioError: a failure file cannot be read (the file is named).
    """
    from marketsim.errors import ScenarioError

    folder = Path(root) / FAILURES
    out = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"cannot read it ({exc})", file=str(path),
                                allowed="a failure record written by 'marketsim sweep'"
                                ) from None
    return sorted(out, key=lambda r: r.get("run_id", -1))


class FailureLog:
    """Writes and removes the failure files of one results directory."""

    def __init__(self, root: str | Path) -> None:
        self.folder = Path(root) / FAILURES
        self._ids = ({int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit()}
                     if self.folder.is_dir() else set())

    def record(self, record: dict[str, Any]) -> None:
        """Write (or replace) one run's failure file."""
        self.folder.mkdir(exist_ok=True)
        run_id = int(record["run_id"])
        write_json_atomic(self.folder / f"{run_id}.json", record)
        self._ids.add(run_id)

    def clear(self, run_id: int) -> None:
        """The run has finished: remove its failure file, if it has one."""
        if run_id in self._ids:
            (self.folder / f"{run_id}.json").unlink(missing_ok=True)
            self._ids.discard(run_id)


def failure_reasons(failed: list[tuple[int, str]], most: int = 3) -> str:
    """Why runs failed, by reason, most frequent first: ``run 4: ValueError: ...; 2 more ...``."""
    by_reason: dict[str, list[int]] = {}
    for run_id, why in failed:
        by_reason.setdefault(why, []).append(run_id)
    ranked = sorted(by_reason.items(), key=lambda item: (-len(item[1]), min(item[1])))
    parts = []
    for why, ids in ranked[:most]:
        ids = sorted(ids)
        runs = f"run {ids[0]}" if len(ids) == 1 else f"{len(ids)} runs, first run {ids[0]}"
        parts.append(f"{runs}: {why}")
    if len(ranked) > most:
        more = len(ranked) - most
        parts.append(f"{more} other reason{'s' if more > 1 else ''}")
    return "; ".join(parts)
