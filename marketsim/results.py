"""Results: do bifurcation and consolidation emerge, and when do they not?

``python -m marketsim.results [--seeds N] [--out docs]`` runs the default and null scenarios
(and two hybrids that separate the starting conditions from the mechanisms) over many seeds,
a reduced Sobol' sweep of the regime drivers, and writes ``OUT/results.md`` with PNG figures
in ``OUT/figures/``. Every number in the text is computed from these runs.

Scenario variants (the 2 × 2 of starting conditions × mechanisms):

- ``default``: the calibrated scenario (unequal Zipf start, the leader owning half its GPUs;
  cost gap, minimum efficient scale, switching costs, returns to training compute);
- ``default, equal start``: the default mechanisms from twelve equal labs that own nothing;
- ``null, unequal start``: the null mechanisms from the default's unequal start;
- ``null``: the null scenario (equal start, no returns to scale, no switching costs, no cost
  gap).

The simulation part (:func:`simulate`, :func:`run_variants`) records, besides the model
reporters, one row per lab and month (cash, revenue, owned and rented GPUs, price, cost per M
tokens, money raised and refused, runway) so that the seed story can be measured.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import math
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.metrics import REGIMES

#: Months of runway recorded when revenue covers a lab's commitments (runway is infinite).
RUNWAY_CAP = 600.0


@dataclass(frozen=True)
class Variant:
    """A scenario plus overrides, run over many seeds.

    Attributes:
        name: label in tables and figures.
        scenario: shipped scenario name or path.
        overrides: dotted scenario keys to values.
        about: one line on what it isolates.
    """

    name: str
    scenario: str
    overrides: tuple[tuple[str, Any], ...] = ()
    about: str = ""


def _start_keys() -> tuple[str, ...]:
    return ("labs.size_exponent", "labs.owned_share_top")


def default_variants() -> list[Variant]:
    """The 2 × 2 of starting conditions (default's / equal) × mechanisms (default / null)."""
    from marketsim.scenario import load_scenario

    dflt, null = load_scenario("default"), load_scenario("null")
    unequal = tuple((k, dflt.get(k)) for k in _start_keys())
    equal = tuple((k, null.get(k)) for k in _start_keys())
    return [
        Variant("default", "default", (), "calibrated scenario"),
        Variant("null", "null", (), "no cost gap, no returns to scale, no switching costs"),
        Variant("default, equal start", "default", equal,
                "default mechanisms; 12 equal labs that own no GPUs at the start"),
        Variant("null, unequal start", "null", unequal,
                "null mechanisms; the default's unequal start (leader owns half its GPUs)"),
    ]


@dataclass
class RunRecord:
    """One run: the model reporters, one row per lab and month, and the final regime.

    Attributes:
        variant: the variant's name.
        seed: the run's seed.
        regime: final regime label.
        ticks: model reporters, one row per tick.
        labs: one row per lab and tick while active (and its exit tick): ``tick``, ``lab``
            (index), ``founded``, ``status``, ``cash`` [$bn], ``revenue`` [$bn/month],
            ``owned``, ``rented`` [GPUs], ``price``, ``cost`` [$/M tokens], ``valuation``,
            ``raised``, ``refused`` [$bn, cumulative], ``runway`` [months, capped],
            ``commitments`` [$bn/month: rent, upkeep, capex instalments, fixed cost],
            ``capability``, ``inference_gpus`` [GPUs serving tokens].
        seconds: run time, s.
    """

    variant: str
    seed: int
    regime: str
    ticks: pd.DataFrame
    labs: pd.DataFrame
    seconds: float


def simulate(variant: Variant, seed: int, ticks: int | None = None,
             buyers: int | None = None) -> RunRecord:
    """Run one variant with one seed, recording every lab every month.

    Args:
        variant: what to run.
        seed: the model's ``rng``.
        ticks: months (None: the scenario's horizon).
        buyers: buyers (None: the scenario's count).
    """
    from marketsim.model import AIMarketModel

    t0 = time.perf_counter()
    over = dict(variant.overrides)
    if buyers is not None:
        over["buyers.count"] = int(buyers)
    if ticks is not None:
        over["horizon"] = int(ticks)
    model = AIMarketModel(variant.scenario, rng=int(seed), **over)
    rows: list[tuple] = []
    for _ in range(model.horizon):
        model.run(ticks=1)
        t = model.steps - 1
        for lab in model.labs:
            if not (lab.active or lab.exit_tick == t):
                continue
            runway = lab.runway() if lab.active else 0.0
            rows.append((
                t, lab.index, lab.founded, lab.status, lab.cash, lab.revenue,
                lab.owned_gpus, float(lab.rented_gpus.sum()), lab.price,
                lab.cost_per_mtok() if lab.active else math.nan, lab.valuation, lab.raised,
                lab.refused, min(runway, RUNWAY_CAP), lab.monthly_costs() if lab.active else 0.0,
                lab.capability, lab.inference_gpus))
    labs = pd.DataFrame(rows, columns=[
        "tick", "lab", "founded", "status", "cash", "revenue", "owned", "rented", "price",
        "cost", "valuation", "raised", "refused", "runway", "commitments", "capability",
        "inference_gpus"])
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return RunRecord(variant.name, int(seed), model.regime, df, labs,
                     time.perf_counter() - t0)


def _simulate_args(args: tuple) -> RunRecord:
    return simulate(*args)


def run_variants(variants: Sequence[Variant], seeds: int, *, ticks: int | None = None,
                 buyers: int | None = None, workers: int | None = None,
                 first_seed: int = 0, progress: bool = True) -> list[RunRecord]:
    """Every variant × seeds ``first_seed …``, on local processes (1 worker: in this process).

    Returns:
        Run records in (variant, seed) order.
    """
    jobs = [(v, first_seed + s, ticks, buyers) for v in variants for s in range(seeds)]
    n = workers or os.cpu_count() or 1
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), unit="run", desc="runs", disable=not progress, leave=False)
    out: list[RunRecord] = []
    if n == 1:
        for job in jobs:
            out.append(_simulate_args(job))
            bar.update(1)
    else:
        with cf.ProcessPoolExecutor(max_workers=n) as pool:
            for rec in pool.map(_simulate_args, jobs):
                out.append(rec)
                bar.update(1)
    bar.close()
    return out


# ----------------------------------------------------------------------------- the atlas
#: The regime drivers and ranges of ``experiments/regimes.toml`` (used if the file is absent).
ATLAS_PARAMETERS: dict[str, dict[str, float]] = {
    "hyperscalers.margin": {"low": 0.0, "high": 1.5},
    "compute.min_efficient_scale": {"low": 0.0, "high": 200_000.0},
    "vcs.capital_abundance": {"low": 0.25, "high": 4.0},
    "buyers.switching_cost": {"low": 0.0, "high": 3.0},
    "capability.open_weight_lag": {"low": 0, "high": 24},
}
ATLAS_OUTPUTS: tuple[str, ...] = (
    "active_labs", "exits_bankrupt", "exits_acquired", "hhi_revenue", "cr1_revenue",
    "cr4_revenue", "hhi_compute", "bimodality", "middle_share", "price_per_mtok",
    "owned_compute_share", "leader_run_rate", "leader_owned_share", "date", "regime",
)


def atlas_experiment(samples: int = 64, replications: int = 1, *, seed: int = 2025,
                     buyers: int | None = None, horizon: int | None = None) -> Any:
    """A reduced version of ``experiments/regimes.toml`` (Sobol' design over the drivers).

    Uses the shipped experiment file with ``design.samples`` and ``replications`` overridden
    when it exists, else the same design built from :data:`ATLAS_PARAMETERS`.

    Args:
        samples: Sobol' base N (a power of 2); runs = samples × (parameters + 2) × replications.
        replications: seeds per design point.
        seed: base seed of the sweep.
        buyers: buyers per run (None: the scenario's).
        horizon: months per run (None: the scenario's).
    """
    from marketsim.experiment import load_experiment, validate_experiment

    over: dict[str, Any] = {"design.samples": samples, "replications": replications,
                            "seed": seed}
    if buyers is not None:
        over["fixed.buyers.count"] = int(buyers)
    if horizon is not None:
        over["horizon"] = int(horizon)
    shipped = Path(__file__).resolve().parent.parent / "experiments" / "regimes.toml"
    if shipped.is_file():
        return load_experiment(shipped, overrides=over)
    raw = {"name": "regimes", "scenario": "default", "replications": replications,
           "seed": seed, "outputs": list(ATLAS_OUTPUTS),
           "design": {"method": "sobol", "samples": samples},
           "parameters": {k: dict(v) for k, v in ATLAS_PARAMETERS.items()}}
    return validate_experiment(raw, overrides={k: v for k, v in over.items()
                                               if k.startswith(("fixed.", "horizon"))})


def run_atlas(out: str | Path, samples: int = 64, replications: int = 1, *,
              workers: int | None = None, buyers: int | None = None,
              horizon: int | None = None, progress: bool = True) -> Path:
    """Run (or resume) the reduced regime sweep into ``out``; returns ``out``."""
    from marketsim.sweep import run_sweep

    exp = atlas_experiment(samples, replications, buyers=buyers, horizon=horizon)
    res = run_sweep(exp, out, workers=workers, progress=progress,
                    argv=["python", "-m", "marketsim.results"])
    if res.failed:
        print(f"atlas: {len(res.failed)} runs failed, e.g. {res.failed[0]}", file=sys.stderr)
    return Path(out)


# ------------------------------------------------------------------------------ measures
#: Months at the end over which the regime label averages its measures (reporters.py).
YEAR = 12


def _owner_threshold() -> float:
    """Owned share of its compute above which a lab counts as an owner (the regime's giant)."""
    from marketsim.scenario import load_scenario

    return float(load_scenario("default").regime.giant_owned_share)


def _active_labs(rec: RunRecord) -> pd.DataFrame:
    """Active lab-months with total GPUs and owned share added."""
    lab = rec.labs[rec.labs["status"] == "active"].copy()
    lab["gpus"] = lab["owned"] + lab["rented"]
    lab["owned_share"] = np.where(lab["gpus"] > 0, lab["owned"] / lab["gpus"].where(
        lab["gpus"] > 0, 1.0), 0.0)
    return lab


def leader_of(rec: RunRecord) -> int:
    """Index of the run's revenue leader: the lab with the most revenue over the whole run."""
    return int(rec.labs.groupby("lab")["revenue"].sum().idxmax())


