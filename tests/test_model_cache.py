"""The model cache (reformsim.model.cache): hits, misses, invalidation, corrupt entries.

Every test points REFORMSIM_CACHE_DIR at its own tmp_path, so entries never leak
between tests or into the user's cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reformsim
from reformsim.model import cache, translate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """A fresh cache directory; counts the translations (misses) that happen."""
    monkeypatch.setenv("REFORMSIM_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    original = translate.read_model

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(translate, "read_model", counting)
    return calls


def _entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "models").glob("*.json"))


def test_second_load_is_a_hit_with_the_same_model(cached, tmp_path, decay_path, model_copy):
    path = model_copy(decay_path)
    first = cache.read_model_cached(path)
    second = cache.read_model_cached(path)
    assert len(cached) == 1                       # translated once
    assert second == first                        # the same IR, field by field
    assert len(_entries(tmp_path)) == 1
    runs = [reformsim.simulate(reformsim.load_model(path), backend="numpy") for _ in range(2)]
    assert np.array_equal(runs[0].values, runs[1].values)


def test_an_edit_is_a_miss_and_the_edit_is_seen(cached, tmp_path, write_mdl):
    path = write_mdl("edited.mdl", {"stock": "INTEG(rate, 1)", "rate": "growth * stock",
                                    "growth": "0.1"})
    before = reformsim.simulate(reformsim.load_model(path), backend="numpy")
    path.write_text(path.read_text().replace("0.1", "0.2"))
    after = reformsim.simulate(reformsim.load_model(path), backend="numpy")
    assert len(cached) == 2
    assert after["stock"][0, -1] == pytest.approx(1.2 ** 4)
    assert before["stock"][0, -1] == pytest.approx(1.1 ** 4)
    reformsim.load_model(path)                    # the new entry serves the next load
    assert len(cached) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip a byte", "not json", "empty"])
def test_a_corrupt_entry_is_rebuilt_not_loaded(cached, tmp_path, decay_path, model_copy,
                                               damage, caplog):
    path = model_copy(decay_path)
    good = cache.read_model_cached(path)
    (entry,) = _entries(tmp_path)
    data = entry.read_bytes()
    damaged = {"truncate": data[:len(data) // 2],
               "flip a byte": data[:-10] + bytes([data[-10] ^ 1]) + data[-9:],
               "not json": b"\x00\xffgarbage",
               "empty": b""}[damage]
    entry.write_bytes(damaged)
    again = cache.read_model_cached(path)
    assert again == good
    assert len(cached) == 2                       # translated again
    assert entry.read_bytes() == data             # and the entry rewritten whole
    assert cache.read_model_cached(path) == good and len(cached) == 2


def test_an_entry_that_names_a_foreign_class_is_refused(cached, tmp_path, decay_path, model_copy):
    """Entries decode into the IR's own dataclasses only (no pickle: no code from the cache)."""
    path = model_copy(decay_path)
    good = cache.read_model_cached(path)
    (entry,) = _entries(tmp_path)
    head, _, payload = entry.read_bytes().partition(b"\n")
    evil = payload.replace(b'"@":"ModelIR"', b'"@":"Popen"', 1)
    header = json.loads(head)
    header["sha256"] = __import__("hashlib").sha256(evil).hexdigest()
    entry.write_bytes(json.dumps(header).encode() + b"\n" + evil)
    assert cache.read_model_cached(path) == good
    assert len(cached) == 2


def test_a_data_file_change_is_a_miss(cached, tmp_path, write_mdl):
    data = tmp_path / "series.csv"
    data.write_text("Time,supply\n0,1\n4,5\n")
    path = write_mdl("data.mdl", {"stock": "INTEG(supply, 0)"},
                     preamble="supply:INTERPOLATE:\n\t~\t\n\t~\t\n\t|\n\n")
    model = reformsim.load_model(path, data)
    data.write_text("Time,supply\n0,2\n4,10\n")
    changed = reformsim.load_model(path, data)
    assert len(cached) == 2
    run = [reformsim.simulate(m, backend="numpy")["supply"][0, 0] for m in (model, changed)]
    assert run == [1.0, 2.0]


def test_a_spreadsheet_the_model_reads_is_watched(cached, tmp_path, write_mdl):
    sheet = tmp_path / "inputs.csv"
    sheet.write_text("a\n3\n")
    path = write_mdl("direct.mdl", {"k": "GET DIRECT CONSTANTS('inputs.csv', ',', 'A2')",
                                    "stock": "INTEG(k, 0)"})
    first = reformsim.simulate(reformsim.load_model(path), backend="numpy")
    reformsim.load_model(path)
    assert len(cached) == 1
    (entry,) = _entries(tmp_path)
    assert str(sheet.resolve()) in json.loads(entry.read_bytes().partition(b"\n")[0])["depends"]
    sheet.write_text("a\n7\n")
    second = reformsim.simulate(reformsim.load_model(path), backend="numpy")
    assert len(cached) == 2
    assert (first["k"][0, 0], second["k"][0, 0]) == (3.0, 7.0)


def test_a_missing_model_still_reports_the_translators_error(cached, tmp_path):
    with pytest.raises(reformsim.ModelError, match="no such file"):
        reformsim.load_model(tmp_path / "absent.mdl")


def test_an_unwritable_cache_directory_still_loads(tmp_path, monkeypatch, decay_path, caplog):
    blocker = tmp_path / "a file, not a directory"
    blocker.write_text("")
    monkeypatch.setenv("REFORMSIM_CACHE_DIR", str(blocker))
    model = reformsim.load_model(decay_path)
    assert model.source == decay_path
    assert "cannot write the model cache" in caplog.text


def test_the_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("REFORMSIM_CACHE_DIR", str(tmp_path / "x"))
    assert cache.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("REFORMSIM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir().name == "reformsim"


_LOAD = """
import sys, reformsim
model = reformsim.load_model(sys.argv[1])
print(len(model.elements), 'pysd' in sys.modules)
"""


def test_a_second_process_loads_from_the_cache_without_pysd(tmp_path):
    model = tmp_path / "reform.mdl"
    model.write_bytes((ROOT / "models" / "reform.mdl").read_bytes())
    env = {**os.environ, "REFORMSIM_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    runs = [subprocess.run([sys.executable, "-c", _LOAD, str(model)], env=env, check=True,
                           capture_output=True, text=True).stdout.split() for _ in range(2)]
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == "True"          # the first process translated with PySD
    assert runs[1][1] == "False"         # the second never imported it


def test_a_hit_gives_the_translations_warnings_again(cached, tmp_path, monkeypatch):
    """A warning of the translation (here: XML recovered) is not lost when the IR is cached."""
    path = tmp_path / "m.xmile"
    path.write_text('<?xml version="1.0"?>\n<xmile version="1.0" xmlns="http://docs.oasis-open.'
                    'org/xmile/ns/XMILE/v1.0"><header><name>t</name></header><sim_specs><start>0'
                    '</start><stop>4</stop><dt>1</dt></sim_specs><model><variables><aux name="x">'
                    '<eqn>1</eqn><aux name="y"><eqn>2</eqn></aux></variables></model></xmile>')
    for _ in range(2):
        with pytest.warns(reformsim.ReformsimWarning, match="not well-formed XML"):
            cache.read_model_cached(path)
    assert len(cached) == 1
