"""marketsim: an agent-based model (Mesa) of the market for frontier AI.

When does the market split into a few giants that own their data centres and many small labs
that rent compute (bifurcation), and when does it shrink to a few survivors (consolidation)?
"""

from importlib.metadata import PackageNotFoundError, version

from marketsim.agents import AILab, EnterpriseBuyer, Hyperscaler, VentureCapitalist
from marketsim.errors import ScenarioError
from marketsim.mechanisms.capital import Offer
from marketsim.model import AIMarketModel
from marketsim.scenario import MarketScenario, load_scenario

try:
    __version__ = version("marketsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"


def load_experiment(path, overrides=None):  # noqa: ANN001, ANN201 - re-exported below
    """Load and validate an experiment file (see :mod:`marketsim.experiment`)."""
    from marketsim.experiment import load_experiment as _load

    return _load(path, overrides=overrides)


def run_sweep(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Run an experiment's sweep (see :func:`marketsim.sweep.run_sweep`)."""
    from marketsim.sweep import run_sweep as _run

    return _run(*args, **kwargs)


__all__ = [
    "AILab",
    "AIMarketModel",
    "EnterpriseBuyer",
    "Hyperscaler",
    "MarketScenario",
    "Offer",
    "ScenarioError",
    "VentureCapitalist",
    "__version__",
    "load_experiment",
    "load_scenario",
    "run_sweep",
]
