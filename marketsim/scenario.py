"""Scenario schema: every key with its type, unit and allowed range, declared once.

A scenario is a TOML file (``scenarios/*.toml``) whose keys are the field names below. The same
declaration gives the validation messages, the docs' parameter table (:func:`parameter_table`)
and the visualiser's slider ranges (:func:`field_spec`). Overrides use dotted keys
(``"buyers.count"``).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import math
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

import annotated_types as at
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from marketsim.errors import ScenarioError

#: The shipped scenarios: ``scenarios/`` at the repository root in a checkout (an editable
#: install), ``marketsim/scenarios/`` inside an installed wheel.
_PACKAGED, _CHECKOUT = (Path(__file__).resolve().parent / "scenarios",
                        Path(__file__).resolve().parent.parent / "scenarios")
SCENARIO_DIR = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


_BOUNDS = {"ge": at.Ge, "gt": at.Gt, "le": at.Le, "lt": at.Lt}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _f(default: Any, unit: str, description: str, **bounds: Any) -> Any:
    """Declare a field with its unit and description (shown in errors, docs and sliders)."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **bounds)


class _Section(BaseModel):
    # validate_default: a default written as 50_000 for a float field is stored as 50000.0, so
    # a value left at its default and the same value written in a file hash alike.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, validate_assignment=True, allow_inf_nan=False,
        validate_default=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: Any) -> Any:
        """Neither TOML ``true``/``false`` nor text is a count or an amount.

        Pydantic would read ``true`` as 1 and ``"3"`` as 3; a quoted number in a scenario file
        is more likely a slip than a wish.
        """
        fld = cls.model_fields.get(info.field_name) if info.field_name else None
        if fld is not None and fld.annotation in (int, float):
            if isinstance(value, bool):
                raise ValueError("must be a number, not true/false")
            if isinstance(value, str):
                hint = " (write it without quotes)" if _is_number(value) else ""
                raise ValueError(f"must be a number, not text{hint}")
        return value


class ClassMix(_Section):
    """Some agents of a kind drawn from another class (e.g. one custom lab among ordinary ones)."""

    model_config = ConfigDict(validate_default=False)  # count: None means len(ranks) or 1

    class_: str = Field(alias="class", description="import path 'package.module:ClassName'")
    count: int = _f(
        None, "agents", "how many agents of the kind use this class (default: len(ranks) or 1)",
        ge=1, le=50_000_000,
    )
    ranks: list[int] | None = Field(
        None,
        description="initial size ranks these agents take (0 = largest); default: the smallest",
    )

    @model_validator(mode="after")
    def _default_count(self) -> ClassMix:
        if self.count is None:
            self.count = len(self.ranks) if self.ranks else 1
        return self


class _AgentSection(_Section):
    class_: str | None = Field(
        None, alias="class",
        description="import path 'package.module:ClassName' (default: built-in)",
    )
    mix: list[ClassMix] = Field(default_factory=list, description="other classes within the kind")


