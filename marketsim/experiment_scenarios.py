"""The scenarios of an experiment: where its ``scenario`` files are found, and their bases.

``scenario`` is one file or a list of them; each is found beside the experiment file, then in
the current directory, then in the repository's ``scenarios/`` (a shipped scenario's name
works too), and validated with the experiment's fixed values and horizon applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marketsim.errors import ScenarioError
from marketsim.scenario import SCENARIO_DIR, MarketScenario, read_toml, validate_scenario


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


def _base(path: Path, overrides: dict[str, Any], file: str | None) -> MarketScenario:
    """One scenario file with the experiment's fixed values and horizon applied."""
    try:
        return validate_scenario(read_toml(path), file=str(path), overrides=overrides)
    except ScenarioError as exc:
        fixed = bool(set(overrides) - {"horizon"})
        what, key = ("scenario with the fixed values", "fixed") if fixed else ("scenario",
                                                                               "scenario")
        raise ScenarioError(f"{what} is not valid ({exc})", file=file, key=key,
                            given=None) from None


def base_scenarios(spec: str | list[str], overrides: dict[str, Any],
                   file: str | None) -> dict[str, MarketScenario]:
    """Scenario name -> base scenario of the experiment's ``scenario`` value (file order).

    Raises:
        ScenarioError: a file not found or not valid, an empty list, or two scenarios of one
            name (the name is what tells runs apart in the ``scenario`` column).
    """
    names = spec if isinstance(spec, list) else [spec]
    if not names:
        raise ScenarioError("an empty list of scenarios", file=file, key="scenario",
                            given=spec, allowed="a scenario file, or a list of them")
    bases: dict[str, MarketScenario] = {}
    for name in names:
        base = _base(resolve_scenario_file(name, file), overrides, file)
        if base.label in bases:
            raise ScenarioError("two scenarios of the list have the same name", file=file,
                                key="scenario", given=base.label,
                                allowed="scenarios with distinct names (their `name` key)")
        bases[base.label] = base
    return bases
