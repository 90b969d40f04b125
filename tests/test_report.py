"""``marketsim report DIR``: tables (stdout, CSV, Markdown) and PNG plots of a sweep."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest
from sweep_util import write_experiment

from marketsim import run_sweep
from marketsim.cli import main
from marketsim.report import SOBOL_OUTPUTS, SweepResults, make_report, plot_sobol, sobol_indices

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
    assert set(share["dominant"]) <= set(regimes)
    # the shares are those of the runs table
    p0 = runs[runs["point"] == 0]["regime"].value_counts(normalize=True)
    for r, v in p0.items():
        assert share.loc[0, r] == pytest.approx(v)
    outputs = pd.read_csv(rep / "outputs.csv", index_col="point")
    assert outputs.loc[1, "hhi_revenue_mean"] == pytest.approx(
        runs[runs["point"] == 1]["hhi_revenue"].mean())
    for stem in ("regime_share", "outputs", "summary", "regimes"):
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


def test_point_labels_keep_keys_apart_when_their_last_parts_clash():
    from marketsim.report import _point_label

    points = pd.DataFrame({"labs.count": [3], "vcs.count": [6], "buyers.switching_cost": [1.5]})
    label = _point_label(points, 0, list(points.columns))
    assert label == "labs.count=3, vcs.count=6, switching_cost=1.5"


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
    part = tmp_path / "part"
    shutil.copytree(sobol_dir, part, ignore=shutil.ignore_patterns("report"))
    runs = pd.read_parquet(part / "runs")
    for p in (part / "runs").glob("part-*.parquet"):
        p.unlink()
    runs[runs["run_id"] < 20].to_parquet(part / "runs" / "part-a.parquet")
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
    _png_ok(tmp_path / "out" / "report" / "regime_map.png")
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
