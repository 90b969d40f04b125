"""``marketsim run --plot FILE``: one run's main time series over its regime band.

Each panel shows one model reporter by month; a band under the panels colours every month
by the regime label of that month (the ``regime`` reporter: the label of the trailing
window ending there), or by the run's final label when the table has no such column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marketsim.errors import ScenarioError
from marketsim.report_plots import FORMATS, pyplot, quiet_glyphs, regime_colour, save

#: Reporters drawn (those present), with their panel titles (what and unit).
RUN_SERIES: dict[str, str] = {
    "active_labs": "active labs",
    "hhi_revenue": "HHI of revenue (0–10,000)",
    "owned_compute_share": "owned share of compute (0–1)",
    "price_per_mtok": "price ($ per M tokens)",
    "rent_per_gpu_hour": "rent ($ per GPU-hour)",
    "top_valuation": "top valuation ($bn)",
    "cr1_revenue": "leader's revenue share, CR1 (0–1)",
    "bimodality": "bimodality of log lab size (Sarle)",
    "leader_run_rate": "leader's run rate ($bn/yr)",
}


def check_plot_path(path: Path) -> None:
    """Refuse a ``--plot`` whose suffix is not a plot format, before the run.

    Raises:
        ScenarioError: the suffix is not one of :data:`FORMATS`.
    """
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ScenarioError("unknown plot format (from the file's suffix)", key="--plot",
                            given=str(path), allowed="a file ending in "
                            + ", ".join(f".{f}" for f in FORMATS))


def regime_runs(labels: pd.Series) -> list[tuple[int, int, str]]:
    """Consecutive months with the same label: ``(first, last + 1, label)`` in order."""
    vals = labels.astype(str).to_numpy()
    if vals.size == 0:
        return []
    cuts = np.flatnonzero(vals[1:] != vals[:-1]) + 1
    starts = np.r_[0, cuts]
    ends = np.r_[cuts, vals.size]
    return [(int(a), int(b), str(vals[a])) for a, b in zip(starts, ends, strict=True)]


@quiet_glyphs
def plot_run(df: pd.DataFrame, regime: str, path: Path, title: str) -> Path:
    """Write the run's main series and its regime band to ``path`` (format by suffix).

    Args:
        df: the model reporters, one row per month.
        regime: the run's final label (the band's colour when ``df`` has no ``regime``).
        path: the figure file.
        title: the figure's title.
    """
    from matplotlib.patches import Patch

    check_plot_path(path)
    plt = pyplot()
    series = [c for c in RUN_SERIES if c in df.columns]
    ncol = 3
    nrow = max(1, int(np.ceil(len(series) / ncol)))
    fig = plt.figure(figsize=(13, 2.9 * nrow + 1.0), layout="constrained")
    grid = fig.add_gridspec(nrow + 1, ncol, height_ratios=[*([1.0] * nrow), 0.18])
    months = np.arange(len(df))
    labels = df["regime"] if "regime" in df.columns else pd.Series([regime] * len(df))
    spans = regime_runs(labels)
    for k, col in enumerate(series):
        ax = fig.add_subplot(grid[k // ncol, k % ncol])
        for a, b, lab in spans:
            ax.axvspan(a - 0.5, b - 0.5, color=regime_colour(lab), alpha=0.08, lw=0)
        ax.plot(months, df[col].to_numpy(float), color="black", lw=1.4)
        ax.set_title(RUN_SERIES[col], fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    band = fig.add_subplot(grid[nrow, :])
    for a, b, lab in spans:
        band.axvspan(a - 0.5, b - 0.5, color=regime_colour(lab), lw=0)
    band.set_xlim(-0.5, len(df) - 0.5)
    band.set_yticks([])
    band.set_xlabel("month" + ("" if "regime" in df.columns else
                               " (final label: the run kept no regime column)"))
    seen = list(dict.fromkeys(lab for _, _, lab in spans))
    band.legend(handles=[Patch(color=regime_colour(r), label=r) for r in seen],
                loc="upper center", bbox_to_anchor=(0.5, -0.9), ncol=len(seen) or 1,
                fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    return save(fig, Path(path))

