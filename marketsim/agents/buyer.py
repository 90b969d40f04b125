"""EnterpriseBuyer: a population of enterprise buyers whose state lives in arrays.

Buyers are the many agents (thousands to millions). One ``EnterpriseBuyer`` Mesa agent stands
for all buyers of its class: it holds a slice of the model's buyer arrays, and its decisions
are methods over those arrays, so a subclass overrides a decision for every buyer of its class
in one vectorised call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from marketsim import decisions as check
from marketsim.mechanisms import demand

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel


class BuyerArrays:
    """Arrays of every buyer, shared by all buyer populations (each owns a slice).

    Attributes:
        size: token-budget potential, heavy-tailed (log-normal), mean 1.
        adopted: has adopted generative AI.
        supplier: index of the current supplier lab (-1 none).
        contract_age: months into the current contract.
    """

    def __init__(self, n: int) -> None:
        self.size = np.ones(n)
        self.adopted = np.zeros(n, dtype=bool)
        self.supplier = np.full(n, -1, dtype=np.int32)
        self.contract_age = np.zeros(n, dtype=np.int16)
        # Work arrays reused every month. Fresh buyer-sized temporaries would cost a page
        # fault per 4 KiB whenever the C allocator has handed freed memory back to the system
        # (glibc does so once the freed top of its heap passes a threshold): at a million
        # buyers, up to 5 ms a month.
        self._masks = np.empty((2, n), dtype=bool)
        self._index = np.empty(n, dtype=np.intp)

    def __len__(self) -> int:
        return self.size.size

    def scratch_masks(self, sl: slice) -> tuple[np.ndarray, np.ndarray]:
        """Two boolean work arrays for the buyers of ``sl`` (contents undefined)."""
        return self._masks[0, sl], self._masks[1, sl]

    def scratch_index(self, sl: slice) -> np.ndarray:
        """A work array of indices (``intp``) for the buyers of ``sl`` (contents undefined)."""
        return self._index[sl]


class EnterpriseBuyer(mesa.Agent):
    """All enterprise buyers of one class, as arrays (one slice of :class:`BuyerArrays`).

    Attributes:
        sl: this population's slice of ``model.buyers``.
        account: the ledger account the population pays from.
    """

    model: AIMarketModel

    def __init__(self, model: AIMarketModel, *, sl: slice, account: int) -> None:
        super().__init__(model)
        self.sl = sl
        self.account = account

    @property
    def n(self) -> int:
        """Number of buyers in this population."""
        return self.sl.stop - self.sl.start

    def view(self, name: str) -> np.ndarray:
        """This population's part of a buyer array (a view: writes go to the model)."""
        return getattr(self.model.buyers, name)[self.sl]

    def draw_sizes(self, rng: np.random.Generator) -> np.ndarray:
        """Sizes of this population's buyers at set-up (mean 1; log-normal heavy tail)."""
        sigma = self.model.scenario_config.buyers.size_sigma
        return rng.lognormal(-0.5 * sigma**2, sigma, size=self.n)

    def adopt(self, adopted_share: float, uniforms: np.ndarray) -> np.ndarray:
        """Mask of this population's buyers that adopt this month (vectorised Bass diffusion).

        Args:
            adopted_share: share of all buyers already adopted (imitation).
            uniforms: one uniform in [0, 1) per buyer of this population.

        Returns:
            Boolean array, True for buyers adopting now (never for those already adopted).
        """
        cfg = self.model.scenario_config.buyers
        hazard = demand.bass_hazard(adopted_share, cfg.bass_p, cfg.bass_q)
        return demand.bass_adopt(self.view("adopted"), hazard, uniforms)

    def adopters(self, adopted_share: float, rng: np.random.Generator) -> np.ndarray:
        """Positions (within this population) of the buyers who adopt this month.

        With the built-in Bass rule it draws the adopters as a Bernoulli(hazard) process of
        geometric gaps (:func:`~marketsim.mechanisms.demand.sample_adopters`), about
        ``n × hazard`` draws instead of one uniform per buyer; same distribution as
        :meth:`adopt`. A subclass that overrides :meth:`adopt` is honoured: its mask is
        computed from one uniform per buyer.

        Args:
            adopted_share: share of all buyers already adopted (imitation).
            rng: the model's random generator.

        Returns:
            Increasing int indices into this population's slice; none already adopted.
        """
        if check.overridden(self, EnterpriseBuyer, "adopt"):
            return np.flatnonzero(check.mask(self.adopt(adopted_share, rng.random(self.n)),
                                             self, "adopt", n=self.n))
        cfg = self.model.scenario_config.buyers
        hazard = demand.bass_hazard(adopted_share, cfg.bass_p, cfg.bass_q)
        if hazard <= 0.0:
            return np.zeros(0, dtype=np.intp)
        return demand.sample_adopters(self.view("adopted"), hazard, rng)

    def choose_suppliers(
        self, current: np.ndarray, probs: np.ndarray, u_stay: np.ndarray, u_pick: np.ndarray
    ) -> np.ndarray:
        """New supplier for buyers whose contract ended or who have none (vectorised logit).

        Args:
            current: their current supplier lab index (-1 none).
            probs: base logit probabilities over labs (quality and price).
            u_stay: uniforms in [0, 1), one per re-choosing buyer (stay or not).
            u_pick: uniforms in [0, 1), one per re-choosing buyer (which lab).

        Returns:
            Supplier index per re-choosing buyer (-1 when no lab is available).
        """
        s = self.model.scenario_config.buyers.switching_cost
        return demand.choose_suppliers(current, probs, s, u_stay, u_pick)

    def demand_per_size(self, price: np.ndarray, quality_gap: np.ndarray) -> np.ndarray:
        """M tokens demanded per unit of buyer size from each lab this month, shape (L,).

        Constant price elasticity around the tick-0 price and rising with quality above the
        open-weight floor, times the market's usage trend.
        """
        cfg = self.model.scenario_config.buyers
        m = self.model.market
        rel = demand.demand_per_size(price, quality_gap, m.reference_price,
                                     cfg.price_elasticity, cfg.quality_elasticity)
        return m.tokens_per_size * m.usage_trend * rel
