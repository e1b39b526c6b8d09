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
    KINDS,
    MAX_PANELS,
    Deck,
    PlotError,
    draw,
    pages,
    plot_fan,
    plot_fans,
    plot_grid,
    plot_lines,
    plot_ranking,
    plot_variable,
    save_figure,
    takeaway,
)
from reformsim.report.kpis import AnalysisError
from reformsim.report.ranking import RANK_ROWS
from reformsim.report.style import (
    BASELINE_COLOUR,
    CHANGE_GID,
    MAX_LINES,
    PALETTE,
    SLIDE,
    human_units,
    scenario_styles,
)

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


def slide_text(fig: Figure, gid: str) -> str:
    return next(t.get_text() for t in fig.texts if t.get_gid() == gid)


def all_texts(fig: Figure) -> list:
    """Every text a slide shows: titles, notes, axes titles, labels, ticks, legends."""
    texts = list(fig.texts) + [t for legend in fig.legends for t in legend.get_texts()]
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(),
                  *ax.get_yticklabels(), *ax.texts]
    return [t for t in texts if t.get_text()]


def many(count: int, samples: int = 1) -> xr.Dataset:
    """``count`` scenarios; scenario i ends at i (so the last is highest), the baseline is 5."""
    time = np.arange(2025, 2031.0)
    rng = np.random.default_rng(1)
    values = np.arange(count)[:, None, None] * (time - 2025)[None, None, :] / 5 \
        + rng.normal(0, 0.1, (1, samples, 1)) * (samples > 1)
    names = [f"s{i}" for i in range(count)]
    return xr.Dataset({"x": (("scenario", "sample", "time"), values, {"units": "Dmnl"})},
                      coords={"scenario": names, "label": ("scenario", [f"S {i}" for i in
                                                                          range(count)]),
                              "sample": np.arange(samples),
                              "time": ("time", time, {"units": "Year"})},
                      attrs={"baseline": "s5"})


# -- the slide ------------------------------------------------------------------------------

def test_one_variable_is_a_16_9_slide_with_a_takeaway():
    fig = plot_lines(make_dataset(), ["backlog"])
    assert tuple(fig.get_size_inches()) == SLIDE and SLIDE[0] / SLIDE[1] == pytest.approx(16 / 9)
    assert slide_text(fig, "title") == "backlog"
    # scenario s grows s times faster: ict first ends highest, the status quo lowest
    final = make_dataset()["backlog"].isel(sample=0, time=-1).values
    assert slide_text(fig, "subtitle") == takeaway(make_dataset(), "backlog") == (
        f"In 2045, highest: ICT first ({final[2]:.2f}); lowest: Status quo ({final[0]:.2f})")
    (ax,) = fig.axes
    assert [line.get_label() for line in data_lines(ax)] == list(LABELS)
    assert ax.get_ylabel() == "cases" and ax.get_xlabel() == "years"


def test_titles_are_names_never_documentation():
    fig = plot_lines(make_dataset(), list(VARIABLES)[:4])
    shown = " ".join(t.get_text() for t in all_texts(fig))
    assert "of the system" not in shown                    # the variables' descriptions
    assert [ax.get_title() for ax in fig.axes] == list(VARIABLES)[:4]


def test_legend_sits_beside_the_panels():
    fig = plot_fans(make_dataset(samples=5), ["backlog", "reform cost"])
    (legend,) = fig.legends
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    left = legend.get_window_extent(renderer).x0
    assert all(ax.get_window_extent(renderer).x1 < left for ax in fig.axes)
    assert legend_texts(fig) == [*LABELS, "changes start", "50% of samples", "90% of samples"]


def test_readable_when_scaled_to_1280_pixels():
    """12 pt on a 13.3-inch slide is 16 px at 1280 px wide; lines at least 2 pt."""
    fig = plot_fans(make_dataset(samples=5), ["backlog", "reform cost", "service quality"])
    assert min(t.get_fontsize() for t in all_texts(fig)) >= 12
    assert min(line.get_linewidth() for ax in fig.axes for line in data_lines(ax)) >= 2


@pytest.mark.parametrize(("units", "description", "limits", "expected"), [
    ("Dmnl", "Share of people who trust", (), "share"),
    ("Dmnl", "LEVER. Share of the budget", (0, 1), "share"),
    ("dmnl", "Quality index", (0.0, 1.0), "index 0-1"),
    ("Dmnl", "Gap between groups", (-1, 1), "index -1 to 1"),
    ("Dmnl", "Quality index", (0, math.nan), "index"),
    ("1", "", (), "index"),
    ("money/case", "Share of cost", (), "money/case"),
    ("", "", (), ""),
], ids=["share", "lever-share", "index-range", "negative-range", "open-range", "one", "units",
         "none"])