def finals(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: regime, final and last-year figures, totals over the run.

    ``*_year`` columns are means over the last 12 months (the window the regime label uses);
    ``*_end`` are values at the last tick.
    """
    rows = []
    for r in records:
        d = r.ticks
        last = d.iloc[-YEAR:]
        lead = leader_of(r)
        h = r.labs[r.labs["lab"] == lead]
        rows.append({
            "variant": r.variant, "seed": r.seed, "regime": r.regime,
            "hhi_end": float(d["hhi_revenue"].iloc[-1]),
            "hhi_year": float(last["hhi_revenue"].mean()),
            "bimodality_end": float(d["bimodality"].iloc[-1]),
            "bimodality_year": float(last["bimodality"].mean()),
            "middle_share_year": float(last["middle_share"].mean()),
            "active_labs_end": int(d["active_labs"].iloc[-1]),
            "cr1_end": float(d["cr1_revenue"].iloc[-1]),
            "leader_owned_end": float(d["leader_owned_share"].iloc[-1]),
            "leader_owned_year": float(last["leader_owned_share"].mean()),
            "owned_compute_share_end": float(d["owned_compute_share"].iloc[-1]),
            "entries": int(d["entries"].sum()),
            "exits_acquired": int(d["exits_acquired"].sum()),
            "exits_bankrupt": int(d["exits_bankrupt"].sum()),
            "amount_refused": float(d["amount_refused"].sum()),
            "offers_refused": int(d["offers_refused"].sum()),
            "offers_made": int(d["offers_made"].sum()),
            "vc_deployed": float(d["vc_deployed"].sum()),
            "leader": lead,
            "leader_was_largest_at_start": bool(lead == 0),
            "leader_refused": float(h["refused"].iloc[-1]),
            "leader_raised": float(h["raised"].iloc[-1]),
            "leader_status": str(h["status"].iloc[-1]),
            "leader_exit_tick": (int(h["tick"].iloc[-1]) if h["status"].iloc[-1] != "active"
                                 else None),
        })
    return pd.DataFrame(rows)


def regime_summary(fin: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Per variant: runs, share ending in each regime, means (sd) of the structure figures."""
    rows = []
    for v in order:
        f = fin[fin["variant"] == v]
        if f.empty:
            continue
        row: dict[str, Any] = {"variant": v, "runs": len(f)}
        for reg in REGIMES:
            row[reg] = float((f["regime"] == reg).mean())
        for col in ("hhi_end", "hhi_year", "bimodality_year", "middle_share_year",
                    "active_labs_end", "cr1_end", "leader_owned_year"):
            row[col] = float(f[col].mean())
            row[col + "_sd"] = float(f[col].std(ddof=1)) if len(f) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def band(records: Sequence[RunRecord], series: Any, variant: str) -> pd.DataFrame:
    """Median and inter-quartile range across seeds of ``series(record) -> Series by tick``."""
    cols = [series(r) for r in records if r.variant == variant]
    if not cols:
        return pd.DataFrame(columns=["median", "q25", "q75"])
    m = pd.concat(cols, axis=1)
    return pd.DataFrame({"median": m.median(axis=1), "q25": m.quantile(0.25, axis=1),
                         "q75": m.quantile(0.75, axis=1), "mean": m.mean(axis=1)})


GROUPS: tuple[tuple[str, str], ...] = (
    ("leader", "the revenue leader"), ("second", "other labs of Jan 2025"),
    ("entrant", "entrants (founded later)"))


def group_series(rec: RunRecord, threshold: float) -> pd.DataFrame:
    """Per tick and group of labs: revenue share, revenue-weighted cost and price per M tokens.

    Groups: ``leader`` (the run's revenue leader), ``second`` (the other labs of tick 0),
    ``entrant`` (labs founded later). Columns ``{group}_revenue_share``, ``{group}_cost``,
    ``{group}_price`` ($/M tokens), ``{group}_owned_share``; also ``owners`` and ``renters``:
    active labs owning at least / less than ``threshold`` of their GPUs.
    """
    lab = _active_labs(rec)
    lead = leader_of(rec)
    lab["group"] = np.where(lab["lab"] == lead, "leader",
                            np.where(lab["founded"] > 0, "entrant", "second"))
    out = {}
    for t, g in lab.groupby("tick"):
        total = g["revenue"].sum()
        row: dict[str, float] = {"owners": float((g["owned_share"] >= threshold).sum()),
                                 "renters": float((g["owned_share"] < threshold).sum())}
        for name, _ in GROUPS:
            x = g[g["group"] == name]
            w = x["revenue"].to_numpy()
            row[f"{name}_revenue_share"] = float(w.sum() / total) if total > 0 else math.nan
            for col in ("cost", "price"):
                row[f"{name}_{col}"] = (float(np.average(x[col], weights=w)) if w.sum() > 0
                                        else math.nan)
            gp = x["gpus"].sum()
            row[f"{name}_owned_share"] = float(x["owned"].sum() / gp) if gp > 0 else math.nan
        out[t] = row
    return pd.DataFrame.from_dict(out, orient="index").sort_index()


def leader_money(rec: RunRecord) -> pd.DataFrame:
    """The revenue leader month by month: cumulative raised, refused, revenue ($bn), owned share.

    Also its ``shortfall`` ($bn/month: commitments not covered by revenue) and runway.
    """
    lab = rec.labs[rec.labs["lab"] == leader_of(rec)].set_index("tick").sort_index()
    act = lab[lab["status"] == "active"]
    gpus = act["owned"] + act["rented"]
    return pd.DataFrame({
        "raised": act["raised"], "refused": act["refused"],
        "revenue_cum": act["revenue"].cumsum(),
        "owned_share": act["owned"] / gpus.where(gpus > 0, np.nan),
        "shortfall": (act["commitments"] - act["revenue"]).clip(lower=0.0),
        "runway": act["runway"], "cash": act["cash"],
    })


def refusal_table(records: Sequence[RunRecord], variant: str, comfort: float) -> pd.DataFrame:
    """Each month the revenue leader refused money: amount, runway, shortfall, cash."""
    rows = []
    for r in records:
        if r.variant != variant:
            continue
        m = leader_money(r)
        ref = m["refused"].diff().fillna(m["refused"].iloc[0] if len(m) else 0.0)
        for t in m.index[ref.to_numpy() > 1e-12]:
            rows.append({"seed": r.seed, "tick": int(t), "amount": float(ref.loc[t]),
                         "runway": float(m.loc[t, "runway"]),
                         "comfortable": bool(m.loc[t, "runway"] >= comfort),
                         "shortfall_year": 12.0 * float(m.loc[t, "shortfall"]),
                         "cash": float(m.loc[t, "cash"]),
                         "owned_share": float(m.loc[t, "owned_share"])})
    return pd.DataFrame(rows, columns=["seed", "tick", "amount", "runway", "comfortable",
                                       "shortfall_year", "cash", "owned_share"])


def lab_fates(records: Sequence[RunRecord], threshold: float) -> pd.DataFrame:
    """One row per lab and run: origin, fate, lifetime, peak owned share, rounds raised.

    ``kind`` is ``"leader"`` (most revenue over the run), ``"second tier"`` (other labs of
    tick 0) or ``"entrant"``; ``renter`` says it never owned ``threshold`` of its GPUs.
    ``first_round_multiple`` is post-money ÷ run rate at its first round after founding.
    """
    rows = []
    for r in records:
        lead = leader_of(r)
        lab = r.labs.copy()
        lab["gpus"] = lab["owned"] + lab["rented"]
        for i, h in lab.groupby("lab"):
            h = h.sort_values("tick")
            founded = int(h["founded"].iloc[0])
            act = h[h["status"] == "active"]
            share = (act["owned"] / act["gpus"].where(act["gpus"] > 0, np.nan)).fillna(0.0)
            rounds = act[act["raised"].diff().fillna(0.0) > 1e-12]
            if len(rounds):
                rr = 12.0 * rounds["revenue"].iloc[0]
                mult = float(rounds["valuation"].iloc[0] / rr) if rr > 0 else math.inf
            else:
                mult = math.nan
            status = str(h["status"].iloc[-1])
            end = int(h["tick"].iloc[-1])
            rows.append({
                "variant": r.variant, "seed": r.seed, "lab": int(i), "founded": founded,
                "kind": "leader" if i == lead else ("entrant" if founded > 0 else "second tier"),
                "status": status, "exit_tick": end if status != "active" else None,
                "age": end - founded, "renter": bool(share.max() < threshold),
                "rounds": len(rounds), "first_round_multiple": mult,
                "raised": float(h["raised"].iloc[-1]),
            })
    return pd.DataFrame(rows)


def survival(fates: pd.DataFrame, horizon: int) -> pd.Series:
    """Share of labs still active at each age in months (Kaplan–Meier, censored at the end)."""
    ages = np.arange(horizon + 1)
    if fates.empty:
        return pd.Series(np.nan, index=ages)
    died = fates["status"] != "active"
    age = fates["age"].to_numpy()
    s, out = 1.0, []
    for a in ages:
        at_risk = (age >= a).sum()
        deaths = int(((age == a) & died).sum())
        if at_risk > 0:
            s *= 1.0 - deaths / at_risk
        out.append(s if at_risk > 0 else np.nan)
    return pd.Series(out, index=ages)


def yearly_fall(series: pd.Series, a: int = 0, b: int = 12) -> float:
    """Factor by which a series falls per year between ticks ``a`` and ``b`` (>1: falling)."""
    x, y = float(series.iloc[a]), float(series.iloc[b])
    if not (x > 0 and y > 0):
        return math.nan
    return (x / y) ** (12.0 / (b - a))


def rank_size_slope(sizes: np.ndarray, top: int = 10) -> float:
    """Slope of log10 size on log10 rank over the ``top`` largest (Zipf: about −1)."""
    s = np.sort(np.asarray(sizes, dtype=float)[np.asarray(sizes) > 0])[::-1][:top]
    if s.size < 3:
        return math.nan
    return float(np.polyfit(np.log10(np.arange(1, s.size + 1)), np.log10(s), 1)[0])


def final_sizes(rec: RunRecord, tick: int | None = None) -> np.ndarray:
    """GPUs of each active lab at ``tick`` (default: the last), largest first."""
    lab = _active_labs(rec)
    t = int(lab["tick"].max()) if tick is None else tick
    return np.sort(lab.loc[lab["tick"] == t, "gpus"].to_numpy())[::-1]


# ------------------------------------------------------------------------------- figures
VARIANT_COLOURS: dict[str, str] = {
    "default": "#6a3d9a", "null": "#2ca02c", "default, equal start": "#1f77b4",
    "null, unequal start": "#8c8c8c",
}
DPI = 90


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.grid": True,
                         "grid.alpha": 0.3, "legend.fontsize": 8, "legend.frameon": False})
    return plt


