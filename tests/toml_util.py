"""Writing TOML values in tests (the standard library reads TOML but does not write it)."""

from __future__ import annotations

from typing import Any


def toml_value(value: Any) -> str:
    """A Python bool, string, list or number as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)