def test_units_in_words(units, description, limits, expected):
    assert human_units(units, description, limits) == expected


def test_a_run_s_range_attribute_gives_the_index_range():
    ds = make_dataset()
    ds["service quality"].attrs.update(units="Dmnl", range=np.array([0.0, 1.0]))
    assert plot_variable(ds, "service quality").get_figure() is not None
    fig = plot_lines(ds, ["service quality"])
    assert fig.axes[0].get_ylabel() == "index 0-1"


def test_palette_distinct_on_a_projector():
    """No pale colour (a projector washes them out): every line colour is darker than mid-grey
    by relative luminance, and the baseline is near-black and solid."""
    from matplotlib.colors import to_rgb

    def luminance(colour: str) -> float:
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                   for c in to_rgb(colour))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert max(map(luminance, PALETTE)) < 0.45
    assert len(set(PALETTE)) == len(PALETTE) == MAX_LINES - 1
    styles = scenario_styles(make_dataset())
    assert (styles["status quo"].color, styles["status quo"].linestyle) == (BASELINE_COLOUR, "-")
    assert [styles[s].color for s in SCENARIOS[1:]] == list(PALETTE[:2])


def test_change_start_markers_one_per_scenario_in_its_colour():
    ax = plot_variable(make_dataset(), "backlog")
    styles = scenario_styles(make_dataset())
    found = {line.get_gid(): (line.get_xdata()[0], to_hex(line.get_color()))
             for line in markers(ax)}
    assert found == {f"{CHANGE_GID}:holistic": (2027.0, to_hex(styles["holistic"].color)),
                     f"{CHANGE_GID}:ict first": (2030.0, to_hex(styles["ict first"].color))}


def test_markers_of_scenarios_starting_together_are_stacked_so_each_shows():
    ds = make_dataset().assign_coords(change_start=("scenario", [2025.0, 2025.0, 2025.0]))
    found = markers(plot_variable(ds, "backlog"))
    assert len(found) == 3                                  # at the left edge too
    assert len({line.get_ydata()[0] for line in found}) == 3


def test_unknown_variable_suggests_closest():
    with pytest.raises(AnalysisError, match="did you mean 'backlog'"):
        plot_lines(make_dataset(), ["backlgo"])


def test_no_variables_is_an_error():
    with pytest.raises(PlotError, match="no variables to plot"):
        plot_lines(make_dataset(), [])


# -- small multiples and pages ----------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 4, 6], ids=lambda n: f"{n}-variables")
def test_small_multiples_one_axes_per_variable_one_legend(n):
    fig = plot_lines(make_dataset(), (list(VARIABLES) * 2)[:n] if n > 5 else list(VARIABLES)[:n])
    assert len(fig.axes) == n and len(fig.legends) == 1
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_more_variables_than_a_slide_holds_is_an_error_and_pages_split_them():
    ds = make_dataset()
    names = list(VARIABLES) + ["backlog"] * 2
    with pytest.raises(PlotError, match="too many for one slide"):
        plot_lines(ds, names)
    slides = pages("lines", ds, names)
    assert [len(fig.axes) for fig in slides] == [MAX_PANELS, len(names) - MAX_PANELS]


def test_too_many_scenarios_for_lines_says_what_to_do():
    with pytest.raises(PlotError, match="--scenarios, or rank them"):
        plot_lines(many(MAX_LINES + 1), ["x"])
    assert plot_lines(many(MAX_LINES), ["x"]).axes


# -- fans ----------------------------------------------------------------------------------------

def bands_of(ax: Axes) -> list[PolyCollection]:
    return [c for c in ax.collections if str(c.get_gid()).startswith("band")]


def test_fan_has_a_50_and_a_90_band_per_scenario_under_the_medians():
    ax = plot_fan(make_dataset(samples=20), "service quality")
    by_gid = {c.get_gid().split(":")[0]: c for c in bands_of(ax)}
    assert sorted(by_gid) == ["band50", "band90"]
    assert all(len(c.get_paths()) == len(SCENARIOS) for c in by_gid.values())
    assert [line.get_label() for line in data_lines(ax)] == list(LABELS)
    assert all(c.get_zorder() < line.get_zorder() for c in by_gid.values()
               for line in data_lines(ax))


