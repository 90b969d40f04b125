"""Credit to labs (marketsim/mechanisms/credit.py): limits, repayment, write-offs, the cycle.

Hand-set labs in a small model, as in tests/test_agents.py: numbers in the comments are the
equations of docs/model.md worked out on paper.
"""

from __future__ import annotations

import numpy as np
import pytest

from marketsim import AIMarketModel
from marketsim.mechanisms import consolidation, credit

CONFIG = {
    "buyers.count": 100, "horizon": 12, "labs.credit_months": 3.0, "labs.capex_share": 0.5,
    "labs.reinvest_share": 0.9, "labs.burn_months": 12.0, "labs.fixed_cost": 0.01,
    "labs.build_share": 1.0, "compute.capex_per_gpu": 30_000, "compute.lead_time": 18,
    "credit.project_ltv": 0.6, "credit.project_rate": 0.12, "credit.project_term": 60,
    "credit.bridge_rate": 0.12, "credit.interest_cover": 1.0, "credit.cycle_sensitivity": 5.0,
    "credit.cycle_months": 12,
}


@pytest.fixture
def m() -> AIMarketModel:
    """Rent $2,000 per GPU-month, owning $1,500 (labs may build), upkeep $500."""
    model = AIMarketModel("small", rng=0, **CONFIG)
    mv = model.market
    mv.rent_per_gpu_month = np.full(model.n_hyperscalers, 2000.0)
    mv.owned_cost_per_gpu_month, mv.opex_per_gpu_month = 1500.0, 500.0
    mv.tokens_per_gpu_month = 1000.0
    mv.min_efficient_scale = 50_000.0
    return model


def lab_with(model: AIMarketModel, i: int = 0, *, cash: float = 0.0, revenue: float = 0.0,
             rented: float = 0.0):
    """Lab ``i`` with this cash ($bn, moved from or to the founders), flat monthly revenue
    ($bn) and GPUs rented from the first hyperscaler; no loans, no projects."""
    lab = model.labs[i]
    led = model.ledger
    change = cash - led.balance(lab.account)  # moved from or to the founders
    if change > 0:
        led.transfer(led["founders"], lab.account, change, "test")
    elif change < 0:
        led.transfer(lab.account, led["founders"], -change, "test", allow_debt=True)
    lab.revenue_history = [revenue, revenue]
    lab.rented_gpus = [rented] + [0.0] * (model.n_hyperscalers - 1)
    lab.owned_gpus, lab.projects = 0.0, []
    model.credit.loans.pop(lab.unique_id, None)
    lab.debt = 0.0
    return lab


def test_project_finance_lends_at_most_the_loan_to_value_and_lets_a_lab_build_bigger(m):
    lab = lab_with(m, cash=6.0, revenue=0.5, rented=600_000.0)
    # own instalment 0.4 × 3e-5 / 18 + service 0.6 × 3e-5 × (0.01 + 1/60) per GPU-month
    per_gpu = 0.4 * 3e-5 / 18 + 0.6 * 3e-5 * (0.12 / 12 + 1 / 60)
    assert lab.build_cost_per_gpu_month() == pytest.approx(per_gpu)
    with_credit = lab.plan_data_centre()  # room 0.5 × 0.95 = 0.475 $bn a month
    assert with_credit == pytest.approx(0.475 / per_gpu)
    m.credit.appetite = 0.0  # lenders offer nothing: the lab builds from its own cash
    without = lab.plan_data_centre()
    assert without == pytest.approx(0.475 / (3e-5 / 18))
    assert with_credit > without
    m.credit.appetite = 1.0
    # The lab borrows just enough that instalments plus service fit its room of 0.475:
    # (C / 18 − 0.475) / (1/18 − (0.01 + 1/60)), at most 0.6 × C.
    assert lab.borrow_for_build(200_000.0, 6.0) == 0.0  # 6 / 18 = 0.33 fits: no loan
    need = (12.0 / 18 - 0.475) / (1 / 18 - (0.01 + 1 / 60))
    assert lab.borrow_for_build(400_000.0, 12.0) == pytest.approx(need)
    assert need < 0.6 * 12.0
    assert lab.borrow_for_build(1_000_000.0, 30.0) == pytest.approx(0.6 * 30.0)  # capped
    before = m.ledger.balance(m.ledger["creditors"])
    lent = credit.lend_for_project(lab, 1_000_000.0, 30.0, m.ledger, m.credit, 0)
    assert lent == pytest.approx(0.6 * 30.0)  # never more than offered
    assert lab.debt == pytest.approx(lent)
    assert m.ledger.balance(m.ledger["creditors"]) == pytest.approx(before - lent)


