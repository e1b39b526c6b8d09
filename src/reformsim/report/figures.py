"""Slides of a results Dataset, with matplotlib's object-oriented API only (no pyplot state).

Every figure is a 16:9 slide with one message: a short title (the variable's name), a takeaway
subtitle where one can be stated, units in words, the legend beside the plots. Axes-level
functions (``plot_variable``, ``plot_fan``) draw one variable into an Axes; figure-level ones
(``KINDS``: lines, fan, grid, ranking) make a slide; ``pages`` splits a request into as many
slides as it needs; ``Deck`` reuses one slide's layout for a slide per variable, which is how a
run directory gets its figures fast. Many scenarios (a factorial) are ranked, never drawn as
64 lines in one panel.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.ticker import MaxNLocator

from .kpis import bands, quantiles, resolve_baseline, sample_values
from .png import PngCanvas, software, write_png
from .ranking import draw_ranking, plot_ranking, ranking_slide
from .style import (
    BASELINE_COLOUR,
    CHANGE_GID,
    DPI,
    FAN_ALPHA,
    FONT,
    LINE_WIDTH,
    MAX_LINES,
    TITLE_GIDS,
    Layout,
    PlotError,
    ScenarioStyle,
    add_legend,
    check_variables,
    legend_handles,
    new_slide,
    number,
    plain,
    scenario_styles,
    set_titles,
    time_label,
    variable_units,
    when,
)

MAX_PANELS = 6                 # variables on one slide of small multiples (2 x 3)
MAX_GRID = (6, 3)              # scenarios (columns) and variables (rows) of a grid slide
Styles = dict[str, ScenarioStyle]


def plot_variable(ds: xr.Dataset, variable: str, *, ax: Axes | None = None,
                  styles: Styles | None = None) -> Axes:
    """One line per scenario (median over samples) of one variable, with change-start markers."""
    return _plot_one(ds, variable, ax, fan=False, styles=styles)


def plot_fan(ds: xr.Dataset, variable: str, *, ax: Axes | None = None,
             styles: Styles | None = None) -> Axes:
    """Median line with 50% and 90% bands per scenario; plain lines when there is one sample."""
    return _plot_one(ds, variable, ax, fan=ds.sizes["sample"] > 1, styles=styles)


def _plot_one(ds: xr.Dataset, variable: str, ax: Axes | None, fan: bool,
              styles: Styles | None, marker: float = 11) -> Axes:
    _check_lines(ds)
    styles = scenario_styles(ds) if styles is None else styles
    ax = Figure(figsize=(8, 4.5)).add_subplot() if ax is None else ax
    quantiles_ = bands(ds, variable, (0.05, 0.25, 0.5, 0.75, 0.95) if fan else (0.5,))
    time, values = quantiles_["time"].values, quantiles_.values
    names = [str(s) for s in ds["scenario"].values]
    if fan:
        _bands(ax, time, values, [styles[n].color for n in names], names)
    for s, scenario in enumerate(names):
        style = styles[scenario]
        ax.plot(time, values[s, values.shape[1] // 2], color=style.color,
                linestyle=style.linestyle, linewidth=LINE_WIDTH, label=style.label,
                zorder=4 if style.baseline else 3)
    _change_markers(ax, ds, styles, size=marker)
    _style_axes(ax)
    return ax


def _bands(ax: Axes, time: np.ndarray, q: np.ndarray, colours: Sequence[str],
           names: Sequence[str]) -> None:
    """The 90% and 50% bands of each scenario from its (5, T) quantiles in ``q`` (S, 5, T):
    one collection per coverage, palest first, a polygon per scenario (fill_between per
    scenario where a quantile is missing, as it leaves gaps there)."""
    for coverage, (low, high) in ((0.9, (0, 4)), (0.5, (1, 3))):
        gid = f"band{round(coverage * 100)}"
        whole = [i for i in range(len(names)) if np.isfinite(q[i, [low, high]]).all()]
        polygons = [np.column_stack([np.concatenate([time, time[::-1]]),
                                     np.concatenate([q[i, low], q[i, high, ::-1]])])
                    for i in whole]
        ax.add_collection(PolyCollection(polygons, facecolors=[colours[i] for i in whole],
                                         alpha=FAN_ALPHA[coverage], linewidths=0, zorder=2,
                                         gid=f"{gid}:{','.join(names[i] for i in whole)}"))
        for i in set(range(len(names))) - set(whole):
            ax.fill_between(time, q[i, low], q[i, high], color=colours[i], linewidth=0,
                            alpha=FAN_ALPHA[coverage], zorder=2, gid=f"{gid}:{names[i]}")
    ax.autoscale_view()


def _change_markers(ax: Axes, ds: xr.Dataset, styles: Styles,
                    scenarios: Sequence[str] | None = None, size: float = 11) -> None:
    """A triangle on the time axis where each scenario's changes start, in its colour;
    triangles of scenarios that start together are stacked, so every one shows."""
    if "change_start" not in ds.coords:
        return
    times = ds["time"].values
    stacked: dict[float, int] = {}
    for name, start in zip(map(str, ds["scenario"].values), ds["change_start"].values):
        if (scenarios is not None and name not in scenarios) or not np.isfinite(start) \
                or not times[0] <= start <= times[-1]:
            continue
        k = stacked[float(start)] = stacked.get(float(start), -1) + 1
        ax.plot([start], [0.035 + 0.055 * k * size / 11], transform=ax.get_xaxis_transform(),
                marker="^", markersize=size, color=styles[name].color, linestyle="none",
                clip_on=False,
                zorder=6, gid=f"{CHANGE_GID}:{name}")


def _style_axes(ax: Axes) -> None:
    """Projector-size ticks, a light grid, whole-number time ticks without an offset."""
    ax.tick_params(labelsize=FONT["ticks"])
    ax.grid(True, alpha=0.3)
    ax.margins(x=0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True))
    ax.ticklabel_format(axis="x", useOffset=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _check_lines(ds: xr.Dataset) -> None:
    count = ds.sizes["scenario"]
    if count > MAX_LINES:
        raise PlotError(f"{count} scenarios are too many lines for one chart (at most "
                        f"{MAX_LINES} stay apart)\n  hint: pick some with --scenarios, or "
                        "rank them at one time with --kind ranking")


# -- what a slide says -----------------------------------------------------------------------

def takeaway(ds: xr.Dataset, variable: str, styles: Styles | None = None) -> str:
    """The message of a variable's slide: the highest and lowest scenario (median) at the
    last time shown, or "" with one scenario."""
    if ds.sizes["scenario"] < 2:
        return ""
    styles = scenario_styles(ds) if styles is None else styles
    final = quantiles(sample_values(ds, variable).isel(time=-1).values, [0.5], axis=1)[0]
    if not np.isfinite(final).any():
        return ""
    names = [str(s) for s in ds["scenario"].values]
    top, bottom = int(np.nanargmax(final)), int(np.nanargmin(final))
    scale = float(np.nanmax(np.abs(final)))
    at = when(ds, float(ds["time"].values[-1]))
    at = at[0].upper() + at[1:]
    if final[top] - final[bottom] <= 1e-9 * max(scale, 1e-300):
        return f"{at} every scenario is at {number(final[top], scale)}"
    return (f"{at}, highest: {styles[names[top]].label} ({number(final[top], scale)}); "
            f"lowest: {styles[names[bottom]].label} ({number(final[bottom], scale)})")


def _samples_note(ds: xr.Dataset, fan: bool) -> str:
    samples = ds.sizes["sample"]
    if samples < 2:
        return ""
    return (f"Lines: median of {samples} samples; shades: the middle 50% and 90% of them."
            if fan else f"Lines: median of {samples} samples.")


def _note(fig: Figure, text: str) -> None:
    if text:
        fig.text(0.02, 0.018, plain(text), fontsize=FONT["note"], color="#555555", gid="note")


def _has_markers(ds: xr.Dataset) -> bool:
    """Whether a change-start marker shows: a scenario's changes start in the times shown."""
    if "change_start" not in ds.coords:
        return False
    starts, times = ds["change_start"].values, ds["time"].values
    return bool(((starts >= times[0]) & (starts <= times[-1])).any())


