"""Each mechanism's functions on small arrays whose answers can be checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps

from marketsim import metrics
from marketsim.mechanisms import capability as cap
from marketsim.mechanisms import capital, compute, consolidation, demand, inference
from marketsim.units import BN_PER_USD, HOURS_PER_MONTH

finite = {"allow_nan": False, "allow_infinity": False}


# ----------------------------------------------------------------------------- demand
def test_usage_trend_starts_at_one_and_grows_to_a_finite_limit():
    assert demand.usage_trend(0, 3.0, 24.0) == pytest.approx(1.0)
    path = [demand.usage_trend(t, 3.0, 24.0) for t in range(0, 241, 12)]
    assert all(b > a for a, b in zip(path, path[1:], strict=False))
    g0, tau = math.log(3.0) / 12.0, 24.0 / math.log(2.0)
    assert path[-1] < math.exp(g0 * tau)  # total growth is bounded
    assert demand.usage_trend(10_000, 3.0, 24.0) == pytest.approx(math.exp(g0 * tau))


def test_usage_trend_without_decay_is_the_yearly_growth():
    assert demand.usage_trend(12, 3.0, 1e9) == pytest.approx(3.0, rel=1e-6)
    assert demand.usage_trend(24, 2.0, 1e9) == pytest.approx(4.0, rel=1e-6)
    assert demand.usage_trend(36, 1.0, 24.0) == pytest.approx(1.0)  # no growth


def test_usage_trend_halflife_halves_the_growth_rate():
    # d ln(trend)/dt = g0 * exp(-t/tau): after one half-life the rate is half.
    h = 24.0
    eps = 1e-3

    def rate(t):
        return (math.log(demand.usage_trend(t + eps, 3.0, h))
                - math.log(demand.usage_trend(t - eps, 3.0, h))) / (2 * eps)

    assert rate(h) == pytest.approx(rate(1e-2) / 2, rel=1e-3)


def test_bass_hazard_by_hand():
    assert demand.bass_hazard(0.5, 0.03, 0.38) == pytest.approx(
        1 - math.exp(-(0.03 + 0.38 * 0.5) / 12))
    assert demand.bass_hazard(0.0, 0.0, 0.0) == 0.0
    # imitation: more adopters, higher hazard; always a probability
    hs = [demand.bass_hazard(s, 0.03, 0.38) for s in np.linspace(0, 1, 11)]
    assert all(b > a for a, b in zip(hs, hs[1:], strict=False))
    assert 0.0 <= demand.bass_hazard(1.0, 5.0, 20.0) < 1.0


def test_bass_adopt_only_among_non_adopters():
    adopted = np.array([True, True, False, False, False])
    u = np.array([0.0, 0.9, 0.05, 0.5, 0.099])
    new = demand.bass_adopt(adopted, 0.1, u)
    np.testing.assert_array_equal(new, [False, False, True, False, True])


def test_logit_shares_by_hand():
    q = np.array([1.0, 1.0])
    p = np.array([1.0, math.e])
    s = demand.logit_shares(q, p, np.array([True, True]), 2.0, 1.0)
    np.testing.assert_allclose(s, [math.e / (1 + math.e), 1 / (1 + math.e)])
    s = demand.logit_shares(np.array([0.0, 1.0]), np.ones(2), np.ones(2, bool), 2.0, 1.0)
    np.testing.assert_allclose(s, [1 / (1 + math.e**2), math.e**2 / (1 + math.e**2)])


@settings(max_examples=80, deadline=None)
@given(
    q=hnp.arrays(float, 5, elements=st.floats(0, 12, **finite)),
    p=hnp.arrays(float, 5, elements=st.floats(0.01, 100, **finite)),
    avail=hnp.arrays(bool, 5),
    qw=st.floats(0.1, 10, **finite),
    pw=st.floats(0.1, 10, **finite),
)
def test_logit_shares_properties(q, p, avail, qw, pw):
    s = demand.logit_shares(q, p, avail, qw, pw)
    if not avail.any():
        np.testing.assert_array_equal(s, 0.0)
        return
    assert s.sum() == pytest.approx(1.0)
    assert np.all(s[~avail] == 0.0)
    assert np.all(s >= 0)
    i = int(np.flatnonzero(avail)[0])
    better = q.copy()
    better[i] += 0.5
    cheaper = p.copy()
    cheaper[i] /= 2
    assert demand.logit_shares(better, p, avail, qw, pw)[i] >= s[i]
    assert demand.logit_shares(q, cheaper, avail, qw, pw)[i] >= s[i]
    if s[i] < 0.999:  # strictly more share when it is not already all of it
        assert demand.logit_shares(better, p, avail, qw, pw)[i] > s[i]
        assert demand.logit_shares(q, cheaper, avail, qw, pw)[i] > s[i]


def _exact_choice(probs: np.ndarray, current: int, s: float) -> np.ndarray:
    w = probs.copy()
    if current >= 0:
        w[current] *= math.exp(s)
    return w / w.sum()


@pytest.mark.parametrize("current", [-1, 0, 2, 3])  # 2: its current lab is unavailable
@pytest.mark.parametrize("s", [0.0, 1.0, 2.5])
def test_choose_suppliers_matches_exact_logit_with_switching_bonus(current, s):
    rng = np.random.default_rng(12345)
    probs = np.array([0.1, 0.45, 0.0, 0.3, 0.15])  # lab 2 unavailable
    n = 200_000
    cur = np.full(n, current, dtype=np.int32)
    pick = demand.choose_suppliers(cur, probs, s, rng.random(n), rng.random(n))
    freq = np.bincount(pick, minlength=probs.size) / n
    expected = _exact_choice(probs, current, s)
    # 5 binomial standard errors: a wrong formula is off by far more
    tol = 5 * np.sqrt(expected * (1 - expected) / n) + 1e-12
    np.testing.assert_array_less(np.abs(freq - expected), tol)
    assert freq[2] == 0.0


def test_choose_suppliers_leaves_an_unavailable_current_supplier():
    rng = np.random.default_rng(1)
    probs = np.array([0.5, 0.0, 0.5])
    n = 50_000
    pick = demand.choose_suppliers(np.full(n, 1, dtype=np.int32), probs, 50.0,
                                   rng.random(n), rng.random(n))
    assert not np.any(pick == 1)
    assert abs(np.mean(pick == 0) - 0.5) < 0.01


def test_choose_suppliers_stays_when_switching_cost_is_huge():
    rng = np.random.default_rng(2)
    probs = np.array([0.01, 0.98, 0.01])
    n = 20_000
    cur = rng.choice([0, 2], size=n).astype(np.int32)
    pick = demand.choose_suppliers(cur, probs, 50.0, rng.random(n), rng.random(n))
    np.testing.assert_array_equal(pick, cur)


def test_choose_suppliers_with_no_lab_available_gives_none():
    pick = demand.choose_suppliers(np.array([0, -1, 1], dtype=np.int32), np.zeros(2), 1.0,
                                   np.full(3, 0.5), np.full(3, 0.5))
    np.testing.assert_array_equal(pick, [-1, -1, -1])


@settings(max_examples=150, deadline=None)
@given(
    weights=hnp.arrays(float, st.integers(1, 8), elements=st.floats(0, 1, **finite)),
    data=st.data(),
)
def test_choose_suppliers_never_picks_an_unavailable_lab(weights, data):
    assume(weights.sum() > 1e-6)
    probs = weights / weights.sum()
    n = 64
    unit = st.one_of(st.floats(0, 1, exclude_max=True, **finite),
                     st.just(float(np.nextafter(1.0, 0.0))), st.just(0.0))
    cur = np.array(data.draw(st.lists(st.integers(-1, probs.size - 1), min_size=n,
                                      max_size=n)), dtype=np.int32)
    u1 = np.array(data.draw(st.lists(unit, min_size=n, max_size=n)))
    u2 = np.array(data.draw(st.lists(unit, min_size=n, max_size=n)))
    s = data.draw(st.floats(0, 50, **finite))
    pick = demand.choose_suppliers(cur, probs, s, u1, u2)
    assert pick.shape == cur.shape
    assert np.all((pick >= 0) & (pick < probs.size))
    bad = probs[pick] == 0
    assert not bad.any(), (probs.tolist(), s, list(zip(cur[bad], u1[bad], u2[bad], pick[bad],
                                                       strict=True))[:3])


def test_size_by_supplier_by_hand():
    sup = np.array([0, 2, -1, 2, 0, 0])
    size = np.array([1.0, 2.0, 100.0, 3.0, 0.5, 0.25])
    np.testing.assert_allclose(demand.size_by_supplier(sup, size, 4), [1.75, 0, 5.0, 0])


def test_size_by_supplier_with_a_work_array_gives_the_same_sums():
    rng = np.random.default_rng(5)
    sup = rng.integers(-1, 7, 10_000).astype(np.int32)
    size = rng.lognormal(0.0, 1.0, 10_000)
    work = np.full(sup.shape, -99, dtype=np.intp)
    np.testing.assert_array_equal(demand.size_by_supplier(sup, size, 7, work=work),
                                  demand.size_by_supplier(sup, size, 7))
    np.testing.assert_array_equal(work, sup + 1)  # the work array was used
    wrong = np.zeros(3, dtype=np.intp)  # a work array that does not fit is ignored
    np.testing.assert_array_equal(demand.size_by_supplier(sup, size, 7, work=wrong),
                                  demand.size_by_supplier(sup, size, 7))


def test_demand_per_size_constant_elasticity():
    d = demand.demand_per_size(np.array([2.0, 4.0, 4.0]), np.array([0.0, 0.0, 1.0]),
                               2.0, 1.5, 0.5)
    np.testing.assert_allclose(d, [1.0, 2.0**-1.5, 2.0**-1.5 * 10**0.5])


@pytest.mark.parametrize(("elasticity", "direction"), [(1.3, -1), (1.0, 0), (0.5, 1)])
def test_spend_rises_as_prices_fall_only_when_demand_is_elastic(elasticity, direction):
    """Spend per unit of size, price × tokens, against price: falls above elasticity 1."""
    price = np.array([1.0, 2.0, 4.0])
    spend = price * demand.demand_per_size(price, np.zeros(3), 2.0, elasticity, 0.5)
    steps = np.sign(np.round(np.diff(spend), 12))
    assert (steps == direction).all()


def test_a_market_with_elastic_demand_buys_more_tokens_when_prices_are_lower():
    """Whole model: halving every lab's price raises tokens demanded by 2^elasticity."""
    from marketsim import AIMarketModel

    m = AIMarketModel("small", rng=2, **{"buyers.count": 300, "buyers.price_elasticity": 1.3})
    m.run(ticks=3)
    price, quality = demand.lab_prices(m.labs), demand.lab_quality(m.labs)
    floor = m.market.open_weight_floor
    full, _ = demand.lab_demand(m.buyer_groups, m.buyers, price, quality, floor)
    half, _ = demand.lab_demand(m.buyer_groups, m.buyers, price / 2, quality, floor)
    assert half.sum() == pytest.approx(full.sum() * 2**1.3)
    assert (half * price / 2).sum() > (full * price).sum()  # and spend more


