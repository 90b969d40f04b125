"""The ``marketsim`` command: run, sweep, report, viz, calibrate.

Exit codes: 0 success, 2 bad input (one line on stderr naming file, key, value and what is
allowed; never a traceback), 1 anything else.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from marketsim.errors import ScenarioError, SweepError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_sets(items: Sequence[str] | None) -> dict[str, str]:
    """Turn ``["buyers.count=2000", ...]`` into an override dict (values parsed later)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError("--set needs KEY=VALUE", key="--set", given=item,
                                allowed="a dotted scenario key, '=', a value")
        out[key.strip()] = value.strip()
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    p = _Parser(prog="marketsim", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("run", help="run one scenario and print a summary")
    r.add_argument("scenario", nargs="?", default=None,
                   help="scenario file or shipped name (default: scenarios/default.toml)")
    r.add_argument("--seed", type=int, default=0, help="integer seed (default 0)")
    r.add_argument("--ticks", type=int, default=None, help="months to run (default: horizon)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a dotted scenario key, e.g. --set buyers.count=20000")
    r.add_argument("--out", type=Path, default=None,
                   help="write ticks.parquet, labs.parquet and manifest.json here")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sweep", help="run an experiment's parameter sweep")
    s.add_argument("experiment", help="experiment file (experiments/*.toml)")
    s.add_argument("--out", type=Path, required=True, help="results directory (resumable)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    g.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    rep = sub.add_parser("report", help="tables and plots of a sweep's results")
    rep.add_argument("dir", type=Path, help="results directory of a sweep")

    v = sub.add_parser("viz", help="serve the browser visualiser (Mesa SolaraViz)")
    v.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name")
    v.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=8765, help="port (default 8765)")

    c = sub.add_parser("calibrate",
                       help="compare the model with the public figures it is calibrated to")
    c.add_argument("scenario", nargs="?", default=None, help="scenario file or shipped name")
    c.add_argument("--seeds", type=int, default=8, help="seeds to run (default 8)")
    c.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``marketsim`` console script."""
    parser = build_parser()
    whole_process = argv is None  # the console script: this process ends with the command
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = ["marketsim", *argv]  # the command line as given, for manifests
    if args.version:
        from marketsim import __version__

        print(f"marketsim {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code = int(_dispatch(args) or 0)
        sys.stdout.flush()  # here, so that a reader gone away is caught below
        return code
    except ScenarioError as exc:
        print(f"marketsim {args.command}: {exc}", file=sys.stderr)
        return 2
    except SweepError as exc:
        print(f"marketsim {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        if whole_process:  # the command is over: a second Ctrl-C must not break the exit
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"marketsim {args.command}: {str(exc) or 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `marketsim run | head -1`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from marketsim.commands.run import run_command

        return run_command(args.scenario, seed=args.seed, ticks=args.ticks,
                           overrides=parse_sets(args.sets), out=args.out,
                           progress=not args.quiet, argv=args.argv)
    if args.command == "sweep":
        from marketsim.commands.sweep import sweep_command

        return sweep_command(args.experiment, out=args.out, workers=args.workers,
                             scheduler=args.scheduler, progress=not args.quiet, argv=args.argv)
    if args.command == "report":
        from marketsim.commands.report import report_command

        return report_command(args.dir)
    if args.command == "viz":
        from marketsim.commands.viz import viz_command

        return viz_command(args.scenario, host=args.host, port=args.port)
    if args.command == "calibrate":
        from marketsim.commands.calibrate import calibrate_command

        return calibrate_command(args.scenario, seeds=args.seeds, markdown=args.markdown)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
