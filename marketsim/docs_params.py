"""Write ``docs/parameters.md``: every scenario key with its type, unit, default and range.

The table is generated from the scenario schema (:func:`marketsim.scenario.parameter_table`),
so the docs cannot drift from what validation accepts. Run from the repository::

    python -m marketsim.docs_params            # rewrite docs/parameters.md
    python -m marketsim.docs_params --check    # exit 1 if the committed file is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "docs" / "parameters.md"

HEADER = """\
# Scenario parameters

Every key a scenario file (`scenarios/*.toml`) may set, with its type, unit, default and the
range validation accepts. Override any of them with its dotted key: `marketsim run --set
buyers.count=2000`, `load_scenario(path, overrides={{"buyers.count": 2000}})`,
`AIMarketModel(**{{"buyers.count": 2000}})`, or an experiment's `[parameters]`.

Money is in US$ billions ($bn), compute in H100-equivalent GPUs, tokens in millions (M
tokens), time in months (one tick = one month). Each agent section (`[labs]`, `[vcs]`,
`[hyperscalers]`, `[buyers]`) also takes `[[SECTION.mix]]` tables (`class`, `count`, `ranks`)
that give some agents of that kind another class; see `docs/extending.md`.

Generated from the scenario schema by `python -m marketsim.docs_params`: do not edit by hand.
{count} keys.
"""


def _cell(value: Any) -> str:
    """A value as Markdown table text (pipes escaped, floats compact)."""
    if value is None:
        text = "built-in"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:,.6g}" if abs(value) < 1e6 else f"{value:.6g}"
    elif isinstance(value, int):
        text = f"{value:,}" if abs(value) >= 10_000 else str(value)
    elif isinstance(value, str):
        text = f'"{value}"' if value else '""'
    else:
        text = str(value)
    return text.replace("|", "\\|")


def _text(value: str) -> str:
    """Plain text for a Markdown table cell."""
    return value.replace("|", "\\|")


def _range(row: dict[str, Any]) -> str:
    lo = f"≥ {_cell(row['ge'])}" if "ge" in row else (f"> {_cell(row['gt'])}" if "gt" in row
                                                       else "")
    hi = f"≤ {_cell(row['le'])}" if "le" in row else (f"< {_cell(row['lt'])}" if "lt" in row
                                                       else "")
    return ", ".join(x for x in (lo, hi) if x) or "any"


def _section_titles() -> dict[str, str]:
    from pydantic import BaseModel

    from marketsim.scenario import MarketScenario

    titles = {"": "Top level"}
    for name, fld in MarketScenario.model_fields.items():
        ann = fld.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            doc = (ann.__doc__ or "").strip().splitlines()
            titles[name] = f"[{name}]" + (f" — {doc[0].rstrip('.')}" if doc else "")
    return titles


def render() -> str:
    """The whole ``docs/parameters.md`` text."""
    from marketsim.scenario import parameter_table

    rows = parameter_table()
    titles = _section_titles()
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        section = row["key"].split(".")[0] if "." in row["key"] else ""
        groups.setdefault(section, []).append(row)
    out = [HEADER.format(count=len(rows))]
    for section, items in groups.items():
        out.append(f"## {titles.get(section, section)}\n")
        out.append("| key | type | unit | default | allowed | description |")
        out.append("|---|---|---|---|---|---|")
        for r in items:
            typ = "import path" if r["key"].endswith(".class") else r["type"]
            unit = "" if r["unit"] in ("", "-") else r["unit"]
            allowed = _range(r) if typ in ("int", "float") else ""
            out.append(f"| `{r['key']}` | {typ} | {_text(unit)} | {_cell(r['default'])} | "
                       f"{allowed} | {_text(r['description'])} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the parameters page; exit 1 if it is out of date."""
    p = argparse.ArgumentParser(prog="python -m marketsim.docs_params",
                                description="Write docs/parameters.md from the schema.")
    p.add_argument("--out", type=Path, default=DEFAULT_PATH, help="file to write")
    p.add_argument("--check", action="store_true",
                   help="do not write; exit 1 if the file differs from the schema")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
        if current != text:
            print(f"{args.out} is out of date: run python -m marketsim.docs_params",
                  file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
