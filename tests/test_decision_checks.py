"""A user's decision override that returns something unusable fails at once, by name.

Each class below overrides one decision with a bad answer (NaN, infinity, a zero rent, a
short mask, an offer the capital market cannot honour). The model must raise
``DecisionError`` naming the class and the method as soon as the value comes back, not a
``LedgerError`` or ``IndexError`` somewhere later, and never carry on with a bad state.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from marketsim import AIMarketModel, decisions
from marketsim.errors import DecisionError
from marketsim.mechanisms.capital import Offer

BAD_AGENTS = '''
import math

import numpy as np

from marketsim import AILab, EnterpriseBuyer, Hyperscaler, Offer, VentureCapitalist


class WordPriceLab(AILab):
    def set_price(self):
        return "cheap"


class NaNSplitLab(AILab):
    def split_compute(self):
        return math.nan


class InfRequestLab(AILab):
    def request_compute(self):
        return math.inf


class NaNBudgetLab(AILab):
    """A bad helper: named where the built-in decisions read it, not where they pass it on."""

    def compute_budget(self):
        return math.nan


class FiveAsWordPriceLab(AILab):
    def set_price(self):
        return "5"


class TruePriceLab(AILab):
    def set_price(self):
        return True


class NaNLimitLab(AILab):
    def limit_price(self):
        return math.nan


class NoneCostLab(AILab):
    def cost_per_mtok(self):
        return None


class NaNRentBillLab(AILab):
    def rent_bill(self):
        return math.nan


class NoneFundingLab(AILab):
    def funding_need(self):
        return None


class NaNValuationLab(AILab):
    def internal_valuation(self):
        return math.nan


class NoneGrowthLab(AILab):
    def growth(self, months=12):
        return None


class NegativeRunwayLab(AILab):
    def runway(self):
        return -1.0


class MaybeBuildLab(AILab):
    def can_build(self):
        return "yes"


class FreeBuildLab(AILab):
    """Owning beats renting at once, and a GPU of a new data centre costs nothing a month."""

    def can_build(self):
        return True

    def build_cost_per_gpu_month(self):
        return 0.0


class NoneWantedLab(AILab):
    def can_build(self):
        return True

    def gpus_wanted(self):
        return None


class NaNRoomLab(AILab):
    def capital_room(self):
        return math.nan


class NaNGpuValueLab(AILab):
    def owned_gpu_value(self):
        return math.nan


class InfPlanLab(AILab):
    def plan_data_centre(self):
        return math.inf


class NoneValueVC(VentureCapitalist):
    def value_lab(self, lab):
        return None


class NaNValueVC(VentureCapitalist):
    def value_lab(self, lab):
        return math.nan


class GloomyVC(VentureCapitalist):
    def update_sentiment(self, market_growth, loss_rate):
        return -3.0


class NegativeValueVC(VentureCapitalist):
    def make_offer(self, lab):
        return Offer(investor=self, lab=lab, amount=0.1, pre_money=-10.0)


class NoneScreenVC(VentureCapitalist):
    def screen(self, labs):
        return None


class StrangerScreenVC(VentureCapitalist):
    def screen(self, labs):
        return [*labs, "a lab that does not trade"]


class OthersMoneyVC(VentureCapitalist):
    """Makes the usual offer, paid from a hyperscaler's account."""

    def make_offer(self, lab):
        offer = super().make_offer(lab)
        if offer is not None:
            offer.investor = self.model.hyperscalers[0]
        return offer


class CreditVC(VentureCapitalist):
    """A VC has no cloud: compute credits from it would be money that never moved."""

    def make_offer(self, lab):
        offer = super().make_offer(lab)
        if offer is not None:
            offer.credit_share = 0.5
        return offer


class MaybeLab(AILab):
    def consider_offer(self, offer):
        return "no"


class EuphoricVC(VentureCapitalist):
    def update_sentiment(self, market_growth, loss_rate):
        return self.sentiment * 1.5  # finite, but past any meaning within a year


