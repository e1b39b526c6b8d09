"""The explorer's page: a Bokeh document per browser tab, driven by an Explorer.

Left: the preset, a reset button, uncertainty bands on request, the KPIs to chart, and a
slider per lever. Right: one chart per KPI, this roadmap against the baseline. A slider's
release (``value_throttled``) runs one simulation and pushes only the new curves; the page
measures the time from release to the redrawn chart itself (``window.reformsimLatencies``,
shown under the charts), the server logs the simulation's share of it.
"""

from __future__ import annotations

import logging
import warnings
from html import escape
from typing import Any

from ..errors import ReformsimError, ReformsimWarning
from ..report.html.page import number, percent
from .levers import Lever
from .session import Curves, Explorer, Move

LOG = logging.getLogger("reformsim.explore")
NOW, BASE = "#0072B2", "#555555"       # this roadmap (Okabe-Ito blue), the baseline (grey)
COLUMNS = 2                            # charts per row
LEVERS_HEIGHT = 470                    # pixels; the levers scroll inside
_MOVED = "window.reformsimMoved = performance.now();"
_DRAWN = """
const started = window.reformsimMoved;
if (started === undefined) return;
window.reformsimMoved = undefined;
// the new data is in the page now; it is on screen two frames later (the first frame's
// callbacks run before the browser paints, the second's after)
(window.reformsimArrivals = window.reformsimArrivals || []).push(performance.now() - started);
requestAnimationFrame(() => requestAnimationFrame(() => {
  const ms = performance.now() - started;
  (window.reformsimLatencies = window.reformsimLatencies || []).push(ms);
  latency.text = `redrawn ${Math.round(ms)} ms after the release`;
}));
"""


def build(doc: Any, explorer: Explorer) -> None:
    """Fill a new browser tab's document (Bokeh server calls this once per tab)."""
    page = Page(explorer)
    doc.add_root(page.layout)
    doc.title = f"{explorer.model.source.stem}: explorer"
    page.attach(doc)


