"""The benchmark runs and its baseline is faithful: same buyer rules, same statistics.

No timing is asserted here (timings are the benchmark's job); these tests check that the
bench's measuring functions return well-formed rows at tiny sizes, and that the Mesa
object-per-agent baseline and the vectorised buyers (marketsim's demand functions) follow
the same rules: adoption along the Bass mean-field path, the same supplier shares, and the
switching bonus's stay probability.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root holds bench/

from bench import __main__ as bench_main  # noqa: E402
from bench import model_bench  # noqa: E402
from bench.buyer_market import (  # noqa: E402
    LabSet,
    VectorBuyerMarket,
    buyers_config,
    scenario_labs,
    tick_terms,
)
from bench.mesa_baseline import MesaBuyerMarket  # noqa: E402
from marketsim.mechanisms import demand  # noqa: E402

TINY = model_bench.Sizes(big=3_000, mid=600, few=50, mesa=200, ticks=3, mesa_ticks=2,
                         repeats=1, numpy_repeats=2)

#: Distinct labs: quality and price spread, the last one unavailable.
LABS = LabSet(quality=np.array([1.0, 1.5, 2.0, 2.0, 2.5]),
              price=np.array([1.0, 1.0, 2.0, 1.0, 9.0]),
              available=np.array([True, True, True, True, False]),
              open_weight_floor=0.5, reference_price=1.0)


def _check_rows(rows: list[dict]) -> None:
    assert rows
    for r in rows:
        assert set(r) >= {"figure", "value", "unit", "goal", "ok"}
        assert isinstance(r["figure"], str) and r["figure"]
        assert math.isfinite(r["value"])
        assert r["ok"] in (None, True, False)
        if r["ok"] is not None:
            assert r["goal"], r


def test_model_bench_rows_are_well_formed_at_tiny_sizes():
    rows = model_bench.measure(sizes=TINY)
    _check_rows(rows)
    goals = [r for r in rows if r["ok"] is not None]
    assert len(goals) == 6  # numpy multiple, Mesa speed-up, linear, fixed, build, memory
    by_unit = {r["unit"] for r in rows}
    assert {"ns", "ms", "x", "MiB"} <= by_unit
    mech = [r for r in rows if "step:" in r["figure"]]
    assert {r["figure"].split(": ")[-1] for r in mech} == set(model_bench.MECHANISMS)
    after = [r for r in rows if "all mechanisms after demand_step" in r["figure"]]
    assert len(after) == 1
    assert after[0]["value"] == pytest.approx(
        sum(r["value"] for r in mech if not r["figure"].endswith("demand_step")))
    assert all(r["value"] > 0 for r in rows if r["unit"] in ("ns", "ms", "MiB"))


def test_baseline_and_vectorised_timers_return_positive_per_buyer_costs():
    for kind in ("mesa", "vector"):
        t = model_bench.time_buyer_market(kind, 300, 2, 1)
        assert 0 < t < 1e-2  # seconds per buyer per tick


def test_python_m_bench_writes_table_and_json(tmp_path, monkeypatch):
    monkeypatch.setattr(model_bench, "QUICK", TINY)
    assert bench_main.main(["--quick", "--only", "model", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["meta"]["quick"] is True
    _check_rows(data["rows"])
    assert all(r["ok"] is None for r in data["rows"])  # tiny sizes judge no goal
    md = (tmp_path / "latest.md").read_text()
    assert "quick run (tiny sizes)" in md and "PASS" not in md and "FAIL" not in md
    assert "| Figure | Value | Unit | Goal | Result |" in md
    assert md.count("\n|") == len(data["rows"]) + 2


def test_missing_bench_module_is_reported_not_fatal(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench_main, "_module", lambda section: None)
    assert bench_main.main(["--quick", "--only", "viz", "--out", str(tmp_path)]) == 0
    assert "not available" in capsys.readouterr().out


def _bass_path(cfg, ticks: int) -> list[float]:
    a, path = cfg.initial_adoption, []
    for _ in range(ticks):
        a += (1.0 - a) * demand.bass_hazard(a, cfg.bass_p, cfg.bass_q)
        path.append(a)
    return path


def test_mesa_and_vectorised_adoption_follow_the_same_bass_path():
    cfg = buyers_config()
    labs = scenario_labs()
    n_mesa, n_vec, ticks = 4_000, 40_000, 24
    mesa_m = MesaBuyerMarket(n_mesa, labs, cfg, rng=5)
    vec_m = VectorBuyerMarket(n_vec, labs, cfg, rng=5)
    for _ in range(ticks):
        mesa_m.step()
        vec_m.step()
    expected = _bass_path(cfg, ticks)[-1]
    assert expected > cfg.initial_adoption + 0.05  # the check has something to see
    for share, n in ((mesa_m.adoption, n_mesa), (vec_m.adoption, n_vec)):
        sd = math.sqrt(expected * (1 - expected) / n)
        assert abs(share - expected) < 5 * sd + 0.005, (share, expected)
    sd_diff = math.sqrt(expected * (1 - expected) * (1 / n_mesa + 1 / n_vec))
    assert abs(mesa_m.adoption - vec_m.adoption) < 5 * sd_diff


def test_model_adoption_follows_the_bass_path_too():
    from marketsim.model import AIMarketModel

    n, ticks = 40_000, 12
    m = AIMarketModel(rng=2, **{"buyers.count": n, "horizon": ticks})
    m.run()
    cfg = m.scenario_config.buyers
    got = m.datacollector.get_model_vars_dataframe()["adoption"].to_numpy()
    for share, expected in zip(got, _bass_path(cfg, ticks), strict=True):
        assert abs(share - expected) < 5 * math.sqrt(expected * (1 - expected) / n) + 0.005


def _stay_share(before: np.ndarray, after: np.ndarray, rechose: np.ndarray) -> tuple:
    had = rechose & (before >= 0)
    return int((after[had] == before[had]).sum()), int(had.sum()), before[had]


def _mesa_state(m: MesaBuyerMarket) -> tuple[np.ndarray, np.ndarray]:
    agents = sorted(m.agents, key=lambda a: a.unique_id)
    return (np.array([a.supplier for a in agents]), np.array([a.contract_age for a in agents]))


def test_mesa_and_vectorised_choose_suppliers_alike():
    cfg = buyers_config().model_copy(update={"initial_adoption": 0.6, "switching_cost": 1.5})
    n_mesa, n_vec, ticks = 3_000, 30_000, 14
    mesa_m = MesaBuyerMarket(n_mesa, LABS, cfg, rng=9)
    vec_m = VectorBuyerMarket(n_vec, LABS, cfg, rng=9)
    probs = tick_terms(LABS, cfg, 0.5, 0).probs
    bonus = math.exp(cfg.switching_cost)
    stay_given = bonus * probs / (1 - probs + bonus * probs)  # P(stay | current supplier)
    stays = {"mesa": [0, 0, 0.0], "vector": [0, 0, 0.0]}  # stayed, re-chose, expected
    for _ in range(ticks):
        before_m, _ = _mesa_state(mesa_m)
        before_v = vec_m.buyers.supplier.copy()
        mesa_m.step()
        vec_m.step()
        after_m, age_m = _mesa_state(mesa_m)
        for key, before, after, age in (
                ("mesa", before_m, after_m, age_m),
                ("vector", before_v, vec_m.buyers.supplier, vec_m.buyers.contract_age)):
            stayed, n, cur = _stay_share(before, after, age == 0)
            stays[key][0] += stayed
            stays[key][1] += n
            stays[key][2] += float(stay_given[cur].sum())
    for key, (stayed, n, expected) in stays.items():
        assert n > 500, key
        assert abs(stayed - expected) < 5 * math.sqrt(expected) + 5, (key, stayed, expected)
    cm = np.asarray(mesa_m.supplier_counts())
    cv = vec_m.supplier_counts()
    assert cm[-1] == 0 and cv[-1] == 0  # the unavailable lab is never chosen
    assert cm[:-1].min() > 0 and cv[:-1].min() > 0
    _, p_value, _, _ = stats.chi2_contingency(np.vstack([cm[:-1], cv[:-1]]))
    assert p_value > 1e-4, (cm, cv)
    # and the labs really differ, so the comparison could have failed
    assert (cv[:-1] / cv.sum()).max() > 2 * (cv[:-1] / cv.sum()).min()


@pytest.mark.parametrize("kind", ["mesa", "vector"])
def test_demand_per_lab_is_size_times_tokens_per_size(kind):
    cfg = buyers_config()
    cls = {"mesa": MesaBuyerMarket, "vector": VectorBuyerMarket}[kind]
    m = cls(500, LABS, cfg, rng=1)
    m.step()
    terms = tick_terms(LABS, cfg, 0.0, 0)
    if kind == "mesa":
        sizes = np.zeros(LABS.n)
        for a in m.agents:
            if a.supplier >= 0:
                sizes[a.supplier] += a.size
    else:
        sizes = demand.size_by_supplier(m.buyers.supplier, m.buyers.size, LABS.n)
    np.testing.assert_allclose(m.lab_demand, terms.tokens_per_size * sizes, rtol=1e-9)
    assert sum(m.lab_demand) > 0


@pytest.mark.parametrize("hazard", [0.0, 0.002, 0.03, 0.09, 0.3, 1.0])
def test_sample_adopters_is_a_bernoulli_draw_among_non_adopters(hazard):
    rng = np.random.default_rng(11)
    n = 200_000
    adopted = rng.random(n) < 0.4
    new = demand.sample_adopters(adopted, hazard, rng)
    assert new.dtype.kind == "i"
    assert np.all(np.diff(new) > 0)
    assert not adopted[new].any()
    free = int((~adopted).sum())
    mean, sd = free * hazard, math.sqrt(free * hazard * (1 - hazard))
    assert abs(new.size - mean) <= 5 * sd + 1e-9
    if 0 < hazard < 1:  # spread evenly: as many in the first half as in the second
        first = int((new < n // 2).sum())
        assert abs(first - new.size / 2) < 5 * math.sqrt(new.size / 4) + 1
        # and the same law as one uniform per buyer
        ref = np.flatnonzero(demand.bass_adopt(adopted, hazard, rng.random(n)))
        assert abs(new.size - ref.size) < 5 * math.sqrt(2) * sd + 1
        assert abs(new.mean() - ref.mean()) < 0.01 * n


def test_buyer_adopters_fast_path_and_overridden_adopt():
    from marketsim.agents import EnterpriseBuyer
    from marketsim.model import AIMarketModel

    m = AIMarketModel(rng=4, **{"buyers.count": 50_000})
    pop = m.buyer_groups[0]
    share = float(m.buyers.adopted.mean())
    new = pop.adopters(share, m.rng)
    assert not m.buyers.adopted[new].any() and new.size > 0

    class EveryoneAdopts(EnterpriseBuyer):
        def adopt(self, adopted_share, uniforms):
            return ~self.view("adopted")

    pop.__class__ = EveryoneAdopts
    np.testing.assert_array_equal(pop.adopters(share, m.rng),
                                  np.flatnonzero(~m.buyers.adopted))


def test_same_results_leaves_out_new_columns_but_not_lost_ones_or_changed_floats():
    import pandas as pd

    from bench.same_results import differences

    old = {"t": pd.DataFrame({"a": [1.0, 2.0]})}
    assert differences(old, {"t": pd.DataFrame({"a": [1.0, 2.0], "new": [0, 1]})}, ()) == []
    assert differences(old, {"t": pd.DataFrame({"b": [1.0, 2.0]})}, ())  # "a" lost
    assert differences(old, {"t": pd.DataFrame({"a": [1.0, 2.0 + 1e-15]})}, ())
