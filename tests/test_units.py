"""The units checker: its algebra, the planted errors of tests/models/unit_errors.mdl (each found,
nothing else), the reform model (nothing), and agreement with Simlin's checker."""

from __future__ import annotations

from fractions import Fraction

import pytest
from click.testing import CliRunner

import reformsim
from conftest import MODELS
from reformsim.model.translate import read_model
from reformsim.model.unitcheck import check_units
from reformsim.model.units import DMNL, Units, UnitsSyntaxError, Vocabulary, synonym_groups

ROOT = MODELS.parents[1]
PLANTED = MODELS / "unit_errors.mdl"


def _units(**powers: int) -> Units:
    return Units.of({k: Fraction(v) for k, v in powers.items()})


@pytest.mark.parametrize(("text", "expected"), [
    ("Person/Year", _units(person=1, year=-1)),
    ("1/Year", _units(year=-1)),
    ("hours/(Year*FTE)", _units(hours=1, year=-1, fte=-1)),
    ("m/s^2", _units(m=1, s=-2)),
    ("Dmnl", DMNL), ("dmnl", DMNL), ("dimensionless", DMNL), ("1", DMNL),
    ("$/Person", _units(**{"$": 1, "person": -1})),
    ("square meter", _units(**{"square meter": 1})),
    ("widget_per_month", _units(**{"widget per month": 1})),
], ids=lambda v: v if isinstance(v, str) else None)
def test_units_parse(text, expected):
    assert Vocabulary().parse(text) == expected


@pytest.mark.parametrize("text", ["Person//Year", "(Person", "Year^x", "*"])
def test_unit_expressions_that_are_not_are_refused(text):
    with pytest.raises(UnitsSyntaxError):
        Vocabulary().parse(text)


def test_synonyms_make_one_unit():
    vocabulary = Vocabulary.from_groups((("Person", "People", "Persons"),))
    assert vocabulary.parse("People/Year") == vocabulary.parse("Person/Year")
    assert vocabulary.show(vocabulary.parse("Persons")) == "People"   # as first written


def test_synonyms_are_read_after_the_sketch():
    text = "x = 1 ~ Person ~ |\n///---\\\\\\\n:L\x7f<%^E!@\n1:Current.vdf\n22:Person,People\n22:$,Dollar\n"
    assert synonym_groups(text) == (("Person", "People"), ("$", "Dollar"))


@pytest.fixture(scope="module")
def planted():
    return {p.element: p for p in check_units(read_model(PLANTED))}


# element -> words its problem must contain (each is documented PLANTED in the model)
PLANTED_ERRORS = {
    "deaths": ("gives Person", "Person/Year", "a number in the equation"),
    "migration": ("gives Person/Year", "Person/Month", "a number in the equation"),
    "Housing": ("its flow 'migration' is Person/Month", "needs Person/Year"),
    "crowding": ("'houses'", "'house'"),
    "pressure": ("adds Person and 1/Year",),
    "growth signal": ("EXP of 1/Year", "dimensionless"),
    "lagged births": ("delay or smoothing time is in Person", "Year"),
}


@pytest.mark.parametrize("element", list(PLANTED_ERRORS))
def test_each_planted_error_is_found_with_both_units_and_a_hint(planted, element):
    problem = planted[element]
    text = f"{problem.problem} {problem.hint}"
    assert all(words in text for words in PLANTED_ERRORS[element]), text
    assert problem.hint


def test_nothing_else_is_reported_in_the_planted_model(planted):
    assert set(planted) == set(PLANTED_ERRORS)


def test_the_reform_model_has_no_unit_problem():
    assert check_units(read_model(ROOT / "models" / "reform.mdl")) == []


def test_simlins_checker_finds_nothing_we_miss_in_the_planted_model():
    simlin = pytest.importorskip("simlin")
    from reformsim.model.ir import fold_name

    theirs = {fold_name(e.variable_name) for e in simlin.load(str(PLANTED)).project.get_errors()
              if e.variable_name and int(e.kind) == 3}
    assert theirs and theirs <= {fold_name(name) for name in PLANTED_ERRORS}


def test_check_command_reports_units_with_hints():
    from reformsim.cli.app import main

    result = CliRunner().invoke(main, ["check", str(PLANTED)])
    assert result.exit_code == 0, result.output
    assert ("  units: 'deaths': its equation gives Person but its units are Person/Year\n"
            "    hint: a number in the equation stands for") in result.output
    assert result.output.count("  units: ") == len(PLANTED_ERRORS)


def test_a_unit_field_that_cannot_be_read_is_reported(write_mdl):
    path = write_mdl("bad.mdl", {"x": "1"})
    path.write_text(path.read_text().replace("x=\n\t1\n\t~\tdmnl", "x=\n\t1\n\t~\tPerson//Year"))
    problems = check_units(read_model(path))
    assert [p.element for p in problems] == ["x"] and "cannot be read" in problems[0].problem


def test_units_of_a_macro_output_are_those_of_its_argument():
    model = reformsim.load_model(MODELS / "macros.mdl")
    instance = next(e for e in model.elements if e.name == "#smoothed demand>SMOOTHED#")
    assert instance.units == "Widget/Month"   # "~ input" in the macro: demand's units
