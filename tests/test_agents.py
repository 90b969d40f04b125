"""The built-in decisions follow their equations (docs/model.md, section 7) on hand-checked inputs.

Each test sets one lab's, VC's or hyperscaler's state and this month's market by hand, works
the equation out on paper (the numbers in the comments) and compares; the bounds tests check
that answers stay in their ranges (price > 0, shares in 0–1, sentiment in 0.2–2) over extreme
inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from marketsim import AIMarketModel
from marketsim.agents import AILab
from marketsim.mechanisms.capital import Offer

CONFIG = {
    "buyers.count": 100, "horizon": 12, "credit.project_ltv": 0.0,
    "buyers.price_weight": 2.0, "buyers.price_elasticity": 0.5,
    "labs.price_adjust": 1.0, "labs.min_margin": 0.1, "labs.inference_headroom": 1.2,
    "labs.min_train_share": 0.1, "labs.reinvest_share": 0.9, "labs.burn_months": 12.0,
    "labs.fixed_cost": 0.01, "labs.capex_share": 0.5, "labs.runway_comfort": 24.0,
    "labs.build_share": 1.0, "labs.internal_multiple": 25.0,
    "compute.capex_per_gpu": 30_000, "compute.lead_time": 18, "compute.rental_term": 4,
    "vcs.pre_revenue_value": 2.0, "vcs.base_multiple": 20.0, "vcs.round_share": 0.2,
    "vcs.max_check_share": 0.4, "vcs.seed_round": 1.0,
    "hyperscalers.margin": 0.2, "hyperscalers.utilisation_premium": 0.4,
    "hyperscalers.target_utilisation": 0.8, "hyperscalers.order_share": 0.1,
}


@pytest.fixture
def m() -> AIMarketModel:
    """A small model whose market view is set by hand: rent $2,000 per GPU-month everywhere,
    owning dearer ($2,500, so no lab can build), upkeep $500, 1,000 M tokens per GPU-month."""
    model = AIMarketModel("small", rng=0, **CONFIG)
    mv = model.market
    mv.rent_per_gpu_month = np.full(model.n_hyperscalers, 2000.0)
    mv.owned_cost_per_gpu_month, mv.opex_per_gpu_month = 2500.0, 500.0
    mv.tokens_per_gpu_month = 1000.0
    mv.open_weight_floor, mv.frontier = 0.0, 6.0
    mv.min_efficient_scale = 50_000.0
    mv.peer_multiple, mv.market_growth = None, 0.0
    return model


def set_balance(model: AIMarketModel, account: int, amount: float) -> None:
    """Set an account's balance to exactly ``amount`` $bn (moved from or to the founders)."""
    led = model.ledger
    founders = led["founders"]
    have = led.balance(account)
    if have > 0:
        led.transfer(account, founders, have, "test")
    elif have < 0:
        led.transfer(founders, account, -have, "test")
    if amount > 0:
        led.transfer(founders, account, amount, "test")
    elif amount < 0:
        led.transfer(account, founders, -amount, "test", allow_debt=True)


def lab_with(model: AIMarketModel, i: int = 0, *, cash: float = 0.0, revenue: float = 0.0,
             rented: float = 0.0, owned: float = 0.0, capability: float = 0.0,
             projects: list[list[float]] | None = None) -> AILab:
    """Lab ``i`` with the given state: GPUs rented from the first hyperscaler only, revenue
    flat for two months ($bn a month), capability (log10) above a floor of 0 (no open-weight
    or follower floor)."""
    lab = model.labs[i]
    set_balance(model, lab.account, cash)
    lab.revenue_history = [revenue, revenue]
    lab.revenue_share = 0.0
    lab.rented_gpus = [rented] + [0.0] * (model.n_hyperscalers - 1)
    lab.owned_gpus = owned
    lab.projects = projects or []
    lab.effective_compute = 10.0**capability
    lab.follower_floor = 0.0
    lab.debt = 0.0
    lab.inference_gpus = lab.demand_tokens = 0.0
    return lab


def allow_building(model: AIMarketModel) -> None:
    """Owning cheaper than renting: $1,500 against the $2,000 rent."""
    model.market.owned_cost_per_gpu_month = 1500.0


