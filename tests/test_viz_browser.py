"""End to end: `marketsim viz` in headless Debian Chromium, driven by Playwright, offline.

A researcher's session at 1440x900: the page titled for marketsim with none of Mesa's
leftovers, the regime label with its checklist of windowed tests, Step and Play, a lab
followed (a click on its row), a setting changed and applied, a table downloaded, then a
stored sweep run replayed. The browser may only talk to 127.0.0.1: every request URL is
recorded and checked.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from browser_util import (
    browser_page,
    chart_pixels,
    click_button,
    ensure_chromium,
    foreign_hosts,
    status_text,
    step_months,
    viz_server,
    wait_charts_changed,
    wait_loaded,
    wait_still,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

STATUS_JS = "document.querySelector('.marketsim-status').innerText"


@pytest.fixture(scope="session")
def chromium() -> str:
    pytest.importorskip("playwright.sync_api")
    path = ensure_chromium()
    if path is None:
        pytest.skip("Debian chromium is missing and cannot be installed (apt-get as root)")
    return path


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """Default market, fewer buyers (fast), one lab of a user's own class."""
    (tmp_path / "browser_labs.py").write_text(textwrap.dedent("""
        from marketsim import AILab

        class UserLab(AILab):
            '''A user's own lab class, unknown to marketsim.'''
    """))
    path = tmp_path / "browser.toml"
    path.write_text(textwrap.dedent("""
        name = "browser-test"
        horizon = 60
        [labs]
        count = 8
        [[labs.mix]]
        class = "browser_labs:UserLab"
        count = 1
        ranks = [0]
        [buyers]
        count = 2000
    """))
    return path


def _first_look(page) -> None:  # noqa: ANN001
    """Title, no Mesa leftovers, controls, settings with units and help, charts, table."""
    assert page.title().startswith("marketsim viz")
    body = page.locator("body").inner_text()
    for leftover in ("PAGE 0", "Information", "Time:", "Render Interval"):
        assert leftover not in body, leftover
    for name in ("Reset", "\u25b6 Play", "Step"):
        assert page.get_by_role("button", name=name, exact=True).is_visible()
    assert page.locator(".v-slider").count() == 6
    from marketsim.scenario import load_scenario
    from marketsim.viz.controls import value_text

    margin = value_text("hyperscalers.margin", load_scenario("default").hyperscalers.margin)
    for text in ("VC money (x normal)", margin, "8 labs", "2,000 buyers",
                 "markup of rent over owned cost"):
        assert text in body, text
    assert page.locator("img.marketsim-chart").count() == 5
    # the key charts sit above the fold at 1440x900
    for key in ("shares", "compute", "sizes"):
        box = page.locator(f"img.marketsim-chart-{key}").bounding_box()
        assert box["y"] + box["height"] <= 900, (key, box)
    assert "UserLab" in page.locator(".marketsim-lab-table").inner_text()
    first = status_text(page)
    assert "January 2025" in first and "month 0 of 60" in first and "browser-test" in first


def _regime_is_explained(page) -> None:  # noqa: ANN001
    """The checklist shows the windowed HHI the status line names as the label's."""
    status = status_text(page)
    label = page.locator(".marketsim-regime").inner_text()
    assert label in ("competitive", "concentrated", "bifurcated", "consolidated"), label
    windowed = re.search(r"([\d,]+) median of the last (\d+) months \(the label's\)", status)
    assert windowed, status
    checks = page.locator(".marketsim-regime-checks")
    row = checks.locator("tr", has_text=f"HHI of revenue, {windowed[2]}-month median")
    assert row.locator(".check-value").inner_text() == windowed[1]
    assert checks.locator("tr.pass, tr.fail").count() >= 5


