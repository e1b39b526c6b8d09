"""The live explorer's model side (explore/levers.py, explore/session.py) and its page's
Python half (explore/page.py), without a browser: tests/test_browser.py drives the page.

Oracle: a move must give what ``reformsim.simulate`` gives for the same constants.
"""

from __future__ import annotations

import math
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import reformsim
from reformsim.cli import main
from reformsim.errors import ReformsimError
from reformsim.explore import levers as lever_rules
from reformsim.explore.page import Page
from reformsim.explore.session import Explorer, Move
from reformsim.model import ir
from reformsim.report.kpis import bands
from reformsim.report.runs import simulate_scenarios
from reformsim.scenarios.loading import load_scenarios
from reformsim.scenarios.spec import ScenarioSet

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "examples" / "service_backlog.yaml"
EXAMPLE_MODEL = ROOT / "models" / "examples" / "service_backlog.mdl"
KPIS = ("Service quality", "Staff")


@pytest.fixture(scope="module")
def backlog_model():
    return reformsim.load_model(EXAMPLE_MODEL)


@pytest.fixture(scope="module")
def explorer(backlog_model) -> Explorer:
    """The shipped example: baseline 'surge', 'surge fast hiring' schedules Time to hire."""
    return Explorer(backlog_model, load_scenarios([EXAMPLE]), kpis=KPIS)


def _direct(model, kpis=KPIS, **params) -> dict[str, np.ndarray]:
    results = reformsim.simulate(model, params=params, outputs=list(kpis))
    return {k: results[k][0] for k in kpis}


# --- which constants are levers, and their ranges ----------------------------------------------

def test_levers_are_the_constants_the_file_changes(explorer):
    assert [lever.name for lever in explorer.levers] == [
        "Demand surge", "Time to erode standard", "Time to hire"]


def test_uncertain_parameters_are_not_levers(backlog_model):
    """Its samples would override the slider: a constant the file samples gets none."""
    scenarios = load_scenarios([EXAMPLE])
    sampled = replace(scenarios.uncertainty.parameters[0], name="Demand surge")
    edited = replace(scenarios, uncertainty=replace(scenarios.uncertainty, parameters=(sampled,)))
    names = [e.name for e in lever_rules.lever_elements(backlog_model, edited)]
    assert names == ["Time to erode standard", "Time to hire"]


def test_a_model_marks_its_levers_and_documents_their_ranges(write_mdl):
    path = write_mdl("levers.mdl", {"share": "0.4", "budget": "2", "other": "3",
                                    "result": "share * budget * other"})
    text = path.read_text()
    text = text.replace("share=\n\t0.4\n\t~\tdmnl\n\t~\t",
                        "share=\n\t0.4\n\t~\tDmnl [0,1,0.05]\n\t~\tLEVER. A share.")
    text = text.replace("budget=\n\t2\n\t~\tdmnl\n\t~\t",
                        "budget=\n\t2\n\t~\tDmnl\n\t~\tLEVER. Money.")
    path.write_text(text)
    model = reformsim.load_model(path)
    explorer = Explorer(model, ScenarioSet())
    share, budget = explorer.levers
    assert (share.name, share.low, share.high, share.step, share.documented) == \
        ("share", 0.0, 1.0, 0.05, True)
    assert share.documentation == "LEVER. A share."
    assert (budget.name, budget.low, budget.high, budget.step, budget.documented) == \
        ("budget", 0.0, 4.0, 0.05, False)


def test_without_marks_or_files_every_number_constant_is_a_lever(write_mdl):
    model = reformsim.load_model(write_mdl("plain.mdl", {"a": "1", "b": "a * 2", "c": "b + a"}))
    assert [lever.name for lever in Explorer(model, ScenarioSet()).levers] == ["a"]


CLOCK = ("Year", 2025.0, 2045.0)


