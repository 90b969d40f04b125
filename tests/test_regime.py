"""The regime label (issue 19): what each label requires, and relabelling from stored tables."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from analysis import make_knockouts, regimes
from marketsim import AIMarketModel, load_scenario, metrics
from marketsim.reporters import REGIME_WINDOW, lab_table, regime_window
from marketsim.scenario import RegimeConfig

T = RegimeConfig()


def _window(**kw: float) -> dict[str, float]:
    base = {"active_labs": 10.0, "peak_active_labs": 10.0, "hhi_revenue": 1000.0,
            "giant_labs": 0.0, "renter_labs": 0.0, "survivors_share": 0.5, "months": 24.0}
    return base | kw


# --------------------------------------------------------------------------- one month
def test_two_owning_giants_and_small_renters_make_the_two_tiers():
    revenue = [40.0, 35.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    gpus = [1e6, 9e5, 1e5, 1e5, 1e5, 1e5, 1e5]
    owned = [7e5, 6e5, 0.0, 0.0, 1e4, 0.0, 0.0]
    giants, renters, survivors = metrics.tier_figures(revenue, owned, gpus, T)
    assert (giants, renters) == (2, 5)
    assert survivors == pytest.approx(0.85)  # four largest of 100


def test_one_giant_and_nine_similar_labs_is_not_two_tiers():
    """Sarle's coefficient passes for this market; the giant count does not."""
    revenue = [50.0] + [5.5] * 9
    gpus = [2e6] + [2e5] * 9
    owned = [1.5e6] + [0.0] * 9
    assert metrics.tier_figures(revenue, owned, gpus, T)[0] == 1


def test_a_leader_with_99_percent_of_revenue_leaves_no_second_giant():
    revenue = [99.0, 0.5, 0.3, 0.1, 0.1]
    gpus = [5e6, 1e6, 1e5, 1e5, 1e5]
    owned = [4e6, 9e5, 0.0, 0.0, 0.0]
    assert metrics.tier_figures(revenue, owned, gpus, T)[0] == 1


def test_renters_must_sit_below_the_size_gap_and_rent_most():
    revenue = [40.0, 40.0, 10.0, 5.0, 5.0]
    gpus = [1e6, 1e6, 5e5, 1e5, 1e5]  # the third is half a giant: above the 0.25 gap
    owned = [6e5, 6e5, 0.0, 0.0, 8e4]  # the last owns 80 %: not a renter
    assert metrics.tier_figures(revenue, owned, gpus, T)[:2] == (2, 1)


def test_a_giant_must_own_most_of_its_compute():
    revenue = [45.0, 45.0, 5.0, 5.0]
    gpus = [1e6, 1e6, 1e4, 1e4]
    owned = [6e5, 4.9e5, 0.0, 0.0]
    assert metrics.tier_figures(revenue, owned, gpus, T)[0] == 1


def test_a_fringe_of_tiny_entrants_barely_moves_the_survivors_share():
    core = [30.0, 30.0, 20.0, 15.0]
    with_fringe = core + [0.1] * 20
    assert metrics.tier_figures(with_fringe, [0.0] * 24, [1.0] * 24, T)[2] > 0.9


# --------------------------------------------------------------------------- the label
def test_each_label_from_its_window():
    assert metrics.classify(_window(giant_labs=2, renter_labs=3), T) == "bifurcated"
    assert metrics.classify(_window(hhi_revenue=3000), T) == "concentrated"
    assert metrics.classify(_window(), T) == "competitive"
    shaken = _window(active_labs=6, peak_active_labs=12, survivors_share=0.95,
                     hhi_revenue=3000)
    assert metrics.classify(shaken, T) == "consolidated"
    assert metrics.classify(_window(active_labs=0, survivors_share=0.0), T) == "consolidated"


def test_consolidation_needs_a_shakeout():
    no_fall = _window(active_labs=12, peak_active_labs=12, survivors_share=0.95,
                      hhi_revenue=3000)
    assert metrics.classify(no_fall, T) == "concentrated"


def test_one_giant_with_many_renters_is_concentrated_not_bifurcated():
    w = _window(giant_labs=1, renter_labs=9, hhi_revenue=5000)
    assert metrics.classify(w, T) == "concentrated"


