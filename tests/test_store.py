"""Accidents to a results directory: each is healed or refused in one line, nothing is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sweep_util import BIN, REPO, TESTS, FailingLab, read_sorted, write_experiment

from marketsim import AILab, ScenarioError, run_sweep
from marketsim.cli import main
from marketsim.failures import read_failures, toml_value
from marketsim.manifest import file_hash
from marketsim.scenario import parse_value
from marketsim.store import read_table


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A finished 4-run sweep (grid 2 x 2, one seed, 3 months of a 300-buyer market)."""
    folder = tmp_path_factory.mktemp("store")
    exp = write_experiment(folder, replications=1, horizon=3, buyers=300)
    assert run_sweep(exp, folder / "done", workers=1, progress=False).done_now == 4
    return exp, folder / "done"


def _copy(swept, tmp_path: Path) -> tuple[Path, Path]:
    exp, done = swept
    out = tmp_path / "out"
    shutil.copytree(done, out)
    return exp, out


def _sweep(exp: Path, out: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["sweep", str(exp), "--out", str(out), "--workers", "1", "--quiet", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_damaged_ticks_part_is_set_aside_and_its_runs_run_again(swept, tmp_path, capsys):
    exp, out = _copy(swept, tmp_path)
    ref_runs, ref_ticks = read_sorted(out), read_sorted(out, "ticks")
    (part,) = (out / "ticks").glob("part-*.parquet")
    part.write_bytes(part.read_bytes()[:-200])  # its footer lost, as by a full disk
    with pytest.raises(ScenarioError, match=f"{part.name}.*marketsim sweep' command again"):
        read_table(out, "ticks")  # a reader names the file and the cure
    code, stdout, err = _sweep(exp, out, capsys)
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if "set aside" in x]
    assert f"ticks/{part.name}" in line and "its ticks part cannot be read" in line
    assert "(0 already there, 4 run now" in stdout  # not "4/4 runs stored" with bad ticks
    assert (out / "set_aside" / "ticks" / part.name).exists()
    pd.testing.assert_frame_equal(read_sorted(out), ref_runs)
    pd.testing.assert_frame_equal(read_sorted(out, "ticks"), ref_ticks)
    from marketsim.report import SweepResults

    assert len(SweepResults(out).ticks(["hhi_revenue"])) == 4 * 3


def test_a_stray_copy_of_a_runs_part_is_set_aside(swept, tmp_path, capsys):
    exp, out = _copy(swept, tmp_path)
    (part,) = (out / "runs").glob("part-*.parquet")
    copy = out / "runs" / "part-0-copy.parquet"
    shutil.copy(part, copy)
    shutil.copy(out / "ticks" / part.name, out / "ticks" / copy.name)  # its ticks too
    assert len(pd.read_parquet(out / "runs")) == 8  # what a reader sees: every run twice
    code, stdout, err = _sweep(exp, out, capsys)
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if "set aside" in x]
    assert "runs/part-0-copy.parquet" in line and "already stored in another part" in line
    assert "(4 already there, 0 run now" in stdout
    runs = pd.read_parquet(out / "runs")
    assert len(runs) == 4 and runs["run_id"].is_unique
    assert len(pd.read_parquet(out / "ticks")) == 4 * 3
    assert (out / "set_aside" / "runs" / copy.name).exists()
    assert part.exists()  # the sweep's own part is the one kept


def test_a_foreign_or_stray_file_is_set_aside(swept, tmp_path, capsys):
    exp, out = _copy(swept, tmp_path)
    other = write_experiment(tmp_path, "other.toml", replications=1, horizon=3, buyers=300,
                             seed=77)
    assert run_sweep(other, tmp_path / "other", workers=1, progress=False).done_now == 4
    (theirs,) = (tmp_path / "other" / "runs").glob("part-*.parquet")
    shutil.copy(theirs, out / "runs" / "part-theirs.parquet")
    shutil.copy(tmp_path / "other" / "ticks" / theirs.name, out / "ticks" / "part-theirs.parquet")
    (out / "runs" / "notes.txt").write_text("mine")
    code, _, err = _sweep(exp, out, capsys)
    assert code == 0, err
    lines = [x for x in err.splitlines() if "set aside" in x]
    assert len(lines) == 2
    assert any("part-theirs.parquet" in x and "not this sweep's" in x for x in lines)
    assert any("notes.txt" in x for x in lines)
    assert (out / "set_aside" / "runs" / "notes.txt").read_text() == "mine"
    assert len(pd.read_parquet(out / "runs")) == 4


def test_an_edited_scenario_is_named_with_its_hashes_and_restart_starts_over(tmp_path, capsys):
    scenario = tmp_path / "mine.toml"
    scenario.write_text('name = "mine"\n[buyers]\ncount = 300\n')
    exp = write_experiment(tmp_path, replications=1, horizon=3, scenario="mine.toml")
    out = tmp_path / "out"
    assert _sweep(exp, out, capsys)[0] == 0
    old_hash = file_hash(scenario)
    scenario.write_text("# a comment does not count\n" + scenario.read_text())
    assert _sweep(exp, out, capsys)[0] == 0  # same content: resumes
    scenario.write_text(scenario.read_text() + "[labs]\ncount = 5\n")
    new_hash = file_hash(scenario)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    code, _, err = _sweep(exp, out, capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert str(scenario.resolve()) in err and "changed" in err
    assert new_hash in err and file_hash(scenario) != old_hash
    assert "--restart" in err and "new --out folder" in err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # untouched
    code, stdout, err = _sweep(exp, out, capsys, "--restart")
    assert code == 0, err
    assert "(0 already there, 4 run now" in stdout
    assert len(pd.read_parquet(out / "runs")) == 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["sessions"]) == 1 and manifest["scenario_file_hash"] == new_hash


