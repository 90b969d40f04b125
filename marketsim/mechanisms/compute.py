"""Mechanism 3, the compute market: capacity ageing, rents, rental allocation, credits, bills.

Owned compute costs capital (spread over a GPU's life) plus power and upkeep; hyperscalers
rent at that cost plus a margin that rises with utilisation. The margin is the owned-vs-rented
cost gap; with the minimum efficient scale of a data centre it gives big labs increasing
returns. Data-centre builds are in :mod:`~marketsim.mechanisms.datacentres`, hyperscalers'
capacity orders in :mod:`~marketsim.mechanisms.capacity`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marketsim import decisions as check
from marketsim.units import BN_PER_USD, HOURS_PER_MONTH

if TYPE_CHECKING:
    from marketsim.agents import AILab, Hyperscaler
    from marketsim.ledger import Ledger
    from marketsim.model import MarketView


def opex_per_gpu_month(power_kw: float, power_price: float, upkeep: float) -> float:
    """Power and upkeep of one owned GPU for a month, $."""
    return power_kw * HOURS_PER_MONTH * power_price + upkeep


def owned_cost_per_gpu_month(
    capex_per_gpu: float, gpu_life: int, power_kw: float, power_price: float, upkeep: float
) -> float:
    """All-in monthly cost of an owned GPU (capital over its life, power, upkeep), $."""
    return capex_per_gpu / gpu_life + opex_per_gpu_month(power_kw, power_price, upkeep)


def rental_price(
    cost_per_gpu_month: float, margin: float, utilisation_premium: float, utilisation: float
) -> float:
    """A hyperscaler's posted rent, $ per GPU-month: cost × (1 + margin + premium above 70%)."""
    busy = min(max((utilisation - 0.7) / 0.3, 0.0), 1.0)
    return float(cost_per_gpu_month * (1.0 + margin + utilisation_premium * busy))


def allocate_rentals(
    requests: np.ndarray, free: np.ndarray, partner: np.ndarray, price: np.ndarray
) -> np.ndarray:
    """Allocate each hyperscaler's free GPUs to labs' requests.

    Strategic partners first (each hyperscaler shares its free capacity pro rata among its
    partners' requests), then the remaining requests go to hyperscalers in order of posted
    price, cheapest first, pro rata within each.

    Args:
        requests: GPUs each lab asks for, shape (L,).
        free: GPUs each hyperscaler can rent out, shape (H,).
        partner: True where lab l is a strategic partner of hyperscaler h, shape (L, H).
        price: posted rent of each hyperscaler, shape (H,).

    Returns:
        GPUs allocated, shape (L, H); row sums ≤ requests, column sums ≤ free.
    """
    L, H = partner.shape
    alloc = np.zeros((L, H))
    need = np.maximum(np.asarray(requests, dtype=float), 0.0)
    left = np.maximum(np.asarray(free, dtype=float), 0.0)
    if partner.any():
        # Partners first. A lab partnered with several hyperscalers asks each for an equal part.
        n_partners = partner.sum(axis=1)
        ask = np.where(partner, (need / np.maximum(n_partners, 1))[:, None], 0.0)
        col = ask.sum(axis=0)
        asked = col > 0
        # Share of each column's asks that its free capacity covers: left / col, at most 1
        # (also where a tiny ask over ample capacity would overflow), 0 where nobody asks;
        # NaN capacity stays NaN.
        scale = np.divide(left, col, out=asked.astype(float), where=asked & ~(left >= col))
        alloc += ask * scale[None, :]
        # Clamp: float rounding must never leave a negative need or capacity (negative grants).
        need = np.maximum(need - alloc.sum(axis=1), 0.0)
        left = np.maximum(left - alloc.sum(axis=0), 0.0)
    spare = left.tolist()  # Python floats: the loop below does scalar arithmetic on them
    for h in np.argsort(price, kind="stable").tolist():
        total = float(need.sum())
        if total <= 0:
            break
        give = need * (1.0 if spare[h] >= total else spare[h] / total)
        alloc[:, h] += give
        np.subtract(need, give, out=need)  # >= 0: give is need times at most 1
        rest = spare[h] - float(give.sum())
        spare[h] = max(rest, 0.0)
    return alloc


# ------------------------------------------------------------------ the month's market
def retention(gpu_life: int) -> float:
    """Share of GPUs still working after a month: they wear out over ``gpu_life`` months."""
    return 1.0 - 1.0 / gpu_life


