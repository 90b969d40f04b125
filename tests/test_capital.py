"""The capital market at the scale of the market: syndicated rounds, crossover money,
strategic rounds sized to a build-out, and the leader's refusals reported."""

from __future__ import annotations

import math

import pytest

from marketsim import AIMarketModel
from marketsim.mechanisms import capital
from marketsim.mechanisms.capital import CROSSOVER, Deals, Offer

CONFIG = {"buyers.count": 100, "horizon": 12, "vcs.max_check_share": 0.5,
          "vcs.crossover_pool": 10.0, "vcs.crossover_inflow": 1.0,
          "vcs.crossover_max_share": 0.5, "vcs.capital_abundance": 1.0}


@pytest.fixture
def m() -> AIMarketModel:
    return AIMarketModel("small", rng=3, **CONFIG)


def fund(model: AIMarketModel, account: int, amount: float) -> None:
    """Set ``account``'s balance to ``amount`` $bn (from or to the founders)."""
    led = model.ledger
    have = led.balance(account)
    if have > amount:
        led.transfer(account, led["founders"], have - amount, "test")
    elif have < amount:
        led.transfer(led["founders"], account, amount - have, "test")


def deals(model: AIMarketModel) -> Deals:
    return Deals(model.ledger, dict.fromkeys(
        ("offers_made", "offers_accepted", "offers_refused", "amount_refused", "vc_deployed",
         "strategic_deployed", *capital.COUNTS), 0.0), [], 0, model.active_labs(), model.vcs,
        model.scenario_config.vcs)


def test_a_round_larger_than_the_lead_is_filled_by_followers_then_crossover(m):
    lead, *others = m.vcs
    for vc in m.vcs:
        fund(m, vc.account, 4.0)  # each pays at most 0.5 × 4 = 2
    d = deals(m)
    offer = Offer(investor=lead, lab=m.labs[0], amount=2.0 * len(m.vcs) + 3.0, pre_money=50.0)
    assert d.syndicate(offer)
    payers = offer.payers()
    assert payers[0] == (lead, 2.0)
    assert [p for p, _ in payers[1:-1]] == others
    # crossover: 0.5 × (10 + 1 × 1) = 5.5 available, 3 needed
    assert payers[-1] == (CROSSOVER, pytest.approx(3.0))
    assert math.fsum(a for _, a in payers) == pytest.approx(offer.amount)


def test_a_round_the_market_cannot_fill_shrinks_to_what_was_raised(m):
    for vc in m.vcs:
        fund(m, vc.account, 2.0)
    offer = Offer(investor=m.vcs[0], lab=m.labs[0], amount=1000.0, pre_money=5000.0)
    assert deals(m).syndicate(offer)
    assert offer.amount == pytest.approx(1.0 * len(m.vcs) + 5.5)
    assert offer.pre_money == 5000.0


def test_the_lab_weighs_a_term_sheet_no_larger_than_the_market_could_raise(m):
    for vc in m.vcs:
        fund(m, vc.account, 2.0)  # each VC's largest cheque: 0.5 × 2 = 1
    lab = m.labs[0]
    seen: list[float] = []
    lab.consider_offer = lambda offer: seen.append(offer.amount) or False
    d = deals(m)
    d.negotiate(Offer(investor=m.vcs[0], lab=lab, amount=1000.0, pre_money=5000.0),
                strategic=False)
    capacity = 1.0 * len(m.vcs) + 5.5  # the cheques and half the crossover pool of 11
    assert seen == [pytest.approx(capacity)]
    assert d.counts["offers_refused"] == 1
    assert d.counts["amount_refused"] == pytest.approx(capacity)
    assert d.refused[lab.unique_id] == (pytest.approx(5000.0 + capacity), pytest.approx(capacity))


def test_no_offer_when_the_market_has_no_money(m):
    for vc in m.vcs:
        fund(m, vc.account, 0.0)
    d = deals(m)
    d.vcfg = d.vcfg.model_copy(update={"crossover_pool": 0.0, "crossover_inflow": 0.0})
    lab = m.labs[0]
    lab.consider_offer = lambda offer: True
    valuation = lab.valuation
    d.negotiate(Offer(investor=m.vcs[0], lab=lab, amount=5.0, pre_money=50.0), strategic=False)
    assert d.counts["offers_made"] == d.counts["offers_accepted"] == 0
    assert lab.valuation == valuation


def test_an_accepted_syndicate_pays_through_the_ledger_and_shares_the_cap_table(m):
    for vc in m.vcs:
        fund(m, vc.account, 4.0)
    lab = m.labs[0]
    lab.consider_offer = lambda offer: True
    total0, cash0 = m.ledger.total(), lab.cash
    d = deals(m)
    offer = Offer(investor=m.vcs[0], lab=lab, amount=2.0 * len(m.vcs) + 3.0, pre_money=50.0)
    assert d.syndicate(offer)
    d.negotiate(offer, strategic=False)
    assert m.ledger.total() == pytest.approx(total0, abs=1e-9)
    assert lab.cash == pytest.approx(cash0 + offer.amount)
    assert sum(lab.cap_table.values()) == pytest.approx(1.0)
    crossover = m.ledger["crossover_funds"]
    assert lab.cap_table[crossover] == pytest.approx(3.0 / offer.post_money)
    assert lab.cap_table[m.vcs[1].account] == pytest.approx(2.0 / offer.post_money)
    assert d.counts["vc_deployed"] == pytest.approx(offer.amount)
    assert d.counts["crossover_deployed"] == pytest.approx(3.0)
    # the pool has paid 3 of its 11: 8 left
    assert capital.crossover_available(m.ledger, m.scenario_config.vcs, 0) == pytest.approx(8.0)