class Page:
    """One tab: its widgets, the preset and moved levers, and the redraw."""

    def __init__(self, explorer: Explorer) -> None:
        from bokeh.models import Button, CheckboxGroup, CustomJS, Div, MultiChoice, Select

        self.explorer, self.doc = explorer, None
        self.preset, self.moved = explorer.start, {}
        self.timer = moved = CustomJS(code=_MOVED)   # a user's action starts the clock
        presets = [(name, s.title) for name, s in explorer.presets.items()]
        self.select = Select(title="Start from", options=presets, value=self.preset,
                             name="preset")
        self.reset = Button(label="Reset the levers", name="reset", width=150)
        self.bands = CheckboxGroup(labels=[f"uncertainty bands ({explorer.samples} samples)"],
                                   active=[], name="bands", disabled=explorer.samples < 2)
        self.kpis = MultiChoice(title="Charts", options=list(explorer.variables),
                                value=list(explorer.default_kpis), name="kpis")
        for widget, event in ((self.select, "value"), (self.bands, "active"),
                              (self.kpis, "value")):
            widget.js_on_change(event, moved)
        self.reset.js_on_event("button_click", moved)
        self.sliders: dict[str, Any] = {}   # lever -> its slider, made anew for each preset
        self.levers = _column([], "levers")
        self.status = Div(text="", name="status", styles={"color": "#444"})
        self.latency = Div(text="", name="latency", styles={"color": "#777"})
        self.status.js_on_change("text", CustomJS(args={"latency": self.latency}, code=_DRAWN))
        self.charts: dict[str, Chart] = {}
        self.shown: tuple[str, ...] = ()    # the KPIs the grid holds
        self.grid = _column([], "charts")
        self.layout = self._layout()
        self.runs = 0

    def attach(self, doc: Any) -> None:
        """Wire the Python callbacks, set the sliders to the preset and draw."""
        self.doc = doc
        self.select.on_change("value", lambda attr, old, new: self.start_from(new))
        self.reset.on_click(lambda: self.start_from(self.preset))
        self.bands.on_change("active", lambda attr, old, new: self.redraw())
        self.kpis.on_change("value", lambda attr, old, new: self.redraw())
        self.start_from(self.preset)

    def start_from(self, preset: str) -> None:
        """New sliders at the preset's values (a slider's last release value cannot be set
        from the server, so moving a slider back to it would go unnoticed); forget the moves."""
        self.preset, self.moved = preset, {}
        values, scheduled = self.explorer.lever_values(preset), self.explorer.scheduled(preset)
        self.sliders = {lever.name: _slider(lever, values[lever.name], lever.name in scheduled,
                                            self.timer)
                        for lever in self.explorer.levers}
        for name, slider in self.sliders.items():
            slider.on_change("value_throttled", self._lever_moved(name))
        self.levers.children = [_with_help(self.sliders[lever.name], lever)
                                for lever in self.explorer.levers]
        self.redraw()

    def _lever_moved(self, name: str) -> Any:
        def moved(attr: str, old: Any, new: Any) -> None:
            self.moved[name] = float(new)
            self.redraw()
        return moved

    def redraw(self) -> None:
        """One simulation of the preset with the moved levers; push the curves."""
        kpis = self.explorer.check_kpis(self.kpis.value or self.explorer.default_kpis[:1])
        move = Move(self.preset, dict(self.moved), kpis, bool(self.bands.active))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ReformsimWarning)
                now = self.explorer.curves(move)
                base = self.explorer.baseline_curves(kpis, move.bands)
        except ReformsimError as exc:
            self.status.text = f"<b>Could not run this:</b> {escape(str(exc))}"
            return
        self.runs += 1
        LOG.info("move %d (%s, %d moved): %d member(s) simulated in %.0f ms", self.runs,
                 self.preset, len(self.moved), now.members, 1000 * now.seconds)
        self._push(kpis, now, base, move.bands, [str(w.message) for w in caught])

    def _push(self, kpis: tuple[str, ...], now: Curves, base: Curves, bands: bool,
              problems: list[str]) -> None:
        for kpi in kpis:
            if kpi not in self.charts:
                self.charts[kpi] = Chart(kpi, self.explorer)
        if self.doc is not None:
            self.doc.hold("combine")   # one message to the browser for the whole redraw
        try:
            for kpi in kpis:
                self.charts[kpi].show(now, base, kpi, bands)
            if kpis != self.shown:
                figures = [self.charts[k].figure for k in kpis]
                self.grid.children = [_row(figures[i:i + COLUMNS])
                                      for i in range(0, len(figures), COLUMNS)]
                self.shown = kpis
            self.status.text = self._status(now, problems)   # last: the page times from it
        finally:
            if self.doc is not None:
                self.doc.unhold()

    def _status(self, now: Curves, problems: list[str]) -> str:
        moved = ", ".join(f"{escape(n)} = {v:g}" for n, v in self.moved.items()) or "none"
        warning = f"<br><b>Warning:</b> {escape(problems[0])}" if problems else ""
        return (f"Run {self.runs}: {now.members} member{'s' * (now.members != 1)} simulated in "
                f"{1000 * now.seconds:.0f} ms. Levers moved from the preset: {moved}.{warning}")

    def _layout(self) -> Any:
        from bokeh.layouts import column, row
        from bokeh.models import Div, ScrollBox

        explorer = self.explorer
        base = explorer.presets[explorer.baseline].title
        head = Div(text=f"<h2 style='margin:0'>{escape(explorer.model.source.stem)}: explorer"
                        "</h2><p style='margin:4px 0'>Start from a preset and move a lever: the "
                        "charts redraw against the baseline, "
                        f"<span style='color:{BASE}'>- - {escape(base)}</span>; "
                        f"<span style='color:{NOW}'>&#9472;&#9472; this roadmap</span>.</p>",
                   sizing_mode="stretch_width")
        controls = column(self.select, row(self.reset, self.bands), self.kpis,
                          Div(text="<b>Levers</b> (a slider's ? tells what it is)"),
                          ScrollBox(child=self.levers, height=LEVERS_HEIGHT, width=370,
                                    vertical_scrollbar="auto", horizontal_scrollbar="hidden"),
                          width=380, name="controls")
        charts = column(self.status, self.grid, self.latency, sizing_mode="stretch_width")
        return column(head, row(controls, charts, sizing_mode="stretch_width"),
                      sizing_mode="stretch_width")


