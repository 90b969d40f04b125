"""Estimate free scenario parameters from the 2025 targets by ABC-SMC (pyabc).

:func:`fit` draws parameter sets from the priors (:mod:`marketsim.fit_spec`), runs the model
over January 2025 - January 2026 for each (:class:`Simulator`), scores the summary
statistics against the tolerance bands (:mod:`marketsim.fit_stats`) and keeps the draws
within a shrinking epsilon, generation after generation (sequential Monte Carlo). The
history lives in ``DIR/fit.db``; each finished generation is written out at once
(:mod:`marketsim.fit_store`), and a second call on the same folder continues the fit.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from marketsim.errors import DecisionError, ScenarioError
from marketsim.fit_spec import (
    DEFAULT_PRIORS,
    DEFAULT_TARGETS,
    LAST_FIT_TICK,
    FitTarget,
    Prior,
    as_records,
)
from marketsim.fit_stats import BandDistance, centres, half_widths, summarise
from marketsim.fit_store import (
    FitFolder,
    check_out,
    generations,
    open_folder,
    previous_run,
    read_manifest,
    with_calls,
    write_posterior,
)
from marketsim.scenario import MarketScenario, validate_scenario

#: Buyers per run during a fit: the 2025 statistics' means at 2,000 buyers are within a
#: third of a band half-width of those at 10,000 (docs/calibration.md), at 2/3 the time.
FIT_BUYERS = 2000
#: Expected acceptance rate of a generation after the last one's, for the budget.
ACCEPTANCE_DECAY = 0.8


class Simulator:
    """One model run for pyabc: a parameter dict in, summary statistics out.

    Holds the scenario as a plain dict (so Dask workers can unpickle it) and validates each
    draw's overrides like a ``--set``. Each draw's model seed comes from the fit's seed and
    the parameter values, so the same draw always gives the same run.
    """

    def __init__(self, raw: dict[str, Any], targets: Sequence[FitTarget], seed: int,
                 file: str | None = None, log_keys: Sequence[str] = ()) -> None:
        self.raw = raw
        self.log_keys = frozenset(log_keys)
        self.targets = tuple(targets)
        self.seed = seed
        self.file = file
        self.ticks = max(t.last for t in self.targets) + 1

    def model_seed(self, par: dict[str, float]) -> int:
        """Seed of the run of ``par``: SeedSequence of (fit seed, hash of the values)."""
        values = np.array([float(par[k]) for k in sorted(par)], dtype=float)
        digest = int.from_bytes(hashlib.sha256(values.tobytes()).digest()[:8], "little")
        state = np.random.SeedSequence([self.seed, digest]).generate_state(1, np.uint64)
        return int(state[0])

    def __call__(self, par: dict[str, float]) -> dict[str, float]:
        """Run the model over 2025 with ``par`` and return the summary statistics."""
        from marketsim.model import AIMarketModel

        try:
            sc = validate_scenario(self.raw, file=self.file,
                                   overrides=natural(par, self.log_keys))
            m = AIMarketModel(sc, rng=self.model_seed(par))
            m.run(ticks=self.ticks)
        except (ScenarioError, DecisionError, ArithmeticError):
            # A draw the model refuses (e.g. growth past what floats hold): NaN statistics,
            # which the distance scores far outside every band.
            return {t.name: float("nan") for t in self.targets}
        df = m.datacollector.get_model_vars_dataframe()
        return summarise({c: df[c].to_numpy() for c in df.columns}, self.targets)


def population_size(simulations: int) -> int:
    """Draws per generation for a budget: ~4 sqrt(N), at least 10, at most N / 10.

    400 runs give 40 a generation (3-4 generations), 12,000 give 438 (5-6 generations):
    more generations narrow epsilon, larger ones resolve the posterior's shape. With nine
    keys, ~1.5 sqrt(N) (164 at 12,000) left a draw isolated in the tails with half a
    generation's importance weight (effective sample 4 of 164).
    """
    return max(10, min(round(4 * math.sqrt(simulations)), simulations // 10))


def natural(par: Any, log_keys: Sequence[str] | frozenset[str]) -> dict[str, float]:
    """Scenario values of a draw: keys with a log-scale prior are sampled as log10."""
    return {k: float(10.0 ** v if k in log_keys else v) for k, v in dict(par).items()}


def _prior(priors: Sequence[Prior]) -> Any:
    """Uniform priors; a log-scale prior is uniform in log10 of the key's value.

    Sampling in log10 keeps pyabc's Gaussian perturbation kernel on the scale the prior is
    flat on; in natural units a kernel fitted to a range of two orders of magnitude gives
    a few draws nearly all the weight.
    """
    import pyabc

    rvs = {}
    for p in priors:
        lo, hi = (math.log10(p.low), math.log10(p.high)) if p.scale == "log" else (p.low, p.high)
        rvs[p.key] = pyabc.RV("uniform", lo, hi - lo)
    return pyabc.Distribution(**rvs)


def make_sampler(workers: int | None, client: Any = None, budget: float = math.inf) -> Any:
    """The pyabc sampler: Dask if a client is given, else ``workers`` local processes."""
    import pyabc

    if client is not None:
        return pyabc.sampler.DaskDistributedSampler(dask_client=client)
    if workers == 1:
        return pyabc.sampler.SingleCoreSampler()
    # check_max_eval: a generation stops at the runs left in the budget (min_acceptance_rate)
    return pyabc.sampler.MulticoreEvalParallelSampler(
        n_procs=workers, check_max_eval=math.isfinite(budget))


@dataclass
class FitSetup:
    """Everything that defines a fit (what its manifest records and a resume compares)."""

    scenario: MarketScenario
    priors: tuple[Prior, ...] = DEFAULT_PRIORS
    targets: tuple[FitTarget, ...] = DEFAULT_TARGETS
    seed: int = 0
    buyers: int | None = FIT_BUYERS
    population: int = 40
    argv: Sequence[str] | None = None

    def log_keys(self) -> list[str]:
        """Keys whose prior is log-uniform (sampled, and stored in the history, as log10)."""
        return [p.key for p in self.priors if p.scale == "log"]

    def fit_scenario(self) -> MarketScenario:
        """The scenario the fit runs: fewer buyers if asked, horizon just past 2025."""
        return self._scenario(self.buyers)

    def _scenario(self, buyers: int | None) -> MarketScenario:
        update: dict[str, Any] = {"horizon": max(t.last for t in self.targets) + 1}
        overrides = {"buyers.count": buyers} if buyers else {}
        raw = {**self.scenario.to_toml_dict(), **update}
        return validate_scenario(raw, file=self.scenario.source, overrides=overrides)

    def setup_hash(self) -> str:
        """Hash of the fit scenario without the fitted keys (the fit draws those).

        So a folder stays the same fit when the scenario's defaults of the fitted keys move,
        e.g. to the fit's own posterior; any other change is another set-up.
        """
        return self._hash([p.key for p in self.priors], self.buyers)

    def _hash(self, fitted: Sequence[str], buyers: int | None) -> str:
        from marketsim.scenario import content_digest

        raw = self._scenario(buyers).to_toml_dict()
        for key in fitted:
            section, _, name = key.rpartition(".")
            raw.get(section, {}).pop(name, None)
        return content_digest(raw)

    def same_scenario(self, old: dict[str, Any]) -> bool:
        """Whether the scenario is the one of the fit whose manifest is ``old``.

        Hashed with that fit's fitted keys and buyer count, so a change of ``--priors`` or
        ``--buyers`` alone is reported as that, not as another scenario.
        """
        keys = [r["key"] for r in old.get("priors") or [] if isinstance(r, dict) and "key" in r]
        try:
            return self._hash(keys, old.get("fit_buyers")) == old.get("scenario_hash")
        except ScenarioError:  # a buyer count this scenario refuses: not the same fit
            return False

    def manifest(self) -> dict[str, Any]:
        """Set-up fields of the manifest (see :data:`marketsim.fit_store.SETUP_FIELDS`)."""
        from marketsim.manifest import absolute, file_hash

        return {
            "scenario": absolute(self.scenario.source), "scenario_label": self.scenario.label,
            "scenario_file_hash": file_hash(self.scenario.source),
            "scenario_hash": self.setup_hash(),
            "priors": as_records(self.priors), "targets": as_records(self.targets),
            "seed": self.seed, "fit_buyers": self.buyers, "population_size": self.population,
            "distance": "root mean square over targets of ln(value / centre) / half_width; "
                        "centre = sqrt(low * high), half_width = ln(high / low) / 2; a NaN "
                        "or non-positive value scores 10",
            "last_tick": LAST_FIT_TICK, "history_log10_keys": self.log_keys(),
        }


def _quiet_pyabc() -> None:
    """Keep pyabc's INFO lines off the terminal: :func:`fit` prints one line a generation."""
    import pyabc  # noqa: F401 - its loggers exist once it is imported

    for name in list(logging.root.manager.loggerDict):
        if name == "ABC" or name.startswith("ABC."):
            logging.getLogger(name).setLevel(logging.WARNING)


