"""Slide-ready charts of a results Dataset, with matplotlib's object-oriented API only.

Axes-level functions (``plot_variable``, ``plot_fan``) draw one variable into an Axes;
figure-level functions (``plot_lines``, ``plot_fans``, ``plot_grid``, listed in ``KINDS``)
lay several variables out as small multiples with one legend. No pyplot, no global state:
figures are ``matplotlib.figure.Figure`` objects saved with ``save_figure``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..errors import ReformsimError, printable
from .kpis import bands, resolve_baseline, sample_values

# Okabe & Ito (2008), colour-blind safe; black is kept for the baseline, yellow comes last
# because it is faint on white.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
BASELINE_COLOUR = "#333333"
# Dotted is kept for change-start markers.
LINESTYLES: tuple[Any, ...] = ("--", "-.", (0, (6, 2, 1, 2, 1, 2)), (0, (9, 3)), (0, (3, 2)))
LINE_WIDTH = 2.5
FONT = {"title": 14, "label": 13, "ticks": 12, "legend": 12, "suptitle": 17}
FIGSIZE = (12.0, 7.0)
FAN_ALPHA = {0.9: 0.13, 0.5: 0.28}          # band coverage -> fill opacity
CHANGE_GID = "change_start"                 # gid prefix of change-start markers


class PlotError(ReformsimError):
    """A plot request cannot be drawn or saved as asked."""


@dataclass(frozen=True)
class ScenarioStyle:
    """How one scenario is drawn in every chart of a Dataset."""

    label: str
    color: str
    linestyle: Any


def scenario_styles(ds: xr.Dataset) -> dict[str, ScenarioStyle]:
    """Colour and line style per scenario: the baseline dark grey and solid, the others in order."""
    base = resolve_baseline(ds)
    labels = ds["label"].values if "label" in ds.coords else ds["scenario"].values
    styles, i = {}, 0
    for name, label in zip(map(str, ds["scenario"].values), map(str, labels)):
        if name == base:
            styles[name] = ScenarioStyle(_plain(label), BASELINE_COLOUR, "-")
            continue
        styles[name] = ScenarioStyle(_plain(label), OKABE_ITO[i % len(OKABE_ITO)],
                                     LINESTYLES[i % len(LINESTYLES)])
        i += 1
    return styles


def _plain(text: object) -> str:
    """Text from a model or scenario file, shown literally ("$" would start mathtext) and
    without control characters (no font has glyphs for them)."""
    return printable(text).replace("$", r"\$")


def _new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    return Figure(figsize=figsize, layout="constrained")


def _time_label(ds: xr.Dataset) -> str:
    units = ds["time"].attrs.get("units", "")
    return f"time [{_plain(units)}]" if units else "time"


def _change_markers(ax: Axes, ds: xr.Dataset, scenarios: Sequence[str] | None = None) -> None:
    """A dotted vertical line where scenarios' changes start: in the scenario's colour, or
    dark grey where several scenarios start together (stacked colours would show only one)."""
    if "change_start" not in ds.coords:
        return
    styles, starts = scenario_styles(ds), {}
    for name, start in zip(map(str, ds["scenario"].values), ds["change_start"].values):
        if (scenarios is None or name in scenarios) and np.isfinite(start):
            starts.setdefault(float(start), []).append(name)
    for start, names in starts.items():
        colour = styles[names[0]].color if len(names) == 1 else BASELINE_COLOUR
        ax.axvline(start, color=colour, linestyle=":", linewidth=2, alpha=0.9, zorder=1,
                   gid=f"{CHANGE_GID}:{', '.join(names)}")


def _style_axes(ax: Axes) -> None:
    """Projector-size ticks, a light grid, and whole-number time ticks without an offset."""
    ax.tick_params(labelsize=FONT["ticks"])
    ax.grid(True, alpha=0.3)
    ax.margins(x=0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True))
    ax.ticklabel_format(axis="x", useOffset=False)


def _title_width(ax: Axes) -> int:
    """Characters of title text that fit across ``ax``."""
    spec = ax.get_subplotspec()            # positions are not final before constrained layout
    columns = spec.get_gridspec().ncols if spec is not None else 1
    inches = 0.85 * ax.get_figure().get_figwidth() / columns
    return max(20, int(inches * 72 / (0.55 * FONT["title"])))


def _balanced(text: str, width: int) -> str:
    """Wrap ``text`` in as few lines as ``width`` allows, of even length (no orphan word)."""
    lines = len(textwrap.wrap(text, width)) or 1
    even = math.ceil(len(text) / lines)
    while len(textwrap.wrap(text, even)) > lines:
        even += 1
    return textwrap.fill(text, even)


def _with_units(variable: str, units: str) -> str:
    return f"{variable} [{units}]" if units else variable


def _decorate(ax: Axes, ds: xr.Dataset, variable: str) -> None:
    """Labels with units, a title (the variable's description, else its name), styled axes."""
    attrs = ds[variable].attrs
    units = attrs.get("units", "")
    ax.set_ylabel(_plain(textwrap.fill(_with_units(variable, units), 26)), fontsize=FONT["label"])
    ax.set_xlabel(_time_label(ds), fontsize=FONT["label"])
    width = _title_width(ax)
    text = textwrap.shorten(str(attrs.get("description") or variable), 2 * width, placeholder="…")
    ax.set_title(_plain(_balanced(text, width)), fontsize=FONT["title"])
    _style_axes(ax)


def _median_line(ax: Axes, ds: xr.Dataset, quantiles: xr.DataArray, scenario: str,
                 **overrides: Any) -> None:
    style = scenario_styles(ds)[scenario]
    median = quantiles.sel(scenario=scenario, quantile=0.5)
    kwargs = {"color": style.color, "linestyle": style.linestyle, "linewidth": LINE_WIDTH,
              "label": style.label, "zorder": 3} | overrides
    ax.plot(quantiles["time"].values, median.values, **kwargs)


def plot_variable(ds: xr.Dataset, variable: str, *, ax: Axes | None = None) -> Axes:
    """One line per scenario (median over samples) of one variable, with change-start markers."""
    return _plot_one(ds, variable, ax, fan=False)


def _fan(ax: Axes, ds: xr.Dataset, quantiles: xr.DataArray, scenario: str) -> None:
    """The 90% and 50% bands of one scenario, palest first."""
    colour = scenario_styles(ds)[scenario].color
    time = quantiles["time"].values
    for coverage, alpha in sorted(FAN_ALPHA.items(), reverse=True):
        low, high = (quantiles.sel(scenario=scenario, quantile=q).values
                     for q in (round(0.5 - coverage / 2, 6), round(0.5 + coverage / 2, 6)))
        ax.fill_between(time, low, high, color=colour, alpha=alpha, linewidth=0, zorder=2,
                        gid=f"band{round(coverage * 100)}:{scenario}")


def _fan_quantiles(ds: xr.Dataset, variable: str) -> xr.DataArray:
    return bands(ds, variable, (0.05, 0.25, 0.5, 0.75, 0.95))


def plot_fan(ds: xr.Dataset, variable: str, *, ax: Axes | None = None) -> Axes:
    """Median line with 50% and 90% bands per scenario; plain lines when there is one sample."""
    return _plot_one(ds, variable, ax, fan=ds.sizes["sample"] > 1)


def _plot_one(ds: xr.Dataset, variable: str, ax: Axes | None, fan: bool) -> Axes:
    """The medians (and with ``fan`` the bands) of every scenario on one Axes."""
    own = ax is None
    ax = _new_figure().add_subplot() if ax is None else ax
    quantiles = _fan_quantiles(ds, variable) if fan else bands(ds, variable, (0.5,))
    for scenario in map(str, ds["scenario"].values):
        if fan:
            _fan(ax, ds, quantiles, scenario)
        _median_line(ax, ds, quantiles, scenario)
    _change_markers(ax, ds)
    _decorate(ax, ds, variable)
    if own:
        add_legend(ax.get_figure(), ds, fan=fan)
    return ax


def add_legend(fig: Figure, ds: xr.Dataset, *, fan: bool = False) -> None:
    """One legend for the figure, below the plots: scenario labels, markers and bands."""
    styles = scenario_styles(ds).values()
    handles: list[Any] = [Line2D([], [], color=s.color, linestyle=s.linestyle,
                                 linewidth=LINE_WIDTH, label=s.label) for s in styles]
    if "change_start" in ds.coords and np.isfinite(ds["change_start"].values).any():
        handles.append(Line2D([], [], color=BASELINE_COLOUR, linestyle=":", linewidth=2,
                              label="changes start"))
    if fan and ds.sizes["sample"] > 1:
        handles += [Patch(color=BASELINE_COLOUR, alpha=FAN_ALPHA[c], linewidth=0,
                          label=f"{round(c * 100)}% band") for c in sorted(FAN_ALPHA)]
    rows = _legend_rows([h.get_label() for h in handles])
    fig.legend(handles=handles, loc="outside lower center", ncols=math.ceil(len(handles) / rows),
               fontsize=FONT["legend"], frameon=False, handlelength=3, columnspacing=1.6)


def _legend_rows(labels: Sequence[str]) -> int:
    # about 130 characters fit across a 12-inch figure at the legend's size
    per_row = max(1, min(6, 130 // (max(len(label) for label in labels) + 8)))
    return math.ceil(len(labels) / per_row)


def _check_variables(ds: xr.Dataset, variables: Sequence[str]) -> None:
    if not variables:
        raise PlotError("no variables to plot; name at least one")
    for variable in variables:
        sample_values(ds, variable)          # raises AnalysisError with "did you mean"


def _grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) for n small multiples, at most three columns."""
    columns = n if n <= 3 else min(3, math.ceil(math.sqrt(n)))
    return math.ceil(n / columns), columns


def _suptitle(fig: Figure, ds: xr.Dataset, fan: bool) -> None:
    samples = ds.sizes["sample"]
    text = "Scenario comparison"
    if samples > 1:
        text += (f": median and 50% / 90% bands over {samples} samples" if fan
                 else f": median over {samples} samples")
    fig.suptitle(text, fontsize=FONT["suptitle"])


def _small_multiples(ds: xr.Dataset, variables: Sequence[str], draw: Callable[..., Axes],
                     fig: Figure | None, fan: bool) -> Figure:
    _check_variables(ds, variables)
    rows, columns = _grid_shape(len(variables))
    # panels keep a readable height however many rows there are
    legend = _legend_rows([str(x) for x in ds["label"].values] + ["changes start"] * 3) \
        if "label" in ds.coords else 1
    height = max(FIGSIZE[1], 1.5 + 3.2 * rows) + 0.3 * max(0, legend - 2)  # FIGSIZE has room for 2
    fig = _new_figure((FIGSIZE[0], height)) if fig is None else fig
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for i, (ax, variable) in enumerate(zip(axes, variables)):
        draw(ds, variable, ax=ax)
        if i + columns < len(variables):        # another panel below: its x-label says it
            ax.set_xlabel("")
    for ax in axes[len(variables):]:
        fig.delaxes(ax)
    _suptitle(fig, ds, fan)
    add_legend(fig, ds, fan=fan)
    return fig


def plot_lines(ds: xr.Dataset, variables: Sequence[str], *, fig: Figure | None = None) -> Figure:
    """Small multiples, one Axes per variable, one median line per scenario."""
    return _small_multiples(ds, variables, plot_variable, fig, fan=False)


def plot_fans(ds: xr.Dataset, variables: Sequence[str], *, fig: Figure | None = None) -> Figure:
    """Small multiples of fan charts (all scenarios in each Axes); lines when M == 1."""
    return _small_multiples(ds, variables, plot_fan, fig, fan=True)


def _grid_panel(ax: Axes, ds: xr.Dataset, quantiles: xr.DataArray, scenario: str,
                base: str) -> None:
    if scenario != base:                      # the baseline as a thin reference in every panel
        _median_line(ax, ds, quantiles, base, linewidth=1.5, alpha=0.8, zorder=2.5)
    if ds.sizes["sample"] > 1:
        _fan(ax, ds, quantiles, scenario)
    _median_line(ax, ds, quantiles, scenario)
    _change_markers(ax, ds, [scenario])
    _style_axes(ax)


def plot_grid(ds: xr.Dataset, variables: Sequence[str], *, fig: Figure | None = None) -> Figure:
    """Dashboard: a row per variable, a column per scenario, each against the baseline.

    Each panel shows one scenario's median (with 50% and 90% bands when M > 1) and the
    baseline's median as a thin reference, so fans never hide one another.
    """
    _check_variables(ds, variables)
    scenarios = [str(s) for s in ds["scenario"].values]
    base, styles = resolve_baseline(ds), scenario_styles(ds)
    if fig is None:
        fig = _new_figure((max(FIGSIZE[0], 3.6 * len(scenarios)),
                           max(FIGSIZE[1], 1.2 + 2.6 * len(variables))))
    axes = fig.subplots(len(variables), len(scenarios), squeeze=False, sharex=True, sharey="row")
    for row, variable in enumerate(variables):
        quantiles = _fan_quantiles(ds, variable)
        for col, scenario in enumerate(scenarios):
            _grid_panel(axes[row, col], ds, quantiles, scenario, base)
        ylabel = textwrap.fill(_with_units(variable, ds[variable].attrs.get("units", "")), 22)
        axes[row, 0].set_ylabel(_plain(ylabel), fontsize=FONT["label"])
    for col, scenario in enumerate(scenarios):
        axes[0, col].set_title(textwrap.fill(styles[scenario].label, 24), fontsize=FONT["title"])
        axes[-1, col].set_xlabel(_time_label(ds), fontsize=FONT["label"])
    _suptitle(fig, ds, fan=True)
    add_legend(fig, ds, fan=True)
    return fig


KINDS: dict[str, Callable[..., Figure]] = {"lines": plot_lines, "fan": plot_fans,
                                           "grid": plot_grid}


def draw(kind: str, ds: xr.Dataset, variables: Sequence[str], *,
         fig: Figure | None = None) -> Figure:
    """The figure of one of ``KINDS`` for these variables."""
    try:
        plot = KINDS[kind]
    except KeyError:
        raise PlotError(f"unknown plot kind {kind!r}; expected one of {sorted(KINDS)}") from None
    return plot(ds, variables, fig=fig)


SAVE_OPTIONS: dict[str, dict[str, Any]] = {".png": {"dpi": 150},
                                           ".svg": {"metadata": {"Date": None}}}


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG (150 dpi) or SVG, chosen by the file's suffix."""
    path = Path(path)
    options = SAVE_OPTIONS.get(path.suffix.lower())
    if options is None:
        raise PlotError(f"{path.name}: cannot save a figure as {path.suffix or 'no suffix'!r}; "
                        f"expected one of {sorted(SAVE_OPTIONS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lower()[1:], **options)
    return path
