"""The browser visualiser: one market evolving in Mesa's SolaraViz, drawn with Matplotlib.

Modules (each with one job; none imports Solara at import time except the ones that draw):

- :mod:`marketsim.viz.vizmodel` — the model class SolaraViz re-creates on Reset, bound to the
  scenario being shown.
- :mod:`marketsim.viz.params` — the sliders (Mesa ``Slider``), bounds from the scenario schema.
- :mod:`marketsim.viz.charts` — Matplotlib figures and the lab table (no Solara).
- :mod:`marketsim.viz.components` — Solara components wrapping the charts.
- :mod:`marketsim.viz.app` — the Solara app (``Page``) that ``marketsim viz`` serves.

The scenario shown is read from the environment variable :data:`SCENARIO_ENV` (a path or a
shipped name; unset means ``scenarios/default.toml``), set by ``marketsim viz``.
"""

from __future__ import annotations

#: Environment variable naming the scenario the app shows (path or shipped name).
SCENARIO_ENV = "MARKETSIM_VIZ_SCENARIO"