def _abc(setup: FitSetup, sampler: Any) -> Any:
    import pyabc

    sc = setup.fit_scenario()
    sim = Simulator(sc.to_toml_dict(), setup.targets, setup.seed, file=sc.source,
                    log_keys=setup.log_keys())
    return pyabc.ABCSMC(sim, _prior(setup.priors), BandDistance(half_widths(setup.targets)),
                        population_size=setup.population, sampler=sampler)


def _expected_cost(gens: list[dict[str, Any]], population: int) -> float:
    """Runs the next generation is expected to take (the first one adds its prior sample)."""
    if not gens:
        return population / 0.5 + population
    return population / max(gens[-1]["acceptance_rate"] * ACCEPTANCE_DECAY, 1e-6)


def _check_budget(simulations: int, population: int) -> None:
    """Refuse a budget below the expected cost of a fit's first generation."""
    least = math.ceil(_expected_cost([], population))
    if simulations < least:
        raise ScenarioError(
            f"too small for a first generation of {population} draws, expected to take "
            f"{least} runs", key="--simulations", given=simulations, allowed=f"int >= {least}")


@dataclass
class FitResult:
    """What :func:`fit` leaves: the folder, the posterior table and the generations."""

    folder: FitFolder
    posterior: pd.DataFrame | None
    generations: list[dict[str, Any]]
    simulations: int
    stopped: str


