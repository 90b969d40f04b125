"""Mechanism 6, consolidation: debts resolved, distressed labs acquired or bankrupt, entry.

A lab whose cash is negative after the capital market may get a bridge loan from creditors
(:mod:`~marketsim.mechanisms.credit`); otherwise it is acquired by the
richest bidder willing to pay more than its debts, or else goes bankrupt: its owned GPUs are
sold at a discount and its customers choose again. VCs found new labs at a rate that rises
with dry powder and sentiment.

Every exit is settled here; the model keeps its roster (:meth:`AIMarketModel.close_lab`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from marketsim import decisions as check
from marketsim.agents import AILab
from marketsim.mechanisms import credit
from marketsim.mechanisms.capital import entry_rate
from marketsim.units import BN_PER_USD

if TYPE_CHECKING:
    from marketsim.agents import Hyperscaler, VentureCapitalist
    from marketsim.ledger import Ledger
    from marketsim.mechanisms.credit import CreditBook


def pick_acquirer(bids: np.ndarray, cash: np.ndarray, debt: float) -> int:
    """Index of the richest bidder whose bid is positive and who can pay bid plus debt, or -1."""
    able = (bids > 0) & (cash >= bids + debt)
    if not able.any():
        return -1
    return int(np.argmax(np.where(able, cash, -np.inf)))


def fire_sale_value(
    owned_gpus: float, capex_per_gpu: float, discount: float, life_left: float = 0.5
) -> float:
    """$bn raised by selling a bankrupt lab's GPUs: capex × remaining life × (1 − discount)."""
    return owned_gpus * capex_per_gpu * BN_PER_USD * life_left * (1.0 - discount)


def pro_rata(amount: float, cap_table: dict[int, float]) -> dict[int, float]:
    """Split ``amount`` $bn among holders by share (shares need not sum to one)."""
    total = sum(cap_table.values())
    if total <= 0 or amount <= 0:
        return {}
    return {k: amount * v / total for k, v in cap_table.items() if v > 0}


# ------------------------------------------------------------------ debts
def distressed(labs: list[AILab]) -> list[AILab]:
    """Labs with negative cash, most indebted first."""
    return sorted((lab for lab in labs if lab.cash < 0), key=lambda lab: lab.cash)


# ------------------------------------------------------------------ exits
def highest_bid(target: AILab, bidders: list[Any]) -> tuple[Any, float]:
    """The winning bidder for ``target`` and its bid ($bn), or ``(None, 0.0)``.

    Every bidder's ``bid_for()`` (negative bids count as none); the richest that can pay
    its bid plus the target's liabilities wins (:func:`pick_acquirer`).
    """
    bids = np.array([max(check.number(b.bid_for(target), b, "bid_for"), 0.0) for b in bidders])
    cash = np.array([b.cash for b in bidders])
    k = pick_acquirer(bids, cash, target.liabilities)
    return (bidders[k], float(bids[k])) if k >= 0 else (None, 0.0)


def pay_out(lab: AILab, ledger: Ledger, vcs: list[VentureCapitalist], tick: int, kind: str,
            ) -> None:
    """Distribute a closing lab's cash to its shareholders; VCs record the return.

    Each payment is at most the cash left: float rounding of large sums must not overdraw.
    """
    by_account = {vc.account: vc for vc in vcs}
    for holder, share in pro_rata(lab.cash, lab.cap_table).items():
        amount = ledger.transfer(lab.account, holder, max(min(share, lab.cash), 0.0), kind)
        if holder in by_account:
            by_account[holder].returns.append((tick, lab.unique_id, amount))


def acquire(buyer: AILab | Hyperscaler, target: AILab, price: float, ledger: Ledger,
            vcs: list[VentureCapitalist], supplier: np.ndarray, tick: int, book: CreditBook,
            ) -> None:
    """``buyer`` pays ``target``'s liabilities plus ``price``; loans repaid, owners paid out.

    A lab that buys takes the target's GPUs, projects, customers (``supplier``: the buyers'
    supplier indices) and the better of the two models; a hyperscaler takes the GPUs into
    its capacity and the customers choose again.
    """
    ledger.transfer(buyer.account, target.account, target.liabilities + price, "acquisition")
    credit.settle(target, ledger, book, tick)
    pay_out(target, ledger, vcs, tick, "exit_proceeds")
    if isinstance(buyer, AILab):
        buyer.owned_gpus += target.owned_gpus
        buyer.projects += target.projects
        buyer.effective_compute = max(buyer.effective_compute, target.effective_compute)
        supplier[supplier == target.index] = buyer.index
    else:
        buyer.capacity += target.owned_gpus
        supplier[supplier == target.index] = -1