def test_no_loan_to_a_lab_whose_revenue_cannot_cover_the_interest(m):
    lab = lab_with(m, cash=6.0, revenue=0.01)  # asks 0.6 × 30 = 18 $bn: 0.18 a month > 0.01
    assert lab.borrow_for_build(1_000_000.0, 30.0) == pytest.approx(18.0)
    assert credit.lend_for_project(lab, 1_000_000.0, 30.0, m.ledger, m.credit, 0) == 0.0
    assert lab.debt == 0.0


def test_bridge_loans_stop_at_credit_months_of_revenue_and_scale_with_appetite(m):
    lab = lab_with(m, cash=-1.0, revenue=0.5)  # revenue covers commitments: runway ∞
    assert credit.bridge(lab, m.ledger, m.credit, 0)
    assert lab.cash == pytest.approx(0.0) and lab.debt == pytest.approx(1.0)
    lab2 = lab_with(m, 1, cash=-2.0, revenue=0.5)  # limit 3 × 0.5 = 1.5 < 2: not rescued
    assert not credit.bridge(lab2, m.ledger, m.credit, 0)
    assert m.credit.of(lab2).bridge <= 1.5 + 1e-12
    m.credit.appetite = 0.5  # limit 0.75
    lab3 = lab_with(m, 2, cash=-1.0, revenue=0.5)
    assert not credit.bridge(lab3, m.ledger, m.credit, 0)
    assert m.credit.of(lab3).bridge <= 0.75 + 1e-12


def test_service_charges_interest_and_amortisation_and_conserves_money(m):
    lab = lab_with(m, cash=5.0, revenue=0.5)
    m.credit.of(lab).project = 6.0
    total = m.ledger.total()
    credit.service(lab, m.ledger, m.credit, 0)  # 6 × 0.12 / 12 + 6 / 60 = 0.16
    assert lab.cash == pytest.approx(5.0 - 0.16)
    assert m.credit.of(lab).project == pytest.approx(6.0 - 0.1)
    assert lab.debt == pytest.approx(5.9)
    assert m.ledger.total() == pytest.approx(total)


def test_bankruptcy_repays_what_the_fire_sale_raises_and_writes_off_the_rest(m):
    lab = lab_with(m, cash=0.5, revenue=0.0)
    m.credit.of(lab).project, m.credit.of(lab).bridge = 3.0, 1.0
    m.credit.sync(lab, 0)
    creditors = m.ledger.balance(m.ledger["creditors"])
    consolidation.bankrupt(lab, m.ledger, m.vcs, m.buyers.supplier, 0,
                           m.scenario_config.compute, m.credit)
    assert lab.debt == 0.0 and m.credit.of(lab).project == m.credit.of(lab).bridge == 0.0
    assert m.ledger.balance(m.ledger["creditors"]) == pytest.approx(creditors + 0.5)
    assert m.credit.written_off == pytest.approx(3.5)
    assert m.credit.defaults == [0]


def test_defaults_among_borrowers_cut_lenders_appetite(m):
    book = m.credit
    for i in range(4):
        book.last_indebted[1000 + i] = 5  # four borrowers in the last year
    assert book.update_appetite(10) == 1.0
    book.defaults.append(8)  # one of four defaulted: 1 − 5 × 0.25 < 0
    assert book.update_appetite(10) == 0.0
    assert book.update_appetite(21) == 1.0  # a year on, the default has left the window
    m.scenario_config.credit.cycle_sensitivity = 2.0
    assert book.update_appetite(10) == pytest.approx(0.5)


def test_money_is_conserved_every_month_with_loans_outstanding():
    model = AIMarketModel("small", rng=3, **{"buyers.count": 300, "horizon": 24})
    total = model.ledger.total()
    for _ in range(24):
        model.step()
        assert model.ledger.total() == pytest.approx(total, abs=1e-6)
        for lab in model.labs:
            loans = model.credit.of(lab)
            assert lab.debt == pytest.approx(loans.project + loans.bridge)
            assert loans.bridge <= model.scenario_config.labs.credit_months \
                * max(lab.revenue_history or [0.0]) + 1e-9
    lent = sum(v for (_, k), v in model.ledger.flows.items()
               if k in ("project_loan", "bridge_loan"))
    assert lent > 0  # the run borrowed: the checks above were exercised


def test_the_credit_crunch_scenario_ends_in_a_shakeout_in_most_seeds():
    """scenarios/credit_crunch.toml over 6 seeds: most end consolidated with the active labs
    at most half their peak (docs/results.md measures 64, knock-out table row credit_crunch)."""
    from marketsim.sweep import run_seed

    shakeouts = 0
    for k in range(6):
        model = AIMarketModel("credit_crunch", rng=run_seed(2025, 0, k),
                              **{"buyers.count": 2000})
        model.run()
        df = model.datacollector.get_model_vars_dataframe()
        halved = df["active_labs"].iloc[-1] <= 0.5 * df["peak_active_labs"].iloc[-1]
        shakeouts += model.regime == "consolidated" and halved
    assert shakeouts >= 4
