"""Scenario files: YAML and .cin parsing, inheritance, factorial naming, sampling, and every
error a user can make, with the exact message (file, scenario, key) it gets."""

from __future__ import annotations

import math
import string
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import reformsim
from reformsim import ReformsimError
from reformsim.scenarios.ensemble import validate
from reformsim.scenarios.loading import load_scenarios
from reformsim.scenarios.sampling import sample, unit_sample
from reformsim.scenarios.spec import (
    Changes,
    Factorial,
    ScenarioError,
    Schedule,
    Step,
    combination_name,
    combinations,
    resolve,
)

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
EXAMPLES = HERE.parent / "models" / "examples"   # the tutorial of docs/scenarios.md
ROADMAP = EXAMPLES / "roadmap.mdl"


@pytest.fixture(scope="module")
def roadmap():
    return reformsim.load_model(ROADMAP)


@pytest.fixture
def write(tmp_path):
    """Write a scenario file (``{model}`` is the roadmap model) and return its path."""
    def write_file(text: str, name: str = "bad.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text.replace("{model}", str(ROADMAP)))
        (tmp_path / "plan.csv").write_text("year,ict\n2025,0\n2030,0.5\n")
        return path

    return write_file


def by_name(scenario_set):
    return {s.name: s for s in resolve(scenario_set)}


# --- loading the shipped fixtures -----------------------------------------------------------

def test_roadmap_file_loads_with_model_path_relative_to_it():
    loaded = load_scenarios([EXAMPLES / "roadmap.yaml"])
    assert loaded.model == ROADMAP
    assert loaded.time == {"FINAL TIME": 2040, "TIME STEP": 0.25, "SAVEPER": 0.25}
    assert [s.name for s in loaded.scenarios] == ["status quo", "ict first", "holistic"]
    assert loaded.baseline == "status quo"
    assert loaded.outputs[:2] == ("ICT Share", "Training Share")


def test_csv_schedule_reads_the_named_columns():
    holistic = load_scenarios([EXAMPLES / "roadmap.yaml"]).scenarios[2]
    assert holistic.changes.schedule["ict share"] == Schedule(
        points=((2025, 0.0), (2030, 0.5), (2035, 0.5), (2040, 0.2)))


def test_cin_file_is_one_scenario_named_after_it():
    loaded = load_scenarios([EXAMPLES / "policy.cin"])
    (policy,) = loaded.scenarios
    assert policy.name == "policy"
    assert policy.changes.set == {"ICT SHARE": 0.3, "training_share": 0.2, "Engagement Share": 0.1}
    table = policy.changes.lookups["Effect of ICT on Quality"]
    assert (table.xs, table.ys) == ((0, 1, 5), (0.6, 1.2, 1.8))


@pytest.mark.parametrize(("text", "xs", "ys"), [
    ("t((0,1),(2,3))", (0, 2), (1, 3)),
    ("t([(0,0)-(9,9)],(0,1),(2,3))", (0, 2), (1, 3)),
    ("t(0, 2, 4, 1, 3, 5)", (0, 2, 4), (1, 3, 5)),
], ids=["pairs", "pairs-with-range", "xs-then-ys"])
def test_cin_lookup_forms(write, text, xs, ys):
    table = load_scenarios([write(text, "t.cin")]).scenarios[0].changes.lookups["t"]
    assert (table.xs, table.ys) == (xs, ys)


def test_cin_later_entry_wins_as_vensim_compares_names(write):
    changes = load_scenarios([write("ICT Share = 1\nict_share = 2\n", "t.cin")]).scenarios[0].changes
    assert changes.set == {"ict_share": 2.0}


def test_several_files_combine(write):
    loaded = load_scenarios([EXAMPLES / "roadmap.yaml", EXAMPLES / "policy.cin"])
    assert [s.name for s in loaded.scenarios] == ["status quo", "ict first", "holistic", "policy"]
    assert loaded.model == ROADMAP


# --- inheritance ---------------------------------------------------------------------------

INHERIT = """
scenarios:
  a: {set: {x: 1, y: 1, z: 1}, initial: {s: 5}}
  b: {extends: a, set: {Y: 2}}
  c: {extends: b, set: {z: 3}, initial: {s: 6}}
"""


@pytest.mark.parametrize(("name", "expected"), [
    ("a", {"x": 1, "y": 1, "z": 1}),
    ("b", {"x": 1, "Y": 2, "z": 1}),
    ("c", {"x": 1, "Y": 2, "z": 3}),
], ids=["parent", "child-overrides-parent", "grandchild"])
def test_extends_overrides_name_by_name(write, name, expected):
    assert by_name(load_scenarios([write(INHERIT)]))[name].changes.set == expected


def test_extends_overrides_initial_values_too(write):
    assert by_name(load_scenarios([write(INHERIT)]))["c"].changes.initial == {"s": 6}


def test_scenario_packages_apply_after_extends_and_before_its_own_changes(write):
    text = ("packages: {p: {set: {x: 5, y: 5}}}\n"
            "scenarios:\n  a: {set: {x: 1, w: 1}}\n  b: {extends: a, packages: [p], set: {y: 9}}\n")
    assert by_name(load_scenarios([write(text)]))["b"].changes.set == {"w": 1, "x": 5, "y": 9}


# --- factorial -------------------------------------------------------------------------------

def test_factorial_names_eight_combinations_after_the_base():
    names = list(by_name(load_scenarios([EXAMPLES / "roadmap_factorial.yaml"])))
    assert names == ["status quo", "ict", "capacity", "engagement", "ict+capacity",
                     "ict+engagement", "capacity+engagement", "ict+capacity+engagement"]


def test_factorial_labels_join_package_labels():
    combo = by_name(load_scenarios([EXAMPLES / "roadmap_factorial.yaml"]))["ict+capacity+engagement"]
    assert combo.title == "ICT + Capacity + Engagement"
    assert combo.changes.set == {"ICT Share": 0.3, "Training Share": 0.3, "Engagement Share": 0.3}


def test_short_factorial_adds_an_empty_baseline(write):
    text = "packages: {a: {set: {x: 1}}, b: {set: {y: 1}}}\nfactorial: [a, b]\n"
    scenarios = by_name(load_scenarios([write(text)]))
    assert list(scenarios) == ["baseline", "a", "b", "a+b"]
    assert scenarios["baseline"].changes == Changes()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 6))
