"""The Solara app ``marketsim viz`` serves: Mesa's SolaraViz of one market.

Run it with ``marketsim viz [SCENARIO]`` (which sets :data:`marketsim.viz.SCENARIO_ENV` and
the offline-asset settings), or by hand with
``MARKETSIM_VIZ_SCENARIO=null SOLARA_ASSETS_PROXY=True solara run marketsim.viz.app``.

Each browser session gets its own model (seed 0, like ``marketsim run``); Reset rebuilds it
from the sliders (dotted scenario keys) on top of the scenario file.
"""

from __future__ import annotations

import functools
import os

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from marketsim.viz import SCENARIO_ENV
from marketsim.viz.components import StatusLine, components
from marketsim.viz.params import model_params
from marketsim.viz.vizmodel import VizMarketModel, viz_model_class

#: Seed of the first model of a session (the seed slider starts here).
SEED = 0


@functools.cache
def model_class() -> type[VizMarketModel]:
    """The model class bound to the scenario named by ``$MARKETSIM_VIZ_SCENARIO`` (default)."""
    return viz_model_class(os.environ.get(SCENARIO_ENV) or None)


@solara.component
def LiveStatus(model: solara.Reactive[VizMarketModel]) -> None:
    """The status line, re-rendered after every step and on Reset."""
    update_counter.get()
    StatusLine(model.value, model.value.steps)


@solara.component
def Page() -> None:
    """The whole page: status line above Mesa's SolaraViz (controls, sliders, charts)."""
    cls = model_class()
    first = solara.use_memo(lambda: cls(rng=SEED), dependencies=[])
    model = solara.use_reactive(first)
    params = solara.use_memo(lambda: model_params(cls.base_scenario, seed=SEED),
                             dependencies=[])
    parts = solara.use_memo(components, dependencies=[])
    LiveStatus(model)
    SolaraViz(model, components=parts, model_params=params,
              name=f"marketsim: {cls.base_scenario.label} scenario")
