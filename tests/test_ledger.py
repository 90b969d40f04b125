"""The ledger: the only way money moves; the sum over accounts never changes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketsim.ledger import OUTSIDE_ACCOUNTS, Ledger, LedgerError


@pytest.fixture
def ledger() -> Ledger:
    led = Ledger()
    for name in ("a", "b", "c"):
        led.open(name)
    led.transfer(led["founders"], led["a"], 10.0, "founding")
    return led


def test_outside_accounts_open_at_zero():
    led = Ledger()
    assert set(OUTSIDE_ACCOUNTS) <= set(led.names)
    assert led.total() == 0.0
    assert all(led.outside[led[n]] for n in OUTSIDE_ACCOUNTS)


def test_open_twice_rejected(ledger):
    with pytest.raises(LedgerError):
        ledger.open("a")


def test_transfer_moves_money_and_conserves_total(ledger):
    before = ledger.total()
    moved = ledger.transfer(ledger["a"], ledger["b"], 3.5, "rent")
    assert moved == 3.5
    assert ledger.balance(ledger["a"]) == pytest.approx(6.5)
    assert ledger.balance(ledger["b"]) == pytest.approx(3.5)
    assert ledger.total() == pytest.approx(before, abs=1e-12)


@pytest.mark.parametrize("amount", [-1.0, -1e-9, math.nan, math.inf, -math.inf])
def test_bad_amounts_rejected_and_nothing_moves(ledger, amount):
    balances = ledger.balances.copy()
    with pytest.raises(LedgerError):
        ledger.transfer(ledger["a"], ledger["b"], amount, "rent")
    np.testing.assert_array_equal(ledger.balances, balances)


def test_overdraft_rejected_without_debt(ledger):
    with pytest.raises(LedgerError, match="cannot pay"):
        ledger.transfer(ledger["a"], ledger["b"], 10.5, "rent")
    assert ledger.balance(ledger["a"]) == 10.0
    assert ledger.balance(ledger["b"]) == 0.0


def test_overdraft_allowed_as_recorded_debt(ledger):
    ledger.transfer(ledger["a"], ledger["b"], 12.0, "rent", allow_debt=True)
    assert ledger.balance(ledger["a"]) == pytest.approx(-2.0)
    assert ledger.flow("debt_incurred") == pytest.approx(2.0)
    assert ledger.total() == pytest.approx(0.0, abs=1e-12)


def test_outside_accounts_may_go_negative(ledger):
    ledger.transfer(ledger["limited_partners"], ledger["c"], 5.0, "lp_commitment")
    assert ledger.balance(ledger["limited_partners"]) == -5.0


def test_paying_whole_balance_is_not_an_overdraft(ledger):
    ledger.transfer(ledger["a"], ledger["b"], 10.0, "rent")
    assert ledger.balance(ledger["a"]) == 0.0


def test_rounding_tolerance_scales_with_the_amount(ledger):
    """A $450bn sum paid out in parts can miss by more than $1 in the last digits."""
    big = Ledger()
    fund = big.open("fund")
    big.transfer(big["limited_partners"], fund, 450.0, "lp_commitment")
    big.transfer(fund, big["limited_partners"], 450.0 + 450.0 * 1e-10, "venture")  # $45 short
    with pytest.raises(LedgerError, match="cannot pay"):
        ledger.transfer(ledger["a"], ledger["b"], 10.0 + 1e-6, "rent")  # $1,000 short: no


def _buyers_pay_labs_directly(m) -> None:
    """This month's money out of buyer accounts: only ``inference``, only to labs, in total the
    labs' revenue."""
    led = m.ledger
    buyers = {pop.account for pop in m.buyer_groups}
    labs = {lab.account for lab in m.labs}
    t = led.tick
    month = [e for e in led.log if e[0] == t and (e[1] in buyers or e[2] in buyers)]
    assert all(src in buyers and dst in labs and kind == "inference"
               for _, src, dst, _, kind in month)
    paid = sum(e[3] for e in month)
    assert paid == pytest.approx(m.counts["enterprise_spend"], rel=1e-12)
    assert paid == pytest.approx(led.flow("inference"), rel=1e-12)


def test_buyers_pay_labs_directly_in_an_extreme_market():
    """Buyer populations pay the labs straight from their (outside) accounts, nothing else."""
    from marketsim import AIMarketModel

    m = AIMarketModel("small", rng=0, **{"buyers.count": 300, "compute.throughput_growth": 100,
                                         "buyers.usage_growth": 100})
    assert all(m.ledger.outside[pop.account] for pop in m.buyer_groups)
    for _ in range(120):
        m.step()
        _buyers_pay_labs_directly(m)
    assert m.counts["enterprise_spend"] > 100  # $bn a month: the sums are large


