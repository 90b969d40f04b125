"""The ledger: the only way money moves.

Every account (each agent, plus outside accounts such as limited partners and suppliers) is a
slot of balances in $bn. A transfer moves an amount from one account to another and records
its kind, so the sum over all accounts never changes. Agents' ``cash`` is a read-only view of
their balance.

Balances live in a plain Python list: the ledger is touched a hundred times a month one
account at a time, and a list reads and writes one float several times faster than a NumPy
array does. :attr:`Ledger.balances` gives them as an array.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from marketsim.units import BN_PER_USD

OUTSIDE_ACCOUNTS: tuple[str, ...] = (
    "limited_partners",  # money into VC funds
    "founders",  # founders' and employees' equity proceeds
    "suppliers",  # hardware, construction, power and upkeep; buys fire-sold GPUs
    "parents",  # hyperscalers' parent companies, which fund their capex
    "creditors",  # absorb debts written off in bankruptcy
    "crossover_funds",  # crossover and sovereign investors following VC-led rounds
)

#: Rounding of float sums may leave an account short by far less than a dollar: up to a
#: dollar ($bn), or this share of the amount when larger (paying a $450bn budget out in parts
#: can miss by more than $1 in the last digits).
OVERDRAFT_TOLERANCE = BN_PER_USD


class LedgerError(RuntimeError):
    """A transfer that the rules forbid (negative amount, overdraft without debt)."""


class Ledger:
    """One ledger of accounts with recorded, kind-labelled transfers.

    Args:
        keep_log: keep every transfer in :attr:`log` (tick, source, destination, $bn, kind).

    Attributes:
        names: account names, in account order.
        outside: True for outside accounts (which may go negative: they are sources and sinks).
        tick: the month transfers are recorded under (the model sets it each step).
        flows: $bn moved per (tick, kind).
        log: every transfer, when ``keep_log``.
    """

    def __init__(self, *, keep_log: bool = True) -> None:
        self.names: list[str] = []
        self.outside: list[bool] = []
        self.index: dict[str, int] = {}
        self.tick = 0
        self.flows: dict[tuple[int, str], float] = defaultdict(float)
        self.log: list[tuple[int, int, int, float, str]] = []
        self.keep_log = keep_log
        self._bal: list[float] = []
        for name in OUTSIDE_ACCOUNTS:
            self.open(name, outside=True)

    @property
    def balances(self) -> np.ndarray:
        """Balance of every account, $bn (a copy, in account order)."""
        return np.array(self._bal, dtype=float)

    def open(self, name: str, *, outside: bool = False) -> int:
        """Open an account with zero balance and return its index."""
        if name in self.index:
            raise LedgerError(f"account {name!r} already open")
        self.index[name] = len(self.names)
        self.names.append(name)
        self.outside.append(outside)
        self._bal.append(0.0)
        return self.index[name]

    def __getitem__(self, name: str) -> int:
        return self.index[name]

    def balance(self, account: int) -> float:
        """Balance of an account, $bn."""
        return self._bal[account]

    def transfer(
        self, src: int, dst: int, amount: float, kind: str, *, allow_debt: bool = False
    ) -> float:
        """Move ``amount`` $bn from ``src`` to ``dst`` and record it under ``kind``.

        An agent's account may only go negative with ``allow_debt=True``: obligations that
        fall due (rent, power, capex instalments, fixed costs) create a recorded debt that the
        consolidation step resolves.

        Returns:
            The amount moved (0 for a zero transfer).

        Raises:
            LedgerError: negative or non-finite amount, or an overdraft not allowed as debt.
        """
        return self.post(((src, dst, amount, kind),), allow_debt=allow_debt)

    def post(
        self, entries: Iterable[tuple[int, int, float, str]], *, allow_debt: bool = False
    ) -> float:
        """Several transfers ``(source, destination, $bn, kind)``, in order.

        Each entry is exactly one :meth:`transfer`: the compute market posts a lab's monthly
        bills together.

        Returns:
            The total moved, $bn.

        Raises:
            LedgerError: as :meth:`transfer`; the entries before the bad one stay posted.
        """
        bal, outside, flows, tick = self._bal, self.outside, self.flows, self.tick
        log = self.log if self.keep_log else None
        moved = 0.0
        for src, dst, amount, kind in entries:
            amount = float(amount)
            if not 0.0 <= amount < math.inf:  # also rejects NaN
                raise LedgerError(f"bad amount {amount!r} for {kind}")
            if amount == 0.0 or src == dst:
                continue
            left = bal[src] - amount
            if left < 0.0 and not outside[src]:
                if allow_debt:
                    flows[(tick, "debt_incurred")] += min(amount, -left)
                elif bal[src] < amount - OVERDRAFT_TOLERANCE * max(amount, 1.0):
                    raise LedgerError(f"{self.names[src]} cannot pay {amount:.6g} $bn ({kind}); "
                                      f"has {bal[src]:.6g}")
            bal[src] = left
            bal[dst] += amount
            flows[(tick, kind)] += amount
            if log is not None:
                log.append((tick, src, dst, amount, kind))
            moved += amount
        return moved

    def pay_funded(self, src: int, dst: int, amount: float, kind: str, *, funder: int,
                   funding: str) -> None:
        """``src`` pays ``amount`` $bn to ``dst``; ``funder`` first tops up what ``src`` lacks.

        A hyperscaler's parent company funds its capex, upkeep and strategic investments this
        way (``funding`` is the kind of the top-up): the hyperscaler never goes into debt.
        """
        short = amount - self._bal[src]
        pay = (src, dst, amount, kind)
        self.post([(funder, src, short, funding), pay] if short > 0 else [pay])

    def total(self) -> float:
        """Sum over every account, $bn: constant for the life of the model."""
        return float(np.sum(self._bal))

    def flow(self, kind: str, tick: int | None = None) -> float:
        """Money moved under ``kind`` in ``tick`` (default: the current tick), $bn."""
        return self.flows.get((self.tick if tick is None else tick, kind), 0.0)