@pytest.mark.parametrize(("units", "values", "expected"), [
    ("Dmnl", [0.15, 0.3, 0], (0.0, 1.0)),
    ("", [1.0, 1.0], (0.0, 2.0)),
    ("Year", [2025.0, 2027.5], (2025.0, 2045.0)),
    ("Year", [1.0, 1.5], (0.0, 3.0)),
    ("1/Year", [0.02], (0.0, 0.04)),
    ("cases", [-3.0, 5.0], (-10.0, 10.0)),
    ("cases", [0.0], (0.0, 1.0)),
], ids=["share", "multiplier-at-one", "start-year", "duration", "rate", "negative", "zero"])
def test_assumed_range(units, values, expected):
    assert lever_rules.assumed_range(units, values, CLOCK) == expected


@pytest.mark.parametrize(("limits", "values", "expected"), [
    ((0.0, None), [3.0], (0.0, 6.0)),
    ((None, 10.0), [3.0], (0.0, 10.0)),
    ((0.0, 1.0), [1.5], (0.0, 1.5)),
], ids=["low-documented", "high-documented", "widened-to-hold-a-preset"])
def test_documented_bounds_win_and_presets_always_fit(limits, values, expected):
    element = ir.Element("x", "x", "aux", ir.Num(values[0]), units="cases", limits=limits)
    lever = lever_rules.make_lever(element, values, CLOCK)
    assert (lever.low, lever.high) == expected
    assert lever.documented == (None not in limits)


@pytest.mark.parametrize(("width", "step"), [
    (0.01, 0.01), (0.013, 0.02), (0.03, 0.05), (0.2, 0.2), (0.07, 0.1), (20, 20), (0, 1.0)])
def test_round_step(width, step):
    assert lever_rules.round_step(width) == step


# --- presets and moves -------------------------------------------------------------------------

def test_presets_baseline_and_lever_values(explorer):
    assert list(explorer.presets) == ["steady", "surge", "surge fast hiring",
                                      "surge protected standard"]
    assert explorer.baseline == explorer.start == "surge"
    values = explorer.lever_values("surge fast hiring")
    assert values == {"Demand surge": 0.2, "Time to erode standard": 6.0, "Time to hire": 3.0}
    assert explorer.scheduled("surge fast hiring") == {"Time to hire"}
    assert explorer.scheduled("surge") == set()


def test_a_preset_is_named_by_its_key_or_its_label(explorer):
    assert explorer.preset_named("Surge, fast hiring") == "surge fast hiring"
    assert explorer.preset_named("SURGE") == "surge"
    with pytest.raises(ReformsimError, match="'surj' is not a scenario of the file; did you "
                                             "mean 'surge'"):
        explorer.preset_named("surj")


def test_an_unmoved_preset_is_the_scenario(explorer, backlog_model):
    curves = explorer.curves(Move("surge", {}, KPIS))
    expected = _direct(backlog_model, **{"Demand surge": 0.2})
    for kpi in KPIS:
        np.testing.assert_allclose(curves.median[kpi], expected[kpi], rtol=1e-12)
        np.testing.assert_array_equal(curves.low[kpi], curves.median[kpi])
    assert curves.members == 1 and curves.seconds > 0


def test_a_moved_lever_is_set_as_a_constant(explorer, backlog_model):
    curves = explorer.curves(Move("surge protected standard", {"Demand surge": 0.35}, KPIS))
    expected = _direct(backlog_model, **{"Demand surge": 0.35, "Time to erode standard": 36})
    for kpi in KPIS:
        np.testing.assert_allclose(curves.median[kpi], expected[kpi], rtol=1e-12)


def test_moving_a_scheduled_lever_replaces_its_schedule(explorer, backlog_model):
    curves = explorer.curves(Move("surge fast hiring", {"Time to hire": 5}, KPIS))
    expected = _direct(backlog_model, **{"Demand surge": 0.2, "Time to hire": 5})
    np.testing.assert_allclose(curves.median["Staff"], expected["Staff"], rtol=1e-12)


