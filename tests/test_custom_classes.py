"""Custom agent classes defined outside marketsim: every decision override is obeyed.

The classes live in a module written to a temporary folder (never inside the package) and are
named in scenario files the way a user names them: ``class = "module:ClassName"``. Each test
overrides one decision with a distinctive answer and checks that the model acted on it — in
Python, through ``marketsim run`` (a subprocess with PYTHONPATH), mixed with built-in agents of
the same kind, for entrants, and in error messages for bad class paths.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from toml_util import toml_value

from marketsim import AILab, AIMarketModel, ScenarioError, load_scenario
from marketsim.cli import main as cli_main
from marketsim.units import HOURS_PER_MONTH

MOD = "mscustom_agents"
BROKEN = "mscustom_broken"
REPO = Path(__file__).resolve().parent.parent
MARKETSIM = Path(sys.executable).parent / "marketsim"

AGENTS_SOURCE = '''
"""Custom agent classes for tests: each overrides one decision with a distinctive answer."""
import numpy as np

from marketsim import AILab, EnterpriseBuyer, Hyperscaler, Offer, VentureCapitalist

FIXED_PRICE = 9.5
TRAIN_SHARE = 0.9
BUILD_GPUS = 12_345.0
FLAT_VALUE = 123.0
SENTIMENT = 1.7
FLAT_RENT = 5_000.0
ORDER_GPUS = 10_000.0


class RecordingLab(AILab):
    """Default decisions; remembers every offer it is asked to consider."""

    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        self.offers_seen = []

    def consider_offer(self, offer):
        self.offers_seen.append(offer)
        return super().consider_offer(offer)


class FixedPriceLab(AILab):
    def set_price(self):
        return FIXED_PRICE


class TrainingLab(AILab):
    def split_compute(self):
        return TRAIN_SHARE


class NoRentLab(AILab):
    def request_compute(self):
        return 0.0


class BuilderLab(AILab):
    def plan_data_centre(self):
        return 0.0 if self.projects else BUILD_GPUS


class RefusingLab(RecordingLab):
    def consider_offer(self, offer):
        self.offers_seen.append(offer)
        return False


class AcceptAllLab(RecordingLab):
    def consider_offer(self, offer):
        self.offers_seen.append(offer)
        return True


class NoBidLab(AILab):
    def bid_for(self, target):
        return 0.0


class EagerBidderLab(AILab):
    def bid_for(self, target):
        return 0.01


class SectionLab(AILab):
    """The [labs] section's class in the entrant tests."""


class MixLab(AILab):
    """A [[labs.mix]] class in the entrant tests."""


class BlindVC(VentureCapitalist):
    def screen(self, labs):
        return []


class FlatValueVC(VentureCapitalist):
    def value_lab(self, lab):
        return FLAT_VALUE


class TinyOfferVC(VentureCapitalist):
    def make_offer(self, lab):
        return Offer(investor=self, lab=lab, amount=0.05, pre_money=1.0)


class NoEntrantVC(VentureCapitalist):
    def fund_entrant(self):
        return 0.0


class CalmVC(VentureCapitalist):
    def update_sentiment(self, market_growth, loss_rate):
        return SENTIMENT


class NoBidHyperscaler(Hyperscaler):
    def bid_for(self, target):
        return 0.0


class FlatRentHyperscaler(NoBidHyperscaler):
    def set_rent(self):
        return FLAT_RENT


class BuildingHyperscaler(NoBidHyperscaler):
    def order_capacity(self):
        return ORDER_GPUS


class GenerousHyperscaler(NoBidHyperscaler):
    def strategic_offer(self, labs):
        free = [lab for lab in labs if lab.unique_id not in self.partners]
        if not free:
            return None
        return Offer(investor=self, lab=free[0], amount=0.5, pre_money=10.0,
                     credit_share=1.0, kind="strategic")


class EagerBidderHyperscaler(Hyperscaler):
    def bid_for(self, target):
        return 0.01


class DoubleSizeBuyers(EnterpriseBuyer):
    def draw_sizes(self, rng):
        return np.full(self.n, 2.0)


class EagerBuyers(EnterpriseBuyer):
    def adopt(self, adopted_share, uniforms):
        return ~self.view("adopted")


class FirstLabBuyers(EnterpriseBuyer):
    def choose_suppliers(self, current, probs, u_stay, u_pick):
        return np.zeros_like(current)


