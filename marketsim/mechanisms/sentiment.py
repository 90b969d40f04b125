"""Mechanism 5's last part, after the offers: the market's growth, recent losses, sentiment.

VCs' sentiment follows the yearly growth of enterprise spend and the share of labs lost to
bankruptcy in the last year (docs/model.md 7.6, "Sentiment").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketsim import decisions as check

if TYPE_CHECKING:
    from marketsim.agents import AILab, VentureCapitalist


def market_growth(spend_history: list[float], now: float) -> float:
    """Yearly growth of enterprise spend: ``now`` ($bn) against up to 12 months back."""
    if not spend_history:
        return 1.0
    back = min(12, len(spend_history))
    past = spend_history[len(spend_history) - back]
    if past <= 0 or now <= 0:
        return 0.0
    return float((now / past) ** (12.0 / back) - 1.0)


def loss_rate(labs: list[AILab], n_active: int, tick: int, bankrupt: str) -> float:
    """Labs gone ``bankrupt`` in the last 12 months per active lab (VCs' fear of losses)."""
    losses = len([lab for lab in labs if lab.exit_tick is not None
                  and lab.exit_tick >= tick - 12 and lab.status == bankrupt])
    return losses / max(n_active, 1)


def update_sentiment(vcs: list[VentureCapitalist], growth: float, losses: float) -> None:
    """Each VC's ``update_sentiment()`` from the market's growth and recent losses."""
    for vc in vcs:
        vc.sentiment = check.non_negative(vc.update_sentiment(growth, losses), vc,
                                          "update_sentiment", most=check.MOST_SENTIMENT)
