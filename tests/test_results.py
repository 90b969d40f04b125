"""The findings' claims about the default against the null, and the findings page's analysis.

The default scenario and the null scenario (every increasing-returns force off) run unchanged
(10,000 buyers, 120 months) over the first eight seeds; every claim is a comparison or a
majority over those seeds, so a change in the model that removes the effect makes these tests
fail. The findings page's analysis
(``analysis/``, run from the repository root) is tested on tiny sweeps: its numbers against
the sweep tables, any regime labels, and ``python -m analysis.results`` end to end.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_util import write_experiment

from analysis import tables
from marketsim import AIMarketModel, run_sweep
from marketsim.metrics import REGIMES

SEEDS = range(8)
YEAR = 12  # the regime label averages its measures over the last 12 months


def _run(scenario: str, seed: int) -> dict:
    model = AIMarketModel(scenario, rng=seed)
    model.run()
    df = model.datacollector.get_model_vars_dataframe()
    last = df.iloc[-YEAR:]
    leader = max(model.labs, key=lambda lab: sum(lab.revenue_history))
    return {
        "regime": model.regime,
        "hhi": float(last["hhi_revenue"].mean()),
        "hhi_end": float(df["hhi_revenue"].iloc[-1]),
        "bimodality": float(last["bimodality"].mean()),
        "middle_share": float(last["middle_share"].mean()),
        "amount_refused": float(df["amount_refused"].sum()),
        "leader_refused": float(leader.refused),
        "leader_owned_year": float(last["leader_owned_share"].mean()),
    }


@pytest.fixture(scope="module")
def runs() -> dict[str, list[dict]]:
    return {sc: [_run(sc, s) for s in SEEDS] for sc in ("default", "null")}


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def _share(rows: list[dict], pred) -> float:
    return float(np.mean([bool(pred(r)) for r in rows]))


def test_regimes_are_the_models_labels(runs):
    assert all(r["regime"] in REGIMES for rows in runs.values() for r in rows)


def test_default_is_more_concentrated_than_null(runs):
    d, n = runs["default"], runs["null"]
    assert _mean(d, "hhi") > _mean(n, "hhi") + 500, (_mean(d, "hhi"), _mean(n, "hhi"))
    assert _mean(d, "hhi_end") > _mean(n, "hhi_end"), (_mean(d, "hhi_end"), _mean(n, "hhi_end"))


def test_default_never_ends_competitive(runs):
    """The default ends concentrated or consolidated (docs/results.md, knock-out table)."""
    assert not any(r["regime"] == "competitive" for r in runs["default"]), [
        r["regime"] for r in runs["default"]]


def test_null_ends_competitive_in_most_seeds(runs):
    comp = _share(runs["null"], lambda r: r["regime"] == "competitive")
    assert comp > 0.5, [r["regime"] for r in runs["null"]]
    assert not any(r["regime"] == "bifurcated" for r in runs["null"])


def test_leader_refuses_offers(runs):
    d = runs["default"]
    assert _share(d, lambda r: r["amount_refused"] > 0) > 0.5
    # The revenue leader (most revenue over the run) is among those refusing.
    assert _share(d, lambda r: r["leader_refused"] > 0) > 0.5, [r["leader_refused"] for r in d]


def test_leader_owns_a_large_part_of_its_compute_only_where_owning_pays(runs):
    d = runs["default"]
    owned = [round(r["leader_owned_year"], 3) for r in d]
    assert _share(d, lambda r: r["leader_owned_year"] > 0.3) > 0.5, owned
    # In the null there is no cost gap: nobody builds, the leader rents everything.
    assert _mean(runs["null"], "leader_owned_year") < 0.05


# ------------------------------------------------------------- the findings page's analysis
@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    exp = write_experiment(folder, replications=3, horizon=18, buyers=300)  # 12 runs
    run_sweep(exp, folder / "out", workers=1, progress=False)
    return folder / "out"


def test_run_finals_are_the_tick_tables_figures(tiny):
    runs, ticks = tables.load_sweep(tiny)
    fin = tables.run_finals(runs, ticks).set_index("run_id")
    assert sorted(fin.index) == sorted(runs["run_id"])
    r = int(runs["run_id"].iloc[5])
    t = ticks[ticks["run_id"] == r]
    assert fin.loc[r, "hhi_year"] == pytest.approx(t["hhi_revenue"].iloc[-12:].mean())
    assert fin.loc[r, "hhi_end"] == pytest.approx(t["hhi_revenue"].iloc[-1])
    assert fin.loc[r, "entries"] == t["entries"].sum()
    assert fin.loc[r, "regime"] == runs.set_index("run_id").loc[r, "regime"]


def test_variant_summary_takes_any_regime_labels(tiny):
    """The labels are the runs' own: renamed labels give the same shares under new names."""
    runs, ticks = tables.load_sweep(tiny)
    fin = tables.run_finals(runs, ticks)
    other = fin.assign(regime=fin["run_id"].map(lambda i: ["tiers", "plain", "tiers"][i % 3]))
    summ = tables.variant_summary({"a": fin, "b": other})
    assert {"tiers", "plain"} <= set(summ.attrs["regimes"])
    assert summ.loc["b", "tiers"] == pytest.approx((other["regime"] == "tiers").mean())
    regimes = summ.attrs["regimes"]
    assert summ[regimes].sum(axis=1).round(9).eq(1).all()
    for c in [*regimes, *tables.MEASURES]:
        assert (summ[f"{c}_lo"] <= summ[c] + 1e-12).all() and (
            summ[c] <= summ[f"{c}_hi"] + 1e-12).all(), c
    assert (summ["hhi_end_lo"] >= 0).all() and (summ["cr1_end_hi"] <= 1).all()


