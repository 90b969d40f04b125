"""Tables and plots of a sweep's results directory (``marketsim report DIR``).

Tables (printed, and written as CSV and Markdown into ``DIR/report/``):

- ``regimes``: share of all runs ending in each regime, with 95 % intervals;
- ``regime_share``: per design point, its parameter values, runs, the share of runs ending
  in each regime and the dominant regime (``tie: a / b`` when regimes tie);
- ``regime_by_driver``: regime shares per bin of each varied parameter (others pooled);
- ``drivers``: the parameters ranked by influence (total Sobol' index for sobol designs,
  else extra-trees importance for the final regime);
- ``outputs``: per design point, the key outputs' mean with its 95 % interval over seeds;
- ``summary``: over all runs, the key outputs' mean (95 % interval) and quantiles;
- ``sobol`` (sobol designs) and ``sobol_second_order`` (with ``second_order = true``).

Plots (``--format png|svg|pdf``): ``timeseries``, ``regime_map`` (over the two most
influential drivers, or those named), ``regime_by_driver``, ``sobol``. Failed runs
(``DIR/failures/*.json``) are listed with the command that replays each.
``marketsim report DIR1 DIR2 ...`` compares folders side by side instead.

Part files a resumed sweep would set aside (damaged, copies, another experiment's) are left
out, one line on stderr each; the files are written into a hidden folder and moved into
place once all are written, so a report that fails leaves the previous one whole.

The numbers come from :mod:`marketsim.report_stats`, the files from
:mod:`marketsim.report_data`, the figures from :mod:`marketsim.report_plots`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from marketsim.errors import ScenarioError
from marketsim.manifest import make_folder
from marketsim.report_data import KEY_OUTPUTS, MONTHLY_COUNTS, SweepResults, read_failures
from marketsim.report_plots import (
    FORMATS,
    REGIME_COLOURS,
    SERIES,
    plot_compare,
    plot_regime_by_driver,
    plot_regime_map,
    plot_sobol,
    plot_timeseries,
)
from marketsim.report_stats import (
    SOBOL_OUTPUTS,
    compare_table,
    driver_ranking,
    outputs_by_point,
    regime_by_driver,
    regime_share,
    regime_totals,
    sobol_indices,
    summary,
)
from marketsim.store import has_parts

__all__ = [
    "FORMATS", "KEY_OUTPUTS", "MONTHLY_COUNTS", "REGIME_COLOURS", "SERIES", "SOBOL_OUTPUTS",
    "SweepResults", "compare_report", "make_report", "map_axes", "plot_sobol",
    "regime_share", "regime_totals", "sobol_indices", "to_markdown", "to_text",
]
_MAX_ROWS_PRINTED = 25
#: Names (without suffix) of the tables and plots of :func:`make_report`.
_REPORT_STEMS = ("regimes", "regime_share", "regime_by_driver", "drivers", "summary",
                 "outputs", "sobol", "sobol_second_order", "timeseries", "regime_map")


def to_markdown(df: pd.DataFrame, *, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table (numbers to 4 significant digits)."""
    d = df.reset_index() if index else df
    head = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in d.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if v != v else f"{v:.4g}"
    return str(v)


def to_text(df: pd.DataFrame, max_rows: int = _MAX_ROWS_PRINTED) -> str:
    """A plain-text table for the terminal, cut to ``max_rows`` rows."""
    with pd.option_context("display.width", 160, "display.max_columns", 30,
                           "display.float_format", "{:.4g}".format):
        if len(df) > max_rows:
            return (df.head(max_rows).to_string()
                    + f"\n... {len(df) - max_rows} more rows in the CSV")
        return df.to_string()


def map_axes(res: SweepResults, ranking: pd.DataFrame, x: str | None = None,
             y: str | None = None) -> tuple[str, str] | None:
    """The regime map's two axes: those named, else the two most influential drivers.

    Returns None for a one-parameter sweep (no map: the shares per bin show it).

    Raises:
        ScenarioError: a named key is not one of the sweep's varied parameters.
    """
    for flag, key in (("--x", x), ("--y", y)):
        if key is not None and key not in res.names:
            raise ScenarioError("not a varied parameter of this sweep", file=str(res.root),
                                key=flag, given=key, allowed=", ".join(res.names))
    if len(res.names) < 2:
        return None
    ranked = [k for k in ranking["parameter"] if k not in (x, y)]
    xk = x if x is not None else ranked.pop(0)
    yk = y if y is not None else next(k for k in ranked if k != xk)
    if xk == yk:
        raise ScenarioError("the map needs two different parameters", key="--y", given=yk,
                            allowed=", ".join(k for k in res.names if k != xk))
    return xk, yk


def warn_stderr(line: str) -> None:
    """Print a note of the report on stderr, as ``marketsim sweep`` prints its own."""
    print(f"marketsim report: {line}", file=sys.stderr)


