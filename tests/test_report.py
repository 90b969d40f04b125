"""``marketsim report DIR``: tables (stdout, CSV, Markdown) and plots of a sweep."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sweep_util import write_experiment

from marketsim import run_sweep
from marketsim.cli import main
from marketsim.report import (
    SOBOL_OUTPUTS,
    SweepResults,
    make_report,
    map_axes,
    plot_sobol,
    sobol_indices,
)
from marketsim.report_data import axis_label
from marketsim.report_stats import dominant, driver_ranking

PNG = b"\x89PNG\r\n\x1a\n"


def _png_ok(path) -> None:
    assert path.is_file(), path
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000, path  # a real picture, not a stub


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_grid")
    res = run_sweep(write_experiment(folder), folder / "out", workers=1, progress=False)
    assert res.complete
    return folder / "out"


@pytest.fixture(scope="module")
def sobol_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_sobol")
    exp = write_experiment(folder, method="sobol", samples=8, replications=1)  # 32 runs
    res = run_sweep(exp, folder / "out", workers=2, progress=False)
    assert res.complete
    return folder / "out"


def test_grid_report_tables_and_plots(grid_dir, capsys):
    assert main(["report", str(grid_dir)]) == 0
    out = capsys.readouterr().out
    assert "Regime share per design point" in out and "hyperscalers.margin" in out
    rep = grid_dir / "report"
    for name in ("timeseries.png", "regime_map.png"):
        _png_ok(rep / name)
    assert not (rep / "sobol.png").exists()  # a grid has no Sobol' indices
    share = pd.read_csv(rep / "regime_share.csv", index_col="point")
    runs = pd.read_parquet(grid_dir / "runs")
    regimes = [c for c in ("competitive", "concentrated", "bifurcated", "consolidated")
               if c in share.columns]
    assert regimes and share[regimes].sum(axis=1).round(9).eq(1).all()
    assert share["runs"].sum() == len(runs) and len(share) == 4
    for dom, row in zip(share["dominant"], share[regimes].to_numpy(), strict=True):
        top = [r for r, v in zip(regimes, row, strict=True) if v == row.max()]
        assert dom == (top[0] if len(top) == 1 else "tie: " + " / ".join(top))
    # the shares are those of the runs table
    p0 = runs[runs["point"] == 0]["regime"].value_counts(normalize=True)
    for r, v in p0.items():
        assert share.loc[0, r] == pytest.approx(v)
    outputs = pd.read_csv(rep / "outputs.csv", index_col="point")
    assert outputs.loc[1, "hhi_revenue_mean"] == pytest.approx(
        runs[runs["point"] == 1]["hhi_revenue"].mean())
    for stem in ("regime_share", "outputs", "summary", "regimes", "regime_by_driver",
                 "drivers"):
        assert (rep / f"{stem}.md").read_text().count("|") > 10


def test_entries_and_exits_are_reported_as_run_totals(grid_dir):
    """Their final value is only the last month's count; the report sums each run's ticks."""
    make_report(grid_dir, echo=lambda *_: None)
    summ = pd.read_csv(grid_dir / "report" / "summary.csv", index_col="output")
    ticks = pd.read_parquet(grid_dir / "ticks")
    for name in ("entries", "exits_bankrupt", "exits_acquired"):
        assert name not in summ.index
        per_run = ticks.groupby("run_id")[name].sum()
        assert summ.loc[f"{name}_total", "mean"] == pytest.approx(per_run.mean())
    assert summ.loc["exits_bankrupt_total", "mean"] + summ.loc["exits_acquired_total",
                                                               "mean"] > 0


def test_sobol_report_has_indices_for_the_key_outputs(sobol_dir, capsys):
    files = make_report(sobol_dir, echo=lambda *_: None)
    rep = sobol_dir / "report"
    _png_ok(rep / "sobol.png")
    _png_ok(rep / "regime_map.png")
    assert rep / "sobol.png" in files
    sob = pd.read_csv(rep / "sobol.csv")
    assert set(sob["output"]) <= set(SOBOL_OUTPUTS) and "hhi_revenue" in set(sob["output"])
    assert set(sob["parameter"]) == {"hyperscalers.margin", "capability.open_weight_lag"}
    for col in ("S1", "S1_conf", "ST", "ST_conf"):
        assert sob[col].notna().all()


def test_second_order_design_reports_the_pairs(tmp_path, sobol_dir):
    exp = write_experiment(tmp_path, method="sobol", samples=8, replications=1, horizon=6)
    exp.write_text(exp.read_text().replace("[design]\n", "[design]\nsecond_order = true\n"))
    out = tmp_path / "out"
    assert run_sweep(exp, out, workers=2, progress=False).done_now == 8 * 6  # N (2D + 2)
    make_report(out, echo=lambda *_: None)
    pairs = pd.read_csv(out / "report" / "sobol_second_order.csv")
    assert set(zip(pairs["parameter"], pairs["other"], strict=True)) == {
        ("hyperscalers.margin", "capability.open_weight_lag")}
    assert pairs["S2"].notna().all() and pairs["S2_conf"].notna().all()
    assert set(pairs["output"]) == set(pd.read_csv(out / "report" / "sobol.csv")["output"])
    make_report(sobol_dir, echo=lambda *_: None)  # without second_order: no such table
    assert not (sobol_dir / "report" / "sobol_second_order.csv").exists()


def test_a_name_the_font_lacks_is_plotted_without_warnings(sobol_dir, tmp_path):
    table, _ = sobol_indices(SweepResults(sobol_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one "Glyph ... missing from font" per character
        _png_ok(plot_sobol(table, "市场 🚀", tmp_path / "s.png"))


def test_sobol_report_warns_of_a_small_base_sample(sobol_dir):
    lines: list[str] = []
    make_report(sobol_dir, echo=lines.append)
    assert "base sample N = 8 is too small" in "\n".join(lines)  # the fixture's N = 8


def test_report_of_an_unfinished_sobol_sweep_skips_the_indices(sobol_dir, tmp_path):
    part = _copy(sobol_dir, tmp_path / "part")
    _rewrite(part, keep=lambda r: r["run_id"] < 20)
    lines: list[str] = []
    make_report(part, echo=lines.append)
    text = "\n".join(lines)
    assert "20 of 32 runs" in text and "not finished" in text
    assert "need every design point" in text
    assert not (part / "report" / "sobol.png").exists()
    _png_ok(part / "report" / "regime_map.png")


def test_one_parameter_lhs_report(tmp_path):
    exp = write_experiment(tmp_path, method="lhs", samples=6, replications=1,
                           parameters='"buyers.switching_cost" = { low = 0.0, high = 3.0 }\n')
    run_sweep(exp, tmp_path / "out", workers=1, progress=False)
    make_report(tmp_path / "out", echo=lambda *_: None)
    _png_ok(tmp_path / "out" / "report" / "regime_by_driver.png")  # one driver: no map
    assert not (tmp_path / "out" / "report" / "regime_map.png").exists()
    _png_ok(tmp_path / "out" / "report" / "timeseries.png")


@pytest.mark.parametrize("case", ["missing", "not_a_sweep", "no_runs", "junk_manifest"])
def test_bad_dir_exits_2_with_one_line(tmp_path, capsys, case):
    d = tmp_path / "d"
    if case != "missing":
        d.mkdir()
    if case == "not_a_sweep":
        (d / "notes.txt").write_text("hello")
    if case == "junk_manifest":
        (d / "manifest.json").write_text("{not json")
    if case == "no_runs":
        write_experiment(tmp_path)
        (d / "manifest.json").write_text(
            '{"kind": "sweep", "design": {"names": ["x"], "method": "grid", "points": '
            '[{"point": 0, "x": 1}]}}')
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(d) in err and "Traceback" not in err


# ------------------------------------------------------------------ issue 22's features
def _copy(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("report"))
    return dst


def _rewrite(folder, keep=None, regime_of=None):
    """Rewrite each runs part and its ticks part under their names (as a sweep would have
    written them): only the runs ``keep(runs)`` selects, regimes ``regime_of(runs)``."""
    for path in sorted((folder / "runs").glob("part-*.parquet")):
        runs = pd.read_parquet(path)
        ticks = pd.read_parquet(folder / "ticks" / path.name)
        if keep is not None:
            runs = runs[keep(runs)]
            ticks = ticks[ticks["run_id"].isin(runs["run_id"])]
        if regime_of is not None:
            runs = runs.assign(regime=regime_of(runs))
        runs.to_parquet(path)
        ticks.to_parquet(folder / "ticks" / path.name)


def _set_regimes(folder, regime_of):
    """Rewrite the runs table's regime column with ``regime_of(runs) -> labels``."""
    _rewrite(folder, regime_of=regime_of)


