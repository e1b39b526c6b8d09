"""The decision-analysis commands write their run directories as ``reformsim run`` does: reserved
and checked writable before anything is simulated (``rundir.prepare``), the manifest with paths
relative to the run, the command line and copies of the scenario files; and their ``--var`` and
``--at`` take commas like every other command."""

from __future__ import annotations

import errno
import json
import os
import shlex
from pathlib import Path

import pytest

from reformsim.cli import main
from reformsim.report import rundir
from reformsim.report.rundir import read_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "models" / "examples"
ROADMAP = EXAMPLES / "roadmap.yaml"
FACTORIAL = EXAMPLES / "roadmap_factorial.yaml"
UNCERTAIN = EXAMPLES / "roadmap_uncertain.yaml"
BUDGET = ROOT / "tests" / "models" / "budget.mdl"
LOGISTIC = ROOT / "tests" / "models" / "logistic.mdl"

# command -> its arguments (small sizes), the output directory last
STUDIES = {
    "sensitivity": ["sensitivity", str(ROADMAP), "-p", "Adoption Time=2:4",
                    "-p", "Trust Adjustment Time=3:8", "--var", "Trust in Government",
                    "--samples", "8", "--method", "morris"],
    "optimize": ["optimize", str(ROADMAP), "-l", "ICT Share=0:1", "-l", "Training Share=0:1",
                 "-c", "ICT Share + Training Share <= 1", "--var", "Trust in Government",
                 "--generations", "3", "--population", "4"],
    "calibrate": ["calibrate", str(LOGISTIC), "{data}", "-p", "Growth Rate=0.1:2",
                  "--intervals", "wald"],
    "factorial": ["factorial", str(FACTORIAL), "--var", "Trust in Government"],
    "robustness": ["robustness", str(UNCERTAIN), "--var", "Trust in Government"],
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A data file for the logistic model (points of its own run: P0 = 10, r = 0.5)."""
    path = tmp_path_factory.mktemp("data") / "population.csv"
    path.write_text("time,Population\n0,10\n4,67.6\n8,344.4\n12,796.0\n16,967.3\n")
    return path


def _args(command, data):
    return [str(data) if a == "{data}" else a for a in STUDIES[command]]


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any simulation a test failure: the error must come before it."""
    def refuse(*args, **kwargs):
        raise AssertionError("simulated although the output cannot be written")
    monkeypatch.setattr("reformsim.engine.simulation.simulate", refuse)


@pytest.mark.parametrize("command", STUDIES)
def test_an_unwritable_output_fails_before_the_study(runner, tmp_path, monkeypatch, data,
                                                     no_simulation, command):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(rundir.tempfile, "mkdtemp", read_only)
    target = tmp_path / "out"
    result = runner.invoke(main, ["-q", *_args(command, data), "-o", str(target)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {target}: cannot write the run directory: the "
                                    "file system is read-only\n  hint: nothing was simulated")
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", STUDIES)
def test_an_existing_output_is_refused_before_the_study(runner, tmp_path, data, no_simulation,
                                                        command):
    (tmp_path / "out").mkdir()
    result = runner.invoke(main, ["-q", *_args(command, data), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "already exists; reformsim never overwrites a run" in result.stderr


@pytest.mark.parametrize("command", ["optimize", "factorial"])
def test_the_manifest_is_relative_with_the_command_line_and_the_files(runner, tmp_path,
                                                                      monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    args = [*STUDIES[command], "-o", "studies/out"]
    result = runner.invoke(main, ["-q", *args], prog_name="reformsim")
    assert result.exit_code == 0, result.output
    _, manifest = read_run(Path("studies/out"))
    assert manifest["paths"] == "relative to the run directory"
    assert manifest["command"] == shlex.join(["reformsim", "-q", *args])
    model = Path("studies/out") / manifest["model"]["path"]
    assert model.resolve() == (EXAMPLES / "roadmap.mdl").resolve()
    (copied,) = manifest["scenario_files"]
    assert (Path("studies/out") / copied["copy"]).read_text() == Path(STUDIES[command][1]) \
        .read_text()
    assert manifest["analysis"]["command"] == command


def test_a_study_of_a_run_directory_finds_its_model_and_files(runner, tmp_path, monkeypatch):
    """The run's manifest holds paths relative to the run: a study of it resolves them
    there, not in the working directory."""
    assert runner.invoke(main, ["-q", "run", str(FACTORIAL), "-o", str(tmp_path / "run"),
                                "--figures", "none"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["-q", "factorial", "run", "--var", "Service Quality",
                                  "--format", "json", "-o", "study"])
    assert result.exit_code == 0, result.output
    assert {r["effect"] for r in json.loads(result.stdout)} >= {"ict", "ict x capacity"}
    _, manifest = read_run(tmp_path / "study")
    assert (tmp_path / "study" / manifest["model"]["path"]).resolve() == \
        (EXAMPLES / "roadmap.mdl").resolve()


def test_at_and_var_take_commas(runner, tmp_path):
    result = runner.invoke(main, [
        "-q", "sensitivity", str(ROADMAP), "-p", "Adoption Time=2:4",
        "-p", "Trust Adjustment Time=3:8", "--var", "Trust in Government,Service Quality",
        "--at", "2030,2035:2040", "--method", "morris", "--samples", "4", "--format", "json",
        "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert {(r["output"], str(r["time"])) for r in records} == {
        (v, t) for v in ("Trust in Government", "Service Quality")
        for t in ("2030.0", "[2035.0, 2040.0]")}


def test_commas_and_repeats_mean_the_same(runner, tmp_path):
    def effects(*flags):
        result = runner.invoke(main, ["-q", "robustness", str(UNCERTAIN), *flags,
                                      "--format", "json", "-o", str(tmp_path / flags[-1])])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)
    assert effects("--var", "Trust in Government", "--at", "2030,2040") == \
        effects("--var", "Trust in Government", "--at", "2030", "--at", "2040")


@pytest.mark.parametrize(("flag", "value"), [("--var", "Output,A"), ("--at", "1,2")])
def test_an_objective_is_one_variable_at_one_time(runner, tmp_path, flag, value):
    args = ["optimize", str(BUDGET), "-l", "A=0:1", "--var", "Output", flag, value,
            "-o", str(tmp_path / "x")]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert f"Invalid value for '{flag}'" in result.output and "is one, not 2" in result.output
    assert not (tmp_path / "x").exists()


def test_a_calibration_run_directory_is_complete(runner, tmp_path, data):
    result = runner.invoke(main, ["-q", *_args("calibrate", data), "-o", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    dataset, manifest = read_run(tmp_path / "c")
    assert manifest["model"]["path"] == os.path.relpath(LOGISTIC, tmp_path / "c")
    assert {"fitted.cin", "fitted.yaml", "calibration.json", "theil.csv"} <= \
        {p.name for p in (tmp_path / "c").iterdir()}


def test_a_comma_inside_an_array_cell_does_not_split():
    from reformsim.cli.options import split_commas

    assert split_commas("Population[north,young],Trust") == ["Population[north,young]", "Trust"]
    assert split_commas("a,b") == ["a", "b"]


@pytest.mark.parametrize("command", STUDIES)
def test_reformsim_q_quiets_a_study_as_its_own_q_does(runner, tmp_path, data, command):
    result = runner.invoke(main, ["-q", *_args(command, data), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and result.stdout


def test_an_optimisation_shows_its_generations_on_stderr_and_a_quiet_one_does_not(runner,
                                                                                 tmp_path, data):
    loud = runner.invoke(main, [*_args("optimize", data), "-o", str(tmp_path / "loud")])
    assert loud.exit_code == 0, loud.output
    assert "generations" in loud.stderr and "generations" not in loud.stdout
    quiet = runner.invoke(main, [*_args("optimize", data), "-q", "-o", str(tmp_path / "q")])
    assert quiet.exit_code == 0, quiet.output
    assert "generations" not in quiet.stderr
