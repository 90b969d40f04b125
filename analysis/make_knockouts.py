"""Write the knock-out scenarios: the default market with one force (or one group) off.

Scenario files have no include mechanism, so each knock-out is a full copy of
scenarios/default.toml with the force's keys set; this script writes them all, so they stay
in step with the default. Run it after editing default.toml (a test checks the files match):

    python analysis/make_knockouts.py            # writes scenarios/knockouts/*.toml,
                                                 # scenarios/null.toml and
                                                 # scenarios/no_capability_premium.toml
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "scenarios" / "default.toml"
KNOCKOUT_DIR = REPO / "scenarios" / "knockouts"

#: Each force of the model that can be switched off: dotted key, value, why that is "off".
FORCES: dict[str, tuple[str, float, str]] = {
    "margin": ("hyperscalers.margin", 0.0, "rent = owned cost: no cost gap"),
    "utilisation_premium": ("hyperscalers.utilisation_premium", 0.0,
                            "no extra markup when clouds are busy"),
    "min_efficient_scale": ("compute.min_efficient_scale", 0.0,
                            "a data centre of any size can be built"),
    "fixed_cost": ("labs.fixed_cost", 0.0, "no staff and overheads: no fixed-cost scale economy"),
    "switching_cost": ("buyers.switching_cost", 0.0, "buyers re-choose with no bonus to stay"),
    "quality_weight": ("buyers.quality_weight", 0.0, "buyers' choice ignores capability"),
    "quality_elasticity": ("buyers.quality_elasticity", 0.0,
                           "tokens demanded do not rise with capability"),
    "size_exponent": ("labs.size_exponent", 0.0, "equal labs at tick 0"),
    "owned_share_top": ("labs.owned_share_top", 0.0, "no lab owns compute at tick 0"),
    "project_finance": ("credit.project_ltv", 0.0,
                        "no loans for data centres: labs build from their own cash"),
    "bridge_loans": ("labs.credit_months", 0.0, "no bridge loans against revenue"),
    "revenue_screening": ("vcs.revenue_screening", 0.0,
                          "VCs screen every lab alike: capital does not follow revenue"),
    "follower_floor": ("capability.follow_lag", 0,
                       "labs training at scale trail the frontier like any other lab"),
}

#: Groups of forces switched off together, with what the group stands for.
GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "cost_gap": (("margin", "utilisation_premium"), "the owned-vs-rented cost gap"),
    "supply_returns": (("margin", "utilisation_premium", "min_efficient_scale", "fixed_cost"),
                       "the supply-side increasing returns"),
    "supply_and_switching": (("margin", "utilisation_premium", "min_efficient_scale",
                              "fixed_cost", "switching_cost"),
                             "the supply-side increasing returns and switching costs (the "
                             "null with buyers' premium for capability and capital following "
                             "revenue left on)"),
    "capability_premium": (("quality_weight", "quality_elasticity"),
                           "buyers' premium for capability (returns to training compute)"),
    "null": (("margin", "utilisation_premium", "min_efficient_scale", "fixed_cost",
              "switching_cost", "quality_weight", "quality_elasticity", "revenue_screening"),
             "the null regime: every increasing-returns force (the supply-side returns, "
             "switching costs, capital following revenue, and the returns to training "
             "compute: buyers' premium for capability)"),
    "scale_and_floor": (("min_efficient_scale", "follower_floor"),
                        "the minimum efficient scale and the follower floor (whose threshold "
                        "is that scale)"),
    "null_and_floor": (("margin", "utilisation_premium", "min_efficient_scale", "fixed_cost",
                        "switching_cost", "quality_weight", "quality_elasticity",
                        "revenue_screening", "follower_floor"),
                       "every increasing-returns force and the follower floor (the null "
                       "with no lab following the frontier)"),
    "credit": (("project_finance", "bridge_loans"),
               "credit to labs (project finance and bridge loans)"),
    "equal_start": (("size_exponent", "owned_share_top"),
                    "the initial asymmetry (not a force: equal labs, none owning, at tick 0)"),
}

#: Top-level scenarios generated the same way: file stem -> group.
SHIPPED: dict[str, str] = {"null": "null", "no_capability_premium": "capability_premium"}


def knockouts() -> dict[str, tuple[tuple[str, ...], str]]:
    """Every knock-out: each force alone, then each group (name -> forces, what it is)."""
    single = {name: ((name,), f"its {name.replace('_', ' ')}") for name in FORCES}
    return single | GROUPS


def render(name: str, forces: tuple[str, ...], what: str, default: str) -> str:
    """The scenario file ``name``: default.toml's text with ``forces`` off."""
    lines = [ln for ln in default.splitlines() if not ln.startswith("#")]
    body = "\n".join(lines).strip("\n") + "\n"
    body = re.sub(r'^name = ".*"$', f'name = "{name}"', body, count=1, flags=re.M)
    off = ", ".join(FORCES[f][0] for f in forces)
    body = re.sub(r'^description = ".*"$', f'description = "Default market with {what} off '
                  f'({off})."', body, count=1, flags=re.M)
    for force in forces:
        key, value, why = FORCES[force]
        section, field = key.split(".")
        line = f"{field} = {value!r}  # off: {why}"
        header = f"[{section}]\n"
        if header not in body:
            body = body.rstrip("\n") + f"\n\n{header}"
        at = body.index(header) + len(header)
        end = body.find("\n[", at)
        end = len(body) if end < 0 else end + 1
        body = body[:end].rstrip("\n") + f"\n{line}\n" + ("\n" if end < len(body) else "") \
            + body[end:]
    head = textwrap.fill(
        f"Knock-out: the default market with {what} off, every other key as in "
        "scenarios/default.toml. Written by analysis/make_knockouts.py: edit that script "
        "(or default.toml) and run it, not this file.", width=92,
        initial_indent="# ", subsequent_indent="# ")
    return head + "\n" + body


def targets() -> dict[Path, str]:
    """Every generated file and its text."""
    default = DEFAULT.read_text(encoding="utf-8")
    out = {}
    for name, (forces, what) in knockouts().items():
        out[KNOCKOUT_DIR / f"{name}.toml"] = render(name, forces, what, default)
    for stem, group in SHIPPED.items():
        forces, what = GROUPS[group]
        out[REPO / "scenarios" / f"{stem}.toml"] = render(stem, forces, what, default)
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main() -> int:
    """Write every knock-out scenario; print each path."""
    for path, text in targets().items():
        write_atomic(path, text)
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
