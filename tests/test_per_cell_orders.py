"""Delays and smooths whose order (or DELAY FIXED length) differs between the cells of one
equation: each cell equals the same delay written as a scalar equation, bit for bit, and
an ensemble member equals its single run whatever orders the other members have."""

from __future__ import annotations

import numpy as np
import pytest

import reformsim
from conftest import MODELS

MODEL = MODELS / "per_cell_delays.mdl"
CELLS = {"north": (1, 1.0, 1), "south": (2, 2.5, 3), "east": (3, 4.0, 2)}  # position, lag, order


@pytest.fixture(scope="module")
def per_cell():
    return reformsim.load_model(MODEL)


@pytest.fixture(scope="module")
def scalar(tmp_path_factory):
    """The same model with every cell written as its own scalar equation."""
    equations = {"input": "STEP(10, 1) + Time"}
    for name, (k, lag, order) in CELLS.items():
        equations[f"late {name}"] = f"DELAY FIXED(input, {lag}, 0)"
        equations[f"smoothed {name}"] = f"SMOOTH N(input, 3, 0, {order})"
        equations[f"delayed {name}"] = f"DELAY N(input * {k}, 2, 0, {order})"
    body = "".join(f"{n}=\n\t{e}\n\t~\t\n\t~\t\n\t|\n\n" for n, e in equations.items())
    control = MODEL.read_text()
    control = control[control.index("****"):]
    path = tmp_path_factory.mktemp("scalar") / "scalar.mdl"
    path.write_text("{UTF-8}\n" + body + control)
    return reformsim.load_model(path)


@pytest.mark.parametrize("variable", ["late", "smoothed", "delayed"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_each_cell_equals_its_scalar_delay(per_cell, scalar, variable, cell):
    ours = reformsim.simulate(per_cell, outputs=[variable])[f"{variable}[{cell}]"][0]
    alone = reformsim.simulate(scalar, outputs=[f"{variable} {cell}"])[f"{variable} {cell}"][0]
    np.testing.assert_array_equal(ours, alone)


def test_cells_sharing_an_order_stay_one_state(per_cell):
    """DELAY3 has order 3 in every cell: no split; DELAY N's three orders give three states."""
    from reformsim.engine.compiler import split_states

    split = split_states(per_cell, {s.index: (1, 3, 2) for s in per_cell.states
                                    if s.kind in ("delayn", "smooth")})
    kinds = [s.kind for s in split.states]
    assert kinds.count("delay") == 1
    assert kinds.count("delayn") == 3 and kinds.count("smooth") == 3


def test_member_equals_its_single_run_whatever_the_others_orders(per_cell):
    orders = np.array([[1, 3, 2], [2, 2, 2], [3, 1, 1], [1, 3, 2]], dtype=float)
    lags = np.array([[1, 2.5, 4], [2, 2, 2], [0.5, 3, 1], [4, 1, 2.5]])
    together = reformsim.simulate(per_cell, params={"order": orders, "lag": lags})
    for i in range(len(orders)):
        alone = reformsim.simulate(per_cell, params={"order": orders[i], "lag": lags[i]})
        np.testing.assert_array_equal(together.values[i], alone.values[0])