# ----------------------------------------------------------------------------- inference
def test_tokens_per_gpu_month():
    assert inference.tokens_per_gpu_month(1.0, 2.0, 0) == pytest.approx(HOURS_PER_MONTH)
    assert inference.tokens_per_gpu_month(1.0, 2.0, 12) == pytest.approx(2 * HOURS_PER_MONTH)


@settings(max_examples=80, deadline=None)
@given(
    demand_=hnp.arrays(float, 4, elements=st.floats(0, 1e9, **finite)),
    capacity=hnp.arrays(float, 4, elements=st.floats(-10, 1e9, **finite)),
    price=hnp.arrays(float, 4, elements=st.floats(0.01, 100, **finite)),
)
def test_clear_inference_invariants(demand_, capacity, price):
    served, unmet = inference.clear_inference(demand_, capacity)
    assert np.all(served >= 0) and np.all(unmet >= 0)
    assert np.all(served <= np.maximum(capacity, 0.0))
    np.testing.assert_allclose(served + unmet, demand_, rtol=1e-12)
    np.testing.assert_allclose(served, np.minimum(demand_, np.maximum(capacity, 0)))
    # two populations, rationed in proportion: together they pay for what was served
    paid = inference.bills([demand_ * 0.25, demand_ * 0.75], demand_, served, price)
    assert all(np.all(p >= 0) for p in paid)
    np.testing.assert_allclose(paid[0] + paid[1], served * price * BN_PER_USD, rtol=1e-12,
                               atol=1e-300)  # subnormal amounts round apart


