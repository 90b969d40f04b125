"""Solara components of the visualiser: status, regime checklist, charts, tables, downloads.

Each takes the model and its step count (a new count, or a new model, redraws it); the page
(:mod:`marketsim.viz.app`) lays them out.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import ipyvue
import solara
import traitlets

from marketsim.viz import charts, data, export, follow
from marketsim.viz.params import LABELS, SLIDER_KEYS
from marketsim.viz.regime import REGIME_COLORS, REGIME_MEANING, checklist_rows, regime_color

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

SMALL = "font-size: 12px; color: #555"


def chart_png(model: AIMarketModel, key: str) -> bytes:
    """PNG bytes of chart ``key`` (see :data:`marketsim.viz.charts.CHARTS`) for ``model`` now."""
    return charts.live_png(model, key)


@solara.component
def Chart(model: AIMarketModel, key: str, steps: int) -> None:
    """One Matplotlib chart as an image, redrawn when ``steps`` or the model changes."""
    png = solara.use_memo(lambda: chart_png(model, key), dependencies=[model, steps, key])
    solara.Image(png, width="100%", classes=["marketsim-chart", f"marketsim-chart-{key}"])


def _value(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}" if isinstance(v, float) else str(v)


def _figures(s: dict[str, Any]) -> str:
    n = s["active_labs"]
    out = [f"{n} active lab{'' if n == 1 else 's'}"]
    if s["hhi"] is not None:
        out.append(f"revenue HHI {s['hhi']:,.0f} this month")
    if s["hhi_window"] is not None:
        out.append(f"{s['hhi_window']:,.0f} median of the last {s['window']} months (the label's)")
    if s["leader_run_rate"] is not None:
        out.append(f"leader ${s['leader_run_rate']:,.1f}bn/yr")
    return " · ".join(out)


def status_html(model: AIMarketModel) -> str:
    """The status line: date, month, regime and why, headline figures, the run's settings."""
    s = data.status(model, SLIDER_KEYS)
    regime = s["regime"] or "none yet"
    waiting = "" if s["error"] else "press Step: the label needs a month of data"
    meaning = REGIME_MEANING.get(regime, waiting if not s["regime"] else "")
    settings = [f"{LABELS.get(k, 'seed' if k == 'rng' else k)} {_value(v)}"
                for k, v in s["params"].items()]
    origin = (f'<br><span class="marketsim-origin" style="font-weight:600">replaying '
              f"{escape(s['origin'])}</span>" if s["origin"] else "")
    done = (' <span class="marketsim-finished" style="font-weight:600;color:#2e7d32">'
            "run finished</span>" if s["finished"] else "")
    html = (
        f'<span class="marketsim-date" style="font-size:20px;font-weight:600">{s["month"]}'
        f'</span>&nbsp;&nbsp;<span class="marketsim-tick">month {s["tick"]} of '
        f'{s["horizon"]}</span>{done}&nbsp;&nbsp;regime: <span class="marketsim-regime" '
        f'style="font-weight:700;color:{regime_color(s["regime"])}">{escape(regime)}</span>'
        f' <span style="color:#666">({escape(meaning)})</span>'
        f'<br><span class="marketsim-figures" style="color:#333">{escape(_figures(s))}'
        f"</span>{origin}<br><span style=\"{SMALL}\">scenario <i>{escape(s['scenario'])}</i>"
        f' · <span class="marketsim-settings">this run: {escape(" · ".join(settings))}'
        "</span></span>")
    if s.get("slider_error"):
        html += (f'<br><span class="marketsim-slider-error" style="color:#b45309;'
                 f'font-weight:600">settings not applied, showing the scenario as loaded: '
                 f"{escape(s['slider_error'])}</span>")
    if s["error"]:
        html += (f'<br><span class="marketsim-error" style="color:#c62828;font-weight:600">'
                 f"stopped: {escape(s['error'])} (traceback in the server's log; Reset to "
                 "start again)</span>")
    return html


@solara.component
def StatusLine(model: AIMarketModel, steps: int) -> None:
    """:func:`status_html`, redrawn each month."""
    html = solara.use_memo(lambda: status_html(model), dependencies=[model, steps])
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["marketsim-status"],
                style="padding: 4px 8px; background: #ffffff; color: #222222; "
                      "font-size: 13.5px; line-height: 1.45")


def checklist_html(model: AIMarketModel) -> str:
    """The regime label's tests as a table (value, rule, pass/fail, the labels it decides)."""
    with data.reading(model):
        rows = checklist_rows(model)
    legend = " ".join(f'<span class="swatch" style="background:{c}"></span>&thinsp;{k}'
                      for k, c in REGIME_COLORS.items())
    if not rows:
        body = '<tr><td colspan="4">no tests yet: press Step</td></tr>'
    else:
        body = "".join(
            f'<tr class="{"pass" if r["passed"] else "fail"}"><td>{escape(r["test"])}</td>'
            f'<td class="num check-value">{escape(r["value"])}</td>'
            f'<td class="num">{escape(r["rule"])}</td>'
            f'<td>{"\u2714" if r["passed"] else "\u2718"} {escape(r["feeds"])}</td></tr>'
            for r in rows)
    return ('<table class="marketsim-labs marketsim-checks"><thead><tr><th>test of the '
            'label (figures as it reads them)</th><th>value</th><th>rule</th><th>decides</th>'
            '</tr>'
            f'</thead><tbody>{body}</tbody></table><div style="{SMALL}">band under each '
            f"time axis: the label of each month · {legend}</div>")


