"""The browser visualiser: one market evolving in Mesa's SolaraViz, drawn with Matplotlib.

Modules (each with one job; none imports Solara at import time except the ones that draw):

- :mod:`marketsim.viz.vizmodel` — the model class the page re-creates on Reset, bound to the
  scenario being shown; records the VCs' and hyperscalers' history.
- :mod:`marketsim.viz.params` — slider bounds and steps from the scenario schema.
- :mod:`marketsim.viz.data` — what the charts and the lab table read (no drawing).
- :mod:`marketsim.viz.regime` — the regime label's tests with their windowed values.
- :mod:`marketsim.viz.chartbase`, :mod:`marketsim.viz.charts` — Matplotlib charts (no Solara).
- :mod:`marketsim.viz.follow` — one lab's history; the VCs' and hyperscalers' tables.
- :mod:`marketsim.viz.export`, :mod:`marketsim.viz.replay` — downloads; a stored sweep run.
- :mod:`marketsim.viz.controls`, :mod:`marketsim.viz.components` — Solara components.
- :mod:`marketsim.viz.app` — the Solara app (``Page``) that ``marketsim viz`` serves.

The scenario shown is read from the environment variable :data:`SCENARIO_ENV` (a path or a
shipped name; unset means ``scenarios/default.toml``), set by ``marketsim viz``.
"""

from __future__ import annotations

#: Environment variable naming the scenario the app shows (path or shipped name).
SCENARIO_ENV = "MARKETSIM_VIZ_SCENARIO"
#: Environment variable naming a stored sweep run to replay instead: ``DIR::RUN_ID``.
REPLAY_ENV = "MARKETSIM_VIZ_REPLAY"
