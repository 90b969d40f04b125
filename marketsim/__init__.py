"""marketsim: an agent-based model (Mesa) of the market for frontier AI.

When does the market split into a few giants that own their data centres and many small labs
that rent compute (bifurcation), and when does it shrink to a few survivors (consolidation)?
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("marketsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: The public names and the modules they live in. They are imported on first use, so that
#: ``marketsim --help`` or a mistyped scenario key answers at once, without importing Mesa.
_PUBLIC: dict[str, str] = {
    "AILab": "marketsim.agents",
    "AIMarketModel": "marketsim.model",
    "EnterpriseBuyer": "marketsim.agents",
    "Hyperscaler": "marketsim.agents",
    "MarketScenario": "marketsim.scenario",
    "Offer": "marketsim.mechanisms.capital",
    "ScenarioError": "marketsim.errors",
    "SweepError": "marketsim.errors",
    "VentureCapitalist": "marketsim.agents",
    "load_experiment": "marketsim.experiment",
    "load_scenario": "marketsim.scenario",
    "run_sweep": "marketsim.sweep",
}

if TYPE_CHECKING:
    from marketsim.agents import AILab, EnterpriseBuyer, Hyperscaler, VentureCapitalist
    from marketsim.errors import ScenarioError, SweepError
    from marketsim.experiment import load_experiment
    from marketsim.mechanisms.capital import Offer
    from marketsim.model import AIMarketModel
    from marketsim.scenario import MarketScenario, load_scenario
    from marketsim.sweep import run_sweep


def __getattr__(name: str) -> Any:
    """Import a public name, or a submodule (``marketsim.model``), on first use (PEP 562)."""
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":  # the submodule exists but needs a missing one
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


__all__ = [
    "AILab",
    "AIMarketModel",
    "EnterpriseBuyer",
    "Hyperscaler",
    "MarketScenario",
    "Offer",
    "ScenarioError",
    "SweepError",
    "VentureCapitalist",
    "__version__",
    "load_experiment",
    "load_scenario",
    "run_sweep",
]
