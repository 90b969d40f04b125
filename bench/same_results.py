"""Same results, bit for bit: this checkout against another git revision.

    python -m bench.same_results --against REV [--seeds 3] [--ticks 120]

Runs every shipped scenario (``scenarios/*.toml``) and example scenario
(``examples/scenarios/*.toml``) over several seeds in this checkout and in ``REV`` (extracted
with ``git archive`` into a temporary folder and imported from there, each in its own
process), plus a serial sweep of ``experiments/quick.toml``, and compares:

- the model table (every reporter, every tick) and the lab table (every lab, every tick);
- each agent's final balance (labs, VCs, hyperscalers) and every outside account except those
  whose names start with a ``--skip-account`` prefix (by default ``buyers_``: the buyers'
  populations are outside accounts, sources of their spending, whose balances carry the
  rounding of the payment path, which a refactor may change without changing any lab's);
- the sweep's runs rows.

Exit 0 when every table is equal to the last bit, 1 otherwise (naming the first difference of
each table that differs). Columns only this checkout has (new reporters) are named and left
out of the comparison; a column this checkout lost is a difference. Refactors that must not
change one float run this against the revision before them.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

#: Runs in the child process: one pickle of every table, keyed by (scenario, seed, table).
CHILD = r"""
import pickle, sys, glob, tempfile
from pathlib import Path
seeds, ticks, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
from marketsim import AIMarketModel, load_scenario
from marketsim.reporters import lab_table
tables = {}
files = sorted(glob.glob("scenarios/*.toml")) + sorted(glob.glob("examples/scenarios/*.toml"))
for f in files:
    for seed in range(seeds):
        m = AIMarketModel(load_scenario(f), rng=seed)
        m.run(ticks=min(ticks, m.horizon))
        tables[(f, seed, "model")] = m.datacollector.get_model_vars_dataframe()
        tables[(f, seed, "labs")] = lab_table(m)
        tables[(f, seed, "balances")] = dict(zip(m.ledger.names, m.ledger.balances.tolist()))
from marketsim import load_experiment, run_sweep
import pandas as pd
d = tempfile.mkdtemp()
run_sweep(load_experiment("experiments/quick.toml"), d, workers=1, progress=False)
runs = pd.read_parquet(d + "/runs").sort_values("run_id").reset_index(drop=True)
tables[("experiments/quick.toml", 0, "sweep")] = runs
with open(out, "wb") as fh:
    pickle.dump(tables, fh)
"""


def collect(tree: Path, seeds: int, ticks: int) -> dict:
    """Every table of ``tree``'s code, run in a child process whose imports come from ``tree``."""
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
        out = fh.name
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    subprocess.run([sys.executable, "-c", CHILD, str(seeds), str(ticks), out], cwd=tree,
                   env=env, check=True)
    with open(out, "rb") as fh:
        return pickle.load(fh)


def extract(rev: str, into: Path) -> Path:
    """The files of git revision ``rev`` in a folder under ``into``."""
    archive = into / "rev.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), rev], cwd=ROOT,
                   check=True)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def differences(old: dict, new: dict, skip_accounts: tuple[str, ...]) -> list[str]:
    """One line per table that is not equal to the last bit (empty when all are)."""
    lines = []
    for key in sorted(set(old) | set(new), key=str):
        if key not in old or key not in new:
            lines.append(f"{key}: only in {'new' if key in new else 'old'}")
            continue
        a, b = old[key], new[key]
        if isinstance(a, dict):
            a = {k: v for k, v in a.items() if not k.startswith(skip_accounts)}
            b = {k: v for k, v in b.items() if not k.startswith(skip_accounts)}
            if a != b:
                diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                lines.append(f"{key}: balances differ: {diff[:5]}")
            continue
        b = b.drop(columns=added_columns(a, b))
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as exc:
            lines.append(f"{key}: {str(exc).splitlines()[0]} {str(exc).splitlines()[-1][:200]}")
    return lines


def added_columns(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """Columns only the new table has (new reporters): left out of the comparison, named."""
    return [c for c in new.columns if c not in old.columns]


def main(argv: list[str] | None = None) -> int:
    """Compare this checkout with ``--against REV``; print the verdict."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", required=True, help="git revision to compare with")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--ticks", type=int, default=120)
    p.add_argument("--skip-account", action="append", default=None,
                   help="prefix of account names left out of the balances (repeatable; "
                   "default: buyers_)")
    args = p.parse_args(argv)
    skip = tuple(args.skip_account or ("buyers_",))
    with tempfile.TemporaryDirectory() as tmp:
        old = collect(extract(args.against, Path(tmp)), args.seeds, args.ticks)
    new = collect(ROOT, args.seeds, args.ticks)
    lines = differences(old, new, skip)
    tables = len(set(old) | set(new))
    added = sorted({c for k in set(old) & set(new) if isinstance(new[k], pd.DataFrame)
                    for c in added_columns(old[k], new[k])})
    if added:
        print(f"columns only this checkout has, not compared: {', '.join(added)}")
    if lines:
        print(f"{len(lines)} of {tables} tables differ from {args.against}:")
        print("\n".join(lines))
        return 1
    print(f"same results: {tables} tables equal bit for bit to {args.against} "
          f"({args.seeds} seeds, up to {args.ticks} months, balances without {skip})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
