"""``marketsim report DIR``: tables and plots of a sweep's results."""

from __future__ import annotations

import argparse
from pathlib import Path


def report_command(dir: Path) -> int:  # noqa: A002 - the CLI's argument name
    """Print the sweep's tables and write tables (CSV, Markdown) and PNG plots to DIR/report/.

    Returns:
        0 on success; a bad DIR raises :class:`~marketsim.ScenarioError` (exit 2).
    """
    import os
    import sys

    from marketsim.report import make_report

    try:
        make_report(dir)
    except BrokenPipeError:  # output piped into `head` and cut short: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def add_arguments(rep: argparse.ArgumentParser) -> None:
    """``marketsim report``'s arguments."""
    rep.add_argument("dir", type=Path, help="results directory of a sweep")


def main(args: argparse.Namespace) -> int:
    """Entry of ``marketsim report`` from parsed arguments."""
    return report_command(args.dir)
