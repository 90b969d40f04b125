"""Compare the default market with one whose leading lab never takes outside money.

Runs ``scenarios/default.toml`` and ``examples/scenarios/bootstrapped_leader.toml`` (the
largest lab at tick 0 is an :class:`examples.custom_agents.BootstrappedLab`) on the same seeds
and prints a small table: how the rank-0 lab fares, and the market as a whole.

Run from the repository root (either works)::

    python -m examples.compare_custom
    python examples/compare_custom.py --seeds 3 --months 60 --buyers 2000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "default": ROOT / "scenarios" / "default.toml",
    "bootstrapped leader": ROOT / "examples" / "scenarios" / "bootstrapped_leader.toml",
}

ROWS: tuple[tuple[str, str], ...] = (
    ("rank-0 lab: class", "{}"),
    ("rank-0 lab: outside money raised ($bn)", "{:,.1f}"),
    ("rank-0 lab: offers refused ($bn)", "{:,.1f}"),
    ("rank-0 lab: revenue share", "{:.1%}"),
    ("rank-0 lab: owned GPUs (thousands)", "{:,.0f}"),
    ("rank-0 lab: still active", "{:.0%}"),
    ("market: HHI of revenue (0-10,000)", "{:,.0f}"),
    ("market: owned share of compute", "{:.1%}"),
    ("market: VC money deployed ($bn)", "{:,.0f}"),
    ("market: regime (most common)", "{}"),
)


def run_one(path: Path, seed: int, months: int, buyers: int) -> dict[str, object]:
    """Run one scenario for one seed and return the figures of :data:`ROWS`."""
    from marketsim import AIMarketModel, load_scenario

    sc = load_scenario(path, overrides={"buyers.count": buyers, "horizon": months})
    model = AIMarketModel(sc, rng=seed).run()
    df = model.datacollector.get_model_vars_dataframe()
    lab = model.labs[0]  # index 0 = initial size rank 0, the largest lab at tick 0
    return {
        "rank-0 lab: class": type(lab).__name__,
        "rank-0 lab: outside money raised ($bn)": lab.raised,
        "rank-0 lab: offers refused ($bn)": lab.refused,
        "rank-0 lab: revenue share": lab.revenue_share if lab.active else 0.0,
        "rank-0 lab: owned GPUs (thousands)": lab.owned_gpus / 1e3,
        "rank-0 lab: still active": float(lab.active),
        "market: HHI of revenue (0-10,000)": float(df["hhi_revenue"].iloc[-1]),
        "market: owned share of compute": float(df["owned_compute_share"].iloc[-1]),
        "market: VC money deployed ($bn)": float(df["vc_deployed"].sum()),
        "market: regime (most common)": model.regime,
    }


def summarise(runs: list[dict[str, object]]) -> dict[str, object]:
    """Mean of numeric figures over seeds; the most common value of text ones."""
    out: dict[str, object] = {}
    for key, _ in ROWS:
        values = [r[key] for r in runs]
        if isinstance(values[0], str):
            out[key] = max(set(values), key=values.count)
        else:
            out[key] = sum(values) / len(values)  # type: ignore[arg-type]
    return out


def table(results: dict[str, dict[str, object]]) -> str:
    """Plain-text table: one row per figure, one column per scenario."""
    names = list(results)
    width = max(len(k) for k, _ in ROWS)
    col = max(14, *(len(n) for n in names))
    lines = [f"{'':{width}}" + "".join(f"  {n:>{col}}" for n in names)]
    for key, fmt in ROWS:
        cells = "".join(f"  {fmt.format(results[n][key]):>{col}}" for n in names)
        lines.append(f"{key:{width}}{cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios on the same seeds and print the comparison table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds per scenario (default 3)")
    p.add_argument("--months", type=int, default=60, help="months per run (default 60)")
    p.add_argument("--buyers", type=int, default=2000, help="buyers per run (default 2000)")
    args = p.parse_args(argv)
    # The scenario names "examples.custom_agents:BootstrappedLab": the repository root must be
    # importable. ``python -m examples.compare_custom`` does that; a plain script run does not.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    results = {
        name: summarise([run_one(path, seed, args.months, args.buyers)
                         for seed in range(args.seeds)])
        for name, path in SCENARIOS.items()
    }
    print(f"{args.seeds} seeds, {args.months} months, {args.buyers:,} buyers; "
          "means over seeds (regime: most common)")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
