"""``python -m analysis.results``: regenerate docs/results.md and docs/figures from sweeps.

The four variants (``analysis/experiments/*.toml``), the knock-outs
(``experiments/knockouts.toml``: each force off alone and in its group) and a reduced regime
atlas (``experiments/regimes.toml``, fewer Sobol' samples) are run with
:func:`marketsim.run_sweep` into ``RESULTS/findings[-quick]/`` (git-ignored). A sweep that
is already there is resumed: finished runs are kept, so re-running after an interruption, or
to rewrite the page only, costs nothing but the direct runs, made again each time: section
2's 2026 scene (:mod:`analysis.scene`: one per seed, 48 months), the posterior's particles
(:mod:`analysis.scene_posterior`) and section 7's runs of the default with every threshold
moved (:func:`every_threshold`); about five minutes at the page's sizes.
``--quick`` runs a tiny market (300 buyers, 24 months, 2 seeds, N = 4; its direct runs: 300
buyers, 48 months) to check the pipeline in well under a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXPERIMENTS = Path(__file__).resolve().parent / "experiments"
#: Variant name on the page → its experiment file.
VARIANTS: dict[str, str] = {
    "default": "default.toml", "null": "null.toml",
    "default, equal start": "default_equal_start.toml",
    "null, unequal start": "null_unequal_start.toml",
}
FIGURES: dict[str, str] = {
    "regimes": "figures/regimes.png", "story": "figures/story.png",
    "facts": "figures/facts.png", "drivers": "figures/atlas_drivers.png",
    "map": "figures/atlas_map.png", "sobol": "figures/atlas_sobol.png",
    "knockouts": "figures/knockouts.png",
}
#: Overrides of the tiny market of ``--quick``.
QUICK: dict[str, Any] = {"horizon": 24, "fixed.buyers.count": 300}
#: Posterior particles run for section 2 under ``--quick`` (the page: all of them).
QUICK_DRAWS = 4
#: The knock-out sweep varies ``buyers.count`` (one value), so ``--quick`` sets it there.
QUICK_KNOCKOUTS: dict[str, Any] = {"horizon": 24, "parameters.buyers.count": [300]}


def sweep(file: Path, out: Path, overrides: dict[str, Any], *, workers: int | None,
          progress: bool) -> Path:
    """Run or resume one experiment into ``out`` with marketsim's own sweep."""
    from marketsim import load_experiment, run_sweep

    exp = load_experiment(file, overrides=overrides)
    res = run_sweep(exp, out, workers=workers, progress=progress,
                    argv=["python", "-m", "analysis.results"])
    if res.failed:
        print(f"{out}: {len(res.failed)} runs failed (marketsim report {out} lists them)",
              file=sys.stderr)
    return out


def run_all(results: Path, *, seeds: int, samples: int, quick: bool, workers: int | None,
            no_atlas: bool, progress: bool, no_knockouts: bool = False,
            ) -> tuple[dict[str, Path], Path | None, Path | None]:
    """Every variant's sweep, the knock-outs and the atlas; returns their folders."""
    extra = dict(QUICK) if quick else {}
    base = results / ("findings-quick" if quick else "findings")
    dirs = {}
    for name, file in VARIANTS.items():
        dirs[name] = sweep(EXPERIMENTS / file, base / f"{Path(file).stem}-{seeds}seeds",
                           {**extra, "replications": seeds}, workers=workers,
                           progress=progress)
    atlas = None
    if not no_atlas:
        atlas = sweep(REPO / "experiments" / "regimes.toml", base / f"regimes-N{samples}",
                      {**extra, "design.samples": samples, "replications": 1},
                      workers=workers, progress=progress)
    knockouts = None
    if not no_knockouts:
        knockouts = sweep(REPO / "experiments" / "knockouts.toml",
                          base / f"knockouts-{seeds}seeds",
                          {**(QUICK_KNOCKOUTS if quick else {}), "replications": seeds},
                          workers=workers, progress=progress)
    return dirs, atlas, knockouts