def test_regime_checks_name_value_threshold_and_outcome():
    w = _window(hhi_revenue=2000, giant_labs=2, renter_labs=2)
    checks = metrics.regime_checks(w, T)
    assert all(isinstance(c, tuple) and len(c) == 4 for c in checks)
    hhi = next(c for c in checks if "HHI" in c.test)
    assert (hhi.value, hhi.threshold, hhi.passed) == (2000, T.hhi_concentrated, True)
    renters = next(c for c in checks if "renting" in c.test)
    assert (renters.value, renters.threshold, renters.passed) == (2, T.min_renters, False)
    assert len({c.test for c in checks}) == len(checks)


def test_window_stats_are_medians_and_the_last_peak():
    rows = [{"active_labs": a, "hhi_revenue": h, "giant_labs": 0, "renter_labs": 0,
             "survivors_share": 0.5, "peak_active_labs": p}
            for a, h, p in [(10, 1000, 10), (12, 9000, 12), (8, 2000, 12)]]
    w = metrics.window_stats(rows)
    assert (w["active_labs"], w["hhi_revenue"], w["peak_active_labs"]) == (10, 2000, 12)


def test_the_window_key_cannot_exceed_what_the_model_keeps():
    assert RegimeConfig.model_fields["window"].metadata[-1].le == REGIME_WINDOW


# --------------------------------------------------------------------------- model tables
@pytest.fixture(scope="module")
def run():
    sc = load_scenario("small", overrides={"buyers.count": 300, "horizon": 40,
                                           "regime.window": 6})
    m = AIMarketModel(sc, rng=3).run()
    return m, m.datacollector.get_model_vars_dataframe().reset_index(drop=True), lab_table(m)


def test_the_model_labels_each_month_by_its_trailing_window(run):
    m, ticks, labs = run
    assert m.regime == ticks["regime"].iloc[-1]
    assert (ticks["peak_active_labs"] == ticks["active_labs"].cummax()).all()
    for t in (0, 3, 20, len(ticks) - 1):
        rows = ticks.iloc[max(t - 5, 0): t + 1].to_dict("records")
        assert ticks["regime"].iloc[t] == metrics.classify(metrics.window_stats(rows),
                                                           m.scenario_config.regime)


def test_the_checklist_of_the_last_tick_gives_its_label(run):
    m, ticks, _ = run
    window = regime_window(m)
    assert window["months"] == m.scenario_config.regime.window
    assert metrics.classify(window, m.scenario_config.regime) == m.regime
    assert len(metrics.regime_checks(window, m.scenario_config.regime)) == 5


def test_relabelling_a_stored_run_gives_the_models_labels(run):
    m, ticks, labs = run
    rg = m.scenario_config.regime
    assert regimes.relabel(ticks, rg).tolist() == ticks["regime"].tolist()
    assert regimes.relabel(ticks, rg, labs).tolist() == ticks["regime"].tolist()
    fig = regimes.lab_figures(labs, rg, ticks["tick"])
    for col in metrics.WINDOW_FIGURES:
        assert fig[col].tolist() == ticks[col].astype(float).tolist(), col


def test_threshold_moves_cover_every_key_within_bounds(run):
    m, ticks, labs = run
    moves = regimes.threshold_moves(ticks, m.scenario_config.regime, labs)
    keys = set(regimes.LAB_KEYS) | set(regimes.WINDOW_KEYS)
    assert set(moves["key"]) == keys and len(moves) == 2 * len(keys)
    share = moves.loc[moves["key"] == "consolidated_share", "value"].tolist()
    assert share == pytest.approx([1 - 1.2 * (1 - T.consolidated_share),
                                   1 - 0.8 * (1 - T.consolidated_share)])  # 0.88, 0.92
    with pytest.raises(ValueError, match="labs table"):
        regimes.threshold_moves(ticks, m.scenario_config.regime, keys=["tier_gap"])