# ------------------------------------------------------------------ AILab
def test_set_price_is_the_lerner_price_of_the_cost_per_token(m):
    lab = lab_with(m, rented=1000.0)  # rent 1,000 × $2,000 → c = $2 per M tokens
    lab.revenue_share = 0.5  # e = 2 × (1 − 0.5) + 0.5 = 1.5 → c × e / (e − 1) = 6
    assert lab.cost_per_mtok() == pytest.approx(2.0)
    assert lab.set_price() == pytest.approx(6.0)
    lab.inference_gpus, lab.demand_tokens = 100.0, 120_000.0  # 1.2 × capacity → × 1.2
    assert lab.set_price() == pytest.approx(7.2)
    lab.demand_tokens = 300_000.0  # 3 × capacity, raise capped at 1.5
    assert lab.set_price() == pytest.approx(9.0)


def test_set_price_floors_elasticity_and_margin_and_moves_geometrically(m):
    lab = lab_with(m, rented=1000.0)
    lab.revenue_share = 1.0  # e = 0 + 0.5, floored at 1.05 → 2 × 1.05 / 0.05 = 42
    assert lab.set_price() == pytest.approx(42.0)
    m.scenario_config.labs.price_adjust = 0.5
    lab.revenue_share, lab.price = 0.5, 1.5  # sqrt(1.5 × 6) = 3
    assert lab.set_price() == pytest.approx(3.0)
    lab.price = 0.02  # sqrt(0.02 × 6) ≈ 0.35, below the floor 2 × (1 + 0.1)
    assert lab.set_price() == pytest.approx(2.2)


def test_price_stays_positive_when_compute_is_free(m):
    m.market.owned_cost_per_gpu_month = 0.0
    lab = lab_with(m, owned=1000.0)
    assert lab.cost_per_mtok() == 0.0
    price = lab.set_price()
    assert 0.0 < price < math.inf


def test_split_compute_serves_demand_with_headroom_and_keeps_a_training_share(m):
    lab = lab_with(m, rented=1000.0)
    lab.demand_tokens = 200_000.0  # 200 GPUs × 1.2 headroom = 240 of 1,000
    assert lab.split_compute() == pytest.approx(0.76)
    lab.demand_tokens = 1e9  # inference capped at 90%: training keeps 10%
    assert lab.split_compute() == pytest.approx(0.1)
    lab.demand_tokens = 0.0
    assert lab.split_compute() == 1.0
    no_gpus = lab_with(m, 1)
    assert no_gpus.split_compute() == pytest.approx(0.1)


@pytest.mark.parametrize("demand", [0.0, 1.0, 5e4, 1e6, 1e12])
@pytest.mark.parametrize("gpus", [0.0, 0.5, 10.0, 1e6])
def test_train_share_is_between_the_minimum_and_one(m, demand, gpus):
    lab = lab_with(m, rented=gpus)
    lab.demand_tokens = demand
    assert 0.1 - 1e-12 <= lab.split_compute() <= 1.0


def test_compute_budget_spreads_positive_cash_only(m):
    assert lab_with(m, cash=6.0, revenue=0.5).compute_budget() == pytest.approx(0.45 + 0.5)
    assert lab_with(m, cash=-3.0, revenue=0.5).compute_budget() == pytest.approx(0.45)


def test_request_compute_rents_with_what_is_left_of_the_budget(m):
    # budget 0.95; upkeep 100 × $500 = 5e-5, instalments 0.02, fixed cost 0.01 ($bn)
    lab = lab_with(m, cash=6.0, revenue=0.5, owned=100.0, projects=[[1000.0, 5.0, 0.02]])
    assert not lab.can_build()
    assert lab.request_compute() == pytest.approx((0.95 - 0.03005) / 2000e-9)
    allow_building(m)  # a reserve of 0.5 × 0.95 − 0.02 = 0.455 is held back
    assert lab.can_build()
    assert lab.request_compute() == pytest.approx((0.95 - 0.03005 - 0.455) / 2000e-9)
    poor = lab_with(m, 1, cash=0.0, revenue=0.0, owned=100.0)
    assert poor.request_compute() == 0.0


def test_can_build_needs_cheaper_owning_and_a_big_enough_budget(m):
    lab = lab_with(m, cash=6.0, revenue=0.5)
    assert not lab.can_build()  # owning dearer
    allow_building(m)  # 0.5 × 0.95 × 18 months / $3e-5bn = 285,000 GPUs affordable
    assert lab.can_build()
    m.market.min_efficient_scale = 290_000.0
    assert not lab.can_build()


