"""The compiled backend (numba) against the numpy backend, the reference.

Every conformance model and models/reform.mdl give the numpy backend's results
within 1e-12 relative (most of them bit for bit: the kernels follow numpy's own
algorithms; transcendental functions may differ by an ulp); an ensemble's member
is bit for bit its single run; failures, schedules, replaced lookups, groups of
structures and RK4 behave as on numpy; a second process loads the machine code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import reformsim
from conformance import SUITE, cases
from reformsim.engine import numba_backend

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[1]
REFORM = ROOT / "models" / "reform.mdl"
# conformance models the compiled backend leaves to numpy, with the reason
_ALLOCATION = ("ALLOCATE AVAILABLE / BY PRIORITY have no kernel in the compiled backend yet "
               "(engine/allocation.py is numpy's); the model runs on numpy")
EXPECTED_FALLBACKS: dict[str, str] = {
    "tests/allocate_available/test_allocate_available.mdl": _ALLOCATION,
    "tests/allocate_by_priority/test_allocate_by_priority.mdl": _ALLOCATION,
}


def assert_same_results(compiled: reformsim.Results, reference: reformsim.Results,
                        floor: float = 1e-3) -> None:
    """Within 1e-12 relative, cell by cell, with ``floor`` x a column's largest magnitude as
    the floor of "relative" near 0; the same NaNs, failures and labels.

    Both backends do the same IEEE operations in the same order; they differ only where
    numpy computes exp, log or power on an array with its own SIMD code (AVX-512 here),
    which can differ from the C library's (that numba calls, and numpy for a lone number) by
    an ulp. A model amplifies that most in differences of nearly equal values (a derivative
    near 0), so ensembles, where numpy works on arrays, are compared relative to each
    variable's largest magnitude (``floor=1``).
    """
    assert compiled.backend == "numba" and reference.backend == "numpy"
    assert compiled.names == reference.names
    np.testing.assert_array_equal(compiled.times, reference.times)
    a, b = compiled.values, reference.values
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN in different places"
    finite = np.isfinite(a) & np.isfinite(b)
    assert np.array_equal(a[~finite], b[~finite], equal_nan=True)
    scale = np.max(np.abs(np.where(finite, b, 0.0)), axis=(0, 1), keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        tolerance = 1e-12 * (np.abs(b) + floor * scale)
        excess = np.where(finite, np.abs(a - b) - tolerance, 0.0)
    if np.any(excess > 0):
        worst = np.unravel_index(np.argmax(excess), a.shape)
        raise AssertionError(f"{compiled.names[worst[2]]} of member {worst[0]} at "
                             f"t={compiled.times[worst[1]]}: {a[worst]!r} vs {b[worst]!r}")
    assert compiled.failures == reference.failures


def parameter(model, index: int = 0) -> str:
    """A constant of the model that is not a control variable."""
    from reformsim.model.ir import CONTROLS

    return [e.name for e in model.constants() if e.ident not in CONTROLS][index]


def both(model, **kwargs) -> tuple[reformsim.Results, reformsim.Results]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reformsim.ReformsimWarning)
        return (reformsim.simulate(model, backend="numba", **kwargs),
                reformsim.simulate(model, backend="numpy", **kwargs))


# --- every conformance model ------------------------------------------------------------------

def _load(case):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reformsim.load_model(case.path, case.data_files)
    except reformsim.ReformsimError as exc:
        pytest.skip(f"reformsim does not load it: {str(exc).splitlines()[0]}")


@pytest.mark.conformance
@pytest.mark.skipif(not SUITE.is_dir(), reason="../shared/test-models is absent")
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_compiled_equals_numpy_on_the_conformance_model(case):
    model = _load(case)
    reason = numba_backend.reason_not_compiled(model)
    if case.id in EXPECTED_FALLBACKS:
        assert reason, "compiles now: take it off EXPECTED_FALLBACKS"
        return
    assert reason is None, reason
    assert_same_results(*both(model))


def test_compiled_equals_numpy_on_the_reform_model_and_its_roadmaps():
    from reformsim.scenarios.ensemble import expand

    model = reformsim.load_model(REFORM)
    compiled, reference = both(model)
    assert np.array_equal(compiled.values, reference.values)   # bit for bit, every variable
    scenarios = reformsim.load_scenarios([ROOT / "scenarios" / "reform_roadmaps.yaml"])
    ens = expand(scenarios, model)
    assert_same_results(*both(model, params=ens.params, initial=ens.initial,
                              lookups=ens.lookups), floor=1.0)


def test_a_power_is_the_c_librarys_pow_but_exact_where_it_can_be():
    """F.power: a square root for an exponent of 0.5 (correctly rounded; pow is within an ulp
    of it), the base itself for 1, and pow's answer (math.pow calls the C library's) for
    every other exponent and for the bases where sqrt and pow disagree."""
    import math

    from reformsim.engine.numba_kernels import power

    bases = np.exp(np.random.default_rng(5).uniform(-30, 30, 20_000))
    roots = np.array([power(x, 0.5) for x in bases])
    assert np.array_equal(roots, np.sqrt(bases))
    assert np.all(np.abs(roots - bases ** 0.5) <= np.spacing(roots))
    for x in (3.0, -2.5, -0.0, math.inf, -math.inf):
        assert math.copysign(1, power(x, 1.0)) == math.copysign(1, x) and power(x, 1.0) == x
    assert math.isnan(power(math.nan, 1.0)) and math.isnan(power(math.nan, 0.5))
    assert math.copysign(1, power(-0.0, 0.5)) == 1.0 and power(0.0, 0.5) == 0.0
    assert power(-math.inf, 0.5) == math.inf and power(math.inf, 0.5) == math.inf
    assert math.isnan(power(-4.0, 0.5))
    for x, y in [(2.0, 0.3), (0.7, -2.0), (10.0, 2.0), (1e-3, 0.2), (5.0, 0.5000000000000001)]:
        assert power(x, y) == math.pow(x, y)


@pytest.mark.parametrize("name", ["goal_seek", "logistic", "lookup", "clock", "saveper"])
def test_compiled_rk4_equals_numpy_rk4(load, name):
    assert_same_results(*both(load(name), method="rk4"))


# --- ensembles: member i is its single run, bit for bit ---------------------------------------

@pytest.mark.parametrize("name", ["random", "discrete", "goal_seek", "clock"])
def test_a_member_of_a_compiled_ensemble_is_its_single_run(load, name):
    model = load(name)
    constant = parameter(model)
    values = np.linspace(0.5, 2.0, 150) * float(reformsim.simulate(
        model, backend="numpy", outputs=[constant])[constant][0, 0] or 1.0)
    together = reformsim.simulate(model, params={constant: values}, backend="numba", seed=3)
    assert together.backend == "numba"
    for i in (0, 1, 77, 149):
        alone = reformsim.simulate(model, params={constant: values[i]}, streams=[i], seed=3,
                                   backend="numba")
        assert np.array_equal(together.values[i], alone.values[0], equal_nan=True)
    reference = reformsim.simulate(model, params={constant: values}, backend="numpy", seed=3)
    assert_same_results(together, reference, floor=1.0)


def test_reform_ensemble_members_are_their_single_runs():
    model = reformsim.load_model(REFORM)
    name = parameter(model, 5)
    base = float(reformsim.simulate(model, outputs=[name])[name][0, 0])
    values = base * np.linspace(0.8, 1.2, 100)
    together = reformsim.simulate(model, params={name: values}, backend="numba")
    for i in (0, 42, 99):
        alone = reformsim.simulate(model, params={name: values[i]}, backend="numba")
        assert np.array_equal(together.values[i], alone.values[0])


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_reform_saves_only_the_outputs_asked_for_in_their_order(method):
    """The reform model saves its many dynamic elements through one loop over the kept ones
    (numba_rates._saves): a few outputs, out of the rate order's order, with a constant."""
    model = reformsim.load_model(REFORM)
    every = reformsim.simulate(model, backend="numpy", method=method)
    outputs = [every.names[-3], "Trust", every.names[7], "Reform budget", every.names[40]]
    compiled, reference = both(model, outputs=outputs, method=method)
    assert list(compiled.names) == list(reference.names) and len(compiled.names) == 5
    assert_same_results(compiled, reference)
    for name in outputs:
        assert np.array_equal(compiled[name], every[name])


