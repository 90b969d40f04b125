"""What a fit estimates and against what: priors over scenario keys, and the 2025 targets.

Data only. A :class:`Prior` is a range over one float scenario key (uniform, or uniform in
the logarithm); a :class:`FitTarget` reads one figure off a run's first 13 months (tick 0 =
January 2025 to tick 12 = January 2026) and gives its tolerance band from CALIBRATION.md.
Nothing after January 2026 enters a fit: the later years are the out-of-sample test. Both can
be read from TOML (``--priors FILE``, ``--targets FILE``); every bad entry is one
:class:`~marketsim.ScenarioError` naming the file, the key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from marketsim.errors import ScenarioError

#: Last tick a fit may read: January 2026, the end of the 2025 figures.
LAST_FIT_TICK = 12
STATISTICS = ("at", "mean", "sum", "ratio")
SCALES = ("linear", "log")


@dataclass(frozen=True)
class Prior:
    """A prior over one float scenario key.

    Attributes:
        key: dotted scenario key, e.g. ``"buyers.initial_spend"``.
        low: least value (in the key's unit).
        high: greatest value.
        scale: ``"linear"`` (uniform on low..high) or ``"log"`` (uniform in log: each factor
            of ten equally likely; for amounts and rates whose order of magnitude is unknown).
        reason: why this range, in words (shown in docs/calibration.md and the manifest).
    """

    key: str
    low: float
    high: float
    scale: str = "linear"
    reason: str = ""


@dataclass(frozen=True)
class FitTarget:
    """One 2025 figure: which reporter over which ticks, and its tolerance band.

    Attributes:
        name: short identifier (a summary statistic's name in the fit's tables).
        reporter: model reporter (column of the tick table).
        first: first tick read (0 = January 2025).
        last: last tick read (at most :data:`LAST_FIT_TICK`).
        statistic: ``"at"`` (value at ``first``), ``"mean"`` or ``"sum"`` over
            ``first..last``, ``"ratio"`` (value at ``first`` / value at ``last``).
        low: lowest value within tolerance (> 0: the distance is on a log scale).
        high: highest value within tolerance.
        figure: what is measured, in words.
    """

    name: str
    reporter: str
    first: int
    last: int
    statistic: str
    low: float
    high: float
    figure: str = ""


DEFAULT_PRIORS: tuple[Prior, ...] = (
    Prior("buyers.initial_spend", 0.05, 2.0, "log",
          "sets the leader's January 2025 run rate; enterprise LLM API spend was ~$3.5bn/yr "
          "in 2024 (~$0.3bn/month), unknown to a factor of ~6 either way"),
    Prior("buyers.usage_growth", 1.5, 10.0, "log",
          "sets the leader's growth over 2025 (run rate x5-9 in a year); tokens per user "
          "grew 3-10x a year in reports"),
    Prior("vcs.capital_abundance", 0.25, 4.0, "log",
          "sets venture money into labs in 2025; a factor of 4 either side of the "
          "reference inflow"),
    Prior("hyperscalers.margin", 0.2, 2.0, "linear",
          "sets rent per GPU-hour; owned cost ~$1.5-1.8/h vs rent $2-3.5/h is a markup of "
          "0.2-1.3, widened to 2"),
    Prior("labs.initial_price", 1.0, 16.0, "log",
          "sets the price per M tokens and its fall; list prices $1.25-15 per M input/output "
          "tokens"),
    Prior("vcs.base_multiple", 5.0, 80.0, "log",
          "sets valuation / revenue at rounds (25-45x); software multiples 5-20x, AI "
          "rounds up to 80x"),
    Prior("labs.size_exponent", 0.3, 2.0, "linear",
          "sets the leader's share of spend (Zipf exponent of lab size); 0.3 is nearly "
          "equal labs, 2 a dominant leader"),
    Prior("buyers.quality_weight", 0.5, 4.0, "linear",
          "sets the leader's share of spend and its growth (the premium buyers pay for "
          "capability); no published estimate, so wide"),
    Prior("labs.internal_multiple", 10.0, 100.0, "log",
          "sets venture money raised and the multiples of the rounds labs accept; owners "
          "accepted rounds at 25-45x run rate in 2025"),
)

DEFAULT_TARGETS: tuple[FitTarget, ...] = (
    FitTarget("run_rate_2025", "leader_run_rate", 0, 0, "at", 0.5, 2.0,
              "leading lab's revenue run rate, Jan 2025 ($bn/yr)"),
    FitTarget("run_rate_2026", "leader_run_rate", 12, 12, "at", 4.5, 18.0,
              "leading lab's revenue run rate, Jan 2026 ($bn/yr)"),
    FitTarget("leader_share", "cr1_revenue", 6, 12, "mean", 0.25, 0.50,
              "leader's share of enterprise LLM API spend, 2025"),
    FitTarget("top_two_share", "cr2_revenue", 6, 12, "mean", 0.45, 0.80,
              "top two labs' share of enterprise LLM API spend, 2025"),
    FitTarget("multiple", "top_multiple", 0, 12, "mean", 15.0, 60.0,
              "valuation / annualised revenue at rounds, 2025"),
    FitTarget("price", "price_per_mtok", 0, 12, "mean", 1.5, 12.0,
              "mean price of frontier inference, 2025 ($/M tokens)"),
    FitTarget("price_fall", "price_per_capability", 0, 12, "ratio", 3.0, 40.0,
              "price per unit of capability, fall over 2025 (x)"),
    FitTarget("rent", "rent_per_gpu_hour", 0, 12, "mean", 1.7, 4.5,
              "rent per H100-hour, 2025 ($)"),
    FitTarget("vc_money", "vc_deployed", 0, 11, "sum", 40.0, 300.0,
              "venture money into frontier labs, 2025 ($bn)"),
)


def check_prior(p: Prior, file: str | None = None) -> Prior:
    """``p`` if it is a usable prior: a float scenario key, low < high, inside its range."""
    from marketsim.scenario import field_spec

    try:
        spec = field_spec(p.key)
    except ScenarioError as exc:
        raise ScenarioError("unknown key to fit", file=file, key=p.key,
                            allowed=exc.allowed) from None
    if spec["type"] != "float":
        raise ScenarioError("only float keys can be fitted", file=file, key=p.key,
                            given=spec["type"], allowed="a float scenario key")
    if p.scale not in SCALES:
        raise ScenarioError("unknown scale", file=file, key=f"{p.key}.scale", given=p.scale,
                            allowed=" or ".join(SCALES))
    for name in ("low", "high"):
        value = getattr(p, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError("must be a number", file=file, key=f"{p.key}.{name}",
                                given=value, allowed="a number")
    if not p.low < p.high:
        raise ScenarioError("low must be below high", file=file, key=f"{p.key}.low",
                            given=p.low, allowed=f"< high = {p.high}")
    if p.scale == "log" and p.low <= 0:
        raise ScenarioError("a log-scale prior needs low > 0", file=file, key=f"{p.key}.low",
                            given=p.low, allowed="> 0, or scale = 'linear'")
    _inside_schema(p, spec, file)
    return p


def _inside_schema(p: Prior, spec: dict[str, Any], file: str | None) -> None:
    """Refuse a prior that reaches outside the key's declared range."""
    allowed = _range_text(spec)
    below = ("ge" in spec and p.low < spec["ge"]) or ("gt" in spec and p.low <= spec["gt"])
    above = ("le" in spec and p.high > spec["le"]) or ("lt" in spec and p.high >= spec["lt"])
    if below:
        raise ScenarioError("prior outside the key's range", file=file, key=f"{p.key}.low",
                            given=p.low, allowed=allowed)
    if above:
        raise ScenarioError("prior outside the key's range", file=file, key=f"{p.key}.high",
                            given=p.high, allowed=allowed)


def _range_text(spec: dict[str, Any]) -> str:
    parts = [f"{op} {spec[k]}" for k, op in (("ge", ">="), ("gt", ">"), ("le", "<="),
                                               ("lt", "<")) if k in spec]
    return " and ".join(parts) or "any float"


def check_target(t: FitTarget, file: str | None = None) -> FitTarget:
    """``t`` if it reads an existing reporter within 2025 and has a positive band."""
    from marketsim.reporters import MODEL_REPORTERS

    numeric = [r for r in MODEL_REPORTERS if r not in ("date", "regime")]
    if t.reporter not in numeric:
        raise ScenarioError("no such reporter", file=file, key=f"{t.name}.reporter",
                            given=t.reporter, allowed="a numeric model reporter, e.g. "
                            + ", ".join(numeric[:6]) + ", ...")
    if t.statistic not in STATISTICS:
        raise ScenarioError("unknown statistic", file=file, key=f"{t.name}.statistic",
                            given=t.statistic, allowed=", ".join(STATISTICS))
    if not 0 <= t.first <= t.last <= LAST_FIT_TICK:
        raise ScenarioError("ticks outside 2025 (later years are held back from the fit)",
                            file=file, key=f"{t.name}.ticks", given=[t.first, t.last],
                            allowed=f"[first, last] with 0 <= first <= last <= {LAST_FIT_TICK}")
    if not 0 < t.low < t.high:
        raise ScenarioError("the band must be 0 < low < high (distances are on a log scale)",
                            file=file, key=f"{t.name}.low", given=[t.low, t.high],
                            allowed="0 < low < high")
    return t


#: What an empty priors or targets file should hold, for its error message.
_TABLES = {"priors": "at least one table named by a dotted scenario key, "
                     "e.g. [buyers.initial_spend] with low, high",
           "targets": "at least one table named by the target, e.g. [run_rate_2026] with "
                      "reporter, ticks, statistic, low, high"}


def _read(path: str | Path, what: str) -> dict[str, Any]:
    from marketsim.scenario import read_toml

    data = read_toml(path, what)
    if not data:
        raise ScenarioError(f"no {what} in the file", file=str(path), allowed=_TABLES[what])
    return data


def _leaves(node: dict[str, Any], file: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Tables holding ``low`` under nested tables: ``[buyers.initial_spend]`` → that key."""
    out: list[tuple[str, dict[str, Any]]] = []
    for k, v in node.items():
        key = f"{prefix}{k}"
        if not isinstance(v, dict):
            raise ScenarioError("expected a table per fitted key", file=file, key=key, given=v,
                                allowed="[section.key] with low, high, scale, reason")
        out += [(key, v)] if "low" in v or "high" in v else _leaves(v, file, key + ".")
    return out


def _fields(table: dict[str, Any], allowed: set[str], key: str, file: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ScenarioError("unknown field", file=file, key=f"{key}.{extra[0]}",
                            allowed=", ".join(sorted(allowed)))


def load_priors(path: str | Path) -> tuple[Prior, ...]:
    """Priors from TOML: ``[buyers.initial_spend]`` with low, high, scale and reason."""
    file = str(path)
    out = []
    for key, table in _leaves(_read(path, "priors"), file):
        _fields(table, {"low", "high", "scale", "reason"}, key, file)
        for need in ("low", "high"):
            if need not in table:
                raise ScenarioError("required field missing", file=file, key=f"{key}.{need}")
        out.append(check_prior(Prior(key, table["low"], table["high"],
                                     table.get("scale", "linear"), table.get("reason", "")),
                               file))
    return tuple(out)


def load_targets(path: str | Path) -> tuple[FitTarget, ...]:
    """Targets from TOML: ``[name]`` with reporter, ticks = [first, last], statistic, low, high."""
    file = str(path)
    out = []
    for name, table in _read(path, "targets").items():
        if not isinstance(table, dict):
            raise ScenarioError("expected a table per target", file=file, key=name, given=table,
                                allowed="[name] with reporter, ticks, statistic, low, high")
        _fields(table, {"reporter", "ticks", "statistic", "low", "high", "figure"}, name, file)
        missing = [k for k in ("reporter", "ticks", "low", "high") if k not in table]
        if missing:
            raise ScenarioError("required field missing", file=file, key=f"{name}.{missing[0]}")
        ticks = table["ticks"]
        if not (isinstance(ticks, list) and len(ticks) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in ticks)):
            raise ScenarioError("must be two whole ticks", file=file, key=f"{name}.ticks",
                                given=ticks, allowed="[first, last]")
        out.append(check_target(FitTarget(
            name, table["reporter"], ticks[0], ticks[1], table.get("statistic", "mean"),
            _number(table, "low", name, file), _number(table, "high", name, file),
            table.get("figure", "")), file))
    return tuple(out)


def _number(table: dict[str, Any], field: str, name: str, file: str) -> float:
    value = table[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError("must be a number", file=file, key=f"{name}.{field}", given=value,
                            allowed="a number > 0")
    return float(value)


def as_records(items: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Priors or targets as plain dicts (for the manifest and its comparison on resume)."""
    return [asdict(x) for x in items]
