"""The command line through CliRunner (exact output, exit codes) and one real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reformsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "examples" / "service_backlog.mdl"

SUBSCRIPTED = """{UTF-8}
Region: north, south
	~	~	|
Population[Region]= 10, 20
	~	people	~	|
Total = Population[Region]
	~	people	~	|
FINAL TIME = 1 ~ Month ~ |
INITIAL TIME = 0 ~ Month ~ |
SAVEPER = 1 ~ Month ~ |
TIME STEP = 1 ~ Month ~ |
"""


@pytest.fixture
def runner():
    return CliRunner()


def test_check_lists_stocks(runner):
    result = runner.invoke(main, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.output == ("service_backlog.mdl: 26 variables, 3 stocks, 1 lookups, "
                             "1 other states\n"
                             "  Backlog [cases]\n  Service standard [hours/cases]\n"
                             "  Staff [official]\n0 findings\n")


def test_check_reports_findings(runner, tmp_path):
    model = tmp_path / "leaky.mdl"
    model.write_text("""{UTF-8}
Stock= INTEG(-Stock / Tau, 10)
	~	widgets	~	What is left.	|
Tau= 4
	~	Month	~		|
Spare= 3
	~		~	Nothing reads this.	|
FINAL TIME = 2 ~ Month ~ |
INITIAL TIME = 0 ~ Month ~ |
SAVEPER = 1 ~ Month ~ |
TIME STEP = 1 ~ Month ~ |
""")
    result = runner.invoke(main, ["check", str(model)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == [
        "4 findings:",
        "  documentation: 'Tau': has no documentation",
        "  units: 'Spare': has no units",
        "  unused: 'Spare': is a constant nothing reads",
        "  equilibrium: 'Stock': starts at 10 and moves -2.5 per time unit",
    ]


def test_describe_lists_stocks_flows_constants_lookups(runner):
    result = runner.invoke(main, ["describe", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Stocks (3)"
    assert "Flows (5)" in lines and "Constants (12)" in lines and "Lookups (1)" in lines
    assert "  Hiring [official/Month]: Replacing leavers and closing the staffing gap." in lines


def test_check_names_an_array_equation_that_does_not_fit_its_variable(runner, tmp_path):
    model = tmp_path / "regions.mdl"
    model.write_text(SUBSCRIPTED)
    result = runner.invoke(main, ["check", str(model)])
    assert result.exit_code == 1
    assert result.output == ("Error: regions.mdl: 'Total': is a scalar but its equation gives an "
                             "array over Region\n  hint: add the subscripts to its name, or SUM "
                             "over them\n")


def test_check_refuses_wrong_file_type(runner, tmp_path):
    model = tmp_path / "model.xlsx"
    model.write_text("")
    result = runner.invoke(main, ["check", str(model)])
    assert result.exit_code == 1
    assert result.output == ("Error: model.xlsx: 'model.xlsx': unsupported file type\n"
                             "  hint: use a Vensim .mdl or an XMILE .xmile/.stmx/.xml file\n")


def test_simulate_prints_members_side_by_side(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", "Demand surge=0,0.2",
                                  "-v", "Service quality", "--at", "0", "--at", "60"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Demand surge=0" in lines[0] and "Demand surge=0.2" in lines[0]
    assert lines[-2].split() == ["0.0", "1", "1"]
    assert lines[-1].split() == ["60.0", "1", "0.937256"]


def test_simulate_csv(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-v", "Backlog", "--at", "0",
                                  "--csv"])
    assert result.exit_code == 0, result.output
    assert result.output == "time,Backlog\n0.0,1000.0\n\n"


def test_simulate_unknown_parameter_suggests(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", "Demand surj=0.1"])
    assert result.exit_code == 1
    assert result.output == ("Error: service_backlog.mdl: parameter 'Demand surj' is not in the "
                             "model; did you mean 'Demand surge'?\n")


def test_simulate_refuses_setting_a_flow(runner):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", "Hiring=3"])
    assert result.exit_code == 1
    assert "'Hiring' is not a constant" in result.output


@pytest.mark.parametrize("value", ["Demand surge", "Demand surge=high", "=3"],
                         ids=["no-value", "not-a-number", "no-name"])
def test_simulate_bad_param_syntax_is_a_usage_error(runner, value):
    result = runner.invoke(main, ["simulate", str(EXAMPLE), "-p", value])
    assert result.exit_code == 2
    assert "expected NAME=VALUE or NAME=V1,V2,..." in result.output


def test_verify_passes_against_its_own_output(runner, tmp_path):
    import reformsim

    frame = reformsim.simulate(reformsim.load_model(EXAMPLE),
                               outputs=["Backlog", "Staff"]).to_dataframe()
    frame.index.name = "Time"
    frame.to_csv(reference := tmp_path / "output.csv")
    result = runner.invoke(main, ["verify", str(EXAMPLE), "--against", str(reference)])
    assert result.exit_code == 0, result.output
    assert result.output == ("2 variables at 61 times compared\n"
                             "all within |ours - expected| <= 1e-5 + 1e-5 |expected|\n")


def test_verify_reports_the_worst_difference(runner, tmp_path):
    reference = tmp_path / "output.tab"
    reference.write_text("Time\tBacklog\tUnknown\n0\t1000\t1\n1\t1001\t1\n")
    result = runner.invoke(main, ["verify", str(EXAMPLE), "--against", str(reference)])
    assert result.exit_code == 1
    assert result.output == ("1 variables at 2 times compared; 1 columns not in the model\n"
                             "  differs: 'Backlog' at t=1: ours 1000, expected 1001\n")


def test_help_is_instant_and_imports_no_engine():
    code = ("import sys; from reformsim.cli import main\n"
            "heavy = [m for m in ('pysd', 'numpy', 'scipy', 'pandas') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_quick_start_command_runs(tmp_path):
    """The README's first command, after the install: the shipped scenarios, in a real process."""
    result = subprocess.run([sys.executable, "-m", "reformsim", "-q", "run", "-o",
                             str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    readme = (ROOT / "README.md").read_text()
    assert "python -m pip install . && reformsim run\n" in readme
    start = result.stdout.rindex("Composite outcome [Dmnl]")  # the roadmaps' table
    block = result.stdout[start:].split("\n\n")[0]
    assert block in readme  # the README shows what the command really prints
    assert (tmp_path / "run" / "reform_roadmaps" / "figures" / "fan.png").is_file()


def test_wheel_carries_the_shipped_model_and_scenarios(tmp_path):
    """'reformsim run' needs them after a non-editable install: shipped/ must land in the wheel."""
    import shutil
    import zipfile

    source = tmp_path / "source"  # pip wheel leaves build/ behind: keep it out of the project
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "runs", "__pycache__", "*.egg-info", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("reformsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "reformsim/shipped/models/examples/service_backlog.mdl" in names
    assert "reformsim/shipped/models/examples/service_backlog.yaml" in names
    assert "reformsim/shipped/models/reform.mdl" in names
    assert "reformsim/shipped/scenarios/reform_roadmaps.yaml" in names
