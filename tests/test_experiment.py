"""Experiment files: validation (one clear line per mistake), designs, scenario resolution."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_util import REPO, experiment_text, write_experiment

import marketsim
from marketsim import ScenarioError, load_experiment
from marketsim.cli import main
from marketsim.design import design_size
from marketsim.experiment import Range
from marketsim.scenario import SCENARIO_DIR


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg  # names the file
    return msg


GOOD = experiment_text()


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("replications = 2", "replicatons = 2", ["replicatons", "unknown key",
                                                 "did you mean 'replications'"]),
        ('method = "grid"', 'method = "grid"\nsample = 3', ["design.sample", "unknown key",
                                                           "did you mean 'design.samples'"]),
        ('method = "grid"', 'method = "random"', [
            "design.method", "input should be 'grid', 'lhs' or 'sobol'; given 'random'"]),
        ("replications = 2", "replications = 0", ["replications", "given 0", ">= 1"]),
        ("horizon = 12", 'horizon = "12"', ["horizon", "given '12'", "integer 1 to 2400"]),
        ('"hyperscalers.margin"', '"hyperscalers.margn"', [
            "parameters.hyperscalers.margn", "not a scenario key",
            "did you mean 'hyperscalers.margin'"]),
        ('"hyperscalers.margin" = [0.0, 0.8]', '"hyperscalers.margin" = [0.0, "high"]', [
            "parameters.hyperscalers.margin", "wrong type", "given 'high'", "float"]),
        ('"hyperscalers.margin" = [0.0, 0.8]', '"hyperscalers.margin" = [0.0, -0.5]', [
            "parameters.hyperscalers.margin", "out of range", "given -0.5", ">= 0"]),
        ('"hyperscalers.margin" = [0.0, 0.8]', '"hyperscalers.margin" = 0.8', [
            "parameters.hyperscalers.margin", "need a list", "given 0.8"]),
        ('"hyperscalers.margin" = [0.0, 0.8]', '"hyperscalers.margin" = [0.0, 0.0]', [
            "repeated value"]),
        ('"hyperscalers.margin" = [0.0, 0.8]', '"hyperscalers.margin" = [1, 1.0]', [
            "repeated value", "given [1, 1.0]"]),
        ('"buyers.switching_cost" = [0.0, 2.0]', "labs.count = [3, 4]", [
            "parameters.labs", "needs quotes", "\"labs.count\" = ..."]),
        ('"buyers.switching_cost" = [0.0, 2.0]', '"labs.count" = [10, 12.5]', [
            "parameters.labs.count", "wrong type", "given 12.5", "int"]),
        ('"buyers.switching_cost" = [0.0, 2.0]', '"buyers" = [1, 2]', [
            "parameters.buyers", "cannot be varied"]),
        ('scenario = "small"', 'scenario = "no_such_scenario.toml"', [
            "scenario", "not found", "no_such_scenario.toml"]),
        ('"buyers.count" = 500', '"buyers.cont" = 500', [
            "fixed.buyers.cont", "not a scenario key", "did you mean 'buyers.count'"]),
        ("seed = 5", 'seed = 5\noutputs = ["hhi_revenu"]', [
            "outputs", "unknown reporter", "given 'hhi_revenu'", "did you mean 'hhi_revenue'"]),
    ],
)
def test_grid_file_errors_name_file_key_value_and_allowed(tmp_path, old, new, expect):
    assert old in GOOD
    msg = _error(tmp_path, GOOD.replace(old, new, 1))
    for part in expect:
        assert part in msg, (part, msg)


RANGES = experiment_text(method="lhs", samples=8)


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("low = 0.0, high = 1.5", "low = -1.0, high = 1.5", [
            "parameters.hyperscalers.margin.low", "outside the scenario field's range",
            "given -1.0", ">= 0"]),
        ("low = 0.0, high = 1.5", "low = 0.0, high = 11.0", [
            "parameters.hyperscalers.margin.high", "given 11.0", "<= 10"]),
        ("low = 0.0, high = 1.5", "low = 1.5, high = 1.5", [
            "parameters.hyperscalers.margin", "low must be below high",
            "low = 1.5, high = 1.5"]),
        ("low = 0.0, high = 1.5", "low = 0.0, hi = 1.5", [
            "parameters.hyperscalers.margin", "{ low = …, high = … }"]),
        ("low = 0, high = 24", "low = 0, high = 24.5", [
            "parameters.capability.open_weight_lag.high", "wrong type of bound", "int"]),
        ('"hyperscalers.margin" = { low = 0.0, high = 1.5 }',
         '"hyperscalers.margin" = [0.0, 1.5]', ["parameters.hyperscalers.margin",
                                                "lhs parameters need bounds"]),
        ("samples = 8", "", ["design.samples", "need a sample size"]),
        ('"capability.open_weight_lag" = { low = 0, high = 24 }',
         '"labs.class" = { low = 0, high = 1 }', ["parameters.labs.class", "cannot be varied"]),
    ],
)
def test_range_file_errors(tmp_path, old, new, expect):
    assert old in RANGES
    msg = _error(tmp_path, RANGES.replace(old, new, 1))
    for part in expect:
        assert part in msg, (part, msg)


def test_sobol_needs_power_of_two_and_two_parameters(tmp_path):
    msg = _error(tmp_path, experiment_text(method="sobol", samples=12))
    assert "design.samples" in msg and "power of 2" in msg and "given 12" in msg
    assert "8 or 16" in msg
    one = '"hyperscalers.margin" = { low = 0.0, high = 1.5 }\n'
    msg = _error(tmp_path, experiment_text(method="sobol", samples=8, parameters=one))
    assert "at least 2 parameters" in msg


def test_grid_takes_no_samples(tmp_path):
    msg = _error(tmp_path, experiment_text(method="grid", samples=4))
    assert "design.samples" in msg and "given 4" in msg


def test_missing_and_not_toml(tmp_path):
    with pytest.raises(ScenarioError, match="experiment file not found"):
        load_experiment(tmp_path / "nope.toml")
    msg = _error(tmp_path, "scenario = \n")
    assert "not valid TOML" in msg
    msg = _error(tmp_path, GOOD.replace('scenario = "small"\n', ""))
    assert "scenario" in msg and "required key missing" in msg


def test_cli_bad_experiment_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("replications", "replicas"), encoding="utf-8")
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "did you mean 'replications'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_design_sizes(tmp_path):
    grid = load_experiment(write_experiment(tmp_path, "g.toml", parameters=(
        '"hyperscalers.margin" = [0.0, 0.4, 0.8]\n"buyers.switching_cost" = [0.0, 2.0]\n'
        '"labs.count" = [6, 9, 12, 15]\n')))
    assert grid.n_points == 3 * 2 * 4 == design_size(grid)
    assert grid.n_runs == 24 * 2
    assert list(grid.points.columns) == ["hyperscalers.margin", "buyers.switching_cost",
                                         "labs.count"]
    assert len(grid.points.drop_duplicates()) == 24  # every combination once
    lhs = load_experiment(write_experiment(tmp_path, "l.toml", method="lhs", samples=10))
    assert lhs.n_points == 10 == design_size(lhs)
    sob = load_experiment(write_experiment(tmp_path, "s.toml", method="sobol", samples=8))
    assert sob.n_points == 8 * (2 + 2) == design_size(sob)
    sob2 = load_experiment(write_experiment(tmp_path, "s2.toml", method="sobol", samples=8,
                                            extra=""), overrides={"design.second_order": True})
    assert sob2.n_points == 8 * (2 * 2 + 2) == design_size(sob2)


def test_lhs_and_sobol_points_in_bounds_ints_rounded_and_deterministic(tmp_path):
    for method, n in (("lhs", 50), ("sobol", 16)):
        path = write_experiment(tmp_path, f"{method}.toml", method=method, samples=n)
        exp = load_experiment(path)
        pts = exp.points
        lag = pts["capability.open_weight_lag"]
        assert lag.dtype == np.int64
        assert lag.between(0, 24).all()
        margin = pts["hyperscalers.margin"]
        assert margin.dtype == np.float64 and margin.between(0.0, 1.5).all()
        assert margin.nunique() > n // 2  # really sampled, not a constant
        assert load_experiment(path).points.equals(pts)  # same file, same points
        other = load_experiment(path, overrides={"seed": 6}).points
        assert not other.equals(pts)
    # every integer of a range is reachable, the end points too (half-unit widening)
    exp = load_experiment(write_experiment(tmp_path, "ends.toml", method="lhs", samples=200,
                                           parameters='"labs.count" = { low = 2, high = 5 }\n'))
    assert set(exp.points["labs.count"]) == {2, 3, 4, 5}


def test_scenario_found_beside_file_in_cwd_and_by_name(tmp_path, monkeypatch):
    sub = tmp_path / "exps"
    sub.mkdir()
    (tmp_path / "mine.toml").write_text('name = "mine"\nhorizon = 6\n[buyers]\ncount = 100\n')
    beside = write_experiment(sub, "a.toml", scenario="../mine.toml")
    assert Path(load_experiment(beside).scenario_path).resolve() == tmp_path / "mine.toml"
    monkeypatch.chdir(tmp_path)
    from_cwd = write_experiment(sub, "b.toml", scenario="mine.toml")
    assert load_experiment(from_cwd).scenario.name == "mine"
    by_name = write_experiment(sub, "c.toml", scenario="small")
    assert load_experiment(by_name).scenario_path == str(SCENARIO_DIR / "small.toml")
    monkeypatch.chdir(REPO)
    by_repo_path = write_experiment(sub, "d.toml", scenario="scenarios/null.toml")
    assert load_experiment(by_repo_path).scenario.name == "null"
    # Named by a relative path, the scenario's file is still absolute: workers elsewhere look
    # for agent classes beside it.
    monkeypatch.chdir(tmp_path)
    exp = load_experiment(Path("exps/a.toml"))
    assert Path(exp.scenario_path).is_absolute() and Path(exp.scenario.source).is_absolute()
    assert Path(exp.scenario_for({}).source).is_absolute()


def test_fixed_horizon_and_overrides_apply(tmp_path):
    exp = load_experiment(write_experiment(tmp_path, horizon=7, buyers=300),
                          overrides={"replications": "3", "fixed.labs.count": 6,
                                     "parameters.buyers.switching_cost": [1.0, 2.0, 3.0]})
    assert exp.horizon == 7 == exp.scenario.horizon
    assert exp.scenario.buyers.count == 300 and exp.scenario.labs.count == 6
    assert exp.replications == 3 and exp.n_points == 6
    with pytest.raises(ScenarioError, match="unknown override key"):
        load_experiment(write_experiment(tmp_path), overrides={"replicas": 2})
    with pytest.raises(ScenarioError, match="both fixed and varied"):
        load_experiment(write_experiment(tmp_path), overrides={"fixed.hyperscalers.margin": 1})


def test_numpy_values_from_python_are_taken_as_toml_would_give_them(tmp_path):
    path = write_experiment(tmp_path, horizon=7, buyers=300)
    plain = load_experiment(path, overrides={
        "replications": 3, "seed": 4, "parameters.buyers.switching_cost": [1.0, 2.0]})
    numpy = load_experiment(path, overrides={
        "replications": np.int64(3), "seed": np.int32(4),
        "parameters.buyers.switching_cost": np.array([1.0, 2.0])})
    assert numpy.identity() == plain.identity() and numpy.n_runs == plain.n_runs
    with pytest.raises(ScenarioError, match="replications: input should be a valid integer"):
        load_experiment(path, overrides={"replications": np.float64(3.0)})  # no int, as in TOML


def test_identity_ignores_formatting_but_not_content(tmp_path):
    a = load_experiment(write_experiment(tmp_path, "a.toml"))
    (tmp_path / "b.toml").write_text("# a comment\n" + experiment_text())
    b = load_experiment(tmp_path / "b.toml")
    assert a.identity() == b.identity()
    c = load_experiment(write_experiment(tmp_path, "c.toml", seed=6))
    assert c.identity() != a.identity()


def test_outputs_keep_regime_and_reporter_order(tmp_path):
    exp = load_experiment(write_experiment(
        tmp_path, extra='outputs = ["bimodality", "hhi_revenue"]'))
    assert exp.outputs == ("hhi_revenue", "bimodality", "regime")


def test_grid_of_agent_classes_is_allowed(tmp_path):
    exp = load_experiment(write_experiment(tmp_path, parameters=(
        '"labs.class" = ["marketsim.agents:AILab", "sweep_util:SweepTestLab"]\n')))
    assert exp.points["labs.class"].tolist() == ["marketsim.agents:AILab",
                                                 "sweep_util:SweepTestLab"]
    msg = _error(tmp_path, experiment_text(parameters='"labs.class" = ["nowhere:Lab"]\n'))
    assert "parameters.labs.class" in msg and "cannot import module 'nowhere'" in msg


def test_public_api_and_shipped_experiments():
    assert marketsim.load_experiment is not None and marketsim.run_sweep is not None
    for name in os.listdir(REPO / "experiments"):
        exp = marketsim.load_experiment(REPO / "experiments" / name)
        assert exp.n_runs >= 2, name
    quick = load_experiment(REPO / "experiments" / "quick.toml")
    assert quick.method == "grid" and quick.n_runs <= 60
    regimes = load_experiment(REPO / "experiments" / "regimes.toml")
    assert regimes.method in ("sobol", "lhs")
    assert {"hyperscalers.margin", "compute.min_efficient_scale", "vcs.capital_abundance",
            "buyers.switching_cost", "capability.open_weight_lag"} <= set(regimes.names)
    assert isinstance(regimes.parameters["hyperscalers.margin"], Range)


def test_a_list_of_scenarios_is_crossed_with_the_design(tmp_path):
    exp = load_experiment(write_experiment(
        tmp_path, scenario='["small", "null"]',
        parameters='"hyperscalers.margin" = [0.0, 0.8]\n'))
    assert exp.names == ["scenario", "hyperscalers.margin"] and exp.types["scenario"] == "str"
    assert exp.points["scenario"].tolist() == ["small", "small", "null", "null"]
    assert exp.points["hyperscalers.margin"].tolist() == [0.0, 0.8, 0.0, 0.8]
    assert exp.n_points == 4 == design_size(exp) and exp.n_runs == 8
    sc = exp.scenario_for({"scenario": "null", "hyperscalers.margin": 0.8})
    assert sc.name == "null" and sc.hyperscalers.margin == 0.8 and sc.buyers.count == 500
    assert Path(sc.source) == SCENARIO_DIR / "null.toml"
    assert exp.overrides_for({"scenario": "null", "hyperscalers.margin": 0.8}) == {
        "buyers.count": 500, "hyperscalers.margin": 0.8}
    one = load_experiment(write_experiment(tmp_path, "one.toml"))
    assert "scenario" not in one.points.columns and one.scenarios == {}
    # a list alone: a grid over the scenarios only
    only = load_experiment(write_experiment(tmp_path, "only.toml", scenario='["small", "null"]',
                                            parameters=""))
    assert only.points["scenario"].tolist() == ["small", "null"] and only.n_runs == 4
    lhs = load_experiment(write_experiment(tmp_path, "lhs.toml", method="lhs", samples=5,
                                           scenario='["small", "null"]'))
    sampled = lhs.points[lhs.names[1:]]
    assert lhs.n_points == 10 and lhs.points["scenario"].tolist() == ["small"] * 5 + ["null"] * 5
    assert sampled.iloc[:5].to_numpy().tolist() == sampled.iloc[5:].to_numpy().tolist()


@pytest.mark.parametrize(("change", "words"), [
    ({"method": "sobol", "samples": 4}, "grid and lhs designs only"),
    ({"scenario": "[]"}, "an empty list of scenarios"),
    ({"scenario": '["small", "small"]'}, "same name"),
    ({"scenario": '"small"', "parameters": ""}, "parameters: no parameter to vary"),
    ({"method": "lhs", "samples": 4, "parameters": ""}, "parameters: no parameter to vary"),
])
def test_scenario_list_errors(tmp_path, change, words):
    kwargs = {"scenario": '["small", "null"]', **change}
    msg = _error(tmp_path, experiment_text(**kwargs))
    assert words in msg, msg


def test_a_sweep_over_scenarios_has_a_scenario_column(tmp_path):
    exp = write_experiment(tmp_path, scenario='["small", "null"]', replications=1, horizon=3,
                           buyers=300, parameters='"hyperscalers.margin" = [0.0, 0.8]\n')
    out = tmp_path / "out"
    assert marketsim.run_sweep(exp, out, workers=1, progress=False).done_now == 4
    runs = pd.read_parquet(out / "runs").sort_values("run_id")
    assert runs["scenario"].tolist() == ["small", "small", "null", "null"]
    row = runs.iloc[3]
    model = marketsim.AIMarketModel(load_experiment(exp).scenario_for(
        {"scenario": "null", "hyperscalers.margin": 0.8}), rng=int(row["seed"]))
    model.run()
    assert model.regime == row["regime"]
    assert model.datacollector.get_model_vars_dataframe()["hhi_revenue"].iloc[-1] == row[
        "hhi_revenue"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["scenario_files"]) == {str(SCENARIO_DIR / "small.toml"),
                                               str(SCENARIO_DIR / "null.toml")}