def test_a_label_at_a_thresholds_edge_flips_when_it_moves():
    ticks = pd.DataFrame({"tick": range(30), "active_labs": 10, "hhi_revenue": 2000.0,
                          "giant_labs": 0, "renter_labs": 0, "survivors_share": 0.5})
    moves = regimes.threshold_moves(ticks, T)
    hhi = moves[moves["key"] == "hhi_concentrated"].set_index("value")["label"]
    assert hhi[1800 * 0.8] == "concentrated" and hhi[1800 * 1.2] == "competitive"
    assert moves["flipped"].sum() == 1


def test_a_plain_move_of_a_share_near_one_asks_for_no_fringe_at_all():
    # a shakeout from 12 to 6 labs, the four largest holding 95 %: consolidated
    ticks = pd.DataFrame({"tick": range(30), "active_labs": [12] * 6 + [6] * 24,
                          "hhi_revenue": 3000.0, "giant_labs": 0, "renter_labs": 0,
                          "survivors_share": 0.95})
    assert regimes.relabel(ticks, T).iloc[-1] == "consolidated"
    assert regimes.moved_values("consolidated_share", T, plain=True) == pytest.approx([0.72, 1.0])
    plain = regimes.threshold_moves(ticks, T, keys=["consolidated_share"], plain=True)
    assert plain["flipped"].sum() == 1  # at 1.0 the 5 % fringe undoes it; 0.72 holds
    moves = regimes.threshold_moves(ticks, T, keys=["consolidated_share"])
    assert not moves["flipped"].any()  # 0.88 and 0.92 both hold


def test_persistence_is_the_share_of_the_last_months_with_the_end_label():
    labels = ["competitive"] * 30 + ["concentrated"] * 6
    assert regimes.persistence(labels) == pytest.approx(6 / 24)
    assert regimes.persistence(["bifurcated"] * 5) == 1.0


def test_summaries_give_shares_with_intervals():
    runs = [{"regime": r, "persistence": p, "flips": f, "moves": 22, "flipped_keys": k}
            for r, p, f, k in [("concentrated", 1.0, 0, []), ("concentrated", 0.5, 2, ["a"]),
                               ("bifurcated", 0.75, 1, ["a"]), ("competitive", 1.0, 0, [])]]
    s = regimes.summarise(runs)
    share, lo, hi = s["concentrated"]
    assert share == 0.5 and 0 < lo < 0.5 < hi < 1
    assert s["flips"] == 3 and s["moves"] == 88 and s["runs_flipped"] == 2
    assert s["flipped_keys"] == {"a": 2}


# --------------------------------------------------------------------------- scenarios
def test_the_generated_scenarios_are_up_to_date():
    for path, text in make_knockouts.targets().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python analysis/make_knockouts.py")


def test_each_knockout_differs_from_the_default_by_its_forces_only():
    default = tomllib.loads(make_knockouts.DEFAULT.read_text())
    for name, (forces, _) in make_knockouts.knockouts().items():
        sc = tomllib.loads((make_knockouts.KNOCKOUT_DIR / f"{name}.toml").read_text())
        changed = {f"{sec}.{k}" for sec, v in sc.items() if isinstance(v, dict)
                   for k in v if default.get(sec, {}).get(k) != v[k]}
        assert changed == {make_knockouts.FORCES[f][0] for f in forces}, name
        assert load_scenario(make_knockouts.KNOCKOUT_DIR / f"{name}.toml").name == name


def test_the_null_switches_off_every_increasing_return_and_the_knockouts_show_them_apart():
    null, default = load_scenario("null"), load_scenario("default")
    off = {"hyperscalers.margin", "hyperscalers.utilisation_premium",
           "compute.min_efficient_scale", "labs.fixed_cost", "buyers.switching_cost",
           "buyers.quality_weight", "buyers.quality_elasticity"}
    for key in off:
        section, field = key.split(".")
        assert getattr(getattr(null, section), field) == 0, key
        assert getattr(getattr(default, section), field) > 0, key
    supply = load_scenario(make_knockouts.KNOCKOUT_DIR / "supply_returns.toml")
    assert supply.hyperscalers.margin == 0 and supply.compute.min_efficient_scale == 0
    assert supply.buyers.quality_weight == default.buyers.quality_weight  # premium left on
    no_premium = load_scenario("no_capability_premium")
    assert no_premium.buyers.quality_weight == 0 and no_premium.hyperscalers.margin > 0