def test_map_is_on_the_most_influential_drivers(grid_dir, tmp_path):
    """Extra-trees importance finds the one parameter that decides the regime."""
    d = _copy(grid_dir, tmp_path / "d")
    _set_regimes(d, lambda r: np.where(r["buyers.switching_cost"] > 0, "competitive",
                                       "concentrated"))
    res = SweepResults(d)
    ranking = driver_ranking(res)
    assert ranking["parameter"].iloc[0] == "buyers.switching_cost"
    assert ranking["score"].iloc[0] > ranking["score"].iloc[1]
    assert map_axes(res, ranking) == ("buyers.switching_cost", "hyperscalers.margin")
    by = pd.read_csv(make_report(d, echo=lambda *_: None)[0].parent / "drivers.csv")
    assert by["parameter"].iloc[0] == "buyers.switching_cost"


def test_sobol_ranking_follows_the_total_indices(sobol_dir):
    res = SweepResults(sobol_dir)
    sob, _ = sobol_indices(res)
    ranking = driver_ranking(res, sob)
    # ranked on what the regime label reads (HHI), not on bimodality, a reference line only
    hhi = sob[sob["output"] == "hhi_revenue"]
    st = hhi.groupby("parameter")["ST"].max().sort_values(ascending=False)
    assert list(ranking["parameter"]) == list(st.index)
    assert "Sobol" in ranking["method"].iloc[0] and "hhi_revenue" in ranking["method"].iloc[0]


