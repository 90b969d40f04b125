"""Scenario schema: every key with its type, unit and allowed range, declared once.

A scenario is a TOML file (``scenarios/*.toml``) whose keys are the field names below. The same
declaration gives the validation messages, the docs' parameter table (:func:`parameter_table`)
and the visualiser's slider ranges (:func:`field_spec`). Overrides use dotted keys
(``"buyers.count"``).

This module holds the market-wide sections, the whole :class:`MarketScenario` and the entry
points that read and validate a file (:func:`load_scenario`, :func:`validate_scenario`). The
agent sections are declared in :mod:`marketsim.sections`, the key introspection and error
messages live in :mod:`marketsim.explain`, and user agent classes are loaded by
:mod:`marketsim.classes`; their public names are importable from here as well.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from marketsim.classes import check_classes, load_class
from marketsim.errors import ScenarioError
from marketsim.explain import (
    dotted_keys,
    explain_error,
    field_spec,
    parameter_table,
    short_message,
    suggest,
    value_at,
)
from marketsim.sections import (
    BuyersConfig,
    ClassMix,
    CreditConfig,
    HyperscalersConfig,
    LabsConfig,
    VCsConfig,
    _attr,
    _f,
    _Section,
)

__all__ = [
    "AGENT_SECTIONS", "MAX_GROWTH_DIGITS", "MAX_USAGE_DIGITS", "SCENARIO_DIR", "BuyersConfig",
    "CapabilityConfig", "ClassMix", "ComputeConfig", "CreditConfig", "HyperscalersConfig", "Kind",
    "LabsConfig", "MarketScenario", "RegimeConfig", "VCsConfig", "apply_overrides",
    "field_spec", "load_class", "load_scenario", "parameter_table", "parse_value",
    "read_toml", "resolve_scenario_path", "short_message", "validate_scenario", "value_at",
]

#: The shipped scenarios: ``scenarios/`` at the repository root in a checkout (an editable
#: install), ``marketsim/scenarios/`` inside an installed wheel.
_PACKAGED, _CHECKOUT = (Path(__file__).resolve().parent / "scenarios",
                        Path(__file__).resolve().parent.parent / "scenarios")
SCENARIO_DIR = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


class ComputeConfig(_Section):
    """Data centres, power, throughput and rentals."""

    capex_per_gpu: float = _f(
        50_000, "$/GPU", "all-in data-centre cost per H100-equivalent", gt=0, le=1e7
    )
    lead_time: int = _f(18, "months", "data-centre build time", ge=0, le=120)
    min_efficient_scale: float = _f(
        50_000, "GPUs", "smallest data centre that can be built", ge=0, le=1e8
    )
    scale_growth: float = _f(
        1.6, "x per year", "growth of the minimum efficient scale (frontier clusters grow)",
        ge=1, le=100,
    )
    gpu_life: int = _f(60, "months", "life over which a GPU's capital is counted", ge=1, le=240)
    power_kw: float = _f(1.5, "kW/GPU", "all-in power draw", ge=0, le=100)
    power_price: float = _f(0.075, "$/kWh", "electricity price", ge=0, le=10)
    upkeep: float = _f(120.0, "$/GPU-month", "maintenance and staff per GPU", ge=0, le=1e5)
    tokens_per_gpu_hour: float = _f(
        1.2, "M tokens/GPU-hour", "served tokens per GPU-hour at tick 0, incl. utilisation",
        gt=0, le=1e4,
    )
    throughput_growth: float = _f(
        1.6, "x per year", "growth of tokens per GPU-hour (hardware and serving)", ge=1, le=100
    )
    rental_term: int = _f(6, "months", "least term of a rental contract", ge=1, le=120)
    fire_sale_discount: float = _f(
        0.6, "share", "value lost when a bankrupt lab's GPUs are sold", ge=0, le=1
    )


class CapabilityConfig(_Section):
    """Training compute, algorithmic progress and the open-weight floor."""

    algorithmic_progress: float = _f(
        3.0, "x per year", "effective compute per GPU-month gained by algorithms", ge=1, le=1000
    )
    retention: float = _f(
        0.85, "share/month", "share of effective compute still counted a month later", gt=0, le=1
    )
    open_weight_lag: int = _f(
        9, "months", "open-weight models trail the frontier by this lag", ge=0, le=120
    )
    open_weight_gap: float = _f(
        0.3, "log10", "open-weight capability below the lagged frontier", ge=0, le=10
    )
    # set from public facts: the low end of the 3-12 month open-weight gap (docs/calibration.md)
    follow_lag: int = _f(
        3, "months", "a lab training on at least the minimum efficient scale of GPUs reaches "
        "at least the frontier of this many months ago minus follow_gap; 0: no follower floor",
        ge=0, le=120,
    )
    follow_gap: float = _f(
        0.0, "log10", "follower floor below the lagged frontier (with follow_lag > 0)",
        ge=0, le=10,
    )


class RegimeConfig(_Section):
    """Thresholds of the regime label (docs/model.md §7.9; ``metrics.classify`` applies them).

    The label reads figures over the trailing ``window`` months: medians of the monthly
    giant and renter counts, the survivors' revenue share and HHI, and the active labs
    against their peak so far.
    """

    window: int = _f(
        24, "months", "trailing months whose medians the label reads (le: reporters' "
        "REGIME_WINDOW)", ge=1, le=120,
    )
    hhi_concentrated: float = _f(
        1800.0, "HHI", "above: highly concentrated (US 2023 merger guidelines)", ge=0, le=10_000
    )
    giant_share: float = _f(
        0.1, "share", "least revenue share of a giant (a real share of the market)", ge=0, le=1
    )
    giant_owned_share: float = _f(
        0.5, "share", "least share of its compute a giant owns (most of it)", ge=0, le=1
    )
    min_giants: int = _f(2, "labs", "least giants in a bifurcated market", ge=1, le=1000)
    small_rented_share: float = _f(
        0.5, "share", "least share of its compute a small lab rents (most of it)", ge=0, le=1
    )
    tier_gap: float = _f(
        0.25, "ratio", "most compute of a small lab, as a multiple of the smallest giant's "
        "(the gap between the tiers)", ge=0, le=1,
    )
    min_renters: int = _f(
        3, "labs", "least small renting labs in a bifurcated market", ge=1, le=100_000
    )
    consolidated_labs: int = _f(
        4, "labs", "the handful of survivors: this many largest labs by revenue", ge=1, le=1000
    )
    consolidated_share: float = _f(
        0.9, "share", "least revenue share the survivors hold in a consolidated market",
        ge=0, le=1,
    )
    shakeout: float = _f(
        0.25, "share", "least fall of active labs from their peak so far for a shakeout",
        ge=0, le=1,
    )
    bimodality: float = _f(
        5 / 9, "-", "reference line of the bimodality reporter (uniform = 5/9); not in the "
        "label: Sarle's coefficient passes for one giant and nine similar labs", ge=0, le=1,
    )
    middle_share: float = _f(
        0.25, "share", "reference line of the middle_share reporter; not in the label",
        ge=0, le=1,
    )
    min_age: int = _f(
        24, "months", "entrants younger than this are left out of the bimodality, "
        "middle_share and small_rented_share reporters", ge=0, le=1200,
    )


#: Largest growth over a run, in powers of ten, that a compounding rate may give (prices,
#: tokens and effective compute stay far inside float range; the defaults over the longest
#: horizon, 200 years, reach 10^96).
MAX_GROWTH_DIGITS = 120
#: The same for the buyers' usage, which multiplies every dollar the market spends: past
#: 10^8 a lab's budget asks for more GPUs than the decision checks allow (the defaults reach
#: 10^1.4 over any horizon).
MAX_USAGE_DIGITS = 8
#: The same for tokens per GPU: a lab then needs a vanishing share of its GPUs to serve, and
#: past about 10^15 that share can round to nothing (1 − share == 1 in floats), so labs with
#: demand serve no token (measured: 3x a year from tick 384, 10^15.3; 10x from 10^23).
MAX_THROUGHPUT_DIGITS = 12


class MarketScenario(_Section):
    """A whole market set-up: agent counts and classes, parameters, horizon.

    Field names are the TOML keys; nested sections are TOML tables. Use :func:`load_scenario`
    to read a file and apply dotted overrides with one clear error per bad key.
    """

    name: str = Field("default", description="scenario name")
    description: str = Field("", description="what this scenario is for")
    horizon: int = _f(120, "months", "ticks to run", ge=1, le=2400)
    start: str = Field("2025-01", description="calendar month of tick 0 (YYYY-MM)")
    labs: LabsConfig = Field(default_factory=LabsConfig)
    vcs: VCsConfig = Field(default_factory=VCsConfig)
    hyperscalers: HyperscalersConfig = Field(default_factory=HyperscalersConfig)
    buyers: BuyersConfig = Field(default_factory=BuyersConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    capability: CapabilityConfig = Field(default_factory=CapabilityConfig)
    credit: CreditConfig = Field(default_factory=CreditConfig)
    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    source: str | None = Field(None, exclude=True, description="file it was read from")

    @property
    def label(self) -> str:
        """Name to show: ``name``, or the file's stem when the file sets none.

        Display only: ``name`` itself stays the default, so the content (and the identity
        of an experiment over this scenario) does not depend on what the file is called.
        """
        if "name" in self.model_fields_set or not self.source:
            return self.name
        return Path(self.source).stem

    @field_validator("start")
    @classmethod
    def _check_start(cls, v: str) -> str:
        try:
            year, month = (int(x) for x in v.split("-"))
        except ValueError as exc:
            raise ValueError("must be 'YYYY-MM'") from exc
        if not 1 <= month <= 12:
            raise ValueError("must be 'YYYY-MM'")
        return f"{year:04d}-{month:02d}"

    @model_validator(mode="after")
    def _growth_fits_the_horizon(self) -> MarketScenario:
        """Refuse growth rates that compound past what floats hold over the horizon."""
        years = self.horizon / 12.0
        c, b = self.compute, self.buyers
        # Usage growth decays with its half-life: ln(total) = g0 tau (1 - exp(-t / tau)).
        tau = b.usage_growth_halflife / math.log(2.0)
        usage = math.log(b.usage_growth) / 12.0 * tau * -math.expm1(-self.horizon / tau)
        for key, digits, most in (
            ("compute.scale_growth", years * math.log10(c.scale_growth), MAX_GROWTH_DIGITS),
            ("compute.throughput_growth", years * math.log10(c.throughput_growth),
             MAX_THROUGHPUT_DIGITS),
            ("capability.algorithmic_progress",
             years * math.log10(self.capability.algorithmic_progress), MAX_GROWTH_DIGITS),
            ("buyers.usage_growth", usage / math.log(10.0), MAX_USAGE_DIGITS),
        ):
            if digits > most:
                raise ValueError(
                    f"{key} = {self.get(key):g} a year over horizon = {self.horizon} months "
                    f"multiplies by 10^{digits:.1f}, past what the model's numbers hold; "
                    f"allowed: at most 10^{most} over the run (a lower rate, a shorter "
                    "horizon or, for usage, a shorter usage_growth_halflife)")
        return self

    def get(self, dotted: str) -> Any:
        """Value at a dotted key such as ``"buyers.count"``."""
        obj: Any = self
        for part in dotted.split("."):
            obj = getattr(obj, _attr(part))
        return obj

    def to_toml_dict(self) -> dict[str, Any]:
        """Plain dict with TOML key names (``class`` not ``class_``), for hashing and manifests."""
        return self.model_dump(by_alias=True, exclude_none=True)

    def content_hash(self) -> str:
        """Stable hash of the validated content (not of the file's formatting)."""
        return content_digest(self.to_toml_dict())


def content_digest(raw: dict[str, Any]) -> str:
    """Stable 16-hex-digit hash of a scenario's plain dict (keys sorted, values as text)."""
    import json

    text = json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


AGENT_SECTIONS: tuple[str, ...] = ("labs", "vcs", "hyperscalers", "buyers")
Kind = Literal["labs", "vcs", "hyperscalers", "buyers"]


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value as a TOML value (``20000``, ``0.5``, ``true``); else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(
    raw: dict[str, Any], overrides: dict[str, Any] | None, *, file: str | None = None
) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted-key overrides applied (keys checked against schema)."""
    import copy

    out = copy.deepcopy(raw)
    valid = set(dotted_keys())
    for key, value in (overrides or {}).items():
        if key not in valid:
            raise ScenarioError(
                "unknown override key", file=file, key=key, allowed=suggest(key, sorted(valid))
            )
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part, {}), dict):
                raise ScenarioError("not a table", file=file, key=key)
            node = node.setdefault(part, {})
        if isinstance(value, str):
            if parts[-1] not in ("class", "name", "description", "start"):
                value = parse_value(value)
            elif len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = parse_value(value)  # a quoted TOML string: its content
        node[parts[-1]] = value
    return out


def validate_scenario(
    raw: dict[str, Any], *, file: str | None = None, overrides: dict[str, Any] | None = None
) -> MarketScenario:
    """Validate a raw TOML dict (plus overrides) into a :class:`MarketScenario`."""
    data = apply_overrides(raw, overrides, file=file)
    try:
        sc = MarketScenario.model_validate(data)
    except ValidationError as exc:
        bad = ".".join(str(x) for x in exc.errors()[0]["loc"])
        where = f"override of {file or 'the scenario'}" if bad in (overrides or {}) else file
        raise explain_error(exc, data, where) from None
    sc.source = file
    for kind in AGENT_SECTIONS:
        check_classes(sc, kind, file)
    return sc


def read_toml(path: str | Path, what: str = "scenario") -> dict[str, Any]:
    """Read a TOML file, turning a missing file or bad syntax into one :class:`ScenarioError`."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"{what} file not found", file=str(path),
                            allowed="a path to a .toml file")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML ({exc})", file=str(path)) from None
    except UnicodeDecodeError:
        raise ScenarioError("not a UTF-8 text file", file=str(path)) from None
    except OSError as exc:  # e.g. no permission to read it
        raise ScenarioError(f"cannot read ({type(exc).__name__}: {exc.strerror or exc})",
                            file=str(path)) from None