def test_fan_band_holds_the_median():
    ax = plot_fan(make_dataset(samples=20), "service quality")
    band = next(c for c in bands_of(ax) if c.get_gid().startswith("band90"))
    vertices = band.get_paths()[2].vertices                 # ict first
    median = data_lines(ax)[2].get_ydata()
    assert vertices[:, 1].min() <= median.min() and median.max() <= vertices[:, 1].max()


def test_fan_with_one_sample_falls_back_to_lines():
    ax = plot_fan(make_dataset(samples=1), "service quality")
    assert bands_of(ax) == []
    assert len(data_lines(ax)) == len(SCENARIOS)


def test_fan_where_every_sample_failed_for_a_while_leaves_a_gap():
    ds = make_dataset(samples=4)
    ds["backlog"][1, :, 5:10] = np.nan
    ax = plot_fan(ds, "backlog")
    gids = sorted(c.get_gid() for c in bands_of(ax))
    assert "band90:holistic" in gids and "band50:holistic" in gids   # fill_between, with a gap


def test_fan_into_given_axes_adds_no_legend():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_fan(make_dataset(samples=5), "backlog", ax=ax) is ax
    assert fig.legends == []


# -- grid ----------------------------------------------------------------------------------------

def test_grid_is_variables_by_scenarios():
    fig = plot_grid(make_dataset(samples=10), ["backlog", "reform cost"])
    assert len(fig.axes) == 2 * len(SCENARIOS)
    top = fig.axes[:len(SCENARIOS)]
    assert [ax.get_title() for ax in top] == list(LABELS)
    assert [len(data_lines(ax)) for ax in top] == [1, 2, 2]   # baseline reference beside others
    assert [len(markers(ax)) for ax in top] == [0, 1, 1]
    assert all(len(bands_of(ax)) == 2 for ax in fig.axes)
    assert "cases" in fig.axes[0].get_ylabel()
    assert tuple(fig.get_size_inches()) == SLIDE


def test_grid_of_too_many_scenarios_is_refused_not_drawn_tiny():
    with pytest.raises(PlotError, match="too small to read"):
        plot_grid(many(64), ["x"])


# -- ranking -------------------------------------------------------------------------------------

def dots(ax: Axes) -> list[str]:
    return [line.get_gid().split(":", 1)[1] for line in ax.get_lines()
            if str(line.get_gid()).startswith("dot:")]


def test_ranking_orders_scenarios_by_median_highest_first():
    fig = plot_ranking(many(8), ["x"])
    (ax,) = fig.axes
    assert dots(ax) == [f"s{i}" for i in range(7, -1, -1)]
    assert slide_text(fig, "title") == "x in 2030: 8 scenarios ranked"
    assert slide_text(fig, "subtitle") == "Highest: S 7 (7.00); S 5 (dotted line) ranks 3 of 8"
    assert ax.get_yticklabels()[0].get_text() == "1. S 7"


def test_ranking_of_many_shows_the_best_the_worst_and_the_baseline():
    ds = many(64)
    (ax,) = plot_ranking(ds, ["x"]).axes
    shown = dots(ax)
    assert len(ax.get_yticks()) <= RANK_ROWS
    assert shown[0] == "s63" and shown[-1] == "s0" and "s5" in shown
    assert any("more" in t.get_text() for t in ax.get_yticklabels())


def test_ranking_whiskers_span_5_to_95_percent():
    ds = many(3, samples=40)
    (ax,) = plot_ranking(ds, ["x"]).axes
    whisker = next(line for line in ax.get_lines() if line.get_gid() == "whisker:s2")
    values = ds["x"].sel(scenario="s2").isel(time=-1).values
    np.testing.assert_allclose(whisker.get_xdata(), np.quantile(values, [0.05, 0.95]))


def test_ranking_draws_the_same_whatever_the_number_of_scenarios():
    """Cost linear in the scenarios: a ranking of 2,000 draws no more than one of 30."""
    small, large = (plot_ranking(many(n), ["x"]).axes[0] for n in (30, 2000))
    assert len(large.get_lines()) == len(small.get_lines()) <= 2 * RANK_ROWS + 1


def test_ranking_at_a_time_outside_the_run_is_an_error():
    with pytest.raises(AnalysisError, match="time 1990 is outside the run"):
        plot_ranking(many(3), ["x"], at=1990)