class NoDemandBuyers(EnterpriseBuyer):
    def demand_per_size(self, price, quality_gap):
        return np.zeros_like(price)


class NotALab:
    """Not an agent at all."""
'''

#: Base of every test scenario: small and short (a fraction of a second per run).
BASE: dict[str, dict[str, Any]] = {
    "labs": {"count": 5},
    "vcs": {"count": 3},
    "hyperscalers": {"count": 2},
    "buyers": {"count": 300},
}


def c(name: str) -> str:
    """Import path of a class in the temporary module."""
    return f"{MOD}:{name}"


def scenario_text(horizon: int = 6, **sections: dict[str, Any]) -> str:
    """TOML of BASE updated by ``sections`` (section → keys; ``mix`` → list of tables)."""
    merged = {k: dict(v) for k, v in BASE.items()}
    for name, keys in sections.items():
        merged.setdefault(name, {}).update(keys)
    lines = [f"horizon = {horizon}"]
    for name, keys in merged.items():
        lines.append(f"\n[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in keys.items() if k != "mix"]
        for mix in keys.get("mix", []):
            lines.append(f"\n[[{name}.mix]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in mix.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def agents_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A folder outside the package holding the custom-class module, on sys.path meanwhile."""
    d = tmp_path_factory.mktemp("user_code")
    (d / f"{MOD}.py").write_text(AGENTS_SOURCE, encoding="utf-8")
    (d / f"{BROKEN}.py").write_text("raise RuntimeError('broken on purpose')\n",
                                    encoding="utf-8")
    sys.path.insert(0, str(d))
    importlib.invalidate_caches()
    try:
        yield d
    finally:
        sys.path.remove(str(d))
        for name in (MOD, BROKEN):
            sys.modules.pop(name, None)


@pytest.fixture
def agents(agents_dir: Path) -> Any:
    """The imported custom-class module (the same object the model's load_class finds)."""
    return importlib.import_module(MOD)


@pytest.fixture
def scen(tmp_path: Path, agents_dir: Path) -> Any:
    """Factory: write a scenario file (sections as keyword dicts) and return its path."""
    counter = iter(range(1000))

    def make(horizon: int = 6, **sections: dict[str, Any]) -> Path:
        path = tmp_path / f"scenario_{next(counter)}.toml"
        path.write_text(scenario_text(horizon, **sections), encoding="utf-8")
        return path

    return make


def model_of(path: Path, seed: int = 1, **overrides: Any) -> AIMarketModel:
    return AIMarketModel(path, rng=seed, **overrides)


def steps(model: AIMarketModel, n: int):
    """Run ``n`` ticks one at a time, yielding after each."""
    for _ in range(n):
        model.run(ticks=1)
        yield model


def model_df(model: AIMarketModel) -> pd.DataFrame:
    return model.datacollector.get_model_vars_dataframe()


# ---------------------------------------------------------------------------- labs


def test_set_price_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"class": c("FixedPriceLab")})).run()
    assert all(type(lab) is agents.FixedPriceLab for lab in m.labs)
    assert all(lab.price == agents.FIXED_PRICE for lab in m.active_labs())
    assert np.allclose(model_df(m)["price_per_mtok"], agents.FIXED_PRICE)
    from marketsim.reporters import lab_table

    table = lab_table(m)
    rows = table[table["lab_class"] == "FixedPriceLab"]
    assert len(rows) >= 5 * 6 and np.allclose(rows["price"], agents.FIXED_PRICE)


def test_split_compute_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"mix": [{"class": c("TrainingLab"), "ranks": [0]}]}))
    lab = m.labs[0]
    assert type(lab) is agents.TrainingLab
    for _ in steps(m, 4):
        assert lab.train_share == pytest.approx(agents.TRAIN_SHARE)
        assert lab.inference_gpus == pytest.approx(lab.total_gpus * (1 - agents.TRAIN_SHARE))


def test_request_compute_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"mix": [{"class": c("NoRentLab"), "ranks": [0]}]}))
    lab = m.labs[0]
    keep = 1.0 - 1.0 / m.scenario_config.compute.rental_term  # contracts still running
    before = lab.rented_gpus.sum()
    assert before > 0
    for _ in steps(m, 4):
        assert lab.rented_gpus.sum() == pytest.approx(before * keep)
        before = lab.rented_gpus.sum()


def test_plan_data_centre_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"mix": [{"class": c("BuilderLab"), "ranks": [4]}]},
                      compute={"lead_time": 2, "min_efficient_scale": 10_000}))
    lab = m.labs[4]
    owned0 = lab.owned_gpus
    keep = 1.0 - 1.0 / m.scenario_config.compute.gpu_life  # owned GPUs retire over their life
    m.run(ticks=1)
    assert [p[0] for p in lab.projects] == [agents.BUILD_GPUS]
    m.run(ticks=2)  # built after the lead time, and a new project started
    assert lab.owned_gpus == pytest.approx(owned0 * keep**3 + agents.BUILD_GPUS)
    assert [p[0] for p in lab.projects] == [agents.BUILD_GPUS]


def test_data_centre_below_minimum_efficient_scale_is_not_built(scen, agents) -> None:
    # The minimum efficient scale is physics, not a decision: a subclass cannot skip it.
    m = model_of(scen(labs={"mix": [{"class": c("BuilderLab"), "ranks": [4]}]},
                      compute={"lead_time": 2, "min_efficient_scale": 2 * agents.BUILD_GPUS}))
    m.run(ticks=3)
    assert m.labs[4].projects == []


def test_consider_offer_false_refuses_everything(scen, agents) -> None:
    m = model_of(scen(horizon=12, labs={"class": c("RefusingLab")},
                      vcs={"looks_per_month": 3})).run()
    seen = sum(len(lab.offers_seen) for lab in m.labs)
    assert seen > 0, "no offer was made: the test would prove nothing"
    df = model_df(m)
    assert df["offers_accepted"].sum() == 0
    assert df["offers_refused"].sum() == seen
    founders = m.ledger["founders"]
    for lab in m.labs[:5]:  # labs of tick 0 (entrants start with their seed investor)
        assert lab.raised == 0.0 and lab.valuation == 0.0
        assert lab.cap_table == {founders: 1.0}


def _distress(model: AIMarketModel, lab: AILab) -> None:
    """Make ``lab`` owe a little money, as if its bills had outrun its cash."""
    led = model.ledger
    led.transfer(lab.account, led["suppliers"], lab.cash + 0.001, "test_bill", allow_debt=True)
    assert lab.cash < 0


def test_bid_for_no_bidders_means_bankruptcy(scen, agents) -> None:
    m = model_of(scen(labs={"class": c("NoBidLab")},
                      hyperscalers={"class": c("NoBidHyperscaler")})).run(ticks=1)
    target = m.labs[3]
    _distress(m, target)
    m.consolidation_step(m.steps - 1)
    assert target.status == "bankrupt"


def test_lab_bid_for_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"class": c("NoBidLab"),
                            "mix": [{"class": c("EagerBidderLab"), "ranks": [0]}]},
                      hyperscalers={"class": c("NoBidHyperscaler")})).run(ticks=1)
    bidder, target = m.labs[0], m.labs[3]
    owned = bidder.owned_gpus + target.owned_gpus
    _distress(m, target)
    m.consolidation_step(m.steps - 1)
    assert target.status == "acquired"
    assert bidder.owned_gpus == pytest.approx(owned)
    assert not (m.buyers.supplier == target.index).any()


# ---------------------------------------------------------------------------- VCs


def test_screen_is_obeyed(scen, agents) -> None:
    quiet = {"strategic_rate": 0.0}
    blind = model_of(scen(vcs={"class": c("BlindVC")}, hyperscalers=quiet)).run()
    control = model_of(scen(hyperscalers=quiet)).run()
    assert model_df(control)["offers_made"].sum() > 0
    assert model_df(blind)["offers_made"].sum() == 0


def test_value_lab_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"class": c("RecordingLab")}, vcs={"class": c("FlatValueVC")},
                      hyperscalers={"strategic_rate": 0.0})).run()
    offers = [o for lab in m.labs for o in lab.offers_seen]
    assert offers
    assert all(o.pre_money == agents.FLAT_VALUE for o in offers)


def test_make_offer_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"class": c("RecordingLab")},
                      vcs={"class": c("TinyOfferVC"), "looks_per_month": 2},
                      hyperscalers={"strategic_rate": 0.0})).run()
    offers = [o for lab in m.labs for o in lab.offers_seen]
    assert len(offers) == 3 * 2 * 6  # every VC, every look, every month
    assert all((o.amount, o.pre_money) == (0.05, 1.0) for o in offers)
    assert all(type(o.investor) is agents.TinyOfferVC for o in offers)


def test_fund_entrant_is_obeyed(scen, agents) -> None:
    busy = {"entry_rate": 20.0}
    control = model_of(scen(vcs=busy)).run()
    assert model_df(control)["entries"].sum() > 0
    m = model_of(scen(vcs={**busy, "class": c("NoEntrantVC")})).run()
    assert model_df(m)["entries"].sum() == 0
    assert len(m.labs) == 5


def test_update_sentiment_is_obeyed(scen, agents) -> None:
    m = model_of(scen(vcs={"class": c("CalmVC")}))
    for _ in steps(m, 3):
        assert [vc.sentiment for vc in m.vcs] == [agents.SENTIMENT] * 3


# ---------------------------------------------------------------------------- hyperscalers


def test_set_rent_is_obeyed(scen, agents) -> None:
    m = model_of(scen(hyperscalers={"mix": [{"class": c("FlatRentHyperscaler"),
                                             "ranks": [0]}]}))
    hs = m.hyperscalers[0]
    assert type(hs) is agents.FlatRentHyperscaler and type(m.hyperscalers[1]) is not type(hs)
    for _ in steps(m, 3):
        assert hs.rent == agents.FLAT_RENT
        assert m.market.rent_per_gpu_month[0] == agents.FLAT_RENT
        assert m.market.rent_per_gpu_month[1] != agents.FLAT_RENT


def test_order_capacity_is_obeyed(scen, agents) -> None:
    m = model_of(scen(hyperscalers={"class": c("BuildingHyperscaler"), "lead_time": 1}))
    caps = [np.array([hs.capacity for hs in mm.hyperscalers]) for mm in steps(m, 4)]
    keep = 1.0 - 1.0 / m.scenario_config.compute.gpu_life  # GPUs retire over their life
    # ordered every month, each order online one month later
    assert np.allclose(np.array(caps[1:]) - keep * np.array(caps[:-1]), agents.ORDER_GPUS)


def test_strategic_offer_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"class": c("AcceptAllLab")}, vcs={"class": c("BlindVC")},
                      hyperscalers={"class": c("GenerousHyperscaler")}))
    m.run(ticks=1)
    offers = [o for lab in m.labs for o in lab.offers_seen]
    assert len(offers) == 2  # one per hyperscaler
    assert all(o.kind == "strategic" and o.credit_share == 1.0 for o in offers)
    for hs in m.hyperscalers:
        assert len(hs.partners) == 1 and len(hs.stakes) == 1
    assert model_df(m)["vc_deployed"].sum() == 0


def test_hyperscaler_bid_for_is_obeyed(scen, agents) -> None:
    m = model_of(scen(labs={"class": c("NoBidLab")},
                      hyperscalers={"class": c("EagerBidderHyperscaler")})).run(ticks=1)
    led = m.ledger
    for hs in m.hyperscalers:  # a hyperscaler pays from its parent's money
        led.transfer(led["parents"], hs.account, 10.0, "test_parent")
    target = m.labs[3]
    capacity = sum(hs.capacity for hs in m.hyperscalers)
    owned = target.owned_gpus
    _distress(m, target)
    m.consolidation_step(m.steps - 1)
    assert target.status == "acquired"
    assert sum(hs.capacity for hs in m.hyperscalers) == pytest.approx(capacity + owned)


# ---------------------------------------------------------------------------- buyers


def _population(m: AIMarketModel, cls: type) -> Any:
    (pop,) = [p for p in m.buyer_groups if type(p) is cls]
    return pop


def test_draw_sizes_is_obeyed(scen, agents) -> None:
    m = model_of(scen(buyers={"mix": [{"class": c("DoubleSizeBuyers"), "count": 100}]}))
    pop = _population(m, agents.DoubleSizeBuyers)
    assert pop.n == 100 and pop.sl == slice(200, 300)  # the mix's slice follows the default
    assert (m.buyers.size[pop.sl] == 2.0).all()
    assert not (m.buyers.size[:200] == 2.0).all()


def test_adopt_is_obeyed(scen, agents) -> None:
    m = model_of(scen(buyers={"mix": [{"class": c("EagerBuyers"), "count": 100}]}))
    pop = _population(m, agents.EagerBuyers)
    m.run(ticks=1)
    assert m.buyers.adopted[pop.sl].all()
    assert not m.buyers.adopted[:200].all()


def test_choose_suppliers_is_obeyed(scen, agents) -> None:
    m = model_of(scen(buyers={"class": c("FirstLabBuyers"), "contract_months": 1}))
    for _ in steps(m, 3):
        b = m.buyers
        assert (b.supplier[b.adopted] == 0).all()
        assert m.stats["cr1_revenue"] == pytest.approx(1.0)


def test_demand_per_size_is_obeyed(scen, agents) -> None:
    m = model_of(scen(buyers={"class": c("NoDemandBuyers")})).run()
    assert (model_df(m)["enterprise_spend"] == 0).all()
    assert all(lab.revenue == 0 for lab in m.labs)


# ---------------------------------------------------------------------------- mixing


def test_mix_takes_the_given_ranks_and_defaults_to_the_smallest(scen, agents) -> None:
    path = scen(labs={"class": c("SectionLab"),
                      "mix": [{"class": c("FixedPriceLab"), "ranks": [0]},
                              {"class": c("TrainingLab"), "count": 2}]})
    m = model_of(path)
    kinds = [type(lab).__name__ for lab in m.labs]
    assert kinds == ["FixedPriceLab", "SectionLab", "SectionLab", "TrainingLab", "TrainingLab"]
    gpus = [lab.total_gpus for lab in m.labs]
    assert gpus[0] == max(gpus)  # rank 0 = the largest lab at tick 0
    m.run(ticks=2)
    assert m.labs[0].price == agents.FIXED_PRICE
    assert all(lab.price != agents.FIXED_PRICE for lab in m.labs[1:5])
    assert [lab.train_share for lab in m.labs[3:5]] == [agents.TRAIN_SHARE] * 2


def test_mix_without_section_class_keeps_builtin_agents(scen, agents) -> None:
    m = model_of(scen(vcs={"mix": [{"class": c("CalmVC"), "ranks": [1]}]},
                      hyperscalers={"mix": [{"class": c("FlatRentHyperscaler")}]}))
    assert [type(v).__name__ for v in m.vcs] == ["VentureCapitalist", "CalmVC",
                                                 "VentureCapitalist"]
    assert [type(h).__name__ for h in m.hyperscalers] == ["Hyperscaler", "FlatRentHyperscaler"]
    m.run(ticks=2)
    assert m.vcs[1].sentiment == agents.SENTIMENT
    assert m.vcs[0].sentiment != agents.SENTIMENT


@pytest.mark.parametrize("section_class", [None, "SectionLab"])
def test_entrants_use_the_section_class(scen, agents, section_class) -> None:
    labs: dict[str, Any] = {"mix": [{"class": c("MixLab"), "ranks": [0]}]}
    if section_class:
        labs["class"] = c(section_class)
    m = model_of(scen(labs=labs, vcs={"entry_rate": 20.0}))
    initial = [type(lab) for lab in m.labs]
    m.run()
    entrants = m.labs[5:]
    assert entrants, "no entrant: the test would prove nothing"
    expected = getattr(agents, section_class) if section_class else AILab
    assert all(type(lab) is expected for lab in entrants)
    assert [type(lab) for lab in m.labs[:5]] == initial
    assert sum(type(lab) is agents.MixLab for lab in m.labs) == 1


def test_scenario_names_the_classes_it_uses(scen, agents) -> None:
    sc = load_scenario(scen(labs={"mix": [{"class": c("MixLab"), "ranks": [0]}]}))
    assert sc.labs.mix[0].class_ == c("MixLab")
    assert sc.to_toml_dict()["labs"]["mix"][0]["class"] == c("MixLab")


# ---------------------------------------------------------------------------- bad paths


@pytest.mark.parametrize(
    ("section", "path", "words"),
    [
        ("labs", "no_colon_here", "not an import path"),
        ("labs", "ms_no_such_module_xyz:Lab", "cannot import module"),
        ("labs", f"{BROKEN}:Lab", "broken on purpose"),
        ("labs", f"{MOD}:Missing", "class not found"),
        ("labs", f"{MOD}:NotALab", "not a subclass"),
        ("vcs", f"{MOD}:FixedPriceLab", "not a subclass"),
        ("buyers", f"{MOD}:CalmVC", "not a subclass"),
    ],
)
@pytest.mark.parametrize("where", ["class", "mix"])
def test_bad_class_path_is_one_line_exit_2(scen, capsys, section, path, words, where) -> None:
    keys: dict[str, Any] = ({"class": path} if where == "class"
                            else {"mix": [{"class": path, "count": 1}]})
    file = scen(**{section: keys})
    key = f"{section}.class" if where == "class" else f"{section}.mix[0].class"
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert words in str(info.value) and key in str(info.value)
    capsys.readouterr()
    assert cli_main(["run", str(file), "--ticks", "1", "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("marketsim run: ")
    assert str(file) in err and key in err and words in err


def test_bad_class_in_set_override_is_exit_2(capsys, agents) -> None:
    assert cli_main(["run", "--set", f"labs.class={MOD}:NotALab", "--ticks", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "labs.class" in err and "not a subclass" in err


# ---------------------------------------------------------------------------- marketsim run


def _env(*paths: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths),
                                         *filter(None, [env.get("PYTHONPATH")])])
    return env


def _marketsim(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(MARKETSIM), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder that holds neither the scenario nor the user's module."""
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def test_marketsim_run_obeys_custom_classes(scen, agents, agents_dir, elsewhere) -> None:
    path = scen(labs={"mix": [{"class": c("FixedPriceLab"), "ranks": [0]},
                              {"class": c("RefusingLab"), "ranks": [1]}]},
                vcs={"class": c("NoEntrantVC"), "entry_rate": 20.0, "looks_per_month": 3},
                hyperscalers={"class": c("FlatRentHyperscaler")})
    out = elsewhere / "run"
    r = _marketsim(["run", str(path), "--seed", "3", "--out", str(out), "--quiet"],
                   _env(agents_dir), elsewhere)
    assert r.returncode == 0, r.stderr
    ticks = pd.read_parquet(out / "ticks.parquet")
    labs = pd.read_parquet(out / "labs.parquet")
    assert set(labs["lab_class"]) == {"FixedPriceLab", "RefusingLab", "AILab"}
    fixed = labs[labs["lab_class"] == "FixedPriceLab"]
    assert len(fixed) == 6 and np.allclose(fixed["price"], agents.FIXED_PRICE)
    refusing = labs[labs["lab_class"] == "RefusingLab"]
    assert len(refusing) == 6 and (refusing["valuation"] == 0).all()
    assert (labs[labs["lab_class"] == "AILab"]["price"] != agents.FIXED_PRICE).all()
    assert ticks["entries"].sum() == 0
    assert np.allclose(ticks["rent_per_gpu_hour"], agents.FLAT_RENT / HOURS_PER_MONTH)


def test_marketsim_run_set_class_and_buyer_class(scen, agents, agents_dir, elsewhere) -> None:
    path = scen()
    out = elsewhere / "run"
    r = _marketsim(["run", str(path), "--out", str(out), "--quiet",
                    "--set", f"buyers.class={MOD}:NoDemandBuyers",
                    "--set", f"labs.class={MOD}:FixedPriceLab"], _env(agents_dir), elsewhere)
    assert r.returncode == 0, r.stderr
    assert (pd.read_parquet(out / "ticks.parquet")["enterprise_spend"] == 0).all()
    labs = pd.read_parquet(out / "labs.parquet")
    assert set(labs["lab_class"]) == {"FixedPriceLab"}


def test_marketsim_run_without_the_module_on_the_path(scen, agents, elsewhere) -> None:
    path = scen(labs={"class": c("FixedPriceLab")})
    r = _marketsim(["run", str(path), "--ticks", "1", "--quiet"], _env(), elsewhere)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert f"cannot import module '{MOD}'" in r.stderr and "labs.class" in r.stderr


# ---------------------------------------------------------------------------- the examples


EXAMPLE_SCENARIOS = sorted(p.stem for p in (REPO / "examples" / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("name", EXAMPLE_SCENARIOS)
def test_example_scenarios_run(name, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    sc = load_scenario(REPO / "examples" / "scenarios" / f"{name}.toml",
                       overrides={"buyers.count": 4000, "horizon": 6})
    m = AIMarketModel(sc, rng=2).run()
    custom = [type(a) for a in [*m.labs, *m.vcs, *m.hyperscalers, *m.buyer_groups]
              if type(a).__module__ == "examples.custom_agents"]
    assert custom, f"{name} uses no example class"
    assert abs(m.ledger.total()) < 1e-6 * max(1.0, np.abs(m.ledger.balances).sum())


def test_bootstrapped_lab_example_never_raises(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    sc = load_scenario(REPO / "examples/scenarios/bootstrapped_leader.toml",
                       overrides={"buyers.count": 2000, "horizon": 24})
    m = AIMarketModel(sc, rng=0).run()
    leader = m.labs[0]
    assert type(leader).__name__ == "BootstrappedLab"
    assert leader.raised == 0.0 and leader.refused > 0


def test_compare_custom_script_prints_a_table() -> None:
    r = subprocess.run([sys.executable, str(REPO / "examples" / "compare_custom.py"),
                        "--seeds", "1", "--months", "6", "--buyers", "500"],
                       capture_output=True, text=True, timeout=300, cwd=REPO / "examples")
    assert r.returncode == 0, r.stderr
    assert "BootstrappedLab" in r.stdout and "rank-0 lab" in r.stdout


# ---------------------------------------------------------------------------- marketsim sweep

EXPERIMENT = """
scenario = "{scenario}"
horizon = 6
replications = 2
seed = 3

[design]
method = "grid"

[parameters]
"labs.class" = ["{mod}:FixedPriceLab", "{mod}:SectionLab"]
"hyperscalers.margin" = [0.0, 0.8]
"""


@pytest.fixture
def experiment(scen, tmp_path: Path) -> Path:
    """An experiment whose grid varies the lab class itself (and a number), 8 tiny runs."""
    path = scen(vcs={"class": c("CalmVC")})
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT.format(scenario=path.name, mod=MOD), encoding="utf-8")
    return exp


def _check_sweep(out: Path, agents: Any) -> pd.DataFrame:
    runs = pd.read_parquet(out / "runs").sort_values("run_id").reset_index(drop=True)
    assert len(runs) == 8 and runs["run_id"].tolist() == list(range(8))
    fixed = runs["labs.class"] == c("FixedPriceLab")
    assert fixed.sum() == 4
    assert np.allclose(runs.loc[fixed, "price_per_mtok"], agents.FIXED_PRICE)
    assert (runs.loc[~fixed, "price_per_mtok"] != agents.FIXED_PRICE).all()
    return runs


def test_sweep_on_local_workers(experiment, agents, agents_dir, elsewhere) -> None:
    out = elsewhere / "sweep"
    r = _marketsim(["sweep", str(experiment), "--out", str(out), "--workers", "2", "--quiet"],
                   _env(agents_dir), elsewhere)
    assert r.returncode == 0, r.stderr
    _check_sweep(out, agents)


def test_sweep_without_the_module_is_exit_2(experiment, agents, elsewhere) -> None:
    r = _marketsim(["sweep", str(experiment), "--out", str(elsewhere / "s"), "--workers", "2",
                    "--quiet"], _env(), elsewhere)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert f"cannot import module '{MOD}'" in r.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process this test started, by its PID (terminate, then kill)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.mark.slow
def test_sweep_on_a_dask_cluster(experiment, agents, agents_dir, elsewhere) -> None:
    """A real scheduler and two workers (subprocesses on 127.0.0.1) import the user's module."""
    from dask.distributed import Client

    from marketsim.sweep import run_sweep

    dask = Path(sys.executable).parent / "dask"
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = _env(agents_dir)  # the workers find the module the way a user's cluster would
    procs: list[subprocess.Popen] = []
    logs = elsewhere / "logs"
    logs.mkdir()
    try:
        procs.append(subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
             "--dashboard-address", "127.0.0.1:0"],
            env=env, cwd=elsewhere, stdout=(logs / "scheduler.log").open("wb"),
            stderr=subprocess.STDOUT))
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(dask), "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-nanny", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}",
                 "--memory-limit", "0"],
                env=env, cwd=elsewhere, stdout=(logs / f"worker{i}.log").open("wb"),
                stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=90)
                break
            except OSError:
                assert time.monotonic() < deadline and procs[0].poll() is None, (
                    (logs / "scheduler.log").read_text())
                time.sleep(0.5)
        out = elsewhere / "dask"
        r = _marketsim(["sweep", str(experiment), "--out", str(out), "--scheduler", address,
                        "--quiet"], env, elsewhere)
        assert r.returncode == 0, r.stderr
        on_dask = _check_sweep(out, agents)
    finally:
        for p in reversed(procs):
            _stop(p)
    # the same rows as a serial sweep in this process (where the module is on sys.path)
    serial = elsewhere / "serial"
    assert run_sweep(experiment, serial, workers=1, progress=False).complete
    pd.testing.assert_frame_equal(on_dask, _check_sweep(serial, agents))


# ---------------------------------------------------------------------------- marketsim viz


def test_viz_model_and_lab_table_show_the_custom_class(scen, agents, monkeypatch) -> None:
    pytest.importorskip("solara")
    from mesa.experimental.scenarios import Scenario as MesaScenario

    from marketsim.viz import SCENARIO_ENV, app, charts

    path = scen(labs={"mix": [{"class": c("FixedPriceLab"), "ranks": [0]}]})
    monkeypatch.setenv(SCENARIO_ENV, str(path))
    app.model_class.cache_clear()
    try:
        cls = app.model_class()
        model = cls(rng=app.SEED)
        assert type(model.labs[0]) is agents.FixedPriceLab
        model.run(ticks=3)
        rows = charts.lab_rows(model)
        mine = rows[rows["class"] == "FixedPriceLab"]
        assert len(mine) == 1 and mine["price"].iloc[0] == agents.FIXED_PRICE
        assert set(rows["class"]) == {"FixedPriceLab", "AILab"}
        assert "FixedPriceLab" in charts.lab_table_html(model)
        assert "FixedPriceLab" in charts.snapshot(model).lab_class.values()
        # Reset from the sliders: SolaraViz rebuilds the model with a Mesa Scenario
        again = cls(scenario=MesaScenario(), rng=1, **{"buyers.count": 200})
        assert type(again.labs[0]) is agents.FixedPriceLab
        assert len(again.buyers) == 200
    finally:
        app.model_class.cache_clear()


def test_viz_with_a_bad_class_is_exit_2(scen, capsys, agents) -> None:
    path = scen(labs={"class": c("NotALab")})
    assert cli_main(["viz", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("marketsim viz: ") and "labs.class" in err


# ---------------------------------------------------------------------------- import fallback

#: load_class looks beside the scenario file and in the current directory when a class's
#: top-level package is not importable, so a user's module needs no PYTHONPATH for
#: `marketsim run` and `marketsim viz`.
BESIDE = '''
from marketsim import AILab