def test_plan_data_centre_replaces_rentals_within_the_capex_budget(m):
    allow_building(m)
    # room 0.5 × 0.95 − 0.02 = 0.455 $bn a month; $3e-5bn / 18 months per GPU → 273,000 GPUs
    lab = lab_with(m, cash=6.0, revenue=0.5, rented=200_000.0, projects=[[1000.0, 5.0, 0.02]])
    assert lab.plan_data_centre() == pytest.approx(199_000.0)  # 200,000 − 1,000 building
    lab.rented_gpus = [600_000.0] + [0.0] * (m.n_hyperscalers - 1)
    assert lab.plan_data_centre() == pytest.approx(0.455 / (3e-5 / 18))
    lab.rented_gpus = [40_000.0] + [0.0] * (m.n_hyperscalers - 1)
    assert lab.plan_data_centre() == 0.0  # 39,000 is below the minimum efficient scale
    m.market.owned_cost_per_gpu_month = 2500.0
    assert lab_with(m, 1, cash=6.0, revenue=0.5, rented=200_000.0).plan_data_centre() == 0.0


def test_runway_counts_committed_spend_net_of_revenue(m):
    # committed: 0.75 of rent 0.002 + upkeep 5e-5 + instalments 0.02 + fixed 0.01 = 0.03155
    args = {"rented": 1000.0, "owned": 100.0, "projects": [[1000.0, 5.0, 0.02]]}
    assert lab_with(m, cash=1.0, revenue=0.01, **args).runway() == pytest.approx(1.0 / 0.02155)
    assert lab_with(m, cash=-1.0, revenue=0.01, **args).runway() == 0.0
    assert lab_with(m, cash=1.0, revenue=0.5, **args).runway() == math.inf
    assert lab_with(m, cash=1.0, revenue=0.5, **args).monthly_costs() == pytest.approx(0.03205)
    assert lab_with(m, cash=1.0, revenue=0.5, **args).operating_costs() == pytest.approx(0.01205)


def test_growth_annualises_and_clips(m):
    lab = lab_with(m)
    lab.revenue_history = [1.0] * 7 + [2.0]  # doubled in 7 months: 2^(12/7) − 1
    assert lab.growth() == pytest.approx(2.0 ** (12 / 7) - 1.0)
    lab.revenue_history = [1.0, 2.0]  # one month: annualised as if over 6
    assert lab.growth() == pytest.approx(2.0**2 - 1.0)
    lab.revenue_history = [1.0, 100.0]
    assert lab.growth() == 4.0
    lab.revenue_history = [1.0, 0.001]
    assert lab.growth() == -0.9
    lab.revenue_history = [0.0, 1.0]
    assert lab.growth() == 3.0


def test_an_owner_with_the_cost_edge_prices_just_under_a_renters_cost(m):
    allow_building(m)  # owned $1,500 against the $2,000 rent: renter cost $2 per M tokens
    m.scenario_config.labs.undercut = 0.05  # limit 2 × 0.95 = 1.9
    owner = lab_with(m, owned=1000.0)  # c = 1.5; 1.5 × 1.1 = 1.65 ≤ 1.9: squeeze
    owner.revenue_share = 0.5  # Lerner 1.5 × 3 = 4.5, capped at 1.9
    assert owner.limit_price() == pytest.approx(1.9)
    assert owner.set_price() == pytest.approx(1.9)
    # no spare GPUs: demand above 1,000 × (1 − 0.1) × 1,000 M tokens, back to Lerner
    owner.demand_tokens = 900_001.0
    assert owner.limit_price() == math.inf
    assert owner.set_price() == pytest.approx(4.5)
    renter = lab_with(m, 1, rented=1000.0)  # c = 2: 2.2 > 1.9, never squeezes
    renter.revenue_share = 0.5
    assert renter.limit_price() == math.inf
    assert renter.set_price() == pytest.approx(6.0)


def test_internal_valuation_is_revenue_or_capability_plus_half_capex(m):
    # pre-revenue: 2 × (5 − 0) + 10,000 GPUs × $30,000 × 0.5 = 10 + 0.15
    assert lab_with(m, capability=5.0, owned=10_000.0).internal_valuation() == pytest.approx(10.15)
    # revenue 0.1 a month, flat: 1.2 × 25 × (1 + 0) = 30, above 10
    assert lab_with(m, revenue=0.1, capability=5.0).internal_valuation() == pytest.approx(30.0)


