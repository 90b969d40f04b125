"""Estimation by ABC-SMC (``marketsim calibrate --fit``): statistics, inputs, runs, resume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from marketsim.cli import main
from marketsim.errors import ScenarioError
from marketsim.fit_predict import posterior_summary, predictive_bands, weighted_quantile
from marketsim.fit_spec import (
    DEFAULT_PRIORS,
    DEFAULT_TARGETS,
    FitTarget,
    Prior,
    check_prior,
    check_target,
    load_priors,
    load_targets,
)
from marketsim.fit_stats import (
    OUTSIDE,
    BandDistance,
    band_scores,
    centres,
    half_widths,
    measure,
    rms,
    summarise,
)

#: A market small enough for a fit of a few dozen runs to take seconds.
SMALL = {"labs.count": 4, "vcs.count": 2, "hyperscalers.count": 1, "buyers.count": 60,
         "horizon": 24}


# --- summary statistics and distance on hand-made tables -------------------------------------

def test_each_statistic_reads_its_ticks():
    table = {"x": np.arange(13, dtype=float) + 1.0}  # 1, 2, ..., 13 at ticks 0..12
    assert measure(table, FitTarget("a", "x", 3, 3, "at", 1, 2)) == 4.0
    assert measure(table, FitTarget("m", "x", 0, 12, "mean", 1, 2)) == 7.0
    assert measure(table, FitTarget("s", "x", 0, 11, "sum", 1, 2)) == sum(range(1, 13))
    assert measure(table, FitTarget("r", "x", 0, 12, "ratio", 1, 2)) == pytest.approx(1 / 13)


def test_a_run_too_short_for_a_target_gives_nan():
    assert np.isnan(measure({"x": np.ones(5)}, FitTarget("a", "x", 0, 12, "mean", 1, 2)))


def test_band_edges_score_minus_and_plus_one_and_centre_zero():
    low, high = np.array([0.5, 15.0]), np.array([2.0, 60.0])
    centre, half = np.sqrt(low * high), np.log(high / low) / 2
    assert band_scores(centre, centre, half) == pytest.approx([0.0, 0.0])
    assert band_scores(low, centre, half) == pytest.approx([-1.0, -1.0])
    assert band_scores(high, centre, half) == pytest.approx([1.0, 1.0])
    # Twice the upper edge of a band spanning a factor of 4 is one more half-width out.
    assert band_scores(np.array([4.0]), np.array([1.0]), np.array([np.log(2.0)])) == \
        pytest.approx([2.0])


def test_missing_or_non_positive_values_score_far_outside():
    z = band_scores(np.array([np.nan, 0.0, -3.0, 1e300]), np.ones(4), np.ones(4))
    assert z.tolist() == [OUTSIDE, -OUTSIDE, -OUTSIDE, OUTSIDE]


def test_distance_is_the_rms_of_band_scores():
    targets = DEFAULT_TARGETS[:2]
    d = BandDistance(half_widths(targets))
    x0 = centres(targets)
    assert d(x0, x0) == 0.0
    at_edges = {targets[0].name: targets[0].high, targets[1].name: targets[1].low}
    assert d(at_edges, x0) == pytest.approx(1.0)
    assert rms(np.array([3.0, 4.0])) == pytest.approx(np.sqrt(12.5))


def test_default_targets_are_centred_on_the_public_figures():
    c = centres(DEFAULT_TARGETS)
    assert c["run_rate_2025"] == pytest.approx(1.0)
    assert c["run_rate_2026"] == pytest.approx(9.0)
    assert c["multiple"] == pytest.approx(30.0)
    assert all(t.last <= 12 for t in DEFAULT_TARGETS)  # nothing after 2025 enters the fit


def test_summarise_gives_one_value_per_target():
    table = {t.reporter: np.full(13, 2.0) for t in DEFAULT_TARGETS}
    s = summarise(table, DEFAULT_TARGETS)
    assert list(s) == [t.name for t in DEFAULT_TARGETS]
    assert s["price_fall"] == 1.0 and s["vc_money"] == 24.0


# --- priors and targets as data ---------------------------------------------------------------

def test_default_priors_lie_inside_the_schema_and_cover_the_default_values():
    from marketsim.scenario import load_scenario

    sc = load_scenario(None)
    for p in DEFAULT_PRIORS:
        check_prior(p)
        assert p.low <= sc.get(p.key) <= p.high, p.key
    for t in DEFAULT_TARGETS:
        check_target(t)


@pytest.mark.parametrize(("prior", "words"), [
    (Prior("buyers.spend", 0.1, 1.0), "unknown key to fit"),
    (Prior("buyers.count", 10, 100), "only float keys"),
    (Prior("hyperscalers.margin", -1.0, 1.0), "outside the key's range"),
    (Prior("labs.size_exponent", 0.5, 9.0), "outside the key's range"),
    (Prior("buyers.initial_spend", 1.0, 0.5), "low must be below high"),
    (Prior("hyperscalers.margin", 0.0, 1.0, "log"), "log-scale prior needs low > 0"),
    (Prior("hyperscalers.margin", 0.1, 1.0, "cubic"), "unknown scale"),
])
def test_bad_prior_is_one_line(prior, words):
    with pytest.raises(ScenarioError, match=words) as err:
        check_prior(prior, file="p.toml")
    assert "\n" not in str(err.value) and str(err.value).startswith("p.toml: ")


def test_priors_and_targets_read_from_toml(tmp_path):
    p = tmp_path / "priors.toml"
    p.write_text('[buyers.initial_spend]\nlow = 0.1\nhigh = 1.0\nscale = "log"\n'
                 '[hyperscalers.margin]\nlow = 0.2\nhigh = 1.5\n')
    priors = load_priors(p)
    assert [(x.key, x.scale) for x in priors] == [("buyers.initial_spend", "log"),
                                                   ("hyperscalers.margin", "linear")]
    t = tmp_path / "targets.toml"
    t.write_text('[rent]\nreporter = "rent_per_gpu_hour"\nticks = [0, 12]\nlow = 1.7\n'
                 'high = 4.5\n')
    assert load_targets(t)[0] == FitTarget("rent", "rent_per_gpu_hour", 0, 12, "mean", 1.7, 4.5)


@pytest.mark.parametrize(("text", "words"), [
    ('[x]\nreporter = "no_such"\nticks = [0, 12]\nlow = 1\nhigh = 2\n', "no such reporter"),
    ('[x]\nreporter = "adoption"\nticks = [0, 24]\nlow = 0.1\nhigh = 0.2\n', "outside 2025"),
    ('[x]\nreporter = "adoption"\nticks = [0, 12]\nlow = 0\nhigh = 0.2\n', "0 < low < high"),
    ('[x]\nreporter = "adoption"\nticks = [0, 12]\nlow = 0.1\n', "required field missing"),
])
def test_bad_target_is_one_line(tmp_path, text, words):
    t = tmp_path / "targets.toml"
    t.write_text(text)
    with pytest.raises(ScenarioError, match=words):
        load_targets(t)


# --- the command ------------------------------------------------------------------------------

def _fit(scenario, out, *more):
    return main(["calibrate", str(scenario), "--fit", "--out", str(out), "--workers", "1",
                 "--simulations", "120", "--buyers", "60", *more])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One generation of a tiny fit: (scenario file, folder, exit code, what it printed)."""
    import contextlib
    import io

    from conftest import dotted_to_toml

    root = tmp_path_factory.mktemp("fit")
    scenario = root / "small.toml"
    scenario.write_text(dotted_to_toml(SMALL))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = _fit(scenario, root / "fit", "--max-generations", "1")
    return scenario, root / "fit", code, printed.getvalue()


