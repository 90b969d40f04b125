"""Mechanism 5, the capital market: valuations, offers, dilution.

Valuation multiples rise with growth and are pulled toward recent peer multiples (herding, fear
of missing out). A lab weighs the cash against the dilution at its own internal valuation.
:class:`Deals` negotiates the month's offers against the ledger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from marketsim import decisions as check
from marketsim.mechanisms import capacity

if TYPE_CHECKING:
    from marketsim.agents import AILab, Hyperscaler, VentureCapitalist
    from marketsim.ledger import Ledger

#: Round multiples kept for the peer multiple (the most recent ones).
KEPT_MULTIPLES = 50

#: The participant standing for crossover and sovereign funds in an offer's ``participants``
#: (they pay from the ``crossover_funds`` outside account).
CROSSOVER = "crossover_funds"

#: The capital market's counters, reset each month with the model's own.
COUNTS: tuple[str, ...] = ("crossover_deployed",)


@dataclass
class Offer:
    """A funding offer: ``amount`` $bn for new shares at a pre-money valuation of ``pre_money``.

    Attributes:
        investor: the offering agent (a VentureCapitalist or a Hyperscaler).
        lab: the lab offered to.
        amount: $bn of new money.
        pre_money: $bn, the valuation before the money.
        credit_share: share of ``amount`` paid as compute credits on the investor's cloud
            (strategic offers by hyperscalers; 0 for venture offers).
        kind: "venture" or "strategic".
        participants: (investor, $bn) pairs who pay the round, lead first; empty: the
            ``investor`` pays all of ``amount``. Set by the capital market when a lead's round
            is larger than its own cheque (a syndicate of VCs, then crossover funds).
    """

    investor: Any
    lab: Any
    amount: float
    pre_money: float
    credit_share: float = 0.0
    kind: str = "venture"
    meta: dict = field(default_factory=dict)
    participants: list[tuple[Any, float]] = field(default_factory=list)

    @property
    def post_money(self) -> float:
        """Valuation after the money, $bn."""
        return self.pre_money + self.amount

    @property
    def stake(self) -> float:
        """Share of the lab the investor gets."""
        return self.amount / self.post_money if self.post_money > 0 else 0.0

    def payers(self) -> list[tuple[Any, float]]:
        """(investor, $bn) pairs paying the round: the participants, or the investor alone."""
        return self.participants or [(self.investor, self.amount)]


def revenue_multiple(
    growth: float,
    peer_multiple: float | None,
    base: float,
    growth_weight: float,
    herding: float,
    cap: float,
) -> float:
    """Valuation ÷ annualised revenue a VC pays.

    ``base × (1 + growth_weight × growth)`` (growth: yearly, 1.0 = doubling), blended with the
    recent peer multiple by ``herding`` ∈ [0, 1], capped at ``cap``.
    """
    own = base * (1.0 + growth_weight * max(growth, -0.9))
    if peer_multiple is not None and math.isfinite(peer_multiple):
        own = (1.0 - herding) * own + herding * peer_multiple
    return float(min(max(own, 1.0), cap))


def screening_keys(revenue: np.ndarray, gumbel: np.ndarray, chase: float = 1.0) -> np.ndarray:
    """Keys of weighted sampling without replacement (the Gumbel-top-k trick).

    Weight of each lab: ``chase × revenue + (1 − chase) × mean revenue`` plus 5% of the mean
    revenue (every lab has some chance). With ``chase`` 1 VCs chase what is visible; with 0
    they look at every lab alike. The ``k`` largest keys of a row are a draw of ``k`` labs
    without replacement with probabilities proportional to the weights.

    Args:
        revenue: each lab's revenue last month, $bn, shape (L,).
        gumbel: standard Gumbel draws, shape (L,) or (n, L) for n draws at once.
        chase: ``vcs.revenue_screening``, 0-1.

    Returns:
        Keys with the shape of ``gumbel``.
    """
    mean = revenue.sum() / revenue.size
    w = chase * revenue + ((1.0 - chase) * mean + 0.05 * max(mean, 1e-6))
    return np.log(w) + gumbel


def top_k(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest keys along the last axis, largest first (first of equals)."""
    if k == 1:
        return keys.argmax(axis=-1)[..., None]
    return np.argsort(-keys, axis=-1, kind="stable")[..., :k]