def test_driver_extremes_rank_the_drivers_by_how_much_they_move_a_regime():
    by = pd.DataFrame({
        "parameter": ["a", "a", "b", "b"], "bin": ["0", "1", "0", "1"], "runs": [4] * 4,
        "x": [0.5, 0.5, 1.0, 0.0], "y": [0.5, 0.5, 0.0, 1.0], "dominant": ["tie"] * 4})
    ext = tables.driver_extremes(by)
    assert list(ext["parameter"]) == ["b", "a"]
    assert ext.loc[0, "moves"] == 1.0 and ext.loc[1, "moves"] == 0.0


def test_yearly_fall():
    s = pd.Series([8.0, 4.0, 2.0])
    assert tables.yearly_fall(s, 0, 2) == pytest.approx(2.0 ** 12)  # halving each month
    assert np.isnan(tables.yearly_fall(s, 0, 12))  # past the end


def test_second_tier_numbers_read_2025_shares_and_the_months_from_2026():
    rows = []
    for run, (cr1, cr2, above) in enumerate([(0.4, 0.5, 1), (0.3, 0.6, 3)]):
        for tick in range(24):
            rows.append({"run_id": run, "tick": tick, "cr1_revenue": cr1 if tick >= 6 else 0.9,
                         "cr2_revenue": cr2 if tick >= 6 else 0.95,
                         "labs_above_floor": above if tick >= 12 else 1})
    fin = pd.DataFrame({"run_id": [0, 1], "regime": ["concentrated", "bifurcated"]})
    out = tables.second_tier_numbers(fin, pd.DataFrame(rows))
    assert out["floor_one_share"] == pytest.approx(0.5)  # run 0's months from tick 12 only
    assert out["above_2025"] == 2.0 and out["above_2025_two"] == 1  # tick 12: 1 and 3 labs
    assert out["above_end_bifurcated"] == 3.0 and out["above_end_concentrated"] == 1.0
    assert np.isnan(out["above_end_consolidated"])
    assert out["top_two_2025"] == pytest.approx(0.55)  # median of 0.5 and 0.6 (ticks 6-12)
    assert out["second_share_2025"] == pytest.approx(0.2)  # median of 0.1 and 0.3