# --- what a run can carry ---------------------------------------------------------------------

def test_failures_are_the_same_member_variable_and_time(load):
    model = load("blowup")
    compiled, reference = both(model, params={"K": [0.5, 1.0, 2.0, 1.0]})
    assert compiled.failures and compiled.failures == reference.failures
    assert_same_results(compiled, reference)


def test_failures_across_blocks_and_lanes_of_an_ensemble_are_numpys(load):
    """Members that go non-finite at once or later, in several blocks and at different
    places of a block's member loop (which runs several members at once), fail as on numpy,
    and the others are untouched."""
    model = load("blowup")
    k = np.linspace(0.5, 2.5, 301)
    k[[0, 9, 150, 299]] = 1.0               # flow inf at the start
    stock = np.ones(301)
    k[[3, 77, 200]], stock[[3, 77, 200]] = 1.01, 1e300   # x26 a step: overflows at t = 1.5
    compiled, reference = both(model, params={"K": k}, initial={"Stock": stock})
    assert set(compiled.failures) >= {0, 9, 150, 299, 3, 77, 200}
    assert len({f.time for f in compiled.failures.values()}) > 1
    assert_same_results(compiled, reference)


def test_replaced_lookups_per_member(load):
    model = load("lookup")
    table = next(e.name for e in model.elements if e.kind == "lookup")
    tables = [reformsim.Table([0, 5, 10], [0, k, 2 * k]) for k in (1.0, 2.0, 3.0)]
    together, reference = both(model, lookups={table: tables})
    assert_same_results(together, reference)
    alone = reformsim.simulate(model, lookups={table: tables[2]}, backend="numba")
    assert np.array_equal(together.values[2], alone.values[0])


