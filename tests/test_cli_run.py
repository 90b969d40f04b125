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