def test_findings_page_is_written_from_sweeps_and_resumed(tmp_path: Path):
    from analysis.results import FIGURES, generate, main, run_all

    results = tmp_path / "results"
    path = generate(tmp_path / "docs", results, seeds=2, samples=2, quick=True, workers=1,
                    progress=False)
    text = path.read_text()
    for heading in ("## 1. Default vs null", "## 2. The seed story", "## 3. Stylised facts",
                    "## 4. The regime atlas", "## 5. Each force's effect: knock-outs",
                    "**Knock-out table**", "| `default` |",
                    "## 6. Where each regime lives: scenario discovery",
                    "**Scenario-discovery table**", "## 7. Robustness of the labels",
                    "**Bifurcated runs' tiers**", "**Default, every threshold**",
                    "## 9. Where the model is weak", "Not produced from sweep outputs",
                    "### The 2026 scene, lab by lab (direct runs)",
                    "| labs exiting from January 2027 | labs per run |"):
        assert heading in text
    assert "classify_regime" not in text
    for rel in FIGURES.values():
        png = tmp_path / "docs" / rel
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", rel
        assert png.stat().st_size < 200_000, (rel, png.stat().st_size)
        assert f"]({rel})" in text
    assert not re.search(r"\bnan\b", text), "a NaN on the page"  # ("finance" is fine)
    assert re.search(r"\$[A-Za-z_]", text) is None  # every placeholder filled
    parts = sorted(p.name for p in results.rglob("*.parquet"))
    assert len(list((results / "findings-quick").iterdir())) == 6  # 4 variants, atlas, k-o
    run_all(results, seeds=2, samples=2, quick=True, workers=1, no_atlas=False,
            progress=False)
    assert sorted(p.name for p in results.rglob("*.parquet")) == parts  # resumed: no new run
    assert main(["--seeds", "1", "--out", str(tmp_path)]) == 2


def test_tiers_line_counts_the_last_month_of_bifurcated_runs_only():
    from types import SimpleNamespace

    from analysis.sections import tiers_line

    runs = pd.DataFrame({"regime": ["bifurcated", "bifurcated", "concentrated"],
                         "giant_labs": [2, 1, 0], "renter_labs": [5, 4, 9]})
    t = SimpleNamespace(min_giants=2, min_renters=3, window=24)
    line = tiers_line(runs, t)
    assert line.startswith("2 of 3 runs end bifurcated")
    assert "in the last month alone 1 of them have both (1 at least 2 giants, 2 at least 3" in line
    assert tiers_line(runs.iloc[2:], t) == "no run ends bifurcated"


