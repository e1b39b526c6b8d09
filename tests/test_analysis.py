"""analysis: values at years, deltas against a baseline, time to target, bands, text formats.

Every expectation is worked by hand from the tiny synthetic datasets built below.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

from reformsim.errors import ReformsimError
from reformsim.report.kpis import (
    AnalysisError,
    bands,
    kpi_table,
    resolve_baseline,
    time_to_target,
    values_at,
)
from reformsim.report.tables import FORMATS, format_table

TIMES = [2025.0, 2030.0, 2035.0]


def make_dataset(variables: dict[str, list], *, times=TIMES, scenarios=("base", "fast"),
                 labels=("Base case", "Fast track"), change_start=(math.nan, 2027.0),
                 baseline: str | None = "base", status=None, units="index",
                 time_units: str | None = "years") -> xr.Dataset:
    """A results Dataset as ensemble.run makes it; values are (S, T) or (S, M, T) nested lists."""
    data = {}
    for name, values in variables.items():
        array = np.asarray(values, dtype=float)
        array = array[:, None, :] if array.ndim == 2 else array
        data[name] = (("scenario", "sample", "time"), array,
                      {"units": units, "description": f"about {name}"})
    samples = next(iter(data.values()))[1].shape[1]
    status = np.full((len(scenarios), samples), "ok", dtype=object) if status is None else status
    data["status"] = (("scenario", "sample"), np.asarray(status, dtype=object))
    ds = xr.Dataset(data, coords={
        "scenario": list(scenarios), "label": ("scenario", list(labels)),
        "description": ("scenario", [f"{s} roadmap" for s in scenarios]),
        "change_start": ("scenario", list(change_start)), "sample": np.arange(samples),
        "time": ("time", list(times), {"units": time_units} if time_units else {})})
    if baseline is not None:
        ds.attrs["baseline"] = baseline
    return ds


@pytest.fixture
def tiny() -> xr.Dataset:
    return make_dataset({"quality": [[1, 2, 4], [1, 3, 6]], "zero start": [[0, 0, 1], [0, 1, 1]]})


@pytest.fixture
def uncertain() -> xr.Dataset:
    # three samples; the median of [1, 2, 3] is 2, p5 = 1.1 and p95 = 2.9 (linear interpolation)
    base = [[1, 1, 1], [1, 2, 3], [1, 3, 5]]
    fast = [[2, 2, 2], [2, 4, 6], [2, 6, 10]]
    return make_dataset({"quality": [base, fast]})


# -- values_at ---------------------------------------------------------------------------------

def test_values_at_one_sample_has_no_percentiles(tiny):
    table = values_at(tiny, ["quality"], [2030, 2035])
    assert list(table.columns) == ["scenario", "label", "variable", "units", "year", "value"]
    assert table["value"].tolist() == [2.0, 4.0, 3.0, 6.0]
    assert table["label"].tolist() == ["Base case", "Base case", "Fast track", "Fast track"]


def test_repeated_years_and_variables_are_shown_once(tiny):
    table = kpi_table(tiny, ["quality", "quality"], [2030, 2030.0, 2035])
    assert table["year"].tolist() == [2030.0, 2035.0, 2030.0, 2035.0]


def test_values_at_median_and_percentiles_over_samples(uncertain):
    row = values_at(uncertain, ["quality"], [2030]).iloc[0]
    assert (row["value"], row["p5"], row["p95"]) == pytest.approx((2.0, 1.1, 2.9))


@pytest.mark.parametrize(("year", "expected"),
                         [(2031, 2.0), (2033, 4.0), (2025, 1.0), (2035, 4.0)],
                         ids=["nearest-below", "nearest-above", "first", "last"])
def test_values_at_nearest_save_time(tiny, year, expected):
    assert values_at(tiny, ["quality"], [year])["value"].iloc[0] == expected


@pytest.mark.parametrize("year", [2024, 2050], ids=["before", "after"])
def test_values_at_year_outside_run_names_year_and_range(tiny, year):
    message = rf"time {year} is outside the run \(2025 to 2035 years\)"
    with pytest.raises(AnalysisError, match=message):
        values_at(tiny, ["quality"], [year])


def test_failed_samples_are_left_out(uncertain):
    status = [["ok", "ok", "'quality' is not finite at time 2030"], ["ok", "ok", "ok"]]
    ds = uncertain.assign(status=(("scenario", "sample"), np.array(status, dtype=object)))
    row = values_at(ds, ["quality"], [2035]).iloc[0]
    assert row["value"] == pytest.approx(2.0)          # median of [1, 3], not of [1, 3, 5]


def test_all_samples_failed_gives_nan_without_warning(uncertain):
    ds = uncertain.assign(status=(("scenario", "sample"),
                                  np.array([["boom"] * 3, ["ok"] * 3], dtype=object)))
    table = values_at(ds, ["quality"], [2030])
    assert math.isnan(table["value"].iloc[0]) and table["value"].iloc[1] == 4.0


def test_unknown_variable_suggests_the_closest(tiny):
    with pytest.raises(AnalysisError, match="'qualty' is not in this run; did you mean 'quality'"):
        values_at(tiny, ["qualty"], [2030])


# -- kpi_table ---------------------------------------------------------------------------------

def test_kpi_table_deltas_against_baseline(tiny):
    table = kpi_table(tiny, ["quality"], [2030, 2035])
    assert table["delta"].tolist() == [0.0, 0.0, 1.0, 2.0]
    assert table["delta_pct"].tolist() == [0.0, 0.0, 50.0, 50.0]
    assert set(table["baseline"]) == {"base"}


def test_kpi_table_percent_is_nan_when_baseline_is_zero(tiny):
    row = kpi_table(tiny, ["zero start"], [2030]).iloc[1]
    assert row["delta"] == 1.0 and math.isnan(row["delta_pct"])


def test_kpi_table_uncertain_has_percentiles(uncertain):
    table = kpi_table(uncertain, ["quality"], [2035])
    assert list(table.columns) == ["scenario", "label", "variable", "units", "year", "value",
                                   "p5", "p95", "delta", "delta_pct", "baseline"]
    assert table["delta"].tolist() == [0.0, 3.0]        # medians 3 and 6


def test_kpi_table_explicit_baseline(tiny):
    table = kpi_table(tiny, ["quality"], [2035], baseline="fast")
    assert table["delta"].tolist() == [-2.0, 0.0]
    assert table["delta_pct"].tolist() == [pytest.approx(-100 / 3), 0.0]


@pytest.mark.parametrize(("attr", "expected"), [("fast", "fast"), (None, "base"), ("gone", "base")],
                         ids=["from-attrs", "no-attr-first", "attr-not-a-scenario-first"])
def test_default_baseline(attr, expected):
    ds = make_dataset({"quality": [[1, 2, 4], [1, 3, 6]]}, baseline=attr)
    assert resolve_baseline(ds) == expected


def test_unknown_baseline_is_an_error_with_did_you_mean(tiny):
    with pytest.raises(AnalysisError, match="baseline 'fsat' is not a scenario of this run; "
                                            "did you mean 'fast'"):
        kpi_table(tiny, ["quality"], [2030], baseline="fsat")
    assert issubclass(AnalysisError, ReformsimError)


def test_analysis_does_not_mutate_its_input(uncertain):
    before = uncertain.copy(deep=True)
    kpi_table(uncertain, ["quality"], [2030])
    bands(uncertain, "quality")
    assert uncertain.identical(before)


def test_hostile_variable_names_pass_through():
    name = "\"Trust\" in gov't — ü|x"
    ds = make_dataset({name: [[1, 2, 4], [1, 3, 6]]})
    table = kpi_table(ds, [name], [2035])
    assert table["variable"].tolist() == [name, name]
    assert "\\|x [index] 2035" in format_table(table, "markdown")


# -- time_to_target ----------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "direction", "expected"), [
    (3.0, "above", [2032.5, 2030.0]),        # base: 2 -> 4 over 2030..2035; fast: 3 at 2030
    (5.0, "above", [math.nan, 2030 + 10 / 3]),   # base never; fast: 3 -> 6, 2/3 of 5 years
    (0.5, "above", [2025.0, 2025.0]),        # reached from the start
    (0.5, "below", [math.nan, math.nan]),    # never falls to 0.5
], ids=["interpolated", "never-reached", "from-start", "below-never"])
def test_time_to_target(tiny, target, direction, expected):
    table = time_to_target(tiny, "quality", target, direction)
    np.testing.assert_allclose(table["time"].to_numpy(), expected)
    assert table["label"].tolist() == ["Base case", "Fast track"]


def test_time_to_target_below_on_falling_series():
    ds = make_dataset({"waiting time": [[5, 3, 1], [5, 5, 5]]})
    np.testing.assert_allclose(time_to_target(ds, "waiting time", 2, "below")["time"].to_numpy(),
                               [2032.5, math.nan])


def test_time_to_target_uses_median_over_samples(uncertain):
    # base median: 1, 2, 3 -> 2.5 is reached halfway from 2030 to 2035
    assert time_to_target(uncertain, "quality", 2.5)["time"].iloc[0] == pytest.approx(2032.5)


def test_time_to_target_unknown_direction(tiny):
    with pytest.raises(AnalysisError, match=r"direction 'up' is not one of \['above', 'below'\]"):
        time_to_target(tiny, "quality", 3, "up")


# -- bands -------------------------------------------------------------------------------------

def test_bands_quantiles_per_scenario_and_time():
    samples = [[[v] * 3 for v in (5, 1, 4, 2, 3)], [[0] * 3] * 5]
    ds = make_dataset({"quality": samples})
    result = bands(ds, "quality", (0.25, 0.5, 0.75))
    assert result.dims == ("scenario", "quantile", "time")
    np.testing.assert_allclose(result.sel(scenario="base").values[:, 0], [2, 3, 4])
    assert result["label"].values.tolist() == ["Base case", "Fast track"]
    assert result.attrs["units"] == "index"


# -- formats -----------------------------------------------------------------------------------

@pytest.fixture
def small_kpis(tiny):
    return kpi_table(tiny, ["quality"], [2030])


def test_format_csv(small_kpis):
    assert format_table(small_kpis, "csv") == (
        "scenario,label,variable,units,year,value,delta,delta_pct,baseline\n"
        "base,Base case,quality,index,2030.0,2.0,0.0,0.0,base\n"
        "fast,Fast track,quality,index,2030.0,3.0,1.0,50.0,base\n")


def test_format_json_records_with_null_for_nan(tiny):
    records = json.loads(format_table(kpi_table(tiny, ["zero start"], [2030]), "json"))
    assert records[1] == {"scenario": "fast", "label": "Fast track", "variable": "zero start",
                          "units": "index", "year": 2030.0, "value": 1.0, "delta": 1.0,
                          "delta_pct": None, "baseline": "base"}


def test_format_markdown(small_kpis):
    assert format_table(small_kpis, "markdown") == (
        "| scenario | quality [index] 2030 | Δ | Δ% |\n"
        "|---|---:|---:|---:|\n"
        "| Base case | 2.00 |  |  |\n"
        "| Fast track | 3.00 | +1.00 | +50.0% |\n")


def test_format_table_for_people(small_kpis):
    assert format_table(small_kpis, "table") == (
        "Δ: difference from Base case; Δ%: relative to it.\n"
        "\n"
        "quality [index]\n"
        "             ─────── 2030 ───────\n"
        "scenario     value      Δ      Δ%\n"
        "Base case     2.00\n"
        "Fast track    3.00  +1.00  +50.0%\n")


def test_format_table_shows_ranges_under_values(uncertain):
    text = format_table(kpi_table(uncertain, ["quality"], [2035]), "table")
    assert "medians over samples" in text
    lines = text.splitlines()
    assert lines[-1].split() == ["5–95%", "[2.40,", "9.60]"]
    assert lines[-2].split() == ["Fast", "track", "6.00", "+3.00", "+100.0%"]


def test_format_table_wraps_years_at_100_columns(uncertain):
    years = [2025, 2027, 2029, 2031, 2033, 2035]
    text = format_table(kpi_table(uncertain, ["quality"], years), "table")
    assert max(map(len, text.splitlines())) <= 100
    assert all(f" {y} " in text for y in years)


def test_format_table_other_frames_as_they_are(tiny):
    text = format_table(time_to_target(tiny, "quality", 5.0), "table")
    assert text.splitlines() == [
        "scenario  label       variable  units  target  direction     time",
        "base      Base case   quality   index       5  above          n/a",
        "fast      Fast track  quality   index       5  above      2033.33"]


def test_unknown_format_lists_choices(small_kpis):
    with pytest.raises(AnalysisError, match=r"unknown format 'xlsx'; expected one of "
                                            r"\['csv', 'json', 'markdown', 'table'\]"):
        format_table(small_kpis, "xlsx")
    assert sorted(FORMATS) == ["csv", "json", "markdown", "table"]


# -- quantiles in one pass --------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from reformsim.report.kpis import (  # noqa: E402
    compare_runs,
    find_scenario,
    quantiles,
    subset,
)
from reformsim.report.tables import for_files, rank, summarise  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(arrays(float, (3, 7, 4), elements=st.one_of(
    st.floats(-1e6, 1e6), st.just(float("nan")))))
def test_quantiles_equal_numpy_nanquantile(values):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(values, [0.05, 0.5, 0.95], axis=1)
    np.testing.assert_allclose(quantiles(values, [0.05, 0.5, 0.95], axis=1), expected,
                               rtol=1e-12, atol=1e-9)


# -- scenarios by name or label, subsets ------------------------------------------------------

@pytest.mark.parametrize("wanted", ["fast", "Fast track", "fast  TRACK"],
                         ids=["name", "label", "label-any-case"])
def test_a_scenario_is_named_by_its_key_or_its_label(tiny, wanted):
    assert find_scenario(tiny, wanted) == "fast"
    assert kpi_table(tiny, ["quality"], [2030], wanted)["baseline"].iloc[0] == "fast"


def test_unknown_scenario_suggests_names_and_labels(tiny):
    with pytest.raises(AnalysisError, match="did you mean 'Fast track'"):
        find_scenario(tiny, "Fast trak")


def test_subset_of_scenarios_and_times(tiny):
    cut = subset(tiny, ["Fast track"], 2030, 2035)
    assert list(cut.scenario.values) == ["fast"] and list(cut.time.values) == [2030, 2035]


def test_subset_outside_the_run_is_an_error(tiny):
    with pytest.raises(AnalysisError, match="no time between 2050 and 2060"):
        subset(tiny, (), 2050, 2060)


# -- ranking and summarising --------------------------------------------------------------------

def many_kpis(count: int):
    values = [[float(i), float(i)] for i in range(count)]
    ds = make_dataset({"x": [[0, v[0], v[1]] for v in values]}, times=[2025, 2030, 2035],
                      scenarios=[f"s{i}" for i in range(count)],
                      labels=[f"S {i}" for i in range(count)],
                      change_start=[math.nan] * count, baseline="s3")
    return kpi_table(ds, ["x"], [2035])


def test_rank_puts_the_baseline_first_then_highest_first():
    ranked = rank(many_kpis(5))
    assert ranked["scenario"].tolist() == ["s3", "s4", "s2", "s1", "s0"]
    assert rank(many_kpis(5), "X", ascending=True)["scenario"].tolist() == [
        "s3", "s0", "s1", "s2", "s4"]


def test_rank_by_an_unknown_variable_suggests():
    with pytest.raises(AnalysisError, match="cannot sort by 'y'"):
        rank(many_kpis(3), "y")


def test_summarise_keeps_the_baseline_and_the_first_rows():
    shown, note = summarise(rank(many_kpis(30)), rows=10)
    assert shown["scenario"].tolist() == ["s3"] + [f"s{i}" for i in range(29, 19, -1)]
    assert note == ("11 of 30 scenarios shown: the baseline and the first 10 by x at 2035; "
                    "--all shows every one.")
    assert summarise(many_kpis(12), rows=10)[1] == ""


def test_table_with_a_budget_says_what_it_left_out(uncertain):
    table = kpi_table(make_dataset({"a": [[1, 2, 3], [1, 2, 3]], "b": [[1, 2, 3], [1, 2, 4]],
                                    "c": [[1, 2, 3], [1, 2, 5]]}), ["a", "b", "c"], [2035])
    text = format_table(table, "table", lines=14)
    assert text.splitlines()[-1] == ("2 more variables not shown (b, c); --all shows every one, "
                                     "--var NAME one of them.")
    assert len(text.splitlines()) <= 14


def test_long_labels_are_shortened_and_stay_apart():
    labels = ["Institutions + Leadership + Multichannel + Engagement + Knowledge + ICT",
              "Institutions + Leadership + Multichannel + Engagement + Knowledge"]
    ds = make_dataset({"q": [[1, 2, 3], [1, 2, 4]]}, labels=labels)
    lines = format_table(kpi_table(ds, ["q"], [2035]), "table").splitlines()
    rows = [line[:35].rstrip() for line in lines[-2:]]
    assert rows == ["Inst.+Lead.+Mult.+Enga.+Know.+ICT", "Inst.+Lead.+Mult.+Enga.+Know."]


# -- files for programs -------------------------------------------------------------------------

def test_files_name_time_by_its_unit_and_round_away_float_noise():
    ds = make_dataset({"q": [[1, 0.98, 0.98], [1, 0.98, 0.9799995]]}, time_units="Month")
    table = for_files(kpi_table(ds, ["q"], [2035]), "month")
    assert "month" in table.columns and "year" not in table.columns
    assert table["delta"].tolist() == [0.0, 0.0]          # -5e-07 on 0.98 is noise
    assert table["value"].tolist() == [0.98, 0.98]


# -- run against run ------------------------------------------------------------------------------

def test_compare_runs_matches_scenarios_by_name(tiny):
    edited = tiny.copy(deep=True)
    edited["quality"][:] = edited["quality"] + 1
    table = compare_runs({"before": tiny, "after": edited}, ["quality"], [2035])
    assert table.attrs["runs"] == {"A": "before", "B": "after"}
    assert table[["run", "scenario", "value", "delta", "baseline"]].values.tolist() == [
        ["A", "A:base", 4.0, 0.0, "A:base"], ["B", "B:base", 5.0, 1.0, "A:base"],
        ["A", "A:fast", 6.0, 0.0, "A:fast"], ["B", "B:fast", 7.0, 1.0, "A:fast"]]
    assert table["label"].tolist() == ["Base case (A)", "Base case (B)", "Fast track (A)",
                                       "Fast track (B)"]


def test_scenarios_in_a_comma_list_even_when_a_label_holds_a_comma():
    ds = make_dataset({"q": [[1, 2, 3], [1, 2, 4], [1, 2, 5]]}, scenarios=("a", "b", "c"),
                      labels=("Plain", "Surge, fast hiring", "Other"),
                      change_start=(math.nan,) * 3)
    from reformsim.report.kpis import find_scenarios

    assert find_scenarios(ds, ["c,Surge, fast hiring", "plain"]) == ["c", "b", "a"]
    with pytest.raises(AnalysisError, match="'Surge' is not a scenario"):
        find_scenarios(ds, ["Surge,fast hirin"])