def _save(fig: Any, path: Path) -> Path:
    """Save at :data:`DPI` as a 256-colour PNG (a third of the size, text still sharp)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, format="png")
    plt.close(fig)
    buf.seek(0)
    img = Image.open(buf).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    img.save(path, optimize=True)
    return Path(path)


def _plot_band(ax: Any, b: pd.DataFrame, colour: str, label: str, *, ls: str = "-",
               years: bool = True) -> None:
    if b.empty:
        return
    x = b.index.to_numpy() / 12.0 if years else b.index.to_numpy()
    ax.plot(x, b["median"], color=colour, ls=ls, lw=1.6, label=label)
    ax.fill_between(x, b["q25"], b["q75"], color=colour, alpha=0.18, lw=0)


def plot_regimes(fin: pd.DataFrame, order: Sequence[str], path: Path,
                 thresholds: dict[str, float] | None = None) -> Path:
    """Regime shares per variant (stacked bars) and the structure figures (box plots).

    ``thresholds``: the regime label's ``hhi_concentrated``, ``bimodality``,
    ``middle_share`` and ``giant_owned_share`` (dotted lines).
    """
    th = {"hhi_concentrated": 1800.0, "bimodality": 5 / 9, "middle_share": 0.25,
          "giant_owned_share": 0.3, **(thresholds or {})}
    from marketsim.report import REGIME_COLOURS

    plt = _pyplot()
    fig = plt.figure(figsize=(12, 6.4), layout="constrained")
    sub = fig.subfigures(1, 2, width_ratios=[1, 2.1])
    ax = sub[0].subplots()
    order = [v for v in order if (fin["variant"] == v).any()]
    y = np.arange(len(order))[::-1]
    left = np.zeros(len(order))
    for reg in REGIMES:
        share = np.array([(fin.loc[fin["variant"] == v, "regime"] == reg).mean() for v in order])
        ax.barh(y, share, left=left, color=REGIME_COLOURS[reg], label=reg, height=0.6)
        for yi, li, si in zip(y, left, share, strict=True):
            if si >= 0.08:
                ax.text(li + si / 2, yi, f"{si:.0%}", ha="center", va="center", fontsize=8,
                        color="white")
        left += share
    ax.set_yticks(y, [v.replace(", ", ",\n") for v in order])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of seeds ending in the regime")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    n = int(fin.groupby("variant").size().min())
    ax.set_title(f"final regime ({n} seeds each)")
    ax.grid(False)
    panels = [("hhi_end", "HHI of revenue, final", th["hhi_concentrated"]),
              ("bimodality_year", "bimodality of log lab size\n(mean of last year)",
               th["bimodality"]),
              ("middle_share_year", "share of labs in the middle size band\n(mean of last "
               "year)", th["middle_share"]),
              ("active_labs_end", "active labs, final", None),
              ("leader_owned_year", "revenue leader's owned share\nof its GPUs (last year)",
               th["giant_owned_share"]),
              ("cr1_end", "leader's revenue share (CR1), final", None)]
    axes = sub[1].subplots(2, 3)
    rng = np.random.default_rng(0)
    for a, (col, title, line) in zip(axes.flat, panels, strict=True):
        data = [fin.loc[fin["variant"] == v, col].to_numpy(float) for v in order]
        bp = a.boxplot(data, widths=0.55, patch_artist=True, showfliers=False)
        for patch, v in zip(bp["boxes"], order, strict=True):
            patch.set_facecolor(VARIANT_COLOURS.get(v, "grey"))
            patch.set_alpha(0.35)
        for i, d in enumerate(data):
            a.scatter(i + 1 + rng.uniform(-0.15, 0.15, d.size), d, s=7,
                      color=VARIANT_COLOURS.get(order[i], "grey"), zorder=3)
        if line is not None:
            a.axhline(line, color="black", lw=0.8, ls=":")
        a.set_xticks(range(1, len(order) + 1), [v.replace(", ", "\n").replace(" start", "")
                                                 for v in order], fontsize=7)
        a.set_title(title, fontsize=9)
    fig.suptitle("Default vs null: which regime each seed ends in, and the measures behind "
                 "the label (dotted: label thresholds)", fontsize=11)
    return _save(fig, path)


def plot_story(records: Sequence[RunRecord], threshold: float, path: Path,
               horizon: int) -> Path:
    """The seed story in the default scenario, median and inter-quartile band over seeds."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.4), layout="constrained")
    dflt = "default"
    c = VARIANT_COLOURS
    # (a) the leader's money
    a = axes[0, 0]
    for col, colour, label in (("raised", "#1f77b4", "raised (accepted offers)"),
                               ("refused", "#d62728", "refused offers"),
                               ("revenue_cum", "#2ca02c", "revenue earned")):
        _plot_band(a, band(records, lambda r, col=col: leader_money(r)[col], dflt), colour,
                   label)
    a.set_yscale("symlog", linthresh=1.0)
    a.set_ylabel("$bn, cumulative")
    a.set_title("(a) the revenue leader's money")
    a.legend(loc="upper left")
    # (b) owned share of compute
    a = axes[0, 1]
    _plot_band(a, band(records, lambda r: leader_money(r)["owned_share"], dflt), c[dflt],
               "revenue leader (most revenue over the run)")
    _plot_band(a, band(records, lambda r: r.ticks["leader_owned_share"], dflt), "#ff7f0e",
               "this month's revenue leader", ls="--")
    _plot_band(a, band(records, lambda r: _others_owned_share(r), dflt), "#7f7f7f",
               "all other labs together")
    a.axhline(threshold, color="black", lw=0.8, ls=":")  # the label's owner threshold
    a.set_ylim(0, 1)
    a.set_ylabel("owned share of GPUs")
    a.set_title("(b) who owns its compute")
    a.legend(loc="upper left")
    # (c) cost and price relative to the leader
    a = axes[0, 2]
    grp = {id(r): group_series(r, threshold) for r in records if r.variant == dflt}
    gcol = {"leader": "#6a3d9a", "second": "#7f7f7f", "entrant": "#17becf"}
    short = {"second": "labs of Jan 2025", "entrant": "entrants"}
    for name, _ in GROUPS[1:]:
        for col, ls in (("cost", "-"), ("price", "--")):
            _plot_band(a, band(records, lambda r, n=name, k=col: grp[id(r)][f"{n}_{k}"]
                               / grp[id(r)][f"leader_{k}"], dflt),
                       gcol[name], f"{col}: {short[name]}", ls=ls)
    a.axhline(1.0, color=gcol["leader"], lw=1.2, label="revenue leader (= 1)")
    a.set_ylabel("÷ the revenue leader's (revenue-weighted)")
    a.set_title("(c) cost (solid) and price (dashed) vs the leader")
    lo, hi = a.get_ylim()
    a.set_ylim(min(lo, 0.6) - 0.45, hi)
    a.legend(loc="lower right", fontsize=7, ncol=2)
    # (d) revenue shares
    a = axes[1, 0]
    for name, label in GROUPS:
        _plot_band(a, band(records, lambda r, k=f"{name}_revenue_share": grp[id(r)][k], dflt),
                   gcol[name], label)
    a.set_ylim(0, 1)
    a.set_ylabel("share of inference revenue")
    a.set_title("(d) revenue share")
    a.legend(loc="upper right")
    # (e) entries and exits
    a = axes[1, 1]
    for v, ls in ((dflt, "-"), ("null", "--")):
        for col, colour, label in (("entries", "#17becf", "entries"),
                                   ("exits_acquired", "#ff7f0e", "acquired"),
                                   ("exits_bankrupt", "#d62728", "bankrupt")):
            b = band(records, lambda r, col=col: r.ticks[col].cumsum(), v)
            if b.empty:
                continue
            a.plot(b.index / 12.0, b["mean"], color=colour, ls=ls, lw=1.6,
                   label=f"{label} ({v})")
    a.set_ylabel("labs, cumulative (mean over seeds)")
    a.set_title("(e) entry and exit: default (solid), null (dashed)")
    a.legend(loc="upper left", ncol=2)
    # (f) survival
    a = axes[1, 2]
    fates = lab_fates([r for r in records if r.variant in (dflt, "null")], threshold)
    for v, ls in ((dflt, "-"), ("null", "--")):
        for kind, colour in (("entrant", "#17becf"), ("second tier", "#7f7f7f"),
                             ("leader", "#6a3d9a")):
            f = fates[(fates["variant"] == v) & (fates["kind"] == kind)]
            if f.empty:
                continue
            s = survival(f, horizon)
            a.step(s.index / 12.0, s.to_numpy(), where="post", color=colour, ls=ls,
                   label=f"{kind} ({v})")
    a.set_ylim(0, 1.02)
    a.set_xlabel("age, years")
    a.set_ylabel("share still active")
    a.set_title("(f) survival by age")
    a.legend(loc="lower left", ncol=2)
    for a in axes.flat[:5]:
        a.set_xlabel("years from Jan 2025")
    fig.suptitle("The seed story in the default scenario (median and inter-quartile band "
                 "over seeds)", fontsize=11)
    return _save(fig, path)


def _others_owned_share(rec: RunRecord) -> pd.Series:
    """Owned share of GPUs of all labs but the run's revenue leader, per tick."""
    lab = _active_labs(rec)
    lab = lab[lab["lab"] != leader_of(rec)]
    g = lab.groupby("tick")[["owned", "gpus"]].sum()
    return g["owned"] / g["gpus"].where(g["gpus"] > 0, np.nan)


