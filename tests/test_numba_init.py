"""The compiled init pass (engine/numba_init.py) against the numpy init pass, the reference.

A call that sets constants or initial values leaves the values they change to the kernel's
``initial``: the kernel's constants, state rows and registers it writes must be numpy's
(within 1e-12 relative; most bit for bit), on every conformance model and the reform model;
calls it cannot take, and models whose init pass it cannot write, keep the numpy pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import reformsim
from conformance import SUITE, cases
from conftest import MODELS
from reformsim.engine import groups, numba_backend, numba_init, residual, settings, simulation
from reformsim.engine.program import Structure, build_program, decode, initial_states
from test_compiled_backend import REFORM, ROOT, _load, assert_same_results, both, parameter

pytest.importorskip("numba")


def _request(model, params, initial=None):
    model, request = simulation._resolve(model, params, initial or {}, {}, None, "euler", None,
                                         None, 0, (1e-6, 1e-9), "numba")
    with np.errstate(all="ignore"):   # as simulate(): non-finite values are the model's
        return model, request, simulation._init_values(model, request, 0, request.size)


def kernel_data(model, params, initial=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The kernel's C, Y and Z at t0 for one call: by the compiled init pass, and from the
    numpy init pass's values (as the kernel read them before there was a compiled one)."""
    model, request, values = _request(model, params, initial)
    assert values.deferred is not None, "the compiled init pass did not take the call"
    size = request.size
    with np.errstate(all="ignore"):
        numpy_values = residual.Values(dict(values.items()))   # every value, by numpy
    row = groups.structures(model, numpy_values, size)[0][0]
    structure = Structure(decode(model, row)[1])
    program = build_program(model, structure, request.outputs)
    found = numba_backend.kernel(model)
    order, starts, _ = numba_backend._layout(model, found, program.rows)
    orders = np.array([o if s.kind in numba_backend.STRUCTURAL_ARGS else 1
                       for s, o in zip(model.states, structure.orders)] or [1], dtype=np.int64)
    RT, RI = numba_backend._per_run(found, values, size)
    Y, Z, C = numba_init.start(model, found, numba_backend.module(found), values.deferred,
                               len(order), RT, RI, starts, orders,
                               numba_init.registers(model, orders))
    Y0 = initial_states(model, program, numpy_values, np.arange(size), size)[0]
    reference = [numba_backend._fill(found, found.constants, numpy_values,
                                     np.empty((size, max(found.columns, 1)))),
                 np.ascontiguousarray(Y0[order].T),
                 numba_backend._discrete(model, structure, numpy_values, size)[0]]
    C, reference[0] = C[:, :found.columns], reference[0][:, :found.columns]  # a model of none
    return [C, Y, Z], reference


def assert_close(got: list[np.ndarray], expected: list[np.ndarray]) -> None:
    for name, a, b in zip("CYZ", got, expected):
        assert a.shape == b.shape, name
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: NaN in different places"
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=name)


def _setting(model, index: int = 0, factor: float = 1.1) -> dict:
    """A constant of the model (not a control variable) at ``factor`` x its value; a control
    variable at its own value in a model without one (the kernel's data are then all the
    init pass's defaults, by the compiled init pass all the same)."""
    try:
        name = parameter(model, index)
    except IndexError:
        constants = [e.name for e in model.constants()]
        if not constants:
            pytest.skip("the model has no constant to set")
        name, factor = constants[0], 1.0
    target = settings.find(model, name, "parameter")
    with np.errstate(all="ignore"):
        value = model.init({}, {}, np.zeros(1, dtype=np.uint64))[target.slot]
    return {name: np.asarray(value, dtype=float).reshape(target.shape) * factor}


@pytest.mark.conformance
@pytest.mark.skipif(not SUITE.is_dir(), reason="../shared/test-models is absent")
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_compiled_init_equals_numpy_init_on_the_conformance_model(case):
    model = _load(case)
    if numba_backend.reason_not_compiled(model):
        pytest.skip("runs on the numpy backend (test_compiled_backend says why)")
    found = numba_backend.kernel(model)
    assert not found.init_reason, found.init_reason
    params = _setting(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reformsim.ReformsimWarning)
        assert_close(*kernel_data(model, params))
        assert_same_results(*both(model, params=params))


def test_compiled_init_equals_numpy_init_on_the_reform_model():
    model = reformsim.load_model(REFORM)
    assert_close(*kernel_data(model, {"Reform budget": np.array([0.3])}))
    assert_close(*kernel_data(model, {"Reform budget": np.linspace(0.1, 0.6, 5)}))
    assert_close(*kernel_data(model, _setting(model, 5, 0.9)))
    stock = model.stocks[0].name
    assert_close(*kernel_data(model, {}, {stock: np.array([0.2, 0.4])}))
    compiled, reference = both(model, params={"Reform budget": 0.3},
                               outputs=["Composite outcome", "Service quality", "Trust"])
    assert_same_results(compiled, reference)