def test_schedules_per_member(load):
    model = load("goal_seek")
    schedule = reformsim.Series([[0, 2, 4], [0, 1, 4]], [[1, 2, 3], [3, 2, 1]])
    assert_same_results(*both(model, params={parameter(model): schedule}))


def test_members_of_several_structures_share_one_compilation(load):
    """DELAY FIXED's length and DELAY N's order per member: groups of structures, one kernel."""
    model = load("discrete")
    settable = [e.name for e in model.constants()]
    delay = next(n for n in settable if "delay" in n.lower())
    values = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    compiled, reference = both(model, params={delay: values})
    assert_same_results(compiled, reference)
    assert len(numba_backend._MODULES) >= 1
    kernel = numba_backend.kernel(model)
    assert numba_backend.module(kernel) is numba_backend.module(numba_backend.kernel(model))


# --- choosing the backend ---------------------------------------------------------------------

def test_auto_picks_numba_for_euler_and_rk4_and_numpy_for_scipy(decay):
    assert reformsim.simulate(decay).backend == "numba"
    assert reformsim.simulate(decay, method="rk4").backend == "numba"
    assert reformsim.simulate(decay, method="RK45").backend == "numpy"
    assert reformsim.simulate(decay, backend="numpy").backend == "numpy"


def test_bad_backend_requests_are_refused_with_a_hint(decay):
    with pytest.raises(reformsim.SimulationError, match="unknown backend 'fast'"):
        reformsim.simulate(decay, backend="fast")
    with pytest.raises(reformsim.SimulationError, match="not 'RK45'.*\n  hint"):
        reformsim.simulate(decay, backend="numba", method="RK45")


def test_a_model_that_does_not_compile_runs_on_numpy_with_its_reason(decay_path, monkeypatch,
                                                                     caplog):
    caplog.set_level("INFO", logger="reformsim.engine.numba")
    from reformsim.engine import numba_source
    from reformsim.engine.numba_codegen import Unsupported

    def refuse(model):
        raise Unsupported("a construct made up for this test")

    monkeypatch.setattr(numba_source, "write_kernel", refuse)
    model = reformsim.load_model(decay_path)
    results = reformsim.simulate(model)
    assert results.backend == "numpy"
    reason = numba_backend.reason_not_compiled(model)
    assert reason == "the compiled backend does not compile a construct made up for this test"
    assert reason in caplog.text
    with pytest.raises(reformsim.SimulationError, match="backend 'numba' cannot run"):
        reformsim.simulate(model, backend="numba")


_RUN = """
import sys, reformsim
from reformsim.engine import numba_backend
model = reformsim.load_model(sys.argv[1])
first = numba_backend.compiles_first(model)          # what `reformsim run` tells its user
assert reformsim.simulate(model).backend == "numba"
assert not numba_backend.compiles_first(model) and not numba_backend.compiles_first(model, "RK45")
code = numba_backend.module(numba_backend.kernel(model))
print(first, sum(code.euler.stats.cache_hits.values()), sum(code.euler.stats.cache_misses.values()))
"""