class HugeRentHyperscaler(Hyperscaler):
    def set_rent(self):
        return 1e300


class TinyRentHyperscaler(Hyperscaler):
    def set_rent(self):
        return 1e-300


class FreeRentHyperscaler(Hyperscaler):
    def set_rent(self):
        return 0.0


class InfOrderHyperscaler(Hyperscaler):
    def order_capacity(self):
        return math.inf


class OverCreditHyperscaler(Hyperscaler):
    def strategic_offer(self, labs):
        return Offer(investor=self, lab=labs[0], amount=1.0, pre_money=10.0,
                     credit_share=1.5, kind="strategic")


class ShortMaskBuyers(EnterpriseBuyer):
    def adopt(self, adopted_share, uniforms):
        return (uniforms < 0.5)[:-1]


class TwoForYesBuyers(EnterpriseBuyer):
    def adopt(self, adopted_share, uniforms):
        return (uniforms < 0.5).astype(int) * 2


class FloatChoiceBuyers(EnterpriseBuyer):
    def choose_suppliers(self, current, probs, u_stay, u_pick):
        return np.zeros(current.shape)


class NaNDemandBuyers(EnterpriseBuyer):
    def demand_per_size(self, price, quality_gap):
        return np.full(price.shape, np.nan)


class ZeroSizeBuyers(EnterpriseBuyer):
    def draw_sizes(self, rng):
        return np.zeros(self.n)


class EveryoneBuyers(EnterpriseBuyer):
    """Marks buyers as adopting by a mask where positions are asked for."""

    def adopters(self, adopted_share, rng):
        return np.ones(self.n, dtype=bool)


class NegativeSizeBuyers(EnterpriseBuyer):
    def draw_sizes(self, rng):
        return -np.ones(self.n)


class BuggyInitLab(AILab):
    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        self.size = len(5)


class ExtraArgLab(AILab):
    def __init__(self, model, extra):
        super().__init__(model)
