"""The ledger: the only way money moves.

Every account (each agent, plus outside accounts such as limited partners and suppliers) is a
slot in one float64 array of balances in $bn. A transfer moves an amount from one account to
another and records its kind, so the sum over all accounts never changes. Agents' ``cash`` is a
read-only view of their balance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

OUTSIDE_ACCOUNTS: tuple[str, ...] = (
    "limited_partners",  # money into VC funds
    "founders",  # founders' and employees' equity proceeds
    "suppliers",  # hardware, construction, power and upkeep; buys fire-sold GPUs
    "economy",  # the enterprise buyers' budgets come from (and go back to) here
    "parents",  # hyperscalers' parent companies, which fund their capex
    "creditors",  # absorb debts written off in bankruptcy
)


class LedgerError(RuntimeError):
    """A transfer that the rules forbid (negative amount, overdraft without debt)."""


@dataclass
class Ledger:
    """One ledger of accounts with recorded, kind-labelled transfers.

    Attributes:
        balances: balance of each account, $bn.
        names: account names, same order.
        outside: True for outside accounts (which may go negative: they are sources and sinks).
    """

    balances: np.ndarray = field(default_factory=lambda: np.zeros(0))
    names: list[str] = field(default_factory=list)
    outside: list[bool] = field(default_factory=list)
    tick: int = 0
    flows: dict[tuple[int, str], float] = field(default_factory=lambda: defaultdict(float))
    log: list[tuple[int, int, int, float, str]] = field(default_factory=list)
    keep_log: bool = True

    def __post_init__(self) -> None:
        self.index: dict[str, int] = {n: i for i, n in enumerate(self.names)}
        if not self.names:
            for name in OUTSIDE_ACCOUNTS:
                self.open(name, outside=True)

    def open(self, name: str, *, outside: bool = False) -> int:
        """Open an account with zero balance and return its index."""
        if name in self.index:
            raise LedgerError(f"account {name!r} already open")
        self.index[name] = len(self.names)
        self.names.append(name)
        self.outside.append(outside)
        self.balances = np.append(self.balances, 0.0)
        return self.index[name]

    def __getitem__(self, name: str) -> int:
        return self.index[name]

    def balance(self, account: int) -> float:
        """Balance of an account, $bn."""
        return float(self.balances[account])

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
        amount = float(amount)
        if not math.isfinite(amount) or amount < 0:
            raise LedgerError(f"bad amount {amount!r} for {kind}")
        if amount == 0.0 or src == dst:
            return 0.0
        bal = self.balances
        # Rounding of float sums may leave an account short by far less than a dollar.
        if not self.outside[src] and not allow_debt and bal[src] < amount - 1e-9:
            raise LedgerError(
                f"{self.names[src]} cannot pay {amount:.6g} $bn ({kind}); has {bal[src]:.6g}"
            )
        bal[src] -= amount
        bal[dst] += amount
        self.flows[(self.tick, kind)] += amount
        if allow_debt and not self.outside[src] and bal[src] < 0:
            self.flows[(self.tick, "debt_incurred")] += min(amount, -bal[src])
        if self.keep_log:
            self.log.append((self.tick, src, dst, amount, kind))
        return amount

    def total(self) -> float:
        """Sum over every account, $bn: constant for the life of the model."""
        return float(self.balances.sum())

    def flow(self, kind: str, tick: int | None = None) -> float:
        """Money moved under ``kind`` in ``tick`` (default: the current tick), $bn."""
        return self.flows.get((self.tick if tick is None else tick, kind), 0.0)
