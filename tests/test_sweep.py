"""The sweep runner: the same rows serially, on local workers and on Dask; failed runs."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sweep_util import (
    BIN,
    REPO,
    TESTS,
    dask_cluster,
    read_sorted,
    reference_sweep,
    same_results,
    stop,
    wait_for,
    write_experiment,
)

from marketsim import AIMarketModel, ScenarioError, load_experiment, run_sweep
from marketsim.cli import main
from marketsim.failures import read_failures
from marketsim.reporters import CONTRACT_REPORTERS
from marketsim.store import finished_runs
from marketsim.sweep import WORKER_DIED

PARAMS = ["hyperscalers.margin", "buyers.switching_cost"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A finished serial sweep: 4 grid points x 2 seeds of a 500-buyer, 12-month market."""
    return reference_sweep(tmp_path_factory.mktemp("sweep_ref"))


def test_runs_and_ticks_follow_the_contract(reference):
    exp_path, out, res = reference
    exp = load_experiment(exp_path)
    runs = pd.read_parquet(out / "runs")
    ticks = pd.read_parquet(out / "ticks")
    assert len(runs) == exp.n_runs == res.total == 8 and runs["run_id"].is_unique
    for col in ["run_id", "seed", *PARAMS, *CONTRACT_REPORTERS, "regime"]:
        assert col in runs.columns, col
    assert set(runs["regime"]) <= {"competitive", "concentrated", "bifurcated", "consolidated"}
    assert runs["seed"].is_unique
    assert len(ticks) == exp.n_runs * exp.horizon
    assert ticks.groupby("run_id")["tick"].nunique().eq(exp.horizon).all()
    # the runs row holds the final tick of the tick table
    last = ticks.sort_values(["run_id", "tick"]).groupby("run_id").tail(1).set_index("run_id")
    r = runs.set_index("run_id").loc[last.index]
    for col in ("hhi_revenue", "active_labs", "bimodality", "regime"):
        pd.testing.assert_series_equal(r[col], last[col], check_names=False)
    # every design point, each with its replications
    points = runs.groupby(PARAMS).size()
    assert len(points) == 4 and points.eq(2).all()
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("marketsim_version", "experiment_file_hash", "scenario_file_hash", "design",
                "command", "experiment_id"):
        assert key in manifest, key
    assert manifest["design"]["n_runs"] == 8 and len(manifest["design"]["points"]) == 4


def test_a_run_is_the_model_with_the_point_values_and_its_seed(reference):
    exp_path, out, _ = reference
    exp = load_experiment(exp_path)
    row = read_sorted(out).iloc[5]
    values = {k: row[k] for k in PARAMS}
    model = AIMarketModel(exp.scenario_for(values), rng=int(row["seed"]))
    model.run()
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == exp.horizon
    assert model.regime == row["regime"]
    for col in ("hhi_revenue", "active_labs", "price_per_mtok", "top_valuation"):
        assert df[col].iloc[-1] == row[col] or (np.isnan(df[col].iloc[-1]) and np.isnan(row[col]))


def test_process_pool_gives_the_serial_rows(reference, tmp_path):
    exp, serial, _ = reference
    res = run_sweep(exp, tmp_path / "pool", workers=2, progress=False)
    assert res.done_now == 8 and res.complete
    same_results(serial, tmp_path / "pool")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork pools: Linux only")
