"""The draws of a file's uncertainty kept in the cache folder (scenarios/sampling.py): read back
bit for bit what scipy draws (the oracle: ``sampling.draw``, made now), a damaged or foreign
entry drawn again, a large ensemble not kept, and a file run again draws without scipy.stats.

Every test points REFORMSIM_CACHE_DIR at its own tmp_path."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from reformsim.scenarios import sampling
from reformsim.scenarios.loading import load_scenarios

EXAMPLES = Path(__file__).resolve().parents[1] / "models" / "examples"
UNCERTAIN = EXAMPLES / "roadmap_uncertain.yaml"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REFORMSIM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "draws"


@pytest.fixture(scope="module")
def uncertainty():
    return load_scenarios([UNCERTAIN]).uncertainty


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype == np.float64
        np.testing.assert_array_equal(a[name], b[name])


def test_draws_come_back_from_the_cache_bit_for_bit(cache, uncertainty):
    fresh = sampling.draw(uncertainty)
    first = sampling.sample(uncertainty)            # drawn, and kept
    (entry,) = cache.iterdir()
    second = sampling.sample(uncertainty)           # read back
    _same(first, fresh)
    _same(second, fresh)
    assert [p.name for p in cache.iterdir()] == [entry.name]


def test_another_seed_or_distribution_is_another_entry(cache, uncertainty):
    sampling.sample(uncertainty)
    other = replace(uncertainty, seed=uncertainty.seed + 1)
    wider = replace(uncertainty, parameters=(
        replace(uncertainty.parameters[0], args=(0.5, 9.0)), *uncertainty.parameters[1:]))
    for changed in (other, wider):
        _same(sampling.sample(changed), sampling.draw(changed))
    assert len(list(cache.iterdir())) == 3


@pytest.mark.parametrize("damage", ["flipped-byte", "truncated", "foreign-draws"])
def test_a_damaged_entry_is_drawn_again(cache, uncertainty, damage, caplog):
    sampling.sample(uncertainty)
    (entry,) = cache.iterdir()
    data = entry.read_bytes()
    if damage == "flipped-byte":
        entry.write_bytes(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    elif damage == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    else:       # a well-formed entry of other draws, under this name
        from reformsim.model.cache import write_entry

        write_entry(entry, {"format": sampling.FORMAT}, b'{"x": [1.0, 2.0]}')
    with caplog.at_level(logging.WARNING, logger="reformsim.scenarios.sampling"):
        again = sampling.sample(uncertainty)
    _same(again, sampling.draw(uncertainty))
    assert "ignoring the corrupt cache entry" in caplog.text
    _same(sampling.sample(uncertainty), again)     # and the entry was written anew
    assert not caplog.records[1:]


def test_large_ensembles_are_not_kept(cache, uncertainty, monkeypatch):
    monkeypatch.setattr(sampling, "CACHED_DRAWS", uncertainty.samples - 1)
    _same(sampling.sample(uncertainty), sampling.draw(uncertainty))
    assert not cache.exists()


def test_an_unwritable_cache_still_draws(tmp_path, monkeypatch, uncertainty):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("REFORMSIM_CACHE_DIR", str(blocker))
    _same(sampling.sample(uncertainty), sampling.draw(uncertainty))


def test_a_file_run_again_draws_without_scipy_stats(tmp_path):
    """What the cache is for: scipy.stats (the slowest import of a run) is not imported."""
    code = ("import sys\n"
            "from reformsim.scenarios.loading import load_scenarios\n"
            "from reformsim.scenarios.sampling import sample\n"
            f"draws = sample(load_scenarios([{str(UNCERTAIN)!r}]).uncertainty)\n"
            "print(len(draws), 'scipy.stats' in sys.modules)\n")
    env = dict(os.environ, REFORMSIM_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=str(Path(sampling.__file__).parents[2]))
    said = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=120, check=True).stdout.split()
            for _ in range(2)]
    count = str(len(load_scenarios([UNCERTAIN]).uncertainty.parameters))
    assert said == [[count, "True"], [count, "False"]]
