"""Credit: who lends to labs, against what, at what price, and when lending stops.

One lender, the outside ``creditors`` account (banks, private-credit funds and bond buyers
together), offers two instruments:

- **project finance** for a lab's data centre, secured on the GPUs being built: up to
  ``credit.project_ltv`` of the project's capex, at ``credit.project_rate`` a year,
  amortised at ``1 / credit.project_term`` of the balance a month (with the term at the
  GPUs' life the loan wears down as fast as its collateral, so its loan-to-value stays put);
- **bridge loans** against revenue: a lab whose revenue covers its commitments may borrow
  its cash shortfall, its bridge debt at most ``labs.credit_months`` of revenue, at
  ``credit.bridge_rate`` a year; repaid from spare cash.

When lending stops: the lender's **appetite** (0–1) falls with the recent default rate among
its borrowers, ``appetite = clip(1 − credit.cycle_sensitivity × defaults / borrowers, 0, 1)``
over the last ``credit.cycle_months`` (a credit cycle: defaults tighten credit, tighter
credit brings more defaults); both limits are scaled by it. No loan goes to a lab whose
monthly revenue, divided by ``credit.interest_cover``, cannot pay the interest on all its
debt with the new loan.

Interest and amortisation fall due monthly whatever the lab's cash (a shortfall is resolved
by consolidation); on bankruptcy what the fire sale does not repay is written off. Each lab's
``debt`` is the sum of its loans ($bn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marketsim import decisions as check

if TYPE_CHECKING:
    from marketsim.agents import AILab
    from marketsim.ledger import Ledger


@dataclass
class Loans:
    """A lab's debts to creditors, $bn of principal."""

    project: float = 0.0
    bridge: float = 0.0


class CreditBook:
    """The creditors' book: each lab's loans, borrowers' defaults and the lender's appetite.

    Args:
        cfg: the scenario's ``[credit]`` section.
        bridge_months: the bridge limit, months of revenue (``labs.credit_months``).

    Attributes:
        loans: each lab's :class:`Loans`, by ``unique_id``.
        last_indebted: the last month each borrower owed anything, by ``unique_id``.
        defaults: the months in which a borrower went bankrupt owing money.
        written_off: $bn of principal never repaid, all months.
        appetite: the share (0–1) of the usual limits lenders offer this month.
    """

    def __init__(self, cfg: Any, bridge_months: float) -> None:
        self.cfg = cfg
        self.bridge_months = bridge_months
        self.loans: dict[int, Loans] = {}
        self.last_indebted: dict[int, int] = {}
        self.defaults: list[int] = []
        self.written_off = 0.0
        self.appetite = 1.0

    def of(self, lab: AILab) -> Loans:
        """The lab's loans (a new empty record for a lab that never borrowed)."""
        loans = self.loans.get(lab.unique_id)
        if loans is None:
            loans = self.loans[lab.unique_id] = Loans()
        return loans

    def default_rate(self, t: int) -> float:
        """Borrowers that went bankrupt owing money ÷ labs indebted, last ``cycle_months``."""
        since = t - self.cfg.cycle_months
        borrowers = sum(1 for last in self.last_indebted.values() if last > since)
        failed = sum(1 for d in self.defaults if d > since)
        return failed / borrowers if borrowers else 0.0

    def update_appetite(self, t: int) -> float:
        """``appetite = clip(1 − cycle_sensitivity × default_rate, 0, 1)``, set and returned."""
        rate = self.default_rate(t)
        self.appetite = min(max(1.0 - self.cfg.cycle_sensitivity * rate, 0.0), 1.0)
        return self.appetite

    def interest_due(self, lab: AILab, extra: float = 0.0, extra_rate: float = 0.0) -> float:
        """Interest on the lab's loans this month, $bn (plus ``extra`` $bn at ``extra_rate``)."""
        c, loans = self.cfg, self.of(lab)
        return (loans.project * c.project_rate + loans.bridge * c.bridge_rate
                + extra * extra_rate) / 12.0

    def service_due(self, lab: AILab) -> float:
        """Interest plus amortisation due this month, $bn: ``interest + project / project_term``.

        0 for a lab that never borrowed (labs' budgets ask it several times a month).
        """
        loans = self.loans.get(lab.unique_id)
        if loans is None:
            return 0.0
        return self.interest_due(lab) + loans.project / self.cfg.project_term

    def covers(self, lab: AILab, extra: float, rate: float) -> bool:
        """Can the lab's monthly revenue pay ``interest_cover`` × the interest with the new loan?"""
        return lab.revenue >= self.cfg.interest_cover * self.interest_due(lab, extra, rate)

    def project_ltv(self, lab: AILab) -> float:
        """Share of a data centre's capex lenders finance: ``project_ltv × appetite``."""
        return self.cfg.project_ltv * self.appetite

    def sync(self, lab: AILab, t: int) -> None:
        """Set ``lab.debt`` to the sum of its loans; note the month if it owes anything."""
        loans = self.of(lab)
        lab.debt = loans.project + loans.bridge
        if lab.debt > 0:
            self.last_indebted[lab.unique_id] = t