def bankrupt(lab: AILab, ledger: Ledger, vcs: list[VentureCapitalist], supplier: np.ndarray,
             tick: int, cc: Any, book: CreditBook) -> None:
    """Fire sale of the GPUs (built and half-built), creditors, then shareholders paid.

    Unpaid bills (negative cash) are written off by the creditors' account; loans the fire
    sale does not repay are written off in the creditors' ``book`` (a default). The customers
    choose again. ``cc``: the scenario's ``[compute]`` section.
    """
    owned = lab.owned_gpus + sum(p[0] * (1 - p[1] / max(cc.lead_time, 1)) for p in lab.projects)
    ledger.transfer(ledger["suppliers"], lab.account,
                    fire_sale_value(owned, cc.capex_per_gpu, cc.fire_sale_discount), "fire_sale")
    if lab.cash < 0:
        ledger.transfer(ledger["creditors"], lab.account, -lab.cash, "write_off")
    credit.settle(lab, ledger, book, tick)  # creditors before shareholders
    pay_out(lab, ledger, vcs, tick, "liquidation")
    supplier[supplier == lab.index] = -1


def close(lab: AILab, status: str, tick: int) -> None:
    """The lab stops trading: status set, GPUs, projects, tokens and credits cleared."""
    lab.status = status
    lab.exit_tick = tick
    lab.rented_gpus = np.zeros_like(lab.rented_gpus)
    lab.owned_gpus = 0.0
    lab.projects = []
    lab.inference_gpus = 0.0
    lab.served_tokens = 0.0
    lab.demand_tokens = 0.0
    lab.credits[:] = 0.0


# ------------------------------------------------------------------ entry
def entrants(vcs: list[VentureCapitalist], vcfg: Any, rng: np.random.Generator) -> int:
    """How many labs VCs try to found this month: Poisson(rate), at most ``vcs.max_entrants``.

    The rate (:func:`~marketsim.mechanisms.capital.entry_rate`) rises with the VCs' dry
    powder against a reference (the initial dry powder, or a year of LP inflow if larger;
    not scaled by abundance, so abundance raises entry) and with their mean sentiment.
    """
    dry_total = float(np.array([max(vc.dry_powder, 0.0) for vc in vcs]).sum())
    ref = max(vcfg.initial_dry_powder, 12.0 * vcfg.lp_inflow, BN_PER_USD)
    sentiment = float(np.array([vc.sentiment for vc in vcs]).sum()) / len(vcs)
    lam = entry_rate(vcfg.entry_rate, dry_total, ref, sentiment)
    # At most max_entrants (<= 1,000) are founded: a rate past 1e6 changes nothing, and
    # NumPy's Poisson refuses rates past ~1e19.
    n_new = min(int(rng.poisson(min(lam, 1e6))) if lam > 0 else 0, vcfg.max_entrants)
    return n_new if dry_total > 0 else 0


def found_entrants(n: int, vcs: list[VentureCapitalist], found: Callable[[], AILab],
                   ledger: Ledger, counts: dict[str, float], floor: float,
                   rng: np.random.Generator) -> None:
    """``n`` times, a VC drawn in proportion to dry powder may seed a new lab (``fund_entrant()``).

    ``found()`` creates the lab; it starts with the open-weight capability ``floor``, 25 %
    owned by its VC and 75 % by its founders. ``counts`` records entries and money deployed.
    """
    dry = np.array([max(vc.dry_powder, 0.0) for vc in vcs])
    p = dry / float(dry.sum())
    for _ in range(n):
        vc = vcs[int(rng.choice(len(vcs), p=p))]
        seed = max(check.number(vc.fund_entrant(), vc, "fund_entrant"), 0.0)
        if seed <= 0 or seed > vc.dry_powder:
            continue
        lab = found()
        ledger.transfer(vc.account, lab.account, seed, "venture")
        lab.cap_table = {ledger["founders"]: 0.75, vc.account: 0.25}
        lab.valuation = seed / 0.25
        lab.raised = seed
        lab.effective_compute = 10 ** floor
        vc.portfolio[lab.unique_id] = seed
        vc.deployed += seed
        counts["vc_deployed"] += seed
        counts["entries"] += 1
