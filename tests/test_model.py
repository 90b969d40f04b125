"""The whole model: money is conserved and no agent is in an impossible state, every tick.

Scenarios are drawn at random (hypothesis) over the parameters that change the dynamics most
(counts, cost gap, capital, switching cost, minimum efficient scale, lead times including 0,
elasticities), with few buyers and short horizons so the whole file runs in seconds.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketsim import AILab, AIMarketModel, load_scenario
from marketsim.agents import ACQUIRED, ACTIVE, BANKRUPT
from marketsim.errors import DecisionError
from marketsim.metrics import REGIMES
from marketsim.reporters import lab_table
from marketsim.units import BN_PER_USD

#: The contract's model reporters (DESIGN.md), spelled out here so a rename fails a test.
CONTRACT_COLUMNS = (
    "active_labs", "entries", "exits_bankrupt", "exits_acquired", "hhi_revenue",
    "cr1_revenue", "cr4_revenue", "hhi_compute", "bimodality", "middle_share",
    "price_per_mtok", "rent_per_gpu_hour", "owned_compute_share", "vc_deployed",
    "offers_made", "offers_accepted", "offers_refused", "amount_refused", "top_valuation",
    "top_multiple", "leader_run_rate", "enterprise_spend", "unmet_share", "adoption",
)
LAB_COLUMNS = ("cash", "revenue", "owned_gpus", "rented_gpus", "capability", "price",
               "valuation", "status")

SMALL = {"buyers.count": 150, "horizon": 24}


def small_model(rng: int = 0, **overrides: Any) -> AIMarketModel:
    return AIMarketModel("small", rng=rng, **{**SMALL, **overrides})


def assert_one_row_per_lab_and_tick(t: pd.DataFrame, m: AIMarketModel) -> None:
    """Every lab ever (entrants too) has one row a tick from the tick it was founded in to the
    tick it exited, if it did (that last row says how it exited)."""
    rows = t.groupby("AgentID")["Step"].agg(["count", "min", "max"])
    assert set(rows.index) == {lab.unique_id for lab in m.labs}
    for lab in m.labs:
        first = max(lab.founded, 1)
        last = m.steps if lab.exit_tick is None else lab.exit_tick + 1  # Step = tick + 1
        assert tuple(rows.loc[lab.unique_id]) == (last - first + 1, first, last)
    final = t.sort_values("Step").groupby("AgentID").tail(1).set_index("AgentID")["status"]
    assert all(final[lab.unique_id] == lab.status for lab in m.labs)


# ----------------------------------------------------------------------------- invariants
class Watcher:
    """Checks the invariants after every tick of a model it steps."""

    def __init__(self, model: AIMarketModel) -> None:
        self.m = model
        self.total0 = model.ledger.total()
        self.adopted = model.buyers.adopted.copy()
        self.ticks = 0
        self.exits = 0
        self.check()

    def step(self, n: int) -> None:
        for _ in range(n):
            self.m.run(ticks=1)
            self.ticks += 1
            self.check()

    def check(self) -> None:  # noqa: C901 - one list of invariants
        m = self.m
        led = m.ledger
        scale = 1.0 + float(np.abs(led.balances).sum())
        assert abs(led.total() - self.total0) <= 1e-9 * scale, "money created or destroyed"
        assert np.all(np.isfinite(led.balances)), "non-finite balance"
        agent_accounts = {lab.account for lab in m.labs} | {vc.account for vc in m.vcs}
        buyers = {pop.account for pop in m.buyer_groups}
        labs = {lab.account for lab in m.labs}
        for _, src, dst, _, kind in led.log:  # buyers only ever pay labs for tokens
            if src in buyers or dst in buyers:
                assert src in buyers and dst in labs and kind == "inference"
        for vc in m.vcs:
            assert vc.dry_powder >= -1e-9, "a VC spent money it did not have"
        for hs in m.hyperscalers:
            assert hs.cash >= -1e-9
            assert math.isfinite(hs.capacity) and hs.capacity >= 0
            assert math.isfinite(hs.rent) and hs.rent >= 0
        assert agent_accounts <= set(range(len(led.names)))

        active_idx = set()
        for lab in m.labs:
            assert lab.status in (ACTIVE, ACQUIRED, BANKRUPT)
            assert lab.owned_gpus >= 0 and math.isfinite(lab.owned_gpus)
            assert np.all(lab.rented_gpus >= 0) and np.all(np.isfinite(lab.rented_gpus))
            assert lab.inference_gpus >= -1e-9
            assert lab.inference_gpus <= lab.total_gpus * (1 + 1e-9) + 1e-9
            assert lab.served_tokens >= 0 and math.isfinite(lab.served_tokens)
            assert np.all(lab.credits >= -1e-12)
            shares = lab.cap_table.values()
            assert all(s >= 0 for s in shares)
            assert sum(shares) == pytest.approx(1.0, abs=1e-9), "cap table does not sum to 1"
            assert math.isfinite(lab.capability)
            if lab.active:
                active_idx.add(lab.index)
                assert math.isfinite(lab.price) and lab.price > 0, "bad price"
                assert lab.cash >= -1e-9, "an active lab ends the tick in debt"
                assert lab.served_tokens <= lab.demand_tokens * (1 + 1e-9) + 1e-9
                assert 0.0 <= lab.train_share <= 1.0
            else:
                assert lab.exit_tick is not None
                assert lab.owned_gpus == 0 and lab.rented_gpus.sum() == 0, "dead lab holds GPUs"
                assert lab.projects == [] and lab.inference_gpus == 0
                assert lab.served_tokens == 0 and lab.demand_tokens == 0
                assert abs(lab.cash) <= 1e-9 * scale, "a closed lab keeps money"
        assert len(active_idx) == len(m.active_labs())
        rented = sum((lab.rented_gpus for lab in m.labs), np.zeros(len(m.hyperscalers)))
        for hs in m.hyperscalers:  # a cloud rents out no more than it has
            assert rented[hs.index] <= hs.capacity * (1 + 1e-9) + 1e-6, "over-rented cloud"
        if m.steps:
            t = m.steps - 1
            paid = led.flow("inference", tick=t)
            assert paid == pytest.approx(m.stats["enterprise_spend"], rel=1e-9, abs=1e-12)
            for lab in m.active_labs():  # revenue ($bn) = M tokens x $/M tokens in $bn
                if lab.founded < m.steps:
                    assert lab.revenue == pytest.approx(
                        lab.served_tokens * lab.price * BN_PER_USD, rel=1e-9, abs=1e-15)
        self.exits = sum(not lab.active for lab in m.labs)

        b = m.buyers
        sup = b.supplier
        assert sup.min(initial=-1) >= -1 and sup.max(initial=-1) < len(m.labs)
        pointed = np.unique(sup[sup >= 0])
        assert set(pointed.tolist()) <= active_idx, "buyers point at a closed lab"
        assert np.all(sup[~b.adopted] == -1), "a buyer that has not adopted has a supplier"
        assert np.all(b.adopted[self.adopted]), "a buyer un-adopted"
        self.adopted = b.adopted.copy()

        if m.steps:
            s = m.stats
            assert s["regime"] in REGIMES
            for key in ("hhi_revenue", "hhi_compute"):
                assert 0.0 <= s[key] <= 10_000 + 1e-6
            for key in ("cr1_revenue", "cr2_revenue", "cr4_revenue", "middle_share",
                        "owned_compute_share",
                        "unmet_share", "adoption", "bimodality"):
                assert -1e-12 <= s[key] <= 1 + 1e-9, key
            assert s["cr1_revenue"] <= s["cr2_revenue"] + 1e-12
            assert s["cr2_revenue"] <= s["cr4_revenue"] + 1e-12
            assert s["active_labs"] == len(active_idx)
            floor = s["open_weight_floor"]
            assert s["labs_above_floor"] == sum(lab.capability > floor
                                                for lab in m.active_labs())
            for key in ("vc_deployed", "amount_refused", "enterprise_spend", "top_valuation",
                        "leader_run_rate"):
                assert s[key] >= 0 and math.isfinite(s[key]), key
            assert s["offers_made"] == s["offers_accepted"] + s["offers_refused"]


scenario_overrides = st.fixed_dictionaries(
    {
        "labs.count": st.integers(1, 8),
        "vcs.count": st.integers(1, 4),
        "hyperscalers.count": st.integers(1, 3),
        "buyers.count": st.integers(1, 120),
        "hyperscalers.margin": st.floats(0, 3),
        "vcs.capital_abundance": st.floats(0, 10),
        "buyers.switching_cost": st.floats(0, 10),
        "compute.min_efficient_scale": st.floats(0, 1e6),
        "compute.lead_time": st.integers(0, 24),
        "hyperscalers.lead_time": st.integers(0, 12),
        "buyers.price_elasticity": st.floats(0, 3),
        "buyers.quality_elasticity": st.floats(0, 2),
    },
    optional={
        "labs.fixed_cost": st.floats(0, 2),
        "labs.cash_months": st.floats(0, 36),
        "labs.size_exponent": st.floats(0, 3),
        "hyperscalers.initial_gpus": st.sampled_from([0.0, 1e3, 1e5, 3e6]),
        "hyperscalers.strategic_rate": st.floats(0, 1),
        "vcs.entry_rate": st.floats(0, 3),
        "vcs.initial_dry_powder": st.floats(0, 300),
        "buyers.contract_months": st.integers(1, 24),
        "buyers.initial_adoption": st.floats(0, 1),
        "compute.rental_term": st.integers(1, 12),
        "capability.open_weight_lag": st.integers(0, 24),
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides=scenario_overrides, ticks=st.integers(1, 24), seed=st.integers(0, 2**31))
def test_money_conserved_and_states_possible_every_tick(overrides, ticks, seed):
    m = AIMarketModel("small", rng=seed, **{"horizon": 24, **overrides})
    Watcher(m).step(ticks)
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == ticks


@pytest.mark.parametrize("seed", [1, 2])
def test_invariants_hold_through_exits_and_entries(seed):
    """A harsh market (dear fixed costs, little cash, many entrants) has exits of both kinds."""
    m = small_model(seed, **{"labs.count": 10, "labs.fixed_cost": 0.4, "labs.cash_months": 2,
                             "vcs.entry_rate": 2.0, "vcs.capital_abundance": 3.0})
    w = Watcher(m)
    w.step(24)
    df = m.datacollector.get_model_vars_dataframe()
    assert df["exits_bankrupt"].sum() + df["exits_acquired"].sum() > 0, "no exit: test is vacuous"
    assert df["entries"].sum() > 0
    assert w.exits == df["exits_bankrupt"].sum() + df["exits_acquired"].sum()
    assert len(m.labs) == 10 + df["entries"].sum()
    assert df["active_labs"].iloc[-1] == len(m.labs) - w.exits


@pytest.mark.timeout(60)
def test_no_initial_dry_powder_does_not_flood_the_market_with_entrants():
    """Entry relative to ``vcs.initial_dry_powder = 0`` once hung the model (billions of draws)."""
    m = small_model(220, **{"vcs.initial_dry_powder": 0.0, "vcs.entry_rate": 0.5})
    Watcher(m).step(24)
    df = m.datacollector.get_model_vars_dataframe()
    assert df["entries"].max() <= 60


# ----------------------------------------------------------------------------- reproducibility
def _frames(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    m = small_model(seed, **{"vcs.entry_rate": 1.0})
    m.run(ticks=18)
    return m.datacollector.get_model_vars_dataframe(), lab_table(m)


def test_same_seed_same_run():
    a, la = _frames(11)
    b, lb = _frames(11)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(la, lb)


def test_a_numpy_integer_seed_is_the_same_seed():
    a = AIMarketModel("small", rng=11).run(6).datacollector.get_model_vars_dataframe()
    b = AIMarketModel("small", rng=np.int64(11)).run(6).datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(a, b)


def test_different_seed_different_run():
    a, _ = _frames(11)
    b, _ = _frames(12)
    numeric = a.select_dtypes("number").columns
    assert not np.allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float),
                           equal_nan=True)


def test_seed_does_not_leak_through_global_numpy_state():
    np.random.seed(0)
    a, _ = _frames(5)
    np.random.seed(99)
    b, _ = _frames(5)
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- contract
def test_contract_reporters_one_row_per_tick():
    m = small_model(3)
    m.run(ticks=7)
    df = m.datacollector.get_model_vars_dataframe()
    missing = [c for c in CONTRACT_COLUMNS if c not in df.columns]
    assert not missing
    assert len(df) == 7
    assert df["tick"].tolist() == list(range(7))
    assert df["date"].iloc[0] == "2025-01" and df["date"].iloc[-1] == "2025-07"
    assert m.date == "2025-07"
    assert df[list(CONTRACT_COLUMNS)].drop(columns=["top_multiple"]).notna().all().all()
    assert set(df["regime"]) <= set(REGIMES)
    assert m.regime == df["regime"].iloc[-1]


def test_default_model_works_with_defaults():
    m = AIMarketModel()
    assert m.scenario_config == load_scenario()
    assert m.horizon == m.scenario_config.horizon
    assert len(m.labs) == m.scenario_config.labs.count
    assert len(m.buyers) == m.scenario_config.buyers.count
    assert len(m.vcs) == m.scenario_config.vcs.count
    assert len(m.hyperscalers) == m.scenario_config.hyperscalers.count
    m.run(ticks=2)
    assert m.regime in REGIMES
    assert len(m.datacollector.get_model_vars_dataframe()) == 2


def test_run_ticks_runs_that_many_more_and_run_goes_to_horizon():
    m = small_model(4, horizon=20)
    m.run(ticks=3)
    m.run(ticks=12)
    assert m.steps == 15
    assert len(m.datacollector.get_model_vars_dataframe()) == 15
    m.run()
    assert m.steps == 20
    m.run()  # already at the horizon: nothing more
    assert m.steps == 20
    m.run(ticks=2)  # but explicit ticks go past it
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 22 and df["tick"].tolist() == list(range(22))
    for bad in (2.7, True, "3"):
        with pytest.raises(TypeError, match="whole number of months"):
            m.run(ticks=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number of months >= 0, not -1"):
        m.run(ticks=-1)
    assert m.steps == 22


def test_run_to_horizon_after_passing_it_is_a_no_op():
    m = small_model(4, horizon=3)
    m.run(ticks=5)
    m.run()
    assert m.steps == 5


def test_agents_by_type_holds_every_kind():
    from marketsim import EnterpriseBuyer, Hyperscaler, VentureCapitalist

    m = small_model(1)
    assert list(m.agents_by_type[AILab]) == m.labs
    assert len(m.agents_by_type[VentureCapitalist]) == len(m.vcs)
    assert len(m.agents_by_type[Hyperscaler]) == len(m.hyperscalers)
    assert sum(g.n for g in m.agents_by_type[EnterpriseBuyer]) == len(m.buyers)


def test_overrides_as_keywords_and_from_a_scenario_object():
    sc = load_scenario("small", overrides={"buyers.count": 123})
    m = AIMarketModel(sc, rng=1, **{"labs.count": 3})
    assert len(m.buyers) == 123 and len(m.labs) == 3
    assert m.scenario_config.labs.count == 3
    assert sc.labs.count != 3  # the caller's scenario is not changed


def test_rng_must_be_an_integer_seed():
    for bad in ("7", 1.0, True):
        with pytest.raises(TypeError, match="integer seed >= 0"):
            AIMarketModel("small", rng=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="integer seed >= 0, not -1"):
        AIMarketModel("small", rng=-1)


def test_lab_table_has_the_contract_columns_for_every_lab_and_tick():
    m = small_model(6)
    m.run(ticks=5)
    t = lab_table(m)
    assert set(LAB_COLUMNS) <= set(t.columns)
    assert_one_row_per_lab_and_tick(t, m)
    assert t["status"].isin([ACTIVE, ACQUIRED, BANKRUPT]).all()
    last = t[t["Step"] == t["Step"].max()].set_index("AgentID")
    for lab in m.labs:
        row = last.loc[lab.unique_id]
        assert row["cash"] == pytest.approx(lab.cash)
        assert row["owned_gpus"] == pytest.approx(lab.owned_gpus)
        assert row["rented_gpus"] == pytest.approx(lab.rented_gpus.sum())
        assert row["price"] == pytest.approx(lab.price)
        assert row["status"] == lab.status


def test_lab_table_before_any_tick_is_empty_with_the_columns():
    t = lab_table(small_model(1))
    assert len(t) == 0
    assert {"Step", "AgentID", *LAB_COLUMNS} <= set(t.columns)


def test_closed_labs_report_no_revenue():
    m = small_model(1, **{"labs.count": 10, "labs.fixed_cost": 0.4, "labs.cash_months": 2})
    m.run(ticks=18)
    closed = [lab for lab in m.labs if not lab.active]
    assert closed, "no exit: test is vacuous"
    assert all(lab.revenue == 0.0 for lab in closed)


def test_exited_labs_are_recorded_once_with_their_exit_then_leave_the_agent_set():
    m = small_model(1, **{"labs.count": 10, "labs.fixed_cost": 0.4, "labs.cash_months": 2})
    m.run(ticks=18)
    closed = [lab for lab in m.labs if not lab.active]
    assert closed, "no exit: test is vacuous"
    assert_one_row_per_lab_and_tick(lab_table(m), m)
    registered = set(m.agents_by_type[AILab])
    for lab in closed:  # deregistered the month after their exit, kept in m.labs
        assert (lab in registered) == (lab.exit_tick == m.steps - 1)
    assert set(m.active_labs()) <= registered
    assert m.active_labs() == [lab for lab in m.labs if lab.active]


# ----------------------------------------------------------------------------- subclasses
CUSTOM = '''
import math
from marketsim import AILab, Offer, VentureCapitalist

FIXED = 7.25


class {prefix}PricedLab(AILab):
    def set_price(self):
        return FIXED


class {prefix}RefusingLab(AILab):
    def consider_offer(self, offer):
        self.seen = getattr(self, "seen", 0) + 1
        return False


class {prefix}BadPriceLab(AILab):
    def set_price(self):
        return math.nan


class {prefix}AcceptingLab(AILab):
    def consider_offer(self, offer):
        return True


class {prefix}NegativeValuationVC(VentureCapitalist):
    def screen(self, labs):
        return labs[:1]

    def make_offer(self, lab):
        return Offer(investor=self, lab=lab, amount=0.5, pre_money=-0.25)


class NotALab:
    pass
'''


@pytest.fixture
def custom(tmp_path: Path, request: pytest.FixtureRequest):
    """Write a module of AILab subclasses beside a scenario; return a scenario writer."""
    mod = f"mscustom_model_{abs(hash(request.node.nodeid)) % 10**8}"
    (tmp_path / f"{mod}.py").write_text(CUSTOM.format(prefix=""))

    def scenario(body: str) -> Path:
        path = tmp_path / "custom.toml"
        path.write_text(textwrap.dedent(body).replace("MOD", mod))
        return path

    return scenario


def test_subclass_set_price_is_obeyed_and_reported(custom):
    path = custom("""
        horizon = 6
        [labs]
        count = 4
        class = "MOD:PricedLab"
        [buyers]
        count = 100
    """)
    m = AIMarketModel(path, rng=2)
    Watcher(m).step(6)
    assert all(type(lab).__name__ == "PricedLab" for lab in m.labs)
    assert all(lab.price == 7.25 for lab in m.active_labs())
    df = m.datacollector.get_model_vars_dataframe()
    assert np.allclose(df["price_per_mtok"], 7.25)
    t = lab_table(m)
    assert set(LAB_COLUMNS) <= set(t.columns)
    assert_one_row_per_lab_and_tick(t, m)
    assert (t["price"] == 7.25).all()
    assert (t["lab_class"] == "PricedLab").all()


def test_mixed_classes_are_all_reported(custom):
    path = custom("""
        horizon = 4
        [labs]
        count = 5
        [[labs.mix]]
        class = "MOD:PricedLab"
        count = 1
        ranks = [0]
        [buyers]
        count = 100
    """)
    m = AIMarketModel(path, rng=3)
    m.run(ticks=4)
    assert type(m.labs[0]).__name__ == "PricedLab"
    assert all(type(lab) is AILab for lab in m.labs[1:5])
    t = lab_table(m)
    assert set(t["lab_class"]) >= {"PricedLab", "AILab"}
    assert_one_row_per_lab_and_tick(t, m)
    assert (t.loc[t["lab_class"] == "PricedLab", "price"] == 7.25).all()
    assert (t.loc[t["lab_class"] == "AILab", "price"] != 7.25).all()


def test_a_lab_that_refuses_every_offer_never_raises_money(custom):
    path = custom("""
        horizon = 12
        [labs]
        count = 6
        class = "MOD:RefusingLab"
        [vcs]
        count = 4
        capital_abundance = 5.0
        looks_per_month = 3
        [hyperscalers]
        strategic_rate = 1.0
        [buyers]
        count = 100
    """)
    m = AIMarketModel(path, rng=5)
    founders = m.ledger["founders"]
    vc_accounts = {vc.account for vc in m.vcs}
    first = {lab.unique_id: dict(lab.cap_table) for lab in m.labs}
    Watcher(m).step(12)
    df = m.datacollector.get_model_vars_dataframe()
    assert df["offers_made"].sum() > 0, "no offer made: test is vacuous"
    assert sum(getattr(lab, "seen", 0) for lab in m.labs) == df["offers_made"].sum()
    assert df["offers_accepted"].sum() == 0
    assert df["offers_refused"].sum() == df["offers_made"].sum()
    assert df["amount_refused"].sum() > 0
    for lab in m.labs:
        if lab.unique_id in first:  # founders-only from the start, and it stays so
            assert first[lab.unique_id] == {founders: 1.0}
            assert lab.cap_table == {founders: 1.0}
            assert lab.raised == 0.0
        else:  # an entrant: founders plus the VC that seeded it, never anyone else
            assert set(lab.cap_table) <= {founders} | vc_accounts
            assert len(lab.cap_table) == 2
    assert not any(hs.partners for hs in m.hyperscalers)


def test_a_price_that_is_not_positive_and_finite_is_rejected(custom):
    path = custom("""
        horizon = 3
        [labs]
        count = 3
        class = "MOD:BadPriceLab"
        [buyers]
        count = 50
    """)
    m = AIMarketModel(path, rng=0)
    with pytest.raises(ValueError, match="set_price"):
        m.run(ticks=1)


def test_an_offer_with_a_negative_valuation_is_an_error_not_negative_shares(custom):
    path = custom("""
        horizon = 3
        [labs]
        count = 3
        class = "MOD:AcceptingLab"
        [vcs]
        count = 1
        class = "MOD:NegativeValuationVC"
        [buyers]
        count = 50
    """)
    m = AIMarketModel(path, rng=0)
    with pytest.raises(DecisionError, match=r"NegativeValuationVC\.make_offer .*pre_money"):
        m.run(ticks=1)
    assert all(min(lab.cap_table.values()) >= 0 for lab in m.labs)


def test_growth_follows_each_new_month_of_revenue():
    m = small_model(2)
    m.run(ticks=14)
    lab = m.active_labs()[0]
    lab.revenue_history[:] = [1.0] * 13
    assert lab.growth() == 0.0
    assert lab.growth() == 0.0  # read twice (the second from the cache), same answer
    lab.revenue_history.append(2.0)  # a new month is seen at once
    assert lab.growth() == pytest.approx(1.0)  # doubled over 12 months
    assert lab.growth(months=6) == pytest.approx(3.0)  # doubled in 6: 4x a year, 300%
    lab.revenue_history[-1] = 1.5  # even a month rewritten in place
    assert lab.growth() == pytest.approx(0.5)


def test_rented_gpus_are_read_only_and_keep_their_total():
    m = small_model(2)
    m.run(ticks=3)
    lab = m.active_labs()[0]
    with pytest.raises(ValueError):
        lab.rented_gpus[0] = 1.0
    lab.rented_gpus = np.full(len(m.hyperscalers), 10.0)
    assert lab.rented_total == 10.0 * len(m.hyperscalers)
    assert lab.total_gpus == pytest.approx(lab.owned_gpus + lab.rented_total)
    assert lab.rent_bill() == pytest.approx(10.0 * m.market.rent_per_gpu_month.sum())


def test_a_users_model_reporter_is_collected_beside_the_statistics():
    m = small_model(4)
    book: list[int] = []

    def n_labs_and_book(model):  # a mutable value: Mesa must record a copy, not the list
        book.append(len(model.labs))
        return book

    m.datacollector.model_reporters["book"] = n_labs_and_book
    m.datacollector.model_vars["book"] = []
    m.run(ticks=5)
    df = m.datacollector.get_model_vars_dataframe()
    lengths = [len(v) for v in df["book"]]  # Mesa also calls it once to validate it
    assert lengths == list(range(lengths[0], lengths[0] + 5))  # a copy each tick
    assert df["active_labs"].iloc[-1] == m.stats["active_labs"] == len(m.active_labs())


def test_mesa_batch_run_gives_the_model_reporters_of_a_direct_run():
    import mesa

    rows = mesa.batch_run(AIMarketModel, parameters={"buyers.count": 500}, rng=[3],
                          max_steps=3, number_processes=1, data_collection_period=1,
                          display_progress=False)
    got = pd.DataFrame(rows).drop_duplicates("Step").sort_values("Step")
    direct = AIMarketModel(rng=3, **{"buyers.count": 500}).run(ticks=3)
    want = direct.datacollector.get_model_vars_dataframe()
    assert got["Step"].tolist() == [1, 2, 3]
    assert got["hhi_revenue"].tolist() == want["hhi_revenue"].tolist()
    assert got["regime"].tolist() == want["regime"].tolist()


@pytest.mark.parametrize("overrides", [{"buyers.initial_adoption": 0.0},
                                       {"buyers.count": 3, "buyers.bass_p": 1.0}])
def test_a_market_with_no_adopter_at_tick_0_still_buys_once_buyers_adopt(overrides):
    """Tokens per unit of size are then scaled on the expected spend, not set to 0."""
    m = AIMarketModel("small", rng=1, **{"buyers.count": 400, **overrides})
    assert not m.buyers.adopted.any()
    m.run(ticks=60)
    df = m.datacollector.get_model_vars_dataframe()
    adopted = df["adoption"] > 0
    assert adopted.any()
    # (Labs size inference for last month's demand, so a first adopter may wait a month.)
    assert (df.loc[adopted, "enterprise_spend"] > 0).mean() > 0.5
    # A buyer that just switched waits a month for its new supplier's GPUs: the last year,
    # not the last month, shows the market buying.
    assert (df["enterprise_spend"].iloc[-12:] > 0).mean() > 0.5
    assert df["hhi_revenue"].iloc[-12:].max() > 0


def test_tokens_per_size_stay_finite_and_continuous_as_initial_adoption_goes_to_0():
    """Hypothesis found 1e-306: the expected adopters are floored at one buyer's worth."""
    def tps(adoption: float, n: int = 400) -> float:
        m = AIMarketModel("small", rng=1, **{"buyers.count": n,
                                              "buyers.initial_adoption": adoption})
        assert not m.buyers.adopted.any()
        return m.market.tokens_per_size

    assert tps(0.0) == tps(1e-12) == tps(8.9e-307)
    assert math.isfinite(tps(8.9e-307, n=1))
    m = AIMarketModel("small", rng=0, **{"buyers.count": 1, "buyers.initial_adoption": 8.9e-307})
    m.run(ticks=3)
    assert all(math.isfinite(lab.train_share) for lab in m.labs)


def test_buyers_pay_the_labs_prices_whatever_demand_per_size_does_with_its_arguments():
    """A buyer decision that writes into its price argument changes its demand, not the bills."""
    m = AIMarketModel("small", rng=3, **{"buyers.count": 500})
    pop = m.buyer_groups[0]
    built_in = pop.demand_per_size

    def scribbles(price: np.ndarray, gap: np.ndarray) -> np.ndarray:
        price *= 0.5
        return built_in(price, gap)

    pop.demand_per_size = scribbles
    for _ in range(6):
        m.step()
        billed = [lab for lab in m.active_labs() if lab.founded < m.steps and lab.revenue > 0]
        assert billed
        for lab in billed:  # revenue ($bn) = M tokens served x the lab's $/M tokens in $bn
            assert lab.revenue == pytest.approx(lab.served_tokens * lab.price * BN_PER_USD,
                                               rel=1e-9)