def offer_at(pre_money: float) -> Offer:
    """$1bn at ``pre_money``: a lab valuing itself at V accepts iff c ≥ V / pre_money."""
    return Offer(investor=None, lab=None, amount=1.0, pre_money=pre_money)


def test_short_runway_makes_cash_worth_more(m):
    m.scenario_config.labs.fixed_cost = 0.5  # V = 2 × 5 = 10 for both labs
    short = lab_with(m, cash=3.0, capability=5.0)  # runway 6: c = 1 + 3 × 18/24 = 3.25
    assert short.runway() == pytest.approx(6.0)
    assert short.consider_offer(offer_at(3.2))  # needs c ≥ 3.125
    assert not short.consider_offer(offer_at(3.0))  # needs c ≥ 3.33
    comfortable = lab_with(m, 1, cash=30.0, capability=5.0)  # runway 60: c = 1
    assert comfortable.consider_offer(offer_at(10.5))  # needs c ≥ 0.95
    assert not comfortable.consider_offer(offer_at(9.4))  # needs c ≥ 1.06


def test_build_value_raises_the_worth_of_cash(m):
    # V = run rate 6 × multiple 0.5 = 3; offer $1bn at pre-money 2.7: (3 + c) × 2.7/3.7 ≥ 3
    # ⇔ c ≥ 1.11; c = 1 (infinite runway), or 1 + (2,000 − 1,500) / 2,000 if it can build
    # and the data centre it would start needs more equity than its $6bn of cash
    m.scenario_config.labs.internal_multiple = 0.5
    offer = offer_at(2.7)
    lab = lab_with(m, cash=6.0, revenue=0.5, rented=300_000.0)
    assert lab.runway() == math.inf
    assert not lab.consider_offer(offer)
    allow_building(m)
    assert lab.can_build()
    ltv = m.credit.project_ltv(lab)
    equity = lab.plan_data_centre() * m.scenario_config.compute.capex_per_gpu * 1e-9 * (1 - ltv)
    assert lab.funding_need() == pytest.approx(equity - 6.0)
    assert lab.funding_need() >= 1.0
    assert lab.consider_offer(offer)


def test_a_round_larger_than_the_need_is_worth_its_face(m):
    # V = 6 × 5 = 30; need $3bn (as above); c = 1 + 0.25 × min(amount, 3) / amount
    m.scenario_config.labs.internal_multiple = 5.0
    allow_building(m)
    lab = lab_with(m, cash=6.0, revenue=0.5, rented=300_000.0)
    assert lab.consider_offer(Offer(investor=None, lab=None, amount=3.0, pre_money=28.0))
    # the same pre-money for $30bn: c = 1.025, 1.025 × 28 = 28.7 < 30, refused
    assert not lab.consider_offer(Offer(investor=None, lab=None, amount=30.0, pre_money=28.0))


def test_lab_bids_half_the_surplus_of_a_material_target(m):
    # value 3 × 1.2 + 10,000 × $30,000 × 0.5 + 2 × (6 − 5) = 5.75; liabilities 1 + 0.5
    target = lab_with(m, 1, cash=-1.0, revenue=0.1, owned=10_000.0, capability=6.0)
    target.debt = 0.5
    assert target.liabilities == pytest.approx(1.5)
    bidder = lab_with(m, cash=10.0, revenue=1.0, capability=5.0)
    assert bidder.bid_for(target) == pytest.approx(0.5 * (5.75 - 1.5))
    assert lab_with(m, cash=3.0, revenue=1.0, capability=5.0).bid_for(target) == 0.0  # < 3.625
    big = lab_with(m, cash=100.0, revenue=10.0, capability=7.0)  # run rate 120: 1.2 < 6
    assert big.bid_for(target) == 0.0


# ------------------------------------------------------------------ Hyperscaler
def test_hyperscaler_bids_a_quarter_for_a_near_frontier_lab(m):
    hs = m.hyperscalers[0]
    target = lab_with(m, 1, cash=-1.0, owned=10_000.0, capability=6.0)
    target.debt = 0.5  # value 2 × 6 + 0.15 = 12.15; surplus 12.15 − 1.5
    assert hs.bid_for(target) == pytest.approx(0.25 * 10.65)
    m.market.frontier = 7.0  # a full log10 behind
    assert hs.bid_for(target) == 0.0