def plot_facts(records: Sequence[RunRecord], path: Path, hhi_line: float = 1800.0) -> Path:
    """Stylised facts: rank-size, prices falling, entry and exit, concentration over time."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 8), layout="constrained")
    c = VARIANT_COLOURS
    # (a) rank-size
    a = axes[0, 0]
    for v in ("null", "default"):
        first = True
        for r in records:
            if r.variant != v:
                continue
            s = final_sizes(r)
            a.plot(np.arange(1, s.size + 1), s, color=c[v], lw=0.8, alpha=0.5,
                   label=f"{v}, final" if first else None)
            first = False
    r0 = next((r for r in records if r.variant == "default"), None)
    if r0 is not None:
        s = final_sizes(r0, 0)
        a.plot(np.arange(1, s.size + 1), s, color="black", lw=1.2, ls="--",
               label="default, Jan 2025")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("rank")
    a.set_ylabel("GPUs (owned + rented)")
    a.set_title("(a) rank-size of labs (one line per seed)")
    a.legend()
    # (b) prices
    a = axes[0, 1]
    for v in ("default", "null"):
        for col, ls, what in (("price_per_mtok", "-", "$ per M tokens"),
                              ("price_per_capability", "--", "per unit of capability")):
            b = band(records, lambda r, col=col: r.ticks[col], v)
            if b.empty:
                continue
            fall = yearly_fall(b["median"], 0, len(b) - 1)
            first = yearly_fall(b["median"], 0, 12)
            _plot_band(a, b, c[v], f"{what} ({v}): ÷{first:.3g} in year 1, "
                       f"÷{fall:.3g}/yr overall", ls=ls)
    a.set_yscale("log")
    a.set_ylabel("$ (log scale)")
    a.set_title("(b) price per M tokens and per unit of capability")
    a.legend(loc="lower left")
    # (c) entries and exits per year
    a = axes[1, 0]
    width = 0.38
    for k, v in enumerate(("default", "null")):
        ent, ex = [], []
        for r in records:
            if r.variant != v:
                continue
            d = r.ticks
            idx = np.arange(0, len(d), 12)
            ent.append(np.add.reduceat(d["entries"].to_numpy(float), idx))
            ex.append(np.add.reduceat((d["exits_acquired"] + d["exits_bankrupt"])
                                      .to_numpy(float), idx))
        if not ent:
            continue
        x = np.arange(len(ent[0])) + 0.5 + (k - 0.5) * width
        a.bar(x, np.mean(ent, axis=0), width=width, color=c[v], alpha=0.85,
              label=f"entries ({v})")
        a.bar(x, -np.mean(ex, axis=0), width=width, color=c[v], alpha=0.45, hatch="//",
              label=f"exits ({v})")
    a.axhline(0, color="black", lw=0.8)
    a.set_ylabel("labs per year, mean over seeds (exits below 0)")
    a.set_xlabel("years from Jan 2025")
    a.set_title("(c) entry (up) and exit (down) per year")
    a.legend(loc="upper right", ncol=2)
    # (d) concentration
    a = axes[1, 1]
    for v in ("default", "default, equal start", "null"):
        _plot_band(a, band(records, lambda r: r.ticks["hhi_revenue"], v), c[v], v)
    a.axhline(hhi_line, color="black", lw=0.8, ls=":",
              label=f"{hhi_line:,.0f}: highly concentrated")
    a.set_ylabel("HHI of inference revenue")
    a.set_xlabel("years from Jan 2025")
    a.set_title("(d) concentration over time")
    a.legend(loc="upper right")
    axes[0, 1].set_xlabel("years from Jan 2025")
    fig.suptitle("Stylised facts (median and inter-quartile band over seeds)", fontsize=11)
    return _save(fig, path)


def plot_atlas_drivers(runs: pd.DataFrame, names: Sequence[str], path: Path) -> Path:
    """Share of runs ending in each regime against each driver (quintiles of its range)."""
    from marketsim.report import REGIME_COLOURS

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(3.0 * len(names), 3.6), sharey=True,
                             layout="constrained")
    axes = np.atleast_1d(axes)
    for a, key in zip(axes, names, strict=True):
        bins = pd.qcut(runs[key], q=5, duplicates="drop")
        share = pd.crosstab(bins, runs["regime"], normalize="index").reindex(
            columns=list(REGIMES), fill_value=0.0)
        x = np.arange(len(share))
        bottom = np.zeros(len(share))
        for reg in REGIMES:
            a.bar(x, share[reg], bottom=bottom, color=REGIME_COLOURS[reg], label=reg, width=0.8)
            bottom += share[reg].to_numpy()
        a.set_xticks(x, [f"{iv.mid:.3g}" for iv in share.index], fontsize=7)
        a.set_xlabel(key, fontsize=8)
        a.grid(False)
    axes[0].set_ylabel("share of runs")
    axes[0].set_ylim(0, 1)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"Regime atlas: share of {len(runs)} runs ending in each regime, by fifths "
                 "of each driver's range (the other drivers vary)", fontsize=10)
    return _save(fig, path)


def plot_atlas_map(runs: pd.DataFrame, xk: str, yk: str, path: Path, bins: int = 5) -> Path:
    """Regime map over two drivers: fifths × fifths, each cell's dominant regime and shares.

    Cell colour: the dominant regime, paler when it holds fewer of the cell's runs; label:
    share of runs bifurcated or consolidated (B+C) and competitive (C). The other drivers vary.
    """
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    from marketsim.report import REGIME_COLOURS

    plt = _pyplot()
    xb = pd.qcut(runs[xk], q=bins, duplicates="drop")
    yb = pd.qcut(runs[yk], q=bins, duplicates="drop")
    xs, ys = list(xb.cat.categories), list(yb.cat.categories)
    fig, ax = plt.subplots(figsize=(7.4, 5.6), layout="constrained")
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            cell = runs[(xb == xv) & (yb == yv)]
            if cell.empty:
                continue
            share = cell["regime"].value_counts(normalize=True)
            dom = str(share.idxmax())
            ax.add_patch(plt.Rectangle((j, i), 1, 1, color=to_rgba(
                REGIME_COLOURS.get(dom, "grey"), 0.25 + 0.75 * float(share.max()))))
            big = float(share.get("bifurcated", 0) + share.get("consolidated", 0))
            ax.text(j + 0.5, i + 0.5, f"B+C {big:.0%}\nC {share.get('competitive', 0):.0%}\n"
                    f"n={len(cell)}", ha="center", va="center", fontsize=7)
    ax.set_xlim(0, len(xs))
    ax.set_ylim(0, len(ys))
    ax.set_xticks(np.arange(len(xs)) + 0.5, [f"{iv.mid:.3g}" for iv in xs])
    ax.set_yticks(np.arange(len(ys)) + 0.5, [f"{iv.mid:.3g}" for iv in ys])
    ax.set_xlabel(f"{xk} (fifths of its range)")
    ax.set_ylabel(f"{yk} (fifths of its range)")
    ax.grid(False)
    ax.legend(handles=[Patch(color=REGIME_COLOURS[r], label=r) for r in REGIMES],
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"Regime map: dominant regime per cell ({len(runs)} runs; other drivers "
                 "vary)", fontsize=10)
    return _save(fig, path)


def _map_axes(atlas: dict[str, Any]) -> tuple[str, str]:
    """The two drivers that move the competitive share most across their fifths."""
    moves = sorted(((abs(sh["competitive"].iloc[-1] - sh["competitive"].iloc[0]), k)
                    for k, sh in atlas["drivers"].items()), reverse=True)
    return moves[0][1], moves[1][1]


# ------------------------------------------------------------------------------ numbers
def story_numbers(records: Sequence[RunRecord], fin: pd.DataFrame, threshold: float,
                  comfort: float, variant: str = "default") -> dict[str, Any]:
    """The seed story's figures for one variant (default), each computed over its seeds."""
    f = fin[fin["variant"] == variant]
    recs = [r for r in records if r.variant == variant]
    n = len(f)
    ref = refusal_table(records, variant, comfort)
    fates = lab_fates(recs, threshold)
    grp = [group_series(r, threshold) for r in recs]
    horizon = int(max(r.ticks["tick"].max() for r in recs)) if recs else 0

    def _median(vals: list[float]) -> float:
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.median(vals)) if vals else math.nan

    def at(col: str, t: int) -> float:
        return _median([g[col].get(min(t, horizon), np.nan) for g in grp])

    def ratio(num: str, den: str, t: int) -> float:
        return _median([g[num].get(min(t, horizon), np.nan)
                        / g[den].get(min(t, horizon), np.nan) for g in grp])

    others_end = [float(_others_owned_share(r).iloc[-1]) for r in recs]
    others = pd.concat([_others_owned_share(r) for r in recs], axis=1).median(axis=1)
    cross = others[others >= threshold]
    ent = fates[fates["kind"] == "entrant"]
    second = fates[fates["kind"] == "second tier"]
    early = second[(second["exit_tick"].notna()) & (second["exit_tick"] < 36)]
    lead_exit = f[f["leader_status"] != "active"]
    late_exit = lead_exit[lead_exit["leader_exit_tick"] >= horizon - YEAR + 1]

    def inference_share(r: RunRecord, t: int) -> float:
        g = _active_labs(r).groupby("tick")[["inference_gpus", "gpus"]].sum()
        return float(g["inference_gpus"].iloc[t] / g["gpus"].iloc[t])

    spend = band(records, lambda r: r.ticks["enterprise_spend"], variant)["median"]
    first_ref = ref.groupby("seed")["tick"].min() if len(ref) else pd.Series(dtype=float)
    max_ref = ref.groupby("seed")["amount"].max() if len(ref) else pd.Series(dtype=float)
    out: dict[str, Any] = {
        "runs": n, "horizon": horizon,
        "seeds_market_refused": int((f["amount_refused"] > 0).sum()),
        "market_refused_mean": float(f["amount_refused"].mean()),
        "seeds_leader_refused": int((f["leader_refused"] > 0).sum()),
        "leader_refused_median": float(f["leader_refused"].median()),
        "leader_refused_min": float(f["leader_refused"].min()),
        "leader_refused_max": float(f["leader_refused"].max()),
        "leader_raised_median": float(f["leader_raised"].median()),
        "leader_refused_share_of_market": float(
            f["leader_refused"].sum() / max(f["amount_refused"].sum(), 1e-12)),
        "leader_was_largest": int(f["leader_was_largest_at_start"].sum()),
        "refusal_months": len(ref),
        "refusal_comfortable_share": float(ref["comfortable"].mean()) if len(ref) else math.nan,
        "refusal_covered_share": (float((ref["runway"] >= RUNWAY_CAP).mean()) if len(ref)
                                  else math.nan),
        "refusal_amount_median": float(ref["amount"].median()) if len(ref) else math.nan,
        "refusal_max_median": float(max_ref.median()) if len(max_ref) else math.nan,
        "refusal_shortfall_median": (float(ref["shortfall_year"].median()) if len(ref)
                                     else math.nan),
        "refusal_owned_median": float(ref["owned_share"].median()) if len(ref) else math.nan,
        "refusal_first_year_median": (float(first_ref.median() / 12) if len(first_ref)
                                      else math.nan),
        "refusal_first_year_min": (float(first_ref.min() / 12) if len(first_ref)
                                   else math.nan),
        "leader_owned_year_mean": float(f["leader_owned_year"].mean()),
        "seeds_leader_owns_most_year": int((f["leader_owned_year"] > 0.5).sum()),
        "seeds_leader_owns_most_end": int((f["leader_owned_end"] > 0.5).sum()),
        "seeds_leader_owns_giant_end": int((f["leader_owned_end"] >= threshold).sum()),
        "leader_owned_start": at("leader_owned_share", 0),
        "leader_owned_y2": at("leader_owned_share", 24),
        "others_owned_end_median": float(np.median(others_end)) if others_end else math.nan,
        "others_cross_year": (float(cross.index[0] / 12) if len(cross) else math.nan),
        "renters_y1": at("renters", 12), "renters_y3": at("renters", 36),
        "renters_end": at("renters", horizon), "owners_end": at("owners", horizon),
        "entrants": len(ent),
        "entrants_exit_share": float((ent["status"] != "active").mean()) if len(ent) else 0.0,
        "entrants_renter_share": float(ent["renter"].mean()) if len(ent) else math.nan,
        "entrant_first_multiple_median": (float(ent.loc[np.isfinite(
            ent["first_round_multiple"]), "first_round_multiple"].median())
            if len(ent) else math.nan),
        "entrants_raised_share": float((ent["rounds"] > 1).mean()) if len(ent) else math.nan,
        "second_tier": len(second),
        "second_early_exits": len(early),
        "second_early_acquired": int((early["status"] == "acquired").sum()),
        "second_early_never_raised": int((early["rounds"] == 0).sum()),
        "second_early_exit_median_tick": (float(early["exit_tick"].median())
                                          if len(early) else math.nan),
        "acquired_mean": float(f["exits_acquired"].mean()),
        "bankrupt_mean": float(f["exits_bankrupt"].mean()),
        "entries_mean": float(f["entries"].mean()),
        "leader_exits": len(lead_exit),
        "leader_exits_last_year": len(late_exit),
        "leader_exits_last_year_bifurcated": int((late_exit["regime"] == "bifurcated").sum()),
        "owned_ever_falls": any(_owned_falls(r) for r in recs),
        "inference_share_start": float(np.median([inference_share(r, 0) for r in recs])),
        "inference_share_end": float(np.median([inference_share(r, -1) for r in recs])),
        "spend_peak_year": float(spend.idxmax() / 12) if len(spend) else math.nan,
        "spend_end_over_peak": float(spend.iloc[-1] / spend.max()) if len(spend) else math.nan,
    }
    for label, t in (("y1", 12), ("y3", 36), ("end", horizon)):
        for g in ("second", "entrant"):
            out[f"{g}_cost_ratio_{label}"] = ratio(f"{g}_cost", "leader_cost", t)
            out[f"{g}_price_ratio_{label}"] = ratio(f"{g}_price", "leader_price", t)
        for g, _ in GROUPS:
            out[f"{g}_share_{label}"] = at(f"{g}_revenue_share", t)
    return out


