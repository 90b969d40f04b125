"""``python -m bench`` (``make bench``): every speed and memory figure beside its goal.

Runs, in one process and one go, :func:`bench.model_bench.measure` (model against NumPy and
against the Mesa baseline), then ``bench.sweep_bench.measure`` and ``bench.viz_bench.measure``
when those modules exist. Prints one table (figure, value, unit, goal, PASS/FAIL/info) and
writes it to ``bench/results/latest.json`` and ``bench/results/latest.md``, with the
machine's state (load average before and after, versions, commit): timings on a shared
machine are only comparable within one run.

Options: ``--quick`` (tiny sizes: checks the bench runs, measures nothing), ``--only
model|sweep|viz`` (repeatable), ``--out DIR``, ``--strict`` (exit 1 if a goal is missed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("model", "sweep", "viz")


def _module(section: str) -> Any | None:
    try:
        return importlib.import_module(f"bench.{section}_bench")
    except ImportError as err:
        if err.name not in (f"bench.{section}_bench", None):
            raise  # the module exists but something it needs is broken: say so
        return None


def normalise(section: str, raw: dict[str, Any]) -> dict[str, Any]:
    """A row from any bench module in the common shape (unit and section added)."""
    return {"section": section, "figure": str(raw["figure"]), "value": float(raw["value"]),
            "unit": str(raw.get("unit", "")), "goal": str(raw.get("goal", "")),
            "ok": None if raw.get("ok") is None else bool(raw["ok"])}


def fmt_value(value: float) -> str:
    """Three significant figures, no exponent for everyday magnitudes."""
    if value == 0 or 0.001 <= abs(value) < 1e7:
        digits = max(0, 2 - int(f"{abs(value):e}".split("e")[1])) if value else 0
        return f"{value:,.{min(digits, 4)}f}"
    return f"{value:.3g}"


def verdict(ok: bool | None) -> str:
    """PASS, FAIL or info."""
    return "info" if ok is None else ("PASS" if ok else "FAIL")


def table(rows: list[dict[str, Any]], markdown: bool = False) -> str:
    """The rows as an aligned text table, or a Markdown table."""
    head = ("Figure", "Value", "Unit", "Goal", "Result")
    body = [(r["figure"], fmt_value(r["value"]), r["unit"], r["goal"], verdict(r["ok"]))
            for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|---:|---|---|---|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    out = []
    for k, b in enumerate([head, *body]):
        cells = [b[0].ljust(widths[0]), b[1].rjust(widths[1]), b[2].ljust(widths[2]),
                 b[3].ljust(widths[3]), b[4]]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def machine() -> dict[str, Any]:
    """Versions, commit and the machine's state now."""
    import mesa
    import numpy as np

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": commit,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", ""),
        "load_average_before": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the table, write ``latest.json`` and ``latest.md``."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--only", action="append", choices=SECTIONS, help="run only this part")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any goal is missed")
    args = ap.parse_args(argv)
    meta = machine()
    meta["quick"] = args.quick
    rows: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    for section in args.only or SECTIONS:
        mod = _module(section)
        if mod is None:
            print(f"[{section}] bench/{section}_bench.py not available", flush=True)
            continue
        print(f"[{section}] measuring ...", flush=True)
        t0 = time.perf_counter()
        part = [normalise(section, r) for r in mod.measure(quick=args.quick)]
        if args.quick:  # tiny sizes measure nothing: the goals are shown, not judged
            part = [{**r, "ok": None} for r in part]
        seconds[section] = round(time.perf_counter() - t0, 1)
        print(table(part) + f"\n[{section}] {seconds[section]} s\n", flush=True)
        rows += part
    meta["load_average_after"] = list(os.getloadavg())
    meta["seconds"] = seconds
    goals = [r for r in rows if r["ok"] is not None]
    met = sum(r["ok"] for r in goals)
    summary = (f"{met} of {len(goals)} goals met" if not args.quick else
               "quick run (tiny sizes): checks the bench runs, judges no goal")
    print(table(rows))
    print(f"\n{summary}; load average before {meta['load_average_before'][0]:.2f}, after "
          f"{meta['load_average_after'][0]:.2f} on {meta['cpus']} CPUs")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    md = [f"# marketsim benchmark, {meta['date']}", "",
          f"Commit {meta['commit']}; Python {meta['python']}, NumPy {meta['numpy']}, "
          f"Mesa {meta['mesa']}; {meta['cpus']} CPUs; load average "
          f"{meta['load_average_before'][0]:.2f} before, "
          f"{meta['load_average_after'][0]:.2f} after.", "", table(rows, markdown=True), "",
          f"{summary}."]
    (args.out / "latest.md").write_text("\n".join(md) + "\n")
    print(f"written: {args.out / 'latest.json'}, {args.out / 'latest.md'}")
    return 1 if args.strict and met < len(goals) else 0


if __name__ == "__main__":
    sys.exit(main())
