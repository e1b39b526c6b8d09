"""plots: inspected through the returned Figure and Axes (artists, labels, styles), not pixels."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from reformsim.report.figures import (
    BASELINE_COLOUR,
    CHANGE_GID,
    KINDS,
    OKABE_ITO,
    PlotError,
    draw,
    plot_fan,
    plot_fans,
    plot_grid,
    plot_lines,
    plot_variable,
    save_figure,
    scenario_styles,
)
from reformsim.report.kpis import AnalysisError

SCENARIOS = ("status quo", "holistic", "ict first")
LABELS = ("Status quo", "Holistic roadmap", "ICT first")
STARTS = (math.nan, 2027.0, 2030.0)
VARIABLES = {"service quality": "index", "trust in government": "fraction",
             "reform cost": "M€/year", "digital access": "fraction", "backlog": "cases"}


def make_dataset(samples: int = 1, variables=tuple(VARIABLES), *, time_units="years",
                 seed: int = 3) -> xr.Dataset:
    """Three scenarios over 2025..2045 (quarterly); scenario s grows s times faster."""
    rng = np.random.default_rng(seed)
    time = np.arange(2025, 2045.001, 0.25)
    speed = np.arange(1, len(SCENARIOS) + 1)[:, None, None]
    growth = speed * rng.uniform(0.8, 1.2, (1, samples, 1))
    data = {name: (("scenario", "sample", "time"), i + 1 + 0.01 * growth * (time - 2025),
                   {"units": VARIABLES[name], "description": f"The {name} of the system"})
            for i, name in enumerate(variables)}
    status = np.full((len(SCENARIOS), samples), "ok", dtype=object)
    data["status"] = (("scenario", "sample"), status)
    return xr.Dataset(data, coords={
        "scenario": list(SCENARIOS), "label": ("scenario", list(LABELS)),
        "description": ("scenario", ["", "all levers", "ICT first"]),
        "change_start": ("scenario", list(STARTS)), "sample": np.arange(samples),
        "time": ("time", time, {"units": time_units} if time_units else {})},
        attrs={"baseline": "status quo"})


def data_lines(ax: Axes) -> list:
    return [line for line in ax.get_lines() if not str(line.get_gid()).startswith(CHANGE_GID)]


def markers(ax: Axes) -> list:
    return [line for line in ax.get_lines() if str(line.get_gid()).startswith(CHANGE_GID)]


def legend_texts(fig: Figure) -> list[str]:
    (legend,) = fig.legends
    return [text.get_text() for text in legend.get_texts()]


# -- small multiples of lines ------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 4, 5], ids=lambda n: f"{n}-variables")
def test_plot_lines_one_axes_per_variable(n):
    fig = plot_lines(make_dataset(), list(VARIABLES)[:n])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n
    assert max(ax.get_subplotspec().get_gridspec().ncols for ax in fig.axes) <= 3


def test_plot_lines_one_line_per_scenario_with_labels_in_one_legend():
    fig = plot_lines(make_dataset(), ["service quality", "reform cost"])
    for ax in fig.axes:
        assert [line.get_label() for line in data_lines(ax)] == list(LABELS)
        assert ax.get_legend() is None
    assert legend_texts(fig) == [*LABELS, "changes start"]


@pytest.mark.parametrize(("variable", "units"), [("service quality", "[index]"),
                                                 ("reform cost", "[M€/year]")],
                         ids=["index", "unicode-units"])
def test_ylabel_names_variable_and_units(variable, units):
    ax = plot_variable(make_dataset(), variable)
    assert ax.get_ylabel().replace("\n", " ") == f"{variable} {units}"


@pytest.mark.parametrize(("time_units", "expected"), [("years", "time [years]"), (None, "time")],
                         ids=["with-units", "without-units"])
def test_xlabel_is_time_with_its_units(time_units, expected):
    ax = plot_variable(make_dataset(time_units=time_units), "backlog")
    assert ax.get_xlabel() == expected


def test_change_start_markers_in_scenario_colours():
    ax = plot_variable(make_dataset(), "backlog")
    styles = scenario_styles(make_dataset())
    found = {line.get_gid(): (line.get_xdata()[0], to_hex(line.get_color()), line.get_linestyle())
             for line in markers(ax)}
    assert found == {f"{CHANGE_GID}:holistic": (2027.0, to_hex(styles["holistic"].color), ":"),
                     f"{CHANGE_GID}:ict first": (2030.0, to_hex(styles["ict first"].color), ":")}


def test_palette_baseline_dark_and_solid_others_okabe_ito_and_distinct_styles():
    styles = scenario_styles(make_dataset())
    assert (styles["status quo"].color, styles["status quo"].linestyle) == (BASELINE_COLOUR, "-")
    assert [styles[s].color for s in SCENARIOS[1:]] == list(OKABE_ITO[:2])
    assert len({str(s.linestyle) for s in styles.values()}) == len(SCENARIOS)


def test_projector_sizes():
    fig = plot_lines(make_dataset(), ["service quality", "backlog"])
    ax = fig.axes[0]
    texts = [ax.title, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels(),
             *fig.legends[0].get_texts()]
    assert min(text.get_fontsize() for text in texts) >= 12
    assert min(line.get_linewidth() for line in data_lines(ax)) >= 2
    assert tuple(fig.get_size_inches()) == (12.0, 7.0)


def test_figure_passed_in_is_used():
    fig = Figure(figsize=(8, 5), layout="constrained")
    assert plot_lines(make_dataset(), ["backlog"], fig=fig) is fig
    assert len(fig.axes) == 1


def test_unknown_variable_suggests_closest():
    with pytest.raises(AnalysisError, match="did you mean 'backlog'"):
        plot_lines(make_dataset(), ["backlgo"])


def test_no_variables_is_an_error():
    with pytest.raises(PlotError, match="no variables to plot"):
        plot_lines(make_dataset(), [])


# -- fans ----------------------------------------------------------------------------------------

def bands_of(ax: Axes) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_fan_has_two_bands_per_scenario_and_median_lines():
    ax = plot_fan(make_dataset(samples=20), "service quality")
    gids = sorted(c.get_gid() for c in bands_of(ax))
    assert gids == sorted(f"band{c}:{s}" for c in (50, 90) for s in SCENARIOS)
    assert [line.get_label() for line in data_lines(ax)] == list(LABELS)
    assert len(markers(ax)) == 2
    assert legend_texts(ax.get_figure()) == [*LABELS, "changes start", "50% band", "90% band"]


def test_fan_band_holds_the_median():
    ds = make_dataset(samples=20)
    ax = plot_fan(ds, "service quality")
    band = next(c for c in bands_of(ax) if c.get_gid() == "band90:ict first")
    vertices = band.get_paths()[0].vertices
    median = data_lines(ax)[2].get_ydata()
    assert vertices[:, 1].min() <= median.min() and median.max() <= vertices[:, 1].max()


def test_fan_with_one_sample_falls_back_to_lines():
    ax = plot_fan(make_dataset(samples=1), "service quality")
    assert bands_of(ax) == []
    assert len(data_lines(ax)) == len(SCENARIOS)


def test_fan_into_given_axes_adds_no_legend():
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    assert plot_fan(make_dataset(samples=5), "backlog", ax=ax) is ax
    assert fig.legends == []


def test_plot_fans_small_multiples():
    fig = plot_fans(make_dataset(samples=10), ["backlog", "reform cost"])
    assert len(fig.axes) == 2
    assert all(len(bands_of(ax)) == 2 * len(SCENARIOS) for ax in fig.axes)
    assert "50% / 90% bands over 10 samples" in fig.get_suptitle()


# -- grid ----------------------------------------------------------------------------------------

def test_grid_is_variables_by_scenarios():
    fig = plot_grid(make_dataset(samples=10), ["backlog", "reform cost"])
    assert len(fig.axes) == 2 * len(SCENARIOS)
    top = fig.axes[:len(SCENARIOS)]
    assert [ax.get_title() for ax in top] == list(LABELS)
    assert [len(data_lines(ax)) for ax in top] == [1, 2, 2]   # baseline reference beside others
    assert [len(markers(ax)) for ax in top] == [0, 1, 1]
    assert all(len(bands_of(ax)) == 2 for ax in fig.axes)
    assert "[cases]" in fig.axes[0].get_ylabel()


def test_grid_with_one_sample_has_no_bands():
    fig = plot_grid(make_dataset(samples=1), ["backlog"])
    assert all(bands_of(ax) == [] for ax in fig.axes)


# -- registry and saving -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(KINDS), ids=str)
def test_every_kind_draws_a_figure(kind):
    fig = draw(kind, make_dataset(samples=4), ["backlog", "service quality"])
    assert isinstance(fig, Figure) and fig.axes


def test_unknown_kind_lists_choices():
    with pytest.raises(PlotError, match=r"unknown plot kind 'pie'; expected one of "
                                        r"\['fan', 'grid', 'lines'\]"):
        draw("pie", make_dataset(), ["backlog"])


@pytest.mark.parametrize(("name", "magic"), [("chart.png", b"\x89PNG"), ("chart.SVG", b"<?xml")],
                         ids=["png", "svg-upper-case-suffix"])
def test_save_figure(tmp_path, name, magic):
    path = save_figure(plot_lines(make_dataset(), ["backlog"]), tmp_path / "figures" / name)
    assert path.read_bytes().startswith(magic)
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("name", ["chart.pdf", "chart"], ids=["pdf", "no-suffix"])
def test_save_figure_refuses_other_suffixes(tmp_path, name):
    with pytest.raises(PlotError, match=r"expected one of \['.png', '.svg'\]"):
        save_figure(plot_lines(make_dataset(), ["backlog"]), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_plots_never_touch_pyplot():
    code = ("import sys, numpy as np, xarray as xr\n"
            "from reformsim.report.figures import plot_grid\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_plots import make_dataset\n"
            "plot_grid(make_dataset(samples=3), ['backlog'])\n"
            "print('matplotlib.pyplot' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_scenarios_starting_together_share_one_dark_marker():
    ds = make_dataset().assign_coords(change_start=("scenario", [math.nan, 2028.0, 2028.0]))
    (marker,) = markers(plot_variable(ds, "backlog"))
    assert marker.get_gid() == f"{CHANGE_GID}:holistic, ict first"
    assert to_hex(marker.get_color()) == BASELINE_COLOUR


@pytest.mark.parametrize("kind", sorted(KINDS), ids=str)
def test_hostile_names_are_drawn_literally(tmp_path, kind):
    name, label = "\"cost\" $^$ case — ü", "A $^$1bn plan"     # "$^$" is broken mathtext
    ds = make_dataset(samples=3).rename({"backlog": name})
    ds[name].attrs["units"] = "$/case"
    ds = ds.assign_coords(label=("scenario", ["Status quo", label, "ICT first"]))
    fig = draw(kind, ds, [name])
    save_figure(fig, tmp_path / "hostile.png")          # rendering would fail on bad mathtext
    assert label in [t.replace("\\$", "$") for t in legend_texts(fig)]
    assert fig.axes[0].get_ylabel().replace("\\$", "$").replace("\n", " ") == f"{name} [$/case]"
