"""The four kinds of agent. Subclass any of them and name the subclass in a scenario."""

from marketsim.agents.buyer import BuyerArrays, EnterpriseBuyer
from marketsim.agents.hyperscaler import Hyperscaler
from marketsim.agents.lab import ACQUIRED, ACTIVE, BANKRUPT, AILab
from marketsim.agents.vc import VentureCapitalist

BASE_CLASSES: dict[str, type] = {
    "labs": AILab,
    "vcs": VentureCapitalist,
    "hyperscalers": Hyperscaler,
    "buyers": EnterpriseBuyer,
}

__all__ = [
    "ACQUIRED",
    "ACTIVE",
    "BANKRUPT",
    "BASE_CLASSES",
    "AILab",
    "BuyerArrays",
    "EnterpriseBuyer",
    "Hyperscaler",
    "VentureCapitalist",
]