@contextmanager
def staged(target: Path, stems: Sequence[str], fmt: str) -> Iterator[Path]:
    """A hidden folder to write a report into, moved into ``target`` once it is complete.

    A new ``target`` is that folder renamed into place (it is made beside ``target``). Into
    an existing one each file is renamed, replacing the previous report's file of that name,
    and the previous report's files this one did not write (``stems`` with ``.csv``, ``.md``
    or ``.<fmt>``) are removed; other files stay (``DIR/report/compare``, a user's own). If
    writing fails the hidden folder is removed and ``target`` stays as it was.
    """
    target = Path(target)
    fresh = not target.exists()
    home = make_folder(target.parent if fresh else target)
    tmp = home / f".{target.name or 'report'}.{os.getpid()}-{secrets.token_hex(3)}.tmp"
    tmp.mkdir()
    try:
        yield tmp
        if fresh:
            os.replace(tmp, target)
        else:
            new = {p.name for p in tmp.iterdir()}
            for name in sorted(new):
                os.replace(tmp / name, target / name)
            for stale in {f"{s}.{x}" for s in stems for x in ("csv", "md", fmt)} - new:
                (target / stale).unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Writer:
    """Writes tables (CSV and Markdown) and collects the files written."""

    def __init__(self, out: Path, echo: Callable[[str], Any]) -> None:
        self.out, self.echo, self.files = out, echo, []

    def table(self, df: pd.DataFrame, stem: str, title: str, show: pd.DataFrame | None = None,
              ) -> None:
        for suffix, text in ((".csv", df.to_csv()),
                             (".md", f"## {title}\n\n{to_markdown(df)}")):
            path = self.out / f"{stem}{suffix}"
            path.write_text(text, encoding="utf-8")  # into a staged folder (see staged)
            self.files.append(path)
        self.echo(f"\n{title}\n" + to_text(df if show is None else show))

    def plot(self, made: Path | None) -> None:
        if made is not None:
            self.files.append(made)


def make_report(root: str | Path, *, echo: Callable[[str], Any] = print, fmt: str = "png",
                x: str | None = None, y: str | None = None, out: str | Path | None = None,
                warn: Callable[[str], Any] = warn_stderr) -> list[Path]:
    """Write every table and plot into ``out`` (``DIR/report/``); print the tables.

    The files are written into a hidden folder and moved into ``out`` only once all are
    written (:func:`staged`): a report that fails leaves the previous one as it was.

    Args:
        root: the results directory.
        echo: prints one block of text.
        warn: prints a note: a part file left out, a plot that cannot be drawn.
        fmt: plot format, one of :data:`FORMATS`.
        x: the regime map's x axis (default: the most influential driver).
        y: its y axis (default: the next most influential).
        out: where to write (default ``DIR/report``).

    Returns:
        The files written.

    Raises:
        ScenarioError: not a sweep's results directory, no finished runs, a file that
            cannot be read (named), or a bad ``x``/``y``/``fmt``.
    """
    _check_format(fmt)
    res = SweepResults(root, warn=warn)
    failures = read_failures(res.root)
    sob, note = sobol_indices(res)
    ranking = driver_ranking(res, sob)
    axes = map_axes(res, ranking, x, y)
    target = Path(out or res.root / "report")
    with staged(target, _REPORT_STEMS, fmt) as folder:
        w = _Writer(folder, echo)
        stored, planned = len(res.runs), res.n_runs_planned
        echo(f"{res.name}: {stored} of {planned} runs ({res.method} design, {len(res.points)} "
             f"points x {res.design.get('replications')} replications, {res.horizons} months)"
             + ("" if stored >= planned else " - sweep not finished"))
        by_driver = _tables(res, sob, note, ranking, w)
        _plots(res, sob, axes, by_driver, fmt, w, warn)
    _echo_failures(res, failures, echo)
    files = [target / p.name for p in w.files]
    echo(f"\nwrote {len(files)} files to {target}: "
         + ", ".join(sorted({p.name for p in files if p.suffix == f'.{fmt}'})))
    echo(f"Open a run in the visualiser: marketsim viz --replay {res.root} --run RUN_ID")
    return files


def _tables(res: SweepResults, sob: pd.DataFrame | None, note: str, ranking: pd.DataFrame,
            w: _Writer) -> pd.DataFrame:
    """Write and print every table; return the regime shares per driver bin (for a plot)."""
    w.table(regime_totals(res), "regimes",
            "Share of runs ending in each regime (95% interval)")
    w.table(regime_share(res), "regime_share", "Regime share per design point")
    by_driver = regime_by_driver(res)
    w.table(by_driver.set_index(["parameter", "bin"]), "regime_by_driver",
            "Regime share per bin of each driver (other drivers pooled)")
    w.table(ranking.set_index("parameter"), "drivers", "Drivers, most influential first")
    _output_tables(res, w)
    _sobol_tables(res, sob, note, w)
    return by_driver