def _copy(fitted, tmp_path):
    import shutil

    return shutil.copytree(fitted[1], tmp_path / "fit")


def test_tiny_fit_writes_posterior_and_manifest(fitted):
    _, out, code, printed = fitted
    assert code == 0
    assert "generation 0: epsilon" in printed and "posterior.parquet" in printed
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == [p.key for p in DEFAULT_PRIORS] + ["weight"]
    man = json.loads((out / "fit.json").read_text())
    assert len(post) == man["population_size"]
    assert post["weight"].sum() == pytest.approx(1.0)
    for p in DEFAULT_PRIORS:  # draws stay inside their priors, in the scenario's units
        assert post[p.key].between(p.low, p.high).all(), p.key
    for field in ("marketsim_version", "scenario_hash", "priors", "targets", "distance",
                  "population_size", "epsilons", "simulations_used", "seed", "command"):
        assert field in man, field
    assert man["simulations_used"] <= 120 and len(man["epsilons"]) == 1


def test_interrupted_fit_continues_without_losing_generations(fitted, tmp_path):
    out = _copy(fitted, tmp_path)
    first = json.loads((out / "fit.json").read_text())
    assert _fit(fitted[0], out, "--max-generations", "1", "--simulations", "400") == 0
    second = json.loads((out / "fit.json").read_text())
    assert second["generations"][:1] == first["generations"]  # the finished one is kept
    assert [g["t"] for g in second["generations"]] == [0, 1]
    assert second["simulations_used"] > first["simulations_used"]
    assert second["epsilons"][1] <= second["epsilons"][0]
    assert second["run_id"] == first["run_id"]
    # Where the fit came from stays; each call adds an entry, even one that runs nothing.
    assert _fit(fitted[0], out, "--simulations", "1") == 0
    third = json.loads((out / "fit.json").read_text())
    for man in (second, third):
        assert (man["created"], man["command"]) == (first["created"], first["command"])
    assert [c["generations_added"] for c in third["calls"]] == [1, 1, 0]
    assert [c["simulations_budget"] for c in third["calls"]] == [120, 400, 1]
    assert third["calls"][2]["command"][-2:] == ["--simulations", "1"]
    assert third["simulations_budget"] == 1 and len(third["generations"]) == 2