def test_bills_are_in_billions_of_dollars():
    # 1e6 M tokens (a trillion tokens) at $2 per M tokens is $2M = 0.002 $bn.
    demand = np.array([1e6])
    served, _ = inference.clear_inference(demand, np.array([1e7]))
    (paid,) = inference.bills([demand], demand, served, np.array([2.0]))
    assert paid[0] == pytest.approx(2e6 * BN_PER_USD)


# ----------------------------------------------------------------------------- compute
def _check_alloc(alloc, requests, free):
    assert np.all(alloc >= 0)
    assert np.all(alloc.sum(axis=1) <= np.maximum(requests, 0) * (1 + 1e-9) + 1e-9)
    assert np.all(alloc.sum(axis=0) <= np.maximum(free, 0) * (1 + 1e-9) + 1e-9)


def test_allocate_rentals_partners_first():
    requests = np.array([10.0, 10.0])
    free = np.array([10.0])
    partner = np.array([[False], [True]])
    alloc = compute.allocate_rentals(requests, free, partner, np.array([1.0]))
    np.testing.assert_allclose(alloc, [[0.0], [10.0]])


def test_allocate_rentals_cheapest_first_then_pro_rata():
    requests = np.array([6.0, 2.0])
    free = np.array([100.0, 4.0])
    price = np.array([3.0, 1.0])  # hyperscaler 1 is cheaper
    alloc = compute.allocate_rentals(requests, free, np.zeros((2, 2), bool), price)
    # the cheap one's 4 GPUs are shared pro rata (3:1), the rest from the dear one
    np.testing.assert_allclose(alloc, [[3.0, 3.0], [1.0, 1.0]])
    _check_alloc(alloc, requests, free)


