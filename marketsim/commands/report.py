"""``marketsim report DIR [DIR ...]``: tables and plots of a sweep's results.

Several folders are compared side by side.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def report_command(dirs: list[Path], *, fmt: str = "png", x: str | None = None,
                   y: str | None = None, out: Path | None = None) -> int:
    """Report one results folder, or compare several; print the tables, write the files.

    Returns:
        0 on success; a bad folder, an unreadable file or a bad option raises
        :class:`~marketsim.ScenarioError` (one line, exit 2).
    """
    from marketsim.errors import ScenarioError
    from marketsim.report import compare_report, make_report

    if len(dirs) > 1 and (x or y):
        raise ScenarioError("--x and --y apply to the report of one folder", key="--x/--y",
                            given=f"{len(dirs)} folders", allowed="one DIR with --x/--y")
    try:
        if len(dirs) == 1:
            make_report(dirs[0], fmt=fmt, x=x, y=y, out=out, echo=_echo)
        else:
            compare_report(dirs, fmt=fmt, out=out, echo=_echo)
    except OSError as exc:  # a report file that cannot be written: one line
        raise ScenarioError(f"cannot write ({exc.strerror or exc})",
                            file=str(exc.filename or out or dirs[0])) from None
    return 0


def _echo(text: str) -> None:
    """Print a block of the report.

    Once the reader of a pipe has gone (``marketsim report DIR | head``), the rest goes to
    /dev/null: the report's files are still written, and no traceback is shown.
    """
    from marketsim.cli import silence_stdout

    try:
        print(text)
    except BrokenPipeError:
        silence_stdout()


def add_arguments(rep: argparse.ArgumentParser) -> None:
    """``marketsim report``'s arguments."""
    rep.add_argument("dirs", type=Path, nargs="+", metavar="DIR",
                     help="results directory of a sweep; several: compared side by side")
    rep.add_argument("--format", choices=("png", "svg", "pdf"), default="png", dest="fmt",
                     help="plot format (default png)")
    rep.add_argument("--x", default=None, metavar="KEY",
                     help="regime map's x axis (default: the most influential driver)")
    rep.add_argument("--y", default=None, metavar="KEY",
                     help="regime map's y axis (default: the next most influential)")
    rep.add_argument("--out", type=Path, default=None,
                     help="folder for the files (default DIR/report, or "
                          "DIR1/report/compare when comparing)")


def main(args: argparse.Namespace) -> int:
    """Entry of ``marketsim report`` from parsed arguments."""
    return report_command(args.dirs, fmt=args.fmt, x=args.x, y=args.y, out=args.out)