@pytest.mark.parametrize(("utilisation", "rent"), [
    (0.5, 1500.0 * 1.2), (0.85, 1500.0 * (1.2 + 0.4 * 0.5)), (1.2, 1500.0 * 1.6)])
def test_rent_is_owned_cost_with_margin_and_utilisation_premium(m, utilisation, rent):
    m.market.owned_cost_per_gpu_month = 1500.0
    hs = m.hyperscalers[0]
    hs.utilisation = utilisation
    assert hs.set_rent() == pytest.approx(rent)
    hs.rent = 730.0
    assert hs.rent_per_gpu_hour == 1.0


def test_hyperscaler_orders_a_share_of_capacity_when_busy(m):
    hs = m.hyperscalers[0]
    hs.utilisation, hs.capacity = 0.9, 50_000.0
    assert hs.order_capacity() == pytest.approx(5000.0)
    hs.capacity = 500.0  # at least a share of 1,000 GPUs
    assert hs.order_capacity() == pytest.approx(100.0)
    hs.utilisation = 0.8
    assert hs.order_capacity() == 0.0


# ------------------------------------------------------------------ VentureCapitalist
def test_value_lab_is_the_larger_of_revenue_and_capability_value(m):
    vc = m.vcs[0]
    vc.sentiment = 1.0
    lab = lab_with(m, revenue=0.1, capability=6.0)  # flat revenue: multiple 20 → 20 × 1.2
    assert vc.value_lab(lab) == pytest.approx(24.0)
    vc.sentiment = 0.2  # × (0.75 + 0.05) = 19.2, still above 2 × 6.3
    assert vc.value_lab(lab) == pytest.approx(19.2)
    assert vc.value_lab(lab_with(m, 1, capability=6.0)) == pytest.approx(2.0 * 6.3)


def test_offer_buys_the_round_share_whatever_the_lead_can_pay(m):
    vc = m.vcs[0]
    vc.sentiment = 1.0
    lab = lab_with(m, revenue=0.1, capability=6.0)
    set_balance(m, vc.account, 100.0)  # 24 × 0.2 / 0.8 = 6
    offer = vc.make_offer(lab)
    assert (offer.amount, offer.pre_money) == pytest.approx((6.0, 24.0))
    set_balance(m, vc.account, 10.0)  # the round is not capped by the lead's 0.4 × 10
    assert vc.make_offer(lab).amount == pytest.approx(6.0)
    set_balance(m, vc.account, 0.02)  # the lead's own cheque 0.008 < $0.01bn
    assert vc.make_offer(lab) is None


def test_join_round_follows_with_the_usual_cheque(m):
    vc = m.vcs[1]
    set_balance(m, vc.account, 10.0)
    offer = Offer(investor=m.vcs[0], lab=m.labs[0], amount=20.0, pre_money=100.0)
    assert vc.join_round(offer, 20.0) == pytest.approx(4.0)  # 0.4 × 10
    assert vc.join_round(offer, 1.5) == pytest.approx(1.5)  # what is left


def test_fund_entrant_only_with_the_seed_in_hand(m):
    vc = m.vcs[0]
    set_balance(m, vc.account, 1.0)
    assert vc.fund_entrant() == 1.0
    set_balance(m, vc.account, 0.5)
    assert vc.fund_entrant() == 0.0


def test_sentiment_is_an_average_of_growth_and_losses(m):
    vc = m.vcs[0]
    vc.sentiment = 1.0
    assert vc.update_sentiment(1.0, 0.0) == pytest.approx(1.0)  # a doubling is neutral
    assert vc.update_sentiment(3.0, 0.0) == pytest.approx(0.9 + 0.1 * 2.0)
    assert vc.update_sentiment(1.0, 0.5) == pytest.approx(0.9 + 0.1 * 0.5)
    assert vc.update_sentiment(-5.0, 0.0) == pytest.approx(0.9 + 0.1 * 0.25)


@pytest.mark.parametrize(("growth", "losses"), [(100.0, 0.0), (-100.0, 1.0), (math.inf, 0.0)])
def test_sentiment_stays_between_its_bounds(m, growth, losses):
    vc = m.vcs[0]
    for start in (0.0, 1.0, 5.0):
        vc.sentiment = start
        for _ in range(100):
            vc.sentiment = vc.update_sentiment(growth, losses)
            assert 0.2 <= vc.sentiment <= 2.0