def test_scene_figures_are_the_direct_runs_counts():
    """The 2026 scene's table and sentences quote the per-seed rows: counts, n and means."""
    from analysis import scene, story

    nan = float("nan")
    rows = []
    for k in range(4):  # seeds 0 and 1 refuse >= $100bn; seed 3 has no exit and no prices
        rows.append({
            "seed": k, "refused_2026": [400.0, 150.0, 20.0, 0.0][k],
            "refused_hundreds_2026": float(k < 2), "leader_refusals_2026": [2.0, 1.0, 1.0, 0.0][k],
            "first_refusal_tick": [3.0, 14.0, 20.0, nan][k],
            "leader_run_rate_jan_2026": 30.0, "leader_run_rate_jan_2027": 60.0,
            "leader_run_rate_jan_2028": 90.0, "rent_change_2026": -0.1,
            "owners_below_share": [1.0, 0.75, 0.25, nan][k],
            "owners_price_gap": [0.2, 0.1, -0.1, nan][k],
            "exits_2027": [2.0, 1.0, 1.0, 0.0][k], "renter_exits_2027": [2.0, 1.0, 0.0, 0.0][k],
            "bankrupt_exits_2027": [1.0, 0.0, 0.0, 0.0][k],
            "renter_exit_share": [1.0, 1.0, 0.0, nan][k],
            "refusal_run_rate": [40.0, 20.0, 10.0, nan][k],
            "refusal_amount": [30.0, 10.0, 2.0, nan][k],
            "refusal_owned_gpus": [1e6, 5e5, 1e5, nan][k],
            "refusal_building_gpus": [2e6, 1e6, 0.0, nan][k],
            "owners_price_2027": [1.0, 2.0, 3.0, nan][k],
            "renters_price_2027": [2.0, 2.0, 2.0, nan][k],
            "owners_margin_2027": 0.5, "renters_margin_2027": 0.1,
        })
    v = scene.values(pd.DataFrame(rows), buyers=10_000)
    assert (v["scene_n"], v["scene_hundreds"], v["scene_refused_seeds"]) == ("4", "2", "3")
    assert (v["scene_exits"], v["scene_renter_exits"], v["scene_bankrupt_exits"]) == (
        "4", "3", "1")
    assert v["scene_refusal_n"] == v["scene_price_n"] == "3"
    assert v["scene_below_seeds"] == "2" and v["scene_below"].startswith("67% [")
    assert v["scene_renter_exit_share"].startswith("75% [")  # 3 of 4, pooled
    assert v["scene_refused_max"] == "400"
    lines = v["scene_table"].splitlines()
    assert len(lines) == 2 + len(scene.ROWS)
    row = {line.split(" | ")[0][2:]: line.split(" | ") for line in lines[2:]}
    assert row["owners' price from 2027"][2].startswith("2.00 [")
    assert row["owners' price from 2027"][3] == "3 |"
    assert row["change in GPU rent over 2026 (December − January)"][2] == "-0.10 [-0.10, -0.10]"
    summary = story.summarise(pd.DataFrame(rows)).set_index("figure")
    assert summary.loc["exits_2027", "low"] >= 0  # a count's interval stays at or above 0
    assert summary.loc["refused_hundreds_2026", "mean"] == 0.5


def test_story_price_figures_and_the_leader_at_its_refusal():
    from analysis import story

    n = 30
    ticks = pd.DataFrame({
        "tick": range(n), "leader_run_rate": [float(t) for t in range(n)],
        "leader_refused_valuation": [0.0] * n, "leader_owned_gpus": [1e5 + t for t in range(n)],
        "leader_building_gpus": [5e4] * n, "owners_price": [1.0] * 28 + [np.nan] * 2,
        "renters_price": [2.0] * 26 + [4.0] * 4, "owners_margin": [0.3] * n,
        "renters_margin": [0.1] * 26 + [-0.2] * 4,
    })
    ticks.loc[[13, 17], "leader_refused_valuation"] = [200.0, 500.0]
    f = story.at_refusal(ticks[ticks["tick"].isin(story.YEAR_2026)])
    assert {k: v for k, v in f.items() if k != "refusal_amount"} == {
        "refusal_run_rate": 17.0, "refusal_owned_gpus": 1e5 + 17,
        "refusal_building_gpus": 5e4}  # the month of the highest refusal
    assert np.isnan(f["refusal_amount"])  # these ticks have no leader_refused_amount
    p = story.price_figures(ticks)  # months 24-27: both priced (28-29 left out)
    assert p["owners_price_2027"] == 1.0 and p["renters_price_2027"] == pytest.approx(3.0)
    assert p["renters_margin_2027"] == pytest.approx(-0.05)
    none = story.at_refusal(ticks[ticks["tick"] < 12].assign(leader_refused_valuation=0.0))
    assert all(np.isnan(x) for x in none.values())


