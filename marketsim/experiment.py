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

import difflib
import hashlib
import json
import math
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketsim.errors import ScenarioError
from marketsim.scenario import (
    SCENARIO_DIR,
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

#: Scenario field types a sweep can vary, as :func:`marketsim.scenario.field_spec` names them.
GRID_TYPES: tuple[str, ...] = ("int", "float", "bool", "str", "str | None")
RANGE_TYPES: tuple[str, ...] = ("int", "float")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # "12" is no int


class Range(_Strict):
    """Bounds of a parameter sampled by ``lhs`` or ``sobol`` (in the scenario field's unit)."""

    low: float
    high: float


class DesignSpec(_Strict):
    """How design points are drawn.

    Attributes:
        method: ``"grid"`` (every combination of the listed values), ``"lhs"`` (Latin
            hypercube of ``samples`` points) or ``"sobol"`` (Saltelli/Sobol' design for Sobol'
            indices: ``samples × (D + 2)`` points, ``samples × (2D + 2)`` with
            ``second_order``; D = varied parameters).
        samples: points (lhs) or base sample size N, a power of 2 (sobol); not for grid.
        second_order: sobol only: also allow second-order indices (more points).
    """

    method: Literal["grid", "lhs", "sobol"]
    samples: int | None = Field(None, ge=1, le=10_000_000)
    second_order: bool = False


class _ExperimentFile(_Strict):
    """The raw schema of an experiment TOML file (types only; meaning checked after)."""

    name: str | None = None
    description: str = ""
    scenario: str
    horizon: int | None = Field(None, ge=1, le=2400)
    replications: int = Field(1, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    design: DesignSpec
    parameters: dict[str, Any] = Field(min_length=1)
    outputs: list[str] | None = Field(None, min_length=1)
    fixed: dict[str, Any] = Field(default_factory=dict)


TOP_KEYS: tuple[str, ...] = tuple(f for f in _ExperimentFile.model_fields)
DESIGN_KEYS: tuple[str, ...] = tuple(f"design.{f}" for f in DesignSpec.model_fields)

_ALLOWED_TOP: dict[str, str] = {
    "name": "a string",
    "description": "a string",
    "scenario": "a path to a scenario .toml file (or a shipped scenario's name)",
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
        scenario_path: the resolved scenario file.
        scenario: the base scenario: the file with ``fixed`` and ``horizon`` applied.
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
        """Varied parameters (dotted scenario keys), in file order."""
        return list(self.parameters)

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
        if "horizon" not in self.parameters:
            return str(self.horizon)
        return months_text(self.points["horizon"].tolist())

    @property
    def n_runs(self) -> int:
        """Number of runs: design points × replications."""
        return self.n_points * self.replications

    def scenario_for(self, values: dict[str, Any]) -> MarketScenario:
        """The base scenario with one design point's values applied (validated).

        Raises:
            ScenarioError: the combination is not a valid scenario (named by the experiment).
        """
        try:
            return validate_scenario(self.scenario.to_toml_dict(), file=self.scenario.source,
                                     overrides=values)
        except ScenarioError as exc:
            raise ScenarioError(f"a design point is not a valid scenario ({exc})",
                                file=self.source, key="parameters", given=values) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of what defines the experiment (for manifests and hashing)."""
        return {
            "name": self.name,
            "scenario": self.scenario.to_toml_dict(),
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
def resolve_scenario_file(name: str, experiment_file: str | Path | None) -> Path:
    """Find an experiment's scenario: beside the experiment file, then the cwd, then scenarios/.

    Args:
        name: the ``scenario`` value: a path or a shipped scenario's name (``"default"``).
        experiment_file: the experiment file the name was read from (None: cwd only).

    Raises:
        ScenarioError: no such file in any of those places.
    """
    p = Path(name)
    candidates: list[Path] = []
    if p.is_absolute():
        candidates.append(p)
    else:
        if experiment_file is not None:
            candidates.append(Path(experiment_file).parent / p)
        candidates.append(Path.cwd() / p)
        candidates.append(SCENARIO_DIR / p)
        if not p.suffix:
            candidates.append(SCENARIO_DIR / f"{name}.toml")
    for c in candidates:
        if c.is_file():
            # Absolute: the scenario's folder is where agent classes are also looked for,
            # from worker processes whose working directory may be another.
            return c.absolute()
    raise ScenarioError("scenario file not found", file=str(experiment_file or ""),
                        key="scenario", given=name,
                        allowed="a .toml path relative to the experiment file, the current "
                        "directory or scenarios/, or a shipped scenario's name")


def _suggest(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "one of " + ", ".join(choices)


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
                                    allowed=_suggest(key, list(DESIGN_KEYS)))
            out.setdefault("design", {})[rest] = value
        elif not rest and head in TOP_KEYS:
            out[head] = value
        else:
            raise ScenarioError("unknown override key", file=file, key=key,
                                allowed=_suggest(key, [*TOP_KEYS, *DESIGN_KEYS]))
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
                             allowed=_suggest(key, choices))
    if err["type"] == "missing":
        return ScenarioError("required key missing", file=file, key=key,
                             allowed=_ALLOWED_TOP.get(key))
    return ScenarioError(short_message(err).lower(), file=file, key=key, given=given,
                         allowed=_ALLOWED_TOP.get(key, err["msg"]))


def _bounds_text(spec: dict[str, Any]) -> str:
    parts = []
    if "ge" in spec:
        parts.append(f">= {spec['ge']}")
    if "gt" in spec:
        parts.append(f"> {spec['gt']}")
    if "le" in spec:
        parts.append(f"<= {spec['le']}")
    if "lt" in spec:
        parts.append(f"< {spec['lt']}")
    unit = spec.get("unit") or ""
    unit = f" {unit}" if unit and unit != "-" else ""
    return f"{spec['type']} {' and '.join(parts)}{unit}".strip() if parts else spec["type"]


def _in_bounds(x: float, spec: dict[str, Any]) -> bool:
    return not (("ge" in spec and x < spec["ge"]) or ("gt" in spec and x <= spec["gt"])
                or ("le" in spec and x > spec["le"]) or ("lt" in spec and x >= spec["lt"]))


def _type_ok(value: Any, typ: str) -> bool:
    if typ == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ == "bool":
        return isinstance(value, bool)
    if typ in ("str", "str | None"):
        return isinstance(value, str)
    return False


def _is_scenario_key(key: str) -> bool:
    try:
        field_spec(key)
    except ScenarioError:
        return False
    return True


def _check_parameter(key: str, value: Any, method: str, base: tuple[dict[str, Any], str],
                     file: str | None) -> tuple[list[Any] | Range, str]:
    """Check one ``[parameters]`` entry against the scenario schema; return it and its type.

    ``base`` is the scenario (with the fixed values) as a TOML dict and the path of its file
    (agent classes are also looked for beside it).
    """
    where = f"parameters.{key}"
    inner = next(iter(value), None) if isinstance(value, dict) else None
    if inner is not None and _is_scenario_key(f"{key}.{inner}"):
        # TOML reads an unquoted labs.count = [...] as a table: {"labs": {"count": [...]}}.
        raise ScenarioError("a dotted key needs quotes in TOML (unquoted, it is a table)",
                            file=file, key=where, given=value,
                            allowed=f'"{key}.{inner}" = ... with the quotes')
    try:
        spec = field_spec(key)
    except ScenarioError as exc:
        raise ScenarioError("not a scenario key", file=file, key=where,
                            allowed=exc.allowed or "a dotted scenario key") from None
    typ = spec["type"]
    kinds = GRID_TYPES if method == "grid" else RANGE_TYPES
    if typ not in kinds:
        raise ScenarioError(f"a {typ} scenario field cannot be varied by {method}", file=file,
                            key=where, allowed=f"a field of type {' or '.join(kinds)}")
    allowed = _bounds_text(spec)
    if method == "grid":
        if not isinstance(value, list) or not value:
            raise ScenarioError("grid parameters need a list of values", file=file, key=where,
                                given=value, allowed=f"a non-empty list of {allowed}")
        for v in value:
            if not _type_ok(v, typ):
                raise ScenarioError("wrong type of value", file=file, key=where, given=v,
                                    allowed=allowed)
            if not isinstance(v, (str, bool)) and not _in_bounds(v, spec):
                raise ScenarioError("value out of range", file=file, key=where, given=v,
                                    allowed=allowed)
            _check_scenario_value(key, v, base, file)
        if len({float(v) if typ == "float" else v for v in value}) != len(value):  # 1 == 1.0
            raise ScenarioError("repeated value in a grid", file=file, key=where, given=value,
                                allowed="distinct values")
        values = [float(v) if typ == "float" else v for v in value]
        return values, typ
    # lhs, sobol
    if not isinstance(value, dict):
        raise ScenarioError(f"{method} parameters need bounds", file=file, key=where,
                            given=value, allowed=f"{{ low = …, high = … }} within {allowed}")
    try:
        rng = Range.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        sub = ".".join(str(x) for x in err["loc"])
        what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].lower()
        raise ScenarioError(what, file=file, key=f"{where}.{sub}", given=err.get("input"),
                            allowed=f"{{ low = …, high = … }}, numbers within {allowed}") from None
    for name in ("low", "high"):
        v = value[name]
        if isinstance(v, bool) or (typ == "int" and not float(v).is_integer()):
            raise ScenarioError("wrong type of bound", file=file, key=f"{where}.{name}",
                                given=v, allowed=allowed)
        if not math.isfinite(v) or not _in_bounds(v, spec):
            raise ScenarioError("bound outside the scenario field's range", file=file,
                                key=f"{where}.{name}", given=v, allowed=allowed)
    if not rng.low < rng.high:
        raise ScenarioError("low must be below high", file=file, key=where,
                            given=f"low = {value['low']}, high = {value['high']}",
                            allowed=f"low < high within {allowed}")
    for v in (rng.low, rng.high):
        _check_scenario_value(key, int(v) if typ == "int" else v, base, file)
    return rng, typ


def _check_scenario_value(key: str, value: Any, base: tuple[dict[str, Any], str],
                          file: str | None) -> None:
    raw, scenario_file = base
    try:
        validate_scenario(raw, file=scenario_file, overrides={key: value})
    except ScenarioError as exc:
        raise ScenarioError(f"the scenario does not accept this value ({exc})", file=file,
                            key=f"parameters.{key}", given=value) from None


def _check_outputs(outputs: list[str] | None, file: str | None) -> tuple[str, ...]:
    from marketsim.reporters import MODEL_REPORTERS

    if outputs is None:
        return tuple(MODEL_REPORTERS)
    for name in outputs:
        if name not in MODEL_REPORTERS:
            raise ScenarioError("unknown reporter", file=file, key="outputs", given=name,
                                allowed=_suggest(name, list(MODEL_REPORTERS)))
    kept = [n for n in MODEL_REPORTERS if n in outputs]  # reporter order, no repeats
    if "regime" not in kept:
        kept.append("regime")
    return tuple(kept)


def _check_design(design: DesignSpec, n_params: int, file: str | None) -> None:
    if design.method == "grid":
        if design.samples is not None:
            raise ScenarioError("grid designs take every combination, not samples", file=file,
                                key="design.samples", given=design.samples,
                                allowed="no samples key for method = 'grid'")
        if design.second_order:
            raise ScenarioError("second_order is for sobol designs", file=file,
                                key="design.second_order", given=True, allowed="false")
        return
    if design.samples is None:
        raise ScenarioError(f"{design.method} designs need a sample size", file=file,
                            key="design.samples",
                            allowed="integer >= 1 (sobol: a power of 2)")
    if design.method == "sobol":
        n = design.samples
        if n & (n - 1):
            raise ScenarioError("sobol designs need a power of 2", file=file,
                                key="design.samples", given=n,
                                allowed="a power of 2, e.g. "
                                f"{2 ** max(0, n.bit_length() - 1)} or {2 ** n.bit_length()}")
        if n_params < 2:
            raise ScenarioError("sobol designs need at least 2 parameters", file=file,
                                key="parameters", given=n_params, allowed=">= 2 parameters")
    elif design.second_order:
        raise ScenarioError("second_order is for sobol designs", file=file,
                            key="design.second_order", given=True, allowed="false")


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
    _check_design(ef.design, len(ef.parameters), file)
    scenario_path = resolve_scenario_file(ef.scenario, file)
    base_raw = read_toml(scenario_path)
    fixed = dict(ef.fixed)
    for key in fixed:
        try:
            field_spec(key)
        except ScenarioError as exc:
            raise ScenarioError("not a scenario key", file=file, key=f"fixed.{key}",
                                allowed=exc.allowed or "a dotted scenario key") from None
    base_overrides = {**fixed, **({"horizon": ef.horizon} if ef.horizon is not None else {})}
    try:
        base = validate_scenario(base_raw, file=str(scenario_path), overrides=base_overrides)
    except ScenarioError as exc:
        what = "scenario with the fixed values" if fixed else "scenario"
        raise ScenarioError(f"{what} is not valid ({exc})", file=file,
                            key="fixed" if fixed else "scenario", given=None) from None
    base_dict = base.to_toml_dict()
    for key in ef.parameters:
        if key in fixed:
            raise ScenarioError("a key is both fixed and varied", file=file,
                                key=f"parameters.{key}", allowed="vary it or fix it, not both")
    params: dict[str, list[Any] | Range] = {}
    types: dict[str, str] = {}
    for key, value in ef.parameters.items():
        params[key], types[key] = _check_parameter(key, value, ef.design.method,
                                                   (base_dict, str(scenario_path)), file)
    return Experiment(
        source=file,
        name=ef.name or (Path(file).stem if file else "experiment"),
        description=ef.description,
        scenario_path=str(scenario_path),
        scenario=base,
        horizon=base.horizon,
        replications=ef.replications,
        seed=ef.seed,
        method=ef.design.method,
        samples=ef.design.samples,
        second_order=ef.design.second_order,
        parameters=params,
        types=types,
        outputs=_check_outputs(ef.outputs, file),
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