# -- slides ----------------------------------------------------------------------------------

def _trajectory_slide(ds: xr.Dataset, title: str, subtitle: str, fan: bool,
                      styles: Styles) -> tuple[Figure, Layout]:
    fig, layout = new_slide(title, subtitle, legend_labels=[s.label for s in styles.values()])
    add_legend(fig, layout, legend_handles(list(styles.values()), markers=_has_markers(ds),
                                           bands=fan and ds.sizes["sample"] > 1))
    _note(fig, _samples_note(ds, fan))
    return fig, layout


def _label_single(ax: Axes, ds: xr.Dataset, variable: str) -> None:
    ax.set_ylabel(plain(variable_units(ds, variable)), fontsize=FONT["label"])
    ax.set_xlabel(time_label(ds), fontsize=FONT["label"])


def _small_multiples(ds: xr.Dataset, variables: Sequence[str], fan: bool) -> Figure:
    check_variables(ds, variables)
    _check_lines(ds)
    if len(variables) > MAX_PANELS:
        raise PlotError(f"{len(variables)} variables are too many for one slide (at most "
                        f"{MAX_PANELS})\n  hint: name fewer, or let 'reformsim plot' write one "
                        "slide per six")
    styles = scenario_styles(ds)
    fan = fan and ds.sizes["sample"] > 1
    if len(variables) == 1:
        (variable,) = variables
        fig, layout = _trajectory_slide(ds, variable, takeaway(ds, variable, styles), fan, styles)
        ax = fig.add_axes(layout.rect())
        _plot_one(ds, variable, ax, fan, styles)
        _label_single(ax, ds, variable)
        return fig
    count = ds.sizes["scenario"]
    subtitle = f"{count} scenario{'s' * (count > 1)} over time"
    fig, layout = _trajectory_slide(ds, "Outcomes by scenario", subtitle, fan, styles)
    rows = 1 if len(variables) <= 3 else 2
    columns = math.ceil(len(variables) / rows)
    left, bottom, right, top = layout.plot
    ticks = _few_ticks(ds["time"].values)
    grid = GridSpec(rows, columns, figure=fig, left=left, bottom=bottom, right=right, top=top,
                    wspace=0.4, hspace=0.5)
    for i, variable in enumerate(variables):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        _plot_one(ds, variable, ax, fan, styles, marker=7)
        ax.set_xticks(ticks)
        ax.set_title(plain(textwrap.fill(variable, 26)), fontsize=FONT["panel"])
        ax.set_ylabel(plain(variable_units(ds, variable)), fontsize=FONT["ticks"])
        if i + columns >= len(variables):          # nothing below: this panel names the time
            ax.set_xlabel(time_label(ds), fontsize=FONT["ticks"])
    return fig