def discovery(atlas_dir: Path | None, knockouts_dir: Path | None,
              default: tuple[Any, Any], thresholds: Any) -> dict[str, Any]:
    """Knock-out table, PRIM boxes over the atlas, and the labels' robustness."""
    import pandas as pd

    from analysis import knockout_table as kt
    from analysis import tables
    from analysis.prim import regime_boxes
    from analysis.sections import tiers_line

    finals = [default[0]] + ([pd.read_parquet(knockouts_dir / "runs")] if knockouts_dir else [])
    out: dict[str, Any] = {
        "knockouts": kt.knockout_numbers(knockouts_dir, thresholds) if knockouts_dir else None,
        "robust_default": kt.robustness_summary(kt.robustness_runs(*default, thresholds)),
        "robust_plain": kt.plain_share_flips(default[1], thresholds),
        "tiers": tiers_line(pd.concat(finals, ignore_index=True), thresholds),
        "boxes": None, "robust_atlas": None, "atlas_regimes": []}
    if atlas_dir is not None:
        runs, ticks = tables.load_sweep(atlas_dir)
        from marketsim.report_data import SweepResults

        names = list(SweepResults(atlas_dir).names)
        out["boxes"] = regime_boxes(runs, names)
        out["atlas_regimes"] = sorted(set(runs["regime"].astype(str)))
        out["robust_atlas"] = kt.robustness_summary(kt.robustness_runs(runs, ticks,
                                                                       thresholds))
    return out


#: Base seed of the default's direct runs with every threshold moved (others use their own).
EVERY_THRESHOLD_SEED = 2028


def every_threshold(seeds: int, buyers: int, months: int, workers: int | None
                    ) -> dict[str, str]:
    """The default run directly over ``seeds`` seeds, every threshold moved: the page's line.

    A sweep keeps no labs table, so the thresholds applied lab by lab can move only in runs
    made here (:func:`analysis.knockouts.measure`); tens of seconds at 10,000 buyers.
    """
    from analysis import knockouts, regimes
    from analysis.sections import every_threshold_line

    runs = knockouts.measure(["default"], seeds, EVERY_THRESHOLD_SEED,
                             {"buyers.count": buyers, "horizon": months},
                             workers or os.cpu_count() or 1)
    summary = regimes.summarise(runs.to_dict("records"))
    return {"every_threshold": every_threshold_line(summary, EVERY_THRESHOLD_SEED)}


