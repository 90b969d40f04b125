"""Tables and plots of a sweep's results directory (``marketsim report DIR``).

Tables (printed, and written as CSV and Markdown into ``DIR/report/``):

- ``regime_share``: per design point, its parameter values, runs, the share of runs ending
  in each regime and the dominant regime;
- ``outputs``: per design point, mean and standard deviation across replications of the key
  outputs' final values;
- ``summary``: over all runs, regime shares and the key outputs' mean, spread and quantiles;
- ``sobol`` (sobol designs): first-order and total Sobol' indices (SALib.analyze.sobol) of
  the key outputs, with 95% confidence intervals; ``sobol_second_order`` (designs with
  ``second_order = true``): the second-order index of each pair of parameters.

Plots (PNG, Matplotlib's Agg backend): ``timeseries.png`` (median and 10–90% band across
runs, per design point when there are few, else per final regime), ``regime_map.png`` (share
of seeds ending in each regime over the first two varied parameters), ``sobol.png``.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.errors import ScenarioError
from marketsim.experiment import months_text
from marketsim.metrics import REGIMES
from marketsim.store import has_parts, journal_runs, read_manifest, read_table

#: Reporters that count events of one month; the report adds their totals over each run,
#: from the tick table, as ``<name>_total`` (their final value is only the last month's).
MONTHLY_COUNTS: tuple[str, ...] = ("entries", "exits_bankrupt", "exits_acquired")
#: Outputs summarised per design point and over all runs (those kept by the sweep): final
#: values, and the run totals of :data:`MONTHLY_COUNTS`.
KEY_OUTPUTS: tuple[str, ...] = (
    "hhi_revenue", "cr1_revenue", "bimodality", "middle_share", "active_labs",
    "owned_compute_share", "leader_run_rate", "price_per_mtok", "entries_total",
    "exits_bankrupt_total", "exits_acquired_total",
)
#: Outputs whose Sobol' indices are computed for sobol designs.
SOBOL_OUTPUTS: tuple[str, ...] = ("hhi_revenue", "bimodality")
#: Below this base sample size N the report warns that Sobol' indices are mostly noise.
SOBOL_FEW_SAMPLES = 32
#: Tick series plotted in timeseries.png, with their panel titles (what and unit).
SERIES: dict[str, str] = {
    "hhi_revenue": "HHI of revenue (0–10,000)",
    "active_labs": "active labs",
    "bimodality": "bimodality of log lab size (Sarle)",
    "owned_compute_share": "owned share of compute (0–1)",
    "cr1_revenue": "leader's revenue share, CR1 (0–1)",
    "price_per_mtok": "price ($ per M tokens)",
}
REGIME_COLOURS: dict[str, str] = {
    "competitive": "#2ca02c", "concentrated": "#ff7f0e", "bifurcated": "#9467bd",
    "consolidated": "#d62728",
}
_MAX_ROWS_PRINTED = 25
_MAX_POINT_LINES = 6
_MAX_PLOTTED_RUNS = 2000


# ----------------------------------------------------------------------------- loading
class SweepResults:
    """A results directory read back: manifest, design points, runs and (lazily) ticks.

    Args:
        root: the results directory.

    Raises:
        ScenarioError: not a sweep's results directory, or no run stored yet.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        design = self.manifest.get("design") or {}
        if self.manifest.get("kind") != "sweep" or "names" not in design:
            raise ScenarioError("manifest.json is not a sweep's", file=str(self.root),
                                allowed="a directory written by 'marketsim sweep --out DIR'")
        self.design = design
        self.names: list[str] = list(design["names"])
        self.method: str = design["method"]
        self.points = pd.DataFrame(design["points"]).set_index("point")[self.names]
        try:
            self.runs = read_table(self.root, "runs")
            # Runs finished but not yet flushed to Parquet (a sweep under way or killed).
            pending = journal_runs(self.root, exclude=set(self.runs.get("run_id", [])))
        except Exception as exc:  # noqa: BLE001 - damaged files: one clear line
            raise ScenarioError(f"cannot read runs ({type(exc).__name__}: {exc})",
                                file=str(self.root / "runs")) from None
        self._pending_ticks = pd.concat([t for _, t in pending], ignore_index=True) if (
            pending) else None
        if pending:
            self.runs = pd.concat([self.runs, *(r for r, _ in pending)], ignore_index=True
                                  ).sort_values("run_id").reset_index(drop=True)
        if self.runs.empty:
            raise ScenarioError("no finished runs yet", file=str(self.root),
                                allowed="a directory with runs: run 'marketsim sweep' first")
        self.n_runs_planned = int(design.get("n_runs", len(self.runs)))
        self._add_run_totals()

    def _add_run_totals(self) -> None:
        """Add ``<name>_total`` to :attr:`runs`: each monthly count summed over the run."""
        ticks = self.ticks(list(MONTHLY_COUNTS), run_ids=None)
        kept = [c for c in MONTHLY_COUNTS if c in ticks.columns]
        if not kept:
            return
        totals = ticks.groupby("run_id")[kept].sum().add_suffix("_total")
        self.runs = self.runs.join(totals, on="run_id")

    @property
    def name(self) -> str:
        """The experiment's name."""
        return str(self.manifest.get("experiment_name") or self.root.name)

    @property
    def outputs(self) -> list[str]:
        """Key outputs that the sweep kept."""
        return [c for c in KEY_OUTPUTS if c in self.runs.columns]

    def ticks(self, columns: list[str], run_ids: list[int] | None = None) -> pd.DataFrame:
        """Tick table with ``run_id``, ``tick`` and the given columns (those kept).

        Args:
            columns: reporter columns wanted (missing ones are left out).
            run_ids: only these runs (None: all).
        """
        import pyarrow.dataset as ds

        folder = self.root / "ticks"
        pending = self._pending_ticks
        parts = has_parts(folder)
        have = set(ds.dataset(folder, format="parquet").schema.names) if parts else (
            set(pending.columns) if pending is not None else set())
        cols = ["run_id", "tick", *[c for c in columns if c in have]]
        if not {"run_id", "tick"} <= have:
            return pd.DataFrame(columns=cols)
        if not parts:
            stored = pd.DataFrame(columns=cols)
        elif run_ids is None:
            stored = read_table(self.root, "ticks", columns=cols)
        else:
            stored = ds.dataset(folder, format="parquet").to_table(
                columns=cols, filter=ds.field("run_id").isin(list(run_ids))).to_pandas()
        if pending is not None:
            extra = pending[cols]
            if run_ids is not None:
                extra = extra[extra["run_id"].isin(list(run_ids))]
            # A run whose ticks part was written just before a kill or during a flush is
            # in both: the stored rows win.
            extra = extra[~extra["run_id"].isin(stored["run_id"].unique())]
            stored = pd.concat([stored, extra], ignore_index=True) if len(stored) else extra
        return stored.sort_values(["run_id", "tick"]).reset_index(drop=True)


