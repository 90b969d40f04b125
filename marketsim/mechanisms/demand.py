"""Mechanism 1, demand: Bass adoption, logit supplier choice, constant-elasticity tokens.

All functions work on whole arrays of buyers (no Python loop over buyers): a million buyers
cost a handful of array passes per tick. The month's demand (:func:`demand_month`) asks the
labs for prices and each buyer population for its adopters, suppliers and tokens.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from marketsim import decisions as check
from marketsim.errors import DecisionError

if TYPE_CHECKING:
    from marketsim.agents import AILab, BuyerArrays, EnterpriseBuyer


def usage_trend(tick: int, growth_per_year: float, halflife_months: float) -> float:
    """Tokens per adopted buyer relative to tick 0 (unitless multiplier).

    The monthly growth rate starts at ``ln(growth_per_year) / 12`` and halves every
    ``halflife_months``, so usage grows fast early and levels off (total growth is finite).
    """
    g0 = np.log(growth_per_year) / 12.0
    tau = halflife_months / np.log(2.0)
    return float(np.exp(g0 * tau * (1.0 - np.exp(-tick / tau))))


def bass_hazard(adopted_share: float, p_per_year: float, q_per_year: float) -> float:
    """Monthly probability that a buyer who has not adopted adopts now (Bass diffusion)."""
    rate = max(p_per_year + q_per_year * adopted_share, 0.0) / 12.0
    return float(-np.expm1(-rate))


def bass_adopt(adopted: np.ndarray, hazard: float, uniforms: np.ndarray) -> np.ndarray:
    """Boolean mask of buyers adopting this month (only among those not yet adopted)."""
    new = uniforms < hazard
    return np.greater(new, adopted, out=new)  # new and not adopted, in one pass


#: Above this hazard one uniform per buyer is cheaper than geometric gaps.
_GAP_SAMPLING_MAX_HAZARD = 0.1


def sample_adopters(
    adopted: np.ndarray, hazard: float, rng: np.random.Generator
) -> np.ndarray:
    """Buyers adopting this month: each who has not adopted does so with probability ``hazard``.

    Same distribution as ``np.flatnonzero(bass_adopt(adopted, hazard, rng.random(n)))``, but
    for the small monthly hazards of Bass diffusion without one uniform per buyer: the
    positions of a Bernoulli(``hazard``) process over all ``n`` buyers are drawn as
    cumulative sums of geometric gaps (about ``n × hazard`` draws), and the positions already
    adopted are dropped. Above a hazard of 0.1 it draws one uniform per buyer.

    Args:
        adopted: True for buyers who have adopted.
        hazard: monthly adoption probability (:func:`bass_hazard`), clipped to [0, 1].
        rng: the model's random generator.

    Returns:
        Increasing int indices of the buyers adopting now (none of them already adopted).
    """
    n = adopted.size
    h = min(max(float(hazard), 0.0), 1.0)
    if n == 0 or h == 0.0:
        return np.zeros(0, dtype=np.intp)
    if h >= _GAP_SAMPLING_MAX_HAZARD:
        return np.flatnonzero(bass_adopt(adopted, h, rng.random(n)))
    batch = int(n * h + 6.0 * math.sqrt(n * h) + 16)  # enough to pass n almost always
    pos = np.cumsum(rng.geometric(h, size=batch)) - 1
    while pos[-1] < n:
        pos = np.concatenate([pos, pos[-1] + np.cumsum(rng.geometric(h, size=batch))])
    pos = pos[: np.searchsorted(pos, n)]
    return pos[~adopted[pos]]


def logit_shares(
    quality: np.ndarray,
    price: np.ndarray,
    available: np.ndarray,
    quality_weight: float,
    price_weight: float,
) -> np.ndarray:
    """Choice probabilities over labs for a buyer with no current supplier.

    Utility = ``quality_weight`` × quality (log10 effective compute) − ``price_weight`` ×
    ln(price in $/M tokens). Labs not ``available`` get probability 0.
    """
    u = quality_weight * quality - price_weight * np.log(np.maximum(price, 1e-12))
    u = np.where(available, u, -np.inf)
    finite = np.isfinite(u)
    if not finite.any():
        return np.zeros_like(u, dtype=float)
    e = np.exp(u - u[finite].max())
    return e / e.sum()


def choose_suppliers(
    current: np.ndarray,
    probs: np.ndarray,
    switching_cost: float,
    u_stay: np.ndarray,
    u_pick: np.ndarray,
) -> np.ndarray:
    """New supplier index for each re-choosing buyer (logit with a bonus for the incumbent).

    With base probabilities ``probs`` (:func:`logit_shares`), a buyer whose current supplier is
    ``c`` faces ``P(j) ∝ probs[j] · exp(switching_cost · [j == c])``. We draw exactly from that
    without an N×L matrix: stay with probability ``e^s p_c / (1 − p_c + e^s p_c)``, otherwise
    draw from ``probs`` with ``c`` removed by shifting the uniform past ``c``'s interval.

    Per-lab quantities are computed once (L values) and gathered per buyer, and the inverse-CDF
    lookup goes through a bucket table (:func:`_inverse_cdf`), so a call costs a few light passes
    over the buyers; the result is the same, draw for draw, as the direct formulas above.

    Args:
        current: current supplier per buyer (-1 for none), int.
        probs: base choice probabilities over labs (sum 1, or all 0 if no lab is available).
        switching_cost: logit utility bonus for the current supplier.
        u_stay: uniforms in [0, 1), one per buyer.
        u_pick: uniforms in [0, 1), one per buyer.

    Returns:
        Supplier index per buyer (-1 if no lab is available), same dtype as ``current``;
        never a lab whose probability is 0 unless it is the buyer's current supplier and
        the buyer stays (impossible: staying needs ``p_c > 0``).
    """
    current = np.asarray(current)
    probs = np.asarray(probs, dtype=float)
    if probs.sum() <= 0:
        return np.full_like(current, -1)
    n_labs = probs.size
    if current.size and (current.min() < -1 or current.max() >= n_labs):
        if current.max() >= n_labs:
            raise IndexError(f"supplier index {int(current.max())} out of range for "
                             f"{n_labs} labs")
        current = np.where(current < 0, -1, current)  # any negative index means "none"
    cum = np.cumsum(probs)
    cum[-1] = 1.0
    bonus = np.exp(switching_cost)
    # Per-lab tables with one extra entry at the end for "no current supplier" (index -1).
    tables = np.empty((5, n_labs + 1))
    p_tab, stay_den, stay_num, keep_tab, before_tab = tables
    p_tab[:-1] = probs                                          # p_c
    keep_tab[:-1] = 1.0 - probs                                 # mass outside c
    stay_num[:-1] = bonus * probs                               # e^s p_c (0: never stay)
    np.add(keep_tab[:-1], stay_num[:-1], out=stay_den[:-1])     # 1 - p_c + e^s p_c
    np.subtract(cum, probs, out=before_tab[:-1])                # start of c's interval
    tables[:, -1] = (0.0, 1.0, 0.0, 1.0, np.inf)
    c = current.astype(np.intp, copy=False)  # one conversion for the five gathers
    stay = u_stay * stay_den.take(c) < stay_num.take(c)
    # Draw from probs excluding c: scale u into the mass outside c, then skip c's interval
    # (adding p_c × 0 or p_c × 1: the same floats as a conditional add, without a mask loop).
    target = u_pick * keep_tab.take(c)
    target += p_tab.take(c) * (target >= before_tab.take(c))
    np.minimum(target, _BELOW_ONE, out=target)
    pick = _inverse_cdf(cum, target)
    # Rounding can carry a draw past the last lab with positive probability (cum[-1] is
    # forced to 1): give it to that lab, never to an unavailable one.
    np.minimum(pick, np.flatnonzero(probs > 0)[-1], out=pick)
    return np.where(stay, current, pick.astype(current.dtype, copy=False))


#: The largest float below 1: a draw scaled into [0, 1) stays there.
_BELOW_ONE = float(np.nextafter(1.0, 0.0))

#: Buckets of the inverse-CDF lookup table (a power of two, so bucket edges are exact floats).
_BUCKETS = 4096
#: Below this many draws a plain binary search is as fast as building the table.
_TABLE_MIN_DRAWS = 4096


def _inverse_cdf(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cum, u, side="right")`` for ``u`` in [0, 1), via a bucket table.

    A binary search per draw mispredicts branches; instead each draw's bucket
    ``floor(u · 2^k)`` gives the answer directly unless a CDF step falls inside that bucket
    (about L / 2^k of the draws), and only those few are binary-searched. Exactly equal to
    the binary search for every draw, because the bucket edges ``i / 2^k`` are exact floats
    and the answer is monotone in ``u``.
    """
    if u.size < _TABLE_MIN_DRAWS or not (u.min() >= 0.0 and u.max() < 1.0):
        return np.searchsorted(cum, u, side="right")
    edges = np.arange(_BUCKETS + 1, dtype=float) / _BUCKETS
    lo = np.searchsorted(cum, edges[:-1], side="right")  # answer at a bucket's lower edge
    hi = np.searchsorted(cum, np.nextafter(edges[1:], 0.0), side="right")  # and at its top
    table = np.where(lo == hi, lo, -1)  # -1: a CDF step inside the bucket, search the draw
    pick = table.take((u * _BUCKETS).astype(np.intp))
    unsure = np.flatnonzero(pick < 0)
    if unsure.size:
        pick[unsure] = np.searchsorted(cum, u[unsure], side="right")
    return pick