def _owned_falls(rec: RunRecord) -> bool:
    """Did any active lab's owned GPUs fall from one month to the next (retirement, sales)?"""
    lab = rec.labs[rec.labs["status"] == "active"].sort_values(["lab", "tick"])
    d = lab.groupby("lab")["owned"].diff()
    return bool((d < -1.0).any())


def fact_numbers(records: Sequence[RunRecord], fin: pd.DataFrame) -> dict[str, Any]:
    """Stylised facts: price falls, rank-size slopes, HHI by year, entry and exit rates."""
    out: dict[str, Any] = {}
    for v in ("default", "null", "default, equal start"):
        recs = [r for r in records if r.variant == v]
        if not recs:
            continue
        key = v.replace(", ", "_").replace(" ", "_")
        T = int(recs[0].ticks["tick"].max())
        for col in ("price_per_mtok", "price_per_capability"):
            b = band(records, lambda r, col=col: r.ticks[col], v)["median"]
            out[f"{key}_{col}_fall_y1"] = yearly_fall(b, 0, 12)
            out[f"{key}_{col}_fall_all"] = yearly_fall(b, 0, T)
            out[f"{key}_{col}_start"] = float(b.iloc[0])
            out[f"{key}_{col}_end"] = float(b.iloc[-1])
        slopes = [rank_size_slope(final_sizes(r)) for r in recs]
        out[f"{key}_rank_slope"] = float(np.nanmedian(slopes))
        sizes = [final_sizes(r) for r in recs]
        out[f"{key}_top_over_median"] = float(np.median(
            [x[0] / np.median(x) for x in sizes if x.size]))
        out[f"{key}_top_over_second"] = float(np.median(
            [x[0] / x[1] for x in sizes if x.size > 1]))
        out[f"{key}_top_over_second_start"] = float(np.median(
            [x[0] / x[1] for x in (final_sizes(r, 0) for r in recs) if x.size > 1]))
        hhi = band(records, lambda r: r.ticks["hhi_revenue"], v)["median"]
        for y in (1, 3, 5):
            out[f"{key}_hhi_y{y}"] = float(hhi.iloc[min(12 * y, T)])
        out[f"{key}_hhi_end"] = float(hhi.iloc[-1])
        out[f"{key}_hhi_peak"] = float(hhi.max())
        out[f"{key}_hhi_peak_year"] = float(hhi.idxmax() / 12)
        f = fin[fin["variant"] == v]
        out[f"{key}_entries_per_year"] = float(f["entries"].mean() / ((T + 1) / 12))
        out[f"{key}_exits_per_year"] = float(
            (f["exits_acquired"] + f["exits_bankrupt"]).mean() / ((T + 1) / 12))
    r0 = next((r for r in records if r.variant == "default"), None)
    if r0 is not None:
        out["default_rank_slope_start"] = rank_size_slope(final_sizes(r0, 0))
    return out


def atlas_numbers(root: str | Path) -> dict[str, Any]:
    """Regime totals, Sobol' indices and per-driver regime shares of a sweep directory."""
    from marketsim.report import SweepResults, regime_totals, sobol_indices

    res = SweepResults(root)
    runs = res.runs
    sob, note = sobol_indices(res)
    drivers = {}
    for key in res.names:
        bins = pd.qcut(runs[key], q=5, duplicates="drop")
        share = pd.crosstab(bins, runs["regime"], normalize="index").reindex(
            columns=list(REGIMES), fill_value=0.0)
        drivers[key] = share
    return {"res": res, "totals": regime_totals(res), "sobol": sob, "sobol_note": note,
            "drivers": drivers, "runs": len(runs), "names": res.names,
            "points": len(res.points), "replications": res.design.get("replications"),
            "samples": res.manifest.get("experiment", {}).get("design", {}).get("samples")}


# ------------------------------------------------------------------------------ markdown
def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.0%}"