# ------------------------------------------------------------------------------ tables
def _point_label(points: pd.DataFrame, p: int, names: list[str]) -> str:
    """``margin=0.8, switching_cost=1``: last parts of the keys, whole keys where they clash."""
    last = [k.split(".")[-1] for k in names]
    vals = points.loc[p]
    return ", ".join(f"{k if last.count(short) > 1 else short}={_fmt(vals[k])}"
                     for k, short in zip(names, last, strict=True))


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer() and abs(v) < 1e9:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def regime_share(res: SweepResults) -> pd.DataFrame:
    """Per design point: parameter values, runs, share ending in each regime, dominant."""
    counts = pd.crosstab(res.runs["point"], res.runs["regime"])
    regimes = [r for r in REGIMES if r in counts.columns] + [
        r for r in counts.columns if r not in REGIMES]
    counts = counts.reindex(columns=regimes, fill_value=0)
    n = counts.sum(axis=1)
    share = counts.div(n, axis=0)
    out = res.points.loc[share.index].copy()
    out["runs"] = n
    for r in regimes:
        out[r] = share[r]
    out["dominant"] = share.idxmax(axis=1)
    out.index.name = "point"
    return out


def outputs_by_point(res: SweepResults) -> pd.DataFrame:
    """Per design point: mean and sd of each key output (final value, or run total)."""
    g = res.runs.groupby("point")[res.outputs]
    mean, std = g.mean(), g.std(ddof=1)
    out = res.points.loc[mean.index].copy()
    for c in res.outputs:
        out[f"{c}_mean"] = mean[c]
        out[f"{c}_sd"] = std[c]
    out.index.name = "point"
    return out


def summary(res: SweepResults) -> pd.DataFrame:
    """Key outputs over all runs: mean, sd, 10%, median, 90%."""
    df = res.runs[res.outputs].astype(float)
    return pd.DataFrame({
        "mean": df.mean(), "sd": df.std(ddof=1), "p10": df.quantile(0.1),
        "median": df.median(), "p90": df.quantile(0.9),
    }).rename_axis("output")


