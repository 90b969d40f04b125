"""The Solara app ``marketsim viz`` serves: one market, its regime, its labs, month by month.

Run it with ``marketsim viz [SCENARIO]`` or ``marketsim viz --replay DIR --run RUN_ID``
(which set :data:`marketsim.viz.SCENARIO_ENV` or :data:`marketsim.viz.REPLAY_ENV` and the
offline-asset settings), or by hand with
``MARKETSIM_VIZ_SCENARIO=small SOLARA_ASSETS_PROXY=True solara run marketsim.viz.app``.

Each browser session gets its own model (seed 0 like ``marketsim run``, or the replayed run's
seed). Step runs a month; Play runs months in a thread of the session, paced at
:data:`PLAY_RATE`, while another thread redraws the latest month (at most every
:data:`DRAW_INTERVAL` seconds); Reset builds a new model from the settings and keeps the run
before it as faint lines to compare.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from typing import Any

import solara

from marketsim.viz import REPLAY_ENV, SCENARIO_ENV
from marketsim.viz.components import (
    AgentTables,
    Chart,
    Downloads,
    FollowLab,
    LabTable,
    RegimePanel,
    StatusLine,
)
from marketsim.viz.controls import Buttons, Settings
from marketsim.viz.data import TABLE_CSS
from marketsim.viz.params import SLIDER_KEYS
from marketsim.viz.vizmodel import VizMarketModel, viz_model_class

#: Seed of the first model of a session (a replayed run starts with its own).
SEED = 0
#: Months per second Play runs at most (a pace one can follow).
PLAY_RATE = 12.0
#: Seconds between redraws while playing: the months between are run but not drawn.
DRAW_INTERVAL = 0.25
#: Earlier runs kept as faint lines.
GHOSTS = 3
#: Chart keys in page order: the regime's question first (who owns, who rents, sizes).
CHART_ORDER = ("shares", "compute", "sizes", "concentration", "prices")

CSS = TABLE_CSS + """
.marketsim-checks { font-size: 12px; }
.marketsim-checks td, .marketsim-checks th { white-space: nowrap; }
.marketsim-checks tr.pass td:last-child { color: #2e7d32; }
.marketsim-checks tr.fail td:last-child { color: #9e9e9e; }
.marketsim-grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr));
                  gap: 2px; width: 100%; }
.marketsim-swatch, .swatch { display: inline-block; width: 10px; height: 10px; }
.v-application .marketsim-downloads .v-btn { font-size: 11px; text-transform: none;
                                             height: 26px; padding: 0 8px; }
"""


@functools.cache
def model_class() -> type[VizMarketModel]:
    """The model class ``marketsim viz`` names: a scenario, or a replayed run (with its seed)."""
    replay = os.environ.get(REPLAY_ENV)
    if replay:
        from marketsim.viz.replay import load_run

        directory, _, run = replay.rpartition("::")
        scenario, seed, label = load_run(directory, int(run))
        return viz_model_class(scenario, origin=label, first_seed=seed)
    return viz_model_class(os.environ.get(SCENARIO_ENV) or None, first_seed=SEED)


def applied(model: VizMarketModel) -> dict[str, Any]:
    """The settings of the run shown: its seed and each slider's scenario value."""
    return {"rng": getattr(model, "seed", SEED),
            **{k: model.scenario_config.get(k) for k in SLIDER_KEYS}}


def finished(model: VizMarketModel) -> bool:
    """True once the run has reached its horizon or stopped on an error."""
    return not model.running


def play(model: VizMarketModel, playing: solara.Reactive[bool],
         drawn: solara.Reactive[int], stop: threading.Event) -> None:
    """Run months at :data:`PLAY_RATE` until paused or finished, drawing alongside.

    Drawing runs in a thread of its own and shows the latest month each time it is done
    (at most every :data:`DRAW_INTERVAL` s): a slow redraw makes fewer frames, never fewer
    months.
    """
    drawer = threading.Thread(target=draw_while, args=(model, drawn, stop), daemon=True)
    drawer.start()
    next_month = time.monotonic()
    while not stop.is_set() and model.running:
        model.step()
        next_month = max(next_month + 1.0 / PLAY_RATE, time.monotonic() - 1.0 / PLAY_RATE)
        stop.wait(max(next_month - time.monotonic(), 0.0))
    finished_now = not model.running
    stop.set()
    drawer.join()
    drawn.set(model.steps)
    if finished_now:
        playing.set(False)


