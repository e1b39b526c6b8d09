"""Paths of the tiny test models, their compiled forms, and the shared Vensim suite.

Every model in ``tests/models`` has a closed form or a hand-worked trajectory;
each one's docstring-level purpose is in its element documentation.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import reformsim

MODELS = Path(__file__).resolve().parent / "models"
SHARED = Path(__file__).resolve().parents[2] / "shared"

# name -> file in tests/models
MODEL_FILES = {
    "decay": "decay.mdl",             # S' = -S / tau
    "decay_xmile": "decay.xmile",     # the same model written in XMILE
    "logistic": "logistic.mdl",       # P' = r P (1 - P / K)
    "goal_seek": "goal_seek.mdl",     # goal seeking + SMOOTH, DELAY1, DELAY3, SMOOTH3 of a STEP
    "discrete": "discrete.mdl",       # DELAY FIXED, SAMPLE IF TRUE, DELAY N
    "random": "random.mdl",           # RANDOM UNIFORM, RANDOM NORMAL
    "blowup": "blowup.mdl",           # flow = stock / (K - 1): inf at K = 1
    "lookup": "lookup.mdl",           # a lookup definition and WITH LOOKUP
    "clock": "clock.mdl",             # STEP, RAMP, PULSE, PULSE TRAIN, XIDZ, ZIDZ, INTEGER...
    "pulse_edge": "pulse_edge.mdl",   # PULSE width 0 and an off-grid start
    "short_delay": "short_delay.mdl",  # DELAY3 with 3 x TIME STEP > delay time
    "saveper": "saveper.mdl",         # SAVEPER = 4 x TIME STEP
    "odd_grid": "odd_grid.mdl",       # TIME STEP 0.1, SAVEPER 0.3: float accumulation
    "segments": "segments.mdl",       # calls, delays and a choice: a body split in loops
}


def model_path(name: str) -> Path:
    return MODELS / MODEL_FILES[name]


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS


@pytest.fixture(scope="session")
def decay_path() -> Path:
    return model_path("decay")


@pytest.fixture(scope="session")
def decay_xmile_path() -> Path:
    return model_path("decay_xmile")


@pytest.fixture(scope="session")
def logistic_path() -> Path:
    return model_path("logistic")


@pytest.fixture(scope="session")
def goal_seek_path() -> Path:
    return model_path("goal_seek")


@pytest.fixture(scope="session")
def discrete_path() -> Path:
    return model_path("discrete")


@pytest.fixture(scope="session")
def random_path() -> Path:
    return model_path("random")


@pytest.fixture(scope="session")
def blowup_path() -> Path:
    return model_path("blowup")


@pytest.fixture(scope="session")
def lookup_path() -> Path:
    return model_path("lookup")


@pytest.fixture(scope="session")
def load():
    """Compile a model of tests/models by its short name, once per session."""
    cache: dict[str, reformsim.CompiledModel] = {}

    def get(name: str) -> reformsim.CompiledModel:
        if name not in cache:
            cache[name] = reformsim.load_model(model_path(name))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def decay(load) -> reformsim.CompiledModel:
    return load("decay")


@pytest.fixture
def model_copy(tmp_path):
    """Copy a model into tmp_path (PySD writes its .py beside the model it reads)."""
    def copy(path: Path) -> Path:
        target = tmp_path / path.name
        shutil.copy(path, target)
        return target

    return copy


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/test-models (SDXorg/test-models), or skip when it is absent."""
    suite = SHARED / "test-models"
    if not suite.is_dir():
        pytest.skip(f"{suite} is absent")
    return suite


CONTROL = """
********************************************************
	.Control
********************************************************~
		Simulation Control Parameters
	|

FINAL TIME  = {final}
	~	Month
	~	The final time for the simulation.
	|

INITIAL TIME  = 0
	~	Month
	~	The initial time for the simulation.
	|

SAVEPER  = TIME STEP
	~	Month [0,?]
	~	The frequency with which output is stored.
	|

TIME STEP  = {dt}
	~	Month [0,?]
	~	The time step for the simulation.
	|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
"""


@pytest.fixture
def write_mdl(tmp_path):
    """Write a Vensim model into tmp_path from ``{name: equation}`` (plus text before it)."""
    def write(filename: str, equations: dict[str, str], preamble: str = "",
              final: float = 4, dt: float = 1) -> Path:
        body = "".join(f"{name}=\n\t{eqn}\n\t~\tdmnl\n\t~\t\n\t|\n\n" for name, eqn in equations.items())
        path = tmp_path / filename
        path.write_text("{UTF-8}\n" + preamble + body + CONTROL.format(final=final, dt=dt))
        return path

    return write


@pytest.fixture
def runner():
    """click's CliRunner, stdout and stderr apart."""
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs, full: a disk with no space left (mounting needs root; skipped elsewhere,
    where the tests that raise ENOSPC by hand cover the case)."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with (mount / "filler").open("wb") as handle:
            try:
                handle.write(b"\0" * (1 << 20))
            except OSError:
                pass
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


TOOLS = Path(__file__).resolve().parents[1] / "tools"


@pytest.fixture(scope="session")
def tool():
    """Import a script of tools/ by name (they import each other as top-level modules)."""
    import importlib.util
    import sys

    def get(name: str):
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module      # dataclasses look their module up
            sys.path.insert(0, str(TOOLS))  # for the tools' own imports of each other
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(TOOLS))
        return sys.modules[name]

    return get


@pytest.fixture(scope="session")
def dask_client():
    """ONE Dask LocalCluster of 2 single-threaded worker processes for the whole session
    (starting one costs seconds); skipped cleanly without dask.distributed."""
    pytest.importorskip("distributed")
    from distributed import Client

    from reformsim.scale.cluster import local_cluster

    cluster = local_cluster(2)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