def regime_totals(res: SweepResults) -> pd.DataFrame:
    """Share of all runs ending in each regime."""
    counts = res.runs["regime"].value_counts()
    regimes = [r for r in REGIMES if r in counts.index] + [
        r for r in counts.index if r not in REGIMES]
    counts = counts.reindex(regimes)
    return pd.DataFrame({"runs": counts, "share": counts / counts.sum()}).rename_axis("regime")


def sobol_indices(res: SweepResults, *, second_order: bool = False,
                  ) -> tuple[pd.DataFrame | None, str]:
    """First-order and total Sobol' indices of SOBOL_OUTPUTS (sobol designs only).

    Each design point's output is the mean over its replications. Returns the table (None if
    not computable) and a note saying why or what was done to NaN values.

    Args:
        res: the sweep's results.
        second_order: instead, the second-order index S2 of each pair of parameters (columns
            ``output, parameter, other, S2, S2_conf``); needs a design drawn with
            ``second_order = true``.
    """
    if res.method != "sobol":
        return None, "not a sobol design"
    if second_order and not res.design.get("second_order"):
        return None, "second-order indices need a design with second_order = true"
    from SALib.analyze import sobol

    from marketsim.design import salib_bounds

    exp = res.manifest["experiment"]
    names = res.names
    n_points = int(res.design["n_points"])
    kept = [c for c in SOBOL_OUTPUTS if c in res.runs.columns]
    if not kept:
        return None, (f"the sweep kept none of {', '.join(SOBOL_OUTPUTS)} (its outputs list), "
                      "so there are no indices to compute")
    means = res.runs.groupby("point")[kept].mean()
    if len(means) < n_points:
        return None, (f"Sobol' indices need every design point: {len(means)} of {n_points} "
                      "have runs (finish the sweep)")
    problem = {"num_vars": len(names), "names": names,
               "bounds": salib_bounds(exp["parameters"], res.design["types"], names)}
    rows, notes = [], []
    n_base = int(res.design.get("samples") or 0)
    if n_base < SOBOL_FEW_SAMPLES:
        notes.append(f"base sample N = {n_base} is too small for Sobol' indices to mean much "
                     f"(their intervals too; use N >= {SOBOL_FEW_SAMPLES})")
    for out in means.columns:
        y = means[out].reindex(range(n_points)).to_numpy(dtype=float)
        bad = ~np.isfinite(y)
        if bad.all() or np.nanstd(y) == 0:
            notes.append(f"{out}: no variation, skipped")
            continue
        if bad.any():
            y = np.where(bad, np.nanmean(y), y)
            notes.append(f"{out}: {int(bad.sum())} undefined values set to the mean")
        si = sobol.analyze(problem, y, calc_second_order=bool(res.design.get("second_order")),
                           print_to_console=False, seed=int(res.design.get("seed", 0)))
        if second_order:
            rows += [{"output": out, "parameter": names[i], "other": names[j],
                      "S2": si["S2"][i, j], "S2_conf": si["S2_conf"][i, j]}
                     for i, j in itertools.combinations(range(len(names)), 2)]
            continue
        for i, name in enumerate(names):
            rows.append({"output": out, "parameter": name, "S1": si["S1"][i],
                         "S1_conf": si["S1_conf"][i], "ST": si["ST"][i],
                         "ST_conf": si["ST_conf"][i]})
    table = pd.DataFrame(rows) if rows else None
    return table, "; ".join(notes)