def draw_while(model: VizMarketModel, drawn: solara.Reactive[int],
               stop: threading.Event) -> None:
    """Redraw the page's live part whenever a new month is there, until ``stop`` is set."""
    while not stop.wait(DRAW_INTERVAL):
        if drawn.value != model.steps:
            drawn.set(model.steps)


@solara.component
def Live(model: VizMarketModel, drawn: solara.Reactive[int], playing: solara.Reactive[bool],
         lab: solara.Reactive[Any]) -> None:
    """Everything that changes as months pass: status, regime tests, charts, tables.

    The only part of the page that reads ``drawn``, so a month redraws it alone.
    """
    steps = drawn.value if drawn.value == model.steps else model.steps
    with solara.Row(gap="8px", style="align-items: flex-start"):
        with solara.Column(style="flex: 1; min-width: 0"):
            StatusLine(model, steps)
        with solara.Column(style="width: 500px; flex: none"):
            RegimePanel(model, steps)
    with solara.Div(classes=["marketsim-grid"]):
        for key in CHART_ORDER:
            Chart(model, key, steps)
        with solara.Column(gap="0px"):
            FollowLab(model, steps, lab)
    with solara.Row(gap="12px", style="align-items: flex-start"):
        with solara.Column(style="flex: 3; min-width: 0"):
            solara.HTML(tag="div", unsafe_innerHTML="<b>Labs</b> (numbered in order of "
                        "founding; colour as in the charts; exited labs in grey; click a "
                        "row to follow the lab)")
            LabTable(model, steps, lab)
        with solara.Column(style="flex: 2; min-width: 0"):
            AgentTables(model, steps)


@solara.component
def Controls(model: VizMarketModel, drawn: solara.Reactive[int],
             playing: solara.Reactive[bool], on_reset: Any) -> None:
    """Reset, Play/Pause, Step; re-rendered when a month passes (for "run finished")."""
    _ = drawn.value

    def on_step() -> None:
        model.step()
        drawn.set(model.steps)

    Buttons(playing.value, finished(model), on_reset, lambda: playing.set(not playing.value),
            on_step)


@solara.component
def Page() -> None:
    """The page: controls and settings on the left; status, regime tests, charts on the right."""
    cls = model_class()
    first = solara.use_memo(lambda: cls(rng=cls.first_seed), dependencies=[])
    model = solara.use_reactive(first)
    drawn = solara.use_reactive(0)  # the month drawn (a new value redraws the live part)
    playing = solara.use_reactive(False)
    values = solara.use_reactive(applied(first))
    lab = solara.use_reactive(None)
    m = model.value

    def run_play() -> Any:
        stop = threading.Event()
        if playing.value:
            worker = threading.Thread(target=play, args=(m, playing, drawn, stop), daemon=True)
            worker.start()
        return stop.set

    solara.use_effect(run_play, dependencies=[playing.value, m])

    def on_reset() -> None:
        playing.set(False)
        new = cls(**dict(values.value))
        label = f"seed {applied(m)['rng']}, month {m.steps}"
        df = m.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        new.ghosts = ([*m.ghosts, (label, df)] if m.steps else list(m.ghosts))[-GHOSTS:]
        model.set(new)
        lab.set(None)
        values.set(applied(new))
        drawn.set(0)

    solara.Title(f"marketsim viz \u2013 {cls.origin or cls.base_scenario.label}")
    solara.Style(CSS)
    with solara.Row(gap="8px", style="width: 100%; align-items: flex-start; padding: 4px; "
                                     "background: #fff; color: #222"):
        with solara.Column(gap="4px", style="width: 290px; flex: none; padding: 4px 6px; "
                                            "border-right: 1px solid #ddd"):
            solara.HTML(tag="div", unsafe_innerHTML="<b style='font-size:17px'>marketsim viz"
                        "</b><br><span style='font-size:12px;color:#555'>the market for "
                        "frontier AI, one month a step</span>")
            Controls(m, drawn, playing, on_reset)
            Settings(cls.base_scenario, values, applied(m))
            solara.HTML(tag="div", unsafe_innerHTML="<b>Keep this run</b> (earlier runs of "
                        "this page show as grey lines after Reset)")
            Downloads(m)
        with solara.Column(gap="2px", style="flex: 1; min-width: 0"):
            Live(m, drawn, playing, lab)
