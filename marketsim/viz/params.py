"""The visualiser's sliders: Mesa ``Slider`` per dotted scenario key, bounds from the schema.

Each slider's key is the dotted TOML key, which is also the model's keyword override, so
SolaraViz's Reset passes ``AIMarketModel(**{"vcs.capital_abundance": 2.0, ...})``. The
default is the loaded scenario's value; the range is the schema's allowed range
(:func:`marketsim.scenario.field_spec`), narrowed to ``[lower bound, 4 × the larger of the
scenario's value and the schema default]`` so that a slider over a huge allowed range
(``buyers.count`` may be 50 million) stays usable.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from mesa.visualization import Slider

from marketsim.scenario import MarketScenario, field_spec

#: Dotted keys that get a slider, in display order: the parameters that drive the regimes.
SLIDER_KEYS: tuple[str, ...] = (
    "vcs.capital_abundance",
    "hyperscalers.margin",
    "buyers.switching_cost",
    "buyers.price_elasticity",
    "labs.count",
    "buyers.count",
)

#: Short labels shown beside each slider (a long label squeezes the slider itself); units and
#: meanings are in docs/visualiser.md.
LABELS: dict[str, str] = {
    "vcs.capital_abundance": "VC money (x normal)",
    "hyperscalers.margin": "Rent markup (cost gap)",
    "buyers.switching_cost": "Switching cost",
    "buyers.price_elasticity": "Price elasticity",
    "labs.count": "Labs at start",
    "buyers.count": "Enterprise buyers",
}

#: Range of the seed slider (the seed is not a scenario key, so it has no schema bounds).
SEED_MAX = 999

#: How far above the scenario's value a slider reaches, as a multiple.
SPAN = 4.0


def _nice_step(span: float, integer: bool) -> float:
    """A round step giving about 100 positions over ``span``."""
    if span <= 0:
        return 1 if integer else 0.01
    raw = span / 100.0
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return max(1, int(round(step))) if integer else float(step)


def slider_for(key: str, value: float, label: str | None = None, least: float | None = None,
               ) -> Slider:
    """A Mesa ``Slider`` for dotted scenario ``key`` starting at ``value``.

    Args:
        key: dotted scenario key, e.g. ``"hyperscalers.margin"``.
        value: the slider's starting value (the scenario's value).
        label: text beside the slider (default: :data:`LABELS` or the key).
        least: a lower end above the schema's (e.g. the agents a scenario's ``mix`` needs).

    Raises:
        ScenarioError: ``key`` is not a scenario key.
    """
    spec = field_spec(key)
    integer = spec["type"] == "int"
    lo = spec.get("ge", spec.get("gt", 0.0))
    hi_allowed = spec.get("le", spec.get("lt", math.inf))
    ref = max(float(value), float(spec["default"]), 0.0)
    hi = min(hi_allowed, SPAN * ref) if ref > 0 else hi_allowed
    if not math.isfinite(hi):
        hi = lo + 100.0
    hi = max(hi, float(value))
    step = _nice_step(hi - lo, integer)
    fine = 10.0 ** -min(_decimals(value), MAX_DECIMALS)
    if not integer and fine < step and (hi - lo) / fine <= MAX_POSITIONS:
        step = fine  # the page shows values rounded to the step's decimals: show the value's
    if "gt" in spec and "ge" not in spec:  # open lower bound: start one step above it
        lo = min(lo + step, value)
    if "lt" in spec and "le" not in spec and hi >= spec["lt"]:
        hi = max(spec["lt"] - step, value)
    if least is not None and least > lo:
        lo = least
    # The grid (min + k x step) runs through the scenario's value: the page snaps a slider to
    # its grid and sends the snapped value back, so an untouched slider must give the
    # scenario's own value on Reset. Kept within the bounds despite rounding (-5e-17 for 0).
    lo = max(tidy(value - math.floor((value - lo) / step + 1e-9) * step), lo)
    hi = min(tidy(value + math.floor((hi - value) / step + 1e-9) * step), hi)
    if integer:
        lo, hi, value = int(lo), int(hi), int(value)
    else:
        lo, hi, value = float(lo), float(hi), float(value)
    return Slider(label or LABELS.get(key, key), value=value, min=lo, max=hi, step=step,
                  dtype=int if integer else float)


#: Finest slider step, as decimals, and most positions on a slider: a value with more
#: decimals (0.1234567) is shown rounded, and an untouched slider still gives it exactly
#: (see :func:`snap_back`).
MAX_DECIMALS = 4
MAX_POSITIONS = 10_000


def _decimals(x: float) -> int:
    """Decimal places of ``x`` as written (1.013 -> 3, 2.0 -> 0)."""
    exponent = Decimal(repr(tidy(float(x)))).normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def snap_back(key: str, value: Any, scenario: MarketScenario) -> Any:
    """A slider's value, or the scenario's own when the slider still sits at its position.

    The page shows a value rounded to the slider's step and sends that back, e.g. 0.12346 for
    0.1234567: an untouched slider must still rebuild the scenario as written.
    """
    if type(value) is not float or key not in SLIDER_KEYS:
        return value
    own = float(scenario.get(key))
    step = slider_for(key, own).step
    return own if abs(value - own) < step / 2 else tidy(value)


def tidy(x: float) -> float:
    """``x`` to 12 significant digits: a grid position without float noise (3.3, not 3.3000…3).

    The page computes slider positions in floating point too: the model applies this to the
    values it receives, so an untouched slider gives the scenario's value exactly.
    """
    return float(f"{x:.12g}")


def model_params(scenario: MarketScenario, seed: int = 0,
                 keys: tuple[str, ...] = SLIDER_KEYS) -> dict[str, Any]:
    """SolaraViz ``model_params``: the seed slider plus one slider per dotted key.

    Args:
        scenario: the scenario shown; its values are the sliders' starting values.
        seed: the seed slider's starting value.
        keys: dotted scenario keys to put on sliders.

    Returns:
        ``{"rng": Slider, "vcs.capital_abundance": Slider, ...}``; the keys are the model's
        keyword arguments.
    """
    params: dict[str, Any] = {
        "rng": Slider("Seed", value=int(seed), min=0, max=SEED_MAX, step=1, dtype=int),
    }
    for key in keys:
        kind, _, name = key.partition(".")
        least = least_count(scenario, kind) if name == "count" else None
        params[key] = slider_for(key, scenario.get(key), least=least)
    return params


def least_count(scenario: MarketScenario, kind: str) -> int:
    """Fewest agents of ``kind`` (``"labs"``, ...) the scenario's ``mix`` entries allow.

    Their counts together, and one more than the highest rank they name: a slider below it
    would give a scenario that cannot be built.
    """
    mix = getattr(scenario, kind).mix
    ranks = [r for m in mix for r in (m.ranks or [])]
    return max(sum(m.count for m in mix), max(ranks, default=-1) + 1, 1)