def to_markdown(df: pd.DataFrame, *, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table (numbers to 4 significant digits)."""
    d = df.reset_index() if index else df
    head = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in d.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _cell(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:.4g}"
    return str(v)


def to_text(df: pd.DataFrame, max_rows: int = _MAX_ROWS_PRINTED) -> str:
    """A plain-text table for the terminal, cut to ``max_rows`` rows."""
    with pd.option_context("display.width", 160, "display.max_columns", 30,
                           "display.float_format", "{:.4g}".format):
        if len(df) > max_rows:
            return (df.head(max_rows).to_string()
                    + f"\n... {len(df) - max_rows} more rows in the CSV")
        return df.to_string()


# ------------------------------------------------------------------------------- plots
def _save(fig: Any, path: Path) -> Path:
    """Write a figure as PNG and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _boxes_for_missing_glyphs(plot: Any) -> Any:
    """A plot that draws characters the font lacks (CJK, emoji) as boxes, without warnings."""

    @functools.wraps(plot)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
            return plot(*args, **kwargs)

    return quiet


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


@_boxes_for_missing_glyphs
def plot_timeseries(res: SweepResults, path: Path) -> Path | None:
    """Median and 10–90% band across runs of the key tick series, by point or by regime.

    At most ``_MAX_PLOTTED_RUNS`` runs are read (a fixed random sample of each group).
    """
    plt = _pyplot()
    runs = res.runs.set_index("run_id")
    if len(res.points) <= _MAX_POINT_LINES:
        key = runs["point"]
        groups = [(p, _point_label(res.points, p, res.names), None)
                  for p in sorted(key.unique())]
        title = "across replications, per design point"
    else:
        key = runs["regime"]
        present = set(key)
        groups = [(r, f"ending {r} ({int((key == r).sum())} runs)", REGIME_COLOURS.get(r))
                  for r in [*REGIMES, *sorted(present - set(REGIMES))] if r in present]
        title = "across runs, grouped by the regime each run ends in"
    ids = None
    if len(runs) > _MAX_PLOTTED_RUNS:
        per = max(1, _MAX_PLOTTED_RUNS // len(groups))
        ids = [int(i) for _, g in key.groupby(key)
               for i in g.sample(min(per, len(g)), random_state=0).index]
        title += f" (sample of {len(ids)} runs)"
    ticks = res.ticks(list(SERIES), run_ids=ids)
    series = [c for c in SERIES if c in ticks.columns]
    if ticks.empty or not series:
        return None
    ticks = ticks.assign(group=ticks["run_id"].map(key))
    ncol = 3 if len(series) > 4 else 2
    nrow = int(np.ceil(len(series) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.4 * nrow), squeeze=False)
    for ax, col in zip(axes.flat, series, strict=False):
        for g, label, colour in groups:
            sub = ticks.loc[ticks["group"] == g, ["tick", col]].astype(float)
            q = sub.groupby("tick")[col].quantile([0.1, 0.5, 0.9]).unstack()
            line = ax.plot(q.index, q[0.5], label=label, color=colour, lw=1.6)
            ax.fill_between(q.index, q[0.1], q[0.9], color=line[0].get_color(), alpha=0.2,
                            lw=0)
        ax.set_title(SERIES[col], fontsize=10)
        ax.set_xlabel("month")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=8,
               frameon=False)
    fig.suptitle(f"{res.name}: median and 10–90% band {title}", fontsize=11)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * ((len(labels) - 1) // 3), 1, 0.95))
    return _save(fig, path)


@_boxes_for_missing_glyphs
def plot_regime_map(res: SweepResults, path: Path) -> Path | None:
    """Regime map: the dominant regime and the share of seeds ending in each regime.

    Over the first two varied parameters (other parameters pooled). A grid gives one cell per
    pair of values; lhs and sobol designs give one dot per design point. With one parameter,
    stacked shares against it.
    """
    from matplotlib.patches import Patch

    plt = _pyplot()
    table = regime_share(res)
    seen = set(res.runs["regime"])
    regimes = [r for r in REGIMES if r in seen] + sorted(seen - set(REGIMES))
    if len(res.names) == 1:
        return _plot_regime_bars(res, regimes, path, plt)
    xk, yk = res.names[0], res.names[1]
    grid = res.method == "grid"
    fig = plt.figure(figsize=(14, 6.2), layout="constrained")
    sub = fig.subfigures(1, 2, width_ratios=[1.25, 1])
    ax = sub[0].subplots()
    # One row of share panels for up to two regimes (a hidden second row would take the
    # shared x axis labels with it), two rows for three or four.
    small = sub[1].subplots(1 if len(regimes) <= 2 else 2, 2, sharex=True, sharey=True,
                            squeeze=False)
    colour = {r: REGIME_COLOURS.get(r, "grey") for r in regimes}
    if grid:
        runs = res.runs
        cells = pd.crosstab([runs[yk], runs[xk]], runs["regime"], normalize="index")
        cells = cells.reindex(columns=regimes, fill_value=0.0)
        xv = sorted(runs[xk].unique())
        yv = sorted(runs[yk].unique())
        shape = (len(yv), len(xv))
        share = {r: np.full(shape, np.nan) for r in regimes}
        for (y, x), row in cells.iterrows():
            for r in regimes:
                share[r][yv.index(y), xv.index(x)] = row[r]
        stack = np.stack([share[r] for r in regimes])
        dom = np.nanargmax(np.nan_to_num(stack, nan=-1), axis=0)
        top = np.fmax.reduce(stack, axis=0)  # NaN where no run of a cell has finished
        from matplotlib.colors import to_rgba

        rgba = np.zeros((*shape, 4))
        for i, j in np.ndindex(shape):
            if np.isfinite(top[i, j]):
                rgba[i, j] = to_rgba(colour[regimes[dom[i, j]]], 0.35 + 0.65 * top[i, j])
                ax.text(j, i, f"{top[i, j]:.0%}", ha="center", va="center", fontsize=8)
        ax.imshow(rgba, origin="lower", aspect="auto")
        _categorical(ax, xk, yk, xv, yv)
        for k, r in enumerate(regimes):
            a = small.flat[k] if k < 4 else None
            if a is None:
                break
            im = a.imshow(share[r], origin="lower", aspect="auto", cmap="viridis", vmin=0,
                          vmax=1)
            _categorical(a, xk, yk, xv, yv, small=True)
            a.set_title(f"share {r}", fontsize=9)
        ax.set_title("dominant regime (label: share of seeds in it; other parameters pooled)",
                     fontsize=10)
    else:
        xs = table[xk].to_numpy(float)
        ys = table[yk].to_numpy(float)
        share_m = table[regimes].to_numpy(float)
        dom = share_m.argmax(axis=1)
        top = share_m.max(axis=1)
        for k, r in enumerate(regimes):
            m = dom == k
            if m.any():
                ax.scatter(xs[m], ys[m], s=18 + 40 * top[m], color=colour[r], alpha=0.85,
                           edgecolors="none")
        ax.set_xlabel(xk)
        ax.set_ylabel(yk)
        ax.set_title("dominant regime per design point (dot size: share of seeds in it)",
                     fontsize=10)
        for k, r in enumerate(regimes[:4]):
            a = small.flat[k]
            im = a.scatter(xs, ys, c=share_m[:, k], cmap="viridis", vmin=0, vmax=1, s=12,
                           edgecolors="none")
            a.set_title(f"share {r}", fontsize=9)
            a.tick_params(labelsize=7)
    for a in list(small.flat)[len(regimes):]:
        a.set_visible(False)
    for a in small[-1]:
        a.set_xlabel(xk, fontsize=8)
    for a in small[:, 0]:
        a.set_ylabel(yk, fontsize=8)
    sub[1].colorbar(im, ax=small, shrink=0.8, label="share of seeds")
    ax.legend(handles=[Patch(color=colour[r], label=r) for r in regimes], fontsize=8,
              loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.suptitle(f"{res.name}: regime map over {xk} and {yk} "
                 f"({len(res.runs)} runs, {res.method} design)", fontsize=11)
    return _save(fig, path)


def _categorical(ax: Any, xk: str, yk: str, xv: list[Any], yv: list[Any], *,
                 small: bool = False) -> None:
    fs = 7 if small else 9
    ax.set_xticks(range(len(xv)), [_fmt(v) for v in xv], fontsize=fs)
    ax.set_yticks(range(len(yv)), [_fmt(v) for v in yv], fontsize=fs)
    if not small:
        ax.set_xlabel(xk)
        ax.set_ylabel(yk)


def _plot_regime_bars(res: SweepResults, regimes: list[str], path: Path, plt: Any) -> Path:
    key = res.names[0]
    runs = res.runs
    if res.method == "grid":
        share = pd.crosstab(runs[key], runs["regime"], normalize="index")
        labels = [_fmt(v) for v in share.index]
    else:
        bins = pd.qcut(runs[key], q=min(10, runs[key].nunique()), duplicates="drop")
        share = pd.crosstab(bins, runs["regime"], normalize="index")
        labels = [f"{iv.mid:.3g}" for iv in share.index]
    share = share.reindex(columns=regimes, fill_value=0.0)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bottom = np.zeros(len(share))
    for r in regimes:
        ax.bar(range(len(share)), share[r], bottom=bottom, color=REGIME_COLOURS.get(r, "grey"),
               label=r)
        bottom += share[r].to_numpy()
    ax.set_xticks(range(len(share)), labels, fontsize=8)
    ax.set_xlabel(key if res.method == "grid" else f"{key} (middle of each decile bin)")
    ax.set_ylabel("share of seeds")
    ax.legend(fontsize=8)
    ax.set_title(f"{res.name}: regime shares against {key}", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


@_boxes_for_missing_glyphs
def plot_sobol(table: pd.DataFrame, name: str, path: Path) -> Path:
    """Bars of first-order (S1) and total (ST) Sobol' indices with 95% intervals."""
    plt = _pyplot()
    outs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(1, len(outs), figsize=(6 * len(outs), 4.2), squeeze=False)
    for ax, out in zip(axes.flat, outs, strict=True):
        t = table[table["output"] == out]
        x = np.arange(len(t))
        ax.bar(x - 0.2, t["S1"], 0.4, yerr=t["S1_conf"], label="first order (S1)",
               color="#1f77b4", capsize=3)
        ax.bar(x + 0.2, t["ST"], 0.4, yerr=t["ST_conf"], label="total (ST)", color="#aec7e8",
               capsize=3)
        ax.set_xticks(x, [p for p in t["parameter"]], rotation=30, ha="right", fontsize=8)
        ax.set_ylim(-0.25, 1.25)  # indices lie in [0, 1]; wide intervals run off the plot
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"{out} (final)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{name}: Sobol' sensitivity indices (mean over replications per point; "
                 "95% intervals)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


# ------------------------------------------------------------------------------ report
def make_report(root: str | Path, *, echo: Any = print) -> list[Path]:
    """Write every table and plot into ``DIR/report/``; print the tables with ``echo``.

    Returns:
        The files written.

    Raises:
        ScenarioError: not a sweep's results directory, or no finished runs in it.
    """
    res = SweepResults(root)
    out = res.root / "report"
    out.mkdir(exist_ok=True)
    files: list[Path] = []

    def write(df: pd.DataFrame, stem: str, title: str) -> None:
        df.to_csv(out / f"{stem}.csv")
        (out / f"{stem}.md").write_text(f"## {title}\n\n{to_markdown(df)}")
        files.extend([out / f"{stem}.csv", out / f"{stem}.md"])

    stored, planned = len(res.runs), res.n_runs_planned
    months = (months_text(res.points["horizon"].tolist()) if "horizon" in res.points
              else res.manifest.get("experiment", {}).get("horizon", "?"))
    echo(f"{res.name}: {stored} of {planned} runs ({res.method} design, {len(res.points)} "
         f"points x {res.design.get('replications')} replications, {months} months)"
         + ("" if stored >= planned else " - sweep not finished"))
    totals = regime_totals(res)
    write(totals, "regimes", "Share of runs ending in each regime")
    echo("\nShare of runs ending in each regime\n" + to_text(totals))
    shares = regime_share(res)
    write(shares, "regime_share", "Regime share per design point")
    echo("\nRegime share per design point\n" + to_text(shares))
    if res.outputs:
        summ = summary(res)
        what = "final values; *_total: entries and exits summed over the run"
        write(summ, "summary", f"Outputs over all runs ({what})")
        echo(f"\nOutputs over all runs ({what})\n" + to_text(summ))
        byp = outputs_by_point(res)
        write(byp, "outputs", f"Outputs per design point: mean and sd across replications "
                              f"({what})")
        show = byp[[*res.names, *[f"{c}_mean" for c in ("hhi_revenue", "active_labs",
                                                        "bimodality") if c in res.outputs]]]
        echo("\nMean final values per design point (all outputs, with sd, in outputs.csv)\n"
             + to_text(show))
    sob, note = sobol_indices(res)
    if sob is not None:
        sob_idx = sob.set_index(["output", "parameter"])
        write(sob_idx, "sobol", "Sobol' indices (first order S1, total ST, 95% conf.)")
        echo("\nSobol' indices of final values (S1 first order, ST total)\n" + to_text(sob_idx))
        files.append(plot_sobol(sob, res.name, out / "sobol.png"))
    if note and res.method == "sobol":
        echo(f"Sobol': {note}")
    if res.design.get("second_order"):
        pairs, _ = sobol_indices(res, second_order=True)
        if pairs is not None:
            pairs_idx = pairs.set_index(["output", "parameter", "other"])
            write(pairs_idx, "sobol_second_order",
                  "Second-order Sobol' indices of each pair of parameters (S2, 95% conf.)")
            echo("\nSecond-order Sobol' indices (S2) of each pair of parameters\n"
                 + to_text(pairs_idx))
    for fn, stem in ((plot_timeseries, "timeseries"), (plot_regime_map, "regime_map")):
        made = fn(res, out / f"{stem}.png")
        if made is not None:
            files.append(made)
    echo(f"\nwrote {len(files)} files to {out}: "
         + ", ".join(sorted({p.name for p in files if p.suffix == '.png'})))
    return files
