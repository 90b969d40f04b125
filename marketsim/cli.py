"""The ``marketsim`` command: run, sweep, report, viz, calibrate.

Exit codes: 0 success, 2 bad input (one line on stderr naming file, key, value and what is
allowed; never a traceback), 1 anything else. An agent's decision that returns a bad value
(:class:`~marketsim.errors.DecisionError`, a bug in a user's class) is one line with exit 1,
its traceback with ``marketsim run --debug``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from marketsim.errors import DecisionError, ScenarioError, SweepError

#: Exit code when the reader of standard output went away (``| head``): 128 + SIGPIPE, what
#: a shell reports for a process a broken pipe stopped; not 1, which says runs failed.
EXIT_BROKEN_PIPE = 141


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


# Each sub-command's module owns its arguments (``add_arguments``) and its entry (``main``);
# the modules import their heavy dependencies inside ``main``, so parsing stays quick.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("marketsim.commands.run", "run one scenario and print a summary"),
    "sweep": ("marketsim.commands.sweep", "run an experiment's parameter sweep"),
    "report": ("marketsim.commands.report", "tables and plots of a sweep's results"),
    "viz": ("marketsim.commands.viz", "serve the browser visualiser (Mesa SolaraViz)"),
    "calibrate": ("marketsim.commands.calibrate",
                  "compare the model with the public figures it is calibrated to"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    p = _Parser(prog="marketsim", description=__doc__.splitlines()[0].replace("``", ""))
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        importlib.import_module(module).add_arguments(sub.add_parser(name, help=help_text))
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
    except DecisionError as exc:  # a user's agent class returned a bad value
        if getattr(args, "debug", False):
            raise
        hint = " (--debug shows the traceback)" if hasattr(args, "debug") else ""
        print(f"marketsim {args.command}: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        if whole_process:  # the command is over: a second Ctrl-C must not break the exit
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"marketsim {args.command}: {str(exc) or 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `marketsim run | head -1`: the reader has gone
        silence_stdout()  # no error at exit
        return EXIT_BROKEN_PIPE


def silence_stdout() -> None:
    """Send the rest of standard output to /dev/null: its reader (``| head``) has gone."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _dispatch(args: argparse.Namespace) -> int:
    return importlib.import_module(COMMANDS[args.command][0]).main(args)


if __name__ == "__main__":
    sys.exit(main())