class Chart:
    """One KPI's figure: the baseline and this roadmap, with 5-95% bands on request."""

    def __init__(self, kpi: str, explorer: Explorer) -> None:
        from bokeh.models import ColumnDataSource, HoverTool
        from bokeh.plotting import figure

        units = explorer.units(kpi)
        self.base = ColumnDataSource({"time": [], "median": [], "low": [], "high": []})
        self.now = ColumnDataSource({"time": [], "median": [], "low": [], "high": [],
                                     "base": []})
        self.figure = figure(height=290, sizing_mode="stretch_width", title=kpi,
                             tools="pan,wheel_zoom,box_zoom,reset,save", name=f"chart:{kpi}",
                             y_axis_label=units or None, x_axis_label=explorer.time_units)
        self.bands = [self.figure.varea("time", "low", "high", source=s, fill_color=c,
                                        fill_alpha=a, name=f"band:{which}:{kpi}")
                      for s, c, a, which in ((self.base, BASE, 0.15, "base"),
                                             (self.now, NOW, 0.22, "now"))]
        self.figure.line("time", "median", source=self.base, line_color=BASE, line_width=2.5,
                         line_dash="dashed")
        line = self.figure.line("time", "median", source=self.now, line_color=NOW,
                                line_width=3, name=f"now:{kpi}")
        self.shown_base: Curves | None = None   # the baseline the browser holds
        self.figure.add_tools(HoverTool(renderers=[line], mode="vline", tooltips=[
            ("time", "@time{0.[00]}"), ("this roadmap", "@median{0,0.[000]}"),
            ("baseline", "@base{0,0.[000]}")]))

    def show(self, now: Curves, base: Curves, kpi: str, bands: bool) -> None:
        """Push what changed: a lever's move sends this roadmap's columns only (the time
        column and the baseline stay in the browser)."""
        if base is not self.shown_base:
            self.base.data = {"time": base.time, "median": base.median[kpi],
                              "low": base.low[kpi], "high": base.high[kpi]}
            self.now.data = {"time": now.time, "median": now.median[kpi], "low": now.low[kpi],
                             "high": now.high[kpi], "base": base.median[kpi]}
            self.shown_base = base
        else:
            self.now.data.update(median=now.median[kpi], low=now.low[kpi], high=now.high[kpi])
        for band in self.bands:
            if band.visible != bands:
                band.visible = bands
        end, ref = float(now.median[kpi][-1]), float(base.median[kpi][-1])
        change = f", {percent(100 * (end - ref) / abs(ref))} on the baseline" if ref else ""
        self.figure.title.text = f"{kpi}: {number(end)} in {now.time[-1]:g}{change}"


def _slider(lever: Lever, value: float, scheduled: bool, moved: Any) -> Any:
    from bokeh.models import Slider

    slider = Slider(start=lever.low, end=lever.high, step=lever.step, value=value,
                    title=_title(lever, scheduled), name=f"lever:{lever.name}", width=300,
                    format="0[.][0000]")
    slider.js_on_change("value_throttled", moved)
    return slider


def _with_help(slider: Any, lever: Lever) -> Any:
    """The slider and a ? button whose tooltip is the lever's documentation and range."""
    from bokeh.layouts import row
    from bokeh.models import HelpButton, Tooltip

    where = "the model's documented range" if lever.documented else \
        "assumed (the model documents none; see docs/explore.md)"
    text = f"{lever.documentation} Range {lever.low:g} to {lever.high:g}: {where}.".strip()
    return row(slider, HelpButton(tooltip=Tooltip(content=text, position="right"),
                                  width=30, height=28, margin=(14, 0, 0, 4)))


def _title(lever: Lever, scheduled: bool) -> str:
    units = f" [{lever.units}]" if lever.units else ""
    return f"{lever.name}{units}" + (" (scheduled; moving it sets it from the start)"
                                     if scheduled else "")


def _row(children: list[Any]) -> Any:
    from bokeh.layouts import row

    return row(*children, sizing_mode="stretch_width")


def _column(children: list[Any], name: str, **options: Any) -> Any:
    from bokeh.layouts import column

    return column(*children, name=name, sizing_mode="stretch_width", **options)
