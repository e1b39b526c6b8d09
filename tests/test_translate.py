"""The translator: what it refuses (naming file, element and construct) and how it parses."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from reformsim.model import ir
from reformsim.model.translate import read_model

SUBRANGE = "dim:\n\tA1, A2\n\t~\t\n\t~\t\n\t|\n\n"

# id -> (preamble, equations, element named in the message, construct named in the message)
REFUSALS = {
    "unknown-function": ("", {"y": "1", "x": "FROBNICATE(y)"}, "x", "FROBNICATE"),
    "time-value-clock": ("", {"x": "GET TIME VALUE(2, 0, 10)"}, "x", "clock"),
    "time-value-calendar": ("", {"x": "GET TIME VALUE(0, 0, 3)"}, "x", "calendar"),
}


@pytest.mark.parametrize(("preamble", "equations", "element", "construct"), REFUSALS.values(),
                         ids=REFUSALS.keys())
def test_refusals_name_file_element_and_construct(write_mdl, preamble, equations, element, construct):
    path = write_mdl("refused.mdl", equations, preamble)
    with pytest.raises(reformsim.UnsupportedError) as caught:
        reformsim.load_model(path)
    text = str(caught.value)
    assert text.lower().startswith(f"refused.mdl: '{element}': ")
    if construct is not None:
        assert construct in text
    assert "\n  hint: " in text


@pytest.mark.parametrize(("filename", "create", "problem"), [
    ("model.xlsx", True, "unsupported file type"),
    ("missing.mdl", False, "no such file"),
], ids=["wrong-suffix", "missing-file"])
def test_file_problems_give_model_error_with_hint(tmp_path, filename, create, problem):
    path = tmp_path / filename
    if create:
        path.write_text("")
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(path)
    assert str(caught.value).startswith(f"{filename}: '{filename}': {problem}")
    assert "\n  hint: " in str(caught.value)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(reformsim.ModelError, match=r"^missing\.mdl: 'missing\.mdl': no such file"):
        reformsim.load_model(tmp_path / "missing.mdl")


def test_unreadable_model_is_a_model_error(tmp_path):
    path = tmp_path / "broken.mdl"
    path.write_text("{UTF-8}\nx = = (\n\t~\t\n\t~\t\n\t|\n")
    with pytest.raises(reformsim.ModelError, match=r"^broken\.mdl: 'x': its equation "):
        reformsim.load_model(path)


@pytest.mark.parametrize("equations", [
    {"a": "b + 1", "b": "a * 2"},
    {"s": "INTEG(a, 1)", "a": "b + 1 + s", "b": "a * 2"},
], ids=["constants", "with-a-stock"])
def test_algebraic_loop_is_named(write_mdl, equations):
    with pytest.raises(reformsim.ModelError, match="circular definition") as caught:
        reformsim.load_model(write_mdl("loop.mdl", equations))
    text = str(caught.value)
    assert text.startswith("loop.mdl: ")
    assert ("a -> b -> a" in text) or ("b -> a -> b" in text)


def test_loop_through_a_stock_is_fine(write_mdl):
    model = reformsim.load_model(write_mdl("ok.mdl", {"s": "INTEG(a, 1)", "a": "-s / 2"}))
    np.testing.assert_array_equal(reformsim.simulate(model)["s"][0], [1, 0.5, 0.25, 0.125, 0.0625])


def test_undefined_reference_suggests_a_name(write_mdl):
    path = write_mdl("undefined.mdl", {"growth rate": "2", "x": "growht rate * 3"})
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(path)
    text = str(caught.value)
    assert text.startswith("undefined.mdl: 'x': ")
    assert "growht_rate" in text and "did you mean 'growth_rate'?" in text


@pytest.mark.parametrize(("equation", "expected"), [
    ("-2^2", -4.0), ("2^3^2", 512.0), ("-2^2^0.5", -(2 ** 2 ** 0.5)),
    ("(-2)^2", 4.0), ("( - 2.5 )^2", 6.25), ("(-2)^3", -8.0), ("2^(-2)", 0.25),
    ("(-y)^2", 4.0), ("-y^2", -4.0),
    ("2*-3", -6.0), ("10 - 4 - 3", 3.0), ("24 / 4 / 2", 3.0), ("2 + 3 * 4", 14.0),
    ("-(3)", -3.0), ("2^-1", 0.5),
], ids=["neg-pow", "pow-right-assoc", "neg-pow-chain", "paren-neg-literal-pow",
        "paren-neg-literal-spaces", "paren-neg-literal-odd", "paren-neg-exponent",
        "paren-neg-ref-pow", "neg-ref-pow", "mul-neg",
        "sub-left-assoc", "div-left-assoc", "precedence", "neg-paren", "pow-neg-exponent"])
def test_arithmetic_parses_as_vensim(write_mdl, equation, expected):
    model = reformsim.load_model(write_mdl("arith.mdl", {"y": "2", "x": equation}))
    assert reformsim.simulate(model)["x"][0, 0] == expected


@pytest.mark.parametrize(("equation", "expected"), [
    ("IF THEN ELSE(1 > 2 :OR: 3 > 2, 1, 0)", 1.0),
    ("IF THEN ELSE(1 > 2 :AND: 3 > 2, 1, 0)", 0.0),
    ("IF THEN ELSE(:NOT: 1 > 2, 1, 0)", 1.0),
    ("IF THEN ELSE(2 <> 2, 1, 0)", 0.0),
], ids=["or", "and", "not", "not-equal"])
def test_logic_parses_as_vensim(write_mdl, equation, expected):
    model = reformsim.load_model(write_mdl("logic.mdl", {"x": equation}))
    assert reformsim.simulate(model)["x"][0, 0] == expected


def test_ir_keeps_units_docs_and_limits(models_dir):
    model = read_model(models_dir / "decay.mdl")
    stock = model.by_ident()["stock"]
    assert stock.is_stock and stock.units == "widgets"
    assert stock.documentation == "Decays toward zero: S(t) = S0 exp(-t/tau)."
    assert model.by_ident()["saveper"].limits == (0.0, None)
    assert model.by_ident()["saveper"].kind == "control"


@pytest.mark.parametrize(("field", "limits", "increment"), [
    ("Dmnl [0,1,0.05]", (0.0, 1.0), 0.05),
    ("Year [2020,?]", (2020.0, None), None),
    ("Dmnl [?,3]", (None, 3.0), None),
    ("Dmnl", (None, None), None),
], ids=["min-max-step", "min-only", "max-only", "none"])
def test_ir_keeps_the_documented_range_and_step(write_mdl, field, limits, increment):
    """Vensim's ``[min,max,step]`` after the units: the range a slider offers, its step apart."""
    path = write_mdl("ranged.mdl", {"x": "0.5"})
    path.write_text(path.read_text().replace("0.5\n\t~\tdmnl", f"0.5\n\t~\t{field}"))
    x = read_model(path).by_ident()["x"]
    assert (x.limits, x.increment) == (limits, increment)


def test_ir_lookup_table(models_dir):
    table = read_model(models_dir / "lookup.mdl").by_ident()["effect_table"]
    assert table.kind == "lookup"
    assert table.expr == ir.Table((0.0, 2.0, 6.0, 10.0), (1.0, 2.0, 3.0, 2.0), "interpolate")


def test_ir_is_frozen(models_dir):
    element = read_model(models_dir / "decay.mdl").elements[0]
    with pytest.raises(AttributeError):
        element.name = "other"  # type: ignore[misc]