def _few_ticks(time: np.ndarray, most: int = 4) -> list[float]:
    """At most ``most`` round time ticks within the run (the same on every small panel)."""
    for bins in range(most, 0, -1):
        ticks = [t for t in MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10], integer=True)
                 .tick_values(time[0], time[-1]) if time[0] <= t <= time[-1]]
        if len(ticks) <= most:
            return ticks
    return [time[0], time[-1]]


def plot_lines(ds: xr.Dataset, variables: Sequence[str]) -> Figure:
    """A slide of median lines: one variable with a takeaway, or small multiples of up to six."""
    return _small_multiples(ds, variables, fan=False)


def plot_fans(ds: xr.Dataset, variables: Sequence[str]) -> Figure:
    """As ``plot_lines``, with 50% and 90% bands around each median (lines when M == 1)."""
    return _small_multiples(ds, variables, fan=True)


def plot_grid(ds: xr.Dataset, variables: Sequence[str]) -> Figure:
    """A row per variable, a column per scenario, each with its bands against the baseline's
    median (a thin dark line), so fans never hide one another."""
    check_variables(ds, variables)
    scenarios = [str(s) for s in ds["scenario"].values]
    if len(scenarios) > MAX_GRID[0] or len(variables) > MAX_GRID[1]:
        raise PlotError(f"a grid of {len(scenarios)} scenarios x {len(variables)} variables is "
                        f"too small to read (at most {MAX_GRID[0]} x {MAX_GRID[1]})\n  hint: pick "
                        "scenarios with --scenarios and name at most "
                        f"{MAX_GRID[1]} variables")
    base, styles = resolve_baseline(ds), scenario_styles(ds)
    fig, layout = new_slide("Each scenario against the baseline",
                            f"Dark line: {styles[base].label}")
    _note(fig, _samples_note(ds, True))
    left, bottom, right, top = layout.plot
    grid = GridSpec(len(variables), len(scenarios), figure=fig, left=left + 0.03, bottom=bottom,
                    right=right, top=top - 0.02, wspace=0.12, hspace=0.25)
    for row, variable in enumerate(variables):
        q = bands(ds, variable)
        time, values = q["time"].values, q.values
        first = None
        for col, scenario in enumerate(scenarios):
            ax = fig.add_subplot(grid[row, col], sharex=first, sharey=first)
            first = first or ax
            if scenario != base:
                ax.plot(time, values[scenarios.index(base), 2], color=BASELINE_COLOUR,
                        linewidth=1.5, alpha=0.8, zorder=2.5)
            if ds.sizes["sample"] > 1:
                _bands(ax, time, values[col:col + 1], [styles[scenario].color], [scenario])
            ax.plot(time, values[col, 2], color=styles[scenario].color, linewidth=LINE_WIDTH,
                    linestyle=styles[scenario].linestyle, zorder=3)
            _change_markers(ax, ds, styles, [scenario])
            _style_axes(ax)
            ax.tick_params(labelbottom=row == len(variables) - 1, labelleft=col == 0)
            if row == 0:
                ax.set_title(plain(textwrap.fill(styles[scenario].label, 20)),
                             fontsize=FONT["panel"])
        first.set_ylabel(plain(textwrap.fill(f"{variable} ({variable_units(ds, variable)})", 22)
                               if variable_units(ds, variable) else variable),
                         fontsize=FONT["ticks"])
    return fig