def test_allocate_rentals_scarce_capacity_is_shared_pro_rata():
    alloc = compute.allocate_rentals(np.array([30.0, 10.0]), np.array([20.0]),
                                     np.zeros((2, 1), bool), np.array([1.0]))
    np.testing.assert_allclose(alloc[:, 0], [15.0, 5.0])


@settings(max_examples=150, deadline=None)
@given(
    requests=hnp.arrays(float, 4, elements=st.floats(-5, 1e6, **finite)),
    free=hnp.arrays(float, 3, elements=st.floats(-5, 1e6, **finite)),
    partner=hnp.arrays(bool, (4, 3)),
    price=hnp.arrays(float, 3, elements=st.floats(0.1, 10, **finite)),
)
def test_allocate_rentals_bounds(requests, free, partner, price):
    alloc = compute.allocate_rentals(requests, free, partner, price)
    assert alloc.shape == (4, 3)
    _check_alloc(alloc, requests, free)
    # nothing is left idle while someone still wants GPUs
    unmet = np.maximum(requests, 0).sum() - alloc.sum()
    idle = np.maximum(free, 0).sum() - alloc.sum()
    assert min(unmet, idle) <= 1e-6 * (1 + np.abs(requests).sum() + np.abs(free).sum())


def _allocate_with_arrays(requests, free, partner, price):
    """The allocation as first written, all in NumPy: the reference for the faster one."""
    L, H = partner.shape
    alloc = np.zeros((L, H))
    need = np.maximum(requests.astype(float), 0.0)
    left = np.maximum(free.astype(float), 0.0)
    if partner.any():
        n_partners = partner.sum(axis=1)
        ask = np.where(partner, (need / np.maximum(n_partners, 1))[:, None], 0.0)
        col = ask.sum(axis=0)
        with np.errstate(over="ignore"):
            scale = np.where(col > 0, np.minimum(1.0, left / np.where(col > 0, col, 1.0)), 0.0)
        alloc += ask * scale[None, :]
        need = np.maximum(need - alloc.sum(axis=1), 0.0)
        left = np.maximum(left - alloc.sum(axis=0), 0.0)
    for h in np.argsort(price, kind="stable"):
        total = need.sum()
        if total <= 0:
            break
        give = need * (1.0 if left[h] >= total else left[h] / total)
        alloc[:, h] += give
        need = np.maximum(need - give, 0.0)
        left[h] = max(left[h] - give.sum(), 0.0)
    return alloc


