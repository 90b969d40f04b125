"""``marketsim viz``: serve the browser visualiser of one scenario or stored run, offline.

The scenario is validated here first (a bad one exits 2 with one line, before any server
starts); then ``solara run marketsim.viz.app`` runs as a child process with the environment
:func:`server_env` gives: the scenario's path, Solara's assets served by the server itself
from the ``solara-assets`` package (no CDN), no telemetry, no version check. The command
prints the address once the server answers and returns the server's exit code.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from marketsim.errors import ScenarioError

#: Seconds to wait for the server to answer before giving up.
START_TIMEOUT = 120.0

#: Environment of the Solara server: offline assets, no calls home, page title.
OFFLINE_ENV: dict[str, str] = {
    # Serve the front end's JavaScript, CSS and fonts from the server's own /_solara/cdn/
    # route, read from the files the solara-assets package installs (never a CDN).
    "SOLARA_ASSETS_PROXY": "True",
    # No usage telemetry (mixpanel) from the server.
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    # Production mode: no "is solara installed" check iframe pointing at solara.dev.
    "SOLARA_MODE": "production",
    # The browser tab's title; no "runs on Solara" banner over the charts.
    "SOLARA_THEME_TITLE": "marketsim viz",
    "SOLARA_THEME_SHOW_BANNER": "False",
}


def server_env(scenario_path: str, base: dict[str, str] | None = None,
               replay: str | None = None) -> dict[str, str]:
    """Environment for the Solara server showing ``scenario_path`` (or a replayed run).

    Args:
        scenario_path: absolute path of the validated scenario file.
        base: environment to extend (default: this process's).
        replay: ``DIR::RUN_ID`` of a stored sweep run to show instead.
    """
    from marketsim.viz import REPLAY_ENV, SCENARIO_ENV

    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    env[SCENARIO_ENV] = scenario_path
    env.pop(REPLAY_ENV, None)
    if replay:
        env[REPLAY_ENV] = replay
    # Solara warns at each new session that cookies on plain http fall back to
    # samesite=lax: that only matters inside an iframe, and it reads like an error.
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (env.get("PYTHONWARNINGS"), quiet) if w)
    return env


def server_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command line serving :mod:`marketsim.viz.app`."""
    return [sys.executable, "-m", "solara", "run", "marketsim.viz.app",
            "--host", host, "--port", str(port), "--production", "--no-open",
            "--no-check-version", "--log-level-uvicorn", "warning"]


def _check_address(host: str, port: int) -> int:
    """The port to use (a free one for 0); ScenarioError if it is out of range or taken."""
    if not 0 <= port <= 65535:
        raise ScenarioError("port out of range", key="--port", given=port,
                            allowed="0 (any free port) to 65535")
    try:
        infos = socket.getaddrinfo(host, port or None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ScenarioError("unknown host", key="--host", given=host,
                            allowed="an address of this machine, e.g. 127.0.0.1") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the server binds (uvicorn sets SO_REUSEADDR): connections of a server stopped a
        # moment ago linger in TIME_WAIT, which must not make the port look taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr[0], port))
        except OSError as exc:
            what = "port in use" if port else "cannot bind"
            raise ScenarioError(f"{what} ({exc.strerror})", key="--port" if port else "--host",
                                given=port if port else host,
                                allowed="a free port (or 0 for any free port)") from None
        return int(s.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def url_of(host: str, port: int) -> str:
    """``http://HOST:PORT/`` (IPv6 literals in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def viz_command(scenario: str | None, *, host: str = "127.0.0.1", port: int = 8765,
                replay: str | None = None, run: int | None = None) -> int:
    """Validate ``scenario`` and serve the visualiser at ``host``:``port`` until stopped.

    Args:
        scenario: scenario file or shipped name; None for ``scenarios/default.toml``.
        host: address to bind (default 127.0.0.1, this machine only).
        port: TCP port; 0 picks a free one.
        replay: a sweep results directory; with ``run``, show that stored run instead.
        run: the ``run_id`` to replay.

    Returns:
        The server's exit code (0 after a clean stop).

    Raises:
        ScenarioError: bad scenario, port out of range or in use (the CLI exits 2).
    """
    from marketsim.scenario import load_scenario

    target = None
    if replay is not None or run is not None:
        sc, target = _replay_target(scenario, replay, run)
    else:
        sc = load_scenario(scenario)
    source = str(Path(sc.source).resolve()) if sc.source else str(scenario or "default")
    port = _check_address(host, port)
    url = url_of(host, port)
    proc = subprocess.Popen(server_command(host, port), env=server_env(source, replay=target))

    def stop(signum: int, frame: FrameType | None) -> None:  # SIGTERM: stop the server too
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and not _answers(host, port):
            if time.monotonic() > deadline:
                print(f"marketsim viz: server did not answer at {url} within "
                      f"{START_TIMEOUT:.0f} s", file=sys.stderr)
                return 1
            time.sleep(0.2)
        if proc.poll() is not None:
            print(f"marketsim viz: server exited with code {proc.returncode}", file=sys.stderr)
            return proc.returncode or 1
        print(f"marketsim viz: scenario '{sc.label}' at {url}  (Ctrl+C to stop)", flush=True)
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _replay_target(scenario: str | None, replay: str | None, run: int | None,
                   ) -> tuple[object, str]:
    """The replayed run's scenario (checked now) and its ``DIR::RUN_ID`` for the server."""
    from marketsim.viz.replay import load_run

    if scenario is not None:
        raise ScenarioError("give a scenario or --replay, not both", key="scenario",
                            given=scenario, allowed="no scenario with --replay")
    if replay is None or run is None:
        missing = "--run" if run is None else "--replay"
        raise ScenarioError("--replay and --run go together", key=missing, given=None,
                            allowed="--replay DIR --run RUN_ID")
    sc, _, _ = load_run(replay, run)
    return sc, f"{Path(replay).resolve()}::{run}"


def add_arguments(v: argparse.ArgumentParser) -> None:
    """``marketsim viz``'s arguments."""
    v.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name")
    v.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    v.add_argument("--replay", metavar="DIR", default=None,
                   help="a sweep results directory: show one of its stored runs")
    v.add_argument("--run", metavar="RUN_ID", type=int, default=None,
                   help="with --replay: the run_id to show (its scenario, overrides, seed)")


def main(args: argparse.Namespace) -> int:
    """Entry of ``marketsim viz`` from parsed arguments."""
    return viz_command(args.scenario, host=args.host, port=args.port, replay=args.replay,
                       run=args.run)
