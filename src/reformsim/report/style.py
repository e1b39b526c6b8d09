"""How every chart looks: a 16:9 slide, projector-size type, a palette that stays distinct on a
projector, one colour and line style per scenario, and units in words a room reads.

The slide's layout is fixed arithmetic (no constrained or tight layout), so drawing a slide
costs the same whatever it shows, and one layout can be reused for a deck of slides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import ReformsimError, printable
from .kpis import resolve_baseline, sample_values, scenario_labels
from .labels import number, short_labels, time_label, when  # noqa: F401  (re-exported)

SLIDE = (40 / 3, 7.5)          # inches: PowerPoint's 16:9 slide; 1920 x 1080 at DPI
DPI = 144
# Okabe & Ito (2008) without its yellow (faint on a projector), then Tol's wine and a brown:
# eight colours that stay apart on a washed-out screen and for colour-blind viewers.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255",
           "#8C564B")
BASELINE_COLOUR = "#222222"
LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", (0, (6, 2, 1, 2, 1, 2)), (0, (9, 3)))
MAX_LINES = 1 + len(PALETTE)   # scenarios one panel can show apart: the baseline and 8 more
LINE_WIDTH = 2.8
FONT = {"title": 22, "subtitle": 15, "panel": 15, "label": 14, "ticks": 13, "legend": 14,
        "note": 12}
FAN_ALPHA = {0.9: 0.16, 0.5: 0.32}          # band coverage -> fill opacity
LEGEND_LABEL = 28                           # characters of a scenario's label in a legend
CHANGE_GID = "change_start"                 # gid prefix of change-start markers
TITLE_GIDS = ("title", "subtitle")          # gids of a slide's title texts

_IN_WORDS = ("dmnl", "dimensionless", "1", "fraction", "unitless")   # no units at all
_SHARE = re.compile(r"^\W*(?:lever\.\s*)?(share|fraction|proportion|percentage)\b", re.I)


class PlotError(ReformsimError):
    """A plot request cannot be drawn or saved as asked."""


# -- one variable on one Axes ----------------------------------------------------------------

def check_variables(ds: xr.Dataset, variables: Sequence[str]) -> None:
    """At least one variable, each in the run (AnalysisError with "did you mean" if not)."""
    if not variables:
        raise PlotError("no variables to plot; name at least one")
    for variable in variables:
        sample_values(ds, variable)


@dataclass(frozen=True)
class ScenarioStyle:
    """How one scenario is drawn in every chart of a Dataset."""

    label: str
    color: str
    linestyle: Any
    baseline: bool = False


def scenario_styles(ds: xr.Dataset) -> dict[str, ScenarioStyle]:
    """Colour and line style per scenario: the baseline near-black and solid, the others in
    palette order; labels shortened for a legend (and told apart), as written (``plain``
    makes them safe to draw)."""
    base = resolve_baseline(ds)
    labels = short_labels(scenario_labels(ds), LEGEND_LABEL)
    styles, i = {}, 0
    for name, label in zip(map(str, ds["scenario"].values), labels):
        if name == base:
            styles[name] = ScenarioStyle(label, BASELINE_COLOUR, "-", baseline=True)
            continue
        styles[name] = ScenarioStyle(label, PALETTE[i % len(PALETTE)],
                                     LINESTYLES[i % len(LINESTYLES)])
        i += 1
    return styles


def plain(text: object) -> str:
    """Text from a model or scenario file, shown literally ("$" would start mathtext) and
    without control characters (no font has glyphs for them)."""
    return printable(text).replace("$", r"\$")


def human_units(units: str, description: str = "", limits: Sequence[float] = ()) -> str:
    """Units as a room reads them: a dimensionless quantity is a ``share`` when its
    documentation says so, else an ``index`` (with its documented range: ``index 0-1``,
    ``index -1 to 1``);
    other units as the model writes them."""
    text = " ".join(str(units).split())
    if not text or text.casefold() not in _IN_WORDS:
        return text
    if _SHARE.match(str(description)):
        return "share"
    low, high = (list(limits) + [math.nan, math.nan])[:2]
    if all(v is not None and np.isfinite(v) for v in (low, high)):
        joint = "-" if low >= 0 else " to "   # "index 0-1", but "index -1 to 1"
        return f"index {low:g}{joint}{high:g}"
    return "index"


def variable_units(ds: xr.Dataset, variable: str) -> str:
    """``human_units`` of one variable of a run (its units, description and range attrs)."""
    attrs = ds[variable].attrs
    limits = np.atleast_1d(np.asarray(attrs.get("range", []), dtype=float)).tolist()
    return human_units(attrs.get("units", ""), attrs.get("description", ""), limits)


# -- the slide -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """Where things go on a slide, as fractions of the figure: the plot area (left, bottom,
    right, top) and the legend's left edge (None without a legend)."""

    plot: tuple[float, float, float, float]
    legend_x: float | None

    def rect(self) -> tuple[float, float, float, float]:
        """The plot area as ``Figure.add_axes`` takes it: left, bottom, width, height."""
        left, bottom, right, top = self.plot
        return (left, bottom, right - left, top - bottom)


def new_slide(title: str, subtitle: str = "", *, legend_labels: Sequence[str] = (),
              left: float = 0.075) -> tuple[Figure, Layout]:
    """A 16:9 figure with its title and subtitle set, and room on the right for a legend of
    ``legend_labels`` (none when empty)."""
    fig = Figure(figsize=SLIDE, dpi=DPI)
    fig.text(0.02, 0.955, plain(title), fontsize=FONT["title"], fontweight="bold",
             va="center", gid="title")
    fig.text(0.02, 0.895, plain(subtitle), fontsize=FONT["subtitle"], color="#444444",
             va="center", gid="subtitle")
    legend_x = None
    right = 0.975
    if legend_labels:
        chars = max(len(label) for label in legend_labels)
        inches = 0.9 + chars * FONT["legend"] * 0.58 / 72     # handle, gap and text
        legend_x = 1 - min(inches, 0.36 * SLIDE[0]) / SLIDE[0] - 0.01
        right = legend_x - 0.015
    return fig, Layout((left, 0.125, right, 0.82), legend_x)


def set_titles(fig: Figure, title: str, subtitle: str) -> None:
    """Change a slide's title and subtitle (a reused slide keeps its text objects)."""
    for text in fig.texts:
        if text.get_gid() == "title":
            text.set_text(plain(title))
        elif text.get_gid() == "subtitle":
            text.set_text(plain(subtitle))


def legend_handles(styles: Sequence[ScenarioStyle], *, markers: bool, bands: bool) -> list[Any]:
    handles: list[Any] = [Line2D([], [], color=s.color, linestyle=s.linestyle,
                                 linewidth=LINE_WIDTH, label=plain(s.label)) for s in styles]
    if markers:
        handles.append(Line2D([], [], color=BASELINE_COLOUR, marker="^", linestyle="none",
                              markersize=10, label="changes start"))
    if bands:
        handles += [Patch(color=BASELINE_COLOUR, alpha=FAN_ALPHA[c], linewidth=0,
                          label=f"{round(c * 100)}% of samples") for c in sorted(FAN_ALPHA)]
    return handles


def add_legend(fig: Figure, layout: Layout, handles: Sequence[Any]) -> None:
    """The legend beside the plots, at the right, centred on the plot area."""
    if layout.legend_x is None:
        return
    middle = (layout.plot[1] + layout.plot[3]) / 2
    fig.legend(handles=list(handles), loc="center left", bbox_to_anchor=(layout.legend_x, middle),
               fontsize=FONT["legend"], frameon=False, handlelength=2.6, labelspacing=0.7)
