"""Calibration targets from CALIBRATION.md and the model's values for them, over seeds.

Each :class:`Target` says how to read the figure off one run's tick table and the band the
mean over seeds must fall in. :func:`calibrate` runs the scenario over several seeds and
returns one row per target: figure, source, target, tolerance, model mean and range, within
tolerance or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Target:
    """One public figure the default scenario must reproduce.

    Attributes:
        figure: what is measured, in words.
        target: the public value, as text.
        low: lowest model value within tolerance.
        high: highest model value within tolerance.
        model_output: which reporter and ticks give the model value.
        source: where the public figure comes from.
        measure: function from one run's tick table to the model value.
    """

    figure: str
    target: str
    low: float
    high: float
    model_output: str
    source: str
    measure: Callable[[pd.DataFrame], float]


def _at(col: str, tick: int) -> Callable[[pd.DataFrame], float]:
    return lambda df: float(df[col].iloc[tick])


def _mean(col: str, a: int, b: int) -> Callable[[pd.DataFrame], float]:
    return lambda df: float(df[col].iloc[a : b + 1].mean())


def _price_fall(df: pd.DataFrame) -> float:
    return float(df["price_per_capability"].iloc[0] / df["price_per_capability"].iloc[12])


def _adoption_rises(df: pd.DataFrame) -> float:
    """Smallest year-on-year rise in adoption share over the run (must be > 0)."""
    a = df["adoption"].to_numpy()
    years = a[::12]
    return float(np.min(np.diff(years))) if years.size > 1 else float("nan")


TARGETS: tuple[Target, ...] = (
    Target("leading lab's revenue run rate, Jan 2025", "$1bn/yr", 0.5, 2.0,
           "leader_run_rate at tick 0 ($bn/yr)",
           "Anthropic, Dec 2024, as reported by the press", _at("leader_run_rate", 0)),
    Target("leading lab's revenue run rate, Jan 2026", "~$9bn/yr", 4.5, 18.0,
           "leader_run_rate at tick 12 ($bn/yr)",
           "Anthropic, end 2025 (reports: $5bn Aug 2025, $7bn Oct 2025)",
           _at("leader_run_rate", 12)),
    Target("leader's share of enterprise LLM API spend, 2025", "32-40%", 0.25, 0.50,
           "cr1_revenue, mean of ticks 6-12", "Menlo Ventures enterprise surveys, 2025",
           _mean("cr1_revenue", 6, 12)),
    Target("top two labs' share of enterprise LLM API spend, 2025", "57-67%",
           0.45, 0.80, "cr2_revenue, mean of ticks 6-12",
           "Menlo Ventures: Anthropic 32% + OpenAI 25% (mid 2025), 40% + 27% (Dec 2025)",
           _mean("cr2_revenue", 6, 12)),
    Target("valuation / annualised revenue at rounds, 2025", "25-45x", 15.0, 60.0,
           "top_multiple, mean of ticks 0-12",
           "OpenAI ($300bn, $500bn) and Anthropic ($61.5bn, $183bn) rounds vs run rates",
           _mean("top_multiple", 0, 12)),
    Target("mean price of frontier inference, 2025", "$3-6 per M tokens", 1.5, 12.0,
           "price_per_mtok, mean of ticks 0-12 ($/M tokens)",
           "list prices: GPT-4o, Claude Sonnet, GPT-5 (blended input/output)",
           _mean("price_per_mtok", 0, 12)),
    Target("price per unit of capability, yearly fall", "~10x per year", 3.0, 40.0,
           "price_per_capability, tick 0 / tick 12",
           "a16z 'LLMflation' (Nov 2024); Epoch AI (Mar 2025)", _price_fall),
    Target("rent per H100-hour, 2025", "$2-3.5", 1.7, 4.5,
           "rent_per_gpu_hour, mean of ticks 0-12 ($)",
           "SemiAnalysis H100 rental index (Oct 2025); hyperscaler and specialist clouds",
           _mean("rent_per_gpu_hour", 0, 12)),
    Target("venture money into frontier labs, 2025", "~$100bn", 40.0, 300.0,
           "sum of vc_deployed, ticks 0-11 ($bn)",
           "PitchBook: AI took $131.5bn of VC in 2024, ~$270bn in 2025",
           lambda df: float(df["vc_deployed"].iloc[0:12].sum())),
    Target("enterprise adoption rises every year", "rising Bass curve", 1e-9, 1.0,
           "adoption: smallest year-on-year rise",
           "US Census BTOS 3.7% (2023) -> ~10% (2025); McKinsey 33% -> 71%", _adoption_rises),
    Target("acquisitions of second-tier labs, first 3 years", ">= 1", 1.0, 1e9,
           "sum of exits_acquired, ticks 0-35",
           "Inflection, Adept, Character.ai, Windsurf deals (2024-25)",
           lambda df: float(df["exits_acquired"].iloc[0:36].sum())),
    Target("exits of any kind, first 3 years", "some", 1.0, 1e9,
           "sum of exits_acquired + exits_bankrupt, ticks 0-35", "as above",
           lambda df: float(df[["exits_acquired", "exits_bankrupt"]].iloc[0:36].sum().sum())),
)

#: Inputs set from public facts (shown in docs/calibration.md beside the targets).
INPUTS: tuple[tuple[str, str, str], ...] = (
    ("labs.count", "12 frontier labs", "Epoch AI, models over 1e25 FLOP (Jun 2025)"),
    ("compute.capex_per_gpu", "$50k per H100-equivalent, all in",
     "cluster capex ~$47-52k per H100 (2024); Nvidia, Bernstein per-GW figures"),
    ("compute.lead_time", "18 months (12-24)", "Epoch AI, data-centre build-out speeds"),
    ("compute.power_kw", "1.5 kW per GPU all in", "Nvidia DGX H100 specifications"),
    ("compute.power_price", "$0.075/kWh", "US EIA industrial average"),
    ("compute.tokens_per_gpu_hour", "1.2M tokens/GPU-hour served, incl. utilisation",
     "vendor and practitioner measurements; DeepSeek open-infra-index"),
    ("capability.algorithmic_progress", "3x per year", "Ho et al. (2024)"),
    ("capability.open_weight_lag", "9 months (3-12)", "Epoch AI open-models reports"),
    ("capability.follow_lag", "3 months (labs training at the minimum efficient scale)",
     "the low end of the 3-12 month open-weight gap (Epoch AI: 3-4 months by late 2025)"),
    ("buyers.bass_p, buyers.bass_q", "0.03, 0.38 per year", "Sultan, Farley & Lehmann (1990)"),
    ("labs.capex_share", "0.6 of the compute budget",
     "the seed story's leader: ~$50bn of its own data centres beside ~$30bn of cloud (Nov "
     "2025), 50 / 80"),
)


def calibration_runs(scenario: object = None, seeds: int = 8, ticks: int = 36,
                     progress: bool = False, first_seed: int = 0) -> list[pd.DataFrame]:
    """Tick tables of the scenario over ``seeds`` seeds from ``first_seed`` (36+ months each)."""
    from marketsim.model import AIMarketModel
    from marketsim.scenario import MarketScenario, load_scenario

    sc = scenario if isinstance(scenario, MarketScenario) else load_scenario(scenario)
    iterator = range(first_seed, first_seed + seeds)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="seeds", unit="run", leave=False)
    out = []
    for seed in iterator:
        m = AIMarketModel(sc, rng=seed)
        m.run(ticks=max(ticks, 36))
        out.append(m.datacollector.get_model_vars_dataframe())
    return out


def calibrate(scenario: object = None, seeds: int = 8, progress: bool = False,
              first_seed: int = 0) -> pd.DataFrame:
    """One row per target: figure, source, target, tolerance, model mean/min/max, ok.

    Args:
        scenario: a MarketScenario, a path or shipped name, or None for the default.
        seeds: how many seeds to run.
        progress: show a progress bar.
        first_seed: seeds are ``first_seed, first_seed + 1, ...``.
    """
    runs = calibration_runs(scenario, seeds=seeds, progress=progress, first_seed=first_seed)
    rows = []
    for t in TARGETS:
        vals = np.array([t.measure(df) for df in runs])
        mean = float(np.nanmean(vals))
        rows.append({
            "figure": t.figure, "target": t.target,
            "tolerance": f"{_fmt(t.low)} to {_fmt(t.high)}",
            "model_output": t.model_output, "model_mean": mean,
            "model_min": float(np.nanmin(vals)), "model_max": float(np.nanmax(vals)),
            "ok": bool(t.low <= mean <= t.high), "source": t.source,
        })
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    if x >= 1e8:
        return "any"
    if x == 1e-9:
        return "> 0"
    return f"{x:g}"


def to_markdown(table: pd.DataFrame, seeds: int) -> str:
    """The calibration table as Markdown (docs/calibration.md's body)."""
    lines = [
        f"Model values are the mean (and range) over seeds 0-{seeds - 1} of the default "
        "scenario; a figure is within tolerance when the mean is inside the band.",
        "",
        "| figure | target | tolerance | model mean (range) | within | model output | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.figure} | {r.target} | {r.tolerance} | {r.model_mean:.3g} "
            f"({r.model_min:.3g} to {r.model_max:.3g}) | {'yes' if r.ok else '**no**'} | "
            f"{r.model_output} | {r.source} |")
    lines += ["", "## Inputs set from public facts", "", "| key | value | source |",
              "|---|---|---|"]
    lines += [f"| `{k}` | {v} | {s} |" for k, v, s in INPUTS]
    return "\n".join(lines) + "\n"
