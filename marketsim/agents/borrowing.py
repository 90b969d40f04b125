"""Borrower: the AILab decisions about credit and the capital costs of building.

Kept apart from :mod:`marketsim.agents.lab` so each module stays short; :class:`AILab`
inherits them, and a subclass of AILab overrides them like any other decision
(docs/model.md 7.4 and 7.12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketsim.units import BN_PER_USD

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel


class Borrower:
    """Credit decisions of a lab: what it may spend on building, what it borrows."""

    model: AIMarketModel
    _instalments: float

    if TYPE_CHECKING:  # defined by AILab

        def compute_budget(self) -> float:
            """Money the lab means to spend on compute and staff this month, $bn."""
            ...

    def capital_room(self) -> float:
        """$bn a month the budget has left for the capital costs of new data centres.

        ``max(labs.capex_share × compute_budget − instalments − debt service, 0)``: owned
        compute's capital costs (own instalments and the service of project loans) stay
        within ``labs.capex_share`` of the budget.
        """
        share = self.model.scenario_config.labs.capex_share
        used = self._instalments + self.model.credit.service_due(self)
        return max(share * self.compute_budget() - used, 0.0)

    def build_cost_per_gpu_month(self) -> float:
        """What one more GPU of a new data centre costs the lab a month while it is built, $bn.

        With the financing offered, ``ltv`` = :meth:`CreditBook.project_ltv
        <marketsim.mechanisms.credit.CreditBook.project_ltv>` (0 without credit)::

            own instalment = (1 − ltv) × capex_per_gpu × 10⁻⁹ / max(compute.lead_time, 1)
            debt service   = ltv × capex_per_gpu × 10⁻⁹ × (credit.project_rate / 12
                                                         + 1 / credit.project_term)

        Borrowing turns a large instalment into a smaller service spread over the loan's term,
        so the same budget starts a bigger data centre.
        """
        cfg = self.model.scenario_config
        capex = cfg.compute.capex_per_gpu * BN_PER_USD  # $bn per GPU
        ltv = self.model.credit.project_ltv(self)
        own = (1.0 - ltv) * capex / max(cfg.compute.lead_time, 1)
        service = ltv * capex * (cfg.credit.project_rate / 12.0 + 1.0 / cfg.credit.project_term)
        return own + service

    def borrow_for_build(self, gpus: float, capex: float) -> float:
        """$bn of project finance the lab asks for a new data centre (≥ 0). Called at its start.

        ``gpus``: the project's size; ``capex``: its cost, $bn. Default: just enough that the
        project's own instalments plus the loan's service fit the :meth:`capital_room`, at
        most what lenders offer (a loan costs interest: a lab that can pay its instalments
        borrows nothing)::

            lead    = max(compute.lead_time, 1)                              [months]
            service = credit.project_rate / 12 + 1 / credit.project_term     [per $ borrowed]
            loan    = clip((capex / lead − capital_room) / (1 / lead − service),
                           0, project_ltv × appetite × capex)                 [$bn]

        (0 if ``1 / lead ≤ service``: borrowing would not lower the monthly cost).
        """
        cfg = self.model.scenario_config
        lead = max(cfg.compute.lead_time, 1)
        service = cfg.credit.project_rate / 12.0 + 1.0 / cfg.credit.project_term
        if 1.0 / lead <= service:
            return 0.0
        need = (capex / lead - self.capital_room()) / (1.0 / lead - service)
        return float(min(max(need, 0.0), self.model.credit.project_ltv(self) * capex))

    def borrow_bridge(self, shortfall: float) -> float:
        """$bn of bridge loan the lab asks for when its cash is ``−shortfall`` (≥ 0).

        Called in consolidation, only when revenue covers the lab's commitments. Default:
        the shortfall (lenders cap it at ``labs.credit_months × revenue × appetite`` of
        bridge debt).
        """
        return shortfall