@settings(max_examples=300, deadline=None)
@given(
    n_labs=st.integers(1, 24),
    data=st.data(),
)
def test_allocate_rentals_gives_the_floats_of_the_array_version(n_labs, data):
    """Every float equal to the plain NumPy formulation (same seed, same run), tiny asks too.

    NaN and infinity included: the model never passes them, but the function is public.
    """
    size = st.one_of(st.floats(-5, 1e7, **finite), st.floats(0, 1e-300), st.just(0.0),
                     st.sampled_from([math.nan, math.inf]))
    h = data.draw(st.integers(1, 4))
    requests = data.draw(hnp.arrays(float, n_labs, elements=size))
    free = data.draw(hnp.arrays(float, h, elements=size))
    partner = data.draw(hnp.arrays(bool, (n_labs, h)))
    price = data.draw(hnp.arrays(float, h, elements=st.floats(0.1, 10, **finite)))
    with np.errstate(invalid="ignore"):  # infinity times 0: NaN, in both versions
        with np.errstate(over="raise", divide="raise"):  # no overflow on the way either
            fast = compute.allocate_rentals(requests, free, partner, price)
        np.testing.assert_array_equal(fast, _allocate_with_arrays(requests, free, partner,
                                                                  price))


def test_rental_price_by_hand_and_utilisation_premium():
    assert compute.rental_price(1000.0, 0.5, 0.6, 0.5) == pytest.approx(1500.0)
    assert compute.rental_price(1000.0, 0.5, 0.6, 0.7) == pytest.approx(1500.0)
    assert compute.rental_price(1000.0, 0.5, 0.6, 0.85) == pytest.approx(1800.0)
    assert compute.rental_price(1000.0, 0.5, 0.6, 1.0) == pytest.approx(2100.0)
    assert compute.rental_price(1000.0, 0.5, 0.6, 1.5) == pytest.approx(2100.0)


@settings(max_examples=60, deadline=None)
@given(capex=st.floats(1e3, 1e6), life=st.integers(1, 240), kw=st.floats(0, 10),
       price=st.floats(0, 1), upkeep=st.floats(0, 1e4), margin=st.floats(1e-3, 10),
       util=st.floats(0, 1))
def test_owned_compute_is_cheaper_than_rent_when_margin_positive(capex, life, kw, price, upkeep,
                                                                   margin, util):
    owned = compute.owned_cost_per_gpu_month(capex, life, kw, price, upkeep)
    assert owned == pytest.approx(capex / life + kw * HOURS_PER_MONTH * price + upkeep)
    assert owned >= compute.opex_per_gpu_month(kw, price, upkeep)
    assert compute.rental_price(owned, margin, 0.6, util) > owned
    assert compute.rental_price(owned, 0.0, 0.0, util) == pytest.approx(owned)  # null: no gap


# ----------------------------------------------------------------------------- capability
def test_capability_functions_by_hand():
    assert cap.algorithmic_multiplier(0, 3.0) == 1.0
    assert cap.algorithmic_multiplier(12, 3.0) == pytest.approx(3.0)
    assert cap.algorithmic_multiplier(6, 4.0) == pytest.approx(2.0)
    e = cap.update_effective_compute(np.array([100.0, 100.0]), np.array([10.0, -5.0]), 2.0, 0.9)
    np.testing.assert_allclose(e, [110.0, 90.0])  # negative training GPUs count as none
    np.testing.assert_allclose(cap.capability(np.array([1e6, 10.0, 0.5, 0.0])), [6, 1, 0, 0])


def test_follower_floor_goes_to_labs_training_at_scale_only():
    from marketsim.model import AIMarketModel

    m = AIMarketModel("default", rng=3, **{"buyers.count": 300, "capability.follow_lag": 2,
                                           "capability.follow_gap": 0.1})
    for _ in range(6):
        m.step()
    floor = m.frontier_history[-3] - 0.1  # the best capability two months before this one
    scale = m.market.min_efficient_scale
    trains = [lab for lab in m.active_labs() if lab.total_gpus * lab.train_share >= scale]
    assert trains and len(trains) < len(m.active_labs())
    for lab in m.active_labs():
        assert lab.follower_floor == (floor if lab in trains else 0.0)
        assert lab.capability >= max(lab.follower_floor, m.market.open_weight_floor)