KINDS: dict[str, Callable[..., Figure]] = {"lines": plot_lines, "fan": plot_fans,
                                           "grid": plot_grid, "ranking": plot_ranking}


def draw(kind: str, ds: xr.Dataset, variables: Sequence[str], **options: Any) -> Figure:
    """The slide of one of ``KINDS`` for these variables."""
    try:
        plot = KINDS[kind]
    except KeyError:
        raise PlotError(f"unknown plot kind {kind!r}; expected one of {sorted(KINDS)}") from None
    return plot(ds, variables, **options)


def pages(kind: str, ds: xr.Dataset, variables: Sequence[str], **options: Any) -> list[Figure]:
    """As many slides as the request needs: rankings one per variable, lines and fans six
    variables a slide, a grid on one."""
    check_variables(ds, variables)
    if kind == "ranking":
        return [draw(kind, ds, [v], **options) for v in variables]
    if kind in ("lines", "fan"):
        return [draw(kind, ds, list(variables[i:i + MAX_PANELS]))
                for i in range(0, len(variables), MAX_PANELS)]
    return [draw(kind, ds, variables, **options)]


# -- a deck: one layout, a slide per variable ------------------------------------------------

class Deck:
    """One slide reused for a slide per variable: the figure, legend and styles are made once
    and each slide redraws only its Axes and titles, so a run's figures cost a redraw each.

    ``kind`` is "fan" (lines with bands when there are samples) or "ranking". ``save``
    writes a PNG by pasting the redrawn Axes and titles onto the slide's static part
    (legend, note, background), rendered once: about twice as fast as ``savefig``, and the
    same pixels (written by ``png.write_png``).
    """

    def __init__(self, ds: xr.Dataset, kind: str, *, at: float | None = None) -> None:
        self.ds, self.kind, self.at = ds, kind, at
        if kind == "ranking":
            self.fig, self.ax = ranking_slide()
        else:
            _check_lines(ds)
            self.styles = scenario_styles(ds)
            self.fig, layout = _trajectory_slide(ds, "", "", True, self.styles)
            self.ax = self.fig.add_axes(layout.rect())
        self.canvas = PngCanvas(self.fig)
        self.moving = [self.ax] + [t for t in self.fig.texts if t.get_gid() in TITLE_GIDS]
        self.background: Any = None

    def slide(self, variable: str) -> Figure:
        """The slide of ``variable`` (the same Figure object, redrawn)."""
        self._empty()
        if self.kind == "ranking":
            set_titles(self.fig, *draw_ranking(self.ax, self.ds, variable, self.at))
            return self.fig
        plot_fan(self.ds, variable, ax=self.ax, styles=self.styles)
        _label_single(self.ax, self.ds, variable)
        set_titles(self.fig, variable, takeaway(self.ds, variable, self.styles))
        return self.fig

    def _empty(self) -> None:
        """The Axes without what a slide drew into it (lines, bands, markers, notes), its
        axes and their ticks kept: ``Axes.clear`` would make every tick anew (a fifth of a
        slide's time). What a slide sets besides (labels, locators, limits) it sets again."""
        ax = self.ax
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
            artist.remove()
        ax.ignore_existing_data_limits = True
        ax.set_autoscale_on(True)

    def save(self, variable: str, path: str | Path) -> Path:
        """Draw ``variable``'s slide and write it (PNG, SVG or PDF by the suffix)."""
        fig, path = self.slide(variable), Path(path)
        if path.suffix.lower() != ".png":
            return save_figure(fig, path)
        if self.background is None:
            for artist in self.moving:
                artist.set_visible(False)
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(fig.bbox)
            for artist in self.moving:
                artist.set_visible(True)
        self.canvas.restore_region(self.background)
        for artist in self.moving:
            fig.draw_artist(artist)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(path, np.asarray(self.canvas.buffer_rgba()), DPI, software())
        return path


SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    ".png": {"dpi": DPI},
    ".svg": {"metadata": {"Date": None}},
    ".pdf": {"metadata": {"CreationDate": None}},
}


def check_suffix(path: str | Path) -> Path:
    """``path``, if a figure can be saved there (.png, .svg, .pdf); a PlotError otherwise."""
    path = Path(path)
    if path.suffix.lower() not in SAVE_OPTIONS:
        raise PlotError(f"{path.name}: cannot save a figure as {path.suffix or 'no suffix'!r}; "
                        f"expected one of {sorted(SAVE_OPTIONS)}")
    return path


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG (1920 x 1080 for a slide), SVG or PDF, chosen by the suffix."""
    path = check_suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png" and not isinstance(fig.canvas, PngCanvas):
        PngCanvas(fig)                  # savefig then writes the PNG with png.write_png
    fig.savefig(path, format=path.suffix.lower()[1:], **SAVE_OPTIONS[path.suffix.lower()])
    return path