@pytest.fixture(scope="module")
def knockout_sweep(tmp_path_factory) -> Path:
    """Two scenarios of a list (the default and the null knock-out), 3 seeds, 18 months."""
    folder = tmp_path_factory.mktemp("ko")
    repo = Path(__file__).resolve().parent.parent / "scenarios"
    (folder / "ko.toml").write_text(
        f'name = "ko"\nscenario = ["{repo / "default.toml"}", '
        f'"{repo / "knockouts" / "null.toml"}"]\nhorizon = 18\nreplications = 3\n'
        'seed = 7\n[design]\nmethod = "grid"\n[parameters]\n"buyers.count" = [300]\n')
    from marketsim import load_experiment

    run_sweep(load_experiment(folder / "ko.toml"), folder / "out", workers=1, progress=False)
    return folder / "out"


def test_knockout_table_is_the_runs_tables_figures(knockout_sweep):
    from analysis import knockout_table as kt
    from analysis.regimes import WINDOW_KEYS

    runs, ticks = tables.load_sweep(knockout_sweep)
    rob = kt.robustness_runs(runs, ticks)
    table = kt.knockout_table(rob)
    assert list(table.index) == ["default", "null"]  # the experiment's order
    for name, row in table.iterrows():
        r = runs[runs["scenario"] == name]
        assert row["runs"] == len(r) == 3
        for reg in REGIMES:
            assert row[reg] == pytest.approx((r["regime"] == reg).mean())
            assert 0 <= row[f"{reg}_lo"] <= row[reg] <= row[f"{reg}_hi"] <= 1
        assert row["hhi_revenue"] == pytest.approx(r["hhi_revenue"].mean())
        assert row["giant_labs"] == pytest.approx(r["giant_labs"].mean())
        halved = (r["active_labs"] <= 0.5 * r["peak_active_labs"]).mean()
        assert row["halved"] == pytest.approx(halved)
        assert row["halved_lo"] <= row["halved"] <= row["halved_hi"]
        assert 0 <= row["persistence_lo"] <= row["persistence"] <= row["persistence_hi"] <= 1
        assert 0 <= row["flips"] <= row["moves"] == 3 * 2 * len(WINDOW_KEYS)
    assert (rob["relabel"] == rob["regime"]).all()  # relabelling reproduces the model's label
    s = kt.robustness_summary(rob)
    assert s["agree"] == s["runs"] == 6 and set(s["per_key"]) == set(WINDOW_KEYS)
    assert s["settled"] == int((rob["persistence"] >= 0.75).sum())
    assert s["flips"] == sum(table["flips"]) and s["moves"] == sum(table["moves"])
    assert kt.regime_shift(table)["default"] == 0
    flips, moves = kt.plain_share_flips(ticks)
    assert moves == 2 * 6 and 0 <= flips <= moves


def test_prim_box_finds_where_a_regime_lives():
    """A regime living exactly in x > 0.5: the box bounds x from below near 0.5, dense."""
    from analysis.prim import regime_boxes

    rng = np.random.default_rng(3)
    runs = pd.DataFrame({"x": rng.random(400), "y": rng.random(400) * 10})
    runs["regime"] = np.where(runs["x"] > 0.5, "bifurcated", "competitive")
    boxes = regime_boxes(runs, ["x", "y"]).set_index("regime")
    box = boxes.loc["bifurcated"]
    assert set(box["limits"]) == {"x"}  # y does not matter: left unrestricted
    assert box["limits"]["x"][0] == pytest.approx(0.5, abs=0.03)
    assert box["density"] > 0.95 and box["coverage"] >= 0.5
    assert boxes.loc["competitive", "limits"]["x"][1] == pytest.approx(0.5, abs=0.03)


def test_prim_picks_the_densest_box_with_enough_coverage():
    from analysis.prim import best_step

    traj = pd.DataFrame({"coverage": [1.0, 0.8, 0.6, 0.4], "density": [0.2, 0.5, 0.7, 1.0]})
    assert best_step(traj) == 2
    assert best_step(traj, min_coverage=0.9) == 0


