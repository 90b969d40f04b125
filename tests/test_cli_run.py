"""`marketsim run` end to end, as a user runs it: a subprocess of the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from marketsim import AIMarketModel, __version__, load_scenario
from marketsim.cli import main as cli_main
from marketsim.reporters import CONTRACT_REPORTERS

MARKETSIM = Path(sys.executable).parent / "marketsim"
EXE = [str(MARKETSIM)] if MARKETSIM.exists() else [sys.executable, "-m", "marketsim.cli"]
LAB_COLUMNS = ("cash", "revenue", "owned_gpus", "rented_gpus", "capability", "price",
               "valuation", "status")


def marketsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def leftovers(parent: Path, name: str) -> list[Path]:
    """Temporary folders a run may have left beside its --out folder."""
    return [p for p in parent.iterdir() if p.name.startswith(f".{name}.")]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    cwd = tmp_path_factory.mktemp("run")
    out = cwd / "results" / "one"
    proc = marketsim("run", "small", "--seed", "3", "--ticks", "5", "--set", "buyers.count=150",
                     "--set", "labs.count=6", "--out", str(out), cwd=cwd)
    return proc, out


def test_run_exits_0_and_prints_a_summary(finished_run):
    proc, out = finished_run
    assert proc.returncode == 0, proc.stderr
    assert "marketsim run: small (seed 3, 5 months)" in proc.stdout
    assert "regime" in proc.stdout and "active labs" in proc.stdout
    assert f"wrote {out}" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_out_holds_ticks_with_the_contract_columns(finished_run):
    _, out = finished_run
    ticks = pd.read_parquet(out / "ticks.parquet")
    assert len(ticks) == 5
    assert ticks["tick"].tolist() == list(range(5))
    assert set(CONTRACT_REPORTERS) <= set(ticks.columns)
    assert {"active_labs", "hhi_revenue", "bimodality", "unmet_share", "regime"} <= set(
        ticks.columns)
    assert ticks["active_labs"].iloc[0] == 6  # --set labs.count=6 was obeyed


def test_out_holds_labs_with_the_agent_reporters(finished_run):
    _, out = finished_run
    labs = pd.read_parquet(out / "labs.parquet")
    assert set(LAB_COLUMNS) <= set(labs.columns)
    assert labs["Step"].max() == 5
    assert labs.groupby("Step").size().iloc[0] == 6
    # tick and date join the lab rows to the model reporters of the same month
    ticks = pd.read_parquet(out / "ticks.parquet")
    joined = labs.merge(ticks[["tick", "date", "active_labs"]], on="tick", validate="m:1")
    assert len(joined) == len(labs) and (joined["date_x"] == joined["date_y"]).all()
    assert (labs["tick"] == labs["Step"] - 1).all() and labs["tick"].dtype.kind == "i"


def test_manifest_traces_the_result(finished_run):
    _, out = finished_run
    manifest = json.loads((out / "manifest.json").read_text())
    sc = load_scenario("small", overrides={"buyers.count": "150", "labs.count": "6"})
    assert manifest["marketsim_version"] == __version__
    assert manifest["scenario_hash"] == sc.content_hash()
    assert manifest["scenario_file_hash"]
    assert manifest["command"][:2] == ["marketsim", "run"]
    assert "--seed" in manifest["command"] and "buyers.count=150" in manifest["command"]
    assert manifest["seed"] == 3 and manifest["ticks"] == 5
    assert manifest["overrides"] == {"buyers.count": "150", "labs.count": "6"}
    assert manifest["scenario"]["buyers"]["count"] == 150
    assert sorted(p.name for p in out.iterdir()) == ["labs.parquet", "manifest.json",
                                                     "ticks.parquet"]
    assert not leftovers(out.parent, out.name)


def test_the_same_run_in_python_gives_the_same_ticks(finished_run):
    _, out = finished_run
    m = AIMarketModel("small", rng=3, **{"buyers.count": 150, "labs.count": 6})
    m.run(ticks=5)
    expected = m.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "ticks.parquet"), expected,
                                  check_dtype=False)


@pytest.mark.parametrize("args", [
    ["small", "--set", "buyers.cout=5"],
    ["small", "--set", "buyers.count=-5"],
    ["small", "--ticks", "0"],
    ["no_such_scenario_xyz"],
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args):
    out = tmp_path / "out"
    proc = marketsim("run", *args, "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("marketsim run: ")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_bad_set_messages_name_the_key(tmp_path, capsys):
    assert cli_main(["run", "small", "--set", "buyers.cout=5", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "buyers.cout" in err and "did you mean 'buyers.count'" in err
    assert cli_main(["run", "small", "--set", "vcs.capital_abundance=99"]) == 2
    err = capsys.readouterr().err
    assert "vcs.capital_abundance" in err and "99" in err and "<= 20" in err


def _run_in_process(out: Path, *extra: str) -> int:
    return cli_main(["run", "small", "--ticks", "2", "--quiet", "--set", "buyers.count=50",
                     "--out", str(out), *extra])


def test_rerun_replaces_an_earlier_run(tmp_path, capsys):
    out = tmp_path / "o"
    assert _run_in_process(out, "--seed", "1") == 0
    assert _run_in_process(out, "--seed", "2") == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert not leftovers(tmp_path, "o")
    capsys.readouterr()


def test_out_never_replaces_a_folder_of_other_things(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert _run_in_process(out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert _run_in_process(afile) == 2
    assert afile.read_text() == "x"
    assert not leftovers(tmp_path, "mine") and not leftovers(tmp_path, "afile")


def test_a_user_file_beside_an_earlier_run_is_never_deleted(tmp_path, capsys):
    out = tmp_path / "o"
    assert _run_in_process(out, "--seed", "1") == 0
    (out / "notes.md").write_text("my notes")
    assert _run_in_process(out, "--seed", "2") == 2
    assert "notes.md" in capsys.readouterr().err
    assert (out / "notes.md").read_text() == "my notes"
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1


def test_a_file_put_in_out_during_the_run_is_kept_and_so_is_the_run(tmp_path, capsys,
                                                                     monkeypatch):
    import marketsim.model

    out = tmp_path / "o"
    assert _run_in_process(out, "--seed", "1") == 0
    real_run = marketsim.model.AIMarketModel.run

    def run_then_add_a_file(self, **kw):
        (out / "notes.md").write_text("written meanwhile")
        return real_run(self, **kw)

    monkeypatch.setattr(marketsim.model.AIMarketModel, "run", run_then_add_a_file)
    assert _run_in_process(out, "--seed", "2") == 2
    err = capsys.readouterr().err
    assert "notes.md" in err and "this run's files are in" in err
    assert (out / "notes.md").read_text() == "written meanwhile"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("o.new.")]
    assert len(kept) == 1
    assert json.loads((kept[0] / "manifest.json").read_text())["seed"] == 2
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1


def test_an_out_that_cannot_be_written_fails_before_the_run(tmp_path, capsys, monkeypatch):
    import marketsim.model

    (tmp_path / "afile").write_text("x")
    built = []
    monkeypatch.setattr(marketsim.model.AIMarketModel, "run",
                        lambda self, **kw: built.append(self))
    assert _run_in_process(tmp_path / "afile" / "sub") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write there" in err
    assert not built  # refused before running, not after


def test_out_permissions_follow_the_umask(tmp_path, capsys):
    import os

    old = os.umask(0o022)
    try:
        assert _run_in_process(tmp_path / "o") == 0
    finally:
        os.umask(old)
    assert (tmp_path / "o").stat().st_mode & 0o777 == 0o755  # not mkdtemp's private 0o700
    capsys.readouterr()


def test_a_reader_that_goes_away_is_no_error(tmp_path):
    """``marketsim run | head -1``: the pipe closes early; no traceback, no noise."""
    proc = subprocess.Popen([*EXE, "run", "small", "--ticks", "2", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    # 141 = 128 + SIGPIPE, as a shell reports a pipe's writer stopped early; 1 means failed runs
    assert proc.returncode == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_empty_out_folder_is_used(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    assert _run_in_process(out) == 0
    assert (out / "ticks.parquet").is_file()
    capsys.readouterr()


def test_a_failure_while_writing_leaves_nothing_half_written(tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    assert _run_in_process(out, "--seed", "1") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    import marketsim.manifest

    monkeypatch.setattr(marketsim.manifest, "write_json_atomic", boom)
    with pytest.raises(OSError, match="disk full"):
        _run_in_process(out, "--seed", "2")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old run intact
    assert not leftovers(tmp_path, "o")
    capsys.readouterr()


def test_run_without_out_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli_main(["run", "small", "--ticks", "1", "--quiet", "--set", "buyers.count=30"]) == 0
    assert "regime" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_write_json_atomic_leaves_no_temporary_file(tmp_path, monkeypatch):
    import marketsim.manifest
    from marketsim.manifest import write_json_atomic

    write_json_atomic(tmp_path / "m.json", {"a": 1})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}

    def fail(*args):
        raise OSError("rename failed")

    monkeypatch.setattr(marketsim.manifest.os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        write_json_atomic(tmp_path / "m.json", {"a": 2})
    monkeypatch.undo()
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_ctrl_c_in_a_command_is_one_line_and_exit_130(monkeypatch, capsys):
    import marketsim.cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(marketsim.cli, "_dispatch", interrupted)
    assert cli_main(["run", "small", "--quiet"]) == 130
    assert capsys.readouterr().err == "marketsim run: interrupted\n"


@pytest.mark.parametrize(("name", "magic"), [("run.png", b"\x89PNG"), ("run.svg", b"<?xml"),
                                             ("run.pdf", b"%PDF")])
def test_plot_draws_the_run_in_the_format_of_its_suffix(tmp_path, capsys, name, magic):
    path = tmp_path / name
    assert cli_main(["run", "small", "--ticks", "6", "--set", "buyers.count=150",
                     "--quiet", "--plot", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    assert path.read_bytes().startswith(magic)
    assert not [p for p in tmp_path.iterdir() if p.name != name]  # no temporary left


def test_regime_band_follows_the_regime_column():
    from marketsim.report_run import regime_runs

    labels = pd.Series(["competitive"] * 3 + ["concentrated"] * 2 + ["competitive"])
    assert regime_runs(labels) == [(0, 3, "competitive"), (3, 5, "concentrated"),
                                   (5, 6, "competitive")]
    assert regime_runs(pd.Series([], dtype=str)) == []


def test_plot_with_a_bad_suffix_fails_before_the_run(tmp_path, capsys, monkeypatch):
    import marketsim.model

    def no_run(*a, **k):
        raise AssertionError("the model must not run")

    monkeypatch.setattr(marketsim.model.AIMarketModel, "run", no_run)
    assert cli_main(["run", "small", "--ticks", "3", "--plot", str(tmp_path / "a.gif")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--plot" in err and "a.gif" in err and ".svg" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("plot", "says"), [("missing/run.png", "does not exist"),
                                             ("folder/", "is a folder")])
def test_plot_that_cannot_be_written_fails_before_the_run(tmp_path, capsys, monkeypatch, plot,
                                                          says):
    import marketsim.model

    def no_run(*a, **k):
        raise AssertionError("the model must not run")

    monkeypatch.setattr(marketsim.model.AIMarketModel, "run", no_run)
    (tmp_path / "folder").mkdir()
    assert cli_main(["run", "small", "--ticks", "3", "--plot", f"{tmp_path}/{plot}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--plot" in err and says in err


@pytest.mark.parametrize(("ticks", "says"), [
    ("2401", "less than or equal to 2400"),
    ("1200", "compute.throughput_growth = 20"),  # 20x a year for 100 years: 10^130 > 10^120
])
def test_ticks_past_the_horizon_the_schema_allows_is_refused(capsys, monkeypatch, ticks, says):
    import marketsim.model

    def no_run(*a, **k):
        raise AssertionError("the model must not run")

    monkeypatch.setattr(marketsim.model.AIMarketModel, "run", no_run)
    args = ["run", "small", "--ticks", ticks, "--set", "compute.throughput_growth=20"]
    assert cli_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("marketsim run: --ticks:") and says in err


DECISION_ARGS = ["run", "small", "--ticks", "3", "--quiet", "--set", "buyers.count=150",
                 "--set", "labs.class=sweep_util:NaNSplitLab", "--set",
                 "hyperscalers.margin=0.8"]


def test_a_bad_decision_is_one_line_without_debug(capsys):
    assert cli_main(DECISION_ARGS) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "NaNSplitLab.split_compute returned nan" in err and "--debug" in err


def test_debug_shows_the_decision_errors_traceback():
    from marketsim.errors import DecisionError

    with pytest.raises(DecisionError, match="split_compute"):
        cli_main([*DECISION_ARGS, "--debug"])


def test_a_table_without_regime_column_is_banded_by_the_final_label(tmp_path):
    from marketsim.report_run import plot_run

    df = pd.DataFrame({"active_labs": [3, 4, 4], "hhi_revenue": [2000.0, 2500.0, 2600.0]})
    path = plot_run(df, "concentrated", tmp_path / "r.svg", "no regime column")
    assert path.read_bytes().startswith(b"<?xml")