'''

#: (section, class, method named in the error)
CASES = [
    ("labs", "WordPriceLab", "set_price"),
    ("labs", "NaNSplitLab", "split_compute"),
    ("labs", "InfRequestLab", "request_compute"),
    ("labs", "InfPlanLab", "plan_data_centre"),
    ("labs", "NaNBudgetLab", "compute_budget"),
    ("labs", "FiveAsWordPriceLab", "set_price"),
    ("labs", "TruePriceLab", "set_price"),
    ("labs", "NaNLimitLab", "limit_price"),
    ("labs", "NoneCostLab", "cost_per_mtok"),
    ("labs", "NaNRentBillLab", "rent_bill"),
    ("labs", "NoneFundingLab", "funding_need"),
    ("labs", "NaNValuationLab", "internal_valuation"),
    ("labs", "NoneGrowthLab", "growth"),
    ("labs", "NegativeRunwayLab", "runway"),
    ("labs", "MaybeBuildLab", "can_build"),
    ("labs", "FreeBuildLab", "build_cost_per_gpu_month"),
    ("labs", "NoneWantedLab", "gpus_wanted"),
    ("labs", "NaNRoomLab", "capital_room"),
    ("labs", "NaNGpuValueLab", "owned_gpu_value"),
    ("vcs", "NoneValueVC", "value_lab"),
    ("vcs", "NaNValueVC", "value_lab"),
    ("vcs", "GloomyVC", "update_sentiment"),
    ("vcs", "NegativeValueVC", "make_offer"),
    ("vcs", "NoneScreenVC", "screen"),
    ("vcs", "StrangerScreenVC", "screen"),
    ("vcs", "OthersMoneyVC", "make_offer"),
    ("vcs", "CreditVC", "make_offer"),
    ("labs", "MaybeLab", "consider_offer"),
    ("hyperscalers", "FreeRentHyperscaler", "set_rent"),
    ("vcs", "EuphoricVC", "update_sentiment"),
    ("hyperscalers", "HugeRentHyperscaler", "set_rent"),
    ("hyperscalers", "InfOrderHyperscaler", "order_capacity"),
    ("hyperscalers", "OverCreditHyperscaler", "strategic_offer"),
    ("buyers", "ShortMaskBuyers", "adopt"),
    ("buyers", "TwoForYesBuyers", "adopt"),
    ("buyers", "FloatChoiceBuyers", "choose_suppliers"),
    ("buyers", "NaNDemandBuyers", "demand_per_size"),
    ("buyers", "NegativeSizeBuyers", "draw_sizes"),
    ("buyers", "ZeroSizeBuyers", "draw_sizes"),
    ("buyers", "EveryoneBuyers", "adopters"),
]


@pytest.fixture
def scenario(tmp_path: Path, request: pytest.FixtureRequest):
    """Write the bad agents' module beside a scenario naming one class; return its path."""
    mod = f"msbad_agents_{abs(hash(request.node.nodeid)) % 10**8}"
    (tmp_path / f"{mod}.py").write_text(BAD_AGENTS)

    def write(section: str, cls: str) -> Path:
        tables = {"labs": ["count = 4"], "buyers": ["count = 2000", "contract_months = 1"],
                  "hyperscalers": ["strategic_rate = 1.0"]}
        tables.setdefault(section, []).append(f'class = "{mod}:{cls}"')
        path = tmp_path / "bad.toml"
        path.write_text("horizon = 12\n" + "".join(
            f"[{name}]\n" + "\n".join(lines) + "\n" for name, lines in tables.items()))
        return path

    return write


@pytest.mark.parametrize(("section", "cls", "method"), CASES)
def test_a_bad_decision_is_named_when_it_is_returned(scenario, section, cls, method) -> None:
    with pytest.raises(DecisionError, match=rf"\.{cls}\.{method} returned .*; allowed: "):
        AIMarketModel(scenario(section, cls), rng=0).run()


def test_an_overridden_helper_is_checked_when_the_user_calls_it_too(scenario) -> None:
    model = AIMarketModel(scenario("labs", "NaNBudgetLab"), rng=0)
    lab = model.labs[0]
    with pytest.raises(DecisionError, match=r"NaNBudgetLab\.compute_budget returned nan"):
        lab.compute_budget()  # as a user's own decision method would call it
    assert math.isfinite(AIMarketModel(scenario("labs", "WordPriceLab"), rng=0).labs[0]
                         .compute_budget())  # not overridden: the built-in's answer


def test_a_checked_helper_of_a_copied_model_is_the_copy_s(tmp_path, monkeypatch) -> None:
    """A model copied with ``copy.deepcopy`` (a branch to explore) runs on its own labs."""
    import copy

    (tmp_path / "growing_labs.py").write_text(
        "from marketsim import AILab\n"
        "class SameGrowthLab(AILab):\n"
        "    def growth(self, months=12):\n"
        "        return super().growth(months)\n"
        "class StaticGrowthLab(AILab):\n"
        "    @staticmethod\n"
        "    def growth(months=12):\n"
        "        return 0.5\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    small = {"buyers.count": 300, "labs.count": 4}
    base = AIMarketModel("small", rng=5, **small).run(8)
    mine = AIMarketModel("small", rng=5, **small,
                         **{"labs.class": "growing_labs:SameGrowthLab"}).run(4)
    branch = copy.deepcopy(mine)
    lab = branch.labs[0]
    assert lab.growth.agent is lab  # the copy's helper reads the copy
    branch.run(4)
    mine.run(4)
    for m in (branch, mine):  # the same run as the built-in class, bit for bit
        assert m.stats["hhi_revenue"] == base.stats["hhi_revenue"]
    static = AIMarketModel("small", rng=5, **small,
                           **{"labs.class": "growing_labs:StaticGrowthLab"})
    assert static.labs[0].growth() == 0.5 and static.labs[0].growth(6) == 0.5


def test_a_subclass_s_own_helper_table_adds_to_the_built_in_one(tmp_path, monkeypatch) -> None:
    (tmp_path / "table_labs.py").write_text(
        "import math\n"
        "from marketsim import AILab, decisions\n"
        "class OwnTableLab(AILab):\n"
        "    HELPER_CHECKS = {'my_share': decisions.number}\n"
        "    def my_share(self):\n"
        "        return math.nan\n"
        "    def growth(self, months=12):\n"
        "        return math.nan\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lab = AIMarketModel("small", rng=0, **{"buyers.count": 300,
                                           "labs.class": "table_labs:OwnTableLab"}).labs[0]
    with pytest.raises(DecisionError, match=r"OwnTableLab\.growth returned nan"):
        lab.growth()  # the built-in table still applies
    with pytest.raises(DecisionError, match=r"OwnTableLab\.my_share returned nan"):
        lab.my_share()  # and the subclass's own


def test_a_built_in_decision_fed_a_bad_value_says_where_to_look(scenario) -> None:
    with pytest.raises(DecisionError) as info:
        AIMarketModel(scenario("hyperscalers", "TinyRentHyperscaler"), rng=0).run()
    msg = str(info.value)
    assert re.search(r"AILab\.request_compute returned (inf|\d\.\d+e\+\d+);", msg)  # > 1e18
    assert "marketsim's own AILab.request_compute computed this from what it reads" in msg


def test_a_subclass_init_of_the_wrong_signature_is_named(scenario) -> None:
    with pytest.raises(TypeError, match=r"ExtraArgLab\(model, account=\.\.\., price=\.\.\.\): "
                                        r".*super\(\).__init__\(model, \*\*kwargs\)"):
        AIMarketModel(scenario("labs", "ExtraArgLab"), rng=0)


def test_an_error_inside_a_correct_init_is_left_as_it_is(scenario) -> None:
    with pytest.raises(TypeError) as info:
        AIMarketModel(scenario("labs", "BuggyInitLab"), rng=0)
    assert "no len()" in str(info.value) and "__init__ must take" not in str(info.value)


# ------------------------------------------------------------ the checks on their own

AGENT = SimpleNamespace()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "x", None, [1.0], "5", True,
                                   np.bool_(True), np.array([3.0]), np.array(3.0), 1 + 0j,
                                   np.complex128(2.0), 10**400])
def test_number_refuses_what_is_not_a_finite_number(value) -> None:
    with pytest.raises(DecisionError, match="allowed: a finite number"):
        decisions.number(value, AGENT, "m")


@pytest.mark.parametrize(("check", "good", "bad"), [
    (decisions.number, [-2, 0, np.float32(1.5), np.int8(-3), np.uint64(7)], [False, "0"]),
    (decisions.positive, [1e-9, 3, np.int64(2)], [0.0, -1.0, math.inf, True, "5"]),
    (decisions.non_negative, [0.0, 2.5], [-1e-12, math.inf, False]),
    (decisions.non_negative_or_inf, [0, 2.5, 1e300, math.inf, np.float64(math.inf)],
     [-1.0, -math.inf, math.nan, None, True]),
])
def test_numeric_checks_keep_good_values_as_floats(check, good, bad) -> None:
    for value in good:
        out = check(value, AGENT, "m")
        assert isinstance(out, float) and out == float(value)
    for value in bad:
        with pytest.raises(DecisionError):
            check(value, AGENT, "m")


def _offer(**changes) -> Offer:
    fields = {"investor": AGENT, "lab": SimpleNamespace(active=True, unique_id=3),
              "amount": 1.0, "pre_money": 5.0, **changes}
    return Offer(**fields)


@pytest.mark.parametrize(("changes", "words"), [
    ({"amount": math.nan}, "amount"),
    ({"amount": -1.0}, "amount"),
    ({"pre_money": 0.0}, "pre_money"),
    ({"pre_money": math.nan}, "pre_money"),
    ({"credit_share": 1.5}, "credit_share"),
    ({"lab": SimpleNamespace(active=False, unique_id=3)}, "lab still trading"),
    ({"amount": "1"}, "numbers"),
])
def test_offers_the_capital_market_cannot_honour_are_refused(changes, words) -> None:
    with pytest.raises(DecisionError, match=words):
        decisions.offer(_offer(**changes), AGENT, "strategic_offer", credits=True)


def test_an_offer_spends_only_its_own_investor_s_money() -> None:
    with pytest.raises(DecisionError, match=r"investor: the agent making the offer \(self\)"):
        decisions.offer(_offer(investor=SimpleNamespace()), AGENT, "make_offer", credits=False)
    with pytest.raises(DecisionError, match="only a hyperscaler gives compute credits"):
        decisions.offer(_offer(credit_share=0.5), AGENT, "make_offer", credits=False)
    good = _offer(credit_share=0.5)
    assert decisions.offer(good, AGENT, "strategic_offer", credits=True) is good


def test_good_offers_and_none_pass_unchanged() -> None:
    good = _offer(credit_share=1.0)
    assert decisions.offer(good, AGENT, "strategic_offer", credits=True) is good
    zero = decisions.offer(_offer(amount=0.0), AGENT, "make_offer", credits=False)
    assert zero is not None and zero.amount == 0.0
    assert decisions.offer(None, AGENT, "make_offer", credits=False) is None
    with pytest.raises(DecisionError, match="None or a"):
        decisions.offer({"amount": 1.0}, AGENT, "make_offer", credits=False)


def test_sizes_are_amounts_not_all_zero() -> None:
    assert decisions.sizes([0.0, 0.0, 2.0], AGENT, "m", n=3).tolist() == [0.0, 0.0, 2.0]
    for bad, words in [([0.0, 0.0], "an array of 2 zeros"), ([1.0, -1.0], r"\[-1.0\]"),
                       ([1.0], r"shape \(1,\)")]:
        with pytest.raises(DecisionError, match=words):
            decisions.sizes(bad, AGENT, "m", n=2)


def test_positions_are_integers_within_the_population() -> None:
    good = np.array([0, 2, 4], dtype=np.intp)
    assert decisions.positions(good, AGENT, "m", n=5) is good
    assert decisions.positions(np.zeros(0, dtype=np.intp), AGENT, "m", n=5).size == 0
    for bad, words in [([0, 5], "positions from 0 to 5"), ([-1, 2], "positions from -1 to 2"),
                       (np.ones(5, dtype=bool), "dtype bool"), ([1.0], "dtype float64"),
                       (None, r"shape \(\)"), ([[1, 2]], r"shape \(1, 2\)")]:
        with pytest.raises(DecisionError, match=words):
            decisions.positions(bad, AGENT, "m", n=5)


def test_amounts_checks_shape_kind_and_values() -> None:
    assert decisions.amounts([0, 1.5, 2], AGENT, "m", n=3).tolist() == [0, 1.5, 2]
    for bad, words in [([1.0, 2.0, 3.0], r"shape \(3,\)"), (["a", "b"], "dtype"),
                       ([1.0, -1.0], r"\[-1.0\]"), ([1.0, math.nan], "nan")]:
        with pytest.raises(DecisionError, match=words):
            decisions.amounts(bad, AGENT, "m", n=2)
    big = [0.0, 1e300]
    with pytest.raises(DecisionError, match="numbers from 0 to 1e"):
        decisions.amounts(big, AGENT, "m", n=2)
    assert decisions.amounts(big, AGENT, "m", n=2, most=decisions.MOST_FINITE).tolist() == big
    with pytest.raises(DecisionError, match="finite numbers >= 0"):
        decisions.amounts([0.0, math.inf], AGENT, "m", n=2, most=decisions.MOST_FINITE)