def test_a_manifest_without_calls_keeps_its_provenance_as_the_first_call():
    from pathlib import Path

    from marketsim.fit_store import with_calls

    shipped = json.loads((Path(__file__).parent.parent / "docs/fit_no_floor/fit.json").read_text())
    assert "calls" not in shipped
    new = {**shipped, "created": "2030-01-01T00:00:00+00:00", "command": ["again"],
           "simulations_budget": 13000}
    man = with_calls(new, shipped)
    assert man["created"] == shipped["created"] and man["command"] == shipped["command"]
    assert man["updated"] == new["created"] and man["simulations_budget"] == 13000
    assert [c["command"] for c in man["calls"]] == [shipped["command"], ["again"]]
    assert man["calls"][0]["generations_added"] == len(shipped["generations"])


def test_a_folder_of_another_fit_is_refused(fitted, tmp_path, capsys):
    out = _copy(fitted, tmp_path)
    before = (out / "fit.json").read_bytes()
    assert _fit(fitted[0], out, "--max-generations", "1", "--seed", "5") == 2
    err = capsys.readouterr().err
    assert "another set-up" in err and "seed" in err and len(err.strip().splitlines()) == 1
    assert (out / "fit.json").read_bytes() == before


@pytest.mark.parametrize(("change", "named"), [
    ("priors", "the priors"), ("buyers", "--buyers"),
    ("scenario", "the scenario (its keys other than the fitted ones)")])
def test_what_changed_is_named_and_only_that(fitted, tmp_path, capsys, change, named):
    from conftest import dotted_to_toml

    out = _copy(fitted, tmp_path)
    priors = tmp_path / "p.toml"
    priors.write_text("[hyperscalers.margin]\nlow = 0.1\nhigh = 1\n")
    scenario = tmp_path / "other.toml"
    scenario.write_text(dotted_to_toml({**SMALL, "vcs.count": 3}))
    more = {"priors": ["--priors", str(priors)], "buyers": ["--buyers", "70"]}.get(change, [])
    assert _fit(scenario if change == "scenario" else fitted[0], out, *more) == 2
    err = capsys.readouterr().err
    assert f"(differs in {named});" in err, err  # only what changed, not the scenario


