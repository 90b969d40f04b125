"""Experiment files: a scenario, the parameters to vary, the design, replications and seed.

An experiment (``experiments/*.toml``) is validated on load like a scenario: every bad key or
value gives one :class:`~marketsim.ScenarioError` line naming the file, the key, the value
given and what is allowed. Keys::

    scenario = "../scenarios/small.toml"   # path: beside this file, the cwd, or scenarios/
    horizon = 24                          # ticks (months) per run (default: scenario's)
    replications = 4                      # seeds per design point
    seed = 1                              # base seed; run seeds derive from it
    outputs = ["hhi_revenue", "regime"]   # reporters to keep (default: all)

    [design]
    method = "sobol"                      # "grid" | "lhs" | "sobol"
    samples = 64                          # lhs: points; sobol: base N (a power of 2)

    [parameters]                          # dotted scenario keys
    "hyperscalers.margin" = { low = 0.0, high = 1.5 }   # lhs / sobol
    # "buyers.switching_cost" = [0.0, 1.0, 3.0]         # grid

    [fixed]                               # optional: scenario overrides for every run
    "buyers.count" = 2000

This module only reads and checks; the design points come from :mod:`marketsim.design`, the
runs from :mod:`marketsim.sweep`, the files from :mod:`marketsim.store`.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketsim.errors import ScenarioError
from marketsim.experiment_checks import (
    DesignSpec,
    Range,
    StrictModel,
    check_design,
    check_outputs,
    check_parameter,
    suggest,
)
from marketsim.experiment_scenarios import base_scenarios
from marketsim.scenario import (
    MarketScenario,
    field_spec,
    parse_value,
    read_toml,
    short_message,
    validate_scenario,
    value_at,
)

if TYPE_CHECKING:
    import pandas as pd

METHODS: tuple[str, ...] = ("grid", "lhs", "sobol")

class _ExperimentFile(StrictModel):
    """The raw schema of an experiment TOML file (types only; meaning checked after)."""

    name: str | None = None
    description: str = ""
    scenario: str | list[str]
    horizon: int | None = Field(None, ge=1, le=2400)
    replications: int = Field(1, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    design: DesignSpec
    parameters: dict[str, Any] = Field(default_factory=dict)
    outputs: list[str] | None = Field(None, min_length=1)
    fixed: dict[str, Any] = Field(default_factory=dict)


TOP_KEYS: tuple[str, ...] = tuple(f for f in _ExperimentFile.model_fields)
DESIGN_KEYS: tuple[str, ...] = tuple(f"design.{f}" for f in DesignSpec.model_fields)

_ALLOWED_TOP: dict[str, str] = {
    "name": "a string",
    "description": "a string",
    "scenario": "a path to a scenario .toml file (or a shipped scenario's name), or a list "
                "of them (varied: crossed with the design)",
    "horizon": "integer 1 to 2400 (months)",
    "replications": "integer >= 1 (seeds per design point)",
    "seed": "integer >= 0",
    "design": "a table with method and samples",
    "design.method": "'grid', 'lhs' or 'sobol'",
    "design.samples": "integer >= 1 (lhs: points; sobol: a power of 2)",
    "design.second_order": "true or false",
    "parameters": "a table of dotted scenario keys",
    "outputs": "a list of model reporter names",
    "fixed": "a table of dotted scenario keys to values",
}


class Experiment(BaseModel):
    """A validated experiment: what to run, how often, from which seed.

    Attributes:
        source: the experiment file (as given).
        name: the experiment's name (default: the file's stem).
        description: what it is for.
        scenario_path: the resolved scenario file (the first one of a list).
        scenario: the base scenario: the file with ``fixed`` and ``horizon`` applied (the
            first one of a list).
        scenarios: a list of scenarios (varied): name -> base scenario, in file order;
            empty when the experiment has one scenario. Each design point is run on each of
            them; the points and the runs table get a ``scenario`` column (the name).
        horizon: ticks (months) per run.
        replications: seeds per design point.
        seed: base seed (run seeds derive from it and the run's point and replication).
        method: ``"grid"``, ``"lhs"`` or ``"sobol"``.
        samples: lhs points or sobol base N (None for grid).
        second_order: sobol: second-order design.
        parameters: dotted key -> list of values (grid) or :class:`Range` (lhs, sobol), in
            file order.
        types: dotted key -> scenario field type name (``"int"``, ``"float"``, ...).
        outputs: reporter columns kept (``regime`` always).
        fixed: scenario overrides applied to every run.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    source: str | None
    name: str
    description: str = ""
    scenario_path: str
    scenario: MarketScenario
    scenarios: dict[str, MarketScenario] = Field(default_factory=dict)
    horizon: int
    replications: int
    seed: int
    method: Literal["grid", "lhs", "sobol"]
    samples: int | None
    second_order: bool = False
    parameters: dict[str, list[Any] | Range]
    types: dict[str, str]
    outputs: tuple[str, ...]
    fixed: dict[str, Any] = Field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Varied parameters (dotted scenario keys, in file order), ``scenario`` first if varied."""
        return (["scenario"] if self.scenarios else []) + list(self.parameters)

    @cached_property
    def points(self) -> pd.DataFrame:
        """Design points, one row per point (index ``point``), one column per parameter."""
        from marketsim.design import design_points

        return design_points(self)

    @property
    def n_points(self) -> int:
        """Number of design points."""
        return len(self.points)

    @property
    def months(self) -> str:
        """The runs' length in months for messages: ``"120"``, or ``"12-60"`` (varied)."""
        if "horizon" in self.parameters:
            return months_text(self.points["horizon"].tolist())
        return months_text([s.horizon for s in self.scenarios.values()] or [self.horizon])

    @property
    def n_runs(self) -> int:
        """Number of runs: design points × replications."""
        return self.n_points * self.replications

    def scenario_for(self, values: dict[str, Any]) -> MarketScenario:
        """The base scenario with one design point's values applied (validated).

        Raises:
            ScenarioError: the combination is not a valid scenario (named by the experiment).
        """
        values = dict(values)
        base = self.scenarios[values.pop("scenario")] if self.scenarios else self.scenario
        try:
            return validate_scenario(base.to_toml_dict(), file=base.source, overrides=values)
        except ScenarioError as exc:
            raise ScenarioError(f"a design point is not a valid scenario ({exc})",
                                file=self.source, key="parameters", given=values) from None

    def overrides_for(self, values: dict[str, Any]) -> dict[str, Any]:
        """Dotted scenario key -> value of one design point's runs: fixed and point values.

        With the run's scenario file (:meth:`scenario_for`'s ``source``) they give the same
        scenario, e.g. for ``marketsim run FILE --set KEY=VALUE ...``.
        """
        return {**self.fixed, **{k: v for k, v in values.items() if k != "scenario"}}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of what defines the experiment (for manifests and hashing)."""
        return {
            "name": self.name,
            "scenario": ({k: v.to_toml_dict() for k, v in self.scenarios.items()}
                         if self.scenarios else self.scenario.to_toml_dict()),
            "horizon": self.horizon,
            "replications": self.replications,
            "seed": self.seed,
            "design": {"method": self.method, "samples": self.samples,
                       "second_order": self.second_order},
            "parameters": {k: (v.model_dump() if isinstance(v, Range) else list(v))
                           for k, v in self.parameters.items()},
            "fixed": dict(self.fixed),
            "outputs": list(self.outputs),
        }

    def identity(self) -> str:
        """Hash of everything that decides the runs' rows: same hash, same experiment.

        Formatting and comments of the files do not count; the validated scenario content,
        the design, the seed, replications, horizon and outputs do.
        """
        d = self.to_dict()
        d.pop("name")
        text = json.dumps(d, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def months_text(horizons: list[Any]) -> str:
    """``"12"`` for runs of one length, ``"12-60"`` for several (months)."""
    lo, hi = int(min(horizons)), int(max(horizons))
    return str(lo) if lo == hi else f"{lo}-{hi}"


# ---------------------------------------------------------------------------------- loading
def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as the Python values TOML would give (``np.int64(2)`` → 2).

    Overrides from Python often come out of NumPy; the file's strict types are for TOML text.
    """
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _apply_experiment_overrides(raw: dict[str, Any], overrides: dict[str, Any] | None,
                                file: str | None) -> dict[str, Any]:
    """Apply dotted experiment keys to a raw experiment dict.

    Keys: ``"replications"``, ``"design.samples"``, ``"parameters.buyers.count"``,
    ``"fixed.buyers.count"``, ...
    """
    import copy

    out = copy.deepcopy(raw)
    for key, value in (overrides or {}).items():
        value = _plain(value)
        if isinstance(value, str) and key not in ("scenario", "name", "description"):
            value = parse_value(value)
        head, _, rest = key.partition(".")
        if head in ("parameters", "fixed") and rest:
            out.setdefault(head, {})[rest] = value
        elif head == "design" and rest:
            if rest not in DesignSpec.model_fields:
                raise ScenarioError("unknown override key", file=file, key=key,
                                    allowed=suggest(key, list(DESIGN_KEYS)))
            out.setdefault("design", {})[rest] = value
        elif not rest and head in TOP_KEYS:
            out[head] = value
        else:
            raise ScenarioError("unknown override key", file=file, key=key,
                                allowed=suggest(key, [*TOP_KEYS, *DESIGN_KEYS]))
    return out


def _explain(exc: ValidationError, raw: dict[str, Any], file: str | None) -> ScenarioError:
    err = exc.errors()[0]
    loc = [str(x) for x in err["loc"]]
    # A parameter's value sits under one dotted key: keep "parameters.<key>" together.
    if loc and loc[0] in ("parameters", "fixed") and len(loc) > 1:
        loc = [loc[0], loc[1]]
    elif loc and loc[0] == "outputs":
        loc = ["outputs"]
    key = ".".join(loc)
    given = value_at(raw, loc, err.get("input"))
    if err["type"] == "extra_forbidden":
        choices = list(DESIGN_KEYS) if loc[0] == "design" else list(TOP_KEYS)
        return ScenarioError("unknown key", file=file, key=key, given=None,
                             allowed=suggest(key, choices))
    if err["type"] == "missing":
        return ScenarioError("required key missing", file=file, key=key,
                             allowed=_ALLOWED_TOP.get(key))
    return ScenarioError(short_message(err).lower(), file=file, key=key, given=given,
                         allowed=_ALLOWED_TOP.get(key, err["msg"]))


def validate_experiment(raw: dict[str, Any], *, file: str | None = None,
                        overrides: dict[str, Any] | None = None) -> Experiment:
    """Validate a raw experiment dict (as read from TOML) into an :class:`Experiment`.

    Args:
        raw: the TOML content.
        file: the file it came from (for messages and for finding the scenario).
        overrides: dotted experiment keys to values (see :func:`load_experiment`).

    Raises:
        ScenarioError: one line naming the file, the key, the value and what is allowed.
    """
    data = _apply_experiment_overrides(raw, overrides, file)
    try:
        ef = _ExperimentFile.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, data, file) from None
    check_design(ef.design, len(ef.parameters), file, several=isinstance(ef.scenario, list))
    fixed = dict(ef.fixed)
    for key in fixed:
        try:
            field_spec(key)
        except ScenarioError as exc:
            raise ScenarioError("not a scenario key", file=file, key=f"fixed.{key}",
                                allowed=exc.allowed or "a dotted scenario key") from None
    base_overrides = {**fixed, **({"horizon": ef.horizon} if ef.horizon is not None else {})}
    bases = base_scenarios(ef.scenario, base_overrides, file)
    base = next(iter(bases.values()))
    for key in ef.parameters:
        if key in fixed:
            raise ScenarioError("a key is both fixed and varied", file=file,
                                key=f"parameters.{key}", allowed="vary it or fix it, not both")
    params: dict[str, list[Any] | Range] = {}
    types: dict[str, str] = {"scenario": "str"} if isinstance(ef.scenario, list) else {}
    raw_bases = [(b.to_toml_dict(), str(b.source)) for b in bases.values()]
    for key, value in ef.parameters.items():
        params[key], types[key] = check_parameter(key, value, ef.design.method, raw_bases, file)
    return Experiment(
        source=file,
        name=ef.name or (Path(file).stem if file else "experiment"),
        description=ef.description,
        scenario_path=str(base.source),
        scenario=base,
        scenarios=bases if isinstance(ef.scenario, list) else {},
        horizon=base.horizon,
        replications=ef.replications,
        seed=ef.seed,
        method=ef.design.method,
        samples=ef.design.samples,
        second_order=ef.design.second_order,
        parameters=params,
        types=types,
        outputs=check_outputs(ef.outputs, file),
        fixed=fixed,
    )


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Load and validate an experiment file.

    Args:
        path: the experiment's TOML file (``experiments/quick.toml``).
        overrides: dotted experiment keys to values, e.g. ``{"replications": 2,
            "design.samples": 8, "horizon": 12, "fixed.buyers.count": 500,
            "parameters.buyers.switching_cost": [0.0, 2.0]}``; strings are parsed as TOML
            values.

    Returns:
        The validated :class:`Experiment` (``.points`` gives its design points).

    Raises:
        ScenarioError: the file is missing or not TOML, or a key or value is not allowed; the
            one-line message names the file, the key, the value and what is allowed.
    """
    p = Path(path)
    return validate_experiment(read_toml(p, "experiment"), file=str(p), overrides=overrides)
