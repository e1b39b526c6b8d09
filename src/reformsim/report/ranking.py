"""Many scenarios on one slide: a dot (median) and a bar (5-95%) per scenario at one time,
highest first, the baseline marked; with more scenarios than rows, the best, the worst and
the baseline. What a factorial gets instead of 64 lines in one panel; its cost is one pass
over the scenarios, whatever their number."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .kpis import quantiles, resolve_baseline, sample_values, scenario_labels, time_indices
from .labels import short_labels
from .style import (
    BASELINE_COLOUR,
    FONT,
    Layout,
    check_variables,
    new_slide,
    number,
    plain,
    set_titles,
    variable_units,
    when,
)

RANK_ROWS = 20                 # rows a ranking slide shows; more scenarios are summarised
RANK_LABEL = 40                # characters of a scenario's label on a ranking slide


def _ranked_rows(count: int, base_rank: int, rows: int) -> list[int | None]:
    """The ranks to show (None for a gap): all ``count`` when they fit in ``rows``, else the
    best, the worst three and the baseline where it ranks."""
    if count <= rows:
        return list(range(count))
    bottom = 3
    keep = set(range(rows - bottom - 3)) | set(range(count - bottom, count))
    keep.add(base_rank)
    shown: list[int | None] = []
    for rank in sorted(keep):
        if shown and shown[-1] is not None and rank > shown[-1] + 1:
            shown.append(None)
        shown.append(rank)
    return shown


def draw_ranking(ax: Axes, ds: xr.Dataset, variable: str, at: float | None) -> tuple[str, str]:
    """A dot (median) and whisker (5-95%) per scenario at one time, highest first; returns the
    slide's title and subtitle."""
    values = sample_values(ds, variable)
    index = -1 if at is None else time_indices(ds, [at])[0]   # an error outside the run
    moment = float(ds["time"].values[index])
    low, mid, high = quantiles(values.isel(time=index).values, [0.05, 0.5, 0.95], axis=1)
    names = [str(s) for s in ds["scenario"].values]
    base = names.index(resolve_baseline(ds))
    order = sorted(range(len(names)), key=lambda i: (-mid[i] if np.isfinite(mid[i]) else np.inf))
    shown = _ranked_rows(len(order), order.index(base), RANK_ROWS)
    labels = short_labels(scenario_labels(ds), RANK_LABEL)
    scale = float(np.nanmax(np.abs(mid))) if np.isfinite(mid).any() else 0.0
    ticks, texts = [], []
    for y, rank in enumerate(shown):
        if rank is None:
            hidden = shown[y + 1] - shown[y - 1] - 1
            ticks.append(y)
            texts.append(f"… {hidden} more …")
            continue
        i = order[rank]
        colour = BASELINE_COLOUR if i == base else "#0072B2"
        ax.plot([low[i], high[i]], [y, y], color=colour, linewidth=2.5, alpha=0.55,
                solid_capstyle="butt", gid=f"whisker:{names[i]}")
        ax.plot([mid[i]], [y], marker="o", markersize=9, color=colour, linestyle="none",
                gid=f"dot:{names[i]}")
        ax.annotate(number(mid[i], scale), (1.0, y), xycoords=("axes fraction", "data"),
                    xytext=(6, 0), textcoords="offset points", va="center",
                    fontsize=FONT["note"], color=colour)
        ticks.append(y)
        texts.append(f"{rank + 1}. {labels[i]}")
    if np.isfinite(mid[base]):
        ax.axvline(mid[base], color=BASELINE_COLOUR, linestyle=":", linewidth=1.5, zorder=1)
    ax.set_yticks(ticks, [plain(t) for t in texts], fontsize=FONT["ticks"])
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.tick_params(axis="x", labelsize=FONT["ticks"])
    ax.grid(True, axis="x", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(plain(variable_units(ds, variable)), fontsize=FONT["label"])
    title = f"{variable} {when(ds, moment)}: {len(names)} scenarios ranked"
    top = order[0]
    subtitle = (f"Highest: {labels[top]} ({number(mid[top], scale)}); {labels[base]} "
                f"(dotted line) ranks {order.index(base) + 1} of {len(names)}")
    if top == base:
        subtitle = f"Highest: {labels[base]} ({number(mid[base], scale)}), the baseline"
    if ds.sizes["sample"] > 1:
        ax.set_xlabel(plain(f"{variable_units(ds, variable)}: dots median, bars 5-95% of "
                            f"{ds.sizes['sample']} samples"), fontsize=FONT["label"])
    return title, subtitle


def plot_ranking(ds: xr.Dataset, variables: Sequence[str], *, at: float | None = None) -> Figure:
    """A ranked dot-and-whisker slide of the first of ``variables`` at ``at`` (default: the
    end): median and 5-95% per scenario, highest first; with more than RANK_ROWS scenarios
    the best, the worst and the baseline."""
    check_variables(ds, variables)
    fig, ax = ranking_slide()
    set_titles(fig, *draw_ranking(ax, ds, variables[0], at))
    return fig


def ranking_slide() -> tuple[Figure, Axes]:
    """A slide with room on the left for scenario labels and on the right for values."""
    fig, layout = new_slide("", "", left=0.34)
    return fig, fig.add_axes(Layout((layout.plot[0], layout.plot[1], 0.93, 0.82), None).rect())