def test_open_weight_floor_lags_the_frontier():
    hist = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert cap.open_weight_floor(hist, 2, 0.3) == pytest.approx(2.7)
    assert cap.open_weight_floor(hist, 0, 0.0) == 5.0
    assert cap.open_weight_floor(hist, 99, 0.5) == pytest.approx(0.5)  # before history: first
    assert cap.open_weight_floor([], 3, 0.3) == 0.0


# ----------------------------------------------------------------------------- capital
@settings(max_examples=100, deadline=None)
@given(shares=st.lists(st.floats(0.01, 1), min_size=1, max_size=6),
       investor=st.integers(0, 8), stake=st.floats(0, 0.99))
def test_dilute_keeps_shares_summing_to_one(shares, investor, stake):
    total = sum(shares)
    table = {i: s / total for i, s in enumerate(shares)}
    out = capital.dilute(table, investor, stake)
    assert sum(out.values()) == pytest.approx(1.0)
    assert out[investor] >= stake - 1e-12
    for k, v in table.items():
        if k != investor:
            assert out[k] == pytest.approx(v * (1 - stake))


@pytest.mark.parametrize("stake", [-0.1, 1.5, math.nan])
def test_dilute_rejects_a_stake_that_is_not_a_share(stake):
    with pytest.raises(ValueError, match="stake"):
        capital.dilute({1: 1.0}, 2, stake)


def test_offer_stake_and_post_money():
    o = capital.Offer(investor=None, lab=None, amount=10.0, pre_money=90.0)
    assert o.post_money == 100.0
    assert o.stake == pytest.approx(0.1)
    assert capital.Offer(investor=None, lab=None, amount=0.0, pre_money=0.0).stake == 0.0


def test_dilution_worth_it_by_hand():
    # at its own valuation, an offer at that valuation is just fair
    assert capital.dilution_worth_it(100.0, 100.0, 10.0, 1.0)
    # a down round on a comfortable lab is refused ...
    assert not capital.dilution_worth_it(100.0, 50.0, 10.0, 1.0)  # 110 * 50/60 = 91.7
    # ... but accepted when cash is worth 4x face value (short runway): 140 * 50/60 = 116.7
    assert capital.dilution_worth_it(100.0, 50.0, 10.0, 4.0)
    assert not capital.dilution_worth_it(100.0, -10.0, 5.0, 4.0)  # no positive post-money


def test_revenue_multiple_rises_with_growth_herds_and_is_capped():
    base = capital.revenue_multiple(0.0, None, 20.0, 0.25, 0.5, 100.0)
    assert base == pytest.approx(20.0)
    assert capital.revenue_multiple(1.0, None, 20.0, 0.25, 0.5, 100.0) == pytest.approx(25.0)
    assert capital.revenue_multiple(0.0, 60.0, 20.0, 0.25, 0.5, 100.0) == pytest.approx(40.0)
    assert capital.revenue_multiple(100.0, None, 20.0, 1.0, 0.0, 100.0) == 100.0


def test_entry_rate_scales_with_dry_powder_and_sentiment():
    assert capital.entry_rate(0.2, 60.0, 60.0, 1.0) == pytest.approx(0.2)
    assert capital.entry_rate(0.2, 120.0, 60.0, 1.5) == pytest.approx(0.6)
    assert capital.entry_rate(0.2, -5.0, 60.0, 1.0) == 0.0
    assert capital.entry_rate(0.2, 60.0, 0.0, 1.0) == 0.0
    # bounded however small the reference: a near-empty reference must not explode entry
    assert capital.entry_rate(0.2, 60.0, 1e-9, 1.0) == pytest.approx(
        0.2 * capital.MAX_ENTRY_BOOST)


# ----------------------------------------------------------------------------- consolidation
def test_pick_acquirer_is_the_richest_able_bidder():
    bids = np.array([1.0, 2.0, 0.0, 5.0])
    cash = np.array([5.0, 10.0, 100.0, 7.0])
    # bidder 2 does not bid; bidder 3 bids but cannot pay 5 + 3 from 7
    assert consolidation.pick_acquirer(bids, cash, 3.0) == 1
    assert consolidation.pick_acquirer(bids, cash, 50.0) == -1
    assert consolidation.pick_acquirer(np.zeros(3), np.full(3, 1e9), 0.0) == -1
    assert consolidation.pick_acquirer(np.zeros(0), np.zeros(0), 1.0) == -1