def test_factorial_yields_every_subset_once(k):
    factorial = Factorial(tuple(f"p{i}" for i in range(k)))
    names = [combination_name(factorial, c) for c in combinations(factorial)]
    assert len(set(names)) == len(names) == 2 ** k
    assert all(sum(f"p{i}" in n.split("+") for n in names) == 2 ** (k - 1) for i in range(k))


# --- schedules -----------------------------------------------------------------------------

@pytest.mark.parametrize(("steps", "times", "values"), [
    ((Step(2028, 0.7),), [2028, 2028], [0.1, 0.7]),
    ((Step(2028, 0.7, ramp=2),), [2028, 2030], [0.1, 0.7]),
    ((Step(2028, 0.7, 2), Step(2035, 0.0)), [2028, 2030, 2035, 2035], [0.1, 0.7, 0.7, 0.0]),
], ids=["step", "ramp", "ramp-then-step"])
def test_schedule_trajectory_starts_from_the_constant(steps, times, values):
    assert Schedule(steps=steps).trajectory(0.1) == (times, values)


# --- YAML round trips --------------------------------------------------------------------------

names = st.text(string.ascii_letters + " ", min_size=1, max_size=12).map(str.strip).filter(bool)
finite = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(names, st.dictionaries(names, finite, max_size=4), min_size=1, max_size=4))
def test_yaml_round_trip_of_constants(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("yaml") / "s.yaml"
    path.write_text(yaml.safe_dump({"scenarios": {n: {"set": s} for n, s in spec.items()}}))
    loaded = {s.name: s.changes.set for s in load_scenarios([path]).scenarios}
    assert loaded == spec


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=10), finite,
                       min_size=1, max_size=6))
