"""End to end: `marketsim viz` in headless Debian Chromium, driven by Playwright, offline.

The browser may only talk to 127.0.0.1: every request URL is recorded and checked. Chromium
is installed with apt-get when missing (session fixture); the test skips only when that is
impossible (no apt-get, not root, no network to the Debian mirror).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from browser_util import (
    chart_pixels,
    click_button,
    ensure_chromium,
    foreign_hosts,
    status_text,
    viz_server,
    wait_charts_changed,
    wait_loaded,
    wait_still,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


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
        horizon = 36
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


def _wait_changed(page, before: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "b => { const s = document.querySelector('.marketsim-status');"
        " return s && s.innerText !== b; }", arg=before, timeout=timeout)


def test_visualiser_in_headless_chromium(chromium, scenario, tmp_path):
    from browser_util import browser_page

    log = tmp_path / "server.log"
    env = {"PYTHONPATH": str(scenario.parent)}
    with viz_server(str(scenario), env=env, log=log) as url, \
            browser_page(chromium) as (page, requests):
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_loaded(page)

        # controls, sliders, charts, lab table, status line
        for name in ("Reset", "Step"):
            assert page.get_by_role("button", name=name, exact=True).is_visible()
        assert page.locator(".v-slider").count() >= 7  # 2 of Mesa's + seed + 6 parameters
        for label in ("VC money (x normal)", "Rent markup (cost gap)", "Switching cost",
                      "Price elasticity", "Labs at start", "Seed"):
            assert page.get_by_text(label, exact=True).count() >= 1, label
        assert page.locator("img.marketsim-chart").count() == 5
        assert page.locator("img.marketsim-chart").first.evaluate("e => e.naturalWidth") > 100
        table = page.locator(".marketsim-lab-table")
        assert "UserLab" in table.inner_text()  # the user's own class, shown as is
        first = status_text(page)
        assert "January 2025" in first and "month 0 of 36" in first
        assert "browser-test" in first

        # Step: the tick, the date and every chart change
        pictures = chart_pixels(page)
        assert all(pictures.values()), pictures
        for months in range(1, 3):
            before = status_text(page)
            click_button(page, "Step")
            _wait_changed(page, before)
            assert f"month {months} of 36" in status_text(page)
        wait_charts_changed(page, pictures)
        assert "February 2025" in status_text(page)

        # Play runs months on its own until paused
        click_button(page, "\u25b6")
        page.wait_for_function(
            "() => /month ([5-9]|[1-3][0-9]) of 36/.test("
            "document.querySelector('.marketsim-status').innerText)", timeout=60_000)
        click_button(page, "\u275a\u275a")
        page.get_by_role("button", name="Step", exact=True).wait_for()
        # a month under way when paused may still arrive
        wait_still(page, "document.querySelector('.marketsim-status').innerText")
        paused = status_text(page)
        assert "month 36 of 36" not in paused  # stopped by the pause, not by the horizon
        page.wait_for_timeout(1500)
        assert status_text(page) == paused  # paused: no more months

        # move a slider (keyboard on the 'Labs at start' slider), then Reset applies it
        slider = page.locator(".v-input").filter(has_text="Labs at start").locator(
            "[role=slider]")
        slider.focus()
        for _ in range(4):
            slider.press("ArrowRight")
        assert slider.get_attribute("aria-valuenow") == "12"
        before = status_text(page)
        click_button(page, "Reset")
        _wait_changed(page, before)
        assert "month 0 of 36" in status_text(page)
        page.wait_for_function(
            "() => (document.querySelector('.marketsim-lab-table').innerText"
            ".match(/\\bactive\\b/g) || []).length === 12", timeout=30_000)
        before = status_text(page)
        click_button(page, "Step")
        _wait_changed(page, before)
        assert "month 1 of 36" in status_text(page)

        assert not errors, errors
    hosts = foreign_hosts(requests)
    assert not hosts, f"the page contacted {hosts}"
    assert any("/_solara/cdn/" in u for u in requests), "front-end assets not served locally"
    assert any(u.startswith("ws://127.0.0.1:") for u in requests), "no websocket recorded"
