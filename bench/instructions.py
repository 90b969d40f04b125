"""Instructions a month of the model executes (Valgrind's callgrind): an A/B that load cannot move.

    python -m bench.instructions [--against DIR] [--buyers 1000] [--months 118]

Wall-clock timings on the shared development machine move by 10-50 % between runs, so a
change worth 1 % of the fixed cost needs many rounds of :func:`bench.model_bench.ab_fixed_cost`
to show. The instructions a run executes do not depend on the load: the same code, seed and
hash seed give the same count to a few parts in 100,000, so one run per tree compares two
trees (or two commits' copies) to a tenth of a per cent. Instructions are not time (a
cache miss costs more than an add), so the wall-clock A/B stays the figure of record; this
tells which change is worth keeping.

Each tree runs in a child process under ``valgrind --tool=callgrind``, imported from that
tree (``PYTHONPATH``) with ``PYTHONHASHSEED=0``. Instrumentation is off while Python imports
its libraries, builds the default market and runs its first 2 months; it is then switched on
(``callgrind_control -i on``) and instructions are counted only inside ``functools.reduce``,
which steps the model ``months`` times (the model never calls ``functools.reduce`` itself).
The two trees run at once, one process each. Needs Valgrind (``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Runs in the child under callgrind: build, warm up, then step inside functools.reduce.
CHILD = r"""
import functools, os, subprocess, sys
from marketsim.model import AIMarketModel
model = AIMarketModel(rng=1, **{"buyers.count": int(sys.argv[1])})
model.run(2)
subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True,
               check=True)

def step(_done, _month):
    model.running = True
    model.step()

functools.reduce(step, range(int(sys.argv[2])), None)
"""


def count(tree: Path, buyers: int = 1_000, months: int = 118) -> int:
    """Instructions executed by ``months`` steps of ``tree``'s default market (after month 2)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
               "--toggle-collect=*functools_reduce*", f"--callgrind-out-file={out}",
               sys.executable, "-c", CHILD, str(buyers), str(months)]
        env = {"PYTHONPATH": str(tree), "PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"}
        run = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or found is None or int(found.group(1)) == 0:
            raise RuntimeError(f"callgrind run of {tree} failed:\n{run.stderr[-2000:]}")
        return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    """Print each tree's instructions a month, and their ratio when ``--against`` is given."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", type=Path, help="another source tree to compare with")
    p.add_argument("--buyers", type=int, default=1_000)
    p.add_argument("--months", type=int, default=118)
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("bench.instructions needs Valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    trees = [ROOT] if args.against is None else [args.against.resolve(), ROOT]
    with ThreadPoolExecutor(len(trees)) as pool:
        counts = list(pool.map(lambda tree: count(tree, args.buyers, args.months), trees))
    for tree, n in zip(trees, counts, strict=True):
        print(f"{tree}: {n / args.months / 1e6:.3f} M instructions a month")
    if len(counts) == 2:
        print(f"this tree ÷ {args.against}: {counts[1] / counts[0]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