def test_cin_round_trip_of_constants(tmp_path_factory, constants):
    path = tmp_path_factory.mktemp("cin") / "run.cin"
    path.write_text("".join(f"{n} = {v!r}\n" for n, v in constants.items()))
    loaded = load_scenarios([path]).scenarios[0].changes.set
    last = {n.lower(): n for n in constants}
    assert loaded == {n: v for n, v in constants.items() if last[n.lower()] == n}


# --- sampling -----------------------------------------------------------------------------------

def test_lhs_puts_one_point_in_each_stratum():
    unit = unit_sample("lhs", 20, 3, seed=1)
    for column in unit.T:
        assert sorted(np.floor(column * 20).astype(int)) == list(range(20))


@pytest.mark.parametrize(("method", "samples"), [("lhs", 8), ("sobol", 8), ("sobol", 6),
                                                  ("random", 8)],
                         ids=["lhs", "sobol", "sobol-not-a-power-of-two", "random"])
def test_same_seed_same_draws_other_seed_other_draws(method, samples):
    a, b, c = (unit_sample(method, samples, 2, seed) for seed in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_distributions_respect_their_bounds():
    loaded = load_scenarios([EXAMPLES / "roadmap_uncertain.yaml"])
    draws = sample(loaded.uncertainty)
    assert draws["Adoption Time"].min() >= 2 and draws["Adoption Time"].max() <= 4
    assert 3 <= draws["Trust Adjustment Time"].min() and draws["Trust Adjustment Time"].max() <= 8
    assert all(len(v) == 16 for v in draws.values())


def test_lognormal_median_is_exp_mu(write):
    text = ("uncertainty: {samples: 101, seed: 0, method: lhs, "
            "parameters: {k: {lognormal: [1.0, 0.5]}}}\n")
    draws = sample(load_scenarios([write(text)]).uncertainty)["k"]
    assert np.median(draws) == pytest.approx(math.e, rel=0.02)


# --- errors a file makes by itself -----------------------------------------------------------

FILE_ERRORS = {
    "unknown-top-key": ("scenarioz: {}\n",
                        "bad.yaml: 'scenarioz': unknown key\n  hint: did you mean 'scenarios'?"),
    "unknown-scenario-key": ("scenarios: {a: {sett: {x: 1}}}\n",
                             ("bad.yaml: scenario 'a': 'sett': unknown key\n"
                             "  hint: did you mean 'set'?")),
    "text-for-number": ("scenarios: {a: {set: {ICT Share: high}}}\n",
                        "bad.yaml: scenario 'a': 'set': 'ICT Share' must be a number, got 'high'"),
    "bool-for-number": ("scenarios: {a: {initial: {s: yes}}}\n",
                        "bad.yaml: scenario 'a': 'initial': 's' must be a number, got True"),
    "list-for-mapping": ("scenarios: {a: {set: [1, 2]}}\n",
                         ("bad.yaml: scenario 'a': 'set': expected a mapping (name: value), "
                         "got [1, 2]")),
    "zero-step": ("time: {step: 0}\n", "bad.yaml: 'time': 'step' must be positive, got 0"),
    "negative-step": ("time: {step: -0.5}\n",
                      "bad.yaml: 'time': 'step' must be positive, got -0.5"),
    "final-before-initial": ("time: {initial: 2030, final: 2020}\n",
                             "bad.yaml: 'time': 'final' (2020) must be after 'initial' (2030)"),
    "unknown-time-key": ("time: {stepp: 1}\n",
                         "bad.yaml: 'time': unknown key 'stepp'\n  hint: did you mean 'step'?"),
    "missing-model": ("model: nowhere.mdl\n", "bad.yaml: 'model': no such file: 'nowhere.mdl'"),
    "missing-csv": ("scenarios: {a: {schedule: {x: {csv: gone.csv, column: ict}}}}\n",
                    "bad.yaml: scenario 'a': 'schedule': 'x': no such CSV file: 'gone.csv'"),
    "missing-column": ("scenarios: {a: {schedule: {x: {csv: plan.csv, column: ITC}}}}\n",
                       ("bad.yaml: scenario 'a': 'schedule': 'x': plan.csv has no column 'ITC'\n"
                       "  hint: its columns are ['year', 'ict']")),
    "steps-overlap": (("scenarios: {a: {schedule: {x: [{at: 2030, value: 1, ramp: 5}, "
                      "{at: 2032, value: 2}]}}}\n"),
                      ("bad.yaml: scenario 'a': 'schedule': 'x': the step at 2032 starts before "
                      "the one at 2030 has ended (2035)")),
    "step-without-value": ("scenarios: {a: {schedule: {x: [{at: 2030}]}}}\n",
                           "bad.yaml: scenario 'a': 'schedule': 'x': a step needs 'value'"),
    "lookup-x-decreasing": ("scenarios: {a: {lookups: {f: [[1, 0], [0, 1]]}}}\n",
                            "bad.yaml: scenario 'a': 'lookups': 'f': the x values must increase"),
    "extends-nothing": ("scenarios: {a: {extends: ghost}, b: {}}\n",
                        "bad.yaml: scenario 'a': 'extends': no scenario is named 'ghost'"),
    "extends-typo": ("scenarios: {a: {extends: status qou}, status quo: {}}\n",
                     ("bad.yaml: scenario 'a': 'extends': no scenario is named 'status qou'\n"
                     "  hint: did you mean 'status quo'?")),
    "extends-cycle": ("scenarios: {a: {extends: b}, b: {extends: c}, c: {extends: a}}\n",
                      ("bad.yaml: scenario 'a': 'extends': extends itself through "
                      "'a' -> 'b' -> 'c' -> 'a'")),
    "extends-itself": ("scenarios: {a: {extends: a}}\n",
                       "bad.yaml: scenario 'a': 'extends': extends itself through 'a' -> 'a'"),
    "unknown-package": ("packages: {ict: {}}\nscenarios: {a: {packages: [itc]}}\n",
                        ("bad.yaml: scenario 'a': 'packages': no package is named 'itc'\n"
                        "  hint: did you mean 'ict'?")),
    "factorial-unknown-package": ("packages: {ict: {}}\nfactorial: [ict, capacity]\n",
                                  "bad.yaml: 'factorial': no package is named 'capacity'"),
    "factorial-name-clash": ("packages: {a: {}}\nscenarios: {baseline: {}}\nfactorial: [a]\n",
                             ("bad.yaml: 'factorial': the combination 'baseline' has the name "
                             "of a scenario")),
    "factorial-overlap": ("packages: {a: {set: {x: 1}}, b: {set: {X: 2}}}\nfactorial: [a, b]\n",
                          "bad.yaml: 'factorial': packages 'a' and 'b' both change 'x'"),
    "unknown-baseline": ("scenarios: {a: {}}\nbaseline: b\n",
                         "bad.yaml: 'baseline': no scenario is named 'b'"),
    "unknown-method": ("uncertainty: {samples: 4, method: lsh, parameters: {x: {uniform: [0, 1]}}}\n",
                       "bad.yaml: 'uncertainty': unknown method 'lsh'\n  hint: did you mean 'lhs'?"),
    "zero-samples": ("uncertainty: {samples: 0, parameters: {x: {uniform: [0, 1]}}}\n",
                     "bad.yaml: 'uncertainty': 'samples' must be a whole number >= 1, got 0"),
    "uniform-backwards": ("uncertainty: {samples: 4, parameters: {x: {uniform: [2, 1]}}}\n",
                          "bad.yaml: 'uncertainty': 'x': uniform [2.0, 1.0]: low must be below high"),
    "triangular-mode-outside": (
        "uncertainty: {samples: 4, parameters: {x: {triangular: [0, 5, 1]}}}\n",
        "bad.yaml: 'uncertainty': 'x': triangular [0.0, 5.0, 1.0]: expected low <= mode <= high"),
    "bounds-on-uniform": (("uncertainty: {samples: 4, parameters: {x: {uniform: [0, 1], "
                          "bounds: [0, 1]}}}\n"),
                          "bad.yaml: 'uncertainty': 'x': 'bounds' apply to a normal distribution"),
    "unknown-distribution": ("uncertainty: {samples: 4, parameters: {x: {gamma: [1, 1]}}}\n",
                             "bad.yaml: 'uncertainty': unknown key 'gamma'"),
    "duplicate-key": ("scenarios:\n  a: {}\n  a: {}\n",
                      "bad.yaml: 'line 3': not valid YAML: the key 'a' is given twice"),
    "bad-yaml": ("scenarios: {a: [}\n", "bad.yaml: 'line 1': not valid YAML: "),
    "not-a-mapping": ("- a\n- b\n", "bad.yaml: expected a mapping"),
}


@pytest.mark.parametrize(("text", "message"), list(FILE_ERRORS.values()), ids=list(FILE_ERRORS))
def test_file_error_points_at_file_scenario_and_key(write, text, message):
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([write(text)])
    assert isinstance(caught.value, ReformsimError)
    assert str(caught.value).startswith(message)


CIN_ERRORS = {
    "subscripted-lookup": ("f[a](1,2,3,4)\n", ("t.cin: scenario 't': 'line 1': subscripted "
                                               "lookups are not supported")),
    "value-list": ("\nx = 1,2,3\n", "t.cin: scenario 't': 'line 2': 'x': a list of values"),
    "string": ("s :IS: 'hello'\n", "t.cin: scenario 't': 'line 1': string variables"),
    "not-a-number": ("x = lots\n", ("t.cin: scenario 't': 'line 1': 'x': expected a number, "
                                   "got 'lots'")),
    "gibberish": ("hello\n", "t.cin: scenario 't': 'line 1': cannot read 'hello'"),
    "odd-lookup": ("f(1,2,3)\n", "t.cin: scenario 't': 'line 1': lookup points"),
}


@pytest.mark.parametrize(("text", "message"), list(CIN_ERRORS.values()), ids=list(CIN_ERRORS))
def test_cin_error_names_file_scenario_and_line(write, text, message):
    with pytest.raises(ScenarioError, match="^") as caught:
        load_scenarios([write(text, "t.cin")])
    assert str(caught.value).startswith(message)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match="^gone.yaml: no such file$"):
        load_scenarios([tmp_path / "gone.yaml"])