def test_fire_sale_value_by_hand():
    # 1000 GPUs x $50,000 x half life left x (1 - 0.6) = $10M = 0.01 $bn
    assert consolidation.fire_sale_value(1000, 50_000, 0.6) == pytest.approx(0.01)
    assert consolidation.fire_sale_value(1000, 50_000, 1.0) == 0.0
    assert consolidation.fire_sale_value(0, 50_000, 0.0) == 0.0


def test_pro_rata_split():
    out = consolidation.pro_rata(10.0, {1: 0.25, 2: 0.75, 3: 0.0})
    assert out == {1: pytest.approx(2.5), 2: pytest.approx(7.5)}
    assert consolidation.pro_rata(0.0, {1: 1.0}) == {}
    assert consolidation.pro_rata(-1.0, {1: 1.0}) == {}


# ----------------------------------------------------------------------------- metrics
@pytest.mark.parametrize("n", [1, 2, 4, 7, 50])
def test_hhi_of_equal_firms(n):
    assert metrics.hhi(np.full(n, 3.0)) == pytest.approx(10_000 / n)


def test_hhi_and_concentration_ratios_by_hand():
    v = np.array([50.0, 30.0, 10.0, 5.0, 5.0])
    assert metrics.hhi(v) == pytest.approx(2500 + 900 + 100 + 25 + 25)
    assert metrics.hhi(np.zeros(3)) == 0.0
    assert metrics.concentration_ratio(v, 1) == pytest.approx(0.5)
    assert metrics.concentration_ratio(v, 4) == pytest.approx(0.95)
    assert metrics.concentration_ratio(v[::-1], 1) == pytest.approx(0.5)  # order-free
    assert metrics.concentration_ratio(v[:2], 4) == pytest.approx(1.0)


def test_bimodality_coefficient_matches_sarle_with_scipy():
    x = np.array([0.1, 0.3, 0.2, 0.4, 5.0, 5.2, 4.9, 5.1, 2.0, 0.0])
    n = x.size
    g = sps.skew(x, bias=False)
    k = sps.kurtosis(x, bias=False)  # excess kurtosis
    expected = (g**2 + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    assert metrics.bimodality_coefficient(x) == pytest.approx(expected, rel=1e-9)


def test_bimodality_coefficient_separates_bimodal_from_unimodal():
    rng = np.random.default_rng(0)
    two = np.concatenate([rng.normal(0, 0.3, 200), rng.normal(4, 0.3, 200)])
    one = rng.normal(0, 1, 400)
    assert metrics.bimodality_coefficient(two) > 5 / 9
    assert metrics.bimodality_coefficient(one) < 5 / 9
    uniform = np.linspace(0, 1, 100_001)
    assert metrics.bimodality_coefficient(uniform) == pytest.approx(5 / 9, abs=1e-3)
    assert metrics.bimodality_coefficient(np.array([1.0, 2.0, 3.0])) == 0.0  # too few
    assert metrics.bimodality_coefficient(np.full(10, 2.0)) == 0.0  # no spread


def test_middle_share_by_hand():
    sizes = np.array([100.0, 60.0, 40.0, 20.0, 10.0, 5.0, 1.0])
    # relative to the largest: 1, .6, .4, .2, .1, .05, .01 -> .4, .2, .1 in [0.1, 0.5)
    assert metrics.middle_share(sizes) == pytest.approx(3 / 7)
    assert metrics.middle_share(sizes, 0.3, 0.7) == pytest.approx(2 / 7)
    assert metrics.middle_share(np.array([1e4, 9e3, 1.0, 2.0, 1.0])) == 0.0  # two clusters
    assert metrics.middle_share(np.array([1.0, 100.0])) == 0.0  # fewer than 3 labs
    assert metrics.middle_share(np.array([0.0, 0.0, 10.0, 3.0])) == 0.0  # zeros left out
    assert metrics.middle_share(np.zeros(0)) == 0.0
    # scale-free: multiplying every size leaves it unchanged
    assert metrics.middle_share(sizes * 1e5) == pytest.approx(metrics.middle_share(sizes))