def generate(out: Path, results: Path, *, seeds: int = 64, samples: int = 64,
             quick: bool = False, workers: int | None = None, no_atlas: bool = False,
             progress: bool = True, command: str = "python -m analysis.results",
             no_knockouts: bool = False) -> Path:
    """Run or resume the sweeps and the direct runs, then write ``out/results.md`` and figures.

    The direct runs of section 2's 2026 scene (:mod:`analysis.scene`, ``seeds`` seeds of the
    scenario's buyers, or ``--quick``'s; :mod:`analysis.scene_posterior`, one run per
    particle of the posterior) and of section 7 (:func:`every_threshold`) are made again
    each time: a few minutes, and never stale.
    """
    from analysis import figures as figs
    from analysis import scene, scene_posterior, tables, text
    from marketsim import __version__
    from marketsim.metrics import REGIMES
    from marketsim.scenario import load_scenario

    t0 = time.perf_counter()
    dirs, atlas_dir, ko_dir = run_all(results, seeds=seeds, samples=samples, quick=quick,
                                      workers=workers, no_atlas=no_atlas, progress=progress,
                                      no_knockouts=no_knockouts)
    loaded = {v: tables.load_sweep(d) for v, d in dirs.items()}
    ticks = {v: t for v, (_, t) in loaded.items()}
    finals = {v: tables.run_finals(r, t) for v, (r, t) in loaded.items()}
    summ = tables.variant_summary(finals)
    story = tables.story_numbers(finals["default"], ticks["default"])
    null_story = tables.story_numbers(finals["null"], ticks["null"])
    facts = tables.fact_numbers(ticks, finals)
    atlas = tables.atlas_numbers(atlas_dir) if atlas_dir is not None else None
    sc = load_scenario("default")
    rg = sc.regime.model_dump()
    (out / "figures").mkdir(parents=True, exist_ok=True)
    figs.plot_regimes(finals, summ.attrs["regimes"], out / FIGURES["regimes"], rg)
    figs.plot_story(ticks, out / FIGURES["story"], float(rg["giant_owned_share"]))
    figs.plot_facts(ticks, out / FIGURES["facts"], float(rg["hhi_concentrated"]))
    if atlas is not None:
        figs.plot_atlas(atlas, out, FIGURES)
    disc = discovery(atlas_dir, ko_dir, loaded["default"], sc.regime)
    if disc["knockouts"] is not None:
        figs.plot_knockouts(disc["knockouts"]["table"], REGIMES, out / FIGURES["knockouts"])
    first = loaded["default"][1]
    buyers = QUICK["fixed.buyers.count"] if quick else sc.buyers.count
    months = QUICK["horizon"] if quick else sc.horizon
    if progress:
        print(f"direct runs (not stored; a few minutes): the 2026 scene, {seeds} runs of "
              f"{buyers:,} buyers; the posterior's particles, one run each; every threshold, "
              f"{seeds} runs of {months} months", file=sys.stderr, flush=True)
    scene_values = scene.values(scene.measure(seeds, buyers, workers), buyers=buyers)
    scene_values |= scene_posterior.values(
        scene_posterior.measure(buyers, workers, horizon=months,
                                limit=QUICK_DRAWS if quick else None),
        buyers=buyers, months=months)
    every = every_threshold(seeds, buyers, months, workers)
    meta = {"command": command, "version": __version__, "seeds": seeds,
            "months": int(first["tick"].max()) + 1,
            "buyers": f"{buyers:,}",
            "runs": sum(len(f) for f in finals.values()),
            "results_dir": str(dirs["default"].parent.relative_to(REPO)
                               if dirs["default"].is_relative_to(REPO) else
                               dirs["default"].parent),
            "mes": f"{sc.compute.min_efficient_scale:,.0f}", "regime": rg}
    page = text.render(meta=meta, summ=summ, story=story, facts=facts, atlas=atlas,
                       figures=FIGURES, null_story=null_story, discovery=disc | every,
                       scene=scene_values)
    path = out / "results.md"
    tmp = path.with_name(".results.md.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    if progress:
        print(f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, generate the page; bad input is one line and exit 2."""
    p = argparse.ArgumentParser(prog="python -m analysis.results",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per variant and knock-out (64; quick 2)")
    p.add_argument("--samples", type=int, default=None,
                   help="Sobol' base N of the atlas, a power of 2 (64; quick 4)")
    p.add_argument("--out", type=Path, default=REPO / "docs", help="page folder (docs)")
    p.add_argument("--results", type=Path, default=REPO / "results",
                   help="where the sweeps are stored and resumed (results/)")
    p.add_argument("--quick", action="store_true", help="a tiny market: checks the pipeline")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    p.add_argument("--no-atlas", action="store_true", help="skip the regime sweep")
    p.add_argument("--no-knockouts", action="store_true", help="skip the knock-out sweep")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    a = p.parse_args(argv)
    from marketsim.errors import ScenarioError

    seeds = a.seeds if a.seeds is not None else (2 if a.quick else 64)
    samples = a.samples if a.samples is not None else (4 if a.quick else 64)
    if seeds < 2:
        print(f"--seeds: must be >= 2 (intervals need two seeds), given {seeds}",
              file=sys.stderr)
        return 2
    command = "python -m analysis.results" + (" --quick" if a.quick else "") + (
        f" --seeds {seeds}" if a.seeds is not None else "")
    try:
        path = generate(a.out, a.results, seeds=seeds, samples=samples, quick=a.quick,
                        workers=a.workers, no_atlas=a.no_atlas, progress=not a.quiet,
                        command=command, no_knockouts=a.no_knockouts)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"wrote {path} and {path.parent / 'figures'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
