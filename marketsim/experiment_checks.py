"""Checks of an experiment file's design, parameters and outputs against the scenario schema.

Each check raises one :class:`~marketsim.ScenarioError` line naming the file, the key, the
value given and what is allowed. Used by :func:`marketsim.experiment.validate_experiment`.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketsim.errors import ScenarioError
from marketsim.scenario import field_spec, validate_scenario

#: Scenario field types a sweep can vary, as :func:`marketsim.scenario.field_spec` names them.
GRID_TYPES: tuple[str, ...] = ("int", "float", "bool", "str", "str | None")
RANGE_TYPES: tuple[str, ...] = ("int", "float")


class StrictModel(BaseModel):
    """Extra keys are errors and types are strict (TOML's ``"12"`` is no int)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)  # "12" is no int


class Range(StrictModel):
    """Bounds of a parameter sampled by ``lhs`` or ``sobol`` (in the scenario field's unit)."""

    low: float
    high: float


class DesignSpec(StrictModel):
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


def suggest(key: str, choices: list[str]) -> str:
    """What the user may have meant: the closest choice, else the list of them."""
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "one of " + ", ".join(choices)


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


Bases = list[tuple[dict[str, Any], str]]


def check_parameter(key: str, value: Any, method: str, bases: Bases,
                    file: str | None) -> tuple[list[Any] | Range, str]:
    """Check one ``[parameters]`` entry against the scenario schema; return it and its type.

    ``bases`` are the scenarios (with the fixed values) as TOML dicts with the paths of their
    files (agent classes are also looked for beside them): each must accept every value.
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
    if method == "grid":
        return _check_grid(key, value, spec, bases, file), typ
    return _check_range(key, value, method, spec, bases, file), typ


def _check_grid(key: str, value: Any, spec: dict[str, Any], bases: Bases,
                file: str | None) -> list[Any]:
    """A grid parameter's values: a non-empty list of distinct values the scenarios accept."""
    where, typ, allowed = f"parameters.{key}", spec["type"], _bounds_text(spec)
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
        _check_scenario_value(key, v, bases, file)
    if len({float(v) if typ == "float" else v for v in value}) != len(value):  # 1 == 1.0
        raise ScenarioError("repeated value in a grid", file=file, key=where, given=value,
                            allowed="distinct values")
    return [float(v) if typ == "float" else v for v in value]


def _check_range(key: str, value: Any, method: str, spec: dict[str, Any], bases: Bases,
                 file: str | None) -> Range:
    """An lhs or sobol parameter's bounds: low < high, both within the field's range."""
    where, typ, allowed = f"parameters.{key}", spec["type"], _bounds_text(spec)
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
        _check_scenario_value(key, int(v) if typ == "int" else v, bases, file)
    return rng


def _check_scenario_value(key: str, value: Any, bases: Bases, file: str | None) -> None:
    for raw, scenario_file in bases:
        try:
            validate_scenario(raw, file=scenario_file, overrides={key: value})
        except ScenarioError as exc:
            raise ScenarioError(f"the scenario does not accept this value ({exc})", file=file,
                                key=f"parameters.{key}", given=value) from None


def check_outputs(outputs: list[str] | None, file: str | None) -> tuple[str, ...]:
    """The reporters to keep, in reporter order, ``regime`` always (None: all)."""
    from marketsim.reporters import MODEL_REPORTERS

    if outputs is None:
        return tuple(MODEL_REPORTERS)
    for name in outputs:
        if name not in MODEL_REPORTERS:
            raise ScenarioError("unknown reporter", file=file, key="outputs", given=name,
                                allowed=suggest(name, list(MODEL_REPORTERS)))
    kept = [n for n in MODEL_REPORTERS if n in outputs]  # reporter order, no repeats
    if "regime" not in kept:
        kept.append("regime")
    return tuple(kept)


def check_design(design: DesignSpec, n_params: int, file: str | None, *,
                 several: bool = False) -> None:
    """Samples and second_order where the method takes them; sobol: N a power of 2, D >= 2.

    ``several``: the experiment varies its scenario (a list): grid or lhs only, and a grid
    may then vary nothing else.
    """
    if several and design.method == "sobol":
        raise ScenarioError("a list of scenarios is crossed with grid and lhs designs only "
                            "(Sobol' indices are of one scenario)", file=file, key="scenario",
                            allowed="one scenario file, or method = 'grid' or 'lhs'")
    if n_params == 0 and not (several and design.method == "grid"):
        raise ScenarioError("no parameter to vary", file=file, key="parameters",
                            allowed="a table of dotted scenario keys with their values (a grid "
                            "over a list of scenarios may leave it out)")
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