def test_a_folder_of_other_results_is_refused_and_left_alone(tmp_path, capsys):
    out = tmp_path / "sweep"
    (out / "runs").mkdir(parents=True)
    (out / "manifest.json").write_text("{}")
    assert main(["calibrate", "--fit", "--out", str(out), "--simulations", "120"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "manifest.json, runs/" in err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "runs"]


def test_a_new_empty_or_fit_folder_is_accepted(fitted, tmp_path):
    from marketsim.fit_store import check_out

    (tmp_path / "empty").mkdir()
    for ok in (tmp_path / "new", tmp_path / "empty", fitted[1]):
        assert check_out(ok) == ok
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("case", ["zero_sims", "tiny_budget", "out_file", "unknown_key",
                                  "outside", "reporter", "no_out", "out_without_fit",
                                  "workers", "markdown"])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, case):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    priors = tmp_path / "p.toml"
    targets = tmp_path / "t.toml"
    priors.write_text({"unknown_key": "[buyers.spend]\nlow = 0.1\nhigh = 1\n",
                       "outside": "[hyperscalers.margin]\nlow = -1\nhigh = 1\n"}.get(
                           case, "[hyperscalers.margin]\nlow = 0.1\nhigh = 1\n"))
    targets.write_text('[x]\nreporter = "no_such"\nticks = [0, 12]\nlow = 1\nhigh = 2\n')
    out = str(tmp_path / "out")
    argv = {
        "zero_sims": ["--fit", "--out", out, "--simulations", "0"],
        "tiny_budget": ["--fit", "--out", out, "--simulations", "5"],
        "out_file": ["--fit", "--out", str(a_file)],
        "unknown_key": ["--fit", "--out", out, "--priors", str(priors)],
        "outside": ["--fit", "--out", out, "--priors", str(priors)],
        "reporter": ["--fit", "--out", out, "--targets", str(targets)],
        "no_out": ["--fit"],
        "out_without_fit": ["--out", out],
        "workers": ["--fit", "--out", out, "--workers", "0"],
        "markdown": ["--fit", "--out", out, "--markdown", str(tmp_path / "c.md")],
    }[case]
    assert main(["calibrate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("marketsim calibrate: "), err
    assert not (tmp_path / "out").exists()  # nothing made before the input is checked


# --- what the posterior says -----------------------------------------------------------------

def test_weighted_quantile_follows_the_weights():
    v, w = np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 1.0])
    assert weighted_quantile(v, w, [0.05, 0.95]) == pytest.approx([3.0, 3.0])
    med = weighted_quantile(np.arange(101.0), np.ones(101), [0.5])
    assert med == pytest.approx([50.0])


def test_posterior_summary_says_whether_the_scenario_value_is_inside():
    from marketsim.scenario import load_scenario

    priors = DEFAULT_PRIORS[:1]  # buyers.initial_spend, default 0.3
    post = pd.DataFrame({priors[0].key: np.linspace(0.1, 0.2, 50), "weight": 1 / 50})
    row = posterior_summary(post, priors, load_scenario(None)).iloc[0]
    assert not row["inside_90"] and row["q05"] < row["median"] < row["q95"] < 0.2


def test_predictive_bands_are_ordered_per_tick(write_scenario):
    post = pd.DataFrame({"hyperscalers.margin": [0.4, 1.2], "weight": [0.5, 0.5]})
    bands = predictive_bands(post, write_scenario(SMALL, tiny=False).as_posix(), draws=3,
                             reporters=("rent_per_gpu_hour", "active_labs"))
    assert set(bands["reporter"]) == {"rent_per_gpu_hour", "active_labs"}
    assert len(bands) == 2 * SMALL["horizon"]
    assert (bands["q05"] <= bands["q50"]).all() and (bands["q50"] <= bands["q95"]).all()
    assert bands["date"].iloc[12] == "2026-01"


def test_markdown_table_keeps_the_estimation_section(tmp_path, capsys):
    from marketsim.commands.calibrate import KEEP_MARKER

    md = tmp_path / "calibration.md"
    md.write_text(f"# old table\n\n{KEEP_MARKER}\n\n## Estimation\n\nhand-written\n")
    main(["calibrate", "--seeds", "1", "--markdown", str(md)])
    text = md.read_text()
    assert "old table" not in text and "| figure |" in text
    assert text.endswith(f"{KEEP_MARKER}\n\n## Estimation\n\nhand-written\n")


@pytest.mark.parametrize("given", ["new/", "missing/c.md"])
def test_markdown_that_cannot_be_written_fails_before_the_runs(tmp_path, capsys, given):
    assert main(["calibrate", "--seeds", "1", "--markdown", f"{tmp_path}/{given}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--markdown" in err
    assert not list(tmp_path.iterdir())  # nothing written, not even a file named "new"


@pytest.mark.slow
def test_fit_on_a_dask_scheduler(fitted, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        code = main(["calibrate", str(fitted[0]), "--fit", "--out", str(tmp_path / "fit"),
                     "--scheduler", cluster.scheduler_address, "--simulations", "120",
                     "--buyers", "60", "--max-generations", "1"])
    assert code == 0
    man = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert man["sampler"].startswith("dask ") and len(man["generations"]) == 1
    assert len(pd.read_parquet(tmp_path / "fit" / "posterior.parquet")) == man["population_size"]