def _num(x: float, digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _x(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.2f}×"


def _of(k: int, n: int) -> str:
    return f"{k} of {n}"


def _most(k: int, n: int) -> str:
    """'most', 'half', 'a minority' ... of n."""
    if n == 0:
        return "none"
    s = k / n
    return ("all" if k == n else "most" if s > 0.5 else "half" if s == 0.5 else
            "a minority" if k > 0 else "none")


def _regime_table(summ: pd.DataFrame) -> str:
    head = ("| variant | runs | competitive | concentrated | bifurcated | consolidated | "
            "HHI final | HHI last year | bimodality (last year) | middle share (last year) "
            "| active labs | CR1 final | leader's owned share (last year) |")
    lines = [head, "|" + "---|" * 13]
    for v, r in summ.iterrows():
        lines.append(
            f"| {v} | {int(r['runs'])} | " + " | ".join(_pct(r[g]) for g in REGIMES)
            + f" | {r['hhi_end']:,.0f} ± {r['hhi_end_sd']:,.0f}"
            f" | {r['hhi_year']:,.0f} ± {r['hhi_year_sd']:,.0f}"
            f" | {r['bimodality_year']:.2f} ± {r['bimodality_year_sd']:.2f}"
            f" | {r['middle_share_year']:.2f} ± {r['middle_share_year_sd']:.2f}"
            f" | {r['active_labs_end']:.1f} ± {r['active_labs_end_sd']:.1f}"
            f" | {r['cr1_end']:.2f} ± {r['cr1_end_sd']:.2f}"
            f" | {r['leader_owned_year']:.2f} ± {r['leader_owned_year_sd']:.2f} |")
    return "\n".join(lines)


def _sobol_table(sob: pd.DataFrame) -> str:
    lines = ["| output (final) | parameter | S1 (first order) | ST (total) |", "|---|---|---|---|"]
    for r in sob.itertuples():
        lines.append(f"| {r.output} | `{r.parameter}` | {r.S1:.2f} ± {r.S1_conf:.2f} | "
                     f"{r.ST:.2f} ± {r.ST_conf:.2f} |")
    return "\n".join(lines)


def _driver_table(drivers: dict[str, pd.DataFrame]) -> str:
    lines = ["| driver | lowest fifth: competitive / concentrated / bifurcated | "
             "highest fifth: competitive / concentrated / bifurcated |", "|---|---|---|"]
    for key, share in drivers.items():
        lo, hi = share.iloc[0], share.iloc[-1]
        fmt = lambda s, iv: (f"{iv.mid:.3g}: " + " / ".join(  # noqa: E731
            _pct(s[g]) for g in ("competitive", "concentrated", "bifurcated")))
        lines.append(f"| `{key}` | {fmt(lo, share.index[0])} | {fmt(hi, share.index[-1])} |")
    return "\n".join(lines)


def render_markdown(*, meta: dict[str, Any], summ: pd.DataFrame, fin: pd.DataFrame,
                    story: dict[str, Any], facts: dict[str, Any], atlas: dict[str, Any] | None,
                    figures: dict[str, str], threshold: float, comfort: float) -> str:
    """docs/results.md: every number below comes from ``summ``, ``story``, ``facts``, ``atlas``."""
    d = summ.loc["default"] if "default" in summ.index else None
    nl = summ.loc["null"] if "null" in summ.index else None
    eq = summ.loc["default, equal start"] if "default, equal start" in summ.index else None
    nu = summ.loc["null, unequal start"] if "null, unequal start" in summ.index else None
    n = int(d["runs"]) if d is not None else 0
    s = story
    f = facts
    big = lambda row: row["bifurcated"] + row["consolidated"]  # noqa: E731
    L: list[str] = []
    w = L.append
    w("# Results: do bifurcation and consolidation emerge?\n")
    w(f"Generated by `python -m marketsim.results --seeds {meta['seeds']}` "
      f"(marketsim {meta['version']}; {meta['seeds']} seeds per variant, "
      f"{meta['ticks']} months, {meta['buyers']:,} buyers; {meta['runs']} runs plus "
      f"{meta['atlas_runs']} atlas runs in {meta['minutes']:.1f} min on {meta['workers']} "
      "processes). Every number on this page is computed by `marketsim/results.py` from "
      "those runs; re-running the command rewrites the page and the figures. Regime labels "
      "are the model's own (`AIMarketModel.regime`: measures averaged over the last 12 "
      "months, thresholds in the scenario's `[regime]` section).\n")
    w("## In short\n")
    if d is not None and nl is not None:
        w(f"- **Default vs null.** The calibrated default ends bifurcated or consolidated in "
          f"{_pct(big(d))} of seeds (bifurcated {_pct(d['bifurcated'])}, concentrated "
          f"{_pct(d['concentrated'])}, competitive {_pct(d['competitive'])}); the null "
          f"scenario ends competitive in {_pct(nl['competitive'])}. Final HHI of revenue "
          f"{d['hhi_end']:,.0f} vs {nl['hhi_end']:,.0f}; bimodality of log lab size (last "
          f"year) {d['bimodality_year']:.2f} vs {nl['bimodality_year']:.2f}; share of labs "
          f"in the middle size band {d['middle_share_year']:.2f} vs "
          f"{nl['middle_share_year']:.2f}.")
    if eq is not None and nu is not None:
        w(f"- **Rules, not the starting point.** From twelve *equal* labs that own nothing, "
          f"the default rules still concentrate the market (last-year HHI "
          f"{eq['hhi_year']:,.0f} vs {d['hhi_year']:,.0f} from the calibrated start) and "
          f"reach the bifurcated label in {_pct(eq['bifurcated'])} of seeds "
          f"(concentrated {_pct(eq['concentrated'])}, default start: "
          f"{_pct(d['bifurcated'])}). The null rules from the default's "
          f"unequal start end competitive in {_pct(nu['competitive'])} of seeds (HHI "
          f"{nu['hhi_end']:,.0f}): the initial inequality washes out without the returns to "
          "scale.")
    w(f"- **The leader refuses money.** The revenue leader refused offers in "
      f"{_of(s['seeds_leader_refused'], n)} seeds (median ${_num(s['leader_refused_median'])}bn "
      f"refused against ${_num(s['leader_raised_median'])}bn accepted over ten years); "
      f"{_pct(s['refusal_comfortable_share'])} of its refusals came with a runway of at least "
      f"{comfort:.0f} months. It owned most of its compute over the last year in "
      f"{_of(s['seeds_leader_owns_most_year'], n)} seeds and at the last tick in "
      f"{_of(s['seeds_leader_owns_most_end'], n)}.")
    w("- **Who the small labs are.** "
      + ("The rest of the market is not a class of pure renters at the end: "
         if s["others_owned_end_median"] >= threshold else "The rest of the market rents: ")
      + f"the labs other than the leader own a median {_pct(s['others_owned_end_median'])} "
      "of their GPUs at the end (see *Where the model is weak*).")
    if atlas is not None:
        xk, yk = _map_axes(atlas)
        sh = atlas["drivers"][xk]
        line = (f"- **Atlas.** Over {atlas['runs']} runs around the default, "
                f"`{xk}` moves the outcome most: {_pct(sh['competitive'].iloc[0])} of runs end "
                f"competitive in its lowest fifth, {_pct(sh['competitive'].iloc[-1])} in its "
                "highest.")
        if atlas.get("sobol") is not None:
            sob = atlas["sobol"]
            parts = []
            for out in dict.fromkeys(sob["output"]):
                t = sob[sob["output"] == out]
                top = t.sort_values("ST", ascending=False).iloc[0]
                parts.append(f"{out}: largest ST `{top['parameter']}` ({top['ST']:.2f}), "
                             f"sum of S1 {t['S1'].sum():.2f}")
            line += " Sobol' indices of final values: " + "; ".join(parts) + "."
        w(line)
    w("")

    # ---------------------------------------------------------------- section 1
    w("## 1. Default vs null over seeds\n")
    w("Four variants separate the starting conditions from the mechanisms: **default** (the "
      "calibrated scenario: a Zipf-sized market whose leader owns half its GPUs; a cost gap "
      "between owned and rented compute, a minimum efficient scale for data centres, fixed "
      "costs, switching costs and strong returns to training compute in buyers' choice), "
      "**null** (`scenarios/null.toml`: equal start, none of those forces), **default, equal "
      "start** (default rules, twelve equal labs owning nothing) and **null, unequal start** "
      "(null rules, the default's start). Mean ± standard deviation over seeds:\n")
    w(_regime_table(summ) + "\n")
    w(f"![regimes]({figures['regimes']})\n")
    w("*Left: share of seeds ending in each regime. Right: the measures behind the label, "
      f"one dot per seed; dotted lines are the label's thresholds (HHI "
      f"{meta['regime']['hhi_concentrated']:,.0f}, bimodality "
      f"{meta['regime']['bimodality']:.3g}, middle share {meta['regime']['middle_share']:.3g}, "
      f"leader's owned share {meta['regime']['giant_owned_share']:.3g}).*\n")

    # ---------------------------------------------------------------- section 2
    w("## 2. The seed story, measured (default scenario)\n")
    w(f"The *revenue leader* of a run is the lab with the most revenue over the run; in "
      f"{_of(s['leader_was_largest'], n)} seeds it is the lab that was largest in January "
      f"2025. An *owner* owns at least {threshold:.0%} of its GPUs (the regime label's "
      "`giant_owned_share`), a *renter* less.\n")
    w("**The leader turns money down.** "
      f"Offers were refused somewhere in the market in {_of(s['seeds_market_refused'], n)} "
      f"seeds (mean ${_num(s['market_refused_mean'])}bn over the run); the leader alone "
      f"refused in {_of(s['seeds_leader_refused'], n)} seeds, ${_num(s['leader_refused_min'])}"
      f"–{_num(s['leader_refused_max'])}bn per run (median ${_num(s['leader_refused_median'])}"
      f"bn, {_pct(s['leader_refused_share_of_market'])} of all money refused). It refused in "
      f"{s['refusal_months']} months in all; the median refused offer was "
      f"${_num(s['refusal_amount_median'])}bn while its yearly shortfall (commitments not "
      f"covered by revenue, ×12) was a median ${_num(s['refusal_shortfall_median'])}bn; "
      f"{_pct(s['refusal_comfortable_share'])} of refusals came with a runway of at least "
      f"{comfort:.0f} months (`labs.runway_comfort`) and {_pct(s['refusal_covered_share'])} "
      f"when revenue covered all its commitments. When it refused it owned a median "
      f"{_pct(s['refusal_owned_median'])} of its GPUs. The rule behind it "
      "(`AILab.consider_offer`) weighs the cash against dilution at the owners' own valuation; "
      "cash is worth more than face value only when the runway is short or when the lab is "
      "big enough to turn it into a data centre. So refusal is not scripted: it happens when "
      "the offer's pre-money is below the lab's internal valuation and the lab does not need "
      "the money. The timing differs from the story: the leader's first refusal comes after "
      f"a median {_num(s['refusal_first_year_median'], 2)} years (earliest "
      f"{_num(s['refusal_first_year_min'], 2)}), once its revenue covers its commitments; "
      "until then it takes every offer it gets; its accepted rounds total a median "
      f"${_num(s['leader_raised_median'])}bn over the run. Its largest refused offer is a "
      f"median ${_num(s['refusal_max_median'])}bn per run.\n")
    w(f"**The leader owns its compute — at the start and the end.** It starts owning "
      f"{_pct(s['leader_owned_start'])} of its GPUs (the calibrated input), rents its way up "
      f"to a median {_pct(s['leader_owned_y2'])} owned after two years, then builds. Over the "
      f"last year the revenue leader owned a mean "
      f"{_pct(s['leader_owned_year_mean'])} of its GPUs; it owned more than half in "
      f"{_of(s['seeds_leader_owns_most_year'], n)} seeds (last-year mean) and "
      f"{_of(s['seeds_leader_owns_most_end'], n)} at the last tick (at least {threshold:.0%} "
      f"in {_of(s['seeds_leader_owns_giant_end'], n)}). Panel (b) shows the path"
      + (": the leader first grows by renting (its owned share falls), then its budget "
         "clears the minimum efficient scale and its data centres come online after the "
         "lead time.\n" if s["leader_owned_y2"] < s["leader_owned_start"] else ".\n"))
    undercut = s["second_price_ratio_y3"] > 1.0
    w(f"**Owners' lower cost{', and undercutting' if undercut else ', but no undercutting'}.**"
      f" The leader's compute cost per M tokens is the lowest: the other labs of 2025 pay "
      f"{_x(s['second_cost_ratio_y1'])} the leader's cost per token after one year, "
      f"{_x(s['second_cost_ratio_y3'])} after three and "
      f"{_x(s['second_cost_ratio_end'])} at the end; entrants "
      f"{_x(s['entrant_cost_ratio_y1'])}, {_x(s['entrant_cost_ratio_y3'])} and "
      f"{_x(s['entrant_cost_ratio_end'])} (median ratios over seeds). But prices "
      f"follow costs with a Lerner mark-up that rises with market share, so the leader "
      f"{'undercuts' if undercut else 'does *not* undercut'}: the other labs' price is "
      f"{_x(s['second_price_ratio_y1'])} the "
      f"leader's after one year, {_x(s['second_price_ratio_y3'])} after three and "
      f"{_x(s['second_price_ratio_end'])} at the end (below 1: the leader charges "
      "more). "
      + ("" if undercut else "The leader turns its cost advantage into margin and training "
         "compute, not into a price war. ")
      + "Revenue shares (median): the "
      f"leader {_pct(s['leader_share_y1'])} after one year, {_pct(s['leader_share_y3'])} "
      f"after three, {_pct(s['leader_share_end'])} at the end; entrants "
      f"{_pct(s['entrant_share_y1'])}, {_pct(s['entrant_share_y3'])} and "
      f"{_pct(s['entrant_share_end'])}.\n")
    w(f"The squeeze falls on the **second tier of 2025**: of its {s['second_tier']} labs "
      f"(all runs), {s['second_early_exits']} left in the first three years "
      f"({s['second_early_acquired']} acquired, median month "
      f"{_num(s['second_early_exit_median_tick'])}; {s['second_early_never_raised']} of them "
      "never raised a round, because VCs do not offer to a lab growing at less than half the "
      "market's rate while more than 0.3 log10 behind the frontier). **Entrants** start as "
      "renters valued at four times their seed money with no revenue; "
      f"{_pct(s['entrants_raised_share'])} of the {s['entrants']} entrants raised a round "
      f"after the seed, the first at a median {_num(s['entrant_first_multiple_median'])}× "
      f"run rate (a high valuation); yet only {_pct(s['entrants_exit_share'])} of entrants "
      f"exited, and {_pct(s['entrants_renter_share'])} never came to own {threshold:.0%} of "
      "their GPUs."
      + (" In this model young renters are mostly not squeezed out; they grow into owners "
         "(see *Where the model is weak*).\n" if s["entrants_exit_share"] < 0.5
         and s["entrants_renter_share"] < 0.5 else "\n"))
    w(f"**Exits.** Per run, a mean of {s['acquired_mean']:.1f} acquisitions, "
      f"{s['bankrupt_mean']:.1f} bankruptcies and {s['entries_mean']:.1f} entries over ten "
      f"years (panel e; the null scenario has "
      f"{f.get('null_exits_per_year', math.nan) * 10:.1f} exits per run). "
      + (f"The giant itself left the market (acquired or bankrupt) in "
         f"{_of(s['leader_exits'], n)} seeds, {s['leader_exits_last_year']} of them in the "
         f"last year ({s['leader_exits_last_year_bifurcated']} of which are still labelled "
         "bifurcated: the label averages the last year).\n" if s["leader_exits"] else
         "The giant itself never leaves the market.\n"))
    w(f"![story]({figures['story']})\n")
    w("*(a) Cumulative money accepted, refused and earned by the revenue leader (symlog "
      "scale). (b) Owned share of GPUs: the run's revenue leader, the current month's revenue "
      "leader (the `leader_owned_share` reporter) and all other labs together; dotted: "
      f"{meta['regime']['giant_owned_share']:.3g}, the label's owner threshold. (c) Compute "
      "cost (solid) and price (dashed) per M tokens of the other labs of "
      "2025 and of entrants, divided by the revenue leader's (revenue-weighted). (d) Revenue "
      "shares of the leader, the other labs of 2025 and entrants. (e) Cumulative entries and "
      "exits. (f) Share of labs still active by age.*\n")

    # ---------------------------------------------------------------- section 3
    w("## 3. Stylised facts\n")
    w(f"- **Heavy-tailed lab sizes.** Slope of log size on log rank over the ten largest "
      f"labs: {_num(f.get('default_rank_slope_start', math.nan), 2)} at the start (the "
      f"calibrated Zipf input), {_num(f.get('default_rank_slope', math.nan), 2)} at the end "
      f"in the default, {_num(f.get('null_rank_slope', math.nan), 2)} in the null (median "
      f"over seeds). The largest lab is {_num(f.get('default_top_over_median', math.nan), 2)}× "
      f"the median lab at the end in the default, "
      f"{_num(f.get('null_top_over_median', math.nan), 2)}× in the null, and "
      f"{_num(f.get('default_top_over_second', math.nan), 2)}× the second in the default "
      f"(calibrated start: {_num(f.get('default_top_over_second_start', math.nan), 2)}×). "
      + ("The default ends with one giant well above a block of similar labs (panel a)."
         if f.get("default_top_over_second", 0) >= 3 else "(Panel a.)"))
    w(f"- **Prices fall.** The revenue-weighted price per M tokens falls "
      f"{_num(f.get('default_price_per_mtok_fall_y1', math.nan), 2)}× in the first year and "
      f"{_num(f.get('default_price_per_mtok_fall_all', math.nan), 2)}× a year on average over "
      f"the run (${_num(f.get('default_price_per_mtok_start', math.nan), 2)} → "
      f"${_num(f.get('default_price_per_mtok_end', math.nan), 2)} per M tokens). The price "
      f"per unit of capability (`price_per_capability`: price ÷ the frontier's effective "
      f"compute relative to tick 0) falls "
      f"{_num(f.get('default_price_per_capability_fall_y1', math.nan), 3)}× in the first year "
      f"(calibration target ~10×, tolerance 3–40×) and "
      f"{_num(f.get('default_price_per_capability_fall_all', math.nan), 3)}× a year over the "
      f"run. Null: {_num(f.get('null_price_per_mtok_fall_all', math.nan), 2)}× a year per M "
      "tokens.")
    w(f"- **Entry and exit.** Default: {f.get('default_entries_per_year', math.nan):.2f} "
      f"entries and {f.get('default_exits_per_year', math.nan):.2f} exits a year; null: "
      f"{f.get('null_entries_per_year', math.nan):.2f} entries and "
      f"{f.get('null_exits_per_year', math.nan):.2f} exits a year (panel c).")
    hh = [f"year {y}: {f.get(f'default_hhi_y{y}', math.nan):,.0f} / "
          f"{f.get(f'default_equal_start_hhi_y{y}', math.nan):,.0f} / "
          f"{f.get(f'null_hhi_y{y}', math.nan):,.0f}"
          for y in (1, 3, 5)] + [
        f"end: {f.get('default_hhi_end', math.nan):,.0f} / "
        f"{f.get('default_equal_start_hhi_end', math.nan):,.0f} / "
        f"{f.get('null_hhi_end', math.nan):,.0f}"]
    hline = meta["regime"]["hhi_concentrated"]
    transient = (f.get("null_hhi_peak", 0) > hline and f.get("null_hhi_end", 0) < hline)
    w("- **Concentration "
      + ("lasts in the giants' regime and is transient in the null.**" if transient else
         "rises in the giants' regime, not in the null.**")
      + " Median HHI of revenue, default / default from an equal start / null — "
      + "; ".join(hh) + " (panel d)."
      + (" Concentration peaks in the first years, when the leader's training compute turns "
         "into capability and share, and then eases as the open-weight floor and falling "
         "prices let the rest catch up."
         if f.get("default_hhi_y1", 0) > f.get("default_hhi_end", 0) else "")
      + (f" In the null one lab can pull ahead for a while (median HHI peaks at "
         f"{f['null_hhi_peak']:,.0f} after {f['null_hhi_peak_year']:.1f} years), but without "
         "returns to scale, switching costs or a cost gap the others catch up."
         if transient else "") + "\n")
    w(f"![facts]({figures['facts']})\n")

    # ---------------------------------------------------------------- section 4
    w("## 4. The regime atlas\n")
    if atlas is None:
        w("No sweep was run (`--no-atlas`).\n")
    else:
        tot = atlas["totals"]
        w(f"A reduced version of `experiments/regimes.toml`: a Sobol' design over the five "
          f"drivers below (base N = {atlas['samples']}, {atlas['points']} design points × "
          f"{atlas['replications']} seed = {atlas['runs']} runs of the default scenario, "
          "run with `marketsim.sweep.run_sweep`). For tighter intervals run the full "
          "experiment (`marketsim sweep experiments/regimes.toml --out results/regimes`) and "
          "pass it with `--atlas results/regimes`. Share of runs ending in each regime: "
          + ", ".join(f"{r} {_pct(row['share'])}" for r, row in tot.iterrows()) + ".\n")
        w(_driver_table(atlas["drivers"]) + "\n")
        w(f"![drivers]({figures['drivers']})\n")
        w(f"![map]({figures['map']})\n")
        if atlas.get("sobol") is not None:
            w("Sobol' indices of the final HHI of revenue and the final bimodality (each design "
              "point's mean over its seeds; 95% intervals):\n")
            w(_sobol_table(atlas["sobol"]) + "\n")
            sums = atlas["sobol"].groupby("output", sort=False)["S1"].sum()
            w("Sum of first-order indices: " + "; ".join(
                f"{k} {v:.2f} (" + ("most of its variance comes from interactions between "
                                    "the drivers and from seed noise, which one seed per "
                                    "design point shows as interaction" if v < 0.5 else
                                    "the drivers one at a time explain most of its "
                                    "variance") + ")" for k, v in sums.items()) + ".\n")
            w(f"![sobol]({figures['sobol']})\n")
        if atlas.get("sobol_note"):
            w(f"*Note: {atlas['sobol_note']}.*\n")
        w("With this few runs the intervals are wide; read the ranking of total indices, not "
          "their values. Final values are single months and noisy (the regime label averages "
          "the last year).\n")

    # ---------------------------------------------------------------- section 5
    w("## 5. What drives each regime\n")
    w("- **Winner-take-most** comes from a loop that runs through every mechanism: training "
      "compute → effective compute (with algorithmic progress) → capability, which buyers "
      "weigh heavily in their logit choice (`buyers.quality_weight`, plus more tokens per "
      "buyer the further a lab is above the open-weight floor) → revenue share → a bigger "
      "compute budget (`labs.reinvest_share` of revenue) → more training compute. VCs screen "
      "in proportion to revenue and herd on peer multiples, and hyperscalers make strategic "
      "offers to the most capable lab, so money follows share.")
    if eq is not None:
        w(f"- **That loop, not the calibrated head start, concentrates the market.** From an "
          f"equal start the default rules reach a last-year HHI of {eq['hhi_year']:,.0f} "
          f"(calibrated start: {d['hhi_year']:,.0f}); one lab pulls ahead from small "
          "random differences in starting GPUs and cash, and the loop does the rest "
          "(panel d of the stylised facts). The null's rules erase the "
          f"calibrated head start (HHI {nu['hhi_end']:,.0f} with it, "
          f"{nl['hhi_end']:,.0f} without).")
    w("- **The owned/rented split** comes from the cost gap (rent = owned cost × (1 + "
      "`hyperscalers.margin` + a utilisation premium)) and the minimum efficient scale: a lab "
      "builds only if the part of its compute budget it may put into capex"
      + (f" (`labs.capex_share` = {meta['capex_share']:.3g})" if meta.get("capex_share")
         else "") + ", over the build lead time, pays for at least the minimum efficient "
      f"scale ({meta['mes']:,.0f} GPUs at the start). Only big budgets own at first; "
      "owning lowers the "
      f"cost per token (the second tier pays {_x(s['second_cost_ratio_y3'])} the "
      "leader's after three years), and the leader spends the saving on margin and training "
      "rather than on lower prices. In the null (no cost gap) nobody builds: the owned share "
      "stays at zero.")
    w("- **Bifurcation versus mere concentration** depends on how far the giant pulls away "
      "from the rest: the label needs few labs in the middle size band, which one "
      "giant far above a block of similar labs produces (at the end the largest lab is "
      f"{_num(f.get('default_top_over_second', math.nan), 2)}× the second in the default, "
      f"median). From the calibrated start the leader is already "
      f"{_num(f.get('default_top_over_second_start', math.nan), 2)}× the next lab and the run "
      f"ends bifurcated in {_pct(d['bifurcated'])} of seeds"
      + (f"; from an equal start in {_pct(eq['bifurcated'])} (concentrated "
         f"{_pct(eq['concentrated'])}, competitive {_pct(eq['competitive'])})."
         if eq is not None else ".")
      + (" The head start makes the split more likely but is not needed for it."
         if eq is not None and eq["bifurcated"] > 0.5 else
         " The head start matters for the split more than for concentration."
         if eq is not None else ""))
    rgm = meta["regime"]
    exits = s["acquired_mean"] + s["bankrupt_mean"]
    w(f"- **Consolidation** (at most {rgm['consolidated_labs']} labs with an HHI above "
      f"{rgm['hhi_concentrated']:,.0f}) needs exits to outrun entry. "
      + ("Here they do not: " if exits <= s["entries_mean"] else "Here they do: ")
      + f"{exits:.1f} exits against {s['entries_mean']:.1f} entries per default run, and "
      f"{_pct(d['consolidated'])} of default seeds consolidate. Exits come from labs out "
      "of cash whom VCs will not fund (losing ground) and whom a richer rival or hyperscaler "
      "buys for their customers, GPUs and capability.")
    w("- **Competition** returns when the loop is cut: no quality premium beyond the "
      "open-weight floor, no cost gap, no fixed costs and no switching costs (the null).")
    if atlas is not None:
        moves = []
        for key, share in atlas["drivers"].items():
            lo, hi = share.iloc[0], share.iloc[-1]
            moves.append((abs(hi["competitive"] - lo["competitive"]), key, lo, hi,
                          share.index[0].mid, share.index[-1].mid))
        moves.sort(reverse=True)
        _, key, lo, hi, xlo, xhi = moves[0]
        _, key2, lo2, hi2, xlo2, xhi2 = moves[1]
        w(f"  Within the default's neighbourhood (the atlas) the driver that moves the "
          f"competitive share most is `{key}`: {_pct(lo['competitive'])} of runs end "
          f"competitive in its lowest fifth (around {xlo:.3g}) and "
          f"{_pct(hi['competitive'])} in its highest (around {xhi:.3g}); next comes `{key2}` "
          f"({_pct(lo2['competitive'])} → {_pct(hi2['competitive'])}). A short open-weight "
          "lag is the commoditisation force: when anyone can reach near-frontier capability "
          "months later, capability stops separating labs and buyers choose on price.")
    w("")

    # ---------------------------------------------------------------- section 6
    rg = meta["regime"]
    w("## 6. Where the model is weak\n")
    owners_at_end = s["others_owned_end_median"] >= threshold
    title = ("The bifurcated label overstates the renter class" if owners_at_end else
             "The renter class is checked only among small labs")
    w(f"- **{title}.** The label asks for a bimodal log-size distribution, few labs in "
      f"the middle size band, a leader owning at least {threshold:.0%} of its GPUs and the "
      f"small labs (under a tenth of the largest) renting at least "
      f"{rg.get('small_rented_share', math.nan):.0%} of theirs; the labs in between may own "
      "or rent. By the end the labs other than the leader own a median "
      f"{_pct(s['others_owned_end_median'])} of their GPUs"
      + (f" (their combined owned share first exceeds {threshold:.0%} after "
         f"{_num(s['others_cross_year'], 2)} years)" if owners_at_end
         and np.isfinite(s["others_cross_year"]) else "")
      + f", and labs owning less than {threshold:.0%} number a median "
      f"{_num(s['renters_y1'], 2)} after one year, {_num(s['renters_y3'], 2)} after three and "
      f"{_num(s['renters_end'], 2)} at the end (owners at the end: {_num(s['owners_end'], 2)}). "
      f"The minimum efficient scale starts at {meta['mes']:,.0f} GPUs"
      + (f" and grows {meta['scale_growth']:.3g}× a year" if meta.get("scale_growth")
         not in (None, 1.0) else " and stays there")
      + ", while every lab's budget grows with the market. "
      + ("So within a few years most survivors can build: the 'many small renters' of the "
         "story exist early (and among fresh entrants) but not at the end. "
         + ("A minimum efficient scale that keeps pace with the frontier would keep them."
            if meta.get("scale_growth") in (None, 1.0) else
            "Its growth is not fast enough to keep them renting.")
         if owners_at_end else
         "The small labs mostly keep renting: the owned/rented split of the story holds at "
         "the end."))
    if s["leader_exits"] > 0:
        w(f"- **The giant can fall.** In {_of(s['leader_exits'], n)} default seeds the revenue "
          f"leader itself is acquired or goes bankrupt, {s['leader_exits_last_year']} times in "
          f"the last year ({s['leader_exits_last_year_bifurcated']} of those runs are still "
          "labelled bifurcated, since the label averages the last year). Median enterprise "
          f"spend peaks after {_num(s['spend_peak_year'], 2)} years and ends at "
          f"{_pct(s['spend_end_over_peak'])} of its peak; a giant with rentals and "
          "data-centre instalments committed runs out of cash quickly once its revenue turns "
          "down. Whether that is a real risk or an artefact of constant-elasticity demand "
          "with decaying usage growth is open.")
    w("- **One market, one product.** Only enterprise API tokens are sold; there is no "
      "consumer segment (subscriptions, advertising), no product differentiation beyond one "
      "capability number and no vertical integration into applications.")
    w("- **A crude capital market.** Funding is equity rounds at a single valuation"
      + (" plus creditors' bridge loans to labs whose revenue covers their commitments"
         if meta.get("credit") else " (no debt)")
      + "; no bonds, convertible or structured deals; a VC's cheque is capped by its dry "
      "powder, the lab's valuation of itself is a fixed revenue multiple, and hyperscalers' "
      "strategic offers arrive at random. Mega-rounds of the size that fund a $50bn "
      "data-centre programme are not represented faithfully.")
    if s["inference_share_end"] < 1e-3:
        w(f"- **Inference uses almost no compute — a units slip.** A median "
          f"{s['inference_share_start']:.1e} of all GPUs serve inference at the start and "
          f"{s['inference_share_end']:.1e} at the end; the rest trains. Revenue is "
          "`tokens × price × 1e-3` $bn, which makes one demand unit 10^6 M tokens, while "
          "capacity is `inference GPUs × tokens per GPU-month` in M tokens, so serving "
          "capacity never binds and inference costs nothing. With consistent units the "
          "leader's 2025 traffic (about $1bn/yr at ~$4 per M tokens) would need some 20,000 "
          "GPUs.")
    else:
        w(f"- **Compute use is a rule.** A median {_pct(s['inference_share_start'])} of all "
          f"GPUs serve inference at the start and {_pct(s['inference_share_end'])} at the "
          "end; the split follows a rule (serve expected demand with headroom, keep a "
          "minimum training share), not an optimisation, and training compute has no "
          "market of its own.")
    if not s["owned_ever_falls"]:
        w("- **Owned GPUs never retire.** No active lab's owned GPUs ever fall in these runs: "
          "capacity stays online for the whole run (its capital cost is spread over "
          "`compute.gpu_life` for pricing only), which flatters early owners.")
    f_null_exits = f.get("null_exits_per_year", math.nan)
    if np.isfinite(f_null_exits) and f_null_exits == 0:
        w("- **No exits in the null.** The null's labs never run out of cash (no fixed "
          "costs), so the null has no selection at all; part of its competitiveness is that.")
    w(f"- **Labels are conventions.** HHI {rg['hhi_concentrated']:,.0f} is the US 2023 merger "
      f"guidelines' line; Sarle's {rg['bimodality']:.3g} is near the uniform distribution's "
      f"5/9; the middle-band share of {rg['middle_share']:.3g}, at most "
      f"{rg['consolidated_labs']} labs for 'consolidated' and the owned share of "
      f"{threshold:.0%} are this project's choices. Sarle's coefficient on 12–20 labs is "
      "noisy, and one outlier lab can push it above the line.")
    w(f"- **Few runs.** A regime share over {n} seeds has a standard error of up to "
      f"±{100 * 0.5 / max(n, 1) ** 0.5:.0f} percentage points; the atlas uses a few hundred "
      "runs, its Sobol' intervals are wide and the regime map pools the other drivers.\n")
    w("## Does anything in the code decide the outcome directly?\n")
    w("No rule reads the regime label or targets a market structure: the label is computed "
      "after the fact (`marketsim.metrics.classify_regime`). Three choices do favour the "
      "leader by design and should be read as assumptions, not results: the default's "
      "calibrated start (Zipf sizes, the leader owning half its GPUs; section 1 runs the "
      "same rules from an equal start), hyperscalers' strategic offers going to the most "
      "capable lab, and VCs "
      "screening labs in proportion to revenue.\n")
    return "\n".join(L)


# ------------------------------------------------------------------------------ driver
FIGURES: dict[str, str] = {
    "regimes": "figures/regimes.png", "story": "figures/story.png",
    "facts": "figures/facts.png", "drivers": "figures/atlas_drivers.png",
    "map": "figures/atlas_map.png", "sobol": "figures/atlas_sobol.png",
}


def generate(out: str | Path = "docs", *, seeds: int = 16, ticks: int | None = None,
             buyers: int | None = None, workers: int | None = None,
             atlas: str | Path | None = None, atlas_samples: int = 64,
             atlas_replications: int = 1, no_atlas: bool = False,
             cache: str | Path | None = None, progress: bool = True) -> Path:
    """Run everything and write ``out/results.md`` and ``out/figures/*.png``.

    Args:
        out: output folder (``docs``).
        seeds: seeds per variant.
        ticks: months per run (None: the scenarios' horizon).
        buyers: buyers per run (None: the scenarios' count).
        workers: local processes (None: every core).
        atlas: a sweep results directory to read (run or resumed there if incomplete);
            None runs a reduced sweep in a temporary directory.
        atlas_samples: Sobol' base N of the reduced sweep.
        atlas_replications: seeds per design point of the reduced sweep.
        no_atlas: skip the sweep (section 4 says so).
        cache: pickle file of the runs: read if it exists with the same settings, else
            written (delete it when the model changes).
        progress: progress bars on stderr.

    Returns:
        The path of the Markdown file.
    """
    from marketsim import __version__
    from marketsim.report import SweepResults, plot_sobol
    from marketsim.scenario import load_scenario

    t0 = time.perf_counter()
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    variants = default_variants()
    key = (seeds, ticks, buyers, tuple(variants), __version__)
    records: list[RunRecord] | None = None
    if cache is not None and Path(cache).is_file():
        with open(cache, "rb") as fh:
            saved = pickle.load(fh)
        if saved.get("key") == key:
            records = saved["records"]
    if records is None:
        records = run_variants(variants, seeds, ticks=ticks, buyers=buyers, workers=workers,
                               progress=progress)
        if cache is not None:
            with open(cache, "wb") as fh:
                pickle.dump({"key": key, "records": records}, fh)
    sc = load_scenario("default")
    threshold = _owner_threshold()
    comfort = float(sc.labs.runway_comfort)
    horizon = int(records[0].ticks["tick"].max())
    order = [v.name for v in variants]
    fin = finals(records)
    summ = regime_summary(fin, order)
    story = story_numbers(records, fin, threshold, comfort)
    facts = fact_numbers(records, fin)
    fig = {k: str(v) for k, v in FIGURES.items()}
    rg = sc.regime.model_dump()
    plot_regimes(fin, order, out / FIGURES["regimes"], rg)
    plot_story(records, threshold, out / FIGURES["story"], horizon)
    plot_facts(records, out / FIGURES["facts"], float(rg["hhi_concentrated"]))
    atlas_info = None
    atlas_runs = 0
    if not no_atlas:
        tmp = None
        root = Path(atlas) if atlas is not None else None
        if root is None:
            tmp = tempfile.TemporaryDirectory(prefix="marketsim-atlas-")
            root = Path(tmp.name) / "atlas"
        try:
            complete = False
            if root.is_dir():
                try:
                    res = SweepResults(root)
                    complete = len(res.runs) >= res.n_runs_planned
                except Exception:  # noqa: BLE001 - not a finished sweep: run or resume it
                    complete = False
            if not complete:
                run_atlas(root, atlas_samples, atlas_replications, workers=workers,
                          buyers=buyers, horizon=ticks, progress=progress)
            atlas_info = atlas_numbers(root)
            atlas_runs = atlas_info["runs"]
            res = atlas_info["res"]
            plot_atlas_drivers(res.runs, res.names, out / FIGURES["drivers"])
            xk, yk = _map_axes(atlas_info)
            plot_atlas_map(res.runs, xk, yk, out / FIGURES["map"])
            if atlas_info["sobol"] is not None:
                plot_sobol(atlas_info["sobol"], res.name, out / FIGURES["sobol"])
        finally:
            if tmp is not None:
                tmp.cleanup()
    meta = {"seeds": seeds, "version": __version__,
            "ticks": horizon + 1, "buyers": int(buyers or sc.buyers.count),
            "runs": len(records), "atlas_runs": atlas_runs,
            "minutes": (time.perf_counter() - t0) / 60.0,
            "workers": workers or os.cpu_count() or 1, "regime": rg,
            "mes": float(sc.compute.min_efficient_scale),
            "scale_growth": getattr(sc.compute, "scale_growth", None),
            "credit": bool(getattr(sc.labs, "credit_months", 0)),
            "capex_share": getattr(sc.labs, "capex_share", None)}
    text = render_markdown(meta=meta, summ=summ, fin=fin, story=story, facts=facts,
                           atlas=atlas_info, figures=fig, threshold=threshold, comfort=comfort)
    path = out / "results.md"
    path.write_text(text)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m marketsim.results``: write docs/results.md and docs/figures/*.png."""
    p = argparse.ArgumentParser(prog="python -m marketsim.results", description=__doc__
                                .split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=16, help="seeds per variant (default 16)")
    p.add_argument("--out", default="docs", help="output folder (default docs)")
    p.add_argument("--ticks", type=int, default=None, help="months per run (default: horizon)")
    p.add_argument("--buyers", type=int, default=None, help="buyers per run (default: scenario)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    p.add_argument("--atlas", default=None,
                   help="sweep results directory to use (run or resumed if incomplete)")
    p.add_argument("--atlas-samples", type=int, default=64,
                   help="Sobol' base N of the reduced regime sweep (default 64)")
    p.add_argument("--atlas-replications", type=int, default=1,
                   help="seeds per design point of the reduced sweep (default 1)")
    p.add_argument("--no-atlas", action="store_true", help="skip the regime sweep")
    p.add_argument("--cache", default=None, help="pickle of the runs to reuse or write")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    a = p.parse_args(argv)
    from marketsim.errors import ScenarioError

    for name in ("seeds", "atlas_samples", "atlas_replications"):
        if getattr(a, name) < 1:
            print(f"--{name.replace('_', '-')}: must be >= 1, given {getattr(a, name)}",
                  file=sys.stderr)
            return 2
    try:
        path = generate(a.out, seeds=a.seeds, ticks=a.ticks, buyers=a.buyers,
                        workers=a.workers, atlas=a.atlas, atlas_samples=a.atlas_samples,
                        atlas_replications=a.atlas_replications, no_atlas=a.no_atlas,
                        cache=a.cache, progress=not a.quiet)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"wrote {path} and {path.parent / 'figures'}")
    return 0


if __name__ == "__main__":
    # Run the imported module's main so that pickled records name marketsim.results, not
    # __main__ (the --cache file stays readable from anywhere).
    from marketsim.results import main as _main

    raise SystemExit(_main())
