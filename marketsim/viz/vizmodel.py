"""The model class the visualiser shows: AIMarketModel bound to one loaded scenario.

Mesa's SolaraViz re-creates the model on Reset as ``type(model)(**kwargs)`` where ``kwargs``
holds the slider values and ``scenario=mesa.experimental.scenarios.Scenario()``. The base
:class:`~marketsim.model.AIMarketModel` reads a Mesa Scenario as "the default scenario plus
overrides", which would drop a scenario file given on the command line. The class made by
:func:`viz_model_class` instead reads it as "*this* scenario plus overrides".
"""

from __future__ import annotations

import functools
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mesa.experimental.scenarios import Scenario as MesaScenario

from marketsim.errors import ScenarioError
from marketsim.model import AIMarketModel
from marketsim.scenario import MarketScenario, load_scenario
from marketsim.units import HOURS_PER_MONTH
from marketsim.viz.params import snap_back

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel as AIMarketModelT


class VizMarketModel(AIMarketModel):
    """AIMarketModel whose missing or Mesa-made scenario means :attr:`base_scenario`.

    Do not instantiate this class directly; make a bound subclass with :func:`viz_model_class`.

    Args:
        scenario: None or a Mesa Scenario (SolaraViz's Reset) for :attr:`base_scenario`; a
            MarketScenario, path or name is used as given.
        rng: integer seed.
        **overrides: dotted scenario keys (the slider values), e.g. ``"buyers.count"``.
    """

    #: The scenario shown (set on the subclass made by :func:`viz_model_class`).
    base_scenario: ClassVar[MarketScenario | None] = None
    #: What the page names the run after (a replayed sweep run: directory and run id).
    origin: ClassVar[str | None] = None
    #: Seed of the page's first model (a replayed run's own).
    first_seed: ClassVar[int] = 0

    def __init__(
        self,
        scenario: MarketScenario | str | Path | MesaScenario | None = None,
        *,
        rng: int | None = None,
        **overrides: Any,
    ) -> None:
        if isinstance(scenario, MesaScenario):
            overrides = {**{k: v for k, v in scenario if k != "rng"}, **overrides}
            scenario = None
        if scenario is None:
            scenario = self.base_scenario
        # Slider positions come back rounded, with float noise (1.2300000000000002 for 1.23).
        if isinstance(scenario, MarketScenario):
            overrides = {k: snap_back(k, v, scenario) for k, v in overrides.items()}
        seed = None if rng is None else int(rng)
        error = None
        try:
            super().__init__(scenario, rng=seed, **overrides)
        except ScenarioError as exc:
            if not overrides:
                raise
            # Sliders that give no valid scenario (e.g. fewer labs than the scenario's mix
            # names): show the scenario as loaded, and say why, rather than break Reset.
            super().__init__(scenario, rng=seed)
            error = str(exc)
        #: Held while the model steps and while the page reads it: Mesa's Play steps the
        #: model in a thread of its own while the page may be drawing the last month.
        self.lock = threading.RLock()
        #: Why the sliders' values were not applied (None: they were), shown on the page.
        self.slider_error: str | None = error
        #: What went wrong in the last step, shown on the page (None: nothing).
        self.error: str | None = None
        #: Per-month history of the VCs and hyperscalers (see :class:`AgentHistory`).
        self.history = AgentHistory()
        #: Earlier runs of this session drawn faintly for comparison: (label, model
        #: reporters DataFrame), oldest first (set by the page on Reset).
        self.ghosts: list[tuple[str, Any]] = []
        self.step = functools.partial(_guarded_step, self, self.step)


def _guarded_step(model: VizMarketModel, mesa_step: Callable[[], None]) -> None:
    """One month of ``model`` in the visualiser: under its lock, never past the horizon.

    Mesa's controls call ``model.step()`` ``render_interval`` times in a row without looking
    at ``model.running``; here a step after the horizon does nothing. An error in a step
    (say, in a user's agent class) stops the run: it is printed with its traceback in the
    server's log and kept in ``model.error`` for the status line, and the page stays up, so
    Reset still works.
    """
    with model.lock:
        if not model.running:
            return
        try:
            mesa_step()
            model.history.record(model)
        except Exception as exc:  # noqa: BLE001 - any error in a step is shown, not raised
            model.running = False
            model.error = f"{type(exc).__name__} in month {model.steps}: {exc}"
            traceback.print_exc()


class AgentHistory:
    """What the follow-an-agent panels draw, recorded after each month.

    Attributes:
        vcs: one row per month and VC: ``month``, ``agent`` (1, 2, ...), ``dry_powder`` ($bn
            in the fund's account), ``deployed`` ($bn invested so far).
        hyperscalers: one row per month and hyperscaler: ``month``, ``agent``, ``capacity``
            (GPUs), ``utilisation`` (share rented out), ``rent`` ($/GPU-hour).
        acquirer: the buyer's name of each acquired lab, by the lab's ledger account.
    """

    def __init__(self) -> None:
        self.vcs: list[dict[str, float]] = []
        self.hyperscalers: list[dict[str, float]] = []
        self.acquirer: dict[int, str] = {}
        self._seen = 0  # ledger log entries already scanned for acquisitions

    def record(self, model: AIMarketModelT) -> None:
        """Append this month's rows and note the acquisitions the ledger logged since."""
        t, led = model.steps, model.ledger
        self.vcs += [{"month": t, "agent": i + 1, "dry_powder": led.balance(vc.account),
                      "deployed": vc.deployed} for i, vc in enumerate(model.vcs)]
        self.hyperscalers += [{"month": t, "agent": i + 1, "capacity": hs.capacity,
                               "utilisation": hs.utilisation,
                               "rent": hs.rent / HOURS_PER_MONTH}
                              for i, hs in enumerate(model.hyperscalers)]
        names = {lab.account: f"Lab {lab.index + 1}" for lab in model.labs}
        names.update({hs.account: f"Hyperscaler {i + 1}"
                      for i, hs in enumerate(model.hyperscalers)})
        for _, src, dst, _, kind in led.log[self._seen:]:
            if kind == "acquisition":
                self.acquirer[dst] = names.get(src, led.names[src])
        self._seen = len(led.log)


def viz_model_class(scenario: MarketScenario | str | Path | None = None,
                    origin: str | None = None, first_seed: int = 0) -> type[VizMarketModel]:
    """A :class:`VizMarketModel` subclass bound to ``scenario`` (validated now).

    Args:
        scenario: a MarketScenario, a path or shipped name, or None for the default scenario.
        origin: where the run comes from, named on the page (a replayed sweep run).
        first_seed: seed of the page's first model.

    Returns:
        A model class whose ``cls(rng=..., **dotted_overrides)`` builds that scenario.

    Raises:
        ScenarioError: the scenario file is missing or invalid.
    """
    base = scenario if isinstance(scenario, MarketScenario) else load_scenario(scenario)
    return type("VizMarketModel", (VizMarketModel,), {
        "base_scenario": base, "origin": origin, "first_seed": int(first_seed),
        "__module__": __name__})
