"""Non-finite saved values that no state shows: the compiled backend reports them as numpy does.

The compiled kernel sums each member's saved values (engine/failures.py searches only
members whose sum is not finite); a value that is inf for one save while every stock stays
finite must still be found, and huge finite values whose sum overflows must not be reported.
"""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from reformsim.engine.numba_backend import numba_missing

pytestmark = pytest.mark.skipif(numba_missing() is not None, reason="numba is not installed")

MODEL = """{UTF-8}
Stock=
	INTEG(1, 0)
	~	widgets
	~		|

Spike=
	Scale / (Stock - Pole)
	~	widgets
	~	Not finite at the one save where Stock = Pole; no stock reads it.	|

Pole=
	2
	~	widgets
	~		|

Scale=
	1
	~	widgets
	~		|

Shown constant=
	1
	~	widgets
	~		|

FINAL TIME  = 4
	~	Month
	~		|

INITIAL TIME  = 0
	~	Month
	~		|

SAVEPER  = TIME STEP
	~	Month
	~		|

TIME STEP  = 1
	~	Month
	~		|
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("spike") / "spike.mdl"
    path.write_text(MODEL, encoding="utf-8")
    return reformsim.load_model(path)


def _both(model, **kwargs):
    with pytest.warns(reformsim.ReformsimWarning) if kwargs.pop("warns", False) else _nothing():
        compiled = reformsim.simulate(model, backend="numba", **kwargs)
    with pytest.warns(reformsim.ReformsimWarning) if compiled.failures else _nothing():
        reference = reformsim.simulate(model, backend="numpy", **kwargs)
    return compiled, reference


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_saved_value_not_finite_while_the_stocks_are(model):
    pole = np.array([2.0, 2.5, 3.0])   # the second member's Stock never equals its Pole
    compiled, reference = _both(model, params={"Pole": pole}, outputs=["Spike", "Stock"],
                                warns=True)
    assert set(compiled.failures) == {0, 2}
    assert compiled.failures == reference.failures
    assert compiled.failures[0].variable == "Spike" and compiled.failures[0].time == 2.0
    assert np.array_equal(compiled.values, reference.values, equal_nan=True)


def test_huge_finite_values_are_not_failures(model):
    """Saved values near 1e308 overflow the kernel's sum: the member is searched, and
    found fine."""
    compiled, reference = _both(model, params={"Scale": [0.75e308, 1.0], "Pole": 4.5},
                                outputs=["Spike"])
    assert not compiled.failures and not reference.failures
    assert np.isfinite(compiled["Spike"]).all()
    with np.errstate(over="ignore"):
        assert not np.isfinite(compiled["Spike"][0].sum())   # the sum did overflow
    assert np.array_equal(compiled.values, reference.values)


def test_a_non_finite_constant_among_the_outputs(model):
    compiled, reference = _both(model, params={"Shown constant": [1.0, np.inf]},
                                outputs=["Shown constant", "Stock"], warns=True)
    assert set(compiled.failures) == {1} and compiled.failures == reference.failures