class LabsConfig(_AgentSection):
    """AI labs: who they are at tick 0 and how they decide."""

    count: int = _f(12, "labs", "frontier labs at tick 0", ge=1, le=500)
    leader_gpus: float = _f(
        400_000, "GPUs", "compute of the largest lab at tick 0", gt=0, le=1e8
    )
    size_exponent: float = _f(
        1.0, "-", "Zipf exponent of initial compute by rank (0: equal sizes)", ge=0, le=4
    )
    owned_share_top: float = _f(
        0.5, "share", "share of the largest lab's initial compute it owns", ge=0, le=1
    )
    owned_share_decay: float = _f(
        0.5, "-", "owned share falls by this factor per rank", ge=0, le=1
    )
    initial_price: float = _f(4.0, "$/M tokens", "list price at tick 0", gt=0, le=1000)
    cash_months: float = _f(
        15.0, "months", "initial cash as months of initial compute spend (median)", ge=0, le=240
    )
    cash_months_sigma: float = _f(
        0.7, "-", "log-normal spread of initial cash months across labs (0: all equal)",
        ge=0, le=5,
    )
    fixed_cost: float = _f(
        0.05, "$bn/month", "staff and overheads per lab (a returns-to-scale force)", ge=0, le=10
    )
    min_train_share: float = _f(
        0.2, "share", "least share of compute kept for training", ge=0, le=1
    )
    inference_headroom: float = _f(
        1.15, "-", "inference capacity held over expected demand", ge=1, le=5
    )
    price_adjust: float = _f(
        0.25, "share/month", "how far price moves toward its target each month", ge=0, le=1
    )
    min_margin: float = _f(
        0.1, "share", "least markup over compute cost per token", ge=-0.5, le=5
    )
    reinvest_share: float = _f(
        0.9, "share", "share of revenue spent on compute", ge=0, le=2
    )
    burn_months: float = _f(
        12.0, "months", "a lab spends its cash on compute over this many months", ge=1, le=240
    )
    runway_comfort: float = _f(
        24.0, "months", "runway above which a lab needs no outside money", ge=0, le=240
    )
    build_share: float = _f(
        1.0, "share", "share of rented compute a data-centre project replaces", gt=0, le=5
    )
    credit_months: float = _f(
        3.0, "months of revenue", "most a lab may owe creditors in bridge loans", ge=0, le=120
    )
    capex_share: float = _f(
        0.5, "share", "most of the compute budget data-centre instalments may take", ge=0, le=1
    )
    internal_multiple: float = _f(
        25.0, "x run rate", "a lab's own valuation of itself per $ of annual revenue", gt=0, le=1000
    )


class VCsConfig(_AgentSection):
    """Venture capitalists: money in, valuations, offers and entrants."""

    count: int = _f(8, "VCs", "venture investors", ge=1, le=500)
    capital_abundance: float = _f(
        1.0, "x", "scales limited partners' inflow and dry powder", ge=0, le=20
    )
    initial_dry_powder: float = _f(60.0, "$bn", "VC money ready at tick 0 (all VCs)", ge=0, le=1e5)
    lp_inflow: float = _f(6.0, "$bn/month", "limited partners' new money (all VCs)", ge=0, le=1e4)
    base_multiple: float = _f(
        20.0, "x run rate", "valuation multiple of a lab with no growth", gt=0, le=1000
    )
    growth_weight: float = _f(
        0.25, "x per 100% growth", "multiple added per unit of yearly growth", ge=0, le=100
    )
    herding: float = _f(
        0.5, "-", "weight on recent peer multiples (fear of missing out)", ge=0, le=1
    )
    max_multiple: float = _f(100.0, "x run rate", "highest multiple offered", gt=0, le=1e4)
    round_share: float = _f(
        0.12, "share", "equity sold in a typical round", gt=0, lt=1
    )
    max_check_share: float = _f(
        0.4, "share", "largest share of a VC's dry powder in one offer", gt=0, le=1
    )
    looks_per_month: int = _f(1, "labs", "labs each VC looks at per month", ge=0, le=100)
    entry_rate: float = _f(
        0.15, "entrants/month", "new labs funded per month at reference dry powder", ge=0, le=50
    )
    max_entrants: int = _f(
        5, "entrants/month", "most new labs founded in one month", ge=0, le=1000
    )
    seed_round: float = _f(1.0, "$bn", "cash a new entrant starts with", gt=0, le=1e3)
    pre_revenue_value: float = _f(
        3.0, "$bn per log10", "pre-revenue valuation per unit of capability above the floor",
        ge=0, le=1e4,
    )


class HyperscalersConfig(_AgentSection):
    """Hyperscalers: rent GPUs, build capacity, invest strategically."""

    count: int = _f(3, "hyperscalers", "clouds renting GPUs", ge=1, le=100)
    initial_gpus: float = _f(
        1_500_000, "GPUs", "rentable capacity at tick 0 (all hyperscalers)", ge=0, le=1e9
    )
    margin: float = _f(
        0.8, "share", "markup of rent over owned cost: the owned-vs-rented cost gap", ge=0, le=10
    )
    utilisation_premium: float = _f(
        0.6, "share", "extra markup as utilisation goes from 70% to 100%", ge=0, le=10
    )
    target_utilisation: float = _f(0.8, "share", "utilisation above which it orders", gt=0, le=1)
    order_share: float = _f(
        0.08, "share/month", "capacity ordered per month when busy", ge=0, le=1
    )
    lead_time: int = _f(
        9, "months", "time for a hyperscaler's GPU order to come online", ge=0, le=120
    )
    strategic_rate: float = _f(
        0.08, "deals/month", "chance per month of a strategic investment", ge=0, le=1
    )
    strategic_size: float = _f(4.0, "$bn", "size of a strategic investment", ge=0, le=1e4)
    credit_share: float = _f(
        0.5, "share", "share of a strategic investment paid as compute credits", ge=0, le=1
    )