def test_bands_are_the_files_uncertainty(explorer, backlog_model):
    curves = explorer.curves(Move("steady", {}, ("Staff",), bands=True))
    run = simulate_scenarios(EXAMPLE_MODEL, [EXAMPLE], models={EXAMPLE_MODEL: backlog_model})
    q = bands(run.dataset, "Staff", (0.05, 0.5, 0.95)).sel(scenario="steady").values
    assert curves.members == 200
    for row, got in zip(q, (curves.low, curves.median, curves.high)):
        np.testing.assert_allclose(got["Staff"], row, rtol=1e-12)


def test_the_baseline_is_simulated_once_per_kpis_and_bands(explorer):
    first = explorer.baseline_curves(KPIS, False)
    assert explorer.baseline_curves(KPIS, False) is first
    assert explorer.baseline_curves(KPIS, True) is not first


def test_unknown_kpi_says_did_you_mean(explorer):
    with pytest.raises(ReformsimError, match="'Staf' is not a variable to chart; did you mean "
                                             "'Staff'"):
        explorer.check_kpis(["Staf"])


# --- the page's Python half --------------------------------------------------------------------

def test_page_starts_at_the_preset_and_redraws_a_move(explorer, backlog_model):
    page = Page(explorer)
    page.start_from("surge fast hiring")
    assert page.sliders["Time to hire"].value == 3.0
    assert page.sliders["Time to hire"].title.endswith("(scheduled; moving it sets it from "
                                                      "the start)")
    assert page.status.text.startswith("Run 1: 1 member simulated in ")
    page._lever_moved("Demand surge")("value_throttled", 0.2, 0.3)
    staff = page.charts["Staff"].now.data["median"]
    # the preset's schedule of Time to hire stays: only Demand surge moved
    hiring = reformsim.Series([0, 12, 12], [9, 9, 3])
    expected = _direct(backlog_model, ("Staff",), **{"Demand surge": 0.3, "Time to hire": hiring})
    np.testing.assert_allclose(staff, expected["Staff"], rtol=1e-12)
    assert "Levers moved from the preset: Demand surge = 0.3." in page.status.text
    assert page.charts["Staff"].figure.title.text.startswith("Staff: ")
    assert math.isclose(float(page.charts["Staff"].base.data["median"][-1]),
                        float(explorer.baseline_curves(KPIS, False).median["Staff"][-1]))


def test_page_shows_bands_only_when_asked(explorer):
    page = Page(explorer)
    page.start_from("surge")
    assert not any(b.visible for b in page.charts["Staff"].bands)
    page.bands.active = [0]
    page.redraw()
    assert all(b.visible for b in page.charts["Staff"].bands)
    assert "200 members simulated" in page.status.text


# --- the command -------------------------------------------------------------------------------

def test_explore_command_refuses_an_unknown_kpi_before_serving():
    result = CliRunner().invoke(main, ["-q", "explore", str(EXAMPLE), "--kpi", "Staff,Stuff",
                                       "--no-browser"])
    assert result.exit_code == 1
    assert result.output == ("Error: service_backlog.mdl: 'Stuff' is not a variable to chart; "
                             "did you mean 'Staff'?\n")


def test_explore_command_needs_a_model(tmp_path):
    (cin := tmp_path / "policy.cin").write_text("Demand surge = 0.3\n")
    result = CliRunner().invoke(main, ["-q", "explore", str(cin), "--no-browser"])
    assert result.exit_code == 1
    assert result.output == (f"Error: {cin}: the file names no model\n"
                             "  hint: pass --model path/to/model.mdl\n")


def test_a_busy_port_is_a_clear_error(explorer):
    from reformsim.explore.server import make_server

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ReformsimError) as caught:
            make_server(explorer, port)
    assert str(caught.value) == (f"cannot serve on 127.0.0.1:{port}: Address already in use\n"
                                 "  hint: choose another port with --port")


def test_a_model_without_levers_still_explores(write_mdl):
    model = reformsim.load_model(write_mdl("bare.mdl", {"x": "TIME * 2"}))
    explorer = Explorer(model, ScenarioSet())
    assert explorer.levers == () and explorer.default_kpis == ("x",)
    curves = explorer.curves(Move(explorer.start))
    np.testing.assert_allclose(curves.median["x"], 2 * curves.time)
