"""Dotted scenario keys: what each one is, and one-line messages for bad ones.

:func:`field_spec` and :func:`parameter_table` read type, unit, default and bounds from the
schema (for sliders, sweeps and ``docs/parameters.md``); :func:`explain_error` turns pydantic's
first validation error into a :class:`~marketsim.errors.ScenarioError` naming the key, the
value given and what is allowed, with a suggestion for a misspelt key.
"""

from __future__ import annotations

import difflib
from typing import Any

import annotated_types as at
from pydantic import BaseModel, ValidationError

from marketsim.errors import ScenarioError
from marketsim.sections import _attr

_BOUNDS = {"ge": at.Ge, "gt": at.Gt, "le": at.Le, "lt": at.Lt}


def _root() -> type[BaseModel]:
    """The whole scenario's schema (imported on use: :mod:`marketsim.scenario` imports this)."""
    from marketsim.scenario import MarketScenario

    return MarketScenario


def _section_model(dotted_prefix: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] = _root()
    for part in dotted_prefix:
        fld = model.model_fields.get(_attr(part.split("[")[0]))
        if fld is None:
            return None
        ann = fld.annotation
        args = getattr(ann, "__args__", ())
        if getattr(ann, "__origin__", None) is list and args:  # e.g. mix: list[ClassMix]
            ann = args[0]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return None
    return model


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items() if n != "source"]


def field_spec(dotted: str) -> dict[str, Any]:
    """Type, unit, bounds and description of a dotted scenario key (for sliders and docs).

    Raises:
        ScenarioError: the key does not exist.
    """
    parts = dotted.split(".")
    model = _section_model(parts[:-1])
    fld = model.model_fields.get(_attr(parts[-1])) if model else None
    if fld is None:
        raise ScenarioError("unknown key", key=dotted, allowed=suggest(dotted))
    spec: dict[str, Any] = {
        "key": dotted,
        "type": getattr(fld.annotation, "__name__", str(fld.annotation)),
        "unit": (fld.json_schema_extra or {}).get("unit", ""),  # type: ignore[union-attr]
        "description": fld.description or "",
        "default": fld.get_default(call_default_factory=True),
    }
    for meta in fld.metadata:
        for name, bound in _BOUNDS.items():
            if isinstance(meta, bound):
                spec[name] = getattr(meta, name)
    return spec


def _allowed(spec: dict[str, Any]) -> str:
    lo = f">= {spec['ge']}" if "ge" in spec else (f"> {spec['gt']}" if "gt" in spec else "")
    hi = f"<= {spec['le']}" if "le" in spec else (f"< {spec['lt']}" if "lt" in spec else "")
    rng = " and ".join(x for x in (lo, hi) if x)
    unit = f" {spec['unit']}" if spec.get("unit") and spec["unit"] != "-" else ""
    return f"{spec['type']}{' ' + rng if rng else ''}{unit}"


def parameter_table() -> list[dict[str, Any]]:
    """Every scalar scenario key with type, unit, default, range and description (for docs)."""
    rows: list[dict[str, Any]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, fld in model.model_fields.items():
            key = prefix + (fld.alias or name)
            ann = fld.annotation
            if name in ("source", "mix"):
                continue
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")
            else:
                spec = field_spec(key)
                spec["allowed"] = _allowed(spec)
                rows.append(spec)

    walk(_root(), "")
    return rows


def dotted_keys() -> list[str]:
    """Every key a scenario may set, dotted (``"buyers.count"``), sections included."""
    keys: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, fld in model.model_fields.items():
            if name == "source":
                continue
            key = prefix + (fld.alias or name)
            keys.append(key)
            ann = fld.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")

    walk(_root(), "")
    return keys


def suggest(key: str, choices: list[str] | None = None) -> str:
    """What to say instead of unknown ``key``: the closest of ``choices``, or where to look."""
    choices = choices if choices is not None else dotted_keys()
    section, _, name = key.rpartition(".")
    longer = [c for c in choices  # a shortened name: regime.hhi for regime.hhi_concentrated
              if c.rpartition(".")[0] == section
              and c.rpartition(".")[2].startswith(name + "_")]
    close = longer if name and len(longer) == 1 else difflib.get_close_matches(
        key, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    section = key.rsplit(".", 1)[0] if "." in key else ""
    near = [c for c in choices if section and c.startswith(section + ".")][:6]
    return "one of " + ", ".join(near) + ", ..." if near else "see docs/parameters.md"



def value_at(data: Any, path: Any, default: Any = None) -> Any:
    """The value at a key path in nested dicts and lists (``default`` if it is not there)."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def explain_error(exc: ValidationError, raw: dict[str, Any], file: str | None) -> ScenarioError:
    """The one-line error for pydantic's first complaint about ``raw`` (read from ``file``).

    It names the dotted key, the value as written and what is allowed: the key's type, range
    and unit, the keys of a section given as something else, or a close key for a misspelt one.
    """
    err = exc.errors()[0]
    loc: list[str] = []
    for x in err["loc"]:
        if isinstance(x, int) and loc:
            loc[-1] += f"[{x}]"  # labs.mix[0].count
        else:
            loc.append(str(x))
    key = ".".join(loc)
    plain = ".".join(part.split("[")[0] for part in loc)  # labs.mix.count, for the schema
    given = value_at(raw, err["loc"], err.get("input"))
    if err["type"] == "extra_forbidden":
        section = _section_model(loc[:-1])
        choices = [".".join([*loc[:-1], k]) for k in _keys_of(section)] if section else None
        return ScenarioError("unknown key", file=file, key=key, allowed=suggest(key, choices))
    if err["type"] == "missing":
        return ScenarioError("required key missing", file=file, key=key)
    msg = str(err["msg"])
    if msg.startswith("Value error, "):  # our own validators say what is wrong
        msg = msg[len("Value error, "):]
        if not loc:  # a rule over several keys: the message names them
            return ScenarioError(msg, file=file)
    elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        msg = "must be a table"
    else:
        msg = short_message(err)
    section = _section_model(plain.split("."))
    if section is not None:  # a whole table (or list of tables) given as something else
        many = isinstance(given, list) or plain.endswith(".mix")
        brackets = f"[[{plain}]]" if many else f"[{plain}]"
        allowed = f"{'tables' if many else 'a table'} {brackets} with keys " + ", ".join(
            _keys_of(section))
    else:
        try:
            spec = field_spec(plain)
            allowed = _allowed(spec)
            if spec["type"] == "str" and spec["description"]:
                allowed = f"text: {spec['description']}"
        except ScenarioError:
            allowed = str(err["msg"])
    return ScenarioError(msg[:1].lower() + msg[1:], file=file, key=key, given=given,
                         allowed=allowed)


def short_message(err: Any) -> str:
    """A pydantic error's message up to its first comma ("Input should be a valid integer").

    A choice among literals keeps all of them ("Input should be 'grid', 'lhs' or 'sobol'").
    """
    msg = str(err["msg"])
    return msg if err["type"] in ("literal_error", "enum") else msg.split(",")[0]

