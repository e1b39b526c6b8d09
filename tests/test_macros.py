"""Macros (Vensim :MACRO:) expanded per call site: against Simlin's engine, in ensembles, and
the errors a modeller sees. The suite's five macro models are in tests/test_conformance.py."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from conftest import MODELS

MACROS = MODELS / "macros.mdl"
COMPARED = ["smoothed demand", "twice smoothed", "population", "regional smooth[north]",
            "regional smooth[south]", "spread", "low point", "high point", "midpoint"]


@pytest.fixture(scope="module")
def macros():
    return reformsim.load_model(MACROS)


def test_every_call_has_its_own_instance(macros):
    names = {e.name for e in macros.elements}
    assert {"#smoothed demand>SMOOTHED#", "#twice smoothed>SMOOTHED#",
            "#twice smoothed>SMOOTHED 2#", "#twice smoothed>SHAPED#",
            "#regional smooth>SMOOTHED#"} <= names
    stocks = {e.name for e in macros.stocks}
    assert {"#smoothed demand>SMOOTHED#", "#twice smoothed>SMOOTHED#",
            "#twice smoothed>SMOOTHED 2#", "#population>GROWTH#"} <= stocks


def test_a_calls_outputs_after_a_colon_become_model_variables(macros):
    results = reformsim.simulate(macros, outputs=["spread", "low point", "high point"])
    np.testing.assert_array_equal(results["spread"][0],
                                  results["high point"][0] - results["low point"][0])
    assert results["high point"][0][0] == 12     # demand 10, smoothed demand 10, 12


def test_an_expression_argument_is_evaluated_once_in_an_element_of_its_own(macros):
    """SMOOTHED(SMOOTHED(demand, 2) * 2, ...): the argument is an element, not copied text."""
    argument = next(e for e in macros.elements if e.name == "#twice smoothed>SMOOTHED 2>input#")
    assert not argument.is_stock


def test_a_call_in_a_subscripted_equation_makes_a_stock_per_cell(macros):
    inner = next(e for e in macros.elements if e.name == "#regional smooth>SMOOTHED#")
    assert inner.dims == ("region",) and inner.is_stock


@pytest.mark.parametrize("variable", COMPARED)
def test_matches_simlins_macro_expansion(macros, variable):
    """pysimlin expands Vensim macros itself (nested calls, $ escape, tables inside)."""
    simlin = pytest.importorskip("simlin")
    sim = simlin.load(str(MACROS)).simulate()
    sim.run_to_end()
    theirs = np.asarray(sim.get_series(variable.lower().replace(" ", "_")))
    ours = reformsim.simulate(macros, outputs=[variable])[variable]
    np.testing.assert_allclose(ours[0], theirs, rtol=1e-12, atol=1e-12)


def test_member_of_an_ensemble_equals_its_single_run(macros):
    times = np.array([1.0, 2.5, 4.0, 7.0])
    together = reformsim.simulate(macros, params={"adjustment": times})
    for i, value in enumerate(times):
        alone = reformsim.simulate(macros, params={"adjustment": value})
        np.testing.assert_array_equal(together.values[i], alone.values[0])


MACRO = ":MACRO: DOUBLE(input)\nDOUBLE = 2 * input\n\t~\tinput\n\t~\t\n\t|\n\n:END OF MACRO:\n"


@pytest.mark.parametrize(("preamble", "equations", "error", "message"), [
    (MACRO, {"x": "DOUBLE(3, 4)"}, reformsim.ModelError,
     "calls the macro 'DOUBLE' with 2 arguments; it takes 1 (input)"),
    (":MACRO: LEAKY(input)\nLEAKY = input * outside\n\t~\t\n\t~\t\n\t|\n\n:END OF MACRO:\n",
     {"outside": "1", "x": "LEAKY(3)"}, reformsim.ModelError,
     "the macro refers to 'outside', which it does not define"),
    (":MACRO: SELF(input)\nSELF = SELF(input)\n\t~\t\n\t~\t\n\t|\n\n:END OF MACRO:\n",
     {"x": "SELF(3)"}, reformsim.UnsupportedError, "recursively"),
    (MACRO, {"\"#x>DOUBLE#\"": "1", "x": "DOUBLE(3)"}, reformsim.ModelError, "already in use"),
    (":MACRO: ADD(a, b : low)\nADD = a + b\n\t~\t\n\t~\t\n\t|\n\nlow = MIN(a, b)\n\t~\t\n"
     "\t~\t\n\t|\n\n:END OF MACRO:\n", {"x": "ADD(1, 2 : lo, hi)"}, reformsim.ModelError,
     "with 2 outputs after ':'; it has 1"),
], ids=["argument-count", "outside-name", "recursion", "name-taken", "too-many-outputs"])
def test_macro_errors_name_the_problem(write_mdl, preamble, equations, error, message):
    path = write_mdl("macro.mdl", equations, preamble)
    with pytest.raises(error) as caught:
        reformsim.load_model(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith("macro.mdl: ")


@pytest.mark.parametrize(("text", "expected"), [
    ("x = F(a, b : c, d) ~ u ~ (note: this) |", "x = F(a, b , '=>c', '=>d') ~ u ~ (note: this) |"),
    ("x = IF THEN ELSE(a :AND: b, 1, 0) ~~|", None),
    ('x = F("odd:name", 1) ~~|', None),
    ("DimC: c1, c2 -> (DimB: b2, b1) ~~|", None),
    (":MACRO: F(a : b)\nF = a ~~|", None),
    ("x := GET XLS DATA('f.xlsx', 'a', '1', 'B2') ~~|", None),
], ids=["outputs", "and", "quoted-name", "mapping", "header", "data"])
def test_only_macro_calls_have_their_output_lists_rewritten(text, expected):
    from reformsim.model.macros import mark_outputs

    assert mark_outputs(text) == (text if expected is None else expected)