@solara.component
def RegimePanel(model: AIMarketModel, steps: int) -> None:
    """The checklist of the regime label's tests, redrawn each month."""
    html = solara.use_memo(lambda: checklist_html(model), dependencies=[model, steps])
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["marketsim-regime-checks"])


class ClickableTable(ipyvue.VueTemplate):
    """An HTML table whose rows say when they are clicked: ``on_row(data-lab of the row)``.

    One widget for the whole table (a widget per row would make every month's redraw
    slower); the browser finds the clicked row and sends its ``data-lab`` to :meth:`vue_row`.
    """

    template = traitlets.Unicode("""
<template>
  <div class="marketsim-lab-table" style="overflow: auto; max-height: 360px; width: 100%"
       v-html="html" @click="clicked($event)"></div>
</template>
<script>
module.exports = {
  methods: {
    clicked(event) {
      const row = event.target.closest("tr[data-lab]");
      if (row) { this.row(row.dataset.lab); }
    }
  }
}
</script>""").tag(sync=True)
    #: The table's HTML (rows carry ``data-lab``).
    html = traitlets.Unicode("").tag(sync=True)
    #: Called with the ``data-lab`` text of a clicked row (not sent to the browser).
    on_row = traitlets.Any(None)

    def vue_row(self, data: Any) -> None:
        """The browser's report of a click on a row."""
        if self.on_row is not None:
            self.on_row(str(data))


@solara.component
def LabTable(model: AIMarketModel, steps: int, lab: solara.Reactive[Any]) -> None:
    """Every lab now, its chart colour in front; exited labs greyed with how and when.

    A click on a lab's row follows that lab (see :func:`FollowLab`); its row is highlighted.
    """
    html = solara.use_memo(lambda: data.lab_table_html(model, followed=lab.value),
                           dependencies=[model, steps, lab.value])

    def on_row(lab_id: str) -> None:
        lab.set(next((x.unique_id for x in model.labs if str(x.unique_id) == lab_id), None))

    ClickableTable.element(html=html, on_row=on_row)


@solara.component
def FollowLab(model: AIMarketModel, steps: int, lab: solara.Reactive[Any]) -> None:
    """One lab's cash, valuation, revenue, price and compute over time, named above its chart.

    The lab is picked here or by a click on its row in the lab table (:func:`LabTable`).
    """
    options = solara.use_memo(lambda: {f"Lab {x.index + 1} ({x.status})": x.unique_id
                                       for x in model.labs}, dependencies=[model, steps])
    chosen = next((k for k, v in options.items() if v == lab.value), None)
    png = solara.use_memo(lambda: None if lab.value is None else follow.lab_png(model, lab.value),
                          dependencies=[model, steps, lab.value])
    solara.Select("Follow a lab", values=list(options), value=chosen,
                  on_value=lambda k: lab.set(options.get(k)), classes=["marketsim-follow"])
    if png is None:
        solara.Text("click a lab in the table below (or choose it here) to see its cash, "
                    "valuation, revenue, compute and price over time", style=SMALL)
    else:
        with data.reading(model):
            title = follow.lab_title(model, lab.value)
        solara.Text(f"following {title}", classes=["marketsim-followed-name"],
                    style="font-size: 13px; font-weight: 600")
        solara.Image(png, width="100%", classes=["marketsim-followed"])


@solara.component
def AgentTables(model: AIMarketModel, steps: int) -> None:
    """VCs (dry powder, deployed) and hyperscalers (capacity, utilisation, rent) now."""
    vcs, hss = solara.use_memo(lambda: follow.agents_html(model), dependencies=[model, steps])
    solara.HTML(tag="div", unsafe_innerHTML="<b>Venture capital</b>" + vcs)
    solara.HTML(tag="div", unsafe_innerHTML="<b>Hyperscalers</b>" + hss)


@solara.component
def Downloads(model: AIMarketModel) -> None:
    """Download the run's model and lab tables (CSV or Parquet) and any chart (PNG or SVG)."""
    stem = export.file_stem(model)
    with solara.Row(style="flex-wrap: wrap; gap: 4px", classes=["marketsim-downloads"]):
        for fmt in export.TABLE_FORMATS:
            solara.FileDownload(lambda fmt=fmt: export.table_bytes(export.model_frame(model),
                                                                   fmt),
                                filename=f"{stem}-model.{fmt}", label=f"model table {fmt}")
            solara.FileDownload(lambda fmt=fmt: export.table_bytes(export.lab_frame(model),
                                                                   fmt),
                                filename=f"{stem}-labs.{fmt}", label=f"lab table {fmt}")
        for key, _, _ in charts.CHARTS:
            for fmt in ("png", "svg"):
                solara.FileDownload(lambda key=key, fmt=fmt: charts.chart_file(model, key, fmt),
                                    filename=f"{stem}-{key}.{fmt}", label=f"{key} {fmt}")
