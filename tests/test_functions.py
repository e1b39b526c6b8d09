"""functions.py against hand-worked values (Vensim's documented timing, PySD's thresholds)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reformsim.engine import builtins as F

DT = 0.25
GRID = np.arange(0, 8.25, DT)  # 0, 0.25, ..., 8


def _on(values):
    """Grid times where a 0/1 signal is on."""
    return GRID[np.asarray(values) != 0].tolist()


# --- STEP, RAMP, PULSE, PULSE TRAIN ------------------------------------------------------------

@pytest.mark.parametrize(("start", "first"), [(2.0, 2.0), (2.1, 2.0), (2.125, 2.25), (1.9, 2.0)],
                         ids=["on-grid", "off-grid-low", "half-step", "off-grid-high"])
def test_step_fires_at_first_time_with_centre_past_start(start, first):
    """STEP: on where t + dt/2 > start."""
    values = F.step(GRID, DT, 3.0, start)
    assert GRID[np.argmax(values > 0)] == first
    assert set(values.tolist()) == {0.0, 3.0}
    assert np.all(values[GRID >= first] == 3.0)


@pytest.mark.parametrize(("t", "expected"), [(0.5, 0.0), (1.0, 0.0), (2.0, 2.0), (3.5, 5.0),
                                             (4.0, 6.0), (6.0, 6.0)],
                         ids=["before", "start", "inside", "inside2", "finish", "after"])
def test_ramp(t, expected):
    """RAMP(2, 1, 4): 0 until 1, slope 2 until 4, then held at 6."""
    assert F.ramp(np.array([t]), 2.0, 1.0, 4.0)[0] == expected


def test_xramp_has_no_end():
    np.testing.assert_array_equal(F.xramp(np.array([0.0, 1.0, 10.0]), 2.0, 1.0), [0.0, 0.0, 18.0])


@pytest.mark.parametrize(("start", "width", "on"), [
    (2.0, 1.0, [2.0, 2.25, 2.5, 2.75]),
    (2.0, 0.0, [2.0]),                       # width 0 means one TIME STEP
    (1.3, 1.0, [1.25, 1.5, 1.75, 2.0]),      # start + dt/2 rule: 1.25 < 1.3 < 1.375
    (0.0, 0.5, [0.0, 0.25]),
], ids=["on-grid", "width-0", "off-grid", "at-zero"])
def test_pulse_follows_vensim_docs(start, width, on):
    assert _on(F.pulse(GRID, DT, start, width)) == on


@pytest.mark.parametrize(("start", "width", "interval", "end", "on"), [
    (1.0, 0.5, 2.0, 7.0, [1.0, 1.25, 3.0, 3.25, 5.0, 5.25]),
    (1.0, 0.0, 2.0, 7.0, [1.0, 3.0, 5.0]),
    (0.0, 1.0, 2.0, 3.0, [0.0, 0.25, 0.5, 0.75, 2.0, 2.25, 2.5, 2.75]),
    (6.0, 0.5, 0.0, 8.0, [6.0, 6.25]),      # no repeat: one pulse
], ids=["train", "width-0", "end-inside-a-pulse", "interval-0"])
def test_pulse_train(start, width, interval, end, on):
    assert _on(F.pulse_train(GRID, DT, start, interval, width, end)) == on


def test_xpulse_is_magnitude_over_dt_for_one_step():
    values = F.xpulse(GRID, DT, 2.0, 3.0)
    assert _on(values) == [2.0]
    assert values[GRID == 2.0][0] == 12.0


def test_xpulse_train_repeats():
    assert _on(F.xpulse_train(GRID, DT, 1.0, 3.0, 1.0)) == [1.0, 4.0, 7.0]


# --- XIDZ, ZIDZ, INTEGER, QUANTUM, MODULO ------------------------------------------------------

@pytest.mark.parametrize(("b", "expected"), [(2.0, 0.5), (1e-6, 1e6), (9.99e-7, 5.0), (-9.99e-7, 5.0),
                                             (0.0, 5.0), (-1e-6, -1e6)],
                         ids=["plain", "at-threshold", "below", "below-negative", "zero",
                              "at-threshold-negative"])
def test_xidz_threshold(b, expected):
    with np.errstate(divide="ignore"):  # the callers' job: simulate() runs passes under errstate
        value = F.xidz(np.array([1.0]), np.array([b]), np.array([5.0]))[0]
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("b", "expected"), [(2.0, 1.5), (1e-6, 3e6), (5e-7, 0.0), (0.0, 0.0)],
                         ids=["plain", "at-threshold", "below", "zero"])
def test_zidz_threshold(b, expected):
    with np.errstate(divide="ignore"):
        value = F.zidz(np.array([3.0]), np.array([b]))[0]
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("x", "expected"), [(2.7, 2.0), (-2.7, -2.0), (-0.5, 0.0), (3.0, 3.0)],
                         ids=["positive", "negative", "small-negative", "whole"])
def test_integer_truncates_toward_zero(x, expected):
    assert F.integer(np.array([x]))[0] == expected


@pytest.mark.parametrize(("a", "b", "expected"), [(7.0, 2.0, 6.0), (-7.0, 2.0, -6.0), (7.0, 0.0, 7.0),
                                                  (7.0, -2.0, 7.0), (7.3, 0.5, 7.0)],
                         ids=["positive", "negative-a", "zero-b", "negative-b", "fraction"])
def test_quantum(a, b, expected):
    with np.errstate(divide="ignore", invalid="ignore"):
        assert F.quantum(np.array([a]), np.array([b]))[0] == expected


@pytest.mark.parametrize(("x", "m", "expected"), [(7.0, 3.0, 1.0), (-7.0, 3.0, -1.0), (7.5, 2.0, 1.5),
                                                  (-7.5, 2.0, -1.5), (6.0, 3.0, 0.0)],
                         ids=["positive", "negative", "fraction", "negative-fraction", "exact"])
def test_modulo_keeps_the_sign_of_x(x, m, expected):
    assert F.modulo(np.array([x]), np.array([m]))[0] == expected


def test_log_with_base():
    np.testing.assert_allclose(F.log(np.array([8.0, 100.0]), np.array([2.0, 10.0])), [3.0, 2.0],
                               rtol=1e-15)


# --- lookups ----------------------------------------------------------------------------------

XS, YS = np.array([0.0, 2.0, 6.0, 10.0]), np.array([1.0, 2.0, 3.0, 2.0])


@pytest.mark.parametrize(("mode", "x", "expected"), [
    ("interpolate", -1.0, 1.0), ("interpolate", 12.0, 2.0), ("interpolate", 1.0, 1.5),
    ("interpolate", 4.0, 2.5), ("interpolate", 2.0, 2.0), ("interpolate", 10.0, 2.0),
    ("extrapolate", -1.0, 0.5), ("extrapolate", 12.0, 1.5), ("extrapolate", 4.0, 2.5),
    ("extrapolate", 6.0, 3.0),
    ("hold_backward", -1.0, 1.0), ("hold_backward", 1.0, 1.0), ("hold_backward", 2.0, 2.0),
    ("hold_backward", 5.9, 2.0), ("hold_backward", 6.0, 3.0), ("hold_backward", 12.0, 2.0),
], ids=lambda v: str(v))
def test_lookup_modes(mode, x, expected):
    assert F.lookup(np.array([x]), XS, YS, mode)[0] == expected


def test_lookup_is_elementwise():
    np.testing.assert_array_equal(F.lookup(np.array([-1.0, 1.0, 8.0, 20.0]), XS, YS, "interpolate"),
                                  [1.0, 1.5, 2.5, 2.0])


# --- random numbers ---------------------------------------------------------------------------

N = 100_000


@pytest.fixture(scope="module")
def u():
    return F.uniform01(np.arange(N, dtype=np.uint64), 3, 7, 1.0)


def test_uniform01_is_open_unit_interval_and_uniform(u):
    assert u.min() > 0 and u.max() < 1
    assert u.mean() == pytest.approx(0.5, abs=0.005)
    assert u.std() == pytest.approx(np.sqrt(1 / 12), abs=0.005)
    assert stats.kstest(u, "uniform").pvalue > 1e-4


@pytest.mark.parametrize(("site", "step", "seed"), [(4, 7, 1.0), (3, 8, 1.0), (3, 7, 2.0)],
                         ids=["site", "step", "seed"])
def test_uniform01_changes_with_site_step_and_seed(u, site, step, seed):
    other = F.uniform01(np.arange(N, dtype=np.uint64), site, step, seed)
    assert np.mean(other == u) < 1e-3
    assert abs(np.corrcoef(other, u)[0, 1]) < 0.02


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=20),
       site=st.integers(0, 50), step=st.integers(-1, 10_000), seed=st.floats(-1e6, 1e6))
def test_uniform01_of_a_key_does_not_depend_on_the_other_keys(keys, site, step, seed):
    together = F.uniform01(np.array(keys, dtype=np.uint64), site, step, seed)
    alone = np.concatenate([F.uniform01(np.array([k], dtype=np.uint64), site, step, seed)
                            for k in keys])
    assert np.array_equal(together, alone)
    assert np.all((together > 0) & (together < 1))


@pytest.mark.parametrize(("low", "high"), [(0.0, 10.0), (-3.0, -1.0), (5.0, 5.0)],
                         ids=["positive", "negative", "degenerate"])
def test_random_uniform_bounds_and_mean(u, low, high):
    values = F.random_uniform(u, low, high)
    assert values.min() >= low and values.max() <= high
    assert values.mean() == pytest.approx((low + high) / 2, abs=0.01 * max(high - low, 1e-9))


@pytest.mark.parametrize(("low", "high", "mean", "sd"), [
    (-10.0, 10.0, 3.0, 2.0), (-1.0, 1.0, 0.0, 1.0), (0.0, 10.0, 1.0, 2.0), (2.0, 3.0, 0.0, 1.0),
], ids=["barely-truncated", "symmetric", "one-sided", "tail"])
def test_random_normal_is_truncated_normal(u, low, high, mean, sd):
    values = F.random_normal(u, low, high, mean, sd)
    expected = stats.truncnorm((low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
    assert values.min() >= low and values.max() <= high
    assert values.mean() == pytest.approx(expected.mean(), abs=5 * expected.std() / np.sqrt(N))
    assert values.std() == pytest.approx(expected.std(), rel=0.02)


def test_random_normal_with_zero_sd_is_the_mean(u):
    low, high, mean, sd = (np.array([v]) for v in (-5.0, 5.0, 1.5, 0.0))
    np.testing.assert_array_equal(F.random_normal(u[:10], low, high, mean, sd), 1.5)


@pytest.mark.parametrize(("low", "high", "shift", "stretch", "mean"), [
    (0.0, 1e9, 0.0, 2.0, 2.0),
    (3.0, 1e9, 1.0, 2.0, 5.0),                    # memoryless: from 3 on, 3 + 2 Exp(1)
    (0.0, 1.0, 0.0, 1.0, 1 - 1 / (np.e - 1)),      # truncated above at 1
], ids=["plain", "min-above-shift", "truncated"])
def test_random_exponential(u, low, high, shift, stretch, mean):
    values = F.random_exponential(u, low, high, shift, stretch)
    assert values.min() >= low and values.max() <= high
    assert values.mean() == pytest.approx(mean, rel=0.01)