def post_rents(hyperscalers: list[Hyperscaler], market: MarketView, gpu_life: int) -> None:
    """Each hyperscaler's capacity ages, its arrived orders come online, it posts its rent.

    ``market.rent_per_gpu_month`` becomes the posted rents ($ per GPU-month).
    """
    keep = retention(gpu_life)
    for hs in hyperscalers:
        arrived = sum([g for g, mo in hs.pipeline if mo <= 1])
        hs.pipeline = [[g, mo - 1] for g, mo in hs.pipeline if mo > 1]
        hs.capacity = hs.capacity * keep + arrived
        hs.rent = check.positive(hs.set_rent(), hs, "set_rent")
    market.rent_per_gpu_month = np.array([hs.rent for hs in hyperscalers])


def rentals(labs: list[AILab], hyperscalers: list[Hyperscaler], rent: np.ndarray,
            rental_term: int) -> np.ndarray:
    """GPUs each lab rents from each hyperscaler this month, shape (labs, hyperscalers).

    Running contracts keep ``1 − 1/rental_term`` of last month's rentals (contracts are
    staggered over the term); each lab's ``request_compute()`` beyond that is allocated by
    :func:`allocate_rentals`. The result is read-only: its rows become the labs' rentals.
    """
    n, h = len(labs), len(hyperscalers)
    keep = 1.0 - 1.0 / rental_term
    requests = np.maximum([check.number(lab.request_compute(), lab, "request_compute")
                           for lab in labs], 0.0)
    committed = np.array([lab.rented_gpus for lab in labs]).reshape(n, h) * keep
    free = np.array([hs.capacity for hs in hyperscalers]) - committed.sum(axis=0)
    free = np.maximum(free, 0.0)
    extra = np.maximum(requests - committed.sum(axis=1), 0.0)
    if any(hs.partners for hs in hyperscalers):
        partner = np.array([[lab.unique_id in hs.partners for hs in hyperscalers]
                            for lab in labs]).reshape(n, h)
    else:
        partner = np.zeros((n, h), dtype=bool)
    alloc = np.maximum(committed + allocate_rentals(extra, free, partner, rent), 0.0)
    alloc.flags.writeable = False
    return alloc


def rent_dues(labs: list[AILab], alloc: np.ndarray, rent: np.ndarray) -> np.ndarray:
    """Rent each lab owes each hyperscaler, $bn, after its compute credits there.

    A strategic investor's compute credits pay its rent first; the credits used are taken
    off the labs' ``credits``.
    """
    dues = alloc * rent * BN_PER_USD
    credits = np.array([lab.credits for lab in labs]).reshape(alloc.shape)
    if credits.any():
        used = np.minimum(credits, dues)
        dues -= used
        for i in np.flatnonzero(used.any(axis=1)).tolist():
            np.subtract(labs[i].credits, used[i], out=labs[i].credits, casting="unsafe")
    return dues


def bill(lab: AILab, dues: list[float], landlords: list[int], ledger: Ledger,
         opex_per_gpu_month: float, fixed_cost: float) -> None:
    """A lab's month of bills in one post: rent, power and upkeep, fixed cost, capex instalments.

    Bills fall due whatever the lab's cash (a shortfall is a recorded debt that consolidation
    resolves). ``dues``: rent ($bn) to each landlord account.
    """
    acct = lab.account
    suppliers = ledger["suppliers"]
    entries: list[tuple[int, int, float, str]] = [
        (acct, hs_acct, due, "rent") for hs_acct, due in zip(landlords, dues, strict=True)]
    entries.append((acct, suppliers, lab.owned_gpus * opex_per_gpu_month * BN_PER_USD,
                    "power_upkeep"))
    entries.append((acct, suppliers, fixed_cost, "fixed_cost"))
    entries.extend([(acct, suppliers, per_month, "capex") for _, _, per_month in lab.projects])
    ledger.post(entries, allow_debt=True)


def split_gpus(lab: AILab) -> None:
    """Ask the lab how to split its GPUs (training share clipped to 0–1); set both parts."""
    share = check.number(lab.split_compute(), lab, "split_compute")
    lab.train_share = min(max(share, 0.0), 1.0)
    lab.inference_gpus = lab.total_gpus * (1.0 - lab.train_share)


def rented_by_hyperscaler(alloc: np.ndarray, n_hyperscalers: int) -> np.ndarray:
    """GPUs rented out by each hyperscaler this month."""
    return alloc.sum(axis=0) if alloc.shape[0] else np.zeros(n_hyperscalers)

