"""The buyers' rules written the object-per-agent Mesa way: the baseline of the benchmark.

One ``mesa.Agent`` per buyer; each tick the model computes the per-lab quantities once
(:func:`bench.buyer_market.tick_terms`, exactly as the vectorised version does) and calls
``self.agents.shuffle_do("step")``. Each buyer agent then, in its own ``step``:

1. adopts with the month's Bass hazard (if it has not adopted yet);
2. ages its contract by a month (capped at the contract length);
3. if adopted and its contract ended or it has no supplier, re-chooses a supplier from the
   logit probabilities with its current supplier's weight multiplied by ``exp(switching
   cost)`` (``random.choices`` over the labs), and starts a new contract;
4. demands ``size × tokens per unit size`` of its supplier and adds it to the lab's total.

Same parameters, same frozen labs, same rules as :class:`bench.buyer_market.VectorBuyerMarket`
and the buyer path of ``AIMarketModel``; the draws differ (Python's ``random`` per agent).
This is the idiomatic Mesa model a modeller would write first, not a straw man: attribute
access on the agent, one stdlib draw per decision, no per-agent NumPy calls.
"""

from __future__ import annotations

from typing import Any

import mesa

from bench.buyer_market import LabSet, TickTerms, tick_terms


class BuyerAgent(mesa.Agent):
    """One enterprise buyer.

    Attributes:
        size: token-budget potential (log-normal, mean 1).
        adopted: has adopted generative AI.
        supplier: index of the current supplier lab (-1 none).
        contract_age: months into the current contract.
        tokens: M tokens demanded this month.
    """

    model: MesaBuyerMarket

    def __init__(self, model: MesaBuyerMarket, size: float, adopted: bool,
                 contract_age: int) -> None:
        super().__init__(model)
        self.size = size
        self.adopted = adopted
        self.supplier = -1
        self.contract_age = contract_age
        self.tokens = 0.0

    def choose_supplier(self, probs: list[float], bonus: float) -> int:
        """Logit choice with the incumbent's weight multiplied by ``bonus``; -1 if none."""
        c = self.supplier
        weights = [p * bonus if j == c else p for j, p in enumerate(probs)]
        if sum(weights) <= 0:
            return -1
        return self.random.choices(range(len(weights)), weights=weights)[0]

    def step(self) -> None:
        """One month of this buyer: adopt, age the contract, re-choose, demand tokens."""
        m = self.model
        terms = m.terms
        if not self.adopted and self.random.random() < terms.hazard:
            self.adopted = True
        if self.contract_age < m.contract_months:
            self.contract_age += 1
        if self.adopted and (self.contract_age >= m.contract_months or self.supplier < 0):
            self.supplier = self.choose_supplier(m.probs, terms.bonus)
            self.contract_age = 0
        if self.supplier >= 0:
            self.tokens = self.size * m.tokens_per_size[self.supplier]
            m.lab_demand[self.supplier] += self.tokens
        else:
            self.tokens = 0.0


class MesaBuyerMarket(mesa.Model):
    """The buyers-only market with one Mesa agent per buyer.

    Args:
        n: number of buyers.
        labs: the frozen labs.
        cfg: the scenario's ``[buyers]`` section.
        rng: integer seed.
    """

    def __init__(self, n: int, labs: LabSet, cfg: Any, *, rng: int = 0) -> None:
        super().__init__(rng=rng)
        self.labs = labs
        self.cfg = cfg
        self.n = n
        self.contract_months = cfg.contract_months
        self.tick = 0
        self._terms(0.0)
        sigma = cfg.size_sigma
        r = self.random
        for _ in range(n):
            agent = BuyerAgent(self, size=r.lognormvariate(-0.5 * sigma**2, sigma),
                               adopted=r.random() < cfg.initial_adoption,
                               contract_age=r.randrange(cfg.contract_months))
            if agent.adopted:
                agent.supplier = agent.choose_supplier(self.probs, 1.0)
        self.lab_demand = [0.0] * labs.n

    def _terms(self, share: float) -> None:
        self.terms: TickTerms = tick_terms(self.labs, self.cfg, share, self.tick)
        self.probs = self.terms.probs.tolist()
        self.tokens_per_size = self.terms.tokens_per_size.tolist()

    @property
    def adoption(self) -> float:
        """Share of buyers adopted."""
        return self.agents.agg("adopted", sum) / self.n

    def step(self) -> None:
        """One month: per-lab terms once, then every buyer's ``step`` in random order."""
        self._terms(self.adoption)
        self.lab_demand = [0.0] * self.labs.n
        self.agents.shuffle_do("step")
        self.tick += 1

    def supplier_counts(self) -> list[int]:
        """Buyers per lab (buyers without a supplier left out)."""
        counts = [0] * self.labs.n
        for a in self.agents:
            if a.supplier >= 0:
                counts[a.supplier] += 1
        return counts
