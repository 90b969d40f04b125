"""Generic fixtures shared by the test suite (only generic ones: no test logic here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from toml_util import toml_value

#: Overrides that make any scenario tiny and fast (few buyers, short horizon).
TINY: dict[str, Any] = {"buyers.count": 200, "horizon": 12}


def dotted_to_toml(values: dict[str, Any]) -> str:
    """TOML text from dotted keys (``{"buyers.count": 10, "horizon": 6}``)."""
    top: list[str] = []
    sections: dict[str, list[str]] = {}
    for key, value in values.items():
        if "." in key:
            section, _, leaf = key.rpartition(".")
            sections.setdefault(section, []).append(f"{leaf} = {toml_value(value)}")
        else:
            top.append(f"{key} = {toml_value(value)}")
    parts = ["\n".join(top)]
    parts += [f"[{s}]\n" + "\n".join(lines) for s, lines in sections.items()]
    return "\n\n".join(parts) + "\n"


@pytest.fixture
def tiny() -> dict[str, Any]:
    """Overrides that shrink a scenario to a few hundred buyers and a year."""
    return dict(TINY)


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write a scenario TOML file from text or dotted keys; return its path.

    ``write_scenario({"buyers.count": 50})`` or ``write_scenario(text="horizon = 3")``;
    ``tiny=True`` (default for dicts) adds the tiny overrides unless given.
    """
    counter = iter(range(1_000_000))

    def make(values: dict[str, Any] | None = None, *, text: str | bytes | None = None,
             name: str | None = None, tiny: bool = True) -> Path:
        path = tmp_path / (name or f"scenario_{next(counter)}.toml")
        if text is not None:
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
            return path
        merged = {**(TINY if tiny else {}), **(values or {})}
        path.write_text(dotted_to_toml(merged), encoding="utf-8")
        return path

    return make