def _plots(res: SweepResults, sob: pd.DataFrame | None, axes: tuple[str, str] | None,
           by_driver: pd.DataFrame, fmt: str, w: _Writer, warn: Callable[[str], Any]) -> None:
    """Draw every plot; say why the time series are missing when they are."""
    made = plot_timeseries(res, w.out / f"timeseries.{fmt}")
    if made is None:
        ticks = res.root / "ticks"
        warn(f"{res.root}: no timeseries.{fmt}: " + (
            f"{ticks} holds none of the series" if has_parts(ticks) else
            f"{ticks} is missing or empty: no time series and no entries/exits totals "
            "(both come from the tick tables)"))
    w.plot(made)
    w.plot(plot_regime_by_driver(by_driver, res.name, w.out / f"regime_by_driver.{fmt}"))
    if axes is not None:
        w.plot(plot_regime_map(res, w.out / f"regime_map.{fmt}", *axes))
    if sob is not None:
        w.plot(plot_sobol(sob, res.name, w.out / f"sobol.{fmt}"))


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ScenarioError("unknown plot format", key="--format", given=fmt,
                            allowed=" | ".join(FORMATS))


def _output_tables(res: SweepResults, w: _Writer) -> None:
    if not res.outputs:
        return
    what = "final values; *_total: entries and exits summed over the run"
    w.table(summary(res), "summary", f"Outputs over all runs: mean, 95% interval, quantiles "
                                     f"({what})")
    byp = outputs_by_point(res)
    show = byp[[*res.names, *[f"{c}_{k}" for c in ("hhi_revenue", "active_labs")
                              if c in res.outputs for k in ("mean", "lo", "hi")]]]
    w.table(byp, "outputs", f"Outputs per design point: mean and 95% interval over seeds "
                            f"({what}; all outputs in outputs.csv)", show=show)


def _sobol_tables(res: SweepResults, sob: pd.DataFrame | None, note: str, w: _Writer) -> None:
    if sob is not None:
        w.table(sob.set_index(["output", "parameter"]), "sobol",
                "Sobol' indices of final values (S1 first order, ST total, 95% conf.)")
    if note and res.method == "sobol":
        w.echo(f"Sobol': {note}")
    if res.design.get("second_order"):
        pairs, _ = sobol_indices(res, second_order=True)
        if pairs is not None:
            w.table(pairs.set_index(["output", "parameter", "other"]), "sobol_second_order",
                    "Second-order Sobol' indices of each pair of parameters (S2, 95% conf.)")


def _echo_failures(res: SweepResults, failures: pd.DataFrame, echo: Callable[[str], Any],
                   ) -> None:
    """List the failed runs with the command that replays each."""
    if failures.empty:
        return
    lines = [f"\n{len(failures)} runs failed (records in {res.root / 'failures'}):"]
    for r in failures.itertuples(index=False):
        lines.append(f"  run {r.run_id} (seed {r.seed}): {r.error}")
        if r.command:
            lines.append(f"    replay: {r.command}")
    echo("\n".join(lines))


def compare_report(roots: Sequence[str | Path], *, echo: Callable[[str], Any] = print,
                   fmt: str = "png", out: str | Path | None = None,
                   warn: Callable[[str], Any] = warn_stderr) -> list[Path]:
    """Results folders side by side: regime shares and key outputs with 95 % intervals.

    Writes ``compare.csv``, ``compare.md`` and ``compare.<fmt>`` into ``out`` (default:
    ``report/compare`` inside the first folder), all at once (:func:`staged`).

    Raises:
        ScenarioError: a folder is not a sweep's results, or a file in it cannot be read.
    """
    _check_format(fmt)
    results = [SweepResults(r, warn=warn) for r in roots]
    failures = [read_failures(res.root) for res in results]
    table = compare_table(results)
    target = Path(out or results[0].root / "report" / "compare")
    echo(f"Comparing {len(results)} results folders")
    shown = [*table.attrs["regimes"], *[c for c in ("hhi_revenue", "active_labs")
                                        if c in table.attrs["outputs"]]]
    show = table[["runs"]].copy()
    for c in shown:
        show[c] = [f"{m:.3g} [{lo:.3g}, {hi:.3g}]" for m, lo, hi in zip(
            table[c], table[f"{c}_lo"], table[f"{c}_hi"], strict=True)]
    with staged(target, ("compare",), fmt) as folder:
        w = _Writer(folder, echo)
        w.table(table, "compare", "Folders side by side: share or mean [95% interval]",
                show=show)
        w.plot(plot_compare(table, w.out / f"compare.{fmt}"))
    for res, failed in zip(results, failures, strict=True):
        _echo_failures(res, failed, echo)
    echo(f"\nwrote {len(w.files)} files to {target}")
    return [target / p.name for p in w.files]