def resolve_scenario_path(name: str | Path | None) -> Path:
    """A path as given, or a shipped scenario by name (``"null"`` → ``scenarios/null.toml``)."""
    if name is None:
        return SCENARIO_DIR / "default.toml"
    p = Path(name)
    if p.is_file() or p.suffix == ".toml" or len(p.parts) > 1:
        return p
    return SCENARIO_DIR / f"{name}.toml"


def load_scenario(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> MarketScenario:
    """Load and validate a scenario file, applying dotted-key overrides.

    Args:
        path: a TOML file, a shipped scenario's name (``"default"``, ``"null"``), or None for
            the default scenario.
        overrides: dotted keys to values, e.g. ``{"buyers.count": 20_000}``; strings are parsed
            as TOML values (as ``--set`` gives them).

    Raises:
        ScenarioError: the file is missing or not TOML, or a key is unknown, of the wrong type
            or out of range; the message names the file, the key, the value and what is allowed.
    """
    p = resolve_scenario_path(path)
    if not p.is_file():
        shipped = ", ".join(sorted(x.stem for x in SCENARIO_DIR.glob("*.toml")))
        what = "is a folder, not a scenario file" if p.is_dir() else "scenario file not found"
        raise ScenarioError(what, file=str(p),
                            allowed=f"a path to a .toml file, or a shipped name: {shipped}")
    return validate_scenario(read_toml(p), file=str(p), overrides=overrides)
