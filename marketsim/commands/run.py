"""``marketsim run``: one scenario, one seed; a summary table, optionally Parquet output."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from marketsim.scenario import MarketScenario

SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("active_labs", "active labs", "{:.0f}"),
    ("hhi_revenue", "HHI of revenue (0-10,000)", "{:,.0f}"),
    ("cr1_revenue", "leader's revenue share", "{:.1%}"),
    ("cr4_revenue", "top-4 revenue share", "{:.1%}"),
    ("bimodality", "bimodality of log lab size", "{:.2f}"),
    ("owned_compute_share", "owned share of compute", "{:.1%}"),
    ("leader_run_rate", "leader's run rate ($bn/yr)", "{:,.1f}"),
    ("price_per_mtok", "price ($/M tokens)", "{:.2f}"),
    ("rent_per_gpu_hour", "rent ($/GPU-hour)", "{:.2f}"),
    ("top_valuation", "top valuation ($bn)", "{:,.0f}"),
    ("adoption", "buyers adopted", "{:.1%}"),
    ("unmet_share", "unmet demand", "{:.1%}"),
)
TOTAL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("entries", "entries", "{:.0f}"),
    ("exits_acquired", "exits by acquisition", "{:.0f}"),
    ("exits_bankrupt", "exits by bankruptcy", "{:.0f}"),
    ("vc_deployed", "VC money deployed ($bn)", "{:,.0f}"),
    ("amount_refused", "offers refused ($bn)", "{:,.0f}"),
)


def summary_table(df: pd.DataFrame, regime: str, title: str) -> str:
    """Plain-text summary: start and end of the key reporters, totals, the regime."""
    first, last = df.iloc[0], df.iloc[-1]
    width = max(len(label) for _, label, _ in SUMMARY_COLUMNS + TOTAL_COLUMNS)
    lines = [title, f"{'':{width}}  {first['date']:>12}  {last['date']:>12}"]
    for col, label, fmt in SUMMARY_COLUMNS:
        lines.append(f"{label:{width}}  {fmt.format(first[col]):>12}  {fmt.format(last[col]):>12}")
    lines.append(f"{'totals over the run':{width}}")
    for col, label, fmt in TOTAL_COLUMNS:
        lines.append(f"{label:{width}}  {'':>12}  {fmt.format(df[col].sum()):>12}")
    lines.append(f"{'regime':{width}}  {'':>12}  {regime:>12}")
    return "\n".join(lines)


#: What ``marketsim run --out`` writes; a folder holding only these may be replaced.
RUN_FILES: tuple[str, ...] = ("ticks.parquet", "labs.parquet", "manifest.json")


def check_out_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a folder holding anything but an earlier run.

    Allowed: a path that does not exist yet, an empty folder, or a folder an earlier
    ``marketsim run --out`` wrote (its ``manifest.json`` is of kind "run") holding nothing
    else: it is replaced whole, so a file of the user's there would be lost.

    Raises:
        ScenarioError: ``out`` is a file, or a folder with files ``marketsim run`` did not write.
    """
    import json

    from marketsim.errors import ScenarioError

    allowed = "a new or empty folder, or one written by 'marketsim run --out' and nothing else"
    if not out.exists():
        return
    if not out.is_dir():
        raise ScenarioError("exists and is not a folder", key="--out", given=str(out),
                            allowed=allowed)
    if not any(out.iterdir()):
        return
    try:
        kind = json.loads((out / "manifest.json").read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None
    others = sorted(p.name for p in out.iterdir() if p.name not in RUN_FILES)
    if kind != "run" or others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise ScenarioError(f"folder holds other files ({shown or 'no run manifest'}); they "
                            "would be lost", key="--out", given=str(out), allowed=allowed)


def staging_dir(out: Path) -> Path:
    """A new, empty folder beside ``out`` to write into, with the umask's permissions.

    Made before the run, so that an ``--out`` that cannot be written fails at once rather
    than after the run.

    Raises:
        ScenarioError: the folder cannot be created (no permission, read-only file system).
    """
    from marketsim.errors import ScenarioError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise ScenarioError(f"cannot write there ({exc.strerror or exc})", key="--out",
                            given=str(out), allowed="a folder you can write to") from None
    umask = os.umask(0o022)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private (0700); results are to be shared
    return tmp


def run_command(
    scenario: str | None,
    *,
    seed: int,
    ticks: int | None,
    overrides: dict[str, Any],
    out: Path | None,
    progress: bool = True,
    argv: Sequence[str] | None = None,
    plot: Path | None = None,
) -> int:
    """Run the scenario and print its summary; with ``out``, write ticks, labs and manifest.

    With ``plot``, also draw the run's main series over its regime band into that file
    (PNG, SVG or PDF by its suffix).
    """
    from marketsim.errors import ScenarioError
    from marketsim.scenario import load_scenario

    if ticks is not None and ticks < 1:
        raise ScenarioError("must be a positive number of months", key="--ticks", given=ticks,
                            allowed="integer >= 1")
    if seed < 0:
        raise ScenarioError("must not be negative", key="--seed", given=seed,
                            allowed="integer >= 0")
    if out is not None:
        out = Path(out)
        check_out_dir(out)
    if plot is not None:
        from marketsim.commands.paths import check_output_file
        from marketsim.report_run import check_plot_path

        plot = check_output_file(plot, "--plot")
        check_plot_path(plot)
    sc = load_scenario(scenario, overrides=overrides)
    if ticks is not None and ticks > sc.horizon:
        check_ticks(sc, ticks)
    from marketsim.model import AIMarketModel  # Mesa and NumPy: after the input is checked

    tmp = staging_dir(out) if out is not None else None
    try:
        model = AIMarketModel(sc, rng=seed)
        n = ticks if ticks is not None else sc.horizon
        model.run(ticks=n, progress=progress and n * sc.buyers.count >= 2_000_000)
        df = model.datacollector.get_model_vars_dataframe()
        if out is not None and tmp is not None:  # first: a closed stdout must not lose it
            _write_run(model, df, tmp, out, seed=seed, ticks=n, overrides=overrides, argv=argv)
        print(summary_table(df, model.regime,
                            f"marketsim run: {sc.label} (seed {seed}, {n} months)"))
        if out is not None:
            print(f"wrote {out}/ticks.parquet, labs.parquet, manifest.json")
        if plot is not None:
            _write_plot(df, model.regime, Path(plot), f"{sc.label} (seed {seed}, {n} months)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def check_ticks(sc: MarketScenario, ticks: int) -> None:
    """Refuse a ``--ticks`` past the horizon the scenario's schema allows.

    Run for ``ticks`` months, the scenario (as loaded, overrides applied) must pass the
    checks it would pass with ``horizon = ticks``: the horizon's bound and the growth rates
    that compound over it.

    Raises:
        ScenarioError: the scenario with that horizon is refused (its reason, keyed
            ``--ticks``).
    """
    from marketsim.errors import ScenarioError
    from marketsim.scenario import validate_scenario

    try:
        validate_scenario(sc.to_toml_dict(), file=sc.source, overrides={"horizon": ticks})
    except ScenarioError as exc:
        raise ScenarioError(f"{ticks} months, checked as the horizon: {exc}",
                            key="--ticks") from None


def _write_plot(df: pd.DataFrame, regime: str, path: Path, title: str) -> None:
    """Draw the run's series into ``path``; a file that cannot be written is one line."""
    from marketsim.errors import ScenarioError
    from marketsim.report_run import plot_run

    try:
        plot_run(df.reset_index(drop=True), regime, path, title)
    except OSError as exc:
        raise ScenarioError(f"cannot write the plot ({exc.strerror or exc})", key="--plot",
                            given=str(path), allowed="a file in a folder you can write to"
                            ) from None
    print(f"wrote {path}")


def _write_run(model: Any, df: pd.DataFrame, tmp: Path, out: Path, *, seed: int, ticks: int,
               overrides: dict[str, Any], argv: Sequence[str] | None) -> None:
    """Write the run's files into ``tmp``, then put ``tmp`` in place of ``out`` in one rename."""
    from marketsim.errors import ScenarioError
    from marketsim.manifest import absolute, build_manifest, file_hash, write_json_atomic
    from marketsim.reporters import lab_table

    sc = model.scenario_config
    df.to_parquet(tmp / "ticks.parquet", index=False)
    lab_table(model).to_parquet(tmp / "labs.parquet", index=False)
    write_json_atomic(tmp / "manifest.json", build_manifest(
        argv=argv, kind="run", seed=seed, ticks=ticks, overrides=overrides,
        scenario_file=absolute(sc.source),
        scenario_file_hash=file_hash(sc.source),
        scenario_hash=sc.content_hash(), scenario=sc.to_toml_dict()))
    try:
        check_out_dir(out)  # again: a file may have been put there while the model ran
    except ScenarioError as exc:  # keep this run's files beside it rather than lose them
        kept = Path(tempfile.mkdtemp(prefix=f"{out.name}.new.", dir=out.parent))
        os.replace(tmp, kept)
        raise ScenarioError(f"{exc}; this run's files are in {kept}") from None
    old = None
    if out.exists():  # an earlier run's folder (check_out_dir): swap, then delete
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.replace(out, old / "previous")
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old / "previous", out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def add_arguments(r: argparse.ArgumentParser) -> None:
    """``marketsim run``'s arguments."""
    r.add_argument("scenario", nargs="?", default=None,
                   help="scenario file or shipped name (default: scenarios/default.toml)")
    r.add_argument("--seed", type=int, default=0, help="integer seed (default 0)")
    r.add_argument("--ticks", type=int, default=None, help="months to run (default: horizon)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a dotted scenario key, e.g. --set buyers.count=20000")
    r.add_argument("--out", type=Path, default=None,
                   help="write ticks.parquet, labs.parquet and manifest.json here")
    r.add_argument("--plot", type=str, default=None, metavar="FILE",
                   help="draw the main series and the regime band (.png, .svg or .pdf)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--debug", action="store_true",
                   help="show the traceback of an error in an agent's decision")


def main(args: argparse.Namespace) -> int:
    """Entry of ``marketsim run`` from parsed arguments."""
    from marketsim.cli import parse_sets

    return run_command(args.scenario, seed=args.seed, ticks=args.ticks,
                       overrides=parse_sets(args.sets), out=args.out,
                       progress=not args.quiet, argv=args.argv, plot=args.plot)