def fit(setup: FitSetup, out: Any, *, simulations: int, workers: int | None = None,
        client: Any = None, max_generations: int | None = None,
        say: Callable[[str], None] = print) -> FitResult:
    """Run (or continue) an ABC-SMC fit in ``out`` until the budget of model runs is spent.

    A generation starts only if its expected cost (the last acceptance rate, decayed) fits
    in what is left of the budget, and local samplers stop it at the budget; runs of a
    generation stopped that way are counted but not kept. Dask samplers cannot be stopped
    mid-generation, so a fit on a cluster may pass the budget by part of a generation.

    Args:
        setup: scenario, priors, targets, seed, buyers and population size.
        out: the folder (made if missing); a fit already there of the same set-up is
            continued; one of another set-up, or a folder of other files, is refused.
        simulations: total model runs, counting any done before; a new fit's budget must
            cover its first generation's expected cost, or nothing is made.
        workers: local processes (None: every core); ignored with ``client``.
        client: a Dask client: runs go to its cluster.
        max_generations: stop after this many new generations (None: only the budget).
        say: where progress lines go.
    """
    _quiet_pyabc()
    run = _FitRun.open(setup, out, simulations, workers, client, say)
    try:
        stopped = _generations(run, simulations, max_generations)
    except KeyboardInterrupt:
        if run.gens:  # the finished generations are on disk already; say it was cut short
            run.save("interrupted: the same command continues it")
        raise
    posterior = run.save(stopped) if run.gens else None
    return FitResult(run.folder, posterior, run.gens, run.used(), stopped)


def _generations(run: _FitRun, simulations: int, max_generations: int | None) -> str:
    """Run generations until the budget or ``max_generations``; return why it stopped."""
    new = 0
    while True:
        left = simulations - run.used()
        if max_generations is not None and new >= max_generations:
            return f"{max_generations} new generation(s) run, as asked"
        if _expected_cost(run.gens, run.setup.population) > left:
            return "budget spent"
        if not run.generation(left):
            return "budget reached within a generation (its runs are counted, not kept)"
        new += 1