class BesideLab(AILab):
    def set_price(self):
        return 7.25
'''


def test_module_beside_the_scenario_needs_no_pythonpath(tmp_path: Path, elsewhere) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "ms_beside_agents.py").write_text(BESIDE, encoding="utf-8")
    path = folder / "scenario.toml"
    path.write_text(scenario_text(labs={"class": "ms_beside_agents:BesideLab"}),
                    encoding="utf-8")
    out = elsewhere / "run"
    r = _marketsim(["run", str(path), "--out", str(out), "--quiet"], _env(), elsewhere)
    assert r.returncode == 0, r.stderr
    assert np.allclose(pd.read_parquet(out / "labs.parquet")["price"], 7.25)


def test_a_class_varied_in_a_sweep_is_found_beside_the_scenario(tmp_path: Path) -> None:
    # The experiment named by a relative path from the folder above, its workers elsewhere.
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "ms_varied_agents.py").write_text(BESIDE, encoding="utf-8")
    (folder / "scenario.toml").write_text(scenario_text(horizon=3), encoding="utf-8")
    (folder / "exp.toml").write_text(
        'scenario = "scenario.toml"\nreplications = 1\nseed = 3\n[design]\nmethod = "grid"\n'
        '[parameters]\n"labs.class" = ["marketsim.agents:AILab", "ms_varied_agents:BesideLab"]\n',
        encoding="utf-8")
    r = _marketsim(["sweep", "project/exp.toml", "--out", "out", "--workers", "2", "--quiet"],
                   _env(), tmp_path)
    assert r.returncode == 0, r.stderr
    runs = pd.read_parquet(tmp_path / "out" / "runs").set_index("labs.class")
    # the revenue-weighted mean of every lab's 7.25 (equal up to rounding)
    assert runs.loc["ms_varied_agents:BesideLab", "price_per_mtok"] == pytest.approx(7.25)
    assert runs.loc["marketsim.agents:AILab", "price_per_mtok"] != pytest.approx(7.25)


def test_module_in_the_working_directory_needs_no_pythonpath(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "ms_cwd_agents.py").write_text(BESIDE, encoding="utf-8")
    path = tmp_path / "scenario.toml"
    path.write_text(scenario_text(labs={"class": "ms_cwd_agents:BesideLab"}), encoding="utf-8")
    r = _marketsim(["run", str(path), "--ticks", "2", "--quiet"], _env(), work)
    assert r.returncode == 0, r.stderr