def dilute(cap_table: dict[int, float], investor: int, stake: float) -> dict[int, float]:
    """Cap table after selling ``stake`` of the lab to ``investor`` (all others diluted).

    Raises:
        ValueError: ``stake`` is not in [0, 1] (e.g. an offer with a pre-money valuation that
            is not positive), which would give holders negative or NaN shares.
    """
    return dilute_round(cap_table, {investor: stake})


def dilute_round(cap_table: dict[int, float], stakes: dict[int, float]) -> dict[int, float]:
    """Cap table after one round selling ``stakes`` (account → share) to its participants.

    Every holder before the round keeps ``1 − Σ stakes`` of its share; each participant then
    adds its stake.

    Raises:
        ValueError: a stake or their sum is not in [0, 1].
    """
    total = sum(stakes.values())
    if not (0.0 <= total <= 1.0 and all([0.0 <= v for v in stakes.values()])):
        raise ValueError(f"stake must be a share in [0, 1], got {total!r} (an offer needs a "
                         "positive amount and pre-money valuation)")
    out = {k: v * (1.0 - total) for k, v in cap_table.items()}
    for investor, stake in stakes.items():
        out[investor] = out.get(investor, 0.0) + stake
    return out


def dilution_worth_it(
    internal_value: float, offer_pre_money: float, amount: float, cash_value: float
) -> bool:
    """Do the owners gain from the offer at their own valuation of the lab?

    Owners keep ``pre / post`` of a lab they then value at ``internal_value + cash_value ×
    amount``; they accept when that beats ``internal_value`` without the deal. ``cash_value``
    > 1 when the cash is needed (short runway), ≈ 1 when it is not.
    """
    post = offer_pre_money + amount
    if post <= 0:
        return False
    return (internal_value + cash_value * amount) * offer_pre_money / post >= internal_value


#: Most that abundant dry powder can multiply the base entry rate by (keeps entry finite when
#: the reference dry powder is near zero, e.g. ``vcs.initial_dry_powder = 0``).
MAX_ENTRY_BOOST = 20.0


def entry_rate(
    base_rate: float, dry_powder: float, reference_dry_powder: float, sentiment: float
) -> float:
    """Expected new labs funded per month: rises with dry powder and sentiment.

    ``base_rate × min(dry_powder / reference_dry_powder, MAX_ENTRY_BOOST) × sentiment``
    (entrants per month; dry powder in $bn; 0 when the reference is not positive).
    """
    if reference_dry_powder <= 0:
        return 0.0
    boost = min(max(dry_powder, 0.0) / reference_dry_powder, MAX_ENTRY_BOOST)
    return float(base_rate * boost * max(sentiment, 0.0))


# ------------------------------------------------------------------ the month's market
def lp_inflow(vcs: list[VentureCapitalist], ledger: Ledger, vcfg: Any) -> None:
    """Limited partners pay each VC its share of the month's inflow, scaled by its sentiment."""
    lps = ledger["limited_partners"]
    ledger.post([(lps, vc.account,
                  vcfg.lp_inflow * vcfg.capital_abundance * vc.sentiment / len(vcs),
                  "lp_commitment") for vc in vcs])


def crossover_available(ledger: Ledger, vcfg: Any, tick: int) -> float:
    """Crossover and sovereign money that can still join rounds this month, $bn.

    The pool starts at ``vcs.crossover_pool`` and refills by ``vcs.crossover_inflow`` a month
    (both × ``vcs.capital_abundance``); what it has paid is the outside account's deficit::

        available = max(abundance × (crossover_pool + crossover_inflow × (tick + 1))
                        + balance(crossover_funds), 0)
    """
    supplied = vcfg.capital_abundance * (vcfg.crossover_pool + vcfg.crossover_inflow * (tick + 1))
    return max(supplied + ledger.balance(ledger["crossover_funds"]), 0.0)


