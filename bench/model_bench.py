"""Model speed and memory: a million buyers against NumPy and against Mesa agents.

``measure()`` measures, in one process and one run (so the figures share the machine's
state), with ``time.perf_counter`` and best-of-N timing:

- **NumPy reference**: one pass of one multiply-add over 1,000,000 float64 —
  ``np.multiply(a, b, out=c); np.add(c, d, out=c)`` — best of 50, in ns per float. This is
  what the machine's memory system allows for the simplest array work; a buyer's month
  (adoption, contract, re-choice, demand) is compared with it.
- **Model step**: ``AIMarketModel(default scenario, buyers.count=N, rng=seed)`` run the
  whole horizon (120 months), each step timed; the model is rebuilt and re-run ``repeats``
  times with the same seed (the same work each time), each tick's time is the best of its
  repeats, and the figure is the mean over the ticks. At 1,000,000 buyers, 100,000 buyers
  and 1,000 buyers (the fixed cost: labs, VCs, hyperscalers, data collection — 1,000
  buyers cost well under 1 % of it). The 1M runs also time each mechanism (where the time
  goes).
- **Build**: building the 1M-buyer model (best of the repeats), in 1M-buyer steps.
- **Mesa baseline**: the same buyer rules with one ``mesa.Agent`` per buyer and
  ``shuffle_do("step")`` (:mod:`bench.mesa_baseline`), 20,000 buyers, per buyer per tick.
- **Vectorised buyers alone**: the same frozen-lab buyer market as arrays
  (:class:`bench.buyer_market.VectorBuyerMarket`), 1M buyers: the buyer path without the
  rest of the model.
- **Peak memory**: a fresh Python process builds the 1M-buyer model and runs the horizon;
  its ``ru_maxrss`` (interpreter and libraries included).

Run it alone: ``python -m bench --only model``. ``python -m bench.model_bench --ab DIR``
compares the fixed cost of this checkout with another source tree (:func:`ab_fixed_cost`).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Goals of the issue "Performance: a million buyers".
GOAL_NUMPY_MULTIPLE = 40.0   # cost per buyer per tick ≤ 40 × one multiply-add per float
GOAL_MESA_SPEEDUP = 50.0     # ≥ 50× faster per buyer per tick than Mesa agents
GOAL_LINEAR = 12.0           # step(1M) / step(100k) ≤ 12
GOAL_FIXED_SHARE = 0.10      # fixed cost per tick ≤ a tenth of a 1M step
GOAL_BUILD_STEPS = 10.0      # building 1M buyers ≤ 10 steps
GOAL_MEMORY_MIB = 2048.0     # peak memory at 1M buyers < 2 GiB

ROOT = Path(__file__).resolve().parents[1]
MECHANISMS = ("demand_step", "inference_step", "compute_step", "capability_step",
              "capital_step", "consolidation_step", "record")


@dataclass(frozen=True)
class Sizes:
    """Sizes and repetitions of one bench run.

    Attributes:
        big: buyers of the main figure (1,000,000).
        mid: buyers of the linearity check (100,000).
        few: buyers of the fixed-cost run.
        mesa: buyers of the Mesa baseline.
        ticks: months each model run lasts (None = the scenario's horizon).
        mesa_ticks: months of the Mesa baseline.
        repeats: repetitions of each model run (best of).
        numpy_repeats: repetitions of the NumPy reference.
    """

    big: int = 1_000_000
    mid: int = 100_000
    few: int = 1_000
    mesa: int = 20_000
    ticks: int | None = None
    mesa_ticks: int = 12
    repeats: int = 3
    numpy_repeats: int = 50


FULL = Sizes()
QUICK = Sizes(big=20_000, mid=2_000, few=100, mesa=500, ticks=6, mesa_ticks=3, repeats=1,
              numpy_repeats=5)


def row(figure: str, value: float, unit: str, goal: str = "", ok: bool | None = None,
        ) -> dict[str, Any]:
    """One figure: ``ok`` None for figures without a goal (information)."""
    return {"figure": figure, "value": float(value), "unit": unit, "goal": goal,
            "ok": None if ok is None else bool(ok)}


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """Shortest of ``repeats`` timings of ``fn()``, seconds."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def numpy_multiply_add(n: int = 1_000_000, repeats: int = 50) -> float:
    """Seconds for one pass of one multiply-add over ``n`` float64 (best of ``repeats``).

    ``np.multiply(a, b, out=c); np.add(c, d, out=c)``: reads three arrays, writes one, no
    allocation.
    """
    rng = np.random.default_rng(0)
    a, b, c, d = (rng.random(n) for _ in range(4))

    def madd() -> None:
        np.multiply(a, b, out=c)
        np.add(c, d, out=c)

    madd()
    return best_time(madd, repeats)


@dataclass
class ModelTiming:
    """Timings of one model size.

    Attributes:
        buyers: buyers in the model.
        ticks: months timed.
        build: seconds to build the model (best of the repeats).
        tick_seconds: each tick's best time over the repeats, seconds.
        mechanisms: each mechanism's mean (over ticks) of its best time, seconds.
    """

    buyers: int
    ticks: int
    build: float
    tick_seconds: list[float]
    mechanisms: dict[str, float] = field(default_factory=dict)

    @property
    def step(self) -> float:
        """Mean step time over the ticks, seconds."""
        return float(np.mean(self.tick_seconds))


def _timed(fn: Callable[..., Any], sink: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        sink.append(time.perf_counter() - t0)
        return out

    return wrapper


def time_model(buyers: int, *, ticks: int | None = None, repeats: int = 3, seed: int = 1,
               mechanisms: bool = False) -> ModelTiming:
    """Build and run the default market ``repeats`` times with one seed; best time per tick.

    Args:
        buyers: ``buyers.count``.
        ticks: months to run (None: the scenario's horizon).
        repeats: runs (same seed, same work); each tick's time is its best run's.
        seed: the model's ``rng``.
        mechanisms: also time each mechanism (a thin timer around each method).

    Returns:
        The :class:`ModelTiming`.
    """
    from marketsim.model import AIMarketModel

    builds: list[float] = []
    per_tick: list[list[float]] = []
    per_mech: dict[str, list[list[float]]] = {name: [] for name in MECHANISMS}
    n_ticks = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = AIMarketModel(rng=seed, **{"buyers.count": buyers})
        builds.append(time.perf_counter() - t0)
        n_ticks = model.horizon if ticks is None else ticks
        sinks: dict[str, list[float]] = {}
        if mechanisms:
            for name in MECHANISMS:
                sinks[name] = []
                setattr(model, name, _timed(getattr(model, name), sinks[name]))
        times = []
        for _ in range(n_ticks):
            t0 = time.perf_counter()
            model.step()
            times.append(time.perf_counter() - t0)
        per_tick.append(times)
        for name, sink in sinks.items():
            per_mech[name].append(sink)
        del model
    best = np.min(np.array(per_tick), axis=0)
    mech = {name: float(np.mean(np.min(np.array(runs), axis=0)))
            for name, runs in per_mech.items() if runs}
    return ModelTiming(buyers, n_ticks, min(builds), best.tolist(), mech)


def time_buyer_market(kind: str, buyers: int, ticks: int, repeats: int,
                      seed: int = 1) -> float:
    """Seconds per buyer per tick of the frozen-lab buyer market (``"mesa"`` or ``"vector"``).

    Each tick's time is its best over ``repeats`` runs with one seed; the mean over ticks is
    divided by the buyers.
    """
    from bench.buyer_market import VectorBuyerMarket, buyers_config, scenario_labs
    from bench.mesa_baseline import MesaBuyerMarket

    cls = {"mesa": MesaBuyerMarket, "vector": VectorBuyerMarket}[kind]
    labs = scenario_labs(seed=seed)
    cfg = buyers_config()
    runs = []
    for _ in range(repeats):
        market = cls(buyers, labs, cfg, rng=seed)
        times = []
        for _ in range(ticks):
            t0 = time.perf_counter()
            market.step()
            times.append(time.perf_counter() - t0)
        runs.append(times)
        del market
    return float(np.mean(np.min(np.array(runs), axis=0))) / buyers


def _memory_child(buyers: int, ticks: int | None) -> dict[str, float]:
    """In the child: build and run the model, report peak RSS (KiB) before and after."""
    from marketsim.model import AIMarketModel

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = AIMarketModel(rng=1, **{"buyers.count": buyers})
    model.run(ticks)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"maxrss_kib_after_import": before, "maxrss_kib": after,
            "ticks": model.steps}


def peak_memory(buyers: int, ticks: int | None = None) -> dict[str, float]:
    """Peak resident memory of a fresh process that builds and runs the model, MiB.

    Returns:
        ``{"peak_mib", "imports_mib", "children_maxrss_mib"}``: the child's own
        ``ru_maxrss`` at the end and after its imports, and the parent's
        ``RUSAGE_CHILDREN`` maximum (a cross-check; it covers every child waited for).
    """
    cmd = [sys.executable, "-m", "bench.model_bench", "--memory-child", str(buyers),
           "" if ticks is None else str(ticks)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    child = json.loads(out.stdout.strip().splitlines()[-1])
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_mib": child["maxrss_kib"] / 1024,
            "imports_mib": child["maxrss_kib_after_import"] / 1024,
            "children_maxrss_mib": kids / 1024}


def measure(quick: bool = False, sizes: Sizes | None = None) -> list[dict[str, Any]]:
    """Model speed and memory figures with their goals.

    Args:
        quick: tiny sizes (a smoke test of the figures, not a measurement).
        sizes: explicit sizes (overrides ``quick``).

    Returns:
        Rows ``{"figure", "value", "unit", "goal", "ok"}`` (``ok`` None: information).
    """
    s = sizes or (QUICK if quick else FULL)
    big, mid, few = f"{s.big:,}", f"{s.mid:,}", f"{s.few:,}"
    mem = peak_memory(s.big, s.ticks)  # first: nothing else has grown the heap yet
    madd = numpy_multiply_add(s.big, s.numpy_repeats)
    m_big = time_model(s.big, ticks=s.ticks, repeats=s.repeats, mechanisms=True)
    m_mid = time_model(s.mid, ticks=s.ticks, repeats=s.repeats)
    m_few = time_model(s.few, ticks=s.ticks, repeats=s.repeats)
    mesa = time_buyer_market("mesa", s.mesa, s.mesa_ticks, min(s.repeats, 2))
    vector = time_buyer_market("vector", s.big, m_big.ticks, s.repeats)

    per_float = madd / s.big
    per_buyer = m_big.step / s.big
    multiple = per_buyer / per_float
    speedup = mesa / per_buyer
    linear = m_big.step / m_mid.step
    fixed = m_few.step / m_big.step
    build = m_big.build / m_big.step
    rows = [
        row(f"NumPy: one multiply-add pass over {big} float64, per float", per_float * 1e9,
            "ns", "reference"),
        row(f"Model step, {big} buyers (mean of {m_big.ticks} ticks, best of {s.repeats})",
            m_big.step * 1e3, "ms"),
        row(f"Model: cost per buyer per tick, {big} buyers", per_buyer * 1e9, "ns",
            f"<= {GOAL_NUMPY_MULTIPLE * per_float * 1e9:.1f}"),
        row("  ... as a multiple of one NumPy multiply-add per float", multiple, "x",
            f"<= {GOAL_NUMPY_MULTIPLE:g}", multiple <= GOAL_NUMPY_MULTIPLE),
        row(f"Mesa baseline (mesa.Agent per buyer, shuffle_do), {s.mesa:,} buyers, per buyer "
            "per tick", mesa * 1e9, "ns"),
        row(f"Speed-up per buyer per tick: model at {big} vs Mesa baseline", speedup, "x",
            f">= {GOAL_MESA_SPEEDUP:g}", speedup >= GOAL_MESA_SPEEDUP),
        row(f"Vectorised buyers alone (frozen labs), {big} buyers, per buyer per tick",
            vector * 1e9, "ns", f"{vector / per_float:.1f} x NumPy multiply-add"),
        row(f"Model step, {mid} buyers", m_mid.step * 1e3, "ms"),
        row(f"Step time {big} / {mid} buyers", linear, "x", f"<= {GOAL_LINEAR:g}",
            linear <= GOAL_LINEAR),
        row(f"Fixed cost per tick (step with {few} buyers)", m_few.step * 1e3, "ms"),
        row(f"  ... as a share of a {big}-buyer step", fixed, "share",
            f"<= {GOAL_FIXED_SHARE:g}", fixed <= GOAL_FIXED_SHARE),
        row(f"Build a {big}-buyer model", m_big.build * 1e3, "ms"),
        row(f"  ... in {big}-buyer steps", build, "steps", f"<= {GOAL_BUILD_STEPS:g}",
            build <= GOAL_BUILD_STEPS),
        row(f"Peak memory, {big} buyers, {m_big.ticks} ticks (whole process)",
            mem["peak_mib"], "MiB", f"< {GOAL_MEMORY_MIB:g}", mem["peak_mib"] < GOAL_MEMORY_MIB),
        row("  ... of which interpreter and libraries (after imports)", mem["imports_mib"],
            "MiB"),
    ]
    for name, seconds in m_big.mechanisms.items():
        rows.append(row(f"  {big}-buyer step: {name}", seconds * 1e3, "ms",
                        f"{100 * seconds / m_big.step:.0f} % of the step"))
    if m_big.mechanisms:
        # The same work as the fixed cost, timed where it runs: after the buyer arrays have
        # been through the caches, and with the larger market's labs.
        rest = sum(sec for name, sec in m_big.mechanisms.items() if name != "demand_step")
        rows.append(row(f"  {big}-buyer step, all mechanisms after demand_step (labs, VCs, "
                        "hyperscalers, data collection)", rest * 1e3, "ms",
                        f"{rest / m_big.step:.2f} of the step"))
    return rows


#: A worker of :func:`ab_fixed_cost`: builds a model or steps it when told; prints the step's
#: seconds and each mechanism's (a thin timer around each of ``MECHANISMS``) as a JSON list.
_AB_WORKER = r"""
import json, sys, time
from marketsim.model import AIMarketModel
names = sys.argv[2].split(",")
spent = dict.fromkeys(names, 0.0)
def timed(name, fn):
    def run(*args):
        t0 = time.perf_counter()
        out = fn(*args)
        spent[name] = time.perf_counter() - t0
        return out
    return run
model = None
for line in sys.stdin:
    if line.strip() == "build":
        model = AIMarketModel(rng=1, **{"buyers.count": int(sys.argv[1])})
        for name in names:
            setattr(model, name, timed(name, getattr(model, name)))
        print("[]", flush=True)
    else:
        t0 = time.perf_counter()
        model.step()
        print(json.dumps([time.perf_counter() - t0, *spent.values()]), flush=True)
"""


def ab_fixed_cost(other: Path, buyers: int = 1_000, repeats: int = 5, ticks: int = 120,
                  ) -> dict[str, Any]:
    """Step time of ``other``'s code against this checkout's, month by month in turn.

    Two worker processes, one importing each tree, build the default market (``buyers``
    buyers, seed 1) and step it alternately, the first to step swapping every month, so
    that a loaded machine slows both alike. Each tick's time is its best over ``repeats``
    runs; the figure is the mean over the ticks, ms. Each mechanism is timed the same way
    (its best over the runs, mean over the ticks), µs.

    Returns:
        ``{"other_ms", "this_ms", "ratio", "mechanisms_us"}`` (ratio: this ÷ other;
        mechanisms_us: name → [other, this]).
    """
    def start(tree: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", _AB_WORKER, str(buyers),
                                 ",".join(MECHANISMS)], cwd=tree,
                                env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(proc: subprocess.Popen, what: str) -> list[float]:
        proc.stdin.write(what + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    procs = [start(Path(other)), start(ROOT)]
    times = np.zeros((2, repeats, ticks, 1 + len(MECHANISMS)))
    try:
        for r in range(repeats):
            for proc in procs:
                ask(proc, "build")
            for t in range(ticks):
                for k in (0, 1) if (r + t) % 2 == 0 else (1, 0):
                    times[k, r, t] = ask(procs[k], "step")
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait()
    best = times.min(axis=1).mean(axis=1)  # (tree, figure)
    other_ms, this_ms = (best[:, 0] * 1e3).tolist()
    mech = {name: (best[:, 1 + i] * 1e6).round(1).tolist() for i, name in enumerate(MECHANISMS)}
    return {"other_ms": other_ms, "this_ms": this_ms, "ratio": this_ms / other_ms,
            "mechanisms_us": mech}


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--ab":
        print(json.dumps(ab_fixed_cost(Path(sys.argv[2]))))
    elif len(sys.argv) >= 3 and sys.argv[1] == "--memory-child":
        n_ticks = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
        print(json.dumps(_memory_child(int(sys.argv[2]), n_ticks)))
    else:
        for r in measure(quick="--quick" in sys.argv):
            print(r)