def test_a_refusal_is_recorded_at_its_post_money(m):
    lab = m.labs[0]
    lab.consider_offer = lambda offer: False
    d = deals(m)
    for amount in (1.0, 3.0):
        d.negotiate(Offer(investor=m.vcs[0], lab=lab, amount=amount, pre_money=100.0),
                    strategic=False)
    assert d.refused == {lab.unique_id: (103.0, 3.0)}  # the highest-valued refusal
    assert d.counts["offers_refused"] == 2
    assert d.counts["amount_refused"] == 3.0  # one lab's money counted once a month


def test_strategic_offer_is_sized_to_the_build_out_within_the_public_range(m):
    hs = m.hyperscalers[0]
    cfg = m.scenario_config.hyperscalers
    cfg.strategic_rate, cfg.strategic_size, cfg.strategic_max = 1.0, 4.0, 13.0
    lab = max(m.active_labs(), key=lambda x: x.capability)
    for need, amount in ((0.0, 4.0), (7.5, 7.5), (40.0, 13.0)):
        lab.funding_need = lambda need=need: need
        assert hs.strategic_offer(m.active_labs()).amount == pytest.approx(amount)


def test_leader_refused_valuation_is_the_leaders_highest_refusal_or_zero():
    m = AIMarketModel("small", rng=1, horizon=12, **{"buyers.count": 200})
    for _ in range(12):
        m.step()
        labs = m.active_labs()
        leader = max(labs, key=lambda x: x.revenue)
        post, amount = m.refused_offers.get(leader.unique_id, (0.0, 0.0))
        assert m.stats["leader_refused_valuation"] == pytest.approx(post)
        assert m.stats["leader_refused_amount"] == pytest.approx(amount)
        assert 0.0 <= m.stats["leader_refused_amount"] <= m.stats["leader_refused_valuation"]


def test_story_figures_read_refusals_prices_and_exits_from_the_tables():
    import pandas as pd

    from analysis import story

    n = 30
    ticks = pd.DataFrame({
        "tick": range(n), "leader_run_rate": [float(t) for t in range(n)],
        "rent_per_gpu_hour": [3.0 + 0.01 * t for t in range(n)],
        "leader_refused_valuation": [0.0] * n, "leader_owned_gpus": [1e5] * n,
        "leader_building_gpus": [5e4] * n, "owners_price": [1.0] * n,
        "renters_price": [2.0] * 27 + [0.5] * 3,
    })
    ticks.loc[5, "leader_refused_valuation"] = 50.0  # 2025
    ticks.loc[14, "leader_refused_valuation"] = 400.0  # 2026, owning and building
    # lab 1 rents all and goes bankrupt at tick 25; lab 2 owns all and is acquired at 26
    labs = pd.DataFrame(
        [{"AgentID": 1, "tick": t, "owned_gpus": 0.0, "rented_gpus": 10.0,
          "status": "active" if t < 25 else "bankrupt"} for t in range(20, 26)]
        + [{"AgentID": 2, "tick": t, "owned_gpus": 10.0, "rented_gpus": 0.0,
            "status": "active" if t < 26 else "acquired"} for t in range(20, 27)])
    f = story.figures(ticks, labs)
    assert f["refused_2026"] == 400.0 and f["refused_hundreds_2026"] == 1.0
    assert f["first_refusal_tick"] == 5.0 and f["leader_refusals_2026"] == 1.0
    assert f["owners_below_share"] == pytest.approx(3 / 6)  # ticks 24-29, 3 of 6 below
    assert f["rent_change_2026"] == pytest.approx(0.11)
    assert (f["exits_2027"], f["renter_exits_2027"], f["renter_exit_share"]) == (2.0, 1.0, 0.5)
    ticks.loc[14, "leader_building_gpus"] = 0.0  # not building: not the story
    assert story.figures(ticks, labs)["refused_hundreds_2026"] == 0.0


@pytest.mark.parametrize("chase, richest_much_more_often", [(1.0, True), (0.0, False)])
def test_revenue_screening_decides_whether_vcs_chase_revenue(chase, richest_much_more_often):
    m = AIMarketModel("small", rng=1, **{"buyers.count": 300, "vcs.revenue_screening": chase})
    m.run(ticks=3)
    labs = m.active_labs()
    richest = max(labs, key=lambda lab: lab.revenue)
    seen = sum(richest in m.vcs[0].screen(labs) for _ in range(2000))
    fair = 2000 * min(m.scenario_config.vcs.looks_per_month, len(labs)) / len(labs)
    assert (seen > 2 * fair) == richest_much_more_often
    if not richest_much_more_often:
        assert abs(seen - fair) < 0.2 * fair  # every lab alike