def test_scene_posterior_drivers_split_the_particles_at_each_posterior_median(tmp_path: Path):
    from analysis import scene_posterior

    post = pd.DataFrame({"a.x": [1.0, 2.0, 3.0, 4.0], "a.y": [5.0, 5.0, 6.0, 6.0],
                         "weight": [0.25] * 4})
    path = tmp_path / "posterior.parquet"
    post.to_parquet(path)
    runs = pd.DataFrame({"a.x": [1.0, 1.5, 3.5, 4.0, 3.8, 1.2],
                         "a.y": [5.0, 6.0, 5.0, 6.0, 5.0, 6.0],
                         "weight": [1.0] * 6,
                         "refused_hundreds_2026": [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]})
    medians = scene_posterior.posterior_medians(path)
    table = scene_posterior.drivers(runs, medians).set_index("key")
    # The scene happens exactly in the particles above a.x's median (2.5): the largest gap.
    assert table.index[0] == "a.x"
    assert table.loc["a.x", "below"] == 0.0 and table.loc["a.x", "above"] == 1.0
    assert table.loc["a.x", "below_high"] < 1.0 and table.loc["a.x", "above_low"] > 0.0
    assert abs(table.loc["a.y", "gap"]) < 1.0


def test_weighted_share_intervals_use_the_effective_sample_size():
    from analysis import scene_posterior
    from marketsim.report_stats import share_interval

    hit = np.array([1, 0] * 50, dtype=float)
    even = scene_posterior.weighted_share(hit, np.ones(100))
    # Equal weights: Kish's size is the count, and the interval is the Wilson interval.
    assert scene_posterior.effective_size(np.ones(100)) == pytest.approx(100)
    assert even == pytest.approx((0.5, *share_interval(50, 100)))
    # One particle holding most of the weight: a much smaller effective sample, wider interval.
    w = np.ones(100)
    w[0] = 100.0
    p, lo, hi = scene_posterior.weighted_share(hit, w)
    assert scene_posterior.effective_size(w) < 5
    assert hi - lo > 2 * (even[2] - even[1])
    assert p == pytest.approx((100 + 49) / 199)


def test_story_measure_takes_one_set_of_overrides_per_seed():
    from analysis import story

    with pytest.raises(ValueError, match="2 sets of overrides for 3 seeds"):
        story.measure(seeds=3, overrides=[{}, {}])


@pytest.mark.parametrize("name", ["default.toml", "null_unequal_start.toml"])
def test_findings_variants_start_where_the_default_starts(name: str):
    """The page's default and null-from-the-default's-start variants fix the start's Zipf
    exponent (a grid needs one key): it must be the default scenario's own (fitted) value."""
    from marketsim.experiment import load_experiment
    from marketsim.scenario import load_scenario

    ef = load_experiment(Path(__file__).resolve().parent.parent / "analysis" / "experiments"
                         / name)
    assert ef.parameters["labs.size_exponent"] == [load_scenario("default").labs.size_exponent]


def test_second_lab_shares_are_weighted_over_particles_and_ordered():
    from analysis import second_lab

    post = pd.read_parquet(second_lab.POSTERIORS["docs/fit"][1]).head(3)
    post["weight"] = [1.0, 0.0, 0.0]  # all the weight on the first particle
    got = second_lab.measure(post, buyers=300, workers=1)
    keys = [c for c in post.columns if c != "weight"]
    from marketsim.sweep import run_seed

    leader, top_two = second_lab.shares_2025("default", {k: float(post.iloc[0][k]) for k in keys},
                                             run_seed(777, 0, 0), 300)
    assert got["leader"] == pytest.approx(leader) and got["top_two"] == pytest.approx(top_two)
    assert got["second"] == pytest.approx(top_two - leader)
    assert 0 <= got["second_5%"] <= got["second_95%"] <= top_two
