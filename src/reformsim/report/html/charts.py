"""Interactive charts of a run for the HTML report: Bokeh models, no server needed.

One chart per variable: each scenario's median over samples as a line (hover shows its
value and 5-95% range), with its 50% and 90% bands when the run has uncertainty. Above
the charts, controls shared by all of them: a tick box per scenario (coloured as its
lines: the legend), a tick box for the bands, and a slider for the years shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..kpis import bands, resolve_baseline

# Okabe and Ito (2008) without its pale yellow, then darker tones of Tableau 10: distinct on
# a projector. Past twelve scenarios the colours repeat with another dash pattern.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
           "#8C564B", "#9467BD", "#BCBD22", "#17BECF", "#E377C2", "#7F7F7F")
DASHES = ("solid", "dashed", "dotted", "dotdash")
BASELINE_COLOUR = "#333333"
BAND_ALPHA = {(0.05, 0.95): 0.10, (0.25, 0.75): 0.20}     # band quantiles -> fill opacity
MANY = 12        # above this many scenarios, only the baseline and the extremes start shown
EXTREMES = 5     # ... the five highest and five lowest on the first variable at the end
CHART_HEIGHT = 330
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
COLUMNS = ("q05", "q25", "median", "q75", "q95")      # their columns in a data source


@dataclass(frozen=True)
class Style:
    """How one scenario is drawn in every chart."""

    label: str
    colour: str
    dash: str
    width: float


@dataclass(frozen=True)
class Charts:
    """The Bokeh models of a report: shared controls and one chart per variable."""

    controls: Any                # a Bokeh layout
    charts: dict[str, Any]       # variable -> figure
    shown: tuple[str, ...]       # scenarios visible when the page opens


def styles(ds: xr.Dataset) -> dict[str, Style]:
    """Colour and dash per scenario: the baseline dark grey and thicker, the others in order."""
    base = resolve_baseline(ds)
    labels = ds["label"].values if "label" in ds.coords else ds["scenario"].values
    out, i = {}, 0
    for name, label in zip(map(str, ds["scenario"].values), map(str, labels)):
        if name == base:
            out[name] = Style(label, BASELINE_COLOUR, "solid", 3.0)
            continue
        out[name] = Style(label, PALETTE[i % len(PALETTE)],
                          DASHES[(i // len(PALETTE)) % len(DASHES)], 2.2)
        i += 1
    return out


def initially_shown(ds: xr.Dataset, variables: Sequence[str]) -> tuple[str, ...]:
    """Every scenario, or for many the baseline and the extremes on the first variable."""
    names = [str(s) for s in ds["scenario"].values]
    if len(names) <= MANY or not variables:
        return tuple(names)
    final = bands(ds, variables[0], (0.5,)).isel(quantile=0, time=-1).values
    order = [names[i] for i in np.argsort(np.nan_to_num(final, nan=-np.inf))]
    keep = {resolve_baseline(ds), *order[:EXTREMES], *order[-EXTREMES:]}
    return tuple(n for n in names if n in keep)


def make_charts(ds: xr.Dataset, variables: Sequence[str]) -> Charts:
    """Bokeh figures of ``variables`` and the controls that toggle their scenarios."""
    from bokeh.models import Range1d

    look = styles(ds)
    times = ds["time"].values.astype(float)
    x_range = Range1d(float(times[0]), float(times[-1]))     # shared: one year range for all
    uncertain = ds.sizes["sample"] > 1
    sources = _sources(ds, variables, look, times)
    charts, lines, areas = {}, {s: [] for s in look}, {s: [] for s in look}
    for n, variable in enumerate(variables):
        charts[variable] = _chart(ds, variable, n, look, sources, x_range, uncertain, lines,
                                  areas)
    shown = initially_shown(ds, variables)
    for scenario in look:
        for renderer in lines[scenario] + areas[scenario]:
            renderer.visible = scenario in shown
    controls = _controls(look, shown, lines, areas, x_range, times, uncertain)
    return Charts(controls, charts, shown)


def _sources(ds: xr.Dataset, variables: Sequence[str], look: dict[str, Style],
             times: np.ndarray) -> dict[str, Any]:
    """One data source per scenario, shared by its lines and bands in every chart: its time,
    label, and per variable (the n-th) its quantiles ``q05_n`` ... ``q95_n`` and ``median_n``.
    (One source per line and chart made a report's page three times as many Bokeh models,
    which Bokeh builds, walks and writes in Python.)"""
    from bokeh.models import ColumnDataSource

    columns: dict[str, dict[str, Any]] = {
        scenario: {"time": times, "label": [style.label] * len(times)}
        for scenario, style in look.items()}
    for n, variable in enumerate(variables):
        quantiles = bands(ds, variable, QUANTILES).values.astype(np.float32)  # 7 digits: plenty
        for s, scenario in enumerate(look):
            q = quantiles[s]
            columns[scenario] |= {f"{name}_{n}": q[i] for i, name in enumerate(COLUMNS)}
    return {scenario: ColumnDataSource(data) for scenario, data in columns.items()}


def _chart(ds: xr.Dataset, variable: str, n: int, look: dict[str, Style],
           sources: dict[str, Any], x_range: Any, uncertain: bool, lines: dict[str, list],
           areas: dict[str, list]) -> Any:
    from bokeh.models import HoverTool, Line, VArea
    from bokeh.plotting import figure

    units = str(ds[variable].attrs.get("units", ""))
    time_units = str(ds["time"].attrs.get("units", "")) or "time"
    fig = figure(height=CHART_HEIGHT, sizing_mode="stretch_width", x_range=x_range,
                 tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="right",
                 x_axis_label=time_units, y_axis_label=units or None, name=f"chart:{variable}")
    fig.xgrid.grid_line_alpha = 0.4
    fig.ygrid.grid_line_alpha = 0.4
    drawn = []
    for scenario, style in look.items():
        source = sources[scenario]
        # add_glyph, not fig.line: 2.5 times cheaper per renderer, and a report has hundreds
        if uncertain:
            for (lo, hi), alpha in BAND_ALPHA.items():
                areas[scenario].append(fig.add_glyph(source, VArea(
                    x="time", y1=f"q{round(lo * 100):02d}_{n}", y2=f"q{round(hi * 100):02d}_{n}",
                    fill_color=style.colour, fill_alpha=alpha)))
        line = fig.add_glyph(source, Line(x="time", y=f"median_{n}", line_color=style.colour,
                                          line_dash=style.dash, line_width=style.width),
                             name=f"line:{variable}:{scenario}")
        lines[scenario].append(line)
        drawn.append(line)
    tips = [("scenario", "@label"), (time_units, "@time{0.[00]}"),
            ("median", f"@median_{n}{{0,0.[000]}}")]
    if uncertain:
        tips.append(("5-95%", f"@q05_{n}{{0,0.[000]}} to @q95_{n}{{0,0.[000]}}"))
    fig.add_tools(HoverTool(renderers=drawn, tooltips=tips))
    return fig


_TOGGLE = """
const shown = new Set(scenarios.active);
const banded = bands === null || bands.active.includes(0);
for (let s = 0; s < lines.length; s++) {
  for (const r of lines[s]) r.visible = shown.has(s);
  for (const r of areas[s]) r.visible = shown.has(s) && banded;
}
"""


def _controls(look: dict[str, Style], shown: tuple[str, ...], lines: dict[str, list],
              areas: dict[str, list], x_range: Any, times: np.ndarray, uncertain: bool) -> Any:
    from bokeh.layouts import column, row
    from bokeh.models import Button, CheckboxGroup, CustomJS, InlineStyleSheet, RangeSlider

    names = list(look)
    scenarios = CheckboxGroup(labels=[look[n].label for n in names], name="scenarios",
                              active=[i for i, n in enumerate(names) if n in shown],
                              inline=True, stylesheets=[InlineStyleSheet(css=_swatches(look))])
    band_toggle = CheckboxGroup(labels=["show uncertainty bands (50% and 90% of samples)"],
                                active=[0], name="bands") if uncertain else None
    toggle = CustomJS(args={"scenarios": scenarios, "bands": band_toggle,
                            "lines": [lines[n] for n in names],
                            "areas": [areas[n] for n in names]}, code=_TOGGLE)
    scenarios.js_on_change("active", toggle)
    everything = Button(label="Show all scenarios", name="show-all", width=170)
    everything.js_on_event("button_click", CustomJS(
        args={"scenarios": scenarios}, code="scenarios.active = [...scenarios.labels.keys()]"))
    years = RangeSlider(start=float(times[0]), end=float(times[-1]), name="years",
                        value=(float(times[0]), float(times[-1])), step=_step(times),
                        title="Years shown", sizing_mode="stretch_width")
    years.js_link("value", x_range, "start", attr_selector=0)
    years.js_link("value", x_range, "end", attr_selector=1)
    widgets = [scenarios, row(everything, *([band_toggle] if band_toggle else []))]
    if band_toggle is not None:
        band_toggle.js_on_change("active", toggle)
    return column(*widgets, years, sizing_mode="stretch_width", name="controls")


def _swatches(look: dict[str, Style]) -> str:
    """CSS giving each scenario's tick box a bar in its colour: the charts' legend."""
    rules = [f"label:nth-child({i}) span {{ border-left: 18px solid {s.colour}; "
             "padding-left: 5px; }" for i, s in enumerate(look.values(), start=1)]
    return (".bk-input-group { flex-wrap: wrap; row-gap: 4px; }\n"
            "label { margin-right: 14px; }\n" + "\n".join(rules))


def _step(times: np.ndarray) -> float:
    return float(np.min(np.diff(times))) if len(times) > 1 else 1.0