def demand_per_size(
    price: np.ndarray,
    quality_above_floor: np.ndarray,
    reference_price: float,
    price_elasticity: float,
    quality_elasticity: float,
) -> np.ndarray:
    """Tokens demanded per unit of buyer size at each lab, relative to the reference.

    Constant elasticity in price (``(price / reference_price) ** -price_elasticity``) and
    rising with quality above the open-weight floor (``10 ** (quality_elasticity × gap)``).
    """
    rel = np.maximum(price, 1e-12) / reference_price
    return rel ** (-price_elasticity) * 10.0 ** (quality_elasticity * quality_above_floor)


def size_by_supplier(
    supplier: np.ndarray, size: np.ndarray, n_labs: int, work: np.ndarray | None = None
) -> np.ndarray:
    """Sum of buyer size per lab (buyers with supplier -1 are left out).

    One ``bincount`` over ``supplier + 1`` (bin 0 collects the buyers without a supplier and is
    dropped) instead of compressing both arrays with a mask: the sums are the same, element
    for element in the same order, at a fraction of the memory traffic.

    Args:
        supplier: each buyer's supplier lab index (-1 for none).
        size: each buyer's size.
        n_labs: number of labs.
        work: optional ``intp`` array of ``supplier``'s shape to hold ``supplier + 1``
            (``bincount`` would otherwise copy its input to ``intp``).
    """
    if work is not None and work.shape == supplier.shape and work.dtype == np.intp:
        shifted = np.add(supplier, 1, out=work)
    else:
        shifted = supplier + 1
    try:
        counts = np.bincount(shifted, weights=size, minlength=n_labs + 1)
    except ValueError:  # indices below -1: also "no supplier"
        ok = supplier >= 0
        return np.bincount(supplier[ok], weights=size[ok], minlength=n_labs)[:n_labs]
    return counts[1:n_labs + 1]