def test_map_on_named_drivers_and_a_bad_name(grid_dir, capsys):
    res = SweepResults(grid_dir)
    ranking = driver_ranking(res)
    assert map_axes(res, ranking, x="buyers.switching_cost") == (
        "buyers.switching_cost", "hyperscalers.margin")
    assert map_axes(res, ranking, x="hyperscalers.margin", y="buyers.switching_cost") == (
        "hyperscalers.margin", "buyers.switching_cost")
    assert main(["report", str(grid_dir), "--x", "labs.count"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--x" in err and "labs.count" in err


def test_parameter_axes_carry_units_from_the_schema():
    assert axis_label("hyperscalers.margin").endswith("[share]")
    assert axis_label("compute.min_efficient_scale") == "compute.min_efficient_scale [GPUs]"
    assert axis_label("capability.open_weight_lag").endswith("[months]")
    assert axis_label("not.a_key") == "not.a_key"


def test_intervals_are_95_percent_over_seeds(grid_dir):
    make_report(grid_dir, echo=lambda *_: None)
    rep = grid_dir / "report"
    runs = pd.read_parquet(grid_dir / "runs")
    out = pd.read_csv(rep / "outputs.csv", index_col="point")
    x = runs.loc[runs["point"] == 2, "hhi_revenue"].to_numpy(float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    # the t interval, clipped to what an HHI can be (never negative)
    assert out.loc[2, "hhi_revenue_lo"] == pytest.approx(max(x.mean() - half, 0.0))
    assert out.loc[2, "hhi_revenue_hi"] == pytest.approx(x.mean() + half)
    assert (out.filter(like="_lo") >= 0).all().all()
    assert not any(c.endswith("_sd") for c in out.columns)
    tot = pd.read_csv(rep / "regimes.csv", index_col="regime")
    assert ((tot["lo"] <= tot["share"]) & (tot["share"] <= tot["hi"])).all()
    assert ((tot["lo"] >= 0) & (tot["hi"] <= 1)).all() and (tot["hi"] > tot["lo"]).all()


def test_ties_are_shown_as_ties(grid_dir, tmp_path):
    share = pd.DataFrame({"competitive": [0.5, 0.75], "bifurcated": [0.5, 0.25]})
    assert list(dominant(share)) == ["tie: competitive / bifurcated", "competitive"]
    d = _copy(grid_dir, tmp_path / "d")
    _set_regimes(d, lambda r: np.where(r["run_id"] % 2 == 0, "competitive", "bifurcated"))
    make_report(d, echo=lambda *_: None)
    table = pd.read_csv(d / "report" / "regime_share.csv", index_col="point")
    assert (table["dominant"] == "tie: competitive / bifurcated").all()  # 1 of 2 seeds each


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_plot_formats(grid_dir, tmp_path, fmt, magic):
    assert main(["report", str(grid_dir), "--format", fmt, "--out", str(tmp_path)]) == 0
    for stem in ("regime_map", "timeseries", "regime_by_driver"):
        assert (tmp_path / f"{stem}.{fmt}").read_bytes().startswith(magic), stem
    assert not list(tmp_path.glob("*.png"))


def test_compare_folders_side_by_side(grid_dir, tmp_path, capsys):
    other = tmp_path / "other"
    exp = write_experiment(tmp_path, replications=1, seed=9)
    run_sweep(exp, other, workers=1, progress=False)
    assert main(["report", str(grid_dir), str(other), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "side by side" in out
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv", index_col="folder")
    assert list(table.index) == [str(grid_dir), str(other)]
    assert list(table["runs"]) == [8, 4]
    regimes = [c for c in ("competitive", "concentrated", "bifurcated", "consolidated")
               if c in table.columns]
    assert table[regimes].sum(axis=1).round(9).eq(1).all()
    for c in [*regimes, "hhi_revenue"]:
        assert (table[f"{c}_lo"] <= table[c]).all() and (table[c] <= table[f"{c}_hi"]).all()
    runs = pd.read_parquet(other / "runs")
    assert table.loc[str(other), "hhi_revenue"] == pytest.approx(runs["hhi_revenue"].mean())
    _png_ok(tmp_path / "cmp" / "compare.png")


def test_failed_runs_are_listed_with_their_replay_command(grid_dir, tmp_path, capsys):
    d = _copy(grid_dir, tmp_path / "d")
    (d / "failures").mkdir()
    command = "marketsim run small --seed 77 --set hyperscalers.margin=0.8 --ticks 12"
    (d / "failures" / "5.json").write_text(json.dumps({
        "run_id": 5, "seed": 77, "overrides": {"hyperscalers.margin": 0.8},
        "scenario": "small", "horizon": 12, "error": "RuntimeError: boom\nmore",
        "traceback": "Traceback ...", "command": command}))
    assert main(["report", str(d)]) == 0
    out = capsys.readouterr().out
    assert "1 runs failed" in out and "run 5 (seed 77): RuntimeError: boom" in out
    assert f"replay: {command}" in out
    assert f"marketsim viz --replay {d} --run RUN_ID" in out


@pytest.mark.parametrize("what", ["failure", "manifest"])
def test_an_unreadable_file_is_named_in_one_line(grid_dir, tmp_path, capsys, what):
    d = _copy(grid_dir, tmp_path / "d")
    if what == "failure":
        (d / "failures").mkdir()
        bad = d / "failures" / "3.json"
        bad.write_text("{not json")
    else:
        bad = d / "manifest.json"
        bad.write_text("[1, 2]")
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(bad) in err


def test_report_of_a_sweep_over_scenarios_ranks_and_maps_the_scenario(tmp_path):
    exp = tmp_path / "two.toml"
    exp.write_text('name = "two"\nscenario = ["small", "null"]\nhorizon = 6\nreplications = 2\n'
                   'seed = 3\n[design]\nmethod = "grid"\n[parameters]\n'
                   '"buyers.count" = [200, 400]\n', encoding="utf-8")
    run_sweep(exp, tmp_path / "out", workers=1, progress=False)
    assert main(["report", str(tmp_path / "out")]) == 0
    ranking = pd.read_csv(tmp_path / "out" / "report" / "drivers.csv")
    assert set(ranking["parameter"]) == {"scenario", "buyers.count"}
    assert (tmp_path / "out" / "report" / "regime_map.png").is_file()
    by_driver = pd.read_csv(tmp_path / "out" / "report" / "regime_by_driver.csv",
                            keep_default_na=False)  # a scenario named "null" stays a name
    assert set(by_driver.loc[by_driver["parameter"] == "scenario", "bin"]) == {"small", "null"}


# ------------------------------------------------------------ a damaged or foreign folder
def _split(folder):
    """Store the folder's runs as two pairs of parts, part-a (runs 0-3) and part-b (4-7)."""
    runs, ticks = pd.read_parquet(folder / "runs"), pd.read_parquet(folder / "ticks")
    for sub in ("runs", "ticks"):
        for p in (folder / sub).glob("*.parquet"):
            p.unlink()
    for name, ids in (("part-a", range(4)), ("part-b", range(4, 8))):
        runs[runs["run_id"].isin(ids)].to_parquet(folder / "runs" / f"{name}.parquet")
        ticks[ticks["run_id"].isin(ids)].to_parquet(folder / "ticks" / f"{name}.parquet")


def _report(d, capsys):
    """``marketsim report d``: exit code, stdout, stderr lines."""
    code = main(["report", str(d)])
    out, err = capsys.readouterr()
    return code, out, err.strip().splitlines()


def test_a_copied_part_is_left_out_and_its_runs_counted_once(grid_dir, tmp_path, capsys):
    make_report(grid_dir, echo=lambda *_: None)
    d = _copy(grid_dir, tmp_path / "d")
    part = next((d / "runs").glob("*.parquet")).name
    for sub in ("runs", "ticks"):
        shutil.copy(d / sub / part, d / sub / "part-copy.parquet")
    code, out, err = _report(d, capsys)
    assert code == 0 and "8 of 8 runs" in out and "not finished" not in out
    assert len(err) == 1 and "left out runs/part-copy.parquet and ticks/part-copy.parquet" in \
        err[0] and "already stored in another part" in err[0], err
    for stem in ("regimes", "regime_share", "outputs"):  # the same numbers as without the copy
        pd.testing.assert_frame_equal(pd.read_csv(d / "report" / f"{stem}.csv"),
                                      pd.read_csv(grid_dir / "report" / f"{stem}.csv"))
    assert (d / "runs" / "part-copy.parquet").is_file()  # a report moves nothing
    # ... and it left out what a resumed sweep sets aside
    run_sweep(json.loads((d / "manifest.json").read_text())["experiment_file"], d,
              workers=1, progress=False)
    assert sorted(p.name for p in (d / "set_aside").rglob("*.parquet")) == [
        "part-copy.parquet", "part-copy.parquet"]


def test_a_part_of_another_experiment_is_left_out(grid_dir, tmp_path, capsys):
    other = tmp_path / "other"
    run_sweep(write_experiment(tmp_path, replications=3, seed=9), other, workers=1,
              progress=False)  # 12 runs, ids 0-11, other seeds
    d = _copy(grid_dir, tmp_path / "d")
    for sub in ("runs", "ticks"):
        shutil.copy(next((other / sub).glob("*.parquet")), d / sub / "part-other.parquet")
    code, out, err = _report(d, capsys)
    assert code == 0 and "8 of 8 runs" in out
    assert len(err) == 1 and "runs/part-other.parquet" in err[0] and \
        "not this sweep's" in err[0] and f"--out {d}" in err[0], err


def test_a_damaged_part_is_left_out_and_the_others_reported(grid_dir, tmp_path, capsys):
    d = _copy(grid_dir, tmp_path / "d")
    _split(d)
    (d / "runs" / "part-b.parquet").write_bytes(b"PAR1 not really parquet")
    code, out, err = _report(d, capsys)
    assert code == 0 and "4 of 8 runs" in out and "sweep not finished" in out
    assert len(err) == 1 and "runs/part-b.parquet and ticks/part-b.parquet" in err[0] and \
        "cannot be read" in err[0], err
    assert pd.read_csv(d / "report" / "regime_share.csv")["runs"].sum() == 4
    (d / "runs" / "part-a.parquet").write_bytes(b"")  # every part damaged: nothing to report
    code, _, err = _report(d, capsys)
    assert code == 2 and len(err) == 3 and "Traceback" not in "\n".join(err)
    assert "every runs part was left out" in err[-1] and f"--out {d}" in err[-1]


def test_a_sweep_whose_runs_all_failed_points_to_the_failure_records(grid_dir, tmp_path,
                                                                     capsys):
    d = _copy(grid_dir, tmp_path / "d")
    for sub in ("runs", "ticks"):
        shutil.rmtree(d / sub)
    (d / "failures").mkdir()
    for rid in range(8):
        (d / "failures" / f"{rid}.json").write_text(json.dumps({
            "run_id": rid, "seed": rid, "error": "RuntimeError: boom", "command": "x"}))
    code, _, err = _report(d, capsys)
    assert code == 2 and len(err) == 1, err
    assert "no finished runs: 8 runs failed (8 runs, first run 0: RuntimeError: boom)" in err[0]
    assert f"tracebacks and replay commands in {d / 'failures'}" in err[0]


def test_without_ticks_the_report_says_why_there_is_no_timeseries(grid_dir, tmp_path,
                                                                  capsys):
    d = _copy(grid_dir, tmp_path / "d")
    shutil.rmtree(d / "ticks")
    code, out, err = _report(d, capsys)
    assert code == 0 and "8 of 8 runs" in out
    assert err == [f"marketsim report: {d}: no timeseries.png: {d / 'ticks'} is missing or "
                   "empty: no time series and no entries/exits totals (both come from the "
                   "tick tables)"]
    assert not (d / "report" / "timeseries.png").exists()
    _png_ok(d / "report" / "regime_map.png")


@pytest.mark.parametrize("before", [False, True])
def test_a_report_that_fails_leaves_no_half_written_folder(grid_dir, tmp_path, monkeypatch,
                                                           before):
    d = _copy(grid_dir, tmp_path / "d")
    if before:
        make_report(d, echo=lambda *_: None)
        (d / "report" / "compare").mkdir()  # a comparison written there stays
    old = {p.name: p.read_bytes() for p in (d / "report").glob("*.*")} if before else {}

    def broken(*_args):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr("marketsim.report.plot_regime_map", broken)
    with pytest.raises(RuntimeError, match="plotting failed"):
        make_report(d, echo=lambda *_: None, fmt="svg")
    assert (d / "report").exists() == before
    if before:  # the previous report, whole
        assert {p.name: p.read_bytes() for p in (d / "report").glob("*.*")} == old
        assert (d / "report" / "compare").is_dir()
    assert not [p for p in d.rglob(".*") if p.name != ".lock"]  # no staging folder left
    monkeypatch.undo()
    if before:  # the next report replaces the old one's files, and keeps compare/
        (d / "report" / "sobol.svg").write_text("<svg/>")  # a grid's report has none
        make_report(d, echo=lambda *_: None, fmt="svg")
        assert not (d / "report" / "sobol.svg").exists()
        assert (d / "report" / "regime_map.svg").is_file()
        assert (d / "report" / "regime_map.png").is_file()  # another format's plot stays
        assert (d / "report" / "compare").is_dir()
