"""Labs' own data centres: GPUs wear out, projects come online, new projects start.

A project of ``gpus`` GPUs costs ``compute.capex_per_gpu`` each, paid to suppliers in equal
monthly instalments over ``compute.lead_time`` months (the instalments are among the lab's
monthly bills, :func:`~marketsim.mechanisms.compute.bill`); its GPUs come online when the
last one is paid. With no lead time the capex is paid at once and the GPUs are online now.
Nothing is built below the month's minimum efficient scale. Lenders may finance part of a
project at its start (:func:`~marketsim.mechanisms.credit.lend_for_project`): that part is
paid to the builders at once, and the instalments cover the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marketsim import decisions as check
from marketsim.mechanisms import credit
from marketsim.units import BN_PER_USD

if TYPE_CHECKING:
    from marketsim.agents import AILab
    from marketsim.ledger import Ledger
    from marketsim.mechanisms.credit import CreditBook


def advance_projects(lab: AILab) -> None:
    """A month of construction: finished projects come online (instalments: already posted)."""
    still = []
    for gpus, months, per_month in lab.projects:
        if months <= 1:
            lab.owned_gpus += gpus
        else:
            still.append([gpus, months - 1, per_month])
    lab.projects = still


def start_project(lab: AILab, gpus: float, ledger: Ledger, cc: Any,
                  book: CreditBook | None = None, t: int = 0) -> None:
    """Start a data centre of ``gpus`` GPUs (``cc``: the scenario's ``[compute]`` section).

    With a creditors' ``book``, project finance pays its part of the capex now; the lab pays
    the rest in instalments.
    """
    lead = cc.lead_time
    capex = gpus * cc.capex_per_gpu * BN_PER_USD
    if book is not None:
        capex -= credit.lend_for_project(lab, gpus, capex, ledger, book, t)
    if lead == 0:
        ledger.transfer(lab.account, ledger["suppliers"], capex, "capex", allow_debt=True)
        lab.owned_gpus += gpus
    else:
        lab.projects.append([gpus, float(lead), capex / lead])


def build_month(lab: AILab, ledger: Ledger, min_scale: float, retire: float, cc: Any,
                book: CreditBook | None = None, t: int = 0) -> None:
    """A lab's month of owned compute, after its bills.

    Its owned GPUs wear out (× ``retire``), finished projects come online, and
    ``plan_data_centre()`` may start a new project (none below ``min_scale`` GPUs), financed
    in part by the creditors' ``book`` if given.
    """
    lab.owned_gpus *= retire
    if lab.projects:
        advance_projects(lab)
    size = planned_project(lab, min_scale)
    if size > 0:
        start_project(lab, size, ledger, cc, book, t)


def planned_project(lab: AILab, min_scale: float) -> float:
    """GPUs of the data centre ``lab.plan_data_centre()`` would start now, as checked (≥ 0).

    A finite number or a ``DecisionError``; 0 for none, a negative size, or one below
    ``min_scale`` GPUs (the month's minimum efficient scale), whatever a custom class returns.
    """
    size = check.number(lab.plan_data_centre(), lab, "plan_data_centre")
    return size if size > 0 and size >= min_scale else 0.0
