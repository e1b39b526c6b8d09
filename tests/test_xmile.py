"""XMILE beyond PySD's reader: <macro>, modules, older Stella files, and the messages for files
that do not hold their model. Oracles: Simlin's engine (pysimlin) and the suite's outputs."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from conftest import MODELS, SHARED

SUITE = SHARED / "test-models"


def _simlin_series(path, names):
    simlin = pytest.importorskip("simlin")
    sim = simlin.load(str(path)).simulate()
    sim.run_to_end()
    return {n: np.asarray(sim.get_series(n.replace(" ", "_").replace(".", "·"))) for n in names}


# --- <macro> -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xmile_macros():
    return reformsim.load_model(MODELS / "macros.xmile")


def test_xmile_macros_match_simlin(xmile_macros, tmp_path):
    """Simlin takes no <parm default=...>, so it runs a copy with the default written out."""
    explicit = tmp_path / "explicit.xmile"
    explicit.write_text((MODELS / "macros.xmile").read_text().replace(
        "SMOOTHED(demand, 4)<", "SMOOTHED(demand, 4, demand)<"))
    names = ["smoothed demand", "started low", "doubled"]
    theirs = _simlin_series(explicit, names)
    ours = reformsim.simulate(xmile_macros, outputs=names)
    for name in names:
        np.testing.assert_array_equal(ours[name][0], theirs[name], err_msg=name)


def test_an_expression_macro_and_a_default_parameter(xmile_macros):
    results = reformsim.simulate(xmile_macros, outputs=["doubled", "started low",
                                                        "smoothed demand"])
    assert results["doubled"][0][0] == 2 * 10 + 2 * 1
    assert results["started low"][0][0] == 0          # initial given
    assert results["smoothed demand"][0][0] == 10     # initial defaults to the input


def test_each_macro_call_has_its_own_stock(xmile_macros):
    stocks = {e.name for e in xmile_macros.stocks}
    assert {"#smoothed demand>SMOOTHED>Smooth of Input#",
            "#started low>SMOOTHED>Smooth of Input#"} <= stocks


# --- modules -----------------------------------------------------------------------------------

def test_modules_match_simlin():
    model = reformsim.load_model(MODELS / "modules.xmile")
    names = ["total level", "upper tank.level", "lower tank.level"]
    theirs = _simlin_series(MODELS / "modules.xmile", names)
    ours = reformsim.simulate(model, outputs=names)
    for name in names:
        np.testing.assert_array_equal(ours[name][0], theirs[name], err_msg=name)


def test_module_instances_are_named_as_stella_names_them():
    names = {e.name for e in reformsim.load_model(MODELS / "modules.xmile").elements}
    assert {"upper tank.level", "upper tank.drain", "lower tank.level"} <= names


def test_module_member_equals_its_single_run():
    model = reformsim.load_model(MODELS / "modules.xmile")
    times = np.array([1.0, 2.0, 6.0])
    together = reformsim.simulate(model, params={"upper tank.residence time": times})
    for i, value in enumerate(times):
        alone = reformsim.simulate(model, params={"upper tank.residence time": value})
        np.testing.assert_array_equal(together.values[i], alone.values[0])


# --- the suite's files -------------------------------------------------------------------------

@pytest.mark.parametrize("relative", [
    "samples/teacup/teacup_legacy.stmx", "samples/SIR/SIR_legacy.stmx",
    "tests/eval_order/eval_order.stmx", "tests/comparisons/comparisons.stmx",
    "samples/bpowers-hares_and_lynxes_modules/model_legacy.stmx",
    "samples/bpowers-hares_and_lynxes_modules/model.stmx",
    "samples/bpowers-hares_and_lynxes_modules/model.xmile",
    "tests/special_characters_xmile/test_special_variable_names.stmx",
], ids=lambda r: r.split("/")[-1])
def test_files_pysds_reader_cannot_read_match_their_output(relative):
    from reformsim.report.verify import verify

    path = SUITE / relative
    if not path.is_file():
        pytest.skip("../shared/test-models is absent")
    report = verify(reformsim.load_model(path), path.parent / (
        "output.csv" if (path.parent / "output.csv").is_file() else "output.tab"))
    assert report.ok and not report.ignored, report.mismatches[:3]


@pytest.mark.parametrize(("relative", "element", "words"), [
    ("tests/subscript_1d_arrays/test_subscript_1d_arrays.xmile", "Rate A", "'???'"),
    ("tests/macro_stock/test_macro_stock.xmile", "macro output", "cannot be read"),
    ("tests/logicals/test_logicals.stmx", "NOT output", "cannot be read"),
], ids=["unconverted", "undefined-macro", "suffix-not"])
def test_incomplete_files_are_refused_naming_the_variable(relative, element, words):
    path = SUITE / relative
    if not path.is_file():
        pytest.skip("../shared/test-models is absent")
    with pytest.raises(reformsim.ModelError) as caught:
        reformsim.load_model(path)
    assert str(caught.value).startswith(f"{path.name}: {element!r}: ")
    assert words in str(caught.value) and "\n  hint: " in str(caught.value)


def test_an_unconnected_empty_equation_is_an_error(tmp_path):
    text = (MODELS / "modules.xmile").read_text().replace(
        '<eqn>5 + STEP(5, 3)</eqn>', '<eqn>{to do}</eqn>')
    path = tmp_path / "empty.xmile"
    path.write_text(text)
    with pytest.raises(reformsim.ModelError, match=r"^empty\.xmile: 'supply': has no equation"):
        reformsim.load_model(path)


def test_entities_are_not_expanded(tmp_path):
    """The reader resolves no entity: a file that tries to read another file reads nothing."""
    secret = tmp_path / "secret.txt"
    secret.write_text("42")
    text = (MODELS / "decay.xmile").read_text()
    head, body = text.split("?>", 1) if text.startswith("<?xml") else ("", text)
    doctype = f'<!DOCTYPE xmile [<!ENTITY leak SYSTEM "file://{secret}">]>'
    path = tmp_path / "entity.xmile"
    path.write_text((head + "?>" if head else "") + doctype + body.replace(">10<", ">&leak;<", 1))
    try:
        model = reformsim.load_model(path)
    except reformsim.ModelError:
        return   # refused: fine
    assert "42" not in str([e.expr for e in model.elements])