def test_workers_are_forked_only_from_a_process_without_other_threads(reference, tmp_path):
    # In a fresh process (this one may hold other tests' threads): forked workers are this
    # process's children; with a second thread running, they come from the forkserver.
    code = (
        "import os, threading\n"
        "from marketsim.local_pool import make_pool\n"
        "def parent():\n"
        "    pool = make_pool(2)\n"
        "    try:\n"
        "        return pool.submit(os.getppid).result()\n"
        "    finally:\n"
        "        pool.shutdown()\n"
        "alone = parent()\n"
        "stop = threading.Event()\n"
        "t = threading.Thread(target=stop.wait)\n"
        "t.start()\n"
        "threaded = parent()\n"
        "stop.set()\n"
        "print(alone == os.getpid(), threaded == os.getpid())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]
    # and a sweep started beside another thread gives the same rows
    exp, serial, _ = reference
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        res = run_sweep(exp, tmp_path / "threaded", workers=2, progress=False)
    finally:
        stop.set()
        t.join()
    assert res.complete
    same_results(serial, tmp_path / "threaded")


def test_any_executor_works_and_progress_is_shown(reference, tmp_path, capsys):
    exp, serial, _ = reference
    with cf.ThreadPoolExecutor(2) as ex:
        res = run_sweep(exp, tmp_path / "threads", executor=ex, progress=True)
    assert res.done_now == 8
    err = capsys.readouterr().err
    assert "8/8" in err and ("run/s" in err or "s/run" in err)
    same_results(serial, tmp_path / "threads")


def test_a_script_without_a_main_guard_gets_one_clear_error(tmp_path):
    exp = write_experiment(tmp_path, replications=1, horizon=3, buyers=300)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import threading, time\n"
        "from marketsim import run_sweep\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # a forkserver\n"
        f"run_sweep({str(exp)!r}, {str(tmp_path / 'out')!r}, workers=2, progress=False)\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1
    assert ("SweepError: local worker processes die as they start: a script that calls "
            'run_sweep needs `if __name__ == "__main__":`') in proc.stderr


def test_runs_an_executor_keeps_cancelling_end_as_failed_runs(tmp_path):
    class Cancelling(cf.Executor):
        def submit(self, fn, /, *args, **kwargs):
            fut: cf.Future = cf.Future()
            fut.cancel()
            fut.set_running_or_notify_cancel()  # as an executor does for a cancelled task
            return fut

    exp = write_experiment(tmp_path, replications=1, horizon=3, buyers=300)
    res = run_sweep(exp, tmp_path / "out", executor=Cancelling(), progress=False)  # returns
    assert res.done_now == 0 and len(res.failed) == 4
    assert all(why == "the executor cancelled the run 3 times" for _, why in res.failed)


def test_dask_worker_settings_are_keys_dask_knows():
    import dask
    import dask.distributed  # noqa: F401 - loads distributed's default config

    from marketsim.sweep import DASK_WORKER_CONFIG

    for key in DASK_WORKER_CONFIG:  # a mistyped key would be set and silently do nothing
        parent, _, name = key.rpartition(".")
        assert name.replace("_", "-") in dask.config.get(parent) or name in dask.config.get(
            parent), key
    with dask.config.set(DASK_WORKER_CONFIG):
        assert dask.config.get("distributed.worker.profile.enabled") is False


def test_failing_runs_are_reported_and_retried(tmp_path, capsys):
    exp = write_experiment(tmp_path, replications=1, parameters=(
        '"labs.fixed_cost" = [0.03, 0.031]\n'), extra='', buyers=300)
    text = exp.read_text().replace('[fixed]\n', '[fixed]\n"labs.class" = "sweep_util:FailingLab"\n')
    exp.write_text(text)
    res = run_sweep(exp, tmp_path / "out", workers=1, progress=False)
    assert res.done_now == 1 and [r for r, _ in res.failed] == [1]
    assert "fails on purpose" in res.failed[0][1]
    code = main(["sweep", str(exp), "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1 and "1 run failed (run 1: " in captured.err and "run 1" in captured.err
    assert "(1 already there, 0 run now" in captured.out


@pytest.mark.parametrize(("lab", "words"), [
    ("NaNSplitLab", "DecisionError: sweep_util.NaNSplitLab.split_compute returned nan"),
    ("OddErrorLab", "TwoPartError: price: cannot be set"),  # an error pickle cannot rebuild
])
def test_a_run_that_raises_in_a_local_worker_is_a_failed_run_not_a_broken_pool(
        tmp_path, lab, words):
    exp = write_experiment(tmp_path, replications=1)  # margin 0/0.8 x switching cost 0/2
    exp.write_text(exp.read_text().replace(
        "[fixed]\n", f'[fixed]\n"labs.class" = "sweep_util:{lab}"\n'))
    results = [run_sweep(exp, tmp_path / f"out{w}", workers=w, progress=False)
               for w in (1, 2)]
    for res in results:  # the same report serially and from worker processes
        assert res.done_now == 2 and len(res.failed) == 2
        assert all(words in why for _, why in res.failed), res.failed
    assert sorted(results[0].failed) == sorted(results[1].failed)
    same_results(tmp_path / "out1", tmp_path / "out2")
    for w in (1, 2):  # the traceback comes back from a worker process too
        records = read_failures(tmp_path / f"out{w}")
        assert [r["run_id"] for r in records] == sorted(r for r, _ in results[0].failed)
        assert all(words in r["traceback"].strip().splitlines()[-1] for r in records)


def test_ctrl_c_twice_with_local_workers_stops_them_and_exits_130(tmp_path):
    exp = write_experiment(tmp_path, horizon=4)  # 8 runs of about a second each
    exp.write_text(exp.read_text().replace(
        "[fixed]\n", '[fixed]\n"labs.class" = "sweep_util:SlowLab"\n'))
    out = tmp_path / "interrupted"
    # this checkout's marketsim (not an installed one) and the test's agent classes
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)])}
    cmd = [str(BIN / "marketsim"), "sweep", str(exp), "--out", str(out), "--workers", "2",
           "--quiet"]
    # its own session: the signals go to the sweep and its workers, as Ctrl-C in a terminal
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert wait_for(lambda: (out / "manifest.json").exists(), timeout=120)
        time.sleep(0.5)  # runs in flight on both workers
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # it used to hang here
    finally:
        stop(proc, group=True)

    def group_gone() -> bool:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert proc.returncode == 130, err.decode()
    line = err.decode().strip()
    assert "\n" not in line and line.startswith("marketsim sweep: interrupted; "), line
    assert line.endswith(f"runs stored in {out}: run the same command again to resume"), line
    stored = int(line.split("; ")[1].split("/")[0])
    assert stored == finished_runs(out)
    assert wait_for(group_gone, timeout=10), "worker processes left behind"
    res = run_sweep(exp, out, workers=2, progress=False)  # and it resumes
    assert res.complete and not res.failed