def test_a_refused_sweep_leaves_nothing_and_run_out_still_works(tmp_path, capsys):
    exp = write_experiment(tmp_path, replications=1, horizon=3, buyers=300)
    out = tmp_path / "single"
    run = ["run", "small", "--ticks", "2", "--set", "buyers.count=200", "--out", str(out),
           "--quiet"]
    assert main(run) == 0
    before = sorted(p.name for p in out.iterdir())
    code, _, err = _sweep(exp, out, capsys)
    assert code == 2 and err.count("\n") == 1 and "'marketsim run'" in err, err
    assert sorted(p.name for p in out.iterdir()) == before  # no .lock, no manifest change
    capsys.readouterr()
    assert main(run) == 0, capsys.readouterr().err
    # a folder of the user's is refused and left as it was
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    assert _sweep(exp, empty, capsys)[0] == 2
    assert [p.name for p in empty.iterdir()] == ["notes.txt"]


def test_a_failing_user_class_leaves_its_traceback_and_a_replay_command(
        tmp_path, capsys, monkeypatch):
    exp = write_experiment(tmp_path, replications=1, horizon=3, buyers=300,
                           parameters='"labs.fixed_cost" = [0.03, 0.031]\n')
    exp.write_text(exp.read_text().replace(
        "[fixed]\n", '[fixed]\n"labs.class" = "sweep_util:FailingLab"\n'))
    out = tmp_path / "out"
    code, _, err = _sweep(exp, out, capsys)
    assert code == 1 and str(out / "failures") in err
    (record,) = read_failures(out)
    assert set(record) == {"run_id", "seed", "overrides", "scenario", "horizon", "error",
                           "traceback", "command"}
    assert record["run_id"] == 1 and record["horizon"] == 3
    assert record["overrides"]["labs.fixed_cost"] == 0.031
    assert record["overrides"]["labs.class"] == "sweep_util:FailingLab"
    assert Path(record["scenario"]).is_absolute()
    assert "fails on purpose" in record["error"] and "\n" not in record["error"]
    assert "set_price" in record["traceback"] and "sweep_util.py" in record["traceback"]
    assert record["command"].startswith(f"marketsim run {record['scenario']} --seed "
                                        f"{record['seed']} --ticks 3 ")
    # the command replays the failure, from any folder
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)])}
    replay = subprocess.run(f"{BIN}/{record['command']}", shell=True, cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1 and "this lab fails on purpose" in replay.stderr
    # a later successful run removes its failure file
    monkeypatch.setattr(FailingLab, "set_price", AILab.set_price)
    code, stdout, _ = _sweep(exp, out, capsys)
    assert code == 0 and "(1 already there, 1 run now" in stdout
    assert read_failures(out) == [] and not list((out / "failures").iterdir())


@pytest.mark.parametrize("value", [0.031, 1e-05, 3, True, "sweep_util:FailingLab", "12",
                                   "true", 'a "quoted" name', [1, 2]])
def test_replay_values_read_back_as_given(value):
    assert parse_value(toml_value(value)) == value
    assert type(parse_value(toml_value(value))) is type(value)


def test_manifests_record_dependency_versions_and_the_commit(swept, tmp_path):
    manifest = json.loads((swept[1] / "manifest.json").read_text())
    versions = manifest["versions"]
    assert {"mesa", "numpy", "pandas", "pyarrow", "SALib", "dask"} <= set(versions)
    import numpy

    assert versions["numpy"] == numpy.__version__
    repo = Path(__file__).resolve().parent.parent
    if (repo / ".git").exists():
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert manifest["git_commit"] == head and isinstance(manifest["git_dirty"], bool)
    out = tmp_path / "run"
    assert main(["run", "small", "--ticks", "1", "--set", "buyers.count=100", "--out",
                 str(out), "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["versions"] == versions


def test_failed_runs_are_summed_up_by_reason():
    from marketsim.failures import failure_reasons

    failed = [(7, "TypeError: a"), (1, "ValueError: b"), (3, "TypeError: a"), (9, "KeyError: c"),
              (4, "OSError: d"), (2, "TypeError: a")]
    assert failure_reasons(failed) == (
        "3 runs, first run 2: TypeError: a; run 1: ValueError: b; run 4: OSError: d; "
        "1 other reason")
    assert failure_reasons([(5, "X: y")]) == "run 5: X: y"


def test_an_out_that_cannot_be_made_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code = main(["sweep", str(write_experiment(tmp_path)), "--out",
                 str(tmp_path / "afile" / "sub"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot create it" in err