def test_ranking_of_a_model_in_months_says_so():
    ds = many(3)
    ds["time"].attrs["units"] = "Month"
    assert slide_text(plot_ranking(ds, ["x"]), "title") == "x at month 2030: 3 scenarios ranked"


@pytest.mark.parametrize("at", [2027, 2027.2], ids=["on-a-save-time", "nearest"])
def test_ranking_at_a_chosen_time(at):
    fig = plot_ranking(many(4), ["x"], at=at)
    assert slide_text(fig, "title").startswith("x in 2027:")


# -- a deck: one layout reused -------------------------------------------------------------------

def test_deck_reuses_one_figure_and_writes_the_pixels_savefig_would(tmp_path):
    from PIL import Image

    ds = make_dataset(samples=6)
    deck = Deck(ds, "fan")
    assert deck.slide("backlog") is deck.slide("reform cost")
    deck.save("backlog", tmp_path / "a.png")
    deck.save("reform cost", tmp_path / "b.png")
    save_figure(deck.slide("reform cost"), tmp_path / "c.png")
    def pixels(name: str) -> np.ndarray:
        with Image.open(tmp_path / name) as image:
            return np.asarray(image.convert("RGB"))

    b, c = pixels("b.png"), pixels("c.png")
    assert b.shape == (1080, 1920, 3)
    np.testing.assert_array_equal(b, c)
    assert slide_text(deck.fig, "title") == "reform cost"


@pytest.mark.parametrize("kind", ["fan", "ranking"])
def test_a_reused_deck_draws_what_a_fresh_one_draws(tmp_path, kind):
    """A deck keeps its Axes (and ticks) from slide to slide: each slide, after others of
    other scales, has the pixels of the same slide from a deck that drew nothing before."""
    from PIL import Image

    ds = make_dataset(samples=6) if kind == "fan" else many(30, samples=4)
    variables = ["backlog", "reform cost", "backlog"] if kind == "fan" else ["x"] * 2
    if kind == "ranking":
        ds["y"] = -1000 * ds["x"]
        ds["y"].attrs = dict(ds["x"].attrs)
        variables = ["y", "x", "y"]
    deck = Deck(ds, kind)
    for n, variable in enumerate(variables):
        deck.save(variable, tmp_path / f"reused-{n}.png")
        Deck(ds, kind).save(variable, tmp_path / f"fresh-{n}.png")
        with Image.open(tmp_path / f"reused-{n}.png") as a, \
                Image.open(tmp_path / f"fresh-{n}.png") as b:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))



def _effects(packages: int, scale: float, samples: bool, zero: bool = False) -> tuple:
    """A factorial's effects on "y" at 2045 (as ``factorial_effects`` gives them): main
    effects of both signs, every pair's interaction, optionally 5-95% over samples."""
    import pandas as pd

    names = [f"package {chr(97 + k)}" for k in range(packages)]
    rows = [("main", n, 0.0 if zero else scale * (k + 1) * (-1) ** k)
            for k, n in enumerate(names)]
    rows += [("interaction", f"{a} x {b}", 0.0 if zero else scale * (i - 2 * j) / 7)
             for i, a in enumerate(names) for j, b in enumerate(names) if i < j]
    effects = pd.DataFrame([{"output": "y", "time": 2045.0, "kind": kind, "effect": effect,
                             "value": value} for kind, effect, value in rows])
    if samples:
        effects["p5"] = effects["value"] - abs(scale)
        effects["p95"] = effects["value"] + 2 * abs(scale)
    whole = pd.DataFrame([{"output": "y", "time": 2045.0, "all": 3 * scale,
                           "parts": 2 * scale, "synergy": scale}])
    return effects, whole