# ------------------------------------------------------------------ lending
def lend_for_project(lab: AILab, gpus: float, capex: float, ledger: Ledger, book: CreditBook,
                     t: int) -> float:
    """Project finance for a new data centre of ``gpus`` GPUs costing ``capex`` $bn.

    The lab asks for ``borrow_for_build(gpus, capex)`` $bn; lenders give at most
    ``project_ltv × appetite × capex``, nothing if revenue would not cover the interest. The
    lenders pay the loan straight to the builders (creditors → suppliers, on the lab's
    behalf, so a lab short of cash this month is not overdrawn by it); the rest of the capex
    is the lab's own instalments.

    Returns:
        $bn lent (0 for none).
    """
    most = book.project_ltv(lab) * capex
    if most <= 0:
        return 0.0
    ask = check.number(lab.borrow_for_build(gpus, capex), lab, "borrow_for_build")
    loan = min(max(ask, 0.0), most)
    if loan <= 0 or not book.covers(lab, loan, book.cfg.project_rate):
        return 0.0
    ledger.transfer(ledger["creditors"], ledger["suppliers"], loan, "project_loan")
    book.of(lab).project += loan
    book.sync(lab, t)
    return loan


def bridge(lab: AILab, ledger: Ledger, book: CreditBook, t: int) -> bool:
    """Lend a lab with negative cash what it asks for its shortfall, within the limits.

    Only a lab whose revenue covers its commitments (infinite runway) borrows; its bridge
    debt may not pass ``labs.credit_months × revenue × appetite`` and revenue must cover the
    interest. The lab asks ``borrow_bridge(shortfall)``.

    Returns:
        True if the lab's cash is no longer negative.
    """
    shortfall = -lab.cash
    room = book.bridge_months * lab.revenue * book.appetite - book.of(lab).bridge
    if shortfall <= 0 or room <= 0 or math.isfinite(lab.runway()):
        return shortfall <= 0
    ask = check.number(lab.borrow_bridge(shortfall), lab, "borrow_bridge")
    loan = min(max(ask, 0.0), room)
    if loan <= 0 or not book.covers(lab, loan, book.cfg.bridge_rate):
        return False
    book.of(lab).bridge += ledger.transfer(ledger["creditors"], lab.account, loan, "bridge_loan")
    book.sync(lab, t)
    return lab.cash >= 0


# ------------------------------------------------------------------ repaying
def service(lab: AILab, ledger: Ledger, book: CreditBook, t: int) -> None:
    """The month's interest and project amortisation, due whatever the lab's cash."""
    loans = book.of(lab)
    if loans.project <= 0 and loans.bridge <= 0:
        return
    interest = book.interest_due(lab)
    principal = loans.project / book.cfg.project_term
    creditors = ledger["creditors"]
    ledger.post([(lab.account, creditors, interest, "interest"),
                 (lab.account, creditors, principal, "loan_repayment")], allow_debt=True)
    loans.project -= principal
    book.sync(lab, t)


def repay_bridge_from_spare_cash(labs: list[AILab], ledger: Ledger, book: CreditBook,
                                 t: int) -> None:
    """Each lab with bridge loans and positive cash repays ``min(bridge debt, cash / 2)``."""
    for lab in labs:
        loans = book.loans.get(lab.unique_id)
        if loans is not None and loans.bridge > 0 and lab.cash > 0:
            loans.bridge -= ledger.transfer(lab.account, ledger["creditors"],
                                            min(loans.bridge, 0.5 * lab.cash), "loan_repayment")
            book.sync(lab, t)


def settle(lab: AILab, ledger: Ledger, book: CreditBook, t: int) -> float:
    """A closing lab repays its loans from its cash, bridge first, as far as it goes.

    What is left unpaid is written off (the book's ``written_off``; a bankruptcy owing
    money counts as a default). Returns the $bn written off.
    """
    loans = book.of(lab)
    creditors = ledger["creditors"]
    for kind in ("bridge", "project"):
        owed = getattr(loans, kind)
        if owed > 0 and lab.cash > 0:
            setattr(loans, kind, owed - ledger.transfer(lab.account, creditors,
                                                        min(owed, lab.cash), "loan_repayment"))
    lost = loans.project + loans.bridge
    if lost > 0:
        book.written_off += lost
        book.defaults.append(t)
    loans.project = loans.bridge = 0.0
    lab.debt = 0.0
    return lost