def test_a_scenario_defined_in_two_files(write):
    first = write("scenarios: {a: {}}\n", "one.yaml")
    second = write("scenarios: {a: {}}\n", "two.yaml")
    with pytest.raises(ScenarioError, match="^two.yaml: 'scenarios': 'a' is already defined"):
        load_scenarios([first, second])


# --- errors found against the model ---------------------------------------------------------

MODEL_ERRORS = {
    "unknown-constant": ("scenarios: {a: {set: {ICT Shar: 1}}}\n",
                         ("bad.yaml: scenario 'a': 'set': 'ICT Shar' is not in the model\n"
                         "  hint: did you mean 'ICT Share'?")),
    "unknown-folded": ("scenarios: {a: {set: {ict_shares: 1}}}\n",
                       ("bad.yaml: scenario 'a': 'set': 'ict_shares' is not in the model\n"
                       "  hint: did you mean 'ICT Share'?")),
    "set-a-stock": ("scenarios: {a: {set: {trust in government: 1}}}\n",
                    ("bad.yaml: scenario 'a': 'set': 'trust in government' is a stock, not a "
                    "constant\n  hint: set its initial value under 'initial'")),
    "set-computed": ("scenarios: {a: {set: {ICT Spending: 1}}}\n",
                     ("bad.yaml: scenario 'a': 'set': 'ICT Spending' is computed during the run, "
                     "not a constant\n  hint: change the constants it is computed from")),
    "set-control": ("scenarios: {a: {set: {FINAL TIME: 2050}}}\n",
                    ("bad.yaml: scenario 'a': 'set': 'FINAL TIME' is a control variable, not a "
                    "constant\n  hint: set it under 'time'")),
    "set-a-lookup": ("scenarios: {a: {set: {Effect of ICT on Quality: 1}}}\n",
                     ("bad.yaml: scenario 'a': 'set': 'Effect of ICT on Quality' is a lookup, "
                     "not a constant\n  hint: replace it under 'lookups'")),
    "schedule-a-stock": ("scenarios: {a: {schedule: {ICT Adoption: [{at: 2030, value: 1}]}}}\n",
                         "bad.yaml: scenario 'a': 'schedule': 'ICT Adoption' is a stock"),
    "initial-of-constant": ("scenarios: {a: {initial: {ICT Share: 1}}}\n",
                            ("bad.yaml: scenario 'a': 'initial': 'ICT Share' is a constant, not "
                            "a stock")),
    "lookup-not-a-lookup": ("scenarios: {a: {lookups: {ICT Share: [[0, 0], [1, 1]]}}}\n",
                            ("bad.yaml: scenario 'a': 'lookups': 'ICT Share' is a constant, not "
                            "a lookup")),
    "unknown-lookup": ("scenarios: {a: {lookups: {effect of ict on qualty: [[0, 0], [1, 1]]}}}\n",
                       ("bad.yaml: scenario 'a': 'lookups': 'effect of ict on qualty' is not in "
                       "the model\n  hint: did you mean 'Effect of ICT on Quality'?")),
    "package-unknown": ("packages: {p: {set: {Reform Budgt: 2}}}\n",
                        ("bad.yaml: package 'p': 'set': 'Reform Budgt' is not in the model\n"
                        "  hint: did you mean 'Reform Budget'?")),
    "uncertain-unknown": (("uncertainty: {samples: 2, parameters: {Trust Adjustmnt Time: "
                          "{uniform: [1, 2]}}}\n"),
                          ("bad.yaml: 'uncertainty': 'Trust Adjustmnt Time' is not in the model\n"
                          "  hint: did you mean 'Trust Adjustment Time'?")),
    "uncertain-and-set": (("scenarios: {a: {set: {adoption time: 2}}}\n"
                          "uncertainty: {samples: 2, parameters: {Adoption Time: "
                          "{uniform: [1, 2]}}}\n"),
                          ("bad.yaml: 'uncertainty': 'Adoption Time' is drawn for every scenario, "
                          "but scenario 'a' sets it too")),
    "typo-of-a-stock": ("scenarios: {a: {set: {trust in goverment: 1}}}\n",
                        ("bad.yaml: scenario 'a': 'set': 'trust in goverment' is not in the model\n"
                        "  hint: did you mean 'Trust in Government'? (it is a stock)")),
    "unknown-output": ("outputs: [Service Qualty]\n",
                       ("bad.yaml: 'outputs': 'Service Qualty' is not in the model\n"
                       "  hint: did you mean 'Service Quality'?")),
}


@pytest.mark.parametrize(("text", "message"), list(MODEL_ERRORS.values()), ids=list(MODEL_ERRORS))
def test_model_error_points_at_file_scenario_and_key(write, roadmap, text, message):
    loaded = load_scenarios([write("model: {model}\n" + text)])
    with pytest.raises(ScenarioError) as caught:
        validate(loaded, roadmap)
    assert str(caught.value).startswith(message)


def test_cin_unknown_constant_is_found_against_the_model(write, roadmap):
    loaded = load_scenarios([write("ICT Shar = 1\n", "t.cin")])
    with pytest.raises(ScenarioError, match=r"^t.cin: scenario 't': 'set': 'ICT Shar' is not in "):
        validate(loaded, roadmap)


def test_names_fold_like_vensim(write, roadmap):
    loaded = load_scenarios([write("model: {model}\nscenarios: {a: {set: {ict_SHARE: 1}}}\n")])
    validate(loaded, roadmap)
