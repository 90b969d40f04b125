"""The visualiser without a browser: sliders, model class, charts, table, the Solara page."""

from __future__ import annotations

import math
import re
import socket
import textwrap

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara
import solara.widgets
from mesa.experimental.scenarios import Scenario as MesaScenario

from marketsim import AIMarketModel, ScenarioError
from marketsim.cli import main
from marketsim.scenario import field_spec, load_scenario
from marketsim.viz import SCENARIO_ENV, charts, data
from marketsim.viz.components import chart_png
from marketsim.viz.params import SLIDER_KEYS, model_params, slider_for
from marketsim.viz.vizmodel import viz_model_class

PNG = b"\x89PNG\r\n\x1a\n"
REGIME_KEYS = ("vcs.capital_abundance", "hyperscalers.margin", "buyers.switching_cost",
               "buyers.price_elasticity", "labs.count")


@pytest.fixture
def small_scenario(tmp_path):
    """A quick scenario file: 6 labs, 400 buyers, 24 months, its own name."""
    path = tmp_path / "small.toml"
    path.write_text(textwrap.dedent("""
        name = "small-test"
        horizon = 24
        [labs]
        count = 6
        [buyers]
        count = 400
    """))
    return path


@pytest.fixture
def custom_scenario(tmp_path, monkeypatch):
    """A scenario naming a user's own lab class, defined in a module outside marketsim."""
    (tmp_path / "my_labs.py").write_text(textwrap.dedent("""
        from marketsim import AILab

        class BoutiqueLab(AILab):
            '''A user's lab that never takes outside money.'''

            def consider_offer(self, offer):
                return False
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "custom.toml"
    path.write_text(textwrap.dedent("""
        name = "custom-classes"
        horizon = 24
        [labs]
        count = 5
        [[labs.mix]]
        class = "my_labs:BoutiqueLab"
        count = 1
        ranks = [0]
        [buyers]
        count = 400
    """))
    return path


# ---------------------------------------------------------------------------- sliders
def test_sliders_cover_the_regime_drivers_with_schema_bounds():
    sc = load_scenario("default")
    params = model_params(sc, seed=3)
    assert set(REGIME_KEYS) <= set(params) and "rng" in params
    assert params["rng"].value == 3
    for key in SLIDER_KEYS:
        s, spec = params[key], field_spec(key)
        assert s.value == sc.get(key)
        assert s.min <= s.value <= s.max
        assert s.min >= spec.get("ge", spec.get("gt", -math.inf))
        assert s.max <= spec.get("le", spec.get("lt", math.inf))
        assert s.is_float_slider == (spec["type"] == "float")
        # the value sits on the slider's step grid, so the slider can show it exactly
        assert abs((s.value - s.min) / s.step - round((s.value - s.min) / s.step)) < 1e-6


def _page_rounding(value: float, s) -> float:
    """What the page's slider (Vuetify 2's VSlider.roundValue) makes of ``value`` on mount."""
    decimals = len(repr(float(s.step)).split(".")[1].rstrip("0")) if s.is_float_slider else 0
    offset = math.fmod(s.min, s.step)
    snapped = min(round((value - offset) / s.step) * s.step + offset, s.max)
    return float(f"{snapped:.{decimals}f}")


@pytest.mark.parametrize("values", [
    {"vcs.capital_abundance": 1.23, "hyperscalers.margin": 0.83, "buyers.switching_cost": 1.07,
     "buyers.price_elasticity": 1.013, "buyers.count": 2345},
    {"vcs.capital_abundance": 1.26, "hyperscalers.margin": 0.3, "buyers.switching_cost": 0.15,
     "buyers.price_elasticity": 1.0134567, "buyers.count": 10_000},  # more decimals than shown
])
def test_values_between_round_steps_stay_exact_through_an_untouched_reset(values):
    # The page rounds each slider to its grid and step decimals on mount and sends that back.
    sc = load_scenario("default", overrides=values)
    params = model_params(sc)
    snapped = {}
    for key in SLIDER_KEYS:
        s, spec = params[key], field_spec(key)
        assert spec.get("ge", spec.get("gt", -math.inf)) <= s.min <= s.value <= s.max, key
        snapped[key] = _page_rounding(s.value, s)
    m = viz_model_class(sc)(rng=0, **snapped)
    for key in SLIDER_KEYS:
        assert m.scenario_config.get(key) == sc.get(key), key
    moved = viz_model_class(sc)(rng=0, **{"hyperscalers.margin": 2.5})
    assert moved.scenario_config.hyperscalers.margin == 2.5  # a moved slider still counts


def test_sliders_follow_the_scenario_values():
    null = model_params(load_scenario("null"))
    assert null["hyperscalers.margin"].value == 0.0
    assert null["buyers.switching_cost"].value == 0.0
    assert null["hyperscalers.margin"].max > 0  # the cost gap can still be turned up


def test_slider_keys_are_model_keywords(small_scenario):
    params = model_params(load_scenario(small_scenario))
    kwargs = {k: s.max for k, s in params.items() if k != "buyers.count"}
    m = AIMarketModel(small_scenario, **kwargs)
    for key in REGIME_KEYS:
        assert m.scenario_config.get(key) == params[key].max


# ---------------------------------------------------------------------------- model class
def test_reset_keeps_the_scenario_file(small_scenario):
    cls = viz_model_class(small_scenario)
    # what SolaraViz's Reset does: type(model)(scenario=mesa Scenario(), rng=..., **sliders)
    m = cls(scenario=MesaScenario(), rng=5, **{"vcs.capital_abundance": 2.5})
    assert m.scenario_config.name == "small-test"
    assert m.scenario_config.labs.count == 6
    assert m.scenario_config.vcs.capital_abundance == 2.5
    assert type(m) is cls
    plain = cls(rng=5)
    assert plain.scenario_config.vcs.capital_abundance == load_scenario(
        small_scenario).vcs.capital_abundance


def test_same_seed_same_run(small_scenario):
    cls = viz_model_class(small_scenario)
    a, b = cls(rng=4).run(6), cls(scenario=MesaScenario(), rng=4).run(6)
    pa = a.datacollector.get_model_vars_dataframe()["price_per_mtok"].to_numpy()
    pb = b.datacollector.get_model_vars_dataframe()["price_per_mtok"].to_numpy()
    assert np.array_equal(pa, pb)


# ---------------------------------------------------------------------------- charts
@pytest.mark.parametrize("key", [k for k, _, _ in charts.CHARTS])
def test_each_chart_draws_data_after_a_few_steps(small_scenario, key):
    m = viz_model_class(small_scenario)(rng=1).run(4)
    fig = charts.figure(m, key)
    ax = fig.axes[0]
    drawn = ax.lines + ax.collections + ax.patches
    assert drawn, f"{key}: nothing drawn"
    assert "no data" not in " ".join(t.get_text() for t in ax.texts)
    assert chart_png(m, key).startswith(PNG)


@pytest.mark.parametrize("key", [k for k, _, _ in charts.CHARTS])
def test_each_chart_draws_before_the_first_step(small_scenario, key):
    m = viz_model_class(small_scenario)(rng=1)
    assert chart_png(m, key).startswith(PNG)
    title = " ".join(t.get_text() for t in charts.figure(m, key).texts)
    assert title and "nan" not in title.lower(), title  # no statistics yet: say so


def test_share_chart_stacks_to_one(small_scenario):
    m = viz_model_class(small_scenario)(rng=2).run(5)
    snap = data.snapshot(m)
    assert snap.shares.shape[0] == 5
    np.testing.assert_allclose(snap.shares.sum(axis=1), 1.0)
    last = m.datacollector.get_model_vars_dataframe().iloc[-1]
    hhi = float((snap.shares.iloc[-1] ** 2).sum() * 10_000)
    assert hhi == pytest.approx(last["hhi_revenue"], rel=1e-6)


def test_chart_titles_state_the_current_figures(small_scenario):
    m = viz_model_class(small_scenario)(rng=2).run(3)
    title = " ".join(t.get_text() for t in charts.figure(m, "sizes").texts)
    assert f"bimodality {m.stats['bimodality']:.2f}" in title
    title = " ".join(t.get_text() for t in charts.figure(m, "concentration").texts)
    assert f"HHI {m.stats['hhi_revenue']:,.0f}" in title


def test_snapshot_follows_the_model(small_scenario):
    m = viz_model_class(small_scenario)(rng=2).run(2)
    first = data.snapshot(m)
    assert data.snapshot(m) is first
    m.step()
    assert data.snapshot(m).steps == 3 and len(data.snapshot(m).df) == 3


def test_lab_table_lists_every_lab(small_scenario):
    m = viz_model_class(small_scenario)(rng=3).run(4)
    rows = data.lab_rows(m)
    assert len(rows) == len(m.labs)
    assert list(rows.columns) == [c for c, _, _ in data.TABLE_COLUMNS] + ["id", "color"]
    active = rows[rows["status"] == "active"]
    assert list(active["run_rate"]) == sorted(active["run_rate"], reverse=True)
    html = data.lab_table_html(m)
    for i in range(len(m.labs)):
        assert f"<td>Lab {i + 1}</td>" in html  # numbered in order of founding, from 1
    fmt = {c: f for c, _, f in data.TABLE_COLUMNS}
    assert fmt["cash"](-2.8e-17) == "0.0" and fmt["cash"](-1.26) == "-1.3"  # never "-0.0"
    assert fmt["valuation"](0.0) == "\u2013" and fmt["valuation"](12.4) == "12"  # never raised


def test_status_names_month_year_and_regime(small_scenario):
    m = viz_model_class(small_scenario)(rng=3)
    assert data.status(m)["month"] == "Before January 2025"  # nothing run yet
    assert data.status(m.run(1))["month"] == "January 2025"  # the first month, run
    m.run(13)
    s = data.status(m)
    assert s["date"] == m.date and s["tick"] == 14
    assert s["month"] == "February 2026"  # start 2025-01, 14th month
    assert s["regime"] in ("competitive", "concentrated", "bifurcated", "consolidated")


def test_status_before_the_first_month_asks_for_a_step_unless_it_failed(small_scenario):
    from marketsim.viz.components import status_html

    m = viz_model_class(small_scenario)(rng=3)
    assert "press Step" in status_html(m)
    m.error = "RuntimeError in month 1: my pricing bug"  # as a failed first step leaves it
    html = status_html(m)
    assert "stopped: RuntimeError in month 1" in html and "press Step" not in html


@pytest.mark.parametrize(("labs", "band"), [(1, False), (6, True)])
def test_sizes_legend_names_the_middle_band_only_when_it_is_drawn(small_scenario, labs, band):
    m = viz_model_class(small_scenario)(rng=0, **{"labs.count": labs}).run(3)
    fig = charts.figure(m, "sizes")
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("middle (") for t in texts) == band
    assert (data.snapshot(m).middle_band is not None) == band


def test_custom_lab_class_is_shown(custom_scenario):
    m = viz_model_class(custom_scenario)(rng=1).run(3)
    rows = data.lab_rows(m)
    assert "BoutiqueLab" in set(rows["class"])
    assert "<td>BoutiqueLab</td>" in data.lab_table_html(m)
    fig = charts.figure(m, "shares")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("(BoutiqueLab)" in t for t in labels)


def test_sliders_cannot_go_below_what_a_mix_needs_and_a_bad_reset_is_shown(
        custom_scenario, monkeypatch):
    path = custom_scenario.with_name("mix.toml")  # 6 labs, a mix of 3 at ranks 0 and 4
    path.write_text(custom_scenario.read_text().replace("count = 5", "count = 6").replace(
        "count = 1\nranks = [0]", "count = 3\nranks = [0, 4]"))
    cls = viz_model_class(path)
    assert model_params(cls.base_scenario)["labs.count"].min == 5  # rank 4 needs 5 labs
    off_grid = slider_for("buyers.count", 3333, least=3333)  # steps of 500 from 0
    assert off_grid.min == off_grid.value == 3333
    m = cls(rng=1, **{"labs.count": 2, "hyperscalers.margin": 0.9})  # Reset, older sliders
    assert len(m.labs) == 6 and m.scenario_config.hyperscalers.margin != 0.9
    assert "labs.mix" in m.slider_error and m.error is None
    m.step()  # still runs
    from marketsim.viz.data import status

    assert "labs.mix" in status(m)["slider_error"]
    assert cls(rng=1, **{"labs.count": 7}).slider_error is None


# ---------------------------------------------------------------------------- the page
@pytest.fixture
def page(monkeypatch, small_scenario):
    """The app's Page rendered in-process (no server, no browser)."""
    from marketsim.viz import app

    monkeypatch.setenv(SCENARIO_ENV, str(small_scenario))
    app.model_class.cache_clear()
    box, rc = solara.render(app.Page(), handle_error=False)
    yield rc
    rc.close()
    app.model_class.cache_clear()


def _html(rc, css_class: str) -> str:
    found = [w for w in rc.find(solara.widgets.HTML).widgets
             if w.attributes.get("class") == css_class]
    assert len(found) == 1, css_class
    return found[0].unsafe_innerHTML


def _status(rc) -> str:
    return _html(rc, "marketsim-status")


def _lab_table(rc):
    from marketsim.viz.components import ClickableTable

    return rc.find(ClickableTable).widget


def _images(rc) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


def _sliders(rc) -> list:
    return rc.find(v.Slider).widgets


def test_page_has_controls_sliders_and_charts(page):
    from marketsim.scenario import load_scenario
    from marketsim.viz.controls import value_text

    # the small scenario's rent markup (the schema's default) with its unit, e.g. "0.8 × cost"
    margin_text = value_text("hyperscalers.margin", load_scenario().hyperscalers.margin)
    assert margin_text.endswith("\u00d7 cost")
    assert len(_sliders(page)) == len(SLIDER_KEYS)
    texts = " ".join(str(w.children) for w in page.find(v.Html).widgets)
    for label in ("VC money (x normal)", "Rent markup (cost gap)", "Switching cost",
                  "Price elasticity", "Labs at start", margin_text, "6 labs",
                  "markup of rent over owned cost"):  # value with unit, help from the schema
        assert label in texts, label
    assert page.find(v.TextField, label="Seed (0-999)").widget.v_model == "0"
    for name in ("Reset", "Step", "\u25b6 Play"):
        assert page.find(v.Btn, children=[name]).widgets
    assert len(_images(page)) == len(charts.CHARTS)
    assert "small-test" in _status(page) and "month 0 of 24" in _status(page)
    assert "regime: " in _status(page) and "none yet" in _status(page)  # no label at month 0
    assert "Labs at start 6 " in _status(page) and "seed 0 " in _status(page)


def test_step_button_moves_date_and_charts(page):
    before_images = _images(page)
    page.find(v.Btn, children=["Step"]).widget.click()
    assert "month 1 of 24" in _status(page)
    page.find(v.Btn, children=["Step"]).widget.click()
    assert "month 2 of 24" in _status(page) and "February 2025" in _status(page)
    after = _images(page)
    assert all(a != b for a, b in zip(before_images, after, strict=True))
    assert all(img.startswith(PNG) for img in after)
    checks = _html(page, "marketsim-regime-checks")
    assert "HHI of revenue, 2-month median" in checks  # the label's windowed figures


def test_slider_then_reset_rebuilds_from_the_scenario_file(page):
    labs = _sliders(page)[SLIDER_KEYS.index("labs.count")]
    labs.v_model = 9
    texts = " ".join(str(w.children) for w in page.find(v.Html).widgets)
    assert "changed from 6 labs: Reset to apply" in texts
    page.find(v.Btn, children=["Step"]).widget.click()
    page.find(v.Btn, children=["Reset"]).widget.click()
    assert "month 0 of 24" in _status(page) and "small-test" in _status(page)
    assert "Labs at start 9 " in _status(page) and "Labs at start 6 " not in _status(page)
    assert _lab_table(page).html.count("<td>active</td>") == 9
    texts = " ".join(str(w.children) for w in page.find(v.Html).widgets)
    assert "Reset to apply" not in texts


def test_step_stops_at_the_horizon_and_says_the_run_finished(page):
    for _ in range(30):
        step = page.find(v.Btn, children=["Step"]).widget
        if step.disabled:
            break
        step.click()
    assert "month 24 of 24" in _status(page) and "December 2026" in _status(page)
    assert "run finished" in _status(page)
    assert page.find(v.Btn, children=["Step"]).widget.disabled


def test_follow_a_lab_and_compare_with_the_run_before(page):
    for _ in range(3):
        page.find(v.Btn, children=["Step"]).widget.click()
    follow = page.find(v.Select, label="Follow a lab").widget
    follow.v_model = follow.items[0]
    images = _images(page)
    assert len(images) == len(charts.CHARTS) + 1  # the followed lab's chart
    assert all(img.startswith(PNG) for img in images)
    page.find(v.Btn, children=["Reset"]).widget.click()
    page.find(v.Btn, children=["Step"]).widget.click()
    from marketsim.viz import app

    assert len(_images(page)) == len(charts.CHARTS)  # a new run follows no lab yet
    fig = charts.figure(_model(page, steps=1), "concentration")
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "earlier run" in legend and app.GHOSTS >= 1


def test_a_click_on_a_labs_row_follows_that_lab(page):
    for _ in range(2):
        page.find(v.Btn, children=["Step"]).widget.click()
    table = _lab_table(page)
    rows = re.findall(r'<tr[^>]*data-lab="([^"]+)"[^>]*><td>.*?</td><td>(Lab \d+)</td>',
                      table.html)
    lab_id, name = rows[-1]  # the last row: not the one a dropdown would pick first
    table.vue_row(lab_id)  # what the browser sends for a click on that row
    caption = page.find(v.Html, class_="marketsim-followed-name").widget.children[0]
    assert caption.startswith(f"following {name} (AILab), "), caption
    assert len(_images(page)) == len(charts.CHARTS) + 1
    followed = re.findall(r'<tr class="followed" data-lab="([^"]+)"', _lab_table(page).html)
    assert followed == [lab_id]
    assert page.find(v.Select, label="Follow a lab").widget.v_model.startswith(f"{name} (")
    _lab_table(page).vue_row("no such lab")  # a stale row: nothing followed, no error
    assert len(_images(page)) == len(charts.CHARTS)


def _model(rc, steps: int | None = None):
    """The page's model after a Reset: a live model with an earlier run to compare with.

    ``steps``: only a model at that month (models of earlier tests may still be alive, e.g.
    held by a failed test's traceback).
    """
    import gc

    from marketsim.viz.vizmodel import VizMarketModel

    gc.collect()
    live = [o for o in gc.get_objects() if isinstance(o, VizMarketModel) and o.ghosts
            and (steps is None or o.steps == steps)]
    assert live
    return live[-1]


@pytest.fixture
def failing_scenario(tmp_path, monkeypatch):
    """A scenario whose user lab class raises in its third month."""
    (tmp_path / "failing_labs.py").write_text(textwrap.dedent("""
        from marketsim import AILab

        class FailingLab(AILab):
            def set_price(self):
                if self.model.steps >= 3:
                    raise RuntimeError("my pricing bug")
                return super().set_price()
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "failing.toml"
    path.write_text('name = "failing"\nhorizon = 24\n[labs]\ncount = 4\n'
                    'class = "failing_labs:FailingLab"\n[buyers]\ncount = 400\n')
    return path


def test_an_error_in_a_step_is_shown_and_reset_still_works(monkeypatch, failing_scenario,
                                                           capsys):
    from marketsim.viz import app

    monkeypatch.setenv(SCENARIO_ENV, str(failing_scenario))
    app.model_class.cache_clear()
    box, rc = solara.render(app.Page(), handle_error=False)
    try:
        for _ in range(4):
            rc.find(v.Btn, children=["Step"]).widget.click()
        status = _status(rc)
        assert "stopped: RuntimeError in month 3: my pricing bug" in status
        # the status shows the last month that ran, February, not the one that failed
        assert "month 2 of 24" in status and "February 2025" in status
        assert "my pricing bug" in capsys.readouterr().err  # the traceback, in the log
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert "month 0 of 24" in _status(rc) and "stopped" not in _status(rc)
    finally:
        rc.close()
        app.model_class.cache_clear()


def test_the_page_can_read_the_model_while_play_steps_it(small_scenario):
    """Play steps the model in a thread of its own; reading it meanwhile must not fail."""
    import threading

    model = viz_model_class(small_scenario)(rng=0, **{"buyers.count": 20_000})
    errors: list[BaseException] = []

    def play() -> None:
        try:
            while model.running:
                model.step()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    player = threading.Thread(target=play)
    player.start()
    reads = 0
    while player.is_alive():
        try:
            snap = data.snapshot(model)
            data.lab_table_html(model)
            data.status(model)
        except Exception as exc:  # noqa: BLE001 - the failure this test is about
            errors.append(exc)
            break
        assert len(snap.df) == snap.steps and len(snap.shares) == snap.steps
        reads += 1
    player.join()
    assert not errors, errors
    assert reads > 0 and model.steps == 24


# ---------------------------------------------------------------------------- the command
def test_viz_bad_scenario_exits_2_without_serving(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[labs]\ncount = -3\n")
    assert main(["viz", str(bad), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "labs.count" in err and len(err.strip().splitlines()) == 1
    assert main(["viz", str(tmp_path / "missing.toml")]) == 2


def test_viz_bad_port_exits_2(capsys):
    assert main(["viz", "--port", "70000"]) == 2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert main(["viz", "--port", str(taken)]) == 2
    assert "--port" in capsys.readouterr().err


def test_server_is_told_to_serve_assets_itself():
    from marketsim.commands.viz import server_command, server_env

    env = server_env("/x/s.toml", base={})
    assert env[SCENARIO_ENV] == "/x/s.toml"
    assert env["SOLARA_ASSETS_PROXY"] == "True"
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    cmd = server_command("127.0.0.1", 8123)
    assert "marketsim.viz.app" in cmd and "--no-check-version" in cmd and "--no-open" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "8123"


def test_server_silences_only_solaras_cookie_warning():
    """Solara's plain-http cookie warning reads like an error; other warnings still show."""
    import subprocess
    import sys

    from marketsim.commands.viz import server_env

    code = ("import warnings; warnings.warn('Cookies with samesite=none require https, but "
            "the scheme is http', UserWarning); warnings.warn('another', UserWarning)")
    env = server_env("/x/s.toml", base={"PYTHONWARNINGS": "default"})
    err = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stderr
    assert "another" in err and "samesite" not in err
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stderr
    assert "samesite" in plain


@pytest.mark.slow
def test_served_page_references_only_local_assets(small_scenario):
    """Without a browser: every script, style and font the page names is served locally."""
    import re
    import urllib.request

    from browser_util import viz_server

    with viz_server(str(small_scenario)) as url:
        html = urllib.request.urlopen(url, timeout=30).read().decode()
        refs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assets = [r for r in refs if r.endswith((".js", ".css"))]
        assert assets and all(r.startswith("/") and not r.startswith("//") for r in assets), refs
        for ref in assets:
            with urllib.request.urlopen(url.rstrip("/") + ref, timeout=30) as resp:
                assert resp.status == 200 and len(resp.read()) > 0, ref
        assert "solara.dev/static/public/success" not in html  # no check-in iframe
        # nothing loaded from elsewhere (plain <a href> links are not loaded)
        assert not re.search(r'src="(?:https?:)?//', html)
        assert not re.search(r'<link[^>]*href="(?:https?:)?//', html)


# ---------------------------------------------------------------------------- research tools
def test_regime_checks_read_the_windowed_figures_and_decide_the_label(small_scenario):
    from marketsim import metrics
    from marketsim.viz.regime import regime_checks

    m = viz_model_class(small_scenario)(rng=2)
    assert regime_checks(m) == []  # no month yet
    t = m.scenario_config.regime
    for _ in range(16):
        m.step()
        checks = regime_checks(m)
        window = m.regime_window[-t.window:]
        hhi = next(c for c in checks if c.name.startswith("HHI of revenue"))
        assert hhi.value == pytest.approx(np.median([w["hhi_revenue"] for w in window]))
        assert f"{len(window)}-month median" in hhi.name
        assert hhi.threshold == t.hhi_concentrated
        stats = metrics.window_stats(window)
        assert [(c.value, c.threshold, c.passed) for c in checks] == [
            (c.value, c.threshold, c.passed) for c in metrics.regime_checks(stats, t)]
        if len(m.active_labs()) > 0:  # the checklist holds everything the label reads
            assert m.regime == metrics.classify(stats, t)
    assert {c.feeds for c in checks} == {"consolidated", "bifurcated", "concentrated"}


def test_regime_band_colours_every_label_even_unknown_ones():
    from marketsim.viz.regime import REGIME_COLORS, regime_color

    assert regime_color("bifurcated") == REGIME_COLORS["bifurcated"]
    assert regime_color("oligopoly") == regime_color("oligopoly")
    assert regime_color("oligopoly") not in REGIME_COLORS.values()


def test_contenders_come_from_the_recent_window_and_keep_their_colour(small_scenario):
    import pandas as pd

    shares = pd.DataFrame({"a": [0.9] * 20 + [0.0] * 12, "b": [0.1] * 32,
                           "c": [0.0] * 20 + [0.9] * 12})
    assert data.contenders(shares, n=2) == ("b", "c")  # "a" led once, not lately
    shares["d"] = [0.05] * 32
    shares["e"] = [0.06] * 32
    assert data.contenders(shares, n=2, before=("b", "c")) == ("b", "c")
    assert data.contenders(shares, n=1, before=("b", "c")) == ("b", "c")  # "b" 3rd: stays
    assert data.contenders(shares, n=1, before=("b",)) == ("c",)  # the leader is named
    m = viz_model_class(small_scenario)(rng=1)
    seen: dict = {}
    for _ in range(24):
        m.step()
        snap = data.snapshot(m)
        for lab in snap.named:
            assert seen.setdefault(lab, snap.colors[lab]) == snap.colors[lab]
        named_colors = [snap.colors[lab] for lab in snap.named]
        assert len(set(named_colors)) == len(named_colors)  # no two contenders alike
    rows = data.lab_rows(m)
    for rec in rows.to_dict("records"):
        assert rec["color"] == seen.get(rec["id"], "")  # table swatch = chart colour


def test_an_exited_lab_shows_when_and_how_it_left(small_scenario):
    m = viz_model_class(small_scenario)(rng=0, **{"labs.count": 12}).run(24)
    gone = [lab for lab in m.labs if not lab.active]
    assert gone, "no lab left in this run: pick another seed"
    rows = data.lab_rows(m).set_index("id")
    for lab in gone:
        text = rows.loc[lab.unique_id, "status"]
        assert text.startswith(lab.status) and m.scenario_config.start[:2] in text
        assert rows.loc[lab.unique_id, "valuation"] == 0.0  # no value once gone
        if lab.status == "acquired":
            assert " by " in text
    from marketsim.viz.follow import lab_title

    assert lab_title(m, gone[0].unique_id).endswith(rows.loc[gone[0].unique_id, "status"])


def test_a_followed_labs_chart_holds_its_history_to_its_exit(small_scenario):
    from marketsim.viz import follow

    m = viz_model_class(small_scenario)(rng=0, **{"labs.count": 12})
    gone = None
    for _ in range(24):
        m.step()
        gone = gone or next((lab for lab in m.labs if not lab.active), None)
        if gone is not None:
            assert follow.lab_png(m, gone.unique_id).startswith(PNG)  # redrawn each month
    assert gone is not None, "no lab left in this run: pick another seed"
    hist = follow.lab_history(m, gone.unique_id)
    fig = follow.lab_figure(m, gone.unique_id)
    cash, valuation, revenue = (line.get_ydata() for line in fig.axes[0].get_lines())
    assert np.allclose(cash, hist["cash"]) and np.allclose(valuation, hist["valuation"])
    assert np.allclose(revenue, hist["revenue"] * 12)  # run rate, $bn/yr
    assert int(hist["Step"].max()) <= gone.exit_tick + 1 < m.steps  # stops at its exit
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["cash", "valuation", "revenue $bn/yr"]


def test_downloads_hold_the_run(small_scenario):
    import io

    import pandas as pd

    from marketsim.viz import export

    m = viz_model_class(small_scenario)(rng=0).run(5)
    model_csv = pd.read_csv(io.BytesIO(export.table_bytes(export.model_frame(m), "csv")))
    assert len(model_csv) == 5 and "hhi_revenue" in model_csv
    labs = pd.read_parquet(io.BytesIO(export.table_bytes(export.lab_frame(m), "parquet")))
    assert set(labs["tick"]) == set(range(5)) and labs["AgentID"].nunique() == len(m.labs)
    assert charts.chart_file(m, "shares", "png").startswith(PNG)
    assert b"<svg" in charts.chart_file(m, "compute", "svg")[:500]


def test_agent_tables_follow_vcs_and_hyperscalers(small_scenario):
    from marketsim.viz.follow import agents_html

    m = viz_model_class(small_scenario)(rng=0)
    assert "press Step" in agents_html(m)[0]
    m.run(3)
    vcs, hss = agents_html(m)
    assert vcs.count("<tr>") == len(m.vcs) + 1 and "dry powder" in vcs
    assert hss.count("<tr>") == len(m.hyperscalers) + 1 and "utilisation" in hss


def test_replay_rebuilds_a_stored_sweep_run(tmp_path):
    import json

    import pandas as pd

    from marketsim.viz.replay import load_run

    exp = tmp_path / "exp.toml"
    exp.write_text(textwrap.dedent("""
        name = "tiny"
        scenario = "small"
        horizon = 4
        replications = 1
        seed = 3
        [design]
        method = "grid"
        [parameters]
        "hyperscalers.margin" = [0.2, 1.4]
    """))
    out = tmp_path / "out"
    assert main(["sweep", str(exp), "--out", str(out), "--workers", "1"]) == 0
    runs = pd.read_parquet(out / "runs").set_index("run_id")
    sc, seed, label = load_run(out, 1)
    assert seed == runs.loc[1, "seed"] and sc.horizon == 4
    assert sc.hyperscalers.margin == runs.loc[1, "hyperscalers.margin"]
    assert "tiny" in label and "run 1" in label
    m = viz_model_class(sc, origin=label)(rng=seed).run()
    stored = runs.loc[1]
    assert m.stats["hhi_revenue"] == stored["hhi_revenue"]  # the same run, bit for bit
    assert json.loads((out / "manifest.json").read_text())["experiment_name"] == "tiny"
    assert main(["viz", "--replay", str(out), "--run", "99"]) == 2
    assert main(["viz", "--replay", str(tmp_path), "--run", "0"]) == 2
    assert main(["viz", "--replay", str(out)]) == 2
    for part in (out / "runs").iterdir():  # a sweep that has stored no run yet
        part.unlink()
    with pytest.raises(ScenarioError, match="no runs stored yet"):
        load_run(out, 1)


def test_port_check_reuses_an_address_left_in_time_wait():
    """A restart right after Ctrl-C: the old server's connections linger in TIME_WAIT."""
    from marketsim.commands.viz import _check_address

    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the server side closes first: its end goes to TIME_WAIT
        client.close()
    assert _check_address("127.0.0.1", port) == port


def test_a_setting_says_when_a_users_class_may_ignore_it(tmp_path, monkeypatch):
    from marketsim.viz.controls import custom_classes

    (tmp_path / "my_hs.py").write_text(
        "from marketsim import Hyperscaler\n\nclass FlatRent(Hyperscaler):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "hs.toml"
    path.write_text('name = "hs"\n[hyperscalers]\nclass = "my_hs:FlatRent"\n')
    monkeypatch.setenv(SCENARIO_ENV, str(path))
    from marketsim.viz import app

    app.model_class.cache_clear()
    box, rc = solara.render(app.Page(), handle_error=False)
    try:
        notes = [str(w.children) for w in rc.find(v.Html).widgets
                 if "may decide without this setting" in str(w.children)]
        assert notes == ["['FlatRent in this scenario may decide without this setting']"]
        assert custom_classes(load_scenario("default"), "hyperscalers") == []
    finally:
        rc.close()
        app.model_class.cache_clear()


def test_seed_box_takes_whole_numbers_and_applies_on_reset(page):
    seed = page.find(v.TextField, label="Seed (0-999)").widget
    seed.v_model = "-3"
    texts = " ".join(str(w.children) for w in page.find(v.Html).widgets)
    assert "seed changed" not in texts  # not a seed: the run keeps its own
    seed.v_model = "7"
    texts = " ".join(str(w.children) for w in page.find(v.Html).widgets)
    assert "seed changed from 0: Reset to apply" in texts
    page.find(v.Btn, children=["Reset"]).widget.click()
    assert "seed 7 " in _status(page)