def test_a_second_process_loads_the_machine_code_from_the_cache(tmp_path, decay_path):
    env = {**os.environ, "REFORMSIM_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    runs = [subprocess.run([sys.executable, "-c", _RUN, str(decay_path)], env=env, check=True,
                           capture_output=True, text=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["True", "0", "1"]      # compiled once, and said so beforehand...
    assert runs[1] == ["False", "1", "0"]     # ...and loaded, not compiled, by the next process
    assert list((tmp_path / "cache" / "numba").glob("m_*.py"))


def test_compiled_code_that_fails_hands_the_model_to_numpy_with_a_warning(decay_path,
                                                                         monkeypatch):
    class Broken:
        def euler(self, *args):
            raise ValueError("a bug in the generated code")

    model = reformsim.load_model(decay_path)
    monkeypatch.setattr(numba_backend, "module", lambda kernel: Broken())
    with pytest.warns(reformsim.ReformsimWarning, match="a bug in the generated code"):
        results = reformsim.simulate(model)
    assert results.backend == "numpy"
    assert np.array_equal(results.values, reformsim.simulate(model, backend="numpy").values)
    assert "numba failed" in numba_backend.reason_not_compiled(model)


# --- a body split into member loops (numba_segments) ------------------------------------------

def test_a_split_body_gives_numpys_results_and_each_member_its_single_run(load):
    """tests/models/segments.mdl has calls (a power, a lookup, exp), DELAY3, DELAY N and
    SMOOTH (loops over stages, a local from one line to the next), a choice between
    constants, and a flow that is inf where K = 1: its body is split into member loops,
    blocks of at most numba_segments.WIDTH members."""
    from reformsim.engine import numba_segments

    model = load("segments")
    kernel = numba_backend.kernel(model)
    assert kernel.block_width == numba_segments.WIDTH
    euler = kernel.source.split("def rk4(")[0]
    assert len(re.findall(r"for i_\d+ in range\(nb\):", euler)) >= 4   # member loops
    size = 2 * numba_segments.WIDTH + 11                 # three blocks, the last one short
    growth = np.linspace(0.05, 0.4, size)
    k = np.linspace(1.5, 3.0, size)
    k[[0, 80, size - 1]] = 1.0                         # a failure in each block
    params = {"Growth": growth, "K": k, "Threshold": np.linspace(7.0, 11.0, size)}
    together, reference = both(model, params=params)
    assert set(together.failures) == {0, 80, size - 1}
    assert_same_results(together, reference, floor=1.0)
    for i in (1, 71, 72, 100, size - 2):
        alone = reformsim.simulate(model, params={name: v[i] for name, v in params.items()},
                                   backend="numba")
        assert np.array_equal(together.values[i], alone.values[0])


@pytest.mark.parametrize("count", [2, 3, 5, 11, 14])
def test_a_generated_interpolation_is_interp_bit_for_bit(count, tmp_path, monkeypatch):
    """interp<n> (numba_codegen.interpolation) chooses among every case without a branch:
    the same number as numba_kernels.interp (numpy's algorithm) for x inside, on and
    outside the table, NaN and infinities, with a repeated x (a vertical step), a flat
    part and an infinite y."""
    from reformsim.engine import numba_kernels as F
    from reformsim.engine.numba_codegen import interpolation

    rng = np.random.default_rng(count)
    xs = np.cumsum(rng.uniform(0.1, 2.0, count))
    ys = rng.normal(size=count)
    if count >= 3:
        xs[1] = xs[2]                                  # a vertical step
        ys[-1] = ys[-2]                                # a flat end
    if count >= 5:
        ys[3] = np.inf                                 # slopes of inf: interp's fallbacks
    module = tmp_path / f"interp_test_{count}.py"
    points = ", ".join(f"p[{k}]" for k in range(2 * count))
    module.write_text("import numpy as np\nfrom numba import njit\n\n"
                      "_jit = njit(error_model='numpy')\n\n\n" + interpolation(count)
                      + "\n\n\n@njit(error_model='numpy')\ndef every(x, p):\n"
                      "    out = np.empty_like(x)\n    for i in range(x.size):\n"
                      f"        out[i] = interp{count}(x[i], {points})\n    return out\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    every = __import__(module.stem).every

    x = np.concatenate([rng.uniform(xs[0] - 1, xs[-1] + 1, 2000), xs, np.nextafter(xs, -np.inf),
                        np.nextafter(xs, np.inf), [np.nan, np.inf, -np.inf, 0.0, -0.0]])
    table = np.concatenate([xs, ys])
    expected = np.array([F.interp(v, table, 0, count, count) for v in x])
    got = every(x, tuple(table))
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