class BuyersConfig(_AgentSection):
    """Enterprise buyers: adoption, supplier choice and token demand (vectorised)."""

    count: int = _f(10_000, "buyers", "enterprise buyers", ge=1, le=50_000_000)
    size_sigma: float = _f(
        1.5, "-", "log-normal sigma of buyer size (heavy tail)", ge=0, le=5
    )
    initial_adoption: float = _f(0.1, "share", "share of buyers adopted at tick 0", ge=0, le=1)
    bass_p: float = _f(0.03, "1/year", "Bass coefficient of innovation", ge=0, le=5)
    bass_q: float = _f(0.38, "1/year", "Bass coefficient of imitation", ge=0, le=20)
    contract_months: int = _f(12, "months", "length of a supply contract", ge=1, le=240)
    switching_cost: float = _f(
        1.0, "utils", "logit bonus for staying with the current supplier", ge=0, le=50
    )
    price_elasticity: float = _f(
        1.0, "-", "constant elasticity of tokens demanded to price", ge=0, le=10
    )
    price_weight: float = _f(
        1.5, "utils per log $", "logit weight on log price in supplier choice", ge=0, le=50
    )
    quality_weight: float = _f(
        2.5, "utils per log10", "logit weight on capability in supplier choice", ge=0, le=100
    )
    quality_elasticity: float = _f(
        0.5, "-", "tokens demanded per log10 of capability above the open-weight floor",
        ge=0, le=10,
    )
    initial_spend: float = _f(
        0.3, "$bn/month", "all buyers' spend at tick 0 at the initial price (if none has "
        "adopted: the expected adopters', at least one buyer's worth)", gt=0, le=1e4
    )
    usage_growth: float = _f(
        3.0, "x per year", "growth of tokens per adopted buyer at tick 0", ge=0.1, le=100
    )
    usage_growth_halflife: float = _f(
        24.0, "months", "half-life of that growth rate", gt=0, le=1200
    )


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


