"""Resuming a sweep: after a crash, a kill or Ctrl-C, nothing is lost and nothing doubled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sweep_util import (
    BIN,
    REPO,
    read_sorted,
    reference_sweep,
    same_results,
    stop,
    wait_for,
    write_experiment,
)

from marketsim import ScenarioError, load_experiment, run_sweep
from marketsim.cli import main
from marketsim.store import ResultStore, finished_runs
from marketsim.sweep import plan, run_seed


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A finished serial sweep: 4 grid points x 2 seeds of a 500-buyer, 12-month market."""
    return reference_sweep(tmp_path_factory.mktemp("resume_ref"))


def test_seeds_come_from_base_seed_point_and_replication_only(reference):
    exp = load_experiment(reference[0])
    p = plan(exp)
    assert list(p["run_id"]) == list(range(8))
    assert list(p["point"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert list(p["replication"]) == [0, 1] * 4
    assert p["seed"].tolist() == [run_seed(exp.seed, i, r) for i, r in
                                  zip(p["point"], p["replication"], strict=True)]
    assert p["seed"].is_unique and (p["seed"] >= 0).all()
    assert run_seed(5, 1, 0) != run_seed(6, 1, 0) != run_seed(5, 0, 1)


def test_running_again_resumes_and_duplicates_nothing(reference, tmp_path):
    exp, serial, _ = reference
    out = tmp_path / "again"
    shutil.copytree(serial, out)
    res = run_sweep(exp, out, workers=1, progress=False)
    assert (res.done_before, res.done_now) == (8, 0)
    same_results(serial, out)
    # remove one part pair by hand: exactly those runs are run again
    parts = sorted((out / "runs").glob("part-*.parquet"))
    assert parts
    lost = pd.read_parquet(parts[0])["run_id"].tolist()
    parts[0].unlink()
    (out / "ticks" / parts[0].name).unlink()
    res = run_sweep(exp, out, workers=1, progress=False)
    assert res.done_now == len(lost)
    same_results(serial, out)


_CRASH = """
import os, sys
import pandas as pd
from marketsim.store import ResultStore
out, src = sys.argv[1], sys.argv[2]
runs = pd.read_parquet(src + "/runs").sort_values("run_id")
ticks = pd.read_parquet(src + "/ticks")
store = ResultStore(out, batch_runs=2)
store.open(__import__("json").load(open(src + "/manifest.json")))
for rid in (0, 1, 2):   # 0, 1: a part pair; 2: only in the journal
    store.add(runs[runs.run_id == rid].reset_index(drop=True),
              ticks[ticks.run_id == rid].reset_index(drop=True))
# a half-written journal record, a stray temp file, a ticks part whose runs part never came
store._journal.write((10**6).to_bytes(8, "little") + b"half a record")
store._journal.flush()
open(out + "/runs/.part-x.parquet.123.tmp", "wb").write(b"PAR1 half")
ticks[ticks.run_id == 3].to_parquet(out + "/ticks/part-orphan.parquet")
# killed between a flush's two renames: run 2's ticks part is there, its runs part is not
ticks[ticks.run_id == 2].to_parquet(out + "/ticks/part-flushing.parquet")
os._exit(0)   # no clean-up, like a SIGKILL
"""


def test_resume_after_a_crash_mid_write(reference, tmp_path):
    exp, serial, _ = reference
    out = tmp_path / "crashed"
    subprocess.run([sys.executable, "-c", _CRASH, str(out), str(serial)], check=True,
                   timeout=120)
    assert (out / "ticks" / "part-orphan.parquet").exists()
    assert finished_runs(out) == 3
    # readers never see the temp file; the orphan ticks part is the only inconsistency
    assert sorted(pd.read_parquet(out / "runs")["run_id"]) == [0, 1]
    # the report reads the journal too: run 2 counts, ticks included
    from marketsim.report import SweepResults

    seen = SweepResults(out)
    assert sorted(seen.runs["run_id"]) == [0, 1, 2]
    horizon = load_experiment(exp).horizon
    ticks = seen.ticks(["hhi_revenue"], run_ids=[2])
    assert set(ticks["run_id"]) == {2} and len(ticks) == horizon  # once, not twice
    every = seen.ticks(["entries"])
    assert not every.duplicated(["run_id", "tick"]).any()
    res = run_sweep(exp, out, workers=1, progress=False)
    assert (res.done_before, res.done_now) == (3, 5)
    same_results(serial, out)
    assert not list(out.rglob("*.tmp")) and not list((out / ".journal").glob("*.journal"))


def _start_32_runs(tmp_path: Path, name: str):
    """``marketsim sweep`` of 32 runs (about 0.2 s each) started in a process of its own."""
    exp = write_experiment(tmp_path, replications=8, buyers=2000, horizon=60)
    out = tmp_path / name
    cmd = [str(BIN / "marketsim"), "sweep", str(exp), "--out", str(out), "--workers", "1",
           "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return exp, out, cmd, proc


def test_sweep_killed_midway_resumes_to_the_full_unique_set(tmp_path):
    exp, out, cmd, proc = _start_32_runs(tmp_path, "killed")
    try:
        assert wait_for(lambda: (out / "manifest.json").exists() and finished_runs(out) >= 3,
                        timeout=120), proc.stderr.read() if proc.poll() is not None else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        stop(proc)
    n_killed = finished_runs(out)
    assert 3 <= n_killed < 32, "the sweep was not killed midway"
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"({n_killed} already there, {32 - n_killed} run now" in again.stdout
    runs = pd.read_parquet(out / "runs")
    assert sorted(runs["run_id"]) == list(range(32))
    ref = run_sweep(exp, tmp_path / "ref", workers=1, progress=False)
    assert ref.done_now == 32
    same_results(tmp_path / "ref", out)


def test_ctrl_c_stores_finished_runs_and_exits_130(tmp_path):
    exp, out, _, proc = _start_32_runs(tmp_path, "interrupted")
    try:
        assert wait_for(lambda: (out / "manifest.json").exists() and finished_runs(out) >= 2,
                        timeout=120)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 130 and b"interrupted" in err
    runs = pd.read_parquet(out / "runs")  # flushed to Parquet, not left in the journal
    assert len(runs) >= 2 and runs["run_id"].is_unique
    assert f"interrupted; {len(runs)}/32 runs stored in {out}".encode() in err, err
    assert not list((out / ".journal").glob("*.journal"))
    res = run_sweep(exp, out, workers=1, progress=False)
    assert res.done_before == len(runs) and res.complete


def test_different_experiment_on_a_used_dir_is_refused(reference, tmp_path, capsys):
    _, serial, _ = reference
    out = tmp_path / "used"
    shutil.copytree(serial, out)
    other = write_experiment(tmp_path, "other.toml", seed=99)
    before = sorted(p.name for p in (out / "runs").iterdir())
    code = main(["sweep", str(other), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "another experiment" in err and str(out) in err
    assert sorted(p.name for p in (out / "runs").iterdir()) == before
    # a non-empty directory that is not a sweep's is refused too
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["sweep", str(other), "--out", str(tmp_path / "mine"), "--quiet"]) == 2
    assert "no sweep manifest.json" in capsys.readouterr().err


def test_two_sweeps_cannot_write_one_dir(reference, tmp_path):
    exp, _, _ = reference
    out = tmp_path / "busy"
    holder = ResultStore(out)
    holder.open(json.loads((reference[1] / "manifest.json").read_text()))
    try:
        with pytest.raises(ScenarioError, match="another sweep is writing"):
            run_sweep(exp, out, workers=1, progress=False)
    finally:
        holder.close()
    assert run_sweep(exp, out, workers=1, progress=False).done_now == 8


def test_a_damaged_runs_part_is_set_aside_and_its_runs_run_again(tmp_path, capsys):
    exp = write_experiment(tmp_path, replications=1, horizon=3, buyers=300)
    out = tmp_path / "out"
    assert run_sweep(exp, out, workers=1, progress=False).done_now == 4
    ref = read_sorted(out)
    (part,) = (out / "runs").glob("part-*.parquet")
    part.write_bytes(part.read_bytes()[:100])  # cut short, as by a full disk
    code = main(["sweep", str(exp), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0
    (line,) = [x for x in captured.err.splitlines() if "set aside" in x]
    assert f"runs/{part.name}" in line and "cannot be read" in line
    assert "(0 already there, 4 run now" in captured.out
    assert (out / "set_aside" / "runs" / part.name).exists()
    pd.testing.assert_frame_equal(read_sorted(out), ref)
    assert len(read_sorted(out, "ticks")) == 4 * 3
