"""Scenario sections: the rules every TOML table follows, and the four agent sections.

``_Section`` is the base of every table in a scenario file: unknown keys, ``true`` or text
for a number and NaN/inf are refused. ``[labs]``, ``[vcs]``, ``[hyperscalers]`` and
``[buyers]`` (each with an optional ``class`` and ``[[SECTION.mix]]`` of other classes) are
declared here; the market-wide sections and the whole scenario are in
:mod:`marketsim.scenario`, which re-exports these classes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    size_exponent: float = _f(
        1.25, "-", "Zipf exponent of initial compute by rank (0: equal sizes)",
        ge=0, le=4,
    )
    owned_share_top: float = _f(
        0.5, "share", "share of the largest lab's initial compute it owns", ge=0, le=1
    )
    owned_share_decay: float = _f(
        0.5, "-", "owned share falls by this factor per rank", ge=0, le=1
    )
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    initial_price: float = _f(
        6.7, "$/M tokens", "list price at tick 0", gt=0, le=1000
    )
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
        1.0, "share", "share of its expected compute (at its growth, over the lead time) a lab "
        "means to own", gt=0, le=5,
    )
    credit_months: float = _f(
        3.0, "months of revenue", "most a lab may owe creditors in bridge loans", ge=0, le=120
    )
    capex_share: float = _f(
        0.6, "share", "most of the compute budget data-centre instalments may take (the seed "
        "story's leader: ~$50bn of own data centres beside ~$30bn of cloud)", ge=0, le=1
    )
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    internal_multiple: float = _f(
        19.5, "x run rate", "a lab's own valuation of itself per $ of annual revenue",
        gt=0, le=1000,
    )
    undercut: float = _f(
        0.05, "share", "how far under a renter's compute cost per token an owner with the cost "
        "edge and spare GPUs prices (limit pricing; 0.05: just under, by reasoning)",
        ge=0, le=1,
    )


class VCsConfig(_AgentSection):
    """Venture capitalists: money in, valuations, offers and entrants."""

    count: int = _f(8, "VCs", "venture investors", ge=1, le=500)
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    capital_abundance: float = _f(
        0.52, "x", "scales limited partners' inflow and dry powder", ge=0,
        le=20,
    )
    initial_dry_powder: float = _f(60.0, "$bn", "VC money ready at tick 0 (all VCs)", ge=0, le=1e5)
    lp_inflow: float = _f(6.0, "$bn/month", "limited partners' new money (all VCs)", ge=0, le=1e4)
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    base_multiple: float = _f(
        13.5, "x run rate", "valuation multiple of a lab with no growth", gt=0,
        le=1000,
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
    revenue_screening: float = _f(
        1.0, "share", "how far VCs screen labs in proportion to revenue (1: chase revenue; 0: "
        "every lab alike): capital following revenue", ge=0, le=1,
    )
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
    crossover_pool: float = _f(
        40.0, "$bn", "crossover and sovereign money ready at tick 0 for rounds VCs lead (x "
        "capital_abundance; SoftBank's $30bn of OpenAI's $40bn round, Mar 2025, and sovereign "
        "funds' tickets in Anthropic's and xAI's 2025 rounds)", ge=0, le=1e5,
    )
    crossover_inflow: float = _f(
        4.0, "$bn/month", "crossover and sovereign money added each month (x capital_abundance; "
        "~$50bn a year: SoftBank, MGX, QIA, GIC in 2025 frontier-lab rounds)", ge=0, le=1e4,
    )
    crossover_max_share: float = _f(
        0.75, "share", "largest share of the crossover pool one round takes (SoftBank's $30bn "
        "of the $40bn OpenAI round, 2025)", ge=0, le=1,
    )


class HyperscalersConfig(_AgentSection):
    """Hyperscalers: rent GPUs, build capacity, invest strategically."""

    count: int = _f(3, "hyperscalers", "clouds renting GPUs", ge=1, le=100)
    initial_gpus: float = _f(
        1_500_000, "GPUs", "rentable capacity at tick 0 (all hyperscalers)", ge=0, le=1e9
    )
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    margin: float = _f(
        0.77, "share", "markup of rent over owned cost: the owned-vs-rented cost gap",
        ge=0, le=10,
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
    strategic_size: float = _f(
        4.0, "$bn", "smallest strategic investment (Amazon's $4bn in Anthropic, 2023-24)",
        ge=0, le=1e4,
    )
    credit_share: float = _f(
        0.5, "share", "share of a strategic investment paid as compute credits", ge=0, le=1
    )
    strategic_max: float = _f(
        13.0, "$bn", "largest strategic investment, sized to the lab's build-out (Microsoft's "
        "~$13bn in OpenAI, 2019-23)", ge=0, le=1e4,
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
        1.3, "-", "constant elasticity of tokens demanded to price (above 1: spend rises as "
        "prices fall; estimated in docs/model.md 7.2)", ge=0, le=10,
    )
    price_weight: float = _f(
        1.5, "utils per log $", "logit weight on log price in supplier choice", ge=0, le=50
    )
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    quality_weight: float = _f(
        2.46, "utils per log10", "logit weight on capability in supplier choice",
        ge=0, le=100,
    )
    quality_elasticity: float = _f(
        0.5, "-", "tokens demanded per log10 of capability above the open-weight floor",
        ge=0, le=10,
    )
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    initial_spend: float = _f(
        0.35, "$bn/month", "all buyers' spend at tick 0 at the initial price (if none has "
        "adopted: the expected adopters', at least one buyer's worth)", gt=0,
        le=1e4,
    )
    # fitted: the posterior median of the 2025 fit (docs/calibration.md)
    usage_growth: float = _f(
        3.1, "x per year", "growth of tokens per adopted buyer at tick 0",
        ge=0.1, le=100,
    )
    usage_growth_halflife: float = _f(
        24.0, "months", "half-life of that growth rate", gt=0, le=1200
    )


class CreditConfig(_Section):
    """Credit to labs (marketsim/mechanisms/credit.py): project finance, bridge loans, the cycle.

    The bridge limit is ``labs.credit_months`` (months of revenue).
    """

    project_ltv: float = _f(
        0.6, "share", "most of a data centre's capex lenders finance, secured on its GPUs "
        "(0: no project finance)", ge=0, le=1,
    )
    project_rate: float = _f(0.10, "share/year", "interest on project loans", ge=0, le=1)
    project_term: int = _f(
        60, "months", "project loans repay 1/term of the balance a month (term = GPU life: "
        "the loan wears down with its collateral)", ge=1, le=600,
    )
    bridge_rate: float = _f(0.15, "share/year", "interest on bridge loans", ge=0, le=1)
    interest_cover: float = _f(
        1.0, "x", "monthly revenue must be this multiple of the interest on all debt for a "
        "new loan", ge=0, le=100,
    )
    cycle_sensitivity: float = _f(
        5.0, "-", "fall of lenders' appetite per unit of the borrowers' default rate",
        ge=0, le=100,
    )
    cycle_months: int = _f(12, "months", "window of the borrowers' default rate", ge=1, le=240)


def _attr(name: str) -> str:
    """The attribute that holds TOML key ``name`` (``class`` is a Python keyword: ``class_``)."""
    return "class_" if name == "class" else name