class RegimeConfig(_Section):
    """Thresholds of the regime label (docs/regimes.md; ``metrics.classify`` applies them).

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
             MAX_GROWTH_DIGITS),
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
        import json

        text = json.dumps(self.to_toml_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


AGENT_SECTIONS: tuple[str, ...] = ("labs", "vcs", "hyperscalers", "buyers")
Kind = Literal["labs", "vcs", "hyperscalers", "buyers"]


def _attr(name: str) -> str:
    return "class_" if name == "class" else name


def _section_model(dotted_prefix: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] = MarketScenario
    for part in dotted_prefix:
        fld = model.model_fields.get(_attr(part.split("[")[0]))
        if fld is None:
            return None
        ann = fld.annotation
        args = getattr(ann, "__args__", ())
        if getattr(ann, "__origin__", None) is list and args:  # e.g. mix: list[ClassMix]
            ann = args[0]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return None
    return model


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items() if n != "source"]


def field_spec(dotted: str) -> dict[str, Any]:
    """Type, unit, bounds and description of a dotted scenario key (for sliders and docs).

    Raises:
        ScenarioError: the key does not exist.
    """
    parts = dotted.split(".")
    model = _section_model(parts[:-1])
    fld = model.model_fields.get(_attr(parts[-1])) if model else None
    if fld is None:
        raise ScenarioError("unknown key", key=dotted, allowed=_suggest(dotted))
    spec: dict[str, Any] = {
        "key": dotted,
        "type": getattr(fld.annotation, "__name__", str(fld.annotation)),
        "unit": (fld.json_schema_extra or {}).get("unit", ""),  # type: ignore[union-attr]
        "description": fld.description or "",
        "default": fld.get_default(call_default_factory=True),
    }
    for meta in fld.metadata:
        for name, bound in _BOUNDS.items():
            if isinstance(meta, bound):
                spec[name] = getattr(meta, name)
    return spec


def _allowed(spec: dict[str, Any]) -> str:
    lo = f">= {spec['ge']}" if "ge" in spec else (f"> {spec['gt']}" if "gt" in spec else "")
    hi = f"<= {spec['le']}" if "le" in spec else (f"< {spec['lt']}" if "lt" in spec else "")
    rng = " and ".join(x for x in (lo, hi) if x)
    unit = f" {spec['unit']}" if spec.get("unit") and spec["unit"] != "-" else ""
    return f"{spec['type']}{' ' + rng if rng else ''}{unit}"


def parameter_table() -> list[dict[str, Any]]:
    """Every scalar scenario key with type, unit, default, range and description (for docs)."""
    rows: list[dict[str, Any]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, fld in model.model_fields.items():
            key = prefix + (fld.alias or name)
            ann = fld.annotation
            if name in ("source", "mix"):
                continue
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")
            else:
                spec = field_spec(key)
                spec["allowed"] = _allowed(spec)
                rows.append(spec)

    walk(MarketScenario, "")
    return rows


def _all_dotted_keys() -> list[str]:
    keys: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, fld in model.model_fields.items():
            if name == "source":
                continue
            key = prefix + (fld.alias or name)
            keys.append(key)
            ann = fld.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")

    walk(MarketScenario, "")
    return keys


def _suggest(key: str, choices: list[str] | None = None) -> str:
    choices = choices if choices is not None else _all_dotted_keys()
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    section = key.rsplit(".", 1)[0] if "." in key else ""
    near = [c for c in choices if section and c.startswith(section + ".")][:6]
    return "one of " + ", ".join(near) + ", ..." if near else "see docs/parameters.md"


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
    valid = set(_all_dotted_keys())
    for key, value in (overrides or {}).items():
        if key not in valid:
            raise ScenarioError(
                "unknown override key", file=file, key=key, allowed=_suggest(key, sorted(valid))
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


def value_at(data: Any, path: Any, default: Any = None) -> Any:
    """The value at a key path in nested dicts and lists (``default`` if it is not there)."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _explain(exc: ValidationError, raw: dict[str, Any], file: str | None) -> ScenarioError:
    err = exc.errors()[0]
    loc: list[str] = []
    for x in err["loc"]:
        if isinstance(x, int) and loc:
            loc[-1] += f"[{x}]"  # labs.mix[0].count
        else:
            loc.append(str(x))
    key = ".".join(loc)
    plain = ".".join(part.split("[")[0] for part in loc)  # labs.mix.count, for the schema
    given = value_at(raw, err["loc"], err.get("input"))
    if err["type"] == "extra_forbidden":
        section = _section_model(loc[:-1])
        choices = [".".join([*loc[:-1], k]) for k in _keys_of(section)] if section else None
        return ScenarioError("unknown key", file=file, key=key, allowed=_suggest(key, choices))
    if err["type"] == "missing":
        return ScenarioError("required key missing", file=file, key=key)
    msg = str(err["msg"])
    if msg.startswith("Value error, "):  # our own validators say what is wrong
        msg = msg[len("Value error, "):]
        if not loc:  # a rule over several keys: the message names them
            return ScenarioError(msg, file=file)
    elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        msg = "must be a table"
    else:
        msg = short_message(err)
    section = _section_model(plain.split("."))
    if section is not None:  # a whole table (or list of tables) given as something else
        many = isinstance(given, list) or plain.endswith(".mix")
        brackets = f"[[{plain}]]" if many else f"[{plain}]"
        allowed = f"{'tables' if many else 'a table'} {brackets} with keys " + ", ".join(
            _keys_of(section))
    else:
        try:
            spec = field_spec(plain)
            allowed = _allowed(spec)
            if spec["type"] == "str" and spec["description"]:
                allowed = f"text: {spec['description']}"
        except ScenarioError:
            allowed = str(err["msg"])
    return ScenarioError(msg[:1].lower() + msg[1:], file=file, key=key, given=given,
                         allowed=allowed)


def short_message(err: Any) -> str:
    """A pydantic error's message up to its first comma ("Input should be a valid integer").

    A choice among literals keeps all of them ("Input should be 'grid', 'lhs' or 'sobol'").
    """
    msg = str(err["msg"])
    return msg if err["type"] in ("literal_error", "enum") else msg.split(",")[0]