def test_a_reused_effects_slide_draws_what_a_fresh_one_draws(tmp_path):
    """The package-effects slides of a run redraw one layout: each, after slides with other
    packages, scales, signs and whiskers, has the pixels of the same slide drawn anew."""
    from PIL import Image

    from reformsim.report.analysis_figures import EffectsSlide, plot_factorial

    cases = [_effects(6, 0.05, True), _effects(3, -400.0, False), _effects(4, 0, False, True),
             _effects(2, 1e-3, True), _effects(6, 0.05, True)]
    reused = EffectsSlide()
    for n, (effects, whole) in enumerate(cases):
        labels = {"package a": f"Case {n}"}
        assert reused.draw(effects, "y", 2045.0, labels, whole) is reused.fig
        save_figure(reused.fig, tmp_path / f"reused-{n}.png")
        fresh = plot_factorial(effects, "y", 2045.0, labels, whole)
        save_figure(fresh, tmp_path / f"fresh-{n}.png")
        with Image.open(tmp_path / f"reused-{n}.png") as a, \
                Image.open(tmp_path / f"fresh-{n}.png") as b:
            assert a.size == (1920, 1080)
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"slide {n}")
    assert slide_text(reused.fig, "title") == "y in 2045: what each package adds"
    assert [t.get_text() for t in reused.bars.get_yticklabels()][:2] == ["Case 4", "package b"]


def test_effects_takeaway_names_the_largest_effect_or_says_there_is_none():
    """The slide's subtitle names the package with the largest main effect; where every
    effect is 0 (an output no package reaches), it says so instead of crowning one."""
    from reformsim.report.analysis_figures import effects_takeaway

    effects, whole = _effects(4, 0.05, False)
    assert effects_takeaway(effects, "y", 2045.0, {}, whole).startswith(
        "package d has the largest effect (-0.200)")
    effects, whole = _effects(4, 0, False, True)
    assert effects_takeaway(effects, "y", 2045.0, {}, whole) == \
        "No package changes y: every effect is 0"


def test_ranking_deck(tmp_path):
    deck = Deck(many(40), "ranking")
    assert deck.save("x", tmp_path / "r.png").stat().st_size > 10_000
    assert dots(deck.ax)[0] == "s39"


# -- registry and saving -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(KINDS), ids=str)
def test_every_kind_draws_a_slide(kind):
    fig = draw(kind, make_dataset(samples=4), ["backlog", "service quality"])
    assert isinstance(fig, Figure) and fig.axes
    assert tuple(fig.get_size_inches()) == SLIDE


def test_unknown_kind_lists_choices():
    with pytest.raises(PlotError, match=r"unknown plot kind 'pie'; expected one of "
                                        r"\['fan', 'grid', 'lines', 'ranking'\]"):
        draw("pie", make_dataset(), ["backlog"])


@pytest.mark.parametrize(("name", "magic"), [("chart.png", b"\x89PNG"), ("chart.SVG", b"<?xml"),
                                             ("chart.pdf", b"%PDF")],
                         ids=["png", "svg-upper-case-suffix", "pdf"])
def test_save_figure(tmp_path, name, magic):
    path = save_figure(plot_lines(make_dataset(), ["backlog"]), tmp_path / "figures" / name)
    assert path.read_bytes().startswith(magic)
    assert path.stat().st_size > 1000


def test_png_is_1920_by_1080(tmp_path):
    from PIL import Image

    path = save_figure(plot_lines(make_dataset(), ["backlog"]), tmp_path / "s.png")
    with Image.open(path) as image:
        assert image.size == (1920, 1080)


@pytest.mark.parametrize("name", ["chart.gif", "chart"], ids=["gif", "no-suffix"])
def test_save_figure_refuses_other_suffixes(tmp_path, name):
    with pytest.raises(PlotError, match=r"expected one of \['.pdf', '.png', '.svg'\]"):
        save_figure(plot_lines(make_dataset(), ["backlog"]), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_plots_never_touch_pyplot():
    code = ("import sys, numpy as np, xarray as xr\n"
            "from reformsim.report.figures import plot_grid, Deck\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_plots import make_dataset\n"
            "plot_grid(make_dataset(samples=3), ['backlog'])\n"
            "Deck(make_dataset(samples=3), 'fan').slide('backlog')\n"
            "print('matplotlib.pyplot' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("kind", sorted(KINDS), ids=str)
def test_hostile_names_are_drawn_literally(tmp_path, kind):
    name, label = "\"cost\" $^$ case — ü", "A $^$1bn plan"     # "$^$" is broken mathtext
    ds = make_dataset(samples=3).rename({"backlog": name})
    ds[name].attrs["units"] = "$/case"
    ds = ds.assign_coords(label=("scenario", ["Status quo", label, "ICT first"]))
    fig = draw(kind, ds, [name])
    save_figure(fig, tmp_path / "hostile.png")          # rendering would fail on bad mathtext
    shown = [t.get_text().replace("\\$", "$") for t in all_texts(fig)]
    assert any(label in text for text in shown)
    assert any("$/case" in text for text in shown)
