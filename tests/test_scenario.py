"""Scenario files: shipped ones load and run; bad ones get one clear line, never a traceback."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketsim import AIMarketModel, ScenarioError, load_scenario
from marketsim.cli import main as cli_main
from marketsim.scenario import (
    SCENARIO_DIR,
    MarketScenario,
    apply_overrides,
    field_spec,
    parameter_table,
    parse_value,
    validate_scenario,
)

REPO = Path(__file__).resolve().parent.parent
SHIPPED = sorted(SCENARIO_DIR.glob("*.toml"))
MARKETSIM = Path(sys.executable).parent / "marketsim"


# ----------------------------------------------------------------------------- shipped files
def test_the_contract_scenarios_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"default", "null"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_runs(path):
    sc = load_scenario(path)
    assert sc.name == path.stem
    assert sc.source == str(path)
    assert load_scenario(path.stem) == sc  # a shipped scenario by name
    m = AIMarketModel(path, rng=0, **{"buyers.count": 100})
    m.run(ticks=3)
    assert len(m.datacollector.get_model_vars_dataframe()) == 3
    assert abs(m.ledger.total()) < 1e-6


def test_null_scenario_is_the_null_regime():
    sc = load_scenario("null")
    assert sc.buyers.switching_cost == 0
    assert sc.hyperscalers.margin == 0 and sc.hyperscalers.utilisation_premium == 0
    assert sc.compute.min_efficient_scale == 0
    assert sc.labs.fixed_cost == 0


def test_default_scenario_is_used_when_none_given():
    assert load_scenario() == load_scenario(SCENARIO_DIR / "default.toml")
    assert load_scenario(None).source == str(SCENARIO_DIR / "default.toml")


def test_an_installed_wheel_carries_every_package_and_the_scenarios():
    """pyproject lists the packages by hand (to map scenarios/ into marketsim.scenarios)."""
    import tomllib

    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(REPO).parts)
               for p in (REPO / "marketsim").rglob("__init__.py")}
    assert set(setup["packages"]) == on_disk | {"marketsim.scenarios"}
    assert setup["package-dir"]["marketsim.scenarios"] == "scenarios"
    assert setup["package-data"]["marketsim.scenarios"] == ["*.toml"]


# ----------------------------------------------------------------------------- messages
def _error(write_scenario, text: str) -> tuple[ScenarioError, Path]:
    path = write_scenario(text=text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    msg = str(err)
    assert "\n" not in msg, "message is not one line"
    assert msg.startswith(f"{path}: "), "message does not start with the file"
    assert err.file == str(path)
    return err, path


def test_unknown_key_suggests_the_close_one(write_scenario):
    err, _ = _error(write_scenario, "horizon = 3\n[buyers]\ncout = 5\n")
    assert err.key == "buyers.cout"
    assert "unknown key" in str(err)
    assert "did you mean 'buyers.count'" in str(err)


def test_a_shortened_key_suggests_the_one_it_starts(write_scenario):
    err, _ = _error(write_scenario, "[regime]\nhhi = 2000\n")
    assert "did you mean 'regime.hhi_concentrated'" in str(err)


def test_unknown_section_suggests_the_close_one(write_scenario):
    err, _ = _error(write_scenario, "[labz]\ncount = 3\n")
    assert err.key == "labz" and "did you mean 'labs'" in str(err)


def test_unknown_key_far_from_any_points_to_the_docs(write_scenario):
    err, _ = _error(write_scenario, "zzzqqq = 1\n")
    assert err.key == "zzzqqq" and "docs/parameters.md" in str(err)


@pytest.mark.parametrize(("text", "key", "given"), [
    ('[buyers]\ncount = "many"\n', "buyers.count", "many"),
    ("horizon = 1.5\n", "horizon", 1.5),
    ("[labs]\ncount = true\n", "labs.count", True),
    ('horizon = "3"\n', "horizon", "3"),  # pydantic alone would read it as 3
    ('[labs]\nfixed_cost = "0.1"\n', "labs.fixed_cost", "0.1"),
    ("[vcs]\ncapital_abundance = [1, 2]\n", "vcs.capital_abundance", [1, 2]),
    ("[vcs]\ncapital_abundance = { x = 1 }\n", "vcs.capital_abundance", {"x": 1}),
    ("buyers = 5\n", "buyers", 5),
])
def test_wrong_type_names_key_value_and_allowed(write_scenario, text, key, given):
    err, _ = _error(write_scenario, text)
    assert err.key == key
    assert err.given == given
    assert f"given {given!r}" in str(err)
    assert err.allowed and f"allowed: {err.allowed}" in str(err)


@pytest.mark.parametrize(("text", "key", "given", "allowed"), [
    ("[vcs]\ncapital_abundance = 50\n", "vcs.capital_abundance", 50, "<= 20"),
    ("[vcs]\ncapital_abundance = -0.5\n", "vcs.capital_abundance", -0.5, ">= 0"),
    ("[buyers]\ncount = 0\n", "buyers.count", 0, ">= 1"),
    ("[labs]\ninitial_price = 0.0\n", "labs.initial_price", 0.0, "> 0"),
    ("[vcs]\nround_share = 1.0\n", "vcs.round_share", 1.0, "< 1"),
    ("horizon = 100000\n", "horizon", 100000, "<= 2400"),
    ("[vcs]\ncapital_abundance = inf\n", "vcs.capital_abundance", math.inf, "<= 20"),
])
def test_out_of_range_names_key_value_and_range(write_scenario, text, key, given, allowed):
    err, _ = _error(write_scenario, text)
    assert err.key == key
    assert err.given == given
    assert allowed in err.allowed


def test_nan_is_rejected(write_scenario):
    err, _ = _error(write_scenario, "[regime]\nhhi_concentrated = nan\n")
    assert err.key == "regime.hhi_concentrated" and "finite" in str(err)


def test_bad_start_month(write_scenario):
    err, _ = _error(write_scenario, 'start = "2025-13"\n')
    assert err.key == "start" and "YYYY-MM" in str(err)


def test_bad_toml_names_the_file_and_place(write_scenario):
    err, path = _error(write_scenario, "horizon = = 3\n")
    assert "not valid TOML" in str(err) and "line 1" in str(err)


def test_not_text_names_the_file(write_scenario):
    path = write_scenario(text=b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match="UTF-8") as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match="not found") as info:
        load_scenario(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_folder_is_not_a_scenario_file(tmp_path):
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file") as info:
        load_scenario(folder)
    assert str(folder) in str(info.value)


def test_unknown_shipped_name():
    with pytest.raises(ScenarioError, match="not found") as info:
        load_scenario("no_such_scenario_xyz")
    assert "no_such_scenario_xyz" in str(info.value)


@pytest.mark.parametrize(("cls", "what"), [
    ("nomodule_xyz_123:Foo", "cannot import module 'nomodule_xyz_123'"),
    ("marketsim", "not an import path"),
    ("marketsim:NoSuchClass", "class not found"),
    ("marketsim:VentureCapitalist", "not a subclass"),
    ("marketsim.scenario:parse_value", "not a class"),
])
def test_bad_class_path(write_scenario, cls, what):
    err, _ = _error(write_scenario, f'[labs]\nclass = "{cls}"\n')
    assert err.key == "labs.class"
    assert err.given == cls
    assert what in str(err)
    assert "subclass of AILab" in err.allowed


def test_an_empty_class_is_not_the_built_in_one(write_scenario):
    err, _ = _error(write_scenario, '[labs]\nclass = ""\n')
    assert err.key == "labs.class" and "not an import path" in str(err)


def test_a_module_that_exits_while_importing_is_a_scenario_error(write_scenario, tmp_path,
                                                                  monkeypatch):
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    err, _ = _error(write_scenario, '[labs]\nclass = "exits_on_import:Lab"\n')
    assert "cannot import module 'exits_on_import' (SystemExit: 3)" in str(err)


def test_class_not_found_says_which_module_file_was_imported(write_scenario):
    """A user's queue.py loses to the standard library's: the message shows the file."""
    err, _ = _error(write_scenario, '[labs]\nclass = "queue:MyLab"\n')
    assert "class not found (module 'queue' imported from" in str(err)
    assert "queue.py" in str(err)


def test_a_file_without_a_name_is_shown_by_its_file_name(write_scenario):
    path = write_scenario(text="horizon = 3\n", name="my_market.toml")
    sc = load_scenario(path)
    assert sc.label == "my_market"
    # display only: the content (and so an experiment's identity) ignores the file's name
    assert sc.name == "default"
    moved = write_scenario(text="horizon = 3\n", name="renamed.toml")
    assert load_scenario(moved).content_hash() == sc.content_hash()
    named = write_scenario(text='name = "given"\n', name="other.toml")
    assert load_scenario(named).label == "given"


def test_set_strings_may_be_quoted_as_in_toml(write_scenario):
    path = write_scenario(text="horizon = 3\n")
    sc = load_scenario(path, overrides={"name": '"my run"', "labs.class": "'marketsim:AILab'",
                                        "description": "plain words"})
    assert (sc.name, sc.labs.class_, sc.description) == ("my run", "marketsim:AILab",
                                                          "plain words")


def test_seed_keyword_points_to_rng():
    with pytest.raises(TypeError, match="rng="):
        AIMarketModel("small", seed=3)


def test_bad_class_in_a_mix_entry_names_the_entry(write_scenario):
    err, _ = _error(write_scenario, '[vcs]\ncount = 3\n[[vcs.mix]]\nclass = "marketsim:AILab"\n')
    assert err.key == "vcs.mix[0].class"
    assert "subclass of VentureCapitalist" in err.allowed


def test_mix_count_above_count(write_scenario):
    err, _ = _error(write_scenario,
                    '[labs]\ncount = 2\n[[labs.mix]]\nclass = "marketsim:AILab"\ncount = 3\n')
    assert err.key == "labs.mix" and err.given == 3 and "2" in err.allowed


def test_bad_mix_entry_names_its_index(write_scenario):
    err, _ = _error(write_scenario, '[labs]\ncount = 3\n[[labs.mix]]\nclass = "marketsim:AILab"'
                                    '\n[[labs.mix]]\nclass = "marketsim:AILab"\ncount = 0\n')
    assert err.key == "labs.mix[1].count" and err.given == 0


def test_mix_rank_out_of_range(write_scenario):
    err, _ = _error(write_scenario, '[labs]\ncount = 3\n[[labs.mix]]\n'
                                    'class = "marketsim:AILab"\nranks = [5]\n')
    assert err.key == "labs.mix[0].ranks" and err.given == 5


# ----------------------------------------------------------------------------- overrides
def test_overrides_by_dotted_key(write_scenario):
    path = write_scenario({"buyers.count": 300})
    sc = load_scenario(path, overrides={"buyers.count": "500", "vcs.capital_abundance": 2,
                                        "labs.class": "marketsim:AILab", "horizon": "7",
                                        "name": "renamed", "compute.lead_time": 0})
    assert sc.buyers.count == 500  # strings are parsed as TOML values, as --set gives them
    assert sc.vcs.capital_abundance == 2.0
    assert sc.labs.class_ == "marketsim:AILab"
    assert sc.horizon == 7 and sc.name == "renamed" and sc.compute.lead_time == 0
    assert sc.get("buyers.count") == 500
    assert load_scenario(path).buyers.count == 300  # the file is unchanged


def test_override_errors_name_file_and_key(write_scenario):
    path = write_scenario({"buyers.count": 300})
    with pytest.raises(ScenarioError, match="did you mean 'buyers.count'") as info:
        load_scenario(path, overrides={"buyers.cout": 5})
    assert info.value.key == "buyers.cout" and str(path) in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides={"vcs.capital_abundance": "lots"})
    assert info.value.key == "vcs.capital_abundance" and info.value.given == "lots"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides={"buyers.count": -3})
    assert info.value.key == "buyers.count" and info.value.given == -3
    assert str(info.value).startswith(f"override of {path}: buyers.count:")  # not the file's
    with pytest.raises(ScenarioError):
        load_scenario(path, overrides={"buyers.count.x": 1})
    with pytest.raises(ScenarioError):
        load_scenario(path, overrides={"buyers.count": "true"})


def test_apply_overrides_copies():
    raw = {"buyers": {"count": 1}}
    out = apply_overrides(raw, {"buyers.count": 5, "vcs.count": 2})
    assert raw == {"buyers": {"count": 1}}
    assert out == {"buyers": {"count": 5}, "vcs": {"count": 2}}


def test_parse_value():
    assert parse_value("20000") == 20000
    assert parse_value("0.5") == 0.5
    assert parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("hello") == "hello"


def test_validate_scenario_round_trips():
    sc = load_scenario("small")
    again = validate_scenario(sc.to_toml_dict(), file="x.toml")
    assert again.to_toml_dict() == sc.to_toml_dict() and again.source == "x.toml"
    assert again.content_hash() == sc.content_hash()
    changed = validate_scenario(sc.to_toml_dict(), overrides={"buyers.count": 7})
    assert changed.content_hash() != sc.content_hash()


# ----------------------------------------------------------------------------- schema and docs
def test_field_spec_gives_type_unit_and_bounds():
    spec = field_spec("vcs.capital_abundance")
    assert spec["type"] == "float" and spec["ge"] == 0 and spec["le"] == 20
    assert spec["default"] == MarketScenario().vcs.capital_abundance
    assert field_spec("buyers.count")["type"] == "int"
    with pytest.raises(ScenarioError, match="did you mean"):
        field_spec("vcs.capital_abundence")


def test_parameter_table_covers_every_scalar_key_with_valid_defaults():
    rows = parameter_table()
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys))
    assert {"horizon", "labs.count", "vcs.count", "hyperscalers.count", "buyers.count",
            "labs.class", "buyers.switching_cost", "hyperscalers.margin"} <= set(keys)
    default = MarketScenario()
    for r in rows:
        assert r["default"] == default.get(r["key"]), r["key"]
        if r["type"] in ("int", "float"):
            for bound, ok in (("ge", r["default"] >= r.get("ge", -math.inf)),
                              ("gt", r["default"] > r.get("gt", -math.inf)),
                              ("le", r["default"] <= r.get("le", math.inf)),
                              ("lt", r["default"] < r.get("lt", math.inf))):
                assert ok, (r["key"], bound)


@pytest.mark.parametrize("overrides", [
    {"horizon": 1900, "compute.scale_growth": 100},  # 100 ** (1900 / 12) overflows a float
    {"horizon": 600, "compute.throughput_growth": 100},
    {"horizon": 600, "capability.algorithmic_progress": 1000},
    {"horizon": 600, "buyers.usage_growth": 100, "buyers.usage_growth_halflife": 1200},
])
def test_growth_that_compounds_past_floats_over_the_horizon_is_refused(overrides):
    key = next(k for k in overrides if k != "horizon")
    with pytest.raises(ScenarioError, match=rf"^[^;]*small.toml: {key} = .* a year over "
                                            r"horizon = \d+ months multiplies by 10\^\d+\.\d"):
        load_scenario("small", overrides=overrides)
    load_scenario("small", overrides={"horizon": 600})  # defaults over 50 years: fine
    load_scenario("small", overrides={**overrides, "horizon": 12})  # a shorter run: fine


def test_tokens_per_gpu_may_grow_a_trillionfold_at_most():
    # Past ~10^15 a lab's inference share of its GPUs rounds to 0 and nothing is served.
    load_scenario("small", overrides={"horizon": 705})  # 1.6x a year: 10^11.996
    with pytest.raises(ScenarioError, match=r"compute.throughput_growth = 1.6 a year over "
                                            r"horizon = 706 months multiplies by 10\^12.0"):
        load_scenario("small", overrides={"horizon": 706})


def test_a_market_just_inside_the_usage_growth_limit_runs_to_its_horizon():
    # 100x a year with a 33-month half-life: 10^7.9 more tokens per buyer, the limit is 10^8
    m = AIMarketModel("small", rng=0, **{
        "horizon": 600, "buyers.usage_growth": 100, "buyers.usage_growth_halflife": 33,
        "labs.count": 3, "vcs.count": 2, "hyperscalers.count": 1, "buyers.count": 50})
    m.run()  # built-in agents only: no DecisionError, no LedgerError
    assert m.steps == 600
    with pytest.raises(ScenarioError, match="buyers.usage_growth = 100 a year"):
        load_scenario("small", overrides={"horizon": 600, "buyers.usage_growth": 100,
                                          "buyers.usage_growth_halflife": 36})


def test_every_integer_key_has_an_upper_bound_numpy_can_hold():
    # A sweep's design table holds ints as int64: an unbounded key took 1e19 and stored -2**63.
    for row in parameter_table():
        if row["type"] == "int":
            assert "le" in row or "lt" in row, row["key"]
            assert row.get("le", row.get("lt")) < 2**63, row["key"]


def test_docs_parameters_md_is_up_to_date():
    from marketsim import docs_params

    committed = REPO / "docs" / "parameters.md"
    assert committed.is_file(), "run: python -m marketsim.docs_params"
    assert committed.read_text(encoding="utf-8") == docs_params.render(), (
        "docs/parameters.md is out of date: run python -m marketsim.docs_params")
    for r in parameter_table():
        assert f"`{r['key']}`" in committed.read_text(encoding="utf-8")


def test_docs_params_check_flag(tmp_path):
    from marketsim import docs_params

    out = tmp_path / "p.md"
    assert docs_params.main(["--out", str(out), "--check"]) == 1  # missing
    assert docs_params.main(["--out", str(out)]) == 0
    assert docs_params.main(["--out", str(out), "--check"]) == 0
    out.write_text(out.read_text() + "edited\n")
    assert docs_params.main(["--out", str(out), "--check"]) == 1


# ----------------------------------------------------------------------------- bad files, CLI
_VALID_KEYS = {r["key"] for r in parameter_table()} | {
    "labs", "vcs", "hyperscalers", "buyers", "compute", "capability", "regime",
    "labs.mix", "vcs.mix", "hyperscalers.mix", "buyers.mix"}
_SECTIONS = ["", "labs", "vcs", "hyperscalers", "buyers", "compute", "capability", "regime"]
_NUMERIC = [r for r in parameter_table() if r["type"] in ("int", "float")]
_BOUNDED = [r for r in _NUMERIC if {"ge", "gt", "le", "lt"} & set(r)]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def _render(data: dict[str, Any]) -> str:
    lines = [f"{k} = {_toml(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {_toml(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    section, _, leaf = key.rpartition(".")
    (data.setdefault(section, {}) if section else data)[leaf] = value


identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True)
not_numbers = st.one_of(
    st.from_regex(r"[a-zA-Z][a-zA-Z _-]{0,10}", fullmatch=True).filter(
        lambda s: s.strip().lower() not in {"inf", "nan", "infinity", "true", "false"}),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(identifiers, st.integers(0, 9), max_size=2),
)


@st.composite
def unknown_key(draw) -> tuple[str, Any]:
    section = draw(st.sampled_from(_SECTIONS))
    leaf = draw(identifiers)
    key = f"{section}.{leaf}" if section else leaf
    if key in _VALID_KEYS or leaf in _SECTIONS:
        key = key + "_zz"
    return key, draw(st.one_of(st.integers(0, 100), st.floats(0, 1), identifiers))


@st.composite
def wrong_type(draw) -> tuple[str, Any]:
    row = draw(st.sampled_from(_NUMERIC))
    return row["key"], draw(not_numbers)


@st.composite
def out_of_range(draw) -> tuple[str, Any]:
    row = draw(st.sampled_from(_BOUNDED))
    sides = [b for b in ("ge", "gt", "le", "lt") if b in row]
    side = draw(st.sampled_from(sides))
    integer = row["type"] == "int"
    step = draw(st.integers(1, 10**6)) if integer else draw(
        st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False))
    bound = row[side]
    if side == "gt" or side == "lt":
        step = draw(st.sampled_from([0, step]))  # the bound itself is out
    value = bound - step if side in ("ge", "gt") else bound + step
    value = int(value) if integer else float(value)
    return row["key"], value


malformed_entry = st.one_of(unknown_key(), wrong_type(), out_of_range())


@st.composite
def malformed_file(draw) -> bytes:
    kind = draw(st.sampled_from(["entries", "garbage"]))
    if kind == "garbage":  # any bytes, made certainly invalid by a line TOML rejects
        return draw(st.binary(max_size=200)) + b"\n= =\n"
    data: dict[str, Any] = {"horizon": 2, "buyers": {"count": 20}}
    for key, value in draw(st.lists(malformed_entry, min_size=1, max_size=3)):
        _put(data, key, value)
    return _render(data).encode()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=malformed_file())
def test_malformed_files_exit_2_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    capsys.readouterr()
    code = cli_main(["run", str(path), "--ticks", "1", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2, (content, out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert err.startswith("marketsim run: ") and str(path) in err
    assert out == ""


@pytest.mark.parametrize("args", [
    ["run", "small", "--set", "buyers.cout=5"],
    ["run", "small", "--set", "buyers.count"],
    ["run", "small", "--set", "=5"],
    ["run", "small", "--set", "buyers.count=lots"],
    ["run", "small", "--set", "vcs.capital_abundance=nan"],
    ["run", "small", "--ticks", "0"],
    ["run", "small", "--ticks", "-2"],
    ["run", "small", "--ticks", "x"],
    ["run", "small", "--seed", "-1"],
    ["run", "no_such_scenario_xyz"],
    ["run", "small", "--bogus"],
    ["frobnicate"],
])
def test_bad_command_lines_exit_2_with_one_line(capsys, args):
    code = cli_main(args)
    out, err = capsys.readouterr()
    assert code == 2
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli_main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_version(capsys):
    from marketsim import __version__

    assert cli_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"marketsim {__version__}"


def _fresh_python(code: str) -> list[str]:
    """The words ``code`` prints when run in a new interpreter (which must succeed)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_import_marketsim_is_light_and_every_public_name_and_submodule_loads():
    # A fresh process: `import marketsim` (and the CLI's parser) leave Mesa and pandas alone
    # until a name is used; every public name and submodule is then there as before.
    code = (
        "import sys, marketsim\n"
        "heavy = sorted(m for m in ('mesa', 'pandas', 'marketsim.model') if m in sys.modules)\n"
        "names = [getattr(marketsim, n) for n in marketsim.__all__]\n"
        "mods = [marketsim.model.AIMarketModel, marketsim.agents.AILab,\n"
        "        marketsim.sweep.run_sweep]\n"
        "from marketsim import *\n"
        "try:\n"
        "    marketsim.nosuch\n"
        "except AttributeError:\n"
        "    missing = 'refused'\n"
        "print(heavy, len(names), AIMarketModel is marketsim.model.AIMarketModel, missing)\n")
    assert _fresh_python(code) == ["[]", "13", "True", "refused"]


@pytest.mark.parametrize("module", ["sections", "explain", "classes", "scenario"])
def test_each_scenario_module_imports_first_and_the_scenario_api_stays_in_one_place(module):
    # The schema, its messages and class loading import one another; whichever a program
    # imports first, every name other modules take from marketsim.scenario is there.
    code = (
        f"import marketsim.{module}\n"
        "from marketsim.scenario import *  # every name in its __all__\n"
        "print(load_scenario('small', {'buyers.count': 20}).buyers.count,\n"
        "      field_spec('labs.count')['le'],\n"
        "      {'buyers.count', 'regime.min_age'} <= {r['key'] for r in parameter_table()})\n")
    assert _fresh_python(code) == ["20", "500", "True"]


@pytest.mark.parametrize("content", [b"[buyers]\ncout = 5\n", b"\x00\xff garbage \x01"])
def test_console_script_bad_file_exits_2_with_one_line(tmp_path, content):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    exe = [str(MARKETSIM)] if MARKETSIM.exists() else [sys.executable, "-m", "marketsim.cli"]
    proc = subprocess.run([*exe, "run", str(path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(path) in proc.stderr and proc.stdout == ""
