"""Fuzzing the readers of untrusted input and simulate's arguments (hypothesis).

Every case must end in a correct result or a clean error: a ReformsimError (file, element,
problem) and nothing else; no hang, no traceback. Budgets are small so the whole file runs
in well under a minute.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import reformsim
from reformsim.scenarios.cin_format import read_cin
from reformsim.scenarios.spec import ScenarioSet
from reformsim.scenarios.yaml_format import read_yaml

# no "explain" phase: it imports libcst, whose import warns (an error in this suite)
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
FAST = settings(max_examples=150, deadline=None, phases=PHASES,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

_KEYS = ["model", "time", "scenarios", "packages", "factorial", "uncertainty", "outputs",
         "baseline", "set", "initial", "lookups", "schedule", "label", "extends", "samples",
         "seed", "method", "parameters", "uniform", "normal", "lognormal", "triangular",
         "bounds", "csv", "column", "at", "value", "ramp", "Stock", "K", "&a", "*a", "!!python"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_KEYS),
                     st.text(max_size=20))
_documents = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=30)


def _yaml(value: object) -> str:
    import yaml

    return yaml.safe_dump(value, allow_unicode=True)


def _reads_cleanly(read, path) -> ScenarioSet | None:
    """``read(path)``'s ScenarioSet, or None after a clean error naming the file."""
    try:
        result = read(path)
    except reformsim.ReformsimError as exc:
        assert str(exc).startswith(path.name) and "Traceback" not in str(exc)
        event("clean error")
        return None
    assert isinstance(result, ScenarioSet)
    event("read")
    return result


@FAST
@given(document=_documents)
def test_yaml_reader_on_any_document(tmp_path, document):
    path = tmp_path / "fuzz.yaml"
    path.write_text(_yaml({"scenarios": document} if isinstance(document, dict) else document),
                    encoding="utf-8")
    _reads_cleanly(read_yaml, path)


_YAML_BITS = ["scenarios:", "  a:", "    set: {K: 1}", "uncertainty:", "  samples: 3",
              "  parameters: {K: {uniform: [1, 2]}}", "- ", ": ", "&x ", "*x", "<<: *x", "[", "]",
              "{", "}", "!!python/object:os.system", "'", '"', "\t", "\x00", "\x1b[31m", "%YAML",
              "---", "...", "? ", "|", ">", "#", "\ufeff", "é", "1e999", ".nan", "0x1F", "~"]


@FAST
@given(parts=st.lists(st.sampled_from(_YAML_BITS) | st.text(max_size=6), max_size=25),
       raw=st.binary(max_size=40))
def test_yaml_reader_on_any_text(tmp_path, parts, raw):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes("\n".join(parts).encode("utf-8", "surrogatepass") + raw)
    _reads_cleanly(read_yaml, path)


_CIN_BITS = ["K", "Stock", "=", "0 <=", "<= 1", "(", ")", "((0,1),(2,3))", "[(0,0)-(1,1)],",
             "{comment}", "{", "}", ",", "1", "-2.5e3", "inf", "nan", ":IS:", "[a]", "\n", " ",
             "\x00", "é", "1e999"]


@FAST
@given(parts=st.lists(st.sampled_from(_CIN_BITS) | st.text(max_size=5), max_size=30),
       raw=st.binary(max_size=20))
def test_cin_reader_on_any_text(tmp_path, parts, raw):
    path = tmp_path / "fuzz.cin"
    path.write_bytes(" ".join(parts).encode("utf-8", "surrogatepass") + raw)
    result = _reads_cleanly(read_cin, path)
    for value in result.scenarios[0].changes.set.values() if result else ():
        assert math.isfinite(value)


# --- simulate's arguments ---------------------------------------------------------------------

_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                     st.integers(-10, 10))
_names = st.sampled_from(["K", "k", "Stock", "Flow", "nope", "", "K[a]", "stock ", "TIME STEP",
                          "FINAL TIME", "saveper", "INITIAL TIME"])


def _series_or_error(draw_x, draw_y):
    try:
        return reformsim.Series(draw_x, draw_y)
    except reformsim.ReformsimError:
        return 1.0


_values = st.one_of(
    _numbers, st.lists(_numbers, max_size=5), st.text(max_size=3), st.none(),
    st.lists(st.lists(_numbers, min_size=1, max_size=3), max_size=3),
    st.builds(_series_or_error, st.lists(_numbers, max_size=3), st.lists(_numbers, max_size=3)))


@settings(max_examples=120, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(params=st.dictionaries(_names, _values, max_size=3),
       initial=st.dictionaries(_names, _values, max_size=2),
       method=st.sampled_from(["euler", "rk4", "RK45", "LSODA", "nope", ""]),
       outputs=st.none() | st.lists(_names, max_size=3),
       size=st.none() | st.integers(-2, 5),
       seed=st.integers(-5, 2**64),
       chunk=st.none() | st.integers(-1, 4),
       tolerances=st.none() | st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)))
def test_simulate_on_any_arguments(load, params, initial, method, outputs, size, seed, chunk,
                                   tolerances):
    model = load("blowup")
    try:
        rtol, atol = tolerances or (1e-6, 1e-9)
        with warnings.catch_warnings():
            # failures (see below) and scipy's notes, which the engine words as its warnings
            warnings.simplefilter("ignore", reformsim.ReformsimWarning)
            results = reformsim.simulate(model, params=params, initial=initial, method=method,
                                         outputs=outputs, size=size, seed=seed, chunk_size=chunk,
                                         rtol=rtol, atol=atol)
    except reformsim.ReformsimError as exc:
        assert str(exc)
        event("clean error")
        return
    except ValueError as exc:
        pytest.fail(f"simulate raised a bare ValueError: {exc}")
    event("result")  # every member is finite, or its failure is recorded
    finite = np.isfinite(results.values).all(axis=(1, 2))
    assert all(finite[m] or m in results.failures for m in range(results.size))