@dataclass
class Deals:
    """The month's negotiations: offers decided by the labs and settled on the ledger.

    Attributes:
        ledger: the ledger the money moves on.
        counts: the month's counters (offers made, accepted, refused; money deployed).
        multiples: (tick, post-money ÷ run rate) of recent rounds, the last
            :data:`KEPT_MULTIPLES` kept.
        tick: this month.
        labs: the labs trading at the start of the capital market (offers go to them).
        vcs: every VC (followers of a round another VC leads), in the order they follow.
        vcfg: the ``[vcs]`` section (the crossover pool's keys).
        refused: lab unique_id → (post-money, amount) of the offer with the highest
            post-money it refused this month, $bn.
    """

    ledger: Ledger
    counts: dict[str, float]
    multiples: list[tuple[int, float]]
    tick: int
    labs: list[AILab]
    vcs: list[VentureCapitalist] = field(default_factory=list)
    vcfg: Any = None
    refused: dict[int, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._known = {id(lab) for lab in self.labs}

    def venture(self, vc: VentureCapitalist) -> None:
        """``vc`` screens the labs and leads a round in each it likes (syndicated if large)."""
        labs = self.labs
        screened = check.among(vc.screen(labs), vc, "screen", choices=labs, known=self._known,
                               allowed="a list of labs from the ones given (the active labs)")
        for lab in screened:
            offer = check.offer(vc.make_offer(lab), vc, "make_offer", credits=False)
            if offer is not None and offer.amount > 0:
                self.negotiate(offer, strategic=False)

    def syndicate(self, offer: Offer) -> bool:
        """Fill ``offer`` from its lead, then other VCs, then crossover funds; False if empty.

        The lead pays up to ``vcs.max_check_share`` of its dry powder; each other VC adds its
        :meth:`~marketsim.agents.VentureCapitalist.join_round`; crossover funds add up to
        ``vcs.crossover_max_share`` of :func:`crossover_available`. A round the market cannot
        fill shrinks to what was raised (same pre-money). An offer already naming its
        participants, or one the lead pays alone, is left as it is.
        """
        lead = offer.investor
        if offer.participants:
            return True
        share = self.vcfg.max_check_share if self.vcfg is not None else 1.0
        own = min(offer.amount, share * max(lead.dry_powder, 0.0))
        if own >= offer.amount:
            return True
        parts: list[tuple[Any, float]] = [(lead, own)] if own > 0 else []
        left = offer.amount - own
        for vc in self.vcs:
            if left <= 0:
                break
            if vc is not lead:
                part = min(check.non_negative(vc.join_round(offer, left), vc, "join_round"),
                           left, max(vc.dry_powder, 0.0))
                if part > 0:
                    parts.append((vc, part))
                    left -= part
        if left > 0 and self.vcfg is not None:
            pool = self.vcfg.crossover_max_share * crossover_available(self.ledger, self.vcfg,
                                                                        self.tick)
            part = min(left, pool)
            if part > 0:
                parts.append((CROSSOVER, part))
                left -= part
        offer.amount -= max(left, 0.0)
        offer.participants = parts
        return offer.amount >= 0.01

    def market_capacity(self, lead: Any) -> float:
        """Most a venture round led by ``lead`` could raise this month, $bn.

        Every VC's largest cheque (``vcs.max_check_share`` of its dry powder) plus the
        crossover funds' largest part (``vcs.crossover_max_share`` of what they have left).
        """
        if self.vcfg is None:
            return max(lead.dry_powder, 0.0)
        vcs = self.vcs if lead in self.vcs else [lead, *self.vcs]
        cheques = math.fsum(self.vcfg.max_check_share * max(vc.dry_powder, 0.0) for vc in vcs)
        pool = crossover_available(self.ledger, self.vcfg, self.tick)
        return cheques + self.vcfg.crossover_max_share * pool

    def strategic(self, hs: Hyperscaler) -> None:
        """``hs`` may offer a strategic investment (part in compute credits) to one lab."""
        offer = check.offer(hs.strategic_offer(self.labs), hs, "strategic_offer", credits=True)
        if offer is not None and offer.amount > 0:
            self.negotiate(offer, strategic=True)

    def negotiate(self, offer: Offer, *, strategic: bool) -> None:
        """The lab accepts or refuses the term sheet; an accepted round is paid and recorded.

        The lab weighs the round as offered (its amount, at most what the market could
        raise, :meth:`market_capacity`, at its pre-money); a venture round it accepts is then
        filled (:meth:`syndicate`) and may shrink to what the VCs choose to join with, at the
        same pre-money, then paid and the cap table diluted. A round that raises under
        $0.01bn lapses (counted as made, neither accepted nor refused); one the market could
        not raise $0.01bn for is no offer at all.
        """
        lab = offer.lab
        c = self.counts
        if not strategic and not offer.participants:
            offer.amount = min(offer.amount, self.market_capacity(offer.investor))
            if offer.amount < 0.01:
                return  # no round the market could fill: no offer
        c["offers_made"] += 1
        if not check.boolean(lab.consider_offer(offer), lab, "consider_offer"):
            self._refuse(offer)
            return
        if not strategic and not self.syndicate(offer):
            return
        c["offers_accepted"] += 1
        if strategic:
            self._pay_strategic(offer)
            stakes = {offer.investor.account: offer.stake}
        else:
            stakes = self._pay_venture(offer)
        lab.cap_table = dilute_round(lab.cap_table, stakes)
        lab.valuation = offer.post_money
        lab.raised += offer.amount
        run_rate = lab.run_rate
        if run_rate > 0:
            self.multiples.append((self.tick, offer.post_money / run_rate))
            if len(self.multiples) > KEPT_MULTIPLES:
                del self.multiples[:-KEPT_MULTIPLES]

    def _refuse(self, offer: Offer) -> None:
        """Count a refusal.

        ``amount_refused`` adds, per lab and month, the amount of its highest-valued refused
        offer: several leads may offer a lab the same money in one month.
        """
        lab = offer.lab
        self.counts["offers_refused"] += 1
        lab.refused += offer.amount
        post, amount = self.refused.get(lab.unique_id, (0.0, 0.0))
        if offer.post_money > post:
            self.counts["amount_refused"] += offer.amount - amount
            self.refused[lab.unique_id] = (offer.post_money, offer.amount)

    def _pay_strategic(self, offer: Offer) -> None:
        """Cash part from the hyperscaler (its parent funds it), the rest as compute credits."""
        hs, lab = offer.investor, offer.lab
        cash_part = offer.amount * (1.0 - offer.credit_share)
        capacity.hyperscaler_pays(self.ledger, hs, lab.account, cash_part, "strategic")
        lab.credits[hs.index] += offer.amount - cash_part
        hs.partners.add(lab.unique_id)
        hs.stakes[lab.unique_id] = hs.stakes.get(lab.unique_id, 0.0) + offer.stake
        self.counts["strategic_deployed"] += offer.amount

    def _pay_venture(self, offer: Offer) -> dict[int, float]:
        """Each participant pays its part in cash; returns account → stake for the cap table.

        VCs record the investment in their portfolio; crossover money comes from the
        ``crossover_funds`` outside account. All of it counts in ``vc_deployed``, the
        crossover part also in ``crossover_deployed``.
        """
        lab, post = offer.lab, offer.post_money
        crossover = self.ledger["crossover_funds"]
        stakes: dict[int, float] = {}
        payments: list[tuple[int, int, float, str]] = []
        for investor, part in offer.payers():
            if investor is CROSSOVER:
                account = crossover
                self.counts["crossover_deployed"] += part
            else:
                account = investor.account
                investor.portfolio[lab.unique_id] = investor.portfolio.get(lab.unique_id,
                                                                           0.0) + part
                investor.deployed += part
            payments.append((account, lab.account, part, "venture"))
            stakes[account] = stakes.get(account, 0.0) + part / post
        self.ledger.post(payments)  # the participants' transfers, in order
        self.counts["vc_deployed"] += offer.amount
        return stakes