def test_huge_spend_with_tiny_payments_among_them_conserves_money():
    """At $1e8bn a month, beside payments of $0.005bn (once an overdraft of the buyers)."""
    from marketsim import AIMarketModel

    m = AIMarketModel("small", rng=0, **{
        "horizon": 300, "buyers.usage_growth": 100, "buyers.usage_growth_halflife": 33,
        "labs.count": 3, "vcs.count": 2, "hyperscalers.count": 1, "buyers.count": 50,
        "buyers.price_elasticity": 1.0})  # spend blind to price: it grows with usage alone
    m.run()
    assert max(m.spend_history) > 5e6  # millions of $bn a month beside payments of $0.005bn
    _buyers_pay_labs_directly(m)
    assert abs(m.ledger.total()) <= 1e-9 * float(np.abs(m.ledger.balances).sum())


def test_flows_recorded_by_kind_and_tick(ledger):
    ledger.tick = 3
    ledger.transfer(ledger["a"], ledger["b"], 1.0, "rent")
    ledger.transfer(ledger["a"], ledger["c"], 2.0, "rent")
    ledger.transfer(ledger["b"], ledger["c"], 0.5, "inference")
    ledger.tick = 4
    ledger.transfer(ledger["c"], ledger["a"], 0.25, "rent")
    assert ledger.flow("rent", tick=3) == pytest.approx(3.0)
    assert ledger.flow("inference", tick=3) == pytest.approx(0.5)
    assert ledger.flow("rent") == pytest.approx(0.25)  # current tick
    assert ledger.flow("capex", tick=3) == 0.0
    assert ledger.log[-1] == (4, ledger["c"], ledger["a"], 0.25, "rent")


def test_zero_and_self_transfers_record_nothing(ledger):
    n = len(ledger.log)
    assert ledger.transfer(ledger["a"], ledger["b"], 0.0, "rent") == 0.0
    assert ledger.transfer(ledger["a"], ledger["a"], 1.0, "rent") == 0.0
    assert len(ledger.log) == n
    assert ledger.flow("rent") == 0.0
    assert ledger.balance(ledger["a"]) == 10.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8),
                          st.floats(0, 1e6, allow_nan=False), st.booleans()),
                max_size=60))
def test_random_transfers_conserve_total(ops):
    led = Ledger()
    accounts = [led.open(f"agent_{i}") for i in range(9 - len(OUTSIDE_ACCOUNTS))]
    ids = list(range(len(led.names)))
    assert len(ids) >= 9
    for src, dst, amount, debt in ops:
        try:
            led.transfer(ids[src], ids[dst], amount, "x", allow_debt=debt)
        except LedgerError:
            assert not debt and not led.outside[ids[src]]
        assert abs(led.total()) <= 1e-9 * (1 + np.abs(led.balances).sum())
    for acct in accounts:  # an agent only goes negative through debt
        if led.balance(acct) < -1e-6:
            assert any(d for s, _, a, d in ops if a > 0 and s == acct)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8),
                          st.floats(0, 1e3, allow_nan=False), st.sampled_from(["a", "b"])),
                max_size=30), st.booleans())
def test_post_is_transfer_entry_by_entry(entries, debt):
    one, many = Ledger(), Ledger()
    for led in (one, many):
        for i in range(9 - len(OUTSIDE_ACCOUNTS)):  # accounts 0-8
            led.open(f"agent_{i}")
        led.transfer(led["founders"], led["agent_0"], 50.0, "seed")
    ok, moved = True, 0.0
    for src, dst, amount, kind in entries:
        try:
            moved += one.transfer(src, dst, amount, kind, allow_debt=debt)
        except LedgerError:
            ok = False
            break
    if ok:
        assert many.post(entries, allow_debt=debt) == moved  # the total moved
        np.testing.assert_array_equal(one.balances, many.balances)  # same floats, same order
        # and both as plain float arithmetic, entry by entry (transfer is a one-entry post)
        expected = [0.0] * len(many.names)
        expected[many["founders"]] -= 50.0
        expected[many["agent_0"]] += 50.0
        for src, dst, amount, _ in entries:
            if amount > 0 and src != dst:
                expected[src] -= amount
                expected[dst] += amount
        assert many.balances.tolist() == expected
        assert dict(one.flows) == dict(many.flows)
        assert one.log == many.log
    else:
        with pytest.raises(LedgerError):
            many.post(entries, allow_debt=debt)


def test_post_rejects_bad_amounts_like_transfer():
    led = Ledger()
    a = led.open("a")
    with pytest.raises(LedgerError, match="bad amount"):
        led.post([(led["founders"], a, math.nan, "x")])
    assert led.balance(a) == 0.0