class _FitRun:
    """One call of :func:`fit`: the folder, the pyabc run and the runs counted so far."""

    def __init__(self, setup: FitSetup, folder: FitFolder, manifest: dict[str, Any],
                 sampler: Callable[[], Any], say: Callable[[str], None]) -> None:
        self.setup, self.folder, self.manifest = setup, folder, manifest
        self.sampler, self.say = sampler, say
        self.abc: Any = None
        self.history: Any = None
        self.run_id: int | None = None
        self.discarded = 0
        self.gens: list[dict[str, Any]] = []
        self.kept = 0  # generations finished before this call

    @classmethod
    def open(cls, setup: FitSetup, out: Any, simulations: int, workers: int | None,
             client: Any, say: Callable[[str], None]) -> _FitRun:
        """Continue the fit in ``out`` if there is one of this set-up, else start one."""
        from marketsim.manifest import build_manifest

        root = check_out(out)
        old = read_manifest(FitFolder(root)) or {}
        resumed = FitFolder(root).db.is_file()
        if resumed and old.get("population_size"):
            setup.population = int(old["population_size"])  # a resumed fit keeps its size
        if not (resumed and old.get("generations")):
            _check_budget(simulations, setup.population)  # before the folder is made
        folder = open_folder(root)
        where = (f"dask {client.scheduler.address}" if client is not None
                 else f"{workers or 'all'} local processes")
        manifest = build_manifest(argv=setup.argv, **setup.manifest(),
                                  simulations_budget=simulations, sampler=where)
        run = cls(setup, folder, manifest,
                  lambda: make_sampler(workers, client, simulations), say)
        compare = {**manifest, "scenario_hash": old.get("scenario_hash")
                   if setup.same_scenario(old) else manifest["scenario_hash"]}
        run.run_id, why = previous_run(folder, compare)
        run.manifest = with_calls(manifest, old if run.run_id is not None else None)
        say(f"marketsim calibrate --fit: {why}")
        run.abc = _abc(setup, run.sampler())
        if run.run_id is None:
            folder.db.unlink(missing_ok=True)
            run.history = run.abc.new(folder.db_url, centres(setup.targets))
            run.run_id = run.history.id
        else:
            run.history = run.abc.load(folder.db_url, run.run_id)
            run.discarded = int(old.get("simulations_discarded", 0))
        run.gens = generations(run.history)
        run.kept = len(run.gens)
        return run

    def used(self) -> int:
        """Model runs so far: the history's, plus those of generations stopped unfinished."""
        return int(self.history.total_nr_simulations or 0) + self.discarded

    def generation(self, left: int) -> bool:
        """Run one generation within ``left`` runs; False if it had to stop unfinished."""
        if self.abc is None:  # a fresh ABCSMC from the database, as a resumed fit gets
            self.abc = _abc(self.setup, self.sampler())
            self.history = self.abc.load(self.folder.db_url, self.run_id)
        start = time.perf_counter()
        first = 0 if self.gens else self.setup.population  # the first one's prior sample
        most = max(left - first, 1)
        self.abc.run(max_nr_populations=1,
                     min_acceptance_rate=min(1.0, self.setup.population / most))
        sampler, self.abc = self.abc.sampler, None
        now = generations(self.history)
        if len(now) == len(self.gens):
            self.discarded += int(getattr(sampler, "nr_evaluations_", 0))
            return False
        self.gens = now
        g = now[-1]
        w = self.save("running")["weight"].to_numpy()
        self.say(f"generation {g['t']}: epsilon {g['epsilon']:.3g} band half-widths, "
                 f"accepted {g['accepted']}/{g['simulations']} ({g['acceptance_rate']:.0%}), "
                 f"effective sample {1 / np.sum(np.square(w / w.sum())):.0f}, "
                 f"runs {self.used()}/{self.manifest['simulations_budget']}, "
                 f"{time.perf_counter() - start:.0f} s")
        return True

    def save(self, status: str) -> pd.DataFrame:
        """Write the last generation's draws and the manifest (each whole or not at all)."""
        from marketsim.manifest import write_json_atomic

        draws, weights = self.history.get_distribution(m=0, t=self.history.max_t)
        keys = self.setup.log_keys()
        draws = draws.assign(**{k: 10.0 ** draws[k] for k in keys})
        table = write_posterior(self.folder, draws, weights, [p.key for p in self.setup.priors])
        self.manifest["calls"][-1]["generations_added"] = len(self.gens) - self.kept
        write_json_atomic(self.folder.manifest, {
            **self.manifest, "run_id": self.run_id, "generations": self.gens,
            "epsilons": [g["epsilon"] for g in self.gens], "simulations_used": self.used(),
            "simulations_discarded": self.discarded, "status": status,
            "posterior": self.folder.posterior.name, "history": self.folder.db.name,
        })
        return table