# ------------------------------------------------------------------ the month's demand
def lab_prices(labs: list[AILab]) -> np.ndarray:
    """Each lab's price, $/M tokens (every lab ever, in buyers' supplier-index order)."""
    return np.array([lab.price for lab in labs])


def lab_quality(labs: list[AILab]) -> np.ndarray:
    """Each lab's capability, log10 effective compute."""
    return np.array([lab.capability for lab in labs])


def choice_probs(labs: list[AILab], quality: np.ndarray, price: np.ndarray, bc: Any,
                 ) -> np.ndarray:
    """Logit probabilities over every lab ever (0 for labs no longer trading)."""
    active = np.array([lab.active for lab in labs])
    return logit_shares(quality, price, active, bc.quality_weight, bc.price_weight)


def lab_demand(pops: list[EnterpriseBuyer], buyers: BuyerArrays, price: np.ndarray,
               quality: np.ndarray, floor: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """M tokens demanded from each lab this month: all populations, and each one's part."""
    n_labs = price.size
    gap = quality - floor
    total = np.zeros(n_labs)
    parts = []
    for pop in pops:
        sl = pop.sl
        sizes = size_by_supplier(buyers.supplier[sl], buyers.size[sl], n_labs,
                                 work=buyers.scratch_index(sl))
        per_size = check.amounts(pop.demand_per_size(price, gap), pop, "demand_per_size",
                                 n=n_labs, most=check.MOST_FINITE)
        d = per_size * sizes
        parts.append(d)
        total += d
    return total, parts


def _checked_choices(pop: EnterpriseBuyer, new: Any, probs: np.ndarray, n: int) -> np.ndarray:
    """A population's new suppliers, checked: lab indices from -1 to L - 1, one per buyer.

    A lab with probability 0 (closed) becomes -1: the buyer has no supplier.
    """
    n_labs = probs.size
    allowed = f"one lab index from -1 (none) to {n_labs - 1} per buyer"
    new = check.array(new, pop, "choose_suppliers", shape=(n,), kind="iu", allowed=allowed)
    if new.size and (new.min() < -1 or new.max() >= n_labs):
        raise DecisionError(pop, "choose_suppliers", check.Described(
            f"indices from {new.min()} to {new.max()}"), allowed)
    # Each lab index maps to itself, or to -1 if closed; the extra last entry maps -1 to -1.
    keep = np.arange(n_labs + 1)
    keep[n_labs] = -1
    keep[:n_labs][~(probs > 0)] = -1
    return keep.take(new)


def rechoose(pops: list[EnterpriseBuyer], buyers: BuyerArrays, probs: np.ndarray,
             contract_months: int, rng: np.random.Generator) -> None:
    """Adopted buyers whose contract ended or who have none choose a supplier (age reset)."""
    b = buyers
    for pop in pops:
        sl = pop.sl
        sup = b.supplier[sl]
        age = b.contract_age[sl]
        due, other = b.scratch_masks(sl)  # no fresh buyer-sized arrays each month
        np.greater_equal(age, contract_months, out=due)
        due |= np.less(sup, 0, out=other)
        due &= b.adopted[sl]
        idx = np.flatnonzero(due)
        if idx.size == 0:
            continue
        new = pop.choose_suppliers(sup[idx], probs, rng.random(idx.size), rng.random(idx.size))
        sup[idx] = _checked_choices(pop, new, probs, idx.size)
        age[idx] = 0


def demand_month(labs: list[AILab], pops: list[EnterpriseBuyer], buyers: BuyerArrays,
                 floor: float, bc: Any, rng: np.random.Generator,
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Prices, adoption, contract ageing, supplier re-choice and tokens demanded per lab.

    Each active lab sets its price (``set_price``) first; each lab's ``demand_tokens`` is set
    at the end (0 for closed labs).

    Args:
        labs: every lab ever (buyers' supplier indices point into it); only active labs
            are chosen.
        pops: the buyer populations.
        buyers: the buyer arrays.
        floor: the open-weight capability floor.
        bc: the scenario's ``[buyers]`` section.
        rng: the model's random generator.

    Returns:
        M tokens demanded from each lab (all populations), and each population's part.
    """
    for lab in labs:
        if lab.active:
            lab.price = check.positive(lab.set_price(), lab, "set_price")
    share = np.count_nonzero(buyers.adopted) / len(buyers) if len(buyers) else 0.0
    for pop in pops:
        adopting = check.positions(pop.adopters(share, rng), pop, "adopters", n=pop.n)
        buyers.adopted[pop.sl][adopting] = True
    np.add(buyers.contract_age, 1, out=buyers.contract_age)
    np.minimum(buyers.contract_age, bc.contract_months, out=buyers.contract_age)
    price, quality = lab_prices(labs), lab_quality(labs)
    rechoose(pops, buyers, choice_probs(labs, quality, price, bc), bc.contract_months, rng)
    total, parts = lab_demand(pops, buyers, price, quality, floor)
    for lab, d in zip(labs, total.tolist(), strict=True):
        lab.demand_tokens = d if lab.active else 0.0
    return total, parts