def test_a_local_worker_that_dies_is_replaced_and_nothing_is_lost(tmp_path):
    flag = tmp_path / "crash.flag"
    exp = write_experiment(tmp_path, replications=3, extra='')
    exp.write_text(exp.read_text().replace(
        "[fixed]\n", f'[fixed]\n"labs.class" = "sweep_util:CrashOnceLab"\n'
                     f'description = "crash-once:{flag}"\n'))
    ref = run_sweep(exp, tmp_path / "ref", workers=1, progress=False)  # no flag: no crash
    flag.write_text("")
    res = run_sweep(exp, tmp_path / "pool", workers=2, progress=False)
    assert not flag.exists(), "no worker crashed"
    assert res.complete and not res.failed and res.done_now == ref.done_now == 12
    same_results(tmp_path / "ref", tmp_path / "pool")


def test_a_run_that_kills_its_local_worker_is_a_failed_run_and_the_others_go_on(
        tmp_path, capsys):
    exp = write_experiment(tmp_path, replications=2, horizon=3)  # margin 0/0.8 x cost 0/2
    exp.write_text(exp.read_text().replace(
        "[fixed]\n", '[fixed]\n"labs.class" = "sweep_util:DyingLab"\n'))
    code = main(["sweep", str(exp), "--out", str(tmp_path / "out"), "--workers", "2",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "4 runs failed" in err and WORKER_DIED in err
    runs = read_sorted(tmp_path / "out")
    assert len(runs) == 4 and set(runs["hyperscalers.margin"]) == {0.0}
    res = run_sweep(exp, tmp_path / "out", workers=2, progress=False)  # resume: same again
    assert res.done_now == 0
    assert sorted(r for r, _ in res.failed) == sorted(set(range(8)) - set(runs["run_id"]))
    records = read_failures(tmp_path / "out")
    assert [r["run_id"] for r in records] == sorted(r for r, _ in res.failed)
    assert all(r["error"] == WORKER_DIED and r["traceback"] == "" for r in records)


@pytest.mark.slow
def test_dask_cluster_gives_the_serial_rows_with_a_user_class(tmp_path):
    exp = write_experiment(tmp_path, parameters=(
        '"labs.class" = ["marketsim.agents:AILab", "sweep_util:SweepTestLab"]\n'
        '"hyperscalers.margin" = [0.0, 0.8]\n'))
    ref = run_sweep(exp, tmp_path / "serial", workers=1, progress=False)
    assert ref.done_now == 8
    runs = read_sorted(tmp_path / "serial")
    by_class = runs.groupby("labs.class")["price_per_mtok"].mean()
    assert by_class["sweep_util:SweepTestLab"] != by_class["marketsim.agents:AILab"]
    with dask_cluster(2, log_dir=tmp_path) as cluster:
        code = main(["sweep", str(exp), "--out", str(tmp_path / "dask"), "--scheduler",
                     cluster.address, "--quiet"])
    assert code == 0
    same_results(tmp_path / "serial", tmp_path / "dask")


@pytest.mark.slow
def test_dask_worker_killed_mid_sweep_loses_nothing(tmp_path):
    exp = write_experiment(tmp_path, replications=6, buyers=2000, horizon=120)  # 24 runs
    out = tmp_path / "dask"
    with dask_cluster(2, log_dir=tmp_path) as cluster:
        box: dict[str, object] = {}

        def sweep() -> None:
            try:
                box["res"] = run_sweep(exp, out, scheduler=cluster.address, progress=False)
            except BaseException as exc:  # noqa: BLE001 - reported below
                box["err"] = exc

        t = threading.Thread(target=sweep)
        t.start()
        assert wait_for(lambda: (out / "manifest.json").exists() and finished_runs(out) >= 3,
                        timeout=120)
        victim = cluster.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        assert finished_runs(out) < 24, "the worker was not killed mid-sweep"
        t.join(timeout=300)
        assert not t.is_alive()
    assert "err" not in box, box.get("err")
    res = box["res"]
    assert res.complete and not res.failed, res  # type: ignore[attr-defined]
    assert finished_runs(out) == 24
    ref = run_sweep(exp, tmp_path / "ref", workers=1, progress=False)
    same_results(tmp_path / "ref", out)
    assert ref.done_now == 24


# ---------------------------------------------------------------------------- bad addresses
@pytest.fixture
def fake_service():
    """A TCP server on 127.0.0.1 that is not Dask: ``fake_service(banner)`` gives its address.

    It accepts every connection, sends ``banner`` (b"" sends nothing) and keeps it open.
    """
    import socket

    servers, conns = [], []

    def start(banner: bytes) -> str:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:  # closed: the test is over
                    return
                conns.append(conn)
                if banner:
                    conn.sendall(banner)

        threading.Thread(target=serve, daemon=True).start()
        return f"tcp://127.0.0.1:{server.getsockname()[1]}"

    yield start
    for s in [*conns, *servers]:
        s.close()


@pytest.mark.parametrize(("banner", "words"), [
    (b"", "no Dask scheduler answered within"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "cannot reach the Dask scheduler"),
])
def test_an_address_that_is_not_a_scheduler_fails_fast_and_leaves_nothing(
        tmp_path, monkeypatch, fake_service, banner, words):
    import marketsim.dask_executor as dask_executor

    monkeypatch.setattr(dask_executor, "CONNECT_SECONDS", 1)
    address = fake_service(banner)
    out = tmp_path / "out"
    with pytest.raises(ScenarioError, match=words):
        run_sweep(write_experiment(tmp_path), out, scheduler=address, progress=False)
    assert not out.exists()


def test_a_port_that_cannot_exist_is_refused_at_once(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ScenarioError, match="no such port.*1 to 65535"):
        run_sweep(write_experiment(tmp_path), out, scheduler="tcp://127.0.0.1:99999",
                  progress=False)
    assert not out.exists()


def test_a_scheduler_without_workers_is_said_so(capsys):
    from dask.distributed import Client, LocalCluster

    from marketsim.dask_executor import warn_no_workers

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        warn_no_workers(client, cluster.scheduler_address)
        assert "has no workers yet" in capsys.readouterr().err
        cluster.scale(1)
        client.wait_for_workers(1, timeout=30)
        warn_no_workers(client, cluster.scheduler_address)
        assert capsys.readouterr().err == ""