def validate_scenario(
    raw: dict[str, Any], *, file: str | None = None, overrides: dict[str, Any] | None = None
) -> MarketScenario:
    """Validate a raw TOML dict (plus overrides) into a :class:`MarketScenario`."""
    data = apply_overrides(raw, overrides, file=file)
    try:
        sc = MarketScenario.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, data, file) from None
    sc.source = file
    for kind in AGENT_SECTIONS:
        _check_classes(sc, kind, file)
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
        raise ScenarioError("scenario file not found", file=str(p),
                            allowed=f"a path to a .toml file, or a shipped name: {shipped}")
    return validate_scenario(read_toml(p), file=str(p), overrides=overrides)


def import_module(name: str, file: str | None = None) -> Any:
    """Import module ``name``; if its top-level package is not found, look beside ``file``.

    Tries the normal import path first. Only when the top-level package itself is missing
    are the scenario file's folder and the current directory appended to ``sys.path``
    (after everything installed) and the import tried again, so ``my_agents.py`` next to
    ``my_scenario.toml`` is found by ``marketsim run``, ``marketsim viz`` and local sweep
    workers without ``PYTHONPATH``.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.partition(".")[0]:
            raise  # the package was found; something inside it is missing
        folders = [str(Path(file).resolve().parent)] if file else []
        folders.append(str(Path.cwd()))
        new = [f for f in dict.fromkeys(folders) if f not in sys.path]
        if not new:
            raise
        sys.path.extend(new)
        importlib.invalidate_caches()
        return importlib.import_module(name)


def load_class(path: str, base: type, *, key: str = "class", file: str | None = None) -> type:
    """Import ``"package.module:ClassName"`` and check it subclasses ``base``."""
    allowed = f"'package.module:ClassName' naming a subclass of {base.__name__}"
    if ":" not in path:
        raise ScenarioError("not an import path", file=file, key=key, given=path, allowed=allowed)
    mod_name, _, cls_name = path.partition(":")
    try:
        module = import_module(mod_name, file)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import failure is the user's
        raise ScenarioError(
            f"cannot import module '{mod_name}' ({type(exc).__name__}: {exc})",
            file=file, key=key, given=path, allowed=allowed,
        ) from None
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        what = ("class not found" if cls is None else
                "not a class" if not isinstance(cls, type) else "class not a subclass")
        where = getattr(module, "__file__", None)
        if where:  # e.g. a user's queue.py shadowed by the standard library's
            what += f" (module '{mod_name}' imported from {where})"
        raise ScenarioError(what, file=file, key=key, given=path, allowed=allowed)
    return cls


def _check_classes(sc: MarketScenario, kind: str, file: str | None) -> None:
    from marketsim.agents import BASE_CLASSES

    section = getattr(sc, kind)
    if section.class_ is not None:
        load_class(section.class_, BASE_CLASSES[kind], key=f"{kind}.class", file=file)
    total = 0
    seen: set[int] = set()
    for i, mix in enumerate(section.mix):
        key = f"{kind}.mix[{i}]"
        load_class(mix.class_, BASE_CLASSES[kind], key=f"{key}.class", file=file)
        total += mix.count
        ranks = mix.ranks or []
        if ranks and kind == "buyers":
            raise ScenarioError("buyers have no size ranks", file=file, key=f"{key}.ranks",
                                given=ranks, allowed="leave out 'ranks' under [buyers]")
        if len(ranks) > mix.count:
            raise ScenarioError("more ranks than agents", file=file, key=f"{key}.ranks",
                                given=ranks, allowed=f"at most count = {mix.count} ranks")
        for r in ranks:
            if not 0 <= r < section.count:
                raise ScenarioError("rank out of range", file=file, key=f"{key}.ranks",
                                    given=r, allowed=f"0 to {section.count - 1}")
            if r in seen:
                raise ScenarioError("rank given twice", file=file, key=f"{key}.ranks",
                                    given=r, allowed="each rank in at most one mix entry, once")
            seen.add(r)
    if total > section.count:
        raise ScenarioError("mix counts exceed the kind's count", file=file,
                            key=f"{kind}.mix", given=total, allowed=f"<= {section.count}")
