"""The visualiser's controls: Step, Play, Reset, and the settings a newcomer can read.

Each setting shows its value and unit beside the slider, a line of help from the scenario
schema (:func:`marketsim.scenario.field_spec`), a mark while it differs from the run shown
(settings apply on Reset) and a note when a user's own agent class of that kind is in the
scenario (its decisions may ignore the setting). The seed is a number box.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara

from marketsim.scenario import MarketScenario, field_spec
from marketsim.viz.params import LABELS, SEED_MAX, SLIDER_KEYS, model_params

#: Units as the page writes them after a value (schema unit → text).
UNIT_TEXT: dict[str, str] = {"x": "× normal", "share": "× cost", "-": "", "utils": "utils"}


def value_text(key: str, value: Any) -> str:
    """A setting's value with its unit: ``"0.8 × cost"``, ``"12 labs"``, ``"10,000 buyers"``."""
    unit = field_spec(key).get("unit", "")
    unit = UNIT_TEXT.get(unit, unit)
    shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return f"{shown} {unit}".strip()


def custom_classes(scenario: MarketScenario, kind: str) -> list[str]:
    """A user's own agent classes of ``kind`` (``"labs"``, ...) in ``scenario``, by name."""
    section = getattr(scenario, kind)
    names = [section.class_] if section.class_ else []
    names += [m.class_ for m in section.mix]
    return [n.rsplit(":", 1)[-1] for n in names if n]


def slider_specs(scenario: MarketScenario) -> dict[str, Any]:
    """Mesa ``Slider`` specs (bounds, step, starting value) of each setting of ``scenario``."""
    return {k: s for k, s in model_params(scenario).items() if k in SLIDER_KEYS}


@solara.component
def Setting(key: str, spec: Any, value: Any, applied: Any, note: str,
            on_value: Callable[[Any], None]) -> None:
    """One setting: label, value with unit, slider, help, changed mark and class note."""
    changed = value != applied
    with solara.Column(gap="0px", classes=["marketsim-setting"],
                       style="margin-bottom: 6px"):
        with solara.Row(justify="space-between", style="align-items: baseline"):
            solara.Text(LABELS.get(key, key), style="font-weight: 600; font-size: 13px")
            solara.Text(value_text(key, value), classes=["marketsim-value"],
                        style="font-size: 13px; font-variant-numeric: tabular-nums")
        slider = solara.SliderFloat if spec.is_float_slider else solara.SliderInt
        slider("", value=value, min=spec.min, max=spec.max, step=spec.step,
               on_value=on_value, tick_labels=False)
        solara.Text(field_spec(key).get("description", ""),
                    style="font-size: 11.5px; color: #555; line-height: 1.2")
        if changed:
            solara.Text(f"changed from {value_text(key, applied)}: Reset to apply",
                        classes=["marketsim-changed"],
                        style="font-size: 11.5px; color: #b45309; font-weight: 600")
        if note:
            solara.Text(note, classes=["marketsim-class-note"],
                        style="font-size: 11.5px; color: #6a1b9a")


@solara.component
def Settings(scenario: MarketScenario, values: solara.Reactive[dict[str, Any]],
             applied: dict[str, Any]) -> None:
    """The seed box and every setting; ``values`` holds what Reset will apply."""
    specs = solara.use_memo(lambda: slider_specs(scenario), dependencies=[scenario])
    seed = values.value.get("rng", 0)

    def set_key(key: str) -> Callable[[Any], None]:
        return lambda v: values.set({**values.value, key: v})

    def set_seed(v: int | None) -> None:
        if v is not None and v >= 0:  # a seed is a whole number >= 0; anything else is kept
            set_key("rng")(int(v))

    with solara.Row(style="align-items: center"):
        solara.InputInt(f"Seed (0-{SEED_MAX})", value=seed, on_value=set_seed,
                        continuous_update=True,
                        classes=["marketsim-seed"])
    if seed != applied.get("rng"):
        solara.Text(f"seed changed from {applied.get('rng')}: Reset to apply",
                    classes=["marketsim-changed"],
                    style="font-size: 11.5px; color: #b45309; font-weight: 600")
    for key, spec in specs.items():
        kind = key.partition(".")[0]
        own = custom_classes(scenario, kind)
        note = (f"{', '.join(own)} in this scenario may decide without this setting"
                if own and not key.endswith(".count") else "")
        Setting(key, spec, values.value.get(key, spec.value), applied.get(key, spec.value),
                note, set_key(key))


@solara.component
def Buttons(playing: bool, finished: bool, on_reset: Callable[[], None],
            on_play: Callable[[], None], on_step: Callable[[], None]) -> None:
    """Reset, Play/Pause and Step, with "run finished" at the horizon."""
    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=on_reset)
        solara.Button(label="\u275a\u275a Pause" if playing else "\u25b6 Play", color="primary",
                      on_click=on_play, disabled=finished)
        solara.Button(label="Step", color="primary", on_click=on_step,
                      disabled=playing or finished)
    if finished:
        solara.Text("run finished: Reset for a new run", classes=["marketsim-finished"],
                    style="font-weight: 600; color: #2e7d32")