@pytest.mark.parametrize("name", ["random", "discrete", "logistic", "clock", "goal_seek"])
def test_compiled_init_takes_small_models_settings_and_keeps_members_their_single_runs(
        load, name):
    model = load(name)
    constant = parameter(model)
    values = np.linspace(0.5, 2.0, 7) * float(reformsim.simulate(
        model, backend="numpy", outputs=[constant])[constant][0, 0] or 1.0)
    assert_close(*kernel_data(model, {constant: values}))
    together = reformsim.simulate(model, params={constant: values}, backend="numba", seed=3)
    for i in (0, 4):
        alone = reformsim.simulate(model, params={constant: values[i]}, streams=[i], seed=3,
                                   backend="numba")
        assert np.array_equal(together.values[i], alone.values[0], equal_nan=True)


def test_a_cell_set_alone_keeps_the_numpy_init_pass():
    model = reformsim.load_model(MODELS / "per_cell_delays.mdl")
    _, _, values = _request(model, {"lag[south]": 2.0})
    assert values.deferred is None
    assert_same_results(*both(model, params={"lag[south]": [2.0, 3.0]}))


def test_compiled_init_takes_whole_arrays_per_member():
    model = reformsim.load_model(MODELS / "random_array.mdl")
    sd = np.array([[0.1, 0.2, 0.3]] * 3)
    assert_close(*kernel_data(model, {"shock sd": sd}))
    assert_close(*kernel_data(model, {"shock sd": 0.5}))
    together, reference = both(model, params={"shock sd": sd}, seed=2)
    assert_same_results(together, reference, floor=1.0)
    alone = reformsim.simulate(model, params={"shock sd": sd[1:2]}, streams=[1], seed=2)
    assert np.array_equal(together.values[1], alone.values[0])


def test_values_left_to_the_kernel_are_computed_when_read():
    """The clock, a structure or a saved constant may read a value the call changed: the
    numpy pass computes it then (and the kernel keeps its own)."""
    model = reformsim.load_model(REFORM)
    name = "Reform budget"
    _request(model, {name: np.array([0.3])})   # a plan's first call keeps a full pass
    _, _, values = _request(model, {name: np.array([0.25])})
    slot = settings.find(model, name, "parameter").slot
    assert slot in values.changed and not dict.__contains__(values, slot)
    assert slot in values and float(values[slot][0]) == 0.25
    compiled, reference = both(model, params={name: 0.25}, outputs=[name, "Trust"])
    assert_same_results(compiled, reference)
    assert np.all(compiled[name] == 0.25)


def test_a_model_whose_init_pass_does_not_compile_keeps_the_numpy_one(decay_path, monkeypatch):
    from reformsim.engine.numba_codegen import Unsupported

    def refuse(*args):
        raise Unsupported("a construct made up for this test")

    monkeypatch.setattr(numba_init, "write", refuse)
    model = reformsim.load_model(decay_path)
    found = numba_backend.kernel(model)
    assert found.init_reason == "a construct made up for this test"
    assert "def initial(" not in found.source
    constant = parameter(model)
    _, _, values = _request(model, {constant: 2.0})
    assert values.deferred is None
    compiled, reference = both(model, params={constant: [1.0, 2.0]})
    assert compiled.backend == "numba"
    assert_same_results(compiled, reference)


def test_a_compiled_init_pass_that_fails_hands_the_model_to_numpy(decay_path, monkeypatch):
    def broken(*args):
        raise ValueError("a bug in the generated init pass")

    model = reformsim.load_model(decay_path)
    constant = parameter(model)
    monkeypatch.setattr(numba_backend, "start", broken)
    with pytest.warns(reformsim.ReformsimWarning, match="a bug in the generated init pass"):
        results = reformsim.simulate(model, params={constant: 2.0})
    assert results.backend == "numpy"
    assert np.array_equal(results.values, reformsim.simulate(
        model, params={constant: 2.0}, backend="numpy").values)


_RUN = """
import sys, reformsim
from reformsim.engine import numba_backend
model = reformsim.load_model(sys.argv[1])
for k in (1.0, 2.0):   # the second call of a plan is the one the compiled init pass takes
    assert reformsim.simulate(model, params={sys.argv[2]: k}).backend == "numba"
code = numba_backend.module(numba_backend.kernel(model))
print(sum(code.initial.stats.cache_hits.values()), sum(code.initial.stats.cache_misses.values()))
"""


def test_a_second_process_loads_the_init_pass_from_the_cache(tmp_path, decay_path):
    constant = parameter(reformsim.load_model(decay_path))
    env = {**os.environ, "REFORMSIM_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    runs = [subprocess.run([sys.executable, "-c", _RUN, str(decay_path), constant], env=env,
                           check=True, capture_output=True, text=True).stdout.split()
            for _ in range(2)]
    assert runs == [["0", "1"], ["1", "0"]]   # compiled once, then loaded


def test_a_schedule_beside_the_settings_leaves_the_other_values_to_compute():
    """Per-run data (a schedule) is read as given; a saved constant the call changed is
    computed by the numpy pass when read (once, whatever was given beside it)."""
    backlog = reformsim.load_model(ROOT / "models" / "examples" / "service_backlog.mdl")
    params = {"Demand surge": reformsim.Series([0, 12, 12], [0, 0, 0.2]), "Surge start": 0}
    for start in (0.0, 1.0):   # the second call is the one left to the compiled init pass
        params["Surge start"] = start
        compiled, reference = both(backlog, params=params)
        assert_same_results(compiled, reference)
        assert np.all(compiled["Surge start"] == start)
