"""Agent classes a scenario names: importing their modules, loading and checking them.

A scenario's ``class = "package.module:ClassName"`` (and each ``[[SECTION.mix]]`` entry) names
a subclass of the kind's built-in agent. :func:`load_class` imports it, looking beside the
scenario file when the module is not on the import path, and :func:`check_classes` checks a
validated scenario's classes and the size ranks its mix entries take.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketsim.errors import ScenarioError

if TYPE_CHECKING:
    from marketsim.scenario import MarketScenario


def import_module(name: str, file: str | None = None) -> Any:
    """Import module ``name``; if its top-level package is not found, look beside ``file``.

    Tries the normal import path first. Only when the top-level package itself is missing
    are the scenario file's folder and the current directory appended to ``sys.path``
    (after everything installed) and the import tried again, so ``my_agents.py`` next to
    ``my_scenario.toml`` is found by ``marketsim run``, ``marketsim viz`` and local sweep
    workers without ``PYTHONPATH``.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.partition(".")[0]:
            raise  # the package was found; something inside it is missing
        folders = [str(Path(file).resolve().parent)] if file else []
        folders.append(str(Path.cwd()))
        new = [f for f in dict.fromkeys(folders) if f not in sys.path]
        if not new:
            raise
        sys.path.extend(new)
        importlib.invalidate_caches()
        return importlib.import_module(name)


def load_class(path: str, base: type, *, key: str = "class", file: str | None = None) -> type:
    """Import ``"package.module:ClassName"`` and check it subclasses ``base``."""
    allowed = f"'package.module:ClassName' naming a subclass of {base.__name__}"
    if ":" not in path:
        raise ScenarioError("not an import path", file=file, key=key, given=path, allowed=allowed)
    mod_name, _, cls_name = path.partition(":")
    try:
        module = import_module(mod_name, file)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import failure is the user's
        raise ScenarioError(
            f"cannot import module '{mod_name}' ({type(exc).__name__}: {exc})",
            file=file, key=key, given=path, allowed=allowed,
        ) from None
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        what = ("class not found" if cls is None else
                "not a class" if not isinstance(cls, type) else "class not a subclass")
        where = getattr(module, "__file__", None)
        if where:  # e.g. a user's queue.py shadowed by the standard library's
            what += f" (module '{mod_name}' imported from {where})"
        raise ScenarioError(what, file=file, key=key, given=path, allowed=allowed)
    return cls


def check_classes(sc: MarketScenario, kind: str, file: str | None) -> None:
    """Load the classes section ``kind`` names and check its mix's counts and size ranks.

    Raises:
        ScenarioError: a class cannot be loaded, a rank is out of range or taken twice, or
            the mix entries count more agents than the section has.
    """
    from marketsim.agents import BASE_CLASSES

    section = getattr(sc, kind)
    if section.class_ is not None:
        load_class(section.class_, BASE_CLASSES[kind], key=f"{kind}.class", file=file)
    total = 0
    seen: set[int] = set()
    for i, mix in enumerate(section.mix):
        key = f"{kind}.mix[{i}]"
        load_class(mix.class_, BASE_CLASSES[kind], key=f"{key}.class", file=file)
        total += mix.count
        ranks = mix.ranks or []
        if ranks and kind == "buyers":
            raise ScenarioError("buyers have no size ranks", file=file, key=f"{key}.ranks",
                                given=ranks, allowed="leave out 'ranks' under [buyers]")
        if len(ranks) > mix.count:
            raise ScenarioError("more ranks than agents", file=file, key=f"{key}.ranks",
                                given=ranks, allowed=f"at most count = {mix.count} ranks")
        for r in ranks:
            if not 0 <= r < section.count:
                raise ScenarioError("rank out of range", file=file, key=f"{key}.ranks",
                                    given=r, allowed=f"0 to {section.count - 1}")
            if r in seen:
                raise ScenarioError("rank given twice", file=file, key=f"{key}.ranks",
                                    given=r, allowed="each rank in at most one mix entry, once")
            seen.add(r)
    if total > section.count:
        raise ScenarioError("mix counts exceed the kind's count", file=file,
                            key=f"{kind}.mix", given=total, allowed=f"<= {section.count}")