def _follow_a_lab(page) -> None:  # noqa: ANN001
    """A click on a lab's row follows it; the dropdown follows another."""
    row = page.locator(".marketsim-lab-table tr[data-lab]").nth(2)
    name = row.locator("td").nth(1).inner_text()
    row.click()
    caption = page.locator(".marketsim-followed-name")
    caption.wait_for(timeout=30_000)
    assert caption.inner_text().startswith(f"following {name} ("), (name, caption.inner_text())
    page.wait_for_function("() => { const i = document.querySelector('img.marketsim-followed');"
                           " return i && i.complete && i.naturalWidth > 100; }")
    followed = page.locator(".marketsim-lab-table tr.followed")
    assert followed.count() == 1 and followed.locator("td").nth(1).inner_text() == name
    page.locator(".marketsim-follow").click()
    option = page.get_by_role("option").first
    other = option.inner_text().split(" (")[0]
    option.click()
    page.wait_for_function("n => document.querySelector('.marketsim-followed-name')"
                           ".innerText.startsWith(`following ${n} (`)", arg=other)


def _download(page, tmp_path: Path) -> None:  # noqa: ANN001
    with page.expect_download(timeout=30_000) as info:
        click_button(page, "model table csv")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    month = int(re.search(r"month (\d+) of", status_text(page))[1])
    lines = path.read_text().strip().splitlines()
    assert lines[0].startswith("active_labs,") and len(lines) == month + 1


def _play_pause(page) -> None:  # noqa: ANN001
    click_button(page, "\u25b6 Play")
    page.wait_for_function(f"() => /month (1[6-9]|[2-5][0-9]|60) of 60/.test({STATUS_JS})",
                           timeout=60_000)
    click_button(page, "\u275a\u275a Pause")
    page.get_by_role("button", name="\u25b6 Play", exact=True).wait_for()
    wait_still(page, STATUS_JS)
    assert "run finished" not in status_text(page)  # stopped by the pause, not the horizon


def _change_then_reset(page) -> None:  # noqa: ANN001
    slider = page.locator(".marketsim-setting").filter(has_text="Labs at start").locator(
        "[role=slider]")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    assert slider.get_attribute("aria-valuenow") == "11"
    page.get_by_text("changed from 8 labs: Reset to apply").wait_for()
    before = status_text(page)
    click_button(page, "Reset")
    page.wait_for_function(f"b => {STATUS_JS} !== b", arg=before)
    assert "month 0 of 60" in status_text(page) and "Labs at start 11" in status_text(page)
    assert page.get_by_text("Reset to apply").count() == 0


def _sweep(tmp_path: Path) -> Path:
    from marketsim.cli import main

    exp = tmp_path / "exp.toml"
    exp.write_text('name = "browser-sweep"\nscenario = "small"\nhorizon = 4\n'
                   'replications = 1\nseed = 5\n[design]\nmethod = "grid"\n'
                   '[parameters]\n"hyperscalers.margin" = [0.3, 1.2]\n')
    out = tmp_path / "sweep"
    assert main(["sweep", str(exp), "--out", str(out), "--workers", "1"]) == 0
    return out


def test_visualiser_in_headless_chromium(chromium, scenario, tmp_path):
    env = {"PYTHONPATH": str(scenario.parent)}
    errors: list[str] = []
    with viz_server(str(scenario), env=env, log=tmp_path / "server.log") as url, \
            browser_page(chromium) as (page, requests):
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_loaded(page)
        _first_look(page)

        pictures = chart_pixels(page)
        step_months(page, 13)  # a full 12-month window for the label
        wait_charts_changed(page, pictures)
        assert "January 2026" in status_text(page)
        _regime_is_explained(page)
        _follow_a_lab(page)
        _download(page, tmp_path)
        _play_pause(page)
        _change_then_reset(page)
        assert not errors, errors

    out = _sweep(tmp_path)
    with viz_server(None, args=["--replay", str(out), "--run", "1"]) as url, \
            browser_page(chromium) as (page, replay_requests):
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_loaded(page)
        origin = page.locator(".marketsim-origin").inner_text()
        assert "sweep 'browser-sweep' run 1" in origin and "hyperscalers.margin = 1.2" in origin
        assert "browser-sweep" in page.title()
        step_months(page, 4)
        assert "run finished" in status_text(page)
        requests += replay_requests
    assert not errors, errors
    hosts = foreign_hosts(requests)
    assert not hosts, f"the page contacted {hosts}"
    assert any("/_solara/cdn/" in u for u in requests), "front-end assets not served locally"
    assert any(u.startswith("ws://127.0.0.1:") for u in requests), "no websocket recorded"
